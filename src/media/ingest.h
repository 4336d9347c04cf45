/*
 * Ingest: one RTSP session per camera stream, on its own thread, read
 * through libavformat and published to a stream hub as fMP4 fragments.
 */
#ifndef VMS_MEDIA_INGEST_H
#define VMS_MEDIA_INGEST_H

#include <stdint.h>

#include "common/clock.h"
#include "media/hub.h"

typedef struct ingest ingest_t;

typedef enum ingest_state {
    INGEST_CONNECTING = 0,
    INGEST_STREAMING,
    INGEST_RETRYING,  /* the session ended; a retry is scheduled */
    INGEST_FAILED,    /* the camera rejected us (e.g. 401) or sends no
                         usable video; retried at the maximum backoff */
    INGEST_STOPPED,
} ingest_state_t;

typedef struct ingest_config {
    int64_t camera_id;
    char camera_name[128];
    char stream[8];      /* "main" or "sub" */
    char url[1024];      /* rtsp:// or rtsps:// URL without credentials */
    char username[128];  /* empty: no authentication */
    char password[128];
    int use_udp;         /* RTP over UDP instead of interleaved TCP */
    int retry_max_ms;    /* cap of the reconnection backoff */
    int io_timeout_ms;   /* socket and no-data timeout */
} ingest_config_t;

typedef struct ingest_status {
    ingest_state_t state;
    char error[512];         /* last error, empty if none */
    uint64_t bytes;          /* video and audio payload bytes received */
    uint64_t frames;         /* video frames received */
    uint64_t fragments;      /* fragments published */
    uint64_t reconnects;     /* sessions started after the first */
    uint64_t timestamp_gaps; /* discontinuities that started a new segment */
    uint64_t timestamps_repaired; /* missing or non-increasing dts fixed */
    uint64_t frames_dropped; /* frames before the first keyframe */
    uint64_t audio_dropped;  /* audio packets the muxer rejected */
    int64_t last_frame_us;   /* UTC of the last video frame, 0 if none */
    int64_t retry_in_ms;     /* when retrying: time until the next try */
} ingest_status_t;

/* Starts the session thread. cfg is copied; hub and clock are borrowed
 * and must outlive the ingest. *out is released with ingest_stop(). */
int ingest_start(const ingest_config_t *cfg, hub_t *hub,
                 const vms_clock_t *clock, ingest_t **out);

/* Stops the session, joins its thread and frees it. The hub receives a
 * final end-of-stream notification. NULL is a no-op. */
void ingest_stop(ingest_t *ing);

void ingest_get_status(ingest_t *ing, ingest_status_t *out);

/* Returns "connecting", "streaming", "retrying", "failed" or
 * "stopped". */
const char *ingest_state_name(ingest_state_t state);

/* Builds the URL that libavformat opens: url with the percent-encoded
 * credentials inserted. Returns 0 or -EINVAL if url is not an rtsp:// or
 * rtsps:// URL with a host. */
int ingest_build_url(const char *url, const char *user, const char *pass,
                     char *out, size_t len);

#endif
