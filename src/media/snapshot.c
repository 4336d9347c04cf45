#include "media/snapshot.h"

#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

/* Decodes the single keyframe pkt into *frame. */
static int snapshot_decode(const AVPacket *pkt, const AVCodecParameters *par,
                           AVFrame *frame)
{
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    AVCodecContext *dec = NULL;
    int rc;

    if (!codec)
        return AVERROR_DECODER_NOT_FOUND;
    dec = avcodec_alloc_context3(codec);
    if (!dec)
        return AVERROR(ENOMEM);
    rc = avcodec_parameters_to_context(dec, par);
    if (rc < 0)
        goto out;
    dec->thread_count = 1;
    rc = avcodec_open2(dec, codec, NULL);
    if (rc < 0)
        goto out;
    rc = avcodec_send_packet(dec, pkt);
    if (rc < 0)
        goto out;
    rc = avcodec_send_packet(dec, NULL);
    if (rc < 0)
        goto out;
    rc = avcodec_receive_frame(dec, frame);
out:
    avcodec_free_context(&dec);
    return rc;
}

/* Encodes frame (YUVJ420P) as a JPEG into *jpeg. */
static int snapshot_encode(const AVFrame *frame, vms_buf_t **jpeg)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *enc = NULL;
    AVPacket *out = NULL;
    int rc;

    if (!codec)
        return AVERROR_ENCODER_NOT_FOUND;
    enc = avcodec_alloc_context3(codec);
    out = av_packet_alloc();
    if (!enc || !out) {
        rc = AVERROR(ENOMEM);
        goto done;
    }
    enc->width = frame->width;
    enc->height = frame->height;
    enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    enc->time_base = (AVRational){1, 25};
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 4;
    rc = avcodec_open2(enc, codec, NULL);
    if (rc < 0)
        goto done;
    rc = avcodec_send_frame(enc, frame);
    if (rc >= 0)
        rc = avcodec_receive_packet(enc, out);
    if (rc >= 0) {
        *jpeg = vms_buf_new(out->data, (size_t)out->size);
        rc = *jpeg ? 0 : AVERROR(ENOMEM);
    }
done:
    av_packet_free(&out);
    avcodec_free_context(&enc);
    return rc;
}

int snapshot_encode_jpeg(const AVPacket *pkt, const AVCodecParameters *par,
                         int width, vms_buf_t **jpeg)
{
    AVFrame *src = av_frame_alloc();
    AVFrame *dst = av_frame_alloc();
    struct SwsContext *sws = NULL;
    int height;
    int rc;

    *jpeg = NULL;
    if (!src || !dst) {
        rc = AVERROR(ENOMEM);
        goto out;
    }
    rc = snapshot_decode(pkt, par, src);
    if (rc < 0)
        goto out;
    if (width <= 0 || width > src->width)
        width = src->width;
    /* Even dimensions, as 4:2:0 chroma needs. */
    width &= ~1;
    height = (int)((int64_t)src->height * width / src->width) & ~1;
    if (width < 2 || height < 2) {
        rc = AVERROR(EINVAL);
        goto out;
    }
    dst->format = AV_PIX_FMT_YUVJ420P;
    dst->width = width;
    dst->height = height;
    rc = av_frame_get_buffer(dst, 0);
    if (rc < 0)
        goto out;
    sws = sws_getContext(src->width, src->height, src->format, width, height,
                         AV_PIX_FMT_YUVJ420P, SWS_BILINEAR, NULL, NULL,
                         NULL);
    if (!sws) {
        rc = AVERROR(EINVAL);
        goto out;
    }
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0,
              src->height, dst->data, dst->linesize);
    rc = snapshot_encode(dst, jpeg);
out:
    sws_freeContext(sws);
    av_frame_free(&src);
    av_frame_free(&dst);
    return rc;
}
