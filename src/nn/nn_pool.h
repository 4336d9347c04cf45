/* Fixed-size thread pool running one parallel loop at a time. */
#ifndef VMS_NN_POOL_H
#define VMS_NN_POOL_H

#include <stdbool.h>
#include <stddef.h>

struct nn_pool;

/*
 * Maximum thread count of a pool.  Kernels keep small per-thread state in
 * arrays of this size.
 */
#define NN_POOL_MAX_THREADS 64

/*
 * Body of a parallel loop: handles items [begin, end) on pool thread
 * thread (0 .. threads-1), which indexes per-thread scratch.
 */
typedef void (*nn_pool_fn)(void *ctx, size_t begin, size_t end, int thread);

/*
 * Create a pool running loops on threads threads (the caller included).
 * Returns -EINVAL for more than NN_POOL_MAX_THREADS threads.
 */
int nn_pool_new(int threads, struct nn_pool **out);
void nn_pool_free(struct nn_pool *pool);
int nn_pool_threads(const struct nn_pool *pool);

/*
 * Run fn over [0, count) and return when every item is done.  pool may be
 * NULL (runs inline on thread 0).  fn runs on the calling thread as
 * thread 0 and on the pool's workers.
 *
 * Scheduling is dynamic: each thread starts on its own contiguous share
 * and takes a few items at a time from its front.  A thread that runs out
 * takes the back half of the largest share left.  So a thread that starts
 * late or is descheduled holds back the loop only by the items it has
 * already taken, and a worker that starts after every item was taken
 * skips the loop.  A thread gets consecutive items in increasing order
 * until it takes over part of another share.  While every worker was
 * last seen on the caller's CPU, most loops run on the caller alone.
 */
void nn_pool_run(struct nn_pool *pool, size_t count, nn_pool_fn fn,
                 void *ctx);

/* Scheduling totals of a pool since it started or was last reset. */
struct nn_pool_stats {
    unsigned long loops;        /* loops run on more than one thread */
    unsigned long steals;       /* shares split by a thread that ran out */
    unsigned long alone;        /* loops that the caller ran alone */
    double wait_ms;             /* caller waiting for workers' last items */
};

/* Copy the totals of pool (zeros for NULL) to out; reset them if asked. */
void nn_pool_stats(struct nn_pool *pool, struct nn_pool_stats *out,
                   bool reset);

#endif
