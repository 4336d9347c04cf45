#include "media/nal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum {
    NAL_H264_SPS = 7,
    NAL_H264_PPS = 8,
    NAL_HEVC_VPS = 32,
    NAL_HEVC_SPS = 33,
    NAL_HEVC_PPS = 34,
};

/* Returns the offset of the next 00 00 01 start code at or after pos,
 * or len if there is none. */
static size_t nal_find_start(const uint8_t *buf, size_t len, size_t pos)
{
    while (pos + 3 <= len) {
        if (buf[pos] == 0 && buf[pos + 1] == 0 && buf[pos + 2] == 1)
            return pos;
        pos++;
    }
    return len;
}

size_t nal_foreach_annexb(const uint8_t *buf, size_t len,
                          void (*fn)(void *ctx, const uint8_t *nal,
                                     size_t nal_len),
                          void *ctx)
{
    size_t count = 0;
    size_t pos = nal_find_start(buf, len, 0);

    while (pos < len) {
        size_t start = pos + 3;
        size_t next = nal_find_start(buf, len, start);
        size_t end = next;

        /* Trailing zero bytes belong to the next 4-byte start code. */
        while (end > start && buf[end - 1] == 0)
            end--;
        if (end > start) {
            fn(ctx, buf + start, end - start);
            count++;
        }
        pos = next;
    }
    return count;
}

static int nal_type(int hevc, const uint8_t *nal)
{
    return hevc ? (nal[0] >> 1) & 0x3f : nal[0] & 0x1f;
}

typedef struct nal_collect {
    int hevc;
    uint8_t *out;
    size_t cap;
    size_t len;
    int have_sps;
    int have_pps;
    int overflow;
} nal_collect_t;

static void nal_collect_one(void *ctx, const uint8_t *nal, size_t nal_len)
{
    nal_collect_t *c = ctx;
    int type = nal_type(c->hevc, nal);
    int is_sps = c->hevc ? type == NAL_HEVC_SPS : type == NAL_H264_SPS;
    int is_pps = c->hevc ? type == NAL_HEVC_PPS : type == NAL_H264_PPS;
    int is_vps = c->hevc && type == NAL_HEVC_VPS;

    if (!is_sps && !is_pps && !is_vps)
        return;
    if (c->len + 4 + nal_len > c->cap) {
        c->overflow = 1;
        return;
    }
    memcpy(c->out + c->len, "\0\0\0\1", 4);
    memcpy(c->out + c->len + 4, nal, nal_len);
    c->len += 4 + nal_len;
    c->have_sps |= is_sps;
    c->have_pps |= is_pps;
}

int nal_extract_parameter_sets(int hevc, const uint8_t *au, size_t au_len,
                               uint8_t *out, size_t cap, size_t *out_len)
{
    nal_collect_t c = {.hevc = hevc, .out = out, .cap = cap};

    *out_len = 0;
    nal_foreach_annexb(au, au_len, nal_collect_one, &c);
    if (c.overflow)
        return -ENOSPC;
    if (!c.have_sps || !c.have_pps)
        return -ENOENT;
    *out_len = c.len;
    return 0;
}

typedef struct nal_find_sps {
    int hevc;
    const uint8_t *sps;
    size_t len;
} nal_find_sps_t;

static void nal_find_sps_one(void *ctx, const uint8_t *nal, size_t nal_len)
{
    nal_find_sps_t *f = ctx;

    if (!f->sps && nal_type(f->hevc, nal) ==
                       (f->hevc ? NAL_HEVC_SPS : NAL_H264_SPS)) {
        f->sps = nal;
        f->len = nal_len;
    }
}

/* Copies up to cap bytes of the RBSP of nal (emulation prevention bytes
 * removed), starting after skip bytes of header. */
static size_t nal_unescape(const uint8_t *nal, size_t len, size_t skip,
                           uint8_t *out, size_t cap)
{
    size_t n = 0;
    int zeros = 0;

    for (size_t i = skip; i < len && n < cap; i++) {
        if (zeros >= 2 && nal[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = nal[i] == 0 ? zeros + 1 : 0;
        out[n++] = nal[i];
    }
    return n;
}

/* Fills the H.265 fields from the 12 bytes of a general
 * profile_tier_level: profile byte, 4 compat bytes, 6 constraint bytes,
 * level. */
static void nal_read_hevc_ptl(const uint8_t *p, nal_sps_info_t *info)
{
    info->profile_space = p[0] >> 6;
    info->tier_flag = (p[0] >> 5) & 1;
    info->profile_idc = p[0] & 0x1f;
    info->compat_flags = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
                         (uint32_t)p[3] << 8 | p[4];
    memcpy(info->constraint_bytes, p + 5, 6);
    info->level_idc = p[11];
}

int nal_parse_sps_info(int hevc, const uint8_t *data, size_t len,
                       nal_sps_info_t *info)
{
    nal_find_sps_t f = {.hevc = hevc};
    uint8_t rbsp[16];
    size_t n;

    memset(info, 0, sizeof(*info));
    info->hevc = hevc;
    if (!data || len < 4)
        return -EINVAL;

    if (data[0] == 1) {
        /* avcC: version, profile, compatibility, level. hvcC: version,
         * then the general profile_tier_level fields. */
        if (!hevc) {
            info->profile_idc = data[1];
            info->constraint_flags = data[2];
            info->level_idc = data[3];
            return 0;
        }
        if (len < 13)
            return -EINVAL;
        nal_read_hevc_ptl(data + 1, info);
        return 0;
    }

    nal_foreach_annexb(data, len, nal_find_sps_one, &f);
    if (!f.sps)
        return -EINVAL;
    if (!hevc) {
        n = nal_unescape(f.sps, f.len, 1, rbsp, 3);
        if (n < 3)
            return -EINVAL;
        info->profile_idc = rbsp[0];
        info->constraint_flags = rbsp[1];
        info->level_idc = rbsp[2];
        return 0;
    }
    /* H.265 SPS: 2-byte NAL header, one byte of ids and sub-layer
     * count, then the 12-byte general profile_tier_level. */
    n = nal_unescape(f.sps, f.len, 2, rbsp, 13);
    if (n < 13)
        return -EINVAL;
    nal_read_hevc_ptl(rbsp + 1, info);
    return 0;
}

/* Reverses the bit order of a 32-bit word. */
static uint32_t nal_reverse_bits(uint32_t v)
{
    uint32_t r = 0;

    for (int i = 0; i < 32; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

int nal_codec_string(const nal_sps_info_t *info, char *out, size_t len)
{
    int n;

    if (!info->hevc) {
        n = snprintf(out, len, "avc1.%02x%02x%02x", info->profile_idc,
                     info->constraint_flags, info->level_idc);
    } else {
        static const char space[] = {'\0', 'A', 'B', 'C'};
        char prefix[2] = {space[info->profile_space & 3], '\0'};
        char constraints[24] = "";
        int last = -1;
        size_t pos = 0;

        /* ISO/IEC 14496-15 E.3: constraint bytes in hex, trailing zero
         * bytes omitted. */
        for (int i = 0; i < 6; i++)
            if (info->constraint_bytes[i])
                last = i;
        for (int i = 0; i <= last; i++)
            pos += (size_t)snprintf(constraints + pos,
                                    sizeof(constraints) - pos, ".%X",
                                    info->constraint_bytes[i]);
        n = snprintf(out, len, "hvc1.%s%u.%X.%c%u%s", prefix,
                     info->profile_idc,
                     nal_reverse_bits(info->compat_flags),
                     info->tier_flag ? 'H' : 'L', info->level_idc,
                     constraints);
    }
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
