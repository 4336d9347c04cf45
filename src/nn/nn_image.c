#include "nn/nn_image.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>

struct nn_frame_reader {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    int stream;
    uint8_t *rgb;
    int rgb_w, rgb_h, rgb_stride;
    int64_t index;
    int eof;
    char path[1024];
};

static int nn_av_err(int rc, const char *what, const char *path, char *err,
                     size_t errlen)
{
    char buf[128];

    av_strerror(rc, buf, sizeof(buf));
    snprintf(err, errlen, "%s '%s' failed: %s", what, path, buf);
    return rc < 0 ? rc : -EIO;
}

int nn_frame_reader_open(const char *path, nn_frame_reader **out, char *err,
                         size_t errlen)
{
    nn_frame_reader *r;
    const AVCodec *codec;
    int rc;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    snprintf(r->path, sizeof(r->path), "%s", path);
    rc = avformat_open_input(&r->fmt, path, NULL, NULL);
    if (rc < 0) {
        nn_av_err(rc, "opening", path, err, errlen);
        goto fail;
    }
    rc = avformat_find_stream_info(r->fmt, NULL);
    if (rc < 0) {
        nn_av_err(rc, "reading stream info of", path, err, errlen);
        goto fail;
    }
    rc = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (rc < 0) {
        nn_av_err(rc, "finding a video stream in", path, err, errlen);
        goto fail;
    }
    r->stream = rc;
    r->dec = avcodec_alloc_context3(codec);
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    if (!r->dec || !r->pkt || !r->frame) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory opening '%s'", path);
        goto fail;
    }
    avcodec_parameters_to_context(r->dec,
                                  r->fmt->streams[r->stream]->codecpar);
    r->dec->thread_count = 1;
    rc = avcodec_open2(r->dec, codec, NULL);
    if (rc < 0) {
        nn_av_err(rc, "opening the decoder for", path, err, errlen);
        goto fail;
    }
    *out = r;
    return 0;

fail:
    nn_frame_reader_close(r);
    return rc;
}

void nn_frame_reader_close(nn_frame_reader *r)
{
    if (!r)
        return;
    sws_freeContext(r->sws);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    av_free(r->rgb);
    free(r);
}

/* Convert r->frame to RGB24 into r->rgb. */
static int nn_frame_to_rgb(nn_frame_reader *r, char *err, size_t errlen)
{
    AVFrame *f = r->frame;

    if (f->width != r->rgb_w || f->height != r->rgb_h || !r->rgb) {
        av_free(r->rgb);
        r->rgb_stride = (f->width * 3 + 31) & ~31;
        r->rgb = av_malloc((size_t)r->rgb_stride * f->height);
        if (!r->rgb) {
            snprintf(err, errlen, "out of memory for a %dx%d frame",
                     f->width, f->height);
            return -ENOMEM;
        }
        r->rgb_w = f->width;
        r->rgb_h = f->height;
    }
    r->sws = sws_getCachedContext(r->sws, f->width, f->height, f->format,
                                  f->width, f->height, AV_PIX_FMT_RGB24,
                                  SWS_BILINEAR | SWS_ACCURATE_RND |
                                      SWS_FULL_CHR_H_INT,
                                  NULL, NULL, NULL);
    if (!r->sws) {
        snprintf(err, errlen, "cannot convert pixel format %s of '%s' to "
                 "RGB", av_get_pix_fmt_name(f->format), r->path);
        return -ENOTSUP;
    }
    uint8_t *dst[4] = {r->rgb};
    int dst_stride[4] = {r->rgb_stride};

    sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0,
              f->height, dst, dst_stride);
    return 0;
}

int nn_frame_reader_next(nn_frame_reader *r, struct nn_rgb_frame *out,
                         char *err, size_t errlen)
{
    for (;;) {
        int rc = avcodec_receive_frame(r->dec, r->frame);

        if (rc == 0) {
            AVStream *st = r->fmt->streams[r->stream];

            rc = nn_frame_to_rgb(r, err, errlen);
            if (rc < 0)
                return rc;
            out->data = r->rgb;
            out->width = r->rgb_w;
            out->height = r->rgb_h;
            out->stride = r->rgb_stride;
            out->index = r->index++;
            out->seconds = r->frame->best_effort_timestamp == AV_NOPTS_VALUE
                ? -1
                : r->frame->best_effort_timestamp * av_q2d(st->time_base);
            return 1;
        }
        if (rc == AVERROR_EOF)
            return 0;
        if (rc != AVERROR(EAGAIN))
            return nn_av_err(rc, "decoding", r->path, err, errlen);
        if (r->eof)
            return 0;
        rc = av_read_frame(r->fmt, r->pkt);
        if (rc == AVERROR_EOF) {
            r->eof = 1;
            avcodec_send_packet(r->dec, NULL);
            continue;
        }
        if (rc < 0)
            return nn_av_err(rc, "reading", r->path, err, errlen);
        if (r->pkt->stream_index == r->stream) {
            rc = avcodec_send_packet(r->dec, r->pkt);
            if (rc < 0 && rc != AVERROR(EAGAIN)) {
                av_packet_unref(r->pkt);
                return nn_av_err(rc, "decoding", r->path, err, errlen);
            }
        }
        av_packet_unref(r->pkt);
    }
}

int nn_write_png(const char *path, const uint8_t *rgb, int width, int height,
                 int stride, char *err, size_t errlen)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    AVCodecContext *enc = NULL;
    AVFrame *f = NULL;
    AVPacket *pkt = NULL;
    FILE *fp = NULL;
    int rc;

    if (!codec) {
        snprintf(err, errlen, "this FFmpeg build has no PNG encoder");
        return -ENOTSUP;
    }
    enc = avcodec_alloc_context3(codec);
    f = av_frame_alloc();
    pkt = av_packet_alloc();
    if (!enc || !f || !pkt) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory encoding PNG");
        goto fail;
    }
    enc->width = width;
    enc->height = height;
    enc->pix_fmt = AV_PIX_FMT_RGB24;
    enc->time_base = (AVRational){1, 1};
    rc = avcodec_open2(enc, codec, NULL);
    if (rc < 0) {
        nn_av_err(rc, "opening the PNG encoder for", path, err, errlen);
        goto fail;
    }
    f->width = width;
    f->height = height;
    f->format = AV_PIX_FMT_RGB24;
    f->data[0] = (uint8_t *)rgb;
    f->linesize[0] = stride;
    rc = avcodec_send_frame(enc, f);
    if (rc >= 0)
        rc = avcodec_send_frame(enc, NULL);
    if (rc >= 0)
        rc = avcodec_receive_packet(enc, pkt);
    if (rc < 0) {
        nn_av_err(rc, "encoding PNG", path, err, errlen);
        goto fail;
    }
    fp = fopen(path, "wb");
    if (!fp || fwrite(pkt->data, 1, (size_t)pkt->size, fp) !=
                   (size_t)pkt->size) {
        rc = -errno ? -errno : -EIO;
        snprintf(err, errlen, "cannot write '%s'", path);
        goto fail;
    }
    rc = 0;

fail:
    if (fp && fclose(fp) != 0 && rc == 0) {
        rc = -EIO;
        snprintf(err, errlen, "cannot write '%s'", path);
    }
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);
    return rc;
}
