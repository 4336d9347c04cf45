/* Tests of the segment file helpers (segment.h) on segments made by the
 * fMP4 muxer from tests/data/car-detection.mp4. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "storage/segment.h"
#include "stream_fixture.h"
#include "unit.h"

static fixture_stream_t *segment_stream;

static int segment_setup(void **state)
{
    /* 4 packets, one per fragment: a keyframe and 3 P-frames. */
    if (fixture_stream_open(FIXTURE_CLIP, 4, &segment_stream) < 0)
        return -1;
    return fixture_stream_mux(segment_stream, 1) < 0 ? -1 : 0;
}

static int segment_teardown(void **state)
{
    fixture_stream_free(segment_stream);
    return 0;
}

/* Returns a memfd holding len bytes of data. */
static int segment_memfd(const void *data, size_t len)
{
    int fd = memfd_create("segment", MFD_CLOEXEC);

    assert_true(fd >= 0);
    if (len > 0)
        assert_int_equal(write(fd, data, len), (ssize_t)len);
    return fd;
}

/* Builds init + the first count fragments into a malloc'd buffer, and
 * the offset where each part ends into ends[0..count]. */
static uint8_t *segment_build(size_t count, size_t *len, size_t *ends)
{
    const fixture_stream_t *s = segment_stream;
    size_t total = s->init->len;
    uint8_t *buf;
    size_t pos;

    for (size_t i = 0; i < count; i++)
        total += s->frags[i].data->len;
    buf = malloc(total);
    assert_non_null(buf);
    memcpy(buf, s->init->data, s->init->len);
    pos = s->init->len;
    ends[0] = pos;
    for (size_t i = 0; i < count; i++) {
        memcpy(buf + pos, s->frags[i].data->data, s->frags[i].data->len);
        pos += s->frags[i].data->len;
        ends[i + 1] = pos;
    }
    *len = total;
    return buf;
}

/* Runs segment_whole_length on data and checks the result. */
static void segment_expect(const void *data, size_t len, int rc,
                           off_t whole, int fragments)
{
    int fd = segment_memfd(data, len);
    off_t got_whole = -1;
    int got_fragments = -1;

    assert_int_equal(segment_whole_length(fd, (off_t)len, &got_whole,
                                          &got_fragments),
                     rc);
    if (rc == 0) {
        assert_int_equal(got_whole, whole);
        assert_int_equal(got_fragments, fragments);
    }
    close(fd);
}

static void segment_whole_file(void **state)
{
    size_t ends[5];
    size_t len;
    uint8_t *buf = segment_build(4, &len, ends);

    segment_expect(buf, len, 0, (off_t)len, 4);
    /* The init segment alone is whole, with no fragment. */
    segment_expect(buf, ends[0], 0, (off_t)ends[0], 0);
    free(buf);
}

static void segment_truncated_at_every_offset(void **state)
{
    size_t ends[4];
    size_t len;
    uint8_t *buf = segment_build(3, &len, ends);
    int fd = segment_memfd(buf, len);

    /* Cut the file back one byte at a time, as a crash could leave it. */
    for (size_t size = len + 1; size-- > 0;) {
        off_t whole = -1;
        int fragments = -1;
        int expect_fragments = 0;
        int rc;

        assert_int_equal(ftruncate(fd, (off_t)size), 0);
        rc = segment_whole_length(fd, (off_t)size, &whole, &fragments);
        if (size < ends[0]) {
            if (rc != -EINVAL)
                fail_msg("size %zu (init %zu): returned %d", size, ends[0],
                         rc);
            continue;
        }
        while (expect_fragments < 3 && ends[expect_fragments + 1] <= size)
            expect_fragments++;
        if (rc != 0 || fragments != expect_fragments ||
            whole != (off_t)ends[expect_fragments])
            fail_msg("size %zu: rc %d whole %lld fragments %d, expected "
                     "whole %zu fragments %d",
                     size, rc, (long long)whole, fragments,
                     ends[expect_fragments], expect_fragments);
    }
    close(fd);
    free(buf);
}

static void segment_empty_and_garbage_files(void **state)
{
    uint8_t noise[4096];
    uint32_t x = 12345;
    static const char text[] = "not an mp4 file at all\n";
    /* A well-formed box that is not ftyp. */
    static const uint8_t free_box[] = {0, 0, 0, 8, 'f', 'r', 'e', 'e'};

    for (size_t i = 0; i < sizeof(noise); i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (uint8_t)(x >> 16);
    }
    segment_expect("", 0, -EINVAL, 0, 0);
    segment_expect(noise, sizeof(noise), -EINVAL, 0, 0);
    segment_expect(text, sizeof(text) - 1, -EINVAL, 0, 0);
    segment_expect(free_box, sizeof(free_box), -EINVAL, 0, 0);
    /* ftyp followed by something other than moov. */
    size_t ends[2];
    size_t len;
    uint8_t *buf = segment_build(1, &len, ends);
    uint64_t ftyp_size;

    assert_string_equal(fixture_box_at(buf, len, 0, &ftyp_size), "ftyp");
    memcpy(buf + ftyp_size + 4, "mdat", 4);
    segment_expect(buf, len, -EINVAL, 0, 0);
    free(buf);
}

/* Appends a box of the given type and total size (payload zeroed). */
static size_t segment_put_box(uint8_t *buf, size_t pos, const char *type,
                              uint32_t size)
{
    buf[pos] = (uint8_t)(size >> 24);
    buf[pos + 1] = (uint8_t)(size >> 16);
    buf[pos + 2] = (uint8_t)(size >> 8);
    buf[pos + 3] = (uint8_t)size;
    memcpy(buf + pos + 4, type, 4);
    if (size > 8)
        memset(buf + pos + 8, 0, size - 8);
    return pos + (size >= 8 ? size : 8);
}

static void segment_box_order_rules(void **state)
{
    size_t ends[2];
    size_t len;
    uint8_t *seg = segment_build(1, &len, ends);
    uint8_t *buf = malloc(len + 256);
    size_t pos;

    assert_non_null(buf);
    memcpy(buf, seg, len);

    /* Other boxes between fragments are skipped. */
    pos = segment_put_box(buf, len, "free", 16);
    pos = segment_put_box(buf, pos, "moof", 24);
    pos = segment_put_box(buf, pos, "mdat", 40);
    segment_expect(buf, pos, 0, (off_t)pos, 2);

    /* A moof without its mdat is not whole. */
    pos = segment_put_box(buf, len, "moof", 24);
    segment_expect(buf, pos, 0, (off_t)len, 1);

    /* An mdat without a moof ends the walk. */
    pos = segment_put_box(buf, len, "mdat", 24);
    pos = segment_put_box(buf, pos, "moof", 24);
    pos = segment_put_box(buf, pos, "mdat", 24);
    segment_expect(buf, pos, 0, (off_t)len, 1);

    /* A second moov ends it too. */
    pos = segment_put_box(buf, len, "moov", 24);
    pos = segment_put_box(buf, pos, "moof", 24);
    pos = segment_put_box(buf, pos, "mdat", 24);
    segment_expect(buf, pos, 0, (off_t)len, 1);

    /* A box smaller than its header is invalid. */
    pos = segment_put_box(buf, len, "moof", 4);
    segment_expect(buf, pos, 0, (off_t)len, 1);

    /* A box longer than the file is cut off. */
    pos = segment_put_box(buf, len, "moof", 24);
    pos = segment_put_box(buf, pos, "mdat", 200);
    segment_expect(buf, pos - 200 + 100, 0, (off_t)len, 1);
    free(buf);
    free(seg);
}

static void segment_size_zero_and_large_boxes(void **state)
{
    size_t ends[2];
    size_t len;
    uint8_t *seg = segment_build(1, &len, ends);
    uint8_t *buf = malloc(len + 256);
    size_t pos;

    assert_non_null(buf);
    memcpy(buf, seg, len);

    /* Size 0: the mdat runs to the end of the file. */
    pos = segment_put_box(buf, len, "moof", 24);
    pos = segment_put_box(buf, pos, "mdat", 0) + 50;
    segment_expect(buf, pos, 0, (off_t)pos, 2);

    /* Size 1: a 64-bit size follows the type. */
    pos = segment_put_box(buf, len, "moof", 24);
    pos = segment_put_box(buf, pos, "mdat", 1);
    memset(buf + pos, 0, 8);
    buf[pos + 7] = 48;
    pos += 40;
    segment_expect(buf, pos, 0, (off_t)pos, 2);
    /* The same box cut inside its 64-bit size. */
    segment_expect(buf, pos - 40 + 4, 0, (off_t)len, 1);
    /* A 64-bit size below the 16-byte header is invalid. */
    buf[pos - 40 + 7] = 15;
    segment_expect(buf, pos, 0, (off_t)len, 1);
    free(buf);
    free(seg);
}

static void segment_path_round_trip(void **state)
{
    static const struct {
        int64_t camera;
        const char *stream;
        int64_t start_us;
        const char *path;
    } cases[] = {
        {1, "main", 1769860800123456LL,
         "1/main/2026-01-31/1769860800123456.mp4"},
        {42, "sub", 1000000, "42/sub/1970-01-01/1000000.mp4"},
        {9223372036854775807LL, "main", 951868799999999LL,
         "9223372036854775807/main/2000-02-29/951868799999999.mp4"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[256];
        char partial[300];
        char stream[8];
        int64_t camera = 0;
        int64_t start = 0;
        int is_partial = -1;

        assert_int_equal(segment_format_path(cases[i].camera,
                                             cases[i].stream,
                                             cases[i].start_us, path,
                                             sizeof(path)),
                         0);
        assert_string_equal(path, cases[i].path);
        assert_int_equal(segment_parse_path(path, &camera, stream,
                                            sizeof(stream), &start,
                                            &is_partial),
                         0);
        assert_int_equal(camera, cases[i].camera);
        assert_string_equal(stream, cases[i].stream);
        assert_int_equal(start, cases[i].start_us);
        assert_int_equal(is_partial, 0);

        snprintf(partial, sizeof(partial), "%s" SEGMENT_PARTIAL_SUFFIX,
                 path);
        assert_int_equal(segment_parse_path(partial, &camera, stream,
                                            sizeof(stream), &start,
                                            &is_partial),
                         0);
        assert_int_equal(is_partial, 1);
        assert_int_equal(start, cases[i].start_us);
    }
}

static void segment_format_path_too_long(void **state)
{
    char path[38];

    /* "1/main/2026-01-31/1769860800123456.mp4" is 38 characters. */
    assert_int_equal(segment_format_path(1, "main", 1769860800123456LL, path,
                                         sizeof(path)),
                     -ENAMETOOLONG);
    assert_int_equal(segment_format_path(1, "main", 1769860800123456LL, path,
                                         sizeof(path) - 10),
                     -ENAMETOOLONG);
}

static void segment_parse_path_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "1/main/2026-01-31/1769860800123456",
        "1/main/2026-01-31/1769860800123456.mp4.tmp",
        "1/main/2026-01-31/1769860800123456.mp4/x",
        "1/main/2026-01-31/1769860800123456.MP4",
        "0/main/1970-01-01/1000000.mp4",
        "-1/main/1970-01-01/1000000.mp4",
        "1/main/1970-01-01/0.mp4",
        "1/main/1969-12-31/-1000000.mp4",
        "1/MAIN/1970-01-01/1000000.mp4",
        "1//1970-01-01/1000000.mp4",
        "1/mainstream/1970-01-01/1000000.mp4",
        "1/main/1970-01-01/abc.mp4",
        "1/main/1970-01-01/1000000 .mp4",
        "1/main/1970-01-01/ 1000000.mp4",
        " 1/main/1970-01-01/1000000.mp4",
        "+1/main/1970-01-01/1000000.mp4",
        "01/main/1970-01-01/1000000.mp4",
        "1/main/1970-01-01/+1000000.mp4",
        "../1/main/1970-01-01/1000000.mp4",
        "/1/main/1970-01-01/1000000.mp4",
        "1/main/1970-01-01/1000000.mp4 ",
        /* The day directory must be the UTC day of the start time. */
        "1/main/1999-01-01/1000000.mp4",
        "1/main/x/1000000.mp4",
        "1/main/1970-01-01/99999999999999999999999.mp4",
        "99999999999999999999/main/1970-01-01/1000000.mp4",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char stream[8] = "";
        int64_t camera = -7;
        int64_t start = -7;
        int partial = -7;

        if (segment_parse_path(bad[i], &camera, stream, sizeof(stream),
                               &start, &partial) != -EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    }

    /* A stream name that does not fit the caller's buffer. */
    char small[4];
    int64_t camera;
    int64_t start;
    int partial;

    assert_int_equal(segment_parse_path("1/main/1970-01-01/1000000.mp4",
                                        &camera, small, sizeof(small),
                                        &start, &partial),
                     -EINVAL);
    assert_int_equal(segment_parse_path("1/sub/1970-01-01/1000000.mp4",
                                        &camera, small, sizeof(small),
                                        &start, &partial),
                     0);
    assert_string_equal(small, "sub");
}

static void segment_sha256_of_prefix(void **state)
{
    static const char text[] = "abcdef";
    char hex[65];
    int fd = segment_memfd(text, 6);

    /* SHA-256("abc") and SHA-256(""), from FIPS 180-2. */
    assert_int_equal(segment_sha256_fd(fd, 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(segment_sha256_fd(fd, 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855");
    /* Past the end of the file. */
    assert_int_equal(segment_sha256_fd(fd, 7, hex), -EIO);
    close(fd);
    assert_true(segment_sha256_fd(-1, 3, hex) < 0);
}

static void segment_probe_duration_of_real_segment(void **state)
{
    fixture_stream_t *s = NULL;
    char path[] = "/tmp/vms-test-segment-XXXXXX";
    int fd = mkstemp(path);
    int64_t duration = -1;

    assert_true(fd >= 0);
    /* One GOP of 60 frames at 12.5 fps: 4.8 s. */
    assert_int_equal(fixture_stream_open(FIXTURE_CLIP, 60, &s), 0);
    assert_int_equal(fixture_stream_mux(s, 6), 0);
    assert_int_equal(write(fd, s->init->data, s->init->len),
                     (ssize_t)s->init->len);
    for (size_t i = 0; i < s->frag_count; i++)
        assert_int_equal(write(fd, s->frags[i].data->data,
                               s->frags[i].data->len),
                         (ssize_t)s->frags[i].data->len);
    close(fd);
    assert_int_equal(segment_probe_duration(path, &duration), 0);
    assert_int_equal(duration, 4800000);

    /* The init segment alone has no sample. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, s->init->data, s->init->len),
                     (ssize_t)s->init->len);
    close(fd);
    assert_true(segment_probe_duration(path, &duration) < 0);
    assert_int_equal(duration, 0);
    unlink(path);
    assert_true(segment_probe_duration(path, &duration) < 0);
    fixture_stream_free(s);
}

static void segment_fsync_parent_dirs(void **state)
{
    char dir[] = "/tmp/vms-test-fsync-XXXXXX";
    char file[64];

    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/a.mp4", dir);
    assert_int_equal(segment_fsync_parent(file), 0);
    assert_int_equal(segment_fsync_parent("/a.mp4"), 0);
    assert_int_equal(segment_fsync_parent("/nonexistent-vms-dir/a.mp4"),
                     -ENOENT);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(segment_whole_file),
        cmocka_unit_test(segment_truncated_at_every_offset),
        cmocka_unit_test(segment_empty_and_garbage_files),
        cmocka_unit_test(segment_box_order_rules),
        cmocka_unit_test(segment_size_zero_and_large_boxes),
        cmocka_unit_test(segment_path_round_trip),
        cmocka_unit_test(segment_format_path_too_long),
        cmocka_unit_test(segment_parse_path_rejects),
        cmocka_unit_test(segment_sha256_of_prefix),
        cmocka_unit_test(segment_probe_duration_of_real_segment),
        cmocka_unit_test(segment_fsync_parent_dirs),
    };

    av_log_set_level(AV_LOG_FATAL);
    return UNIT_RUN("segment", tests, segment_setup, segment_teardown, argc,
                    argv);
}
