/* Retention; see retention.h. */
#include "storage/retention.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "storage/segment.h"

#define RETENTION_BATCH 256

int retention_is_held(const catalog_recording_t *rec,
                      const catalog_hold_t *holds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (holds[i].camera_id == rec->camera_id &&
            holds[i].start_us < rec->end_us && holds[i].end_us > rec->start_us)
            return 1;
    return 0;
}

int retention_delete(catalog_t *cat, const catalog_recording_t *rec)
{
    catalog_recording_t next;
    char path[1100];
    int rc;

    rc = catalog_recording_set_state(cat, rec->id, CATALOG_REC_GARBAGE);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", rec->volume, rec->path);
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    rc = segment_fsync_parent(path);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    /* The successor keeps following this segment's chain value, unless
     * it already has a stored link: then this segment was not its
     * predecessor any more (a hold kept this one while later ones went). */
    rc = catalog_recording_next(cat, rec->camera_id, rec->stream,
                                rec->start_us, &next);
    if (rc == 0) {
        char existing[65];
        rc = catalog_chain_link_get(cat, rec->camera_id, rec->stream,
                                    next.start_us, existing);
        if (rc == -ENOENT)
            rc = catalog_chain_link_set(cat, rec->camera_id, rec->stream,
                                        next.start_us, rec->chain);
    }
    if (rc < 0 && rc != -ENOENT)
        return rc;
    return catalog_recording_delete(cat, rec->id);
}

int retention_finish_garbage(catalog_t *cat, int *count)
{
    catalog_recording_t *rows = NULL;
    size_t n = 0;
    int rc;

    *count = 0;
    rc = catalog_recording_garbage(cat, &rows, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (retention_delete(cat, &rows[i]) == 0)
            (*count)++;
    free(rows);
    return 0;
}

/* Predicate deciding whether a pass should delete rec; returns 0 to
 * stop the pass (nothing more to delete), 1 to delete it. */
typedef int (*retention_want_fn)(void *ctx, const catalog_recording_t *rec);

/* Deletes the oldest unheld rows of volume (NULL: any) and camera (0:
 * any) while want() agrees. */
static void retention_sweep(catalog_t *cat, const char *volume,
                            int64_t camera_id, const catalog_hold_t *holds,
                            size_t nholds, retention_want_fn want, void *ctx,
                            retention_report_t *report)
{
    size_t skip = 0;

    for (;;) {
        catalog_recording_t *rows = NULL;
        size_t n = 0;
        int progress = 0;
        int stop = 0;

        if (catalog_recording_oldest(cat, volume, camera_id,
                                     RETENTION_BATCH + skip, &rows, &n) < 0)
            return;
        for (size_t i = 0; i < n && !stop; i++) {
            if (retention_is_held(&rows[i], holds, nholds)) {
                if (i >= skip) {
                    report->held++;
                    skip++;
                }
                continue;
            }
            if (!want(ctx, &rows[i])) {
                stop = 1;
                break;
            }
            if (retention_delete(cat, &rows[i]) == 0) {
                report->deleted++;
                report->bytes_deleted += rows[i].bytes;
                progress = 1;
            } else {
                report->errors++;
                stop = 1;
            }
        }
        free(rows);
        if (stop || !progress || n < RETENTION_BATCH + skip)
            return;
    }
}

typedef struct retention_age {
    int64_t cutoff_us;
} retention_age_t;

static int retention_want_age(void *ctx, const catalog_recording_t *rec)
{
    return rec->end_us < ((retention_age_t *)ctx)->cutoff_us;
}

typedef struct retention_bytes {
    int64_t over;   /* bytes still to free */
} retention_bytes_t;

static int retention_want_bytes(void *ctx, const catalog_recording_t *rec)
{
    retention_bytes_t *b = ctx;

    if (b->over <= 0)
        return 0;
    b->over -= rec->bytes;
    return 1;
}

/* Applies each camera's age and size limits. */
static int retention_cameras(catalog_t *cat, int64_t now_us,
                             const catalog_hold_t *holds, size_t nholds,
                             retention_report_t *report)
{
    catalog_camera_t *cams = NULL;
    size_t n = 0;
    int rc = catalog_camera_list(cat, &cams, &n);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (cams[i].retention_days > 0) {
            retention_age_t age = {
                now_us - (int64_t)cams[i].retention_days * 86400 * 1000000};
            retention_sweep(cat, NULL, cams[i].id, holds, nholds,
                            retention_want_age, &age, report);
        }
        if (cams[i].retention_bytes > 0) {
            catalog_usage_t usage;
            retention_bytes_t b;

            if (catalog_usage(cat, cams[i].id, NULL, 0, 0, &usage) < 0)
                continue;
            b.over = usage.bytes - cams[i].retention_bytes;
            if (b.over > 0)
                retention_sweep(cat, NULL, cams[i].id, holds, nholds,
                                retention_want_bytes, &b, report);
        }
    }
    free(cams);
    return 0;
}

/* Keeps each volume below its high watermark and above its reserve. */
static void retention_volumes(catalog_t *cat, volume_set_t *set,
                              const catalog_hold_t *holds, size_t nholds,
                              retention_report_t *report)
{
    volume_t vols[VOLUME_MAX];
    int count = volume_set_snapshot(set, vols, VOLUME_MAX);

    for (int i = 0; i < count; i++) {
        volume_t *v = &vols[i];
        int64_t used = v->total_bytes - v->free_bytes;
        int64_t high = v->total_bytes / 100 * v->high_percent;
        int64_t low = v->total_bytes / 100 * v->low_percent;
        retention_bytes_t b = {0};

        if (v->state != VOLUME_OK && v->state != VOLUME_FULL)
            continue;
        if (used > high)
            b.over = used - low;
        if (v->free_bytes - v->reserve_bytes < 0 &&
            v->reserve_bytes - v->free_bytes > b.over)
            b.over = v->reserve_bytes - v->free_bytes;
        if (b.over <= 0)
            continue;
        vms_log(VMS_LOG_INFO, "retention",
                "volume=%s used_percent=%lld action=delete_oldest "
                "bytes_to_free=%lld",
                v->path, (long long)(used * 100 / (v->total_bytes + 1)),
                (long long)b.over);
        retention_sweep(cat, v->path, 0, holds, nholds, retention_want_bytes,
                        &b, report);
    }
}

int retention_run(catalog_t *cat, volume_set_t *volumes, int64_t now_us,
                  retention_report_t *report)
{
    catalog_hold_t *holds = NULL;
    size_t nholds = 0;
    int rc;

    memset(report, 0, sizeof(*report));
    volume_set_refresh(volumes);
    rc = catalog_hold_list(cat, 0, &holds, &nholds);
    if (rc < 0)
        return rc;
    rc = retention_cameras(cat, now_us, holds, nholds, report);
    if (rc == 0) {
        retention_volumes(cat, volumes, holds, nholds, report);
        volume_set_refresh(volumes);
        volume_set_update_full(volumes);
    }
    free(holds);
    if (report->deleted)
        vms_log(VMS_LOG_INFO, "retention",
                "deleted=%d bytes=%lld held=%d errors=%d", report->deleted,
                (long long)report->bytes_deleted, report->held,
                report->errors);
    return rc;
}
