/* Shared parts of the vmsctl commands that work on the data directory. */
#include "vmsctl/admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/keyfile.h"
#include "common/config.h"
#include "vmsctl/cli.h"
#include "vmsctl/secret.h"

static const struct {
    const char *name;
    uint32_t right;
} admin_rights[] = {
    {"live", AUTH_RIGHT_LIVE},         {"playback", AUTH_RIGHT_PLAYBACK},
    {"export", AUTH_RIGHT_EXPORT},     {"ptz", AUTH_RIGHT_PTZ},
    {"configure", AUTH_RIGHT_CONFIGURE}, {"users", AUTH_RIGHT_USERS},
    {"settings", AUTH_RIGHT_SETTINGS}, {"audit", AUTH_RIGHT_AUDIT},
};

#define ADMIN_RIGHTS_COUNT (sizeof(admin_rights) / sizeof(admin_rights[0]))

int vmsctl_admin_option(vmsctl_admin_t *admin, int opt, const char *arg)
{
    if (opt == VMSCTL_ADMIN_OPT_DATA_DIR) {
        admin->data_dir = arg;
        return 1;
    }
    if (opt == VMSCTL_ADMIN_OPT_CONFIG) {
        admin->config_path = arg;
        return 1;
    }
    return 0;
}

/* Finds the data directory: --data-dir or --config, else VMS_DATA_DIR.
 * Returns 0, or an exit status after printing the error. */
static int admin_data_dir(const char *command, const vmsctl_admin_t *admin,
                          char *out, size_t cap)
{
    const char *env = getenv("VMS_DATA_DIR");
    vms_config_t *cfg;
    char err[1024];
    int rc;

    if (admin->data_dir && admin->config_path) {
        vmsctl_error(command, "--data-dir and --config both name the data "
                              "directory: pass only one of them");
        return VMSCTL_EXIT_USAGE;
    }
    if (admin->data_dir) {
        if (!*admin->data_dir) {
            vmsctl_error(command, "invalid --data-dir '': expected the path "
                                  "of vmsd's data directory");
            return VMSCTL_EXIT_USAGE;
        }
        snprintf(out, cap, "%s", admin->data_dir);
        return 0;
    }
    if (admin->config_path) {
        cfg = malloc(sizeof(*cfg));
        if (!cfg) {
            vmsctl_error(command, "out of memory");
            return VMSCTL_EXIT_FAILURE;
        }
        vms_config_defaults(cfg);
        rc = vms_config_load(cfg, admin->config_path, err, sizeof(err));
        if (rc == 0)
            snprintf(out, cap, "%s", cfg->data_dir);
        free(cfg);
        if (rc < 0) {
            vmsctl_error(command, "invalid configuration file '%s': %s",
                         admin->config_path, err);
            return VMSCTL_EXIT_FAILURE;
        }
        return 0;
    }
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return 0;
    }
    vmsctl_error(command, "missing data directory: pass --data-dir DIR or "
                          "--config FILE (vmsd's configuration file), or set "
                          "VMS_DATA_DIR");
    return VMSCTL_EXIT_USAGE;
}

int vmsctl_admin_open(const char *command, const vmsctl_admin_t *admin,
                      auth_t **auth)
{
    char dir[VMS_CONFIG_PATH_MAX];
    char err[AUTH_ERR_MAX + VMS_CONFIG_PATH_MAX];
    struct stat st;
    int rc;

    *auth = NULL;
    rc = admin_data_dir(command, admin, dir, sizeof(dir));
    if (rc != 0)
        return rc;
    /* A data directory that does not exist is most likely a typing
     * error, so it is not created: a new empty catalog there would hide
     * the real one. */
    if (stat(dir, &st) < 0) {
        vmsctl_error(command,
                     "cannot open data directory '%s': %s. Pass the data_dir "
                     "of vmsd's configuration, or create the directory first",
                     dir, strerror(errno));
        return VMSCTL_EXIT_FAILURE;
    }
    if (!S_ISDIR(st.st_mode)) {
        vmsctl_error(command,
                     "data directory '%s' is not a directory: pass the "
                     "data_dir of vmsd's configuration",
                     dir);
        return VMSCTL_EXIT_FAILURE;
    }
    /* The catalog contains camera passwords and TOTP secrets, so files
     * created here get vmsd's own umask. */
    umask(027);
    rc = auth_open_data_dir(dir, auth, err, sizeof(err));
    if (rc < 0) {
        vmsctl_error(command, "cannot open the data directory '%s': %s", dir,
                     err);
        return VMSCTL_EXIT_FAILURE;
    }
    return 0;
}

int vmsctl_admin_read_password(const char *command, const char *path,
                               char *buf, size_t cap)
{
    char *again;
    int rc;

    if (path || !isatty(STDIN_FILENO))
        return vmsctl_secret_read(command, "password", path, buf, cap);
    rc = vmsctl_secret_read(command, "new password", NULL, buf, cap);
    if (rc < 0)
        return rc;
    again = malloc(cap);
    if (!again) {
        vmsctl_error(command, "out of memory");
        return -ENOMEM;
    }
    rc = vmsctl_secret_read(command, "new password again", NULL, again, cap);
    if (rc == 0 && strcmp(buf, again) != 0) {
        vmsctl_error(command, "the two passwords differ: nothing was changed, "
                              "run the command again");
        rc = -EINVAL;
    }
    explicit_bzero(again, cap);
    free(again);
    return rc;
}

int vmsctl_rights_parse(const char *text, uint32_t *rights)
{
    const char *p = text;
    uint32_t set = 0;

    if (!text || !*text)
        return -EINVAL;
    if (strcmp(text, "all") == 0) {
        *rights = AUTH_ALL_RIGHTS;
        return 0;
    }
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t i;

        for (i = 0; i < ADMIN_RIGHTS_COUNT; i++)
            if (strlen(admin_rights[i].name) == n &&
                strncmp(admin_rights[i].name, p, n) == 0)
                break;
        if (i == ADMIN_RIGHTS_COUNT)
            return -EINVAL;
        set |= admin_rights[i].right;
        p += n;
        if (*p == ',') {
            p++;
            if (*p == '\0')
                return -EINVAL; /* a trailing comma */
        }
    }
    *rights = set;
    return 0;
}

void vmsctl_rights_format(uint32_t rights, char *buf, size_t cap)
{
    size_t used = 0;

    if (rights == AUTH_ALL_RIGHTS) {
        snprintf(buf, cap, "all");
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < ADMIN_RIGHTS_COUNT && used < cap; i++) {
        if (!(rights & admin_rights[i].right))
            continue;
        used += (size_t)snprintf(buf + used, cap - used, "%s%s",
                                 used ? "," : "", admin_rights[i].name);
    }
    if (buf[0] == '\0')
        snprintf(buf, cap, "none");
}

int vmsctl_admin_failed(const char *command, int rc, const char *err)
{
    if (err && *err)
        vmsctl_error(command, "%s", err);
    else
        vmsctl_error(command, "%s", strerror(-rc));
    return VMSCTL_EXIT_FAILURE;
}

int vmsctl_admin_find_user(auth_t *auth, const char *command, const char *name,
                           auth_user_t *user)
{
    int rc = auth_user_get(auth, name, user);

    if (rc == -ENOENT)
        vmsctl_error(command,
                     "user '%s' not found: list the users with "
                     "'vmsctl user list'",
                     name);
    else if (rc < 0)
        vmsctl_error(command, "cannot read user '%s': %s", name, strerror(-rc));
    return rc;
}

int vmsctl_admin_subcommand(const char *group, const char *usage,
                            const void *table, size_t n, size_t stride,
                            int argc, char **argv, int *status)
{
    const char *const *name;
    char names[256];
    size_t used = 0;

    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        *status = VMSCTL_EXIT_OK;
        return -1;
    }
    names[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *separator = ", ";

        name = (const char *const *)((const char *)table + i * stride);
        if (argc >= 2 && strcmp(argv[1], *name) == 0)
            return (int)i;
        if (i == 0)
            separator = "";
        else if (i + 1 == n)
            separator = " or ";
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
                                 separator, *name);
        if (used >= sizeof(names))
            used = sizeof(names) - 1;
    }
    if (argc < 2)
        *status = vmsctl_usage_error(group, usage, "missing command: %s",
                                     names);
    else
        *status = vmsctl_usage_error(group, usage,
                                     "unknown command '%s': expected %s",
                                     argv[1], names);
    return -1;
}
