/*
 * Parser tests over responses captured from real cameras (see
 * tests/data/SOURCES.md): device information, services, profiles,
 * stream and snapshot URIs, date and time, PTZ, events, faults and
 * WS-Discovery. The same program tests the XML safety rules, the HTTP
 * response parser, HTTP Digest, WS-UsernameToken and URI rewriting.
 *
 * ONVIF_TEST_DATA names the tests/data/onvif directory.
 */
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "onvif/internal.h"

/* Reads tests/data/onvif/<rel> into a new buffer. */
static char *read_data(const char *rel, size_t *len)
{
    const char *dir = getenv("ONVIF_TEST_DATA");
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- Device information ------------------------------------------------ */

static void device_information_every_vendor(void **state)
{
    static const struct {
        const char *file, *manufacturer, *model, *firmware, *serial;
    } cases[] = {
        {"easy_onvif/DCS-6511/device_management/"
         "GetDeviceInformationResponse.xml",
         "D-Link Corporation", "DCS-6511", "1.16.00", "F07D68099FCA"},
        {"easy_onvif/ENP1A14-IR_25X/device_management/"
         "GetDeviceInformationResponse.xml",
         "ONVIF", "ENP1A14-IR/25X", "V5.5.3 build 180822",
         "ENP1A14-IR/25X20190430AAWRD14878498W"},
        {"easy_onvif/SUNBA/device_management/"
         "GetDeviceInformationResponse.xml",
         "SUNBA", "Performance-Series", "QIPC-B2202.3.73.C06290.NB.230628",
         "210231T2H63235000045"},
        {"easy_onvif/IPD-H4K8M05-BS/device_management/"
         "GetDeviceInformationResponse.xml",
         "", "IPD-H4K8M05-BS", "V1.04.10-190309", "071D3E36963F"},
        {"easy_onvif/happytimesoft/device_management/"
         "GetDeviceInformationResponse.xml",
         "Happytimesoft", "IPCamera", "2.4", "123456"},
        {"easy_onvif/IPG-8150PSS/device_management/"
         "GetDeviceInformationResponse.xml",
         "ONVIF_IPNC", "IPG-8150PSS", "1.3.0-20210203CN-PT",
         "I207215E7840DFDA9877E8B"},
        {"easy_onvif/SUNBA.405/device_management/"
         "GetDeviceInformationResponse.xml",
         "H264", "XM530_50X50-WG_8M",
         "V5.00.R02.L5330747.10010.349917..ONVIF 16.12",
         "f0d2d8a9c5380a0f"},
        {"easy_onvif/GX728MF-IR28/device_management/"
         "GetDeviceInformationResponse.xml",
         "NONE", "GX728MF-IR28", "IPC_G6106-B0005P11D1812C03",
         "210235T8HQ3197000191"},
        {"ex_onvif/get_device_information.xml",
         "Milesight Technology Co.,Ltd.", "MS-C8165-PE", "61.8.0.3-r8",
         "EM82V102329001403"},
        {"agsh_onvif_v0x/GetDeviceInformation.xml",
         "Mockup Manufacturer", "Mockup Model", "Mockup_15_14_13",
         "00000000"},
    };
    size_t i, len;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        onvif_device_info_t info;
        onvif_err_t err = {""};
        char *xml = read_data(cases[i].file, &len);
        int rc = onvif_parse_device_information(xml, len, &info, &err);

        if (rc != 0)
            fail_msg("%s: %s", cases[i].file, err.msg);
        assert_string_equal(info.manufacturer, cases[i].manufacturer);
        assert_string_equal(info.model, cases[i].model);
        assert_string_equal(info.firmware_version, cases[i].firmware);
        assert_string_equal(info.serial_number, cases[i].serial);
        onvif_device_info_clear(&info);
        free(xml);
    }
}

/* ---- Services ------------------------------------------------------------ */

static void services_hikvision_oem(void **state)
{
    onvif_services_t s;
    onvif_err_t err = {""};
    size_t len;
    char *xml = read_data("easy_onvif/ENP1A14-IR_25X/device_management/"
                          "GetServicesResponse.xml", &len);

    assert_int_equal(onvif_parse_services(xml, len, &s, &err), 0);
    assert_non_null(s.device);
    assert_non_null(s.media);
    assert_non_null(s.ptz);
    assert_non_null(s.events);
    assert_string_equal(s.media, "http://192.168.1.182/onvif/Media");
    assert_string_equal(s.ptz, "http://192.168.1.182/onvif/PTZ");
    onvif_services_clear(&s);
    free(xml);
}

static void capabilities_dahua_and_dlink(void **state)
{
    static const char *files[] = {
        "go2rtc/TestGetCapabilities__Dahua_default.xml",
        "go2rtc/TestGetCapabilities__Dahua_formatted.xml",
        "easy_onvif/DCS-6511/device_management/GetCapabilitiesResponse.xml",
    };
    size_t i, len;

    for (i = 0; i < 3; i++) {
        onvif_services_t s;
        onvif_err_t err = {""};
        char *xml = read_data(files[i], &len);
        int rc = onvif_parse_capabilities(xml, len, &s, &err);

        if (rc != 0)
            fail_msg("%s: %s", files[i], err.msg);
        assert_non_null(s.media);
        assert_non_null(s.device);
        assert_non_null(strstr(s.media, "http://"));
        onvif_services_clear(&s);
        free(xml);
    }
}

/* ---- Profiles ------------------------------------------------------------ */

typedef struct profile_case {
    const char *file;
    size_t count;
    const char *token0;
    const char *encoding0;
    int width0, height0;
    double fps0;
    int kbps0;
    int width_last, height_last;
} profile_case_t;

static void check_profiles(const profile_case_t *c)
{
    onvif_profile_t *p = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len;
    char *xml = read_data(c->file, &len);
    int rc = onvif_parse_profiles(xml, len, &p, &n, &err);

    if (rc != 0)
        fail_msg("%s: %s", c->file, err.msg);
    assert_int_equal(n, c->count);
    assert_string_equal(p[0].token, c->token0);
    assert_string_equal(p[0].encoding, c->encoding0);
    assert_int_equal(p[0].width, c->width0);
    assert_int_equal(p[0].height, c->height0);
    assert_true(p[0].frame_rate == c->fps0);
    assert_int_equal(p[0].bitrate_kbps, c->kbps0);
    assert_int_equal(p[n - 1].width, c->width_last);
    assert_int_equal(p[n - 1].height, c->height_last);
    onvif_profiles_free(p, n);
    free(xml);
}

static void profiles_media1_every_vendor(void **state)
{
    static const profile_case_t cases[] = {
        {"easy_onvif/DCS-6511/media1/GetProfilesResponse.xml", 2,
         "Profile1", "H264", 1280, 1024, 7, 4096, 640, 480},
        {"easy_onvif/ENP1A14-IR_25X/media1/GetProfilesResponse.xml", 3,
         "Profile_1", "H265", 2560, 1440, 25, 8192, 0, 0},
        {"easy_onvif/GX728MF-IR28/media1/GetProfilesResponse.xml", 3,
         "media_profile1", "H264", 3840, 2160, 20, 4096, 352, 288},
        {"easy_onvif/IPD-H4K8M05-BS/media1/GetProfilesResponse.xml", 2,
         "MainStream", "H264", 2592, 1944, 25, 5120, 640, 480},
        {"easy_onvif/IPG-8150PSS/media1/GetProfilesResponse.xml", 2,
         "PROFILE_000", "H264", 2560, 1920, 20, 2048, 800, 448},
        {"easy_onvif/SUNBA/media1/GetProfilesResponse.xml", 3,
         "media_profile1", "H264", 2592, 1944, 12, 6144, 352, 288},
        {"easy_onvif/happytimesoft/media1/GetProfilesResponse.xml", 2,
         "ProfileToken_1", "H264", 1280, 720, 25, 2048, 640, 480},
        {"agsh_onvif_v0x/GetProfiles.xml", 1, "main", "H264", 1920, 1080,
         5, 1000, 1920, 1080},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_profiles(&cases[i]);
}

static void profiles_media2_encoder(void **state)
{
    static const profile_case_t c = {
        "derived/SUNBA.405-media2-GetProfilesResponse.xml", 2, "000",
        "H264", 2592, 1944, 12, 2205, 704, 480};

    check_profiles(&c);
}

static void profiles_media2_without_configs(void **state)
{
    onvif_profile_t *p = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len;
    char *xml = read_data("easy_onvif/ENP1A14-IR_25X/media2/"
                          "GetProfilesResponse.xml", &len);

    assert_int_equal(onvif_parse_profiles(xml, len, &p, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(p[1].token, "Profile_2");
    assert_string_equal(p[1].name, "subStream");
    assert_int_equal(p[1].width, 0);
    assert_null(p[1].encoding);
    onvif_profiles_free(p, n);
    free(xml);
}

static void profiles_capture_with_log_lines(void **state)
{
    onvif_profile_t *p = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len;
    char *xml = read_data("easy_onvif/SUNBA.405/media1/"
                          "GetProfilesResponse.xml", &len);

    assert_int_equal(onvif_parse_profiles(xml, len, &p, &n, &err),
                     -EBADMSG);
    assert_null(p);
    assert_non_null(strstr(err.msg, "not well-formed"));
    assert_non_null(strstr(err.msg, "line"));
    free(xml);
}

/* ---- URIs ---------------------------------------------------------------- */

static void media_uri_every_vendor(void **state)
{
    static const struct {
        const char *file, *uri;
    } cases[] = {
        {"agsh_onvif_v0x/GetStreamUri.xml", "rtsp://192.168.68.111/h264main"},
        {"easy_onvif/ENP1A14-IR_25X/media1/GetStreamUriResponse.xml",
         "rtsp://192.168.1.182:554/Streaming/Channels/101?transportmode="
         "mcast&profile=Profile_1"},
        {"easy_onvif/ENP1A14-IR_25X/media2/GetStreamUriResponse.xml",
         "rtsp://192.168.1.182/Streaming/Channels/101?transportmode="
         "unicast&profile=Profile_1"},
        {"easy_onvif/IPD-H4K8M05-BS/media1/GetStreamUriResponse.xml",
         "rtsp://192.168.15.40:554/1/h264major"},
        {"easy_onvif/IPG-8150PSS/media2/GetStreamUriResponse.xml",
         "rtsp://10.200.1.2/live/0/MAIN"},
        {"easy_onvif/SUNBA/media2/GetStreamUriResponse.xml",
         "rtsp://162.191.54.181/media/video1"},
        {"easy_onvif/SUNBA.405/media1/GetSnapshotUriResponse.xml",
         "http://192.168.15.40/webcapture.jpg?command=snap&channel=1&user="
         "admin&password=REDACTED"},
        {"easy_onvif/GX728MF-IR28/media2/GetSnapshotUriResponse.xml",
         "http://192.168.1.127:85/images/snapshot.jpg"},
        {"easy_onvif/DCS-6511/media1/GetSnapshotUriResponse.xml",
         "http://192.168.1.33/dms?nowprofileid=1"},
    };
    size_t i, len;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        onvif_err_t err = {""};
        char *uri = NULL, *xml = read_data(cases[i].file, &len);
        int rc = onvif_parse_media_uri(xml, len, &uri, &err);

        if (rc != 0)
            fail_msg("%s: %s", cases[i].file, err.msg);
        assert_string_equal(uri, cases[i].uri);
        free(uri);
        free(xml);
    }
}

static void media_uri_dahua_pretty_printed(void **state)
{
    static const char *files[] = {
        "go2rtc/TestGetStreamUri__Dahua_stream_default.xml",
        "go2rtc/TestGetStreamUri__Dahua_stream_formatted.xml",
        "go2rtc/TestGetStreamUri__Dahua_snapshot_default.xml",
        "go2rtc/TestGetStreamUri__Dahua_snapshot_formatted.xml",
    };
    size_t i, len;

    for (i = 0; i < 4; i++) {
        onvif_err_t err = {""};
        char *uri = NULL, *xml = read_data(files[i], &len);

        assert_int_equal(onvif_parse_media_uri(xml, len, &uri, &err), 0);
        /* Leading new lines and spaces of the formatted file are gone. */
        assert_true(strncmp(uri, i < 2 ? "rtsp://" : "http://", 7) == 0);
        assert_null(strchr(uri, '\n'));
        assert_null(strchr(uri, ' '));
        free(uri);
        free(xml);
    }
}

/* ---- Date and time -------------------------------------------------------- */

static void system_date_and_time_axis(void **state)
{
    onvif_err_t err = {""};
    time_t utc = 0, expected = 0;
    bool dst = false;
    size_t len;
    char *xml = read_data("ex_onvif/get_system_date_and_time.xml", &len);

    assert_int_equal(onvif_parse_system_date_and_time(xml, len, &utc, &dst,
                                                      &err), 0);
    assert_int_equal(onvif_parse_datetime("2024-07-09T19:49:06Z",
                                          &expected), 0);
    assert_int_equal(utc, expected);
    assert_int_equal(expected, 1720554546);
    assert_true(dst);
    free(xml);
}

static void system_date_and_time_every_vendor(void **state)
{
    static const char *dirs[] = {"DCS-6511", "ENP1A14-IR_25X",
                                 "GX728MF-IR28", "IPD-H4K8M05-BS",
                                 "IPG-8150PSS", "SUNBA", "SUNBA.405",
                                 "happytimesoft"};
    size_t i, len;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char rel[256];
        onvif_err_t err = {""};
        time_t utc = 0;
        char *xml;
        int rc;

        snprintf(rel, sizeof(rel), "easy_onvif/%s/device_management/"
                 "GetSystemDateAndTimeResponse.xml", dirs[i]);
        xml = read_data(rel, &len);
        rc = onvif_parse_system_date_and_time(xml, len, &utc, NULL, &err);
        if (rc != 0)
            fail_msg("%s: %s", rel, err.msg);
        /* Every capture was taken after 2015. */
        assert_true(utc > 1420070400);
        free(xml);
    }
}

static void invalid_date_and_time_rejected(void **state)
{
    onvif_err_t err = {""};
    time_t utc = 0;
    size_t len;
    char *xml = read_data("hammeraj_onvif/devices__invalid_system_date_and_"
                          "time_response.xml", &len);
    int rc = onvif_parse_system_date_and_time(xml, len, &utc, NULL, &err);

    assert_true(rc < 0);
    assert_true(err.msg[0] != '\0');
    free(xml);
}

/* ---- PTZ ------------------------------------------------------------------ */

static void ptz_presets_hikvision_oem(void **state)
{
    onvif_ptz_preset_t *p = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len;
    char *xml = read_data("easy_onvif/ENP1A14-IR_25X/ptz/"
                          "GetPresetsResponse.xml", &len);

    assert_int_equal(onvif_parse_ptz_presets(xml, len, &p, &n, &err), 0);
    assert_int_equal(n, 300);
    assert_string_equal(p[0].token, "1");
    assert_string_equal(p[0].name, "MIMBER");
    assert_true(p[0].has_position);
    assert_true(p[0].position.pan == -0.198778);
    assert_true(p[0].position.tilt == -0.982444);
    assert_true(p[0].position.zoom == 0.05375);
    onvif_ptz_presets_free(p, n);
    free(xml);
}

static void ptz_presets_every_vendor(void **state)
{
    static const struct {
        const char *file;
        size_t count;
    } cases[] = {
        {"easy_onvif/IPD-H4K8M05-BS/ptz/GetPresetsResponse.xml", 255},
        {"easy_onvif/IPG-8150PSS/ptz/GetPresetsResponse.xml", 100},
        {"easy_onvif/SUNBA/ptz/GetPresetsResponse.xml", 255},
        {"easy_onvif/happytimesoft/ptz/GetPresetsResponse.xml", 0},
        {"ex_onvif/get_ptz_presets.xml", 2},
    };
    size_t i, len;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        onvif_ptz_preset_t *p = NULL;
        onvif_err_t err = {""};
        size_t n = 0;
        char *xml = read_data(cases[i].file, &len);
        int rc = onvif_parse_ptz_presets(xml, len, &p, &n, &err);

        if (rc != 0)
            fail_msg("%s: %s", cases[i].file, err.msg);
        assert_int_equal(n, cases[i].count);
        onvif_ptz_presets_free(p, n);
        free(xml);
    }
}

static void ptz_presets_unclosed_security(void **state)
{
    onvif_ptz_preset_t *p = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len;
    char *xml = read_data("easy_onvif/SUNBA.405/ptz/GetPresetsResponse.xml",
                          &len);

    assert_int_equal(onvif_parse_ptz_presets(xml, len, &p, &n, &err),
                     -EBADMSG);
    assert_null(p);
    assert_non_null(strstr(err.msg, "GetPresetsResponse"));
    free(xml);
}

static void ptz_status_position(void **state)
{
    onvif_ptz_status_t st;
    onvif_err_t err = {""};
    size_t len;
    char *xml = read_data("easy_onvif/ENP1A14-IR_25X/ptz/"
                          "GetStatusResponse.xml", &len);
    time_t t = 0;

    assert_int_equal(onvif_parse_ptz_status(xml, len, &st, &err), 0);
    assert_true(st.has_position);
    assert_true(st.position.pan == 0.801444);
    assert_true(st.position.tilt == -0.982444);
    assert_true(st.position.zoom == 0.05375);
    assert_string_equal(st.error, "NO error");
    assert_int_equal(onvif_parse_datetime("2023-03-07T14:31:44Z", &t), 0);
    assert_int_equal(st.utc_time, t);
    free(xml);

    xml = read_data("ex_onvif/get_ptz_status.xml", &len);
    assert_int_equal(onvif_parse_ptz_status(xml, len, &st, &err), 0);
    assert_true(st.pan_tilt_move[0] != '\0');
    free(xml);
}

static void ptz_nodes_and_configurations(void **state)
{
    onvif_ptz_node_t *nodes = NULL;
    onvif_ptz_configuration_t *conf = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len;
    char *xml = read_data("ex_onvif/get_ptz_nodes.xml", &len);

    assert_int_equal(onvif_parse_ptz_nodes(xml, len, &nodes, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(nodes[0].token, "PTZNodeToken");
    assert_string_equal(nodes[0].name, "PTZNode");
    assert_true(nodes[0].max_presets > 0);
    onvif_ptz_nodes_free(nodes, n);
    free(xml);

    xml = read_data("easy_onvif/ENP1A14-IR_25X/ptz/"
                    "GetConfigurationsResponse.xml", &len);
    assert_int_equal(onvif_parse_ptz_configurations(xml, len, &conf, &n,
                                                    &err), 0);
    assert_true(n >= 1);
    assert_non_null(conf[0].token);
    assert_non_null(conf[0].node_token);
    assert_true(conf[0].default_timeout_ms > 0);
    onvif_ptz_configurations_free(conf, n);
    free(xml);

    xml = read_data("ex_onvif/get_ptz_configurations.xml", &len);
    assert_int_equal(onvif_parse_ptz_configurations(xml, len, &conf, &n,
                                                    &err), 0);
    assert_true(n >= 1);
    onvif_ptz_configurations_free(conf, n);
    free(xml);
}

static void ptz_set_preset_token(void **state)
{
    onvif_err_t err = {""};
    char *token = NULL;
    size_t len;
    char *xml = read_data("ex_onvif/set_ptz_preset.xml", &len);

    assert_int_equal(onvif_parse_set_preset(xml, len, &token, &err), 0);
    assert_non_null(token);
    assert_true(token[0] != '\0');
    free(token);
    free(xml);
}

/* ---- Events --------------------------------------------------------------- */

static void pull_messages_kinds(void **state)
{
    onvif_event_t *ev = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len, i, motion = 0, tamper = 0;
    char *xml = read_data("ex_onvif/pull_messages.xml", &len);

    assert_int_equal(onvif_parse_pull_messages(xml, len, &ev, &n, &err), 0);
    assert_true(n >= 4);
    assert_string_equal(ev[0].topic, "tns1:VideoSource/MotionAlarm");
    assert_int_equal(ev[0].kind, ONVIF_EVENT_MOTION);
    assert_string_equal(ev[0].source, "VideoSource_1");
    assert_string_equal(ev[0].property, "Initialized");
    assert_true(ev[0].has_state);
    assert_false(ev[0].state);
    assert_true(ev[0].utc_time > 0);
    assert_int_equal(ev[2].kind, ONVIF_EVENT_TAMPER);
    for (i = 0; i < n; i++) {
        motion += ev[i].kind == ONVIF_EVENT_MOTION;
        tamper += ev[i].kind == ONVIF_EVENT_TAMPER;
    }
    assert_int_equal(motion, 2);
    assert_true(tamper >= 1);
    onvif_events_free(ev, n);
    free(xml);
}

static void pull_point_subscription(void **state)
{
    onvif_subscription_t sub;
    onvif_err_t err = {""};
    size_t len;
    char *xml = read_data("ex_onvif/create_pull_point_subscription.xml",
                          &len);

    assert_int_equal(onvif_parse_subscription(xml, len, &sub, &err), 0);
    assert_string_equal(sub.address, "http://192.168.8.120/onvif/Events/"
                        "PullSubManager_20250415T164937Z_0");
    assert_true(sub.termination_time > 0);
    free(sub.address);
    free(xml);

    xml = read_data("agsh_onvif_v0x/events.CreatePullPointSubscription.xml",
                    &len);
    assert_int_equal(onvif_parse_subscription(xml, len, &sub, &err), 0);
    free(sub.address);
    free(xml);
}

/* ---- Faults --------------------------------------------------------------- */

static void faults_map_to_codes(void **state)
{
    static const struct {
        const char *file;
        int code;
    } cases[] = {
        {"ex_onvif/soap_fault.xml", -EINVAL},
        {"easy_onvif/ENP1A14-IR_25X/device_management/Fault.xml", -EPROTO},
        {"hammeraj_onvif/media_ver10__get_audio_encoder_configuration_"
         "options_notsupport.xml", -EOPNOTSUPP},
    };
    size_t i, len;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        onvif_fault_t f;
        onvif_err_t err = {""};
        onvif_device_info_t info;
        char *xml = read_data(cases[i].file, &len);

        assert_int_equal(onvif_parse_fault(xml, len, &f, &err), 0);
        if (onvif_fault_code(&f) != cases[i].code)
            fail_msg("%s: code %s/%s/%s gives %d, expected %d",
                     cases[i].file, f.code, f.subcode, f.subcode2,
                     onvif_fault_code(&f), cases[i].code);
        /* Any parser turns the fault into the same code and a message. */
        assert_int_equal(onvif_parse_device_information(xml, len, &info,
                                                        &err),
                         cases[i].code);
        assert_non_null(strstr(err.msg, "SOAP fault"));
        free(xml);
    }
}

static void fault_reason_in_message(void **state)
{
    onvif_fault_t f;
    onvif_err_t err = {""};
    size_t len;
    char *xml = read_data("easy_onvif/ENP1A14-IR_25X/device_management/"
                          "Fault.xml", &len);

    assert_int_equal(onvif_parse_fault(xml, len, &f, &err), 0);
    assert_string_equal(f.code, "Sender");
    assert_string_equal(f.subcode, "OperationProhibited");
    assert_string_equal(f.subcode2, "Password");
    assert_string_equal(f.reason, "Too weak password.");
    free(xml);
}

/* ---- Every file ----------------------------------------------------------- */

typedef int (*any_parser_t)(const char *xml, size_t len, onvif_err_t *err);

static int any_device_info(const char *x, size_t n, onvif_err_t *e)
{
    onvif_device_info_t v;
    int rc = onvif_parse_device_information(x, n, &v, e);

    if (rc == 0)
        onvif_device_info_clear(&v);
    return rc;
}

static int any_services(const char *x, size_t n, onvif_err_t *e)
{
    onvif_services_t v;
    int rc = onvif_parse_services(x, n, &v, e);

    onvif_services_clear(&v);
    return rc;
}

static int any_capabilities(const char *x, size_t n, onvif_err_t *e)
{
    onvif_services_t v;
    int rc = onvif_parse_capabilities(x, n, &v, e);

    onvif_services_clear(&v);
    return rc;
}

static int any_profiles(const char *x, size_t n, onvif_err_t *e)
{
    onvif_profile_t *v;
    size_t c;
    int rc = onvif_parse_profiles(x, n, &v, &c, e);

    if (rc == 0)
        onvif_profiles_free(v, c);
    return rc;
}

static int any_uri(const char *x, size_t n, onvif_err_t *e)
{
    char *v;
    int rc = onvif_parse_media_uri(x, n, &v, e);

    free(v);
    return rc;
}

static int any_time(const char *x, size_t n, onvif_err_t *e)
{
    time_t t;

    return onvif_parse_system_date_and_time(x, n, &t, NULL, e);
}

static int any_presets(const char *x, size_t n, onvif_err_t *e)
{
    onvif_ptz_preset_t *v;
    size_t c;
    int rc = onvif_parse_ptz_presets(x, n, &v, &c, e);

    if (rc == 0)
        onvif_ptz_presets_free(v, c);
    return rc;
}

static int any_status(const char *x, size_t n, onvif_err_t *e)
{
    onvif_ptz_status_t v;

    return onvif_parse_ptz_status(x, n, &v, e);
}

static int any_nodes(const char *x, size_t n, onvif_err_t *e)
{
    onvif_ptz_node_t *v;
    size_t c;
    int rc = onvif_parse_ptz_nodes(x, n, &v, &c, e);

    if (rc == 0)
        onvif_ptz_nodes_free(v, c);
    return rc;
}

static int any_configs(const char *x, size_t n, onvif_err_t *e)
{
    onvif_ptz_configuration_t *v;
    size_t c;
    int rc = onvif_parse_ptz_configurations(x, n, &v, &c, e);

    if (rc == 0)
        onvif_ptz_configurations_free(v, c);
    return rc;
}

static int any_events(const char *x, size_t n, onvif_err_t *e)
{
    onvif_event_t *v;
    size_t c;
    int rc = onvif_parse_pull_messages(x, n, &v, &c, e);

    if (rc == 0)
        onvif_events_free(v, c);
    return rc;
}

static int any_subscription(const char *x, size_t n, onvif_err_t *e)
{
    onvif_subscription_t v;
    int rc = onvif_parse_subscription(x, n, &v, e);

    if (rc == 0)
        free(v.address);
    return rc;
}

static int any_discovery(const char *x, size_t n, onvif_err_t *e)
{
    onvif_discovered_t *v;
    size_t c;
    int kind, rc = onvif_parse_discovery(x, n, &kind, &v, &c, e);

    if (rc == 0)
        onvif_discovered_free(v, c);
    return rc;
}

static const any_parser_t any_parsers[] = {
    any_device_info, any_services, any_capabilities, any_profiles, any_uri,
    any_time, any_presets, any_status, any_nodes, any_configs, any_events,
    any_subscription, any_discovery,
};

/* Runs every parser on every file named in MANIFEST.tsv. A well-formed
 * file must never give -EBADMSG; a malformed one must give -EBADMSG
 * with a message, from every parser. Files whose only fault is an
 * undeclared namespace prefix are the exception: the parsers accept
 * them on purpose (see undeclared_prefix_tolerated). Crashes and leaks
 * show up under the sanitizers. */
static void every_file_every_parser(void **state)
{
    size_t mlen, files = 0, bad = 0;
    char *manifest = read_data("MANIFEST.tsv", &mlen);
    char *save = NULL, *line;

    for (line = strtok_r(manifest, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *tab1 = strchr(line, '\t'), *tab3;
        bool well_formed;
        size_t len, i;
        char *xml;

        if (tab1 == NULL || strncmp(line, "file\t", 5) == 0)
            continue;
        *tab1 = '\0';
        tab3 = strrchr(tab1 + 1, '\t');
        if (tab3 == NULL || strstr(line, ".xml") == NULL)
            continue;
        well_formed = strcmp(tab3 + 1, "yes") == 0;
        bad += !well_formed;
        if (strstr(tab3 + 1, "unbound prefix") != NULL)
            well_formed = true;
        xml = read_data(line, &len);
        files++;
        for (i = 0; i < sizeof(any_parsers) / sizeof(any_parsers[0]); i++) {
            onvif_err_t err = {""};
            int rc = any_parsers[i](xml, len, &err);

            if (!well_formed && rc != -EBADMSG)
                fail_msg("%s: parser %zu gave %d for a malformed file",
                         line, i, rc);
            if (well_formed && rc == -EBADMSG)
                fail_msg("%s: parser %zu rejected a well-formed file: %s",
                         line, i, err.msg);
            if (rc < 0 && err.msg[0] == '\0')
                fail_msg("%s: parser %zu failed without a message", line, i);
        }
        free(xml);
    }
    free(manifest);
    assert_true(files >= 470);
    assert_int_equal(bad, 19);
}

/* A template whose envelope prefix is never declared: its elements have
 * no namespace and match by local name. */
static void undeclared_prefix_tolerated(void **state)
{
    onvif_err_t err = {""};
    char *uri = NULL;
    size_t len;
    char *xml = read_data("agsh_onvif_v0x/GetSnapshotUri.xml", &len);

    assert_int_equal(onvif_parse_media_uri(xml, len, &uri, &err), 0);
    assert_true(strncmp(uri, "http://", 7) == 0);
    free(uri);
    free(xml);
}

/* ---- XML safety ----------------------------------------------------------- */

static void xml_bomb_rejected(void **state)
{
    static const char bomb[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        "]>\n"
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">"
        "<s:Body><GetDeviceInformationResponse><Model>&lol3;</Model>"
        "</GetDeviceInformationResponse></s:Body></s:Envelope>";
    onvif_device_info_t info;
    onvif_err_t err = {""};

    assert_int_equal(onvif_parse_device_information(bomb, strlen(bomb),
                                                    &info, &err),
                     -EBADMSG);
    assert_non_null(strstr(err.msg, "DOCTYPE"));
}

static void external_entity_rejected(void **state)
{
    static const char xxe[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">"
        "<s:Body><GetDeviceInformationResponse><Model>&x;</Model>"
        "</GetDeviceInformationResponse></s:Body></s:Envelope>";
    onvif_device_info_t info;
    onvif_err_t err = {""};

    assert_int_equal(onvif_parse_device_information(xxe, strlen(xxe), &info,
                                                    &err),
                     -EBADMSG);
    assert_non_null(strstr(err.msg, "DOCTYPE"));
}

static void undeclared_entity_not_expanded(void **state)
{
    static const char doc[] =
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">"
        "<s:Body><GetDeviceInformationResponse><Model>a&x;b</Model>"
        "</GetDeviceInformationResponse></s:Body></s:Envelope>";
    onvif_device_info_t info;
    onvif_err_t err = {""};

    assert_int_equal(onvif_parse_device_information(doc, strlen(doc), &info,
                                                    &err),
                     -EBADMSG);
}

static void wrong_response_element(void **state)
{
    onvif_profile_t *p = NULL;
    onvif_err_t err = {""};
    size_t n, len;
    char *xml = read_data("ex_onvif/get_device_information.xml", &len);

    assert_int_equal(onvif_parse_profiles(xml, len, &p, &n, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "GetDeviceInformationResponse"));
    free(xml);
}

/* ---- WS-Discovery --------------------------------------------------------- */

static void discovery_without_types(void **state)
{
    onvif_discovered_t *d = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len;
    int kind;
    char *xml = read_data("ws_discovery/python-ws-discovery_probe_"
                          "response.xml", &len);

    assert_int_equal(onvif_parse_discovery(xml, len, &kind, &d, &n, &err),
                     0);
    assert_int_equal(kind, 0);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].endpoint,
                        "urn:uuid:2419d68a-2dd2-21b2-a205-78A5DD0F9593");
    assert_null(d[0].types);
    assert_string_equal(d[0].name, "IPCAM");
    assert_string_equal(d[0].location, "country/china");
    assert_null(d[0].hardware);
    assert_string_equal(d[0].xaddr,
                        "http://192.168.1.104:80/onvif/device_service");
    onvif_discovered_free(d, n);
    free(xml);
}

static void discovery_template_scopes(void **state)
{
    onvif_discovered_t *d = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len;
    int kind;
    char *xml = read_data("ws_discovery/agsh_onvif_Probe_template.xml",
                          &len);

    assert_int_equal(onvif_parse_discovery(xml, len, &kind, &d, &n, &err),
                     0);
    assert_string_equal(d[0].name, "PREDATOR");
    assert_string_equal(d[0].hardware, "HD_PREDATOR");
    assert_string_equal(d[0].types, "dn:NetworkVideoTransmitter tds:Device");
    /* XAddrs is the placeholder "SERVICE_URI": kept, never chosen. */
    assert_int_equal(d[0].xaddr_count, 1);
    assert_null(d[0].xaddr);
    onvif_discovered_free(d, n);
    free(xml);
}

static void discovery_prefers_routable(void **state)
{
    static const char msg[] =
        "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\""
        " xmlns:w=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\""
        " xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\">"
        "<e:Body><d:Hello><w:EndpointReference><w:Address>urn:uuid:1"
        "</w:Address></w:EndpointReference>"
        "<d:Scopes>onvif://www.onvif.org/name/Gate%20Camera%20%231 "
        "onvif://www.onvif.org/hardware/IPC%2DX onvif://www.onvif.org/"
        "location/city/Z%C3%BCrich</d:Scopes>"
        "<d:XAddrs>http://169.254.3.4/onvif/device_service "
        "http://[fe80::1]/onvif/device_service "
        "https://10.1.2.3/onvif/device_service "
        "http://[fd00::7]/onvif/device_service "
        "http://10.1.2.3/onvif/device_service</d:XAddrs>"
        "</d:Hello></e:Body></e:Envelope>";
    onvif_discovered_t *d = NULL;
    onvif_err_t err = {""};
    size_t n = 0;
    int kind;

    assert_int_equal(onvif_parse_discovery(msg, strlen(msg), &kind, &d, &n,
                                           &err), 0);
    assert_int_equal(kind, 1);
    assert_int_equal(d[0].xaddr_count, 5);
    assert_string_equal(d[0].xaddr, "http://10.1.2.3/onvif/device_service");
    assert_string_equal(d[0].name, "Gate Camera #1");
    assert_string_equal(d[0].hardware, "IPC-X");
    assert_string_equal(d[0].location, "city/Z\xc3\xbcrich");
    onvif_discovered_free(d, n);
}

static void discovery_link_local_only(void **state)
{
    static const char msg[] =
        "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\""
        " xmlns:w=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\""
        " xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\">"
        "<e:Body><d:Bye><w:EndpointReference><w:Address>urn:uuid:2"
        "</w:Address></w:EndpointReference>"
        "<d:XAddrs>http://[fe80::1]/onvif/device_service "
        "http://[2001:db8::5]/onvif/device_service</d:XAddrs>"
        "</d:Bye></e:Body></e:Envelope>";
    onvif_discovered_t *d = NULL;
    onvif_err_t err = {""};
    size_t n = 0;
    int kind;

    assert_int_equal(onvif_parse_discovery(msg, strlen(msg), &kind, &d, &n,
                                           &err), 0);
    assert_int_equal(kind, 2);
    assert_string_equal(d[0].xaddr,
                        "http://[2001:db8::5]/onvif/device_service");
    onvif_discovered_free(d, n);
}

static void discovery_copy_is_deep(void **state)
{
    onvif_discovered_t *d = NULL, *copy = NULL;
    onvif_err_t err = {""};
    size_t n = 0, len;
    int kind;
    char *xml = read_data("ws_discovery/python-ws-discovery_probe_"
                          "response.xml", &len);

    assert_int_equal(onvif_parse_discovery(xml, len, &kind, &d, &n, &err),
                     0);
    snprintf(d[0].from, sizeof(d[0].from), "192.168.1.104");
    assert_int_equal(onvif_discovered_copy(&d[0], &copy, &err), 0);
    onvif_discovered_free(d, n);
    assert_string_equal(copy->endpoint,
                        "urn:uuid:2419d68a-2dd2-21b2-a205-78A5DD0F9593");
    assert_string_equal(copy->name, "IPCAM");
    assert_null(copy->types);
    assert_int_equal(copy->xaddr_count, 1);
    assert_ptr_equal(copy->xaddr, copy->xaddrs[0]);
    assert_string_equal(copy->from, "192.168.1.104");
    onvif_discovered_free(copy, 1);
    free(xml);
}

/* ---- HTTP ----------------------------------------------------------------- */

static void http_content_length(void **state)
{
    static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: application/"
                            "soap+xml\r\nContent-Length: 5\r\n\r\nhello";
    onvif_http_response_t resp;
    onvif_err_t err = {""};

    assert_int_equal(onvif_http_response_parse(r, strlen(r) - 1, false,
                                               &resp, &err), -EAGAIN);
    assert_int_equal(onvif_http_response_parse(r, strlen(r), false, &resp,
                                               &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "hello");
    assert_string_equal(resp.content_type, "application/soap+xml");
    onvif_http_response_clear(&resp);
    assert_int_equal(onvif_http_response_parse(r, strlen(r) - 1, true,
                                               &resp, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "closed"));
}

static void http_chunked(void **state)
{
    static const char r[] = "HTTP/1.1 500 Internal\r\nTransfer-Encoding: "
                            "chunked\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n"
                            "0\r\n\r\n";
    onvif_http_response_t resp;
    onvif_err_t err = {""};

    assert_int_equal(onvif_http_response_parse(r, strlen(r) - 2, false,
                                               &resp, &err), -EAGAIN);
    assert_int_equal(onvif_http_response_parse(r, strlen(r), false, &resp,
                                               &err), 0);
    assert_int_equal(resp.status, 500);
    assert_string_equal(resp.body, "abcdefg");
    assert_int_equal(resp.body_len, 7);
    onvif_http_response_clear(&resp);
}

static void http_until_close_and_digest(void **state)
{
    static const char r[] = "HTTP/1.0 401 Unauthorized\nWWW-Authenticate: "
                            "Basic realm=\"x\"\nWWW-Authenticate: Digest "
                            "realm=\"cam\", nonce=\"n1\", qop=\"auth\"\n\n"
                            "denied";
    onvif_http_response_t resp;
    onvif_err_t err = {""};

    assert_int_equal(onvif_http_response_parse(r, strlen(r), false, &resp,
                                               &err), -EAGAIN);
    assert_int_equal(onvif_http_response_parse(r, strlen(r), true, &resp,
                                               &err), 0);
    assert_int_equal(resp.status, 401);
    assert_string_equal(resp.body, "denied");
    assert_string_equal(resp.www_authenticate,
                        "Digest realm=\"cam\", nonce=\"n1\", qop=\"auth\"");
    onvif_http_response_clear(&resp);
}

static void http_malformed(void **state)
{
    static const char *bad[] = {
        "HTTP/1.1 abc\r\n\r\n",
        "SIP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nContent-Length: 4x\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "fffffffff\r\n",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        onvif_http_response_t resp;
        onvif_err_t err = {""};
        int rc = onvif_http_response_parse(bad[i], strlen(bad[i]), true,
                                           &resp, &err);

        if (rc != -EBADMSG)
            fail_msg("case %zu: got %d", i, rc);
        assert_true(err.msg[0] != '\0');
    }
}

static void http_header_too_long(void **state)
{
    size_t len = 70000;
    char *r = malloc(len);
    onvif_http_response_t resp;
    onvif_err_t err = {""};

    assert_non_null(r);
    memset(r, 'a', len);
    memcpy(r, "HTTP/1.1 200 OK\r\nX-Pad: ", 25);
    assert_int_equal(onvif_http_response_parse(r, 60000, false, &resp,
                                               &err), -EAGAIN);
    assert_int_equal(onvif_http_response_parse(r, len, false, &resp, &err),
                     -EBADMSG);
    assert_non_null(strstr(err.msg, "65536"));
    free(r);
}

/* RFC 2617, section 3.5 (qop=auth, MD5). */
static void http_digest_rfc2617(void **state)
{
    static const char chal[] =
        "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
        "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
        "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    onvif_err_t err = {""};
    char *out = NULL;

    assert_int_equal(onvif_http_digest_cnonce(chal, "GET",
                                              "/dir/index.html", "Mufasa",
                                              "Circle Of Life", "0a4f113b",
                                              &out, &err), 0);
    assert_non_null(strstr(out,
                           "response=\"6629fae49393a05397450978507c4ef1\""));
    assert_non_null(strstr(out,
                           "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    assert_non_null(strstr(out, "nc=00000001"));
    free(out);
}

static void url_parse_forms(void **state)
{
    onvif_url_t u;
    onvif_err_t err = {""};

    assert_int_equal(onvif_url_parse("http://10.0.0.5/onvif/device_service",
                                     &u, &err), 0);
    assert_false(u.tls);
    assert_string_equal(u.host, "10.0.0.5");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/onvif/device_service");
    assert_int_equal(onvif_url_parse("https://[fd00::5]:8443", &u, &err), 0);
    assert_true(u.tls);
    assert_string_equal(u.host, "fd00::5");
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.path, "/");
    assert_int_equal(onvif_url_parse("rtsp://x/", &u, &err), -EINVAL);
    assert_int_equal(onvif_url_parse("http://x:0/", &u, &err), -EINVAL);
    assert_int_equal(onvif_url_parse("http://u:p@x/", &u, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "credentials"));
}

/* ---- WS-UsernameToken ----------------------------------------------------- */

/* Expected digest computed independently with Python's hashlib:
 * base64(sha1(bytes(range(16)) + b"2024-07-09T19:49:06Z" + b"secret")). */
static void wsse_password_digest(void **state)
{
    unsigned char nonce[16];
    onvif_err_t err = {""};
    char *hdr = NULL;
    int i;

    for (i = 0; i < 16; i++)
        nonce[i] = (unsigned char)i;
    assert_int_equal(onvif_wsse_header("admin", "secret", 1720554546, nonce,
                                       &hdr, &err), 0);
    assert_non_null(strstr(hdr, ">l1QNzXb5k4GLVsm1rhJrDuYpeno=<"));
    assert_non_null(strstr(hdr, ">AAECAwQFBgcICQoLDA0ODw==<"));
    assert_non_null(strstr(hdr, "<wsu:Created>2024-07-09T19:49:06Z<"));
    assert_non_null(strstr(hdr, "<wsse:Username>admin<"));
    free(hdr);

    /* A user name with markup is escaped. */
    assert_int_equal(onvif_wsse_header("a<b&c", "x", 0, nonce, &hdr, &err),
                     0);
    assert_non_null(strstr(hdr, ">a&lt;b&amp;c<"));
    free(hdr);
}

/* ---- URI rewriting -------------------------------------------------------- */

static void uri_rewrite_cases(void **state)
{
    static const struct {
        const char *uri, *camera, *out;
        bool rewritten;
    } cases[] = {
        {"rtsp://0.0.0.0:554/live", "10.0.0.5", "rtsp://10.0.0.5:554/live",
         true},
        {"rtsp://127.0.0.1/ch1", "10.0.0.5", "rtsp://10.0.0.5/ch1", true},
        {"rtsp://localhost/ch1", "10.0.0.5", "rtsp://10.0.0.5/ch1", true},
        {"rtsp://u:p@192.168.1.10:8554/a?b=c", "10.0.0.5",
         "rtsp://u:p@10.0.0.5:8554/a?b=c", true},
        {"rtsp://10.0.0.5/same", "10.0.0.5", "rtsp://10.0.0.5/same", false},
        {"rtsp://162.191.54.181/media", "10.0.0.5",
         "rtsp://162.191.54.181/media", false},
        {"rtsp://cam.example/media", "10.0.0.5", "rtsp://cam.example/media",
         false},
        {"rtsp://192.168.1.10/a", "cam.site.lan", "rtsp://192.168.1.10/a",
         false},
        {"rtsp://[::]/a", "fd00::5", "rtsp://[fd00::5]/a", true},
        {"rtsp://[fe80::1]:554/a", "10.0.0.5", "rtsp://10.0.0.5:554/a",
         true},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        onvif_err_t err = {""};
        char *out = NULL;
        bool rewritten = !cases[i].rewritten;

        assert_int_equal(onvif_uri_rewrite(cases[i].uri, cases[i].camera,
                                           &out, &rewritten, &err), 0);
        if (strcmp(out, cases[i].out) != 0)
            fail_msg("%s via %s: got %s, expected %s", cases[i].uri,
                     cases[i].camera, out, cases[i].out);
        assert_int_equal(rewritten, cases[i].rewritten);
        free(out);
    }
}

static void uri_rewrite_invalid(void **state)
{
    onvif_err_t err = {""};
    char *out = NULL;
    bool rewritten;

    assert_int_equal(onvif_uri_rewrite("no scheme", "10.0.0.5", &out,
                                       &rewritten, &err), -EINVAL);
    assert_null(out);
    assert_non_null(strstr(err.msg, "no scheme"));
    assert_int_equal(onvif_uri_rewrite("rtsp://[::1/x", "10.0.0.5", &out,
                                       &rewritten, &err), -EINVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_information_every_vendor),
        cmocka_unit_test(services_hikvision_oem),
        cmocka_unit_test(capabilities_dahua_and_dlink),
        cmocka_unit_test(profiles_media1_every_vendor),
        cmocka_unit_test(profiles_media2_encoder),
        cmocka_unit_test(profiles_media2_without_configs),
        cmocka_unit_test(profiles_capture_with_log_lines),
        cmocka_unit_test(media_uri_every_vendor),
        cmocka_unit_test(media_uri_dahua_pretty_printed),
        cmocka_unit_test(system_date_and_time_axis),
        cmocka_unit_test(system_date_and_time_every_vendor),
        cmocka_unit_test(invalid_date_and_time_rejected),
        cmocka_unit_test(ptz_presets_hikvision_oem),
        cmocka_unit_test(ptz_presets_every_vendor),
        cmocka_unit_test(ptz_presets_unclosed_security),
        cmocka_unit_test(ptz_status_position),
        cmocka_unit_test(ptz_nodes_and_configurations),
        cmocka_unit_test(ptz_set_preset_token),
        cmocka_unit_test(pull_messages_kinds),
        cmocka_unit_test(pull_point_subscription),
        cmocka_unit_test(faults_map_to_codes),
        cmocka_unit_test(fault_reason_in_message),
        cmocka_unit_test(every_file_every_parser),
        cmocka_unit_test(undeclared_prefix_tolerated),
        cmocka_unit_test(xml_bomb_rejected),
        cmocka_unit_test(external_entity_rejected),
        cmocka_unit_test(undeclared_entity_not_expanded),
        cmocka_unit_test(wrong_response_element),
        cmocka_unit_test(discovery_without_types),
        cmocka_unit_test(discovery_template_scopes),
        cmocka_unit_test(discovery_prefers_routable),
        cmocka_unit_test(discovery_link_local_only),
        cmocka_unit_test(discovery_copy_is_deep),
        cmocka_unit_test(http_content_length),
        cmocka_unit_test(http_chunked),
        cmocka_unit_test(http_until_close_and_digest),
        cmocka_unit_test(http_malformed),
        cmocka_unit_test(http_header_too_long),
        cmocka_unit_test(http_digest_rfc2617),
        cmocka_unit_test(url_parse_forms),
        cmocka_unit_test(wsse_password_digest),
        cmocka_unit_test(uri_rewrite_cases),
        cmocka_unit_test(uri_rewrite_invalid),
    };

    return UNIT_RUN("onvif_parse", tests, NULL, NULL, argc, argv);
}
