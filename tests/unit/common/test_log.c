/* Tests of the logger: URL redaction, level names, the level check and
 * repeat counting. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "unit.h"

/* Fails the test unless url redacts to expected. */
static void test_redact(const char *url, const char *expected)
{
    char out[512];

    vms_log_redact_url(url, out, sizeof(out));
    if (strcmp(out, expected) != 0)
        fail_msg("redact(\"%s\") = \"%s\", expected \"%s\"",
                 url ? url : "NULL", out, expected);
}

static void log_redacts_user_and_password(void **state)
{
    test_redact("rtsp://admin:s3cr3t@cam.example:554/Streaming/101",
                "rtsp://***@cam.example:554/Streaming/101");
    test_redact("rtsp://admin@cam.example/live", "rtsp://***@cam.example/live");
    test_redact("rtsp://:s3cr3t@cam.example/", "rtsp://***@cam.example/");
    test_redact("rtsp://admin:s3cr3t@cam.example",
                "rtsp://***@cam.example");
}

static void log_redacts_password_with_at_sign(void **state)
{
    test_redact("rtsp://admin:p@ss@word@cam.example/live",
                "rtsp://***@cam.example/live");
    test_redact("rtsp://admin:p%40ss@cam.example/live",
                "rtsp://***@cam.example/live");
}

static void log_redacts_rtsps_and_other_schemes(void **state)
{
    test_redact("rtsps://viewer:s3cr3t@[::1]:322/main",
                "rtsps://***@[::1]:322/main");
    test_redact("http://u:p@127.0.0.1:8080/x?y=1",
                "http://***@127.0.0.1:8080/x?y=1");
    /* Without a scheme the whole string is the authority. */
    test_redact("u:p@cam.example/x", "***@cam.example/x");
}

static void log_keeps_url_without_credentials(void **state)
{
    test_redact("rtsp://cam.example:554/live", "rtsp://cam.example:554/live");
    test_redact("rtsps://cam.example", "rtsps://cam.example");
    test_redact("", "");
    /* An '@' in the path is not a credential separator. */
    test_redact("rtsp://cam.example/path@1", "rtsp://cam.example/path@1");
}

static void log_redacts_password_with_slash(void **state)
{
    test_redact("rtsp://u:pa/ss@cam.example/live", "rtsp://***@cam.example/live");
    test_redact("rtsp://u:p@ss/w@cam.example/", "rtsp://***@cam.example/");
}

static void log_redacts_null_url(void **state)
{
    test_redact(NULL, "(none)");
}

static void log_redaction_truncates_safely(void **state)
{
    static const char url[] = "rtsp://admin:s3cr3t@cam.example/live";
    char out[64];

    for (size_t len = 1; len < sizeof(out); len++) {
        memset(out, 'Z', sizeof(out));
        vms_log_redact_url(url, out, len);
        assert_true(memchr(out, '\0', len) != NULL);
        assert_int_equal(out[len], 'Z');
        assert_null(strstr(out, "s3cr3t"));
        assert_null(strstr(out, "admin"));
    }
    /* A zero-length buffer is not written at all. */
    memset(out, 'Z', sizeof(out));
    vms_log_redact_url(url, out, 0);
    assert_int_equal(out[0], 'Z');
}

static void log_parses_levels(void **state)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    static const vms_log_level_t levels[] = {VMS_LOG_ERROR, VMS_LOG_WARN,
                                             VMS_LOG_INFO, VMS_LOG_DEBUG};

    for (int i = 0; i < 4; i++) {
        vms_log_level_t level = (vms_log_level_t)-1;

        assert_int_equal(vms_log_parse_level(names[i], &level), 0);
        assert_int_equal(level, levels[i]);
    }
}

static void log_rejects_unknown_levels(void **state)
{
    static const char *const bad[] = {"", "ERROR", "Warn", "warning",
                                      "info ", " info", "trace", "3",
                                      "debugx"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vms_log_level_t level = VMS_LOG_WARN;

        assert_int_equal(vms_log_parse_level(bad[i], &level), -EINVAL);
        assert_int_equal(level, VMS_LOG_WARN);
    }
}

static int log_argument_evaluations;

static int log_count_evaluation(void)
{
    return ++log_argument_evaluations;
}

/* Runs fn with stderr sent to a temporary file and returns what was
 * written (malloc'd, NUL-terminated). */
static char *log_capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/vms-test-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(STDERR_FILENO);
    char *text = calloc(1, 65536);
    ssize_t n;

    assert_true(fd >= 0);
    assert_true(saved >= 0);
    assert_non_null(text);
    unlink(path);
    fflush(stderr);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    fn();
    fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    n = pread(fd, text, 65535, 0);
    assert_true(n >= 0);
    close(fd);
    return text;
}

static void log_write_levels(void)
{
    vms_log_threshold = VMS_LOG_WARN;
    vms_log(VMS_LOG_DEBUG, "test", "n=%d", log_count_evaluation());
    vms_log(VMS_LOG_INFO, "test", "n=%d", log_count_evaluation());
    vms_log(VMS_LOG_WARN, "test", "n=%d", log_count_evaluation());
    vms_log(VMS_LOG_ERROR, "test", "n=%d", log_count_evaluation());
    vms_log_threshold = VMS_LOG_INFO;
}

static void log_skips_disabled_levels(void **state)
{
    char *text;

    log_argument_evaluations = 0;
    text = log_capture_stderr(log_write_levels);
    /* Only the warn and error calls evaluated their arguments. */
    assert_int_equal(log_argument_evaluations, 2);
    assert_non_null(strstr(text, "level=warn component=test n=1"));
    assert_non_null(strstr(text, "level=error component=test n=2"));
    assert_null(strstr(text, "level=info component=test"));
    assert_null(strstr(text, "level=debug"));
    free(text);
}

static void log_write_repeats(void)
{
    for (int i = 0; i < 5; i++)
        vms_log_write(VMS_LOG_ERROR, "repeat", "event=same");
    vms_log_write(VMS_LOG_ERROR, "repeat", "event=other");
}

static void log_counts_repeated_lines(void **state)
{
    char *text = log_capture_stderr(log_write_repeats);
    const char *first = strstr(text, "event=same");
    const char *note = strstr(text, "component=log repeated=4");
    const char *other = strstr(text, "event=other");

    assert_non_null(first);
    assert_non_null(note);
    assert_non_null(other);
    /* The line appears once, then the count, then the next line. */
    assert_null(strstr(first + 1, "event=same"));
    assert_true(first < note);
    assert_true(note < other);
    free(text);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_redacts_user_and_password),
        cmocka_unit_test(log_redacts_password_with_at_sign),
        cmocka_unit_test(log_redacts_rtsps_and_other_schemes),
        cmocka_unit_test(log_keeps_url_without_credentials),
        cmocka_unit_test(log_redacts_null_url),
        cmocka_unit_test(log_redacts_password_with_slash),
        cmocka_unit_test(log_redaction_truncates_safely),
        cmocka_unit_test(log_parses_levels),
        cmocka_unit_test(log_rejects_unknown_levels),
        cmocka_unit_test(log_skips_disabled_levels),
        cmocka_unit_test(log_counts_repeated_lines),
    };

    return UNIT_RUN("log", tests, NULL, NULL, argc, argv);
}
