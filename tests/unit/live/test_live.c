/* Tests of the live client queue (live.h) fed by a real stream hub with
 * fMP4 fragments of tests/data/car-detection.mp4. */
#include <errno.h>
#include <stdlib.h>

#include "common/clock.h"
#include "live/live.h"
#include "media/hub.h"
#include "stream_fixture.h"
#include "unit.h"

#define LIVE_BASE_US 1700000000000000LL

static fixture_stream_t *live_stream;

static int live_setup(void **state)
{
    /* The whole clip: 377 frames, keyframes every 60 frames. */
    if (fixture_stream_open(FIXTURE_CLIP, 0, &live_stream) < 0)
        return -1;
    return fixture_stream_mux(live_stream, 6) < 0 ? -1 : 0;
}

static int live_teardown(void **state)
{
    fixture_stream_free(live_stream);
    return 0;
}

static void live_announce(hub_t *hub)
{
    hub_info_t info = {.width = 768, .height = 432};

    hub_set_init(hub, live_stream->init, &info);
}

/* Publishes fixture fragment index; returns its size in bytes. */
static size_t live_publish(hub_t *hub, size_t index)
{
    hub_fragment_t *frag = fixture_hub_fragment(live_stream, index,
                                                LIVE_BASE_US);

    assert_non_null(frag);
    hub_publish(hub, frag);
    hub_fragment_unref(frag);
    return live_stream->frags[index].data->len;
}

static int live_wakes;

static void live_count_wake(void *ctx)
{
    live_wakes++;
}

/* Takes the next item and checks its kind; returns the fragment, whose
 * reference the caller drops. */
static hub_fragment_t *live_expect(live_client_t *c, live_item_kind_t kind)
{
    live_item_t item;

    assert_int_equal(live_client_next(c, &item), 1);
    assert_int_equal(item.kind, kind);
    assert_non_null(item.buf);
    assert_non_null(item.frag);
    if (kind == LIVE_ITEM_INIT)
        assert_ptr_equal(item.buf, item.frag->init);
    else
        assert_ptr_equal(item.buf, item.frag->data);
    live_client_sent(c, &item, item.buf->len, vms_monotonic_us());
    vms_buf_unref(item.buf);
    return item.frag;
}

/* Takes every queued item, checks that the fragments come in sequence
 * order, and returns how many fragments there were. */
static int live_drain(live_client_t *c)
{
    live_item_t item;
    uint64_t last_seq = 0;
    int fragments = 0;

    while (live_client_next(c, &item)) {
        if (item.kind == LIVE_ITEM_FRAGMENT) {
            assert_true(item.frag->seq > last_seq);
            last_seq = item.frag->seq;
            fragments++;
        }
        vms_buf_unref(item.buf);
        hub_fragment_unref(item.frag);
    }
    return fragments;
}

/* Returns the index of the first keyframe fragment at or after from. */
static size_t live_next_keyframe(size_t from)
{
    for (size_t i = from; i < live_stream->frag_count; i++)
        if (live_stream->frags[i].keyframe)
            return i;
    fail_msg("no keyframe fragment after %zu", from);
    return 0;
}

static void live_starts_with_init_and_backlog(void **state)
{
    hub_t *hub = hub_new();
    live_client_t *c = NULL;
    hub_fragment_t *frag;
    size_t key = live_next_keyframe(1);
    live_stats_t stats;

    assert_non_null(hub);
    live_announce(hub);
    for (size_t i = 0; i < key + 3; i++)
        live_publish(hub, i);
    live_wakes = 0;
    assert_int_equal(live_client_new(hub, 1 << 20, live_count_wake, NULL,
                                     &c),
                     0);
    /* The backlog of the latest keyframe fragment and 2 more. */
    assert_int_equal(live_wakes, 3);
    assert_int_equal(live_client_pending(c), 1);

    frag = live_expect(c, LIVE_ITEM_INIT);
    assert_ptr_equal(frag->init, live_stream->init);
    hub_fragment_unref(frag);
    frag = live_expect(c, LIVE_ITEM_FRAGMENT);
    assert_int_equal(frag->keyframe, 1);
    assert_int_equal(frag->seq, key + 1);
    hub_fragment_unref(frag);
    assert_int_equal(live_drain(c), 2);
    assert_int_equal(live_client_pending(c), 0);

    /* New fragments follow without another init segment. */
    live_publish(hub, key + 3);
    frag = live_expect(c, LIVE_ITEM_FRAGMENT);
    assert_int_equal(frag->seq, key + 4);
    hub_fragment_unref(frag);

    live_client_get_stats(c, -1, &stats);
    assert_int_equal(stats.fragments_sent, 4);
    /* Only the fragment published after subscribing counts in the
     * latency figures: the backlog was published before. */
    assert_int_equal(stats.delivery.count, 1);
    assert_int_equal(stats.age.count, 1);
    assert_int_equal(stats.fragments_skipped, 0);
    assert_int_equal(stats.queue_len, 0);
    assert_int_equal(stats.queue_bytes, 0);
    assert_true(stats.bytes_sent > live_stream->init->len);
    live_client_free(c);
    hub_free(hub);
}

static void live_overflow_skips_to_keyframe(void **state)
{
    hub_t *hub = hub_new();
    live_client_t *c = NULL;
    live_stats_t stats;
    hub_fragment_t *frag;
    size_t key = live_next_keyframe(1);
    size_t max_bytes = 0;
    size_t published = 0;

    assert_non_null(hub);
    live_announce(hub);
    /* Room for the first keyframe fragment and about 2 more. */
    for (size_t i = 0; i < 3; i++)
        max_bytes += live_stream->frags[i].data->len;
    assert_int_equal(live_client_new(hub, max_bytes, NULL, NULL, &c), 0);

    /* A viewer that reads nothing: the queue overflows in the first
     * GOP, is dropped, and the rest of that GOP is skipped. */
    for (size_t i = 0; i < key; i++) {
        live_publish(hub, i);
        published++;
        live_client_get_stats(c, -1, &stats);
        assert_true(stats.queue_bytes <= max_bytes);
    }
    live_client_get_stats(c, -1, &stats);
    assert_int_equal(stats.queue_len, 0);
    assert_int_equal(stats.queue_bytes, 0);
    assert_int_equal(stats.fragments_skipped, published);

    /* It resumes at the next keyframe fragment. */
    live_publish(hub, key);
    live_publish(hub, key + 1);
    published += 2;
    live_client_get_stats(c, -1, &stats);
    assert_int_equal(stats.queue_len, 2);
    assert_int_equal(stats.fragments_sent + stats.fragments_skipped +
                         stats.queue_len,
                     published);
    frag = live_expect(c, LIVE_ITEM_INIT);
    hub_fragment_unref(frag);
    frag = live_expect(c, LIVE_ITEM_FRAGMENT);
    assert_int_equal(frag->keyframe, 1);
    assert_int_equal(frag->seq, key + 1);
    hub_fragment_unref(frag);
    assert_int_equal(live_drain(c), 1);
    live_client_free(c);
    hub_free(hub);
}

static void live_overflow_on_keyframe_keeps_it(void **state)
{
    hub_t *hub = hub_new();
    live_client_t *c = NULL;
    live_stats_t stats;
    hub_fragment_t *frag;
    size_t key = live_next_keyframe(1);
    size_t first_len = live_stream->frags[0].data->len;
    size_t key_len = live_stream->frags[key].data->len;
    size_t max_bytes = first_len + key_len - 1;

    assert_non_null(hub);
    live_announce(hub);
    /* The first keyframe fragment is queued; the next keyframe fragment
     * does not fit beside it, so it replaces it. */
    assert_int_equal(live_client_new(hub, max_bytes, NULL, NULL, &c), 0);
    live_publish(hub, 0);
    live_client_get_stats(c, -1, &stats);
    assert_int_equal(stats.queue_len, 1);
    live_publish(hub, key);
    live_client_get_stats(c, -1, &stats);
    assert_int_equal(stats.queue_len, 1);
    assert_int_equal(stats.queue_bytes, key_len);
    assert_int_equal(stats.fragments_skipped, 1);
    hub_fragment_unref(live_expect(c, LIVE_ITEM_INIT));
    frag = live_expect(c, LIVE_ITEM_FRAGMENT);
    assert_int_equal(frag->keyframe, 1);
    assert_int_equal(frag->seq, 2);
    hub_fragment_unref(frag);
    live_client_free(c);
    hub_free(hub);
}

static void live_new_viewer_waits_for_keyframe(void **state)
{
    hub_t *hub = hub_new();
    live_client_t *c = NULL;
    live_stats_t stats;
    hub_fragment_t *frag;
    size_t key = live_next_keyframe(1);

    assert_non_null(hub);
    live_announce(hub);
    /* The viewer joins when the hub has no keyframe cached (here: the
     * stream starts mid-GOP), so no fragment can be decoded until the
     * next keyframe. */
    assert_int_equal(live_client_new(hub, 1 << 22, NULL, NULL, &c), 0);
    for (size_t i = key - 3; i < key; i++)
        live_publish(hub, i);
    assert_int_equal(live_client_pending(c), 0);
    live_client_get_stats(c, -1, &stats);
    assert_int_equal(stats.fragments_skipped, 3);
    live_publish(hub, key);
    hub_fragment_unref(live_expect(c, LIVE_ITEM_INIT));
    frag = live_expect(c, LIVE_ITEM_FRAGMENT);
    assert_int_equal(frag->keyframe, 1);
    hub_fragment_unref(frag);
    live_client_free(c);
    hub_free(hub);
}

static void live_resends_init_on_new_generation(void **state)
{
    hub_t *hub = hub_new();
    live_client_t *c = NULL;
    hub_fragment_t *frag;
    vms_buf_t *old_init = vms_buf_ref(live_stream->init);
    vms_buf_t *new_init;

    assert_non_null(hub);
    live_announce(hub);
    assert_int_equal(live_client_new(hub, 1 << 22, NULL, NULL, &c), 0);
    live_publish(hub, 0);
    live_publish(hub, 1);
    hub_fragment_unref(live_expect(c, LIVE_ITEM_INIT));
    hub_fragment_unref(live_expect(c, LIVE_ITEM_FRAGMENT));

    /* The camera reconnects: a new init segment and a new generation,
     * while one old fragment is still queued. */
    hub_set_inactive(hub);
    assert_int_equal(live_client_pending(c), 1);
    assert_int_equal(fixture_stream_mux(live_stream, 6), 0);
    new_init = live_stream->init;
    assert_ptr_not_equal(new_init, old_init);
    live_announce(hub);
    live_publish(hub, 0);

    frag = live_expect(c, LIVE_ITEM_FRAGMENT);
    assert_int_equal(frag->generation, 1);
    hub_fragment_unref(frag);
    frag = live_expect(c, LIVE_ITEM_INIT);
    assert_ptr_equal(frag->init, new_init);
    assert_int_equal(frag->generation, 2);
    hub_fragment_unref(frag);
    frag = live_expect(c, LIVE_ITEM_FRAGMENT);
    assert_int_equal(frag->generation, 2);
    assert_int_equal(frag->keyframe, 1);
    hub_fragment_unref(frag);
    assert_int_equal(live_client_pending(c), 0);
    live_client_free(c);
    hub_free(hub);
    vms_buf_unref(old_init);
}

static void live_ignores_end_of_stream(void **state)
{
    hub_t *hub = hub_new();
    live_client_t *c = NULL;
    live_item_t item;

    assert_non_null(hub);
    live_announce(hub);
    live_wakes = 0;
    assert_int_equal(live_client_new(hub, 1 << 20, live_count_wake, NULL,
                                     &c),
                     0);
    hub_set_inactive(hub);
    assert_int_equal(live_wakes, 0);
    assert_int_equal(live_client_pending(c), 0);
    assert_int_equal(live_client_next(c, &item), 0);
    assert_int_equal(item.kind, LIVE_ITEM_NONE);
    assert_null(item.buf);
    assert_null(item.frag);
    live_client_free(c);
    live_client_free(NULL);
    hub_free(hub);
}

static void live_memory_stays_bounded(void **state)
{
    hub_t *hub = hub_new();
    live_client_t *slow = NULL;
    live_client_t *fast = NULL;
    live_stats_t stats;
    size_t max_bytes = 64 * 1024;
    size_t largest_key = 0;
    size_t published = 0;
    int fast_fragments = 0;

    assert_non_null(hub);
    for (size_t i = 0; i < live_stream->frag_count; i++)
        if (live_stream->frags[i].keyframe &&
            live_stream->frags[i].data->len > largest_key)
            largest_key = live_stream->frags[i].data->len;
    live_announce(hub);
    assert_int_equal(live_client_new(hub, max_bytes, NULL, NULL, &slow), 0);
    assert_int_equal(live_client_new(hub, 1 << 24, NULL, NULL, &fast), 0);

    /* 10 passes over the clip (over 600 fragments) to a viewer that
     * never reads, beside one that keeps up. */
    for (int pass = 0; pass < 10; pass++) {
        for (size_t i = 0; i < live_stream->frag_count; i++) {
            live_publish(hub, i);
            published++;
            live_client_get_stats(slow, -1, &stats);
            /* Only a single keyframe fragment may exceed the bound. */
            if (stats.queue_len > 1)
                assert_true(stats.queue_bytes <= max_bytes);
            else
                assert_true(stats.queue_bytes <= largest_key);
            fast_fragments += live_drain(fast);
        }
    }
    live_client_get_stats(slow, -1, &stats);
    assert_true(stats.fragments_skipped > 0);
    assert_int_equal(stats.fragments_sent, 0);
    assert_int_equal(stats.fragments_skipped + stats.queue_len, published);
    assert_int_equal(fast_fragments, (int)published);
    live_client_get_stats(fast, -1, &stats);
    assert_int_equal(stats.fragments_skipped, 0);
    live_client_free(slow);
    live_client_free(fast);
    hub_free(hub);
}

static void live_channels_interleave_in_order(void **state)
{
    hub_t *hubs[2] = {hub_new(), hub_new()};
    live_client_t *c = NULL;
    live_stats_t stats;
    live_item_t item;
    int channel = -1;
    int inits[2] = {0, 0};
    int fragments[2] = {0, 0};
    uint64_t last_seq[2] = {0, 0};

    assert_non_null(hubs[0]);
    assert_non_null(hubs[1]);
    live_announce(hubs[0]);
    live_announce(hubs[1]);
    assert_int_equal(live_client_new(NULL, 1 << 22, NULL, NULL, &c), 0);
    assert_int_equal(live_client_channels(c), 0);
    assert_int_equal(live_client_pending(c), 0);
    assert_int_equal(live_client_add(c, hubs[0], &channel), 0);
    assert_int_equal(channel, 0);
    assert_int_equal(live_client_add(c, hubs[1], &channel), 0);
    assert_int_equal(channel, 1);
    assert_int_equal(live_client_channels(c), 2);

    /* Alternate publications: each channel gets its init segment first
     * and its fragments in order. */
    for (size_t i = 0; i < 6; i++)
        live_publish(hubs[i % 2], i / 2);
    while (live_client_next(c, &item)) {
        assert_true(item.channel == 0 || item.channel == 1);
        if (item.kind == LIVE_ITEM_INIT) {
            assert_int_equal(fragments[item.channel], 0);
            inits[item.channel]++;
        } else {
            assert_int_equal(inits[item.channel], 1);
            assert_true(item.frag->seq > last_seq[item.channel]);
            last_seq[item.channel] = item.frag->seq;
            fragments[item.channel]++;
        }
        live_client_sent(c, &item, item.buf->len, item.queued_us + 1000);
        vms_buf_unref(item.buf);
        hub_fragment_unref(item.frag);
    }
    assert_int_equal(fragments[0], 3);
    assert_int_equal(fragments[1], 3);

    assert_int_equal(live_client_get_stats(c, 1, &stats), 0);
    assert_int_equal(stats.fragments_sent, 3);
    assert_int_equal(stats.delivery.count, 3);
    assert_int_equal(live_latency_quantile(&stats.delivery, 0.5), 1000);
    assert_int_equal(live_client_get_stats(c, -1, &stats), 0);
    assert_int_equal(stats.fragments_sent, 6);
    assert_int_equal(stats.delivery.count, 6);
    assert_int_equal(live_client_get_stats(c, 2, &stats), -EINVAL);
    live_client_free(c);
    hub_free(hubs[0]);
    hub_free(hubs[1]);
}

static void live_channel_overflow_is_isolated(void **state)
{
    hub_t *hubs[2] = {hub_new(), hub_new()};
    live_client_t *c = NULL;
    live_stats_t stats;
    size_t key = live_next_keyframe(1);
    size_t max_bytes = 0;

    assert_non_null(hubs[0]);
    assert_non_null(hubs[1]);
    live_announce(hubs[0]);
    live_announce(hubs[1]);
    for (size_t i = 0; i < 3; i++)
        max_bytes += live_stream->frags[i].data->len;
    assert_int_equal(live_client_new(hubs[0], max_bytes, NULL, NULL, &c), 0);
    assert_int_equal(live_client_add(c, hubs[1], NULL), 0);
    /* Channel 0 gets a whole GOP and overflows; channel 1 gets two
     * fragments, which stay queued. */
    for (size_t i = 0; i < key; i++)
        live_publish(hubs[0], i);
    live_publish(hubs[1], 0);
    live_publish(hubs[1], 1);
    assert_int_equal(live_client_get_stats(c, 0, &stats), 0);
    assert_true(stats.overflows >= 1);
    assert_true(stats.fragments_skipped > 0);
    assert_int_equal(stats.queue_len, 0);
    assert_int_equal(live_client_get_stats(c, 1, &stats), 0);
    assert_int_equal(stats.overflows, 0);
    assert_int_equal(stats.fragments_skipped, 0);
    assert_int_equal(stats.queue_len, 2);
    assert_int_equal(live_drain(c), 2);
    live_client_free(c);
    hub_free(hubs[0]);
    hub_free(hubs[1]);
}

static void live_channels_have_a_maximum(void **state)
{
    hub_t *hub = hub_new();
    live_client_t *c = NULL;

    assert_non_null(hub);
    assert_int_equal(live_client_new(NULL, 1 << 20, NULL, NULL, &c), 0);
    for (int i = 0; i < LIVE_CHANNELS_MAX; i++)
        assert_int_equal(live_client_add(c, hub, NULL), 0);
    assert_int_equal(live_client_add(c, hub, NULL), -ENOSPC);
    assert_int_equal(live_client_channels(c), LIVE_CHANNELS_MAX);
    live_client_free(c);
    hub_free(hub);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(live_starts_with_init_and_backlog),
        cmocka_unit_test(live_overflow_skips_to_keyframe),
        cmocka_unit_test(live_overflow_on_keyframe_keeps_it),
        cmocka_unit_test(live_new_viewer_waits_for_keyframe),
        cmocka_unit_test(live_resends_init_on_new_generation),
        cmocka_unit_test(live_ignores_end_of_stream),
        cmocka_unit_test(live_memory_stays_bounded),
        cmocka_unit_test(live_channels_interleave_in_order),
        cmocka_unit_test(live_channel_overflow_is_isolated),
        cmocka_unit_test(live_channels_have_a_maximum),
    };

    return UNIT_RUN("live", tests, live_setup, live_teardown, argc, argv);
}
