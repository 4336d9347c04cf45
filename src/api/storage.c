/*
 * Storage resources: /api/v1/storage (capacity, forecast, alarms),
 * /api/v1/holds (evidence holds) and /api/v1/cameras/ID/verify (the
 * integrity check).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "common/log.h"
#include "storage/integrity.h"

static json_t *api_volume_json(const storage_volume_report_t *vr)
{
    const volume_t *v = &vr->volume;

    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:i, "
                     "s:i}",
                     "path", v->path, "uuid", v->uuid, "state",
                     volume_state_name(v->state), "error", v->error,
                     "total_bytes", (json_int_t)v->total_bytes, "used_bytes",
                     (json_int_t)(v->total_bytes - v->free_bytes),
                     "free_bytes", (json_int_t)v->free_bytes,
                     "recordings_bytes", (json_int_t)vr->recordings_bytes,
                     "reserve_bytes", (json_int_t)v->reserve_bytes,
                     "high_percent", v->high_percent, "low_percent",
                     v->low_percent);
}

static json_t *api_camera_usage_json(const storage_camera_report_t *c)
{
    json_t *obj = json_pack(
        "{s:I, s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:i, s:I}",
        "camera_id", (json_int_t)c->camera_id, "name", c->name, "bytes",
        (json_int_t)c->usage.bytes, "segments", (json_int_t)c->usage.segments,
        "oldest_us", (json_int_t)c->usage.oldest_us, "newest_us",
        (json_int_t)c->usage.newest_us, "bitrate_hour_bps",
        c->bitrate_hour_bps, "bitrate_day_bps", c->bitrate_day_bps,
        "held_bytes", (json_int_t)c->held_bytes, "retention_days",
        c->retention_days, "retention_bytes", (json_int_t)c->retention_bytes);

    if (obj)
        json_object_set_new(obj, "forecast_days",
                            c->forecast_days < 0 ? json_null()
                                                 : json_real(c->forecast_days));
    return obj;
}

int api_route_storage(api_conn_t *c)
{
    storage_report_t r;
    json_t *vols;
    json_t *cams;
    json_t *alarms;
    int rc;

    if (c->method != API_GET && c->method != API_HEAD)
        return api_respond_error(c, 405, "use GET on /api/v1/storage");
    rc = storage_report(c->srv->cfg.storage, &r);
    if (rc < 0) {
        storage_report_free(&r);
        return api_respond_error(c, 500, "storage report failed: %s",
                                 strerror(-rc));
    }
    vols = json_array();
    cams = json_array();
    alarms = json_array();
    for (int i = 0; i < r.volume_count; i++)
        json_array_append_new(vols, api_volume_json(&r.volumes[i]));
    for (size_t i = 0; i < r.camera_count; i++)
        json_array_append_new(cams, api_camera_usage_json(&r.cameras[i]));
    for (int i = 0; i < r.alarm_count; i++)
        json_array_append_new(
            alarms, json_pack("{s:s, s:s, s:s}", "kind", r.alarms[i].kind,
                              "subject", r.alarms[i].subject, "message",
                              r.alarms[i].message));
    storage_report_free(&r);
    return api_respond_json(
        c, 200,
        json_pack("{s:I, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I}}",
                  "now_us", (json_int_t)r.now_us, "volumes", vols, "cameras",
                  cams, "alarms", alarms, "recorder", "segments",
                  (json_int_t)r.recorder.segments, "bytes",
                  (json_int_t)r.recorder.bytes, "dropped",
                  (json_int_t)r.recorder.dropped, "unrecorded",
                  (json_int_t)r.recorder.unrecorded, "write_errors",
                  (json_int_t)r.recorder.write_errors));
}

static json_t *api_hold_json(const catalog_hold_t *h)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:s, s:I}", "id", (json_int_t)h->id,
                     "camera_id", (json_int_t)h->camera_id, "start_us",
                     (json_int_t)h->start_us, "end_us", (json_int_t)h->end_us,
                     "reason", h->reason, "created_us",
                     (json_int_t)h->created_us);
}

/* Reads a time field of a JSON object (integer microseconds or an ISO
 * 8601 string). */
static int api_json_time(json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v))
        return api_parse_time(json_string_value(v), out);
    return -EINVAL;
}

static int api_hold_create(api_conn_t *c)
{
    catalog_camera_t cam;
    catalog_hold_t hold;
    json_error_t jerr;
    json_t *obj;
    json_t *reason;
    int rc;

    obj = json_loadb(c->body ? c->body : "", c->body_len,
                     JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return api_respond_error(c, 400,
                                 "expected a JSON object with camera_id, "
                                 "start_us, end_us and reason");
    }
    memset(&hold, 0, sizeof(hold));
    {
        const char *key;
        json_t *v;

        json_object_foreach(obj, key, v) {
            if (strcmp(key, "camera_id") && strcmp(key, "start_us") &&
                strcmp(key, "end_us") && strcmp(key, "reason")) {
                /* key belongs to obj, so respond before freeing it. */
                rc = api_respond_error(c, 400,
                                       "unknown field '%s': expected "
                                       "camera_id, start_us, end_us and "
                                       "reason",
                                       key);
                json_decref(obj);
                return rc;
            }
        }
    }
    if (!json_is_integer(json_object_get(obj, "camera_id"))) {
        json_decref(obj);
        return api_respond_error(c, 400,
                                 "invalid camera_id: expected a camera id "
                                 "(an integer)");
    }
    hold.camera_id = json_integer_value(json_object_get(obj, "camera_id"));
    reason = json_object_get(obj, "reason");
    if (reason && (!json_is_string(reason) ||
                   json_string_length(reason) >= sizeof(hold.reason))) {
        json_decref(obj);
        return api_respond_error(c, 400,
                                 "invalid reason: expected a string of at "
                                 "most %zu bytes",
                                 sizeof(hold.reason) - 1);
    }
    if (json_is_string(reason))
        snprintf(hold.reason, sizeof(hold.reason), "%s",
                 json_string_value(reason));
    if (api_json_time(obj, "start_us", &hold.start_us) < 0 ||
        api_json_time(obj, "end_us", &hold.end_us) < 0 ||
        hold.end_us <= hold.start_us) {
        json_decref(obj);
        return api_respond_error(c, 400,
                                 "invalid start_us or end_us: expected UTC "
                                 "microseconds or ISO 8601, end after "
                                 "start");
    }
    json_decref(obj);
    /* The route lets anyone with an export right somewhere through; the
     * hold's own camera decides. */
    if (!api_can(c, hold.camera_id, AUTH_RIGHT_EXPORT)) {
        char target[32];

        snprintf(target, sizeof(target), "camera %lld",
                 (long long)hold.camera_id);
        api_audit(c, "access.denied", target, "denied", "hold create");
        return api_respond_error(c, 403,
                                 "user %s has no export right on camera "
                                 "%lld, which a hold needs",
                                 c->principal ? c->principal->user : "-",
                                 (long long)hold.camera_id);
    }
    if (catalog_camera_get(c->srv->cfg.cat, hold.camera_id, &cam) < 0)
        return api_respond_error(c, 400, "invalid camera_id %lld: no such "
                                         "camera",
                                 (long long)hold.camera_id);
    rc = catalog_hold_insert(c->srv->cfg.cat, &hold);
    if (rc < 0)
        return api_respond_error(c, 500, "catalog write failed: %s",
                                 strerror(-rc));
    vms_log(VMS_LOG_INFO, "api",
            "hold=%lld camera=%lld event=hold_created start_us=%lld "
            "end_us=%lld",
            (long long)hold.id, (long long)hold.camera_id,
            (long long)hold.start_us, (long long)hold.end_us);
    {
        char target[32];

        snprintf(target, sizeof(target), "camera %lld",
                 (long long)hold.camera_id);
        api_audit(c, "hold.create", target, "ok",
                  "hold=%lld start_us=%lld end_us=%lld reason=%s",
                  (long long)hold.id, (long long)hold.start_us,
                  (long long)hold.end_us, hold.reason);
    }
    return api_respond_json(c, 201, api_hold_json(&hold));
}

int api_route_holds(api_conn_t *c, const char *rest)
{
    catalog_hold_t *holds = NULL;
    size_t n = 0;
    json_t *arr;
    char *end;
    long long id;
    int rc;

    if (*rest == '\0') {
        if (c->method == API_POST)
            return api_hold_create(c);
        if (c->method != API_GET && c->method != API_HEAD)
            return api_respond_error(c, 405, "use GET or POST on "
                                             "/api/v1/holds");
        rc = catalog_hold_list(c->srv->cfg.cat, 0, &holds, &n);
        if (rc < 0)
            return api_respond_error(c, 500, "catalog read failed: %s",
                                     strerror(-rc));
        arr = json_array();
        for (size_t i = 0; i < n; i++)
            if (api_can(c, holds[i].camera_id,
                        AUTH_RIGHT_PLAYBACK | AUTH_RIGHT_EXPORT))
                json_array_append_new(arr, api_hold_json(&holds[i]));
        free(holds);
        return api_respond_json(c, 200, arr);
    }
    id = strtoll(rest + 1, &end, 10);
    if (rest[0] != '/' || end == rest + 1 || *end || id <= 0)
        return api_respond_error(c, 400, "invalid hold id '%s'", rest + 1);
    if (c->method != API_DELETE)
        return api_respond_error(c, 405, "use DELETE on a hold");
    rc = catalog_hold_delete(c->srv->cfg.cat, id);
    if (rc == -ENOENT)
        return api_respond_error(c, 404, "hold %lld not found", id);
    if (rc < 0)
        return api_respond_error(c, 500, "catalog write failed: %s",
                                 strerror(-rc));
    vms_log(VMS_LOG_INFO, "api", "hold=%lld event=hold_released", id);
    {
        char target[32];

        snprintf(target, sizeof(target), "hold %lld", id);
        api_audit(c, "hold.release", target, "ok", "%s", "");
    }
    return api_respond(c, 204, "application/json", NULL, NULL);
}

/* Collects integrity problems into a JSON array. */
static void api_verify_problem(void *ctx, const catalog_recording_t *rec,
                               const char *message)
{
    json_array_append_new(
        ctx, json_pack("{s:s, s:s, s:I, s:I, s:s}", "volume", rec->volume,
                       "path", rec->path, "start_us", (json_int_t)rec->start_us,
                       "end_us", (json_int_t)rec->end_us, "problem", message));
}

int api_verify(api_conn_t *c, int64_t camera_id)
{
    integrity_report_t report;
    char buf[64];
    char stream[8] = "main";
    const char *v;
    int64_t from = 0;
    int64_t to = INT64_MAX;
    json_t *problems;
    int rc;

    v = api_query(c, "stream", buf, sizeof(buf));
    if (v) {
        if (strcmp(v, "main") && strcmp(v, "sub"))
            return api_respond_error(c, 400,
                                     "invalid stream '%s': expected main or "
                                     "sub",
                                     v);
        snprintf(stream, sizeof(stream), "%s", v);
    }
    v = api_query(c, "from", buf, sizeof(buf));
    if (v && api_parse_time(v, &from) < 0)
        return api_respond_error(c, 400, "invalid from '%s'", v);
    v = api_query(c, "to", buf, sizeof(buf));
    if (v && api_parse_time(v, &to) < 0)
        return api_respond_error(c, 400, "invalid to '%s'", v);
    problems = json_array();
    /* NOTE: hashing runs on the event loop; a long range of large
     * segments holds it for the time it takes to read them. */
    rc = integrity_verify(c->srv->cfg.cat, camera_id, stream, from, to,
                          api_verify_problem, problems, &report);
    if (rc < 0) {
        json_decref(problems);
        return api_respond_error(c, 500, "verification failed: %s",
                                 strerror(-rc));
    }
    vms_log(VMS_LOG_INFO, "api",
            "camera=%lld event=verified segments=%d problems=%d",
            (long long)camera_id, report.segments, report.problems);
    return api_respond_json(
        c, 200,
        json_pack("{s:I, s:s, s:i, s:i, s:b, s:o}", "camera_id",
                  (json_int_t)camera_id, "stream", stream, "segments",
                  report.segments, "files_checked", report.bytes_checked, "ok",
                  report.problems == 0, "problems", problems));
}
