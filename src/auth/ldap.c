/*
 * Directory login through libldap (OpenLDAP 2.5, Debian 12).
 *
 * Steps of auth_ldap_authenticate():
 *   1. connect with TLS (ldaps:// or StartTLS), certificate verified;
 *   2. find the user's DN: from the template, or by a search made as
 *      the service account (or anonymously);
 *   3. bind as the user with the password: this is the password check;
 *   4. read the user's groups (group search or memberOf);
 *   5. map the first matching group to a role.
 * An empty password is rejected before step 3, because an LDAP simple
 * bind with an empty password is an anonymous bind that succeeds.
 */
#define LDAP_DEPRECATED 0
#include "auth/internal.h"

#include <errno.h>
#include <ldap.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define AUTH_LDAP_DN_MAX 1024
#define AUTH_LDAP_GROUPS_MAX 256

int auth_ldap_escape_filter(const char *in, char *out, size_t len)
{
    size_t o = 0;

    for (; *in; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 ||
            c >= 0x7f) {
            if (o + 3 >= len)
                return -ENOSPC;
            o += (size_t)snprintf(out + o, len - o, "\\%02x", c);
        } else {
            if (o + 1 >= len)
                return -ENOSPC;
            out[o++] = (char)c;
        }
    }
    if (o >= len)
        return -ENOSPC;
    out[o] = '\0';
    return 0;
}

int auth_ldap_escape_dn(const char *in, char *out, size_t len)
{
    size_t n = strlen(in), o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        int special = strchr(",+\"\\<>;=", c) && c != '\0';

        if ((i == 0 && (c == ' ' || c == '#')) || (i == n - 1 && c == ' '))
            special = 1;
        if (c < 0x20) {
            if (o + 3 >= len)
                return -ENOSPC;
            o += (size_t)snprintf(out + o, len - o, "\\%02x", c);
            continue;
        }
        if (o + 2 >= len)
            return -ENOSPC;
        if (special)
            out[o++] = '\\';
        out[o++] = (char)c;
    }
    if (o >= len)
        return -ENOSPC;
    out[o] = '\0';
    return 0;
}

/* Returns 1 if fmt contains exactly one "%s" and no other '%'. */
static int auth_ldap_template_valid(const char *fmt)
{
    int count = 0;

    if (!fmt)
        return 0;
    for (const char *p = fmt; (p = strchr(p, '%')) != NULL; p += 2) {
        if (p[1] != 's')
            return 0;
        count++;
    }
    return count == 1;
}

/* Maps a libldap result code to the module's error space. */
static int auth_ldap_errno(int rc)
{
    switch (rc) {
    case LDAP_SUCCESS:
        return 0;
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_TIMEOUT:
        return -EHOSTUNREACH;
    case LDAP_INVALID_CREDENTIALS:
        return -EACCES;
    case LDAP_NO_SUCH_OBJECT:
        return -ENOENT;
    case LDAP_NO_MEMORY:
        return -ENOMEM;
    default:
        return -EPROTO;
    }
}

/* Returns 1 if a TCP connection to the host and port of uri succeeds
 * within timeout_ms. libldap reports a failed TLS handshake like an
 * unreachable server, so this probe distinguishes the two. */
static int auth_ldap_tcp_reachable(const char *uri, int timeout_ms)
{
    struct addrinfo hints = {0}, *ai = NULL;
    LDAPURLDesc *url = NULL;
    char port[16];
    int ok = 0;

    if (ldap_url_parse(uri, &url) != LDAP_URL_SUCCESS)
        return 0;
    snprintf(port, sizeof(port), "%d", url->lud_port);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (url->lud_host &&
        getaddrinfo(url->lud_host, port, &hints, &ai) == 0) {
        for (struct addrinfo *a = ai; a && !ok; a = a->ai_next) {
            int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
                                              SOCK_CLOEXEC, 0);
            struct pollfd pfd = {fd, POLLOUT, 0};
            int soerr = 0;
            socklen_t len = sizeof(soerr);

            if (fd < 0)
                continue;
            if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
                ok = 1;
            else if (errno == EINPROGRESS &&
                     poll(&pfd, 1, timeout_ms) == 1 &&
                     getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
                                &len) == 0 && soerr == 0)
                ok = 1;
            close(fd);
        }
        freeaddrinfo(ai);
    }
    ldap_free_urldesc(url);
    return ok;
}

/* Writes "<what> at <uri> failed: <reason> (<diagnostic>)". */
static int auth_ldap_fail(LDAP *ld, const auth_ldap_config_t *cfg, int rc,
                          const char *what, char *err, size_t errlen)
{
    char *diag = NULL;
    int e = auth_ldap_errno(rc);

    if (ld)
        ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    if (e == -EHOSTUNREACH &&
        auth_ldap_tcp_reachable(cfg->uri, cfg->timeout_ms > 0
                                              ? cfg->timeout_ms : 5000)) {
        snprintf(err, errlen,
                 "directory %s: TLS handshake failed during %s: check "
                 "that the CA file holds the CA that issued the "
                 "directory's certificate and that the certificate names "
                 "the URI's host", cfg->uri, what);
        e = -EPROTO;
    } else if (e == -EHOSTUNREACH)
        snprintf(err, errlen, "directory %s unreachable during %s: %s%s%s",
                 cfg->uri, what, ldap_err2string(rc),
                 diag && *diag ? ": " : "", diag && *diag ? diag : "");
    else
        snprintf(err, errlen, "directory %s: %s failed: %s%s%s", cfg->uri,
                 what, ldap_err2string(rc), diag && *diag ? ": " : "",
                 diag && *diag ? diag : "");
    ldap_memfree(diag);
    return e;
}

/* Checks the configuration before any network traffic. */
static int auth_ldap_config_check(const auth_ldap_config_t *cfg, char *err,
                                  size_t errlen)
{
    if (!cfg || !cfg->uri) {
        snprintf(err, errlen, "directory login is not configured");
        return -EINVAL;
    }
    if (strncasecmp(cfg->uri, "ldaps://", 8) != 0 &&
        !(strncasecmp(cfg->uri, "ldap://", 7) == 0 && cfg->starttls)) {
        snprintf(err, errlen,
                 "invalid directory URI '%s': use ldaps://, or ldap:// "
                 "with StartTLS, because passwords must not cross the "
                 "network in clear", cfg->uri);
        return -EINVAL;
    }
    if (cfg->user_dn_template) {
        if (!auth_ldap_template_valid(cfg->user_dn_template)) {
            snprintf(err, errlen,
                     "invalid user DN template '%s': it needs exactly one "
                     "%%s and no other %%", cfg->user_dn_template);
            return -EINVAL;
        }
    } else if (!cfg->base_dn || !auth_ldap_template_valid(cfg->user_filter)) {
        snprintf(err, errlen,
                 "directory login needs a user DN template, or a base DN "
                 "and a user filter with exactly one %%s");
        return -EINVAL;
    }
    if (cfg->group_filter && !auth_ldap_template_valid(cfg->group_filter)) {
        snprintf(err, errlen, "invalid group filter '%s': it needs exactly "
                 "one %%s and no other %%", cfg->group_filter);
        return -EINVAL;
    }
    if (cfg->n_groups == 0) {
        snprintf(err, errlen, "directory login needs at least one group "
                 "to role mapping");
        return -EINVAL;
    }
    return 0;
}

/* Connects to the directory with TLS and a verified certificate. */
static int auth_ldap_connect(const auth_ldap_config_t *cfg, LDAP **out,
                             char *err, size_t errlen)
{
    int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
    int ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    LDAP *ld = NULL;
    int rc;

    rc = ldap_initialize(&ld, cfg->uri);
    if (rc != LDAP_SUCCESS) {
        snprintf(err, errlen, "invalid directory URI '%s': %s", cfg->uri,
                 ldap_err2string(rc));
        return -EINVAL;
    }
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    if (cfg->ca_file)
        ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file);
    /* Per-connection TLS options take effect only in a new context. */
    rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
    if (rc != LDAP_OPT_SUCCESS) {
        snprintf(err, errlen, "cannot load the directory CA file '%s'",
                 cfg->ca_file ? cfg->ca_file : "(system)");
        ldap_unbind_ext_s(ld, NULL, NULL);
        return -EINVAL;
    }
    if (strncasecmp(cfg->uri, "ldap://", 7) == 0) {
        rc = ldap_start_tls_s(ld, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            rc = auth_ldap_fail(ld, cfg, rc, "StartTLS", err, errlen);
            ldap_unbind_ext_s(ld, NULL, NULL);
            return rc;
        }
    }
    *out = ld;
    return 0;
}

/* Performs a simple bind as dn with password. */
static int auth_ldap_bind(LDAP *ld, const char *dn, const char *password)
{
    struct berval cred;

    cred.bv_val = (char *)(password ? password : "");
    cred.bv_len = strlen(cred.bv_val);
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
                            NULL);
}

/* Binds as the service account, or stays anonymous without one. */
static int auth_ldap_bind_service(LDAP *ld, const auth_ldap_config_t *cfg,
                                  char *err, size_t errlen)
{
    int rc;

    if (!cfg->bind_dn)
        return 0;
    rc = auth_ldap_bind(ld, cfg->bind_dn, cfg->bind_password);
    if (rc != LDAP_SUCCESS) {
        int e = auth_ldap_fail(ld, cfg, rc, "bind as the service account",
                               err, errlen);
        /* Wrong service credentials are a configuration error, not the
         * user's wrong password. */
        return e == -EACCES ? -EPROTO : e;
    }
    return 0;
}

/* Finds the DN of user by a subtree search under base_dn. */
static int auth_ldap_find_user(LDAP *ld, const auth_ldap_config_t *cfg,
                               const char *user, char *dn, size_t len,
                               char *err, size_t errlen)
{
    char escaped[3 * AUTH_NAME_MAX], filter[1024];
    char *attrs[] = {LDAP_NO_ATTRS, NULL};
    LDAPMessage *res = NULL, *entry;
    char *found;
    int rc, count;

    rc = auth_ldap_bind_service(ld, cfg, err, errlen);
    if (rc < 0)
        return rc;
    if (auth_ldap_escape_filter(user, escaped, sizeof(escaped)) < 0)
        return -EINVAL;
    snprintf(filter, sizeof(filter), cfg->user_filter, escaped);
    rc = ldap_search_ext_s(ld, cfg->base_dn, LDAP_SCOPE_SUBTREE, filter,
                           attrs, 0, NULL, NULL, NULL, 2, &res);
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
        ldap_msgfree(res);
        return auth_ldap_fail(ld, cfg, rc, "user search", err, errlen);
    }
    count = ldap_count_entries(ld, res);
    if (count != 1) {
        ldap_msgfree(res);
        snprintf(err, errlen, count == 0
                     ? "user '%s' not found in directory %s"
                     : "user name '%s' matches several entries in "
                       "directory %s: make the user filter stricter",
                 user, cfg->uri);
        return count == 0 ? -ENOENT : -EPROTO;
    }
    entry = ldap_first_entry(ld, res);
    found = ldap_get_dn(ld, entry);
    rc = found && strlen(found) < len ? 0 : -ENAMETOOLONG;
    if (rc == 0)
        memcpy(dn, found, strlen(found) + 1);
    ldap_memfree(found);
    ldap_msgfree(res);
    return rc;
}

/* Normalises a DN so that equal DNs compare equal (case and spacing). */
static char *auth_ldap_dn_norm(const char *dn)
{
    char *out = NULL;

    if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &out,
                          LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY) !=
        LDAP_SUCCESS)
        return NULL;
    return out;
}

/* Returns 1 if DN a and DN b name the same entry. */
static int auth_ldap_dn_equal(const char *a, const char *b)
{
    char *na = auth_ldap_dn_norm(a), *nb = auth_ldap_dn_norm(b);
    int equal = na && nb && strcasecmp(na, nb) == 0;

    ldap_memfree(na);
    ldap_memfree(nb);
    return equal;
}

/* Collects the user's groups: a group search or the memberOf values.
 * groups[] receives libldap strings freed with ldap_memfree(). */
static int auth_ldap_groups(LDAP *ld, const auth_ldap_config_t *cfg,
                            const char *user_dn, char **groups, size_t *n,
                            char *err, size_t errlen)
{
    char *no_attrs[] = {LDAP_NO_ATTRS, NULL};
    char *member_of[] = {"memberOf", NULL};
    char escaped[3 * AUTH_LDAP_DN_MAX], filter[4 * AUTH_LDAP_DN_MAX];
    LDAPMessage *res = NULL;
    int rc;

    *n = 0;
    if (cfg->group_base_dn) {
        if (auth_ldap_escape_filter(user_dn, escaped, sizeof(escaped)) < 0)
            return -ENAMETOOLONG;
        snprintf(filter, sizeof(filter),
                 cfg->group_filter ? cfg->group_filter : "(member=%s)",
                 escaped);
        rc = ldap_search_ext_s(ld, cfg->group_base_dn, LDAP_SCOPE_SUBTREE,
                               filter, no_attrs, 0, NULL, NULL, NULL,
                               AUTH_LDAP_GROUPS_MAX, &res);
        if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
            ldap_msgfree(res);
            return auth_ldap_fail(ld, cfg, rc, "group search", err, errlen);
        }
        for (LDAPMessage *e = ldap_first_entry(ld, res);
             e && *n < AUTH_LDAP_GROUPS_MAX; e = ldap_next_entry(ld, e))
            groups[(*n)++] = ldap_get_dn(ld, e);
        ldap_msgfree(res);
        return 0;
    }

    /* NOTE: the slapd test covers the group search above, not this
     * memberOf read, because memberOf needs slapd's memberof overlay. */
    rc = ldap_search_ext_s(ld, user_dn, LDAP_SCOPE_BASE, "(objectClass=*)",
                           member_of, 0, NULL, NULL, NULL, 1, &res);
    if (rc != LDAP_SUCCESS) {
        ldap_msgfree(res);
        return auth_ldap_fail(ld, cfg, rc, "memberOf read", err, errlen);
    }
    LDAPMessage *e = ldap_first_entry(ld, res);
    struct berval **vals = e ? ldap_get_values_len(ld, e, "memberOf")
                             : NULL;
    for (int i = 0; vals && vals[i] && *n < AUTH_LDAP_GROUPS_MAX; i++) {
        char *g = ber_memalloc(vals[i]->bv_len + 1);
        if (!g)
            break;
        memcpy(g, vals[i]->bv_val, vals[i]->bv_len);
        g[vals[i]->bv_len] = '\0';
        groups[(*n)++] = g;
    }
    ldap_value_free_len(vals);
    ldap_msgfree(res);
    return 0;
}

/* Picks the role of the first map entry whose group the user is in. */
static int auth_ldap_map(const auth_ldap_config_t *cfg, char **groups,
                         size_t n, const char *user, char *role,
                         size_t rolelen, char *err, size_t errlen)
{
    for (size_t m = 0; m < cfg->n_groups; m++) {
        for (size_t g = 0; g < n; g++) {
            if (!auth_ldap_dn_equal(cfg->groups[m].group_dn, groups[g]))
                continue;
            if (auth_copy(role, rolelen, cfg->groups[m].role) < 0) {
                snprintf(err, errlen, "role name of group '%s' too long",
                         cfg->groups[m].group_dn);
                return -EINVAL;
            }
            return 0;
        }
    }
    snprintf(err, errlen,
             "directory user '%s' is in %zu group(s) but none is mapped to "
             "a role: add the user to a mapped group", user, n);
    return -EPERM;
}

int auth_ldap_authenticate(const auth_ldap_config_t *cfg, const char *user,
                           const char *password, char *role, size_t rolelen,
                           char *err, size_t errlen)
{
    char dn[AUTH_LDAP_DN_MAX], escaped[3 * AUTH_NAME_MAX];
    char *groups[AUTH_LDAP_GROUPS_MAX];
    size_t n_groups = 0;
    LDAP *ld = NULL;
    int rc;

    rc = auth_ldap_config_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    if (auth_name_valid(user, err, errlen) < 0)
        return -ENOENT;
    if (!password || password[0] == '\0') {
        snprintf(err, errlen, "empty password: not sent to the directory");
        return -EACCES;
    }

    rc = auth_ldap_connect(cfg, &ld, err, errlen);
    if (rc < 0)
        return rc;
    if (cfg->user_dn_template) {
        rc = auth_ldap_escape_dn(user, escaped, sizeof(escaped));
        if (rc == 0 && (size_t)snprintf(dn, sizeof(dn),
                                        cfg->user_dn_template, escaped) >=
                           sizeof(dn))
            rc = -ENAMETOOLONG;
    } else {
        rc = auth_ldap_find_user(ld, cfg, user, dn, sizeof(dn), err,
                                 errlen);
    }
    if (rc < 0)
        goto done;

    rc = auth_ldap_bind(ld, dn, password);
    if (rc == LDAP_INVALID_CREDENTIALS) {
        snprintf(err, errlen, "directory %s rejected the password of '%s'",
                 cfg->uri, dn);
        rc = -EACCES;
        goto done;
    }
    if (rc != LDAP_SUCCESS) {
        rc = auth_ldap_fail(ld, cfg, rc, "user bind", err, errlen);
        goto done;
    }

    /* The group lookup runs as the service account when there is one:
     * a directory may not let users read group membership. */
    if (cfg->bind_dn) {
        rc = auth_ldap_bind_service(ld, cfg, err, errlen);
        if (rc < 0)
            goto done;
    }
    rc = auth_ldap_groups(ld, cfg, dn, groups, &n_groups, err, errlen);
    if (rc == 0)
        rc = auth_ldap_map(cfg, groups, n_groups, user, role, rolelen, err,
                           errlen);
    for (size_t i = 0; i < n_groups; i++)
        ldap_memfree(groups[i]);

done:
    ldap_unbind_ext_s(ld, NULL, NULL);
    return rc;
}

/* ---- Configuration copies --------------------------------------------- */

/* Duplicates s into *dst (NULL stays NULL). Returns 0 or -ENOMEM. */
static int auth_ldap_strdup(const char *s, const char **dst)
{
    *dst = NULL;
    if (!s)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : -ENOMEM;
}

int auth_ldap_config_dup(const auth_ldap_config_t *src,
                         auth_ldap_config_t **out)
{
    auth_ldap_config_t *c = calloc(1, sizeof(*c));
    auth_ldap_group_map_t *maps = NULL;
    int rc = 0;

    if (!c)
        return -ENOMEM;
    c->starttls = src->starttls;
    c->timeout_ms = src->timeout_ms;
    rc |= auth_ldap_strdup(src->uri, &c->uri);
    rc |= auth_ldap_strdup(src->ca_file, &c->ca_file);
    rc |= auth_ldap_strdup(src->user_dn_template, &c->user_dn_template);
    rc |= auth_ldap_strdup(src->bind_dn, &c->bind_dn);
    rc |= auth_ldap_strdup(src->bind_password, &c->bind_password);
    rc |= auth_ldap_strdup(src->base_dn, &c->base_dn);
    rc |= auth_ldap_strdup(src->user_filter, &c->user_filter);
    rc |= auth_ldap_strdup(src->group_base_dn, &c->group_base_dn);
    rc |= auth_ldap_strdup(src->group_filter, &c->group_filter);
    if (src->n_groups > 0) {
        maps = calloc(src->n_groups, sizeof(*maps));
        if (!maps)
            rc = -ENOMEM;
        c->groups = maps;
        c->n_groups = maps ? src->n_groups : 0;
        for (size_t i = 0; maps && i < src->n_groups; i++) {
            rc |= auth_ldap_strdup(src->groups[i].group_dn,
                                   &maps[i].group_dn);
            rc |= auth_ldap_strdup(src->groups[i].role, &maps[i].role);
        }
    }
    if (rc != 0) {
        auth_ldap_config_free(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

void auth_ldap_config_free(auth_ldap_config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_groups; i++) {
        free((char *)cfg->groups[i].group_dn);
        free((char *)cfg->groups[i].role);
    }
    free((void *)cfg->groups);
    free((char *)cfg->uri);
    free((char *)cfg->ca_file);
    free((char *)cfg->user_dn_template);
    free((char *)cfg->bind_dn);
    if (cfg->bind_password)
        memset((char *)cfg->bind_password, 0, strlen(cfg->bind_password));
    free((char *)cfg->bind_password);
    free((char *)cfg->base_dn);
    free((char *)cfg->user_filter);
    free((char *)cfg->group_base_dn);
    free((char *)cfg->group_filter);
    free(cfg);
}
