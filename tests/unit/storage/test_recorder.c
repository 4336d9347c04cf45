/* Tests of the segment writer (recorder.h): real fMP4 fragments of
 * tests/data/car-detection.mp4 go through a stream hub into segment
 * files on a temporary volume, indexed in a temporary catalog. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/log.h"
#include "media/hub.h"
#include "storage/recorder.h"
#include "storage/segment.h"
#include "storage/volume.h"
#include "stream_fixture.h"
#include "unit.h"

#define REC_BASE_US 1769860800000000LL /* 2026-01-31T12:00:00Z */
#define REC_CAMERA 7

static fixture_stream_t *rec_stream;

typedef struct rec_fixture {
    char dir[64];
    char volume[96];
    volume_set_t volumes;
    catalog_t *cat;
    hub_t *hub;
    recorder_t *rec;
    recorder_stream_t *rs;
} rec_fixture_t;

static int rec_group_setup(void **state)
{
    /* The whole clip, 377 frames: keyframes at 0, 4.8, 9.6 ... 28.8 s. */
    if (fixture_stream_open(FIXTURE_CLIP, 0, &rec_stream) < 0)
        return -1;
    return fixture_stream_mux(rec_stream, 6) < 0 ? -1 : 0;
}

static int rec_group_teardown(void **state)
{
    fixture_stream_free(rec_stream);
    return 0;
}

static int rec_setup(void **state)
{
    rec_fixture_t *f = calloc(1, sizeof(*f));
    char path[128];
    char err[256];

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/vms-test-recorder-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->volume, sizeof(f->volume), "%s/volume", f->dir);
    if (mkdir(f->volume, 0750) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/catalog.db", f->dir);
    if (catalog_open(path, &f->cat, err, sizeof(err)) < 0)
        return -1;
    /* An empty directory unknown to the catalog: a new volume, with no
     * reserve, that retention would start to clean above 95% use. */
    volume_set_init(&f->volumes);
    if (volume_set_add(&f->volumes, f->cat, f->volume, 0, 95, 90) < 0 ||
        f->volumes.volumes[0].state != VOLUME_OK) {
        fprintf(stderr, "volume %s: %s\n", f->volume,
                f->volumes.volumes[0].error);
        return -1;
    }
    f->hub = hub_new();
    if (!f->hub)
        return -1;
    *state = f;
    return 0;
}

static int rec_remove_entry(const char *path, const struct stat *st,
                            int flag, struct FTW *ftw)
{
    return remove(path);
}

static int rec_teardown(void **state)
{
    rec_fixture_t *f = *state;

    if (f->rs)
        recorder_detach(f->rec, f->rs);
    recorder_stop(f->rec);
    hub_free(f->hub);
    volume_set_deinit(&f->volumes);
    catalog_close(f->cat);
    nftw(f->dir, rec_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Starts the recorder on the fixture's volume and attaches the hub. */
static void rec_start(rec_fixture_t *f, int segment_seconds)
{
    recorder_config_t cfg = {
        .volumes = &f->volumes,
        .segment_seconds = segment_seconds,
        .fsync_interval_ms = 100,
    };

    assert_int_equal(recorder_start(&cfg, f->cat, &f->rec), 0);
    assert_int_equal(recorder_attach(f->rec, f->hub, REC_CAMERA, "main",
                                     &f->rs),
                     0);
}

/* Closes the open segment and waits until it is indexed. */
static void rec_detach(rec_fixture_t *f)
{
    recorder_detach(f->rec, f->rs);
    f->rs = NULL;
}

static void rec_announce(rec_fixture_t *f)
{
    hub_info_t info = {.width = 768, .height = 432};

    hub_set_init(f->hub, rec_stream->init, &info);
}

/* Publishes fixture fragments [first, end) at base_us. */
static void rec_publish(rec_fixture_t *f, size_t first, size_t end,
                        int64_t base_us)
{
    for (size_t i = first; i < end; i++) {
        hub_fragment_t *frag = fixture_hub_fragment(rec_stream, i, base_us);

        assert_non_null(frag);
        hub_publish(f->hub, frag);
        hub_fragment_unref(frag);
    }
}

/* Returns every row of the camera's main stream, ordered by start. */
static catalog_recording_t *rec_rows(rec_fixture_t *f, size_t *n)
{
    catalog_recording_t *rows = NULL;

    assert_int_equal(catalog_recording_list(f->cat, REC_CAMERA, "main", 0,
                                            INT64_MAX, &rows, n),
                     0);
    return rows;
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *rec_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    uint8_t *buf;

    if (fd < 0)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    assert_int_equal(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

/* Checks one row against its file and against the fixture fragments
 * [first, end) it must hold: same bytes, size and SHA-256, and times
 * from its first to the end of its last fragment. */
static void rec_check_row(rec_fixture_t *f, const catalog_recording_t *row,
                          size_t first, size_t end, int64_t base_us)
{
    const fixture_stream_t *s = rec_stream;
    char path[1024];
    char hex[65];
    size_t len;
    uint8_t *data;
    size_t pos;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", f->volume, row->path);
    data = rec_read_file(path, &len);
    assert_string_equal(row->volume, f->volume);
    assert_int_equal(row->bytes, (int64_t)len);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(segment_sha256_fd(fd, (off_t)len, hex), 0);
    close(fd);
    assert_string_equal(row->sha256, hex);

    /* The file is the init segment, then the fragments, unchanged; it
     * starts at a keyframe. */
    assert_true(s->frags[first].keyframe);
    assert_true(len >= s->init->len);
    assert_memory_equal(data, s->init->data, s->init->len);
    pos = s->init->len;
    for (size_t i = first; i < end; i++) {
        const vms_buf_t *frag = s->frags[i].data;

        assert_true(pos + frag->len <= len);
        assert_memory_equal(data + pos, frag->data, frag->len);
        pos += frag->len;
    }
    assert_int_equal(pos, len);
    free(data);

    assert_int_equal(row->start_us, base_us + s->frags[first].start_us);
    assert_int_equal(row->end_us, base_us + s->frags[end - 1].start_us +
                                      s->frags[end - 1].duration_us);
    /* The name is the one segment_format_path() gives for the start. */
    char expected[256];
    assert_int_equal(segment_format_path(REC_CAMERA, "main", row->start_us,
                                         expected, sizeof(expected)),
                     0);
    assert_string_equal(row->path, expected);
}

/* Returns the indexes of the keyframe fragments in keys (up to max);
 * returns how many there are. */
static size_t rec_keyframes(size_t *keys, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < rec_stream->frag_count && n < max; i++)
        if (rec_stream->frags[i].keyframe)
            keys[n++] = i;
    return n;
}

/* Counts the files under dir whose name ends in suffix. */
static int rec_count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int count = 0;

    if (!d)
        return 0;
    while ((de = readdir(d))) {
        char child[1024];
        size_t len = strlen(de->d_name);

        if (de->d_name[0] == '.')
            continue;
        snprintf(child, sizeof(child), "%s/%s", dir, de->d_name);
        if (de->d_type == DT_DIR)
            count += rec_count_files(child, suffix);
        else if (len >= strlen(suffix) &&
                 strcmp(de->d_name + len - strlen(suffix), suffix) == 0)
            count++;
    }
    closedir(d);
    return count;
}

static void recorder_segments_match_catalog(void **state)
{
    rec_fixture_t *f = *state;
    size_t keys[16];
    size_t nkeys = rec_keyframes(keys, 16);
    catalog_recording_t *rows;
    recorder_stats_t stats;
    size_t n;

    assert_int_equal(nkeys, 7);
    /* With 2 s segments, each keyframe (every 4.8 s) starts a file. */
    rec_start(f, 2);
    rec_announce(f);
    rec_publish(f, 0, rec_stream->frag_count, REC_BASE_US);
    rec_detach(f);

    rows = rec_rows(f, &n);
    assert_int_equal(n, nkeys);
    for (size_t i = 0; i < n; i++) {
        size_t end = i + 1 < nkeys ? keys[i + 1] : rec_stream->frag_count;

        rec_check_row(f, &rows[i], keys[i], end, REC_BASE_US);
    }
    free(rows);
    assert_int_equal(rec_count_files(f->volume, ".mp4"), (int)nkeys);
    assert_int_equal(rec_count_files(f->volume, SEGMENT_PARTIAL_SUFFIX), 0);
    recorder_get_stats(f->rec, &stats);
    assert_int_equal(stats.segments, nkeys);
    assert_int_equal(stats.dropped, 0);
    assert_int_equal(stats.write_errors, 0);
    assert_int_equal(stats.queue_bytes, 0);
}

static void recorder_rolls_after_segment_seconds(void **state)
{
    rec_fixture_t *f = *state;
    size_t keys[16];
    catalog_recording_t *rows;
    size_t n;

    rec_keyframes(keys, 16);
    /* 10 s segments roll at the first keyframe 10 s after the start:
     * 14.4 s (not 9.6 s) and 28.8 s. */
    rec_start(f, 10);
    rec_announce(f);
    rec_publish(f, 0, rec_stream->frag_count, REC_BASE_US);
    rec_detach(f);
    rows = rec_rows(f, &n);
    assert_int_equal(n, 3);
    rec_check_row(f, &rows[0], keys[0], keys[3], REC_BASE_US);
    rec_check_row(f, &rows[1], keys[3], keys[6], REC_BASE_US);
    rec_check_row(f, &rows[2], keys[6], rec_stream->frag_count,
                  REC_BASE_US);
    free(rows);
}

static void recorder_starts_files_at_keyframes(void **state)
{
    rec_fixture_t *f = *state;
    size_t keys[16];
    catalog_recording_t *rows;
    size_t n;

    rec_keyframes(keys, 16);
    /* The recorder joins mid-GOP: the fragments before the second
     * keyframe are not recorded, because no file may start without
     * one. */
    rec_start(f, 60);
    rec_announce(f);
    rec_publish(f, keys[0] + 2, keys[2], REC_BASE_US);
    rec_detach(f);
    rows = rec_rows(f, &n);
    assert_int_equal(n, 1);
    rec_check_row(f, &rows[0], keys[1], keys[2], REC_BASE_US);
    free(rows);
}

/* Waits up to 10 s until the recorder has closed count segments. */
static void rec_wait_segments(rec_fixture_t *f, uint64_t count)
{
    recorder_stats_t stats;

    for (int i = 0; i < 1000; i++) {
        recorder_get_stats(f->rec, &stats);
        if (stats.segments >= count)
            return;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    fail_msg("%llu segments closed after 10 s, expected %llu",
             (unsigned long long)stats.segments,
             (unsigned long long)count);
}

static void recorder_closes_at_new_generation(void **state)
{
    rec_fixture_t *f = *state;
    size_t keys[16];
    int64_t second_base = REC_BASE_US + 600 * 1000000LL;
    vms_buf_t *old_init;
    catalog_recording_t *rows;
    size_t n;

    rec_keyframes(keys, 16);
    rec_start(f, 60);
    rec_announce(f);
    rec_publish(f, keys[0], keys[0] + 5, REC_BASE_US);

    /* The camera reconnects with a new init segment, ten minutes
     * later. The open file closes and a new one starts. */
    hub_set_inactive(f->hub);
    rec_wait_segments(f, 1);
    rows = rec_rows(f, &n);
    assert_int_equal(n, 1);
    rec_check_row(f, &rows[0], keys[0], keys[0] + 5, REC_BASE_US);
    free(rows);

    old_init = vms_buf_ref(rec_stream->init);
    assert_int_equal(fixture_stream_mux(rec_stream, 6), 0);
    assert_ptr_not_equal(rec_stream->init, old_init);
    rec_announce(f);
    rec_publish(f, keys[0], keys[0] + 3, second_base);
    /* A new init segment without an end of stream: the first fragment
     * of the new generation closes the file. */
    assert_int_equal(fixture_stream_mux(rec_stream, 6), 0);
    rec_announce(f);
    rec_publish(f, keys[1], keys[1] + 2, second_base);
    rec_detach(f);

    rows = rec_rows(f, &n);
    assert_int_equal(n, 3);
    assert_int_equal(rows[1].start_us, second_base);
    assert_int_equal(rows[2].start_us,
                     second_base + rec_stream->frags[keys[1]].start_us);
    rec_check_row(f, &rows[2], keys[1], keys[1] + 2, second_base);
    free(rows);
    vms_buf_unref(old_init);
}

static void recorder_drops_empty_segment(void **state)
{
    rec_fixture_t *f = *state;
    catalog_recording_t *rows;
    size_t n;

    /* Only non-keyframe fragments: no file is opened or indexed. */
    rec_start(f, 60);
    rec_announce(f);
    rec_publish(f, 1, 5, REC_BASE_US);
    hub_set_inactive(f->hub);
    rec_detach(f);
    rows = rec_rows(f, &n);
    assert_int_equal(n, 0);
    free(rows);
    assert_int_equal(rec_count_files(f->volume, ".mp4"), 0);
    assert_int_equal(rec_count_files(f->volume, SEGMENT_PARTIAL_SUFFIX), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(recorder_segments_match_catalog,
                                        rec_setup, rec_teardown),
        cmocka_unit_test_setup_teardown(recorder_rolls_after_segment_seconds,
                                        rec_setup, rec_teardown),
        cmocka_unit_test_setup_teardown(recorder_starts_files_at_keyframes,
                                        rec_setup, rec_teardown),
        cmocka_unit_test_setup_teardown(recorder_closes_at_new_generation,
                                        rec_setup, rec_teardown),
        cmocka_unit_test_setup_teardown(recorder_drops_empty_segment,
                                        rec_setup, rec_teardown),
    };

    vms_log_threshold = VMS_LOG_WARN;
    return UNIT_RUN("recorder", tests, rec_group_setup, rec_group_teardown,
                    argc, argv);
}
