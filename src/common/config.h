/*
 * The daemon's configuration file: what must be known before the catalog
 * opens. One `key = value` per line; `#` starts a comment. Keys:
 *
 *   listen = 127.0.0.1:8080     address and port of the HTTP API
 *   data_dir = /var/lib/vms     catalog and caches
 *   volume = /srv/vms/video     a recording volume; repeat for several
 *   segment_seconds = 60        length of a segment file, 2 to 3600
 *   web_root = /usr/share/vms/web   the operator page's files
 *   log_level = info            error, warn, info or debug
 *   retry_max_seconds = 10      cap of the camera reconnection backoff
 *   fsync_interval_ms = 1000    how often an open segment is fsynced
 *   volume_reserve_mb = 1024    free space kept on every volume
 *   volume_high_percent = 95    retention deletes the oldest video above
 *   volume_low_percent = 90     this use of a volume, down to this one
 *   retention_interval_seconds = 10   time between retention passes
 *   discovery_interface = eth1  an interface (name or address) that
 *                               ONVIF discovery probes; repeat for
 *                               several; none: only unicast probes
 *   live_queue_kib = 8192       queued video per live viewer before
 *                               fragments are skipped to the next
 *                               keyframe
 *   session_idle_minutes = 30   sign-in sessions end after this idle
 *   session_absolute_hours = 12 ... and this long after login
 *   login_account_lockout = 10  failed logins that lock an account
 *   login_address_lockout = 50  failed logins that lock a client address
 *   login_lockout_seconds = 900 how long a lockout lasts
 *   login_delay_ms = 1000       wait imposed after the first free
 *                               failures, doubled per failure ...
 *   login_delay_max_ms = 60000  ... up to this
 *   ldap_uri = ldaps://dir.example.org   directory login; the other
 *                               ldap_* keys are described in
 *                               vms.conf.example and docs/security.md
 *   tls_cert = /etc/vms/tls/server.pem   HTTPS certificate (chain), PEM
 *   tls_key = /etc/vms/tls/server.key    its private key, PEM; both or
 *                               neither, and a listen address other
 *                               than loopback needs them
 */
#ifndef VMS_COMMON_CONFIG_H
#define VMS_COMMON_CONFIG_H

#include <stddef.h>

#define VMS_CONFIG_MAX_VOLUMES 16
#define VMS_CONFIG_PATH_MAX 512
#define VMS_CONFIG_MAX_INTERFACES 8
#define VMS_CONFIG_MAX_LDAP_GROUPS 16
#define VMS_CONFIG_TEXT_MAX 256

typedef struct vms_config {
    char listen_host[64];
    int listen_port;
    char data_dir[VMS_CONFIG_PATH_MAX];
    char volumes[VMS_CONFIG_MAX_VOLUMES][VMS_CONFIG_PATH_MAX];
    int volume_count;
    int segment_seconds;
    char web_root[VMS_CONFIG_PATH_MAX];
    char log_level[16];
    int retry_max_seconds;
    int fsync_interval_ms;
    int volume_reserve_mb;
    int volume_high_percent;
    int volume_low_percent;
    int retention_interval_seconds;
    char discovery_interfaces[VMS_CONFIG_MAX_INTERFACES][64];
    int discovery_interface_count;
    char tls_cert[VMS_CONFIG_PATH_MAX]; /* "" for plain HTTP */
    char tls_key[VMS_CONFIG_PATH_MAX];
    /* Sessions and login throttling; 0 keeps the auth library's
     * default (see auth_config_t). */
    int session_idle_minutes;
    int session_absolute_hours;
    int login_account_lockout;
    int login_address_lockout;
    int login_lockout_seconds;
    int live_queue_kib;     /* bound of each live viewer's queue; 0: 8 MiB */
    int login_delay_ms;     /* first delay after the free failures */
    int login_delay_max_ms; /* cap of the doubling delay */
    /* Directory login; ldap_uri "" turns it off. */
    char ldap_uri[VMS_CONFIG_TEXT_MAX];
    int ldap_starttls;
    int ldap_timeout_ms;
    char ldap_ca_file[VMS_CONFIG_PATH_MAX];
    char ldap_user_dn_template[VMS_CONFIG_TEXT_MAX];
    char ldap_bind_dn[VMS_CONFIG_TEXT_MAX];
    char ldap_bind_password_file[VMS_CONFIG_PATH_MAX];
    char ldap_base_dn[VMS_CONFIG_TEXT_MAX];
    char ldap_user_filter[VMS_CONFIG_TEXT_MAX];
    char ldap_group_base_dn[VMS_CONFIG_TEXT_MAX];
    char ldap_group_filter[VMS_CONFIG_TEXT_MAX];
    /* "ldap_group = ROLE GROUP-DN" lines, in order: the first group the
     * user is a member of selects the role. */
    char ldap_group_roles[VMS_CONFIG_MAX_LDAP_GROUPS][64];
    char ldap_group_dns[VMS_CONFIG_MAX_LDAP_GROUPS][VMS_CONFIG_TEXT_MAX];
    int ldap_group_count;
} vms_config_t;

/* Fills cfg with the defaults (no volume: data_dir/video is used). */
void vms_config_defaults(vms_config_t *cfg);

/* Parses text (len bytes, not necessarily NUL-terminated) into cfg,
 * which holds the defaults or earlier values. On error returns -EINVAL
 * and writes the line number, the key or value and the fix into err. */
int vms_config_parse(vms_config_t *cfg, const char *text, size_t len,
                     char *err, size_t errlen);

/* Reads and parses the file at path. */
int vms_config_load(vms_config_t *cfg, const char *path, char *err,
                    size_t errlen);

/* Returns 1 if host is a loopback address (127.0.0.0/8, ::1 or
 * "localhost"), 0 otherwise. */
int vms_config_host_is_loopback(const char *host);

#endif
