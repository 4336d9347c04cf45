/* Start-up reconciliation; see recovery.h. */
#include "storage/recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "storage/integrity.h"
#include "storage/segment.h"

/* Trims the file at full to its whole prefix and indexes it as rel
 * (final name). Returns 0, or a negative errno. */
static int recovery_index_file(const char *volume, const char *rel,
                               const char *full, catalog_t *cat,
                               recovery_report_t *report)
{
    catalog_recording_t row;
    struct stat st;
    off_t whole;
    int fragments;
    int64_t duration_us;
    int partial;
    int fd;
    int rc;

    memset(&row, 0, sizeof(row));
    rc = segment_parse_path(rel, &row.camera_id, row.stream,
                            sizeof(row.stream), &row.start_us, &partial);
    if (rc < 0)
        return rc;
    fd = open(full, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    rc = segment_whole_length(fd, st.st_size, &whole, &fragments);
    if (rc < 0 || fragments == 0) {
        vms_log(VMS_LOG_WARN, "recovery",
                "volume=%s path=%s action=removed reason=\"no whole "
                "fragment\"",
                volume, rel);
        unlink(full);
        segment_fsync_parent(full);
        report->removed++;
        rc = 0;
        goto out;
    }
    if (whole < st.st_size) {
        if (ftruncate(fd, whole) < 0 || fsync(fd) < 0) {
            rc = -errno;
            goto out;
        }
        vms_log(VMS_LOG_INFO, "recovery",
                "volume=%s path=%s action=trimmed from=%lld to=%lld", volume,
                rel, (long long)st.st_size, (long long)whole);
        report->trimmed++;
    }
    rc = segment_probe_duration(full, &duration_us);
    if (rc < 0 || duration_us <= 0) {
        rc = -EINVAL;
        goto out;
    }
    rc = segment_sha256_fd(fd, whole, row.sha256);
    if (rc < 0)
        goto out;

    snprintf(row.volume, sizeof(row.volume), "%s", volume);
    snprintf(row.path, sizeof(row.path), "%s", rel);
    if (partial) {
        char final[2048];
        size_t len = strlen(full) - strlen(SEGMENT_PARTIAL_SUFFIX);

        snprintf(final, sizeof(final), "%.*s", (int)len, full);
        row.path[strlen(row.path) - strlen(SEGMENT_PARTIAL_SUFFIX)] = '\0';
        if (rename(full, final) < 0) {
            rc = -errno;
            goto out;
        }
        segment_fsync_parent(final);
    }
    row.end_us = row.start_us + duration_us;
    row.bytes = whole;
    {
        char prev[65];
        rc = integrity_previous_chain(cat, &row, prev);
        if (rc < 0)
            goto out;
        integrity_link(prev, &row, row.chain);
    }
    rc = catalog_recording_insert(cat, &row);
    if (rc == 0) {
        report->indexed++;
        vms_log(VMS_LOG_INFO, "recovery",
                "volume=%s path=%s action=indexed duration_ms=%lld", volume,
                row.path, (long long)duration_us / 1000);
    }
out:
    close(fd);
    return rc;
}

/* Handles one file found on the volume. */
static void recovery_check_file(const char *volume, const char *rel,
                                catalog_t *cat, recovery_report_t *report)
{
    char full[2048];
    catalog_recording_t row;
    struct stat st;
    int64_t cam;
    int64_t start;
    char stream[8];
    int partial;
    int rc;

    if (segment_parse_path(rel, &cam, stream, sizeof(stream), &start,
                           &partial) < 0)
        return; /* not a segment: leave it alone */
    snprintf(full, sizeof(full), "%s/%s", volume, rel);
    if (!partial && catalog_recording_find(cat, volume, rel, &row) == 0) {
        if (stat(full, &st) == 0 && st.st_size >= row.bytes)
            return;
        vms_log(VMS_LOG_ERROR, "recovery",
                "volume=%s path=%s action=reindexed reason=\"file shorter "
                "than its catalog row\"",
                volume, rel);
        catalog_recording_delete(cat, row.id);
        report->missing++;
    }
    rc = recovery_index_file(volume, rel, full, cat, report);
    if (rc < 0) {
        vms_log(VMS_LOG_ERROR, "recovery",
                "volume=%s path=%s error=\"%s\" action=left_untouched",
                volume, rel, strerror(-rc));
        report->errors++;
    }
}

/* Recurses through rel (relative to volume), depth-limited to the
 * camera/stream/day layout. */
static int recovery_walk(const char *volume, const char *rel, int depth,
                         catalog_t *cat, recovery_report_t *report)
{
    char dir_path[2048];
    DIR *dir;
    struct dirent *de;

    snprintf(dir_path, sizeof(dir_path), "%s%s%s", volume, *rel ? "/" : "",
             rel);
    dir = opendir(dir_path);
    if (!dir)
        return -errno;
    while ((de = readdir(dir))) {
        char child[1024];

        if (de->d_name[0] == '.')
            continue;
        snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
                 de->d_name);
        if (depth < 3) {
            if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
                recovery_walk(volume, child, depth + 1, cat, report);
        } else if (de->d_type == DT_REG || de->d_type == DT_UNKNOWN) {
            recovery_check_file(volume, child, cat, report);
        }
    }
    closedir(dir);
    return 0;
}

int recovery_scan_volume(const char *volume, catalog_t *cat,
                         recovery_report_t *report)
{
    catalog_recording_t *rows = NULL;
    size_t n = 0;
    int rc;

    memset(report, 0, sizeof(*report));
    rc = recovery_walk(volume, "", 0, cat, report);
    if (rc < 0)
        return rc;

    rc = catalog_recording_list_volume(cat, volume, &rows, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char full[2048];
        struct stat st;

        snprintf(full, sizeof(full), "%s/%s", volume, rows[i].path);
        if (stat(full, &st) == 0 && st.st_size >= rows[i].bytes)
            continue;
        if (rows[i].state != CATALOG_REC_OK)
            continue;
        vms_log(VMS_LOG_ERROR, "recovery",
                "volume=%s path=%s action=marked_missing alarm=\"a "
                "catalogued segment is missing\"",
                volume, rows[i].path);
        catalog_recording_set_state(cat, rows[i].id, CATALOG_REC_MISSING);
        report->missing++;
    }
    free(rows);
    return 0;
}
