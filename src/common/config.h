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
