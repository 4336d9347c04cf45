/*
 * Stream hub; see hub.h.
 *
 * Invariants, under hub->lock:
 * - cache[0..cache_len) are the fragments published since the latest
 *   keyframe fragment, oldest first, and cache[0] is that keyframe
 *   fragment (or the cache is empty).
 * - Every cached fragment belongs to the current generation.
 */
#include "media/hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A GOP longer than this many fragments (100 s at 500 ms) is not
 * cached whole; new viewers then wait for the next keyframe. */
#define HUB_CACHE_MAX 200

struct hub_subscription {
    hub_fragment_fn fn;
    void *ctx;
    hub_subscription_t *next;
};

struct hub {
    pthread_mutex_t lock;
    hub_subscription_t *subs;
    hub_info_t info;
    vms_buf_t *init;
    uint64_t next_seq;
    hub_fragment_t *cache[HUB_CACHE_MAX];
    int cache_len;
    AVPacket *keyframe;
    AVCodecParameters *keyframe_par;
    int64_t keyframe_time_us;
};

hub_t *hub_new(void)
{
    hub_t *hub = calloc(1, sizeof(*hub));

    if (!hub)
        return NULL;
    pthread_mutex_init(&hub->lock, NULL);
    hub->next_seq = 1;
    hub->keyframe = av_packet_alloc();
    hub->keyframe_par = avcodec_parameters_alloc();
    if (!hub->keyframe || !hub->keyframe_par) {
        hub_free(hub);
        return NULL;
    }
    return hub;
}

static void hub_clear_cache(hub_t *hub)
{
    for (int i = 0; i < hub->cache_len; i++)
        hub_fragment_unref(hub->cache[i]);
    hub->cache_len = 0;
}

void hub_free(hub_t *hub)
{
    if (!hub)
        return;
    hub_clear_cache(hub);
    vms_buf_unref(hub->init);
    av_packet_free(&hub->keyframe);
    avcodec_parameters_free(&hub->keyframe_par);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

hub_fragment_t *hub_fragment_new(vms_buf_t *data, vms_buf_t *init)
{
    hub_fragment_t *frag = calloc(1, sizeof(*frag));

    if (!frag)
        return NULL;
    frag->refs = 1;
    frag->data = vms_buf_ref(data);
    frag->init = vms_buf_ref(init);
    return frag;
}

hub_fragment_t *hub_fragment_ref(hub_fragment_t *frag)
{
    if (frag)
        __atomic_add_fetch(&frag->refs, 1, __ATOMIC_RELAXED);
    return frag;
}

void hub_fragment_unref(hub_fragment_t *frag)
{
    if (!frag || __atomic_sub_fetch(&frag->refs, 1, __ATOMIC_ACQ_REL))
        return;
    vms_buf_unref(frag->data);
    vms_buf_unref(frag->init);
    free(frag);
}

void hub_set_init(hub_t *hub, vms_buf_t *init, const hub_info_t *info)
{
    uint32_t generation;

    pthread_mutex_lock(&hub->lock);
    hub_clear_cache(hub);
    vms_buf_unref(hub->init);
    hub->init = vms_buf_ref(init);
    generation = hub->info.generation + 1;
    hub->info = *info;
    hub->info.active = 1;
    hub->info.generation = generation;
    pthread_mutex_unlock(&hub->lock);
}

void hub_publish(hub_t *hub, hub_fragment_t *frag)
{
    pthread_mutex_lock(&hub->lock);
    frag->seq = hub->next_seq++;
    frag->generation = hub->info.generation;

    if (frag->keyframe)
        hub_clear_cache(hub);
    if (hub->cache_len < HUB_CACHE_MAX &&
        (frag->keyframe || hub->cache_len > 0))
        hub->cache[hub->cache_len++] = hub_fragment_ref(frag);
    else if (hub->cache_len == HUB_CACHE_MAX)
        hub_clear_cache(hub);

    for (hub_subscription_t *s = hub->subs; s; s = s->next)
        s->fn(s->ctx, frag);
    pthread_mutex_unlock(&hub->lock);
}

void hub_set_inactive(hub_t *hub)
{
    pthread_mutex_lock(&hub->lock);
    hub_clear_cache(hub);
    hub->info.active = 0;
    for (hub_subscription_t *s = hub->subs; s; s = s->next)
        s->fn(s->ctx, NULL);
    pthread_mutex_unlock(&hub->lock);
}

int hub_subscribe(hub_t *hub, hub_fragment_fn fn, void *ctx, int backlog,
                  hub_subscription_t **out)
{
    hub_subscription_t *sub = calloc(1, sizeof(*sub));

    *out = NULL;
    if (!sub)
        return -ENOMEM;
    sub->fn = fn;
    sub->ctx = ctx;
    pthread_mutex_lock(&hub->lock);
    if (backlog)
        for (int i = 0; i < hub->cache_len; i++)
            fn(ctx, hub->cache[i]);
    sub->next = hub->subs;
    hub->subs = sub;
    pthread_mutex_unlock(&hub->lock);
    *out = sub;
    return 0;
}

void hub_unsubscribe(hub_t *hub, hub_subscription_t *sub)
{
    if (!sub)
        return;
    pthread_mutex_lock(&hub->lock);
    for (hub_subscription_t **p = &hub->subs; *p; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    free(sub);
}

void hub_get_info(hub_t *hub, hub_info_t *out)
{
    pthread_mutex_lock(&hub->lock);
    *out = hub->info;
    pthread_mutex_unlock(&hub->lock);
}

void hub_set_keyframe(hub_t *hub, const AVPacket *pkt,
                      const AVCodecParameters *par, int64_t time_us)
{
    pthread_mutex_lock(&hub->lock);
    av_packet_unref(hub->keyframe);
    if (av_packet_ref(hub->keyframe, pkt) < 0 ||
        avcodec_parameters_copy(hub->keyframe_par, par) < 0)
        av_packet_unref(hub->keyframe);
    hub->keyframe_time_us = time_us;
    pthread_mutex_unlock(&hub->lock);
}

int hub_get_keyframe(hub_t *hub, AVPacket *pkt, AVCodecParameters *par,
                     int64_t *time_us)
{
    int rc = -ENOENT;

    pthread_mutex_lock(&hub->lock);
    if (hub->keyframe->size > 0) {
        rc = av_packet_ref(pkt, hub->keyframe);
        if (rc == 0)
            rc = avcodec_parameters_copy(par, hub->keyframe_par);
        if (rc < 0)
            rc = -ENOMEM;
        *time_us = hub->keyframe_time_us;
    }
    pthread_mutex_unlock(&hub->lock);
    return rc;
}
