/*
 * Shared between the API's source files: the per-connection state and
 * the response helpers. Everything here runs on the event-loop thread.
 */
#ifndef VMS_API_INTERNAL_H
#define VMS_API_INTERNAL_H

#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <sys/types.h>

#include "api/api.h"
#include "auth/auth.h"
#include "live/live.h"

#define API_BODY_MAX 65536
#define API_PATH_MAX 512

typedef struct api_export_job api_export_job_t;

typedef enum api_method {
    API_GET,
    API_HEAD,
    API_POST,
    API_PUT,
    API_PATCH,
    API_DELETE,
    API_OTHER,
} api_method_t;

/* libwebsockets' per-session data: one HTTP request at a time, or one
 * live WebSocket viewer. lws zeroes it when the connection opens. */
typedef struct api_conn {
    api_server_t *srv;
    struct lws *wsi;

    /* HTTP request */
    api_method_t method;
    char path[API_PATH_MAX];
    char *body;
    size_t body_len;
    int body_too_large;
    int dispatched;         /* the request went to its route */
    /* The request's sender (NULL on public routes), freed when the
     * next request starts or the connection closes. */
    auth_principal_t *principal;
    char token[AUTH_API_KEY_LEN + 1]; /* its credential, for logout */
    char source[64];        /* client address, for throttling and audit */
    int tls;                /* the connection is HTTPS or WSS */
    int revoked;            /* live viewer whose session has ended */
    int download;           /* playback.mp4?download=1: an export */

    /* HTTP response body: memory (resp) or a file range [file_off,
     * file_end) of fd. */
    vms_buf_t *resp;
    size_t resp_off;
    int fd;
    off_t file_off;
    off_t file_end;
    int sending;

    /* playback export being waited for */
    api_export_job_t *job;
    struct api_conn *next_waiting;

    /* live viewer */
    live_client_t *live;
    live_item_t item;       /* being sent */
    size_t item_off;
    int text_pending;       /* the JSON header of an init segment */
    int64_t camera_id;
    char stream[8];
    struct api_conn *next_live;
} api_conn_t;

struct api_server {
    api_config_t cfg;
    char host[64];
    char web_root[512];
    char cache_dir[512];
    struct lws_context *ctx;
    pthread_t thread;
    int stopping;
    api_conn_t *live_conns;     /* event-loop thread only */
    api_conn_t *waiting_conns;  /* event-loop thread only */
    pthread_mutex_t jobs_lock;
    api_export_job_t *jobs;     /* running or finished exports */
    auth_t *auth;               /* borrowed from the config */
    /* Password hashing (login, setup, password changes) runs on this
     * queue's one worker thread: argon2id takes tens of milliseconds and
     * 64 MiB per call, so a flood of logins queues instead of starting a
     * thread and an allocation each. */
    struct api_deferred_queue *auth_queue;
    /* Checks every few seconds that each live viewer's session or key
     * is still valid (event-loop thread only). */
    lws_sorted_usec_list_t revoke_timer;
};

/* Response helpers. Each writes the status line and headers at once
 * and queues the body; they return 0, or -1 to close the connection. */
int api_respond(api_conn_t *c, int status, const char *content_type,
                vms_buf_t *body, const char *extra_headers);
int api_respond_json(api_conn_t *c, int status, json_t *value);
int api_respond_error(api_conn_t *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Serves path with Range support; content_type NULL guesses from the
 * name. */
int api_respond_file(api_conn_t *c, const char *path,
                     const char *content_type, const char *extra_headers);

/* Checks the Host and Origin headers (see server.c); 0 or -1. */
int api_check_origin(const api_server_t *srv, struct lws *wsi);

/* Appends an audit entry for the request: the actor is the signed-in
 * user ("-" without one) and the source the client address. */
void api_audit(api_conn_t *c, const char *action, const char *target,
               const char *outcome, const char *detail_fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Returns 1 if the request's principal has one of rights on
 * camera_id. */
int api_can(const api_conn_t *c, int64_t camera_id, uint32_t rights);

/* Right names in JSON ("live", "playback", ... "audit") both ways
 * (account.c). api_rights_parse() writes a message into err for an
 * unknown name and returns -EINVAL. */
json_t *api_rights_json(uint32_t rights);
int api_rights_parse(json_t *value, uint32_t *out, char *err, size_t errlen);

/* Parses the request body as a JSON object whose keys are all in
 * allowed (NULL-terminated); expected names them for the error. Returns
 * the object, or NULL after answering 400. */
json_t *api_body_object(api_conn_t *c, const char *const *allowed,
                        const char *expected);

/* Accounts and sessions (account.c): /api/v1/health and /api/v1/auth/...
 * rest is the path after /api/v1/auth. */
int api_route_health(api_conn_t *c);
int api_route_auth(api_conn_t *c, const char *rest);
/* Users, roles, settings and the audit log (admin.c). */
int api_route_admin(api_conn_t *c, const char *path);

/* Reads a query argument ("name" without '='); returns NULL if absent. */
const char *api_query(api_conn_t *c, const char *name, char *buf,
                      size_t len);

/* Parses a time given as integer UTC microseconds or as ISO 8601
 * ("2026-01-31T12:00:00Z", optional fraction). Returns 0 or -EINVAL. */
int api_parse_time(const char *text, int64_t *out_us);

/* Route handlers. */
int api_route_cameras(api_conn_t *c, const char *rest);
int api_route_static(api_conn_t *c);
int api_route_status(api_conn_t *c);
int api_recordings_list(api_conn_t *c, int64_t camera_id);
int api_playback(api_conn_t *c, int64_t camera_id);
int api_snapshot(api_conn_t *c, int64_t camera_id);
int api_verify(api_conn_t *c, int64_t camera_id);
/* GET .../events?from=&to=&limit= (events.c). */
int api_events_list(api_conn_t *c, int64_t camera_id);
int api_route_storage(api_conn_t *c);
int api_route_holds(api_conn_t *c, const char *rest);

/* ONVIF (onvif.c): POST /api/v1/discovery/scan, POST
 * /api/v1/cameras/adopt and /api/v1/cameras/ID/ptz/... */
int api_route_discovery(api_conn_t *c, const char *rest);
int api_camera_adopt(api_conn_t *c);
int api_ptz(api_conn_t *c, int64_t camera_id, const char *rest);

/* Live WebSocket viewers (live_ws.c). api_live_target resolves the
 * request's URL to a hub (out-parameters may be NULL) and returns 0 or
 * -1; api_live_poll asks for a write callback on every viewer with
 * queued data. */
int api_live_target(struct lws *wsi, hub_t **hub_out, int64_t *id_out,
                    const char **stream_out);
/* Returns 0 if p has the live right on every camera that the upgrade
 * request on wsi names, -EACCES if not, -ENOENT for a URL that names
 * none. */
int api_live_allowed(struct lws *wsi, const auth_principal_t *p);
int api_live_open(api_conn_t *c, struct lws *wsi);
/* Copies the credential of the request on wsi (bearer header, else
 * session cookie) into token; returns 0, -ENOENT or -EINVAL. */
int api_request_credential(struct lws *wsi, char *token, size_t len);
/* Starts the timer that closes the live WebSockets of ended sessions. */
void api_live_revoke_start(api_server_t *srv);
void api_live_close(api_conn_t *c);
int api_live_writeable(api_conn_t *c);
void api_live_poll(api_server_t *srv);

/* Playback export jobs (recordings.c). */
void api_export_poll(api_server_t *srv);
void api_export_detach(api_conn_t *c);
void api_export_free_all(api_server_t *srv);

/* Live view routes and statistics (live_ws.c, hls.c).
 * api_route_live serves /api/v1/live/viewers and /api/v1/live/stats
 * (rest is the path after /api/v1/live); api_live_route_camera serves
 * the camera sub-resources hls/... and live/viewers;
 * api_live_stream_stats returns a new JSON object with the figures of
 * one stream's viewers, past and present, for the camera JSON. */
int api_route_live(api_conn_t *c, const char *rest);
int api_live_route_camera(api_conn_t *c, int64_t camera_id, const char *sub);
json_t *api_live_stream_stats(api_server_t *srv, int64_t camera_id,
                              const char *stream);
int api_hls_route(api_conn_t *c, int64_t camera_id, const char *rest);
void api_hls_poll(api_server_t *srv);
json_t *api_hls_stats_json(api_server_t *srv, int64_t camera_id);
/* Returns hub's latest picture as a JPEG width pixels wide (0: full
 * size) from the shared snapshot cache (live/snapcache.h), which decodes
 * each stream at most once per second. Returns 0, -ENOENT before the
 * first keyframe, or a negative AVERROR code. */
int api_live_snapshot(hub_t *hub, int width, vms_buf_t **jpeg,
                      int64_t *time_us);
/* Answers every parked HLS request, frees every HLS window and stops
 * waking the event loop for them (hls.c). The event loop calls it when
 * it sees srv->stopping; api_server_stop() should call it before
 * lws_context_destroy(), in case the loop exited first. */
void api_hls_stop(api_server_t *srv);

#endif
