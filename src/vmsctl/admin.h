/*
 * The vmsctl commands that work without the daemon: `user`, `key` and
 * `audit` open the security tables in vmsd's data directory directly
 * (src/auth), and `tls` writes certificate files. They work before any
 * administrator exists and while vmsd runs, because SQLite's WAL mode
 * and busy timeout let both processes share the catalog file.
 */
#ifndef VMS_VMSCTL_ADMIN_H
#define VMS_VMSCTL_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"

/* The audit log's actor for every change made by these commands. */
#define VMSCTL_ADMIN_ACTOR "vmsctl"

/* Where the data directory comes from: --data-dir, or the data_dir key
 * of vmsd's configuration file named by --config (giving both is a
 * usage error), else the VMS_DATA_DIR environment variable. */
typedef struct vmsctl_admin {
    const char *data_dir;    /* --data-dir, or NULL */
    const char *config_path; /* -c/--config, or NULL */
} vmsctl_admin_t;

/* Long options that every data-directory command accepts after its
 * name, with the values that vmsctl_admin_option() handles. */
enum { VMSCTL_ADMIN_OPT_DATA_DIR = 1000, VMSCTL_ADMIN_OPT_CONFIG = 'c' };
#define VMSCTL_ADMIN_LONG_OPTIONS                                              \
    {"data-dir", required_argument, NULL, VMSCTL_ADMIN_OPT_DATA_DIR},          \
        {"config", required_argument, NULL, VMSCTL_ADMIN_OPT_CONFIG}
/* The usage lines of those options. */
#define VMSCTL_ADMIN_USAGE_OPTIONS                                             \
    "  --data-dir DIR        vmsd's data directory (default $VMS_DATA_DIR)\n"  \
    "  -c, --config FILE     read data_dir from vmsd's configuration file\n"

/* Stores a --data-dir or --config value of getopt_long() result opt
 * into admin. Returns 1 when opt was one of them, else 0. */
int vmsctl_admin_option(vmsctl_admin_t *admin, int opt, const char *arg);

/*
 * Opens the security service of the data directory named by admin.
 * Returns 0 with *auth set (free it with auth_free()), or prints the
 * error as vmsctl_error(command, ...) and returns VMSCTL_EXIT_USAGE when
 * no data directory was given or VMSCTL_EXIT_FAILURE when it cannot be
 * opened.
 */
int vmsctl_admin_open(const char *command, const vmsctl_admin_t *admin,
                      auth_t **auth);

/*
 * Reads a new password into buf (cap bytes) from path, or from standard
 * input when path is NULL, where a terminal is asked for it twice with
 * echo turned off. Prints the error and returns -EINVAL when it cannot
 * be read or the two entries differ. The caller wipes buf.
 */
int vmsctl_admin_read_password(const char *command, const char *path,
                               char *buf, size_t cap);

/* Parses RIGHTS, a comma-separated list of live, playback, export, ptz,
 * configure, users, settings and audit, or "all". Returns 0 or
 * -EINVAL. */
int vmsctl_rights_parse(const char *text, uint32_t *rights);

/* Formats rights as "all" or their comma-separated names. */
void vmsctl_rights_format(uint32_t rights, char *buf, size_t cap);

/* Reads the user called name into *user. Returns 0, or prints "user
 * 'NAME' not found" or the read error as vmsctl_error(command, ...) and
 * returns the negative errno. */
int vmsctl_admin_find_user(auth_t *auth, const char *command, const char *name,
                           auth_user_t *user);

/* Prints the standard message for an error of the auth library: its
 * message when it wrote one, else the errno text. Returns
 * VMSCTL_EXIT_FAILURE. */
int vmsctl_admin_failed(const char *command, int rc, const char *err);

/*
 * Finds argv[1] among the subcommands of group. table contains n rows,
 * stride bytes apart, each starting with the subcommand's name (const
 * char *). Returns the row's index, or -1 with *status set after
 * printing usage for --help (VMSCTL_EXIT_OK) or a usage error for a
 * missing or unknown subcommand.
 */
int vmsctl_admin_subcommand(const char *group, const char *usage,
                            const void *table, size_t n, size_t stride,
                            int argc, char **argv, int *status);

/* Command entry points. argv[0] is the command name and the result is
 * the process exit status. */
int vmsctl_user_main(const vmsctl_admin_t *admin, int argc, char **argv);
int vmsctl_key_main(const vmsctl_admin_t *admin, int argc, char **argv);
int vmsctl_audit_main(const vmsctl_admin_t *admin, int argc, char **argv);
int vmsctl_tls_main(int argc, char **argv);

#endif
