/*
 * Deferred responses: a request whose work blocks for seconds (ONVIF
 * calls that wait on a camera) runs that work on a worker thread while
 * its connection stays parked on the event loop. A timer on the event
 * loop checks every API_DEFERRED_POLL_US whether the work is done and
 * then lets the request respond.
 *
 * A parked connection lends c->resp a reference to a sentinel buffer,
 * as hls.c does: server.c drops c->resp when the connection closes, so
 * a sentinel with one reference left means the client went away, and
 * the connection is not touched again.
 */
#ifndef VMS_API_DEFERRED_H
#define VMS_API_DEFERRED_H

#include <pthread.h>

#include "api/internal.h"

/* The event-loop timer checks for finished work first after
 * API_DEFERRED_FIRST_POLL_US, then at doubling intervals up to
 * API_DEFERRED_POLL_US. */
#define API_DEFERRED_FIRST_POLL_US 500
#define API_DEFERRED_POLL_US 50000

typedef struct api_deferred api_deferred_t;

/* Jobs that must run one at a time and in order of arrival, such as the
 * calls to one camera. A queue is never freed while a job is queued or
 * running, so the owner keeps it for the life of the process. */
typedef struct api_deferred_queue {
    pthread_mutex_t lock;
    api_deferred_t *head; /* under lock */
    api_deferred_t *tail; /* under lock */
    int running;          /* under lock: a worker thread serves the queue */
} api_deferred_queue_t;

/* Runs on a worker thread. It touches only arg: never libwebsockets,
 * the connection or the server. */
typedef void (*api_deferred_work_fn)(void *arg);

/* Runs on the event-loop thread after the work. c is NULL when the
 * client closed the connection first. It responds when c is set, frees
 * arg in every case, and returns what api_respond() returns. */
typedef int (*api_deferred_done_fn)(api_conn_t *c, void *arg);

void api_deferred_queue_init(api_deferred_queue_t *queue);

/* Returns 1 if c is parked on deferred work (or another parked
 * request), else 0. NOTE: server.c dispatches a POST with
 * "Content-Length: 0" a second time on LWS_CALLBACK_HTTP_BODY_COMPLETION;
 * handlers that park call this first and ignore that second dispatch. */
int api_deferred_busy(const api_conn_t *c);

/*
 * Parks c and runs work(arg) on a worker thread: a new thread when queue
 * is NULL, else the queue's thread. Called on the event-loop thread.
 * Returns 0, after which done(c or NULL, arg) is called once (unless the
 * server stops first, see below), or a negative errno when nothing was
 * started and arg is still the caller's.
 *
 * NOTE: when the server stops before the work ends, done is never
 * called and the job and arg are not freed (the process is exiting).
 */
int api_deferred_start(api_conn_t *c, api_deferred_queue_t *queue,
                       api_deferred_work_fn work, api_deferred_done_fn done,
                       void *arg);

#endif
