/*
 * JPEG snapshots decoded from a stream's latest keyframe.
 */
#ifndef VMS_MEDIA_SNAPSHOT_H
#define VMS_MEDIA_SNAPSHOT_H

#include <libavcodec/avcodec.h>

#include "common/buf.h"

/* Decodes the keyframe pkt (codec parameters par) and encodes it as a
 * JPEG, scaled to width pixels wide (0: the source width, at most the
 * source width) keeping the aspect ratio. *jpeg receives one reference.
 * Returns 0 or a negative AVERROR code. */
int snapshot_encode_jpeg(const AVPacket *pkt, const AVCodecParameters *par,
                         int width, vms_buf_t **jpeg);

#endif
