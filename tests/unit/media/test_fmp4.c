/* Tests of the fragmented-MP4 muxer (fmp4.h) on the H.264 and AAC
 * packets of tests/data/car-detection.mp4. */
#include <errno.h>
#include <libavformat/avformat.h>
#include <stdlib.h>
#include <unistd.h>

#include "media/fmp4.h"
#include "media/nal.h"
#include "stream_fixture.h"
#include "unit.h"

/* 3 keyframe intervals of 60 frames and 20 more frames. */
#define FMP4_PACKETS 200
#define FMP4_PACKETS_PER_FRAGMENT 6

static fixture_stream_t *fmp4_stream;

static int fmp4_setup(void **state)
{
    if (fixture_stream_open(FIXTURE_CLIP, FMP4_PACKETS, &fmp4_stream) < 0)
        return -1;
    return fixture_stream_mux(fmp4_stream, FMP4_PACKETS_PER_FRAGMENT) < 0
               ? -1
               : 0;
}

static int fmp4_teardown(void **state)
{
    fixture_stream_free(fmp4_stream);
    return 0;
}

/* Returns how often the 4 bytes of type occur in buf. */
static int fmp4_count_type(const vms_buf_t *buf, const char *type)
{
    int count = 0;

    for (size_t i = 0; i + 4 <= buf->len; i++)
        if (memcmp(buf->data + i, type, 4) == 0)
            count++;
    return count;
}

static void fmp4_init_segment_is_ftyp_moov(void **state)
{
    const vms_buf_t *init = fmp4_stream->init;
    uint64_t size = 0;
    uint64_t moov_size = 0;

    assert_non_null(init);
    assert_string_equal(fixture_box_at(init->data, init->len, 0, &size),
                        "ftyp");
    assert_true(size >= 16 && size < init->len);
    assert_string_equal(fixture_box_at(init->data, init->len, size,
                                       &moov_size),
                        "moov");
    /* Nothing follows the moov: no sample lies in the init segment. */
    assert_int_equal(size + moov_size, init->len);
    assert_int_equal(fmp4_count_type(init, "mvex"), 1);
    assert_int_equal(fmp4_count_type(init, "trex"), 1);
    assert_int_equal(fmp4_count_type(init, "trak"), 1);
    assert_int_equal(fmp4_count_type(init, "avc1"), 1);
    assert_int_equal(fmp4_count_type(init, "avcC"), 1);
    assert_int_equal(fmp4_count_type(init, "mdat"), 0);
}

static void fmp4_fragments_are_moof_mdat(void **state)
{
    size_t packets = 0;

    assert_true(fmp4_stream->frag_count > 3);
    for (size_t i = 0; i < fmp4_stream->frag_count; i++) {
        const fixture_fragment_t *f = &fmp4_stream->frags[i];
        uint64_t moof = 0;
        uint64_t mdat = 0;

        assert_string_equal(fixture_box_at(f->data->data, f->data->len, 0,
                                           &moof),
                            "moof");
        assert_string_equal(fixture_box_at(f->data->data, f->data->len,
                                           moof, &mdat),
                            "mdat");
        if (moof + mdat != f->data->len)
            fail_msg("fragment %zu: moof %llu + mdat %llu != %zu bytes", i,
                     (unsigned long long)moof, (unsigned long long)mdat,
                     f->data->len);
        /* One traf per fragment, and a fragment never spans a keyframe. */
        assert_int_equal(fmp4_count_type(f->data, "traf"), 1);
        assert_true(f->packet_count <= FMP4_PACKETS_PER_FRAGMENT);
        packets += f->packet_count;
    }
    assert_int_equal(packets, FMP4_PACKETS);
    /* The keyframes of the clip are frames 0, 60, 120 and 180. */
    for (size_t i = 0; i < fmp4_stream->frag_count; i++) {
        const fixture_fragment_t *f = &fmp4_stream->frags[i];
        int expect_key = f->first_packet % 60 == 0;

        assert_int_equal(f->keyframe, expect_key);
    }
}

/* Writes init and every fragment to a temporary file; returns its
 * path in path (which the caller unlinks). */
static void fmp4_write_file(const fixture_stream_t *s, char *path)
{
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, s->init->data, s->init->len),
                     (ssize_t)s->init->len);
    for (size_t i = 0; i < s->frag_count; i++)
        assert_int_equal(write(fd, s->frags[i].data->data,
                               s->frags[i].data->len),
                         (ssize_t)s->frags[i].data->len);
    close(fd);
}

static void fmp4_output_demuxes_to_same_packets(void **state)
{
    char path[] = "/tmp/vms-test-fmp4-XXXXXX";
    AVFormatContext *ic = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVRational us = {1, 1000000};
    size_t n = 0;

    assert_non_null(pkt);
    fmp4_write_file(fmp4_stream, path);
    assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
    assert_int_equal(ic->nb_streams, 1);
    assert_int_equal(ic->streams[0]->codecpar->codec_id, AV_CODEC_ID_H264);
    assert_int_equal(ic->streams[0]->codecpar->width, 768);
    assert_int_equal(ic->streams[0]->codecpar->height, 432);
    while (av_read_frame(ic, pkt) >= 0) {
        const AVPacket *src;
        AVRational tb = ic->streams[0]->time_base;

        assert_true(n < fmp4_stream->packet_count);
        src = fmp4_stream->packets[n];
        /* The payload is stored as it came: nothing is re-encoded. */
        assert_int_equal(pkt->size, src->size);
        assert_memory_equal(pkt->data, src->data, (size_t)src->size);
        assert_int_equal(pkt->flags & AV_PKT_FLAG_KEY,
                         src->flags & AV_PKT_FLAG_KEY);
        assert_int_equal(av_rescale_q(pkt->dts, tb, us),
                         av_rescale_q(src->dts, fmp4_stream->time_base, us));
        av_packet_unref(pkt);
        n++;
    }
    assert_int_equal(n, fmp4_stream->packet_count);
    avformat_close_input(&ic);
    av_packet_free(&pkt);
    unlink(path);
}

static void fmp4_flush_without_packets_is_null(void **state)
{
    fmp4_muxer_t *m = NULL;
    vms_buf_t *init = NULL;
    vms_buf_t *frag = (vms_buf_t *)&frag;

    assert_int_equal(fmp4_muxer_new(fmp4_stream->video,
                                    fmp4_stream->time_base, NULL,
                                    (AVRational){0, 1}, &m, &init),
                     0);
    assert_int_equal(fmp4_muxer_flush(m, &frag), 0);
    assert_null(frag);
    /* The init segment does not depend on the packets. */
    assert_int_equal(init->len, fmp4_stream->init->len);
    assert_memory_equal(init->data, fmp4_stream->init->data, init->len);
    vms_buf_unref(init);
    fmp4_muxer_free(m);
    fmp4_muxer_free(NULL);
}

static void fmp4_rejects_bad_parameters(void **state)
{
    AVCodecParameters *par = avcodec_parameters_alloc();
    fmp4_muxer_t *m = (fmp4_muxer_t *)&m;
    vms_buf_t *init = (vms_buf_t *)&init;

    assert_non_null(par);
    assert_int_equal(avcodec_parameters_copy(par, fmp4_stream->video), 0);
    par->codec_id = AV_CODEC_ID_MPEG4;
    assert_int_equal(fmp4_muxer_new(par, fmp4_stream->time_base, NULL,
                                    (AVRational){0, 1}, &m, &init),
                     AVERROR_PATCHWELCOME);
    assert_null(m);
    assert_null(init);

    par->codec_id = AV_CODEC_ID_H264;
    av_freep(&par->extradata);
    par->extradata_size = 0;
    assert_int_equal(fmp4_muxer_new(par, fmp4_stream->time_base, NULL,
                                    (AVRational){0, 1}, &m, &init),
                     AVERROR_INVALIDDATA);
    assert_null(m);
    avcodec_parameters_free(&par);
}

static void fmp4_rejects_missing_audio_track(void **state)
{
    fmp4_muxer_t *m = NULL;
    vms_buf_t *init = NULL;

    assert_int_equal(fmp4_muxer_new(fmp4_stream->video,
                                    fmp4_stream->time_base, NULL,
                                    (AVRational){0, 1}, &m, &init),
                     0);
    assert_int_equal(fmp4_muxer_write(m, FMP4_TRACK_AUDIO,
                                      fmp4_stream->packets[0]),
                     AVERROR(EINVAL));
    assert_int_equal(fmp4_muxer_write(m, 2, fmp4_stream->packets[0]),
                     AVERROR(EINVAL));
    assert_int_equal(fmp4_muxer_write(m, -1, fmp4_stream->packets[0]),
                     AVERROR(EINVAL));
    vms_buf_unref(init);
    fmp4_muxer_free(m);
}

static void fmp4_muxes_video_and_audio(void **state)
{
    AVFormatContext *ic = NULL;
    AVPacket *pkt = av_packet_alloc();
    fmp4_muxer_t *m = NULL;
    vms_buf_t *init = NULL;
    vms_buf_t *frag = NULL;
    int video;
    int audio;
    int written[2] = {0, 0};

    assert_non_null(pkt);
    assert_int_equal(avformat_open_input(&ic, FIXTURE_CLIP, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(ic, NULL) >= 0);
    video = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    audio = av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    assert_true(video >= 0);
    assert_true(audio >= 0);
    assert_int_equal(ic->streams[audio]->codecpar->codec_id,
                     AV_CODEC_ID_AAC);
    assert_int_equal(fmp4_muxer_new(ic->streams[video]->codecpar,
                                    ic->streams[video]->time_base,
                                    ic->streams[audio]->codecpar,
                                    ic->streams[audio]->time_base, &m,
                                    &init),
                     0);
    assert_int_equal(fmp4_count_type(init, "trak"), 2);
    assert_int_equal(fmp4_count_type(init, "mp4a"), 1);
    assert_int_equal(fmp4_count_type(init, "avc1"), 1);

    /* The packets of both tracks before 2 s, in file order. */
    while (av_read_frame(ic, pkt) >= 0) {
        AVStream *st = ic->streams[pkt->stream_index];
        int track = pkt->stream_index == video ? FMP4_TRACK_VIDEO
                                               : FMP4_TRACK_AUDIO;

        if (pkt->stream_index != video && pkt->stream_index != audio) {
            av_packet_unref(pkt);
            continue;
        }
        if (av_rescale_q(pkt->dts, st->time_base, AV_TIME_BASE_Q) >=
            2 * AV_TIME_BASE) {
            av_packet_unref(pkt);
            continue;
        }
        assert_int_equal(fmp4_muxer_write(m, track, pkt), 0);
        written[track]++;
        av_packet_unref(pkt);
    }
    assert_true(written[0] >= 24);
    assert_true(written[1] >= 40);
    assert_int_equal(fmp4_muxer_flush(m, &frag), 0);
    assert_non_null(frag);
    assert_int_equal(fmp4_count_type(frag, "traf"), 2);
    vms_buf_unref(frag);
    vms_buf_unref(init);
    fmp4_muxer_free(m);
    avformat_close_input(&ic);
    av_packet_free(&pkt);
}

static void fmp4_codec_string_from_avcc(void **state)
{
    const AVCodecParameters *par = fmp4_stream->video;
    char codec[32];
    char expected[32];

    /* MP4 files carry avcC extradata: version 1, then the profile,
     * constraint flags and level of the SPS. */
    assert_true(par->extradata_size > 8);
    assert_int_equal(par->extradata[0], 1);
    assert_int_equal(fmp4_codec_string(par, codec, sizeof(codec)), 0);
    snprintf(expected, sizeof(expected), "avc1.%02x%02x%02x",
             par->extradata[1], par->extradata[2], par->extradata[3]);
    assert_string_equal(codec, expected);
    /* The clip is Baseline with constraint_set0_flag, level 2.2. */
    assert_string_equal(codec, "avc1.428016");
}

/* Converts the avcC extradata of par into Annex B (start code, SPS,
 * start code, PPS); returns the length. */
static size_t fmp4_avcc_to_annexb(const AVCodecParameters *par,
                                  uint8_t *out, size_t cap)
{
    const uint8_t *p = par->extradata;
    size_t pos = 6;
    size_t n = 0;
    size_t sps_len = (size_t)p[pos] << 8 | p[pos + 1];
    size_t pps_len;

    assert_int_equal(p[5] & 0x1f, 1);
    pos += 2;
    assert_true(4 + sps_len <= cap);
    memcpy(out, "\0\0\0\1", 4);
    memcpy(out + 4, p + pos, sps_len);
    n = 4 + sps_len;
    pos += sps_len;
    assert_int_equal(p[pos], 1);
    pps_len = (size_t)p[pos + 1] << 8 | p[pos + 2];
    pos += 3;
    assert_true(n + 4 + pps_len <= cap);
    memcpy(out + n, "\0\0\0\1", 4);
    memcpy(out + n + 4, p + pos, pps_len);
    return n + 4 + pps_len;
}

static void fmp4_accepts_annexb_extradata(void **state)
{
    AVCodecParameters *par = avcodec_parameters_alloc();
    fmp4_muxer_t *m = NULL;
    vms_buf_t *init = NULL;
    uint8_t annexb[256];
    size_t len;
    char codec[32];

    assert_non_null(par);
    assert_int_equal(avcodec_parameters_copy(par, fmp4_stream->video), 0);
    len = fmp4_avcc_to_annexb(fmp4_stream->video, annexb, sizeof(annexb));
    av_freep(&par->extradata);
    par->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
    assert_non_null(par->extradata);
    memcpy(par->extradata, annexb, len);
    par->extradata_size = (int)len;

    assert_int_equal(fmp4_codec_string(par, codec, sizeof(codec)), 0);
    assert_string_equal(codec, "avc1.428016");
    assert_int_equal(fmp4_muxer_new(par, fmp4_stream->time_base, NULL,
                                    (AVRational){0, 1}, &m, &init),
                     0);
    /* libavformat turns Annex B parameter sets into an avcC box. */
    assert_int_equal(fmp4_count_type(init, "avcC"), 1);
    vms_buf_unref(init);
    fmp4_muxer_free(m);

    /* Without parameter sets there is no codec string. */
    par->extradata_size = 0;
    assert_int_equal(fmp4_codec_string(par, codec, sizeof(codec)),
                     -EINVAL);
    avcodec_parameters_free(&par);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fmp4_init_segment_is_ftyp_moov),
        cmocka_unit_test(fmp4_fragments_are_moof_mdat),
        cmocka_unit_test(fmp4_output_demuxes_to_same_packets),
        cmocka_unit_test(fmp4_flush_without_packets_is_null),
        cmocka_unit_test(fmp4_rejects_bad_parameters),
        cmocka_unit_test(fmp4_rejects_missing_audio_track),
        cmocka_unit_test(fmp4_muxes_video_and_audio),
        cmocka_unit_test(fmp4_codec_string_from_avcc),
        cmocka_unit_test(fmp4_accepts_annexb_extradata),
    };

    av_log_set_level(AV_LOG_ERROR);
    return UNIT_RUN("fmp4", tests, fmp4_setup, fmp4_teardown, argc, argv);
}
