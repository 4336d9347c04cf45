/*
 * Storage: the volumes, the segment writer and retention together, and
 * the capacity report with its forecast and alarms. The daemon opens it
 * once; the API reads the report.
 */
#ifndef VMS_STORAGE_STORAGE_H
#define VMS_STORAGE_STORAGE_H

#include <stdint.h>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "storage/recorder.h"
#include "storage/recovery.h"
#include "storage/volume.h"

typedef struct storage storage_t;

typedef struct storage_config {
    const char (*volumes)[512];  /* volume paths; copied */
    int volume_count;
    int64_t reserve_bytes;       /* per volume */
    int high_percent;            /* retention watermarks, per volume */
    int low_percent;
    int segment_seconds;
    int fsync_interval_ms;
    int retention_interval_ms;   /* time between passes */
    const vms_clock_t *clock;    /* borrowed; retention and forecasts */
} storage_config_t;

typedef struct storage_volume_report {
    volume_t volume;
    int64_t recordings_bytes;
} storage_volume_report_t;

typedef struct storage_camera_report {
    int64_t camera_id;
    char name[CATALOG_NAME_MAX];
    catalog_usage_t usage;
    double bitrate_hour_bps;     /* bytes over recorded time, recordings
                                    of the last hour */
    double bitrate_day_bps;      /* same for the last day */
    int64_t held_bytes;          /* bytes under an evidence hold */
    double forecast_days;        /* days of video the current rates allow
                                    if every camera records all the time;
                                    negative when unknown */
    int retention_days;
    int64_t retention_bytes;
} storage_camera_report_t;

typedef struct storage_alarm {
    char kind[32];        /* volume_missing, volume_read_only, write_error,
                             below_reserve, forecast_below_retention,
                             recording_missing, foreign_volume */
    char subject[CATALOG_PATH_MAX];  /* the volume path or camera id */
    char message[320];
} storage_alarm_t;

#define STORAGE_ALARMS_MAX 64

typedef struct storage_report {
    int64_t now_us;
    storage_volume_report_t volumes[VOLUME_MAX];
    int volume_count;
    storage_camera_report_t *cameras;  /* malloc'd; storage_report_free */
    size_t camera_count;
    storage_alarm_t alarms[STORAGE_ALARMS_MAX];
    int alarm_count;
    recorder_stats_t recorder;
    recovery_report_t recovery;        /* from start-up */
} storage_report_t;

/* Checks every volume, finishes interrupted deletions, reconciles the
 * usable volumes with the catalog, starts the writer and the retention
 * thread. cat must outlive the storage. */
int storage_open(const storage_config_t *cfg, catalog_t *cat,
                 storage_t **out);

/* Stops retention and the writer (streams must be detached first) and
 * frees the storage. NULL is a no-op. */
void storage_close(storage_t *st);

recorder_t *storage_recorder(storage_t *st);

/* Wakes the retention thread for an immediate pass. */
void storage_trigger_retention(storage_t *st);

/* Builds the capacity report. Free with storage_report_free(). */
int storage_report(storage_t *st, storage_report_t *out);
void storage_report_free(storage_report_t *report);

#endif
