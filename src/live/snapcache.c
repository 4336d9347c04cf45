/* Snapshot cache; see snapcache.h. */
#include "live/snapcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live/parse.h"
#include "media/snapshot.h"

/* Streams and widths kept; the least recently used is replaced. */
#define LIVE_SNAPCACHE_STREAMS 64
#define LIVE_SNAPCACHE_WIDTHS 4

typedef struct live_snapcache_scaled {
    int width;
    vms_buf_t *jpeg;
    int64_t used_us;
} live_snapcache_scaled_t;

typedef struct live_snapcache_entry {
    hub_t *hub;                /* borrowed; NULL for a free slot */
    int64_t used_us;
    int64_t decoded_us;        /* monotonic time of the last decode */
    int64_t keyframe_time_us;  /* UTC time of the decoded keyframe */
    int width;                 /* of the full-size picture */
    int height;
    vms_buf_t *full;           /* full-size JPEG */
    live_snapcache_scaled_t scaled[LIVE_SNAPCACHE_WIDTHS];
} live_snapcache_entry_t;

struct live_snapcache {
    live_snapcache_entry_t entries[LIVE_SNAPCACHE_STREAMS];
    live_snapcache_stats_t stats;
};

static void live_snapcache_clear_scaled(live_snapcache_entry_t *e)
{
    for (int i = 0; i < LIVE_SNAPCACHE_WIDTHS; i++) {
        vms_buf_unref(e->scaled[i].jpeg);
        memset(&e->scaled[i], 0, sizeof(e->scaled[i]));
    }
}

int live_snapcache_new(live_snapcache_t **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

void live_snapcache_free(live_snapcache_t *sc)
{
    if (!sc)
        return;
    for (int i = 0; i < LIVE_SNAPCACHE_STREAMS; i++) {
        vms_buf_unref(sc->entries[i].full);
        live_snapcache_clear_scaled(&sc->entries[i]);
    }
    free(sc);
}

/* Returns the entry of hub, taking over the least recently used one for
 * a new hub. */
static live_snapcache_entry_t *live_snapcache_entry(live_snapcache_t *sc,
                                                    hub_t *hub)
{
    live_snapcache_entry_t *oldest = &sc->entries[0];

    for (int i = 0; i < LIVE_SNAPCACHE_STREAMS; i++) {
        live_snapcache_entry_t *e = &sc->entries[i];

        if (e->hub == hub)
            return e;
        if (!e->hub || (oldest->hub && e->used_us < oldest->used_us))
            oldest = e;
    }
    vms_buf_unref(oldest->full);
    live_snapcache_clear_scaled(oldest);
    memset(oldest, 0, sizeof(*oldest));
    oldest->hub = hub;
    return oldest;
}

/* Decodes hub's keyframe into e->full when a newer one exists and the
 * last decode is old enough. */
static int live_snapcache_refresh(live_snapcache_t *sc,
                                  live_snapcache_entry_t *e, int64_t now_us)
{
    AVPacket *pkt;
    AVCodecParameters *par;
    vms_buf_t *full = NULL;
    int64_t time_us = 0;
    int rc;

    if (e->full && now_us - e->decoded_us < LIVE_SNAPCACHE_INTERVAL_US)
        return 0;
    pkt = av_packet_alloc();
    par = avcodec_parameters_alloc();
    if (!pkt || !par) {
        rc = AVERROR(ENOMEM);
        goto out;
    }
    rc = hub_get_keyframe(e->hub, pkt, par, &time_us);
    if (rc < 0)
        goto out;
    if (e->full && time_us == e->keyframe_time_us) {
        e->decoded_us = now_us; /* still the same picture */
        goto out;
    }
    rc = snapshot_encode_jpeg(pkt, par, 0, &full);
    if (rc < 0)
        goto out;
    sc->stats.decodes++;
    vms_buf_unref(e->full);
    live_snapcache_clear_scaled(e);
    e->full = full;
    e->decoded_us = now_us;
    e->keyframe_time_us = time_us;
    if (live_parse_jpeg_size(full->data, full->len, &e->width,
                             &e->height) < 0)
        e->width = e->height = 0;
out:
    av_packet_free(&pkt);
    avcodec_parameters_free(&par);
    return rc;
}

/* Makes (or finds) the picture scaled to width from the full JPEG. */
static int live_snapcache_scaled(live_snapcache_t *sc,
                                 live_snapcache_entry_t *e, int width,
                                 int64_t now_us, vms_buf_t **jpeg)
{
    live_snapcache_scaled_t *slot = &e->scaled[0];
    AVCodecParameters *par;
    AVPacket *pkt;
    vms_buf_t *out = NULL;
    int rc;

    for (int i = 0; i < LIVE_SNAPCACHE_WIDTHS; i++) {
        if (e->scaled[i].jpeg && e->scaled[i].width == width) {
            e->scaled[i].used_us = now_us;
            *jpeg = vms_buf_ref(e->scaled[i].jpeg);
            return 0;
        }
        if (!e->scaled[i].jpeg ||
            (slot->jpeg && e->scaled[i].used_us < slot->used_us))
            slot = &e->scaled[i];
    }
    pkt = av_packet_alloc();
    par = avcodec_parameters_alloc();
    if (!pkt || !par) {
        rc = AVERROR(ENOMEM);
        goto out;
    }
    /* The packet borrows the cached JPEG's bytes (no buffer reference),
     * which the decoder only reads. */
    pkt->data = e->full->data;
    pkt->size = (int)e->full->len;
    pkt->flags = AV_PKT_FLAG_KEY;
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = AV_CODEC_ID_MJPEG;
    par->width = e->width;
    par->height = e->height;
    rc = snapshot_encode_jpeg(pkt, par, width, &out);
    pkt->data = NULL;
    pkt->size = 0;
    if (rc < 0)
        goto out;
    sc->stats.scales++;
    vms_buf_unref(slot->jpeg);
    slot->width = width;
    slot->jpeg = out;
    slot->used_us = now_us;
    *jpeg = vms_buf_ref(out);
out:
    av_packet_free(&pkt);
    avcodec_parameters_free(&par);
    return rc;
}

int live_snapcache_get(live_snapcache_t *sc, hub_t *hub, int width,
                       int64_t now_us, vms_buf_t **jpeg, int64_t *time_us)
{
    live_snapcache_entry_t *e = live_snapcache_entry(sc, hub);
    int rc;

    *jpeg = NULL;
    sc->stats.requests++;
    e->used_us = now_us;
    rc = live_snapcache_refresh(sc, e, now_us);
    if (rc < 0 && !e->full)
        return rc;
    /* A failed refresh keeps serving the previous picture. */
    *time_us = e->keyframe_time_us;
    if (width <= 0 || width >= e->width) {
        *jpeg = vms_buf_ref(e->full);
        return 0;
    }
    return live_snapcache_scaled(sc, e, width, now_us, jpeg);
}

void live_snapcache_get_stats(live_snapcache_t *sc,
                              live_snapcache_stats_t *out)
{
    *out = sc->stats;
}
