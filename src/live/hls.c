/*
 * HLS window; see hls.h.
 *
 * Invariants, under h->lock: segs[0..seg_count) are in media sequence
 * order, oldest first; only the last may be open (complete == 0); at
 * most LIVE_HLS_WINDOW complete segments are kept besides it.
 */
#include "live/hls.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE_HLS_SEGS (LIVE_HLS_WINDOW + 1)
/* The shortest PART-TARGET announced: the ingest cuts fragments of at
 * most 250 ms (INGEST_FRAGMENT_MAX_US) unless one frame lasts longer. */
#define LIVE_HLS_PART_TARGET_US 250000
/* Parts are listed for the last three segments only, because players
 * need parts only near the live edge and the draft LL-HLS specification
 * (RFC 8216bis) lets a server drop parts older than three target
 * durations. */
#define LIVE_HLS_PART_SEGMENTS 3

typedef struct live_hls_segment {
    uint64_t msn;
    uint32_t generation;
    int complete;
    int independent;      /* its first part starts with a keyframe */
    int discontinuity;    /* a new generation starts here */
    int64_t start_us;     /* UTC of its first sample */
    int64_t duration_us;
    int part_count;
    hub_fragment_t *parts[LIVE_HLS_PARTS_MAX];
    vms_buf_t *joined;    /* all parts, built on first request */
} live_hls_segment_t;

struct live_hls {
    hub_t *hub;
    hub_subscription_t *sub;
    live_wake_fn wake;
    void *wake_ctx;
    pthread_mutex_t lock;
    live_hls_segment_t *segs[LIVE_HLS_SEGS];
    int seg_count;
    uint64_t next_msn;
    uint64_t discontinuity_seq;
    uint64_t next_part_seq;
    int active;
    int target_s;
    int64_t part_target_us;
};

static void live_hls_segment_free(live_hls_segment_t *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->part_count; i++)
        hub_fragment_unref(s->parts[i]);
    vms_buf_unref(s->joined);
    free(s);
}

/* Returns the open segment, or NULL; the lock is held. */
static live_hls_segment_t *live_hls_open_locked(live_hls_t *h)
{
    live_hls_segment_t *s;

    if (h->seg_count == 0)
        return NULL;
    s = h->segs[h->seg_count - 1];
    return s->complete ? NULL : s;
}

/* Completes the open segment, if any; the lock is held. */
static void live_hls_close_locked(live_hls_t *h)
{
    live_hls_segment_t *s = live_hls_open_locked(h);
    int rounded;

    if (!s)
        return;
    s->complete = 1;
    /* EXTINF rounded to the nearest second must not exceed the target
     * duration (RFC 8216, section 4.3.3.1). */
    rounded = (int)((s->duration_us + 500000) / 1000000);
    if (rounded < 1)
        rounded = 1;
    if (rounded > h->target_s)
        h->target_s = rounded;
}

/* Opens a segment that starts with frag; returns NULL when out of
 * memory. The lock is held. */
static live_hls_segment_t *live_hls_start_locked(live_hls_t *h,
                                                 hub_fragment_t *frag)
{
    live_hls_segment_t *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->msn = h->next_msn++;
    s->generation = frag->generation;
    s->independent = frag->keyframe;
    s->start_us = frag->start_us;
    if (h->seg_count > 0 &&
        h->segs[h->seg_count - 1]->generation != frag->generation)
        s->discontinuity = 1;
    if (h->seg_count == LIVE_HLS_SEGS) {
        live_hls_segment_t *oldest = h->segs[0];

        memmove(h->segs, h->segs + 1,
                sizeof(h->segs[0]) * (LIVE_HLS_SEGS - 1));
        h->seg_count--;
        /* The first segment's discontinuity tag leaves the playlist. */
        if (h->segs[0]->discontinuity) {
            h->segs[0]->discontinuity = 0;
            h->discontinuity_seq++;
        }
        live_hls_segment_free(oldest);
    }
    h->segs[h->seg_count++] = s;
    return s;
}

/* Hub callback on the ingest thread: appends frag as a part. */
static void live_hls_on_fragment(void *ctx, hub_fragment_t *frag)
{
    live_hls_t *h = ctx;
    live_hls_segment_t *s;

    pthread_mutex_lock(&h->lock);
    if (!frag) {
        live_hls_close_locked(h);
        pthread_mutex_unlock(&h->lock);
        return;
    }
    s = live_hls_open_locked(h);
    if (s && (frag->keyframe || frag->generation != s->generation ||
              s->part_count == LIVE_HLS_PARTS_MAX ||
              s->duration_us + frag->duration_us > LIVE_HLS_SEGMENT_MAX_US)) {
        live_hls_close_locked(h);
        s = NULL;
    }
    h->next_part_seq = frag->seq + 1;
    if (!s) {
        /* The window starts at a keyframe; so does every new
         * generation, which a player cannot decode from its middle. */
        int starts_fresh = h->seg_count == 0 ||
            h->segs[h->seg_count - 1]->generation != frag->generation;

        if (starts_fresh && !frag->keyframe) {
            pthread_mutex_unlock(&h->lock);
            return;
        }
        s = live_hls_start_locked(h, frag);
        if (!s) {
            pthread_mutex_unlock(&h->lock);
            return;
        }
    }
    s->parts[s->part_count++] = hub_fragment_ref(frag);
    s->duration_us += frag->duration_us;
    if (frag->duration_us > h->part_target_us)
        h->part_target_us = frag->duration_us;
    h->active = 1;
    pthread_mutex_unlock(&h->lock);
    if (h->wake)
        h->wake(h->wake_ctx);
}

int live_hls_new(hub_t *hub, live_wake_fn wake, void *wake_ctx,
                 live_hls_t **out)
{
    live_hls_t *h = calloc(1, sizeof(*h));
    int rc;

    *out = NULL;
    if (!h)
        return -ENOMEM;
    h->hub = hub;
    h->wake = wake;
    h->wake_ctx = wake_ctx;
    h->next_msn = 1;
    h->part_target_us = LIVE_HLS_PART_TARGET_US;
    pthread_mutex_init(&h->lock, NULL);
    rc = hub_subscribe(hub, live_hls_on_fragment, h, 1, &h->sub);
    if (rc < 0) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void live_hls_free(live_hls_t *h)
{
    if (!h)
        return;
    hub_unsubscribe(h->hub, h->sub);
    for (int i = 0; i < h->seg_count; i++)
        live_hls_segment_free(h->segs[i]);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void live_hls_get_position(live_hls_t *h, live_hls_position_t *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&h->lock);
    out->active = h->active;
    out->next_part_seq = h->next_part_seq;
    out->target_s = h->target_s;
    for (int i = h->seg_count - 1; i >= 0; i--) {
        if (h->segs[i]->complete) {
            out->has_complete = 1;
            out->last_complete = h->segs[i]->msn;
            break;
        }
    }
    if (h->seg_count > 0) {
        out->newest = h->segs[h->seg_count - 1]->msn;
        out->newest_parts = h->segs[h->seg_count - 1]->part_count;
    }
    pthread_mutex_unlock(&h->lock);
}

int live_hls_ready(live_hls_t *h, uint64_t msn, int part)
{
    live_hls_position_t pos;

    live_hls_get_position(h, &pos);
    if (!pos.has_complete)
        return 0; /* no playlist can be served yet */
    if (msn > pos.newest + 2)
        return -ERANGE;
    if (part < 0)
        return pos.last_complete >= msn;
    /* Part P of segment M exists, or a later segment has started. In
     * the latter case segment M is complete, and a part P beyond its end
     * means the first part of the next segment. */
    if (pos.newest > msn)
        return 1;
    return pos.newest == msn && pos.newest_parts > part;
}

/* Formats a UTC time in microseconds as ISO 8601 with milliseconds. */
static void live_hls_format_time(int64_t us, char *out, size_t len)
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)((us % 1000000) / 1000));
}

/* A growing text buffer; on allocation failure it stops growing and
 * records the error. */
typedef struct live_text {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} live_text_t;

static void live_text_printf(live_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void live_text_printf(live_text_t *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        {
            size_t cap = t->cap * 2 + (size_t)n + 1;
            char *bigger = realloc(t->data, cap);

            if (!bigger) {
                t->failed = 1;
                return;
            }
            t->data = bigger;
            t->cap = cap;
        }
    }
}

/* Writes the playlist tags of segment s; the lock is held. */
static void live_hls_write_segment(live_hls_t *h, live_text_t *t,
                                   const live_hls_segment_t *s, int first,
                                   int with_parts, const char *query)
{
    char when[40];

    if (s->discontinuity && !first)
        live_text_printf(t, "#EXT-X-DISCONTINUITY\n");
    if (first || s->discontinuity)
        live_text_printf(t,
                         "#EXT-X-MAP:URI=\"init.mp4?%s&generation=%" PRIu32
                         "\"\n",
                         query, s->generation);
    live_hls_format_time(s->start_us, when, sizeof(when));
    live_text_printf(t, "#EXT-X-PROGRAM-DATE-TIME:%s\n", when);
    for (int i = 0; with_parts && i < s->part_count; i++) {
        const hub_fragment_t *p = s->parts[i];

        live_text_printf(t,
                         "#EXT-X-PART:DURATION=%.3f,URI=\"part/%" PRIu64
                         ".m4s?%s\"%s\n",
                         (double)p->duration_us / 1e6, p->seq, query,
                         p->keyframe ? ",INDEPENDENT=YES" : "");
    }
    if (s->complete)
        live_text_printf(t, "#EXTINF:%.3f,\nseg/%" PRIu64 ".m4s?%s\n",
                         (double)s->duration_us / 1e6, s->msn, query);
    (void)h;
}

int live_hls_playlist(live_hls_t *h, const char *query, vms_buf_t **out)
{
    live_text_t t = {0};
    int complete = 0;
    int independent = 1;
    double part_target;

    *out = NULL;
    t.cap = 4096;
    t.data = malloc(t.cap);
    if (!t.data)
        return -ENOMEM;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->seg_count; i++) {
        complete += h->segs[i]->complete;
        independent &= h->segs[i]->independent;
    }
    if (complete == 0) {
        pthread_mutex_unlock(&h->lock);
        free(t.data);
        return -EAGAIN;
    }
    part_target = (double)h->part_target_us / 1e6;
    live_text_printf(&t,
                     "#EXTM3U\n#EXT-X-VERSION:6\n"
                     "#EXT-X-TARGETDURATION:%d\n"
                     "#EXT-X-PART-INF:PART-TARGET=%.3f\n"
                     "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
                     "PART-HOLD-BACK=%.3f\n"
                     "#EXT-X-MEDIA-SEQUENCE:%" PRIu64 "\n"
                     "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRIu64 "\n",
                     h->target_s, part_target, 3 * part_target,
                     h->segs[0]->msn, h->discontinuity_seq);
    if (independent)
        live_text_printf(&t, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    for (int i = 0; i < h->seg_count; i++)
        live_hls_write_segment(h, &t, h->segs[i], i == 0,
                               i >= h->seg_count - LIVE_HLS_PART_SEGMENTS,
                               query);
    live_text_printf(&t,
                     "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part/%" PRIu64
                     ".m4s?%s\"\n",
                     h->next_part_seq, query);
    pthread_mutex_unlock(&h->lock);
    if (t.failed) {
        free(t.data);
        return -ENOMEM;
    }
    *out = vms_buf_new(t.data, t.len);
    free(t.data);
    return *out ? 0 : -ENOMEM;
}

int live_hls_part(live_hls_t *h, uint64_t seq, vms_buf_t **out)
{
    int rc = -ENOENT;

    *out = NULL;
    pthread_mutex_lock(&h->lock);
    for (int i = h->seg_count - 1; i >= 0 && rc == -ENOENT; i--) {
        const live_hls_segment_t *s = h->segs[i];

        if (s->part_count == 0 || s->parts[0]->seq > seq)
            continue;
        for (int j = 0; j < s->part_count; j++) {
            if (s->parts[j]->seq == seq) {
                *out = vms_buf_ref(s->parts[j]->data);
                rc = 0;
                break;
            }
        }
        break; /* seq falls within this segment or was not kept */
    }
    if (rc == -ENOENT && seq == h->next_part_seq && seq > 0)
        rc = -EAGAIN;
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/* Joins the parts of a complete segment once; the lock is held. */
static int live_hls_join_locked(live_hls_segment_t *s)
{
    size_t len = 0;
    size_t off = 0;

    if (s->joined)
        return 0;
    for (int i = 0; i < s->part_count; i++)
        len += s->parts[i]->data->len;
    s->joined = vms_buf_new(NULL, len);
    if (!s->joined)
        return -ENOMEM;
    for (int i = 0; i < s->part_count; i++) {
        memcpy(s->joined->data + off, s->parts[i]->data->data,
               s->parts[i]->data->len);
        off += s->parts[i]->data->len;
    }
    return 0;
}

int live_hls_segment(live_hls_t *h, uint64_t msn, vms_buf_t **out)
{
    int rc = -ENOENT;

    *out = NULL;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->seg_count; i++) {
        live_hls_segment_t *s = h->segs[i];

        if (s->msn != msn)
            continue;
        if (!s->complete) {
            rc = -EAGAIN;
        } else {
            rc = live_hls_join_locked(s);
            if (rc == 0)
                *out = vms_buf_ref(s->joined);
        }
        break;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

int live_hls_init(live_hls_t *h, uint32_t generation, vms_buf_t **out)
{
    int rc = -ENOENT;

    *out = NULL;
    pthread_mutex_lock(&h->lock);
    for (int i = h->seg_count - 1; i >= 0; i--) {
        live_hls_segment_t *s = h->segs[i];

        if (s->part_count > 0 &&
            (generation == 0 || s->generation == generation)) {
            *out = vms_buf_ref(s->parts[0]->init);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}
