/* Tests of the SQLite catalog (catalog.h), each on a new database in a
 * temporary directory. */
#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "unit.h"

typedef struct catalog_fixture {
    char dir[64];
    char path[128];
    catalog_t *cat;
} catalog_fixture_t;

static int catalog_setup(void **state)
{
    catalog_fixture_t *f = calloc(1, sizeof(*f));
    char err[256];

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/vms-test-catalog-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/catalog.db", f->dir);
    if (catalog_open(f->path, &f->cat, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int catalog_remove_entry(const char *path, const struct stat *st,
                                int flag, struct FTW *ftw)
{
    return remove(path);
}

static int catalog_teardown(void **state)
{
    catalog_fixture_t *f = *state;

    catalog_close(f->cat);
    nftw(f->dir, catalog_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Reads PRAGMA user_version with sqlite3 directly. */
static int catalog_user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int version = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
                                        NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return version;
}

static void catalog_migrations_applied_once(void **state)
{
    catalog_fixture_t *f = *state;
    catalog_camera_t cam = {0};
    catalog_camera_t got;
    int version = catalog_schema_version(f->cat);
    char err[256];

    assert_true(version >= 1);
    snprintf(cam.name, sizeof(cam.name), "gate");
    snprintf(cam.main_url, sizeof(cam.main_url), "rtsp://cam.example/1");
    assert_int_equal(catalog_camera_insert(f->cat, &cam), 0);
    catalog_close(f->cat);
    f->cat = NULL;
    assert_int_equal(catalog_user_version(f->path), version);

    /* Reopening runs no migration again: the version stays and the
     * data is kept. */
    assert_int_equal(catalog_open(f->path, &f->cat, err, sizeof(err)), 0);
    assert_int_equal(catalog_schema_version(f->cat), version);
    assert_int_equal(catalog_camera_get(f->cat, cam.id, &got), 0);
    assert_string_equal(got.name, "gate");
    catalog_close(f->cat);
    f->cat = NULL;
    assert_int_equal(catalog_user_version(f->path), version);
    assert_int_equal(catalog_open(f->path, &f->cat, err, sizeof(err)), 0);
}

static void catalog_rejects_newer_schema(void **state)
{
    catalog_fixture_t *f = *state;
    catalog_t *cat = (catalog_t *)f;
    sqlite3 *db = NULL;
    char err[256] = "";

    catalog_close(f->cat);
    f->cat = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(catalog_open(f->path, &cat, err, sizeof(err)),
                     -EPROTO);
    assert_null(cat);
    assert_non_null(strstr(err, "999"));
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, "restore a backup"));
    /* The database is left as it was. */
    assert_int_equal(catalog_user_version(f->path), 999);
}

static void catalog_open_fails_in_missing_dir(void **state)
{
    catalog_t *cat = (catalog_t *)state;
    char err[512] = "";
    int rc = catalog_open("/nonexistent-vms-dir/sub/catalog.db", &cat, err,
                          sizeof(err));

    assert_true(rc < 0);
    assert_null(cat);
    assert_non_null(strstr(err, "/nonexistent-vms-dir/sub/catalog.db"));
    catalog_close(NULL);
}

/* Fills a camera with distinct values derived from n. */
static void catalog_make_camera(catalog_camera_t *cam, int n)
{
    memset(cam, 0, sizeof(*cam));
    snprintf(cam->name, sizeof(cam->name), "camera %d", n);
    snprintf(cam->main_url, sizeof(cam->main_url),
             "rtsp://cam%d.example/main", n);
    snprintf(cam->sub_url, sizeof(cam->sub_url), "rtsp://cam%d.example/sub",
             n);
    snprintf(cam->username, sizeof(cam->username), "user%d", n);
    snprintf(cam->password, sizeof(cam->password), "p@ss'%d\"", n);
    snprintf(cam->transport, sizeof(cam->transport), "%s",
             n % 2 ? "udp" : "tcp");
    cam->enabled = n % 3 != 0;
}

static void catalog_assert_camera_equal(const catalog_camera_t *a,
                                        const catalog_camera_t *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->main_url, b->main_url);
    assert_string_equal(a->sub_url, b->sub_url);
    assert_string_equal(a->username, b->username);
    assert_string_equal(a->password, b->password);
    assert_string_equal(a->transport, b->transport);
    assert_int_equal(a->enabled, b->enabled);
}

static void catalog_camera_crud(void **state)
{
    catalog_fixture_t *f = *state;
    catalog_camera_t cams[3];
    catalog_camera_t got;
    catalog_camera_t *list = NULL;
    size_t n = 99;

    assert_int_equal(catalog_camera_list(f->cat, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);

    for (int i = 0; i < 3; i++) {
        catalog_make_camera(&cams[i], i + 1);
        assert_int_equal(catalog_camera_insert(f->cat, &cams[i]), 0);
        assert_true(cams[i].id > 0);
        if (i > 0)
            assert_true(cams[i].id > cams[i - 1].id);
    }
    assert_int_equal(catalog_camera_get(f->cat, cams[1].id, &got), 0);
    catalog_assert_camera_equal(&got, &cams[1]);

    /* Update replaces every field. */
    catalog_make_camera(&got, 7);
    got.id = cams[1].id;
    assert_int_equal(catalog_camera_update(f->cat, &got), 0);
    cams[1] = got;
    assert_int_equal(catalog_camera_get(f->cat, cams[1].id, &got), 0);
    catalog_assert_camera_equal(&got, &cams[1]);

    assert_int_equal(catalog_camera_list(f->cat, &list, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        catalog_assert_camera_equal(&list[i], &cams[i]);
    free(list);

    assert_int_equal(catalog_camera_delete(f->cat, cams[0].id), 0);
    assert_int_equal(catalog_camera_list(f->cat, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, cams[1].id);
    free(list);
}

static void catalog_camera_default_transport(void **state)
{
    catalog_fixture_t *f = *state;
    catalog_camera_t cam;
    catalog_camera_t got;

    catalog_make_camera(&cam, 2);
    cam.transport[0] = '\0';
    assert_int_equal(catalog_camera_insert(f->cat, &cam), 0);
    assert_int_equal(catalog_camera_get(f->cat, cam.id, &got), 0);
    assert_string_equal(got.transport, "tcp");
}

static void catalog_missing_camera_enoent(void **state)
{
    catalog_fixture_t *f = *state;
    catalog_camera_t cam;
    catalog_camera_t got;

    catalog_make_camera(&cam, 1);
    assert_int_equal(catalog_camera_get(f->cat, 1, &got), -ENOENT);
    cam.id = 1;
    assert_int_equal(catalog_camera_update(f->cat, &cam), -ENOENT);
    assert_int_equal(catalog_camera_delete(f->cat, 1), -ENOENT);

    assert_int_equal(catalog_camera_insert(f->cat, &cam), 0);
    assert_int_equal(catalog_camera_delete(f->cat, cam.id), 0);
    assert_int_equal(catalog_camera_delete(f->cat, cam.id), -ENOENT);
    assert_int_equal(catalog_camera_get(f->cat, cam.id, &got), -ENOENT);
    assert_int_equal(catalog_camera_update(f->cat, &cam), -ENOENT);
    assert_int_equal(catalog_recording_delete(f->cat, 12345), -ENOENT);
}

/* Inserts a recording row of camera_id's stream on volume. */
static int64_t catalog_add_recording(catalog_t *cat, int64_t camera_id,
                                     const char *stream, const char *volume,
                                     int64_t start_us, int64_t end_us)
{
    catalog_recording_t rec = {.camera_id = camera_id,
                               .start_us = start_us,
                               .end_us = end_us,
                               .bytes = end_us - start_us};

    snprintf(rec.stream, sizeof(rec.stream), "%s", stream);
    snprintf(rec.volume, sizeof(rec.volume), "%s", volume);
    snprintf(rec.path, sizeof(rec.path), "%lld/%s/%lld.mp4",
             (long long)camera_id, stream, (long long)start_us);
    memset(rec.sha256, 'a', 64);
    assert_int_equal(catalog_recording_insert(cat, &rec), 0);
    assert_true(rec.id > 0);
    return rec.id;
}

/* Fails unless the list of [from, to) is exactly the rows starting at
 * the expected times, in order. */
static void catalog_expect_list(catalog_t *cat, int64_t from, int64_t to,
                                const int64_t *starts, size_t count)
{
    catalog_recording_t *rows = NULL;
    size_t n = 99;

    assert_int_equal(catalog_recording_list(cat, 1, "main", from, to, &rows,
                                            &n),
                     0);
    if (n != count)
        fail_msg("[%lld, %lld): %zu rows, expected %zu", (long long)from,
                 (long long)to, n, count);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].start_us, starts[i]);
        assert_int_equal(rows[i].camera_id, 1);
        assert_string_equal(rows[i].stream, "main");
    }
    free(rows);
}

static void catalog_lists_recordings_by_overlap(void **state)
{
    catalog_fixture_t *f = *state;

    /* Inserted out of order; the list is ordered by start time. */
    catalog_add_recording(f->cat, 1, "main", "/v", 30, 40);
    catalog_add_recording(f->cat, 1, "main", "/v", 0, 10);
    catalog_add_recording(f->cat, 1, "main", "/w", 10, 20);
    catalog_add_recording(f->cat, 1, "sub", "/v", 0, 40);
    catalog_add_recording(f->cat, 2, "main", "/v", 0, 40);

    catalog_expect_list(f->cat, 0, 100, (int64_t[]){0, 10, 30}, 3);
    catalog_expect_list(f->cat, 5, 15, (int64_t[]){0, 10}, 2);
    /* The range is half-open on both sides: touching is no overlap. */
    catalog_expect_list(f->cat, 20, 30, NULL, 0);
    catalog_expect_list(f->cat, 10, 11, (int64_t[]){10}, 1);
    catalog_expect_list(f->cat, 9, 10, (int64_t[]){0}, 1);
    catalog_expect_list(f->cat, 19, 31, (int64_t[]){10, 30}, 2);
    catalog_expect_list(f->cat, 40, 50, NULL, 0);
    catalog_expect_list(f->cat, -10, 0, NULL, 0);
    catalog_expect_list(f->cat, 35, 36, (int64_t[]){30}, 1);
}

static void catalog_recording_unique_volume_path(void **state)
{
    catalog_fixture_t *f = *state;
    catalog_recording_t rec = {.camera_id = 1, .start_us = 1, .end_us = 2};
    catalog_recording_t got;
    catalog_recording_t *rows = NULL;
    size_t n = 0;

    snprintf(rec.stream, sizeof(rec.stream), "main");
    snprintf(rec.volume, sizeof(rec.volume), "/v");
    snprintf(rec.path, sizeof(rec.path), "1/main/1970-01-01/1.mp4");
    snprintf(rec.sha256, sizeof(rec.sha256), "%064d", 0);
    assert_int_equal(catalog_recording_insert(f->cat, &rec), 0);
    int64_t first_id = rec.id;

    assert_int_equal(catalog_recording_insert(f->cat, &rec), -EEXIST);
    /* The same path on another volume is another file. */
    snprintf(rec.volume, sizeof(rec.volume), "/w");
    assert_int_equal(catalog_recording_insert(f->cat, &rec), 0);
    assert_true(rec.id != first_id);

    assert_int_equal(catalog_recording_find(f->cat, "/v",
                                            "1/main/1970-01-01/1.mp4", &got),
                     0);
    assert_int_equal(got.id, first_id);
    assert_string_equal(got.sha256, rec.sha256);
    assert_int_equal(got.end_us, 2);
    assert_int_equal(catalog_recording_find(f->cat, "/x",
                                            "1/main/1970-01-01/1.mp4", &got),
                     -ENOENT);
    assert_int_equal(catalog_recording_find(f->cat, "/v", "missing.mp4",
                                            &got),
                     -ENOENT);

    assert_int_equal(catalog_recording_list_volume(f->cat, "/v", &rows, &n),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, first_id);
    free(rows);

    /* After a delete the path can be indexed again. */
    assert_int_equal(catalog_recording_delete(f->cat, first_id), 0);
    assert_int_equal(catalog_recording_delete(f->cat, first_id), -ENOENT);
    snprintf(rec.volume, sizeof(rec.volume), "/v");
    assert_int_equal(catalog_recording_insert(f->cat, &rec), 0);
}

static void catalog_recordings_outlive_camera(void **state)
{
    catalog_fixture_t *f = *state;
    catalog_camera_t cam;
    catalog_recording_t *rows = NULL;
    size_t n = 0;

    catalog_make_camera(&cam, 1);
    assert_int_equal(catalog_camera_insert(f->cat, &cam), 0);
    catalog_add_recording(f->cat, cam.id, "main", "/v", 0, 10);
    assert_int_equal(catalog_camera_delete(f->cat, cam.id), 0);
    assert_int_equal(catalog_recording_list(f->cat, cam.id, "main", 0, 10,
                                            &rows, &n),
                     0);
    assert_int_equal(n, 1);
    free(rows);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(catalog_migrations_applied_once,
                                        catalog_setup, catalog_teardown),
        cmocka_unit_test_setup_teardown(catalog_rejects_newer_schema,
                                        catalog_setup, catalog_teardown),
        cmocka_unit_test_setup_teardown(catalog_open_fails_in_missing_dir,
                                        catalog_setup, catalog_teardown),
        cmocka_unit_test_setup_teardown(catalog_camera_crud, catalog_setup,
                                        catalog_teardown),
        cmocka_unit_test_setup_teardown(catalog_camera_default_transport,
                                        catalog_setup, catalog_teardown),
        cmocka_unit_test_setup_teardown(catalog_missing_camera_enoent,
                                        catalog_setup, catalog_teardown),
        cmocka_unit_test_setup_teardown(catalog_lists_recordings_by_overlap,
                                        catalog_setup, catalog_teardown),
        cmocka_unit_test_setup_teardown(catalog_recording_unique_volume_path,
                                        catalog_setup, catalog_teardown),
        cmocka_unit_test_setup_teardown(catalog_recordings_outlive_camera,
                                        catalog_setup, catalog_teardown),
    };

    return UNIT_RUN("catalog", tests, NULL, NULL, argc, argv);
}
