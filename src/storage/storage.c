/* Storage facade, retention thread and capacity report; see storage.h. */
#include "storage/storage.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "storage/retention.h"

struct storage {
    catalog_t *cat;
    const vms_clock_t *clock;
    volume_set_t volumes;
    recorder_t *recorder;
    recovery_report_t recovery;
    int retention_interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    int triggered;
};

/* Recorder callback: a volume is full or none has room. */
static void storage_space_needed(void *ctx, const char *volume)
{
    storage_t *st = ctx;

    vms_log(VMS_LOG_WARN, "storage", "volume=%s event=space_needed",
            volume ? volume : "(none usable)");
    storage_trigger_retention(st);
}

void storage_trigger_retention(storage_t *st)
{
    pthread_mutex_lock(&st->lock);
    st->triggered = 1;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->lock);
}

static void *storage_retention_thread(void *arg)
{
    storage_t *st = arg;

    pthread_mutex_lock(&st->lock);
    while (!st->stopping) {
        struct timespec deadline;
        retention_report_t report;

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += st->retention_interval_ms / 1000;
        deadline.tv_nsec += (st->retention_interval_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        while (!st->stopping && !st->triggered &&
               pthread_cond_timedwait(&st->wake, &st->lock, &deadline) == 0)
            ;
        if (st->stopping)
            break;
        st->triggered = 0;
        pthread_mutex_unlock(&st->lock);
        retention_run(st->cat, &st->volumes, vms_clock_now_us(st->clock),
                      &report);
        pthread_mutex_lock(&st->lock);
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/* Logs each volume's state after the identity checks. */
static void storage_log_volumes(storage_t *st)
{
    volume_t vols[VOLUME_MAX];
    int n = volume_set_snapshot(&st->volumes, vols, VOLUME_MAX);

    for (int i = 0; i < n; i++) {
        if (vols[i].state == VOLUME_OK)
            vms_log(VMS_LOG_INFO, "storage",
                    "volume=%s uuid=%s state=ok free_bytes=%lld", vols[i].path,
                    vols[i].uuid, (long long)vols[i].free_bytes);
        else
            vms_log(VMS_LOG_ERROR, "storage",
                    "volume=%s state=%s alarm=\"%s\"", vols[i].path,
                    volume_state_name(vols[i].state), vols[i].error);
    }
}

int storage_open(const storage_config_t *cfg, catalog_t *cat,
                 storage_t **out)
{
    storage_t *st = calloc(1, sizeof(*st));
    pthread_condattr_t attr;
    recorder_config_t rcfg;
    volume_t vols[VOLUME_MAX];
    int garbage = 0;
    int n;
    int rc;

    *out = NULL;
    if (!st)
        return -ENOMEM;
    st->cat = cat;
    st->clock = cfg->clock ? cfg->clock : &vms_clock_real;
    st->retention_interval_ms = cfg->retention_interval_ms > 0
                                    ? cfg->retention_interval_ms
                                    : 10000;
    pthread_mutex_init(&st->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->wake, &attr);
    pthread_condattr_destroy(&attr);
    volume_set_init(&st->volumes);
    for (int i = 0; i < cfg->volume_count; i++)
        volume_set_add(&st->volumes, cat, cfg->volumes[i], cfg->reserve_bytes,
                       cfg->high_percent, cfg->low_percent);
    storage_log_volumes(st);

    retention_finish_garbage(cat, &garbage);
    if (garbage)
        vms_log(VMS_LOG_INFO, "storage", "event=deletions_completed count=%d",
                garbage);
    n = volume_set_snapshot(&st->volumes, vols, VOLUME_MAX);
    for (int i = 0; i < n; i++) {
        recovery_report_t r;

        if (vols[i].state != VOLUME_OK && vols[i].state != VOLUME_FULL)
            continue;
        if (recovery_scan_volume(vols[i].path, cat, &r) < 0)
            continue;
        st->recovery.indexed += r.indexed;
        st->recovery.trimmed += r.trimmed;
        st->recovery.removed += r.removed;
        st->recovery.missing += r.missing;
        st->recovery.errors += r.errors;
        vms_log(VMS_LOG_INFO, "recovery",
                "volume=%s indexed=%d trimmed=%d removed=%d missing=%d "
                "errors=%d",
                vols[i].path, r.indexed, r.trimmed, r.removed, r.missing,
                r.errors);
    }

    memset(&rcfg, 0, sizeof(rcfg));
    rcfg.volumes = &st->volumes;
    rcfg.segment_seconds = cfg->segment_seconds;
    rcfg.fsync_interval_ms = cfg->fsync_interval_ms;
    rcfg.space_needed = storage_space_needed;
    rcfg.space_ctx = st;
    rc = recorder_start(&rcfg, cat, &st->recorder);
    if (rc < 0)
        goto fail;
    rc = pthread_create(&st->thread, NULL, storage_retention_thread, st);
    if (rc != 0) {
        rc = -rc;
        recorder_stop(st->recorder);
        goto fail;
    }
    *out = st;
    return 0;

fail:
    volume_set_deinit(&st->volumes);
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->lock);
    free(st);
    return rc;
}

void storage_close(storage_t *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->lock);
    st->stopping = 1;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->lock);
    pthread_join(st->thread, NULL);
    recorder_stop(st->recorder);
    volume_set_deinit(&st->volumes);
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

recorder_t *storage_recorder(storage_t *st)
{
    return st->recorder;
}

static void storage_add_alarm(storage_report_t *r, const char *kind,
                              const char *subject, const char *message)
{
    storage_alarm_t *a;

    if (r->alarm_count >= STORAGE_ALARMS_MAX)
        return;
    a = &r->alarms[r->alarm_count++];
    snprintf(a->kind, sizeof(a->kind), "%s", kind);
    snprintf(a->subject, sizeof(a->subject), "%s", subject);
    snprintf(a->message, sizeof(a->message), "%s", message);
}

/* Sums the bytes of camera_id's recordings that overlap a hold. */
static int64_t storage_held_bytes(catalog_t *cat, int64_t camera_id,
                                  const catalog_hold_t *holds, size_t nholds)
{
    int64_t total = 0;

    for (size_t h = 0; h < nholds; h++) {
        catalog_recording_t *rows = NULL;
        size_t n = 0;

        if (holds[h].camera_id != camera_id)
            continue;
        if (catalog_recording_list(cat, camera_id, "main", holds[h].start_us,
                                   holds[h].end_us, &rows, &n) == 0)
            for (size_t i = 0; i < n; i++)
                total += rows[i].bytes;
        free(rows);
        rows = NULL;
        if (catalog_recording_list(cat, camera_id, "sub", holds[h].start_us,
                                   holds[h].end_us, &rows, &n) == 0)
            for (size_t i = 0; i < n; i++)
                total += rows[i].bytes;
        free(rows);
    }
    return total;
}

/* Fills the volume figures and alarms; returns the bytes that
 * recordings can use on usable volumes. */
static int64_t storage_report_volumes(storage_t *st, storage_report_t *r)
{
    volume_t vols[VOLUME_MAX];
    int64_t usable = 0;
    int n;

    volume_set_refresh(&st->volumes);
    n = volume_set_snapshot(&st->volumes, vols, VOLUME_MAX);
    for (int i = 0; i < n; i++) {
        storage_volume_report_t *vr = &r->volumes[r->volume_count++];
        catalog_usage_t u;
        int64_t other;
        int64_t cap;
        static const char *const kinds[] = {
            "", "volume_missing", "foreign_volume", "volume_read_only",
            "write_error", "below_reserve"};

        vr->volume = vols[i];
        if (catalog_usage(st->cat, 0, vols[i].path, 0, 0, &u) == 0)
            vr->recordings_bytes = u.bytes;
        if (vols[i].state != VOLUME_OK) {
            storage_add_alarm(r, kinds[vols[i].state], vols[i].path,
                              vols[i].error);
            continue;
        }
        /* Space that recordings may fill: up to the high watermark and
         * the reserve, minus what other files use. */
        other = vols[i].total_bytes - vols[i].free_bytes -
                vr->recordings_bytes;
        cap = vols[i].total_bytes / 100 * vols[i].high_percent;
        if (vols[i].total_bytes - vols[i].reserve_bytes < cap)
            cap = vols[i].total_bytes - vols[i].reserve_bytes;
        if (cap - other > 0)
            usable += cap - other;
    }
    return usable;
}

/* Fills the per-camera figures, the forecast and its alarms. */
static int storage_report_cameras(storage_t *st, storage_report_t *r,
                                  int64_t usable)
{
    catalog_camera_t *cams = NULL;
    catalog_hold_t *holds = NULL;
    size_t ncams = 0;
    size_t nholds = 0;
    double total_daily = 0;
    int rc;

    rc = catalog_camera_list(st->cat, &cams, &ncams);
    if (rc < 0)
        return rc;
    catalog_hold_list(st->cat, 0, &holds, &nholds);
    r->cameras = calloc(ncams ? ncams : 1, sizeof(*r->cameras));
    if (!r->cameras) {
        free(cams);
        free(holds);
        return -ENOMEM;
    }
    r->camera_count = ncams;
    for (size_t i = 0; i < ncams; i++) {
        storage_camera_report_t *c = &r->cameras[i];
        int64_t hour = r->now_us - 3600LL * 1000000;
        int64_t day = r->now_us - 86400LL * 1000000;

        c->camera_id = cams[i].id;
        snprintf(c->name, sizeof(c->name), "%s", cams[i].name);
        c->retention_days = cams[i].retention_days;
        c->retention_bytes = cams[i].retention_bytes;
        catalog_usage(st->cat, cams[i].id, NULL, hour, day, &c->usage);
        /* The stream's own rate: bytes over recorded time, so that gaps
         * and deleted recordings do not dilute it. */
        if (c->usage.duration_hour_us > 0)
            c->bitrate_hour_bps = (double)c->usage.bytes_hour * 8e6 /
                                  (double)c->usage.duration_hour_us;
        if (c->usage.duration_day_us > 0)
            c->bitrate_day_bps = (double)c->usage.bytes_day * 8e6 /
                                 (double)c->usage.duration_day_us;
        c->held_bytes = storage_held_bytes(st->cat, cams[i].id, holds,
                                           nholds);
        total_daily += c->bitrate_day_bps / 8 * 86400;
    }
    for (size_t i = 0; i < ncams; i++) {
        storage_camera_report_t *c = &r->cameras[i];
        double daily = c->bitrate_day_bps / 8 * 86400;
        char subject[32];
        char message[320];

        c->forecast_days = -1;
        if (total_daily > 0)
            c->forecast_days = (double)usable / total_daily;
        if (c->retention_bytes > 0 && daily > 0 &&
            (double)c->retention_bytes / daily < c->forecast_days)
            c->forecast_days = (double)c->retention_bytes / daily;
        if (c->retention_days > 0 && c->forecast_days >= 0 &&
            c->forecast_days < c->retention_days) {
            snprintf(subject, sizeof(subject), "camera %lld",
                     (long long)c->camera_id);
            snprintf(message, sizeof(message),
                     "camera %lld (%s): the current rates allow %.1f days "
                     "of video, less than its retention of %d days: add a "
                     "volume or lower the bitrate",
                     (long long)c->camera_id, c->name, c->forecast_days,
                     c->retention_days);
            storage_add_alarm(r, "forecast_below_retention", subject,
                              message);
        }
    }
    free(cams);
    free(holds);
    return 0;
}

int storage_report(storage_t *st, storage_report_t *out)
{
    int64_t usable;

    memset(out, 0, sizeof(*out));
    out->now_us = vms_clock_now_us(st->clock);
    usable = storage_report_volumes(st, out);
    recorder_get_stats(st->recorder, &out->recorder);
    out->recovery = st->recovery;
    if (out->recorder.write_errors)
        storage_add_alarm(out, "write_error", "recorder",
                          out->recorder.last_error);
    if (st->recovery.missing) {
        char message[128];
        snprintf(message, sizeof(message),
                 "%d catalogued segments were missing or short at start-up",
                 st->recovery.missing);
        storage_add_alarm(out, "recording_missing", "catalog", message);
    }
    return storage_report_cameras(st, out, usable);
}

void storage_report_free(storage_report_t *report)
{
    free(report->cameras);
    report->cameras = NULL;
}
