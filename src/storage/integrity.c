/* Segment integrity chain; see integrity.h. */
#include "storage/integrity.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/segment.h"

void integrity_link(const char *prev, const catalog_recording_t *rec,
                    char out[65])
{
    unsigned char digest[32];
    char text[512];
    int n;

    /* Fixed field order with separators, so that no two different
     * rows produce the same input. */
    n = snprintf(text, sizeof(text),
                 "%s|%s|%" PRId64 "|%s|%" PRId64 "|%" PRId64 "|%" PRId64,
                 prev, rec->sha256, rec->camera_id, rec->stream,
                 rec->start_us, rec->end_us, rec->bytes);
    EVP_Digest(text, (size_t)n, digest, NULL, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

int integrity_previous_chain(catalog_t *cat, const catalog_recording_t *rec,
                             char out[65])
{
    catalog_recording_t prev;
    int rc;

    out[0] = '\0';
    rc = catalog_chain_link_get(cat, rec->camera_id, rec->stream,
                                rec->start_us, out);
    if (rc == 0)
        return 0;
    if (rc != -ENOENT)
        return rc;
    rc = catalog_recording_previous(cat, rec->camera_id, rec->stream,
                                    rec->start_us, &prev);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    snprintf(out, 65, "%s", prev.chain);
    return 0;
}

/* Checks one file against its row; returns a problem text or NULL. */
static const char *integrity_check_file(const catalog_recording_t *rec,
                                        char *buf, size_t len)
{
    char path[1100];
    char digest[65];
    struct stat st;
    int fd;
    int rc;

    if (rec->state == CATALOG_REC_MISSING) {
        snprintf(buf, len, "file missing (marked at start-up)");
        return buf;
    }
    snprintf(path, sizeof(path), "%s/%s", rec->volume, rec->path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(buf, len, "cannot open %s: %s", path, strerror(errno));
        return buf;
    }
    if (fstat(fd, &st) < 0 || st.st_size != rec->bytes) {
        snprintf(buf, len, "size is %lld bytes, catalog says %lld",
                 (long long)st.st_size, (long long)rec->bytes);
        close(fd);
        return buf;
    }
    rc = segment_sha256_fd(fd, st.st_size, digest);
    close(fd);
    if (rc < 0) {
        snprintf(buf, len, "cannot read %s: %s", path, strerror(-rc));
        return buf;
    }
    if (strcmp(digest, rec->sha256) != 0) {
        snprintf(buf, len, "content changed: SHA-256 is %s, catalog says %s",
                 digest, rec->sha256);
        return buf;
    }
    return NULL;
}

int integrity_verify(catalog_t *cat, int64_t camera_id, const char *stream,
                     int64_t from_us, int64_t to_us, integrity_problem_fn fn,
                     void *ctx, integrity_report_t *report)
{
    catalog_recording_t *rows = NULL;
    char prev[65];
    char expected[65];
    char message[512];
    size_t n = 0;
    int rc;

    memset(report, 0, sizeof(*report));
    rc = catalog_recording_list_all(cat, camera_id, stream, from_us, to_us,
                                    &rows, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const catalog_recording_t *rec = &rows[i];
        const char *problem;
        char link[65];

        report->segments++;
        if (catalog_chain_link_get(cat, camera_id, stream, rec->start_us,
                                   link) == 0)
            snprintf(prev, sizeof(prev), "%s", link);
        else if (i == 0 && (rc = integrity_previous_chain(cat, rec, prev)) < 0)
            goto out;
        integrity_link(prev, rec, expected);
        if (strcmp(expected, rec->chain) != 0) {
            snprintf(message, sizeof(message),
                     "chain broken before this segment: a segment was "
                     "removed, inserted, reordered or its row edited");
            report->problems++;
            fn(ctx, rec, message);
        }
        problem = integrity_check_file(rec, message, sizeof(message));
        if (problem) {
            report->problems++;
            fn(ctx, rec, problem);
        } else {
            report->bytes_checked++;
        }
        snprintf(prev, sizeof(prev), "%s", rec->chain);
    }
    rc = 0;
out:
    free(rows);
    return rc;
}
