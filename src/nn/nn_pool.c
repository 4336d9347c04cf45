#include "nn/nn_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/*
 * Maximum pause instructions a thread spins on the pool state before it
 * sleeps on a condition variable: about 100 microseconds at the 140
 * cycles per pause of recent Intel cores, less on CPUs with shorter
 * pauses.  One centernet inference runs 70 parallel loops with short
 * gaps.  On the 2-core development VM, a loop of 1 microsecond per thread
 * took about 15 microseconds with a futex wake-up and about 1.3 with
 * spinning, so spinning saves an estimated 1 ms per inference on 2
 * threads.  Idle pools sleep.
 *
 * When other processes keep the cores busy, the thread that is awaited
 * is often not running (it may even wait for the spinning thread's
 * core), and spinning only burns the time slice.  So each thread halves
 * its budget, down to NN_POOL_SPIN_MIN, after every wait that ended
 * asleep, and returns to the maximum after a wait that spinning ended.
 * With both threads on one core, centernet took 43.8 ms per inference
 * with a fixed 2000 and 42.4 ms with almost no spinning (1 thread: 42.3).
 */
#define NN_POOL_SPIN_MAX 2000
#define NN_POOL_SPIN_MIN 16

/*
 * Claims from a thread's own share take about 1/16 of the share, so a
 * descheduled thread holds back at most that much of a loop while the
 * atomic operations stay rare for loops of many small items.
 */
#define NN_POOL_CLAIMS_PER_SHARE 16

/*
 * Loops run on the caller alone while every worker was last seen on the
 * caller's CPU, up to one in NN_POOL_RECHECK, which wakes the workers so
 * that the kernel can place them elsewhere.  The kernel puts a woken
 * worker on the caller's CPU when the other CPUs are busy, and threads
 * that share a CPU only add context switches.  With both threads of
 * centernet forced onto one CPU, a run took 40.1 to 40.5 ms with this
 * check, 40.9 to 41.7 ms without it, and 39.1 to 39.9 ms on one thread.
 */
#define NN_POOL_RECHECK 8

/*
 * The share of one thread: next unit (low 32 bits) and end (high 32 bits).
 * Its owner takes units from the front and other threads take the back
 * half, both with a compare-and-swap of the whole word.  On its own cache
 * line so that owners do not slow each other down.
 */
struct nn_pool_share {
    _Alignas(64) atomic_uint_least64_t span;
    atomic_int cpu;             /* CPU the worker last ran a loop on */
};

struct nn_pool {
    int threads;
    pthread_t *workers;
    struct nn_pool_share *shares;
    pthread_mutex_t lock;
    pthread_cond_t start_cv, done_cv;
    /* Changed under lock, also read without it while spinning. */
    atomic_uint generation;
    /* Units of the current loop not yet done; the caller waits for 0. */
    _Alignas(64) atomic_size_t remaining;
    atomic_int stop;
    int spin;                   /* budget of the thread in nn_pool_run */
    unsigned loop_count;        /* loops started, for NN_POOL_RECHECK */
    /*
     * The loop.  nn_pool_run writes these fields, then publishes the
     * shares with release stores.  A thread reads them only after it
     * claimed units, which keeps the loop from ending, so it never reads
     * the fields of another loop.
     */
    nn_pool_fn fn;
    void *ctx;
    size_t count;
    size_t unit;                /* items per unit of a share */
    /* Units per claim from the own share.  Atomic because a thread reads
     * it before its claim succeeds, when it may belong to another loop. */
    atomic_uint grain;
    /* Totals for nn_pool_stats. */
    atomic_ulong loops, steals, alone_loops;
    atomic_ullong wait_ns;
};

static inline void nn_pool_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Spin budget after a wait; see NN_POOL_SPIN_MAX. */
static inline int nn_pool_next_spin(int spin, bool slept)
{
    if (!slept)
        return NN_POOL_SPIN_MAX;
    return spin / 2 > NN_POOL_SPIN_MIN ? spin / 2 : NN_POOL_SPIN_MIN;
}

static inline uint64_t nn_pool_span(uint32_t next, uint32_t end)
{
    return (uint64_t)end << 32 | next;
}

static inline uint32_t nn_pool_left(uint64_t span)
{
    uint32_t next = (uint32_t)span, end = (uint32_t)(span >> 32);

    return next < end ? end - next : 0;
}

/* Take up to grain units from the front of thread self's own share. */
static bool nn_pool_claim(struct nn_pool *p, int self, uint32_t *lo,
                          uint32_t *hi)
{
    atomic_uint_least64_t *span = &p->shares[self].span;
    uint64_t s = atomic_load_explicit(span, memory_order_acquire);

    for (;;) {
        uint32_t next = (uint32_t)s, end = (uint32_t)(s >> 32);
        uint32_t left = nn_pool_left(s);
        uint32_t grain = atomic_load_explicit(&p->grain,
                                              memory_order_relaxed);

        if (left == 0)
            return false;
        /* grain may belong to a newer loop than s, so bound it by left. */
        uint32_t take = left < grain ? left : grain;

        if (atomic_compare_exchange_weak_explicit(
                span, &s, nn_pool_span(next + take, end),
                memory_order_acquire, memory_order_acquire)) {
            *lo = next;
            *hi = next + take;
            return true;
        }
    }
}

/*
 * Take the back half of the largest share of another thread.  Thread
 * self keeps the first grain of it to run at once and publishes the rest
 * as its own share.  If that share is no longer empty because a new loop
 * gave it units, self runs all of the stolen units itself.  Returns false
 * when every share is empty.
 */
static bool nn_pool_steal(struct nn_pool *p, int self, uint32_t *lo,
                          uint32_t *hi)
{
    for (;;) {
        uint64_t best_span = 0;
        uint32_t best = 0;
        int victim = -1;

        for (int i = 0; i < p->threads; i++) {
            uint64_t s;

            if (i == self)
                continue;
            s = atomic_load_explicit(&p->shares[i].span,
                                     memory_order_acquire);
            if (nn_pool_left(s) > best) {
                best = nn_pool_left(s);
                best_span = s;
                victim = i;
            }
        }
        if (victim < 0)
            return false;

        uint32_t next = (uint32_t)best_span;
        uint32_t end = (uint32_t)(best_span >> 32);
        uint32_t mid = next + (end - next) / 2;

        if (!atomic_compare_exchange_strong_explicit(
                &p->shares[victim].span, &best_span,
                nn_pool_span(next, mid), memory_order_acquire,
                memory_order_relaxed))
            continue;
        atomic_fetch_add_explicit(&p->steals, 1, memory_order_relaxed);

        atomic_uint_least64_t *own = &p->shares[self].span;
        uint64_t s = atomic_load_explicit(own, memory_order_relaxed);
        uint32_t grain = atomic_load_explicit(&p->grain,
                                              memory_order_relaxed);
        uint32_t take = end - mid < grain ? end - mid : grain;

        *lo = mid;
        *hi = end;
        if (take < end - mid && nn_pool_left(s) == 0 &&
            atomic_compare_exchange_strong_explicit(
                own, &s, nn_pool_span(mid + take, end),
                memory_order_release, memory_order_relaxed))
            *hi = mid + take;
        return true;
    }
}

/*
 * Run units on thread self until every share is empty; returns how many
 * it ran.  Any thread may call this at any time: claims succeed only on
 * units of the loop that is running.
 */
static size_t nn_pool_work(struct nn_pool *p, int self)
{
    uint32_t lo, hi;
    size_t ran = 0;

    while (nn_pool_claim(p, self, &lo, &hi) ||
           nn_pool_steal(p, self, &lo, &hi)) {
        size_t begin = (size_t)lo * p->unit, end = (size_t)hi * p->unit;

        p->fn(p->ctx, begin, end < p->count ? end : p->count, self);
        ran += hi - lo;
        /* The thread that finishes the loop wakes the caller. */
        if (atomic_fetch_sub_explicit(&p->remaining, hi - lo,
                                      memory_order_acq_rel) == hi - lo &&
            self != 0) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->lock);
        }
    }
    return ran;
}

struct nn_pool_worker {
    struct nn_pool *p;
    int index;
};

static void *nn_pool_main(void *arg)
{
    struct nn_pool_worker *w = arg;
    struct nn_pool *p = w->p;
    unsigned seen = 0;
    int spin = NN_POOL_SPIN_MAX;

    for (;;) {
        bool slept = true;

        for (int i = 0; i < spin; i++) {
            if (atomic_load_explicit(&p->generation, memory_order_acquire) !=
                    seen ||
                atomic_load_explicit(&p->stop, memory_order_relaxed)) {
                slept = false;
                break;
            }
            nn_pool_pause();
        }
        spin = nn_pool_next_spin(spin, slept);
        pthread_mutex_lock(&p->lock);
        while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen)
            pthread_cond_wait(&p->start_cv, &p->lock);
        pthread_mutex_unlock(&p->lock);
        if (atomic_load(&p->stop))
            break;
        /* Loops that ended while this thread was away leave nothing to
         * claim, so the thread only looks at the newest one. */
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        atomic_store_explicit(&p->shares[w->index].cpu, sched_getcpu(),
                              memory_order_relaxed);
        nn_pool_work(p, w->index);
    }
    free(w);
    return NULL;
}

int nn_pool_new(int threads, struct nn_pool **out)
{
    struct nn_pool *p;

    *out = NULL;
    if (threads < 1)
        threads = 1;
    if (threads > NN_POOL_MAX_THREADS)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->threads = threads;
    p->spin = NN_POOL_SPIN_MAX;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->workers = calloc((size_t)threads, sizeof(pthread_t));
    p->shares = aligned_alloc(_Alignof(struct nn_pool_share),
                              (size_t)threads * sizeof(*p->shares));
    if (!p->workers || !p->shares) {
        p->threads = 1;
        goto fail;
    }
    for (int i = 0; i < threads; i++) {
        atomic_init(&p->shares[i].span, 0);
        atomic_init(&p->shares[i].cpu, -1);
    }
    for (int i = 1; i < threads; i++) {
        struct nn_pool_worker *w = malloc(sizeof(*w));

        if (!w) {
            p->threads = i;
            goto fail;
        }
        w->p = p;
        w->index = i;
        if (pthread_create(&p->workers[i], NULL, nn_pool_main, w) != 0) {
            free(w);
            p->threads = i;
            goto fail;
        }
    }
    *out = p;
    return 0;

fail:
    nn_pool_free(p);
    return -ENOMEM;
}

void nn_pool_free(struct nn_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->threads; i++)
        if (p->workers && p->workers[i])
            pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->workers);
    free(p->shares);
    free(p);
}

int nn_pool_threads(const struct nn_pool *p)
{
    return p ? p->threads : 1;
}

static uint64_t nn_pool_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wait until the units that workers still run are done. */
static void nn_pool_wait(struct nn_pool *p)
{
    uint64_t t0 = nn_pool_now_ns();

    for (int i = 0; i < p->spin; i++) {
        if (atomic_load_explicit(&p->remaining, memory_order_acquire) == 0) {
            p->spin = nn_pool_next_spin(p->spin, false);
            goto done;
        }
        nn_pool_pause();
    }
    p->spin = nn_pool_next_spin(p->spin, true);
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->remaining) != 0)
        pthread_cond_wait(&p->done_cv, &p->lock);
    pthread_mutex_unlock(&p->lock);
done:
    atomic_fetch_add_explicit(&p->wait_ns, nn_pool_now_ns() - t0,
                              memory_order_relaxed);
}

/* Whether every worker was last seen on the caller's CPU; see
 * NN_POOL_RECHECK. */
static bool nn_pool_colocated(struct nn_pool *p)
{
    int cpu;

    if (++p->loop_count % NN_POOL_RECHECK == 0)
        return false;
    cpu = sched_getcpu();
    if (cpu < 0)
        return false;
    for (int i = 1; i < p->threads; i++)
        if (atomic_load_explicit(&p->shares[i].cpu, memory_order_relaxed) !=
            cpu)
            return false;
    return true;
}

void nn_pool_run(struct nn_pool *p, size_t count, nn_pool_fn fn, void *ctx)
{
    size_t units, chunk, extra, grain;

    if (count == 0)
        return;
    if (!p || p->threads == 1 || count == 1) {
        fn(ctx, 0, count, 0);
        return;
    }
    if (nn_pool_colocated(p)) {
        fn(ctx, 0, count, 0);
        atomic_fetch_add_explicit(&p->loops, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->alone_loops, 1, memory_order_relaxed);
        return;
    }
    /* Shares count units of items in 32 bits. */
    p->unit = count / UINT32_MAX + 1;
    units = (count + p->unit - 1) / p->unit;
    p->fn = fn;
    p->ctx = ctx;
    p->count = count;
    grain = units / ((size_t)p->threads * NN_POOL_CLAIMS_PER_SHARE);
    atomic_store_explicit(&p->grain, grain > 0 ? (unsigned)grain : 1,
                          memory_order_relaxed);
    atomic_store_explicit(&p->remaining, units, memory_order_relaxed);
    chunk = units / (size_t)p->threads;
    extra = units % (size_t)p->threads;
    /* Each release store publishes the loop fields above with its share. */
    for (int i = 0; i < p->threads; i++) {
        size_t t = (size_t)i;
        size_t begin = t * chunk + (t < extra ? t : extra);
        size_t end = begin + chunk + (t < extra ? 1 : 0);

        atomic_store_explicit(&p->shares[i].span,
                              nn_pool_span((uint32_t)begin, (uint32_t)end),
                              memory_order_release);
    }
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->lock);

    if (nn_pool_work(p, 0) == units)
        atomic_fetch_add_explicit(&p->alone_loops, 1, memory_order_relaxed);
    if (atomic_load_explicit(&p->remaining, memory_order_acquire) != 0)
        nn_pool_wait(p);
    atomic_fetch_add_explicit(&p->loops, 1, memory_order_relaxed);
}

void nn_pool_stats(struct nn_pool *p, struct nn_pool_stats *out, bool reset)
{
    struct nn_pool_stats s = {0};

    if (p) {
        s.loops = atomic_load(&p->loops);
        s.steals = atomic_load(&p->steals);
        s.alone = atomic_load(&p->alone_loops);
        s.wait_ms = (double)atomic_load(&p->wait_ns) / 1e6;
        if (reset) {
            atomic_store(&p->loops, 0);
            atomic_store(&p->steals, 0);
            atomic_store(&p->alone_loops, 0);
            atomic_store(&p->wait_ns, 0);
        }
    }
    *out = s;
}
