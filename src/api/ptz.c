/*
 * PTZ and camera time of adopted cameras:
 *
 *   POST   /api/v1/cameras/ID/ptz/move       continuous move for a time
 *   POST   /api/v1/cameras/ID/ptz/absolute   move to a position
 *   POST   /api/v1/cameras/ID/ptz/relative   move by a translation
 *   POST   /api/v1/cameras/ID/ptz/stop
 *   GET    /api/v1/cameras/ID/ptz/status
 *   GET    /api/v1/cameras/ID/ptz/presets
 *   POST   /api/v1/cameras/ID/ptz/presets             store a preset
 *   POST   /api/v1/cameras/ID/ptz/presets/TOKEN/goto
 *   DELETE /api/v1/cameras/ID/ptz/presets/TOKEN
 *   POST   /api/v1/cameras/ID/ptz/home       go to the home position
 *   PUT    /api/v1/cameras/ID/ptz/home       store the home position
 *   GET    /api/v1/cameras/ID/time           camera clock offset
 *   POST   /api/v1/cameras/ID/time           set the camera clock
 *
 * Each camera has one onvif_client_t and one queue (deferred.h): the
 * calls run on the queue's worker thread, one at a time and in the
 * order the requests arrived, so a stop never overtakes the move it
 * ends. Each HTTP request to the camera has a time limit of
 * API_PTZ_TIMEOUT_MS. The client is only touched by the queue's worker;
 * it is rebuilt when the camera's address or credentials change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/deferred.h"
#include "api/onvif_api.h"
#include "common/clock.h"
#include "common/log.h"

/* Time limit of each request to the camera. */
#define API_PTZ_TIMEOUT_MS 2000
/* Default and maximum duration of a continuous move. */
#define API_PTZ_MOVE_DEFAULT_MS 1000
#define API_PTZ_MOVE_MAX_MS 60000
/* Maximum length of a preset token or name, with the terminating NUL. */
#define API_PTZ_TOKEN_MAX 64

typedef enum api_ptz_op {
    API_PTZ_MOVE,
    API_PTZ_ABSOLUTE,
    API_PTZ_RELATIVE,
    API_PTZ_STOP,
    API_PTZ_STATUS,
    API_PTZ_PRESETS,
    API_PTZ_SET_PRESET,
    API_PTZ_GOTO_PRESET,
    API_PTZ_REMOVE_PRESET,
    API_PTZ_HOME,
    API_PTZ_SET_HOME,
    API_TIME_GET,
    API_TIME_SET,
} api_ptz_op_t;

/* Per-camera state. NOTE: entries stay until the process exits, also
 * after the camera is deleted, because a queue may not be freed while
 * its worker runs. */
typedef struct api_ptz_camera {
    int64_t id;
    api_deferred_queue_t queue;
    /* queue worker only */
    onvif_client_t *client;
    char url[CATALOG_URL_MAX];
    char username[CATALOG_NAME_MAX];
    char password[CATALOG_NAME_MAX];
    char profile[API_PTZ_TOKEN_MAX]; /* PTZ profile found by a probe */
    struct api_ptz_camera *next;     /* under api_ptz_lock */
} api_ptz_camera_t;

static pthread_mutex_t api_ptz_lock = PTHREAD_MUTEX_INITIALIZER;
static api_ptz_camera_t *api_ptz_cameras;

typedef struct api_ptz_job {
    api_ptz_camera_t *cam;
    int64_t camera_id;
    api_ptz_op_t op;
    const char *call; /* name of the ONVIF call, for messages */
    /* the camera row when the request arrived */
    char url[CATALOG_URL_MAX];
    char username[CATALOG_NAME_MAX];
    char password[CATALOG_NAME_MAX];
    int64_t offset_at_adoption_s;
    /* arguments */
    char profile[API_PTZ_TOKEN_MAX]; /* "" picks the camera's PTZ profile */
    onvif_ptz_vector_t vector;
    onvif_ptz_vector_t speed;
    int has_speed;
    int timeout_ms;
    int stop_pan_tilt;
    int stop_zoom;
    char token[API_PTZ_TOKEN_MAX];
    char name[API_PTZ_TOKEN_MAX];
    /* results, written by the worker */
    int rc;
    onvif_err_t err;
    char used_profile[API_PTZ_TOKEN_MAX];
    onvif_ptz_preset_t *presets;
    size_t preset_count;
    onvif_ptz_status_t status;
    char token_out[API_PTZ_TOKEN_MAX];
    int64_t offset_before_s;
    int64_t offset_s;
    time_t camera_utc;
    int64_t recorder_us;
} api_ptz_job_t;

/* Returns the state of camera id, created on first use, or NULL when
 * out of memory. */
static api_ptz_camera_t *api_ptz_camera_get(int64_t id)
{
    api_ptz_camera_t *cam;

    pthread_mutex_lock(&api_ptz_lock);
    for (cam = api_ptz_cameras; cam; cam = cam->next)
        if (cam->id == id)
            break;
    if (!cam) {
        cam = calloc(1, sizeof(*cam));
        if (cam) {
            cam->id = id;
            api_deferred_queue_init(&cam->queue);
            cam->next = api_ptz_cameras;
            api_ptz_cameras = cam;
        }
    }
    pthread_mutex_unlock(&api_ptz_lock);
    return cam;
}

static void api_ptz_job_free(api_ptz_job_t *job)
{
    if (!job)
        return;
    onvif_ptz_presets_free(job->presets, job->preset_count);
    explicit_bzero(job->password, sizeof(job->password));
    free(job);
}

/* ---- Worker -------------------------------------------------------- */

/* Makes sure the camera's client matches the job's address and
 * credentials. */
static int api_ptz_client(api_ptz_job_t *job)
{
    api_ptz_camera_t *cam = job->cam;
    onvif_client_options_t opts = {.timeout_ms = API_PTZ_TIMEOUT_MS};
    onvif_credentials_t cred = {job->username, job->password};

    if (cam->client && strcmp(cam->url, job->url) == 0 &&
        strcmp(cam->username, job->username) == 0 &&
        strcmp(cam->password, job->password) == 0)
        return 0;
    onvif_client_free(cam->client);
    cam->client = NULL;
    cam->profile[0] = '\0';
    explicit_bzero(cam->password, sizeof(cam->password));
    snprintf(cam->url, sizeof(cam->url), "%s", job->url);
    snprintf(cam->username, sizeof(cam->username), "%s", job->username);
    snprintf(cam->password, sizeof(cam->password), "%s", job->password);
    return onvif_client_new(job->url, &cred, &opts, &cam->client, &job->err);
}

/* Finds the profile token for PTZ calls: the request's, else the
 * highest-resolution profile with a PTZ configuration (probed once per
 * client). */
static int api_ptz_profile(api_ptz_job_t *job)
{
    api_ptz_camera_t *cam = job->cam;
    onvif_device_t *dev = NULL;
    int found = -1;
    int rc;

    if (job->profile[0]) {
        snprintf(job->used_profile, sizeof(job->used_profile), "%s",
                 job->profile);
        return 0;
    }
    if (!cam->profile[0]) {
        rc = onvif_device_probe_client(cam->client, &dev, &job->err);
        if (rc < 0)
            return rc;
        if (dev->main_profile >= 0 &&
            dev->profiles[dev->main_profile].ptz_configuration_token)
            found = dev->main_profile;
        for (size_t i = 0; found < 0 && i < dev->profile_count; i++)
            if (dev->profiles[i].ptz_configuration_token)
                found = (int)i;
        if (found < 0 || !dev->services.ptz) {
            onvif_device_free(dev);
            snprintf(job->err.msg, sizeof(job->err.msg),
                     "%s: no media profile has a PTZ configuration",
                     job->url);
            return -EOPNOTSUPP;
        }
        snprintf(cam->profile, sizeof(cam->profile), "%s",
                 dev->profiles[found].token);
        onvif_device_free(dev);
    }
    snprintf(job->used_profile, sizeof(job->used_profile), "%s",
             cam->profile);
    return 0;
}

/* Measures the camera clock minus ours, in whole seconds. */
static int api_ptz_clock_offset(api_ptz_job_t *job, int64_t *offset_s)
{
    int64_t before = vms_realtime_us();
    int64_t after;
    int rc = onvif_get_system_time(job->cam->client, &job->camera_utc,
                                   &job->err);

    if (rc < 0)
        return rc;
    after = vms_realtime_us();
    /* The camera read its clock at some moment of the round trip: the
     * middle is the best guess, within half the round trip and the
     * camera's one-second resolution. */
    job->recorder_us = before + (after - before) / 2;
    *offset_s = (int64_t)job->camera_utc -
                (job->recorder_us + 500000) / 1000000;
    return 0;
}

/* Sets the camera clock to ours and measures the offset before and
 * after. */
static int api_ptz_set_time(api_ptz_job_t *job)
{
    onvif_client_t *client = job->cam->client;
    int rc = api_ptz_clock_offset(job, &job->offset_before_s);

    if (rc < 0)
        return rc;
    /* Rounded to the nearest second, because ONVIF sends whole seconds. */
    rc = onvif_set_system_time(
        client, (time_t)((vms_realtime_us() + 500000) / 1000000), &job->err);
    if (rc < 0)
        return rc;
    /* WS-UsernameToken times follow the camera clock: measure it again. */
    rc = onvif_client_connect(client, &job->err);
    if (rc < 0)
        return rc;
    return api_ptz_clock_offset(job, &job->offset_s);
}

/* Runs the job's call on the camera once. */
static int api_ptz_call(api_ptz_job_t *job)
{
    onvif_client_t *client = job->cam->client;
    const onvif_ptz_vector_t *speed = job->has_speed ? &job->speed : NULL;
    const char *profile = job->used_profile;
    int rc;

    if (job->op == API_TIME_GET)
        return api_ptz_clock_offset(job, &job->offset_s);
    if (job->op == API_TIME_SET)
        return api_ptz_set_time(job);
    rc = api_ptz_profile(job);
    if (rc < 0)
        return rc;
    switch (job->op) {
    case API_PTZ_MOVE:
        return onvif_ptz_continuous_move(client, profile, &job->vector,
                                         job->timeout_ms, &job->err);
    case API_PTZ_ABSOLUTE:
        return onvif_ptz_absolute_move(client, profile, &job->vector, speed,
                                       &job->err);
    case API_PTZ_RELATIVE:
        return onvif_ptz_relative_move(client, profile, &job->vector, speed,
                                       &job->err);
    case API_PTZ_STOP:
        return onvif_ptz_stop(client, profile, job->stop_pan_tilt,
                              job->stop_zoom, &job->err);
    case API_PTZ_STATUS:
        return onvif_ptz_get_status(client, profile, &job->status,
                                    &job->err);
    case API_PTZ_PRESETS:
        return onvif_ptz_get_presets(client, profile, &job->presets,
                                     &job->preset_count, &job->err);
    case API_PTZ_SET_PRESET:
        return onvif_ptz_set_preset(client, profile,
                                    job->name[0] ? job->name : NULL,
                                    job->token[0] ? job->token : NULL,
                                    job->token_out, sizeof(job->token_out),
                                    &job->err);
    case API_PTZ_GOTO_PRESET:
        return onvif_ptz_goto_preset(client, profile, job->token, speed,
                                     &job->err);
    case API_PTZ_REMOVE_PRESET:
        return onvif_ptz_remove_preset(client, profile, job->token,
                                       &job->err);
    case API_PTZ_HOME:
        return onvif_ptz_goto_home(client, profile, &job->err);
    case API_PTZ_SET_HOME:
        return onvif_ptz_set_home(client, profile, &job->err);
    default:
        return -EINVAL;
    }
}

/* Worker: runs the call, and once more after measuring the camera
 * clock again when the camera rejects the credentials, because its
 * clock may have been changed since the client measured it. */
static void api_ptz_work(void *arg)
{
    api_ptz_job_t *job = arg;

    job->rc = api_ptz_client(job);
    if (job->rc < 0)
        return;
    job->rc = api_ptz_call(job);
    if (job->rc == -EACCES &&
        onvif_client_connect(job->cam->client, &job->err) == 0)
        job->rc = api_ptz_call(job);
}

/* ---- Event loop ---------------------------------------------------- */

static json_t *api_ptz_vector_json(const onvif_ptz_vector_t *v)
{
    json_t *obj = json_object();

    if (!obj)
        return NULL;
    if (v->has_pan_tilt) {
        json_object_set_new(obj, "pan", json_real(v->pan));
        json_object_set_new(obj, "tilt", json_real(v->tilt));
    }
    if (v->has_zoom)
        json_object_set_new(obj, "zoom", json_real(v->zoom));
    return obj;
}

/* Formats a UTC time as ISO 8601. */
static json_t *api_ptz_time_json(time_t t)
{
    struct tm tm;
    char text[32];

    if (!gmtime_r(&t, &tm))
        return json_null();
    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(text);
}

/* Builds the response body of a successful call. */
static json_t *api_ptz_result_json(const api_ptz_job_t *job)
{
    json_t *obj = json_pack("{s:I, s:s}", "camera_id",
                            (json_int_t)job->camera_id, "call", job->call);
    json_t *list;

    if (!obj)
        return NULL;
    if (job->op != API_TIME_GET && job->op != API_TIME_SET)
        json_object_set_new(obj, "profile", json_string(job->used_profile));
    switch (job->op) {
    case API_PTZ_STATUS:
        if (job->status.has_position)
            json_object_set_new(obj, "position",
                                api_ptz_vector_json(&job->status.position));
        json_object_set_new(obj, "pan_tilt_move",
                            json_string(job->status.pan_tilt_move));
        json_object_set_new(obj, "zoom_move",
                            json_string(job->status.zoom_move));
        json_object_set_new(obj, "error", json_string(job->status.error));
        if (job->status.utc_time)
            json_object_set_new(obj, "utc_time",
                                api_ptz_time_json(job->status.utc_time));
        break;
    case API_PTZ_PRESETS:
        list = json_array();
        for (size_t i = 0; list && i < job->preset_count; i++) {
            const onvif_ptz_preset_t *p = &job->presets[i];
            json_t *item = json_pack("{s:s, s:s}", "token",
                                     p->token ? p->token : "", "name",
                                     p->name ? p->name : "");

            if (item && p->has_position)
                json_object_set_new(item, "position",
                                    api_ptz_vector_json(&p->position));
            json_array_append_new(list, item);
        }
        json_object_set_new(obj, "presets", list);
        break;
    case API_PTZ_SET_PRESET:
        json_object_set_new(obj, "token", json_string(job->token_out));
        json_object_set_new(obj, "name", json_string(job->name));
        break;
    case API_TIME_SET:
        json_object_set_new(obj, "offset_before_s",
                            json_integer(job->offset_before_s));
        /* The clock after setting it follows. */
        __attribute__((fallthrough));
    case API_TIME_GET:
        json_object_set_new(obj, "camera_time",
                            api_ptz_time_json(job->camera_utc));
        json_object_set_new(
            obj, "recorder_time",
            api_ptz_time_json((time_t)(job->recorder_us / 1000000)));
        json_object_set_new(obj, "offset_s", json_integer(job->offset_s));
        json_object_set_new(obj, "offset_at_adoption_s",
                            json_integer(job->offset_at_adoption_s));
        break;
    default:
        break;
    }
    return obj;
}

/* Responds to a finished job and frees it. */
static int api_ptz_done(api_conn_t *c, void *arg)
{
    api_ptz_job_t *job = arg;
    int rc = 0;

    if (job->rc < 0)
        vms_log(VMS_LOG_WARN, "onvif",
                "camera=%lld call=%s event=failed error=\"%s\"",
                (long long)job->camera_id, job->call, job->err.msg);
    else if (job->op == API_TIME_SET)
        vms_log(VMS_LOG_INFO, "onvif",
                "camera=%lld event=clock_set offset_before_s=%lld "
                "offset_s=%lld",
                (long long)job->camera_id, (long long)job->offset_before_s,
                (long long)job->offset_s);
    if (!c)
        goto out;
    if (job->rc < 0)
        rc = api_onvif_respond_error(c, job->rc, job->url, job->username,
                                     &job->err);
    else
        rc = api_respond_json(c, job->op == API_PTZ_SET_PRESET ? 201 : 200,
                              api_ptz_result_json(job));
out:
    api_ptz_job_free(job);
    return rc;
}

/* Reads a number member in [lo, hi]. Returns 1 if present, 0 if
 * absent. Responds 400 and returns -1 if invalid. */
static int api_ptz_number(api_conn_t *c, json_t *obj, const char *prefix,
                          const char *key, double lo, double hi, double *out)
{
    json_t *v = json_object_get(obj, key);
    double d;

    if (!v)
        return 0;
    d = json_number_value(v);
    if (!json_is_number(v) || !(d >= lo && d <= hi)) {
        api_respond_error(c, 400, "invalid %s%s: expected a number from %g "
                                  "to %g",
                          prefix, key, lo, hi);
        return -1;
    }
    *out = d;
    return 1;
}

/* Reads {"pan", "tilt", "zoom"} of obj into v: pan and tilt in -1..1,
 * zoom in zoom_lo..1. Pan and tilt go together (a missing one is 0).
 * Returns 1 if an axis was given, 0 if none; responds 400 and returns
 * -1 if a value is invalid. */
static int api_ptz_vector(api_conn_t *c, json_t *obj, const char *prefix,
                          double zoom_lo, onvif_ptz_vector_t *v)
{
    int pan = api_ptz_number(c, obj, prefix, "pan", -1, 1, &v->pan);
    int tilt = pan < 0 ? -1
                       : api_ptz_number(c, obj, prefix, "tilt", -1, 1,
                                        &v->tilt);
    int zoom = tilt < 0 ? -1
                        : api_ptz_number(c, obj, prefix, "zoom", zoom_lo, 1,
                                         &v->zoom);

    if (zoom < 0)
        return -1;
    v->has_pan_tilt = pan || tilt;
    v->has_zoom = zoom > 0;
    return v->has_pan_tilt || v->has_zoom;
}

/* Reads the members of body that op takes. Responds 400 and returns -1
 * on an invalid or missing value. */
static int api_ptz_args(api_conn_t *c, json_t *body, api_ptz_job_t *job)
{
    json_t *v;
    int rc;

    v = json_object_get(body, "profile");
    if (v) {
        const char *s = json_string_value(v);

        if (!s || !*s || strlen(s) >= sizeof(job->profile)) {
            api_respond_error(c, 400, "invalid profile: expected a profile "
                                      "token of 1 to %d characters",
                              API_PTZ_TOKEN_MAX - 1);
            return -1;
        }
        snprintf(job->profile, sizeof(job->profile), "%s", s);
    }
    switch (job->op) {
    case API_PTZ_MOVE:
    case API_PTZ_ABSOLUTE:
    case API_PTZ_RELATIVE:
        rc = api_ptz_vector(c, body, "",
                            job->op == API_PTZ_ABSOLUTE ? 0 : -1,
                            &job->vector);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            api_respond_error(c, 400,
                              "missing pan, tilt or zoom: give at least one "
                              "axis, pan and tilt in -1..1, zoom in %s",
                              job->op == API_PTZ_ABSOLUTE ? "0..1" : "-1..1");
            return -1;
        }
        break;
    case API_PTZ_STOP:
        job->stop_pan_tilt = 1;
        job->stop_zoom = 1;
        v = json_object_get(body, "pan_tilt");
        if (v && !json_is_boolean(v)) {
            api_respond_error(c, 400, "invalid pan_tilt: expected true or "
                                      "false");
            return -1;
        }
        if (v)
            job->stop_pan_tilt = json_is_true(v);
        v = json_object_get(body, "zoom");
        if (v && !json_is_boolean(v)) {
            api_respond_error(c, 400, "invalid zoom: expected true or false");
            return -1;
        }
        if (v)
            job->stop_zoom = json_is_true(v);
        break;
    case API_PTZ_SET_PRESET:
        v = json_object_get(body, "name");
        if (v && (!json_is_string(v) ||
                  json_string_length(v) >= sizeof(job->name))) {
            api_respond_error(c, 400, "invalid name: expected a string of at "
                                      "most %d characters",
                              API_PTZ_TOKEN_MAX - 1);
            return -1;
        }
        if (v)
            snprintf(job->name, sizeof(job->name), "%s",
                     json_string_value(v));
        v = json_object_get(body, "token");
        if (v && (!json_is_string(v) || json_string_length(v) == 0 ||
                  json_string_length(v) >= sizeof(job->token))) {
            api_respond_error(c, 400, "invalid token: expected the token of "
                                      "the preset to overwrite");
            return -1;
        }
        if (v)
            snprintf(job->token, sizeof(job->token), "%s",
                     json_string_value(v));
        break;
    default:
        break;
    }
    if (job->op == API_PTZ_MOVE) {
        double ms = API_PTZ_MOVE_DEFAULT_MS;

        if (api_ptz_number(c, body, "", "timeout_ms", 1, API_PTZ_MOVE_MAX_MS,
                           &ms) < 0)
            return -1;
        job->timeout_ms = (int)ms;
    }
    v = json_object_get(body, "speed");
    if (v && (job->op == API_PTZ_ABSOLUTE || job->op == API_PTZ_RELATIVE ||
              job->op == API_PTZ_GOTO_PRESET)) {
        if (!json_is_object(v)) {
            api_respond_error(c, 400, "invalid speed: expected an object "
                                      "with pan, tilt and zoom");
            return -1;
        }
        rc = api_ptz_vector(c, v, "speed.", -1, &job->speed);
        if (rc < 0)
            return -1;
        job->has_speed = rc;
    }
    return 0;
}

/* Checks a preset token taken from the path. */
static int api_ptz_token_valid(const char *token)
{
    size_t n = strlen(token);

    if (n == 0 || n >= API_PTZ_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(token[i] >= '0' && token[i] <= '9') &&
            !(token[i] >= 'a' && token[i] <= 'z') &&
            !(token[i] >= 'A' && token[i] <= 'Z') && !strchr("-_.", token[i]))
            return 0;
    return 1;
}

/* Maps method and path (after ptz) to an operation and copies a preset
 * token from the path. Returns 0, or responds 4xx and returns -1. */
static int api_ptz_route(api_conn_t *c, const char *rest, api_ptz_job_t *job)
{
    static const struct {
        api_method_t method;
        const char *path;
        api_ptz_op_t op;
        const char *call;
    } routes[] = {
        {API_POST, "/move", API_PTZ_MOVE, "ContinuousMove"},
        {API_POST, "/absolute", API_PTZ_ABSOLUTE, "AbsoluteMove"},
        {API_POST, "/relative", API_PTZ_RELATIVE, "RelativeMove"},
        {API_POST, "/stop", API_PTZ_STOP, "Stop"},
        {API_GET, "/status", API_PTZ_STATUS, "GetStatus"},
        {API_GET, "/presets", API_PTZ_PRESETS, "GetPresets"},
        {API_POST, "/presets", API_PTZ_SET_PRESET, "SetPreset"},
        {API_POST, "/home", API_PTZ_HOME, "GotoHomePosition"},
        {API_PUT, "/home", API_PTZ_SET_HOME, "SetHomePosition"},
    };
    api_method_t method = c->method == API_HEAD ? API_GET : c->method;
    int path_known = 0;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(rest, routes[i].path) != 0)
            continue;
        path_known = 1;
        if (routes[i].method == method) {
            job->op = routes[i].op;
            job->call = routes[i].call;
            return 0;
        }
    }
    if (!path_known && strncmp(rest, "/presets/", 9) == 0) {
        const char *token = rest + 9;
        const char *slash = strchr(token, '/');
        size_t n = slash ? (size_t)(slash - token) : strlen(token);

        if (n < sizeof(job->token)) {
            memcpy(job->token, token, n);
            job->token[n] = '\0';
        }
        if (n >= sizeof(job->token) || !api_ptz_token_valid(job->token)) {
            api_respond_error(c, 400,
                              "invalid preset token in %s: expected 1 to %d "
                              "letters, digits, '-', '_' or '.'",
                              c->path, API_PTZ_TOKEN_MAX - 1);
            return -1;
        }
        path_known = slash ? strcmp(slash, "/goto") == 0 : 1;
        if (slash && path_known && method == API_POST) {
            job->op = API_PTZ_GOTO_PRESET;
            job->call = "GotoPreset";
            return 0;
        }
        if (!slash && method == API_DELETE) {
            job->op = API_PTZ_REMOVE_PRESET;
            job->call = "RemovePreset";
            return 0;
        }
    }
    if (path_known)
        api_respond_error(c, 405, "method not allowed on %s: see "
                                  "docs/onvif.md for the PTZ routes",
                          c->path);
    else
        api_respond_error(c, 404,
                          "unknown PTZ path %s: expected move, absolute, "
                          "relative, stop, status, presets, "
                          "presets/TOKEN[/goto] or home",
                          c->path);
    return -1;
}

/* Reads the camera row into job and queues the job on the camera.
 * Takes ownership of job in every case. */
static int api_ptz_start(api_conn_t *c, api_ptz_job_t *job)
{
    catalog_camera_t cam;
    int rc = catalog_camera_get(c->srv->cfg.cat, job->camera_id, &cam);
    char target[32];

    snprintf(target, sizeof(target), "camera %lld",
             (long long)job->camera_id);
    if (job->op == API_TIME_SET)
        api_audit(c, "camera.time", target, "requested", "%s", job->call);
    else if (job->op != API_TIME_GET && job->op != API_PTZ_STATUS &&
             job->op != API_PTZ_PRESETS)
        api_audit(c, "ptz", target, "requested", "%s %s", job->call,
                  job->token);

    if (rc == -ENOENT) {
        rc = api_respond_error(c, 404, "camera %lld not found",
                               (long long)job->camera_id);
        goto fail;
    }
    if (rc < 0) {
        rc = api_respond_error(c, 500, "catalog read failed: %s",
                               strerror(-rc));
        goto fail;
    }
    if (!cam.onvif_url[0]) {
        rc = api_respond_error(c, 409,
                               "camera %lld has no ONVIF device address "
                               "because it was added by stream URL: adopt "
                               "it with POST /api/v1/cameras/adopt",
                               (long long)job->camera_id);
        goto fail;
    }
    snprintf(job->url, sizeof(job->url), "%s", cam.onvif_url);
    snprintf(job->username, sizeof(job->username), "%s", cam.username);
    snprintf(job->password, sizeof(job->password), "%s", cam.password);
    explicit_bzero(cam.password, sizeof(cam.password));
    job->offset_at_adoption_s = cam.time_offset_s;
    job->cam = api_ptz_camera_get(job->camera_id);
    if (!job->cam) {
        rc = api_respond_error(c, 503, "out of memory: retry later");
        goto fail;
    }
    rc = api_deferred_start(c, &job->cam->queue, api_ptz_work, api_ptz_done,
                            job);
    if (rc < 0) {
        rc = api_respond_error(c, 503, "cannot start the camera worker: %s",
                               strerror(-rc));
        goto fail;
    }
    return 0;

fail:
    api_ptz_job_free(job);
    return rc;
}

/* Parses the optional JSON object body. Responds 400 and returns NULL
 * when it is invalid. */
static json_t *api_ptz_body(api_conn_t *c)
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

int api_ptz(api_conn_t *c, int64_t camera_id, const char *rest)
{
    api_ptz_job_t *job;
    json_t *body;
    int rc;

    if (api_deferred_busy(c))
        return 0;
    job = calloc(1, sizeof(*job));
    if (!job)
        return api_respond_error(c, 503, "out of memory: retry later");
    job->camera_id = camera_id;
    if (api_ptz_route(c, rest, job) < 0) {
        api_ptz_job_free(job);
        return 0;
    }
    body = api_ptz_body(c);
    if (!body) {
        api_ptz_job_free(job);
        return 0;
    }
    rc = api_ptz_args(c, body, job);
    json_decref(body);
    if (rc < 0) {
        api_ptz_job_free(job);
        return 0;
    }
    return api_ptz_start(c, job);
}

int api_camera_time(api_conn_t *c, int64_t camera_id)
{
    api_ptz_job_t *job;

    if (api_deferred_busy(c))
        return 0;
    if (c->method != API_GET && c->method != API_HEAD &&
        c->method != API_POST)
        return api_respond_error(c, 405, "use GET or POST on %s", c->path);
    job = calloc(1, sizeof(*job));
    if (!job)
        return api_respond_error(c, 503, "out of memory: retry later");
    job->camera_id = camera_id;
    job->op = c->method == API_POST ? API_TIME_SET : API_TIME_GET;
    job->call = c->method == API_POST ? "SetSystemDateAndTime"
                                      : "GetSystemDateAndTime";
    return api_ptz_start(c, job);
}
