/*
 * Live clients: a bounded queue of fragments per viewer.
 *
 * The hub callback (on the ingest thread) only appends a reference to
 * the queue. When the queue would exceed its byte bound, everything
 * queued is dropped and the client skips forward to the next keyframe
 * fragment, so a slow viewer costs at most its bound in memory and
 * never delays the recorder or other viewers. Every skipped fragment is
 * counted.
 */
#ifndef VMS_LIVE_LIVE_H
#define VMS_LIVE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "media/hub.h"

typedef struct live_client live_client_t;

/* Called on the ingest thread after a fragment was queued; it must only
 * wake the sending thread (for example lws_cancel_service()). */
typedef void (*live_wake_fn)(void *ctx);

typedef struct live_stats {
    uint64_t fragments_sent;
    uint64_t fragments_skipped;
    uint64_t bytes_sent;
    size_t queue_bytes;
    size_t queue_len;
} live_stats_t;

/* What live_client_next() returns. */
typedef enum live_item_kind {
    LIVE_ITEM_NONE = 0,
    LIVE_ITEM_INIT,      /* an init segment: send before the fragments */
    LIVE_ITEM_FRAGMENT,
} live_item_kind_t;

typedef struct live_item {
    live_item_kind_t kind;
    vms_buf_t *buf;         /* one reference, released by the caller */
    hub_fragment_t *frag;   /* the fragment (for both kinds); one
                               reference, released by the caller */
} live_item_t;

/* Subscribes to hub starting at the latest keyframe. max_queue_bytes
 * bounds the queue. *out is freed with live_client_free(); hub must
 * outlive it. */
int live_client_new(hub_t *hub, size_t max_queue_bytes, live_wake_fn wake,
                    void *wake_ctx, live_client_t **out);

/* Unsubscribes and frees the queue. NULL is a no-op. */
void live_client_free(live_client_t *c);

/* Takes the next item to send. An init segment comes first and again
 * whenever the stream's generation changes. Returns 1 with *item
 * filled, or 0 if nothing is queued. */
int live_client_next(live_client_t *c, live_item_t *item);

/* Returns 1 if an item is waiting. */
int live_client_pending(live_client_t *c);

/* Records that an item's bytes were sent. */
void live_client_sent(live_client_t *c, size_t bytes);

void live_client_get_stats(live_client_t *c, live_stats_t *out);

#endif
