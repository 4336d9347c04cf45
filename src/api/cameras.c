/*
 * /api/v1/cameras: create, list, read, update and delete cameras, and
 * the per-camera sub-resources (recordings, playback, snapshot).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/onvif_api.h"
#include "common/log.h"

/* Adds the state of one stream to obj under key. */
static void api_camera_stream_json(api_server_t *srv, int64_t id,
                                   const char *stream, json_t *obj)
{
    const api_camera_service_t *svc = srv->cfg.svc;
    ingest_status_t st;
    hub_info_t info;
    hub_t *hub = svc->stream_hub(srv->cfg.svc_ctx, id, stream);
    json_t *s;

    if (svc->stream_status(srv->cfg.svc_ctx, id, stream, &st) < 0)
        return;
    memset(&info, 0, sizeof(info));
    if (hub)
        hub_get_info(hub, &info);
    s = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                  "state", ingest_state_name(st.state), "error", st.error,
                  "bytes", (json_int_t)st.bytes, "frames",
                  (json_int_t)st.frames, "fragments",
                  (json_int_t)st.fragments, "reconnects",
                  (json_int_t)st.reconnects, "timestamp_gaps",
                  (json_int_t)st.timestamp_gaps, "timestamps_repaired",
                  (json_int_t)st.timestamps_repaired, "frames_dropped",
                  (json_int_t)st.frames_dropped, "last_frame_us",
                  (json_int_t)st.last_frame_us);
    if (!s)
        return;
    if (st.state == INGEST_RETRYING || st.state == INGEST_FAILED)
        json_object_set_new(s, "retry_in_ms", json_integer(st.retry_in_ms));
    if (info.active || info.codec[0]) {
        json_object_set_new(s, "codec", json_string(info.codec));
        json_object_set_new(s, "mime", json_string(info.mime));
        json_object_set_new(s, "width", json_integer(info.width));
        json_object_set_new(s, "height", json_integer(info.height));
        json_object_set_new(s, "fps", json_real(info.fps));
        json_object_set_new(s, "has_audio", json_boolean(info.has_audio));
    }
    json_object_set_new(s, "live", api_live_stream_stats(srv, id, stream));
    json_object_set_new(obj, stream, s);
}

/* Builds the public form of a camera: never the password. */
static json_t *api_camera_json(api_server_t *srv, const catalog_camera_t *c)
{
    json_t *obj = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "id", (json_int_t)c->id,
        "name", c->name, "main_url", c->main_url, "sub_url", c->sub_url,
        "username", c->username, "password_set", c->password[0] != '\0',
        "transport", c->transport, "enabled", c->enabled);
    json_t *streams = json_object();

    if (obj) {
        json_object_set_new(obj, "retention_days",
                            json_integer(c->retention_days));
        json_object_set_new(obj, "retention_bytes",
                            json_integer(c->retention_bytes));
        json_object_set_new(obj, "onvif_url", json_string(c->onvif_url));
        json_object_set_new(obj, "manufacturer",
                            json_string(c->manufacturer));
        json_object_set_new(obj, "model", json_string(c->model));
        json_object_set_new(obj, "firmware", json_string(c->firmware));
        json_object_set_new(obj, "serial", json_string(c->serial));
        json_object_set_new(obj, "time_offset_s",
                            json_integer(c->time_offset_s));
    }

    if (!obj || !streams) {
        json_decref(obj);
        json_decref(streams);
        return NULL;
    }
    api_camera_stream_json(srv, c->id, "main", streams);
    if (c->sub_url[0])
        api_camera_stream_json(srv, c->id, "sub", streams);
    json_object_set_new(obj, "streams", streams);
    return obj;
}

/* Decodes %XX escapes of src into dst in place order. */
static void api_percent_decode(const char *src, size_t len, char *dst,
                               size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (src[i] == '%' && i + 2 < len + 0 && src[i + 1] && src[i + 2]) {
            char hex[3] = {src[i + 1], src[i + 2], '\0'};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end == '\0') {
                dst[o++] = (char)v;
                i += 2;
                continue;
            }
        }
        dst[o++] = src[i];
    }
    dst[o] = '\0';
}

/* Validates an RTSP URL and moves any "user:password@" part into the
 * camera's credential fields, so that the stored URL carries none.
 * Returns 0 or -EINVAL with err set. */
static int api_take_url(const char *field, const char *value, char *dst,
                        size_t dst_len, catalog_camera_t *cam, char *err,
                        size_t errlen)
{
    char probe[CATALOG_URL_MAX + 256];
    const char *authority;
    const char *slash;
    const char *at;
    size_t prefix;

    if (strlen(value) >= dst_len ||
        ingest_build_url(value, NULL, NULL, probe, sizeof(probe)) < 0) {
        snprintf(err, errlen,
                 "invalid %s: expected rtsp://host[:port]/path or "
                 "rtsps://..., at most %zu characters",
                 field, dst_len - 1);
        return -EINVAL;
    }
    prefix = strncmp(value, "rtsps://", 8) == 0 ? 8 : 7;
    authority = value + prefix;
    slash = strchr(authority, '/');
    if (!slash)
        slash = authority + strlen(authority);
    at = memrchr(authority, '@', (size_t)(slash - authority));
    if (!at) {
        snprintf(dst, dst_len, "%s", value);
        return 0;
    }
    {
        const char *colon = memchr(authority, ':', (size_t)(at - authority));
        const char *user_end = colon ? colon : at;

        api_percent_decode(authority, (size_t)(user_end - authority),
                           cam->username, sizeof(cam->username));
        if (colon)
            api_percent_decode(colon + 1, (size_t)(at - colon - 1),
                               cam->password, sizeof(cam->password));
    }
    snprintf(dst, dst_len, "%.*s%s", (int)prefix, value, at + 1);
    return 0;
}

/* Copies a string field into dst; -EINVAL with err if not a string or
 * too long. */
static int api_take_string(json_t *v, const char *field, char *dst,
                           size_t len, int allow_empty, char *err,
                           size_t errlen)
{
    const char *s;

    if (!json_is_string(v)) {
        snprintf(err, errlen, "invalid %s: expected a string", field);
        return -EINVAL;
    }
    s = json_string_value(v);
    if (strlen(s) >= len || (!allow_empty && !*s)) {
        snprintf(err, errlen, "invalid %s: expected 1 to %zu characters",
                 field, len - 1);
        return -EINVAL;
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, errlen,
                     "invalid %s: control characters are not allowed",
                     field);
            return -EINVAL;
        }
    }
    snprintf(dst, len, "%s", s);
    return 0;
}

/* Applies the fields of a JSON object to cam. With create set, name and
 * main_url are required. Returns 0 or -EINVAL with err set. */
static int api_camera_from_json(json_t *obj, catalog_camera_t *cam,
                                int create, char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    if (!json_is_object(obj)) {
        snprintf(err, errlen, "expected a JSON object");
        return -EINVAL;
    }
    json_object_foreach(obj, key, v) {
        int rc;

        if (strcmp(key, "name") == 0) {
            rc = api_take_string(v, key, cam->name, sizeof(cam->name), 0,
                                 err, errlen);
        } else if (strcmp(key, "main_url") == 0 ||
                   strcmp(key, "sub_url") == 0) {
            int main = key[0] == 'm';
            char *dst = main ? cam->main_url : cam->sub_url;
            size_t len = main ? sizeof(cam->main_url) : sizeof(cam->sub_url);

            if (!json_is_string(v)) {
                snprintf(err, errlen, "invalid %s: expected a string", key);
                return -EINVAL;
            }
            if (!main && json_string_length(v) == 0) {
                cam->sub_url[0] = '\0';
                continue;
            }
            rc = api_take_url(key, json_string_value(v), dst, len, cam, err,
                              errlen);
        } else if (strcmp(key, "username") == 0) {
            rc = api_take_string(v, key, cam->username,
                                 sizeof(cam->username), 1, err, errlen);
        } else if (strcmp(key, "password") == 0) {
            rc = api_take_string(v, key, cam->password,
                                 sizeof(cam->password), 1, err, errlen);
        } else if (strcmp(key, "transport") == 0) {
            const char *t = json_string_value(v);
            if (!t || (strcmp(t, "tcp") && strcmp(t, "udp"))) {
                snprintf(err, errlen,
                         "invalid transport: expected \"tcp\" or \"udp\"");
                return -EINVAL;
            }
            snprintf(cam->transport, sizeof(cam->transport), "%s", t);
            rc = 0;
        } else if (strcmp(key, "enabled") == 0) {
            if (!json_is_boolean(v)) {
                snprintf(err, errlen, "invalid enabled: expected true or "
                                      "false");
                return -EINVAL;
            }
            cam->enabled = json_is_true(v);
            rc = 0;
        } else if (strcmp(key, "retention_days") == 0 ||
                   strcmp(key, "retention_bytes") == 0) {
            json_int_t limit = json_integer_value(v);
            if (!json_is_integer(v) || limit < 0 ||
                (key[10] == 'd' && limit > 36500)) {
                snprintf(err, errlen,
                         "invalid %s: expected a whole number, 0 for no "
                         "limit%s",
                         key, key[10] == 'd' ? ", at most 36500" : "");
                return -EINVAL;
            }
            if (key[10] == 'd')
                cam->retention_days = (int)limit;
            else
                cam->retention_bytes = limit;
            rc = 0;
        } else if (strcmp(key, "onvif_url") == 0 ||
                   strcmp(key, "manufacturer") == 0 ||
                   strcmp(key, "model") == 0 ||
                   strcmp(key, "firmware") == 0 ||
                   strcmp(key, "serial") == 0 ||
                   strcmp(key, "time_offset_s") == 0) {
            continue; /* learnt by adoption; read-only here */
        } else if (strcmp(key, "id") == 0 || strcmp(key, "streams") == 0 ||
                   strcmp(key, "password_set") == 0) {
            continue; /* read-only fields echoed back by clients */
        } else {
            snprintf(err, errlen,
                     "unknown field '%s': expected name, main_url, sub_url, "
                     "username, password, transport, enabled, "
                     "retention_days or retention_bytes",
                     key);
            return -EINVAL;
        }
        if (rc < 0)
            return rc;
    }
    if (create && (!cam->name[0] || !cam->main_url[0])) {
        snprintf(err, errlen, "missing %s: a camera needs a name and a "
                              "main_url",
                 !cam->name[0] ? "name" : "main_url");
        return -EINVAL;
    }
    return 0;
}

/* Parses the request body as JSON; on failure responds 400. */
static json_t *api_parse_body(api_conn_t *c, int *responded)
{
    json_error_t jerr;
    json_t *obj;

    *responded = 0;
    if (!c->body || c->body_len == 0) {
        *responded = 1;
        api_respond_error(c, 400, "missing request body: send a JSON "
                                  "object");
        return NULL;
    }
    obj = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        *responded = 1;
        api_respond_error(c, 400,
                          "malformed JSON at line %d column %d: %s",
                          jerr.line, jerr.column, jerr.text);
    }
    return obj;
}

static int api_cameras_list(api_conn_t *c)
{
    catalog_camera_t *cams = NULL;
    size_t n = 0;
    json_t *arr;
    int rc = catalog_camera_list(c->srv->cfg.cat, &cams, &n);

    if (rc < 0)
        return api_respond_error(c, 500, "catalog read failed: %s",
                                 strerror(-rc));
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        /* The route admits a user with a right on any camera, so the
         * list leaves out the cameras on which they have none. */
        if (!api_can(c, cams[i].id, AUTH_CAMERA_RIGHTS))
            continue;
        json_array_append_new(arr, api_camera_json(c->srv, &cams[i]));
    }
    free(cams);
    return api_respond_json(c, 200, arr);
}

static int api_cameras_create(api_conn_t *c)
{
    catalog_camera_t cam;
    char err[512];
    int responded;
    json_t *obj = api_parse_body(c, &responded);
    int rc;

    if (!obj)
        return responded ? 0 : -1;
    memset(&cam, 0, sizeof(cam));
    snprintf(cam.transport, sizeof(cam.transport), "tcp");
    cam.enabled = 1;
    rc = api_camera_from_json(obj, &cam, 1, err, sizeof(err));
    json_decref(obj);
    if (rc < 0)
        return api_respond_error(c, 400, "%s", err);
    rc = catalog_camera_insert(c->srv->cfg.cat, &cam);
    if (rc < 0)
        return api_respond_error(c, 500, "catalog write failed: %s",
                                 strerror(-rc));
    vms_log(VMS_LOG_INFO, "api", "camera=%lld event=created name=\"%s\"",
            (long long)cam.id, cam.name);
    {
        char target[32];

        snprintf(target, sizeof(target), "camera %lld", (long long)cam.id);
        api_audit(c, "camera.create", target, "ok", "name=%s", cam.name);
    }
    c->srv->cfg.svc->camera_changed(c->srv->cfg.svc_ctx, cam.id);
    return api_respond_json(c, 201, api_camera_json(c->srv, &cam));
}

static int api_camera_update(api_conn_t *c, catalog_camera_t *cam)
{
    char err[512];
    int responded;
    json_t *obj = api_parse_body(c, &responded);
    int rc;

    if (!obj)
        return responded ? 0 : -1;
    rc = api_camera_from_json(obj, cam, 0, err, sizeof(err));
    json_decref(obj);
    if (rc < 0)
        return api_respond_error(c, 400, "%s", err);
    rc = catalog_camera_update(c->srv->cfg.cat, cam);
    if (rc < 0)
        return api_respond_error(c, 500, "catalog write failed: %s",
                                 strerror(-rc));
    vms_log(VMS_LOG_INFO, "api", "camera=%lld event=updated",
            (long long)cam->id);
    {
        char target[32];

        snprintf(target, sizeof(target), "camera %lld", (long long)cam->id);
        api_audit(c, "camera.update", target, "ok", "name=%s enabled=%d",
                  cam->name, cam->enabled);
    }
    c->srv->cfg.svc->camera_changed(c->srv->cfg.svc_ctx, cam->id);
    return api_respond_json(c, 200, api_camera_json(c->srv, cam));
}

/* Returns 1 if camera id (perhaps deleted) has recordings left. */
static int api_camera_has_recordings(api_server_t *srv, int64_t id)
{
    catalog_usage_t usage;

    return catalog_usage(srv->cfg.cat, id, NULL, 0, 0, &usage) == 0 &&
           usage.segments > 0;
}

int api_route_cameras(api_conn_t *c, const char *rest)
{
    catalog_camera_t cam;
    char sub[64] = "";
    char *end;
    long long id;
    int rc;

    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        if (c->method == API_GET || c->method == API_HEAD)
            return api_cameras_list(c);
        if (c->method == API_POST)
            return api_cameras_create(c);
        return api_respond_error(c, 405, "use GET or POST on /api/v1/cameras");
    }
    if (strcmp(rest, "/adopt") == 0)
        return api_camera_adopt(c);
    id = strtoll(rest + 1, &end, 10);
    if (end == rest + 1 || id <= 0 || (*end && *end != '/'))
        return api_respond_error(c, 400,
                                 "invalid camera id '%s': expected a "
                                 "positive integer",
                                 rest + 1);
    if (*end == '/')
        snprintf(sub, sizeof(sub), "%s", end + 1);
    rc = catalog_camera_get(c->srv->cfg.cat, id, &cam);
    /* A deleted camera's recordings stay: they can still be listed,
     * played back and verified. */
    if (rc == -ENOENT && (c->method == API_GET || c->method == API_HEAD) &&
        (strcmp(sub, "recordings") == 0 || strcmp(sub, "playback.mp4") == 0 ||
         strcmp(sub, "verify") == 0) &&
        api_camera_has_recordings(c->srv, id)) {
        if (strcmp(sub, "recordings") == 0)
            return api_recordings_list(c, id);
        if (strcmp(sub, "playback.mp4") == 0)
            return api_playback(c, id);
        return api_verify(c, id);
    }
    if (rc == -ENOENT)
        return api_respond_error(c, 404, "camera %lld not found", id);
    if (rc < 0)
        return api_respond_error(c, 500, "catalog read failed: %s",
                                 strerror(-rc));

    if (sub[0] == '\0') {
        switch (c->method) {
        case API_GET:
        case API_HEAD:
            return api_respond_json(c, 200, api_camera_json(c->srv, &cam));
        case API_PUT:
        case API_PATCH:
            return api_camera_update(c, &cam);
        case API_DELETE:
            rc = catalog_camera_delete(c->srv->cfg.cat, id);
            if (rc < 0)
                return api_respond_error(c, 500, "catalog write failed: %s",
                                         strerror(-rc));
            c->srv->cfg.svc->camera_removed(c->srv->cfg.svc_ctx, id);
            vms_log(VMS_LOG_INFO, "api", "camera=%lld event=deleted", id);
            {
                char target[32];

                snprintf(target, sizeof(target), "camera %lld", id);
                api_audit(c, "camera.delete", target, "ok", "name=%s",
                          cam.name);
            }
            return api_respond(c, 204, "application/json", NULL, NULL);
        default:
            return api_respond_error(c, 405,
                                     "use GET, PUT, PATCH or DELETE on a "
                                     "camera");
        }
    }
    if (strncmp(sub, "ptz", 3) == 0 && (sub[3] == '\0' || sub[3] == '/'))
        return api_ptz(c, id, sub + 3);
    if (strcmp(sub, "time") == 0)
        return api_camera_time(c, id);
    if (strcmp(sub, "events") == 0)
        return api_events_list(c, id);
    if (c->method != API_GET && c->method != API_HEAD)
        return api_respond_error(c, 405, "use GET on %s", c->path);
    if (strcmp(sub, "recordings") == 0)
        return api_recordings_list(c, id);
    if (strcmp(sub, "playback.mp4") == 0)
        return api_playback(c, id);
    if (strcmp(sub, "snapshot.jpg") == 0)
        return api_snapshot(c, id);
    if (strcmp(sub, "verify") == 0)
        return api_verify(c, id);
    if (strncmp(sub, "hls/", 4) == 0 || strncmp(sub, "live/", 5) == 0)
        return api_live_route_camera(c, id, sub);
    if (strcmp(sub, "live") == 0)
        return api_respond_error(c, 426,
                                 "live video needs a WebSocket upgrade");
    return api_respond_error(c, 404,
                             "unknown camera resource '%s': expected "
                             "recordings, playback.mp4, snapshot.jpg, verify "
                             "or live",
                             sub);
}
