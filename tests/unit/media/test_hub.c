/* Tests of the stream hub (hub.h) with real fMP4 fragments of
 * tests/data/car-detection.mp4. */
#include <errno.h>
#include <libavformat/avformat.h>
#include <stdlib.h>

#include "media/hub.h"
#include "stream_fixture.h"
#include "unit.h"

#define HUB_PACKETS 200
#define HUB_BASE_US 1700000000000000LL

static fixture_stream_t *hub_stream;

static int hub_setup(void **state)
{
    if (fixture_stream_open(FIXTURE_CLIP, HUB_PACKETS, &hub_stream) < 0)
        return -1;
    return fixture_stream_mux(hub_stream, 6) < 0 ? -1 : 0;
}

static int hub_teardown(void **state)
{
    fixture_stream_free(hub_stream);
    return 0;
}

/* What a subscriber saw: references to the fragments, NULLs counted. */
typedef struct hub_seen {
    hub_fragment_t *frags[512];
    int count;
    int ends;
} hub_seen_t;

static void hub_record(void *ctx, hub_fragment_t *frag)
{
    hub_seen_t *seen = ctx;

    if (!frag) {
        seen->ends++;
        return;
    }
    assert_true(seen->count < 512);
    seen->frags[seen->count++] = hub_fragment_ref(frag);
}

static void hub_seen_clear(hub_seen_t *seen)
{
    for (int i = 0; i < seen->count; i++)
        hub_fragment_unref(seen->frags[i]);
    seen->count = 0;
    seen->ends = 0;
}

/* Announces the fixture's init segment with an H.264 description. */
static void hub_announce(hub_t *hub)
{
    hub_info_t info = {.width = 768, .height = 432, .fps = 12.5};

    snprintf(info.codec, sizeof(info.codec), "avc1.428016");
    snprintf(info.mime, sizeof(info.mime),
             "video/mp4; codecs=\"avc1.428016\"");
    hub_set_init(hub, hub_stream->init, &info);
}

/* Publishes fixture fragments [first, end). */
static void hub_publish_range(hub_t *hub, size_t first, size_t end)
{
    for (size_t i = first; i < end; i++) {
        hub_fragment_t *frag = fixture_hub_fragment(hub_stream, i,
                                                    HUB_BASE_US);

        assert_non_null(frag);
        hub_publish(hub, frag);
        hub_fragment_unref(frag);
    }
}

/* Returns the index of the n-th keyframe fragment (from 0). */
static size_t hub_keyframe_index(int n)
{
    for (size_t i = 0; i < hub_stream->frag_count; i++)
        if (hub_stream->frags[i].keyframe && n-- == 0)
            return i;
    fail_msg("the fixture has too few keyframes");
    return 0;
}

static void hub_backlog_starts_at_latest_keyframe(void **state)
{
    hub_t *hub = hub_new();
    hub_subscription_t *sub = NULL;
    hub_seen_t seen = {0};
    size_t second_key = hub_keyframe_index(1);
    size_t end = second_key + 4;

    assert_non_null(hub);
    hub_announce(hub);
    hub_publish_range(hub, 0, end);
    assert_int_equal(hub_subscribe(hub, hub_record, &seen, 1, &sub), 0);
    /* The second keyframe fragment and the 3 after it, in order. */
    assert_int_equal(seen.count, 4);
    assert_int_equal(seen.frags[0]->keyframe, 1);
    assert_int_equal(seen.frags[0]->seq, second_key + 1);
    for (int i = 1; i < seen.count; i++) {
        assert_int_equal(seen.frags[i]->keyframe, 0);
        assert_int_equal(seen.frags[i]->seq, seen.frags[i - 1]->seq + 1);
    }
    assert_int_equal(seen.frags[0]->start_us,
                     HUB_BASE_US + hub_stream->frags[second_key].start_us);
    assert_ptr_equal(seen.frags[0]->data,
                     hub_stream->frags[second_key].data);
    assert_ptr_equal(seen.frags[0]->init, hub_stream->init);

    /* Live fragments follow the backlog. */
    hub_publish_range(hub, end, end + 1);
    assert_int_equal(seen.count, 5);
    assert_int_equal(seen.frags[4]->seq, end + 1);

    hub_unsubscribe(hub, sub);
    hub_seen_clear(&seen);
    hub_free(hub);
}

static void hub_subscribe_without_backlog(void **state)
{
    hub_t *hub = hub_new();
    hub_subscription_t *sub = NULL;
    hub_seen_t seen = {0};

    assert_non_null(hub);
    hub_announce(hub);
    hub_publish_range(hub, 0, 3);
    assert_int_equal(hub_subscribe(hub, hub_record, &seen, 0, &sub), 0);
    assert_int_equal(seen.count, 0);
    hub_publish_range(hub, 3, 4);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.frags[0]->seq, 4);
    hub_unsubscribe(hub, sub);
    hub_seen_clear(&seen);
    hub_free(hub);
}

static void hub_backlog_empty_before_keyframe(void **state)
{
    hub_t *hub = hub_new();
    hub_subscription_t *sub = NULL;
    hub_seen_t seen = {0};

    assert_non_null(hub);
    hub_announce(hub);
    /* Fragments 1..3 follow the first keyframe fragment, which is not
     * published: a viewer must not start on them. */
    hub_publish_range(hub, 1, 4);
    assert_int_equal(hub_subscribe(hub, hub_record, &seen, 1, &sub), 0);
    assert_int_equal(seen.count, 0);
    hub_unsubscribe(hub, sub);
    hub_free(hub);
}

static void hub_set_inactive_sends_null(void **state)
{
    hub_t *hub = hub_new();
    hub_subscription_t *subs[2] = {NULL, NULL};
    hub_seen_t seen[2];
    hub_subscription_t *late = NULL;
    hub_seen_t late_seen = {0};
    hub_info_t info;

    memset(seen, 0, sizeof(seen));
    assert_non_null(hub);
    hub_announce(hub);
    for (int i = 0; i < 2; i++)
        assert_int_equal(hub_subscribe(hub, hub_record, &seen[i], 1,
                                       &subs[i]),
                         0);
    hub_publish_range(hub, 0, 5);
    hub_set_inactive(hub);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(seen[i].count, 5);
        assert_int_equal(seen[i].ends, 1);
    }
    hub_get_info(hub, &info);
    assert_int_equal(info.active, 0);
    /* The keyframe cache is gone: a new viewer gets no stale backlog. */
    assert_int_equal(hub_subscribe(hub, hub_record, &late_seen, 1, &late),
                     0);
    assert_int_equal(late_seen.count, 0);
    hub_unsubscribe(hub, late);
    for (int i = 0; i < 2; i++) {
        hub_unsubscribe(hub, subs[i]);
        hub_seen_clear(&seen[i]);
    }
    hub_free(hub);
}

static void hub_set_init_starts_generation(void **state)
{
    hub_t *hub = hub_new();
    hub_subscription_t *sub = NULL;
    hub_seen_t seen = {0};
    hub_info_t info;

    assert_non_null(hub);
    hub_get_info(hub, &info);
    assert_int_equal(info.active, 0);
    assert_int_equal(info.generation, 0);

    hub_announce(hub);
    hub_get_info(hub, &info);
    assert_int_equal(info.active, 1);
    assert_int_equal(info.generation, 1);
    assert_string_equal(info.codec, "avc1.428016");
    assert_int_equal(info.width, 768);
    hub_publish_range(hub, 0, 3);

    /* A new init segment clears the cache and bumps the generation. */
    hub_announce(hub);
    hub_get_info(hub, &info);
    assert_int_equal(info.generation, 2);
    assert_int_equal(hub_subscribe(hub, hub_record, &seen, 1, &sub), 0);
    assert_int_equal(seen.count, 0);
    hub_publish_range(hub, 0, 1);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.frags[0]->generation, 2);
    assert_int_equal(seen.frags[0]->seq, 4);

    /* After the stream ends and returns, the generation goes on. */
    hub_set_inactive(hub);
    hub_announce(hub);
    hub_get_info(hub, &info);
    assert_int_equal(info.active, 1);
    assert_int_equal(info.generation, 3);
    hub_unsubscribe(hub, sub);
    hub_seen_clear(&seen);
    hub_free(hub);
}

static void hub_cache_is_bounded(void **state)
{
    hub_t *hub = hub_new();
    hub_subscription_t *sub = NULL;
    hub_seen_t seen = {0};
    hub_fragment_t *first;
    size_t key = hub_keyframe_index(0);

    assert_non_null(hub);
    hub_announce(hub);
    first = fixture_hub_fragment(hub_stream, key, HUB_BASE_US);
    assert_non_null(first);
    hub_publish(hub, first);
    assert_int_equal(first->refs, 2); /* the test's and the cache's */
    /* A GOP of more than 200 fragments is not cached whole: the hub
     * drops its cache rather than grow without bound. */
    for (int i = 0; i < 300; i++)
        hub_publish_range(hub, key + 1, key + 2);
    assert_int_equal(first->refs, 1);
    assert_int_equal(hub_subscribe(hub, hub_record, &seen, 1, &sub), 0);
    assert_int_equal(seen.count, 0);
    hub_unsubscribe(hub, sub);
    hub_fragment_unref(first);
    hub_free(hub);
}

static void hub_unsubscribe_stops_calls(void **state)
{
    hub_t *hub = hub_new();
    hub_subscription_t *a = NULL;
    hub_subscription_t *b = NULL;
    hub_seen_t seen_a = {0};
    hub_seen_t seen_b = {0};

    assert_non_null(hub);
    hub_announce(hub);
    assert_int_equal(hub_subscribe(hub, hub_record, &seen_a, 0, &a), 0);
    assert_int_equal(hub_subscribe(hub, hub_record, &seen_b, 0, &b), 0);
    hub_publish_range(hub, 0, 2);
    hub_unsubscribe(hub, a);
    hub_publish_range(hub, 2, 4);
    hub_set_inactive(hub);
    assert_int_equal(seen_a.count, 2);
    assert_int_equal(seen_a.ends, 0);
    assert_int_equal(seen_b.count, 4);
    assert_int_equal(seen_b.ends, 1);
    hub_unsubscribe(hub, b);
    hub_unsubscribe(hub, NULL);
    hub_seen_clear(&seen_a);
    hub_seen_clear(&seen_b);
    hub_free(hub);
    hub_free(NULL);
}

static void hub_keeps_latest_keyframe(void **state)
{
    hub_t *hub = hub_new();
    AVPacket *pkt = av_packet_alloc();
    AVCodecParameters *par = avcodec_parameters_alloc();
    const AVPacket *key = hub_stream->packets[60];
    int64_t time_us = 0;

    assert_non_null(hub);
    assert_non_null(pkt);
    assert_non_null(par);
    assert_int_equal(hub_get_keyframe(hub, pkt, par, &time_us), -ENOENT);
    hub_set_keyframe(hub, hub_stream->packets[0], hub_stream->video, 1);
    hub_set_keyframe(hub, key, hub_stream->video, 4800000);
    assert_int_equal(hub_get_keyframe(hub, pkt, par, &time_us), 0);
    assert_int_equal(time_us, 4800000);
    assert_int_equal(pkt->size, key->size);
    assert_memory_equal(pkt->data, key->data, (size_t)key->size);
    assert_int_equal(par->codec_id, AV_CODEC_ID_H264);
    assert_int_equal(par->extradata_size, hub_stream->video->extradata_size);
    av_packet_free(&pkt);
    avcodec_parameters_free(&par);
    hub_free(hub);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hub_backlog_starts_at_latest_keyframe),
        cmocka_unit_test(hub_subscribe_without_backlog),
        cmocka_unit_test(hub_backlog_empty_before_keyframe),
        cmocka_unit_test(hub_set_inactive_sends_null),
        cmocka_unit_test(hub_set_init_starts_generation),
        cmocka_unit_test(hub_cache_is_bounded),
        cmocka_unit_test(hub_unsubscribe_stops_calls),
        cmocka_unit_test(hub_keeps_latest_keyframe),
    };

    return UNIT_RUN("hub", tests, hub_setup, hub_teardown, argc, argv);
}
