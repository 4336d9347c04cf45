/* Tests of start-up recovery (recovery.h) on volumes laid out by hand
 * with real segments of tests/data/car-detection.mp4, as a crash or a
 * lost disk could leave them. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/log.h"
#include "storage/recovery.h"
#include "storage/segment.h"
#include "stream_fixture.h"
#include "unit.h"

#define RCV_BASE_US 1769860800000000LL /* 2026-01-31T12:00:00Z */
#define RCV_CAMERA 3

static fixture_stream_t *rcv_stream;

typedef struct rcv_fixture {
    char dir[64];
    char volume[96];
    catalog_t *cat;
} rcv_fixture_t;

static int rcv_group_setup(void **state)
{
    /* The first two GOPs, 6 frames (0.48 s) per fragment. */
    if (fixture_stream_open(FIXTURE_CLIP, 120, &rcv_stream) < 0)
        return -1;
    return fixture_stream_mux(rcv_stream, 6) < 0 ? -1 : 0;
}

static int rcv_group_teardown(void **state)
{
    fixture_stream_free(rcv_stream);
    return 0;
}

static int rcv_setup(void **state)
{
    rcv_fixture_t *f = calloc(1, sizeof(*f));
    char path[128];
    char err[256];

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/vms-test-recovery-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->volume, sizeof(f->volume), "%s/volume", f->dir);
    if (mkdir(f->volume, 0750) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/catalog.db", f->dir);
    if (catalog_open(path, &f->cat, err, sizeof(err)) < 0)
        return -1;
    *state = f;
    return 0;
}

static int rcv_remove_entry(const char *path, const struct stat *st,
                            int flag, struct FTW *ftw)
{
    return remove(path);
}

static int rcv_teardown(void **state)
{
    rcv_fixture_t *f = *state;

    catalog_close(f->cat);
    nftw(f->dir, rcv_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Creates every directory of rel's parent below the volume. */
static void rcv_make_dirs(rcv_fixture_t *f, const char *rel)
{
    char full[1024];
    size_t base = strlen(f->volume) + 1;

    snprintf(full, sizeof(full), "%s/%s", f->volume, rel);
    for (char *p = full + base; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(full, 0750) < 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", full, strerror(errno));
        *p = '/';
    }
}

/* Writes a segment starting at fragment first: the init segment, count
 * whole fragments and cut bytes of the next one. Its name comes from
 * the start time, with ".partial" appended if partial is set; rel
 * receives it. Returns the length of the whole part. */
static size_t rcv_write_segment(rcv_fixture_t *f, size_t first,
                                size_t count, size_t cut, int partial,
                                char *rel, size_t rel_len)
{
    const fixture_stream_t *s = rcv_stream;
    char full[1024];
    size_t whole;
    int fd;

    assert_int_equal(segment_format_path(RCV_CAMERA, "main",
                                         RCV_BASE_US +
                                             s->frags[first].start_us,
                                         rel, rel_len),
                     0);
    if (partial)
        strncat(rel, SEGMENT_PARTIAL_SUFFIX, rel_len - strlen(rel) - 1);
    rcv_make_dirs(f, rel);
    snprintf(full, sizeof(full), "%s/%s", f->volume, rel);
    fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, s->init->data, s->init->len),
                     (ssize_t)s->init->len);
    whole = s->init->len;
    for (size_t i = first; i < first + count; i++) {
        assert_int_equal(write(fd, s->frags[i].data->data,
                               s->frags[i].data->len),
                         (ssize_t)s->frags[i].data->len);
        whole += s->frags[i].data->len;
    }
    if (cut > 0) {
        assert_true(cut < s->frags[first + count].data->len);
        assert_int_equal(write(fd, s->frags[first + count].data->data, cut),
                         (ssize_t)cut);
    }
    close(fd);
    return whole;
}

/* Returns the size of the file at rel, or -1 if it does not exist. */
static off_t rcv_file_size(rcv_fixture_t *f, const char *rel)
{
    char full[1024];
    struct stat st;

    snprintf(full, sizeof(full), "%s/%s", f->volume, rel);
    return stat(full, &st) == 0 ? st.st_size : -1;
}

/* Checks the row of rel against its file: size, SHA-256 and times. */
static void rcv_check_row(rcv_fixture_t *f, const char *rel, size_t first,
                          size_t count)
{
    const fixture_stream_t *s = rcv_stream;
    catalog_recording_t row;
    char full[1024];
    char hex[65];
    off_t size = rcv_file_size(f, rel);
    int fd;

    assert_int_equal(catalog_recording_find(f->cat, f->volume, rel, &row),
                     0);
    assert_int_equal(row.state, CATALOG_REC_OK);
    assert_int_equal(row.camera_id, RCV_CAMERA);
    assert_string_equal(row.stream, "main");
    assert_int_equal(row.bytes, size);
    snprintf(full, sizeof(full), "%s/%s", f->volume, rel);
    fd = open(full, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(segment_sha256_fd(fd, size, hex), 0);
    close(fd);
    assert_string_equal(row.sha256, hex);
    assert_int_equal(row.start_us, RCV_BASE_US + s->frags[first].start_us);
    /* The end comes from probing the file: the last whole sample. */
    assert_int_equal(row.end_us,
                     RCV_BASE_US + s->frags[first + count - 1].start_us +
                         s->frags[first + count - 1].duration_us);
}

/* Runs a scan and checks every counter of its report. */
static void rcv_scan(rcv_fixture_t *f, int indexed, int trimmed,
                     int removed, int missing, int errors)
{
    recovery_report_t r;

    memset(&r, 0x55, sizeof(r));
    assert_int_equal(recovery_scan_volume(f->volume, f->cat, &r), 0);
    if (r.indexed != indexed || r.trimmed != trimmed ||
        r.removed != removed || r.missing != missing || r.errors != errors)
        fail_msg("report indexed %d trimmed %d removed %d missing %d "
                 "errors %d, expected %d %d %d %d %d",
                 r.indexed, r.trimmed, r.removed, r.missing, r.errors,
                 indexed, trimmed, removed, missing, errors);
}

static void recovery_trims_partial_file(void **state)
{
    rcv_fixture_t *f = *state;
    char rel[256];
    char final[256];
    size_t whole = rcv_write_segment(f, 0, 3, 100, 1, rel, sizeof(rel));

    assert_true((size_t)rcv_file_size(f, rel) == whole + 100);
    rcv_scan(f, 1, 1, 0, 0, 0);
    /* The file is cut to its 3 whole fragments and takes its final
     * name. */
    assert_int_equal(rcv_file_size(f, rel), -1);
    snprintf(final, sizeof(final), "%.*s",
             (int)(strlen(rel) - strlen(SEGMENT_PARTIAL_SUFFIX)), rel);
    assert_int_equal(rcv_file_size(f, final), (off_t)whole);
    rcv_check_row(f, final, 0, 3);
    /* Nothing is left to do. */
    rcv_scan(f, 0, 0, 0, 0, 0);
}

static void recovery_renames_whole_partial_file(void **state)
{
    rcv_fixture_t *f = *state;
    char rel[256];
    char final[256];
    size_t whole = rcv_write_segment(f, 0, 4, 0, 1, rel, sizeof(rel));

    /* A crash between the last fsync and the rename. */
    rcv_scan(f, 1, 0, 0, 0, 0);
    snprintf(final, sizeof(final), "%.*s",
             (int)(strlen(rel) - strlen(SEGMENT_PARTIAL_SUFFIX)), rel);
    assert_int_equal(rcv_file_size(f, final), (off_t)whole);
    rcv_check_row(f, final, 0, 4);
}

static void recovery_indexes_whole_file_without_row(void **state)
{
    rcv_fixture_t *f = *state;
    char rel[256];
    size_t whole = rcv_write_segment(f, 0, 2, 0, 0, rel, sizeof(rel));

    /* A crash between the rename and the catalog insert. */
    rcv_scan(f, 1, 0, 0, 0, 0);
    assert_int_equal(rcv_file_size(f, rel), (off_t)whole);
    rcv_check_row(f, rel, 0, 2);
}

static void recovery_trims_cut_mp4_without_row(void **state)
{
    rcv_fixture_t *f = *state;
    char rel[256];
    size_t whole = rcv_write_segment(f, 0, 2, 7, 0, rel, sizeof(rel));

    rcv_scan(f, 1, 1, 0, 0, 0);
    assert_int_equal(rcv_file_size(f, rel), (off_t)whole);
    rcv_check_row(f, rel, 0, 2);
}

/* Inserts a row for rel with the given size. */
static int64_t rcv_insert_row(rcv_fixture_t *f, const char *rel,
                              int64_t bytes)
{
    catalog_recording_t row = {.camera_id = RCV_CAMERA,
                               .start_us = RCV_BASE_US,
                               .end_us = RCV_BASE_US + 1000000,
                               .bytes = bytes};

    snprintf(row.stream, sizeof(row.stream), "main");
    snprintf(row.volume, sizeof(row.volume), "%s", f->volume);
    snprintf(row.path, sizeof(row.path), "%s", rel);
    memset(row.sha256, '0', 64);
    assert_int_equal(catalog_recording_insert(f->cat, &row), 0);
    return row.id;
}

static void recovery_marks_rows_of_missing_files(void **state)
{
    rcv_fixture_t *f = *state;
    catalog_recording_t row;
    catalog_recording_t *rows = NULL;
    char rel[256];
    size_t n = 9;

    assert_int_equal(segment_format_path(RCV_CAMERA, "main", RCV_BASE_US,
                                         rel, sizeof(rel)),
                     0);
    rcv_insert_row(f, rel, 5000);
    rcv_scan(f, 0, 0, 0, 1, 0);
    /* The row stays for the integrity chain, but playback skips it. */
    assert_int_equal(catalog_recording_find(f->cat, f->volume, rel, &row),
                     0);
    assert_int_equal(row.state, CATALOG_REC_MISSING);
    assert_int_equal(catalog_recording_list(f->cat, RCV_CAMERA, "main", 0,
                                            INT64_MAX, &rows, &n),
                     0);
    assert_int_equal(n, 0);
    free(rows);
    /* It is reported once, not at every start. */
    rcv_scan(f, 0, 0, 0, 0, 0);
}

static void recovery_reindexes_shorter_file(void **state)
{
    rcv_fixture_t *f = *state;
    catalog_recording_t row;
    char rel[256];
    size_t whole = rcv_write_segment(f, 0, 3, 0, 0, rel, sizeof(rel));

    rcv_insert_row(f, rel, (int64_t)whole + 4096);
    /* The row claims more bytes than the file has: it is replaced by a
     * row for the file as it is. */
    rcv_scan(f, 1, 0, 0, 1, 0);
    assert_int_equal(catalog_recording_find(f->cat, f->volume, rel, &row),
                     0);
    assert_int_equal(row.bytes, (int64_t)whole);
    rcv_check_row(f, rel, 0, 3);
}

static void recovery_deletes_file_without_whole_fragment(void **state)
{
    rcv_fixture_t *f = *state;
    catalog_recording_t *rows = NULL;
    char partial[256];
    char garbage[256];
    size_t n = 9;
    int fd;

    /* The init segment and part of the first fragment. */
    rcv_write_segment(f, 0, 0, 50, 1, partial, sizeof(partial));
    /* A file with a segment's name but no MP4 in it. */
    assert_int_equal(segment_format_path(RCV_CAMERA, "main",
                                         RCV_BASE_US + 60000000, garbage,
                                         sizeof(garbage)),
                     0);
    rcv_make_dirs(f, garbage);
    {
        char full[1024];

        snprintf(full, sizeof(full), "%s/%s", f->volume, garbage);
        fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0640);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "garbage", 7), 7);
        close(fd);
    }
    rcv_scan(f, 0, 0, 2, 0, 0);
    assert_int_equal(rcv_file_size(f, partial), -1);
    assert_int_equal(rcv_file_size(f, garbage), -1);
    assert_int_equal(catalog_recording_list(f->cat, RCV_CAMERA, "main", 0,
                                            INT64_MAX, &rows, &n),
                     0);
    assert_int_equal(n, 0);
    free(rows);
}

static void recovery_leaves_other_files_alone(void **state)
{
    rcv_fixture_t *f = *state;
    static const char *const others[] = {
        "3/main/2026-01-31/notes.txt",
        "3/main/2026-01-31/1769860800000000.mp4.tmp",
        "3/main/1999-01-01/1769860800000000.mp4",
        "3/main/1769860800000000.mp4",
        "readme.mp4",
    };
    char rel[256];
    size_t whole = rcv_write_segment(f, 0, 2, 0, 0, rel, sizeof(rel));

    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        char full[1024];
        int fd;

        rcv_make_dirs(f, others[i]);
        snprintf(full, sizeof(full), "%s/%s", f->volume, others[i]);
        fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0640);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
    }
    rcv_scan(f, 1, 0, 0, 0, 0);
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        assert_int_equal(rcv_file_size(f, others[i]), 1);
    assert_int_equal(rcv_file_size(f, rel), (off_t)whole);
}

static void recovery_mixed_volume_then_no_op(void **state)
{
    rcv_fixture_t *f = *state;
    size_t key = 10; /* the second GOP starts at fragment 10 */
    char a[256];
    char b[256];
    char c[256];
    char gone[256];

    assert_true(rcv_stream->frags[key].keyframe);
    rcv_write_segment(f, 0, 4, 0, 0, a, sizeof(a));
    rcv_insert_row(f, a, rcv_file_size(f, a));
    rcv_write_segment(f, 4, 0, 0, 0, b, sizeof(b)); /* init only */
    rcv_write_segment(f, key, 5, 300, 1, c, sizeof(c));
    assert_int_equal(segment_format_path(RCV_CAMERA, "main",
                                         RCV_BASE_US - 60000000, gone,
                                         sizeof(gone)),
                     0);
    rcv_insert_row(f, gone, 100);

    /* a is known and whole; b has no fragment; c is a cut partial
     * file; gone has a row and no file. */
    rcv_scan(f, 1, 1, 1, 1, 0);
    rcv_scan(f, 0, 0, 0, 0, 0);
    assert_int_equal(rcv_file_size(f, b), -1);
}

static void recovery_fails_on_missing_volume(void **state)
{
    rcv_fixture_t *f = *state;
    recovery_report_t r;
    char missing[128];

    snprintf(missing, sizeof(missing), "%s/no-such-volume", f->dir);
    assert_int_equal(recovery_scan_volume(missing, f->cat, &r), -ENOENT);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(recovery_trims_partial_file,
                                        rcv_setup, rcv_teardown),
        cmocka_unit_test_setup_teardown(recovery_renames_whole_partial_file,
                                        rcv_setup, rcv_teardown),
        cmocka_unit_test_setup_teardown(
            recovery_indexes_whole_file_without_row, rcv_setup,
            rcv_teardown),
        cmocka_unit_test_setup_teardown(recovery_trims_cut_mp4_without_row,
                                        rcv_setup, rcv_teardown),
        cmocka_unit_test_setup_teardown(recovery_marks_rows_of_missing_files,
                                        rcv_setup, rcv_teardown),
        cmocka_unit_test_setup_teardown(recovery_reindexes_shorter_file,
                                        rcv_setup, rcv_teardown),
        cmocka_unit_test_setup_teardown(
            recovery_deletes_file_without_whole_fragment, rcv_setup,
            rcv_teardown),
        cmocka_unit_test_setup_teardown(recovery_leaves_other_files_alone,
                                        rcv_setup, rcv_teardown),
        cmocka_unit_test_setup_teardown(recovery_mixed_volume_then_no_op,
                                        rcv_setup, rcv_teardown),
        cmocka_unit_test_setup_teardown(recovery_fails_on_missing_volume,
                                        rcv_setup, rcv_teardown),
    };

    vms_log_threshold = VMS_LOG_ERROR;
    av_log_set_level(AV_LOG_FATAL);
    return UNIT_RUN("recovery", tests, rcv_group_setup, rcv_group_teardown,
                    argc, argv);
}
