#include "common/clock.h"

#include <time.h>

static int64_t clock_timespec_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t vms_monotonic_us(void)
{
    return clock_timespec_us(CLOCK_MONOTONIC);
}

int64_t vms_realtime_us(void)
{
    return clock_timespec_us(CLOCK_REALTIME);
}

static int64_t clock_real_now(void *ctx)
{
    (void)ctx;
    return vms_realtime_us();
}

const vms_clock_t vms_clock_real = {clock_real_now, 0};
