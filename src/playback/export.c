/* Export of recorded segments as one MP4 file: see export.h for the
 * contract. The work is a plain remux with libavformat: packets are
 * read from each segment file, their timestamps are moved onto one
 * output timeline, and they are written to a regular MP4 with the moov
 * box first (movflags +faststart). */
#include "playback/export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/mathematics.h>

#define PLAYBACK_US ((AVRational){1, 1000000})

/* Maximum packets buffered before the first video packet of a segment
 * is found. A segment normally starts with video, so this only guards
 * against files with a long audio-only lead. */
#define PLAYBACK_MAX_PENDING 256

/* Maximum video packets held back at the end of the export because
 * they are presented after to_us; see playback_copy_master(). The
 * decoded picture buffer of H.264 and H.265 holds at most 16 frames, so
 * no valid stream reorders more. */
#define PLAYBACK_MAX_HELD 32

/* Frame duration assumed until the first segment gives one. It tells a
 * gap between segments from rounding in the catalog times, and it is
 * the duration of a first sample that has none. */
#define PLAYBACK_DEFAULT_FRAME_US 100000

enum { PLAYBACK_VIDEO, PLAYBACK_AUDIO, PLAYBACK_TRACK_COUNT };

/* One open segment file and the packets read ahead from it. */
typedef struct playback_input {
    AVFormatContext *fmt;
    int stream[PLAYBACK_TRACK_COUNT]; /* input stream index, -1 if none */
    int master;      /* PLAYBACK_VIDEO, or PLAYBACK_AUDIO without video */
    int64_t ref_dts; /* first master DTS in its time base, or NOPTS */
    int64_t ref_pts; /* PTS of that packet */
    AVPacket *pending[PLAYBACK_MAX_PENDING];
    int pending_track[PLAYBACK_MAX_PENDING];
    size_t pending_count;
    size_t pending_next;
    int truncated; /* a read failed or a sample was cut short */
} playback_input_t;

/* State of one export. */
typedef struct playback_job {
    const playback_segment_t *segs;
    size_t n;
    int64_t from_us;
    int64_t to_us;
    char *tmp_path;
    AVFormatContext *out;
    AVCodecParameters *ref_par[PLAYBACK_TRACK_COUNT]; /* owned, or NULL */
    int out_index[PLAYBACK_TRACK_COUNT];              /* -1 if no track */
    int master;
    int64_t key_dts; /* start keyframe, master time base of its file */
    int64_t key_pts;
    int64_t last_dts[PLAYBACK_TRACK_COUNT]; /* output time base */
    int64_t master_end_out_us; /* end of the last master sample, output */
    int64_t master_end_wall_us;
    int64_t max_pts_wall_us; /* latest presentation of a written frame */
    int64_t frame_us;        /* duration of the last master sample */
    size_t packets_written;
    playback_export_result_t res;
    char *err;
    size_t errlen;
} playback_job_t;

/* Formats a message into err, if there is room for one. */
static void playback_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *playback_av_strerror(int code, char *buf, size_t len)
{
    av_strerror(code, buf, len);
    return buf;
}

static void playback_input_close(playback_input_t *in)
{
    for (size_t i = 0; i < in->pending_count; i++)
        av_packet_free(&in->pending[i]);
    in->pending_count = 0;
    in->pending_next = 0;
    avformat_close_input(&in->fmt);
}

/* Reads the next packet of a selected track from the file, skipping
 * other tracks. Returns 0, or AVERROR_EOF at the end of the readable
 * data. A read error or a cut-short sample also ends the data and sets
 * in->truncated. */
static int playback_input_read_raw(playback_input_t *in, AVPacket *pkt,
                                   int *track)
{
    for (;;) {
        int ret = av_read_frame(in->fmt, pkt);

        if (ret < 0) {
            if (ret != AVERROR_EOF)
                in->truncated = 1;
            return AVERROR_EOF;
        }
        if (pkt->flags & AV_PKT_FLAG_CORRUPT) {
            /* libavformat sets this flag when the file ends inside the
             * sample, i.e. the last fragment was cut off. */
            in->truncated = 1;
            av_packet_unref(pkt);
            return AVERROR_EOF;
        }
        for (int t = 0; t < PLAYBACK_TRACK_COUNT; t++) {
            if (pkt->stream_index == in->stream[t] &&
                pkt->dts != AV_NOPTS_VALUE) {
                *track = t;
                return 0;
            }
        }
        av_packet_unref(pkt);
    }
}

/* Returns the buffered packets first, then reads on from the file. */
static int playback_input_read(playback_input_t *in, AVPacket *pkt, int *track)
{
    if (in->pending_next < in->pending_count) {
        size_t i = in->pending_next++;

        av_packet_move_ref(pkt, in->pending[i]);
        av_packet_free(&in->pending[i]);
        *track = in->pending_track[i];
        return 0;
    }
    return playback_input_read_raw(in, pkt, track);
}

/* Opens segment index of job->segs, selects its first video and first
 * audio track and reads ahead to the first master packet to learn the
 * reference DTS. A file without any master packet gets ref_dts NOPTS. */
static int playback_input_open(playback_job_t *job, size_t index,
                               playback_input_t *in)
{
    const char *path = job->segs[index].path;
    char msg[AV_ERROR_MAX_STRING_SIZE];
    AVDictionary *opts = NULL;
    int ret;

    memset(in, 0, sizeof(*in));
    in->stream[PLAYBACK_VIDEO] = -1;
    in->stream[PLAYBACK_AUDIO] = -1;
    in->ref_dts = AV_NOPTS_VALUE;

    if (access(path, R_OK) != 0) {
        ret = -errno;
        playback_set_err(job->err, job->errlen,
                         "segment %zu: cannot read %s: %s; check that the "
                         "catalog and the storage agree",
                         index, path, strerror(errno));
        return ret;
    }
    /* Only the MP4 demuxer and local files: a damaged or foreign file
     * must not be probed as another format, such as a playlist that
     * opens other URLs. */
    in->fmt = avformat_alloc_context();
    if (!in->fmt)
        return -ENOMEM;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    ret =
        avformat_open_input(&in->fmt, path, av_find_input_format("mp4"), &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        playback_set_err(job->err, job->errlen,
                         "segment %zu: %s is not a readable MP4 file: %s",
                         index, path,
                         playback_av_strerror(ret, msg, sizeof(msg)));
        return ret;
    }
    for (unsigned i = 0; i < in->fmt->nb_streams; i++) {
        AVStream *st = in->fmt->streams[i];
        enum AVMediaType type = st->codecpar->codec_type;

        if (type == AVMEDIA_TYPE_VIDEO && in->stream[PLAYBACK_VIDEO] < 0 &&
            !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            in->stream[PLAYBACK_VIDEO] = (int)i;
        else if (type == AVMEDIA_TYPE_AUDIO && in->stream[PLAYBACK_AUDIO] < 0)
            in->stream[PLAYBACK_AUDIO] = (int)i;
    }
    if (in->stream[PLAYBACK_VIDEO] >= 0)
        in->master = PLAYBACK_VIDEO;
    else if (in->stream[PLAYBACK_AUDIO] >= 0)
        in->master = PLAYBACK_AUDIO;
    else {
        playback_set_err(job->err, job->errlen,
                         "segment %zu: %s has no video or audio track", index,
                         path);
        playback_input_close(in);
        return -EINVAL;
    }

    while (in->pending_count < PLAYBACK_MAX_PENDING) {
        AVPacket *pkt = av_packet_alloc();
        int track;

        if (!pkt) {
            playback_input_close(in);
            return -ENOMEM;
        }
        if (playback_input_read_raw(in, pkt, &track) < 0) {
            av_packet_free(&pkt);
            return 0;
        }
        in->pending[in->pending_count] = pkt;
        in->pending_track[in->pending_count] = track;
        in->pending_count++;
        if (track == in->master) {
            in->ref_dts = pkt->dts;
            in->ref_pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            return 0;
        }
    }
    playback_set_err(job->err, job->errlen,
                     "segment %zu: %s has more than %d audio packets "
                     "before its first video packet",
                     index, path, PLAYBACK_MAX_PENDING);
    playback_input_close(in);
    return AVERROR_INVALIDDATA;
}

static AVRational playback_input_tb(const playback_input_t *in, int track)
{
    return in->fmt->streams[in->stream[track]]->time_base;
}

/* Returns 1 if two tracks can share one output track: same codec,
 * picture size or audio format, and the same extradata. */
static int playback_params_match(const AVCodecParameters *a,
                                 const AVCodecParameters *b)
{
    if (a->codec_type != b->codec_type || a->codec_id != b->codec_id)
        return 0;
    if (a->codec_type == AVMEDIA_TYPE_VIDEO &&
        (a->width != b->width || a->height != b->height))
        return 0;
    if (a->codec_type == AVMEDIA_TYPE_AUDIO &&
        (a->sample_rate != b->sample_rate ||
         a->ch_layout.nb_channels != b->ch_layout.nb_channels))
        return 0;
    if (a->extradata_size != b->extradata_size)
        return 0;
    return a->extradata_size == 0 ||
           memcmp(a->extradata, b->extradata, (size_t)a->extradata_size) == 0;
}

/* Returns 1 if the input has the same tracks as the output. */
static int playback_input_matches(const playback_job_t *job,
                                  const playback_input_t *in)
{
    for (int t = 0; t < PLAYBACK_TRACK_COUNT; t++) {
        if ((in->stream[t] >= 0) != (job->ref_par[t] != NULL))
            return 0;
        if (in->stream[t] >= 0 &&
            !playback_params_match(job->ref_par[t],
                                   in->fmt->streams[in->stream[t]]->codecpar))
            return 0;
    }
    return 1;
}

/* Finds the keyframe at which the export starts: the last master
 * keyframe whose presentation time is at or before from_us, or the
 * first keyframe if there is none. Consumes the input. Sets
 * job->key_dts, job->key_pts and job->res.start_us. */
static int playback_find_start(playback_job_t *job, size_t index,
                               playback_input_t *in)
{
    const playback_segment_t *seg = &job->segs[index];
    AVRational tb = playback_input_tb(in, in->master);
    AVPacket *pkt = av_packet_alloc();
    int found = 0;
    int track;

    if (!pkt)
        return -ENOMEM;
    while (playback_input_read(in, pkt, &track) == 0) {
        int64_t pts;
        int64_t wall;

        if (track != in->master) {
            av_packet_unref(pkt);
            continue;
        }
        pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
        wall = seg->start_us + av_rescale_q(pts - in->ref_dts, tb, PLAYBACK_US);
        if (wall > job->from_us && found) {
            av_packet_unref(pkt);
            break;
        }
        if (pkt->flags & AV_PKT_FLAG_KEY) {
            job->key_dts = pkt->dts;
            job->key_pts = pts;
            job->res.start_us = wall;
            found = 1;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    if (!found) {
        playback_set_err(job->err, job->errlen,
                         "segment %zu: %s contains no readable keyframe", index,
                         seg->path);
        return AVERROR_INVALIDDATA;
    }
    return 0;
}

/* Formats a UTC time in microseconds as ISO 8601 for MP4 metadata. */
static void playback_format_utc(int64_t us, char *buf, size_t len)
{
    time_t sec = (time_t)(us / 1000000);
    struct tm tm;

    if (us < 0 || !gmtime_r(&sec, &tm)) {
        snprintf(buf, len, "1970-01-01T00:00:00.000000Z");
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(us % 1000000));
}

/* Creates the output file with one track per selected input track and
 * writes the MP4 header. The reference codec parameters of the job are
 * taken from this input. */
static int playback_output_open(playback_job_t *job, playback_input_t *in)
{
    AVDictionary *opts = NULL;
    char msg[AV_ERROR_MAX_STRING_SIZE];
    char when[64];
    int ret;

    ret = avformat_alloc_output_context2(&job->out, NULL, "mp4", job->tmp_path);
    if (ret < 0)
        goto fail;
    job->master = in->master;
    for (int t = 0; t < PLAYBACK_TRACK_COUNT; t++) {
        AVStream *ist;
        AVStream *ost;

        job->out_index[t] = -1;
        job->last_dts[t] = AV_NOPTS_VALUE;
        if (in->stream[t] < 0)
            continue;
        ist = in->fmt->streams[in->stream[t]];
        ost = avformat_new_stream(job->out, NULL);
        job->ref_par[t] = avcodec_parameters_alloc();
        if (!ost || !job->ref_par[t]) {
            ret = AVERROR(ENOMEM);
            goto fail;
        }
        ret = avcodec_parameters_copy(ost->codecpar, ist->codecpar);
        if (ret < 0)
            goto fail;
        ret = avcodec_parameters_copy(job->ref_par[t], ist->codecpar);
        if (ret < 0)
            goto fail;
        /* Let the muxer pick the sample entry, except for H.265: Apple's
         * players reject FFmpeg's default 'hev1' and expect 'hvc1', as
         * reported in forum.shotcut.org thread 29148. */
        ost->codecpar->codec_tag = 0;
        if (ost->codecpar->codec_id == AV_CODEC_ID_HEVC)
            ost->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
        ost->time_base = ist->time_base;
        job->out_index[t] = ost->index;
    }

    playback_format_utc(job->res.start_us, when, sizeof(when));
    av_dict_set(&job->out->metadata, "creation_time", when, 0);

    ret = avio_open(&job->out->pb, job->tmp_path, AVIO_FLAG_WRITE);
    if (ret < 0) {
        playback_set_err(job->err, job->errlen,
                         "cannot create %s: %s; check that the directory "
                         "exists and is writable",
                         job->tmp_path,
                         playback_av_strerror(ret, msg, sizeof(msg)));
        return ret;
    }
    av_dict_set(&opts, "movflags", "+faststart", 0);
    ret = avformat_write_header(job->out, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        goto fail;
    return 0;

fail:
    playback_set_err(job->err, job->errlen,
                     "cannot start the MP4 output %s: %s", job->tmp_path,
                     playback_av_strerror(ret, msg, sizeof(msg)));
    return ret;
}

/* Moves a packet onto the output timeline and writes it. The DTS of
 * each output track must increase: an audio packet that overlaps the
 * previous one by more than half its duration is dropped, and any
 * other packet with a non-increasing DTS is moved one tick after the
 * previous one. Both happen only where segments meet inexactly. */
static int playback_write_packet(playback_job_t *job, AVPacket *pkt, int track,
                                 AVRational in_tb)
{
    AVStream *ost = job->out->streams[job->out_index[track]];
    int64_t last = job->last_dts[track];
    char msg[AV_ERROR_MAX_STRING_SIZE];
    int ret;

    av_packet_rescale_ts(pkt, in_tb, ost->time_base);
    if (last != AV_NOPTS_VALUE && pkt->dts <= last) {
        if (track == PLAYBACK_AUDIO && last - pkt->dts > pkt->duration / 2) {
            av_packet_unref(pkt);
            return 0;
        }
        pkt->dts = last + 1;
        if (pkt->pts < pkt->dts)
            pkt->pts = pkt->dts;
    }
    job->last_dts[track] = pkt->dts;
    if (track == job->master) {
        int64_t end = pkt->dts + pkt->duration;

        job->master_end_out_us = av_rescale_q(end, ost->time_base, PLAYBACK_US);
        if (pkt->duration > 0)
            job->frame_us =
                av_rescale_q(pkt->duration, ost->time_base, PLAYBACK_US);
    }
    pkt->stream_index = job->out_index[track];
    pkt->pos = -1;
    ret = av_interleaved_write_frame(job->out, pkt);
    if (ret < 0) {
        playback_set_err(job->err, job->errlen, "writing %s failed: %s",
                         job->tmp_path,
                         playback_av_strerror(ret, msg, sizeof(msg)));
        return ret;
    }
    job->packets_written++;
    return 0;
}

/* State of the copy of one segment. */
typedef struct playback_copy {
    const playback_segment_t *seg;
    playback_input_t *in;
    int64_t offset[PLAYBACK_TRACK_COUNT]; /* input DTS to output DTS */
    int64_t ref[PLAYBACK_TRACK_COUNT];    /* first master DTS, per track */
    int done[PLAYBACK_TRACK_COUNT];       /* track reached to_us */
    int64_t min_pts; /* master PTS of the start keyframe, or NOPTS */
    int64_t prev_dts[PLAYBACK_TRACK_COUNT]; /* previous DTS read, or NOPTS */
    AVPacket *held[PLAYBACK_MAX_HELD];      /* see playback_copy_master() */
    int64_t held_end_wall_us[PLAYBACK_MAX_HELD];
    int64_t held_pts_wall_us[PLAYBACK_MAX_HELD];
    size_t held_count;
    int used;
} playback_copy_t;

static void playback_copy_drop_held(playback_copy_t *copy)
{
    for (size_t i = 0; i < copy->held_count; i++)
        av_packet_free(&copy->held[i]);
    copy->held_count = 0;
}

/* Writes one packet whose timestamps are already on the output
 * timeline, and records where the master track now ends. */
static int playback_copy_write(playback_job_t *job, playback_copy_t *copy,
                               AVPacket *pkt, int track, int64_t end_wall_us,
                               int64_t pts_wall_us)
{
    AVRational tb = playback_input_tb(copy->in, track);
    int ret;

    if (track == job->master) {
        job->master_end_wall_us = end_wall_us;
        if (pts_wall_us > job->max_pts_wall_us)
            job->max_pts_wall_us = pts_wall_us;
    }
    ret = playback_write_packet(job, pkt, track, tb);
    if (ret == 0)
        copy->used = 1;
    return ret;
}

/* Decides whether a master packet goes into the output, which must
 * both decode and present without holes. Without B-frames this keeps
 * the packets that start before to_us. With B-frames, a frame presented
 * at or after to_us and after every frame written so far is held back,
 * and written only if a later frame in decode order is kept, because
 * that frame may reference it. A frame presented before to_us, or
 * before the latest frame written (it fills a hole), is kept. Once the
 * decode time reaches to_us, the first frame that would be held ends
 * the track instead. So the output contains every frame presented
 * before to_us and at most about one group of B-frames more. */
static int playback_copy_master(playback_job_t *job, playback_copy_t *copy,
                                AVPacket *pkt, int64_t dts_wall_us,
                                int64_t pts_wall_us, int64_t end_wall_us)
{
    int ret;

    if (pts_wall_us >= job->to_us && pts_wall_us > job->max_pts_wall_us) {
        if (dts_wall_us >= job->to_us ||
            copy->held_count == PLAYBACK_MAX_HELD) {
            /* Also stop when the hold queue is full, because a later
             * frame could reference the frame that does not fit. */
            copy->done[job->master] = 1;
            return 0;
        }
        copy->held[copy->held_count] = av_packet_clone(pkt);
        if (!copy->held[copy->held_count])
            return AVERROR(ENOMEM);
        copy->held_end_wall_us[copy->held_count] = end_wall_us;
        copy->held_pts_wall_us[copy->held_count] = pts_wall_us;
        copy->held_count++;
        return 0;
    }
    for (size_t i = 0; i < copy->held_count; i++) {
        ret = playback_copy_write(job, copy, copy->held[i], job->master,
                                  copy->held_end_wall_us[i],
                                  copy->held_pts_wall_us[i]);
        if (ret < 0)
            return ret;
    }
    playback_copy_drop_held(copy);
    return playback_copy_write(job, copy, pkt, job->master, end_wall_us,
                               pts_wall_us);
}

/* Gives a packet without a duration the DTS step from the previous
 * packet of its track. Muxers fill in the duration of every sample but
 * the last of a fragment from the next DTS, so a segment written from
 * an RTSP source, whose packets carry no duration, can end with a
 * zero-length sample. Placing the next segment needs its real length. */
static void playback_fill_duration(playback_job_t *job, playback_copy_t *copy,
                                   AVPacket *pkt, int track, AVRational tb)
{
    int64_t prev = copy->prev_dts[track];

    if (pkt->duration <= 0) {
        if (prev != AV_NOPTS_VALUE && pkt->dts > prev)
            pkt->duration = pkt->dts - prev;
        else if (track == job->master)
            pkt->duration = av_rescale_q(job->frame_us, PLAYBACK_US, tb);
    }
    copy->prev_dts[track] = pkt->dts;
}

/* Moves one packet onto the output timeline and passes it on, or drops
 * it if it lies outside the export. The caller unrefs pkt. */
static int playback_copy_packet(playback_job_t *job, playback_copy_t *copy,
                                AVPacket *pkt, int track)
{
    AVRational tb = playback_input_tb(copy->in, track);
    int64_t start_us = copy->seg->start_us;
    int64_t dts_wall =
        start_us + av_rescale_q(pkt->dts - copy->ref[track], tb, PLAYBACK_US);
    int64_t pts_wall;
    int64_t end_wall;

    if (pkt->pts == AV_NOPTS_VALUE)
        pkt->pts = pkt->dts;
    playback_fill_duration(job, copy, pkt, track, tb);
    pts_wall =
        start_us + av_rescale_q(pkt->pts - copy->ref[track], tb, PLAYBACK_US);
    end_wall = dts_wall + av_rescale_q(pkt->duration, tb, PLAYBACK_US);
    if (track != job->master && dts_wall >= job->to_us) {
        copy->done[track] = 1;
        return 0;
    }
    /* Leading pictures of the start keyframe (presented before it, as
     * HEVC RASL pictures of an open GOP) may reference earlier frames
     * that are not in the output. Trailing pictures never reference
     * them, so they are safe to drop.
     * NOTE: no test covers this, because the test encoder (libx265)
     * wrote no leading pictures even with open-gop=1. */
    if (track == job->master && copy->min_pts != AV_NOPTS_VALUE &&
        pkt->pts < copy->min_pts)
        return 0;
    pkt->dts += copy->offset[track];
    pkt->pts += copy->offset[track];
    if (pkt->dts < 0)
        return 0;
    if (track != job->master)
        return playback_copy_write(job, copy, pkt, track, 0, 0);
    return playback_copy_master(job, copy, pkt, dts_wall, pts_wall, end_wall);
}

/* Copies the packets of one segment that lie before to_us. A packet
 * with decode time d (in its file) goes to output time
 * base_out_us + (d - base_dts), with base_dts in the master time base.
 * Packets that would land before output time 0 are skipped. So are
 * master packets presented before min_pts, unless it is NOPTS. Sets
 * *cut to 1 if the master track reached to_us before the end of the
 * file. */
static int playback_copy_segment(playback_job_t *job, size_t index,
                                 playback_input_t *in, int64_t base_out_us,
                                 int64_t base_dts, int64_t min_pts, int *cut)
{
    AVRational master_tb = playback_input_tb(in, in->master);
    playback_copy_t copy;
    AVPacket *pkt = av_packet_alloc();
    int track;
    int ret = 0;

    *cut = 0;
    if (!pkt)
        return -ENOMEM;
    memset(&copy, 0, sizeof(copy));
    copy.seg = &job->segs[index];
    copy.in = in;
    copy.min_pts = min_pts;
    for (int t = 0; t < PLAYBACK_TRACK_COUNT; t++) {
        AVRational tb;

        copy.prev_dts[t] = AV_NOPTS_VALUE;
        if (in->stream[t] < 0) {
            copy.done[t] = 1;
            continue;
        }
        tb = playback_input_tb(in, t);
        copy.offset[t] = av_rescale_q(base_out_us, PLAYBACK_US, tb) -
                         av_rescale_q(base_dts, master_tb, tb);
        copy.ref[t] = av_rescale_q(in->ref_dts, master_tb, tb);
    }

    while (!(copy.done[PLAYBACK_VIDEO] && copy.done[PLAYBACK_AUDIO]) &&
           playback_input_read(in, pkt, &track) == 0) {
        if (copy.done[track]) {
            av_packet_unref(pkt);
            continue;
        }
        ret = playback_copy_packet(job, &copy, pkt, track);
        av_packet_unref(pkt);
        if (ret < 0)
            break;
    }
    *cut = copy.done[job->master];
    playback_copy_drop_held(&copy);
    av_packet_free(&pkt);
    if (copy.used)
        job->res.segments_used++;
    return ret;
}

/* Counts the segment as truncated if its tail could not be read: a
 * read error, a cut-short sample, or readable samples that end more
 * than one frame before the end_us in the catalog. Returns 1 if it
 * was truncated. */
static int playback_check_truncated(playback_job_t *job, size_t index,
                                    const playback_input_t *in, int cut)
{
    int short_data = !cut && job->master_end_wall_us <
                                 job->segs[index].end_us - job->frame_us;

    if (!in->truncated && !short_data)
        return 0;
    job->res.truncated_count++;
    return 1;
}

/* Validates the arguments and returns the index of the first segment
 * that overlaps [from_us, to_us) in *first. */
static int playback_check_args(const playback_segment_t *segs, size_t n,
                               int64_t from_us, int64_t to_us,
                               const char *out_path, size_t *first, char *err,
                               size_t errlen)
{
    if (n == 0 || !segs) {
        playback_set_err(err, errlen,
                         "no segments given (n is %zu, segs is %s); pass "
                         "the catalog segments that cover the range",
                         n, segs ? "set" : "NULL");
        return -EINVAL;
    }
    if (!out_path || !out_path[0]) {
        playback_set_err(err, errlen, "out_path is missing or empty");
        return -EINVAL;
    }
    if (from_us >= to_us) {
        playback_set_err(err, errlen,
                         "invalid range: from_us %" PRId64
                         " is not before to_us %" PRId64,
                         from_us, to_us);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!segs[i].path || !segs[i].path[0]) {
            playback_set_err(err, errlen, "segment %zu has no path", i);
            return -EINVAL;
        }
        if (segs[i].end_us < segs[i].start_us) {
            playback_set_err(err, errlen,
                             "segment %zu (%s): end_us %" PRId64
                             " is before start_us %" PRId64,
                             i, segs[i].path, segs[i].end_us, segs[i].start_us);
            return -EINVAL;
        }
        if (i > 0 && segs[i].start_us < segs[i - 1].start_us) {
            playback_set_err(err, errlen,
                             "segments are not sorted by start_us: "
                             "segment %zu starts at %" PRId64
                             ", before segment %zu at %" PRId64,
                             i, segs[i].start_us, i - 1, segs[i - 1].start_us);
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (segs[i].end_us > from_us && segs[i].start_us < to_us) {
            *first = i;
            return 0;
        }
    }
    playback_set_err(err, errlen,
                     "no recording between %" PRId64 " and %" PRId64
                     " (UTC microseconds); the %zu segments cover %" PRId64
                     " to %" PRId64,
                     from_us, to_us, n, segs[0].start_us, segs[n - 1].end_us);
    return -ENODATA;
}

/* Writes the trailer, syncs the temporary file and renames it to
 * out_path, then syncs the directory so that the rename is durable. */
static int playback_output_finish(playback_job_t *job, const char *out_path)
{
    char msg[AV_ERROR_MAX_STRING_SIZE];
    char *dir;
    char *slash;
    int fd;
    int ret;

    ret = av_write_trailer(job->out);
    if (ret >= 0)
        ret = avio_closep(&job->out->pb);
    if (ret < 0) {
        playback_set_err(job->err, job->errlen, "finishing %s failed: %s",
                         job->tmp_path,
                         playback_av_strerror(ret, msg, sizeof(msg)));
        return ret;
    }
    fd = open(job->tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        ret = -errno;
        if (fd >= 0)
            close(fd);
        playback_set_err(job->err, job->errlen, "syncing %s failed: %s",
                         job->tmp_path, strerror(-ret));
        return ret;
    }
    close(fd);
    if (rename(job->tmp_path, out_path) != 0) {
        ret = -errno;
        playback_set_err(job->err, job->errlen, "renaming %s to %s failed: %s",
                         job->tmp_path, out_path, strerror(-ret));
        return ret;
    }

    dir = strdup(out_path);
    if (!dir)
        return 0;
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    /* NOTE: a failed directory sync is ignored because the file is
     * already complete under its final name. */
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
    return 0;
}

/* Copies the segments from index first on until to_us, a codec change
 * or the end of segs. in is the first segment, open at its start. */
static int playback_copy_all(playback_job_t *job, size_t first,
                             playback_input_t *in)
{
    int cut = 0;
    int lost = 0; /* the previous segment ended early */
    int ret;

    ret = playback_copy_segment(job, first, in, 0, job->key_dts, job->key_pts,
                                &cut);
    if (ret < 0)
        return ret;
    lost = playback_check_truncated(job, first, in, cut);
    playback_input_close(in);

    for (size_t i = first + 1; i < job->n && !cut; i++) {
        const playback_segment_t *seg = &job->segs[i];
        int64_t gap = seg->start_us - job->segs[i - 1].end_us;

        if (seg->start_us >= job->to_us)
            break;
        ret = playback_input_open(job, i, in);
        if (ret < 0)
            return ret;
        if (!playback_input_matches(job, in)) {
            job->res.codec_changed = 1;
            job->res.codec_change_index = i;
            playback_input_close(in);
            break;
        }
        if (gap > job->frame_us) {
            job->res.gap_count++;
            job->res.gap_total_us += gap;
            lost = 1;
        }
        if (in->ref_dts == AV_NOPTS_VALUE) {
            /* No readable sample at all: only the tail can be missing,
             * because the init segment was read. */
            job->res.truncated_count++;
            playback_input_close(in);
            lost = 1;
            continue;
        }
        /* After missing time, frames that lead the first keyframe would
         * reference frames that are not in the output. */
        ret = playback_copy_segment(job, i, in, job->master_end_out_us,
                                    in->ref_dts,
                                    lost ? in->ref_pts : AV_NOPTS_VALUE, &cut);
        if (ret < 0)
            return ret;
        lost = playback_check_truncated(job, i, in, cut);
        playback_input_close(in);
    }
    return 0;
}

/* Finds the start keyframe in the first segment and leaves in open
 * and positioned so that copying from its start reaches that keyframe.
 * Reopens the file when the search had to read past the start. */
static int playback_open_start(playback_job_t *job, size_t first,
                               playback_input_t *in)
{
    const playback_segment_t *seg = &job->segs[first];
    AVPacket *head;
    int ret;

    ret = playback_input_open(job, first, in);
    if (ret < 0)
        return ret;
    if (in->ref_dts == AV_NOPTS_VALUE) {
        playback_set_err(job->err, job->errlen,
                         "segment %zu: %s contains no readable %s sample",
                         first, seg->path,
                         in->master == PLAYBACK_VIDEO ? "video" : "audio");
        playback_input_close(in);
        return AVERROR_INVALIDDATA;
    }
    head = in->pending[in->pending_count - 1];
    if (job->from_us <= seg->start_us && (head->flags & AV_PKT_FLAG_KEY)) {
        AVRational tb = playback_input_tb(in, in->master);

        job->key_dts = in->ref_dts;
        job->key_pts = in->ref_pts;
        job->res.start_us =
            seg->start_us +
            av_rescale_q(in->ref_pts - in->ref_dts, tb, PLAYBACK_US);
        return 0;
    }
    ret = playback_find_start(job, first, in);
    playback_input_close(in);
    if (ret < 0)
        return ret;
    return playback_input_open(job, first, in);
}

int playback_export_mp4_ex(const playback_segment_t *segs, size_t n,
                           int64_t from_us, int64_t to_us, const char *out_path,
                           playback_export_result_t *result, char *err,
                           size_t errlen)
{
    playback_job_t job;
    playback_input_t in;
    size_t first = 0;
    size_t len;
    int ret;

    memset(&job, 0, sizeof(job));
    memset(&in, 0, sizeof(in));
    if (result)
        memset(result, 0, sizeof(*result));
    if (err && errlen > 0)
        err[0] = '\0';

    ret = playback_check_args(segs, n, from_us, to_us, out_path, &first, err,
                              errlen);
    if (ret < 0)
        return ret;
    job.segs = segs;
    job.n = n;
    job.from_us = from_us;
    job.to_us = to_us;
    job.err = err;
    job.errlen = errlen;
    job.frame_us = PLAYBACK_DEFAULT_FRAME_US;
    job.max_pts_wall_us = INT64_MIN;
    len = strlen(out_path) + sizeof(".tmp");
    job.tmp_path = malloc(len);
    if (!job.tmp_path)
        return -ENOMEM;
    snprintf(job.tmp_path, len, "%s.tmp", out_path);

    ret = playback_open_start(&job, first, &in);
    if (ret < 0)
        goto fail;
    ret = playback_output_open(&job, &in);
    if (ret < 0)
        goto fail;
    ret = playback_copy_all(&job, first, &in);
    if (ret < 0)
        goto fail;
    if (job.packets_written == 0) {
        playback_set_err(err, errlen,
                         "no samples between %" PRId64 " and %" PRId64
                         " (UTC microseconds) in segment %zu (%s)",
                         from_us, to_us, first, segs[first].path);
        ret = -ENODATA;
        goto fail;
    }
    ret = playback_output_finish(&job, out_path);
    if (ret < 0)
        goto fail;

    job.res.end_us = job.master_end_wall_us;
    job.res.duration_us = job.master_end_out_us;
    if (job.res.codec_changed)
        playback_set_err(err, errlen,
                         "export stopped at segment %zu (%s) because its "
                         "codec parameters differ from segment %zu; "
                         "export the rest separately",
                         job.res.codec_change_index,
                         segs[job.res.codec_change_index].path, first);
    else if (job.res.truncated_count > 0)
        playback_set_err(err, errlen,
                         "%zu segment(s) were truncated; the export "
                         "contains their readable part only",
                         job.res.truncated_count);
    if (result)
        *result = job.res;
    ret = 0;
    goto done;

fail:
    if (job.out && job.out->pb)
        avio_closep(&job.out->pb);
    unlink(job.tmp_path);
done:
    playback_input_close(&in);
    if (job.out)
        avformat_free_context(job.out);
    for (int t = 0; t < PLAYBACK_TRACK_COUNT; t++)
        avcodec_parameters_free(&job.ref_par[t]);
    free(job.tmp_path);
    return ret;
}

int playback_export_mp4(const playback_segment_t *segs, size_t n,
                        int64_t from_us, int64_t to_us, const char *out_path,
                        char *err, size_t errlen)
{
    return playback_export_mp4_ex(segs, n, from_us, to_us, out_path, NULL, err,
                                  errlen);
}
