/*
 * The integrity chain of recorded segments.
 *
 * Each segment row stores chain = SHA-256 over the chain value of the
 * previous segment of the same camera stream and this segment's own
 * SHA-256, times, size, camera and stream. Editing a file changes its
 * digest; editing, removing, inserting or reordering a row breaks the
 * chain at the next segment. When retention deletes a segment, the
 * chain value its successor follows is kept (catalog_chain_link_set),
 * so deletions by retention stay checkable and any other removal does
 * not.
 */
#ifndef VMS_STORAGE_INTEGRITY_H
#define VMS_STORAGE_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"

/* Computes rec's chain value from prev (the previous segment's chain,
 * or "" for the first segment of a stream) into out. */
void integrity_link(const char *prev, const catalog_recording_t *rec,
                    char out[65]);

/* Returns the chain value that the segment rec must follow: a stored
 * link for its start time, else the previous row's chain, else "". */
int integrity_previous_chain(catalog_t *cat, const catalog_recording_t *rec,
                             char out[65]);

typedef struct integrity_report {
    int segments;      /* rows checked */
    int bytes_checked; /* files whose size and digest were checked */
    int problems;
} integrity_report_t;

/* Called once per problem found; message names the segment and what is
 * wrong with it. */
typedef void (*integrity_problem_fn)(void *ctx,
                                     const catalog_recording_t *rec,
                                     const char *message);

/* Checks the segments of a camera stream overlapping [from_us, to_us):
 * each file exists, has its catalogued size and digest, and each row's
 * chain value follows from its predecessor. Returns 0 (problems are
 * reported through fn and counted), or a negative errno if the catalog
 * cannot be read. */
int integrity_verify(catalog_t *cat, int64_t camera_id, const char *stream,
                     int64_t from_us, int64_t to_us, integrity_problem_fn fn,
                     void *ctx, integrity_report_t *report);

#endif
