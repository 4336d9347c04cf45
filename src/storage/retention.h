/*
 * Retention: deletes the oldest recordings to keep each camera within
 * its age and size limits and each volume below its high watermark,
 * never touching a recording that overlaps an evidence hold.
 *
 * Deletion is crash-safe: the row is marked garbage, the file unlinked,
 * the directory fsynced, the successor's chain link stored, then the
 * row removed. A crash in between leaves a garbage row that
 * retention_finish_garbage() completes at the next start.
 */
#ifndef VMS_STORAGE_RETENTION_H
#define VMS_STORAGE_RETENTION_H

#include <stdint.h>

#include "catalog/catalog.h"
#include "storage/volume.h"

typedef struct retention_report {
    int deleted;            /* segments deleted */
    int64_t bytes_deleted;
    int held;               /* segments kept because of a hold */
    int errors;
} retention_report_t;

/* Runs one pass at time now_us (UTC microseconds, from the caller's
 * clock). Volumes are refreshed first. Returns 0 or a negative errno if
 * the catalog cannot be read. */
int retention_run(catalog_t *cat, volume_set_t *volumes, int64_t now_us,
                  retention_report_t *report);

/* Deletes one recording as described above. */
int retention_delete(catalog_t *cat, const catalog_recording_t *rec);

/* Completes deletions that a crash interrupted; *count receives how
 * many. */
int retention_finish_garbage(catalog_t *cat, int *count);

/* Returns 1 if rec overlaps one of the n holds of its camera. */
int retention_is_held(const catalog_recording_t *rec,
                      const catalog_hold_t *holds, size_t n);

#endif
