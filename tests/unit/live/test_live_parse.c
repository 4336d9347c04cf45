/* Tests of the live view's parsers (live/parse.h) and latency
 * histograms (live/latency.h), with a randomized fuzz loop over the
 * parsers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live/latency.h"
#include "live/parse.h"
#include "unit.h"

static void parse_stream_list_accepts(void **state)
{
    live_stream_ref_t refs[4];
    char err[160] = "";

    assert_int_equal(live_parse_stream_list("7", refs, 4, err, sizeof(err)),
                     1);
    assert_int_equal(refs[0].camera_id, 7);
    assert_string_equal(refs[0].stream, "main");
    assert_int_equal(live_parse_stream_list("1:main,2:sub,3", refs, 4, err,
                                            sizeof(err)),
                     3);
    assert_int_equal(refs[1].camera_id, 2);
    assert_string_equal(refs[1].stream, "sub");
    assert_int_equal(refs[2].camera_id, 3);
    assert_string_equal(refs[2].stream, "main");
    assert_int_equal(live_parse_stream_list("1,1,1,1", refs, 4, err,
                                            sizeof(err)),
                     4);
}

static void parse_stream_list_rejects(void **state)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"", "missing streams"},
        {"0", "invalid camera id"},
        {"-1", "invalid camera id"},
        {"x", "invalid camera id"},
        {"1:side", "invalid stream"},
        {"1:", "invalid stream"},
        {"1,", "expected a comma"},
        {"1;2", "expected a comma"},
        {"1:mainx", "expected a comma"},
        {"1,,2", "invalid camera id"},
        {"1234567890123456789", "invalid camera id"},
        {"1,2,3,4,5", "too many streams"},
    };
    live_stream_ref_t refs[4];
    char err[160];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        assert_int_equal(live_parse_stream_list(cases[i].text, refs, 4, err,
                                                sizeof(err)),
                         -EINVAL);
        if (!strstr(err, cases[i].message))
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].text, err,
                     cases[i].message);
    }
}

static void parse_m4s_names(void **state)
{
    uint64_t n = 0;

    assert_int_equal(live_parse_m4s_name("0.m4s", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(live_parse_m4s_name("123456789.m4s", &n), 0);
    assert_int_equal(n, 123456789);
    assert_int_equal(live_parse_m4s_name("", &n), -EINVAL);
    assert_int_equal(live_parse_m4s_name(".m4s", &n), -EINVAL);
    assert_int_equal(live_parse_m4s_name("-1.m4s", &n), -EINVAL);
    assert_int_equal(live_parse_m4s_name("+1.m4s", &n), -EINVAL);
    assert_int_equal(live_parse_m4s_name("1.mp4", &n), -EINVAL);
    assert_int_equal(live_parse_m4s_name("1.m4s/x", &n), -EINVAL);
    assert_int_equal(live_parse_m4s_name("1234567890123456789.m4s", &n),
                     -EINVAL);
}

static void parse_jpeg_size_reads_sof(void **state)
{
    /* SOI, an APP0 segment of 4 bytes, then SOF0 of 640x360. */
    static const uint8_t jpeg[] = {
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00,
        0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x68, 0x02, 0x80,
    };
    int width = 0;
    int height = 0;

    assert_int_equal(live_parse_jpeg_size(jpeg, sizeof(jpeg), &width,
                                          &height),
                     0);
    assert_int_equal(width, 640);
    assert_int_equal(height, 360);
    assert_int_equal(live_parse_jpeg_size(jpeg, sizeof(jpeg) - 1, &width,
                                          &height),
                     -EINVAL);
    assert_int_equal(live_parse_jpeg_size(jpeg + 1, sizeof(jpeg) - 1,
                                          &width, &height),
                     -EINVAL);
    assert_int_equal(live_parse_jpeg_size(jpeg, 2, &width, &height),
                     -EINVAL);
}

/* Mutates a seed with random bytes, cuts and splices. */
static size_t parse_mutate(const char *seed, char *out, size_t cap,
                           unsigned *rng)
{
    size_t len = strlen(seed);
    int edits = 1 + rand_r(rng) % 4;

    if (len >= cap)
        len = cap - 1;
    memcpy(out, seed, len);
    for (int e = 0; e < edits; e++) {
        size_t at = len ? (size_t)rand_r(rng) % (len + 1) : 0;

        switch (rand_r(rng) % 3) {
        case 0: /* replace */
            if (at < len)
                out[at] = (char)(1 + rand_r(rng) % 255);
            break;
        case 1: /* insert */
            if (len + 1 < cap) {
                memmove(out + at + 1, out + at, len - at);
                out[at] = "0123456789:,mainsub\xff"[rand_r(rng) % 20];
                len++;
            }
            break;
        default: /* cut */
            len = at;
            break;
        }
    }
    out[len] = '\0';
    return len;
}

static void parse_fuzz_no_crash(void **state)
{
    static const char *const seeds[] = {
        "1:main,2:sub", "17", "3:sub,4:main,5,6:sub", "12.m4s", "0.m4s",
    };
    unsigned rng = 12345;
    char input[64];
    live_stream_ref_t refs[16];
    const int max = (int)(sizeof(refs) / sizeof(refs[0]));
    char err[160];

    for (int i = 0; i < 200000; i++) {
        const char *seed = seeds[(size_t)i % (sizeof(seeds) /
                                              sizeof(seeds[0]))];
        size_t len = parse_mutate(seed, input, sizeof(input), &rng);
        uint64_t n;
        int width;
        int height;
        int count = live_parse_stream_list(input, refs, max, err,
                                           sizeof(err));

        if (count < 0) {
            assert_int_equal(count, -EINVAL);
            assert_true(err[0] != '\0');
        } else {
            assert_true(count >= 1 && count <= max);
            for (int j = 0; j < count; j++) {
                assert_true(refs[j].camera_id > 0);
                assert_true(strcmp(refs[j].stream, "main") == 0 ||
                            strcmp(refs[j].stream, "sub") == 0);
            }
        }
        if (live_parse_m4s_name(input, &n) == 0)
            assert_non_null(strstr(input, ".m4s"));
        (void)live_parse_jpeg_size((const uint8_t *)input, len, &width,
                                   &height);
    }
}

static void latency_quantiles_within_bucket(void **state)
{
    live_latency_t h;
    live_latency_t other;

    memset(&h, 0, sizeof(h));
    assert_int_equal(live_latency_quantile(&h, 0.5), 0);
    /* 1 to 1000 us: the p50 is 500 and the p99 990, within 1/16. */
    for (int us = 1; us <= 1000; us++)
        live_latency_add(&h, us);
    assert_int_equal(h.count, 1000);
    assert_int_equal(h.max_us, 1000);
    assert_true(live_latency_quantile(&h, 0.5) >= 500);
    assert_true(live_latency_quantile(&h, 0.5) <= 500 + 500 / 16);
    assert_true(live_latency_quantile(&h, 0.99) >= 990);
    assert_true(live_latency_quantile(&h, 0.99) <= 1000);
    assert_int_equal(live_latency_quantile(&h, 1.0), 1000);
    assert_int_equal(live_latency_quantile(&h, 0.0), 1);
    /* Small values are exact. */
    memset(&other, 0, sizeof(other));
    live_latency_add(&other, 7);
    live_latency_add(&other, -5);
    assert_int_equal(live_latency_quantile(&other, 0.5), 0);
    assert_int_equal(live_latency_quantile(&other, 1.0), 7);
    /* Huge values land in the last bucket. */
    live_latency_add(&other, INT64_MAX);
    assert_int_equal(other.buckets[LIVE_LATENCY_BUCKETS - 1], 1);
    live_latency_merge(&h, &other);
    assert_int_equal(h.count, 1003);
    assert_int_equal(h.max_us, (uint64_t)INT64_MAX);
    assert_true(live_latency_quantile(&h, 0.5) <= 500 + 500 / 16);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_stream_list_accepts),
        cmocka_unit_test(parse_stream_list_rejects),
        cmocka_unit_test(parse_m4s_names),
        cmocka_unit_test(parse_jpeg_size_reads_sof),
        cmocka_unit_test(parse_fuzz_no_crash),
        cmocka_unit_test(latency_quantiles_within_bucket),
    };

    return UNIT_RUN("live_parse", tests, NULL, NULL, argc, argv);
}
