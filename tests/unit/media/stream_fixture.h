/*
 * Test fixture: a real H.264 stream cut into fMP4 fragments, as the
 * ingest publishes them. It reads the video packets of an MP4 file
 * (tests/data/car-detection.mp4: 768x432 Baseline at 12.5 fps, a
 * keyframe every 60 frames) with libavformat and muxes them with
 * fmp4_muxer. The media, live and storage unit tests share it.
 */
#ifndef VMS_TESTS_STREAM_FIXTURE_H
#define VMS_TESTS_STREAM_FIXTURE_H

#include <libavcodec/avcodec.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "media/hub.h"

#define FIXTURE_CLIP TEST_DATA_DIR "/car-detection.mp4"

typedef struct fixture_fragment {
    vms_buf_t *data;      /* moof+mdat; owned by the stream */
    int64_t start_us;     /* first sample, from the clip's start */
    int64_t duration_us;
    int keyframe;         /* starts with a keyframe */
    size_t first_packet;  /* index into packets */
    size_t packet_count;
} fixture_fragment_t;

typedef struct fixture_stream {
    AVCodecParameters *video;  /* owned */
    AVRational time_base;      /* of the packets */
    AVPacket **packets;        /* owned, decode order */
    size_t packet_count;
    vms_buf_t *init;           /* owned; NULL before fixture_stream_mux */
    fixture_fragment_t *frags; /* owned */
    size_t frag_count;
} fixture_stream_t;

/* Reads up to max_packets video packets (0: all) from path. *out is
 * freed with fixture_stream_free(). Returns 0 or a negative AVERROR. */
int fixture_stream_open(const char *path, size_t max_packets,
                        fixture_stream_t **out);

/* Muxes every packet into fragments, replacing earlier ones: a fragment
 * ends before each keyframe and after packets_per_fragment packets. The
 * init segment is new on each call, like after a camera reconnect. */
int fixture_stream_mux(fixture_stream_t *s, size_t packets_per_fragment);

/* Returns a new hub fragment (one reference) for frags[index], starting
 * at base_us + its start_us. */
hub_fragment_t *fixture_hub_fragment(const fixture_stream_t *s,
                                     size_t index, int64_t base_us);

/* NULL is a no-op. */
void fixture_stream_free(fixture_stream_t *s);

/* Returns the fourcc of the top-level box at data[off] and its size in
 * *size, or "" if no whole box header fits. The string is static and
 * valid until the next call. */
const char *fixture_box_at(const uint8_t *data, size_t len, size_t off,
                           uint64_t *size);

#endif
