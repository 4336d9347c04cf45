/*
 * Start-up reconciliation of a volume with the catalog. Runs before any
 * recorder starts writing to the volume.
 */
#ifndef VMS_STORAGE_RECOVERY_H
#define VMS_STORAGE_RECOVERY_H

#include "catalog/catalog.h"

typedef struct recovery_report {
    int indexed;     /* whole files that had no row */
    int trimmed;     /* files cut back to their last whole fragment */
    int removed;     /* files with no whole fragment, deleted */
    int missing;     /* rows whose file is gone or shorter */
    int errors;      /* files that could not be handled (left untouched) */
} recovery_report_t;

/* Reconciles volume with cat:
 * - "<start>.mp4.partial" files (a segment being written at a crash)
 *   are trimmed to their last whole fragment, renamed and indexed, or
 *   deleted if no fragment is whole;
 * - ".mp4" files without a row are trimmed if needed and indexed;
 * - a row whose file is shorter than the row's byte count is replaced
 *   by a row for the file as it is;
 * - a row whose file is missing is marked CATALOG_REC_MISSING (kept for
 *   the integrity chain, excluded from playback) and counted.
 * Afterwards no row points past the end of a file. Returns 0 or a
 * negative errno if the volume cannot be read. */
int recovery_scan_volume(const char *volume, catalog_t *cat,
                         recovery_report_t *report);

#endif
