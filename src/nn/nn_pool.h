/* Fixed-size thread pool running one parallel loop at a time. */
#ifndef VMS_NN_POOL_H
#define VMS_NN_POOL_H

#include <stddef.h>

struct nn_pool;

/* Body of a parallel loop: handles items [begin, end). */
typedef void (*nn_pool_fn)(void *ctx, size_t begin, size_t end);

/* Create a pool running loops on threads threads (the caller included). */
int nn_pool_new(int threads, struct nn_pool **out);
void nn_pool_free(struct nn_pool *pool);
int nn_pool_threads(const struct nn_pool *pool);

/*
 * Split [0, count) into one contiguous range per thread and run fn on each;
 * returns when all ranges are done.  pool may be NULL (runs inline).
 */
void nn_pool_run(struct nn_pool *pool, size_t count, nn_pool_fn fn,
                 void *ctx);

/*
 * Index (0 .. threads-1) of the thread that nn_pool_run gives the range
 * starting at begin of count items; used to pick per-thread scratch.
 */
size_t nn_pool_slot(const struct nn_pool *pool, size_t begin, size_t count);

#endif
