/*
 * RTSP ingest; see ingest.h.
 *
 * States of one camera stream (transitions and who makes them):
 *
 *   CONNECTING --session_open ok, first packet--> STREAMING
 *   CONNECTING/STREAMING --I/O error, EOF, timeout--> RETRYING
 *   CONNECTING --401/403, no video, unsupported codec--> FAILED
 *   RETRYING/FAILED --backoff elapsed--> CONNECTING
 *   any --ingest_stop--> STOPPED
 *
 * The backoff doubles from INGEST_RETRY_MIN_MS up to retry_max_ms and is
 * reset after a session that streamed for INGEST_STABLE_MS. The delay is
 * drawn uniformly from [delay/2, delay] so that many cameras behind one
 * failed switch do not reconnect in lockstep. FAILED uses the maximum
 * delay: the camera is reachable but refuses us, and hammering it would
 * lock the account on many models.
 *
 * Timestamps: every packet is placed on the wall clock. At the first
 * keyframe of a muxer generation, the packet's arrival time becomes the
 * anchor of the video track; later packets are placed by their RTP
 * timestamps relative to it. A dts that does not increase is repaired
 * (moved one tick past the previous one) and counted. A timestamp
 * that strays more than INGEST_DISCONTINUITY_US from the arrival clock
 * (a camera clock jump or a wrap) ends the generation: the next keyframe
 * starts a new init segment and so a new segment file, and the jump is
 * counted as a gap. The same happens when a keyframe carries parameter
 * sets different from the current ones (a resolution change).
 *
 * Fragments: a video keyframe always starts a new fragment, and a
 * fragment is closed before it would exceed INGEST_FRAGMENT_MAX_US. Each
 * video packet is held back until the next one arrives, so that its
 * duration is known exactly when it is muxed.
 */
#include "media/ingest.h"

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "media/fmp4.h"
#include "media/nal.h"

#define INGEST_RETRY_MIN_MS 500
#define INGEST_STABLE_MS 10000
#define INGEST_FRAGMENT_MAX_US 250000
#define INGEST_DISCONTINUITY_US 3000000
#define INGEST_PARAMS_MAX 4096

static const AVRational ingest_us_tb = {1, 1000000};

struct ingest {
    ingest_config_t cfg;
    hub_t *hub;
    const vms_clock_t *clock;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping; /* under lock; also read by the interrupt callback */
    ingest_status_t status;
    int64_t deadline_us;   /* monotonic; the interrupt callback aborts
                              blocking I/O after it */
    char name[64];         /* "camera=ID stream=NAME" for log lines */
};

/* One RTSP session's demuxing and muxing state. */
/* Decode timestamps for streams that carry only presentation times (RTP
 * has no dts). With a reorder depth of D frames (B-frames), the n-th
 * decode time is the (n-D)-th smallest presentation time seen: the
 * smallest pts still waiting once more than D are waiting. */
#define INGEST_REORDER_MAX 8

typedef struct ingest_reorder {
    int depth;                           /* D */
    int64_t waiting[INGEST_REORDER_MAX + 1]; /* sorted ascending */
    int count;
    int64_t frame;                       /* frame duration estimate */
    int64_t last_pts;
} ingest_reorder_t;

typedef struct ingest_session {
    AVFormatContext *ic;
    ingest_reorder_t reorder;
    int video_index;
    int audio_index;       /* -1 if audio is not kept */
    AVCodecParameters *vpar; /* video parameters with current extradata */
    fmp4_muxer_t *mux;
    vms_buf_t *init;
    int64_t anchor_wall_us;   /* wall time of the generation's start */
    AVRational vtb;           /* video time base (RTP: 1/90000) */
    int64_t video_anchor_ts;  /* video dts (vtb) at anchor_wall_us */
    int64_t audio_anchor_ts;  /* audio dts (its time base) at
                                 audio_anchor_wall */
    int64_t audio_anchor_wall;
    int audio_anchored;
    int64_t last_video_ts;    /* generation-relative dts (vtb) */
    int64_t last_audio_ts;    /* audio time base, AV_NOPTS_VALUE if none */
    int64_t last_audio_duration;
    int64_t last_duration;    /* vtb */
    AVPacket *pending;        /* held-back video packet (vtb, relative) */
    int pending_valid;
    int frag_open;            /* packets written since the last flush */
    int frag_keyframe;
    int64_t frag_start;       /* vtb, relative */
    int64_t frag_duration;    /* vtb */
    int64_t frag_arrival_us;
    int streamed;             /* at least one fragment published */
} ingest_session_t;

const char *ingest_state_name(ingest_state_t state)
{
    switch (state) {
    case INGEST_CONNECTING:
        return "connecting";
    case INGEST_STREAMING:
        return "streaming";
    case INGEST_RETRYING:
        return "retrying";
    case INGEST_FAILED:
        return "failed";
    case INGEST_STOPPED:
        return "stopped";
    }
    return "unknown";
}

/* Appends s to out percent-encoding everything but RFC 3986 unreserved
 * characters. Returns the new length or -1 if out is too small. */
static int ingest_percent_encode(const char *s, char *out, size_t pos,
                                 size_t len)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_' || c == '~';
        if (pos + (plain ? 1 : 3) >= len)
            return -1;
        if (plain) {
            out[pos++] = (char)c;
        } else {
            out[pos++] = '%';
            out[pos++] = hex[c >> 4];
            out[pos++] = hex[c & 15];
        }
    }
    out[pos] = '\0';
    return (int)pos;
}

int ingest_build_url(const char *url, const char *user, const char *pass,
                     char *out, size_t len)
{
    const char *rest;
    const char *rest_host;
    size_t prefix;
    int pos;

    if (strncmp(url, "rtsp://", 7) == 0)
        prefix = 7;
    else if (strncmp(url, "rtsps://", 8) == 0)
        prefix = 8;
    else
        return -EINVAL;
    rest = url + prefix;
    if (*rest == '\0' || *rest == '/' || *rest == ':' ||
        strpbrk(rest, " \t\r\n"))
        return -EINVAL;
    /* An IPv6 literal must be closed before the path starts. */
    if (rest[strcspn(rest, "@/")] == '@')
        rest_host = strchr(rest, '@') + 1;
    else
        rest_host = rest;
    if (*rest_host == '[') {
        const char *close = strchr(rest_host, ']');
        const char *slash = strchr(rest_host, '/');
        if (!close || (slash && slash < close))
            return -EINVAL;
    }
    if (prefix + 1 > len)
        return -EINVAL;
    memcpy(out, url, prefix);
    pos = (int)prefix;
    if (user && *user) {
        pos = ingest_percent_encode(user, out, (size_t)pos, len);
        if (pos >= 0 && pass && *pass) {
            if ((size_t)pos + 1 >= len)
                return -EINVAL;
            out[pos++] = ':';
            pos = ingest_percent_encode(pass, out, (size_t)pos, len);
        }
        if (pos < 0 || (size_t)pos + 1 >= len)
            return -EINVAL;
        out[pos++] = '@';
    }
    if ((size_t)pos + strlen(rest) + 1 > len)
        return -EINVAL;
    strcpy(out + pos, rest);
    return 0;
}

static void ingest_set_state(ingest_t *ing, ingest_state_t state,
                             const char *error)
{
    pthread_mutex_lock(&ing->lock);
    ing->status.state = state;
    if (error)
        snprintf(ing->status.error, sizeof(ing->status.error), "%s", error);
    pthread_mutex_unlock(&ing->lock);
}

static int ingest_is_stopping(ingest_t *ing)
{
    return __atomic_load_n(&ing->stopping, __ATOMIC_ACQUIRE);
}

/* libavformat interrupt callback: aborts blocking I/O on stop or when
 * no data arrived before the deadline. */
static int ingest_interrupt(void *opaque)
{
    ingest_t *ing = opaque;

    if (ingest_is_stopping(ing))
        return 1;
    return av_gettime_relative() >
           __atomic_load_n(&ing->deadline_us, __ATOMIC_RELAXED);
}

static void ingest_extend_deadline(ingest_t *ing)
{
    int64_t deadline = av_gettime_relative() +
                       (int64_t)ing->cfg.io_timeout_ms * 1000;

    __atomic_store_n(&ing->deadline_us, deadline, __ATOMIC_RELAXED);
}

/* Describes an open failure for the operator; returns 1 if it is one
 * that retrying soon will not cure (FAILED), 0 otherwise. */
static int ingest_describe_error(ingest_t *ing, const char *step, int rc,
                                 char *out, size_t len)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    const char *hint = "";
    int permanent = 0;

    av_strerror(rc, reason, sizeof(reason));
    if (rc == AVERROR_HTTP_UNAUTHORIZED) {
        hint = ": check the camera's username and password";
        permanent = 1;
    } else if (rc == AVERROR_HTTP_FORBIDDEN) {
        hint = ": the camera refused access for this account";
        permanent = 1;
    } else if (rc == AVERROR_HTTP_NOT_FOUND) {
        hint = ": check the stream path in the URL";
        permanent = 1;
    } else if (rc == AVERROR(ETIMEDOUT) || rc == AVERROR_EXIT) {
        snprintf(reason, sizeof(reason), "timed out after %d ms",
                 ing->cfg.io_timeout_ms);
        hint = ": check that the camera is on and reachable";
    } else if (rc == AVERROR(ECONNREFUSED)) {
        hint = ": nothing listens at that address and port";
    }
    snprintf(out, len, "camera %lld (%s) %s stream: %s failed: %s%s",
             (long long)ing->cfg.camera_id, ing->cfg.camera_name,
             ing->cfg.stream, step, reason, hint);
    return permanent;
}

/* Opens the RTSP session and picks the tracks. Returns 0, or a negative
 * AVERROR with err filled in and *permanent set for FAILED. */
static int ingest_session_open(ingest_t *ing, ingest_session_t *s,
                               char *err, size_t errlen, int *permanent)
{
    char url[1400];
    char shown[200];
    AVDictionary *opts = NULL;
    char timeout[32];
    int rc;

    *permanent = 0;
    if (ingest_build_url(ing->cfg.url, ing->cfg.username,
                         ing->cfg.password, url, sizeof(url)) < 0) {
        vms_log_redact_url(ing->cfg.url, shown, sizeof(shown));
        snprintf(err, errlen,
                 "camera %lld (%s) %s stream: invalid URL '%s': expected "
                 "rtsp://host[:port]/path",
                 (long long)ing->cfg.camera_id, ing->cfg.camera_name,
                 ing->cfg.stream, shown);
        *permanent = 1;
        return AVERROR(EINVAL);
    }

    s->ic = avformat_alloc_context();
    if (!s->ic)
        return AVERROR(ENOMEM);
    s->ic->interrupt_callback.callback = ingest_interrupt;
    s->ic->interrupt_callback.opaque = ing;
    snprintf(timeout, sizeof(timeout), "%lld",
             (long long)ing->cfg.io_timeout_ms * 1000);
    av_dict_set(&opts, "rtsp_transport", ing->cfg.use_udp ? "udp" : "tcp",
                0);
    av_dict_set(&opts, "timeout", timeout, 0);
    av_dict_set(&opts, "analyzeduration", "1000000", 0);
    av_dict_set(&opts, "probesize", "1000000", 0);
    ingest_extend_deadline(ing);
    rc = avformat_open_input(&s->ic, url, NULL, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        *permanent = ingest_describe_error(ing, "RTSP session", rc, err,
                                           errlen);
        return rc;
    }
    ingest_extend_deadline(ing);
    rc = avformat_find_stream_info(s->ic, NULL);
    if (rc < 0) {
        *permanent = ingest_describe_error(ing, "reading stream info", rc,
                                           err, errlen);
        return rc;
    }

    s->video_index = av_find_best_stream(s->ic, AVMEDIA_TYPE_VIDEO, -1, -1,
                                         NULL, 0);
    if (s->video_index < 0) {
        snprintf(err, errlen,
                 "camera %lld (%s) %s stream: the stream has no video "
                 "track: point the URL at a video profile",
                 (long long)ing->cfg.camera_id, ing->cfg.camera_name,
                 ing->cfg.stream);
        *permanent = 1;
        return AVERROR_STREAM_NOT_FOUND;
    }
    {
        AVCodecParameters *par = s->ic->streams[s->video_index]->codecpar;
        if (par->codec_id != AV_CODEC_ID_H264 &&
            par->codec_id != AV_CODEC_ID_HEVC) {
            snprintf(err, errlen,
                     "camera %lld (%s) %s stream: video codec %s is not "
                     "supported: set the camera to H.264 or H.265",
                     (long long)ing->cfg.camera_id, ing->cfg.camera_name,
                     ing->cfg.stream, avcodec_get_name(par->codec_id));
            *permanent = 1;
            return AVERROR_PATCHWELCOME;
        }
    }

    s->audio_index = -1;
    for (unsigned i = 0; i < s->ic->nb_streams; i++) {
        AVCodecParameters *par = s->ic->streams[i]->codecpar;

        if (par->codec_type != AVMEDIA_TYPE_AUDIO)
            continue;
        if (par->codec_id == AV_CODEC_ID_AAC && s->audio_index < 0 &&
            par->extradata_size >= 2) {
            s->audio_index = (int)i;
        } else {
            vms_log(VMS_LOG_INFO, "ingest",
                    "%s audio_track=%u codec=%s action=skipped "
                    "reason=only AAC audio is recorded",
                    ing->name, i, avcodec_get_name(par->codec_id));
        }
    }
    for (unsigned i = 0; i < s->ic->nb_streams; i++)
        if ((int)i != s->video_index && (int)i != s->audio_index)
            s->ic->streams[i]->discard = AVDISCARD_ALL;
    return 0;
}

/* Closes the open fragment and publishes it. */
static int ingest_flush_fragment(ingest_t *ing, ingest_session_t *s)
{
    vms_buf_t *data = NULL;
    hub_fragment_t *frag;
    int rc;

    if (!s->frag_open)
        return 0;
    rc = fmp4_muxer_flush(s->mux, &data);
    s->frag_open = 0;
    if (rc < 0 || !data)
        return rc;
    frag = hub_fragment_new(data, s->init);
    vms_buf_unref(data);
    if (!frag)
        return AVERROR(ENOMEM);
    frag->start_us = s->anchor_wall_us +
                     av_rescale_q(s->frag_start, s->vtb, ingest_us_tb);
    frag->duration_us = av_rescale_q(s->frag_duration, s->vtb, ingest_us_tb);
    frag->keyframe = s->frag_keyframe;
    frag->arrival_us = s->frag_arrival_us;
    hub_publish(ing->hub, frag);
    hub_fragment_unref(frag);
    s->streamed = 1;

    pthread_mutex_lock(&ing->lock);
    ing->status.fragments++;
    pthread_mutex_unlock(&ing->lock);
    return 0;
}

/* Writes the held-back video packet, whose duration is now known,
 * opening a new fragment first where the rules at the top require. */
static int ingest_write_pending(ingest_t *ing, ingest_session_t *s)
{
    AVPacket *p = s->pending;
    int key = (p->flags & AV_PKT_FLAG_KEY) != 0;
    int rc;

    if (!s->pending_valid)
        return 0;
    s->pending_valid = 0;
    if (s->frag_open &&
        (key || av_rescale_q(s->frag_duration + p->duration, s->vtb,
                             ingest_us_tb) > INGEST_FRAGMENT_MAX_US)) {
        rc = ingest_flush_fragment(ing, s);
        if (rc < 0)
            return rc;
    }
    if (!s->frag_open) {
        s->frag_open = 1;
        s->frag_keyframe = key;
        s->frag_start = p->dts;
        s->frag_duration = 0;
        s->frag_arrival_us = av_gettime_relative();
    }
    s->frag_duration += p->duration;
    rc = fmp4_muxer_write(s->mux, FMP4_TRACK_VIDEO, p);
    av_packet_unref(p);
    return rc;
}

/* Ends the current muxer generation: writes what is held back and
 * publishes the last fragment. */
static int ingest_end_generation(ingest_t *ing, ingest_session_t *s)
{
    int rc = 0;

    if (!s->mux)
        return 0;
    if (s->pending_valid) {
        if (s->pending->duration <= 0)
            s->pending->duration = s->last_duration;
        rc = ingest_write_pending(ing, s);
    }
    if (rc >= 0)
        rc = ingest_flush_fragment(ing, s);
    fmp4_muxer_free(s->mux);
    s->mux = NULL;
    vms_buf_unref(s->init);
    s->init = NULL;
    return rc;
}

/* Fills the hub's description of the stream. */
static void ingest_describe_stream(ingest_session_t *s, hub_info_t *info)
{
    AVStream *vst = s->ic->streams[s->video_index];
    AVRational rate = vst->avg_frame_rate.num ? vst->avg_frame_rate
                                              : vst->r_frame_rate;
    char video_codec[48] = "";
    char audio_codec[16] = "";

    memset(info, 0, sizeof(*info));
    if (fmp4_codec_string(s->vpar, video_codec, sizeof(video_codec)) < 0)
        snprintf(video_codec, sizeof(video_codec), "%s",
                 s->vpar->codec_id == AV_CODEC_ID_HEVC ? "hvc1" : "avc1");
    if (s->audio_index >= 0) {
        AVCodecParameters *apar = s->ic->streams[s->audio_index]->codecpar;
        /* The audio object type is the first five bits of the
         * AudioSpecificConfig. */
        snprintf(audio_codec, sizeof(audio_codec), "mp4a.40.%d",
                 apar->extradata[0] >> 3);
        info->has_audio = 1;
    }
    snprintf(info->codec, sizeof(info->codec), "%s%s%s", video_codec,
             audio_codec[0] ? "," : "", audio_codec);
    snprintf(info->mime, sizeof(info->mime), "video/mp4; codecs=\"%s\"",
             info->codec);
    info->width = s->vpar->width;
    info->height = s->vpar->height;
    info->fps = rate.num && rate.den ? av_q2d(rate) : 0;
}

/* Starts a muxer generation at keyframe pkt (timestamps in the
 * stream's time base). params holds parameter sets found in the
 * packet, or NULL. */
static int ingest_begin_generation(ingest_t *ing, ingest_session_t *s,
                                   const AVPacket *pkt, const uint8_t *params,
                                   size_t params_len, int64_t now_us)
{
    AVStream *vst = s->ic->streams[s->video_index];
    AVCodecParameters *apar = NULL;
    AVRational audio_tb = ingest_us_tb;
    hub_info_t info;
    int rc;

    if (params) {
        av_freep(&s->vpar->extradata);
        s->vpar->extradata_size = 0;
        s->vpar->extradata =
            av_mallocz(params_len + AV_INPUT_BUFFER_PADDING_SIZE);
        if (!s->vpar->extradata)
            return AVERROR(ENOMEM);
        memcpy(s->vpar->extradata, params, params_len);
        s->vpar->extradata_size = (int)params_len;
    }
    if (!s->vpar->extradata_size)
        return AVERROR_INVALIDDATA;
    if (s->audio_index >= 0) {
        apar = s->ic->streams[s->audio_index]->codecpar;
        audio_tb = s->ic->streams[s->audio_index]->time_base;
    }
    rc = fmp4_muxer_new(s->vpar, vst->time_base, apar, audio_tb, &s->mux,
                        &s->init);
    if (rc < 0)
        return rc;

    s->anchor_wall_us = now_us;
    s->vtb = vst->time_base;
    s->video_anchor_ts = pkt->dts;
    s->last_video_ts = -1;
    s->last_audio_ts = AV_NOPTS_VALUE;
    s->audio_anchored = 0;
    s->frag_open = 0;
    s->pending_valid = 0;
    ingest_describe_stream(s, &info);
    hub_set_init(ing->hub, s->init, &info);
    vms_log(VMS_LOG_INFO, "ingest",
            "%s event=init codec=\"%s\" width=%d height=%d fps=%.2f",
            ing->name, info.codec, info.width, info.height, info.fps);
    return 0;
}

/* Returns the decode time of a packet that has only pts, following
 * the rule at ingest_reorder_t. A pts below the previous one with no
 * reorder depth yet means the stream has B-frames: the depth grows. */
static int64_t ingest_reorder_dts(ingest_reorder_t *r, int64_t pts)
{
    int64_t dts;
    int i;

    if (r->count > 0 && pts < r->last_pts && r->depth < INGEST_REORDER_MAX) {
        int behind = 0;
        for (i = 0; i < r->count; i++)
            behind += r->waiting[i] > pts;
        if (behind + 1 > r->depth)
            r->depth = behind + 1 > INGEST_REORDER_MAX ? INGEST_REORDER_MAX
                                                       : behind + 1;
    }
    r->last_pts = pts;
    if (r->count == INGEST_REORDER_MAX + 1) {
        /* Should not happen with depth <= max; keep the buffer sane. */
        memmove(r->waiting, r->waiting + 1, (size_t)(--r->count) * 8);
    }
    for (i = r->count; i > 0 && r->waiting[i - 1] > pts; i--)
        r->waiting[i] = r->waiting[i - 1];
    r->waiting[i] = pts;
    r->count++;
    if (r->count > r->depth) {
        dts = r->waiting[0];
        memmove(r->waiting, r->waiting + 1, (size_t)(--r->count) * 8);
        return dts;
    }
    /* Warm-up: step back one frame per frame still missing. */
    return r->waiting[0] - (int64_t)(r->depth + 1 - r->count) * r->frame;
}

/* Handles one video packet: generation changes, timestamp repair, and
 * the hold-back of one packet. */
static int ingest_video_packet(ingest_t *ing, ingest_session_t *s,
                               AVPacket *pkt)
{
    AVStream *vst = s->ic->streams[s->video_index];
    int hevc = vst->codecpar->codec_id == AV_CODEC_ID_HEVC;
    int key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    int64_t now_us = vms_clock_now_us(ing->clock);
    uint8_t params[INGEST_PARAMS_MAX];
    size_t params_len = 0;
    int have_params = 0;
    int64_t ts;
    int rc;

    if (pkt->dts == AV_NOPTS_VALUE && pkt->pts != AV_NOPTS_VALUE)
        pkt->dts = ingest_reorder_dts(&s->reorder, pkt->pts);
    if (key)
        have_params = nal_extract_parameter_sets(hevc, pkt->data,
                                                 (size_t)pkt->size, params,
                                                 sizeof(params),
                                                 &params_len) == 0;

    if (s->mux && key && have_params &&
        (params_len != (size_t)s->vpar->extradata_size ||
         memcmp(params, s->vpar->extradata, params_len) != 0)) {
        vms_log(VMS_LOG_INFO, "ingest",
                "%s event=parameters_changed action=new_segment",
                ing->name);
        rc = ingest_end_generation(ing, s);
        if (rc < 0)
            return rc;
    }

    if (s->mux && pkt->dts != AV_NOPTS_VALUE) {
        int64_t offset = s->anchor_wall_us +
                         av_rescale_q(pkt->dts - s->video_anchor_ts, s->vtb,
                                      ingest_us_tb) -
                         now_us;
        if (llabs(offset) > INGEST_DISCONTINUITY_US) {
            vms_log(VMS_LOG_WARN, "ingest",
                    "%s event=timestamp_jump offset_ms=%lld "
                    "action=new_segment",
                    ing->name, (long long)offset / 1000);
            pthread_mutex_lock(&ing->lock);
            ing->status.timestamp_gaps++;
            pthread_mutex_unlock(&ing->lock);
            rc = ingest_end_generation(ing, s);
            if (rc < 0)
                return rc;
        }
    }

    if (!s->mux) {
        if (!key || pkt->dts == AV_NOPTS_VALUE) {
            pthread_mutex_lock(&ing->lock);
            ing->status.frames_dropped++;
            pthread_mutex_unlock(&ing->lock);
            return 0;
        }
        rc = ingest_begin_generation(ing, s, pkt,
                                     have_params ? params : NULL,
                                     params_len, now_us);
        if (rc == AVERROR_INVALIDDATA) {
            /* No parameter sets yet, neither in the SDP nor in band. */
            pthread_mutex_lock(&ing->lock);
            ing->status.frames_dropped++;
            pthread_mutex_unlock(&ing->lock);
            return 0;
        }
        if (rc < 0)
            return rc;
    }
    if (key)
        hub_set_keyframe(ing->hub, pkt, s->vpar, now_us);

    if (pkt->dts == AV_NOPTS_VALUE)
        ts = s->last_video_ts + (s->last_duration > 0 ? s->last_duration : 1);
    else
        ts = pkt->dts - s->video_anchor_ts;
    if (pkt->dts == AV_NOPTS_VALUE || ts <= s->last_video_ts) {
        ts = s->last_video_ts + 1;
        pthread_mutex_lock(&ing->lock);
        ing->status.timestamps_repaired++;
        pthread_mutex_unlock(&ing->lock);
    }

    if (s->pending_valid) {
        s->pending->duration = ts - s->pending->dts;
        s->last_duration = s->pending->duration;
        rc = ingest_write_pending(ing, s);
        if (rc < 0)
            return rc;
    }
    rc = av_packet_ref(s->pending, pkt);
    if (rc < 0)
        return rc;
    /* Cameras send no B-frames on their live streams in practice; the
     * composition offset is kept in case one does. */
    s->pending->pts = pkt->pts == AV_NOPTS_VALUE || pkt->pts < pkt->dts
                          ? ts
                          : ts + (pkt->pts - pkt->dts);
    s->pending->dts = ts;
    s->pending->duration = 0;
    s->pending_valid = 1;
    s->last_video_ts = ts;
    return 0;
}

/* Handles one AAC packet: placed on the wall clock by its own anchor,
 * kept monotonic, dropped before the first video keyframe. Audio keeps
 * its own time base (the sample rate) so that frame durations stay
 * exact and the muxer never sees a rounding step backwards. */
static int ingest_audio_packet(ingest_t *ing, ingest_session_t *s,
                               AVPacket *pkt)
{
    AVStream *ast = s->ic->streams[s->audio_index];
    AVRational tb = ast->time_base;
    int64_t now_us = vms_clock_now_us(ing->clock);
    int64_t wall;
    int64_t ts;

    if (!s->mux || pkt->dts == AV_NOPTS_VALUE)
        return 0;
    wall = s->audio_anchor_wall +
           av_rescale_q(pkt->dts - s->audio_anchor_ts, tb, ingest_us_tb);
    if (!s->audio_anchored || llabs(wall - now_us) > INGEST_DISCONTINUITY_US) {
        s->audio_anchor_wall = now_us;
        s->audio_anchor_ts = pkt->dts;
        s->audio_anchored = 1;
    }
    ts = av_rescale_q(s->audio_anchor_wall - s->anchor_wall_us, ingest_us_tb,
                      tb) +
         (pkt->dts - s->audio_anchor_ts);
    if (ts < 0)
        return 0;
    if (pkt->duration <= 0) {
        int frame = ast->codecpar->frame_size > 0 ? ast->codecpar->frame_size
                                                  : 1024;
        int rate = ast->codecpar->sample_rate > 0
                       ? ast->codecpar->sample_rate
                       : 48000;
        pkt->duration = av_rescale_q(frame, (AVRational){1, rate}, tb);
    }
    if (s->last_audio_ts != AV_NOPTS_VALUE &&
        ts < s->last_audio_ts + s->last_audio_duration)
        ts = s->last_audio_ts + s->last_audio_duration;
    s->last_audio_ts = ts;
    s->last_audio_duration = pkt->duration;
    pkt->dts = ts;
    pkt->pts = ts;
    /* Audio that arrives between two video packets joins the fragment
     * that the next video packet completes. */
    return fmp4_muxer_write(s->mux, FMP4_TRACK_AUDIO, pkt);
}

static void ingest_session_close(ingest_t *ing, ingest_session_t *s)
{
    if (s->mux)
        ingest_end_generation(ing, s);
    vms_buf_unref(s->init);
    avformat_close_input(&s->ic);
    avcodec_parameters_free(&s->vpar);
    av_packet_free(&s->pending);
}

/* Runs one session until it fails or the ingest stops. Returns 0 on stop,
 * a negative AVERROR otherwise, with err filled in. */
static int ingest_session_run(ingest_t *ing, char *err, size_t errlen,
                              int *permanent, int *streamed)
{
    ingest_session_t s = {.video_index = -1, .audio_index = -1};
    AVPacket *pkt = av_packet_alloc();
    int rc;

    *streamed = 0;
    s.pending = av_packet_alloc();
    s.vpar = avcodec_parameters_alloc();
    if (!pkt || !s.pending || !s.vpar) {
        rc = AVERROR(ENOMEM);
        goto out;
    }
    rc = ingest_session_open(ing, &s, err, errlen, permanent);
    if (rc < 0)
        goto out;
    rc = avcodec_parameters_copy(s.vpar,
                                 s.ic->streams[s.video_index]->codecpar);
    if (rc < 0)
        goto out;
    {
        AVStream *vst = s.ic->streams[s.video_index];
        AVRational rate = vst->avg_frame_rate.num ? vst->avg_frame_rate
                                                  : vst->r_frame_rate;

        s.reorder.depth = vst->codecpar->video_delay < INGEST_REORDER_MAX
                              ? vst->codecpar->video_delay
                              : INGEST_REORDER_MAX;
        s.reorder.frame = rate.num > 0 && rate.den > 0
                              ? av_rescale_q(1, av_inv_q(rate),
                                             vst->time_base)
                              : av_rescale_q(40000, ingest_us_tb,
                                             vst->time_base);
        if (s.reorder.frame <= 0)
            s.reorder.frame = 1;
    }

    while (!ingest_is_stopping(ing)) {
        ingest_extend_deadline(ing);
        rc = av_read_frame(s.ic, pkt);
        if (rc < 0)
            break;
        pthread_mutex_lock(&ing->lock);
        ing->status.bytes += (uint64_t)pkt->size;
        if (pkt->stream_index == s.video_index) {
            ing->status.frames++;
            ing->status.last_frame_us = vms_clock_now_us(ing->clock);
        }
        pthread_mutex_unlock(&ing->lock);

        if (pkt->stream_index == s.video_index) {
            rc = ingest_video_packet(ing, &s, pkt);
        } else if (pkt->stream_index == s.audio_index) {
            /* A bad audio packet costs that packet, never the video. */
            if (ingest_audio_packet(ing, &s, pkt) < 0) {
                pthread_mutex_lock(&ing->lock);
                ing->status.audio_dropped++;
                pthread_mutex_unlock(&ing->lock);
            }
        }
        av_packet_unref(pkt);
        if (rc < 0) {
            char reason[AV_ERROR_MAX_STRING_SIZE];
            av_strerror(rc, reason, sizeof(reason));
            snprintf(err, errlen,
                     "camera %lld (%s) %s stream: muxing failed: %s",
                     (long long)ing->cfg.camera_id, ing->cfg.camera_name,
                     ing->cfg.stream, reason);
            goto out;
        }
        if (s.streamed && !*streamed) {
            *streamed = 1;
            ingest_set_state(ing, INGEST_STREAMING, "");
            vms_log(VMS_LOG_INFO, "ingest", "%s state=streaming",
                    ing->name);
        }
    }
    if (ingest_is_stopping(ing)) {
        rc = 0;
    } else if (rc == AVERROR_EOF) {
        snprintf(err, errlen,
                 "camera %lld (%s) %s stream: the camera ended the session",
                 (long long)ing->cfg.camera_id, ing->cfg.camera_name,
                 ing->cfg.stream);
    } else {
        ingest_describe_error(ing, "reading", rc, err, errlen);
    }

out:
    ingest_session_close(ing, &s);
    av_packet_free(&pkt);
    hub_set_inactive(ing->hub);
    return rc;
}

/* Waits ms milliseconds or until stop; returns 1 if stopping. */
static int ingest_sleep(ingest_t *ing, int64_t ms)
{
    struct timespec deadline;
    int stopping;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&ing->lock);
    while (!ing->stopping &&
           pthread_cond_timedwait(&ing->wake, &ing->lock, &deadline) == 0)
        ;
    stopping = ing->stopping;
    pthread_mutex_unlock(&ing->lock);
    return stopping;
}

static void *ingest_thread(void *arg)
{
    ingest_t *ing = arg;
    int64_t backoff_ms = INGEST_RETRY_MIN_MS;
    unsigned seed = (unsigned)(ing->cfg.camera_id * 7919) ^
                    (unsigned)av_gettime_relative();
    int first = 1;

    while (!ingest_is_stopping(ing)) {
        char err[512] = "";
        int permanent = 0;
        int streamed = 0;
        int64_t started = av_gettime_relative();
        int64_t delay;
        int rc;

        if (!first) {
            pthread_mutex_lock(&ing->lock);
            ing->status.reconnects++;
            pthread_mutex_unlock(&ing->lock);
        }
        first = 0;
        ingest_set_state(ing, INGEST_CONNECTING, NULL);
        rc = ingest_session_run(ing, err, sizeof(err), &permanent,
                                &streamed);
        if (ingest_is_stopping(ing))
            break;
        (void)rc;

        if (streamed && av_gettime_relative() - started >
                            (int64_t)INGEST_STABLE_MS * 1000)
            backoff_ms = INGEST_RETRY_MIN_MS;
        delay = permanent ? ing->cfg.retry_max_ms : backoff_ms;
        delay = delay / 2 + rand_r(&seed) % (delay / 2 + 1);
        backoff_ms *= 2;
        if (backoff_ms > ing->cfg.retry_max_ms)
            backoff_ms = ing->cfg.retry_max_ms;

        pthread_mutex_lock(&ing->lock);
        ing->status.retry_in_ms = delay;
        pthread_mutex_unlock(&ing->lock);
        ingest_set_state(ing, permanent ? INGEST_FAILED : INGEST_RETRYING,
                         err);
        vms_log(VMS_LOG_WARN, "ingest",
                "%s state=%s retry_in_ms=%lld error=\"%s\"", ing->name,
                permanent ? "failed" : "retrying", (long long)delay, err);
        if (ingest_sleep(ing, delay))
            break;
    }
    ingest_set_state(ing, INGEST_STOPPED, NULL);
    return NULL;
}

int ingest_start(const ingest_config_t *cfg, hub_t *hub,
                 const vms_clock_t *clock, ingest_t **out)
{
    ingest_t *ing = calloc(1, sizeof(*ing));
    pthread_condattr_t attr;
    int rc;

    *out = NULL;
    if (!ing)
        return -ENOMEM;
    ing->cfg = *cfg;
    if (ing->cfg.retry_max_ms < INGEST_RETRY_MIN_MS)
        ing->cfg.retry_max_ms = INGEST_RETRY_MIN_MS;
    if (ing->cfg.io_timeout_ms <= 0)
        ing->cfg.io_timeout_ms = 5000;
    ing->hub = hub;
    ing->clock = clock;
    snprintf(ing->name, sizeof(ing->name), "camera=%lld stream=%s",
             (long long)cfg->camera_id, cfg->stream);
    pthread_mutex_init(&ing->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ing->wake, &attr);
    pthread_condattr_destroy(&attr);
    ing->status.state = INGEST_CONNECTING;
    rc = pthread_create(&ing->thread, NULL, ingest_thread, ing);
    if (rc != 0) {
        pthread_cond_destroy(&ing->wake);
        pthread_mutex_destroy(&ing->lock);
        free(ing);
        return -rc;
    }
    *out = ing;
    return 0;
}

void ingest_stop(ingest_t *ing)
{
    if (!ing)
        return;
    pthread_mutex_lock(&ing->lock);
    __atomic_store_n(&ing->stopping, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&ing->wake);
    pthread_mutex_unlock(&ing->lock);
    pthread_join(ing->thread, NULL);
    pthread_cond_destroy(&ing->wake);
    pthread_mutex_destroy(&ing->lock);
    free(ing);
}

void ingest_get_status(ingest_t *ing, ingest_status_t *out)
{
    pthread_mutex_lock(&ing->lock);
    *out = ing->status;
    pthread_mutex_unlock(&ing->lock);
}
