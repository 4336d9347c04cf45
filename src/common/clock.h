/*
 * Injected clocks. Modules that depend on time (the recorder, retention,
 * sessions) take a vms_clock_t from their caller so that tests can move
 * time deterministically.
 */
#ifndef VMS_COMMON_CLOCK_H
#define VMS_COMMON_CLOCK_H

#include <stdint.h>

typedef struct vms_clock {
    /* Returns UTC microseconds since the Unix epoch. */
    int64_t (*now_us)(void *ctx);
    void *ctx;
} vms_clock_t;

/* The system's real-time clock. */
extern const vms_clock_t vms_clock_real;

static inline int64_t vms_clock_now_us(const vms_clock_t *clock)
{
    return clock->now_us(clock->ctx);
}

/* Returns CLOCK_MONOTONIC in microseconds, for timeouts and intervals. */
int64_t vms_monotonic_us(void);

/* Returns CLOCK_REALTIME in microseconds. */
int64_t vms_realtime_us(void);

#endif
