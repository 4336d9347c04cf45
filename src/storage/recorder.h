/*
 * Recorder: the segment writer. It subscribes to stream
 * hubs, queues their fragments, and on its own thread appends them to
 * segment files, rolls a new file every segment_seconds at a keyframe
 * fragment, fsyncs on a schedule, and indexes each closed segment in the
 * catalog once its bytes are durable. The hub callback only queues, so
 * ingest never waits on the disk or the catalog.
 */
#ifndef VMS_STORAGE_RECORDER_H
#define VMS_STORAGE_RECORDER_H

#include <stdint.h>

#include "catalog/catalog.h"
#include "media/hub.h"
#include "storage/volume.h"

typedef struct recorder recorder_t;
typedef struct recorder_stream recorder_stream_t;

typedef struct recorder_config {
    volume_set_t *volumes;   /* borrowed; each segment goes to the usable
                                volume with the most free space */
    int segment_seconds;     /* target segment length */
    int fsync_interval_ms;   /* fsync of the open segment */
    /* Fragments queued beyond this many bytes are dropped and counted;
     * it only happens when the disk stalls for minutes. */
    size_t queue_max_bytes;
    /* Called on the writer thread when a volume is full (ENOSPC) or no
     * volume has room for a new segment; volume is NULL in the second
     * case. It should wake retention and return at once. */
    void (*space_needed)(void *ctx, const char *volume);
    void *space_ctx;
} recorder_config_t;

typedef struct recorder_stats {
    uint64_t segments;       /* segments closed and indexed */
    uint64_t bytes;          /* bytes written */
    uint64_t dropped;        /* fragments dropped because the queue was full */
    uint64_t unrecorded;     /* fragments lost for want of a usable volume */
    uint64_t write_errors;
    size_t queue_bytes;
    char last_error[256];
} recorder_stats_t;

/* Starts the writer thread of a volume. cat is borrowed and must
 * outlive the recorder. *out is released with recorder_stop(). */
int recorder_start(const recorder_config_t *cfg, catalog_t *cat,
                   recorder_t **out);

/* Closes and indexes every open segment, joins the thread and frees the
 * recorder. Streams must be detached first. NULL is a no-op. */
void recorder_stop(recorder_t *rec);

/* Starts recording hub as camera_id's stream ("main" or "sub"). hub is
 * borrowed until recorder_detach(). */
int recorder_attach(recorder_t *rec, hub_t *hub, int64_t camera_id,
                    const char *stream, recorder_stream_t **out);

/* Stops recording a stream: its open segment is closed and indexed
 * before this returns. NULL is a no-op. */
void recorder_detach(recorder_t *rec, recorder_stream_t *rs);

void recorder_get_stats(recorder_t *rec, recorder_stats_t *out);

#endif
