/*
 * Checks the thread pool's dynamic scheduling (nn_pool_run).  Every item
 * of a loop runs exactly once, for item counts from 0 to above 2^32 and
 * 1 to 4 threads.  Each call gets a thread index below the thread count
 * that no other call uses at the same time.  A thread that stalls in its
 * first item must lose the rest of its share to the other thread.  20000
 * short loops in a row check that a worker arriving late at a loop never
 * runs items of the wrong one.  A pool of more than NN_POOL_MAX_THREADS
 * threads is rejected.
 *
 * usage: test_nn_sched
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/nn_internal.h"

static int sched_fails;

#define SCHED_CHECK(cond, ...)                                               \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL " __VA_ARGS__);                            \
            fputc('\n', stderr);                                             \
            sched_fails++;                                                   \
        }                                                                    \
    } while (0)

static void sched_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

    nanosleep(&ts, NULL);
}

/* ---- every item once ---- */

struct sched_items {
    size_t count;
    int threads;
    atomic_int *runs;           /* per item */
    atomic_int busy[NN_POOL_MAX_THREADS];
    atomic_int *ran_on;         /* thread of each item */
    atomic_int bad_thread, overlap;
    long stall_us;              /* sleep in the call that runs item 0 */
};

static void sched_items_fn(void *ctx, size_t begin, size_t end, int thread)
{
    struct sched_items *s = ctx;

    if (thread < 0 || thread >= s->threads) {
        atomic_fetch_add(&s->bad_thread, 1);
        return;
    }
    if (atomic_exchange(&s->busy[thread], 1) != 0)
        atomic_fetch_add(&s->overlap, 1);
    for (size_t i = begin; i < end; i++) {
        atomic_fetch_add(&s->runs[i], 1);
        atomic_store(&s->ran_on[i], thread);
    }
    /* Item 0 stalls, so the other threads take the rest of its share. */
    if (s->stall_us > 0 && begin == 0)
        sched_sleep_us(s->stall_us);
    atomic_store(&s->busy[thread], 0);
}

/* Run one loop of count items; returns the items that did not run once. */
static size_t sched_run_items(struct nn_pool *pool, int threads,
                              size_t count, long stall_us, int *ran_on)
{
    struct sched_items s = {.count = count, .threads = threads,
                            .stall_us = stall_us};
    size_t wrong = 0;

    s.runs = calloc(count + 1, sizeof(*s.runs));
    s.ran_on = calloc(count + 1, sizeof(*s.ran_on));
    nn_pool_run(pool, count, sched_items_fn, &s);
    for (size_t i = 0; i < count; i++) {
        if (atomic_load(&s.runs[i]) != 1)
            wrong++;
        if (ran_on)
            ran_on[i] = atomic_load(&s.ran_on[i]);
    }
    SCHED_CHECK(atomic_load(&s.bad_thread) == 0,
                "pool %d threads, %zu items: thread index out of range",
                threads, count);
    SCHED_CHECK(atomic_load(&s.overlap) == 0,
                "pool %d threads, %zu items: two calls ran at once with "
                "the same thread index", threads, count);
    free(s.runs);
    free(s.ran_on);
    return wrong;
}

static void sched_check_counts(void)
{
    static const size_t counts[] = {0, 1, 2, 3, 5, 17, 64, 100, 1000, 10007};

    for (int threads = 1; threads <= 4; threads++) {
        struct nn_pool *pool;

        SCHED_CHECK(nn_pool_new(threads, &pool) == 0,
                    "pool %d threads: nn_pool_new failed", threads);
        for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
            size_t wrong = sched_run_items(pool, threads, counts[c], 0,
                                           NULL);

            SCHED_CHECK(wrong == 0, "pool %d threads, %zu items: %zu items "
                        "did not run exactly once", threads, counts[c],
                        wrong);
        }
        nn_pool_free(pool);
    }
}

/* ---- stalled thread loses its share ---- */

/*
 * With 2 threads, item 0 (the caller's first) stalls for 50 ms and the
 * others are instant.  The worker must take over the rest of the caller's
 * share.  If a busy machine keeps the worker from starting during the
 * whole loop, the caller takes over the worker's share instead.  Either
 * way some item runs on the thread of the other static half; the check
 * fails only if none does in 3 attempts.
 */
static void sched_check_steal(void)
{
    struct nn_pool *pool;
    enum { COUNT = 64 };
    int ran_on[COUNT];
    bool moved = false;

    if (nn_pool_new(2, &pool) != 0) {
        SCHED_CHECK(false, "steal: nn_pool_new failed");
        return;
    }
    for (int attempt = 0; attempt < 3 && !moved; attempt++) {
        size_t wrong = sched_run_items(pool, 2, COUNT, 50000, ran_on);

        SCHED_CHECK(wrong == 0, "steal: %zu items did not run exactly once",
                    wrong);
        for (int i = 0; i < COUNT; i++)
            if (ran_on[i] != (i < COUNT / 2 ? 0 : 1))
                moved = true;
    }
    SCHED_CHECK(moved, "steal: every item ran on the thread of its static "
                "half although one thread stalled for 50 ms");

    struct nn_pool_stats st;

    nn_pool_stats(pool, &st, true);
    SCHED_CHECK(!moved || st.steals > 0 || st.alone > 0,
                "steal: items moved but the pool counted no steal and no "
                "loop run alone");
    nn_pool_free(pool);
}

/* ---- counts above 2^32 ---- */

struct sched_range {
    size_t begin, end;
};

struct sched_ranges {
    pthread_mutex_t lock;
    struct sched_range *list;
    size_t n, cap;
};

static void sched_ranges_fn(void *ctx, size_t begin, size_t end, int thread)
{
    struct sched_ranges *r = ctx;

    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->list = realloc(r->list, r->cap * sizeof(*r->list));
    }
    r->list[r->n].begin = begin;
    r->list[r->n].end = end;
    r->n++;
    pthread_mutex_unlock(&r->lock);
}

static int sched_cmp_range(const void *a, const void *b)
{
    const struct sched_range *x = a, *y = b;

    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/*
 * Shares count 32-bit units, so a loop of more than 2^32 items hands out
 * units of several items.  The ranges must still tile [0, count).
 */
static void sched_check_huge(void)
{
    const size_t count = (size_t)5 << 32 | 12345;
    struct sched_ranges r = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
    struct nn_pool *pool;
    size_t next = 0;

    if (nn_pool_new(2, &pool) != 0) {
        SCHED_CHECK(false, "huge: nn_pool_new failed");
        return;
    }
    nn_pool_run(pool, count, sched_ranges_fn, &r);
    qsort(r.list, r.n, sizeof(*r.list), sched_cmp_range);
    for (size_t i = 0; i < r.n; i++) {
        SCHED_CHECK(r.list[i].begin == next && r.list[i].end > next,
                    "huge: range %zu is [%zu, %zu), expected it to start at "
                    "%zu", i, r.list[i].begin, r.list[i].end, next);
        next = r.list[i].end;
    }
    SCHED_CHECK(next == count, "huge: ranges end at %zu, expected %zu", next,
                count);
    free(r.list);
    nn_pool_free(pool);
}

/* ---- many short loops ---- */

struct sched_tagged {
    int loop;
    atomic_int *seen;           /* per item: loop that last ran it */
    atomic_int wrong;
};

static void sched_tagged_fn(void *ctx, size_t begin, size_t end, int thread)
{
    struct sched_tagged *t = ctx;

    for (size_t i = begin; i < end; i++)
        if (atomic_exchange(&t->seen[i], t->loop) != t->loop - 1)
            atomic_fetch_add(&t->wrong, 1);
}

/*
 * Loops of 1 to 7 items back to back: a worker that arrives after a loop
 * ended may only run items of the loop that is running at that time.
 * Each item records the loop that ran it, so an item run twice, skipped
 * or run with an old context shows up as a wrong predecessor.
 */
static void sched_check_back_to_back(void)
{
    enum { LOOPS = 20000, ITEMS = 7 };
    atomic_int seen[ITEMS];
    struct nn_pool *pool;
    int wrong = 0;

    if (nn_pool_new(3, &pool) != 0) {
        SCHED_CHECK(false, "back to back: nn_pool_new failed");
        return;
    }
    for (int i = 0; i < ITEMS; i++)
        atomic_init(&seen[i], 0);
    for (int loop = 1; loop <= LOOPS; loop++) {
        /* A fresh context per loop, as the kernels put theirs on the
         * stack. */
        struct sched_tagged t = {.loop = loop, .seen = seen};
        size_t count = 1 + (size_t)loop % ITEMS;

        atomic_init(&t.wrong, 0);
        nn_pool_run(pool, count, sched_tagged_fn, &t);
        wrong += atomic_load(&t.wrong);
        /* Items outside this loop keep their number for the next one. */
        for (size_t i = count; i < ITEMS; i++)
            atomic_store(&seen[i], loop);
    }
    SCHED_CHECK(wrong == 0, "back to back: %d items ran in the wrong loop "
                "or not exactly once", wrong);
    nn_pool_free(pool);
}

static void sched_check_limits(void)
{
    struct nn_pool *pool = NULL;

    SCHED_CHECK(nn_pool_new(NN_POOL_MAX_THREADS + 1, &pool) == -EINVAL &&
                    pool == NULL,
                "limits: %d threads were not rejected with -EINVAL",
                NN_POOL_MAX_THREADS + 1);
}

int main(void)
{
    sched_check_limits();
    sched_check_counts();
    sched_check_steal();
    sched_check_huge();
    sched_check_back_to_back();
    printf("thread pool scheduling checks, %d failed\n", sched_fails);
    return sched_fails ? 1 : 0;
}
