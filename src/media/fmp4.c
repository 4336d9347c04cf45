/*
 * In-memory fragmented-MP4 muxing; see fmp4.h.
 *
 * The mp4 muxer writes through a custom AVIOContext whose write callback
 * appends to a growable buffer. With frag_custom, the muxer holds the
 * samples until av_write_frame(ctx, NULL), then writes the moof+mdat
 * pair; the bytes gathered between two flushes are one fragment.
 */
#include "media/fmp4.h"

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <string.h>

#include "media/nal.h"

#define FMP4_IO_BUFFER_SIZE 65536
/* Output time base of the video track: 90 kHz, as RTP video uses. */
static const AVRational fmp4_video_tb = {1, 90000};

struct fmp4_muxer {
    AVFormatContext *fmt;
    AVIOContext *io;
    uint8_t *out;   /* bytes written since the last take */
    size_t out_len;
    size_t out_cap;
    AVRational in_tb[2];
    int has_audio;
    int header_written;
    AVPacket *scratch;
};

/* AVIOContext write callback: appends to the muxer's output buffer. */
static int fmp4_io_write(void *opaque, uint8_t *data, int size)
{
    fmp4_muxer_t *m = opaque;

    if (size <= 0)
        return 0;
    if (m->out_len + (size_t)size > m->out_cap) {
        size_t cap = m->out_cap ? m->out_cap : 65536;
        uint8_t *bigger;

        while (cap < m->out_len + (size_t)size)
            cap *= 2;
        bigger = av_realloc(m->out, cap);
        if (!bigger)
            return AVERROR(ENOMEM);
        m->out = bigger;
        m->out_cap = cap;
    }
    memcpy(m->out + m->out_len, data, (size_t)size);
    m->out_len += (size_t)size;
    return size;
}

/* Moves the gathered output into a new buffer; *buf is NULL if empty. */
static int fmp4_take_output(fmp4_muxer_t *m, vms_buf_t **buf)
{
    avio_flush(m->io);
    *buf = NULL;
    if (m->out_len == 0)
        return 0;
    *buf = vms_buf_new(m->out, m->out_len);
    m->out_len = 0;
    return *buf ? 0 : AVERROR(ENOMEM);
}

/* Adds a stream copying par; returns it or NULL. */
static AVStream *fmp4_add_stream(AVFormatContext *fmt,
                                 const AVCodecParameters *par)
{
    AVStream *st = avformat_new_stream(fmt, NULL);

    if (!st)
        return NULL;
    if (avcodec_parameters_copy(st->codecpar, par) < 0)
        return NULL;
    st->codecpar->codec_tag = 0;
    return st;
}

int fmp4_muxer_new(const AVCodecParameters *video, AVRational video_tb,
                   const AVCodecParameters *audio, AVRational audio_tb,
                   fmp4_muxer_t **out, vms_buf_t **init)
{
    fmp4_muxer_t *m;
    AVStream *vst;
    AVDictionary *opts = NULL;
    uint8_t *iobuf = NULL;
    int rc;

    *out = NULL;
    *init = NULL;
    if (video->codec_id != AV_CODEC_ID_H264 &&
        video->codec_id != AV_CODEC_ID_HEVC)
        return AVERROR_PATCHWELCOME;
    if (!video->extradata || video->extradata_size <= 0)
        return AVERROR_INVALIDDATA;

    m = av_mallocz(sizeof(*m));
    if (!m)
        return AVERROR(ENOMEM);
    m->in_tb[FMP4_TRACK_VIDEO] = video_tb;
    m->in_tb[FMP4_TRACK_AUDIO] = audio_tb;
    m->scratch = av_packet_alloc();
    rc = avformat_alloc_output_context2(&m->fmt, NULL, "mp4", NULL);
    if (rc < 0 || !m->scratch)
        goto fail;
    iobuf = av_malloc(FMP4_IO_BUFFER_SIZE);
    if (!iobuf) {
        rc = AVERROR(ENOMEM);
        goto fail;
    }
    m->io = avio_alloc_context(iobuf, FMP4_IO_BUFFER_SIZE, 1, m, NULL,
                               fmp4_io_write, NULL);
    if (!m->io) {
        av_free(iobuf);
        rc = AVERROR(ENOMEM);
        goto fail;
    }
    m->fmt->pb = m->io;
    m->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;

    vst = fmp4_add_stream(m->fmt, video);
    if (!vst) {
        rc = AVERROR(ENOMEM);
        goto fail;
    }
    vst->time_base = fmp4_video_tb;
    if (audio) {
        AVStream *ast = fmp4_add_stream(m->fmt, audio);
        if (!ast) {
            rc = AVERROR(ENOMEM);
            goto fail;
        }
        ast->time_base = (AVRational){1, audio->sample_rate > 0
                                             ? audio->sample_rate
                                             : 48000};
        m->has_audio = 1;
    }

    av_dict_set(&opts, "movflags",
                "frag_custom+empty_moov+default_base_moof+"
                "skip_trailer",
                0);
    rc = avformat_write_header(m->fmt, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        goto fail;
    m->header_written = 1;
    rc = fmp4_take_output(m, init);
    if (rc < 0 || !*init) {
        rc = rc < 0 ? rc : AVERROR_BUG;
        goto fail;
    }
    *out = m;
    return 0;

fail:
    fmp4_muxer_free(m);
    return rc;
}

int fmp4_muxer_write(fmp4_muxer_t *m, int track, const AVPacket *pkt)
{
    AVStream *st;
    int rc;

    if (track < 0 || track > 1 || (track == 1 && !m->has_audio))
        return AVERROR(EINVAL);
    st = m->fmt->streams[track];
    rc = av_packet_ref(m->scratch, pkt);
    if (rc < 0)
        return rc;
    m->scratch->stream_index = track;
    av_packet_rescale_ts(m->scratch, m->in_tb[track], st->time_base);
    rc = av_write_frame(m->fmt, m->scratch);
    av_packet_unref(m->scratch);
    return rc;
}

int fmp4_muxer_flush(fmp4_muxer_t *m, vms_buf_t **frag)
{
    int rc = av_write_frame(m->fmt, NULL);

    *frag = NULL;
    if (rc < 0)
        return rc;
    return fmp4_take_output(m, frag);
}

void fmp4_muxer_free(fmp4_muxer_t *m)
{
    if (!m)
        return;
    if (m->fmt) {
        /* The trailer releases the muxer's state; with skip_trailer it
         * writes nothing that anyone reads. */
        if (m->header_written)
            av_write_trailer(m->fmt);
        avformat_free_context(m->fmt);
    }
    if (m->io) {
        av_freep(&m->io->buffer);
        avio_context_free(&m->io);
    }
    av_packet_free(&m->scratch);
    av_free(m->out);
    av_free(m);
}

int fmp4_codec_string(const AVCodecParameters *par, char *out, size_t len)
{
    nal_sps_info_t info;
    int rc;

    if (!par->extradata || par->extradata_size <= 0)
        return -EINVAL;
    rc = nal_parse_sps_info(par->codec_id == AV_CODEC_ID_HEVC,
                            par->extradata, (size_t)par->extradata_size,
                            &info);
    if (rc < 0)
        return rc;
    return nal_codec_string(&info, out, len);
}
