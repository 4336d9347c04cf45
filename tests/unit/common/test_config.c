/* Tests of the configuration parser (vms_config_parse, vms_config_load)
 * and of vms_config_host_is_loopback. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "unit.h"

/* Parses text over the defaults; returns the result and leaves the
 * message in err. */
static int test_parse(vms_config_t *cfg, const char *text, char *err,
                      size_t errlen)
{
    vms_config_defaults(cfg);
    err[0] = '\0';
    return vms_config_parse(cfg, text, strlen(text), err, errlen);
}

static void config_defaults(void **state)
{
    vms_config_t cfg;

    vms_config_defaults(&cfg);
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_string_equal(cfg.data_dir, "/var/lib/vms");
    assert_int_equal(cfg.volume_count, 0);
    assert_int_equal(cfg.segment_seconds, 60);
    assert_string_equal(cfg.web_root, "/usr/share/vms/web");
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.retry_max_seconds, 10);
    assert_int_equal(cfg.fsync_interval_ms, 1000);
    assert_int_equal(cfg.volume_reserve_mb, 1024);
    assert_int_equal(cfg.volume_high_percent, 95);
    assert_int_equal(cfg.volume_low_percent, 90);
    assert_int_equal(cfg.retention_interval_seconds, 10);
}

static void config_empty_text_keeps_defaults(void **state)
{
    vms_config_t cfg;
    vms_config_t defaults;
    char err[256];

    assert_int_equal(test_parse(&cfg, "", err, sizeof(err)), 0);
    vms_config_defaults(&defaults);
    assert_memory_equal(&cfg, &defaults, sizeof(cfg));
    assert_int_equal(test_parse(&cfg, "\n\n   \n\t\n", err, sizeof(err)),
                     0);
    assert_memory_equal(&cfg, &defaults, sizeof(cfg));
}

static void config_every_key(void **state)
{
    static const char text[] =
        "listen = 0.0.0.0:9000\n"
        "data_dir = /srv/vms/data\n"
        "volume = /srv/vms/a\n"
        "volume = /srv/vms/b\n"
        "segment_seconds = 120\n"
        "web_root = /opt/vms/web\n"
        "log_level = debug\n"
        "retry_max_seconds = 30\n"
        "fsync_interval_ms = 250\n"
        "volume_reserve_mb = 0\n"
        "volume_high_percent = 80\n"
        "volume_low_percent = 70\n"
        "retention_interval_seconds = 86400\n";
    vms_config_t cfg;
    char err[256];

    assert_int_equal(test_parse(&cfg, text, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 9000);
    assert_string_equal(cfg.data_dir, "/srv/vms/data");
    assert_int_equal(cfg.volume_count, 2);
    assert_string_equal(cfg.volumes[0], "/srv/vms/a");
    assert_string_equal(cfg.volumes[1], "/srv/vms/b");
    assert_int_equal(cfg.segment_seconds, 120);
    assert_string_equal(cfg.web_root, "/opt/vms/web");
    assert_string_equal(cfg.log_level, "debug");
    assert_int_equal(cfg.retry_max_seconds, 30);
    assert_int_equal(cfg.fsync_interval_ms, 250);
    assert_int_equal(cfg.volume_reserve_mb, 0);
    assert_int_equal(cfg.volume_high_percent, 80);
    assert_int_equal(cfg.volume_low_percent, 70);
    assert_int_equal(cfg.retention_interval_seconds, 86400);
}

static void config_comments_and_spaces(void **state)
{
    static const char text[] =
        "# a full-line comment\n"
        "   # an indented comment\n"
        "\tlisten\t=\t127.0.0.1:8081\t# trailing comment\n"
        "segment_seconds=30#no spaces\n"
        "log_level =warn   \r\n"
        "data_dir = /data  \n"
        "volume = /last/line/without/newline";
    vms_config_t cfg;
    char err[256];

    assert_int_equal(test_parse(&cfg, text, err, sizeof(err)), 0);
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8081);
    assert_int_equal(cfg.segment_seconds, 30);
    /* "\r" is white space, so CRLF files parse like LF files. */
    assert_string_equal(cfg.log_level, "warn");
    assert_string_equal(cfg.data_dir, "/data");
    assert_int_equal(cfg.volume_count, 1);
    assert_string_equal(cfg.volumes[0], "/last/line/without/newline");
}

static void config_listen_forms(void **state)
{
    vms_config_t cfg;
    char err[256];

    assert_int_equal(test_parse(&cfg, "listen = [::1]:8443", err,
                                sizeof(err)), 0);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 8443);

    assert_int_equal(test_parse(&cfg, "listen = localhost:1", err,
                                sizeof(err)), 0);
    assert_string_equal(cfg.listen_host, "localhost");
    assert_int_equal(cfg.listen_port, 1);

    assert_int_equal(test_parse(&cfg, "listen = 127.0.0.1:65535", err,
                                sizeof(err)), 0);
    assert_int_equal(cfg.listen_port, 65535);
}

/* One rejected input: the text, and the substrings its message must
 * contain (the line, the key or value, and the expected form). */
typedef struct config_reject_case {
    const char *text;
    const char *needles[3];
} config_reject_case_t;

static const config_reject_case_t config_reject_cases[] = {
    {"bogus = 1", {"line 1", "unknown key 'bogus'", "expected listen"}},
    {"\n\nlisten = 127.0.0.1", {"line 3", "'127.0.0.1'", "host:port"}},
    {"listen = :8080", {"line 1", "invalid listen", "host:port"}},
    {"listen = 127.0.0.1:0", {"line 1", "'127.0.0.1:0'", "host:port"}},
    {"listen = 127.0.0.1:65536", {"line 1", "65536", "host:port"}},
    {"listen = 127.0.0.1:80x", {"line 1", "80x", "host:port"}},
    {"listen = [::1:80", {"line 1", "[::1:80", "host:port"}},
    {"listen = []:80", {"line 1", "[]:80", "host:port"}},
    {"segment_seconds = 1", {"line 1", "segment_seconds '1'", "2 to 3600"}},
    {"segment_seconds = 3601", {"line 1", "'3601'", "2 to 3600"}},
    {"segment_seconds = ten", {"line 1", "'ten'", "2 to 3600"}},
    {"segment_seconds = ", {"line 1", "segment_seconds ''", "2 to 3600"}},
    {"segment_seconds = 99999999999999999999",
     {"line 1", "99999999999999999999", "2 to 3600"}},
    {"retry_max_seconds = 0", {"line 1", "retry_max_seconds", "1 to 3600"}},
    {"fsync_interval_ms = 9", {"line 1", "fsync_interval_ms", "10 to 60000"}},
    {"fsync_interval_ms = 60001", {"line 1", "'60001'", "10 to 60000"}},
    {"volume_reserve_mb = -1", {"line 1", "volume_reserve_mb '-1'", "0 to"}},
    {"volume_high_percent = 100", {"line 1", "'100'", "2 to 99"}},
    {"volume_low_percent = 0", {"line 1", "volume_low_percent", "1 to 98"}},
    {"retention_interval_seconds = 86401", {"line 1", "'86401'", "1 to 86400"}},
    {"log_level = verbose", {"line 1", "'verbose'", "error, warn, info"}},
    {"log_level = INFO", {"line 1", "'INFO'", "debug"}},
    {"data_dir =", {"line 1", "invalid data_dir ''", "1 to 511 bytes"}},
    {"web_root = ", {"line 1", "invalid web_root", "1 to 511 bytes"}},
    {"volume = ", {"line 1", "invalid volume ''", "path"}},
    {"no equals sign here", {"line 1", "expected 'key = value'", "found"}},
    {"# ok\nlisten = 1.2.3.4:80\nlisten",
     {"line 3", "'listen'", "key = value"}},
};

static void config_rejects_bad_values(void **state)
{
    for (size_t i = 0; i < sizeof(config_reject_cases) /
                               sizeof(config_reject_cases[0]); i++) {
        const config_reject_case_t *c = &config_reject_cases[i];
        vms_config_t cfg;
        char err[512];

        assert_int_equal(test_parse(&cfg, c->text, err, sizeof(err)),
                         -EINVAL);
        for (int j = 0; j < 3 && c->needles[j]; j++) {
            if (!strstr(err, c->needles[j]))
                fail_msg("input \"%s\": message \"%s\" lacks \"%s\"",
                         c->text, err, c->needles[j]);
        }
    }
}

static void config_rejects_unknown_key(void **state)
{
    vms_config_t cfg;
    char err[512];

    assert_int_equal(test_parse(&cfg, "listen = 127.0.0.1:80\nport = 80",
                                err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "'port'"));
    /* The message lists every valid key, so the fix is in it. */
    assert_non_null(strstr(err, "fsync_interval_ms"));
    assert_non_null(strstr(err, "retry_max_seconds"));
    assert_non_null(strstr(err, "retention_interval_seconds"));
}

static void config_rejects_too_many_volumes(void **state)
{
    char text[64 * (VMS_CONFIG_MAX_VOLUMES + 1)];
    size_t pos = 0;
    vms_config_t cfg;
    char err[256];

    for (int i = 0; i <= VMS_CONFIG_MAX_VOLUMES; i++)
        pos += (size_t)snprintf(text + pos, sizeof(text) - pos,
                                "volume = /v%d\n", i);
    assert_int_equal(test_parse(&cfg, text, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 17"));
    assert_non_null(strstr(err, "too many volumes"));
    assert_non_null(strstr(err, "at most 16"));
    assert_int_equal(cfg.volume_count, VMS_CONFIG_MAX_VOLUMES);
}

static void config_path_length_limit(void **state)
{
    char text[VMS_CONFIG_PATH_MAX + 64];
    char path[VMS_CONFIG_PATH_MAX + 1];
    vms_config_t cfg;
    char err[2048];

    /* 511 bytes fit (with the NUL), 512 do not. */
    memset(path, 'p', VMS_CONFIG_PATH_MAX - 1);
    path[0] = '/';
    path[VMS_CONFIG_PATH_MAX - 1] = '\0';
    snprintf(text, sizeof(text), "data_dir = %s", path);
    assert_int_equal(test_parse(&cfg, text, err, sizeof(err)), 0);
    assert_string_equal(cfg.data_dir, path);

    memset(path, 'p', VMS_CONFIG_PATH_MAX);
    path[0] = '/';
    path[VMS_CONFIG_PATH_MAX] = '\0';
    snprintf(text, sizeof(text), "volume = %s", path);
    assert_int_equal(test_parse(&cfg, text, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(cfg.volume_count, 0);
}

static void config_rejects_long_line(void **state)
{
    size_t len = 5000;
    char *text = malloc(len + 32);
    vms_config_t cfg;
    char err[256];

    assert_non_null(text);
    snprintf(text, len + 32, "log_level = info\n# ");
    memset(text + strlen(text), 'x', len);
    text[len] = '\0';
    assert_int_equal(test_parse(&cfg, text, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "longer than 2047 bytes"));

    /* A comment of 2047 bytes is still one line. */
    memset(text, 'x', 2047);
    text[0] = '#';
    text[2047] = '\0';
    assert_int_equal(test_parse(&cfg, text, err, sizeof(err)), 0);
    free(text);
}

static void config_rejects_nul_byte(void **state)
{
    static const char text[] = "listen = 127.0.0.1:80\nlog_level = in\0fo\n";
    vms_config_t cfg;
    char err[256];

    vms_config_defaults(&cfg);
    assert_int_equal(vms_config_parse(&cfg, text, sizeof(text) - 1, err,
                                      sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "NUL byte"));

    /* A NUL inside a comment is rejected too: the file is not text. */
    static const char comment[] = "# \0\n";
    vms_config_defaults(&cfg);
    assert_int_equal(vms_config_parse(&cfg, comment, sizeof(comment) - 1,
                                      err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "line 1"));
}

static void config_parses_unterminated_buffer(void **state)
{
    /* len stops before "9" so the parser must not read past it. */
    static const char text[] = "segment_seconds = 1209";
    vms_config_t cfg;
    char err[256];

    vms_config_defaults(&cfg);
    assert_int_equal(vms_config_parse(&cfg, text, sizeof(text) - 2, err,
                                      sizeof(err)),
                     0);
    assert_int_equal(cfg.segment_seconds, 120);
}

static void config_small_error_buffer(void **state)
{
    vms_config_t cfg;
    char err[8];

    memset(err, 'z', sizeof(err));
    assert_int_equal(test_parse(&cfg, "unknown_key_with_long_name = 1", err,
                                sizeof(err)), -EINVAL);
    assert_int_equal(err[sizeof(err) - 1], '\0');
}

static void config_load_file(void **state)
{
    char path[] = "/tmp/vms-test-config-XXXXXX";
    static const char text[] = "listen = 127.0.0.1:9100\nvolume = /v\n";
    vms_config_t cfg;
    char err[512];
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1),
                     (ssize_t)(sizeof(text) - 1));
    close(fd);
    vms_config_defaults(&cfg);
    assert_int_equal(vms_config_load(&cfg, path, err, sizeof(err)), 0);
    assert_int_equal(cfg.listen_port, 9100);
    assert_int_equal(cfg.volume_count, 1);
    unlink(path);

    vms_config_defaults(&cfg);
    assert_int_equal(vms_config_load(&cfg, path, err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
}

static void config_loopback_hosts(void **state)
{
    static const char *const yes[] = {"127.0.0.1", "127.0.0.5",
                                      "127.255.255.254", "::1",
                                      "0:0:0:0:0:0:0:1", "localhost"};
    static const char *const no[] = {
        "0.0.0.0", "10.0.0.1", "::", "128.0.0.1", "192.168.1.1",
        "example.com", "localhost.example.com", "mylocalhost", "",
        "127.0.0.1.example", "::ffff:127.0.0.1", "LOCALHOST1", "::2",
    };

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (vms_config_host_is_loopback(yes[i]) != 1)
            fail_msg("'%s' should be loopback", yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (vms_config_host_is_loopback(no[i]) != 0)
            fail_msg("'%s' should not be loopback", no[i]);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_defaults),
        cmocka_unit_test(config_empty_text_keeps_defaults),
        cmocka_unit_test(config_every_key),
        cmocka_unit_test(config_comments_and_spaces),
        cmocka_unit_test(config_listen_forms),
        cmocka_unit_test(config_rejects_bad_values),
        cmocka_unit_test(config_rejects_unknown_key),
        cmocka_unit_test(config_rejects_too_many_volumes),
        cmocka_unit_test(config_path_length_limit),
        cmocka_unit_test(config_rejects_long_line),
        cmocka_unit_test(config_rejects_nul_byte),
        cmocka_unit_test(config_parses_unterminated_buffer),
        cmocka_unit_test(config_small_error_buffer),
        cmocka_unit_test(config_load_file),
        cmocka_unit_test(config_loopback_hosts),
    };

    return UNIT_RUN("config", tests, NULL, NULL, argc, argv);
}
