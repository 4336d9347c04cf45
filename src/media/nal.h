/*
 * H.264 and H.265 NAL unit helpers: finding parameter sets in Annex B
 * access units and reading the profile fields of a sequence parameter
 * set. Cameras do not always put valid parameter sets in the SDP, so the
 * ingest takes them from the stream itself with these functions.
 * Library code: every input is untrusted and bounds-checked.
 */
#ifndef VMS_MEDIA_NAL_H
#define VMS_MEDIA_NAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct nal_sps_info {
    int hevc;                   /* 0: H.264, 1: H.265 */
    uint8_t profile_idc;        /* H.264 profile_idc, H.265 general_profile_idc */
    uint8_t constraint_flags;   /* H.264 constraint_set flags byte */
    uint8_t level_idc;
    /* H.265 only */
    uint8_t profile_space;
    uint8_t tier_flag;
    uint32_t compat_flags;      /* general_profile_compatibility_flags */
    uint8_t constraint_bytes[6];
} nal_sps_info_t;

/* Calls fn for each NAL unit of an Annex B buffer (start codes
 * removed). Returns the number of NAL units seen. */
size_t nal_foreach_annexb(const uint8_t *buf, size_t len,
                          void (*fn)(void *ctx, const uint8_t *nal,
                                     size_t nal_len),
                          void *ctx);

/* Copies the VPS, SPS and PPS NAL units of an Annex B access unit into
 * out as an Annex B buffer (4-byte start codes), the form that FFmpeg
 * accepts as extradata. Returns 0, -ENOENT if an SPS or PPS is missing,
 * or -ENOSPC if out is too small. */
int nal_extract_parameter_sets(int hevc, const uint8_t *au, size_t au_len,
                               uint8_t *out, size_t cap, size_t *out_len);

/* Reads the profile fields from extradata in avcC, hvcC or Annex B form.
 * Returns 0 or -EINVAL. */
int nal_parse_sps_info(int hevc, const uint8_t *data, size_t len,
                       nal_sps_info_t *info);

/* Formats the RFC 6381 codec string ("avc1.42c01e", "hvc1.1.6.L93.B0").
 * Returns 0 or -ENOSPC. */
int nal_codec_string(const nal_sps_info_t *info, char *out, size_t len);

#endif
