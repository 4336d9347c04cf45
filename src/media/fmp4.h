/*
 * Fragmented-MP4 muxer for one camera stream, built on libavformat's mp4
 * muxer (movflags frag_custom+empty_moov+default_base_moof) writing into
 * memory. It produces an init segment (ftyp+moov without samples) when
 * created, then one moof+mdat fragment per fmp4_muxer_flush(). Packets
 * are stored as the camera sent them: nothing is decoded or re-encoded.
 * Library code: returns errors, never logs.
 */
#ifndef VMS_MEDIA_FMP4_H
#define VMS_MEDIA_FMP4_H

#include <libavcodec/avcodec.h>
#include <stddef.h>

#include "common/buf.h"

typedef struct fmp4_muxer fmp4_muxer_t;

enum {
    FMP4_TRACK_VIDEO = 0,
    FMP4_TRACK_AUDIO = 1,
};

/* Creates a muxer with a video track (H.264 or H.265, extradata holding
 * the parameter sets, in Annex B or avcC/hvcC form) and an optional AAC
 * audio track (audio may be NULL). Packets passed to fmp4_muxer_write()
 * carry timestamps in video_tb and audio_tb. On success *out owns the
 * muxer (free with fmp4_muxer_free) and *init owns one reference to the
 * init segment. Errors are negative AVERROR codes. */
int fmp4_muxer_new(const AVCodecParameters *video, AVRational video_tb,
                   const AVCodecParameters *audio, AVRational audio_tb,
                   fmp4_muxer_t **out, vms_buf_t **init);

/* Adds one packet to the open fragment. pkt is not consumed; its
 * timestamps must be in the track's time base and dts must increase. */
int fmp4_muxer_write(fmp4_muxer_t *m, int track, const AVPacket *pkt);

/* Closes the open fragment. *frag receives one reference to its bytes,
 * or NULL if no packet was written since the last flush. */
int fmp4_muxer_flush(fmp4_muxer_t *m, vms_buf_t **frag);

/* Frees the muxer. NULL is a no-op. */
void fmp4_muxer_free(fmp4_muxer_t *m);

/* Writes the RFC 6381 codec string of an H.264 or H.265 stream, for
 * example "avc1.42c01e", into out. Returns 0 or -EINVAL if the
 * parameter sets are missing or invalid. */
int fmp4_codec_string(const AVCodecParameters *par, char *out, size_t len);

#endif
