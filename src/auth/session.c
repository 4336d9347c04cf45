/*
 * Sessions, API keys, cookies and the credential of a request.
 *
 * A session token and an API key are 32 random bytes in base64url. Only
 * their SHA-256 is stored, so a copy of the database does not let
 * anyone sign in. A session ends at the first of: its idle timeout (no
 * request for idle_us, checked with a precision of AUTH_TOUCH_US), its
 * absolute timeout, a logout, a password change or the user being
 * disabled or deleted. An API key ends at its expiry or revocation and
 * never grants more than its owner's role.
 */
#include "auth/internal.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The idle timer of a session is written back at most this often, so
 * that a burst of requests does not write the database each time. */
#define AUTH_TOUCH_US (5LL * 1000000)

#define AUTH_COOKIE_NAME "vms_session"
#define AUTH_COOKIE_NAME_TLS "__Host-vms_session"

int auth_session_start(auth_t *auth, const auth_user_row_t *row,
                       const char *source, int tls,
                       auth_login_result_t *result)
{
    auth_session_row_t s;
    auth_role_t role;
    int64_t now = auth_now(auth);
    int rc;

    /* Sweep sessions that ended, so that the table stays small. */
    auth->ops->session_delete_expired(auth->store, now, auth->idle_us);

    memset(&s, 0, sizeof(s));
    auth_token_new(result->token);
    auth_token_hash(result->token, s.hash);
    s.user_id = row->user.id;
    s.created_us = now;
    s.last_seen_us = now;
    s.expires_us = now + auth->absolute_us;
    snprintf(s.source, sizeof(s.source), "%s", source ? source : "");
    rc = auth->ops->session_insert(auth->store, &s);
    if (rc < 0) {
        sodium_memzero(result->token, sizeof(result->token));
        return rc;
    }
    result->expires_us = s.expires_us;
    if (auth->ops->role_get(auth->store, row->user.role_id, NULL,
                            &role) == 0)
        result->totp_enrol_required =
            role.require_totp && !row->user.totp_enabled;
    return auth_cookie_format(result->token, tls,
                              auth->absolute_us / 1000000,
                              result->set_cookie,
                              sizeof(result->set_cookie));
}

/* Builds the principal of user with the rights of its role, limited to
 * scope. */
static int auth_principal_build(auth_t *auth, const auth_user_row_t *row,
                                auth_principal_kind_t kind, uint32_t scope,
                                const unsigned char *hash,
                                auth_principal_t **out)
{
    auth_principal_t *p = calloc(1, sizeof(*p));
    auth_role_t role;
    char hex[2 * AUTH_HASH_LEN + 1];
    size_t kept = 0;
    int rc;

    if (!p)
        return -ENOMEM;
    rc = auth->ops->role_get(auth->store, row->user.role_id, NULL, &role);
    if (rc == 0)
        rc = auth->ops->grant_list(auth->store, role.id, &p->grants,
                                   &p->n_grants);
    if (rc < 0) {
        auth_principal_free(p);
        return rc == -ENOENT ? -EACCES : rc;
    }
    p->kind = kind;
    p->user_id = row->user.id;
    snprintf(p->user, sizeof(p->user), "%s", row->user.name);
    snprintf(p->role, sizeof(p->role), "%s", role.name);
    p->global_rights = role.global_rights & scope;
    p->all_cameras = role.all_cameras & scope;
    for (size_t i = 0; i < p->n_grants; i++) {
        p->grants[i].rights &= scope;
        if (p->grants[i].rights)
            p->grants[kept++] = p->grants[i];
    }
    p->n_grants = kept;
    p->totp_enrol_required = role.require_totp && !row->user.totp_enabled;
    sodium_bin2hex(hex, sizeof(hex), hash, 8);
    snprintf(p->id, sizeof(p->id), "%s", hex);
    *out = p;
    return 0;
}

/* Returns 1 if token consists of base64url characters only. */
static int auth_token_chars_valid(const char *token, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)token[i];
        if (!isalnum(c) && c != '-' && c != '_')
            return 0;
    }
    return 1;
}

/* Resolves an API key. */
static int auth_resolve_key(auth_t *auth, const char *token,
                            auth_principal_t **out)
{
    unsigned char hash[AUTH_HASH_LEN];
    auth_user_row_t row;
    auth_api_key_t key;
    int64_t now = auth_now(auth);
    int rc;

    auth_token_hash(token, hash);
    rc = auth->ops->key_get(auth->store, hash, &key);
    if (rc < 0)
        return rc == -ENOENT ? -EACCES : rc;
    if (key.revoked || (key.expires_us != 0 && key.expires_us <= now))
        return -EACCES;
    rc = auth->ops->user_get(auth->store, key.user_id, NULL, &row);
    if (rc == 0 && row.user.disabled)
        rc = -EACCES;
    if (rc == 0) {
        rc = auth_principal_build(auth, &row, AUTH_PRINCIPAL_API_KEY,
                                  key.scope, hash, out);
        if (rc == 0) {
            (*out)->expires_us = key.expires_us;
            /* A key cannot enrol a second factor: enrolment is for
             * the person at a browser. */
            (*out)->totp_enrol_required = 0;
        }
    }
    sodium_memzero(&row, sizeof(row));
    return rc == -ENOENT ? -EACCES : rc;
}

int auth_resolve(auth_t *auth, const char *token, auth_principal_t **out)
{
    unsigned char hash[AUTH_HASH_LEN];
    auth_session_row_t s;
    auth_user_row_t row;
    size_t n = token ? strlen(token) : 0;
    int64_t now;
    int rc;

    *out = NULL;
    if (n == AUTH_API_KEY_LEN &&
        strncmp(token, AUTH_API_KEY_PREFIX, 5) == 0 &&
        auth_token_chars_valid(token + 5, n - 5))
        return auth_resolve_key(auth, token, out);
    if (n != AUTH_TOKEN_LEN || !auth_token_chars_valid(token, n))
        return -EACCES;

    auth_token_hash(token, hash);
    rc = auth->ops->session_get(auth->store, hash, &s);
    if (rc < 0)
        return rc == -ENOENT ? -EACCES : rc;
    now = auth_now(auth);
    if (s.expires_us <= now || s.last_seen_us + auth->idle_us <= now) {
        auth->ops->session_delete(auth->store, hash);
        return -EACCES;
    }
    rc = auth->ops->user_get(auth->store, s.user_id, NULL, &row);
    if (rc == 0 && row.user.disabled)
        rc = -EACCES;
    if (rc == 0)
        rc = auth_principal_build(auth, &row, AUTH_PRINCIPAL_SESSION,
                                  AUTH_ALL_RIGHTS, hash, out);
    sodium_memzero(&row, sizeof(row));
    if (rc < 0)
        return rc == -ENOENT ? -EACCES : rc;
    (*out)->expires_us = s.expires_us;
    if (now - s.last_seen_us >= AUTH_TOUCH_US)
        auth->ops->session_touch(auth->store, hash, now);
    return 0;
}

void auth_principal_free(auth_principal_t *p)
{
    if (!p)
        return;
    free(p->grants);
    free(p);
}

uint32_t auth_principal_camera_rights(const auth_principal_t *p,
                                      int64_t camera_id)
{
    uint32_t rights = p->all_cameras;

    for (size_t i = 0; i < p->n_grants; i++)
        if (p->grants[i].camera_id == camera_id)
            rights |= p->grants[i].rights;
    return rights;
}

int auth_principal_can(const auth_principal_t *p, int64_t camera_id,
                       uint32_t rights)
{
    return (auth_principal_camera_rights(p, camera_id) & rights) != 0;
}

int auth_logout(auth_t *auth, const char *token, const char *source)
{
    unsigned char hash[AUTH_HASH_LEN];
    auth_session_row_t s;
    auth_user_t user;
    int rc;

    if (!token || strlen(token) != AUTH_TOKEN_LEN)
        return -ENOENT;
    auth_token_hash(token, hash);
    rc = auth->ops->session_get(auth->store, hash, &s);
    if (rc < 0)
        return rc;
    rc = auth->ops->session_delete(auth->store, hash);
    if (rc == 0 && auth_user_get_by_id(auth, s.user_id, &user) == 0)
        auth_audit_note(auth, user.name, source, "logout", user.name, "ok",
                        NULL);
    return rc;
}

int auth_sessions_revoke_user(auth_t *auth, const char *actor,
                              int64_t user_id, int *count)
{
    auth_user_t user;
    char detail[32];
    int n = 0;
    int rc = auth->ops->session_delete_user(auth->store, user_id, &n);

    if (count)
        *count = n;
    if (auth_user_get_by_id(auth, user_id, &user) < 0)
        snprintf(user.name, sizeof(user.name), "%lld", (long long)user_id);
    snprintf(detail, sizeof(detail), "sessions=%d", n);
    auth_audit_note(auth, actor, NULL, "session.revoke", user.name,
                    rc == 0 ? "ok" : "failed", detail);
    return rc;
}

int auth_cookie_format(const char *token, int tls, int64_t max_age_s,
                       char *out, size_t len)
{
    int n;

    if (!token || (max_age_s > 0 && strlen(token) != AUTH_TOKEN_LEN))
        return -EINVAL;
    n = snprintf(out, len, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; "
                 "SameSite=Strict%s",
                 tls ? AUTH_COOKIE_NAME_TLS : AUTH_COOKIE_NAME,
                 max_age_s > 0 ? token : "",
                 (long long)(max_age_s > 0 ? max_age_s : 0),
                 tls ? "; Secure" : "");
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* Copies a credential of n bytes into token after checking its form. */
static int auth_token_take(const char *value, size_t n, char *token,
                           size_t len)
{
    if (n == 0 || n > AUTH_API_KEY_LEN || n >= len ||
        !auth_token_chars_valid(value, n))
        return -EINVAL;
    memcpy(token, value, n);
    token[n] = '\0';
    return 0;
}

/* Finds the value of cookie name in a Cookie header ("a=1; b=2"). */
static const char *auth_cookie_find(const char *header, const char *name,
                                    size_t *n)
{
    size_t name_len = strlen(name);
    const char *p = header;

    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t pair = end ? (size_t)(end - p) : strlen(p);
        if (pair > name_len && strncmp(p, name, name_len) == 0 &&
            p[name_len] == '=') {
            *n = pair - name_len - 1;
            while (*n > 0 && (p[name_len + *n] == ' ' ||
                              p[name_len + *n] == '\t'))
                (*n)--;
            return p + name_len + 1;
        }
        p += pair;
    }
    return NULL;
}

int auth_request_token(const char *authorization, const char *cookie,
                       char *token, size_t len, int *from_cookie)
{
    const char *v;
    size_t n = 0;

    *from_cookie = 0;
    if (authorization && authorization[0] != '\0') {
        if (strncasecmp(authorization, "Bearer ", 7) != 0)
            return -EINVAL;
        v = authorization + 7;
        while (*v == ' ')
            v++;
        n = strlen(v);
        while (n > 0 && v[n - 1] == ' ')
            n--;
        return auth_token_take(v, n, token, len);
    }
    if (!cookie)
        return -ENOENT;
    /* The __Host- cookie can only have been set over TLS by this host,
     * so it wins over a plain one that another site may have planted. */
    v = auth_cookie_find(cookie, AUTH_COOKIE_NAME_TLS, &n);
    if (!v)
        v = auth_cookie_find(cookie, AUTH_COOKIE_NAME, &n);
    if (!v)
        return -ENOENT;
    *from_cookie = 1;
    return auth_token_take(v, n, token, len);
}

/* ---- API keys --------------------------------------------------------- */

int auth_api_key_create(auth_t *auth, const char *actor, const char *user,
                        const char *name, uint32_t scope,
                        int64_t expires_us, char *key, size_t len,
                        auth_api_key_t *info, char *err, size_t errlen)
{
    unsigned char hash[AUTH_HASH_LEN];
    auth_api_key_t k;
    auth_user_t owner;
    char detail[64];
    int rc;

    if (len < AUTH_API_KEY_LEN + 1) {
        snprintf(err, errlen, "key buffer too small");
        return -ENOSPC;
    }
    rc = auth_name_valid(name, err, errlen);
    if (rc < 0)
        return rc;
    if (scope == 0 || scope & ~AUTH_ALL_RIGHTS) {
        snprintf(err, errlen, "invalid scope 0x%x: use a non-empty subset "
                 "of 0x%x", scope, AUTH_ALL_RIGHTS);
        return -EINVAL;
    }
    if (expires_us != 0 && expires_us <= auth_now(auth)) {
        snprintf(err, errlen, "expiry is in the past");
        return -EINVAL;
    }
    rc = auth_user_get(auth, user, &owner);
    if (rc < 0) {
        snprintf(err, errlen, "user '%s' not found", user ? user : "");
        return rc;
    }

    memset(&k, 0, sizeof(k));
    memcpy(key, AUTH_API_KEY_PREFIX, 5);
    auth_token_new(key + 5);
    auth_token_hash(key, hash);
    k.user_id = owner.id;
    snprintf(k.name, sizeof(k.name), "%s", name);
    k.scope = scope;
    k.created_us = auth_now(auth);
    k.expires_us = expires_us;
    rc = auth->ops->key_insert(auth->store, hash, &k);
    if (rc < 0) {
        sodium_memzero(key, len);
        snprintf(err, errlen, "cannot store the key: %s", strerror(-rc));
    } else if (info) {
        *info = k;
    }
    snprintf(detail, sizeof(detail), "key=%lld scope=0x%x", (long long)k.id,
             scope);
    auth_audit_note(auth, actor, NULL, "apikey.create", owner.name,
                    rc == 0 ? "ok" : "failed", detail);
    return rc;
}

int auth_api_key_revoke(auth_t *auth, const char *actor, int64_t id)
{
    char target[32];
    int rc = auth->ops->key_revoke(auth->store, id);

    snprintf(target, sizeof(target), "key=%lld", (long long)id);
    auth_audit_note(auth, actor, NULL, "apikey.revoke", target,
                    rc == 0 ? "ok" : "failed", NULL);
    return rc;
}

int auth_api_key_list(auth_t *auth, int64_t user_id, auth_api_key_t **out,
                      size_t *n)
{
    return auth->ops->key_list(auth->store, user_id, out, n);
}
