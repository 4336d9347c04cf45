/* Tests of playback_export_mp4() against real segment files.
 *
 * The group setup cuts tests/data/car-detection.mp4 (H.264 768x432 at
 * 12.5 fps with AAC, a keyframe every 4.8 s) at keyframes into
 * fragmented MP4 segments, as the recorder writes them, and gives them
 * catalog times with one 60 s gap. Each test exports a range and checks
 * the result by decoding it with libavcodec.
 *
 * Usage: test_export CAR_DETECTION_MP4 OTHER_MP4
 * OTHER_MP4 is a video with different codec parameters.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/opt.h>

#include "playback/export.h"

#define US_PER_S 1000000LL
#define FRAME_US 80000LL           /* 12.5 fps */
#define BASE_US 1700000000000000LL /* catalog time of source time 0 */
#define GAP_US (60 * US_PER_S)     /* outage between segments 1 and 2 */

static const char *test_source_path;
static const char *test_other_path;
static char test_dir[256];

enum {
    SEG_0,     /* source 0 to 9.6 s, keyframes at 0 and 4.8 s */
    SEG_1,     /* source 9.6 to 14.4 s */
    SEG_2,     /* source 14.4 to 19.2 s, after a 60 s outage */
    SEG_3,     /* source 19.2 s to the end (30.16 s) */
    SEG_OTHER, /* other video, directly after SEG_3 */
    SEG_1_CUT, /* SEG_1 cut off inside a fragment */
    SEG_COUNT
};

static char test_paths[SEG_COUNT][300];
static playback_segment_t test_segs[SEG_COUNT];

/* Decoded properties of an exported file. */
typedef struct export_info {
    int video_frames;
    int64_t first_pts_us;
    int first_is_key;
    int64_t max_step_us; /* largest step between presented frames */
    int64_t last_pts_us;
    int64_t video_end_us; /* last presentation time + one frame */
    int audio_frames;
    int64_t audio_end_us;
    int decode_errors; /* failed calls and frames flagged corrupt */
    int moov_before_mdat;
    int width;
} export_info_t;

static int test_log_errors;

/* Counts error messages from libavcodec while decoding, because the
 * H.264 decoder reports missing references only through av_log. */
static void test_log_callback(void *avcl, int level, const char *fmt,
                              va_list vl)
{
    if (level <= AV_LOG_ERROR)
        test_log_errors++;
}

/* Copies the packets of the source with DTS in [from_us, to_us) into a
 * fragmented MP4, shifted so that the file starts at dts_base_us. The
 * fragments are at most 500 ms long, like the recorder's. */
static int test_write_segment(const char *src, const char *dst, int64_t from_us,
                              int64_t to_us, int64_t dts_base_us)
{
    AVFormatContext *in = NULL;
    AVFormatContext *out = NULL;
    AVDictionary *opts = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVRational us = {1, 1000000};
    int ret;

    ret = avformat_open_input(&in, src, NULL, NULL);
    if (ret < 0)
        goto done;
    ret = avformat_find_stream_info(in, NULL);
    if (ret < 0)
        goto done;
    ret = avformat_alloc_output_context2(&out, NULL, "mp4", dst);
    if (ret < 0)
        goto done;
    for (unsigned i = 0; i < in->nb_streams; i++) {
        AVStream *ost = avformat_new_stream(out, NULL);

        avcodec_parameters_copy(ost->codecpar, in->streams[i]->codecpar);
        ost->codecpar->codec_tag = 0;
        ost->time_base = in->streams[i]->time_base;
    }
    out->avoid_negative_ts = AVFMT_AVOID_NEG_TS_MAKE_NON_NEGATIVE;
    ret = avio_open(&out->pb, dst, AVIO_FLAG_WRITE);
    if (ret < 0)
        goto done;
    av_dict_set(&opts, "movflags",
                "frag_keyframe+empty_moov+"
                "default_base_moof",
                0);
    av_dict_set(&opts, "frag_duration", "500000", 0);
    ret = avformat_write_header(out, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        goto done;
    /* The muxer writes the first tfdt as 0 unless timestamps are not
     * shifted to zero and the stream is marked as continuing from
     * elsewhere. Both together make the first tfdt equal the first DTS,
     * as for a recorder that keeps the camera clock. */
    ret = av_opt_set(out->priv_data, "movflags", "+frag_discont", 0);
    if (ret < 0)
        goto done;
    while (av_read_frame(in, pkt) >= 0) {
        AVRational tb = in->streams[pkt->stream_index]->time_base;
        int64_t dts_us = av_rescale_q(pkt->dts, tb, us);
        int64_t shift = av_rescale_q(dts_base_us - from_us, us, tb);

        if (pkt->dts == AV_NOPTS_VALUE || dts_us < from_us || dts_us >= to_us) {
            av_packet_unref(pkt);
            continue;
        }
        pkt->dts += shift;
        pkt->pts += shift;
        av_packet_rescale_ts(pkt, tb,
                             out->streams[pkt->stream_index]->time_base);
        pkt->pos = -1;
        ret = av_interleaved_write_frame(out, pkt);
        if (ret < 0)
            goto done;
    }
    ret = av_write_trailer(out);
    if (ret > 0)
        ret = 0;

done:
    av_packet_free(&pkt);
    if (out)
        avio_closep(&out->pb);
    avformat_free_context(out);
    avformat_close_input(&in);
    return ret;
}

/* Copies the first size bytes of src to dst. */
static int test_copy_prefix(const char *src, const char *dst, long size)
{
    FILE *in = fopen(src, "rb");
    FILE *out = fopen(dst, "wb");
    char buf[4096];
    long left = size;
    int ret = 0;

    if (!in || !out) {
        ret = -1;
        goto done;
    }
    while (left > 0) {
        size_t chunk = left < (long)sizeof(buf) ? (size_t)left : sizeof(buf);
        size_t got = fread(buf, 1, chunk, in);

        if (got == 0 || fwrite(buf, 1, got, out) != got) {
            ret = -1;
            break;
        }
        left -= (long)got;
    }
done:
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return ret;
}

static long test_file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int test_file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Returns 1 if the top-level moov box comes before the first mdat. */
static int test_moov_first(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char hdr[16];
    long pos = 0;
    int result = 0;

    if (!f)
        return 0;
    while (fseek(f, pos, SEEK_SET) == 0 && fread(hdr, 1, 8, f) == 8) {
        uint64_t size = ((uint64_t)hdr[0] << 24) | ((uint64_t)hdr[1] << 16) |
                        ((uint64_t)hdr[2] << 8) | hdr[3];

        if (memcmp(hdr + 4, "moov", 4) == 0) {
            result = 1;
            break;
        }
        if (memcmp(hdr + 4, "mdat", 4) == 0)
            break;
        if (size == 1) {
            if (fread(hdr + 8, 1, 8, f) != 8)
                break;
            size = 0;
            for (int i = 8; i < 16; i++)
                size = (size << 8) | hdr[i];
        }
        if (size < 8)
            break;
        pos += (long)size;
    }
    fclose(f);
    return result;
}

/* Sends one packet (NULL to flush) to the decoder and adds the frames
 * that it returns to info. */
static void test_decode_packet(AVCodecContext *dec, AVPacket *pkt,
                               AVFrame *frame, AVRational tb,
                               export_info_t *info)
{
    AVRational us = {1, 1000000};
    int ret = avcodec_send_packet(dec, pkt);

    if (ret < 0 && ret != AVERROR_EOF) {
        info->decode_errors++;
        return;
    }
    for (;;) {
        int64_t pts;

        ret = avcodec_receive_frame(dec, frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return;
        if (ret < 0) {
            info->decode_errors++;
            return;
        }
        if (frame->decode_error_flags || (frame->flags & AV_FRAME_FLAG_CORRUPT))
            info->decode_errors++;
        pts = av_rescale_q(frame->best_effort_timestamp, tb, us);
        if (dec->codec_type == AVMEDIA_TYPE_VIDEO) {
            if (info->video_frames == 0) {
                info->first_pts_us = pts;
                info->first_is_key = frame->key_frame;
                info->width = frame->width;
            } else if (pts - info->last_pts_us > info->max_step_us) {
                info->max_step_us = pts - info->last_pts_us;
            }
            info->video_frames++;
            info->last_pts_us = pts;
            info->video_end_us = pts + FRAME_US;
        } else {
            info->audio_frames++;
            info->audio_end_us =
                pts + av_rescale_q(frame->nb_samples,
                                   (AVRational){1, frame->sample_rate}, us);
        }
        av_frame_unref(frame);
    }
}

static AVCodecContext *test_open_decoder(AVStream *st)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *dec = avcodec_alloc_context3(codec);

    if (!dec)
        return NULL;
    if (avcodec_parameters_to_context(dec, st->codecpar) < 0 ||
        avcodec_open2(dec, codec, NULL) < 0)
        avcodec_free_context(&dec);
    return dec;
}

/* Decodes the whole file at path with libavcodec and fills info. */
static int test_analyze(const char *path, export_info_t *info)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec[2] = {NULL, NULL};
    int index[2] = {-1, -1};
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int ret;

    memset(info, 0, sizeof(*info));
    info->moov_before_mdat = test_moov_first(path);
    ret = avformat_open_input(&fmt, path, NULL, NULL);
    if (ret < 0)
        goto done;
    ret = avformat_find_stream_info(fmt, NULL);
    if (ret < 0)
        goto done;
    index[0] = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    index[1] = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    for (int k = 0; k < 2; k++) {
        if (index[k] >= 0) {
            dec[k] = test_open_decoder(fmt->streams[index[k]]);
            if (!dec[k]) {
                ret = -1;
                goto done;
            }
        }
    }
    test_log_errors = 0;
    av_log_set_callback(test_log_callback);
    while (av_read_frame(fmt, pkt) >= 0) {
        for (int k = 0; k < 2; k++) {
            if (pkt->stream_index == index[k])
                test_decode_packet(dec[k], pkt, frame,
                                   fmt->streams[index[k]]->time_base, info);
        }
        av_packet_unref(pkt);
    }
    for (int k = 0; k < 2; k++) {
        if (dec[k])
            test_decode_packet(dec[k], NULL, frame,
                               fmt->streams[index[k]]->time_base, info);
    }
    av_log_set_callback(av_log_default_callback);
    info->decode_errors += test_log_errors;
    ret = 0;

done:
    for (int k = 0; k < 2; k++)
        avcodec_free_context(&dec[k]);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return ret;
}

static int test_remove_entry(const char *path, const struct stat *st, int flag,
                             struct FTW *ftw)
{
    return remove(path);
}

/* Adds a segment made from source range [from_s, to_s) at catalog time
 * BASE_US + wall_s, with an unrelated DTS base in each file. */
static int test_add_segment(int id, const char *src, double from_s, double to_s,
                            double wall_s, double dts_base_s)
{
    int64_t from_us = (int64_t)(from_s * US_PER_S);
    int64_t to_us = (int64_t)(to_s * US_PER_S);
    int ret;

    snprintf(test_paths[id], sizeof(test_paths[id]), "%s/seg%d.mp4", test_dir,
             id);
    test_segs[id].path = test_paths[id];
    test_segs[id].start_us = BASE_US + (int64_t)(wall_s * US_PER_S);
    test_segs[id].end_us = test_segs[id].start_us + (to_us - from_us);
    ret = test_write_segment(src, test_paths[id], from_us, to_us,
                             (int64_t)(dts_base_s * US_PER_S));
    if (ret < 0)
        fprintf(stderr, "cannot write test segment %s from %s: %s\n",
                test_paths[id], src, av_err2str(ret));
    return ret;
}

static int test_group_setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    long size;

    snprintf(test_dir, sizeof(test_dir), "%s/playback-export-XXXXXX",
             tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(test_dir))
        return -1;
    if (test_add_segment(SEG_0, test_source_path, 0.0, 9.6, 0.0, 1000.0) ||
        test_add_segment(SEG_1, test_source_path, 9.6, 14.4, 9.6, 5.0) ||
        test_add_segment(SEG_2, test_source_path, 14.4, 19.2, 14.4 + 60.0,
                         777.0) ||
        test_add_segment(SEG_3, test_source_path, 19.2, 30.16, 19.2 + 60.0,
                         0.0) ||
        test_add_segment(SEG_OTHER, test_other_path, 0.0, 5.0, 30.16 + 60.0,
                         0.0))
        return -1;

    /* Cut SEG_1 at 60 % of its size, which lies inside a fragment's
     * media data because the mdat boxes make up most of the file. */
    snprintf(test_paths[SEG_1_CUT], sizeof(test_paths[SEG_1_CUT]),
             "%s/seg1-cut.mp4", test_dir);
    test_segs[SEG_1_CUT] = test_segs[SEG_1];
    test_segs[SEG_1_CUT].path = test_paths[SEG_1_CUT];
    size = test_file_size(test_paths[SEG_1]);
    if (size <= 0 || test_copy_prefix(test_paths[SEG_1], test_paths[SEG_1_CUT],
                                      size * 6 / 10))
        return -1;
    return 0;
}

static int test_group_teardown(void **state)
{
    if (test_dir[0])
        nftw(test_dir, test_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Returns the path of name in the test directory, in a static buffer
 * that the next call overwrites. */
static const char *test_out_path(const char *name)
{
    static char path[320];

    snprintf(path, sizeof(path), "%s/%s", test_dir, name);
    return path;
}

static void assert_no_tmp(const char *out)
{
    char tmp[340];

    snprintf(tmp, sizeof(tmp), "%s.tmp", out);
    assert_false(test_file_exists(tmp));
}

static void export_spans_two_segments(void **state)
{
    const char *out = test_out_path("two.mp4");
    playback_export_result_t res;
    export_info_t info;
    char err[256];
    int64_t from = BASE_US + 6 * US_PER_S;
    int64_t to = BASE_US + 12 * US_PER_S;
    int ret;

    ret = playback_export_mp4_ex(test_segs, SEG_3 + 1, from, to, out, &res, err,
                                 sizeof(err));
    assert_int_equal(ret, 0);
    assert_string_equal(err, "");
    assert_no_tmp(out);

    /* The keyframe before 6.0 s is at 4.8 s, inside SEG_0. */
    assert_int_equal(res.start_us, BASE_US + 4800000);
    assert_true(res.end_us >= to);
    assert_true(res.end_us <= to + FRAME_US);
    assert_int_equal(res.segments_used, 2);
    assert_int_equal(res.gap_count, 0);
    assert_int_equal(res.truncated_count, 0);
    assert_int_equal(res.codec_changed, 0);

    assert_int_equal(test_analyze(out, &info), 0);
    assert_true(info.moov_before_mdat);
    assert_int_equal(info.decode_errors, 0);
    assert_int_equal(info.first_pts_us, 0);
    assert_true(info.first_is_key);
    assert_int_equal(info.width, 768);
    /* Frames at 4.8, 4.88, ... 11.92 s of the source. */
    assert_int_equal(info.video_frames, 90);
    assert_true(info.max_step_us <= FRAME_US);
    assert_true(llabs(info.video_end_us - (to - res.start_us)) <= FRAME_US);
    assert_true(info.audio_frames > 0);
    assert_true(llabs(info.audio_end_us - (to - res.start_us)) <= FRAME_US);
}

static void export_closes_gap(void **state)
{
    const char *out = test_out_path("gap.mp4");
    playback_export_result_t res;
    export_info_t info;
    char err[256];
    int64_t from = BASE_US + 12 * US_PER_S;
    int64_t to = BASE_US + 77 * US_PER_S;
    int ret;

    ret = playback_export_mp4_ex(test_segs, SEG_3 + 1, from, to, out, &res, err,
                                 sizeof(err));
    assert_int_equal(ret, 0);
    assert_int_equal(res.start_us, test_segs[SEG_1].start_us);
    assert_int_equal(res.gap_count, 1);
    assert_int_equal(res.gap_total_us, GAP_US);
    assert_int_equal(res.segments_used, 2);

    assert_int_equal(test_analyze(out, &info), 0);
    assert_int_equal(info.decode_errors, 0);
    /* 60 frames of SEG_1, then 33 of SEG_2 (74.4 to 76.96 s). */
    assert_int_equal(info.video_frames, 93);
    assert_true(info.max_step_us <= FRAME_US);
    assert_true(llabs(info.video_end_us - res.duration_us) <= FRAME_US);
    assert_true(llabs(res.duration_us - 7440000) <= FRAME_US);
    assert_true(info.audio_frames > 0);
    assert_true(llabs(info.audio_end_us - info.video_end_us) <= FRAME_US);
}

static void export_starts_after_gap(void **state)
{
    const char *out = test_out_path("after-gap.mp4");
    playback_export_result_t res;
    export_info_t info;
    int64_t from = BASE_US + 30 * US_PER_S;
    int64_t to = BASE_US + 76 * US_PER_S;
    int ret;

    ret = playback_export_mp4_ex(test_segs, SEG_3 + 1, from, to, out, &res,
                                 NULL, 0);
    assert_int_equal(ret, 0);
    assert_int_equal(res.start_us, test_segs[SEG_2].start_us);
    assert_int_equal(res.gap_count, 0);
    assert_int_equal(test_analyze(out, &info), 0);
    assert_int_equal(info.decode_errors, 0);
    assert_true(info.first_is_key);
    /* 74.4 to 75.92 s */
    assert_int_equal(info.video_frames, 20);
}

static void export_ends_with_recording(void **state)
{
    const char *out = test_out_path("to-end.mp4");
    playback_export_result_t res;
    export_info_t info;
    int64_t from = BASE_US + 85 * US_PER_S;
    int64_t to = BASE_US + 200 * US_PER_S;
    int ret;

    ret = playback_export_mp4_ex(test_segs, SEG_3 + 1, from, to, out, &res,
                                 NULL, 0);
    assert_int_equal(ret, 0);
    /* Keyframes of SEG_3 are at 79.2 and 84.0 s. */
    assert_int_equal(res.start_us, BASE_US + 84 * US_PER_S);
    assert_true(llabs(res.end_us - test_segs[SEG_3].end_us) <= FRAME_US);
    assert_int_equal(res.truncated_count, 0);
    assert_int_equal(test_analyze(out, &info), 0);
    assert_int_equal(info.decode_errors, 0);
    assert_true(llabs(info.video_end_us -
                      (test_segs[SEG_3].end_us - res.start_us)) <= FRAME_US);
}

static void export_stops_at_codec_change(void **state)
{
    const char *out = test_out_path("codec.mp4");
    playback_export_result_t res;
    export_info_t info;
    char err[256];
    int64_t from = BASE_US + 80 * US_PER_S;
    int64_t to = BASE_US + 95 * US_PER_S;
    int ret;

    ret = playback_export_mp4_ex(test_segs, SEG_OTHER + 1, from, to, out, &res,
                                 err, sizeof(err));
    assert_int_equal(ret, 0);
    assert_int_equal(res.codec_changed, 1);
    assert_int_equal(res.codec_change_index, SEG_OTHER);
    assert_non_null(strstr(err, "codec parameters differ"));
    assert_non_null(strstr(err, test_paths[SEG_OTHER]));
    assert_true(llabs(res.end_us - test_segs[SEG_3].end_us) <= FRAME_US);

    assert_int_equal(test_analyze(out, &info), 0);
    assert_int_equal(info.decode_errors, 0);
    assert_true(info.max_step_us <= FRAME_US);
    assert_true(llabs(info.video_end_us -
                      (test_segs[SEG_3].end_us - res.start_us)) <= FRAME_US);
}

static void export_keeps_whole_part_of_cut(void **state)
{
    const char *out = test_out_path("cut.mp4");
    playback_segment_t segs[3];
    playback_export_result_t res;
    export_info_t info;
    char err[256];
    int ret;

    segs[0] = test_segs[SEG_0];
    segs[1] = test_segs[SEG_1_CUT];
    segs[2] = test_segs[SEG_2];
    ret = playback_export_mp4_ex(segs, 3, segs[0].start_us,
                                 segs[2].start_us + 2 * US_PER_S, out, &res,
                                 err, sizeof(err));
    assert_int_equal(ret, 0);
    assert_int_equal(res.truncated_count, 1);
    assert_int_equal(res.segments_used, 3);
    assert_non_null(strstr(err, "truncated"));

    assert_int_equal(test_analyze(out, &info), 0);
    assert_int_equal(info.decode_errors, 0);
    assert_true(info.max_step_us <= FRAME_US);
    /* Some of SEG_1 is lost: less than 9.6 + 4.8 + 2 s remain, but more
     * than SEG_0 and SEG_2's part. */
    assert_true(info.video_end_us < 16400000 - FRAME_US);
    assert_true(info.video_end_us > 11600000 + FRAME_US);
}

/* Cuts SEG_1 at many offsets, inside the init segment, a moof box or
 * an mdat box, and exports it after SEG_0. Each export either succeeds
 * with a file that decodes cleanly or fails with a message that names
 * the file. */
static void export_survives_any_cut(void **state)
{
    const char *out = test_out_path("any-cut.mp4");
    char cut_path[300];
    long size = test_file_size(test_paths[SEG_1]);
    playback_segment_t segs[2];
    int successes = 0;

    assert_true(size > 0);
    snprintf(cut_path, sizeof(cut_path), "%s/seg1-any-cut.mp4", test_dir);
    segs[0] = test_segs[SEG_0];
    segs[1] = test_segs[SEG_1];
    segs[1].path = cut_path;
    for (long cut = 0; cut < size; cut += cut < 4096 ? 509 : size / 16 + 1) {
        playback_export_result_t res;
        export_info_t info;
        char err[512];
        int ret;

        assert_int_equal(test_copy_prefix(test_paths[SEG_1], cut_path, cut), 0);
        ret = playback_export_mp4_ex(segs, 2, segs[0].start_us, segs[1].end_us,
                                     out, &res, err, sizeof(err));
        assert_no_tmp(out);
        if (ret < 0) {
            assert_non_null(strstr(err, cut_path));
            assert_false(test_file_exists(out));
            continue;
        }
        successes++;
        assert_int_equal(res.truncated_count, 1);
        assert_int_equal(test_analyze(out, &info), 0);
        assert_int_equal(info.decode_errors, 0);
        assert_true(info.max_step_us <= FRAME_US);
        assert_true(info.video_frames >= 120);
        unlink(out);
    }
    assert_true(successes > 0);
}

static void export_cut_first_segment(void **state)
{
    const char *out = test_out_path("cut-first.mp4");
    playback_export_result_t res;
    export_info_t info;
    int ret;

    ret = playback_export_mp4_ex(
        &test_segs[SEG_1_CUT], 1, test_segs[SEG_1_CUT].start_us,
        test_segs[SEG_1_CUT].end_us, out, &res, NULL, 0);
    assert_int_equal(ret, 0);
    assert_int_equal(res.truncated_count, 1);
    assert_int_equal(test_analyze(out, &info), 0);
    assert_int_equal(info.decode_errors, 0);
    assert_true(info.video_frames > 0);
    assert_true(info.video_frames < 60);
}

static void export_rejects_bad_arguments(void **state)
{
    const char *out = test_out_path("bad.mp4");
    playback_segment_t unsorted[2];
    int64_t from = test_segs[SEG_0].start_us;
    int64_t to = from + US_PER_S;
    char err[256];

    assert_int_equal(
        playback_export_mp4(test_segs, 0, from, to, out, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "n is 0"));

    assert_int_equal(
        playback_export_mp4(NULL, 3, from, to, out, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "segs is NULL"));

    assert_int_equal(
        playback_export_mp4(test_segs, 4, from, from, out, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "invalid range"));

    assert_int_equal(
        playback_export_mp4(test_segs, 4, to, from, out, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "is not before"));

    assert_int_equal(
        playback_export_mp4(test_segs, 4, from, to, NULL, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "out_path"));

    unsorted[0] = test_segs[SEG_1];
    unsorted[1] = test_segs[SEG_0];
    assert_int_equal(
        playback_export_mp4(unsorted, 2, from, to, out, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "not sorted"));

    /* Without a message buffer, and with one too small for the text. */
    assert_int_equal(playback_export_mp4(test_segs, 0, from, to, out, NULL, 0),
                     -EINVAL);
    assert_int_equal(playback_export_mp4(test_segs, 0, from, to, out, err, 8),
                     -EINVAL);
    assert_int_equal(strlen(err), 7);
    assert_false(test_file_exists(out));
}

static void export_rejects_empty_range(void **state)
{
    const char *out = test_out_path("empty.mp4");
    char err[256];
    int ret;

    /* Before the first segment, and inside the 60 s gap. */
    ret = playback_export_mp4(test_segs, SEG_3 + 1, BASE_US - 10 * US_PER_S,
                              BASE_US, out, err, sizeof(err));
    assert_int_equal(ret, -ENODATA);
    assert_non_null(strstr(err, "no recording"));
    ret = playback_export_mp4(test_segs, SEG_3 + 1, BASE_US + 20 * US_PER_S,
                              BASE_US + 70 * US_PER_S, out, err, sizeof(err));
    assert_int_equal(ret, -ENODATA);
    assert_false(test_file_exists(out));
    assert_no_tmp(out);
}

static void export_fails_on_bad_files(void **state)
{
    const char *out = test_out_path("bad-file.mp4");
    char junk_path[300];
    char empty_path[300];
    playback_segment_t segs[2];
    FILE *f;
    char err[512];
    int ret;

    /* A missing file in the middle of the range. */
    segs[0] = test_segs[SEG_0];
    segs[1] = test_segs[SEG_1];
    segs[1].path = "/nonexistent/seg.mp4";
    ret = playback_export_mp4(segs, 2, segs[0].start_us, segs[1].end_us, out,
                              err, sizeof(err));
    assert_int_equal(ret, -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/seg.mp4"));
    assert_false(test_file_exists(out));
    assert_no_tmp(out);

    /* A file that is not MP4, and an empty file. */
    snprintf(junk_path, sizeof(junk_path), "%s/junk.mp4", test_dir);
    f = fopen(junk_path, "w");
    assert_non_null(f);
    fputs("this is not an MP4 file\n", f);
    fclose(f);
    snprintf(empty_path, sizeof(empty_path), "%s/empty-seg.mp4", test_dir);
    f = fopen(empty_path, "w");
    assert_non_null(f);
    fclose(f);

    segs[0].path = junk_path;
    ret = playback_export_mp4(segs, 1, segs[0].start_us, segs[0].end_us, out,
                              err, sizeof(err));
    assert_true(ret < 0);
    assert_non_null(strstr(err, junk_path));
    segs[0].path = empty_path;
    ret = playback_export_mp4(segs, 1, segs[0].start_us, segs[0].end_us, out,
                              err, sizeof(err));
    assert_true(ret < 0);
    assert_non_null(strstr(err, empty_path));
    assert_false(test_file_exists(out));
    assert_no_tmp(out);

    /* An output directory that does not exist. */
    ret = playback_export_mp4(test_segs, 1, test_segs[0].start_us,
                              test_segs[0].start_us + US_PER_S,
                              "/nonexistent/out.mp4", err, sizeof(err));
    assert_true(ret < 0);
    assert_non_null(strstr(err, "/nonexistent/out.mp4.tmp"));
}

#define HEVC_FRAMES 50 /* two GOPs of 25 frames (2 s) */

/* Encoded H.265 test stream: packets in decode order. */
typedef struct hevc_stream {
    AVCodecParameters *par;
    AVRational tb;
    AVPacket *pkts[HEVC_FRAMES + 8];
    int count;
} hevc_stream_t;

static void hevc_stream_free(hevc_stream_t *hs)
{
    for (int i = 0; i < hs->count; i++)
        av_packet_free(&hs->pkts[i]);
    avcodec_parameters_free(&hs->par);
}

/* Receives every packet the encoder has ready into hs. */
static int hevc_drain(AVCodecContext *enc, hevc_stream_t *hs)
{
    for (;;) {
        AVPacket *pkt = av_packet_alloc();
        int ret = avcodec_receive_packet(enc, pkt);

        if (ret < 0 || hs->count == HEVC_FRAMES + 8) {
            av_packet_free(&pkt);
            return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : ret;
        }
        hs->pkts[hs->count++] = pkt;
    }
}

/* Decodes the first HEVC_FRAMES frames of src and encodes them with
 * libx265 using B-frames and a closed GOP of 25 frames (2 s), as a
 * camera with B-frames would send them. */
static int hevc_encode(const char *src, hevc_stream_t *hs)
{
    AVFormatContext *in = NULL;
    AVCodecContext *dec = NULL;
    AVCodecContext *enc = NULL;
    const AVCodec *x265 = avcodec_find_encoder_by_name("libx265");
    AVDictionary *opts = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int frames = 0;
    int vindex;
    int ret = AVERROR_ENCODER_NOT_FOUND;

    memset(hs, 0, sizeof(*hs));
    if (!x265)
        goto done;
    ret = avformat_open_input(&in, src, NULL, NULL);
    if (ret < 0)
        goto done;
    vindex = av_find_best_stream(in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    dec = test_open_decoder(in->streams[vindex]);
    enc = avcodec_alloc_context3(x265);
    if (!dec || !enc) {
        ret = AVERROR(ENOMEM);
        goto done;
    }
    enc->width = dec->width;
    enc->height = dec->height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = (AVRational){2, 25};
    enc->framerate = (AVRational){25, 2};
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_dict_set(&opts, "preset", "ultrafast", 0);
    av_dict_set(&opts, "x265-params",
                "keyint=25:min-keyint=25:scenecut=0:bframes=3:"
                "open-gop=0:log-level=error",
                0);
    ret = avcodec_open2(enc, x265, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        goto done;

    while (frames < HEVC_FRAMES && av_read_frame(in, pkt) >= 0) {
        if (pkt->stream_index == vindex && avcodec_send_packet(dec, pkt) >= 0) {
            while (frames < HEVC_FRAMES &&
                   avcodec_receive_frame(dec, frame) >= 0) {
                frame->pts = frames++;
                frame->pict_type = AV_PICTURE_TYPE_NONE;
                ret = avcodec_send_frame(enc, frame);
                av_frame_unref(frame);
                if (ret < 0 || (ret = hevc_drain(enc, hs)) < 0)
                    goto done;
            }
        }
        av_packet_unref(pkt);
    }
    avcodec_send_frame(enc, NULL);
    ret = hevc_drain(enc, hs);
    if (ret < 0)
        goto done;
    hs->par = avcodec_parameters_alloc();
    ret = hs->par ? avcodec_parameters_from_context(hs->par, enc)
                  : AVERROR(ENOMEM);
    hs->tb = enc->time_base;

done:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    avcodec_free_context(&dec);
    avformat_close_input(&in);
    return ret;
}

/* Writes packets [first, last) of hs into a fragmented MP4 segment. */
static int hevc_write_segment(const hevc_stream_t *hs, int first, int last,
                              const char *dst)
{
    AVFormatContext *out = NULL;
    AVDictionary *opts = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVStream *st;
    int ret;

    ret = avformat_alloc_output_context2(&out, NULL, "mp4", dst);
    if (ret < 0)
        goto done;
    st = avformat_new_stream(out, NULL);
    avcodec_parameters_copy(st->codecpar, hs->par);
    st->time_base = (AVRational){1, 12800};
    ret = avio_open(&out->pb, dst, AVIO_FLAG_WRITE);
    if (ret < 0)
        goto done;
    av_dict_set(&opts, "movflags",
                "frag_keyframe+empty_moov+"
                "default_base_moof",
                0);
    ret = avformat_write_header(out, &opts);
    av_dict_free(&opts);
    for (int i = first; i < last && ret >= 0; i++) {
        av_packet_ref(pkt, hs->pkts[i]);
        av_packet_rescale_ts(pkt, hs->tb, st->time_base);
        pkt->stream_index = 0;
        ret = av_interleaved_write_frame(out, pkt);
    }
    if (ret >= 0)
        ret = av_write_trailer(out);
    if (ret > 0)
        ret = 0;

done:
    av_packet_free(&pkt);
    if (out)
        avio_closep(&out->pb);
    avformat_free_context(out);
    return ret;
}

static unsigned test_codec_tag(const char *path)
{
    AVFormatContext *fmt = NULL;
    unsigned tag = 0;

    if (avformat_open_input(&fmt, path, NULL, NULL) == 0) {
        tag = fmt->streams[0]->codecpar->codec_tag;
        avformat_close_input(&fmt);
    }
    return tag;
}

/* Writes hs as two segments split at its second keyframe, with catalog
 * times from BASE_US on, into segs and path. */
static void hevc_make_segments(const hevc_stream_t *hs, const char *name,
                               playback_segment_t segs[2], char path[2][300])
{
    int64_t first_dts_us;
    int second = -1;

    /* Split in decode order at the second keyframe. */
    for (int i = 1; i < hs->count && second < 0; i++) {
        if (hs->pkts[i]->flags & AV_PKT_FLAG_KEY)
            second = i;
    }
    assert_true(second > 0);
    assert_true(hs->pkts[1]->pts != hs->pkts[1]->dts);
    first_dts_us = av_rescale_q(hs->pkts[0]->dts, hs->tb, AV_TIME_BASE_Q);
    for (int k = 0; k < 2; k++) {
        int from = k == 0 ? 0 : second;
        int to = k == 0 ? second : hs->count;
        AVPacket *last = hs->pkts[to - 1];

        snprintf(path[k], sizeof(path[k]), "%s/%s%d.mp4", test_dir, name, k);
        assert_int_equal(hevc_write_segment(hs, from, to, path[k]), 0);
        segs[k].path = path[k];
        segs[k].start_us =
            BASE_US +
            av_rescale_q(hs->pkts[from]->dts, hs->tb, AV_TIME_BASE_Q) -
            first_dts_us;
        /* The encoder sets no durations, so the last packet has none. */
        segs[k].end_us = BASE_US +
                         av_rescale_q(last->dts, hs->tb, AV_TIME_BASE_Q) +
                         FRAME_US - first_dts_us;
    }
}

/* Exports H.265 with B-frames across two segments, with to_us at each
 * position of a group of B-frames, and checks that every frame
 * presented before to_us is there and decodes. */
static void export_hevc_with_bframes(void **state)
{
    hevc_stream_t hs;
    playback_segment_t segs[2];
    char path[2][300];
    const char *out = test_out_path("hevc.mp4");

    if (hevc_encode(test_source_path, &hs) == AVERROR_ENCODER_NOT_FOUND) {
        hevc_stream_free(&hs);
        skip();
    }
    assert_non_null(hs.par);
    assert_int_equal(hs.count, HEVC_FRAMES);
    hevc_make_segments(&hs, "hevc", segs, path);

    for (int64_t to_ms = 2800; to_ms <= 3200; to_ms += 80) {
        playback_export_result_t res;
        export_info_t info;
        char err[256];
        int64_t to = BASE_US + to_ms * 1000;
        int ret;

        ret = playback_export_mp4_ex(segs, 2, BASE_US + US_PER_S, to, out, &res,
                                     err, sizeof(err));
        assert_int_equal(ret, 0);
        assert_int_equal(res.segments_used, 2);
        assert_int_equal(test_codec_tag(out), MKTAG('h', 'v', 'c', '1'));
        assert_int_equal(test_analyze(out, &info), 0);
        assert_int_equal(info.decode_errors, 0);
        assert_true(info.first_is_key);
        assert_true(info.max_step_us <= FRAME_US);
        /* Every frame presented before to_us, plus at most the frames
         * of one group of B-frames that they are decoded after. */
        assert_true(info.video_end_us - info.first_pts_us >= to - res.start_us);
        assert_true(info.video_end_us - info.first_pts_us <=
                    to - res.start_us + 4 * FRAME_US);
    }
    hevc_stream_free(&hs);
}

static void export_replaces_existing_file(void **state)
{
    const char *out = test_out_path("replace.mp4");
    export_info_t info;
    FILE *f = fopen(out, "w");
    int ret;

    assert_non_null(f);
    fputs("old content\n", f);
    fclose(f);
    ret =
        playback_export_mp4(test_segs, 1, test_segs[0].start_us,
                            test_segs[0].start_us + 2 * US_PER_S, out, NULL, 0);
    assert_int_equal(ret, 0);
    assert_no_tmp(out);
    assert_int_equal(test_analyze(out, &info), 0);
    assert_int_equal(info.decode_errors, 0);
    assert_int_equal(info.video_frames, 25);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_spans_two_segments),
        cmocka_unit_test(export_closes_gap),
        cmocka_unit_test(export_starts_after_gap),
        cmocka_unit_test(export_ends_with_recording),
        cmocka_unit_test(export_stops_at_codec_change),
        cmocka_unit_test(export_keeps_whole_part_of_cut),
        cmocka_unit_test(export_cut_first_segment),
        cmocka_unit_test(export_survives_any_cut),
        cmocka_unit_test(export_rejects_bad_arguments),
        cmocka_unit_test(export_rejects_empty_range),
        cmocka_unit_test(export_fails_on_bad_files),
        cmocka_unit_test(export_replaces_existing_file),
        cmocka_unit_test(export_hevc_with_bframes),
    };

    if (argc != 3) {
        fprintf(stderr, "usage: %s CAR_DETECTION_MP4 OTHER_MP4\n", argv[0]);
        return 2;
    }
    test_source_path = argv[1];
    test_other_path = argv[2];
    return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
