/*
 * libFuzzer target: the Annex B parsing of nal.c. The first byte picks
 * the codec (bit 0: H.265) and the output capacity; the rest is the
 * access unit, which is also read as avcC or hvcC extradata.
 *
 * fuzz-sources: src/media/nal.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/nal.h"

/* Checks that every NAL unit in the output is a parameter set. */
static void fuzz_check_unit(void *ctx, const uint8_t *nal, size_t len)
{
    int hevc = *(const int *)ctx;
    int type = hevc ? (nal[0] >> 1) & 0x3f : nal[0] & 0x1f;

    if (len == 0)
        abort();
    if (hevc ? type < 32 || type > 34 : type != 7 && type != 8)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[1024];
    size_t out_len = 0;
    size_t cap;
    nal_sps_info_t info;
    char codec[64];
    int hevc;
    int rc;

    if (size < 1)
        return 0;
    hevc = data[0] & 1;
    cap = (size_t)(data[0] >> 1) * 8; /* 0 to 1016 bytes */
    data++;
    size--;

    rc = nal_extract_parameter_sets(hevc, data, size, out, cap, &out_len);
    if (rc == 0) {
        if (out_len > cap || out_len < 8)
            abort();
        if (nal_foreach_annexb(out, out_len, fuzz_check_unit, &hevc) < 2)
            abort();
    } else if (rc != -ENOENT && rc != -ENOSPC) {
        abort();
    } else if (out_len != 0) {
        abort();
    }

    rc = nal_parse_sps_info(hevc, data, size, &info);
    if (rc == 0) {
        if (info.hevc != hevc)
            abort();
        /* A 64-byte buffer fits every codec string. */
        if (nal_codec_string(&info, codec, sizeof(codec)) != 0)
            abort();
        if (strncmp(codec, hevc ? "hvc1." : "avc1.", 5) != 0)
            abort();
        nal_codec_string(&info, codec, (size_t)(data[0] % 16));
    } else if (rc != -EINVAL) {
        abort();
    }
    return 0;
}
