/* Live client queues; see live.h. */
#include "live/live.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

/* A queue entry: one fragment reference. */
typedef struct live_entry {
    hub_fragment_t *frag;
    struct live_entry *next;
} live_entry_t;

struct live_client {
    hub_t *hub;
    hub_subscription_t *sub;
    live_wake_fn wake;
    void *wake_ctx;
    size_t max_bytes;
    pthread_mutex_t lock;
    live_entry_t *head;
    live_entry_t *tail;
    int skipping;          /* waiting for a keyframe after an overflow */
    vms_buf_t *sent_init;  /* the init segment the client has; borrowed
                              pointer used only for comparison */
    uint32_t sent_generation;
    int init_sent;
    live_stats_t stats;
};

/* Drops every queued fragment; the lock is held. */
static void live_clear_locked(live_client_t *c)
{
    while (c->head) {
        live_entry_t *e = c->head;
        c->head = e->next;
        c->stats.fragments_skipped++;
        hub_fragment_unref(e->frag);
        free(e);
    }
    c->tail = NULL;
    c->stats.queue_bytes = 0;
    c->stats.queue_len = 0;
}

/* Hub callback on the ingest thread. */
static void live_on_fragment(void *ctx, hub_fragment_t *frag)
{
    live_client_t *c = ctx;
    live_entry_t *e;

    if (!frag)
        return; /* the stream ended; the viewer waits for it to return */
    pthread_mutex_lock(&c->lock);
    if (c->skipping && !frag->keyframe) {
        c->stats.fragments_skipped++;
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if (c->stats.queue_bytes + frag->data->len > c->max_bytes) {
        live_clear_locked(c);
        if (!frag->keyframe) {
            c->skipping = 1;
            c->stats.fragments_skipped++;
            pthread_mutex_unlock(&c->lock);
            return;
        }
    }
    e = malloc(sizeof(*e));
    if (!e) {
        live_clear_locked(c);
        c->skipping = 1;
        pthread_mutex_unlock(&c->lock);
        return;
    }
    c->skipping = 0;
    e->frag = hub_fragment_ref(frag);
    e->next = NULL;
    if (c->tail)
        c->tail->next = e;
    else
        c->head = e;
    c->tail = e;
    c->stats.queue_bytes += frag->data->len;
    c->stats.queue_len++;
    pthread_mutex_unlock(&c->lock);
    if (c->wake)
        c->wake(c->wake_ctx);
}

int live_client_new(hub_t *hub, size_t max_queue_bytes, live_wake_fn wake,
                    void *wake_ctx, live_client_t **out)
{
    live_client_t *c = calloc(1, sizeof(*c));
    int rc;

    *out = NULL;
    if (!c)
        return -ENOMEM;
    c->hub = hub;
    c->wake = wake;
    c->wake_ctx = wake_ctx;
    c->max_bytes = max_queue_bytes;
    /* A viewer starts at a keyframe: the backlog begins with one, and
     * when the hub has none cached (a GOP longer than its cache) the
     * fragments before the next keyframe are skipped. */
    c->skipping = 1;
    pthread_mutex_init(&c->lock, NULL);
    rc = hub_subscribe(hub, live_on_fragment, c, 1, &c->sub);
    if (rc < 0) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void live_client_free(live_client_t *c)
{
    if (!c)
        return;
    hub_unsubscribe(c->hub, c->sub);
    pthread_mutex_lock(&c->lock);
    while (c->head) {
        live_entry_t *e = c->head;
        c->head = e->next;
        hub_fragment_unref(e->frag);
        free(e);
    }
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int live_client_next(live_client_t *c, live_item_t *item)
{
    live_entry_t *e;

    item->kind = LIVE_ITEM_NONE;
    item->buf = NULL;
    item->frag = NULL;
    pthread_mutex_lock(&c->lock);
    e = c->head;
    if (!e) {
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    if (!c->init_sent || e->frag->init != c->sent_init ||
        e->frag->generation != c->sent_generation) {
        /* The init segment stays queued ahead of its fragment. */
        c->init_sent = 1;
        c->sent_init = e->frag->init;
        c->sent_generation = e->frag->generation;
        item->kind = LIVE_ITEM_INIT;
        item->buf = vms_buf_ref(e->frag->init);
        item->frag = hub_fragment_ref(e->frag);
        pthread_mutex_unlock(&c->lock);
        return 1;
    }
    c->head = e->next;
    if (!c->head)
        c->tail = NULL;
    c->stats.queue_bytes -= e->frag->data->len;
    c->stats.queue_len--;
    c->stats.fragments_sent++;
    pthread_mutex_unlock(&c->lock);
    item->kind = LIVE_ITEM_FRAGMENT;
    item->buf = vms_buf_ref(e->frag->data);
    item->frag = e->frag; /* the queue's reference moves to the caller */
    free(e);
    return 1;
}

int live_client_pending(live_client_t *c)
{
    int pending;

    pthread_mutex_lock(&c->lock);
    pending = c->head != NULL;
    pthread_mutex_unlock(&c->lock);
    return pending;
}

void live_client_sent(live_client_t *c, size_t bytes)
{
    pthread_mutex_lock(&c->lock);
    c->stats.bytes_sent += bytes;
    pthread_mutex_unlock(&c->lock);
}

void live_client_get_stats(live_client_t *c, live_stats_t *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}
