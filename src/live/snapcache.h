/*
 * Snapshot cache: JPEG pictures of each stream's latest keyframe,
 * shared by every client that asks.
 *
 * A stream's keyframe is decoded at most once per
 * LIVE_SNAPCACHE_INTERVAL_US, and only when the hub has a newer one, so
 * the decoding cost does not grow with the number of clients. Scaled
 * pictures are made from the cached full-size JPEG (a cheap MJPEG
 * decode) and cached per width until the next keyframe is decoded.
 * Not thread-safe: one thread (the API's event loop) uses a cache.
 */
#ifndef VMS_LIVE_SNAPCACHE_H
#define VMS_LIVE_SNAPCACHE_H

#include <stdint.h>

#include "media/hub.h"

#define LIVE_SNAPCACHE_INTERVAL_US 1000000LL

typedef struct live_snapcache live_snapcache_t;

/* Counters for tests and the statistics API. */
typedef struct live_snapcache_stats {
    uint64_t requests;
    uint64_t decodes;   /* keyframes decoded */
    uint64_t scales;    /* scaled pictures made */
} live_snapcache_stats_t;

int live_snapcache_new(live_snapcache_t **out);

/* Frees the cache. NULL is a no-op. */
void live_snapcache_free(live_snapcache_t *sc);

/* Returns hub's latest picture as a JPEG width pixels wide (0: the
 * source width) in *jpeg (one reference), and the keyframe's UTC time in
 * *time_us. now_us is monotonic (vms_monotonic_us()). Returns 0,
 * -ENOENT when the hub has no keyframe yet, or a negative AVERROR code
 * when decoding failed. */
int live_snapcache_get(live_snapcache_t *sc, hub_t *hub, int width,
                       int64_t now_us, vms_buf_t **jpeg, int64_t *time_us);

void live_snapcache_get_stats(live_snapcache_t *sc,
                              live_snapcache_stats_t *out);

#endif
