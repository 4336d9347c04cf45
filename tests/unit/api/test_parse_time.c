/* Tests of api_parse_time(), which reads the from and to arguments of
 * the recordings and playback requests. */
#include <errno.h>

#include "api/internal.h"
#include "unit.h"

/* Fails the test unless text parses to expected_us. */
static void test_accepts(const char *text, int64_t expected_us)
{
    int64_t out = 0;
    int rc = api_parse_time(text, &out);

    if (rc != 0)
        fail_msg("'%s' rejected with %d", text, rc);
    if (out != expected_us)
        fail_msg("'%s' = %lld, expected %lld", text, (long long)out,
                 (long long)expected_us);
}

/* Fails the test unless text is rejected with -EINVAL and the output
 * is left alone. */
static void test_rejects(const char *text)
{
    int64_t out = 42;
    int rc = api_parse_time(text, &out);

    if (rc != -EINVAL)
        fail_msg("'%s' returned %d (out %lld), expected -EINVAL",
                 text ? text : "NULL", rc, (long long)out);
    assert_int_equal(out, 42);
}

static void parse_time_integers(void **state)
{
    test_accepts("0", 0);
    test_accepts("1", 1);
    test_accepts("1769860800000000", 1769860800000000LL);
    /* The end of year 9999, the latest time accepted. */
    test_accepts("253402300799999999", 253402300799999999LL);
}

static void parse_time_rejects_out_of_range(void **state)
{
    /* Outside 1970 to 9999, where a range length could overflow. */
    test_rejects("-1");
    test_rejects("-1000000");
    test_rejects("253402300800000000");
    test_rejects("9223372036854775807");
    test_rejects("-9223372036854775808");
}

static void parse_time_iso_without_fraction(void **state)
{
    test_accepts("2026-01-31T12:00:00Z", 1769860800000000LL);
    test_accepts("1970-01-01T00:00:00Z", 0);
    test_accepts("2000-02-29T23:59:59Z", 951868799000000LL);
    /* Past the 32-bit time_t limit. */
    test_accepts("2038-01-19T03:14:08Z", 2147483648000000LL);
}

static void parse_time_iso_with_fraction(void **state)
{
    test_accepts("2026-01-31T12:00:00.5Z", 1769860800500000LL);
    test_accepts("2026-01-31T12:00:00.000001Z", 1769860800000001LL);
    test_accepts("2026-01-31T12:00:00.123456Z", 1769860800123456LL);
    /* Digits past microseconds are dropped, not rounded. */
    test_accepts("2026-01-31T12:00:00.9999999Z", 1769860800999999LL);
    test_accepts("2026-01-31T12:00:00.250+00:00", 1769860800250000LL);
}

static void parse_time_utc_offset_forms(void **state)
{
    test_accepts("2026-01-31T12:00:00+00:00", 1769860800000000LL);
    test_rejects("2026-01-31T12:00:00+01:00");
    test_rejects("2026-01-31T12:00:00-00:00");
    test_rejects("2026-01-31T12:00:00z");
    test_rejects("2026-01-31T12:00:00");
    test_rejects("2026-01-31T12:00:00 Z");
    test_rejects("2026-01-31T12:00:00ZZ");
    test_rejects("2026-01-31T12:00:00+00:00Z");
}

static void parse_time_rejects_malformed(void **state)
{
    test_rejects(NULL);
    test_rejects("");
    test_rejects("now");
    test_rejects("12abc");
    test_rejects("1.5");
    test_rejects("0x10");
    test_rejects("99999999999999999999");
    test_rejects("2026-01-31");
    test_rejects("2026-01-31 12:00:00Z");
    test_rejects("2026-01-31T12:00Z");
    test_rejects("2026-13-01T00:00:00Z");
    test_rejects("2026-01-32T00:00:00Z");
    test_rejects("2026-01-31T24:00:00Z");
    test_rejects("2026-01-31T12:60:00Z");
    test_rejects("2026-01-31T12:00:00.Z");
    test_rejects("2026-01-31T12:00:00.5x");
}

static void parse_time_rejects_impossible_dates(void **state)
{
    /* Days that the month does not have would be moved into the next
     * month by timegm(). */
    test_rejects("2026-02-29T00:00:00Z");
    test_rejects("2026-02-30T00:00:00Z");
    test_rejects("2026-04-31T00:00:00Z");
    test_rejects("1900-02-29T00:00:00Z");
    test_accepts("2024-02-29T00:00:00Z", 1709164800000000LL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_time_integers),
        cmocka_unit_test(parse_time_rejects_out_of_range),
        cmocka_unit_test(parse_time_iso_without_fraction),
        cmocka_unit_test(parse_time_iso_with_fraction),
        cmocka_unit_test(parse_time_utc_offset_forms),
        cmocka_unit_test(parse_time_rejects_malformed),
        cmocka_unit_test(parse_time_rejects_impossible_dates),
    };

    return UNIT_RUN("api_parse_time", tests, NULL, NULL, argc, argv);
}
