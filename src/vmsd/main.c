/*
 * vmsd, the recording daemon: wiring only. Loads the configuration,
 * opens the catalog, reconciles the volumes, then starts the recorder,
 * the camera supervisor, the camera events thread and the HTTP server,
 * and shuts them down in the reverse order on SIGTERM or SIGINT so that
 * every open segment is closed and indexed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libavutil/log.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/directory.h"
#include "auth/keyfile.h"
#include "catalog/catalog.h"
#include "common/config.h"
#include "common/log.h"
#include "storage/storage.h"
#include "vmsd/cameras.h"
#include "vmsd/events.h"

static void vmsd_usage(FILE *out)
{
    fprintf(out,
            "usage: vmsd -c FILE\n"
            "  -c, --config FILE   configuration file (see vms.conf.example)\n"
            "  -h, --help          show this help\n");
}

/* Routes FFmpeg's warnings and errors through the daemon's log. */
static void vmsd_av_log(void *avcl, int level, const char *fmt, va_list vl)
{
    static int print_prefix = 1;
    char line[512];
    size_t n;

    if (level > AV_LOG_WARNING)
        return;
    av_log_format_line(avcl, level, fmt, vl, line, sizeof(line),
                       &print_prefix);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n == 0)
        return;
    vms_log(level <= AV_LOG_ERROR ? VMS_LOG_WARN : VMS_LOG_DEBUG, "ffmpeg",
            "message=\"%s\"", line);
}

/* Creates dir and its missing parents with mode 0750. */
static int vmsd_mkdirs(const char *dir)
{
    char path[VMS_CONFIG_PATH_MAX + 32];

    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Takes the data directory's lock so that a second vmsd with the same
 * configuration stops before it touches the catalog or the volumes.
 * Returns the lock's descriptor (kept open until exit) or -1. */
static int vmsd_lock_data_dir(const char *data_dir)
{
    char path[VMS_CONFIG_PATH_MAX + 32];
    int fd;

    snprintf(path, sizeof(path), "%s/vmsd.lock", data_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        vms_log(VMS_LOG_ERROR, "vmsd", "path=%s error=\"cannot open the "
                "lock file: %s\"", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        vms_log(VMS_LOG_ERROR, "vmsd",
                "data_dir=%s error=\"another vmsd already uses this data "
                "directory: stop it first, or give this one its own "
                "data_dir\"",
                data_dir);
        close(fd);
        return -1;
    }
    return fd;
}

/* Parses the command line and loads the configuration; exits with
 * status 2 on a usage or configuration error. */
static void vmsd_load_config(int argc, char **argv, vms_config_t *cfg)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    char err[512];
    vms_log_level_t level;
    int opt;

    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'h':
            vmsd_usage(stdout);
            exit(0);
        default:
            vmsd_usage(stderr);
            exit(2);
        }
    }
    if (!path || optind != argc) {
        vmsd_usage(stderr);
        exit(2);
    }
    vms_config_defaults(cfg);
    if (vms_config_load(cfg, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "vmsd: %s: %s\n", path, err);
        exit(2);
    }
    if (vms_log_parse_level(cfg->log_level, &level) == 0)
        vms_log_threshold = level;
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        fprintf(stderr,
                "vmsd: %s: tls_cert and tls_key go together: set both (for "
                "example from vmsctl tls init --dir DIR) or neither\n",
                path);
        exit(2);
    }
    if (!vms_config_host_is_loopback(cfg->listen_host) && !cfg->tls_cert[0]) {
        fprintf(stderr,
                "vmsd: %s: listen address %s is not a loopback address, and "
                "plain HTTP is allowed only on loopback: set tls_cert and "
                "tls_key (create them with vmsctl tls init --dir DIR), or "
                "set listen = 127.0.0.1:%d\n",
                path, cfg->listen_host, cfg->listen_port);
        exit(2);
    }
    if (cfg->volume_count == 0) {
        snprintf(cfg->volumes[0], sizeof(cfg->volumes[0]), "%s/video",
                 cfg->data_dir);
        cfg->volume_count = 1;
    }
}

/* Reads the directory service account's password from its file (one
 * line). Returns 0 or -1 after logging why. */
static int vmsd_read_secret(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f) {
        vms_log(VMS_LOG_ERROR, "vmsd",
                "ldap_bind_password_file=%s error=\"cannot open: %s\"", path,
                strerror(errno));
        return -1;
    }
    n = fread(out, 1, len - 1, f);
    fclose(f);
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* Fills ldap from the ldap_* keys of cfg; the strings stay cfg's. */
static void vmsd_ldap_config(const vms_config_t *cfg,
                             auth_ldap_config_t *ldap,
                             auth_ldap_group_map_t *groups,
                             const char *bind_password)
{
    memset(ldap, 0, sizeof(*ldap));
    ldap->uri = cfg->ldap_uri;
    ldap->starttls = cfg->ldap_starttls;
    ldap->timeout_ms = cfg->ldap_timeout_ms;
#define VMSD_OPTIONAL(field) (cfg->field[0] ? cfg->field : NULL)
    ldap->ca_file = VMSD_OPTIONAL(ldap_ca_file);
    ldap->user_dn_template = VMSD_OPTIONAL(ldap_user_dn_template);
    ldap->bind_dn = VMSD_OPTIONAL(ldap_bind_dn);
    ldap->base_dn = VMSD_OPTIONAL(ldap_base_dn);
    ldap->user_filter = VMSD_OPTIONAL(ldap_user_filter);
    ldap->group_base_dn = VMSD_OPTIONAL(ldap_group_base_dn);
    ldap->group_filter = VMSD_OPTIONAL(ldap_group_filter);
#undef VMSD_OPTIONAL
    ldap->bind_password = bind_password[0] ? bind_password : NULL;
    for (int i = 0; i < cfg->ldap_group_count; i++) {
        groups[i].role = cfg->ldap_group_roles[i];
        groups[i].group_dn = cfg->ldap_group_dns[i];
    }
    ldap->groups = groups;
    ldap->n_groups = (size_t)cfg->ldap_group_count;
}

/* Opens users, sessions and the audit log in the catalog's file, and
 * while no administrator exists prints a one-time setup token. Returns
 * 0 or -1 after logging why. */
static int vmsd_open_auth(const vms_config_t *cfg, auth_t **out)
{
    unsigned char key[AUTH_AUDIT_KEY_LEN];
    char path[VMS_CONFIG_PATH_MAX + 32];
    char token[AUTH_TOKEN_LEN + 1];
    char err[AUTH_ERR_MAX];
    auth_ldap_group_map_t groups[VMS_CONFIG_MAX_LDAP_GROUPS];
    auth_ldap_config_t ldap;
    char bind_password[512] = "";
    auth_config_t acfg;
    auth_store_t *store = NULL;
    int needed = 0;
    int rc;

    *out = NULL;
    if (cfg->ldap_bind_password_file[0] &&
        vmsd_read_secret(cfg->ldap_bind_password_file, bind_password,
                         sizeof(bind_password)) < 0)
        return -1;
    rc = auth_audit_key_load(cfg->data_dir, key, err, sizeof(err));
    if (rc < 0) {
        vms_log(VMS_LOG_ERROR, "vmsd", "error=\"%s\"", err);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, AUTH_CATALOG_FILE);
    rc = auth_store_sqlite_open(path, &store, err, sizeof(err));
    if (rc == 0) {
        memset(&acfg, 0, sizeof(acfg));
        acfg.audit_key = key;
        acfg.audit_key_len = sizeof(key);
        acfg.session_idle_us = (int64_t)cfg->session_idle_minutes * 60000000;
        acfg.session_absolute_us =
            (int64_t)cfg->session_absolute_hours * 3600000000LL;
        acfg.account_lockout = cfg->login_account_lockout;
        acfg.address_lockout = cfg->login_address_lockout;
        acfg.lockout_us = (int64_t)cfg->login_lockout_seconds * 1000000;
        acfg.throttle_base_us = (int64_t)cfg->login_delay_ms * 1000;
        acfg.throttle_max_delay_us = (int64_t)cfg->login_delay_max_ms * 1000;
        if (cfg->ldap_uri[0]) {
            vmsd_ldap_config(cfg, &ldap, groups, bind_password);
            acfg.ldap = &ldap;
        }
        rc = auth_new(&acfg, store, out, err, sizeof(err));
    }
    explicit_bzero(key, sizeof(key));
    explicit_bzero(bind_password, sizeof(bind_password));
    if (rc < 0) {
        vms_log(VMS_LOG_ERROR, "vmsd",
                "error=\"cannot open users and sessions: %s\"", err);
        return -1;
    }
    if (auth_setup_needed(*out, &needed) == 0 && needed &&
        auth_setup_token_create(*out, token, sizeof(token)) == 0) {
        /* On standard error only, never in the log file: whoever can
         * read it can create the first administrator. */
        fprintf(stderr,
                "vmsd: no administrator exists yet. Create one with "
                "'vmsctl user add NAME --admin', or open the page and use "
                "this one-time setup token:\nsetup token: %s\n",
                token);
        fflush(stderr);
        explicit_bzero(token, sizeof(token));
        vms_log(VMS_LOG_WARN, "vmsd",
                "event=setup_pending message=\"no administrator yet; the "
                "setup token is on standard error\"");
    }
    return 0;
}

/* Creates the volume directories' parents; the volume checks decide
 * whether each volume itself may be used. */
static int vmsd_prepare_volumes(const vms_config_t *cfg)
{
    for (int i = 0; i < cfg->volume_count; i++) {
        char parent[VMS_CONFIG_PATH_MAX];
        char *slash;
        int rc;

        snprintf(parent, sizeof(parent), "%s", cfg->volumes[i]);
        slash = strrchr(parent, '/');
        if (!slash || slash == parent)
            continue;
        *slash = '\0';
        rc = vmsd_mkdirs(parent);
        if (rc < 0) {
            vms_log(VMS_LOG_ERROR, "vmsd",
                    "volume=%s error=\"cannot create its parent: %s\"",
                    cfg->volumes[i], strerror(-rc));
            return rc;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    vms_config_t cfg;
    char path[VMS_CONFIG_PATH_MAX + 32];
    char err[512];
    catalog_t *cat = NULL;
    storage_t *storage = NULL;
    vmsd_cameras_t *cams = NULL;
    vmsd_events_t *events = NULL;
    api_server_t *srv = NULL;
    auth_t *auth = NULL;
    storage_config_t scfg;
    api_config_t acfg;
    sigset_t signals;
    int sig = 0;
    int status = 1;
    int rc;

    vmsd_load_config(argc, argv, &cfg);
    av_log_set_callback(vmsd_av_log);
    /* The catalog contains camera passwords: nothing the daemon creates is
     * readable by other users. */
    umask(027);

    /* Block the stop signals in every thread; main waits for them. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    snprintf(path, sizeof(path), "%s/cache", cfg.data_dir);
    rc = vmsd_mkdirs(path);
    if (rc < 0) {
        vms_log(VMS_LOG_ERROR, "vmsd",
                "data_dir=%s error=\"cannot create: %s\"", cfg.data_dir,
                strerror(-rc));
        return 1;
    }
    if (vmsd_lock_data_dir(cfg.data_dir) < 0)
        return 1;
    snprintf(path, sizeof(path), "%s/catalog.db", cfg.data_dir);
    rc = catalog_open(path, &cat, err, sizeof(err));
    if (rc < 0) {
        vms_log(VMS_LOG_ERROR, "vmsd", "error=\"%s\"", err);
        return 1;
    }
    vms_log(VMS_LOG_INFO, "vmsd", "event=catalog_open path=%s schema=%d",
            path, catalog_schema_version(cat));
    if (vmsd_open_auth(&cfg, &auth) < 0)
        goto out;
    if (vmsd_prepare_volumes(&cfg) < 0)
        goto out;

    memset(&scfg, 0, sizeof(scfg));
    scfg.volumes = (const char(*)[512])cfg.volumes;
    scfg.volume_count = cfg.volume_count;
    scfg.reserve_bytes = (int64_t)cfg.volume_reserve_mb << 20;
    scfg.high_percent = cfg.volume_high_percent;
    scfg.low_percent = cfg.volume_low_percent;
    scfg.segment_seconds = cfg.segment_seconds;
    scfg.fsync_interval_ms = cfg.fsync_interval_ms;
    scfg.retention_interval_ms = cfg.retention_interval_seconds * 1000;
    scfg.clock = &vms_clock_real;
    rc = storage_open(&scfg, cat, &storage);
    if (rc < 0) {
        vms_log(VMS_LOG_ERROR, "vmsd", "error=\"cannot open storage: %s\"",
                strerror(-rc));
        goto out;
    }
    rc = vmsd_cameras_new(cat, storage_recorder(storage), &vms_clock_real,
                          cfg.retry_max_seconds * 1000, &cams);
    if (rc < 0)
        goto out;
    vmsd_cameras_start_all(cams);
    rc = vmsd_events_start(cat, &events);
    if (rc < 0) {
        vms_log(VMS_LOG_ERROR, "vmsd",
                "error=\"cannot start the camera events thread: %s\"",
                strerror(-rc));
        goto out;
    }

    memset(&acfg, 0, sizeof(acfg));
    snprintf(path, sizeof(path), "%s/cache", cfg.data_dir);
    acfg.host = cfg.listen_host;
    acfg.port = cfg.listen_port;
    acfg.web_root = cfg.web_root;
    acfg.cache_dir = path;
    acfg.cat = cat;
    acfg.svc = &vmsd_cameras_service;
    acfg.svc_ctx = cams;
    acfg.storage = storage;
    acfg.discovery_interfaces =
        (const char(*)[64])cfg.discovery_interfaces;
    acfg.discovery_interface_count = cfg.discovery_interface_count;
    acfg.auth = auth;
    acfg.live_queue_bytes = (size_t)cfg.live_queue_kib << 10;
    acfg.tls_cert = cfg.tls_cert[0] ? cfg.tls_cert : NULL;
    acfg.tls_key = cfg.tls_key[0] ? cfg.tls_key : NULL;
    rc = api_server_start(&acfg, &srv, err, sizeof(err));
    if (rc < 0) {
        vms_log(VMS_LOG_ERROR, "vmsd", "error=\"%s\"", err);
        goto out;
    }
    vms_log(VMS_LOG_INFO, "vmsd", "event=started url=%s://%s:%d/",
            cfg.tls_cert[0] ? "https" : "http", cfg.listen_host,
            cfg.listen_port);

    while (sigwait(&signals, &sig) != 0)
        ;
    vms_log(VMS_LOG_INFO, "vmsd", "event=stopping signal=%s",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    status = 0;

out:
    api_server_stop(srv);
    vmsd_events_stop(events);
    if (cams)
        vmsd_cameras_stop_all(cams);
    storage_close(storage);
    vmsd_cameras_free(cams);
    auth_free(auth);
    catalog_close(cat);
    vms_log(VMS_LOG_INFO, "vmsd", "event=stopped");
    return status;
}
