/*
 * `vmsctl tls`: the daemon's TLS certificate, either from a local CA
 * created here (init) or issued by the site's own CA and checked before
 * use (import). Works on files only and needs no data directory.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/tls.h"
#include "vmsctl/admin.h"
#include "vmsctl/cli.h"

/* Maximum number of --name options. */
#define TLS_NAMES_MAX 64

static const char tls_usage[] =
    "Usage: vmsctl tls COMMAND [OPTIONS]\n"
    "\n"
    "Creates or imports the TLS certificate of vmsd.\n"
    "\n"
    "Commands:\n"
    "  init --dir DIR        create a local CA and a server certificate\n"
    "  import --cert F --key F --ca F --dir DIR\n"
    "                        check and install a certificate of the site's "
    "CA\n"
    "\n"
    "Run 'vmsctl tls COMMAND --help' for the options of a command.\n";

static const char tls_init_usage[] =
    "Usage: vmsctl tls init --dir DIR [--name NAME]... [--rsa]\n"
    "\n"
    "Creates in DIR a local CA (ca.pem, ca.key) unless it exists, and a\n"
    "server certificate signed by it (server.pem, server.key) for the\n"
    "given names. Keys are written with mode 0600. Browsers and 'vmsctl\n"
    "--ca-file' trust the server once they trust DIR/ca.pem.\n"
    "\n"
    "  --dir DIR     directory of the files, created if missing (required)\n"
    "  --name NAME   a DNS name or an IP address for the certificate;\n"
    "                repeat for several (default: the host name,\n"
    "                localhost and every address of this host)\n"
    "  --rsa         RSA 3072-bit keys instead of ECDSA P-256, for clients\n"
    "                without ECDSA\n";

static const char tls_import_usage[] =
    "Usage: vmsctl tls import --cert FILE --key FILE --ca FILE --dir DIR\n"
    "\n"
    "Checks a certificate and key issued by the site's CA (the key matches\n"
    "the certificate, the chain verifies against the CA, the certificate\n"
    "is valid now and for a TLS server) and copies them to DIR/server.pem\n"
    "and DIR/server.key (mode 0600).\n"
    "\n"
    "  --cert FILE   the server certificate in PEM, intermediates after it\n"
    "  --key FILE    its private key in PEM, not encrypted\n"
    "  --ca FILE     the site's CA certificate in PEM\n"
    "  --dir DIR     destination directory, created if missing\n";

enum {
    TLS_OPT_DIR = 256,
    TLS_OPT_NAME,
    TLS_OPT_RSA,
    TLS_OPT_CERT,
    TLS_OPT_KEY,
    TLS_OPT_CA
};

/* Creates dir and its missing parents with mode 0750. */
static int tls_mkdirs(const char *command, const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    struct stat st;
    int rc;

    if (len == 0 || len >= sizeof(path)) {
        vmsctl_error(command, "invalid --dir '%s': expected a path of 1 to "
                              "%zu bytes",
                     dir, sizeof(path) - 1);
        return -EINVAL;
    }
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) < 0 && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        goto fail;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        vmsctl_error(command, "--dir '%s' is not a directory", dir);
        return -ENOTDIR;
    }
    return 0;
fail:
    rc = -errno;
    vmsctl_error(command, "cannot create directory '%s': %s", path,
                 strerror(-rc));
    return rc;
}

/* Writes DIR/name into out. */
static void tls_path(const char *dir, const char *name, char *out,
                     size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static int tls_init(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, TLS_OPT_DIR},
        {"name", required_argument, NULL, TLS_OPT_NAME},
        {"rsa", no_argument, NULL, TLS_OPT_RSA},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *command = "tls init";
    const char *names[TLS_NAMES_MAX];
    const char *dir = NULL;
    auth_tls_key_type_t type = AUTH_TLS_KEY_EC_P256;
    char ca_cert[PATH_MAX], ca_key[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
    char err[AUTH_ERR_MAX] = "";
    char **host = NULL;
    size_t host_n = 0;
    size_t n = 0;
    int ca_existed;
    int opt;
    int rc;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case TLS_OPT_DIR:
            dir = optarg;
            break;
        case TLS_OPT_NAME:
            if (n == TLS_NAMES_MAX)
                return vmsctl_usage_error(command, tls_init_usage,
                                          "too many --name options: at most %d",
                                          TLS_NAMES_MAX);
            names[n++] = optarg;
            break;
        case TLS_OPT_RSA:
            type = AUTH_TLS_KEY_RSA_3072;
            break;
        case 'h':
            fputs(tls_init_usage, stdout);
            return VMSCTL_EXIT_OK;
        default:
            return vmsctl_option_error(command, opt, argv, tls_init_usage);
        }
    }
    if (optind < argc)
        return vmsctl_usage_error(command, tls_init_usage,
                                  "unexpected argument '%s'", argv[optind]);
    if (!dir)
        return vmsctl_usage_error(command, tls_init_usage, "missing --dir DIR");
    if (tls_mkdirs(command, dir) < 0)
        return VMSCTL_EXIT_FAILURE;

    /* The host's names are listed here rather than in auth_tls_init(),
     * so that they can be printed. */
    if (n == 0) {
        rc = auth_tls_host_names(&host, &host_n);
        if (rc < 0) {
            vmsctl_error(command, "cannot list the host's names: %s; pass "
                                  "them with --name",
                         strerror(-rc));
            return VMSCTL_EXIT_FAILURE;
        }
        for (size_t i = 0; i < host_n && n < TLS_NAMES_MAX; i++)
            names[n++] = host[i];
    }
    tls_path(dir, "ca.pem", ca_cert, sizeof(ca_cert));
    tls_path(dir, "ca.key", ca_key, sizeof(ca_key));
    tls_path(dir, "server.pem", cert, sizeof(cert));
    tls_path(dir, "server.key", key, sizeof(key));
    ca_existed = access(ca_cert, F_OK) == 0 && access(ca_key, F_OK) == 0;
    rc = auth_tls_init(dir, names, n, type, err, sizeof(err));
    if (rc < 0) {
        vmsctl_error(command, "%s", err[0] ? err : strerror(-rc));
        auth_tls_names_free(host, host_n);
        return VMSCTL_EXIT_FAILURE;
    }
    printf("CA certificate:     %s%s\n", ca_cert,
           ca_existed ? " (existing, kept)" : " (new)");
    printf("CA key:             %s\n", ca_key);
    printf("server certificate: %s\n", cert);
    printf("server key:         %s\n", key);
    printf("names:              ");
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", names[i]);
    printf("\n\nCheck them with:\n  openssl verify -CAfile %s %s\n", ca_cert,
           cert);
    printf("Clients trust vmsd once they trust %s: import it in browsers,\n"
           "and pass it to vmsctl with --ca-file. Keep %s off other "
           "machines.\n",
           ca_cert, ca_key);
    auth_tls_names_free(host, host_n);
    return VMSCTL_EXIT_OK;
}

static int tls_import(int argc, char **argv)
{
    static const struct option options[] = {
        {"cert", required_argument, NULL, TLS_OPT_CERT},
        {"key", required_argument, NULL, TLS_OPT_KEY},
        {"ca", required_argument, NULL, TLS_OPT_CA},
        {"dir", required_argument, NULL, TLS_OPT_DIR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *command = "tls import";
    const char *cert = NULL;
    const char *key = NULL;
    const char *ca = NULL;
    const char *dir = NULL;
    const char *inputs[3];
    char cert_out[PATH_MAX], key_out[PATH_MAX];
    char err[AUTH_ERR_MAX] = "";
    int opt;
    int rc;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case TLS_OPT_CERT:
            cert = optarg;
            break;
        case TLS_OPT_KEY:
            key = optarg;
            break;
        case TLS_OPT_CA:
            ca = optarg;
            break;
        case TLS_OPT_DIR:
            dir = optarg;
            break;
        case 'h':
            fputs(tls_import_usage, stdout);
            return VMSCTL_EXIT_OK;
        default:
            return vmsctl_option_error(command, opt, argv, tls_import_usage);
        }
    }
    if (optind < argc)
        return vmsctl_usage_error(command, tls_import_usage,
                                  "unexpected argument '%s'", argv[optind]);
    if (!cert || !key || !ca || !dir)
        return vmsctl_usage_error(command, tls_import_usage, "missing %s",
                                  !cert  ? "--cert FILE"
                                  : !key ? "--key FILE"
                                  : !ca  ? "--ca FILE"
                                         : "--dir DIR");
    /* Name an unreadable input file before the library's message, which
     * does not name it. */
    inputs[0] = cert;
    inputs[1] = key;
    inputs[2] = ca;
    for (int i = 0; i < 3; i++) {
        if (access(inputs[i], R_OK) != 0) {
            vmsctl_error(command, "cannot read '%s': %s", inputs[i],
                         strerror(errno));
            return VMSCTL_EXIT_FAILURE;
        }
    }
    /* Check first, so that a rejected pair leaves no new directory. */
    rc = auth_tls_import(cert, key, ca, NULL, NULL, err, sizeof(err));
    if (rc == 0 && tls_mkdirs(command, dir) < 0)
        return VMSCTL_EXIT_FAILURE;
    tls_path(dir, "server.pem", cert_out, sizeof(cert_out));
    tls_path(dir, "server.key", key_out, sizeof(key_out));
    if (rc == 0)
        rc = auth_tls_import(cert, key, ca, cert_out, key_out, err,
                             sizeof(err));
    if (rc < 0) {
        vmsctl_error(command, "%s (--cert %s, --key %s, --ca %s)",
                     err[0] ? err : strerror(-rc), cert, key, ca);
        return VMSCTL_EXIT_FAILURE;
    }
    printf("server certificate: %s\n", cert_out);
    printf("server key:         %s\n", key_out);
    return VMSCTL_EXIT_OK;
}

int vmsctl_tls_main(int argc, char **argv)
{
    if (argc < 2) {
        vmsctl_error("tls", "missing command: init or import");
        fputs(tls_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(tls_usage, stdout);
        return VMSCTL_EXIT_OK;
    }
    if (strcmp(argv[1], "init") == 0)
        return tls_init(argc - 1, argv + 1);
    if (strcmp(argv[1], "import") == 0)
        return tls_import(argc - 1, argv + 1);
    vmsctl_error("tls", "unknown command '%s'", argv[1]);
    fputs(tls_usage, stderr);
    return VMSCTL_EXIT_USAGE;
}
