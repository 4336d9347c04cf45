/* Tests of the HLS window (live/hls.h) fed by a real stream hub with
 * fMP4 fragments of tests/data/car-detection.mp4. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live/hls.h"
#include "media/hub.h"
#include "stream_fixture.h"
#include "unit.h"

#define HLS_BASE_US 1700000000000000LL

static fixture_stream_t *hls_stream;

static int hls_setup(void **state)
{
    /* The whole clip: 377 frames, a keyframe every 60, so fragments of
     * 6 frames make 10 fragments per GOP. */
    if (fixture_stream_open(FIXTURE_CLIP, 0, &hls_stream) < 0)
        return -1;
    return fixture_stream_mux(hls_stream, 6) < 0 ? -1 : 0;
}

static int hls_teardown(void **state)
{
    fixture_stream_free(hls_stream);
    return 0;
}

static void hls_announce(hub_t *hub)
{
    hub_info_t info = {.width = 768, .height = 432};

    hub_set_init(hub, hls_stream->init, &info);
}

static void hls_publish(hub_t *hub, size_t index)
{
    hub_fragment_t *frag = fixture_hub_fragment(hls_stream, index,
                                                HLS_BASE_US);

    assert_non_null(frag);
    hub_publish(hub, frag);
    hub_fragment_unref(frag);
}

/* Returns the index of the n-th keyframe fragment (from 0). */
static size_t hls_keyframe(int n)
{
    for (size_t i = 0; i < hls_stream->frag_count; i++)
        if (hls_stream->frags[i].keyframe && n-- == 0)
            return i;
    fail_msg("the clip has too few keyframes");
    return 0;
}

/* Renders the playlist as a NUL-terminated string (caller frees). */
static char *hls_playlist_text(live_hls_t *h)
{
    vms_buf_t *buf = NULL;
    char *text;

    assert_int_equal(live_hls_playlist(h, "stream=main", &buf), 0);
    text = calloc(1, buf->len + 1);
    assert_non_null(text);
    memcpy(text, buf->data, buf->len);
    vms_buf_unref(buf);
    return text;
}

static int hls_count(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static int hls_wakes;

static void hls_count_wake(void *ctx)
{
    hls_wakes++;
}

static void hls_builds_parts_and_segments(void **state)
{
    hub_t *hub = hub_new();
    live_hls_t *h = NULL;
    vms_buf_t *buf = NULL;
    size_t second = hls_keyframe(1);
    size_t third = hls_keyframe(2);
    live_hls_position_t pos;
    char *text;
    size_t off = 0;

    assert_non_null(hub);
    hls_announce(hub);
    assert_int_equal(live_hls_new(hub, hls_count_wake, NULL, &h), 0);
    hls_wakes = 0;

    /* Until the first GOP ends there is no segment, so no playlist. */
    for (size_t i = 0; i < second; i++)
        hls_publish(hub, i);
    assert_int_equal(hls_wakes, (int)second);
    assert_int_equal(live_hls_playlist(h, "stream=main", &buf), -EAGAIN);
    assert_null(buf);
    assert_int_equal(live_hls_ready(h, 0, -1), 0);

    for (size_t i = second; i < third + 2; i++)
        hls_publish(hub, i);
    live_hls_get_position(h, &pos);
    assert_int_equal(pos.active, 1);
    assert_int_equal(pos.has_complete, 1);
    assert_int_equal(pos.last_complete, 2);
    assert_int_equal(pos.newest, 3);
    assert_int_equal(pos.newest_parts, 2);
    assert_int_equal(pos.next_part_seq, third + 3);
    assert_int_equal(pos.target_s, 5);

    text = hls_playlist_text(h);
    assert_non_null(strstr(text, "#EXTM3U\n"));
    assert_non_null(strstr(text, "#EXT-X-TARGETDURATION:5\n"));
    assert_non_null(strstr(text, "#EXT-X-PART-INF:PART-TARGET=0.480\n"));
    assert_non_null(strstr(text, "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="
                                 "1.440\n"));
    assert_non_null(strstr(text, "#EXT-X-MEDIA-SEQUENCE:1\n"));
    assert_non_null(strstr(text, "#EXT-X-INDEPENDENT-SEGMENTS\n"));
    assert_non_null(strstr(text, "#EXT-X-MAP:URI=\"init.mp4?stream=main&"
                                 "generation=1\"\n"));
    assert_non_null(strstr(text, "#EXTINF:4.800,\nseg/1.m4s?stream=main\n"));
    assert_non_null(strstr(text, "seg/2.m4s?stream=main\n"));
    assert_null(strstr(text, "seg/3.m4s"));
    assert_non_null(strstr(text, "URI=\"part/1.m4s?stream=main\","
                                 "INDEPENDENT=YES\n"));
    assert_int_equal(hls_count(text, "#EXT-X-PART:"), (int)third + 2);
    assert_int_equal(hls_count(text, "#EXT-X-PROGRAM-DATE-TIME:"), 3);
    assert_non_null(strstr(text, "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:"
                                 "13:20.000Z\n"));
    free(text);

    /* A segment is its fragments' bytes, in order. */
    assert_int_equal(live_hls_segment(h, 1, &buf), 0);
    for (size_t i = 0; i < second; i++) {
        const vms_buf_t *part = hls_stream->frags[i].data;

        assert_true(off + part->len <= buf->len);
        assert_memory_equal(buf->data + off, part->data, part->len);
        off += part->len;
    }
    assert_int_equal(off, buf->len);
    vms_buf_unref(buf);
    assert_int_equal(live_hls_segment(h, 3, &buf), -EAGAIN);
    assert_int_equal(live_hls_segment(h, 4, &buf), -ENOENT);

    /* Parts by hub sequence number: kept, next, and beyond. */
    assert_int_equal(live_hls_part(h, 1, &buf), 0);
    assert_ptr_equal(buf, hls_stream->frags[0].data);
    vms_buf_unref(buf);
    assert_int_equal(live_hls_part(h, third + 2, &buf), 0);
    vms_buf_unref(buf);
    assert_int_equal(live_hls_part(h, third + 3, &buf), -EAGAIN);
    assert_null(buf);
    assert_int_equal(live_hls_part(h, third + 4, &buf), -ENOENT);
    assert_int_equal(live_hls_part(h, 0, &buf), -ENOENT);

    assert_int_equal(live_hls_init(h, 0, &buf), 0);
    assert_ptr_equal(buf, hls_stream->init);
    vms_buf_unref(buf);
    assert_int_equal(live_hls_init(h, 9, &buf), -ENOENT);

    live_hls_free(h);
    live_hls_free(NULL);
    hub_free(hub);
}

static void hls_blocking_reload_readiness(void **state)
{
    hub_t *hub = hub_new();
    live_hls_t *h = NULL;
    size_t third = hls_keyframe(2);

    assert_non_null(hub);
    hls_announce(hub);
    assert_int_equal(live_hls_new(hub, NULL, NULL, &h), 0);
    for (size_t i = 0; i < third + 2; i++)
        hls_publish(hub, i);
    /* Segments 1 and 2 are complete; segment 3 has parts 0 and 1. */
    assert_int_equal(live_hls_ready(h, 2, -1), 1);
    assert_int_equal(live_hls_ready(h, 3, -1), 0);
    assert_int_equal(live_hls_ready(h, 3, 1), 1);
    assert_int_equal(live_hls_ready(h, 3, 2), 0);
    assert_int_equal(live_hls_ready(h, 2, 50), 1);
    assert_int_equal(live_hls_ready(h, 5, 0), 0);
    assert_int_equal(live_hls_ready(h, 6, 0), -ERANGE);

    hls_publish(hub, third + 2);
    assert_int_equal(live_hls_ready(h, 3, 2), 1);
    assert_int_equal(live_hls_ready(h, 3, 3), 0);
    live_hls_free(h);
    hub_free(hub);
}

static void hls_window_drops_old_segments(void **state)
{
    hub_t *hub = hub_new();
    live_hls_t *h = NULL;
    live_hls_position_t pos;
    vms_buf_t *buf = NULL;
    char *text;
    int keyframes = 0;

    assert_non_null(hub);
    hls_announce(hub);
    assert_int_equal(live_hls_new(hub, NULL, NULL, &h), 0);
    /* Two passes over the clip's fragments: 14 GOPs. Sequence numbers
     * keep growing because the hub numbers what it publishes. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < hls_stream->frag_count; i++) {
            keyframes += hls_stream->frags[i].keyframe;
            hls_publish(hub, i);
        }
    }
    live_hls_get_position(h, &pos);
    assert_int_equal(pos.newest, (uint64_t)keyframes);
    assert_int_equal(pos.last_complete, (uint64_t)keyframes - 1);
    text = hls_playlist_text(h);
    assert_int_equal(hls_count(text, "#EXTINF:"), LIVE_HLS_WINDOW);
    assert_int_equal(hls_count(text, "#EXT-X-PROGRAM-DATE-TIME:"),
                     LIVE_HLS_WINDOW + 1);
    assert_non_null(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"));
    assert_null(strstr(text, "#EXT-X-DISCONTINUITY\n"));
    free(text);
    assert_int_equal(live_hls_segment(h, 1, &buf), -ENOENT);
    assert_int_equal(live_hls_segment(h, (uint64_t)keyframes - 1, &buf), 0);
    vms_buf_unref(buf);
    assert_int_equal(live_hls_part(h, 1, &buf), -ENOENT);
    live_hls_free(h);
    hub_free(hub);
}

static void hls_new_generation_is_discontinuity(void **state)
{
    hub_t *hub = hub_new();
    live_hls_t *h = NULL;
    vms_buf_t *old_init = vms_buf_ref(hls_stream->init);
    vms_buf_t *buf = NULL;
    size_t second = hls_keyframe(1);
    char *text;

    assert_non_null(hub);
    hls_announce(hub);
    assert_int_equal(live_hls_new(hub, NULL, NULL, &h), 0);
    for (size_t i = 0; i < second + 1; i++)
        hls_publish(hub, i);

    /* The camera reconnects: the open segment closes, a new init
     * segment starts generation 2 at its first keyframe. */
    hub_set_inactive(hub);
    assert_int_equal(fixture_stream_mux(hls_stream, 6), 0);
    hls_announce(hub);
    for (size_t i = 0; i < second + 1; i++)
        hls_publish(hub, i);

    text = hls_playlist_text(h);
    assert_int_equal(hls_count(text, "#EXT-X-DISCONTINUITY\n"), 1);
    assert_non_null(strstr(text, "generation=1\""));
    assert_non_null(strstr(text, "generation=2\""));
    assert_int_equal(hls_count(text, "#EXT-X-MAP:"), 2);
    assert_non_null(strstr(text, "#EXT-X-INDEPENDENT-SEGMENTS"));
    free(text);
    assert_int_equal(live_hls_init(h, 1, &buf), 0);
    assert_ptr_equal(buf, old_init);
    vms_buf_unref(buf);
    assert_int_equal(live_hls_init(h, 2, &buf), 0);
    assert_ptr_equal(buf, hls_stream->init);
    vms_buf_unref(buf);

    /* Once generation 1 leaves the window, its tag is counted. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < hls_stream->frag_count; i++)
            hls_publish(hub, i);
    text = hls_playlist_text(h);
    assert_non_null(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"));
    assert_null(strstr(text, "#EXT-X-DISCONTINUITY\n"));
    assert_null(strstr(text, "generation=1\""));
    free(text);
    assert_int_equal(live_hls_init(h, 1, &buf), -ENOENT);
    live_hls_free(h);
    hub_free(hub);
    vms_buf_unref(old_init);
}

static void hls_starts_at_keyframe(void **state)
{
    hub_t *hub = hub_new();
    live_hls_t *h = NULL;
    live_hls_position_t pos;
    vms_buf_t *buf = NULL;
    size_t second = hls_keyframe(1);

    assert_non_null(hub);
    hls_announce(hub);
    /* The window opens mid-GOP with nothing cached in the hub: the
     * fragments before the next keyframe are not parts. */
    assert_int_equal(live_hls_new(hub, NULL, NULL, &h), 0);
    for (size_t i = 3; i < second; i++)
        hls_publish(hub, i);
    live_hls_get_position(h, &pos);
    assert_int_equal(pos.newest_parts, 0);
    assert_int_equal(live_hls_part(h, 1, &buf), -ENOENT);
    hls_publish(hub, second);
    live_hls_get_position(h, &pos);
    assert_int_equal(pos.newest, 1);
    assert_int_equal(pos.newest_parts, 1);
    live_hls_free(h);
    hub_free(hub);
}

static void hls_backlog_fills_first_segment(void **state)
{
    hub_t *hub = hub_new();
    live_hls_t *h = NULL;
    live_hls_position_t pos;
    size_t second = hls_keyframe(1);

    assert_non_null(hub);
    hls_announce(hub);
    for (size_t i = 0; i < second + 4; i++)
        hls_publish(hub, i);
    /* A new window starts with the hub's fragments since the latest
     * keyframe. */
    assert_int_equal(live_hls_new(hub, NULL, NULL, &h), 0);
    live_hls_get_position(h, &pos);
    assert_int_equal(pos.newest, 1);
    assert_int_equal(pos.newest_parts, 4);
    assert_int_equal(pos.has_complete, 0);
    live_hls_free(h);
    hub_free(hub);
}

static void hls_long_gop_is_cut(void **state)
{
    hub_t *hub = hub_new();
    live_hls_t *h = NULL;
    live_hls_position_t pos;
    char *text;

    assert_non_null(hub);
    /* One frame per fragment: 60 parts per GOP, more than a segment may
     * hold, so the GOP is cut and the rest is not independent. */
    assert_int_equal(fixture_stream_mux(hls_stream, 1), 0);
    hls_announce(hub);
    assert_int_equal(live_hls_new(hub, NULL, NULL, &h), 0);
    for (size_t i = 0; i < LIVE_HLS_PARTS_MAX + 5; i++)
        hls_publish(hub, i);
    live_hls_get_position(h, &pos);
    assert_int_equal(pos.last_complete, 1);
    assert_int_equal(pos.newest, 2);
    assert_int_equal(pos.newest_parts, 5);
    text = hls_playlist_text(h);
    assert_null(strstr(text, "#EXT-X-INDEPENDENT-SEGMENTS"));
    assert_int_equal(hls_count(text, "INDEPENDENT=YES"), 1);
    assert_non_null(strstr(text, "#EXTINF:3.200,\n"));
    free(text);
    live_hls_free(h);
    hub_free(hub);
    assert_int_equal(fixture_stream_mux(hls_stream, 6), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hls_builds_parts_and_segments),
        cmocka_unit_test(hls_blocking_reload_readiness),
        cmocka_unit_test(hls_window_drops_old_segments),
        cmocka_unit_test(hls_new_generation_is_discontinuity),
        cmocka_unit_test(hls_starts_at_keyframe),
        cmocka_unit_test(hls_backlog_fills_first_segment),
        cmocka_unit_test(hls_long_gop_is_cut),
    };

    return UNIT_RUN("hls", tests, hls_setup, hls_teardown, argc, argv);
}
