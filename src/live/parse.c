/* Live view parsers; see parse.h. */
#include "live/parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Parses a decimal number of at most 18 digits at *p, advancing it.
 * Returns 0 or -EINVAL. */
static int live_parse_decimal(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t value = 0;
    int digits = 0;

    while (*s >= '0' && *s <= '9') {
        if (++digits > 18)
            return -EINVAL;
        value = value * 10 + (uint64_t)(*s - '0');
        s++;
    }
    if (digits == 0)
        return -EINVAL;
    *p = s;
    *out = value;
    return 0;
}

int live_parse_stream_list(const char *text, live_stream_ref_t *out,
                           int max, char *err, size_t errlen)
{
    const char *p = text;
    int n = 0;

    if (!*p) {
        snprintf(err, errlen,
                 "missing streams: expected streams=ID:main,ID:sub,...");
        return -EINVAL;
    }
    while (*p) {
        const char *entry = p;
        const char *stream = "main";
        uint64_t id;

        if (n == max) {
            snprintf(err, errlen, "too many streams: at most %d", max);
            return -EINVAL;
        }
        if (live_parse_decimal(&p, &id) < 0 || id == 0) {
            snprintf(err, errlen,
                     "invalid camera id at '%.20s': expected a positive "
                     "integer",
                     entry);
            return -EINVAL;
        }
        if (*p == ':') {
            p++;
            if (strncmp(p, "main", 4) == 0) {
                p += 4;
            } else if (strncmp(p, "sub", 3) == 0) {
                stream = "sub";
                p += 3;
            } else {
                snprintf(err, errlen,
                         "invalid stream at '%.20s': expected main or sub",
                         p);
                return -EINVAL;
            }
        }
        if (*p == ',' && p[1]) {
            p++;
        } else if (*p) {
            snprintf(err, errlen,
                     "invalid stream list at '%.20s': expected a comma "
                     "between ID:STREAM entries",
                     p);
            return -EINVAL;
        }
        out[n].camera_id = (int64_t)id;
        snprintf(out[n].stream, sizeof(out[n].stream), "%s", stream);
        n++;
    }
    return n;
}

int live_parse_m4s_name(const char *name, uint64_t *out)
{
    const char *p = name;

    if (live_parse_decimal(&p, out) < 0 || strcmp(p, ".m4s") != 0)
        return -EINVAL;
    return 0;
}

int live_parse_jpeg_size(const uint8_t *data, size_t len, int *width,
                         int *height)
{
    size_t i = 2;

    if (len < 4 || data[0] != 0xff || data[1] != 0xd8)
        return -EINVAL;
    while (i + 4 <= len) {
        uint8_t marker = data[i + 1];
        size_t segment;

        if (data[i] != 0xff)
            return -EINVAL;
        /* Start-of-frame markers are C0 to CF except DHT (C4), JPG (C8)
         * and DAC (CC), per ITU-T T.81 table B.1. */
        if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 &&
            marker != 0xc8 && marker != 0xcc) {
            if (i + 9 > len)
                return -EINVAL;
            *height = (data[i + 5] << 8) | data[i + 6];
            *width = (data[i + 7] << 8) | data[i + 8];
            return *width > 0 && *height > 0 ? 0 : -EINVAL;
        }
        segment = ((size_t)data[i + 2] << 8) | data[i + 3];
        if (segment < 2)
            return -EINVAL;
        i += 2 + segment;
    }
    return -EINVAL;
}
