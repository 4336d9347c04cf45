/*
 * Live viewers over WebSocket: /api/v1/cameras/ID/live?stream=main|sub.
 *
 * The daemon sends a JSON text message describing the stream, then the
 * init segment, then one binary message per fragment, starting at the
 * latest keyframe. Fragments reach the viewer's bounded queue on the
 * ingest thread; this file sends them on the event loop.
 */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "common/log.h"

/* Bytes sent per write callback; see server.c. */
#define API_LIVE_CHUNK 65536

static unsigned char api_live_scratch[LWS_PRE + API_LIVE_CHUNK];

/* Wakes the event loop from an ingest thread. */
static void api_live_wake(void *ctx)
{
    lws_cancel_service(ctx);
}

/* Resolves the live URL of a WebSocket request to its hub. Returns 0,
 * or -1 for an unknown path, camera or stream. Out-parameters may be
 * NULL. */
int api_live_target(struct lws *wsi, hub_t **hub_out, int64_t *id_out,
                    const char **stream_out)
{
    api_server_t *srv = lws_context_user(lws_get_context(wsi));
    char uri[256];
    char arg[32];
    const char *stream = "main";
    const char *value;
    long long id = 0;
    int consumed = 0;
    hub_t *hub;

    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
        sscanf(uri, "/api/v1/cameras/%lld/live%n", &id, &consumed) != 1 ||
        uri[consumed] != '\0')
        return -1;
    value = lws_get_urlarg_by_name(wsi, "stream=", arg, sizeof(arg));
    if (value)
        stream = value;
    if (strcmp(stream, "main") == 0)
        stream = "main";
    else if (strcmp(stream, "sub") == 0)
        stream = "sub";
    else
        return -1;
    hub = srv->cfg.svc->stream_hub(srv->cfg.svc_ctx, id, stream);
    if (!hub)
        return -1;
    if (hub_out)
        *hub_out = hub;
    if (id_out)
        *id_out = id;
    if (stream_out)
        *stream_out = stream;
    return 0;
}

/* LWS_CALLBACK_ESTABLISHED: a viewer opened /api/v1/cameras/ID/live. */
int api_live_open(api_conn_t *c, struct lws *wsi)
{
    api_server_t *srv = lws_context_user(lws_get_context(wsi));
    const char *stream;
    int64_t id;
    hub_t *hub;

    c->srv = srv;
    c->wsi = wsi;
    c->fd = -1;
    if (api_live_target(wsi, &hub, &id, &stream) < 0)
        return -1;
    if (live_client_new(hub, srv->cfg.live_queue_bytes, api_live_wake, srv->ctx,
                        &c->live) < 0)
        return -1;
    c->camera_id = id;
    snprintf(c->stream, sizeof(c->stream), "%s", stream);
    c->next_live = srv->live_conns;
    srv->live_conns = c;
    vms_log(VMS_LOG_INFO, "live", "camera=%lld stream=%s event=viewer_open",
            (long long)id, stream);
    lws_callback_on_writable(wsi);
    return 0;
}

void api_live_close(api_conn_t *c)
{
    live_stats_t st;

    if (!c->live)
        return;
    for (api_conn_t **p = &c->srv->live_conns; *p; p = &(*p)->next_live) {
        if (*p == c) {
            *p = c->next_live;
            break;
        }
    }
    live_client_get_stats(c->live, &st);
    vms_log(VMS_LOG_INFO, "live",
            "camera=%lld stream=%s event=viewer_close fragments_sent=%llu "
            "fragments_skipped=%llu bytes_sent=%llu",
            (long long)c->camera_id, c->stream,
            (unsigned long long)st.fragments_sent,
            (unsigned long long)st.fragments_skipped,
            (unsigned long long)st.bytes_sent);
    live_client_free(c->live);
    c->live = NULL;
    vms_buf_unref(c->item.buf);
    hub_fragment_unref(c->item.frag);
    c->item.buf = NULL;
    c->item.frag = NULL;
}

/* Sends the next piece of live data: the JSON header before an init
 * segment, then binary messages in chunks. */
int api_live_writeable(api_conn_t *c)
{
    unsigned char *out = api_live_scratch + LWS_PRE;
    size_t n;
    int start;
    int end;

    if (!c->live)
        return -1;
    if (!c->item.buf) {
        if (!live_client_next(c->live, &c->item))
            return 0;
        c->item_off = 0;
        c->text_pending = c->item.kind == LIVE_ITEM_INIT;
    }
    if (c->text_pending) {
        hub_info_t info;
        hub_t *hub = c->srv->cfg.svc->stream_hub(c->srv->cfg.svc_ctx,
                                                 c->camera_id, c->stream);
        int len;

        memset(&info, 0, sizeof(info));
        if (hub)
            hub_get_info(hub, &info);
        len = snprintf((char *)out, API_LIVE_CHUNK,
                       "{\"type\":\"init\",\"mime\":\"video/mp4; "
                       "codecs=\\\"%s\\\"\",\"width\":%d,\"height\":%d,"
                       "\"generation\":%u}",
                       info.codec, info.width, info.height,
                       c->item.frag->generation);
        c->text_pending = 0;
        if (lws_write(c->wsi, out, (size_t)len, LWS_WRITE_TEXT) != len)
            return -1;
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    n = c->item.buf->len - c->item_off;
    if (n > API_LIVE_CHUNK)
        n = API_LIVE_CHUNK;
    memcpy(out, c->item.buf->data + c->item_off, n);
    start = c->item_off == 0;
    c->item_off += n;
    end = c->item_off == c->item.buf->len;
    if (lws_write(c->wsi, out, n,
                  (enum lws_write_protocol)lws_write_ws_flags(
                      LWS_WRITE_BINARY, start, end)) != (int)n)
        return -1;
    if (end) {
        live_client_sent(c->live, c->item.buf->len);
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
}
