/*
 * HTTP Live Streaming of live video, for players without Media Source
 * Extensions over WebSocket (Safari on iOS) and as a fallback:
 *
 *   GET /api/v1/cameras/ID/hls/index.m3u8?stream=main
 *       [&_HLS_msn=M[&_HLS_part=P]]  media playlist (blocking reload)
 *   GET .../hls/init.mp4?stream=main[&generation=G]
 *   GET .../hls/part/SEQ.m4s?stream=main  one fragment (LL-HLS part)
 *   GET .../hls/seg/MSN.m4s?stream=main   one GOP (HLS segment)
 *
 * A stream's window (live/hls.h) exists only while someone fetched from
 * it in the last API_HLS_IDLE_US. A request that must wait (a blocking
 * reload, the part named by EXT-X-PRELOAD-HINT, the first playlist
 * before a segment is complete) is parked without blocking the event
 * loop: the window's hub callback wakes the loop with
 * lws_cancel_service() and api_hls_poll() responds to what became ready; a
 * timer responds to what timed out.
 *
 * A parked connection lends c->resp a reference to a sentinel buffer.
 * server.c drops c->resp when the connection closes, so a sentinel with
 * a single reference left means the client went away and the entry is
 * dropped without touching the freed connection.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "common/clock.h"
#include "common/log.h"
#include "live/hls.h"
#include "live/parse.h"

/* A window without requests for this long is freed. */
#define API_HLS_IDLE_US (30 * 1000000LL)
/* How long a blocking playlist reload may wait (the LL-HLS
 * specification suggests three target durations; players time out
 * playlist requests after about 10 s). */
#define API_HLS_PLAYLIST_WAIT_US (8 * 1000000LL)
/* How long a request for the next part may wait: a few part
 * durations. */
#define API_HLS_PART_WAIT_US (3 * 1000000LL)
/* Period of the timer that responds to timed-out requests. */
#define API_HLS_TICK_US 200000

/* The window of one camera stream and its figures. */
typedef struct api_hls_stream {
    api_server_t *srv;
    int64_t camera_id;
    char stream[8];
    live_hls_t *hls;
    int64_t last_access_us;
    uint64_t playlists;
    uint64_t blocked_reloads;
    uint64_t parts;
    uint64_t segments;
    uint64_t bytes;
    uint64_t timeouts;
    struct api_hls_stream *next;
} api_hls_stream_t;

typedef enum api_hls_wait {
    API_HLS_WAIT_PLAYLIST,
    API_HLS_WAIT_PART,
} api_hls_wait_t;

/* A request waiting for the window. */
typedef struct api_hls_parked {
    api_conn_t *conn;
    vms_buf_t *sentinel;
    api_hls_stream_t *st;
    api_hls_wait_t wait;
    int64_t msn;              /* -1: any complete segment */
    int part;                 /* -1: none */
    uint64_t seq;
    int64_t deadline_us;
    struct api_hls_parked *next;
} api_hls_parked_t;

/* Event-loop thread only. */
static api_hls_stream_t *api_hls_streams;
static api_hls_parked_t *api_hls_parked;
static lws_sorted_usec_list_t api_hls_timer;
static api_server_t *api_hls_timer_srv;
static int api_hls_timer_armed;

/* The context that ingest threads wake, guarded so that a wake never
 * reaches a destroyed context: api_hls_stop() clears it first. */
static pthread_mutex_t api_hls_wake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lws_context *api_hls_wake_ctx;

/* Wakes the event loop from an ingest thread (a window's hub
 * callback). */
static void api_hls_wake(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&api_hls_wake_lock);
    if (api_hls_wake_ctx)
        lws_cancel_service(api_hls_wake_ctx);
    pthread_mutex_unlock(&api_hls_wake_lock);
}

static void api_hls_tick(lws_sorted_usec_list_t *sul);

/* Arms the timer while windows exist. */
static void api_hls_arm(api_server_t *srv)
{
    if (api_hls_timer_armed)
        return;
    api_hls_timer_armed = 1;
    api_hls_timer_srv = srv;
    lws_sul_schedule(srv->ctx, 0, &api_hls_timer, api_hls_tick,
                     API_HLS_TICK_US);
}

/* Returns the window of a stream, creating it if create is set; NULL
 * if the camera has no such stream or memory ran out. */
static api_hls_stream_t *api_hls_stream_get(api_server_t *srv,
                                            int64_t camera_id,
                                            const char *stream)
{
    api_hls_stream_t *st;
    hub_t *hub;

    for (st = api_hls_streams; st; st = st->next)
        if (st->srv == srv && st->camera_id == camera_id &&
            strcmp(st->stream, stream) == 0)
            return st;
    hub = srv->cfg.svc->stream_hub(srv->cfg.svc_ctx, camera_id, stream);
    if (!hub)
        return NULL;
    st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    pthread_mutex_lock(&api_hls_wake_lock);
    if (!__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE))
        api_hls_wake_ctx = srv->ctx;
    pthread_mutex_unlock(&api_hls_wake_lock);
    if (live_hls_new(hub, api_hls_wake, NULL, &st->hls) < 0) {
        free(st);
        return NULL;
    }
    st->srv = srv;
    st->camera_id = camera_id;
    snprintf(st->stream, sizeof(st->stream), "%s", stream);
    st->next = api_hls_streams;
    api_hls_streams = st;
    vms_log(VMS_LOG_INFO, "hls", "camera=%lld stream=%s event=window_open",
            (long long)camera_id, stream);
    api_hls_arm(srv);
    return st;
}

/* Frees a window; its parked requests must be gone. */
static void api_hls_stream_free(api_hls_stream_t *st)
{
    for (api_hls_stream_t **p = &api_hls_streams; *p; p = &(*p)->next) {
        if (*p == st) {
            *p = st->next;
            break;
        }
    }
    vms_log(VMS_LOG_INFO, "hls",
            "camera=%lld stream=%s event=window_close playlists=%llu "
            "parts=%llu segments=%llu bytes=%llu timeouts=%llu",
            (long long)st->camera_id, st->stream,
            (unsigned long long)st->playlists,
            (unsigned long long)st->parts,
            (unsigned long long)st->segments,
            (unsigned long long)st->bytes,
            (unsigned long long)st->timeouts);
    live_hls_free(st->hls);
    free(st);
}

/* Responds with the playlist, or with 503 if none can be built. */
static int api_hls_send_playlist(api_conn_t *c, api_hls_stream_t *st)
{
    char query[32];
    vms_buf_t *body;
    int rc;

    snprintf(query, sizeof(query), "stream=%s", st->stream);
    rc = live_hls_playlist(st->hls, query, &body);
    if (rc == -EAGAIN)
        return api_respond_error(c, 503,
                                 "no complete segment yet from camera %lld "
                                 "stream %s: retry when it is streaming",
                                 (long long)st->camera_id, st->stream);
    if (rc < 0)
        return api_respond_error(c, 503, "out of memory: retry later");
    st->playlists++;
    st->bytes += body->len;
    return api_respond(c, 200, "application/vnd.apple.mpegurl", body, NULL);
}

/* Responds with part seq, or 404. */
static int api_hls_send_part(api_conn_t *c, api_hls_stream_t *st,
                             uint64_t seq)
{
    vms_buf_t *body;

    if (live_hls_part(st->hls, seq, &body) < 0)
        return api_respond_error(c, 404,
                                 "part %llu of camera %lld stream %s is not "
                                 "in the live window: reload the playlist",
                                 (unsigned long long)seq,
                                 (long long)st->camera_id, st->stream);
    st->parts++;
    st->bytes += body->len;
    return api_respond(c, 200, "video/mp4", body, NULL);
}

/* Parks c until the window can answer it. */
static int api_hls_park(api_conn_t *c, api_hls_stream_t *st,
                        api_hls_wait_t wait, int64_t msn, int part,
                        uint64_t seq, int64_t wait_us)
{
    api_hls_parked_t *p = calloc(1, sizeof(*p));

    if (!p)
        return api_respond_error(c, 503, "out of memory: retry later");
    p->sentinel = vms_buf_new(NULL, 0);
    if (!p->sentinel) {
        free(p);
        return api_respond_error(c, 503, "out of memory: retry later");
    }
    p->conn = c;
    p->st = st;
    p->wait = wait;
    p->msn = msn;
    p->part = part;
    p->seq = seq;
    p->deadline_us = vms_monotonic_us() + wait_us;
    vms_buf_unref(c->resp);
    c->resp = vms_buf_ref(p->sentinel);
    p->next = api_hls_parked;
    api_hls_parked = p;
    return 0;
}

/* Returns 1 if the parked request can be answered now. */
static int api_hls_parked_ready(const api_hls_parked_t *p)
{
    vms_buf_t *buf;
    int rc;

    if (p->wait == API_HLS_WAIT_PART) {
        rc = live_hls_part(p->st->hls, p->seq, &buf);
        vms_buf_unref(buf);
        return rc != -EAGAIN;
    }
    if (p->msn < 0)
        return live_hls_ready(p->st->hls, 0, -1) == 1;
    return live_hls_ready(p->st->hls, (uint64_t)p->msn, p->part) != 0;
}

/* Answers a parked request that is ready or timed out (timed_out). */
static void api_hls_answer(api_hls_parked_t *p, int timed_out)
{
    api_conn_t *c = p->conn;
    int rc;

    vms_buf_unref(c->resp); /* the sentinel's loan */
    c->resp = NULL;
    if (timed_out)
        p->st->timeouts++;
    if (p->wait == API_HLS_WAIT_PART)
        rc = api_hls_send_part(c, p->st, p->seq);
    else
        rc = api_hls_send_playlist(c, p->st);
    if (rc < 0)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT,
                        LWS_TO_KILL_ASYNC);
}

/* Answers every parked request that is ready, timed out or whose
 * client left; with all set, answers every one (the server stops). */
static void api_hls_serve_parked(int64_t now_us, int all)
{
    api_hls_parked_t **pp = &api_hls_parked;

    while (*pp) {
        api_hls_parked_t *p = *pp;
        int gone = __atomic_load_n(&p->sentinel->refs, __ATOMIC_ACQUIRE) == 1;
        int timed_out = now_us >= p->deadline_us;

        if (!gone && !all && !timed_out && !api_hls_parked_ready(p)) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        if (!gone)
            api_hls_answer(p, timed_out || all);
        p->st->last_access_us = now_us;
        vms_buf_unref(p->sentinel);
        free(p);
    }
}

/* Frees windows without recent requests (all: every window). */
static void api_hls_expire(int64_t now_us, int all)
{
    api_hls_stream_t *st = api_hls_streams;

    while (st) {
        api_hls_stream_t *next = st->next;
        int parked = 0;

        for (api_hls_parked_t *p = api_hls_parked; p; p = p->next)
            parked |= p->st == st;
        if (!parked && (all || now_us - st->last_access_us > API_HLS_IDLE_US))
            api_hls_stream_free(st);
        st = next;
    }
}

void api_hls_stop(api_server_t *srv)
{
    pthread_mutex_lock(&api_hls_wake_lock);
    api_hls_wake_ctx = NULL;
    pthread_mutex_unlock(&api_hls_wake_lock);
    api_hls_serve_parked(vms_monotonic_us(), 1);
    api_hls_expire(0, 1);
    if (api_hls_timer_armed) {
        lws_sul_cancel(&api_hls_timer);
        api_hls_timer_armed = 0;
    }
    (void)srv;
}

void api_hls_poll(api_server_t *srv)
{
    if (__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE)) {
        api_hls_stop(srv);
        return;
    }
    api_hls_serve_parked(vms_monotonic_us(), 0);
}

/* Timer: answers timed-out requests and frees idle windows. */
static void api_hls_tick(lws_sorted_usec_list_t *sul)
{
    api_server_t *srv = api_hls_timer_srv;
    int64_t now_us = vms_monotonic_us();

    (void)sul;
    api_hls_timer_armed = 0;
    if (!srv || __atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE))
        return;
    api_hls_serve_parked(now_us, 0);
    api_hls_expire(now_us, 0);
    if (api_hls_streams)
        api_hls_arm(srv);
}

/* Parses a query argument as a whole number; returns 1 if present, 0 if
 * absent, -1 if invalid. */
static int api_hls_number(api_conn_t *c, const char *name, uint64_t max,
                          uint64_t *out)
{
    char buf[48];
    const char *v = api_query(c, name, buf, sizeof(buf));
    char *end;
    unsigned long long n;

    if (!v)
        return 0;
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (*end || errno || n > max)
        return -1;
    *out = n;
    return 1;
}

/* index.m3u8: the playlist, at once or after a blocking reload. */
static int api_hls_playlist(api_conn_t *c, api_hls_stream_t *st)
{
    uint64_t msn = 0;
    uint64_t part = 0;
    int has_msn = api_hls_number(c, "_HLS_msn", INT64_MAX, &msn);
    int has_part = api_hls_number(c, "_HLS_part", 1000000, &part);
    int ready;

    if (has_msn < 0)
        return api_respond_error(c, 400,
                                 "invalid _HLS_msn: expected a media "
                                 "sequence number");
    if (has_part < 0)
        return api_respond_error(c, 400,
                                 "invalid _HLS_part: expected a part "
                                 "index");
    if (has_part && !has_msn)
        return api_respond_error(c, 400,
                                 "_HLS_part needs _HLS_msn: give both");
    if (!has_msn) {
        if (live_hls_ready(st->hls, 0, -1) == 1)
            return api_hls_send_playlist(c, st);
        /* The first request of a new window: wait for the first
         * complete segment. */
        return api_hls_park(c, st, API_HLS_WAIT_PLAYLIST, -1, -1, 0,
                            API_HLS_PLAYLIST_WAIT_US);
    }
    ready = live_hls_ready(st->hls, msn, has_part ? (int)part : -1);
    if (ready < 0)
        return api_respond_error(c, 400,
                                 "_HLS_msn %llu is more than two segments "
                                 "ahead of the live window: reload without "
                                 "it",
                                 (unsigned long long)msn);
    if (ready)
        return api_hls_send_playlist(c, st);
    st->blocked_reloads++;
    return api_hls_park(c, st, API_HLS_WAIT_PLAYLIST, (int64_t)msn,
                        has_part ? (int)part : -1, 0,
                        API_HLS_PLAYLIST_WAIT_US);
}

int api_hls_route(api_conn_t *c, int64_t camera_id, const char *rest)
{
    char buf[32];
    const char *stream = "main";
    const char *v = api_query(c, "stream", buf, sizeof(buf));
    api_hls_stream_t *st;
    vms_buf_t *body;
    uint64_t n = 0;
    int rc;

    if (v) {
        if (strcmp(v, "main") && strcmp(v, "sub"))
            return api_respond_error(c, 400,
                                     "invalid stream '%s': expected main or "
                                     "sub",
                                     v);
        stream = strcmp(v, "main") ? "sub" : "main";
    }
    if (strcmp(rest, "index.m3u8") && strcmp(rest, "init.mp4") &&
        strncmp(rest, "part/", 5) && strncmp(rest, "seg/", 4))
        return api_respond_error(c, 404,
                                 "unknown HLS resource '%s': expected "
                                 "index.m3u8, init.mp4, part/SEQ.m4s or "
                                 "seg/MSN.m4s",
                                 rest);
    st = api_hls_stream_get(c->srv, camera_id, stream);
    if (!st)
        return api_respond_error(c, 404, "camera %lld has no %s stream",
                                 (long long)camera_id, stream);
    st->last_access_us = vms_monotonic_us();
    if (strcmp(rest, "index.m3u8") == 0)
        return api_hls_playlist(c, st);
    if (strcmp(rest, "init.mp4") == 0) {
        rc = api_hls_number(c, "generation", UINT32_MAX, &n);
        if (rc < 0)
            return api_respond_error(c, 400,
                                     "invalid generation: expected the "
                                     "number from the playlist's EXT-X-MAP");
        if (live_hls_init(st->hls, (uint32_t)n, &body) < 0)
            return api_respond_error(c, 404,
                                     "no init segment%s for camera %lld "
                                     "stream %s: reload the playlist",
                                     rc ? " of that generation" : " yet",
                                     (long long)camera_id, stream);
        st->bytes += body->len;
        return api_respond(c, 200, "video/mp4", body, NULL);
    }
    if (strncmp(rest, "part/", 5) == 0) {
        if (live_parse_m4s_name(rest + 5, &n) < 0)
            return api_respond_error(c, 400,
                                     "invalid part name '%s': expected "
                                     "part/SEQ.m4s",
                                     rest);
        rc = live_hls_part(st->hls, n, &body);
        if (rc == -EAGAIN)
            return api_hls_park(c, st, API_HLS_WAIT_PART, -1, -1, n,
                                API_HLS_PART_WAIT_US);
        vms_buf_unref(body);
        return api_hls_send_part(c, st, n);
    }
    if (live_parse_m4s_name(rest + 4, &n) < 0)
        return api_respond_error(c, 400,
                                 "invalid segment name '%s': expected "
                                 "seg/MSN.m4s",
                                 rest);
    rc = live_hls_segment(st->hls, n, &body);
    if (rc < 0)
        return api_respond_error(c, rc == -ENOMEM ? 503 : 404,
                                 "segment %llu of camera %lld stream %s is "
                                 "%s: reload the playlist",
                                 (unsigned long long)n, (long long)camera_id,
                                 stream,
                                 rc == -EAGAIN ? "not complete yet"
                                               : "not in the live window");
    st->segments++;
    st->bytes += body->len;
    return api_respond(c, 200, "video/mp4", body, NULL);
}

json_t *api_hls_stats_json(api_server_t *srv, int64_t camera_id)
{
    json_t *arr = json_array();

    for (api_hls_stream_t *st = api_hls_streams; arr && st; st = st->next) {
        live_hls_position_t pos;
        int parked = 0;

        if (st->srv != srv || (camera_id && st->camera_id != camera_id))
            continue;
        for (api_hls_parked_t *p = api_hls_parked; p; p = p->next)
            parked += p->st == st;
        live_hls_get_position(st->hls, &pos);
        json_array_append_new(
            arr,
            json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:I, "
                      "s:i, s:i}",
                      "camera", (json_int_t)st->camera_id, "stream",
                      st->stream, "playlists", (json_int_t)st->playlists,
                      "blocked_reloads", (json_int_t)st->blocked_reloads,
                      "parts", (json_int_t)st->parts, "segments",
                      (json_int_t)st->segments, "bytes",
                      (json_int_t)st->bytes, "timeouts",
                      (json_int_t)st->timeouts, "waiting", parked,
                      "media_sequence", (json_int_t)pos.newest,
                      "newest_parts", pos.newest_parts,
                      "target_duration", pos.target_s));
    }
    return arr;
}
