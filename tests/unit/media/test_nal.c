/*
 * Tests of the NAL unit helpers (nal.h) on parameter sets that real
 * cameras sent, and on hand-built access units around them. The sets
 * are read from this file:
 *   tests/data/codec/parameter_sets_from_real_cameras.tsv
 */
#include <errno.h>
#include <stdlib.h>

#include <libavutil/base64.h>

#include "media/nal.h"
#include "unit.h"

#define NAL_TSV TEST_DATA_DIR "/codec/parameter_sets_from_real_cameras.tsv"
#define NAL_ROW_MAX 32
#define NAL_BYTES_MAX 512

/* One data row of the TSV, decoded. Rows whose value is SDP text
 * (encoding "text") have no bytes. */
typedef struct nal_row {
    char vendor[96];
    int hevc;
    char kind[64];          /* the "nal" column: sps, annexb(...), ... */
    uint8_t annexb[NAL_BYTES_MAX]; /* the value as an Annex B buffer */
    size_t annexb_len;
    int width;              /* 0 when the file gives none */
    int height;
} nal_row_t;

static nal_row_t nal_rows[NAL_ROW_MAX];
static int nal_row_count;

/* The codec string that each row's profile, constraint and level
 * fields give, worked out by hand from the SPS bytes; NULL for SDP
 * text rows. */
static const struct {
    const char *vendor;
    const char *codec;
} nal_expected[] = {
    {"Amcrest AD410", "avc1.420032"},      /* Baseline, level 5.0 */
    {"Sonoff", "avc1.4d0029"},             /* Main, level 4.1 */
    {"Dahua", "avc1.4d4032"},              /* Main, constraint_set1, 5.0 */
    {"Reolink", "avc1.640033"},            /* High, level 5.1 */
    {"TP-Link (main)", "avc1.640028"},     /* High, level 4.0 */
    {"TP-Link (sub)", "avc1.640016"},      /* High, level 2.2 */
    {"unknown camera", "avc1.64001f"},     /* High, level 3.1 */
    {"unknown camera", "avc1.64001e"},     /* High, level 3.0 */
    /* H.265 Main (profile 1, compatible with Main and Main 10: flags 1
     * and 2, "6"), Main tier, level 5.1 (153), no constraint flags. */
    {"unknown 5120x1440 camera", "hvc1.1.6.L153"},
    /* Main, compatible with Main only ("2"), High tier, level 5.0,
     * progressive_source and frame_only_constraint set (0x90). */
    {"unknown camera", "hvc1.1.2.H150.90"},
    {"Reolink", "hvc1.1.6.L150"},
    {"Dahua", "hvc1.1.2.L153"},
    {"USB camera", "avc1.4d001f"},         /* Main, level 3.1 */
    {"OpenIPC", NULL},
    {"Eufy T8400", NULL},
    /* The SDP's profile-level-id is 420029 (Baseline), but the SPS
     * declares Main, and the SPS is what the decoder uses. */
    {"Hikvision DS-2CD (retina hikvision_describe)", "avc1.4d0029"},
    {"Vitek (retina vitek_describe)", "hvc1.1.6.L150"},
};

#define NAL_EXPECTED_COUNT (int)(sizeof(nal_expected) / sizeof(nal_expected[0]))

static const uint8_t nal_start4[] = {0, 0, 0, 1};

/* Appends a 4-byte start code and nal to row->annexb. */
static void nal_row_append(nal_row_t *row, const uint8_t *nal, size_t len)
{
    assert_true(row->annexb_len + 4 + len <= sizeof(row->annexb));
    memcpy(row->annexb + row->annexb_len, nal_start4, 4);
    memcpy(row->annexb + row->annexb_len + 4, nal, len);
    row->annexb_len += 4 + len;
}

/* Decodes hex digits, skipping spaces, into out; returns the length. */
static size_t nal_decode_hex(const char *text, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int high = -1;

    for (const char *p = text; *p; p++) {
        int v = 0;

        if (*p == ' ')
            continue;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            fail_msg("invalid hex digit '%c' in the TSV", *p);
        if (high < 0) {
            high = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(high << 4 | v);
            high = -1;
        }
    }
    assert_int_equal(high, -1);
    return n;
}

/* Fills row from the TSV columns. A base64 value contains one NAL unit
 * per part, separated by ',' or ';'. A hex value is one NAL unit (kind
 * "sps") or a whole Annex B buffer. */
static void nal_row_parse(nal_row_t *row, char **cols)
{
    const char *encoding = cols[3];
    char *value = cols[4];

    snprintf(row->vendor, sizeof(row->vendor), "%s", cols[0]);
    row->hevc = strcmp(cols[1], "h265") == 0;
    snprintf(row->kind, sizeof(row->kind), "%s", cols[2]);
    row->width = atoi(cols[5]);
    row->height = atoi(cols[6]);

    if (strcmp(encoding, "base64") == 0) {
        char *save = NULL;

        for (char *part = strtok_r(value, ",;", &save); part;
             part = strtok_r(NULL, ",;", &save)) {
            uint8_t nal[NAL_BYTES_MAX];
            int n = av_base64_decode(nal, part, sizeof(nal));

            assert_true(n > 0);
            nal_row_append(row, nal, (size_t)n);
        }
    } else if (strcmp(encoding, "hex") == 0) {
        if (strncmp(row->kind, "annexb", 6) == 0) {
            row->annexb_len = nal_decode_hex(value, row->annexb,
                                             sizeof(row->annexb));
        } else {
            uint8_t nal[NAL_BYTES_MAX];
            size_t n = nal_decode_hex(value, nal, sizeof(nal));

            nal_row_append(row, nal, n);
        }
    } else {
        assert_string_equal(encoding, "text");
    }
}

/* Reads every data row of the TSV. */
static int nal_load_rows(void **state)
{
    FILE *f = fopen(NAL_TSV, "r");
    char line[4096];

    if (!f) {
        fprintf(stderr, "cannot open %s\n", NAL_TSV);
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *cols[8] = {0};
        char *save = NULL;
        int ncols = 0;

        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        for (char *col = strtok_r(line, "\t", &save); col && ncols < 8;
             col = strtok_r(NULL, "\t", &save))
            cols[ncols++] = col;
        if (ncols < 8 || nal_row_count == NAL_ROW_MAX) {
            fclose(f);
            return -1;
        }
        nal_row_parse(&nal_rows[nal_row_count++], cols);
    }
    fclose(f);
    return 0;
}

static void nal_tsv_rows_match_expectations(void **state)
{
    assert_int_equal(nal_row_count, NAL_EXPECTED_COUNT);
    for (int i = 0; i < nal_row_count; i++)
        assert_string_equal(nal_rows[i].vendor, nal_expected[i].vendor);
}

static void nal_codec_strings_from_annexb(void **state)
{
    for (int i = 0; i < nal_row_count; i++) {
        const nal_row_t *row = &nal_rows[i];
        nal_sps_info_t info;
        char codec[64];

        if (!nal_expected[i].codec)
            continue;
        assert_int_equal(nal_parse_sps_info(row->hevc, row->annexb,
                                            row->annexb_len, &info),
                         0);
        assert_int_equal(info.hevc, row->hevc);
        assert_int_equal(nal_codec_string(&info, codec, sizeof(codec)), 0);
        if (strcmp(codec, nal_expected[i].codec) != 0)
            fail_msg("row %d (%s): codec %s, expected %s", i, row->vendor,
                     codec, nal_expected[i].codec);
    }
}

/* H.264 MaxFS (Table A-1 of ITU-T H.264): the largest frame, in
 * macroblocks, that a level allows. */
static int nal_h264_max_fs(int level_idc)
{
    static const int table[][2] = {
        {10, 99},    {11, 396},   {12, 396},   {13, 396},   {20, 396},
        {21, 792},   {22, 1620},  {30, 1620},  {31, 3600},  {32, 5120},
        {40, 8192},  {41, 8192},  {42, 8704},  {50, 22080}, {51, 36864},
        {52, 36864},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i][0] == level_idc)
            return table[i][1];
    return 0;
}

/* H.265 MaxLumaPs (Table A.8 of ITU-T H.265) for general_level_idc,
 * which is 30 times the level number. */
static long nal_hevc_max_luma_ps(int level_idc)
{
    if (level_idc <= 30)
        return 36864;
    if (level_idc <= 60)
        return 122880;
    if (level_idc <= 63)
        return 245760;
    if (level_idc <= 90)
        return 552960;
    if (level_idc <= 93)
        return 983040;
    if (level_idc <= 123)
        return 2228224;
    if (level_idc <= 156)
        return 8912896;
    return 35651584;
}

static void nal_levels_admit_stated_sizes(void **state)
{
    for (int i = 0; i < nal_row_count; i++) {
        const nal_row_t *row = &nal_rows[i];
        nal_sps_info_t info;

        if (!nal_expected[i].codec || row->width <= 0 || row->height <= 0)
            continue;
        assert_int_equal(nal_parse_sps_info(row->hevc, row->annexb,
                                            row->annexb_len, &info),
                         0);
        if (!row->hevc) {
            int mbs = ((row->width + 15) / 16) * ((row->height + 15) / 16);
            int max_fs = nal_h264_max_fs(info.level_idc);

            if (max_fs == 0 || mbs > max_fs)
                fail_msg("row %d (%s): %dx%d does not fit level_idc %d",
                         i, row->vendor, row->width, row->height,
                         info.level_idc);
            /* Baseline 66, Main 77, High 100. */
            assert_true(info.profile_idc == 66 || info.profile_idc == 77 ||
                        info.profile_idc == 100);
        } else {
            long luma = (long)row->width * row->height;

            if (luma > nal_hevc_max_luma_ps(info.level_idc))
                fail_msg("row %d (%s): %dx%d does not fit level_idc %d",
                         i, row->vendor, row->width, row->height,
                         info.level_idc);
            assert_int_equal(info.profile_idc, 1); /* Main */
            /* A Main stream sets its own compatibility flag (flag 1,
             * the second-highest bit). */
            assert_true(info.compat_flags & 0x40000000u);
        }
    }
}

/* Returns the row for vendor whose kind starts with kind. */
static const nal_row_t *nal_find_row(const char *vendor, const char *kind)
{
    for (int i = 0; i < nal_row_count; i++)
        if (strcmp(nal_rows[i].vendor, vendor) == 0 &&
            strncmp(nal_rows[i].kind, kind, strlen(kind)) == 0)
            return &nal_rows[i];
    fail_msg("no TSV row for %s (%s)", vendor, kind);
    return NULL;
}

/* Appends a start code of 3 or 4 bytes and nal to buf. */
static size_t nal_put(uint8_t *buf, size_t pos, int start_len,
                      const uint8_t *nal, size_t len)
{
    if (start_len == 4)
        buf[pos++] = 0;
    buf[pos++] = 0;
    buf[pos++] = 0;
    buf[pos++] = 1;
    memcpy(buf + pos, nal, len);
    return pos + len;
}

/* The NAL units of row->annexb, for building new access units. */
typedef struct nal_list {
    const uint8_t *nal[8];
    size_t len[8];
    int count;
} nal_list_t;

static void nal_list_add(void *ctx, const uint8_t *nal, size_t len)
{
    nal_list_t *list = ctx;

    assert_true(list->count < 8);
    list->nal[list->count] = nal;
    list->len[list->count] = len;
    list->count++;
}

static const uint8_t nal_h264_idr[] = {0x65, 0x88, 0x84, 0x00, 0x33, 0xff};
static const uint8_t nal_h264_sei[] = {0x06, 0x05, 0x02, 0xaa, 0xbb, 0x80};
static const uint8_t nal_h264_aud[] = {0x09, 0xf0};

/* Builds AUD, SEI, SPS, PPS, IDR with start codes of start_len bytes
 * from the Hikvision SPS and PPS and checks the extracted sets. */
static void nal_check_h264_extract(int start_len)
{
    const nal_row_t *row = nal_find_row(
        "Hikvision DS-2CD (retina hikvision_describe)", "sps,pps");
    nal_list_t sets = {0};
    uint8_t au[1024];
    uint8_t out[1024];
    uint8_t expected[1024];
    size_t pos = 0;
    size_t expected_len = 0;
    size_t out_len = 12345;

    nal_foreach_annexb(row->annexb, row->annexb_len, nal_list_add, &sets);
    assert_int_equal(sets.count, 2);
    pos = nal_put(au, pos, start_len, nal_h264_aud, sizeof(nal_h264_aud));
    pos = nal_put(au, pos, start_len, nal_h264_sei, sizeof(nal_h264_sei));
    pos = nal_put(au, pos, start_len, sets.nal[0], sets.len[0]);
    pos = nal_put(au, pos, start_len, sets.nal[1], sets.len[1]);
    pos = nal_put(au, pos, start_len, nal_h264_idr, sizeof(nal_h264_idr));

    expected_len = nal_put(expected, 0, 4, sets.nal[0], sets.len[0]);
    expected_len = nal_put(expected, expected_len, 4, sets.nal[1],
                           sets.len[1]);

    assert_int_equal(nal_extract_parameter_sets(0, au, pos, out, sizeof(out),
                                                &out_len),
                     0);
    assert_int_equal(out_len, expected_len);
    assert_memory_equal(out, expected, expected_len);
}

static void nal_extracts_h264_with_4_byte_start_codes(void **state)
{
    nal_check_h264_extract(4);
}

static void nal_extracts_h264_with_3_byte_start_codes(void **state)
{
    nal_check_h264_extract(3);
}

static void nal_extracts_h264_with_zero_padding(void **state)
{
    const nal_row_t *row = nal_find_row("USB camera", "annexb");
    nal_list_t sets = {0};
    uint8_t out[256];
    size_t out_len = 0;

    assert_int_equal(nal_extract_parameter_sets(0, row->annexb,
                                                row->annexb_len, out,
                                                sizeof(out), &out_len),
                     0);
    /* SPS and PPS, without the zero bytes that pad the PPS. */
    nal_foreach_annexb(out, out_len, nal_list_add, &sets);
    assert_int_equal(sets.count, 2);
    assert_int_equal(sets.nal[0][0] & 0x1f, 7);
    assert_int_equal(sets.len[0], 23);
    assert_int_equal(sets.nal[1][0] & 0x1f, 8);
    assert_int_equal(sets.len[1], 4);
    assert_int_equal(sets.nal[1][sets.len[1] - 1], 0x80);
}

/* Checks that the VPS, SPS and PPS of an H.265 Annex B row come out in
 * order with 4-byte start codes and no trailing zero bytes. */
static void nal_check_hevc_extract(const char *vendor)
{
    const nal_row_t *row = nal_find_row(vendor, "annexb");
    nal_list_t sets = {0};
    uint8_t out[512];
    size_t out_len = 0;

    assert_int_equal(nal_extract_parameter_sets(1, row->annexb,
                                                row->annexb_len, out,
                                                sizeof(out), &out_len),
                     0);
    assert_memory_equal(out, nal_start4, 4);
    nal_foreach_annexb(out, out_len, nal_list_add, &sets);
    assert_int_equal(sets.count, 3);
    assert_int_equal((sets.nal[0][0] >> 1) & 0x3f, 32);
    assert_int_equal((sets.nal[1][0] >> 1) & 0x3f, 33);
    assert_int_equal((sets.nal[2][0] >> 1) & 0x3f, 34);
    for (int i = 0; i < 3; i++)
        assert_int_not_equal(sets.nal[i][sets.len[i] - 1], 0);
    /* Nothing but the three sets: 3 start codes and their bytes. */
    assert_int_equal(out_len,
                     12 + sets.len[0] + sets.len[1] + sets.len[2]);
}

static void nal_extracts_hevc_after_3_byte_start(void **state)
{
    nal_check_hevc_extract("Reolink");
}

static void nal_extracts_hevc_with_trailing_zeros(void **state)
{
    nal_check_hevc_extract("Dahua");
}

static void nal_missing_pps_gives_enoent(void **state)
{
    int tested = 0;

    /* Every SPS-only row is an access unit without a PPS. */
    for (int i = 0; i < nal_row_count; i++) {
        const nal_row_t *row = &nal_rows[i];
        uint8_t out[512];
        size_t out_len = 99;

        if (strcmp(row->kind, "sps") != 0)
            continue;
        assert_int_equal(nal_extract_parameter_sets(row->hevc, row->annexb,
                                                    row->annexb_len, out,
                                                    sizeof(out), &out_len),
                         -ENOENT);
        assert_int_equal(out_len, 0);
        tested++;
    }
    assert_int_equal(tested, 10);
}

static void nal_missing_sps_gives_enoent(void **state)
{
    static const uint8_t au[] = {0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80,
                                 0, 0, 1,    0x65, 0x88, 0x84};
    uint8_t out[64];
    size_t out_len = 0;

    assert_int_equal(nal_extract_parameter_sets(0, au, sizeof(au), out,
                                                sizeof(out), &out_len),
                     -ENOENT);
    /* The wrong codec finds no sets of its own types. */
    const nal_row_t *row = nal_find_row("Reolink", "annexb");
    assert_int_equal(nal_extract_parameter_sets(0, row->annexb,
                                                row->annexb_len, out,
                                                sizeof(out), &out_len),
                     -ENOENT);
    assert_int_equal(nal_extract_parameter_sets(0, NULL, 0, out,
                                                sizeof(out), &out_len),
                     -ENOENT);
}

static void nal_overflow_gives_enospc(void **state)
{
    const nal_row_t *row = nal_find_row("Vitek (retina vitek_describe)",
                                        "vps");
    uint8_t out[512];
    size_t need = 0;
    size_t out_len = 0;

    assert_int_equal(nal_extract_parameter_sets(1, row->annexb,
                                                row->annexb_len, out,
                                                sizeof(out), &need),
                     0);
    /* The row is already VPS, SPS and PPS with 4-byte start codes. */
    assert_int_equal(need, row->annexb_len);
    assert_memory_equal(out, row->annexb, need);

    /* Exactly enough room succeeds; one byte less fails. */
    assert_int_equal(nal_extract_parameter_sets(1, row->annexb,
                                                row->annexb_len, out, need,
                                                &out_len),
                     0);
    assert_int_equal(out_len, need);
    for (size_t cap = 0; cap < need; cap++) {
        out_len = 77;
        assert_int_equal(nal_extract_parameter_sets(1, row->annexb,
                                                    row->annexb_len, out,
                                                    cap, &out_len),
                         -ENOSPC);
        assert_int_equal(out_len, 0);
    }
}

/* Builds an avcC record (ISO/IEC 14496-15 5.3.3.1) from one SPS and
 * one PPS; returns its length. */
static size_t nal_make_avcc(const nal_list_t *sets, uint8_t *out)
{
    size_t pos = 0;

    out[pos++] = 1;                 /* configurationVersion */
    out[pos++] = sets->nal[0][1];   /* AVCProfileIndication */
    out[pos++] = sets->nal[0][2];   /* profile_compatibility */
    out[pos++] = sets->nal[0][3];   /* AVCLevelIndication */
    out[pos++] = 0xff;              /* 4-byte NAL lengths */
    out[pos++] = 0xe1;              /* one SPS */
    out[pos++] = (uint8_t)(sets->len[0] >> 8);
    out[pos++] = (uint8_t)sets->len[0];
    memcpy(out + pos, sets->nal[0], sets->len[0]);
    pos += sets->len[0];
    out[pos++] = 1;                 /* one PPS */
    out[pos++] = (uint8_t)(sets->len[1] >> 8);
    out[pos++] = (uint8_t)sets->len[1];
    memcpy(out + pos, sets->nal[1], sets->len[1]);
    return pos + sets->len[1];
}

static void nal_codec_string_from_avcc(void **state)
{
    const nal_row_t *row = nal_find_row(
        "Hikvision DS-2CD (retina hikvision_describe)", "sps,pps");
    nal_list_t sets = {0};
    nal_sps_info_t info;
    uint8_t avcc[256];
    size_t len;
    char codec[32];

    nal_foreach_annexb(row->annexb, row->annexb_len, nal_list_add, &sets);
    len = nal_make_avcc(&sets, avcc);
    assert_int_equal(nal_parse_sps_info(0, avcc, len, &info), 0);
    assert_int_equal(info.profile_idc, 0x4d);
    assert_int_equal(info.constraint_flags, 0x00);
    assert_int_equal(info.level_idc, 41);
    assert_int_equal(nal_codec_string(&info, codec, sizeof(codec)), 0);
    assert_string_equal(codec, "avc1.4d0029");
}

/* Builds an hvcC record (ISO/IEC 14496-15 8.3.3.1) whose profile, tier
 * and level fields are copied from the SPS's profile_tier_level, with
 * arrays for the VPS, SPS and PPS; returns its length. */
static size_t nal_make_hvcc(const nal_list_t *sets, uint8_t *out)
{
    uint8_t ptl[16];
    size_t pos = 0;
    size_t n = 0;
    int zeros = 0;

    /* Unescape the SPS bytes after its 2-byte header and the byte of
     * ids; the next 12 bytes are the general profile_tier_level. */
    for (size_t i = 3; i < sets->len[1] && n < 12; i++) {
        if (zeros >= 2 && sets->nal[1][i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = sets->nal[1][i] == 0 ? zeros + 1 : 0;
        ptl[n++] = sets->nal[1][i];
    }
    assert_int_equal(n, 12);
    out[pos++] = 1;                 /* configurationVersion */
    memcpy(out + pos, ptl, 12);     /* profile byte .. general_level_idc */
    pos += 12;
    out[pos++] = 0xf0;              /* min_spatial_segmentation_idc */
    out[pos++] = 0x00;
    out[pos++] = 0xfc;              /* parallelismType */
    out[pos++] = 0xfd;              /* chroma_format_idc 4:2:0 */
    out[pos++] = 0xf8;              /* bit_depth_luma 8 */
    out[pos++] = 0xf8;              /* bit_depth_chroma 8 */
    out[pos++] = 0;                 /* avgFrameRate */
    out[pos++] = 0;
    out[pos++] = 0x0f;              /* lengthSizeMinusOne 3 */
    out[pos++] = 3;                 /* numOfArrays */
    for (int i = 0; i < 3; i++) {
        out[pos++] = (uint8_t)(0x80 | (32 + i)); /* VPS, SPS, PPS */
        out[pos++] = 0;
        out[pos++] = 1;             /* numNalus */
        out[pos++] = (uint8_t)(sets->len[i] >> 8);
        out[pos++] = (uint8_t)sets->len[i];
        memcpy(out + pos, sets->nal[i], sets->len[i]);
        pos += sets->len[i];
    }
    return pos;
}

static void nal_codec_string_from_hvcc(void **state)
{
    static const char *const vendors[] = {"Reolink", "Dahua"};
    static const char *const codecs[] = {"hvc1.1.6.L150", "hvc1.1.2.L153"};

    for (int v = 0; v < 2; v++) {
        const nal_row_t *row = nal_find_row(vendors[v], "annexb");
        nal_list_t sets = {0};
        nal_list_t all = {0};
        nal_sps_info_t info;
        uint8_t hvcc[512];
        size_t len;
        char codec[32];

        /* Skip the AUD and stop before the slice. */
        nal_foreach_annexb(row->annexb, row->annexb_len, nal_list_add,
                           &all);
        assert_int_equal(all.count, 5);
        for (int i = 1; i <= 3; i++)
            nal_list_add(&sets, all.nal[i], all.len[i]);
        len = nal_make_hvcc(&sets, hvcc);
        assert_int_equal(nal_parse_sps_info(1, hvcc, len, &info), 0);
        assert_int_equal(nal_codec_string(&info, codec, sizeof(codec)), 0);
        assert_string_equal(codec, codecs[v]);
    }
}

static void nal_codec_string_hevc_fields(void **state)
{
    nal_sps_info_t info = {
        .hevc = 1,
        .profile_space = 1,
        .tier_flag = 1,
        .profile_idc = 2,
        .compat_flags = 0x20000000u, /* flag 2: Main 10 */
        .constraint_bytes = {0xb0, 0, 0x01, 0, 0, 0},
        .level_idc = 186,
    };
    char codec[64];

    assert_int_equal(nal_codec_string(&info, codec, sizeof(codec)), 0);
    /* Profile space 1 is "A"; constraint bytes stop at the last
     * non-zero one. */
    assert_string_equal(codec, "hvc1.A2.4.H186.B0.0.1");

    memset(info.constraint_bytes, 0, sizeof(info.constraint_bytes));
    info.profile_space = 0;
    info.tier_flag = 0;
    info.profile_idc = 1;
    info.compat_flags = 0x60000000u;
    info.level_idc = 93;
    assert_int_equal(nal_codec_string(&info, codec, sizeof(codec)), 0);
    assert_string_equal(codec, "hvc1.1.6.L93");
}

static void nal_codec_string_buffer_limits(void **state)
{
    nal_sps_info_t info = {.profile_idc = 0x42, .constraint_flags = 0xc0,
                           .level_idc = 0x1e};
    char codec[12];

    /* "avc1.42c01e" is 11 characters and fits in 12 bytes. */
    assert_int_equal(nal_codec_string(&info, codec, sizeof(codec)), 0);
    assert_string_equal(codec, "avc1.42c01e");
    assert_int_equal(nal_codec_string(&info, codec, 11), -ENOSPC);
    assert_int_equal(nal_codec_string(&info, codec, 1), -ENOSPC);
}

static void nal_parse_rejects_invalid_input(void **state)
{
    static const uint8_t short_sps[] = {0, 0, 0, 1, 0x67, 0x42};
    static const uint8_t no_sps[] = {0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80};
    static const uint8_t short_hvcc[12] = {1, 1, 0x60};
    static const uint8_t short_hevc_sps[] = {0, 0, 1, 0x42, 0x01, 0x01,
                                             0x01, 0x60, 0, 0, 0};
    static const uint8_t no_start_code[] = {0x67, 0x42, 0x00, 0x1e, 0xab};
    nal_sps_info_t info;

    assert_int_equal(nal_parse_sps_info(0, NULL, 10, &info), -EINVAL);
    assert_int_equal(nal_parse_sps_info(0, short_sps, 3, &info), -EINVAL);
    assert_int_equal(nal_parse_sps_info(0, short_sps, sizeof(short_sps),
                                        &info),
                     -EINVAL);
    assert_int_equal(nal_parse_sps_info(0, no_sps, sizeof(no_sps), &info),
                     -EINVAL);
    assert_int_equal(nal_parse_sps_info(1, short_hvcc, sizeof(short_hvcc),
                                        &info),
                     -EINVAL);
    assert_int_equal(nal_parse_sps_info(1, short_hevc_sps,
                                        sizeof(short_hevc_sps), &info),
                     -EINVAL);
    assert_int_equal(nal_parse_sps_info(0, no_start_code,
                                        sizeof(no_start_code), &info),
                     -EINVAL);
}

static void nal_counts_units(void **state)
{
    static const uint8_t none[] = {0x67, 0x42, 0, 0, 0};
    static const uint8_t empty_units[] = {0, 0, 1, 0, 0, 1, 0, 0, 0, 1};
    static const uint8_t three[] = {0, 0, 1, 0x09, 0, 0, 0, 1, 0x67, 0x42,
                                    0, 0, 1, 0x68};
    nal_list_t list = {0};

    assert_int_equal(nal_foreach_annexb(none, sizeof(none), nal_list_add,
                                        &list),
                     0);
    assert_int_equal(nal_foreach_annexb(empty_units, sizeof(empty_units),
                                        nal_list_add, &list),
                     0);
    assert_int_equal(nal_foreach_annexb(three, sizeof(three), nal_list_add,
                                        &list),
                     3);
    assert_int_equal(list.len[0], 1);
    assert_int_equal(list.len[1], 2);
    assert_int_equal(list.len[2], 1);
    assert_int_equal(list.nal[2][0], 0x68);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nal_tsv_rows_match_expectations),
        cmocka_unit_test(nal_codec_strings_from_annexb),
        cmocka_unit_test(nal_levels_admit_stated_sizes),
        cmocka_unit_test(nal_extracts_h264_with_4_byte_start_codes),
        cmocka_unit_test(nal_extracts_h264_with_3_byte_start_codes),
        cmocka_unit_test(nal_extracts_h264_with_zero_padding),
        cmocka_unit_test(nal_extracts_hevc_after_3_byte_start),
        cmocka_unit_test(nal_extracts_hevc_with_trailing_zeros),
        cmocka_unit_test(nal_missing_pps_gives_enoent),
        cmocka_unit_test(nal_missing_sps_gives_enoent),
        cmocka_unit_test(nal_overflow_gives_enospc),
        cmocka_unit_test(nal_codec_string_from_avcc),
        cmocka_unit_test(nal_codec_string_from_hvcc),
        cmocka_unit_test(nal_codec_string_hevc_fields),
        cmocka_unit_test(nal_codec_string_buffer_limits),
        cmocka_unit_test(nal_parse_rejects_invalid_input),
        cmocka_unit_test(nal_counts_units),
    };

    return UNIT_RUN("nal", tests, nal_load_rows, NULL, argc, argv);
}
