/*
 * `vmsctl discover`, `vmsctl adopt` and `vmsctl ptz` through
 * /api/v1/discovery/scan, /api/v1/cameras/adopt and
 * /api/v1/cameras/ID/ptz/... The daemon sends the ONVIF requests to
 * the cameras, and vmsctl connects only to the daemon.
 *
 * The camera password is read from a file or standard input, never
 * from the command line, and it is never printed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/cli.h"
#include "vmsctl/onvif.h"
#include "vmsctl/secret.h"

/* Maximum size of a password file or standard input. The daemon
 * applies its own, smaller, limit. */
#define ONVIF_PASSWORD_READ_MAX 1024
/* Maximum number of --interface options, as the daemon accepts. */
#define ONVIF_MAX_INTERFACES 8
/* A camera clock further off than this gets a warning after adoption. */
#define ONVIF_CLOCK_WARN_S 60

static const char discover_usage[] =
    "Usage: vmsctl discover [--interface IF]... [--address HOST] "
    "[--seconds N] [--json]\n"
    "\n"
    "Asks the daemon to find ONVIF cameras with WS-Discovery and lists\n"
    "them with the camera each one is adopted as.\n"
    "\n"
    "  --interface IF   probe from this interface of the daemon's host, by\n"
    "                   name or address; repeat for several (default: the\n"
    "                   daemon's discovery_interface settings)\n"
    "  --address HOST   also send a unicast probe to HOST[:PORT]\n"
    "  --seconds N      how long to wait for replies, 0.5 to 20 seconds\n"
    "                   (default 3)\n"
    "  --json           print the daemon's JSON\n";

static const char adopt_usage[] =
    "Usage: vmsctl adopt ADDRESS --user USER (--password-file FILE | "
    "--password-stdin)\n"
    "                    [--name NAME] [--json]\n"
    "\n"
    "Adds an ONVIF camera from its device address (HOST, HOST:PORT or\n"
    "http://HOST[:PORT]/onvif/device_service, as 'vmsctl discover'\n"
    "lists it). The daemon reads the camera's identity, clock and\n"
    "profiles, records the highest-resolution stream as main and the\n"
    "lowest as sub, and prints the new camera's id.\n"
    "\n"
    "  --user USER           ONVIF user name of the camera (required)\n"
    "  --password-file FILE  read the camera password from FILE\n"
    "  --password-stdin      read the camera password from standard input\n"
    "  --name NAME           name shown to operators (default: maker,\n"
    "                        model and address)\n"
    "  --json                print the whole new camera as JSON\n";

static const char ptz_usage[] =
    "Usage: vmsctl ptz ID ACTION [OPTIONS]\n"
    "\n"
    "Moves a PTZ camera that was adopted through ONVIF.\n"
    "\n"
    "Actions:\n"
    "  move [--pan V] [--tilt V] [--zoom V] [--timeout MS]\n"
    "        move at the given speeds (-1 to 1) for MS milliseconds\n"
    "        (default 1000, at most 60000), or until 'stop'\n"
    "  move --absolute [--pan V] [--tilt V] [--zoom V] [--speed S]\n"
    "        move to a position: pan and tilt -1 to 1, zoom 0 to 1\n"
    "  move --relative [--pan V] [--tilt V] [--zoom V] [--speed S]\n"
    "        move by a translation, each axis -1 to 1\n"
    "  stop                       stop pan, tilt and zoom\n"
    "  status [--json]            show the position and movement\n"
    "  presets [--json]           list the presets\n"
    "  goto TOKEN [--speed S]     move to a preset\n"
    "  set-preset NAME [--token TOKEN]\n"
    "        store the current position as a new preset, or overwrite\n"
    "        preset TOKEN; prints the preset token\n"
    "  remove-preset TOKEN        delete a preset\n"
    "  home [--set]               move to the home position, or store the\n"
    "                             current position as home with --set\n"
    "\n"
    "--speed S sets the speed of every moving axis, 0 to 1.\n";

/* ---- discover ------------------------------------------------------ */

/* Parses a number in [lo, hi]. Returns 0 or -EINVAL. */
static int onvif_parse_number(const char *text, double lo, double hi,
                              double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Prints the devices of a scan as a table. */
static int discover_print(json_t *reply)
{
    static const char *const headers[] = {"NAME",     "ADDRESS", "HARDWARE",
                                          "LOCATION", "ADOPTED"};
    json_t *devices = json_object_get(reply, "devices");
    vmsctl_table_t *table = vmsctl_table_new(5, headers);
    json_t *d;
    size_t i;

    if (!table)
        return -ENOMEM;
    json_array_foreach(devices, i, d)
    {
        json_t *id = json_object_get(d, "camera_id");
        char adopted[40];
        const char *cells[5];

        if (json_is_integer(id))
            snprintf(adopted, sizeof(adopted), "camera %" PRId64,
                     (int64_t)json_integer_value(id));
        else
            snprintf(adopted, sizeof(adopted), "-");
        cells[0] = vmsctl_json_text(d, "name", "-");
        cells[1] = vmsctl_json_text(d, "xaddr", "-");
        cells[2] = vmsctl_json_text(d, "hardware", "-");
        cells[3] = vmsctl_json_text(d, "location", "-");
        cells[4] = adopted;
        if (vmsctl_table_add(table, cells) < 0) {
            vmsctl_table_free(table);
            return -ENOMEM;
        }
    }
    if (json_array_size(devices) > 0)
        vmsctl_table_print(table, stdout);
    vmsctl_table_free(table);
    printf("%zu device%s found in %.1f s\n", json_array_size(devices),
           json_array_size(devices) == 1 ? "" : "s",
           json_number_value(json_object_get(reply, "seconds")));
    return 0;
}

static int onvif_discover(const vmsctl_client_t *client, int argc,
                          char **argv)
{
    static const struct option options[] = {
        {"interface", required_argument, NULL, 'i'},
        {"address", required_argument, NULL, 'a'},
        {"seconds", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *command = "discover";
    json_t *body = json_object();
    json_t *ifaces = json_array();
    json_t *reply = NULL;
    char err[2048];
    double seconds;
    int json = 0;
    int status;
    int opt;
    int rc = VMSCTL_EXIT_USAGE;

    if (!body || !ifaces) {
        rc = VMSCTL_EXIT_FAILURE;
        goto out;
    }
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'i':
            if (json_array_size(ifaces) >= ONVIF_MAX_INTERFACES) {
                vmsctl_error(command, "too many --interface options: at most "
                                      "%d",
                             ONVIF_MAX_INTERFACES);
                goto usage;
            }
            json_array_append_new(ifaces, json_string(optarg));
            break;
        case 'a':
            json_object_set_new(body, "address", json_string(optarg));
            break;
        case 's':
            if (onvif_parse_number(optarg, 0.5, 20, &seconds) < 0) {
                vmsctl_error(command, "invalid --seconds '%s': expected a "
                                      "number from 0.5 to 20",
                             optarg);
                goto usage;
            }
            json_object_set_new(body, "seconds", json_real(seconds));
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(discover_usage, stdout);
            rc = VMSCTL_EXIT_OK;
            goto out;
        default:
            rc = vmsctl_option_error(command, opt, argv, discover_usage);
            goto out;
        }
    }
    if (optind < argc) {
        vmsctl_error(command, "unexpected argument '%s'", argv[optind]);
        goto usage;
    }
    if (json_array_size(ifaces) > 0)
        json_object_set(body, "interfaces", ifaces);
    rc = vmsctl_client_call(client, "POST", "/discovery/scan", body, &reply,
                            &status, err, sizeof(err));
    if (rc < 0) {
        rc = vmsctl_call_failed(command, err);
        goto out;
    }
    if (json)
        vmsctl_print_json(reply);
    else if (discover_print(reply) < 0)
        rc = vmsctl_call_failed(command, "out of memory");
    rc = rc < 0 ? VMSCTL_EXIT_FAILURE : rc;
    goto out;

usage:
    fputs(discover_usage, stderr);
    rc = VMSCTL_EXIT_USAGE;
out:
    json_decref(reply);
    json_decref(ifaces);
    json_decref(body);
    return rc;
}

/* ---- adopt --------------------------------------------------------- */

/* Prints what adoption stored and warns about a wrong camera clock. */
static void adopt_print(json_t *camera)
{
    int64_t id = (int64_t)json_integer_value(json_object_get(camera, "id"));
    int64_t offset =
        (int64_t)json_integer_value(json_object_get(camera, "time_offset_s"));

    printf("%" PRId64 "\n", id);
    fprintf(stderr, "camera %" PRId64 " adopted: %s %s, firmware %s\n", id,
            vmsctl_json_text(camera, "manufacturer", "?"),
            vmsctl_json_text(camera, "model", "?"),
            vmsctl_json_text(camera, "firmware", "?"));
    if (offset > ONVIF_CLOCK_WARN_S || offset < -ONVIF_CLOCK_WARN_S)
        fprintf(stderr,
                "warning: the camera clock is %" PRId64 " s %s the "
                "recorder's; set it with POST /api/v1/cameras/%" PRId64
                "/time\n",
                offset < 0 ? -offset : offset,
                offset < 0 ? "behind" : "ahead of", id);
}

static int onvif_adopt(const vmsctl_client_t *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"user", required_argument, NULL, 'u'},
        {"password-file", required_argument, NULL, 'f'},
        {"password-stdin", no_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *command = "adopt";
    const char *user = NULL;
    const char *password_file = NULL;
    const char *name = NULL;
    char password[ONVIF_PASSWORD_READ_MAX];
    json_t *body = NULL;
    json_t *camera = NULL;
    char err[2048];
    int password_stdin = 0;
    int json = 0;
    int status;
    int opt;
    int rc;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'u':
            user = optarg;
            break;
        case 'f':
            password_file = optarg;
            break;
        case 's':
            password_stdin = 1;
            break;
        case 'n':
            name = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(adopt_usage, stdout);
            return VMSCTL_EXIT_OK;
        default:
            return vmsctl_option_error(command, opt, argv, adopt_usage);
        }
    }
    if (optind >= argc)
        return vmsctl_usage_error(command, adopt_usage,
                                  "missing ADDRESS: give the camera's address "
                                  "as 'vmsctl discover' lists it");
    if (optind + 1 < argc)
        return vmsctl_usage_error(command, adopt_usage,
                                  "unexpected argument '%s'", argv[optind + 1]);
    if (!user)
        return vmsctl_usage_error(command, adopt_usage,
                                  "missing --user: give the camera's ONVIF "
                                  "user name");
    if (!!password_file == !!password_stdin)
        return vmsctl_usage_error(
            command, adopt_usage, "%s",
            password_file ? "--password-file and --password-stdin cannot be "
                            "used together"
                          : "missing password: give --password-file or "
                            "--password-stdin");
    if (vmsctl_secret_read(command, "password", password_file, password,
                           sizeof(password)) < 0)
        return VMSCTL_EXIT_FAILURE;
    body = json_pack("{s:s, s:s}", "address", argv[optind], "username", user);
    rc = VMSCTL_EXIT_FAILURE;
    if (!body || json_object_set_new(body, "password",
                                     json_string(password)) < 0) {
        vmsctl_error(command, "the password or an argument is not valid "
                              "UTF-8");
        goto out;
    }
    if (name && json_object_set_new(body, "name", json_string(name)) < 0) {
        vmsctl_error(command, "--name is not valid UTF-8");
        goto out;
    }
    if (vmsctl_client_call(client, "POST", "/cameras/adopt", body, &camera,
                           &status, err, sizeof(err)) < 0) {
        vmsctl_call_failed(command, err);
        goto out;
    }
    if (!json_is_integer(json_object_get(camera, "id"))) {
        vmsctl_call_failed(command, "the daemon's response has no camera id");
        goto out;
    }
    if (json)
        vmsctl_print_json(camera);
    else
        adopt_print(camera);
    rc = VMSCTL_EXIT_OK;
out:
    explicit_bzero(password, sizeof(password));
    json_decref(body);
    json_decref(camera);
    return rc;
}

/* ---- ptz ----------------------------------------------------------- */

/* Options of `vmsctl ptz ID ACTION`. */
typedef struct ptz_args {
    double axis[3]; /* pan, tilt, zoom */
    int has_axis[3];
    double speed;
    int has_speed;
    double timeout_ms;
    int has_timeout;
    const char *mode;   /* "move", "absolute" or "relative" */
    const char *token;  /* --token */
    int set_home;
    int json;
} ptz_args_t;

/* Reports invalid usage of `vmsctl ptz`. */
static int ptz_bad_usage(const char *fmt, const char *value)
{
    vmsctl_error("ptz", fmt, value);
    fputs(ptz_usage, stderr);
    return VMSCTL_EXIT_USAGE;
}

/* Reads the options after ACTION, leaving the operands from
 * argv[optind]. Returns 0, -1 after printing the help, or an exit
 * status. */
static int ptz_parse(int argc, char **argv, ptz_args_t *args)
{
    static const struct option options[] = {
        {"pan", required_argument, NULL, 'p'},
        {"tilt", required_argument, NULL, 't'},
        {"zoom", required_argument, NULL, 'z'},
        {"speed", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 'T'},
        {"absolute", no_argument, NULL, 'A'},
        {"relative", no_argument, NULL, 'R'},
        {"token", required_argument, NULL, 'k'},
        {"set", no_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const axis_names[3] = {"pan", "tilt", "zoom"};
    int opt;

    memset(args, 0, sizeof(*args));
    args->mode = "move";
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int axis = -1;

        if (opt == 'p')
            axis = 0;
        else if (opt == 't')
            axis = 1;
        else if (opt == 'z')
            axis = 2;

        if (axis >= 0) {
            if (onvif_parse_number(optarg, -1, 1, &args->axis[axis]) < 0) {
                vmsctl_error("ptz", "invalid --%s '%s': expected a number "
                                    "from -1 to 1",
                             axis_names[axis], optarg);
                fputs(ptz_usage, stderr);
                return VMSCTL_EXIT_USAGE;
            }
            args->has_axis[axis] = 1;
            continue;
        }
        switch (opt) {
        case 's':
            if (onvif_parse_number(optarg, 0, 1, &args->speed) < 0)
                return ptz_bad_usage("invalid --speed '%s': expected a "
                                     "number from 0 to 1",
                                     optarg);
            args->has_speed = 1;
            break;
        case 'T':
            if (onvif_parse_number(optarg, 1, 60000, &args->timeout_ms) < 0)
                return ptz_bad_usage("invalid --timeout '%s': expected "
                                     "milliseconds from 1 to 60000",
                                     optarg);
            args->has_timeout = 1;
            break;
        case 'A':
        case 'R':
            if (strcmp(args->mode, "move") != 0)
                return ptz_bad_usage("%s: give --absolute or --relative, "
                                     "not both",
                                     "--absolute");
            args->mode = opt == 'A' ? "absolute" : "relative";
            break;
        case 'k':
            args->token = optarg;
            break;
        case 'S':
            args->set_home = 1;
            break;
        case 'j':
            args->json = 1;
            break;
        case 'h':
            fputs(ptz_usage, stdout);
            return -1;
        default:
            return vmsctl_option_error("ptz", opt, argv, ptz_usage);
        }
    }
    return 0;
}

/* Builds the body of a move: the axes, and the speed or the timeout. */
static json_t *ptz_move_body(const ptz_args_t *args)
{
    static const char *const axis_names[3] = {"pan", "tilt", "zoom"};
    json_t *body = json_object();
    json_t *speed = json_object();

    if (!body || !speed) {
        json_decref(body);
        json_decref(speed);
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        if (!args->has_axis[i])
            continue;
        json_object_set_new(body, axis_names[i], json_real(args->axis[i]));
        json_object_set_new(speed, axis_names[i], json_real(args->speed));
    }
    if (args->has_speed)
        json_object_set(body, "speed", speed);
    if (args->has_timeout)
        json_object_set_new(body, "timeout_ms",
                            json_integer((json_int_t)args->timeout_ms));
    json_decref(speed);
    return body;
}

/* Prints the presets as a table. */
static int ptz_print_presets(json_t *reply)
{
    static const char *const headers[] = {"TOKEN", "NAME", "PAN", "TILT",
                                          "ZOOM"};
    vmsctl_table_t *table = vmsctl_table_new(5, headers);
    json_t *p;
    size_t i;

    if (!table)
        return -ENOMEM;
    json_array_foreach(json_object_get(reply, "presets"), i, p)
    {
        json_t *pos = json_object_get(p, "position");
        char values[3][24];
        const char *cells[5];
        static const char *const axes[3] = {"pan", "tilt", "zoom"};

        for (int a = 0; a < 3; a++) {
            json_t *v = json_object_get(pos, axes[a]);

            if (json_is_number(v))
                snprintf(values[a], sizeof(values[a]), "%.3f",
                         json_number_value(v));
            else
                snprintf(values[a], sizeof(values[a]), "-");
        }
        cells[0] = vmsctl_json_text(p, "token", "?");
        cells[1] = vmsctl_json_text(p, "name", "");
        cells[2] = values[0];
        cells[3] = values[1];
        cells[4] = values[2];
        if (vmsctl_table_add(table, cells) < 0) {
            vmsctl_table_free(table);
            return -ENOMEM;
        }
    }
    vmsctl_table_print(table, stdout);
    vmsctl_table_free(table);
    return 0;
}

/* Prints the PTZ status. */
static void ptz_print_status(json_t *reply)
{
    json_t *pos = json_object_get(reply, "position");

    if (pos)
        printf("position  pan %.3f  tilt %.3f  zoom %.3f\n",
               json_number_value(json_object_get(pos, "pan")),
               json_number_value(json_object_get(pos, "tilt")),
               json_number_value(json_object_get(pos, "zoom")));
    printf("pan/tilt  %s\nzoom      %s\n",
           vmsctl_json_text(reply, "pan_tilt_move", "unknown"),
           vmsctl_json_text(reply, "zoom_move", "unknown"));
    if (*vmsctl_json_text(reply, "error", ""))
        printf("error     %s\n", vmsctl_json_text(reply, "error", ""));
}

/* Checks the number of operands after the options of an action. */
static int ptz_operands(const char *action, int argc, int want,
                        const char *what)
{
    if (argc - optind < want) {
        vmsctl_error("ptz", "%s: missing %s", action, what);
        fputs(ptz_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    if (argc - optind > want) {
        vmsctl_error("ptz", "%s: too many arguments", action);
        fputs(ptz_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    return 0;
}

/* Encodes a preset token for a path; tokens are letters, digits, '-',
 * '_' and '.' as the daemon accepts. Returns 0 or -EINVAL. */
static int ptz_token_path(const char *token)
{
    size_t n = strlen(token);

    if (n == 0 || n > 63)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789-_.",
                    token[i]))
            return -EINVAL;
    return 0;
}

static int onvif_ptz(const vmsctl_client_t *client, int argc, char **argv)
{
    const char *action;
    const char *method = "POST";
    ptz_args_t args;
    json_t *body = NULL;
    json_t *reply = NULL;
    char path[256];
    char sub[128];
    char err[2048];
    int64_t id;
    int status;
    int rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        fputs(ptz_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    if (argc < 3)
        return ptz_bad_usage("missing %s", argc < 2 ? "camera ID and ACTION"
                                                    : "ACTION");
    if (vmsctl_parse_id(argv[1], &id) < 0)
        return ptz_bad_usage("invalid camera ID '%s': expected a positive "
                             "integer, as listed by 'vmsctl camera list'",
                             argv[1]);
    action = argv[2];
    rc = ptz_parse(argc - 2, argv + 2, &args);
    if (rc < 0)
        return VMSCTL_EXIT_OK; /* --help */
    if (rc)
        return rc;
    argc -= 2;
    argv += 2;
    if (args.has_timeout && (strcmp(action, "move") != 0 ||
                             strcmp(args.mode, "move") != 0))
        return ptz_bad_usage("%s: --timeout applies to a continuous move "
                             "only",
                             action);
    if (args.has_speed && strcmp(action, "goto") != 0 &&
        (strcmp(action, "move") != 0 || strcmp(args.mode, "move") == 0))
        return ptz_bad_usage("%s: --speed applies to 'move --absolute', "
                             "'move --relative' and 'goto' only",
                             action);
    if (strcmp(action, "move") == 0) {
        if ((rc = ptz_operands(action, argc, 0, "")))
            return rc;
        if (!args.has_axis[0] && !args.has_axis[1] && !args.has_axis[2])
            return ptz_bad_usage("%s: give at least one of --pan, --tilt "
                                 "and --zoom",
                                 action);
        if (strcmp(args.mode, "absolute") == 0 && args.has_axis[2] &&
            args.axis[2] < 0)
            return ptz_bad_usage("%s --absolute: --zoom must be from 0 to 1",
                                 action);
        snprintf(sub, sizeof(sub), "%s", args.mode);
        body = ptz_move_body(&args);
    } else if (strcmp(action, "stop") == 0 || strcmp(action, "home") == 0) {
        if ((rc = ptz_operands(action, argc, 0, "")))
            return rc;
        snprintf(sub, sizeof(sub), "%s", action);
        if (args.set_home)
            method = "PUT";
    } else if (strcmp(action, "status") == 0 ||
               strcmp(action, "presets") == 0) {
        if ((rc = ptz_operands(action, argc, 0, "")))
            return rc;
        snprintf(sub, sizeof(sub), "%s", action);
        method = "GET";
    } else if (strcmp(action, "goto") == 0 ||
               strcmp(action, "remove-preset") == 0) {
        if ((rc = ptz_operands(action, argc, 1, "preset TOKEN")))
            return rc;
        if (ptz_token_path(argv[optind]) < 0)
            return ptz_bad_usage("invalid preset token '%s': expected 1 to 63 "
                                 "letters, digits, '-', '_' or '.', as "
                                 "'vmsctl ptz ID presets' lists them",
                                 argv[optind]);
        if (action[0] == 'g') {
            snprintf(sub, sizeof(sub), "presets/%s/goto", argv[optind]);
            if (args.has_speed)
                body = json_pack("{s:{s:f, s:f, s:f}}", "speed", "pan",
                                 args.speed, "tilt", args.speed, "zoom",
                                 args.speed);
        } else {
            snprintf(sub, sizeof(sub), "presets/%s", argv[optind]);
            method = "DELETE";
        }
    } else if (strcmp(action, "set-preset") == 0) {
        if ((rc = ptz_operands(action, argc, 1, "preset NAME")))
            return rc;
        snprintf(sub, sizeof(sub), "presets");
        body = json_pack("{s:s}", "name", argv[optind]);
        if (body && args.token)
            json_object_set_new(body, "token", json_string(args.token));
        if (!body)
            return ptz_bad_usage("%s: the name is not valid UTF-8", action);
    } else {
        return ptz_bad_usage("unknown action '%s': expected move, stop, "
                             "status, presets, goto, set-preset, "
                             "remove-preset or home",
                             action);
    }
    snprintf(path, sizeof(path), "/cameras/%" PRId64 "/ptz/%s", id, sub);
    rc = vmsctl_client_call(client, method, path, body, &reply, &status, err,
                            sizeof(err));
    json_decref(body);
    if (rc < 0)
        return vmsctl_call_failed("ptz", err);
    rc = VMSCTL_EXIT_OK;
    if (args.json)
        vmsctl_print_json(reply);
    else if (strcmp(action, "presets") == 0)
        rc = ptz_print_presets(reply) < 0 ? VMSCTL_EXIT_FAILURE : rc;
    else if (strcmp(action, "status") == 0)
        ptz_print_status(reply);
    else if (strcmp(action, "set-preset") == 0)
        printf("%s\n", vmsctl_json_text(reply, "token", "?"));
    json_decref(reply);
    return rc;
}

/* ---- dispatch ------------------------------------------------------ */

static const struct {
    const char *name;
    int (*run)(const vmsctl_client_t *, int, char **);
} onvif_commands[] = {
    {"discover", onvif_discover},
    {"adopt", onvif_adopt},
    {"ptz", onvif_ptz},
};

int vmsctl_onvif_command(const char *command)
{
    for (size_t i = 0; i < sizeof(onvif_commands) / sizeof(onvif_commands[0]);
         i++)
        if (strcmp(command, onvif_commands[i].name) == 0)
            return 1;
    return 0;
}

int vmsctl_onvif_main(const vmsctl_client_t *client, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(onvif_commands) / sizeof(onvif_commands[0]);
         i++)
        if (strcmp(argv[0], onvif_commands[i].name) == 0)
            return onvif_commands[i].run(client, argc, argv);
    vmsctl_error(NULL, "unknown command '%s'", argv[0]);
    return VMSCTL_EXIT_USAGE;
}
