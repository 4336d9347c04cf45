/* Component tests of retention (retention.h) with an injected time:
 * days of retention run in milliseconds. Segment files here are plain
 * bytes, because retention never reads them; the catalog rows carry a
 * real integrity chain so that the chain check can follow deletions. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "storage/integrity.h"
#include "storage/retention.h"
#include "storage/segment.h"
#include "storage/volume.h"
#include "unit.h"

#define RET_DAY_US (86400LL * 1000000)
#define RET_BASE_US 1769860800000000LL /* 2026-01-31T12:00:00Z */
#define RET_DAYS 10

typedef struct ret_fixture {
    char dir[64];
    char volume[96];
    catalog_t *cat;
    volume_set_t volumes;
    catalog_camera_t cam;
    catalog_recording_t rows[RET_DAYS];
} ret_fixture_t;

/* Writes a file of size bytes at volume/rel, creating directories. */
static void ret_write_file(const char *volume, const char *rel, int64_t size)
{
    char path[512];
    char *buf = calloc(1, (size_t)size);
    int fd;

    snprintf(path, sizeof(path), "%s/%s", volume, rel);
    for (char *p = path + strlen(volume) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0750);
        *p = '/';
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, (size_t)size), size);
    close(fd);
    free(buf);
}

/* Records one 60 s segment a day for RET_DAYS days, chained. */
static int ret_setup(void **state)
{
    ret_fixture_t *f = calloc(1, sizeof(*f));
    char path[128];
    char err[256];
    char prev[65] = "";

    snprintf(f->dir, sizeof(f->dir), "/tmp/vms-test-retention-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->volume, sizeof(f->volume), "%s/volume", f->dir);
    snprintf(path, sizeof(path), "%s/catalog.db", f->dir);
    if (catalog_open(path, &f->cat, err, sizeof(err)) < 0)
        return -1;
    volume_set_init(&f->volumes);
    volume_set_add(&f->volumes, f->cat, f->volume, 0, 99, 98);
    snprintf(f->cam.name, sizeof(f->cam.name), "Gate");
    snprintf(f->cam.main_url, sizeof(f->cam.main_url), "rtsp://h/x");
    snprintf(f->cam.transport, sizeof(f->cam.transport), "tcp");
    f->cam.enabled = 1;
    if (catalog_camera_insert(f->cat, &f->cam) < 0)
        return -1;
    for (int d = 0; d < RET_DAYS; d++) {
        catalog_recording_t *r = &f->rows[d];

        r->camera_id = f->cam.id;
        snprintf(r->stream, sizeof(r->stream), "main");
        snprintf(r->volume, sizeof(r->volume), "%s", f->volume);
        r->start_us = RET_BASE_US + d * RET_DAY_US;
        r->end_us = r->start_us + 60 * 1000000LL;
        r->bytes = 1000;
        segment_format_path(r->camera_id, "main", r->start_us, r->path,
                            sizeof(r->path));
        ret_write_file(f->volume, r->path, r->bytes);
        snprintf(r->sha256, sizeof(r->sha256), "%064d", 0);
        {
            int fd;
            char full[600];
            snprintf(full, sizeof(full), "%s/%s", f->volume, r->path);
            fd = open(full, O_RDONLY);
            segment_sha256_fd(fd, r->bytes, r->sha256);
            close(fd);
        }
        integrity_link(prev, r, r->chain);
        snprintf(prev, sizeof(prev), "%s", r->chain);
        if (catalog_recording_insert(f->cat, r) < 0)
            return -1;
    }
    *state = f;
    return 0;
}

static int ret_remove(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    return remove(path);
}

static int ret_teardown(void **state)
{
    ret_fixture_t *f = *state;

    catalog_close(f->cat);
    volume_set_deinit(&f->volumes);
    nftw(f->dir, ret_remove, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Returns 1 if the file of row d is still on disk. */
static int ret_file_exists(ret_fixture_t *f, int d)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/%s", f->volume, f->rows[d].path);
    return access(path, F_OK) == 0;
}

static void ret_no_problem(void *ctx, const catalog_recording_t *rec,
                           const char *message)
{
    fail_msg("integrity problem at %s: %s", rec->path, message);
}

static void ret_count(void *ctx, const catalog_recording_t *rec,
                      const char *message)
{
}

static void ret_chain_ok(ret_fixture_t *f)
{
    integrity_report_t report;

    assert_int_equal(integrity_verify(f->cat, f->cam.id, "main", 0,
                                      INT64_MAX, ret_no_problem, NULL,
                                      &report),
                     0);
    assert_int_equal(report.problems, 0);
}

static void retention_deletes_older_than_days(void **state)
{
    ret_fixture_t *f = *state;
    retention_report_t report;
    catalog_recording_t *rows = NULL;
    size_t n = 0;

    f->cam.retention_days = 7;
    assert_int_equal(catalog_camera_update(f->cat, &f->cam), 0);
    /* Day 10: segments of days 0, 1 and 2 ended more than 7 days ago. */
    assert_int_equal(retention_run(f->cat, &f->volumes,
                                   RET_BASE_US + 10 * RET_DAY_US, &report),
                     0);
    assert_int_equal(report.deleted, 3);
    assert_int_equal(report.bytes_deleted, 3000);
    for (int d = 0; d < RET_DAYS; d++)
        assert_int_equal(ret_file_exists(f, d), d >= 3);
    assert_int_equal(catalog_recording_list(f->cat, f->cam.id, "main", 0,
                                            INT64_MAX, &rows, &n),
                     0);
    assert_int_equal(n, RET_DAYS - 3);
    free(rows);
    ret_chain_ok(f);

    /* A month later everything has aged out. */
    assert_int_equal(retention_run(f->cat, &f->volumes,
                                   RET_BASE_US + 40 * RET_DAY_US, &report),
                     0);
    assert_int_equal(report.deleted, RET_DAYS - 3);
    for (int d = 0; d < RET_DAYS; d++)
        assert_false(ret_file_exists(f, d));
}

static void retention_keeps_held_segments(void **state)
{
    ret_fixture_t *f = *state;
    retention_report_t report;
    catalog_hold_t hold = {0};

    hold.camera_id = f->cam.id;
    hold.start_us = f->rows[1].start_us + 1000000;
    hold.end_us = f->rows[1].start_us + 2000000;
    snprintf(hold.reason, sizeof(hold.reason), "case 7");
    assert_int_equal(catalog_hold_insert(f->cat, &hold), 0);
    f->cam.retention_days = 2;
    assert_int_equal(catalog_camera_update(f->cat, &f->cam), 0);
    assert_int_equal(retention_run(f->cat, &f->volumes,
                                   RET_BASE_US + 10 * RET_DAY_US, &report),
                     0);
    /* Days 0 to 7 ended more than 2 days before day 10; day 1 is held. */
    assert_int_equal(report.deleted, 7);
    assert_true(report.held >= 1);
    for (int d = 0; d < RET_DAYS; d++)
        assert_int_equal(ret_file_exists(f, d), d == 1 || d >= 8);
    ret_chain_ok(f);

    /* Releasing the hold lets the next pass delete it. */
    assert_int_equal(catalog_hold_delete(f->cat, hold.id), 0);
    assert_int_equal(retention_run(f->cat, &f->volumes,
                                   RET_BASE_US + 10 * RET_DAY_US, &report),
                     0);
    assert_int_equal(report.deleted, 1);
    assert_false(ret_file_exists(f, 1));
    ret_chain_ok(f);
}

static void retention_enforces_camera_bytes(void **state)
{
    ret_fixture_t *f = *state;
    retention_report_t report;

    f->cam.retention_bytes = 4500;
    assert_int_equal(catalog_camera_update(f->cat, &f->cam), 0);
    assert_int_equal(retention_run(f->cat, &f->volumes,
                                   RET_BASE_US + 10 * RET_DAY_US, &report),
                     0);
    /* 10 000 bytes down to at most 4500: the six oldest go. */
    assert_int_equal(report.deleted, 6);
    for (int d = 0; d < RET_DAYS; d++)
        assert_int_equal(ret_file_exists(f, d), d >= 6);
    ret_chain_ok(f);
}

static void retention_finishes_interrupted_deletion(void **state)
{
    ret_fixture_t *f = *state;
    catalog_recording_t row;
    int count = 0;

    /* A crash right after the row was marked garbage. */
    assert_int_equal(catalog_recording_find(f->cat, f->volume,
                                            f->rows[0].path, &row),
                     0);
    assert_int_equal(catalog_recording_set_state(f->cat, row.id,
                                                 CATALOG_REC_GARBAGE),
                     0);
    assert_int_equal(retention_finish_garbage(f->cat, &count), 0);
    assert_int_equal(count, 1);
    assert_false(ret_file_exists(f, 0));
    assert_int_equal(catalog_recording_find(f->cat, f->volume,
                                            f->rows[0].path, &row),
                     -ENOENT);
    ret_chain_ok(f);
}

static void retention_without_limits_deletes_nothing(void **state)
{
    ret_fixture_t *f = *state;
    retention_report_t report;

    assert_int_equal(retention_run(f->cat, &f->volumes,
                                   RET_BASE_US + 3650 * RET_DAY_US, &report),
                     0);
    assert_int_equal(report.deleted, 0);
    for (int d = 0; d < RET_DAYS; d++)
        assert_true(ret_file_exists(f, d));
}

static void retention_chain_detects_other_deletion(void **state)
{
    ret_fixture_t *f = *state;
    integrity_report_t report;
    catalog_recording_t row;

    /* A row removed behind retention's back breaks the chain. */
    assert_int_equal(catalog_recording_find(f->cat, f->volume,
                                            f->rows[4].path, &row),
                     0);
    assert_int_equal(catalog_recording_delete(f->cat, row.id), 0);
    assert_int_equal(integrity_verify(f->cat, f->cam.id, "main", 0,
                                      INT64_MAX, ret_count, NULL, &report),
                     0);
    assert_int_equal(report.problems, 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(retention_deletes_older_than_days,
                                        ret_setup, ret_teardown),
        cmocka_unit_test_setup_teardown(retention_keeps_held_segments,
                                        ret_setup, ret_teardown),
        cmocka_unit_test_setup_teardown(retention_enforces_camera_bytes,
                                        ret_setup, ret_teardown),
        cmocka_unit_test_setup_teardown(
            retention_finishes_interrupted_deletion, ret_setup, ret_teardown),
        cmocka_unit_test_setup_teardown(
            retention_without_limits_deletes_nothing, ret_setup,
            ret_teardown),
        cmocka_unit_test_setup_teardown(
            retention_chain_detects_other_deletion, ret_setup, ret_teardown),
    };

    return UNIT_RUN("retention", tests, NULL, NULL, argc, argv);
}
