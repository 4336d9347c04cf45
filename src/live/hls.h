/*
 * HTTP Live Streaming window of one stream: Low-Latency HLS parts and
 * plain HLS segments built from the hub's fragments without re-muxing.
 *
 * Each fragment (at most 500 ms, see media/ingest.c) is one partial
 * segment, named by its hub sequence number. A segment is a GOP: it
 * starts at a keyframe fragment and ends before the next one, or after
 * LIVE_HLS_PARTS_MAX parts or LIVE_HLS_SEGMENT_MAX_US (then the next
 * segment does not start at a keyframe and is not marked independent).
 * The window keeps the LIVE_HLS_WINDOW latest complete segments and the
 * open one. A segment's bytes are the concatenation of its fragments,
 * joined once on first request and shared by every viewer.
 *
 * The hub callback runs on the ingest thread and only takes references;
 * every other function may run on any thread. The window takes the
 * hub's lock only to subscribe and unsubscribe.
 */
#ifndef VMS_LIVE_HLS_H
#define VMS_LIVE_HLS_H

#include <stdint.h>

#include "live/live.h"
#include "media/hub.h"

/* Complete segments kept (about 30 s with a 5 s GOP). */
#define LIVE_HLS_WINDOW 6
/* A segment is cut after this many parts or this duration even without
 * a keyframe, so that a camera with a very long GOP still plays. */
#define LIVE_HLS_PARTS_MAX 40
#define LIVE_HLS_SEGMENT_MAX_US 10000000LL

typedef struct live_hls live_hls_t;

/* The newest state of the window, for waiting requests. */
typedef struct live_hls_position {
    int active;              /* the stream has published since the
                                window was created */
    int has_complete;        /* at least one segment is complete */
    uint64_t last_complete;  /* media sequence number of the newest
                                complete segment */
    uint64_t newest;         /* media sequence number of the newest
                                segment, complete or open */
    int newest_parts;        /* parts in the newest segment */
    uint64_t next_part_seq;  /* hub sequence number of the next part */
    int target_s;            /* EXT-X-TARGETDURATION */
} live_hls_position_t;

/* Creates a window fed by hub, starting with the hub's cached fragments
 * since its latest keyframe. wake (may be NULL) is called on the ingest
 * thread after each new part. *out is freed with live_hls_free(); hub
 * must outlive it. Returns 0 or -ENOMEM. */
int live_hls_new(hub_t *hub, live_wake_fn wake, void *wake_ctx,
                 live_hls_t **out);

/* Unsubscribes and frees the window. NULL is a no-op. */
void live_hls_free(live_hls_t *h);

void live_hls_get_position(live_hls_t *h, live_hls_position_t *out);

/* Returns 1 if a blocking playlist reload for media sequence number msn
 * and part (-1 for none) can be answered now, 0 if it must wait, or
 * -ERANGE if msn is more than two segments beyond the newest. */
int live_hls_ready(live_hls_t *h, uint64_t msn, int part);

/* Renders the media playlist. query (for example "stream=main") is
 * appended to every URI. *out receives one reference. Returns 0,
 * -EAGAIN while no segment is complete, or -ENOMEM. */
int live_hls_playlist(live_hls_t *h, const char *query, vms_buf_t **out);

/* Finds the part with hub sequence number seq. Returns 0 with one
 * reference in *out, -EAGAIN if it is the next part (not yet
 * published), or -ENOENT if it left the window or is further ahead. */
int live_hls_part(live_hls_t *h, uint64_t seq, vms_buf_t **out);

/* Finds the complete segment msn and returns its bytes (one reference
 * in *out). Returns 0, -EAGAIN if it is still open, -ENOENT if it is
 * not in the window, or -ENOMEM. */
int live_hls_segment(live_hls_t *h, uint64_t msn, vms_buf_t **out);

/* Finds the init segment of generation (0 for the newest in the
 * window). Returns 0 with one reference in *out, or -ENOENT. */
int live_hls_init(live_hls_t *h, uint32_t generation, vms_buf_t **out);

#endif
