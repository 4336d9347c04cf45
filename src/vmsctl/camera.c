/*
 * `vmsctl camera add|list|show|set|rm`: camera management through
 * /api/v1/cameras.
 *
 * Passwords are read from a file or standard input, never from the
 * command line where other local users could read them in the process
 * list, and they are never printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/cli.h"
#include "vmsctl/secret.h"

/* Maximum size of a password file or standard input. The daemon
 * applies its own, smaller, limit. */
#define CAMERA_PASSWORD_READ_MAX 1024

static const char camera_usage[] =
    "Usage: vmsctl camera COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  add     add a camera and print its id\n"
    "  list    list the cameras with the state of their main stream\n"
    "  show    show one camera and both of its streams\n"
    "  set     change a camera\n"
    "  rm      remove a camera\n"
    "\n"
    "Run 'vmsctl camera COMMAND --help' for the options of a command.\n";

static const char camera_add_usage[] =
    "Usage: vmsctl camera add --name NAME --main URL [OPTIONS]\n"
    "\n"
    "Adds a camera and prints its id.\n"
    "\n"
    "  --name NAME           name shown to operators (required)\n"
    "  --main URL            rtsp:// or rtsps:// URL of the main stream "
    "(required)\n"
    "  --sub URL             URL of the lower-resolution sub stream\n"
    "  --user USER           user name for the camera's RTSP server\n"
    "  --password-file FILE  read the camera password from FILE\n"
    "  --password-stdin      read the camera password from standard input\n"
    "  --udp                 receive RTP over UDP instead of TCP\n"
    "  --disabled            add the camera without starting its streams\n"
    "  --json                print the whole new camera as JSON\n"
    "\n"
    "URLs must not contain a password: pass it with --password-file or\n"
    "--password-stdin, because other users can read command lines.\n";

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

static const char camera_set_usage[] =
    "Usage: vmsctl camera set ID [OPTIONS]\n"
    "\n"
    "Changes the given settings of a camera and restarts its streams.\n"
    "\n"
    "  --name NAME           new name\n"
    "  --main URL            new main stream URL\n"
    "  --sub URL             new sub stream URL; \"\" removes the sub "
    "stream\n"
    "  --user USER           new user name; \"\" removes it\n"
    "  --password-file FILE  read the new password from FILE\n"
    "  --password-stdin      read the new password from standard input\n"
    "  --no-password         remove the password\n"
    "  --tcp | --udp         receive RTP over TCP or UDP\n"
    "  --enable | --disable  start or stop recording the camera\n"
    "  --json                print the changed camera as JSON\n";

static const char camera_rm_usage[] =
    "Usage: vmsctl camera rm ID\n"
    "\n"
    "Removes a camera and stops its streams.\n";

/* Options shared by `camera add` and `camera set`. */
enum {
    CAMERA_OPT_NAME = 256,
    CAMERA_OPT_MAIN,
    CAMERA_OPT_SUB,
    CAMERA_OPT_USER,
    CAMERA_OPT_PASSWORD_FILE,
    CAMERA_OPT_PASSWORD_STDIN,
    CAMERA_OPT_NO_PASSWORD,
    CAMERA_OPT_TCP,
    CAMERA_OPT_UDP,
    CAMERA_OPT_ENABLE,
    CAMERA_OPT_DISABLE,
    CAMERA_OPT_JSON,
    CAMERA_OPT_HELP
};

static const struct option camera_options[] = {
    {"name", required_argument, NULL, CAMERA_OPT_NAME},
    {"main", required_argument, NULL, CAMERA_OPT_MAIN},
    {"sub", required_argument, NULL, CAMERA_OPT_SUB},
    {"user", required_argument, NULL, CAMERA_OPT_USER},
    {"password-file", required_argument, NULL, CAMERA_OPT_PASSWORD_FILE},
    {"password-stdin", no_argument, NULL, CAMERA_OPT_PASSWORD_STDIN},
    {"no-password", no_argument, NULL, CAMERA_OPT_NO_PASSWORD},
    {"tcp", no_argument, NULL, CAMERA_OPT_TCP},
    {"udp", no_argument, NULL, CAMERA_OPT_UDP},
    {"enable", no_argument, NULL, CAMERA_OPT_ENABLE},
    {"disable", no_argument, NULL, CAMERA_OPT_DISABLE},
    {"disabled", no_argument, NULL, CAMERA_OPT_DISABLE},
    {"json", no_argument, NULL, CAMERA_OPT_JSON},
    {"help", no_argument, NULL, CAMERA_OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Settings given to `camera add` or `camera set`, NULL or -1 when not
 * given. */
typedef struct camera_args {
    const char *name;
    const char *main_url;
    const char *sub_url;
    const char *user;
    const char *password_file;
    int password_stdin;
    int no_password;
    const char *transport;
    int enabled;
    int json;
    int help;
} camera_args_t;

/* Returns whether an RTSP URL carries "user:password@", which would put
 * the password on the command line. */
static int camera_url_has_password(const char *url)
{
    const char *authority = strstr(url, "://");
    const char *end;
    const char *at;

    if (!authority)
        return 0;
    authority += 3;
    end = authority + strcspn(authority, "/?#");
    at = memrchr(authority, '@', (size_t)(end - authority));
    return at && memchr(authority, ':', (size_t)(at - authority)) != NULL;
}

/* Rejects two options of a pair given together. */
static int camera_conflict(const char *command, const char *first,
                           const char *second, const char *usage)
{
    vmsctl_error(command, "%s and %s cannot be used together", first,
                 second);
    fputs(usage, stderr);
    return VMSCTL_EXIT_USAGE;
}

/*
 * Reads the options of `camera add` or `camera set` into args and stops
 * at the first operand, which stays at argv[optind]. Returns 0 or an
 * exit status.
 */
static int camera_parse_options(const char *command, int argc, char **argv,
                                const char *usage, camera_args_t *args)
{
    int opt;

    memset(args, 0, sizeof(*args));
    args->enabled = -1;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", camera_options, NULL)) !=
           -1) {
        switch (opt) {
        case CAMERA_OPT_NAME:
            args->name = optarg;
            break;
        case CAMERA_OPT_MAIN:
            args->main_url = optarg;
            break;
        case CAMERA_OPT_SUB:
            args->sub_url = optarg;
            break;
        case CAMERA_OPT_USER:
            args->user = optarg;
            break;
        case CAMERA_OPT_PASSWORD_FILE:
            args->password_file = optarg;
            break;
        case CAMERA_OPT_PASSWORD_STDIN:
            args->password_stdin = 1;
            break;
        case CAMERA_OPT_NO_PASSWORD:
            args->no_password = 1;
            break;
        case CAMERA_OPT_TCP:
        case CAMERA_OPT_UDP:
            if (args->transport && strcmp(args->transport,
                                          opt == CAMERA_OPT_TCP ? "tcp"
                                                                : "udp"))
                return camera_conflict(command, "--tcp", "--udp", usage);
            args->transport = opt == CAMERA_OPT_TCP ? "tcp" : "udp";
            break;
        case CAMERA_OPT_ENABLE:
        case CAMERA_OPT_DISABLE:
            if (args->enabled == (opt == CAMERA_OPT_DISABLE))
                return camera_conflict(command, "--enable", "--disable",
                                       usage);
            args->enabled = opt == CAMERA_OPT_ENABLE;
            break;
        case CAMERA_OPT_JSON:
            args->json = 1;
            break;
        case 'h':
        case CAMERA_OPT_HELP:
            args->help = 1;
            break;
        default:
            return vmsctl_option_error(command, opt, argv, usage);
        }
    }
    if (args->password_file && args->password_stdin)
        return camera_conflict(command, "--password-file",
                               "--password-stdin", usage);
    if (args->no_password && (args->password_file || args->password_stdin))
        return camera_conflict(command, "--no-password",
                               args->password_file ? "--password-file"
                                                   : "--password-stdin",
                               usage);
    return 0;
}

/* Checks that neither URL carries a password. */
static int camera_check_urls(const char *command, const camera_args_t *args,
                             const char *usage)
{
    const char *option = NULL;

    if (args->main_url && camera_url_has_password(args->main_url))
        option = "--main";
    else if (args->sub_url && camera_url_has_password(args->sub_url))
        option = "--sub";
    if (!option)
        return 0;
    vmsctl_error(command,
                 "the %s URL contains a password, which other users can "
                 "read in the process list: remove 'user:password@' from "
                 "the URL, pass the user with --user and the password with "
                 "--password-file or --password-stdin",
                 option);
    fputs(usage, stderr);
    return VMSCTL_EXIT_USAGE;
}

/*
 * Builds the JSON object of the settings in args, reading the password
 * if one was named. Returns 0 or an exit status.
 */
static int camera_build_body(const char *command, const camera_args_t *args,
                             json_t **out)
{
    char password[CAMERA_PASSWORD_READ_MAX];
    json_t *body = json_object();
    int rc = VMSCTL_EXIT_FAILURE;

    if (!body)
        return VMSCTL_EXIT_FAILURE;
    if (args->name)
        json_object_set_new(body, "name", json_string(args->name));
    if (args->main_url)
        json_object_set_new(body, "main_url", json_string(args->main_url));
    if (args->sub_url)
        json_object_set_new(body, "sub_url", json_string(args->sub_url));
    if (args->user)
        json_object_set_new(body, "username", json_string(args->user));
    if (args->transport)
        json_object_set_new(body, "transport", json_string(args->transport));
    if (args->enabled >= 0)
        json_object_set_new(body, "enabled", json_boolean(args->enabled));
    if (args->no_password)
        json_object_set_new(body, "password", json_string(""));
    if (args->password_file || args->password_stdin) {
        if (vmsctl_secret_read(command, "password", args->password_file,
                               password, sizeof(password)) < 0)
            goto fail;
        /* json_string() rejects invalid UTF-8, which the daemon's JSON
         * parser would reject too. */
        if (json_object_set_new(body, "password", json_string(password)) <
            0) {
            vmsctl_error(command, "the password is not valid UTF-8");
            goto fail;
        }
    }
    *out = body;
    body = NULL;
    rc = 0;
fail:
    explicit_bzero(password, sizeof(password));
    json_decref(body);
    return rc;
}

static int camera_add(const vmsctl_client_t *client, int argc, char **argv)
{
    const char *command = "camera add";
    camera_args_t args;
    json_t *body = NULL;
    json_t *camera = NULL;
    char err[2048];
    int status;
    int rc = camera_parse_options(command, argc, argv, camera_add_usage,
                                  &args);

    if (rc)
        return rc;
    if (args.help) {
        fputs(camera_add_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    if (optind < argc) {
        vmsctl_error(command, "unexpected argument '%s'", argv[optind]);
        fputs(camera_add_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    if (!args.name || !args.main_url) {
        vmsctl_error(command, "missing %s: a camera needs a name and a "
                              "main stream URL",
                     !args.name ? "--name" : "--main");
        fputs(camera_add_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    if (args.no_password) {
        vmsctl_error(command, "--no-password applies to 'camera set' only");
        fputs(camera_add_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    rc = camera_check_urls(command, &args, camera_add_usage);
    if (rc)
        return rc;
    rc = camera_build_body(command, &args, &body);
    if (rc)
        return rc;
    rc = vmsctl_client_call(client, "POST", "/cameras", body, &camera,
                            &status, err, sizeof(err));
    json_decref(body);
    if (rc < 0)
        return vmsctl_call_failed(command, err);
    if (args.json)
        vmsctl_print_json(camera);
    else if (json_is_integer(json_object_get(camera, "id")))
        printf("%lld\n",
               (long long)json_integer_value(json_object_get(camera, "id")));
    else
        rc = vmsctl_call_failed(command,
                                "the daemon's response has no camera id");
    json_decref(camera);
    return rc < 0 ? VMSCTL_EXIT_FAILURE : rc;
}

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
        {"avc1", "h264"}, {"avc3", "h264"}, {"hvc1", "h265"},
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
        len += (size_t)snprintf(buf + len, cap - len, "%s%.*s",
                                len ? "+" : "", name_len,
                                name ? name : codecs);
        codecs += n;
        while (*codecs == ',' || *codecs == ' ')
            codecs++;
    }
}

/* Formats "1280x720" or "-" for a stream object. */
static void camera_format_resolution(json_t *stream, char *buf, size_t cap)
{
    json_int_t width = json_integer_value(json_object_get(stream, "width"));
    json_int_t height = json_integer_value(json_object_get(stream,
                                                           "height"));

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
    json_t *stream = json_object_get(json_object_get(camera, "streams"),
                                     "main");
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
static int camera_parse_json_flag(const char *command, int argc,
                                  char **argv, const char *usage, int *json,
                                  int *help)
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

static int camera_list(const vmsctl_client_t *client, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "NAME", "STATE", "CODEC",
                                          "RESOLUTION", "FPS", "ERROR"};
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
    rc = vmsctl_client_call(client, "GET", "/cameras", NULL, &cameras,
                            &status, err, sizeof(err));
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
    json_array_foreach(cameras, i, camera) {
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
    json_t *stream = json_object_get(json_object_get(camera, "streams"),
                                     name);
    json_int_t last_frame = json_integer_value(json_object_get(
        stream, "last_frame_us"));
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
        camera_print_field("  audio",
                           json_is_true(json_object_get(stream, "has_audio"))
                               ? "yes"
                               : "no");
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
                       json_is_true(json_object_get(camera, "enabled"))
                           ? "yes"
                           : "no");
    camera_print_field("main URL", vmsctl_json_text(camera, "main_url", "-"));
    camera_print_field("sub URL", vmsctl_json_text(camera, "sub_url", "-"));
    camera_print_field("user", vmsctl_json_text(camera, "username", "-"));
    camera_print_field("password",
                       json_is_true(json_object_get(camera, "password_set"))
                           ? "set"
                           : "not set");
    camera_print_field("transport",
                       vmsctl_json_text(camera, "transport", "-"));
    camera_print_stream(camera, "main");
    if (json_object_get(json_object_get(camera, "streams"), "sub") ||
        vmsctl_json_text(camera, "sub_url", NULL))
        camera_print_stream(camera, "sub");
}

/* Reads the ID operand of show, set and rm. */
static int camera_take_id(const char *command, int argc, char **argv,
                          const char *usage, int64_t *id)
{
    if (optind >= argc) {
        vmsctl_error(command, "missing camera ID");
        fputs(usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    if (vmsctl_parse_id(argv[optind], id) < 0) {
        vmsctl_error(command, "invalid camera ID '%s': expected a positive "
                              "integer, as listed by 'vmsctl camera list'",
                     argv[optind]);
        fputs(usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        vmsctl_error(command, "unexpected argument '%s'", argv[optind + 1]);
        fputs(usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    return 0;
}

static int camera_show(const vmsctl_client_t *client, int argc, char **argv)
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
    rc = camera_take_id(command, argc, argv, camera_show_usage, &id);
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

static int camera_set(const vmsctl_client_t *client, int argc, char **argv)
{
    const char *command = "camera set";
    camera_args_t args;
    json_t *body = NULL;
    json_t *camera = NULL;
    char path[64];
    char err[2048];
    int64_t id;
    int status;
    int rc = camera_parse_options(command, argc, argv, camera_set_usage,
                                  &args);

    if (rc)
        return rc;
    if (args.help) {
        fputs(camera_set_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    rc = camera_take_id(command, argc, argv, camera_set_usage, &id);
    if (rc)
        return rc;
    rc = camera_check_urls(command, &args, camera_set_usage);
    if (rc)
        return rc;
    rc = camera_build_body(command, &args, &body);
    if (rc)
        return rc;
    if (json_object_size(body) == 0) {
        json_decref(body);
        vmsctl_error(command, "nothing to change: give at least one "
                              "setting");
        fputs(camera_set_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    snprintf(path, sizeof(path), "/cameras/%lld", (long long)id);
    rc = vmsctl_client_call(client, "PATCH", path, body, &camera, &status,
                            err, sizeof(err));
    json_decref(body);
    if (rc < 0)
        return vmsctl_call_failed(command, err);
    if (args.json)
        vmsctl_print_json(camera);
    else
        printf("camera %lld updated\n", (long long)id);
    json_decref(camera);
    return VMSCTL_EXIT_OK;
}

static int camera_rm(const vmsctl_client_t *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *command = "camera rm";
    json_t *reply = NULL;
    char path[64];
    char err[2048];
    int64_t id;
    int status;
    int opt;
    int rc;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (opt != 'h')
            return vmsctl_option_error(command, opt, argv, camera_rm_usage);
        fputs(camera_rm_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    rc = camera_take_id(command, argc, argv, camera_rm_usage, &id);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "/cameras/%lld", (long long)id);
    rc = vmsctl_client_call(client, "DELETE", path, NULL, &reply, &status,
                            err, sizeof(err));
    json_decref(reply);
    if (rc < 0)
        return vmsctl_call_failed(command, err);
    printf("camera %lld removed\n", (long long)id);
    return VMSCTL_EXIT_OK;
}

int vmsctl_camera_main(const vmsctl_client_t *client, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(const vmsctl_client_t *, int, char **);
    } commands[] = {
        {"add", camera_add},   {"list", camera_list}, {"ls", camera_list},
        {"show", camera_show}, {"set", camera_set},   {"rm", camera_rm},
        {"remove", camera_rm},
    };

    if (argc < 2) {
        vmsctl_error("camera", "missing command");
        fputs(camera_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(camera_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(client, argc - 1, argv + 1);
    vmsctl_error("camera", "unknown command '%s'", argv[1]);
    fputs(camera_usage, stderr);
    return VMSCTL_EXIT_USAGE;
}
