/*
 * Client tests against the fake-onvif fixture on 127.0.0.1: probe,
 * credentials, faults, time limits, hostile responses, clock offset,
 * HTTP Digest, URI rewriting, PTZ, date and time, events.
 *
 * FAKE_ONVIF names the fixture binary.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "onvif/internal.h"

typedef struct fake {
    pid_t pid;
    int port;
    char address[64];
    char log[64]; /* fixture stderr, for checks on the requests */
} fake_t;

/* Starts fake-onvif with extra arguments (NULL-terminated) and waits
 * for its "port=N" line. */
static void fake_start(fake_t *f, ...)
{
    const char *bin = getenv("FAKE_ONVIF");
    const char *argv[40];
    int out[2], n = 0, logfd;
    char line[64] = "";
    size_t got = 0;
    va_list ap;

    assert_non_null(bin);
    argv[n++] = bin;
    va_start(ap, f);
    while (n < 38 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    snprintf(f->log, sizeof(f->log), "/tmp/fake-onvif-%d.log", getpid());
    assert_int_equal(pipe(out), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        /* A failed assert leaves the test without fake_stop(): the
         * fixture then ends with the test process. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        logfd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(out[1], 1);
        if (logfd >= 0)
            dup2(logfd, 2);
        close(out[0]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    while (got < sizeof(line) - 1) {
        ssize_t r = read(out[0], line + got, 1);

        if (r <= 0 || line[got] == '\n')
            break;
        got++;
    }
    line[got] = '\0';
    close(out[0]);
    if (sscanf(line, "port=%d", &f->port) != 1)
        fail_msg("fake-onvif did not start (output '%s')", line);
    snprintf(f->address, sizeof(f->address), "127.0.0.1:%d", f->port);
}

static void fake_stop(fake_t *f)
{
    int status;

    kill(f->pid, SIGTERM);
    waitpid(f->pid, &status, 0);
    unlink(f->log);
}

/* Tells whether the fixture's log contains s. */
static bool fake_logged(const fake_t *f, const char *s)
{
    FILE *fp = fopen(f->log, "r");
    char line[512];
    bool found = false;

    if (fp == NULL)
        return false;
    while (!found && fgets(line, sizeof(line), fp) != NULL)
        found = strstr(line, s) != NULL;
    fclose(fp);
    return found;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const onvif_credentials_t good = {"admin", "s3cret"};

/* ---- Probe --------------------------------------------------------------- */

static void probe_returns_profiles(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};

    fake_start(&f, "--username", "admin", "--password", "s3cret",
               "--rtsp-url", "rtsp://127.0.0.1:8554/cam1", NULL);
    if (onvif_device_probe(f.address, &good, NULL, &dev, &err) != 0)
        fail_msg("probe failed: %s", err.msg);
    assert_string_equal(dev->info.manufacturer, "ONVIF");
    assert_string_equal(dev->info.model, "ENP1A14-IR/25X");
    assert_int_equal(dev->profile_count, 3);
    assert_int_equal(dev->main_profile, 0);
    assert_int_equal(dev->sub_profile, 1);
    assert_string_equal(dev->profiles[0].token, "Profile_1");
    assert_int_equal(dev->profiles[0].width, 2560);
    assert_string_equal(dev->profiles[1].encoding, "H265");
    assert_int_equal(dev->profiles[1].height, 480);
    assert_string_equal(dev->profiles[0].stream_uri,
                        "rtsp://127.0.0.1:8554/cam1");
    assert_false(dev->profiles[0].stream_uri_rewritten);
    assert_non_null(dev->profiles[1].snapshot_uri);
    assert_non_null(strstr(dev->profiles[1].snapshot_uri,
                           "/snapshot/Profile_2"));
    assert_non_null(dev->services.ptz);
    assert_non_null(dev->services.events);
    assert_true(llabs(dev->time_offset_s) <= 2);
    assert_string_equal(dev->notes, "");
    onvif_device_free(dev);
    fake_stop(&f);
}

static void probe_wrong_password(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};
    onvif_credentials_t bad = {"admin", "wrong"};

    fake_start(&f, "--username", "admin", "--password", "s3cret", NULL);
    assert_int_equal(onvif_device_probe(f.address, &bad, NULL, &dev, &err),
                     -EACCES);
    assert_null(dev);
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    assert_non_null(strstr(err.msg, "GetServices"));
    assert_non_null(strstr(err.msg, "not authorized"));
    assert_true(fake_logged(&f, "wrong password digest"));
    fake_stop(&f);
}

static void probe_without_credentials(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};

    fake_start(&f, "--username", "admin", "--password", "s3cret", NULL);
    assert_int_equal(onvif_device_probe(f.address, NULL, NULL, &dev, &err),
                     -EACCES);
    assert_true(fake_logged(&f, "no UsernameToken"));
    fake_stop(&f);
}

static void probe_soap_fault(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};

    fake_start(&f, "--mode", "fault", NULL);
    assert_int_equal(onvif_device_probe(f.address, &good, NULL, &dev, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "camera 127.0.0.1"));
    assert_non_null(strstr(err.msg, "invalid argument"));
    assert_non_null(strstr(err.msg, "InvalidArgVal"));
    assert_non_null(strstr(err.msg, "GetCapabilities"));
    fake_stop(&f);
}

static void probe_silent_camera_times_out(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};
    onvif_client_options_t opts = {.timeout_ms = 1000};
    double t0, elapsed;

    fake_start(&f, "--mode", "silent", NULL);
    t0 = now_s();
    assert_int_equal(onvif_device_probe(f.address, &good, &opts, &dev,
                                        &err), -ETIMEDOUT);
    elapsed = now_s() - t0;
    print_message("silent camera: error after %.2f s: %s\n", elapsed,
                  err.msg);
    assert_true(elapsed >= 0.9);
    assert_true(elapsed < 1.5);
    assert_non_null(strstr(err.msg, "1000 ms"));
    assert_non_null(strstr(err.msg, "GetSystemDateAndTime"));
    fake_stop(&f);
}

static void probe_xml_bomb_rejected(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};
    struct rusage before, after;
    double t0;

    fake_start(&f, "--mode", "bomb", NULL);
    getrusage(RUSAGE_SELF, &before);
    t0 = now_s();
    assert_int_equal(onvif_device_probe(f.address, &good, NULL, &dev, &err),
                     -EBADMSG);
    assert_true(now_s() - t0 < 2);
    assert_non_null(strstr(err.msg, "DOCTYPE"));
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    getrusage(RUSAGE_SELF, &after);
    /* Nothing was expanded: the peak grew by less than 8 MiB, where
     * the expanded document would need gigabytes. */
    assert_true(after.ru_maxrss - before.ru_maxrss < 8 * 1024); /* KiB */
    fake_stop(&f);
}

static void probe_huge_response_capped(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};
    struct rusage before, after;
    double t0, elapsed;

    fake_start(&f, "--mode", "huge", NULL);
    getrusage(RUSAGE_SELF, &before);
    t0 = now_s();
    assert_int_equal(onvif_device_probe(f.address, &good, NULL, &dev, &err),
                     -EMSGSIZE);
    elapsed = now_s() - t0;
    getrusage(RUSAGE_SELF, &after);
    print_message("50 MiB answer: error after %.2f s, peak RSS %ld -> %ld "
                  "KiB: %s\n", elapsed, before.ru_maxrss, after.ru_maxrss,
                  err.msg);
    assert_non_null(strstr(err.msg, "4194304"));
    assert_true(elapsed < 5);
    /* The receive buffer stops at the 4 MiB cap, far below the 50 MiB
     * that the camera sends. */
    assert_true(after.ru_maxrss - before.ru_maxrss < 16 * 1024);
    fake_stop(&f);
}

static void probe_connection_refused(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};
    char address[64];

    fake_start(&f, NULL);
    snprintf(address, sizeof(address), "%s", f.address);
    fake_stop(&f);
    assert_int_equal(onvif_device_probe(address, &good, NULL, &dev, &err),
                     -ECONNREFUSED);
    assert_non_null(strstr(err.msg, "connect failed"));
}

/* ---- Clock offset ----------------------------------------------------------- */

static void clock_offset_20_minutes(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_client_t *c = NULL;
    onvif_err_t err = {""};

    fake_start(&f, "--username", "admin", "--password", "s3cret",
               "--clock-offset", "1200", NULL);
    if (onvif_device_probe(f.address, &good, NULL, &dev, &err) != 0)
        fail_msg("probe failed: %s", err.msg);
    assert_true(llabs(dev->time_offset_s - 1200) <= 2);
    onvif_device_free(dev);

    /* Without the correction the same camera rejects the token, which
     * shows that the fixture checks the Created time. */
    assert_int_equal(onvif_client_new(f.address, &good, NULL, &c, &err), 0);
    assert_int_equal(onvif_client_connect(c, &err), 0);
    onvif_client_set_time_offset(c, 0);
    assert_int_equal(onvif_device_probe_client(c, &dev, &err), -EACCES);
    assert_true(fake_logged(&f, "too far from the camera clock"));
    onvif_client_free(c);
    fake_stop(&f);
}

static void clock_offset_negative(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};

    fake_start(&f, "--username", "admin", "--password", "s3cret",
               "--clock-offset", "-86400", NULL);
    assert_int_equal(onvif_device_probe(f.address, &good, NULL, &dev, &err),
                     0);
    assert_true(llabs(dev->time_offset_s + 86400) <= 2);
    onvif_device_free(dev);
    fake_stop(&f);
}

/* ---- HTTP Digest and rewriting ------------------------------------------------ */

static void http_digest_fallback(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};
    onvif_credentials_t bad = {"admin", "nope"};

    fake_start(&f, "--username", "admin", "--password", "s3cret",
               "--http-digest", NULL);
    if (onvif_device_probe(f.address, &good, NULL, &dev, &err) != 0)
        fail_msg("probe failed: %s", err.msg);
    assert_int_equal(dev->profile_count, 3);
    onvif_device_free(dev);
    assert_int_equal(onvif_device_probe(f.address, &bad, NULL, &dev, &err),
                     -EACCES);
    assert_non_null(strstr(err.msg, "HTTP 401"));
    fake_stop(&f);
}

static void zero_host_uris_rewritten(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};

    fake_start(&f, "--rtsp-url", "rtsp://192.168.1.182:554/Streaming/101",
               "--zero-host", NULL);
    if (onvif_device_probe(f.address, &good, NULL, &dev, &err) != 0)
        fail_msg("probe failed: %s", err.msg);
    assert_string_equal(dev->profiles[0].stream_uri,
                        "rtsp://127.0.0.1:554/Streaming/101");
    assert_true(dev->profiles[0].stream_uri_rewritten);
    assert_true(dev->profiles[0].snapshot_uri_rewritten);
    assert_true(strncmp(dev->profiles[0].snapshot_uri, "http://127.0.0.1:",
                        17) == 0);
    assert_non_null(strstr(dev->notes, "stream URI host rewritten"));
    onvif_device_free(dev);
    fake_stop(&f);
}

/* ---- Old cameras, Media2 and HTTPS --------------------------------------------- */

static void old_device_capabilities(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};

    fake_start(&f, "--username", "admin", "--password", "s3cret",
               "--old-device", NULL);
    if (onvif_device_probe(f.address, &good, NULL, &dev, &err) != 0)
        fail_msg("probe failed: %s", err.msg);
    assert_int_equal(dev->profile_count, 3);
    assert_non_null(dev->services.media);
    assert_null(dev->services.media2);
    assert_true(fake_logged(&f, "GetCapabilities"));
    onvif_device_free(dev);
    fake_stop(&f);
}

static void media2_only_device(void **state)
{
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};

    fake_start(&f, "--username", "admin", "--password", "s3cret",
               "--no-media", "--rtsp-url", "rtsp://127.0.0.1:8554/m2", NULL);
    if (onvif_device_probe(f.address, &good, NULL, &dev, &err) != 0)
        fail_msg("probe failed: %s", err.msg);
    assert_null(dev->services.media);
    assert_non_null(dev->services.media2);
    assert_int_equal(dev->profile_count, 3);
    assert_string_equal(dev->profiles[1].name, "subStream");
    assert_string_equal(dev->profiles[0].stream_uri,
                        "rtsp://127.0.0.1:8554/m2");
    assert_non_null(strstr(dev->profiles[2].snapshot_uri,
                           "/snapshot/Profile_3"));
    /* No resolution in these profiles: first and last are taken. */
    assert_int_equal(dev->main_profile, 0);
    assert_int_equal(dev->sub_profile, 2);
    assert_true(fake_logged(&f, "/onvif/media2 GetProfiles"));
    onvif_device_free(dev);
    fake_stop(&f);
}

/* Makes a self-signed certificate for subject_alt_name in dir. */
static void make_certificate(const char *dir, const char *name,
                             const char *subject_alt_name)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
             "/CN=fake-onvif -addext subjectAltName=%s -keyout %s/%s.key "
             "-out %s/%s.pem 2>/dev/null",
             subject_alt_name, dir, name, dir, name);
    if (system(cmd) != 0)
        fail_msg("openssl could not make a certificate: %s", cmd);
}

static void https_with_and_without_ca(void **state)
{
    char dir[] = "/tmp/onvif-tls-XXXXXX", cert[128], key[128], other[128];
    char url[128], cmd[160];
    fake_t f;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};
    onvif_client_options_t opts = {0};

    assert_non_null(mkdtemp(dir));
    make_certificate(dir, "camera", "IP:127.0.0.1");
    make_certificate(dir, "other", "DNS:other.example");
    snprintf(cert, sizeof(cert), "%s/camera.pem", dir);
    snprintf(key, sizeof(key), "%s/camera.key", dir);
    snprintf(other, sizeof(other), "%s/other.pem", dir);
    fake_start(&f, "--username", "admin", "--password", "s3cret",
               "--tls-cert", cert, "--tls-key", key, NULL);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/onvif/device_service",
             f.port);

    /* No CA file: encrypted, certificate not checked. */
    if (onvif_device_probe(url, &good, NULL, &dev, &err) != 0)
        fail_msg("probe failed: %s", err.msg);
    assert_true(strncmp(dev->services.media, "https://", 8) == 0);
    assert_int_equal(dev->profile_count, 3);
    onvif_device_free(dev);

    /* The camera's own certificate as CA: chain and IP address match. */
    opts.tls_ca_file = cert;
    if (onvif_device_probe(url, &good, &opts, &dev, &err) != 0)
        fail_msg("probe with CA failed: %s", err.msg);
    onvif_device_free(dev);

    /* Another CA: rejected with the reason. */
    opts.tls_ca_file = other;
    assert_int_equal(onvif_device_probe(url, &good, &opts, &dev, &err),
                     -EPROTO);
    assert_non_null(strstr(err.msg, "certificate rejected"));

    /* Plain HTTP to the TLS port fails cleanly. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/onvif/device_service",
             f.port);
    opts.tls_ca_file = NULL;
    opts.timeout_ms = 1000;
    assert_true(onvif_device_probe(url, &good, &opts, &dev, &err) < 0);
    assert_null(dev);
    fake_stop(&f);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- PTZ ----------------------------------------------------------------------- */

static void ptz_calls(void **state)
{
    fake_t f;
    onvif_client_t *c = NULL;
    onvif_err_t err = {""};
    onvif_ptz_preset_t *presets = NULL;
    onvif_ptz_status_t st;
    onvif_ptz_configuration_t *conf = NULL;
    size_t n = 0;
    char token[32];
    onvif_ptz_vector_t v = {true, 0.5, -0.25, true, 0.1};
    onvif_ptz_vector_t bad = {true, 2.0, 0, false, 0};

    fake_start(&f, "--username", "admin", "--password", "s3cret", NULL);
    assert_int_equal(onvif_client_new(f.address, &good, NULL, &c, &err), 0);
    assert_int_equal(onvif_ptz_get_presets(c, "Profile_1", &presets, &n,
                                           &err), 0);
    assert_int_equal(n, 300);
    assert_string_equal(presets[0].name, "MIMBER");
    onvif_ptz_presets_free(presets, n);

    assert_int_equal(onvif_ptz_continuous_move(c, "Profile_1", &v, 1500,
                                               &err), 0);
    assert_int_equal(onvif_ptz_stop(c, "Profile_1", true, true, &err), 0);
    assert_int_equal(onvif_ptz_absolute_move(c, "Profile_1", &v, NULL,
                                             &err), 0);
    assert_int_equal(onvif_ptz_relative_move(c, "Profile_1", &v, &v, &err),
                     0);
    assert_int_equal(onvif_ptz_goto_preset(c, "Profile_1", "1", NULL, &err),
                     0);
    assert_int_equal(onvif_ptz_set_preset(c, "Profile_1", "Gate", NULL,
                                          token, sizeof(token), &err), 0);
    assert_string_equal(token, "301");
    assert_int_equal(onvif_ptz_remove_preset(c, "Profile_1", token, &err),
                     0);
    assert_int_equal(onvif_ptz_goto_home(c, "Profile_1", &err), 0);
    assert_int_equal(onvif_ptz_set_home(c, "Profile_1", &err), 0);
    assert_int_equal(onvif_ptz_get_status(c, "Profile_1", &st, &err), 0);
    assert_true(st.position.pan == 0.801444);
    assert_int_equal(onvif_ptz_get_configurations(c, &conf, &n, &err), 0);
    assert_true(n >= 1);
    onvif_ptz_configurations_free(conf, n);

    assert_int_equal(onvif_ptz_continuous_move(c, "Profile_1", &bad, 0,
                                               &err), -EINVAL);
    assert_non_null(strstr(err.msg, "-1..1"));
    assert_int_equal(onvif_ptz_goto_preset(c, "Profile_1", "", NULL, &err),
                     -EINVAL);

    assert_true(fake_logged(&f, "ptz ContinuousMove"));
    assert_true(fake_logged(&f, "ptz RelativeMove"));
    assert_true(fake_logged(&f, "ptz GotoHomePosition"));
    onvif_client_free(c);
    fake_stop(&f);
}

/* ---- Date and time and events ---------------------------------------------------- */

static void system_time_set_and_get(void **state)
{
    fake_t f;
    onvif_client_t *c = NULL;
    onvif_err_t err = {""};
    time_t target = time(NULL) - 3 * 3600, got = 0;

    fake_start(&f, "--username", "admin", "--password", "s3cret",
               "--clock-offset", "1200", NULL);
    assert_int_equal(onvif_client_new(f.address, &good, NULL, &c, &err), 0);
    assert_int_equal(onvif_get_system_time(c, &got, &err), 0);
    assert_true(llabs((long long)(got - time(NULL) - 1200)) <= 2);
    if (onvif_set_system_time(c, target, &err) != 0)
        fail_msg("set time: %s", err.msg);
    assert_true(llabs(onvif_client_time_offset(c) + 3 * 3600) <= 2);
    assert_int_equal(onvif_get_system_time(c, &got, &err), 0);
    assert_true(llabs((long long)(got - time(NULL) + 3 * 3600)) <= 2);

    /* Calls after the change still authenticate. */
    onvif_device_t *dev = NULL;

    assert_int_equal(onvif_device_probe_client(c, &dev, &err), 0);
    onvif_device_free(dev);
    onvif_client_free(c);
    fake_stop(&f);
}

static void events_pull_point(void **state)
{
    fake_t f;
    onvif_client_t *c = NULL;
    onvif_subscription_t *sub = NULL;
    onvif_event_t *ev = NULL;
    onvif_err_t err = {""};
    size_t n = 0;

    fake_start(&f, "--username", "admin", "--password", "s3cret", NULL);
    assert_int_equal(onvif_client_new(f.address, &good, NULL, &c, &err), 0);
    if (onvif_events_subscribe(c, 60, &sub, &err) != 0)
        fail_msg("subscribe: %s", err.msg);
    assert_non_null(strstr(sub->address, "/onvif/events/sub1"));
    if (onvif_events_pull(c, sub, 1, 10, &ev, &n, &err) != 0)
        fail_msg("pull: %s", err.msg);
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].kind, ONVIF_EVENT_MOTION);
    assert_true(ev[0].state);
    assert_int_equal(ev[1].kind, ONVIF_EVENT_TAMPER);
    assert_int_equal(ev[2].kind, ONVIF_EVENT_DIGITAL_INPUT);
    assert_string_equal(ev[2].source, "DI_1");
    onvif_events_free(ev, n);
    assert_int_equal(onvif_events_unsubscribe(c, sub, &err), 0);
    onvif_subscription_free(sub);
    assert_int_equal(onvif_events_subscribe(c, 5, &sub, &err), -EINVAL);
    assert_null(sub);
    onvif_client_free(c);
    fake_stop(&f);
}

static void client_rejects_bad_address(void **state)
{
    onvif_client_t *c = NULL;
    onvif_err_t err = {""};

    assert_int_equal(onvif_client_new("", NULL, NULL, &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "missing camera address"));
    assert_int_equal(onvif_client_new("ftp://x/", NULL, NULL, &c, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "http://"));
    assert_int_equal(onvif_client_new("10.0.0.5:99999", NULL, NULL, &c,
                                      &err), -EINVAL);
    assert_int_equal(onvif_client_new("fd00::5", NULL, NULL, &c, &err), 0);
    assert_string_equal(onvif_client_device_url(c),
                        "http://[fd00::5]/onvif/device_service");
    onvif_client_free(c);
    onvif_client_free(NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(probe_returns_profiles),
        cmocka_unit_test(probe_wrong_password),
        cmocka_unit_test(probe_without_credentials),
        cmocka_unit_test(probe_soap_fault),
        cmocka_unit_test(probe_silent_camera_times_out),
        cmocka_unit_test(probe_xml_bomb_rejected),
        cmocka_unit_test(probe_huge_response_capped),
        cmocka_unit_test(probe_connection_refused),
        cmocka_unit_test(clock_offset_20_minutes),
        cmocka_unit_test(clock_offset_negative),
        cmocka_unit_test(http_digest_fallback),
        cmocka_unit_test(zero_host_uris_rewritten),
        cmocka_unit_test(old_device_capabilities),
        cmocka_unit_test(media2_only_device),
        cmocka_unit_test(https_with_and_without_ca),
        cmocka_unit_test(ptz_calls),
        cmocka_unit_test(system_time_set_and_get),
        cmocka_unit_test(events_pull_point),
        cmocka_unit_test(client_rejects_bad_address),
    };

    signal(SIGPIPE, SIG_IGN);
    return UNIT_RUN("onvif_client", tests, NULL, NULL, argc, argv);
}
