#include "nn/nn_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct nn_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t start_cv, done_cv;
    unsigned long generation;
    int pending;
    int stop;
    nn_pool_fn fn;
    void *ctx;
    size_t count;
};

struct nn_pool_worker {
    struct nn_pool *pool;
    int index;
};

static void nn_pool_range(const struct nn_pool *p, int index, size_t *begin,
                          size_t *end)
{
    size_t chunk = p->count / (size_t)p->threads;
    size_t extra = p->count % (size_t)p->threads;
    size_t i = (size_t)index;

    *begin = i * chunk + (i < extra ? i : extra);
    *end = *begin + chunk + (i < extra ? 1 : 0);
}

static void *nn_pool_main(void *arg)
{
    struct nn_pool_worker *w = arg;
    struct nn_pool *p = w->pool;
    unsigned long seen = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->start_cv, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);

        size_t begin, end;
        nn_pool_range(p, w->index, &begin, &end);
        if (begin < end)
            p->fn(p->ctx, begin, end);

        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->lock);
    free(w);
    return NULL;
}

int nn_pool_new(int threads, struct nn_pool **out)
{
    struct nn_pool *p;

    *out = NULL;
    if (threads < 1)
        threads = 1;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->threads = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->workers = calloc((size_t)threads, sizeof(pthread_t));
    if (!p->workers)
        goto fail;
    for (int i = 1; i < threads; i++) {
        struct nn_pool_worker *w = malloc(sizeof(*w));

        if (!w)
            goto fail;
        w->pool = p;
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
    p->stop = 1;
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->threads; i++)
        if (p->workers && p->workers[i])
            pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->workers);
    free(p);
}

int nn_pool_threads(const struct nn_pool *p)
{
    return p ? p->threads : 1;
}

void nn_pool_run(struct nn_pool *p, size_t count, nn_pool_fn fn, void *ctx)
{
    if (count == 0)
        return;
    if (!p || p->threads == 1 || count == 1) {
        fn(ctx, 0, count);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->count = count;
    p->pending = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->lock);

    size_t begin, end;
    nn_pool_range(p, 0, &begin, &end);
    if (begin < end)
        fn(ctx, begin, end);

    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done_cv, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

size_t nn_pool_slot(const struct nn_pool *p, size_t begin, size_t count)
{
    size_t threads = (size_t)nn_pool_threads(p), slot;

    if (count == 0 || threads == 1)
        return 0;
    /* Inverse of nn_pool_range: begin_i = i * chunk + min(i, extra). */
    slot = begin * threads / count;
    return slot < threads ? slot : threads - 1;
}
