/*
 * libFuzzer target: the live view's request parsers, which read text
 * from any viewer's URL: live_parse_stream_list() (the multiplexed
 * WebSocket's streams= value), live_parse_m4s_name() (HLS part and
 * segment names) and live_parse_jpeg_size() (snapshot bytes). The input
 * is used whole by each parser.
 *
 * An accepted stream list must name 1 to 4 entries, each a positive
 * camera id with "main" or "sub", and an accepted .m4s name must be
 * decimal digits whose value is the number returned (leading zeros are
 * accepted).
 *
 * fuzz-sources: src/live/parse.c
 * fuzz-packages:
 * fuzz-functions: live_parse_stream_list live_parse_m4s_name live_parse_jpeg_size
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/parse.h"

#define FUZZ_MAX_ENTRIES 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    live_stream_ref_t refs[FUZZ_MAX_ENTRIES];
    char err[256];
    char back[32];
    char *text;
    uint64_t number;
    int width;
    int height;
    int n;

    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    n = live_parse_stream_list(text, refs, FUZZ_MAX_ENTRIES, err,
                               sizeof(err));
    if (n >= 0) {
        if (n < 1 || n > FUZZ_MAX_ENTRIES)
            abort();
        for (int i = 0; i < n; i++)
            if (refs[i].camera_id <= 0 || (strcmp(refs[i].stream, "main") &&
                                           strcmp(refs[i].stream, "sub")))
                abort();
    } else if (!err[0]) {
        abort(); /* a rejection must explain itself */
    }

    if (live_parse_m4s_name(text, &number) == 0) {
        const char *digits = text + strspn(text, "0");

        snprintf(back, sizeof(back), "%" PRIu64 ".m4s", number);
        if (strcmp(back, digits) != 0 &&
            !(number == 0 && strcmp(digits, ".m4s") == 0))
            abort();
    }

    if (live_parse_jpeg_size(data, size, &width, &height) == 0 &&
        (width <= 0 || height <= 0))
        abort();
    free(text);
    return 0;
}
