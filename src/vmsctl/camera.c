/*
 * `vmsctl camera`: dispatch of its subcommands, and add, set and rm
 * through /api/v1/cameras. camera_view.c implements list and show.
 *
 * Passwords are read from a file or standard input, never from the
 * command line where other local users could read them in the process
 * list, and they are never printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/camera.h"
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
    vmsctl_error(command, "%s and %s cannot be used together", first, second);
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
    while ((opt = getopt_long(argc, argv, ":h", camera_options, NULL)) != -1) {
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
            if (args->transport &&
                strcmp(args->transport, opt == CAMERA_OPT_TCP ? "tcp" : "udp"))
                return camera_conflict(command, "--tcp", "--udp", usage);
            args->transport = opt == CAMERA_OPT_TCP ? "tcp" : "udp";
            break;
        case CAMERA_OPT_ENABLE:
        case CAMERA_OPT_DISABLE:
            if (args->enabled == (opt == CAMERA_OPT_DISABLE))
                return camera_conflict(command, "--enable", "--disable", usage);
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
        return camera_conflict(command, "--password-file", "--password-stdin",
                               usage);
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
        if (json_object_set_new(body, "password", json_string(password)) < 0) {
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
    int rc = camera_parse_options(command, argc, argv, camera_add_usage, &args);

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
        vmsctl_error(command,
                     "missing %s: a camera needs a name and a "
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
    rc = vmsctl_client_call(client, "POST", "/cameras", body, &camera, &status,
                            err, sizeof(err));
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
    int rc = camera_parse_options(command, argc, argv, camera_set_usage, &args);

    if (rc)
        return rc;
    if (args.help) {
        fputs(camera_set_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    rc = vmsctl_take_id(command, argc, argv, camera_set_usage, &id);
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
    rc = vmsctl_client_call(client, "PATCH", path, body, &camera, &status, err,
                            sizeof(err));
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
    rc = vmsctl_take_id(command, argc, argv, camera_rm_usage, &id);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "/cameras/%lld", (long long)id);
    rc = vmsctl_client_call(client, "DELETE", path, NULL, &reply, &status, err,
                            sizeof(err));
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
        {"add", camera_add},        {"list", vmsctl_camera_list},
        {"ls", vmsctl_camera_list}, {"show", vmsctl_camera_show},
        {"set", camera_set},        {"rm", camera_rm},
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
