/*
 * Stream hub: the meeting point of one camera stream's fragments.
 *
 * The ingest thread publishes each fMP4 fragment once; the hub hands the
 * same reference-counted bytes to every subscriber (the segment writer,
 * live clients). Subscriber callbacks run on the ingest thread with the
 * hub's lock held, so they must only take a reference and queue it:
 * recording never waits on a viewer. The hub also keeps the fragments
 * since the latest keyframe, so that a new viewer starts with a picture
 * at once, and the latest keyframe packet for snapshots.
 */
#ifndef VMS_MEDIA_HUB_H
#define VMS_MEDIA_HUB_H

#include <libavcodec/avcodec.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct hub hub_t;
typedef struct hub_subscription hub_subscription_t;

/* One fragment (moof+mdat). Immutable once published; shared with
 * hub_fragment_ref()/hub_fragment_unref(). */
typedef struct hub_fragment {
    int refs;
    vms_buf_t *data;       /* the moof+mdat bytes */
    vms_buf_t *init;       /* the init segment this fragment follows */
    uint32_t generation;   /* changes with every new init segment */
    uint64_t seq;          /* per-stream sequence number, from 1 */
    int64_t start_us;      /* UTC microseconds of its first sample */
    int64_t duration_us;   /* video duration covered */
    int keyframe;          /* its first video sample is a keyframe */
    int64_t arrival_us;    /* monotonic time its first packet arrived */
} hub_fragment_t;

/* What a client needs to play the stream. */
typedef struct hub_info {
    int active;           /* an init segment has been published */
    char codec[64];       /* RFC 6381 codec string(s), e.g. avc1.42c01e */
    char mime[96];        /* e.g. video/mp4; codecs="avc1.42c01e,mp4a.40.2" */
    int width;
    int height;
    double fps;
    int has_audio;
    uint32_t generation;
} hub_info_t;

/* Called for each published fragment, on the publisher's thread, with
 * the hub locked. frag is borrowed: take a reference to keep it. frag is
 * NULL when the stream ends (the camera disconnected), so that a
 * recorder can close its segment at once. */
typedef void (*hub_fragment_fn)(void *ctx, hub_fragment_t *frag);

hub_t *hub_new(void);

/* Frees the hub. All subscriptions must be gone. NULL is a no-op. */
void hub_free(hub_t *hub);

/* Creates a fragment with one reference, taking a reference to data and
 * init. Returns NULL when out of memory. */
hub_fragment_t *hub_fragment_new(vms_buf_t *data, vms_buf_t *init);
hub_fragment_t *hub_fragment_ref(hub_fragment_t *frag);
void hub_fragment_unref(hub_fragment_t *frag);

/* Announces a new init segment (at start or after the stream's
 * parameters changed). info describes the stream; init is borrowed. */
void hub_set_init(hub_t *hub, vms_buf_t *init, const hub_info_t *info);

/* Publishes frag to every subscriber; sets frag->seq and
 * frag->generation. frag is borrowed. */
void hub_publish(hub_t *hub, hub_fragment_t *frag);

/* Marks the stream inactive (camera disconnected): clears the keyframe
 * cache so that no viewer starts on stale fragments, and calls every
 * subscriber with NULL. */
void hub_set_inactive(hub_t *hub);

/* Subscribes fn. With backlog set, fn is first called, before this
 * returns, for each cached fragment since the latest keyframe. *out is
 * released with hub_unsubscribe(). */
int hub_subscribe(hub_t *hub, hub_fragment_fn fn, void *ctx, int backlog,
                  hub_subscription_t **out);

/* Removes a subscription; once it returns, fn is not called again.
 * NULL is a no-op. */
void hub_unsubscribe(hub_t *hub, hub_subscription_t *sub);

/* Copies the stream description. */
void hub_get_info(hub_t *hub, hub_info_t *out);

/* Stores the latest keyframe packet and its codec parameters (both
 * copied) for snapshots. */
void hub_set_keyframe(hub_t *hub, const AVPacket *pkt,
                      const AVCodecParameters *par, int64_t time_us);

/* Copies the latest keyframe into pkt (a new reference) and par.
 * Returns 0, or -ENOENT if none has arrived yet. */
int hub_get_keyframe(hub_t *hub, AVPacket *pkt, AVCodecParameters *par,
                     int64_t *time_us);

#endif
