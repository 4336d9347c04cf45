/*
 * `vmsctl user`: users of the web console and the API, changed directly
 * in vmsd's data directory. Every change is written to the audit log
 * with the actor "vmsctl".
 *
 * Passwords are read from a file or standard input, never from the
 * command line, where other local users could read them in the process
 * list.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/admin.h"
#include "vmsctl/cli.h"

/* Size of the password buffer: the library's maximum, its NUL and a
 * line ending, so that a longer password gets the policy's message. */
#define USER_PASSWORD_CAP (AUTH_PASSWORD_MAX + 2)

static const char user_usage[] =
    "Usage: vmsctl user COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "Manages the users of the web console and the API directly in vmsd's\n"
    "data directory, also before the first administrator exists and\n"
    "while vmsd runs.\n"
    "\n"
    "Commands:\n"
    "  add NAME          create a user\n"
    "  list              list the users\n"
    "  passwd NAME       set a new password and end the user's sessions\n"
    "  disable NAME      block sign-in and API keys, end the sessions\n"
    "  enable NAME       allow a disabled user again\n"
    "  rm NAME           delete a user with its sessions and API keys\n"
    "  role NAME ROLE    give a user another role\n"
    "  totp-reset NAME   turn off the user's second factor (TOTP)\n"
    "\n"
    "Options of every command:\n" VMSCTL_ADMIN_USAGE_OPTIONS "\n"
    "Run 'vmsctl user COMMAND --help' for the options of a command.\n";

static const char user_add_usage[] =
    "Usage: vmsctl user add NAME [--admin | --role ROLE] [OPTIONS]\n"
    "\n"
    "Creates a local user and prints it. NAME has 1 to 63 letters, digits\n"
    "and . _ - @. The password is read from --password-file, or else from\n"
    "standard input (one line, asked twice without echo on a terminal),\n"
    "and must pass the password policy (at least 12 characters, and not\n"
    "the user name).\n"
    "\n"
    "  --admin               give the user the role administrator\n"
    "  --role ROLE           administrator, operator, viewer or a custom\n"
    "                        role (default viewer)\n"
    "  --password-file FILE  read the password from FILE\n" VMSCTL_ADMIN_USAGE_OPTIONS;

static const char user_list_usage[] =
    "Usage: vmsctl user list [OPTIONS]\n"
    "\n"
    "Lists the users with their role, source (local or ldap), state,\n"
    "second factor and the times of creation and last password change.\n"
    "\n" VMSCTL_ADMIN_USAGE_OPTIONS;

static const char user_passwd_usage[] =
    "Usage: vmsctl user passwd NAME [--password-file FILE] [OPTIONS]\n"
    "\n"
    "Sets a new password for a local user and ends all of its sessions.\n"
    "The password is read as for 'vmsctl user add'.\n"
    "\n"
    "  --password-file FILE  read the password from FILE\n" VMSCTL_ADMIN_USAGE_OPTIONS;

static const char user_disable_usage[] =
    "Usage: vmsctl user disable NAME [OPTIONS]\n"
    "\n"
    "Disables a user: ends its sessions, rejects its sign-ins and its API\n"
    "keys until 'vmsctl user enable'. The last enabled administrator\n"
    "cannot be disabled.\n"
    "\n" VMSCTL_ADMIN_USAGE_OPTIONS;

static const char user_enable_usage[] =
    "Usage: vmsctl user enable NAME [OPTIONS]\n"
    "\n"
    "Enables a disabled user again.\n"
    "\n" VMSCTL_ADMIN_USAGE_OPTIONS;

static const char user_rm_usage[] =
    "Usage: vmsctl user rm NAME [OPTIONS]\n"
    "\n"
    "Deletes a user with its sessions, API keys and recovery codes. The\n"
    "last enabled administrator cannot be deleted.\n"
    "\n" VMSCTL_ADMIN_USAGE_OPTIONS;

static const char user_role_usage[] =
    "Usage: vmsctl user role NAME ROLE [OPTIONS]\n"
    "\n"
    "Gives a user another role: administrator, operator, viewer or a\n"
    "custom role. The last enabled administrator keeps its role.\n"
    "\n" VMSCTL_ADMIN_USAGE_OPTIONS;

static const char user_totp_reset_usage[] =
    "Usage: vmsctl user totp-reset NAME [OPTIONS]\n"
    "\n"
    "Turns off the second factor (TOTP) of a user who lost the device,\n"
    "and deletes the user's recovery codes. The user signs in with the\n"
    "password alone, or enrols again if the role requires TOTP.\n"
    "\n" VMSCTL_ADMIN_USAGE_OPTIONS;

enum { USER_OPT_ADMIN = 256, USER_OPT_ROLE, USER_OPT_PASSWORD_FILE };

/* Options that a subcommand accepts besides those of every command. */
enum {
    USER_ALLOW_ADMIN = 1 << 0,
    USER_ALLOW_ROLE = 1 << 1,
    USER_ALLOW_PASSWORD_FILE = 1 << 2,
};

/* The parsed command line of a subcommand. */
typedef struct user_args {
    vmsctl_admin_t admin;
    const char *command; /* "user add", for messages */
    const char *usage;
    const char *name;
    const char *role; /* --role, or the ROLE of `user role` */
    const char *password_file;
    int admin_role; /* --admin */
} user_args_t;

typedef struct user_command {
    const char *name;
    const char *command;
    const char *usage;
    int allowed;     /* USER_ALLOW_* */
    int positionals; /* NAME, or NAME and ROLE */
    int (*run)(auth_t *auth, const user_args_t *args);
} user_command_t;

/* Writes the names of every role, comma-separated, into buf. */
static void user_role_names(auth_t *auth, char *buf, size_t cap)
{
    auth_role_t *roles = NULL;
    size_t n = 0;
    size_t used = 0;

    buf[0] = '\0';
    if (auth_role_list(auth, &roles, &n) < 0)
        return;
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s",
                                 i ? ", " : "", roles[i].name);
    free(roles);
}

/* Checks that role exists, and prints the error with the known roles
 * when it does not. */
static int user_check_role(auth_t *auth, const char *command,
                           const char *role)
{
    auth_role_t r;
    char names[1024];

    if (auth_role_get(auth, role, &r) == 0)
        return 0;
    user_role_names(auth, names, sizeof(names));
    vmsctl_error(command, "role '%s' not found: use one of %s", role,
                 names[0] ? names : "administrator, operator, viewer");
    return -ENOENT;
}

static int user_add(auth_t *auth, const user_args_t *args)
{
    const char *role = args->admin_role ? AUTH_ROLE_ADMINISTRATOR
                       : args->role     ? args->role
                                        : AUTH_ROLE_VIEWER;
    char password[USER_PASSWORD_CAP];
    char err[AUTH_ERR_MAX];
    auth_user_t user;
    int rc;

    err[0] = '\0';
    /* Settle what can fail before asking for the password. */
    if (user_check_role(auth, args->command, role) < 0)
        return VMSCTL_EXIT_FAILURE;
    if (auth_user_get(auth, args->name, &user) == 0) {
        vmsctl_error(args->command,
                     "user '%s' already exists: change it with 'vmsctl user "
                     "passwd' or 'vmsctl user role'",
                     user.name);
        return VMSCTL_EXIT_FAILURE;
    }
    if (vmsctl_admin_read_password(args->command, args->password_file,
                                   password, sizeof(password)) < 0)
        return VMSCTL_EXIT_FAILURE;
    /* auth_user_create() checks the password policy. */
    rc = auth_user_create(auth, VMSCTL_ADMIN_ACTOR, args->name, password,
                          role, &user, err, sizeof(err));
    explicit_bzero(password, sizeof(password));
    if (rc < 0)
        return vmsctl_admin_failed(args->command, rc, err);
    printf("user %s created: id %" PRId64 ", role %s\n", user.name, user.id,
           role);
    return VMSCTL_EXIT_OK;
}

/* Returns the name of the role with id in roles, or "?". */
static const char *user_role_name(const auth_role_t *roles, size_t n,
                                  int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (roles[i].id == id)
            return roles[i].name;
    return "?";
}

static int user_list(auth_t *auth, const user_args_t *args)
{
    static const char *const headers[] = {
        "ID",   "NAME",    "ROLE",    "SOURCE",
        "STATE", "TOTP",   "CREATED", "PASSWORD-CHANGED"};
    vmsctl_table_t *table = NULL;
    auth_user_t *users = NULL;
    auth_role_t *roles = NULL;
    size_t n_users = 0;
    size_t n_roles = 0;
    int rc;

    rc = auth_user_list(auth, &users, &n_users);
    if (rc == 0)
        rc = auth_role_list(auth, &roles, &n_roles);
    if (rc < 0) {
        vmsctl_error(args->command, "cannot read the users: %s",
                     strerror(-rc));
        goto done;
    }
    table = vmsctl_table_new(8, headers);
    if (!table) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n_users && rc == 0; i++) {
        const auth_user_t *u = &users[i];
        char id[24], created[40], changed[40];
        const char *cells[8];

        snprintf(id, sizeof(id), "%" PRId64, u->id);
        vmsctl_format_time(u->created_us, created, sizeof(created));
        if (u->source == AUTH_SOURCE_LOCAL)
            vmsctl_format_time(u->password_changed_us, changed,
                               sizeof(changed));
        else
            snprintf(changed, sizeof(changed), "-");
        cells[0] = id;
        cells[1] = u->name;
        cells[2] = user_role_name(roles, n_roles, u->role_id);
        cells[3] = u->source == AUTH_SOURCE_LDAP ? "ldap" : "local";
        cells[4] = u->disabled ? "disabled" : "enabled";
        cells[5] = u->totp_enabled ? "on" : "off";
        cells[6] = created;
        cells[7] = changed;
        rc = vmsctl_table_add(table, cells);
    }
    if (vmsctl_table_finish(table, rc) < 0)
        vmsctl_error(args->command, "out of memory");
    if (rc == 0 && n_users == 0)
        fprintf(stderr, "no users yet: create the first administrator with "
                        "'vmsctl user add NAME --admin'\n");
done:
    free(users);
    free(roles);
    return rc < 0 ? VMSCTL_EXIT_FAILURE : VMSCTL_EXIT_OK;
}

static int user_passwd(auth_t *auth, const user_args_t *args)
{
    char password[USER_PASSWORD_CAP];
    char err[AUTH_ERR_MAX] = "";
    auth_user_t user;
    int rc;

    if (vmsctl_admin_find_user(auth, args->command, args->name, &user) < 0)
        return VMSCTL_EXIT_FAILURE;
    if (user.source != AUTH_SOURCE_LOCAL) {
        vmsctl_error(args->command,
                     "user '%s' signs in through the directory: change the "
                     "password there",
                     user.name);
        return VMSCTL_EXIT_FAILURE;
    }
    if (vmsctl_admin_read_password(args->command, args->password_file,
                                   password, sizeof(password)) < 0)
        return VMSCTL_EXIT_FAILURE;
    rc = auth_user_set_password(auth, VMSCTL_ADMIN_ACTOR, user.name, NULL,
                                password, err, sizeof(err));
    explicit_bzero(password, sizeof(password));
    if (rc < 0)
        return vmsctl_admin_failed(args->command, rc, err);
    printf("password of user %s changed, and its sessions ended\n",
           user.name);
    return VMSCTL_EXIT_OK;
}

/* Runs `user disable` or `user enable`. */
static int user_set_disabled(auth_t *auth, const user_args_t *args,
                             int disabled)
{
    char err[AUTH_ERR_MAX] = "";
    auth_user_t user;
    int rc;

    if (vmsctl_admin_find_user(auth, args->command, args->name, &user) < 0)
        return VMSCTL_EXIT_FAILURE;
    rc = auth_user_set_disabled(auth, VMSCTL_ADMIN_ACTOR, user.name,
                                disabled, err, sizeof(err));
    if (rc < 0)
        return vmsctl_admin_failed(args->command, rc, err);
    if (disabled)
        printf("user %s disabled: its sessions ended and its API keys are "
               "rejected\n",
               user.name);
    else
        printf("user %s enabled\n", user.name);
    return VMSCTL_EXIT_OK;
}

static int user_disable(auth_t *auth, const user_args_t *args)
{
    return user_set_disabled(auth, args, 1);
}

static int user_enable(auth_t *auth, const user_args_t *args)
{
    return user_set_disabled(auth, args, 0);
}

static int user_rm(auth_t *auth, const user_args_t *args)
{
    char err[AUTH_ERR_MAX] = "";
    auth_user_t user;
    int rc;

    if (vmsctl_admin_find_user(auth, args->command, args->name, &user) < 0)
        return VMSCTL_EXIT_FAILURE;
    rc = auth_user_delete(auth, VMSCTL_ADMIN_ACTOR, user.name, err,
                          sizeof(err));
    if (rc < 0)
        return vmsctl_admin_failed(args->command, rc, err);
    printf("user %s deleted with its sessions, API keys and recovery "
           "codes\n",
           user.name);
    return VMSCTL_EXIT_OK;
}

static int user_role(auth_t *auth, const user_args_t *args)
{
    char err[AUTH_ERR_MAX] = "";
    auth_user_t user;
    int rc;

    if (vmsctl_admin_find_user(auth, args->command, args->name, &user) < 0)
        return VMSCTL_EXIT_FAILURE;
    if (user_check_role(auth, args->command, args->role) < 0)
        return VMSCTL_EXIT_FAILURE;
    rc = auth_user_set_role(auth, VMSCTL_ADMIN_ACTOR, user.name, args->role,
                            err, sizeof(err));
    if (rc < 0)
        return vmsctl_admin_failed(args->command, rc, err);
    printf("user %s now has the role %s\n", user.name, args->role);
    return VMSCTL_EXIT_OK;
}

static int user_totp_reset(auth_t *auth, const user_args_t *args)
{
    auth_user_t user;
    int rc;

    if (vmsctl_admin_find_user(auth, args->command, args->name, &user) < 0)
        return VMSCTL_EXIT_FAILURE;
    rc = auth_totp_disable(auth, VMSCTL_ADMIN_ACTOR, user.name);
    if (rc < 0)
        return vmsctl_admin_failed(args->command, rc, NULL);
    printf("second factor of user %s turned off%s\n", user.name,
           user.totp_enabled ? "" : " (it was not enrolled)");
    return VMSCTL_EXIT_OK;
}

static const user_command_t user_commands[] = {
    {"add", "user add", user_add_usage,
     USER_ALLOW_ADMIN | USER_ALLOW_ROLE | USER_ALLOW_PASSWORD_FILE, 1,
     user_add},
    {"list", "user list", user_list_usage, 0, 0, user_list},
    {"passwd", "user passwd", user_passwd_usage, USER_ALLOW_PASSWORD_FILE, 1,
     user_passwd},
    {"disable", "user disable", user_disable_usage, 0, 1, user_disable},
    {"enable", "user enable", user_enable_usage, 0, 1, user_enable},
    {"rm", "user rm", user_rm_usage, 0, 1, user_rm},
    {"role", "user role", user_role_usage, 0, 2, user_role},
    {"totp-reset", "user totp-reset", user_totp_reset_usage, 0, 1,
     user_totp_reset},
};

/* Parses the options and arguments of subcommand cmd into args.
 * Returns -1 when the command should run, or the exit status after
 * --help or a usage error. */
static int user_parse(const user_command_t *cmd, int argc, char **argv,
                      user_args_t *args)
{
    static const struct option options[] = {
        {"admin", no_argument, NULL, USER_OPT_ADMIN},
        {"role", required_argument, NULL, USER_OPT_ROLE},
        {"password-file", required_argument, NULL, USER_OPT_PASSWORD_FILE},
        VMSCTL_ADMIN_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int needs = 0; /* the USER_ALLOW_* flag of the current option */
    int opt;

    args->command = cmd->command;
    args->usage = cmd->usage;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":hc:", options, NULL)) != -1) {
        if (vmsctl_admin_option(&args->admin, opt, optarg))
            continue;
        switch (opt) {
        case USER_OPT_ADMIN:
            args->admin_role = 1;
            needs = USER_ALLOW_ADMIN;
            break;
        case USER_OPT_ROLE:
            args->role = optarg;
            needs = USER_ALLOW_ROLE;
            break;
        case USER_OPT_PASSWORD_FILE:
            args->password_file = optarg;
            needs = USER_ALLOW_PASSWORD_FILE;
            break;
        case 'h':
            fputs(cmd->usage, stdout);
            return VMSCTL_EXIT_OK;
        default:
            return vmsctl_option_error(cmd->command, opt, argv, cmd->usage);
        }
        if (!(cmd->allowed & needs))
            return vmsctl_usage_error(args->command, args->usage,
                                      "option '%s' does not apply here",
                                      argv[optind - 1]);
    }
    if (args->admin_role && args->role)
        return vmsctl_usage_error(args->command, args->usage,
                                  "pass --admin or --role ROLE, not both");
    if (argc - optind < cmd->positionals)
        return vmsctl_usage_error(args->command, args->usage, "missing %s",
                                  argc - optind == 0 ? "user NAME" : "ROLE");
    if (argc - optind > cmd->positionals)
        return vmsctl_usage_error(args->command, args->usage,
                                  "unexpected argument '%s'",
                                  argv[optind + cmd->positionals]);
    if (cmd->positionals >= 1)
        args->name = argv[optind];
    if (cmd->positionals == 2)
        args->role = argv[optind + 1];
    return -1;
}

int vmsctl_user_main(const vmsctl_admin_t *admin, int argc, char **argv)
{
    const user_command_t *cmd;
    user_args_t args;
    auth_t *auth = NULL;
    int rc;
    int i = vmsctl_admin_subcommand(
        "user", user_usage, user_commands,
        sizeof(user_commands) / sizeof(user_commands[0]),
        sizeof(user_commands[0]), argc, argv, &rc);

    if (i < 0)
        return rc;
    cmd = &user_commands[i];
    memset(&args, 0, sizeof(args));
    args.admin = *admin;
    rc = user_parse(cmd, argc - 1, argv + 1, &args);
    if (rc >= 0)
        return rc;
    rc = vmsctl_admin_open(cmd->command, &args.admin, &auth);
    if (rc != 0)
        return rc;
    rc = cmd->run(auth, &args);
    auth_free(auth);
    return rc;
}
