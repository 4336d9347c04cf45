/* Latency histograms; see latency.h. */
#include "live/latency.h"

/* Returns the bucket of us. */
static int live_latency_bucket(uint64_t us)
{
    int exponent;
    int index;

    if (us < 32)
        return (int)us;
    exponent = 63 - __builtin_clzll(us);
    index = 32 + (exponent - 5) * 16 + (int)((us >> (exponent - 4)) & 15);
    return index < LIVE_LATENCY_BUCKETS ? index : LIVE_LATENCY_BUCKETS - 1;
}

/* Returns the largest value that falls into bucket index. */
static uint64_t live_latency_bucket_max(int index)
{
    int exponent;
    uint64_t sub;

    if (index < 32)
        return (uint64_t)index;
    exponent = (index - 32) / 16 + 5;
    sub = (uint64_t)((index - 32) % 16);
    return ((16 + sub + 1) << (exponent - 4)) - 1;
}

void live_latency_add(live_latency_t *h, int64_t us)
{
    uint64_t value = us < 0 ? 0 : (uint64_t)us;

    h->count++;
    h->sum_us += value;
    if (value > h->max_us)
        h->max_us = value;
    h->buckets[live_latency_bucket(value)]++;
}

void live_latency_merge(live_latency_t *dst, const live_latency_t *src)
{
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
    for (int i = 0; i < LIVE_LATENCY_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

uint64_t live_latency_quantile(const live_latency_t *h, double q)
{
    uint64_t rank;
    uint64_t seen = 0;

    if (h->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    /* The rank of the quantile, from 1: ceil(q * count). */
    rank = (uint64_t)(q * (double)h->count);
    if ((double)rank < q * (double)h->count)
        rank++;
    if (rank == 0)
        rank = 1;
    for (int i = 0; i < LIVE_LATENCY_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t bound = live_latency_bucket_max(i);
            return bound < h->max_us ? bound : h->max_us;
        }
    }
    return h->max_us;
}
