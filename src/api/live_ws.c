/*
 * Live viewers over WebSocket, and their statistics.
 *
 * Two endpoints:
 * - /api/v1/cameras/ID/live?stream=main|sub carries one stream. The
 *   daemon sends a JSON text message describing the stream, then the
 *   init segment, then one binary message per fragment, starting at the
 *   latest keyframe.
 * - /api/v1/live?streams=ID:STREAM,... carries up to LIVE_CHANNELS_MAX
 *   streams, numbered from 0 in the order given. Every message is
 *   binary and starts with two bytes: the channel and the kind. Kind 0
 *   is a JSON description (as above, plus "channel", "camera" and
 *   "stream"), and kind 1 an init segment. Kind 2 is a fragment after
 *   its UTC start time (8 bytes, big-endian microseconds), which lets
 *   a client measure its latency.
 *
 * Fragments reach each viewer's bounded queues on the ingest thread;
 * this file sends them on the event loop and keeps the statistics:
 * per viewer, and per stream including viewers that have left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "common/clock.h"
#include "common/log.h"
#include "live/parse.h"
#include "live/snapcache.h"

/* Bytes sent per write callback; see server.c. */
#define API_LIVE_CHUNK 65536
/* The multiplexed protocol's header: channel and kind. */
#define API_LIVE_MUX_HEADER 2
/* Bytes of a fragment's UTC start time after the header. */
#define API_LIVE_MUX_TIME 8

enum api_live_mux_kind {
    API_LIVE_MUX_JSON = 0,
    API_LIVE_MUX_INIT = 1,
    API_LIVE_MUX_FRAGMENT = 2,
};

/* One stream a viewer watches. */
typedef struct api_live_channel {
    int64_t camera_id;
    char stream[8];
    hub_t *hub;
} api_live_channel_t;

/* What this file keeps per viewer besides api_conn_t. */
typedef struct api_live_session {
    api_conn_t *conn;
    uint64_t id;               /* viewer number, from 1 */
    int mux;                   /* the multiplexed protocol */
    int64_t opened_us;         /* UTC */
    char peer[64];
    int channel_count;
    api_live_channel_t channels[LIVE_CHANNELS_MAX];
    struct api_live_session *next;
} api_live_session_t;

/* Totals of the viewers of one stream that have closed. */
typedef struct api_live_totals {
    api_server_t *srv;
    int64_t camera_id;
    char stream[8];
    uint64_t viewers;
    live_stats_t stats;
    struct api_live_totals *next;
} api_live_totals_t;

/* Event-loop thread only. */
static unsigned char api_live_scratch[LWS_PRE + API_LIVE_CHUNK +
                                      API_LIVE_MUX_HEADER +
                                      API_LIVE_MUX_TIME];
static api_live_session_t *api_live_sessions;
static api_live_totals_t *api_live_closed;
static uint64_t api_live_next_id = 1;

/* Wakes the event loop from an ingest thread. */
static void api_live_wake(void *ctx)
{
    lws_cancel_service(ctx);
}

static api_live_session_t *api_live_session_of(const api_conn_t *c)
{
    for (api_live_session_t *s = api_live_sessions; s; s = s->next)
        if (s->conn == c)
            return s;
    return NULL;
}

/* Parses a stream list (live/parse.h) and finds each stream's hub.
 * Returns the number of channels, or -1 with the reason logged. */
static int api_live_parse_streams(api_server_t *srv, const char *text,
                                  api_live_channel_t *out)
{
    live_stream_ref_t refs[LIVE_CHANNELS_MAX];
    char err[160];
    int n = live_parse_stream_list(text, refs, LIVE_CHANNELS_MAX, err,
                                   sizeof(err));

    if (n < 0) {
        vms_log(VMS_LOG_DEBUG, "live", "event=viewer_rejected error=\"%s\"",
                err);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        out[i].hub = srv->cfg.svc->stream_hub(srv->cfg.svc_ctx,
                                              refs[i].camera_id,
                                              refs[i].stream);
        if (!out[i].hub) {
            vms_log(VMS_LOG_DEBUG, "live",
                    "camera=%lld stream=%s event=viewer_rejected "
                    "error=\"no such camera stream\"",
                    (long long)refs[i].camera_id, refs[i].stream);
            return -1;
        }
        out[i].camera_id = refs[i].camera_id;
        snprintf(out[i].stream, sizeof(out[i].stream), "%s",
                 refs[i].stream);
    }
    return n;
}

/* Resolves the WebSocket request's URL to its channels. Returns the
 * number of channels with *mux set for /api/v1/live, or -1 for an
 * unknown path, camera or stream. */
static int api_live_resolve(struct lws *wsi, api_live_channel_t *channels,
                            int *mux)
{
    api_server_t *srv = lws_context_user(lws_get_context(wsi));
    char uri[256];
    char arg[512];
    const char *value;
    long long id = 0;
    int consumed = 0;

    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
        return -1;
    if (strcmp(uri, "/api/v1/live") == 0) {
        *mux = 1;
        value = lws_get_urlarg_by_name(wsi, "streams=", arg, sizeof(arg));
        if (!value || !*value)
            return -1;
        return api_live_parse_streams(srv, value, channels);
    }
    *mux = 0;
    if (sscanf(uri, "/api/v1/cameras/%lld/live%n", &id, &consumed) != 1 ||
        uri[consumed] != '\0' || id <= 0)
        return -1;
    value = lws_get_urlarg_by_name(wsi, "stream=", arg, sizeof(arg));
    snprintf(arg, sizeof(arg), "%lld:%s", id, value ? value : "main");
    return api_live_parse_streams(srv, arg, channels) == 1 ? 1 : -1;
}

int api_live_target(struct lws *wsi, hub_t **hub_out, int64_t *id_out,
                    const char **stream_out)
{
    static const char *const names[] = {"main", "sub"};
    api_live_channel_t channels[LIVE_CHANNELS_MAX];
    int mux;

    if (api_live_resolve(wsi, channels, &mux) <= 0)
        return -1;
    if (hub_out)
        *hub_out = channels[0].hub;
    if (id_out)
        *id_out = channels[0].camera_id;
    if (stream_out)
        *stream_out = strcmp(channels[0].stream, "sub") ? names[0]
                                                        : names[1];
    return 0;
}

int api_live_allowed(struct lws *wsi, const auth_principal_t *p)
{
    api_live_channel_t channels[LIVE_CHANNELS_MAX];
    int mux;
    int n = api_live_resolve(wsi, channels, &mux);

    if (n <= 0)
        return -ENOENT;
    for (int i = 0; i < n; i++)
        if (!p || !auth_principal_can(p, channels[i].camera_id,
                                      AUTH_RIGHT_LIVE))
            return -EACCES;
    return 0;
}

/* LWS_CALLBACK_ESTABLISHED: a viewer opened a live URL. */
int api_live_open(api_conn_t *c, struct lws *wsi)
{
    api_server_t *srv = lws_context_user(lws_get_context(wsi));
    api_live_session_t *s = calloc(1, sizeof(*s));
    int n;

    c->srv = srv;
    c->wsi = wsi;
    c->fd = -1;
    if (!s)
        return -1;
    /* Kept to close the stream when the session ends (see
     * api_live_revoke_tick). The upgrade was authorized already. */
    if (api_request_credential(wsi, c->token, sizeof(c->token)) < 0)
        c->token[0] = '\0';
    n = api_live_resolve(wsi, s->channels, &s->mux);
    if (n <= 0 ||
        live_client_new(NULL, srv->cfg.live_queue_bytes, api_live_wake,
                        srv->ctx, &c->live) < 0) {
        free(s);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (live_client_add(c->live, s->channels[i].hub, NULL) < 0) {
            live_client_free(c->live);
            c->live = NULL;
            free(s);
            return -1;
        }
    }
    s->channel_count = n;
    s->conn = c;
    s->id = api_live_next_id++;
    s->opened_us = vms_realtime_us();
    lws_get_peer_simple(wsi, s->peer, sizeof(s->peer));
    s->next = api_live_sessions;
    api_live_sessions = s;
    c->camera_id = s->channels[0].camera_id;
    snprintf(c->stream, sizeof(c->stream), "%s", s->channels[0].stream);
    c->next_live = srv->live_conns;
    srv->live_conns = c;
    for (int i = 0; i < n; i++)
        vms_log(VMS_LOG_INFO, "live",
                "viewer=%llu camera=%lld stream=%s channel=%d peer=%s "
                "event=viewer_open",
                (unsigned long long)s->id,
                (long long)s->channels[i].camera_id, s->channels[i].stream,
                i, s->peer);
    lws_callback_on_writable(wsi);
    return 0;
}

/* Adds a closing viewer's figures to its stream's totals. */
static void api_live_add_totals(api_server_t *srv,
                                const api_live_channel_t *ch,
                                const live_stats_t *st)
{
    api_live_totals_t *t;

    for (t = api_live_closed; t; t = t->next)
        if (t->srv == srv && t->camera_id == ch->camera_id &&
            strcmp(t->stream, ch->stream) == 0)
            break;
    if (!t) {
        t = calloc(1, sizeof(*t));
        if (!t)
            return; /* the totals lose this viewer; nothing else does */
        t->srv = srv;
        t->camera_id = ch->camera_id;
        snprintf(t->stream, sizeof(t->stream), "%s", ch->stream);
        t->next = api_live_closed;
        api_live_closed = t;
    }
    t->viewers++;
    live_stats_merge(&t->stats, st);
    t->stats.queue_bytes = 0;
    t->stats.queue_len = 0;
}

void api_live_close(api_conn_t *c)
{
    api_live_session_t *s = api_live_session_of(c);

    explicit_bzero(c->token, sizeof(c->token));
    if (!c->live)
        return;
    for (api_conn_t **p = &c->srv->live_conns; *p; p = &(*p)->next_live) {
        if (*p == c) {
            *p = c->next_live;
            break;
        }
    }
    for (int i = 0; s && i < s->channel_count; i++) {
        live_stats_t st;

        if (live_client_get_stats(c->live, i, &st) < 0)
            continue;
        vms_log(VMS_LOG_INFO, "live",
                "viewer=%llu camera=%lld stream=%s channel=%d "
                "event=viewer_close fragments_sent=%llu "
                "fragments_skipped=%llu overflows=%llu bytes_sent=%llu "
                "delivery_p50_us=%llu delivery_p99_us=%llu",
                (unsigned long long)s->id,
                (long long)s->channels[i].camera_id, s->channels[i].stream,
                i, (unsigned long long)st.fragments_sent,
                (unsigned long long)st.fragments_skipped,
                (unsigned long long)st.overflows,
                (unsigned long long)st.bytes_sent,
                (unsigned long long)live_latency_quantile(&st.delivery, 0.5),
                (unsigned long long)live_latency_quantile(&st.delivery,
                                                          0.99));
        api_live_add_totals(c->srv, &s->channels[i], &st);
    }
    if (s) {
        for (api_live_session_t **p = &api_live_sessions; *p;
             p = &(*p)->next) {
            if (*p == s) {
                *p = s->next;
                break;
            }
        }
        free(s);
    }
    live_client_free(c->live);
    c->live = NULL;
    vms_buf_unref(c->item.buf);
    hub_fragment_unref(c->item.frag);
    c->item.buf = NULL;
    c->item.frag = NULL;
}

/* Writes the JSON description of item's stream into out; returns its
 * length. */
static int api_live_describe(api_conn_t *c, const api_live_session_t *s,
                             char *out, size_t cap)
{
    const api_live_channel_t *ch = &s->channels[c->item.channel];
    hub_info_t info;

    memset(&info, 0, sizeof(info));
    hub_get_info(ch->hub, &info);
    if (!s->mux)
        return snprintf(out, cap,
                        "{\"type\":\"init\",\"mime\":\"video/mp4; "
                        "codecs=\\\"%s\\\"\",\"width\":%d,\"height\":%d,"
                        "\"generation\":%u}",
                        info.codec, info.width, info.height,
                        c->item.frag->generation);
    return snprintf(out, cap,
                    "{\"type\":\"init\",\"channel\":%d,\"camera\":%lld,"
                    "\"stream\":\"%s\",\"mime\":\"video/mp4; "
                    "codecs=\\\"%s\\\"\",\"codec\":\"%s\",\"width\":%d,"
                    "\"height\":%d,\"fps\":%.3f,\"generation\":%u}",
                    c->item.channel, (long long)ch->camera_id, ch->stream,
                    info.codec, info.codec, info.width, info.height,
                    info.fps, c->item.frag->generation);
}

/* Sends the JSON description that precedes an init segment. */
static int api_live_send_description(api_conn_t *c,
                                     const api_live_session_t *s)
{
    unsigned char *out = api_live_scratch + LWS_PRE;
    size_t header = s->mux ? API_LIVE_MUX_HEADER : 0;
    int len;

    c->text_pending = 0;
    len = api_live_describe(c, s, (char *)out + header,
                            API_LIVE_CHUNK - header);
    if (len < 0 || (size_t)len >= API_LIVE_CHUNK - header)
        return -1;
    if (s->mux) {
        out[0] = (unsigned char)c->item.channel;
        out[1] = API_LIVE_MUX_JSON;
    }
    len += (int)header;
    if (lws_write(c->wsi, out, (size_t)len,
                  s->mux ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) != len)
        return -1;
    lws_callback_on_writable(c->wsi);
    return 0;
}

/* Writes the multiplexed header of the current item into out; returns
 * its length. */
static size_t api_live_mux_header(const api_conn_t *c, unsigned char *out)
{
    int64_t start_us = c->item.frag->start_us;

    out[0] = (unsigned char)c->item.channel;
    if (c->item.kind == LIVE_ITEM_INIT) {
        out[1] = API_LIVE_MUX_INIT;
        return API_LIVE_MUX_HEADER;
    }
    out[1] = API_LIVE_MUX_FRAGMENT;
    for (int i = 0; i < API_LIVE_MUX_TIME; i++)
        out[API_LIVE_MUX_HEADER + i] =
            (unsigned char)((uint64_t)start_us >> (56 - 8 * i));
    return API_LIVE_MUX_HEADER + API_LIVE_MUX_TIME;
}

/* Sends the next piece of live data: the description before an init
 * segment, then binary messages in chunks. */
int api_live_writeable(api_conn_t *c)
{
    api_live_session_t *s = api_live_session_of(c);
    unsigned char *out = api_live_scratch + LWS_PRE;
    size_t header = 0;
    size_t n;
    int start;
    int end;

    if (!c->live || !s)
        return -1;
    if (c->revoked) {
        static const char reason[] = "session ended: sign in again";

        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                         (unsigned char *)reason, sizeof(reason) - 1);
        return -1;
    }
    if (!c->item.buf) {
        if (!live_client_next(c->live, &c->item))
            return 0;
        c->item_off = 0;
        c->text_pending = c->item.kind == LIVE_ITEM_INIT;
    }
    if (c->text_pending)
        return api_live_send_description(c, s);
    start = c->item_off == 0;
    if (start && s->mux)
        header = api_live_mux_header(c, out);
    n = c->item.buf->len - c->item_off;
    if (n > API_LIVE_CHUNK)
        n = API_LIVE_CHUNK;
    memcpy(out + header, c->item.buf->data + c->item_off, n);
    c->item_off += n;
    end = c->item_off == c->item.buf->len;
    if (lws_write(c->wsi, out, n + header,
                  (enum lws_write_protocol)lws_write_ws_flags(
                      LWS_WRITE_BINARY, start, end)) != (int)(n + header))
        return -1;
    if (end) {
        live_client_sent(c->live, &c->item, c->item.buf->len,
                         vms_monotonic_us());
        vms_buf_unref(c->item.buf);
        hub_fragment_unref(c->item.frag);
        c->item.buf = NULL;
        c->item.frag = NULL;
    }
    if (!end || live_client_pending(c->live))
        lws_callback_on_writable(c->wsi);
    return 0;
}

void api_live_poll(api_server_t *srv)
{
    for (api_conn_t *l = srv->live_conns; l; l = l->next_live)
        if (!l->item.buf && live_client_pending(l->live))
            lws_callback_on_writable(l->wsi);
    api_hls_poll(srv);
}

/* Builds the JSON form of a viewer's or a stream's figures. */
static json_t *api_live_stats_json(const live_stats_t *st)
{
    json_t *obj = json_object();

    if (!obj)
        return NULL;
    json_object_set_new(obj, "fragments_sent",
                        json_integer((json_int_t)st->fragments_sent));
    json_object_set_new(obj, "fragments_skipped",
                        json_integer((json_int_t)st->fragments_skipped));
    json_object_set_new(obj, "overflows",
                        json_integer((json_int_t)st->overflows));
    json_object_set_new(obj, "bytes_sent",
                        json_integer((json_int_t)st->bytes_sent));
    json_object_set_new(obj, "queue_bytes",
                        json_integer((json_int_t)st->queue_bytes));
    json_object_set_new(obj, "queue_fragments",
                        json_integer((json_int_t)st->queue_len));
    json_object_set_new(
        obj, "delivery_p50_us",
        json_integer((json_int_t)live_latency_quantile(&st->delivery, 0.5)));
    json_object_set_new(obj, "delivery_p99_us",
                        json_integer((json_int_t)live_latency_quantile(
                            &st->delivery, 0.99)));
    json_object_set_new(obj, "delivery_max_us",
                        json_integer((json_int_t)st->delivery.max_us));
    json_object_set_new(
        obj, "age_p50_us",
        json_integer((json_int_t)live_latency_quantile(&st->age, 0.5)));
    json_object_set_new(
        obj, "age_p99_us",
        json_integer((json_int_t)live_latency_quantile(&st->age, 0.99)));
    return obj;
}

/* Returns 1 if camera_id (0: any) matches the channel. */
static int api_live_matches(const api_live_channel_t *ch, int64_t camera_id)
{
    return camera_id == 0 || ch->camera_id == camera_id;
}

/* Builds the list of open viewers of camera_id (0: every camera). */
static json_t *api_live_viewers_json(api_server_t *srv, int64_t camera_id)
{
    json_t *arr = json_array();

    for (api_live_session_t *s = api_live_sessions; arr && s; s = s->next) {
        json_t *viewer;
        json_t *channels;
        int matched = 0;

        if (s->conn->srv != srv)
            continue;
        for (int i = 0; i < s->channel_count; i++)
            matched |= api_live_matches(&s->channels[i], camera_id);
        if (!matched)
            continue;
        viewer = json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)s->id,
                           "protocol", s->mux ? "multiplexed" : "camera",
                           "peer", s->peer, "opened_us",
                           (json_int_t)s->opened_us);
        channels = json_array();
        for (int i = 0; viewer && channels && i < s->channel_count; i++) {
            live_stats_t st;
            json_t *ch;

            if (live_client_get_stats(s->conn->live, i, &st) < 0)
                continue;
            ch = api_live_stats_json(&st);
            if (!ch)
                continue;
            json_object_set_new(ch, "channel", json_integer(i));
            json_object_set_new(ch, "camera",
                                json_integer(s->channels[i].camera_id));
            json_object_set_new(ch, "stream",
                                json_string(s->channels[i].stream));
            json_array_append_new(channels, ch);
        }
        if (viewer)
            json_object_set_new(viewer, "channels",
                                channels ? channels : json_array());
        json_array_append_new(arr, viewer);
    }
    return arr;
}

json_t *api_live_stream_stats(api_server_t *srv, int64_t camera_id,
                              const char *stream)
{
    live_stats_t sum;
    uint64_t viewers = 0;
    uint64_t open = 0;
    json_t *obj;

    memset(&sum, 0, sizeof(sum));
    for (api_live_totals_t *t = api_live_closed; t; t = t->next) {
        if (t->srv == srv && t->camera_id == camera_id &&
            strcmp(t->stream, stream) == 0) {
            live_stats_merge(&sum, &t->stats);
            viewers += t->viewers;
        }
    }
    for (api_live_session_t *s = api_live_sessions; s; s = s->next) {
        if (s->conn->srv != srv)
            continue;
        for (int i = 0; i < s->channel_count; i++) {
            live_stats_t st;

            if (s->channels[i].camera_id != camera_id ||
                strcmp(s->channels[i].stream, stream) != 0 ||
                live_client_get_stats(s->conn->live, i, &st) < 0)
                continue;
            live_stats_merge(&sum, &st);
            open++;
        }
    }
    obj = api_live_stats_json(&sum);
    if (obj) {
        json_object_set_new(obj, "viewers", json_integer((json_int_t)open));
        json_object_set_new(obj, "viewers_total",
                            json_integer((json_int_t)(viewers + open)));
    }
    return obj;
}

/* Shared by every snapshot request, under its lock: snapshots are
 * decoded on a worker thread and the live report reads the figures on
 * the event loop. Reachable until exit, so it is not freed. */
static live_snapcache_t *api_live_snapcache;
static pthread_mutex_t api_live_snapcache_lock = PTHREAD_MUTEX_INITIALIZER;

int api_live_snapshot(hub_t *hub, int width, vms_buf_t **jpeg,
                      int64_t *time_us)
{
    int rc = 0;

    *jpeg = NULL;
    pthread_mutex_lock(&api_live_snapcache_lock);
    if (!api_live_snapcache)
        rc = live_snapcache_new(&api_live_snapcache);
    if (rc == 0)
        rc = live_snapcache_get(api_live_snapcache, hub, width,
                                vms_monotonic_us(), jpeg, time_us);
    pthread_mutex_unlock(&api_live_snapcache_lock);
    return rc;
}

/* Builds the live report of camera_id (0: every camera with open or
 * past viewers): per-stream figures, open viewers, HLS windows and the
 * snapshot cache. */
static json_t *api_live_report(api_server_t *srv, int64_t camera_id)
{
    json_t *report = json_object();
    json_t *streams = json_object();
    char key[40];

    if (!report || !streams) {
        json_decref(report);
        json_decref(streams);
        return NULL;
    }
    /* Every (camera, stream) pair that has or had a viewer. */
    for (api_live_totals_t *t = api_live_closed; t; t = t->next) {
        if (t->srv != srv || (camera_id && t->camera_id != camera_id))
            continue;
        snprintf(key, sizeof(key), "%lld:%s", (long long)t->camera_id,
                 t->stream);
        if (!json_object_get(streams, key))
            json_object_set_new(
                streams, key,
                api_live_stream_stats(srv, t->camera_id, t->stream));
    }
    for (api_live_session_t *s = api_live_sessions; s; s = s->next) {
        for (int i = 0; s->conn->srv == srv && i < s->channel_count; i++) {
            const api_live_channel_t *ch = &s->channels[i];

            if (!api_live_matches(ch, camera_id))
                continue;
            snprintf(key, sizeof(key), "%lld:%s", (long long)ch->camera_id,
                     ch->stream);
            if (!json_object_get(streams, key))
                json_object_set_new(
                    streams, key,
                    api_live_stream_stats(srv, ch->camera_id, ch->stream));
        }
    }
    json_object_set_new(report, "streams", streams);
    json_object_set_new(report, "viewers",
                        api_live_viewers_json(srv, camera_id));
    json_object_set_new(report, "hls", api_hls_stats_json(srv, camera_id));
    pthread_mutex_lock(&api_live_snapcache_lock);
    if (api_live_snapcache) {
        live_snapcache_stats_t snap;

        live_snapcache_get_stats(api_live_snapcache, &snap);
        pthread_mutex_unlock(&api_live_snapcache_lock);
        json_object_set_new(
            report, "snapshots",
            json_pack("{s:I, s:I, s:I}", "requests",
                      (json_int_t)snap.requests, "decodes",
                      (json_int_t)snap.decodes, "scales",
                      (json_int_t)snap.scales));
    } else {
        pthread_mutex_unlock(&api_live_snapcache_lock);
    }
    return report;
}

int api_route_live(api_conn_t *c, const char *rest)
{
    json_t *report;

    if (c->method != API_GET && c->method != API_HEAD)
        return api_respond_error(c, 405, "use GET on %s", c->path);
    if (strcmp(rest, "/viewers") && strcmp(rest, "/stats"))
        return api_respond_error(c, 404,
                                 "unknown live resource '%s': expected "
                                 "/api/v1/live/viewers or /api/v1/live/stats",
                                 rest);
    report = api_live_report(c->srv, 0);
    if (!report)
        return api_respond_error(c, 503, "out of memory: retry later");
    return api_respond_json(c, 200, report);
}

int api_live_route_camera(api_conn_t *c, int64_t camera_id, const char *sub)
{
    json_t *report;

    if (strncmp(sub, "hls/", 4) == 0)
        return api_hls_route(c, camera_id, sub + 4);
    if (strcmp(sub, "live/viewers") && strcmp(sub, "live/stats"))
        return api_respond_error(c, 404,
                                 "unknown live resource '%s': expected "
                                 "live/viewers or live/stats",
                                 sub);
    report = api_live_report(c->srv, camera_id);
    if (!report)
        return api_respond_error(c, 503, "out of memory: retry later");
    return api_respond_json(c, 200, report);
}

/* Every API_LIVE_REVOKE_US, resolves the credential of each live viewer
 * again and closes the viewers whose session ended (logout, timeout,
 * password change, disabled user) or whose key was revoked. */
#define API_LIVE_REVOKE_US (5 * LWS_US_PER_SEC)

static void api_live_revoke_tick(lws_sorted_usec_list_t *sul)
{
    api_server_t *srv = lws_container_of(sul, api_server_t, revoke_timer);

    if (__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE))
        return;
    for (api_conn_t *c = srv->live_conns; c; c = c->next_live) {
        auth_principal_t *p = NULL;

        if (c->revoked || !c->token[0])
            continue;
        if (auth_resolve(srv->auth, c->token, &p) == 0) {
            auth_principal_free(p);
            continue;
        }
        vms_log(VMS_LOG_INFO, "live",
                "camera=%lld stream=%s event=viewer_revoked "
                "reason=\"session or key no longer valid\"",
                (long long)c->camera_id, c->stream);
        c->revoked = 1;
        lws_callback_on_writable(c->wsi);
    }
    lws_sul_schedule(srv->ctx, 0, &srv->revoke_timer, api_live_revoke_tick,
                     API_LIVE_REVOKE_US);
}

void api_live_revoke_start(api_server_t *srv)
{
    lws_sul_schedule(srv->ctx, 0, &srv->revoke_timer, api_live_revoke_tick,
                     API_LIVE_REVOKE_US);
}
