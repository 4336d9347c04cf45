/*
 * libFuzzer target: api_parse_time() on arbitrary text. A time it
 * accepts in ISO 8601 form must be the date and time written in it, so
 * no day may move into the next month. It must also print back, with
 * six fraction digits, to a string that parses to the same microsecond.
 *
 * Only api_parse_time() is needed from recordings.c: the script
 * instruments just the functions named below and lets the linker drop
 * the rest of the file, whose other functions need the whole server.
 *
 * fuzz-sources: src/api/recordings.c
 * fuzz-packages: libwebsockets jansson libavformat libavcodec libavutil
 * fuzz-functions: api_parse_time
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[128];
    char again[96];
    struct tm tm;
    time_t secs;
    int64_t us = 0;
    int64_t us_again = 0;
    int64_t frac;
    int year, month, day, hour, minute, second;

    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (api_parse_time(text, &us) != 0)
        return 0;
    if (!strchr(text, 'T'))
        return 0; /* integer microseconds */

    /* Years 0 to 9999 fit strptime's %Y and the ISO form. */
    secs = (time_t)(us / 1000000);
    frac = us % 1000000;
    if (frac < 0) {
        secs--;
        frac += 1000000;
    }
    if (!gmtime_r(&secs, &tm) || tm.tm_year + 1900 < 0 ||
        tm.tm_year + 1900 > 9999)
        return 0;
    /* A leap second (:60) legitimately becomes the next minute. */
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour,
               &minute, &second) == 6 &&
        second < 60 &&
        (tm.tm_year + 1900 != year || tm.tm_mon + 1 != month ||
         tm.tm_mday != day || tm.tm_hour != hour || tm.tm_min != minute ||
         tm.tm_sec != second)) {
        fprintf(stderr, "'%s' parsed as %04d-%02d-%02dT%02d:%02d:%02d\n",
                text, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
        abort();
    }
    snprintf(again, sizeof(again), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long long)frac);
    if (api_parse_time(again, &us_again) != 0 || us_again != us) {
        fprintf(stderr, "'%s' = %lld, but '%s' = %lld\n", text,
                (long long)us, again, (long long)us_again);
        abort();
    }
    return 0;
}
