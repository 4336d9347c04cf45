/*
 * libFuzzer target: segment_parse_path() on arbitrary text. A path it
 * accepts must be exactly the one segment_format_path() gives for the
 * parsed parts (plus ".partial"), so that recovery indexes files under
 * the names the recorder writes.
 *
 * fuzz-sources: src/storage/segment.c
 * fuzz-packages: libavformat libavcodec libavutil libcrypto
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[256];
    char stream[8];
    char path[300];
    int64_t camera = 0;
    int64_t start = 0;
    int partial = -1;

    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (segment_parse_path(text, &camera, stream, sizeof(stream), &start,
                           &partial) != 0)
        return 0;
    if (camera <= 0 || start <= 0 || (partial != 0 && partial != 1))
        abort();
    if (segment_format_path(camera, stream, start, path, sizeof(path)) != 0)
        abort();
    if (partial)
        strcat(path, SEGMENT_PARTIAL_SUFFIX);
    if (strcmp(path, text) != 0) {
        fprintf(stderr, "'%s' parsed, but formats as '%s'\n", text, path);
        abort();
    }
    return 0;
}
