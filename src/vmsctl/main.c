/*
 * vmsctl: the administrator's command-line tool for vmsd.
 *
 * Most commands are clients of the HTTP API. vmsctl connects only to the
 * daemon URL it is given (--url, the VMS_URL environment variable, or
 * http://127.0.0.1:8080), with one HTTP/1.1 request per connection, over
 * TLS for https:// URLs. The
 * commands user, key and audit work on vmsd's data directory instead,
 * and tls on certificate files (admin.h).
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/admin.h"
#include "vmsctl/cli.h"
#include "vmsctl/onvif.h"
#include "vmsctl/secret.h"
#ifdef VMSCTL_HAVE_DETECT
#include "vmsctl/detect.h"
#endif

#ifndef VMS_VERSION
#define VMS_VERSION "unknown"
#endif

#define MAIN_DEFAULT_URL "http://127.0.0.1:8080"
/* Time allowed for the daemon to accept the TCP connection. */
#define MAIN_CONNECT_TIMEOUT_MS 5000
/* Default of --timeout: the longest wait for data from the daemon. */
#define MAIN_DEFAULT_TIMEOUT_S 60
/* Maximum size of an API key file. */
#define MAIN_API_KEY_MAX 512

static const char main_usage[] =
    "Usage: vmsctl [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Administers vmsd: cameras and recordings through its HTTP API, users,\n"
    "API keys and the audit log directly in its data directory.\n"
    "\n"
    "Commands that call vmsd:\n"
    "  camera add|list|show|set|rm   manage cameras\n"
    "  recordings ID --from T --to T list recordings and gaps\n"
    "  status                        show the daemon's state\n"
    "  storage                       show volumes, use, forecast, alarms\n"
    "  verify --camera ID            check recorded files and their chain\n"
    "  discover                      find ONVIF cameras on the network\n"
    "  adopt ADDRESS                 add an ONVIF camera by its address\n"
    "  ptz ID ACTION                 move a PTZ camera, manage its presets\n"
    "\n"
    "Commands on the data directory (also before the first administrator\n"
    "exists, and while vmsd runs):\n"
    "  user add|list|passwd|disable|enable|rm|role|totp-reset\n"
    "                                manage users\n"
    "  key add|list|revoke           manage API keys\n"
    "  audit verify|list|export      check and read the audit log\n"
    "\n"
    "Other commands:\n"
    "  tls init|import               create or import vmsd's certificate\n"
    "  detect FILE                   run the object detector on a file\n"
    "  help [COMMAND]                show help\n"
    "\n"
    "Options:\n"
    "  --url URL              address of vmsd, http://HOST[:PORT] or\n"
    "                         https://HOST[:PORT] (default $VMS_URL, else\n"
    "                         " MAIN_DEFAULT_URL ")\n"
    "  --ca-file FILE         PEM file of the CA that issued vmsd's\n"
    "                         certificate, for https:// (default\n"
    "                         $VMS_CA_FILE, else the system's CAs)\n"
    "  --timeout SECONDS      maximum wait for a response (default 60)\n"
    "  --api-key-file FILE    read the API key to send from FILE (default\n"
    "                         $VMS_API_KEY, else none)\n"
    "  --data-dir DIR         vmsd's data directory, for user, key and audit\n"
    "                         (default $VMS_DATA_DIR)\n"
    "  -c, --config FILE      read data_dir from vmsd's configuration file\n"
    "  --version              print the version\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 invalid usage.\n"
    "Run 'vmsctl COMMAND --help' for the options of a command.\n";

/* Frees memory from jansson after zeroing it, because JSON strings of
 * request bodies can hold a camera password. */
static void main_json_free(void *p)
{
    if (!p)
        return;
    explicit_bzero(p, malloc_usable_size(p));
    free(p);
}

/* Runs `vmsctl detect`, or explains that this build lacks it. */
static int main_detect(int argc, char **argv)
{
#ifdef VMSCTL_HAVE_DETECT
    return vmsctl_detect_main(argc, argv);
#else
    (void)argc;
    (void)argv;
    vmsctl_error("detect", "this build of vmsctl has no object detector, "
                           "because src/nn was not built");
    return VMSCTL_EXIT_FAILURE;
#endif
}

/* Parses the --timeout value in whole seconds, 1 to 86400. */
static int main_parse_timeout(const char *text, int *out_ms)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > 86400)
        return -EINVAL;
    *out_ms = (int)v * 1000;
    return 0;
}

/* Returns whether command works without the daemon (admin.h). */
static int main_is_admin_command(const char *command)
{
    return strcmp(command, "user") == 0 || strcmp(command, "users") == 0 ||
           strcmp(command, "key") == 0 || strcmp(command, "keys") == 0 ||
           strcmp(command, "audit") == 0 || strcmp(command, "tls") == 0;
}

/* Runs one of the commands that work without the daemon. admin is NULL
 * for help, which needs no data directory. */
static int main_run_admin(const vmsctl_admin_t *admin, const char *command,
                          int argc, char **argv)
{
    static const vmsctl_admin_t none = {0};

    if (!admin)
        admin = &none;
    if (strcmp(command, "user") == 0 || strcmp(command, "users") == 0)
        return vmsctl_user_main(admin, argc, argv);
    if (strcmp(command, "key") == 0 || strcmp(command, "keys") == 0)
        return vmsctl_key_main(admin, argc, argv);
    if (strcmp(command, "audit") == 0)
        return vmsctl_audit_main(admin, argc, argv);
    return vmsctl_tls_main(argc, argv);
}

/* Prints the help of COMMAND by running it with --help. */
static int main_help(const vmsctl_client_t *client, int argc, char **argv)
{
    char help_flag[] = "--help";
    char *sub_argv[3] = {argv[1], help_flag, NULL};

    if (argc < 2) {
        fputs(main_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    if (strcmp(argv[1], "camera") == 0)
        return vmsctl_camera_main(client, 2, sub_argv);
    if (strcmp(argv[1], "recordings") == 0)
        return vmsctl_recordings_main(client, 2, sub_argv);
    if (strcmp(argv[1], "status") == 0)
        return vmsctl_status_main(client, 2, sub_argv);
    if (strcmp(argv[1], "storage") == 0)
        return vmsctl_storage_main(client, 2, sub_argv);
    if (strcmp(argv[1], "verify") == 0)
        return vmsctl_verify_main(client, 2, sub_argv);
    if (strcmp(argv[1], "detect") == 0)
        return main_detect(2, sub_argv);
    if (main_is_admin_command(argv[1]))
        return main_run_admin(NULL, argv[1], 2, sub_argv);
    if (vmsctl_onvif_command(argv[1]))
        return vmsctl_onvif_main(client, 2, sub_argv);
    vmsctl_error("help", "unknown command '%s'", argv[1]);
    fputs(main_usage, stderr);
    return VMSCTL_EXIT_USAGE;
}

/* Runs one of the commands that call the daemon. */
static int main_run(const vmsctl_client_t *client, const char *command,
                    int argc, char **argv)
{
    if (strcmp(command, "camera") == 0 || strcmp(command, "cameras") == 0)
        return vmsctl_camera_main(client, argc, argv);
    if (strcmp(command, "recordings") == 0)
        return vmsctl_recordings_main(client, argc, argv);
    if (strcmp(command, "status") == 0)
        return vmsctl_status_main(client, argc, argv);
    if (strcmp(command, "storage") == 0)
        return vmsctl_storage_main(client, argc, argv);
    if (strcmp(command, "verify") == 0)
        return vmsctl_verify_main(client, argc, argv);
    if (vmsctl_onvif_command(command))
        return vmsctl_onvif_main(client, argc, argv);
    fprintf(stderr, "vmsctl: unknown command '%s'\n", command);
    fputs(main_usage, stderr);
    return VMSCTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    enum {
        OPT_URL = 256,
        OPT_TIMEOUT,
        OPT_API_KEY_FILE,
        OPT_CA_FILE,
        OPT_VERSION
    };
    static const struct option options[] = {
        {"url", required_argument, NULL, OPT_URL},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
        {"version", no_argument, NULL, OPT_VERSION},
        VMSCTL_ADMIN_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    vmsctl_client_t client = {
        .connect_timeout_ms = MAIN_CONNECT_TIMEOUT_MS,
        .io_timeout_ms = MAIN_DEFAULT_TIMEOUT_S * 1000,
    };
    const char *url = getenv("VMS_URL");
    const char *url_source = "VMS_URL";
    const char *api_key_file = NULL;
    vmsctl_admin_t admin = {0};
    const char *command;
    char api_key[MAIN_API_KEY_MAX];
    char err[1024];
    int opt;
    int rc;

    json_set_alloc_funcs(malloc, main_json_free);
    if (getenv("VMS_CA_FILE") && *getenv("VMS_CA_FILE"))
        client.ca_file = getenv("VMS_CA_FILE");
    if (!url || !*url) {
        url = MAIN_DEFAULT_URL;
        url_source = "the default URL";
    }
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:hc:", options, NULL)) != -1) {
        if (vmsctl_admin_option(&admin, opt, optarg))
            continue;
        switch (opt) {
        case OPT_URL:
            url = optarg;
            url_source = "--url";
            break;
        case OPT_TIMEOUT:
            if (main_parse_timeout(optarg, &client.io_timeout_ms) < 0) {
                fprintf(stderr,
                        "vmsctl: invalid --timeout '%s': expected "
                        "whole seconds from 1 to 86400\n",
                        optarg);
                return VMSCTL_EXIT_USAGE;
            }
            break;
        case OPT_API_KEY_FILE:
            api_key_file = optarg;
            break;
        case OPT_CA_FILE:
            client.ca_file = optarg;
            break;
        case OPT_VERSION:
            printf("vmsctl %s\n", VMS_VERSION);
            return VMSCTL_EXIT_OK;
        case 'h':
            fputs(main_usage, stdout);
            return VMSCTL_EXIT_OK;
        default:
            return vmsctl_option_error(NULL, opt, argv, main_usage);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vmsctl: missing command\n");
        fputs(main_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    command = argv[optind];
    argc -= optind;
    argv += optind;
    if (strcmp(command, "detect") == 0)
        return main_detect(argc, argv);
    if (strcmp(command, "help") == 0)
        return main_help(&client, argc, argv);
    if (main_is_admin_command(command))
        return main_run_admin(&admin, command, argc, argv);

    if (vmsctl_url_parse(url, &client.url, err, sizeof(err)) < 0) {
        fprintf(stderr, "vmsctl: %s (from %s)\n", err, url_source);
        return VMSCTL_EXIT_USAGE;
    }
    if (api_key_file) {
        if (vmsctl_secret_read(NULL, "API key", api_key_file, api_key,
                               sizeof(api_key)) < 0)
            return VMSCTL_EXIT_FAILURE;
        client.api_key = api_key;
    } else if (getenv("VMS_API_KEY") && *getenv("VMS_API_KEY")) {
        client.api_key = getenv("VMS_API_KEY");
    }
    rc = main_run(&client, command, argc, argv);
    explicit_bzero(api_key, sizeof(api_key));
    return rc;
}
