/*
 * `vmsctl key`: API keys, created, listed and revoked directly in vmsd's
 * data directory. Only a key's hash is stored, so `key add` prints the
 * key once and it cannot be shown again.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/admin.h"
#include "vmsctl/cli.h"

/* Maximum of --expires-days: 100 years. */
#define KEY_EXPIRES_DAYS_MAX 36525

static const char key_usage[] =
    "Usage: vmsctl key COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "Manages API keys directly in vmsd's data directory. Clients send a\n"
    "key as 'Authorization: Bearer vmsk_...'.\n"
    "\n"
    "Commands:\n"
    "  add --user NAME --name LABEL   create a key and print it once\n"
    "  list                           list the keys\n"
    "  revoke ID                      revoke a key\n"
    "\n"
    "Options of every command:\n" VMSCTL_ADMIN_USAGE_OPTIONS "\n"
    "Run 'vmsctl key COMMAND --help' for the options of a command.\n";

static const char key_add_usage[] =
    "Usage: vmsctl key add --user NAME --name LABEL [OPTIONS]\n"
    "\n"
    "Creates an API key for a user and prints only the key on standard\n"
    "output, so that a script can capture it. The key is shown this once.\n"
    "It never grants more than the user's role.\n"
    "\n"
    "  --user NAME           the user the key acts as (required)\n"
    "  --name LABEL          what the key is for, such as 'backup-script'\n"
    "                        (required; letters, digits and . _ - @)\n"
    "  --scope RIGHTS        comma-separated rights the key may use: live,\n"
    "                        playback, export, ptz, configure, users,\n"
    "                        settings, audit; or all (default all)\n"
    "  --expires-days N      the key stops working after N days, 1 to 36525\n"
    "                        (default: no expiry)\n" VMSCTL_ADMIN_USAGE_OPTIONS;

static const char key_list_usage[] =
    "Usage: vmsctl key list [--user NAME] [OPTIONS]\n"
    "\n"
    "Lists the API keys (never the keys themselves) with their owner,\n"
    "scope, times and state.\n"
    "\n"
    "  --user NAME           only the keys of this user\n" VMSCTL_ADMIN_USAGE_OPTIONS;

static const char key_revoke_usage[] =
    "Usage: vmsctl key revoke ID [OPTIONS]\n"
    "\n"
    "Revokes the API key with this ID, as listed by 'vmsctl key list'.\n"
    "Requests with it are rejected from then on.\n"
    "\n" VMSCTL_ADMIN_USAGE_OPTIONS;

enum { KEY_OPT_USER = 256, KEY_OPT_NAME, KEY_OPT_SCOPE, KEY_OPT_EXPIRES };

/* The parsed command line of a subcommand. */
typedef struct key_args {
    vmsctl_admin_t admin;
    const char *command; /* "key add", for messages */
    const char *usage;
    const char *user;
    const char *name;
    uint32_t scope;
    int expires_days; /* 0: no expiry */
    int64_t id;       /* key revoke */
} key_args_t;

static int key_add(auth_t *auth, const key_args_t *args)
{
    char key[AUTH_API_KEY_LEN + 1];
    char err[AUTH_ERR_MAX] = "";
    char scope[128];
    char expires[40];
    auth_api_key_t info;
    auth_user_t user;
    int64_t expires_us = 0;
    int rc;

    if (vmsctl_admin_find_user(auth, args->command, args->user, &user) < 0)
        return VMSCTL_EXIT_FAILURE;
    if (args->expires_days > 0)
        expires_us = vmsctl_now_us() + (int64_t)args->expires_days * 86400 *
                                           INT64_C(1000000);
    rc = auth_api_key_create(auth, VMSCTL_ADMIN_ACTOR, user.name, args->name,
                             args->scope, expires_us, key, sizeof(key), &info,
                             err, sizeof(err));
    if (rc < 0)
        return vmsctl_admin_failed(args->command, rc, err);
    /* Only the key goes to standard output, so that
     * KEY=$(vmsctl key add ...) captures exactly the key. */
    printf("%s\n", key);
    fflush(stdout);
    explicit_bzero(key, sizeof(key));
    vmsctl_rights_format(info.scope, scope, sizeof(scope));
    if (expires_us)
        vmsctl_format_time(expires_us, expires, sizeof(expires));
    else
        snprintf(expires, sizeof(expires), "never");
    fprintf(stderr,
            "API key %" PRId64 " '%s' created for user %s (scope %s, expires "
            "%s). It is shown only this once: store it now.\n",
            info.id, info.name, user.name, scope, expires);
    return VMSCTL_EXIT_OK;
}

/* Returns the state of key k at now_us: revoked, expired or active. */
static const char *key_state(const auth_api_key_t *k, int64_t now_us)
{
    if (k->revoked)
        return "revoked";
    if (k->expires_us != 0 && k->expires_us <= now_us)
        return "expired";
    return "active";
}

static int key_list(auth_t *auth, const key_args_t *args)
{
    static const char *const headers[] = {"ID",      "USER",    "NAME",
                                          "SCOPE",   "CREATED", "EXPIRES",
                                          "STATE"};
    vmsctl_table_t *table = NULL;
    auth_api_key_t *keys = NULL;
    auth_user_t user;
    int64_t user_id = 0;
    int64_t now_us = vmsctl_now_us();
    size_t n = 0;
    int rc;

    if (args->user) {
        if (vmsctl_admin_find_user(auth, args->command, args->user, &user) < 0)
            return VMSCTL_EXIT_FAILURE;
        user_id = user.id;
    }
    rc = auth_api_key_list(auth, user_id, &keys, &n);
    if (rc < 0) {
        vmsctl_error(args->command, "cannot read the API keys: %s",
                     strerror(-rc));
        return VMSCTL_EXIT_FAILURE;
    }
    table = vmsctl_table_new(7, headers);
    if (!table)
        rc = -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const auth_api_key_t *k = &keys[i];
        char id[24], scope[128], created[40], expires[40];
        const char *cells[7];
        auth_user_t owner;

        snprintf(id, sizeof(id), "%" PRId64, k->id);
        vmsctl_rights_format(k->scope, scope, sizeof(scope));
        vmsctl_format_time(k->created_us, created, sizeof(created));
        if (k->expires_us)
            vmsctl_format_time(k->expires_us, expires, sizeof(expires));
        else
            snprintf(expires, sizeof(expires), "never");
        cells[0] = id;
        cells[1] = auth_user_get_by_id(auth, k->user_id, &owner) == 0
                       ? owner.name
                       : "?";
        cells[2] = k->name;
        cells[3] = scope;
        cells[4] = created;
        cells[5] = expires;
        cells[6] = key_state(k, now_us);
        rc = vmsctl_table_add(table, cells);
    }
    if (vmsctl_table_finish(table, rc) < 0)
        vmsctl_error(args->command, "out of memory");
    free(keys);
    return rc < 0 ? VMSCTL_EXIT_FAILURE : VMSCTL_EXIT_OK;
}

static int key_revoke(auth_t *auth, const key_args_t *args)
{
    int rc = auth_api_key_revoke(auth, VMSCTL_ADMIN_ACTOR, args->id);

    if (rc == -ENOENT) {
        vmsctl_error(args->command,
                     "API key %" PRId64 " not found: list the keys with "
                     "'vmsctl key list'",
                     args->id);
        return VMSCTL_EXIT_FAILURE;
    }
    if (rc < 0)
        return vmsctl_admin_failed(args->command, rc, NULL);
    printf("API key %" PRId64 " revoked\n", args->id);
    return VMSCTL_EXIT_OK;
}

/* Parses the options and arguments of `key SUB` into args. Returns -1
 * when the command should run, or the exit status after --help or a
 * usage error. */
static int key_parse(const char *sub, int argc, char **argv, key_args_t *args)
{
    static const struct option options[] = {
        {"user", required_argument, NULL, KEY_OPT_USER},
        {"name", required_argument, NULL, KEY_OPT_NAME},
        {"scope", required_argument, NULL, KEY_OPT_SCOPE},
        {"expires-days", required_argument, NULL, KEY_OPT_EXPIRES},
        VMSCTL_ADMIN_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int is_add = strcmp(sub, "add") == 0;
    int is_list = strcmp(sub, "list") == 0;
    const char *scope = "all";
    long days;
    int opt;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":hc:", options, NULL)) != -1) {
        if (vmsctl_admin_option(&args->admin, opt, optarg))
            continue;
        switch (opt) {
        case KEY_OPT_USER:
            if (!is_add && !is_list)
                return vmsctl_usage_error(args->command, args->usage,
                                          "option --user does not apply "
                                          "here");
            args->user = optarg;
            break;
        case KEY_OPT_NAME:
        case KEY_OPT_SCOPE:
        case KEY_OPT_EXPIRES:
            if (!is_add)
                return vmsctl_usage_error(args->command, args->usage,
                                          "option '%s' does not apply "
                                          "here",
                                          argv[optind - 1]);
            if (opt == KEY_OPT_NAME)
                args->name = optarg;
            else if (opt == KEY_OPT_SCOPE)
                scope = optarg;
            else if (vmsctl_parse_count(optarg, KEY_EXPIRES_DAYS_MAX, &days) <
                     0)
                return vmsctl_usage_error(args->command, args->usage,
                                          "invalid --expires-days '%s': "
                                          "expected whole days from 1 to "
                                          "%d",
                                          optarg, KEY_EXPIRES_DAYS_MAX);
            else
                args->expires_days = (int)days;
            break;
        case 'h':
            fputs(args->usage, stdout);
            return VMSCTL_EXIT_OK;
        default:
            return vmsctl_option_error(args->command, opt, argv, args->usage);
        }
    }
    if (strcmp(sub, "revoke") == 0) {
        if (optind >= argc)
            return vmsctl_usage_error(args->command, args->usage,
                                      "missing key ID");
        if (vmsctl_parse_id(argv[optind], &args->id) < 0)
            return vmsctl_usage_error(args->command, args->usage,
                                      "invalid key ID '%s': expected a "
                                      "positive integer, as listed by "
                                      "'vmsctl key list'",
                                      argv[optind]);
        optind++;
    }
    if (optind < argc)
        return vmsctl_usage_error(args->command, args->usage,
                                  "unexpected argument '%s'", argv[optind]);
    if (is_add && !args->user)
        return vmsctl_usage_error(args->command, args->usage,
                                  "missing --user NAME");
    if (is_add && !args->name)
        return vmsctl_usage_error(args->command, args->usage,
                                  "missing --name LABEL");
    if (is_add && vmsctl_rights_parse(scope, &args->scope) < 0)
        return vmsctl_usage_error(args->command, args->usage,
                                  "invalid --scope '%s': expected all or "
                                  "a comma-separated list of live, "
                                  "playback, export, ptz, configure, "
                                  "users, settings and audit",
                                  scope);
    return -1;
}

/* A subcommand: its name, its name for messages, usage and action. */
typedef struct key_command {
    const char *name;
    const char *command;
    const char *usage;
    int (*run)(auth_t *auth, const key_args_t *args);
} key_command_t;

static const key_command_t key_commands[] = {
    {"add", "key add", key_add_usage, key_add},
    {"list", "key list", key_list_usage, key_list},
    {"revoke", "key revoke", key_revoke_usage, key_revoke},
};

int vmsctl_key_main(const vmsctl_admin_t *admin, int argc, char **argv)
{
    const key_command_t *cmd;
    key_args_t args;
    auth_t *auth = NULL;
    int rc;
    int i = vmsctl_admin_subcommand(
        "key", key_usage, key_commands,
        sizeof(key_commands) / sizeof(key_commands[0]),
        sizeof(key_commands[0]), argc, argv, &rc);

    if (i < 0)
        return rc;
    cmd = &key_commands[i];
    memset(&args, 0, sizeof(args));
    args.admin = *admin;
    args.command = cmd->command;
    args.usage = cmd->usage;
    rc = key_parse(cmd->name, argc - 1, argv + 1, &args);
    if (rc >= 0)
        return rc;
    rc = vmsctl_admin_open(cmd->command, &args.admin, &auth);
    if (rc != 0)
        return rc;
    rc = cmd->run(auth, &args);
    auth_free(auth);
    return rc;
}
