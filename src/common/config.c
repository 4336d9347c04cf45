#include "common/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void vms_config_defaults(vms_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
    cfg->listen_port = 8080;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "/var/lib/vms");
    cfg->segment_seconds = 60;
    snprintf(cfg->web_root, sizeof(cfg->web_root), "/usr/share/vms/web");
    snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
    cfg->retry_max_seconds = 10;
    cfg->fsync_interval_ms = 1000;
    cfg->volume_reserve_mb = 1024;
    cfg->volume_high_percent = 95;
    cfg->volume_low_percent = 90;
    cfg->retention_interval_seconds = 10;
}

/* Integer keys: name, field offset and accepted range. */
static const struct config_int_key {
    const char *name;
    size_t offset;
    int min;
    int max;
} config_int_keys[] = {
    {"segment_seconds", offsetof(vms_config_t, segment_seconds), 2, 3600},
    {"retry_max_seconds", offsetof(vms_config_t, retry_max_seconds), 1,
     3600},
    {"fsync_interval_ms", offsetof(vms_config_t, fsync_interval_ms), 10,
     60000},
    {"volume_reserve_mb", offsetof(vms_config_t, volume_reserve_mb), 0,
     1 << 30},
    {"volume_high_percent", offsetof(vms_config_t, volume_high_percent), 2,
     99},
    {"volume_low_percent", offsetof(vms_config_t, volume_low_percent), 1,
     98},
    {"retention_interval_seconds",
     offsetof(vms_config_t, retention_interval_seconds), 1, 86400},
    {"session_idle_minutes", offsetof(vms_config_t, session_idle_minutes), 1,
     1440},
    {"session_absolute_hours", offsetof(vms_config_t, session_absolute_hours),
     1, 720},
    {"login_account_lockout", offsetof(vms_config_t, login_account_lockout),
     3, 1000},
    {"login_address_lockout", offsetof(vms_config_t, login_address_lockout),
     5, 100000},
    {"login_lockout_seconds", offsetof(vms_config_t, login_lockout_seconds),
     1, 86400},
    {"live_queue_kib", offsetof(vms_config_t, live_queue_kib), 256, 1048576},
    {"login_delay_ms", offsetof(vms_config_t, login_delay_ms), 1, 3600000},
    {"login_delay_max_ms", offsetof(vms_config_t, login_delay_max_ms), 1,
     3600000},
    {"ldap_starttls", offsetof(vms_config_t, ldap_starttls), 0, 1},
    {"ldap_timeout_ms", offsetof(vms_config_t, ldap_timeout_ms), 100, 60000},
};

/* Text keys of the directory login: name, field offset and size. */
static const struct config_text_key {
    const char *name;
    size_t offset;
    size_t size;
} config_text_keys[] = {
#define CONFIG_TEXT(field)                                                  \
    {#field, offsetof(vms_config_t, field), sizeof(((vms_config_t *)0)->field)}
    CONFIG_TEXT(ldap_uri),
    CONFIG_TEXT(ldap_ca_file),
    CONFIG_TEXT(ldap_user_dn_template),
    CONFIG_TEXT(ldap_bind_dn),
    CONFIG_TEXT(ldap_bind_password_file),
    CONFIG_TEXT(ldap_base_dn),
    CONFIG_TEXT(ldap_user_filter),
    CONFIG_TEXT(ldap_group_base_dn),
    CONFIG_TEXT(ldap_group_filter),
#undef CONFIG_TEXT
};

/* Parses a decimal integer within [min, max]; returns 0 or -EINVAL. */
static int config_parse_int(const char *value, int min, int max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* Splits "host:port" or "[v6]:port". */
static int config_parse_listen(vms_config_t *cfg, const char *value)
{
    const char *colon;
    const char *host = value;
    size_t host_len;

    if (value[0] == '[') {
        const char *close = strchr(value, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        host = value + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(value, ':');
        if (!colon)
            return -EINVAL;
        host_len = (size_t)(colon - value);
    }
    if (host_len == 0 || host_len >= sizeof(cfg->listen_host))
        return -EINVAL;
    memcpy(cfg->listen_host, host, host_len);
    cfg->listen_host[host_len] = '\0';
    return config_parse_int(colon + 1, 1, 65535, &cfg->listen_port);
}

static int config_copy_path(char *dst, const char *value)
{
    size_t len = strlen(value);

    if (len == 0 || len >= VMS_CONFIG_PATH_MAX)
        return -EINVAL;
    memcpy(dst, value, len + 1);
    return 0;
}

/* Applies one key/value pair; on error writes the fix into err. */
static int config_apply(vms_config_t *cfg, const char *key, const char *value,
                        int line, char *err, size_t errlen)
{
    int rc = 0;

    for (size_t i = 0; i < sizeof(config_int_keys) / sizeof(config_int_keys[0]);
         i++) {
        const struct config_int_key *k = &config_int_keys[i];

        if (strcmp(key, k->name) != 0)
            continue;
        rc = config_parse_int(value, k->min, k->max,
                              (int *)((char *)cfg + k->offset));
        if (rc < 0)
            snprintf(err, errlen,
                     "line %d: invalid %s '%s': expected an integer from %d "
                     "to %d",
                     line, key, value, k->min, k->max);
        return rc;
    }

    for (size_t i = 0;
         i < sizeof(config_text_keys) / sizeof(config_text_keys[0]); i++) {
        const struct config_text_key *k = &config_text_keys[i];

        if (strcmp(key, k->name) != 0)
            continue;
        if (!*value || strlen(value) >= k->size) {
            snprintf(err, errlen,
                     "line %d: invalid %s: expected 1 to %zu bytes", line,
                     key, k->size - 1);
            return -EINVAL;
        }
        memcpy((char *)cfg + k->offset, value, strlen(value) + 1);
        return 0;
    }

    if (strcmp(key, "ldap_group") == 0) {
        const char *space = strchr(value, ' ');
        size_t role_len = space ? (size_t)(space - value) : 0;
        const char *dn = space ? space + 1 : "";
        int i = cfg->ldap_group_count;

        while (*dn == ' ')
            dn++;
        if (i >= VMS_CONFIG_MAX_LDAP_GROUPS || role_len == 0 ||
            role_len >= sizeof(cfg->ldap_group_roles[0]) || !*dn ||
            strlen(dn) >= sizeof(cfg->ldap_group_dns[0])) {
            snprintf(err, errlen,
                     "line %d: invalid ldap_group '%s': expected a role name "
                     "and a group DN, for example ldap_group = operator "
                     "cn=vms-operators,ou=groups,dc=example,dc=org (at most "
                     "%d lines)",
                     line, value, VMS_CONFIG_MAX_LDAP_GROUPS);
            return -EINVAL;
        }
        memcpy(cfg->ldap_group_roles[i], value, role_len);
        cfg->ldap_group_roles[i][role_len] = '\0';
        snprintf(cfg->ldap_group_dns[i], sizeof(cfg->ldap_group_dns[i]), "%s",
                 dn);
        cfg->ldap_group_count++;
        return 0;
    }

    if (strcmp(key, "listen") == 0) {
        rc = config_parse_listen(cfg, value);
        if (rc < 0)
            snprintf(err, errlen,
                     "line %d: invalid listen '%s': expected host:port, "
                     "for example 127.0.0.1:8080", line, value);
    } else if (strcmp(key, "data_dir") == 0 || strcmp(key, "web_root") == 0 ||
               strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0) {
        char *dst = strcmp(key, "data_dir") == 0   ? cfg->data_dir
                    : strcmp(key, "web_root") == 0 ? cfg->web_root
                    : strcmp(key, "tls_cert") == 0 ? cfg->tls_cert
                                                   : cfg->tls_key;
        rc = config_copy_path(dst, value);
        if (rc < 0)
            snprintf(err, errlen,
                     "line %d: invalid %s '%s': expected a path of 1 to %d "
                     "bytes", line, key, value, VMS_CONFIG_PATH_MAX - 1);
    } else if (strcmp(key, "volume") == 0) {
        if (cfg->volume_count >= VMS_CONFIG_MAX_VOLUMES) {
            snprintf(err, errlen, "line %d: too many volumes: at most %d",
                     line, VMS_CONFIG_MAX_VOLUMES);
            return -EINVAL;
        }
        rc = config_copy_path(cfg->volumes[cfg->volume_count], value);
        if (rc < 0)
            snprintf(err, errlen,
                     "line %d: invalid volume '%s': expected a path", line,
                     value);
        else
            cfg->volume_count++;
    } else if (strcmp(key, "discovery_interface") == 0) {
        if (cfg->discovery_interface_count >= VMS_CONFIG_MAX_INTERFACES ||
            !*value || strlen(value) >= sizeof(cfg->discovery_interfaces[0])) {
            snprintf(err, errlen,
                     "line %d: invalid discovery_interface '%s': expected an "
                     "interface name or address, at most %d lines",
                     line, value, VMS_CONFIG_MAX_INTERFACES);
            return -EINVAL;
        }
        snprintf(cfg->discovery_interfaces[cfg->discovery_interface_count++],
                 sizeof(cfg->discovery_interfaces[0]), "%s", value);
    } else if (strcmp(key, "log_level") == 0) {
        if (strcmp(value, "error") && strcmp(value, "warn") &&
            strcmp(value, "info") && strcmp(value, "debug")) {
            snprintf(err, errlen,
                     "line %d: invalid log_level '%s': expected error, "
                     "warn, info or debug", line, value);
            return -EINVAL;
        }
        snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", value);
    } else {
        snprintf(err, errlen,
                 "line %d: unknown key '%s': expected listen, data_dir, "
                 "volume, web_root, log_level, segment_seconds, "
                 "retry_max_seconds, fsync_interval_ms, volume_reserve_mb, "
                 "volume_high_percent, volume_low_percent, "
                 "retention_interval_seconds, discovery_interface, "
                 "tls_cert, tls_key, session_*, login_* or ldap_* (see "
                 "vms.conf.example)",
                 line, key);
        return -EINVAL;
    }
    return rc;
}

/* Trims ASCII white space at both ends, in place. */
static char *config_trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int vms_config_parse(vms_config_t *cfg, const char *text, size_t len,
                     char *err, size_t errlen)
{
    char line[2048];
    size_t pos = 0;
    int lineno = 0;

    while (pos < len) {
        size_t start = pos;
        size_t n;
        char *key;
        char *value;
        char *eq;
        char *hash;
        int rc;

        while (pos < len && text[pos] != '\n')
            pos++;
        n = pos - start;
        pos++;
        lineno++;
        if (n >= sizeof(line)) {
            snprintf(err, errlen, "line %d: longer than %zu bytes", lineno,
                     sizeof(line) - 1);
            return -EINVAL;
        }
        memcpy(line, text + start, n);
        line[n] = '\0';
        if (memchr(line, '\0', n)) {
            snprintf(err, errlen, "line %d: contains a NUL byte", lineno);
            return -EINVAL;
        }
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        key = config_trim(line);
        if (*key == '\0')
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            snprintf(err, errlen,
                     "line %d: expected 'key = value', found '%s'", lineno,
                     key);
            return -EINVAL;
        }
        *eq = '\0';
        value = config_trim(eq + 1);
        key = config_trim(key);
        rc = config_apply(cfg, key, value, lineno, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Checks that directory login, if set, is encrypted and complete. The
 * directory library checks the same at every login, but there such a
 * mistake would only show as 503 replies; here loading the file fails,
 * so vmsd does not start. */
static int config_check_ldap(const vms_config_t *cfg, char *err,
                             size_t errlen)
{
    if (!cfg->ldap_uri[0])
        return 0;
    if (strncasecmp(cfg->ldap_uri, "ldaps://", 8) != 0 &&
        !(strncasecmp(cfg->ldap_uri, "ldap://", 7) == 0 &&
          cfg->ldap_starttls)) {
        snprintf(err, errlen,
                 "invalid ldap_uri '%s': use ldaps://, or ldap:// with "
                 "ldap_starttls = 1, because passwords must not cross the "
                 "network in clear", cfg->ldap_uri);
        return -EINVAL;
    }
    if (!cfg->ldap_user_dn_template[0] &&
        (!cfg->ldap_base_dn[0] || !cfg->ldap_user_filter[0])) {
        snprintf(err, errlen,
                 "ldap_uri is set but users cannot be found: set "
                 "ldap_user_dn_template, or ldap_base_dn and "
                 "ldap_user_filter");
        return -EINVAL;
    }
    if (cfg->ldap_group_count == 0) {
        snprintf(err, errlen,
                 "ldap_uri is set but no ldap_group line maps a directory "
                 "group to a role: add one, for example ldap_group = "
                 "operator cn=vms-operators,ou=groups,dc=example,dc=org");
        return -EINVAL;
    }
    return 0;
}

/* Checks rules that span several keys. */
static int config_check(const vms_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->volume_low_percent >= cfg->volume_high_percent) {
        snprintf(err, errlen,
                 "volume_low_percent (%d) must be below volume_high_percent "
                 "(%d)",
                 cfg->volume_low_percent, cfg->volume_high_percent);
        return -EINVAL;
    }
    return config_check_ldap(cfg, err, errlen);
}

int vms_config_load(vms_config_t *cfg, const char *path, char *err,
                    size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    size_t cap = 0;
    int rc;

    if (!f) {
        rc = -errno;
        snprintf(err, errlen, "cannot open config file %s: %s", path,
                 strerror(-rc));
        return rc;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            char *bigger;
            cap = cap ? cap * 2 : 4096;
            if (cap > (1u << 20)) {
                snprintf(err, errlen, "config file %s is larger than 1 MiB",
                         path);
                rc = -EFBIG;
                goto out;
            }
            bigger = realloc(text, cap);
            if (!bigger) {
                rc = -ENOMEM;
                snprintf(err, errlen, "out of memory reading %s", path);
                goto out;
            }
            text = bigger;
        }
        got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    rc = vms_config_parse(cfg, text, len, err, errlen);
    if (rc == 0)
        rc = config_check(cfg, err, errlen);
out:
    free(text);
    fclose(f);
    return rc;
}

int vms_config_host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6);
    return 0;
}
