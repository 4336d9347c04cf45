/* Live client queues; see live.h. */
#include "live/live.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

/* A queue entry: one fragment reference. */
typedef struct live_entry {
    hub_fragment_t *frag;
    int64_t queued_us;
    int backlog;            /* replayed from the hub's cache */
    struct live_entry *next;
} live_entry_t;

/* One subscribed stream. Everything but hub, sub and owner is guarded
 * by the owner's lock. */
typedef struct live_channel {
    live_client_t *owner;
    hub_t *hub;
    hub_subscription_t *sub;
    live_entry_t *head;
    live_entry_t *tail;
    int skipping;          /* waiting for a keyframe after an overflow */
    int in_backlog;        /* hub_subscribe() is replaying its cache */
    vms_buf_t *sent_init;  /* the init segment the client has; borrowed
                              pointer used only for comparison */
    uint32_t sent_generation;
    int init_sent;
    live_stats_t stats;
} live_channel_t;

struct live_client {
    live_wake_fn wake;
    void *wake_ctx;
    size_t max_bytes;
    pthread_mutex_t lock;
    live_channel_t *channels[LIVE_CHANNELS_MAX];
    int channel_count;
};

/* Drops every queued fragment of ch, counting them as skipped; the
 * owner's lock is held. */
static void live_clear_locked(live_channel_t *ch)
{
    while (ch->head) {
        live_entry_t *e = ch->head;
        ch->head = e->next;
        ch->stats.fragments_skipped++;
        hub_fragment_unref(e->frag);
        free(e);
    }
    ch->tail = NULL;
    ch->stats.queue_bytes = 0;
    ch->stats.queue_len = 0;
}

/* Hub callback on the ingest thread: queues frag or skips it. */
static void live_on_fragment(void *ctx, hub_fragment_t *frag)
{
    live_channel_t *ch = ctx;
    live_client_t *c = ch->owner;
    live_entry_t *e;

    if (!frag)
        return; /* the stream ended; the viewer waits for it to return */
    pthread_mutex_lock(&c->lock);
    if (ch->skipping && !frag->keyframe) {
        ch->stats.fragments_skipped++;
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if (ch->stats.queue_bytes + frag->data->len > c->max_bytes) {
        ch->stats.overflows++;
        live_clear_locked(ch);
        if (!frag->keyframe) {
            ch->skipping = 1;
            ch->stats.fragments_skipped++;
            pthread_mutex_unlock(&c->lock);
            return;
        }
    }
    e = malloc(sizeof(*e));
    if (!e) {
        live_clear_locked(ch);
        ch->stats.fragments_skipped++;
        ch->skipping = 1;
        pthread_mutex_unlock(&c->lock);
        return;
    }
    ch->skipping = 0;
    e->frag = hub_fragment_ref(frag);
    e->queued_us = vms_monotonic_us();
    e->backlog = ch->in_backlog;
    e->next = NULL;
    if (ch->tail)
        ch->tail->next = e;
    else
        ch->head = e;
    ch->tail = e;
    ch->stats.queue_bytes += frag->data->len;
    ch->stats.queue_len++;
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
    c->wake = wake;
    c->wake_ctx = wake_ctx;
    c->max_bytes = max_queue_bytes;
    pthread_mutex_init(&c->lock, NULL);
    if (hub) {
        rc = live_client_add(c, hub, NULL);
        if (rc < 0) {
            live_client_free(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

int live_client_add(live_client_t *c, hub_t *hub, int *channel)
{
    live_channel_t *ch;
    int index;
    int rc;

    ch = calloc(1, sizeof(*ch));
    if (!ch)
        return -ENOMEM;
    ch->owner = c;
    ch->hub = hub;
    /* A viewer starts at a keyframe: the backlog begins with one, and
     * when the hub has none cached (a GOP longer than its cache) the
     * fragments before the next keyframe are skipped. */
    ch->skipping = 1;
    pthread_mutex_lock(&c->lock);
    if (c->channel_count == LIVE_CHANNELS_MAX) {
        pthread_mutex_unlock(&c->lock);
        free(ch);
        return -ENOSPC;
    }
    index = c->channel_count++;
    c->channels[index] = ch;
    pthread_mutex_unlock(&c->lock);

    /* Not under c->lock: the backlog calls live_on_fragment, which
     * takes it. No other thread calls it before hub_subscribe returns,
     * because the hub holds its lock while it replays the backlog. */
    ch->in_backlog = 1;
    rc = hub_subscribe(hub, live_on_fragment, ch, 1, &ch->sub);
    pthread_mutex_lock(&c->lock);
    ch->in_backlog = 0;
    pthread_mutex_unlock(&c->lock);
    if (rc < 0) {
        pthread_mutex_lock(&c->lock);
        live_clear_locked(ch);
        c->channel_count--;
        c->channels[index] = NULL;
        pthread_mutex_unlock(&c->lock);
        free(ch);
        return rc;
    }
    if (channel)
        *channel = index;
    return 0;
}

int live_client_channels(live_client_t *c)
{
    int n;

    pthread_mutex_lock(&c->lock);
    n = c->channel_count;
    pthread_mutex_unlock(&c->lock);
    return n;
}

void live_client_free(live_client_t *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->channel_count; i++)
        hub_unsubscribe(c->channels[i]->hub, c->channels[i]->sub);
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->channel_count; i++) {
        live_channel_t *ch = c->channels[i];

        while (ch->head) {
            live_entry_t *e = ch->head;
            ch->head = e->next;
            hub_fragment_unref(e->frag);
            free(e);
        }
        free(ch);
    }
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Returns the channel whose head fragment was published first, or -1;
 * the lock is held. */
static int live_oldest_channel_locked(live_client_t *c)
{
    int best = -1;

    for (int i = 0; i < c->channel_count; i++) {
        live_entry_t *e = c->channels[i]->head;

        if (e && (best < 0 ||
                  e->queued_us < c->channels[best]->head->queued_us))
            best = i;
    }
    return best;
}

int live_client_next(live_client_t *c, live_item_t *item)
{
    live_channel_t *ch;
    live_entry_t *e;
    int index;

    memset(item, 0, sizeof(*item));
    item->kind = LIVE_ITEM_NONE;
    pthread_mutex_lock(&c->lock);
    index = live_oldest_channel_locked(c);
    if (index < 0) {
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    ch = c->channels[index];
    e = ch->head;
    item->channel = index;
    item->queued_us = e->queued_us;
    item->backlog = e->backlog;
    if (!ch->init_sent || e->frag->init != ch->sent_init ||
        e->frag->generation != ch->sent_generation) {
        /* The fragment stays queued behind its init segment. */
        ch->init_sent = 1;
        ch->sent_init = e->frag->init;
        ch->sent_generation = e->frag->generation;
        item->kind = LIVE_ITEM_INIT;
        item->buf = vms_buf_ref(e->frag->init);
        item->frag = hub_fragment_ref(e->frag);
        pthread_mutex_unlock(&c->lock);
        return 1;
    }
    ch->head = e->next;
    if (!ch->head)
        ch->tail = NULL;
    ch->stats.queue_bytes -= e->frag->data->len;
    ch->stats.queue_len--;
    ch->stats.fragments_sent++;
    pthread_mutex_unlock(&c->lock);
    item->kind = LIVE_ITEM_FRAGMENT;
    item->buf = vms_buf_ref(e->frag->data);
    item->frag = e->frag; /* the queue's reference moves to the caller */
    free(e);
    return 1;
}

int live_client_pending(live_client_t *c)
{
    int pending = 0;

    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->channel_count && !pending; i++)
        pending = c->channels[i]->head != NULL;
    pthread_mutex_unlock(&c->lock);
    return pending;
}

void live_client_sent(live_client_t *c, const live_item_t *item,
                      size_t bytes, int64_t now_us)
{
    live_channel_t *ch;

    pthread_mutex_lock(&c->lock);
    if (item->channel < 0 || item->channel >= c->channel_count) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    ch = c->channels[item->channel];
    ch->stats.bytes_sent += bytes;
    if (item->kind == LIVE_ITEM_FRAGMENT && item->frag && !item->backlog) {
        live_latency_add(&ch->stats.delivery, now_us - item->queued_us);
        live_latency_add(&ch->stats.age, now_us - item->frag->arrival_us);
    }
    pthread_mutex_unlock(&c->lock);
}

void live_stats_merge(live_stats_t *dst, const live_stats_t *src)
{
    dst->fragments_sent += src->fragments_sent;
    dst->fragments_skipped += src->fragments_skipped;
    dst->overflows += src->overflows;
    dst->bytes_sent += src->bytes_sent;
    dst->queue_bytes += src->queue_bytes;
    dst->queue_len += src->queue_len;
    live_latency_merge(&dst->delivery, &src->delivery);
    live_latency_merge(&dst->age, &src->age);
}

int live_client_get_stats(live_client_t *c, int channel, live_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->lock);
    if (channel >= c->channel_count || channel < -1) {
        pthread_mutex_unlock(&c->lock);
        return -EINVAL;
    }
    if (channel >= 0) {
        *out = c->channels[channel]->stats;
    } else {
        for (int i = 0; i < c->channel_count; i++)
            live_stats_merge(out, &c->channels[i]->stats);
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}
