/*
 * ONVIF in the API: discovery scans and adoption of a camera from its
 * device address. PTZ and camera time are in ptz.c.
 *
 *   POST /api/v1/discovery/scan   {"seconds", "interfaces", "address"}
 *   POST /api/v1/cameras/adopt    {"address", "username", "password",
 *                                  "name"}
 *
 * Both wait on the network for seconds, so the ONVIF calls run on a
 * worker thread while the connection is parked (deferred.h). The
 * catalog is read and written on the event-loop thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/deferred.h"
#include "api/onvif_api.h"
#include "common/clock.h"
#include "common/log.h"
#include "media/ingest.h"

/* Default and maximum duration of a discovery scan. The maximum stays
 * below the libwebsockets timeout_secs of 30 s set in server.c. */
#define API_SCAN_DEFAULT_MS 3000
#define API_SCAN_MAX_MS 20000
/* Maximum number of interfaces in one scan. */
#define API_SCAN_MAX_INTERFACES 8
/* Time limit of each request of an adoption probe. A silent camera
 * fails the probe after one such wait. */
#define API_ADOPT_TIMEOUT_MS 5000
/* A camera clock further off than this is logged as a warning. */
#define API_CLOCK_WARN_S 60
/* Maximum length of a device address, with the terminating NUL. */
#define API_ADDRESS_MAX 256
/* Maximum number of scans and adoption probes running at once, each on
 * its own thread. */
#define API_ONVIF_MAX_RUNNING 16

/* Scans and adoption probes running; event-loop thread only. */
static int api_onvif_running;

/* Counts a started worker, or responds 503 and returns -1 when too many
 * run. */
static int api_onvif_reserve(api_conn_t *c)
{
    if (api_onvif_running >= API_ONVIF_MAX_RUNNING) {
        vms_log(VMS_LOG_WARN, "onvif",
                "event=rejected reason=\"%d scans and adoptions running\"",
                api_onvif_running);
        api_respond_error(c, 503,
                          "%d ONVIF scans and adoptions are running: retry "
                          "when one has finished",
                          api_onvif_running);
        return -1;
    }
    api_onvif_running++;
    return 0;
}

int api_onvif_host(const char *address, char *host, size_t len)
{
    const char *p = address;
    const char *scheme = strstr(address, "://");
    const char *end;
    const char *at;
    size_t n;

    if (len == 0)
        return -EINVAL;
    host[0] = '\0';
    if (scheme)
        p = scheme + 3;
    end = p + strcspn(p, "/?#");
    at = memrchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));

        if (!close)
            return -EINVAL;
        p++;
        end = close;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));

        /* One colon separates a port, but more mean a bare IPv6 address. */
        if (colon && !memchr(colon + 1, ':', (size_t)(end - colon - 1)))
            end = colon;
    }
    n = (size_t)(end - p);
    if (n == 0 || n >= len)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        host[i] = (char)tolower((unsigned char)p[i]);
    host[n] = '\0';
    return 0;
}

int api_onvif_status(int rc)
{
    switch (rc) {
    case -EACCES:
        return 401;
    case -ETIMEDOUT:
        return 504;
    case -EOPNOTSUPP:
        return 501;
    case -ENOMEM:
        return 503;
    default:
        return 502;
    }
}

int api_onvif_respond_error(api_conn_t *c, int rc, const char *address,
                            const char *user, const onvif_err_t *err)
{
    const char *detail = err && err->msg[0] ? err->msg : strerror(-rc);

    switch (rc) {
    case -EACCES:
        return api_respond_error(c, 401,
                                 "camera at %s rejected the credentials of "
                                 "user '%s': check the user name and "
                                 "password (%s)",
                                 address, user ? user : "", detail);
    case -ETIMEDOUT:
        return api_respond_error(c, 504,
                                 "camera at %s did not answer in time: check "
                                 "that it is on and reachable (%s)",
                                 address, detail);
    case -EOPNOTSUPP:
        return api_respond_error(c, 501,
                                 "camera at %s does not support this "
                                 "ONVIF call (%s)",
                                 address, detail);
    case -ENOMEM:
        return api_respond_error(c, 503, "out of memory: retry later");
    case -EBADMSG:
    case -EMSGSIZE:
        return api_respond_error(c, 502,
                                 "camera at %s sent a malformed or oversized "
                                 "reply (%s)",
                                 address, detail);
    case -EPROTO:
    case -EINVAL:
        return api_respond_error(c, 502,
                                 "camera at %s returned an error (%s)",
                                 address, detail);
    default:
        return api_respond_error(c, 502, "cannot reach the camera at %s (%s)",
                                 address, detail);
    }
}

/* Parses the optional request body as a JSON object. Returns the object
 * (an empty one without a body), or NULL after responding 400. */
static json_t *api_onvif_body(api_conn_t *c)
{
    json_error_t jerr;
    json_t *obj;

    if (!c->body || c->body_len == 0)
        return json_object();
    obj = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        api_respond_error(c, 400, "malformed JSON at line %d column %d: %s",
                          jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        api_respond_error(c, 400, "invalid request body: expected a JSON "
                                  "object");
        return NULL;
    }
    return obj;
}

/* Finds among cams the camera adopted from the same host as one of the
 * addresses. Returns its id, or 0 if there is none. */
static int64_t api_onvif_match(const catalog_camera_t *cams, size_t count,
                               const char *const *addresses, size_t n)
{
    for (size_t i = 0; i < count; i++) {
        char cam_host[256];

        if (!cams[i].onvif_url[0] ||
            api_onvif_host(cams[i].onvif_url, cam_host, sizeof(cam_host)) < 0)
            continue;
        for (size_t j = 0; j < n; j++) {
            char host[256];

            if (addresses[j] &&
                api_onvif_host(addresses[j], host, sizeof(host)) == 0 &&
                strcmp(host, cam_host) == 0)
                return cams[i].id;
        }
    }
    return 0;
}

/* Runs api_onvif_match() over the catalog. Returns a negative errno
 * when the catalog cannot be read. */
static int64_t api_onvif_adopted_id(api_server_t *srv,
                                    const char *const *addresses, size_t n)
{
    catalog_camera_t *cams = NULL;
    size_t count = 0;
    int64_t found;
    int rc = catalog_camera_list(srv->cfg.cat, &cams, &count);

    if (rc < 0)
        return rc;
    found = api_onvif_match(cams, count, addresses, n);
    free(cams);
    return found;
}

/* Builds the public form of an adopted camera: the fields of GET
 * /api/v1/cameras/ID and what adoption learnt, never the password. */
static json_t *api_onvif_camera_json(const catalog_camera_t *cam)
{
    json_t *obj = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:b}",
                            "id", (json_int_t)cam->id, "name", cam->name,
                            "main_url", cam->main_url, "sub_url",
                            cam->sub_url, "username", cam->username,
                            "password_set", cam->password[0] != '\0',
                            "transport", cam->transport, "enabled",
                            cam->enabled);

    if (!obj)
        return NULL;
    json_object_set_new(obj, "retention_days",
                        json_integer(cam->retention_days));
    json_object_set_new(obj, "retention_bytes",
                        json_integer(cam->retention_bytes));
    json_object_set_new(obj, "onvif_url", json_string(cam->onvif_url));
    json_object_set_new(obj, "manufacturer", json_string(cam->manufacturer));
    json_object_set_new(obj, "model", json_string(cam->model));
    json_object_set_new(obj, "firmware", json_string(cam->firmware));
    json_object_set_new(obj, "serial", json_string(cam->serial));
    json_object_set_new(obj, "time_offset_s",
                        json_integer(cam->time_offset_s));
    return obj;
}

/* ---- Discovery scan ------------------------------------------------ */

typedef struct api_scan_job {
    char interfaces[API_SCAN_MAX_INTERFACES][64];
    const char *interface_names[API_SCAN_MAX_INTERFACES];
    size_t interface_count;
    int from_config;           /* interfaces are the configured ones */
    char address[API_ADDRESS_MAX]; /* unicast probe target, "" for none */
    int duration_ms;
    /* results, written by the worker */
    onvif_discovered_t *found;
    size_t count;
    int rc;
    onvif_err_t err;
    int64_t elapsed_us;
} api_scan_job_t;

/* Worker: sends the probes and collects the ProbeMatches. */
static void api_scan_work(void *arg)
{
    api_scan_job_t *job = arg;
    onvif_discovery_options_t opts = {
        .interfaces = job->interface_names,
        .interface_count = job->interface_count,
        .unicast_address = job->address[0] ? job->address : NULL,
        .duration_ms = job->duration_ms,
    };
    int64_t start = vms_monotonic_us();

    job->rc = onvif_discovery_probe(&opts, &job->found, &job->count,
                                    &job->err);
    job->elapsed_us = vms_monotonic_us() - start;
}

/* Returns a JSON string, or null for NULL. */
static json_t *api_onvif_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Builds the JSON of one discovered device. */
static json_t *api_scan_device_json(const catalog_camera_t *cams,
                                    size_t cam_count,
                                    const onvif_discovered_t *d)
{
    json_t *obj = json_object();
    json_t *xaddrs = json_array();
    int64_t adopted;

    if (!obj || !xaddrs) {
        json_decref(obj);
        json_decref(xaddrs);
        return NULL;
    }
    for (size_t i = 0; i < d->xaddr_count; i++)
        json_array_append_new(xaddrs, json_string(d->xaddrs[i]));
    adopted = api_onvif_match(cams, cam_count,
                              (const char *const *)d->xaddrs, d->xaddr_count);
    json_object_set_new(obj, "endpoint", api_onvif_string(d->endpoint));
    json_object_set_new(obj, "xaddr", api_onvif_string(d->xaddr));
    json_object_set_new(obj, "xaddrs", xaddrs);
    json_object_set_new(obj, "name", api_onvif_string(d->name));
    json_object_set_new(obj, "hardware", api_onvif_string(d->hardware));
    json_object_set_new(obj, "location", api_onvif_string(d->location));
    json_object_set_new(obj, "from", json_string(d->from));
    json_object_set_new(obj, "adopted", json_boolean(adopted > 0));
    json_object_set_new(obj, "camera_id",
                        adopted > 0 ? json_integer(adopted) : json_null());
    return obj;
}

/* Event loop: responds to a finished scan and frees the job. */
static int api_scan_done(api_conn_t *c, void *arg)
{
    api_scan_job_t *job = arg;
    catalog_camera_t *cams = NULL;
    size_t cam_count = 0;
    json_t *devices;
    json_t *ifaces;
    int rc = 0;

    api_onvif_running--;

    if (job->rc < 0) {
        vms_log(VMS_LOG_WARN, "onvif", "event=scan_failed error=\"%s\"",
                job->err.msg);
        if (c && (job->rc == -EINVAL || job->rc == -ENODEV))
            rc = api_respond_error(
                c, job->from_config ? 503 : 400, "discovery failed: %s%s",
                job->err.msg,
                job->from_config ? "; fix discovery_interface in the config "
                                   "file"
                                 : "; name an interface of this server");
        else if (c)
            rc = api_respond_error(c, 500, "discovery failed: %s",
                                   job->err.msg);
        goto out;
    }
    vms_log(VMS_LOG_INFO, "onvif", "event=scan_done devices=%zu ms=%lld",
            job->count, (long long)(job->elapsed_us / 1000));
    if (!c)
        goto out;
    rc = catalog_camera_list(c->srv->cfg.cat, &cams, &cam_count);
    if (rc < 0) {
        rc = api_respond_error(c, 500, "catalog read failed: %s",
                               strerror(-rc));
        goto out;
    }
    devices = json_array();
    ifaces = json_array();
    for (size_t i = 0; devices && i < job->count; i++)
        json_array_append_new(devices, api_scan_device_json(
                                           cams, cam_count, &job->found[i]));
    for (size_t i = 0; ifaces && i < job->interface_count; i++)
        json_array_append_new(ifaces, json_string(job->interfaces[i]));
    rc = api_respond_json(
        c, 200,
        json_pack("{s:o, s:o, s:o, s:f, s:I}", "devices", devices,
                  "interfaces", ifaces, "address",
                  job->address[0] ? json_string(job->address) : json_null(),
                  "seconds", job->duration_ms / 1000.0, "elapsed_ms",
                  (json_int_t)(job->elapsed_us / 1000)));
out:
    free(cams);
    onvif_discovered_free(job->found, job->count);
    free(job);
    return rc;
}

/* Reads the scan options of the body into job. Responds 400 and
 * returns -1 on an invalid value. */
static int api_scan_options(api_conn_t *c, json_t *body, api_scan_job_t *job)
{
    const api_config_t *cfg = &c->srv->cfg;
    json_t *seconds = json_object_get(body, "seconds");
    json_t *ifaces = json_object_get(body, "interfaces");
    json_t *address = json_object_get(body, "address");
    const char *key;
    json_t *v;

    json_object_foreach(body, key, v) {
        if (strcmp(key, "seconds") && strcmp(key, "interfaces") &&
            strcmp(key, "address")) {
            api_respond_error(c, 400,
                              "unknown field '%s': expected seconds, "
                              "interfaces or address",
                              key);
            return -1;
        }
    }
    job->duration_ms = API_SCAN_DEFAULT_MS;
    if (seconds) {
        double s = json_number_value(seconds);

        if (!json_is_number(seconds) || s < 0.5 ||
            s > API_SCAN_MAX_MS / 1000.0) {
            api_respond_error(c, 400,
                              "invalid seconds: expected a number from 0.5 "
                              "to %d",
                              API_SCAN_MAX_MS / 1000);
            return -1;
        }
        job->duration_ms = (int)(s * 1000);
    }
    if (address && !json_is_null(address)) {
        const char *a = json_string_value(address);

        if (!a || !*a || strlen(a) >= sizeof(job->address)) {
            api_respond_error(c, 400,
                              "invalid address: expected a host or "
                              "host:port of at most %zu characters",
                              sizeof(job->address) - 1);
            return -1;
        }
        snprintf(job->address, sizeof(job->address), "%s", a);
    }
    if (ifaces && !json_is_null(ifaces)) {
        size_t i;

        if (!json_is_array(ifaces) ||
            json_array_size(ifaces) > API_SCAN_MAX_INTERFACES) {
            api_respond_error(c, 400,
                              "invalid interfaces: expected an array of at "
                              "most %d interface names or addresses",
                              API_SCAN_MAX_INTERFACES);
            return -1;
        }
        json_array_foreach(ifaces, i, v) {
            const char *name = json_string_value(v);

            if (!name || !*name || strlen(name) >= sizeof(job->interfaces[0])) {
                api_respond_error(c, 400,
                                  "invalid interfaces[%zu]: expected an "
                                  "interface name or address of 1 to %zu "
                                  "characters",
                                  i, sizeof(job->interfaces[0]) - 1);
                return -1;
            }
            snprintf(job->interfaces[i], sizeof(job->interfaces[i]), "%s",
                     name);
        }
        job->interface_count = json_array_size(ifaces);
    } else {
        for (int i = 0; i < cfg->discovery_interface_count &&
                        i < API_SCAN_MAX_INTERFACES;
             i++)
            snprintf(job->interfaces[i], sizeof(job->interfaces[i]), "%s",
                     cfg->discovery_interfaces[i]);
        job->interface_count = cfg->discovery_interface_count;
        if (job->interface_count > API_SCAN_MAX_INTERFACES)
            job->interface_count = API_SCAN_MAX_INTERFACES;
        job->from_config = 1;
    }
    for (size_t i = 0; i < job->interface_count; i++)
        job->interface_names[i] = job->interfaces[i];
    if (job->interface_count == 0 && !job->address[0]) {
        api_respond_error(c, 400,
                          "no interface to scan: set discovery_interface in "
                          "the config file, or send \"interfaces\" or a "
                          "unicast \"address\"");
        return -1;
    }
    return 0;
}

/* POST /api/v1/discovery/scan */
static int api_scan(api_conn_t *c)
{
    api_scan_job_t *job;
    json_t *body = api_onvif_body(c);
    int rc;

    if (!body)
        return 0;
    job = calloc(1, sizeof(*job));
    if (!job) {
        json_decref(body);
        return api_respond_error(c, 503, "out of memory: retry later");
    }
    rc = api_scan_options(c, body, job);
    json_decref(body);
    if (rc < 0 || api_onvif_reserve(c) < 0) {
        free(job);
        return 0;
    }
    vms_log(VMS_LOG_INFO, "onvif",
            "event=scan_start interfaces=%zu address=\"%s\" ms=%d",
            job->interface_count, job->address, job->duration_ms);
    rc = api_deferred_start(c, NULL, api_scan_work, api_scan_done, job);
    if (rc < 0) {
        api_onvif_running--;
        free(job);
        return api_respond_error(c, 503,
                                 "cannot start the discovery worker: %s",
                                 strerror(-rc));
    }
    return 0;
}

int api_route_discovery(api_conn_t *c, const char *rest)
{
    if (api_deferred_busy(c))
        return 0;
    if (strcmp(rest, "/scan") != 0)
        return api_respond_error(c, 404,
                                 "unknown discovery path %s: expected "
                                 "/api/v1/discovery/scan",
                                 c->path);
    if (c->method != API_POST)
        return api_respond_error(c, 405, "use POST on %s", c->path);
    return api_scan(c);
}

/* ---- Adoption ------------------------------------------------------ */

typedef struct api_adopt_job {
    onvif_client_t *client;
    char address[API_ADDRESS_MAX];
    char username[CATALOG_NAME_MAX];
    char password[CATALOG_NAME_MAX];
    char name[CATALOG_NAME_MAX]; /* "" to name the camera after the model */
    /* results, written by the worker */
    onvif_device_t *dev;
    int rc;
    onvif_err_t err;
} api_adopt_job_t;

static void api_adopt_job_free(api_adopt_job_t *job)
{
    if (!job)
        return;
    onvif_client_free(job->client);
    onvif_device_free(job->dev);
    explicit_bzero(job->password, sizeof(job->password));
    free(job);
}

/* Worker: reads the camera's identity, clock and profiles. */
static void api_adopt_work(void *arg)
{
    api_adopt_job_t *job = arg;

    job->rc = onvif_device_probe_client(job->client, &job->dev, &job->err);
}

/* Picks the profiles with a stream URI of the largest and the smallest
 * picture. *sub is -1 when it would repeat the main stream. */
static void api_adopt_pick(const onvif_device_t *dev, int *main_index,
                           int *sub_index)
{
    long best_area = -1;
    long least_area = -1;

    *main_index = -1;
    *sub_index = -1;
    for (size_t i = 0; i < dev->profile_count; i++) {
        const onvif_profile_t *p = &dev->profiles[i];
        long area = (long)p->width * p->height;

        if (!p->stream_uri)
            continue;
        if (area > best_area) {
            best_area = area;
            *main_index = (int)i;
        }
        if (least_area < 0 || area < least_area) {
            least_area = area;
            *sub_index = (int)i;
        }
    }
    if (*sub_index == *main_index ||
        (*sub_index >= 0 && strcmp(dev->profiles[*sub_index].stream_uri,
                                   dev->profiles[*main_index].stream_uri) ==
                                0))
        *sub_index = -1;
}

/* Copies a stream URI into dst after checking that the recorder can
 * open it. "user:password@" in the URI is dropped, because the
 * recorder sends the adopted credentials. Returns 0 or -EINVAL. */
static int api_adopt_stream_url(const char *uri, char *dst, size_t len)
{
    char probe[CATALOG_URL_MAX + 256];
    const char *authority;
    const char *end;
    const char *at;
    size_t prefix;

    if (strlen(uri) >= len ||
        ingest_build_url(uri, NULL, NULL, probe, sizeof(probe)) < 0)
        return -EINVAL;
    prefix = strncmp(uri, "rtsps://", 8) == 0 ? 8 : 7;
    authority = uri + prefix;
    end = authority + strcspn(authority, "/?#");
    at = memrchr(authority, '@', (size_t)(end - authority));
    snprintf(dst, len, "%.*s%s", (int)prefix, uri, at ? at + 1 : authority);
    return 0;
}

/* Logs each line of the probe's notes (URI rewrites, missing URIs). */
static void api_adopt_log_notes(int64_t id, const onvif_device_t *dev)
{
    const char *line = dev->notes;

    while (*line) {
        size_t n = strcspn(line, "\n");

        if (n > 0)
            vms_log(VMS_LOG_WARN, "onvif", "camera=%lld address=%s note=\"%.*s\"",
                    (long long)id, dev->device_url, (int)n, line);
        line += n;
        if (*line == '\n')
            line++;
    }
}

/* Fills cam from the probe result. Responds 502 and returns -1 when the
 * camera's stream URIs cannot be recorded. */
static int api_adopt_fill(api_conn_t *c, const api_adopt_job_t *job,
                          catalog_camera_t *cam)
{
    const onvif_device_t *dev = job->dev;
    const onvif_device_info_t *info = &dev->info;
    int main_index;
    int sub_index;
    char host[256] = "";

    api_adopt_pick(dev, &main_index, &sub_index);
    if (main_index < 0) {
        api_respond_error(c, 502, "camera at %s has no profile with a stream "
                                  "URI",
                          job->address);
        return -1;
    }
    if (api_adopt_stream_url(dev->profiles[main_index].stream_uri,
                             cam->main_url, sizeof(cam->main_url)) < 0) {
        api_respond_error(c, 502,
                          "camera at %s returned the stream URI '%s', which "
                          "is not an rtsp:// or rtsps:// URL the recorder "
                          "can open",
                          job->address, dev->profiles[main_index].stream_uri);
        return -1;
    }
    if (sub_index >= 0 &&
        api_adopt_stream_url(dev->profiles[sub_index].stream_uri,
                             cam->sub_url, sizeof(cam->sub_url)) < 0) {
        vms_log(VMS_LOG_WARN, "onvif",
                "address=%s event=sub_stream_skipped uri=\"%s\"",
                job->address, dev->profiles[sub_index].stream_uri);
        cam->sub_url[0] = '\0';
    }
    api_onvif_host(dev->device_url, host, sizeof(host));
    if (job->name[0])
        snprintf(cam->name, sizeof(cam->name), "%s", job->name);
    else
        snprintf(cam->name, sizeof(cam->name), "%s %s (%s)",
                 info->manufacturer ? info->manufacturer : "ONVIF",
                 info->model ? info->model : "camera", host);
    snprintf(cam->username, sizeof(cam->username), "%s", job->username);
    snprintf(cam->password, sizeof(cam->password), "%s", job->password);
    snprintf(cam->transport, sizeof(cam->transport), "tcp");
    cam->enabled = 1;
    snprintf(cam->onvif_url, sizeof(cam->onvif_url), "%s", dev->device_url);
    snprintf(cam->manufacturer, sizeof(cam->manufacturer), "%s",
             info->manufacturer ? info->manufacturer : "");
    snprintf(cam->model, sizeof(cam->model), "%s",
             info->model ? info->model : "");
    snprintf(cam->firmware, sizeof(cam->firmware), "%s",
             info->firmware_version ? info->firmware_version : "");
    snprintf(cam->serial, sizeof(cam->serial), "%s",
             info->serial_number ? info->serial_number : "");
    cam->time_offset_s = dev->time_offset_s;
    return 0;
}

/* Event loop: stores the adopted camera, starts its streams, responds
 * with the camera and frees the job. */
static int api_adopt_done(api_conn_t *c, void *arg)
{
    api_adopt_job_t *job = arg;
    catalog_camera_t cam;
    const char *addresses[2];
    int64_t existing;
    int rc = 0;

    api_onvif_running--;
    memset(&cam, 0, sizeof(cam));
    if (!c) {
        vms_log(VMS_LOG_WARN, "onvif",
                "address=%s event=adopt_abandoned reason=\"the client "
                "closed the connection before the probe ended\"",
                job->address);
        goto out;
    }
    if (job->rc < 0) {
        vms_log(VMS_LOG_WARN, "onvif",
                "address=%s event=adopt_failed error=\"%s\"", job->address,
                job->err.msg);
        rc = api_onvif_respond_error(c, job->rc, job->address, job->username,
                                     &job->err);
        goto out;
    }
    /* Checked again: the device URL may name the host differently, and
     * another adoption may have finished meanwhile. */
    addresses[0] = job->address;
    addresses[1] = job->dev->device_url;
    existing = api_onvif_adopted_id(c->srv, addresses, 2);
    if (existing > 0) {
        rc = api_respond_error(c, 409,
                               "camera at %s is already adopted as camera "
                               "%lld",
                               job->address, (long long)existing);
        goto out;
    }
    if (api_adopt_fill(c, job, &cam) < 0)
        goto out;
    rc = catalog_camera_insert(c->srv->cfg.cat, &cam);
    if (rc < 0) {
        rc = api_respond_error(c, 500, "catalog write failed: %s",
                               strerror(-rc));
        goto out;
    }
    vms_log(VMS_LOG_INFO, "onvif",
            "camera=%lld event=adopted address=%s manufacturer=\"%s\" "
            "model=\"%s\" firmware=\"%s\" time_offset_s=%lld sub=%s",
            (long long)cam.id, cam.onvif_url, cam.manufacturer, cam.model,
            cam.firmware, (long long)cam.time_offset_s,
            cam.sub_url[0] ? "yes" : "no");
    if (cam.time_offset_s > API_CLOCK_WARN_S ||
        cam.time_offset_s < -API_CLOCK_WARN_S)
        vms_log(VMS_LOG_WARN, "onvif",
                "camera=%lld event=clock_off time_offset_s=%lld "
                "hint=\"set it with POST /api/v1/cameras/%lld/time\"",
                (long long)cam.id, (long long)cam.time_offset_s,
                (long long)cam.id);
    api_adopt_log_notes(cam.id, job->dev);
    c->srv->cfg.svc->camera_changed(c->srv->cfg.svc_ctx, cam.id);
    rc = api_respond_json(c, 201, api_onvif_camera_json(&cam));
out:
    explicit_bzero(cam.password, sizeof(cam.password));
    api_adopt_job_free(job);
    return rc;
}

/* Reads a string member into dst. Responds 400 and returns -1 if it is
 * not a string, too long, or empty when required. */
static int api_adopt_string(api_conn_t *c, json_t *body, const char *key,
                            int required, char *dst, size_t len)
{
    json_t *v = json_object_get(body, key);
    const char *s;

    if (!v && !required)
        return 0;
    s = json_string_value(v);
    if (!s || (required && !*s) || strlen(s) >= len) {
        api_respond_error(c, 400,
                          "%s %s: expected a string of %s%zu characters",
                          v ? "invalid" : "missing", key,
                          required ? "1 to " : "at most ", len - 1);
        return -1;
    }
    snprintf(dst, len, "%s", s);
    return 0;
}

/* Reads the body of an adoption. Responds 400 and returns -1 on an
 * invalid field. */
static int api_adopt_options(api_conn_t *c, json_t *body,
                             api_adopt_job_t *job)
{
    const char *key;
    json_t *v;

    json_object_foreach(body, key, v) {
        if (strcmp(key, "address") && strcmp(key, "username") &&
            strcmp(key, "password") && strcmp(key, "name")) {
            api_respond_error(c, 400,
                              "unknown field '%s': expected address, "
                              "username, password or name",
                              key);
            return -1;
        }
    }
    if (api_adopt_string(c, body, "address", 1, job->address,
                         sizeof(job->address)) < 0 ||
        api_adopt_string(c, body, "username", 0, job->username,
                         sizeof(job->username)) < 0 ||
        api_adopt_string(c, body, "password", 0, job->password,
                         sizeof(job->password)) < 0 ||
        api_adopt_string(c, body, "name", 0, job->name, sizeof(job->name)) <
            0)
        return -1;
    return 0;
}

int api_camera_adopt(api_conn_t *c)
{
    onvif_client_options_t opts = {.timeout_ms = API_ADOPT_TIMEOUT_MS};
    onvif_credentials_t cred;
    onvif_err_t err = {""};
    api_adopt_job_t *job;
    const char *addresses[1];
    json_t *body;
    int64_t existing;
    int rc;

    if (api_deferred_busy(c))
        return 0;
    if (c->method != API_POST)
        return api_respond_error(c, 405, "use POST on %s", c->path);
    if (!c->body || c->body_len == 0)
        return api_respond_error(c, 400,
                                 "missing request body: send {\"address\", "
                                 "\"username\", \"password\"}");
    body = api_onvif_body(c);
    if (!body)
        return 0;
    job = calloc(1, sizeof(*job));
    if (!job) {
        json_decref(body);
        return api_respond_error(c, 503, "out of memory: retry later");
    }
    rc = api_adopt_options(c, body, job);
    json_decref(body);
    if (rc < 0)
        goto fail_responded;
    addresses[0] = job->address;
    existing = api_onvif_adopted_id(c->srv, addresses, 1);
    if (existing < 0) {
        rc = api_respond_error(c, 500, "catalog read failed: %s",
                               strerror((int)-existing));
        goto fail;
    }
    if (existing > 0) {
        rc = api_respond_error(c, 409,
                               "camera at %s is already adopted as camera "
                               "%lld",
                               job->address, (long long)existing);
        goto fail;
    }
    /* Creating the client checks the address without any traffic. */
    cred.username = job->username;
    cred.password = job->password;
    rc = onvif_client_new(job->address, &cred, &opts, &job->client, &err);
    if (rc == -EINVAL) {
        rc = api_respond_error(c, 400,
                               "invalid address '%s': expected a host, "
                               "host:port or http(s)://host[:port]/path (%s)",
                               job->address, err.msg);
        goto fail;
    }
    if (rc < 0) {
        rc = api_respond_error(c, 503, "cannot create the ONVIF client: %s",
                               err.msg);
        goto fail;
    }
    if (api_onvif_reserve(c) < 0)
        goto fail_responded;
    vms_log(VMS_LOG_INFO, "onvif", "address=%s event=adopt_start",
            job->address);
    api_audit(c, "camera.adopt", job->address, "requested", "user=%s",
              job->username);
    rc = api_deferred_start(c, NULL, api_adopt_work, api_adopt_done, job);
    if (rc < 0) {
        api_onvif_running--;
        rc = api_respond_error(c, 503, "cannot start the adoption worker: %s",
                               strerror(-rc));
        goto fail;
    }
    return 0;

fail_responded:
    rc = 0;
fail:
    api_adopt_job_free(job);
    return rc;
}
