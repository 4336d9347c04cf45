/*
 * Live clients: a bounded queue of fragments per viewer and stream.
 *
 * A client has one or more channels, each subscribed to one stream hub
 * (a WebSocket may carry several cameras). The hub callback (on the
 * ingest thread) only appends a reference to the channel's queue. When
 * the queue would exceed its byte bound, everything queued on that
 * channel is dropped and the channel skips forward to the next keyframe
 * fragment, so a slow viewer costs at most its bound per channel in
 * memory and never delays the recorder or other viewers. Every skipped
 * fragment is counted, and so is every overflow.
 *
 * The client measures, per channel, the time from the hub's publication
 * of a fragment to the end of its send (the delivery latency) and from
 * the arrival of the fragment's first packet at ingest to the end of its
 * send (the fragment age, which includes the fragment's own duration).
 * The fragments replayed from the hub's cache when a channel subscribes
 * are left out of both, because they were published before the viewer
 * came.
 */
#ifndef VMS_LIVE_LIVE_H
#define VMS_LIVE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "live/latency.h"
#include "media/hub.h"

/* The most channels (streams) one client may carry. */
#define LIVE_CHANNELS_MAX 16

typedef struct live_client live_client_t;

/* Called on the ingest thread after a fragment was queued; it must only
 * wake the sending thread (for example lws_cancel_service()). */
typedef void (*live_wake_fn)(void *ctx);

typedef struct live_stats {
    uint64_t fragments_sent;
    uint64_t fragments_skipped;
    uint64_t overflows;      /* times the queue was dropped */
    uint64_t bytes_sent;
    size_t queue_bytes;
    size_t queue_len;
    live_latency_t delivery; /* hub publication to end of send */
    live_latency_t age;      /* ingest arrival to end of send */
} live_stats_t;

/* What live_client_next() returns. */
typedef enum live_item_kind {
    LIVE_ITEM_NONE = 0,
    LIVE_ITEM_INIT,      /* an init segment: send before the fragments */
    LIVE_ITEM_FRAGMENT,
} live_item_kind_t;

typedef struct live_item {
    live_item_kind_t kind;
    int channel;            /* index from live_client_add(), from 0 */
    vms_buf_t *buf;         /* one reference, released by the caller */
    hub_fragment_t *frag;   /* the fragment (for both kinds); one
                               reference, released by the caller */
    int64_t queued_us;      /* monotonic time the hub published it */
    int backlog;            /* replayed from the hub's cache when the
                               channel subscribed */
} live_item_t;

/* Creates a client whose channels' queues are bounded by
 * max_queue_bytes each. With hub set, channel 0 subscribes to it, as
 * with live_client_add(). *out is freed with live_client_free(); every
 * hub must outlive it. wake may be NULL. */
int live_client_new(hub_t *hub, size_t max_queue_bytes, live_wake_fn wake,
                    void *wake_ctx, live_client_t **out);

/* Adds a channel that subscribes to hub, starting at its latest cached
 * keyframe. Stores the channel's index in *channel (may be NULL).
 * Returns 0, -ENOSPC beyond LIVE_CHANNELS_MAX or -ENOMEM. */
int live_client_add(live_client_t *c, hub_t *hub, int *channel);

/* Returns the number of channels. */
int live_client_channels(live_client_t *c);

/* Unsubscribes every channel and frees the queues. NULL is a no-op. */
void live_client_free(live_client_t *c);

/* Takes the next item to send: the oldest queued fragment across
 * channels. A channel's init segment comes before its first fragment
 * and again whenever its stream's generation changes. Returns 1 with
 * *item filled, or 0 if nothing is queued. */
int live_client_next(live_client_t *c, live_item_t *item);

/* Returns 1 if an item is waiting. */
int live_client_pending(live_client_t *c);

/* Records that item (from live_client_next) was sent whole, bytes
 * long, at monotonic time now_us (vms_monotonic_us()). */
void live_client_sent(live_client_t *c, const live_item_t *item,
                      size_t bytes, int64_t now_us);

/* Copies the figures of one channel, or of all channels summed with
 * channel -1. Returns 0, or -EINVAL for an unknown channel. */
int live_client_get_stats(live_client_t *c, int channel, live_stats_t *out);

/* Adds the figures of src to dst (counters, queue, histograms). */
void live_stats_merge(live_stats_t *dst, const live_stats_t *src);

#endif
