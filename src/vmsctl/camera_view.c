/*
 * `vmsctl camera list` and `vmsctl camera show`: the camera table and
 * the detail view of one camera with both of its streams.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/camera.h"
#include "vmsctl/cli.h"

static const char camera_list_usage[] =
    "Usage: vmsctl camera list [--json]\n"
    "\n"
    "Lists the cameras: id, name, and the state, codec, resolution,\n"
    "frame rate and last error of each main stream.\n"
    "\n"
    "  --json   print the daemon's JSON instead of a table\n";

static const char camera_show_usage[] =
    "Usage: vmsctl camera show ID [--json]\n"
    "\n"
    "Shows a camera's settings and the state and counters of its\n"
    "streams. The password is never shown.\n"
    "\n"
    "  --json   print the daemon's JSON\n";

/*
 * Formats the RFC 6381 codecs string of a stream, such as
 * "avc1.428016,mp4a.40.2", as codec names such as "h264+aac", or "-".
 */
static void camera_format_codec(json_t *stream, char *buf, size_t cap)
{
    static const struct {
        const char *prefix;
        const char *name;
    } names[] = {
        {"avc1", "h264"}, {"avc3", "h264"},   {"hvc1", "h265"},
        {"hev1", "h265"}, {"mp4a.40", "aac"}, {"Opus", "opus"},
        {"av01", "av1"},  {"vp09", "vp9"},
    };
    const char *codecs = vmsctl_json_text(stream, "codec", NULL);
    size_t len = 0;

    snprintf(buf, cap, "-");
    while (codecs && *codecs && len + 1 < cap) {
        size_t n = strcspn(codecs, ",");
        const char *name = NULL;
        int name_len;

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            size_t p = strlen(names[i].prefix);

            if (n >= p && strncmp(codecs, names[i].prefix, p) == 0 &&
                (n == p || codecs[p] == '.'))
                name = names[i].name;
        }
        name_len = name ? (int)strlen(name) : (int)n;
        len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", len ? "+" : "",
                                name_len, name ? name : codecs);
        codecs += n;
        while (*codecs == ',' || *codecs == ' ')
            codecs++;
    }
}

/* Formats "1280x720" or "-" for a stream object. */
static void camera_format_resolution(json_t *stream, char *buf, size_t cap)
{
    json_int_t width = json_integer_value(json_object_get(stream, "width"));
    json_int_t height = json_integer_value(json_object_get(stream, "height"));

    if (width > 0 && height > 0)
        snprintf(buf, cap, "%lldx%lld", (long long)width, (long long)height);
    else
        snprintf(buf, cap, "-");
}

/* Formats a frame rate such as "25" or "29.97", or "-". */
static void camera_format_fps(json_t *stream, char *buf, size_t cap)
{
    double fps = json_number_value(json_object_get(stream, "fps"));

    if (fps > 0)
        snprintf(buf, cap, "%.4g", fps);
    else
        snprintf(buf, cap, "-");
}

/* Returns the state shown for a stream: "disabled" for a disabled
 * camera, whose streams the daemon reports as stopped, otherwise the
 * daemon's state. */
static const char *camera_state(json_t *camera, json_t *stream)
{
    if (json_is_false(json_object_get(camera, "enabled")))
        return "disabled";
    return vmsctl_json_text(stream, "state", "-");
}

/* Adds the table row of one camera. */
static int camera_list_row(vmsctl_table_t *table, json_t *camera)
{
    json_t *stream =
        json_object_get(json_object_get(camera, "streams"), "main");
    char id[32];
    char codec[64];
    char resolution[48];
    char fps[32];
    const char *cells[7];

    snprintf(id, sizeof(id), "%lld",
             (long long)json_integer_value(json_object_get(camera, "id")));
    camera_format_codec(stream, codec, sizeof(codec));
    camera_format_resolution(stream, resolution, sizeof(resolution));
    camera_format_fps(stream, fps, sizeof(fps));
    cells[0] = id;
    cells[1] = vmsctl_json_text(camera, "name", "-");
    cells[2] = camera_state(camera, stream);
    cells[3] = codec;
    cells[4] = resolution;
    cells[5] = fps;
    cells[6] = vmsctl_json_text(stream, "error", "-");
    return vmsctl_table_add(table, cells);
}

/* Parses the options of list and show, which take --json only. */
static int camera_parse_json_flag(const char *command, int argc, char **argv,
                                  const char *usage, int *json, int *help)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    *json = 0;
    *help = 0;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (opt == 'j')
            *json = 1;
        else if (opt == 'h')
            *help = 1;
        else
            return vmsctl_option_error(command, opt, argv, usage);
    }
    return 0;
}

int vmsctl_camera_list(const vmsctl_client_t *client, int argc, char **argv)
{
    static const char *const headers[] = {
        "ID", "NAME", "STATE", "CODEC", "RESOLUTION", "FPS", "ERROR"};
    const char *command = "camera list";
    vmsctl_table_t *table = NULL;
    json_t *cameras = NULL;
    json_t *camera;
    char err[2048];
    size_t i;
    int json;
    int help;
    int status;
    int rc = camera_parse_json_flag(command, argc, argv, camera_list_usage,
                                    &json, &help);

    if (rc)
        return rc;
    if (help) {
        fputs(camera_list_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    if (optind < argc) {
        vmsctl_error(command, "unexpected argument '%s'", argv[optind]);
        fputs(camera_list_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    rc = vmsctl_client_call(client, "GET", "/cameras", NULL, &cameras, &status,
                            err, sizeof(err));
    if (rc < 0)
        return vmsctl_call_failed(command, err);
    if (!json_is_array(cameras)) {
        json_decref(cameras);
        return vmsctl_call_failed(command, "the daemon's camera list is not "
                                           "a JSON array");
    }
    if (json) {
        vmsctl_print_json(cameras);
        json_decref(cameras);
        return VMSCTL_EXIT_OK;
    }
    rc = VMSCTL_EXIT_FAILURE;
    table = vmsctl_table_new(7, headers);
    if (!table)
        goto fail;
    json_array_foreach(cameras, i, camera)
    {
        if (camera_list_row(table, camera) < 0)
            goto fail;
    }
    if (json_array_size(cameras) == 0)
        printf("No cameras. Add one with 'vmsctl camera add'.\n");
    else
        vmsctl_table_print(table, stdout);
    rc = VMSCTL_EXIT_OK;
fail:
    if (rc != VMSCTL_EXIT_OK)
        vmsctl_error(command, "out of memory");
    vmsctl_table_free(table);
    json_decref(cameras);
    return rc;
}

/* Prints a "label: value" line with control characters replaced. */
static void camera_print_field(const char *label, const char *value)
{
    printf("%-22s ", label);
    for (const char *p = value; *p; p++)
        putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
    putchar('\n');
}

/* Prints an integer member of a stream object, if present. */
static void camera_print_counter(json_t *stream, const char *key,
                                 const char *label)
{
    json_t *v = json_object_get(stream, key);
    char text[32];

    if (!json_is_integer(v))
        return;
    snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
    camera_print_field(label, text);
}

/* Prints the state and counters of one stream. */
static void camera_print_stream(json_t *camera, const char *name)
{
    json_t *stream = json_object_get(json_object_get(camera, "streams"), name);
    json_int_t last_frame =
        json_integer_value(json_object_get(stream, "last_frame_us"));
    char resolution[48];
    char fps[32];
    char text[128];

    printf("\n%s stream\n", name);
    camera_print_field("  state", camera_state(camera, stream));
    if (!stream)
        return;
    camera_print_field("  error", vmsctl_json_text(stream, "error", "-"));
    if (json_is_integer(json_object_get(stream, "retry_in_ms"))) {
        snprintf(text, sizeof(text), "%lld ms",
                 (long long)json_integer_value(
                     json_object_get(stream, "retry_in_ms")));
        camera_print_field("  next retry in", text);
    }
    camera_format_codec(stream, text, sizeof(text));
    camera_print_field("  codec", text);
    camera_print_field("  RFC 6381 codecs",
                       vmsctl_json_text(stream, "codec", "-"));
    camera_format_resolution(stream, resolution, sizeof(resolution));
    camera_print_field("  resolution", resolution);
    camera_format_fps(stream, fps, sizeof(fps));
    camera_print_field("  fps", fps);
    if (json_is_boolean(json_object_get(stream, "has_audio")))
        camera_print_field(
            "  audio",
            json_is_true(json_object_get(stream, "has_audio")) ? "yes" : "no");
    if (last_frame > 0)
        vmsctl_format_time(last_frame, text, sizeof(text));
    else
        snprintf(text, sizeof(text), "-");
    camera_print_field("  last frame", text);
    camera_print_counter(stream, "frames", "  frames");
    camera_print_counter(stream, "bytes", "  bytes");
    camera_print_counter(stream, "fragments", "  fragments");
    camera_print_counter(stream, "reconnects", "  reconnects");
    camera_print_counter(stream, "timestamp_gaps", "  timestamp gaps");
    camera_print_counter(stream, "timestamps_repaired",
                         "  timestamps repaired");
    camera_print_counter(stream, "frames_dropped", "  frames dropped");
}

/* Prints a camera object as "label: value" lines. */
static void camera_print(json_t *camera)
{
    char id[32];

    snprintf(id, sizeof(id), "%lld",
             (long long)json_integer_value(json_object_get(camera, "id")));
    camera_print_field("id", id);
    camera_print_field("name", vmsctl_json_text(camera, "name", "-"));
    camera_print_field("enabled",
                       json_is_true(json_object_get(camera, "enabled")) ? "yes"
                                                                        : "no");
    camera_print_field("main URL", vmsctl_json_text(camera, "main_url", "-"));
    camera_print_field("sub URL", vmsctl_json_text(camera, "sub_url", "-"));
    camera_print_field("user", vmsctl_json_text(camera, "username", "-"));
    camera_print_field("password",
                       json_is_true(json_object_get(camera, "password_set"))
                           ? "set"
                           : "not set");
    camera_print_field("transport", vmsctl_json_text(camera, "transport", "-"));
    camera_print_stream(camera, "main");
    if (json_object_get(json_object_get(camera, "streams"), "sub") ||
        vmsctl_json_text(camera, "sub_url", NULL))
        camera_print_stream(camera, "sub");
}

int vmsctl_camera_show(const vmsctl_client_t *client, int argc, char **argv)
{
    const char *command = "camera show";
    json_t *camera = NULL;
    char path[64];
    char err[2048];
    int64_t id;
    int json;
    int help;
    int status;
    int rc = camera_parse_json_flag(command, argc, argv, camera_show_usage,
                                    &json, &help);

    if (rc)
        return rc;
    if (help) {
        fputs(camera_show_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    rc = vmsctl_take_id(command, argc, argv, camera_show_usage, &id);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "/cameras/%lld", (long long)id);
    rc = vmsctl_client_call(client, "GET", path, NULL, &camera, &status, err,
                            sizeof(err));
    if (rc < 0)
        return vmsctl_call_failed(command, err);
    if (json)
        vmsctl_print_json(camera);
    else
        camera_print(camera);
    json_decref(camera);
    return VMSCTL_EXIT_OK;
}
