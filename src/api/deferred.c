/*
 * Deferred responses: worker threads for blocking work and an
 * event-loop timer per parked request. See deferred.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "api/deferred.h"

struct api_deferred {
    lws_sorted_usec_list_t sul; /* event-loop thread only */
    struct lws_context *ctx;
    api_conn_t *conn;           /* valid while the sentinel is lent */
    vms_buf_t *sentinel;
    api_deferred_work_fn work;
    api_deferred_done_fn done;
    void *arg;
    int finished;               /* atomic; set by the worker at the end */
    lws_usec_t delay_us;        /* next check; doubles up to the poll */
    api_deferred_t *next;       /* in queue, under its lock */
};

void api_deferred_queue_init(api_deferred_queue_t *queue)
{
    pthread_mutex_init(&queue->lock, NULL);
    queue->head = NULL;
    queue->tail = NULL;
    queue->running = 0;
}

/* Runs one job's work and marks it finished. The event loop may free
 * the job as soon as the flag is set. */
static void api_deferred_run(api_deferred_t *job)
{
    job->work(job->arg);
    __atomic_store_n(&job->finished, 1, __ATOMIC_RELEASE);
}

static void *api_deferred_thread(void *arg)
{
    api_deferred_run(arg);
    return NULL;
}

/* Serves a queue until it is empty. */
static void *api_deferred_queue_thread(void *arg)
{
    api_deferred_queue_t *queue = arg;

    for (;;) {
        api_deferred_t *job;

        pthread_mutex_lock(&queue->lock);
        job = queue->head;
        if (!job) {
            queue->running = 0;
            pthread_mutex_unlock(&queue->lock);
            return NULL;
        }
        queue->head = job->next;
        if (!queue->head)
            queue->tail = NULL;
        pthread_mutex_unlock(&queue->lock);
        api_deferred_run(job);
    }
}

/* Starts a detached thread running fn(arg). Returns 0 or -errno. */
static int api_deferred_spawn(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t thread;
    int rc;

    rc = pthread_attr_init(&attr);
    if (rc != 0)
        return -rc;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&thread, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return -rc;
}

/* Appends job to queue and starts the queue's thread if none runs. */
static int api_deferred_enqueue(api_deferred_queue_t *queue,
                                api_deferred_t *job)
{
    int rc = 0;

    pthread_mutex_lock(&queue->lock);
    if (queue->tail)
        queue->tail->next = job;
    else
        queue->head = job;
    queue->tail = job;
    if (!queue->running) {
        rc = api_deferred_spawn(api_deferred_queue_thread, queue);
        if (rc == 0) {
            queue->running = 1;
        } else {
            /* No thread serves the queue, so job is its only entry. */
            queue->head = NULL;
            queue->tail = NULL;
        }
    }
    pthread_mutex_unlock(&queue->lock);
    return rc;
}

/* Timer: responds when the work is done, else checks again later. */
static void api_deferred_tick(lws_sorted_usec_list_t *sul)
{
    api_deferred_t *job = lws_container_of(sul, api_deferred_t, sul);
    api_conn_t *c = job->conn;
    int rc;

    if (!__atomic_load_n(&job->finished, __ATOMIC_ACQUIRE)) {
        job->delay_us *= 2;
        if (job->delay_us > API_DEFERRED_POLL_US)
            job->delay_us = API_DEFERRED_POLL_US;
        lws_sul_schedule(job->ctx, 0, &job->sul, api_deferred_tick,
                         job->delay_us);
        return;
    }
    if (__atomic_load_n(&job->sentinel->refs, __ATOMIC_ACQUIRE) == 1) {
        c = NULL; /* the connection closed and dropped its reference */
    } else {
        vms_buf_unref(c->resp); /* the sentinel's loan */
        c->resp = NULL;
    }
    rc = job->done(c, job->arg);
    if (c && rc < 0)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT,
                        LWS_TO_KILL_ASYNC);
    vms_buf_unref(job->sentinel);
    free(job);
}

int api_deferred_busy(const api_conn_t *c)
{
    /* A new request starts with c->resp NULL, and only a parked request
     * holds a buffer without sending it. */
    return c->resp != NULL && !c->sending;
}

int api_deferred_start(api_conn_t *c, api_deferred_queue_t *queue,
                       api_deferred_work_fn work, api_deferred_done_fn done,
                       void *arg)
{
    api_deferred_t *job = calloc(1, sizeof(*job));
    int rc;

    if (!job)
        return -ENOMEM;
    job->sentinel = vms_buf_new(NULL, 0);
    if (!job->sentinel) {
        free(job);
        return -ENOMEM;
    }
    job->ctx = c->srv->ctx;
    job->conn = c;
    job->work = work;
    job->done = done;
    job->arg = arg;
    if (queue)
        rc = api_deferred_enqueue(queue, job);
    else
        rc = api_deferred_spawn(api_deferred_thread, job);
    if (rc < 0) {
        vms_buf_unref(job->sentinel);
        free(job);
        return rc;
    }
    vms_buf_unref(c->resp);
    c->resp = vms_buf_ref(job->sentinel);
    /* Quick work (a login rejected by the throttle) answers within a
     * millisecond or two; slow work costs a check every poll interval. */
    job->delay_us = API_DEFERRED_FIRST_POLL_US;
    lws_sul_schedule(job->ctx, 0, &job->sul, api_deferred_tick,
                     job->delay_us);
    return 0;
}
