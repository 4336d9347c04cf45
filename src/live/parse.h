/*
 * Parsers of the live view's request text: the stream list of the
 * multiplexed WebSocket, HLS file names, and a JPEG's size. Each
 * rejects bad input with -EINVAL and, where a message helps, explains
 * it in err.
 */
#ifndef VMS_LIVE_PARSE_H
#define VMS_LIVE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* One entry of a stream list: a camera and "main" or "sub". */
typedef struct live_stream_ref {
    int64_t camera_id;
    char stream[8];
} live_stream_ref_t;

/* Parses "ID[:main|:sub],ID[:main|:sub],..." (":main" by default) into
 * at most max entries. Returns the number of entries (at least 1), or
 * -EINVAL with err set. */
int live_parse_stream_list(const char *text, live_stream_ref_t *out,
                           int max, char *err, size_t errlen);

/* Parses "NUMBER.m4s" (decimal digits only, no sign). Returns 0 or
 * -EINVAL. */
int live_parse_m4s_name(const char *name, uint64_t *out);

/* Reads the width and height from a JPEG's start-of-frame marker.
 * Returns 0 or -EINVAL. */
int live_parse_jpeg_size(const uint8_t *data, size_t len, int *width,
                         int *height);

#endif
