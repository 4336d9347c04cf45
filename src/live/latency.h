/*
 * Latency histograms: log-linear buckets of microseconds, so that a
 * quantile costs no sorting and a histogram has a fixed size (about
 * 2 KB). Values below 32 us are exact; above, each power of two is
 * split into 16 buckets, so a quantile is within 1/16 (6.25 %) of the
 * true value. Values above 2^32 us (71 minutes) count in the last
 * bucket. Not thread-safe: the owner locks.
 */
#ifndef VMS_LIVE_LATENCY_H
#define VMS_LIVE_LATENCY_H

#include <stdint.h>

#define LIVE_LATENCY_BUCKETS (32 + 27 * 16)

typedef struct live_latency {
    uint64_t count;
    uint64_t sum_us;
    uint64_t max_us;
    uint32_t buckets[LIVE_LATENCY_BUCKETS];
} live_latency_t;

/* Adds one value; a negative value counts as 0. */
void live_latency_add(live_latency_t *h, int64_t us);

/* Adds every value of src to dst. */
void live_latency_merge(live_latency_t *dst, const live_latency_t *src);

/* Returns the upper bound of the bucket that holds quantile q (0 to 1),
 * capped at the largest value seen, or 0 for an empty histogram. */
uint64_t live_latency_quantile(const live_latency_t *h, double q);

#endif
