/*
 * The events thread: ONVIF pull-point subscriptions of the adopted
 * cameras, and the events they deliver stored on each camera's
 * timeline.
 *
 * One thread serves every camera in turn, so each camera request has a
 * short time limit: in each attempt, a camera that does not answer
 * delays the others until its first request times out
 * (EVENTS_HTTP_TIMEOUT_MS, plus the wait for a pull), and its attempts
 * are spaced by the backoff. The camera list is read from the catalog every
 * EVENTS_SYNC_INTERVAL_MS, so adopted, changed, disabled and deleted
 * cameras are picked up without a call from the API.
 */
#include "vmsd/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "onvif/onvif.h"

/* Time between two pulls of a working subscription. */
#define EVENTS_PULL_INTERVAL_MS 2000
/* How long the camera may hold a PullMessages request open waiting
 * for the first event. */
#define EVENTS_PULL_WAIT_S 1
/* Time limit of each HTTP request to a camera (PullMessages adds its
 * wait). */
#define EVENTS_HTTP_TIMEOUT_MS 3000
/* The camera drops the subscription this long after the last pull. */
#define EVENTS_TERMINATION_S 60
/* Events per pull; a full pull is followed by another at once. */
#define EVENTS_MAX_MESSAGES 64
/* Backoff after a failure: doubled from the minimum up to the maximum. */
#define EVENTS_BACKOFF_MIN_MS 1000
#define EVENTS_BACKOFF_MAX_MS 60000
/* How often the camera list is read from the catalog. */
#define EVENTS_SYNC_INTERVAL_MS 2000
/* An event time further than this from ours, after the clock offset is
 * applied, means that the camera clock changed since it was measured.
 * Such an event is stored at the time it was received. */
#define EVENTS_MAX_SKEW_US (24LL * 3600 * 1000000)

typedef struct events_camera {
    int64_t id;
    char url[CATALOG_URL_MAX];
    char username[CATALOG_NAME_MAX];
    char password[CATALOG_NAME_MAX];
    onvif_client_t *client;
    onvif_subscription_t *sub;
    bool reconnect;        /* measure the camera clock before the next call */
    int64_t next_us;       /* monotonic time of the next request */
    int backoff_ms;        /* 0 while the subscription works */
    int failures;          /* consecutive failed requests */
    int64_t stored;        /* events stored since the daemon started */
    bool seen;             /* listed by the last catalog read */
    struct events_camera *next;
} events_camera_t;

struct vmsd_events {
    catalog_t *cat;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;   /* on CLOCK_MONOTONIC */
    bool stopping;         /* under lock */
    events_camera_t *cameras; /* events thread only */
};

static const char *events_kind_name(onvif_event_kind_t kind)
{
    switch (kind) {
    case ONVIF_EVENT_MOTION:
        return "motion";
    case ONVIF_EVENT_TAMPER:
        return "tamper";
    case ONVIF_EVENT_DIGITAL_INPUT:
        return "input";
    default:
        return "other";
    }
}

static bool events_stopping(vmsd_events_t *events)
{
    bool stopping;

    pthread_mutex_lock(&events->lock);
    stopping = events->stopping;
    pthread_mutex_unlock(&events->lock);
    return stopping;
}

/* Ends the camera's subscription when it still works, then frees the
 * client; the camera's settings stay. */
static void events_camera_close(events_camera_t *cam, bool unsubscribe)
{
    if (cam->sub && unsubscribe && cam->failures == 0) {
        onvif_err_t err;

        if (onvif_events_unsubscribe(cam->client, cam->sub, &err) < 0)
            vms_log(VMS_LOG_INFO, "onvif",
                    "camera=%lld event=events_unsubscribe_failed "
                    "error=\"%s\"",
                    (long long)cam->id, err.msg);
    }
    onvif_subscription_free(cam->sub);
    cam->sub = NULL;
    onvif_client_free(cam->client);
    cam->client = NULL;
}

static void events_camera_free(events_camera_t *cam)
{
    if (!cam)
        return;
    events_camera_close(cam, true);
    explicit_bzero(cam->password, sizeof(cam->password));
    free(cam);
}

/* Copies the camera's address and credentials; returns true when they
 * changed. */
static bool events_camera_set(events_camera_t *cam,
                              const catalog_camera_t *row)
{
    if (strcmp(cam->url, row->onvif_url) == 0 &&
        strcmp(cam->username, row->username) == 0 &&
        strcmp(cam->password, row->password) == 0)
        return false;
    snprintf(cam->url, sizeof(cam->url), "%s", row->onvif_url);
    snprintf(cam->username, sizeof(cam->username), "%s", row->username);
    explicit_bzero(cam->password, sizeof(cam->password));
    snprintf(cam->password, sizeof(cam->password), "%s", row->password);
    return true;
}

/* Reads the camera list and adds a state for each new camera that has
 * an ONVIF address and a user name. A camera whose address or
 * credentials changed gets a new client. Cameras that were deleted,
 * disabled or lost their address are dropped. */
static void events_sync(vmsd_events_t *events, int64_t now)
{
    catalog_camera_t *rows = NULL;
    size_t n = 0;
    int rc;

    rc = catalog_camera_list(events->cat, &rows, &n);
    if (rc < 0) {
        vms_log(VMS_LOG_WARN, "onvif",
                "event=events_camera_list_failed error=\"%s\"",
                strerror(-rc));
        return;
    }
    for (events_camera_t *c = events->cameras; c; c = c->next)
        c->seen = false;
    for (size_t i = 0; i < n; i++) {
        const catalog_camera_t *row = &rows[i];
        events_camera_t *cam = events->cameras;

        if (!row->enabled || !row->onvif_url[0] || !row->username[0])
            continue;
        while (cam && cam->id != row->id)
            cam = cam->next;
        if (!cam) {
            cam = calloc(1, sizeof(*cam));
            if (!cam)
                break;
            cam->id = row->id;
            cam->next_us = now;
            cam->next = events->cameras;
            events->cameras = cam;
        }
        cam->seen = true;
        if (events_camera_set(cam, row)) {
            /* NOTE: the old subscription is dropped without Unsubscribe,
             * because the old address or credentials may no longer
             * work; the camera ends it after EVENTS_TERMINATION_S. */
            events_camera_close(cam, false);
            cam->failures = 0;
            cam->backoff_ms = 0;
            cam->next_us = now;
        }
    }
    for (events_camera_t **p = &events->cameras; *p;) {
        events_camera_t *cam = *p;

        if (cam->seen) {
            p = &cam->next;
            continue;
        }
        *p = cam->next;
        vms_log(VMS_LOG_INFO, "onvif",
                "camera=%lld event=events_stopped stored=%lld",
                (long long)cam->id, (long long)cam->stored);
        events_camera_free(cam);
    }
    for (size_t i = 0; i < n; i++)
        explicit_bzero(rows[i].password, sizeof(rows[i].password));
    free(rows);
}

/* Converts an event's camera time to UTC microseconds on our clock. */
static int64_t events_time_us(const events_camera_t *cam, time_t camera_utc,
                              int64_t received_us)
{
    int64_t t;

    if (camera_utc <= 0)
        return received_us;
    t = ((int64_t)camera_utc - onvif_client_time_offset(cam->client)) *
        1000000;
    if (t < received_us - EVENTS_MAX_SKEW_US ||
        t > received_us + EVENTS_MAX_SKEW_US)
        return received_us;
    return t;
}

/* Stores the events of one pull; returns how many were stored. */
static size_t events_store(vmsd_events_t *events, events_camera_t *cam,
                           const onvif_event_t *evs, size_t n)
{
    int64_t received_us = vms_realtime_us();
    size_t stored = 0;

    for (size_t i = 0; i < n; i++) {
        catalog_event_t row = {0};
        int rc;

        row.camera_id = cam->id;
        row.time_us = events_time_us(cam, evs[i].utc_time, received_us);
        snprintf(row.kind, sizeof(row.kind), "%s",
                 events_kind_name(evs[i].kind));
        snprintf(row.topic, sizeof(row.topic), "%s",
                 evs[i].topic ? evs[i].topic : "");
        snprintf(row.source, sizeof(row.source), "%s",
                 evs[i].source ? evs[i].source : "");
        row.state = -1;
        if (evs[i].has_state)
            row.state = evs[i].state ? 1 : 0;
        snprintf(row.data, sizeof(row.data), "%s",
                 evs[i].property ? evs[i].property : "");
        rc = catalog_event_insert(events->cat, &row);
        if (rc < 0) {
            vms_log(VMS_LOG_WARN, "onvif",
                    "camera=%lld event=events_store_failed error=\"%s\"",
                    (long long)cam->id, strerror(-rc));
            continue;
        }
        stored++;
    }
    return stored;
}

/* Records a failed request: drops the subscription and schedules the
 * next attempt. The first failure after a working period retries at
 * once, because a subscription that the camera ended (for example
 * after a reboot) is replaced by the next subscribe. Later failures
 * back off exponentially, so a camera that keeps failing logs at most
 * one line per EVENTS_BACKOFF_MAX_MS. */
static void events_fail(events_camera_t *cam, const char *call, int rc,
                        const onvif_err_t *err, int64_t now)
{
    char url[CATALOG_URL_MAX];

    if (rc == -EACCES)
        cam->reconnect = true;
    onvif_subscription_free(cam->sub);
    cam->sub = NULL;
    cam->failures++;
    if (cam->failures == 1)
        cam->backoff_ms = 0;
    else if (cam->backoff_ms == 0)
        cam->backoff_ms = EVENTS_BACKOFF_MIN_MS;
    else if (cam->backoff_ms < EVENTS_BACKOFF_MAX_MS / 2)
        cam->backoff_ms *= 2;
    else
        cam->backoff_ms = EVENTS_BACKOFF_MAX_MS;
    cam->next_us = now + (int64_t)cam->backoff_ms * 1000;
    vms_log_redact_url(cam->url, url, sizeof(url));
    vms_log(VMS_LOG_WARN, "onvif",
            "camera=%lld address=%s event=events_%s_failed failures=%d "
            "retry_ms=%d error=\"%s\"",
            (long long)cam->id, url, call, cam->failures, cam->backoff_ms,
            err->msg);
}

/* Runs one step for a camera: creates the client, subscribes when
 * there is no subscription, then pulls and stores the events. */
static void events_step(vmsd_events_t *events, events_camera_t *cam)
{
    onvif_client_options_t opts = {.timeout_ms = EVENTS_HTTP_TIMEOUT_MS};
    onvif_credentials_t cred = {cam->username, cam->password};
    onvif_event_t *evs = NULL;
    onvif_err_t err = {{0}};
    size_t n = 0;
    int rc;

    if (!cam->client) {
        rc = onvif_client_new(cam->url, &cred, &opts, &cam->client, &err);
        if (rc < 0) {
            events_fail(cam, "client", rc, &err, vms_monotonic_us());
            return;
        }
    }
    if (cam->reconnect) {
        rc = onvif_client_connect(cam->client, &err);
        if (rc < 0) {
            events_fail(cam, "connect", rc, &err, vms_monotonic_us());
            return;
        }
        cam->reconnect = false;
    }
    if (!cam->sub) {
        char url[CATALOG_URL_MAX];

        rc = onvif_events_subscribe(cam->client, EVENTS_TERMINATION_S,
                                    &cam->sub, &err);
        if (rc < 0) {
            events_fail(cam, "subscribe", rc, &err, vms_monotonic_us());
            return;
        }
        vms_log_redact_url(cam->url, url, sizeof(url));
        vms_log(VMS_LOG_INFO, "onvif",
                "camera=%lld address=%s event=%s failures=%d",
                (long long)cam->id, url,
                cam->failures ? "events_resubscribed" : "events_subscribed",
                cam->failures);
    }
    rc = onvif_events_pull(cam->client, cam->sub, EVENTS_PULL_WAIT_S,
                           EVENTS_MAX_MESSAGES, &evs, &n, &err);
    if (rc < 0) {
        events_fail(cam, "pull", rc, &err, vms_monotonic_us());
        return;
    }
    cam->stored += (int64_t)events_store(events, cam, evs, n);
    onvif_events_free(evs, n);
    cam->failures = 0;
    cam->backoff_ms = 0;
    cam->next_us = vms_monotonic_us();
    if (n < EVENTS_MAX_MESSAGES)
        cam->next_us += (int64_t)EVENTS_PULL_INTERVAL_MS * 1000;
}

/* Waits on the condition variable until deadline_us (monotonic) or a
 * stop request. */
static void events_wait(vmsd_events_t *events, int64_t deadline_us)
{
    struct timespec ts = {
        .tv_sec = deadline_us / 1000000,
        .tv_nsec = (deadline_us % 1000000) * 1000,
    };

    pthread_mutex_lock(&events->lock);
    while (!events->stopping && vms_monotonic_us() < deadline_us)
        if (pthread_cond_timedwait(&events->wake, &events->lock, &ts) ==
            ETIMEDOUT)
            break;
    pthread_mutex_unlock(&events->lock);
}

static void *events_main(void *arg)
{
    vmsd_events_t *events = arg;
    int64_t next_sync = 0;

    while (!events_stopping(events)) {
        int64_t now = vms_monotonic_us();
        int64_t deadline;

        if (now >= next_sync) {
            events_sync(events, now);
            next_sync = now + (int64_t)EVENTS_SYNC_INTERVAL_MS * 1000;
        }
        for (events_camera_t *cam = events->cameras; cam; cam = cam->next) {
            if (events_stopping(events))
                break;
            if (cam->next_us <= vms_monotonic_us())
                events_step(events, cam);
        }
        deadline = next_sync;
        for (events_camera_t *cam = events->cameras; cam; cam = cam->next)
            if (cam->next_us < deadline)
                deadline = cam->next_us;
        events_wait(events, deadline);
    }
    while (events->cameras) {
        events_camera_t *cam = events->cameras;

        events->cameras = cam->next;
        events_camera_free(cam);
    }
    return NULL;
}

int vmsd_events_start(catalog_t *cat, vmsd_events_t **out)
{
    vmsd_events_t *events = calloc(1, sizeof(*events));
    pthread_condattr_t attr;
    int rc;

    *out = NULL;
    if (!events)
        return -ENOMEM;
    events->cat = cat;
    pthread_mutex_init(&events->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&events->wake, &attr);
    pthread_condattr_destroy(&attr);
    rc = pthread_create(&events->thread, NULL, events_main, events);
    if (rc != 0) {
        pthread_cond_destroy(&events->wake);
        pthread_mutex_destroy(&events->lock);
        free(events);
        return -rc;
    }
    vms_log(VMS_LOG_INFO, "onvif", "event=events_thread_started "
            "pull_interval_ms=%d", EVENTS_PULL_INTERVAL_MS);
    *out = events;
    return 0;
}

void vmsd_events_stop(vmsd_events_t *events)
{
    if (!events)
        return;
    pthread_mutex_lock(&events->lock);
    events->stopping = true;
    pthread_cond_signal(&events->wake);
    pthread_mutex_unlock(&events->lock);
    pthread_join(events->thread, NULL);
    pthread_cond_destroy(&events->wake);
    pthread_mutex_destroy(&events->lock);
    free(events);
    vms_log(VMS_LOG_INFO, "onvif", "event=events_thread_stopped");
}
