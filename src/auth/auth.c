/*
 * The security service: lifecycle, password hashing and policy, users,
 * roles and the first administrator.
 *
 * Invariants kept here:
 *  - a password is stored only as a libsodium argon2id string, and is
 *    compared only through crypto_pwhash_str_verify();
 *  - at least one enabled administrator exists once setup is done: the
 *    last one cannot be deleted, disabled or given another role;
 *  - a password change or a disabled account ends every session of
 *    the user.
 */
#include "auth/internal.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_DEFAULT_IDLE_US (30LL * 60 * 1000000)
#define AUTH_DEFAULT_ABSOLUTE_US (12LL * 3600 * 1000000)
#define AUTH_SETTING_SETUP "setup_token"

int auth_copy(char *dst, size_t len, const char *src)
{
    size_t n;

    if (!src)
        return -EINVAL;
    n = strlen(src);
    if (n >= len)
        return -ENAMETOOLONG;
    memcpy(dst, src, n + 1);
    return 0;
}

int auth_name_valid(const char *name, char *err, size_t errlen)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n >= AUTH_NAME_MAX) {
        snprintf(err, errlen, "invalid name: use 1 to %d characters",
                 AUTH_NAME_MAX - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && !strchr("._-@", c)) {
            snprintf(err, errlen,
                     "invalid name '%s': character %zu is not a letter, "
                     "digit or one of . _ - @", name, i + 1);
            return -EINVAL;
        }
    }
    return 0;
}

int auth_password_hash(const auth_t *auth, const char *password,
                       char hash[AUTH_PWHASH_MAX])
{
    static_assert(crypto_pwhash_STRBYTES <= AUTH_PWHASH_MAX,
                  "password hash buffer too small");

    if (crypto_pwhash_str(hash, password, strlen(password), auth->opslimit,
                          auth->memlimit) != 0)
        return -ENOMEM;
    return 0;
}

int auth_password_verify(const char *hash, const char *password)
{
    if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
        return -EACCES;
    return 0;
}

void auth_token_hash(const char *token, unsigned char out[AUTH_HASH_LEN])
{
    crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

void auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
    unsigned char raw[32];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

/* ---- Lifecycle -------------------------------------------------------- */

int auth_new(const auth_config_t *cfg, auth_store_t *store, auth_t **out,
             char *err, size_t errlen)
{
    static const auth_config_t defaults = {0};
    char dummy[AUTH_TOKEN_LEN + 1];
    auth_t *auth = NULL;
    int rc;

    if (!cfg)
        cfg = &defaults;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        rc = -EIO;
        goto fail;
    }
    if (cfg->audit_key &&
        (cfg->audit_key_len < 16 || cfg->audit_key_len > 64)) {
        snprintf(err, errlen,
                 "invalid audit key of %zu bytes: use 16 to 64 bytes",
                 cfg->audit_key_len);
        rc = -EINVAL;
        goto fail;
    }
    auth = calloc(1, sizeof(*auth));
    if (!auth) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto fail;
    }
    auth->store = store;
    auth->ops = store->ops;
    auth->clock = cfg->clock ? cfg->clock : &vms_clock_real;
    auth->opslimit = cfg->pwhash_opslimit ? cfg->pwhash_opslimit
                                          : AUTH_PWHASH_OPSLIMIT;
    auth->memlimit = cfg->pwhash_memlimit ? cfg->pwhash_memlimit
                                          : AUTH_PWHASH_MEMLIMIT;
    auth->idle_us = cfg->session_idle_us > 0 ? cfg->session_idle_us
                                             : AUTH_DEFAULT_IDLE_US;
    auth->absolute_us = cfg->session_absolute_us > 0
                            ? cfg->session_absolute_us
                            : AUTH_DEFAULT_ABSOLUTE_US;
    auth->account_free = cfg->account_free_failures > 0
                             ? cfg->account_free_failures : 3;
    auth->account_lockout = cfg->account_lockout > 0 ? cfg->account_lockout
                                                     : 10;
    auth->address_free = cfg->address_free_failures > 0
                             ? cfg->address_free_failures : 10;
    auth->address_lockout = cfg->address_lockout > 0 ? cfg->address_lockout
                                                     : 50;
    auth->throttle_base_us = cfg->throttle_base_us > 0
                                 ? cfg->throttle_base_us : 1000000;
    auth->throttle_max_us = cfg->throttle_max_delay_us > 0
                                ? cfg->throttle_max_delay_us : 60000000;
    auth->lockout_us = cfg->lockout_us > 0 ? cfg->lockout_us
                                           : 15LL * 60 * 1000000;
    if (cfg->audit_key) {
        memcpy(auth->audit_key, cfg->audit_key, cfg->audit_key_len);
        auth->audit_key_len = cfg->audit_key_len;
    }
    pthread_mutex_init(&auth->throttle_lock, NULL);
    store = NULL;

    if (cfg->ldap) {
        rc = auth_ldap_config_dup(cfg->ldap, &auth->ldap);
        if (rc < 0) {
            snprintf(err, errlen, "cannot copy the directory settings: %s",
                     strerror(-rc));
            goto fail;
        }
    }

    auth_token_new(dummy);
    rc = auth_password_hash(auth, dummy, auth->dummy_hash);
    if (rc < 0) {
        snprintf(err, errlen,
                 "argon2id hashing failed (opslimit %llu, memlimit %zu): "
                 "lower the memory limit or free memory",
                 auth->opslimit, auth->memlimit);
        goto fail;
    }
    *out = auth;
    return 0;

fail:
    auth_store_close(store);
    auth_free(auth);
    return rc;
}

void auth_free(auth_t *auth)
{
    if (!auth)
        return;
    auth_store_close(auth->store);
    auth_ldap_config_free(auth->ldap);
    pthread_mutex_destroy(&auth->throttle_lock);
    sodium_memzero(auth->audit_key, sizeof(auth->audit_key));
    free(auth);
}

/* ---- Password policy -------------------------------------------------- */

int auth_password_policy_get(auth_t *auth, auth_password_policy_t *out)
{
    char v[32];

    out->min_length = AUTH_PASSWORD_MIN_LENGTH;
    out->min_classes = 0;
    out->reject_username = 1;
    if (auth->ops->setting_get(auth->store, "password_min_length", v,
                               sizeof(v)) == 0)
        out->min_length = atoi(v);
    if (auth->ops->setting_get(auth->store, "password_min_classes", v,
                               sizeof(v)) == 0)
        out->min_classes = atoi(v);
    if (out->min_length < AUTH_PASSWORD_MIN_LENGTH)
        out->min_length = AUTH_PASSWORD_MIN_LENGTH;
    return 0;
}

int auth_password_policy_set(auth_t *auth, const char *actor,
                             const auth_password_policy_t *policy,
                             char *err, size_t errlen)
{
    char v[32], detail[96];
    int rc;

    if (policy->min_length < AUTH_PASSWORD_MIN_LENGTH ||
        policy->min_length > 256) {
        snprintf(err, errlen,
                 "invalid minimum password length %d: use %d to 256",
                 policy->min_length, AUTH_PASSWORD_MIN_LENGTH);
        return -EINVAL;
    }
    if (policy->min_classes < 0 || policy->min_classes > 4) {
        snprintf(err, errlen,
                 "invalid number of character classes %d: use 0 to 4",
                 policy->min_classes);
        return -EINVAL;
    }
    if (!policy->reject_username) {
        snprintf(err, errlen, "the rule that a password may not contain "
                 "the user name cannot be turned off");
        return -EINVAL;
    }
    snprintf(v, sizeof(v), "%d", policy->min_length);
    rc = auth->ops->setting_put(auth->store, "password_min_length", v);
    snprintf(v, sizeof(v), "%d", policy->min_classes);
    if (rc == 0)
        rc = auth->ops->setting_put(auth->store, "password_min_classes", v);
    if (rc < 0) {
        snprintf(err, errlen, "cannot store the password policy: %s",
                 strerror(-rc));
        return rc;
    }
    snprintf(detail, sizeof(detail), "min_length=%d min_classes=%d",
             policy->min_length, policy->min_classes);
    auth_audit_note(auth, actor, NULL, "settings.password_policy", "-",
                    "ok", detail);
    return 0;
}

/* Returns 1 if needle occurs in haystack, ignoring ASCII case. */
static int auth_contains_nocase(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);

    if (n == 0)
        return 0;
    for (; *haystack; haystack++)
        if (strncasecmp(haystack, needle, n) == 0)
            return 1;
    return 0;
}

int auth_password_check(auth_t *auth, const char *user,
                        const char *password, char *err, size_t errlen)
{
    auth_password_policy_t policy;
    int lower = 0, upper = 0, digit = 0, other = 0, classes;
    size_t chars = 0, bytes;

    if (!password) {
        snprintf(err, errlen, "missing password");
        return -EINVAL;
    }
    auth_password_policy_get(auth, &policy);
    bytes = strlen(password);
    if (bytes >= AUTH_PASSWORD_MAX) {
        snprintf(err, errlen, "password too long: at most %d bytes",
                 AUTH_PASSWORD_MAX - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < bytes; i++) {
        unsigned char c = (unsigned char)password[i];
        if ((c & 0xc0) != 0x80)
            chars++; /* count UTF-8 code points, not bytes */
        if (islower(c))
            lower = 1;
        else if (isupper(c))
            upper = 1;
        else if (isdigit(c))
            digit = 1;
        else
            other = 1;
    }
    if ((int)chars < policy.min_length) {
        snprintf(err, errlen,
                 "password too short: %zu characters, the policy requires "
                 "at least %d", chars, policy.min_length);
        return -EINVAL;
    }
    classes = lower + upper + digit + other;
    if (classes < policy.min_classes) {
        snprintf(err, errlen,
                 "password too simple: it mixes %d of lower case, upper "
                 "case, digits and other characters, the policy requires "
                 "%d", classes, policy.min_classes);
        return -EINVAL;
    }
    if (user && auth_contains_nocase(password, user)) {
        snprintf(err, errlen, "password contains the user name");
        return -EINVAL;
    }
    return 0;
}

/* ---- Roles ------------------------------------------------------------ */

/* Checks the rights of a role: camera rights in all_cameras, global
 * rights in global_rights. */
static int auth_role_rights_valid(const auth_role_t *role, char *err,
                                  size_t errlen)
{
    if (role->all_cameras & ~AUTH_CAMERA_RIGHTS ||
        role->global_rights & ~AUTH_GLOBAL_RIGHTS) {
        snprintf(err, errlen,
                 "invalid rights 0x%x/0x%x: camera rights are 0x%x, "
                 "global rights 0x%x", role->all_cameras,
                 role->global_rights, AUTH_CAMERA_RIGHTS,
                 AUTH_GLOBAL_RIGHTS);
        return -EINVAL;
    }
    return 0;
}

int auth_role_create(auth_t *auth, const char *actor, auth_role_t *role,
                     char *err, size_t errlen)
{
    char detail[64];
    int rc = auth_name_valid(role->name, err, errlen);

    if (rc == 0)
        rc = auth_role_rights_valid(role, err, errlen);
    if (rc < 0)
        return rc;
    role->builtin = 0;
    rc = auth->ops->role_insert(auth->store, role);
    if (rc == -EEXIST)
        snprintf(err, errlen, "role '%s' already exists", role->name);
    else if (rc < 0)
        snprintf(err, errlen, "cannot store role '%s': %s", role->name,
                 strerror(-rc));
    snprintf(detail, sizeof(detail), "global=0x%x cameras=0x%x totp=%d",
             role->global_rights, role->all_cameras, role->require_totp);
    auth_audit_note(auth, actor, NULL, "role.create", role->name,
                    rc == 0 ? "ok" : "failed", detail);
    return rc;
}

int auth_role_update(auth_t *auth, const char *actor,
                     const auth_role_t *role, char *err, size_t errlen)
{
    auth_role_t cur;
    char detail[64];
    int rc = auth->ops->role_get(auth->store, role->id, NULL, &cur);

    if (rc < 0) {
        snprintf(err, errlen, "role %lld not found", (long long)role->id);
        return rc;
    }
    if (cur.builtin && (cur.global_rights != role->global_rights ||
                        cur.all_cameras != role->all_cameras)) {
        snprintf(err, errlen,
                 "the rights of built-in role '%s' cannot change: create "
                 "a custom role instead", cur.name);
        return -EPERM;
    }
    rc = auth_role_rights_valid(role, err, errlen);
    if (rc < 0)
        return rc;
    rc = auth->ops->role_update(auth->store, role);
    if (rc < 0)
        snprintf(err, errlen, "cannot update role '%s': %s", cur.name,
                 strerror(-rc));
    snprintf(detail, sizeof(detail), "global=0x%x cameras=0x%x totp=%d",
             role->global_rights, role->all_cameras, role->require_totp);
    auth_audit_note(auth, actor, NULL, "role.update", cur.name,
                    rc == 0 ? "ok" : "failed", detail);
    return rc;
}

int auth_role_delete(auth_t *auth, const char *actor, int64_t id, char *err,
                     size_t errlen)
{
    auth_user_t *users = NULL;
    auth_role_t cur;
    size_t n = 0;
    int rc = auth->ops->role_get(auth->store, id, NULL, &cur);

    if (rc < 0) {
        snprintf(err, errlen, "role %lld not found", (long long)id);
        return rc;
    }
    if (cur.builtin) {
        snprintf(err, errlen, "built-in role '%s' cannot be deleted",
                 cur.name);
        return -EPERM;
    }
    rc = auth->ops->user_list(auth->store, &users, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (users[i].role_id == id) {
            snprintf(err, errlen,
                     "role '%s' is in use by user '%s': give them another "
                     "role first", cur.name, users[i].name);
            rc = -EBUSY;
        }
    }
    free(users);
    if (rc == 0)
        rc = auth->ops->role_delete(auth->store, id);
    auth_audit_note(auth, actor, NULL, "role.delete", cur.name,
                    rc == 0 ? "ok" : "failed", NULL);
    return rc;
}

int auth_role_grant(auth_t *auth, const char *actor, int64_t role_id,
                    int64_t camera_id, uint32_t rights, char *err,
                    size_t errlen)
{
    auth_role_t cur;
    char target[96], detail[32];
    int rc = auth->ops->role_get(auth->store, role_id, NULL, &cur);

    if (rc < 0) {
        snprintf(err, errlen, "role %lld not found", (long long)role_id);
        return rc;
    }
    if (cur.builtin) {
        snprintf(err, errlen, "built-in role '%s' has fixed rights: "
                 "create a custom role for per-camera rights", cur.name);
        return -EPERM;
    }
    if (rights & ~AUTH_CAMERA_RIGHTS || camera_id <= 0) {
        snprintf(err, errlen,
                 "invalid grant of 0x%x on camera %lld: camera rights "
                 "are 0x%x and camera ids are positive", rights,
                 (long long)camera_id, AUTH_CAMERA_RIGHTS);
        return -EINVAL;
    }
    rc = auth->ops->grant_set(auth->store, role_id, camera_id, rights);
    snprintf(target, sizeof(target), "%s camera=%lld", cur.name,
             (long long)camera_id);
    snprintf(detail, sizeof(detail), "rights=0x%x", rights);
    auth_audit_note(auth, actor, NULL, "role.grant", target,
                    rc == 0 ? "ok" : "failed", detail);
    return rc;
}

int auth_role_get(auth_t *auth, const char *name, auth_role_t *out)
{
    return auth->ops->role_get(auth->store, 0, name, out);
}

int auth_role_list(auth_t *auth, auth_role_t **out, size_t *n)
{
    return auth->ops->role_list(auth->store, out, n);
}

int auth_role_grants(auth_t *auth, int64_t role_id,
                     auth_camera_grant_t **out, size_t *n)
{
    return auth->ops->grant_list(auth->store, role_id, out, n);
}

/* ---- Users ------------------------------------------------------------ */

/* Returns 1 if the user is the only enabled administrator. */
static int auth_user_is_last_admin(auth_t *auth, const auth_user_row_t *row)
{
    auth_role_t admin;
    int count = 0;

    if (auth->ops->role_get(auth->store, 0, AUTH_ROLE_ADMINISTRATOR,
                            &admin) < 0)
        return 0;
    if (row->user.role_id != admin.id || row->user.disabled)
        return 0;
    if (auth->ops->user_count_role(auth->store, admin.id, &count) < 0)
        return 1; /* when in doubt, keep the administrator */
    return count <= 1;
}

int auth_user_create(auth_t *auth, const char *actor, const char *name,
                     const char *password, const char *role,
                     auth_user_t *user, char *err, size_t errlen)
{
    auth_user_row_t row;
    auth_role_t r;
    int rc;

    memset(&row, 0, sizeof(row));
    rc = auth_name_valid(name, err, errlen);
    if (rc < 0)
        return rc;
    rc = auth->ops->role_get(auth->store, 0, role ? role : "", &r);
    if (rc < 0) {
        snprintf(err, errlen, "role '%s' not found", role ? role : "");
        return rc;
    }
    rc = auth_password_check(auth, name, password, err, errlen);
    if (rc < 0)
        return rc;

    snprintf(row.user.name, sizeof(row.user.name), "%s", name);
    row.user.role_id = r.id;
    row.user.source = AUTH_SOURCE_LOCAL;
    row.user.created_us = auth_now(auth);
    row.user.password_changed_us = row.user.created_us;
    rc = auth_password_hash(auth, password, row.pwhash);
    if (rc == 0)
        rc = auth->ops->user_insert(auth->store, &row);
    if (rc == -EEXIST)
        snprintf(err, errlen, "user '%s' already exists", name);
    else if (rc < 0)
        snprintf(err, errlen, "cannot store user '%s': %s", name,
                 strerror(-rc));
    auth_audit_note(auth, actor, NULL, "user.create", name,
                    rc == 0 ? "ok" : "failed", r.name);
    if (rc == 0 && user)
        *user = row.user;
    sodium_memzero(row.pwhash, sizeof(row.pwhash));
    return rc;
}

int auth_user_get(auth_t *auth, const char *name, auth_user_t *out)
{
    auth_user_row_t row;
    int rc = auth->ops->user_get(auth->store, 0, name ? name : "", &row);

    if (rc == 0)
        *out = row.user;
    sodium_memzero(&row, sizeof(row));
    return rc;
}

int auth_user_get_by_id(auth_t *auth, int64_t id, auth_user_t *out)
{
    auth_user_row_t row;
    int rc = auth->ops->user_get(auth->store, id, NULL, &row);

    if (rc == 0)
        *out = row.user;
    sodium_memzero(&row, sizeof(row));
    return rc;
}

int auth_user_list(auth_t *auth, auth_user_t **out, size_t *n)
{
    return auth->ops->user_list(auth->store, out, n);
}

/* Loads a user row by name, with a message when it is missing. */
static int auth_user_load(auth_t *auth, const char *name,
                          auth_user_row_t *row, char *err, size_t errlen)
{
    int rc = auth->ops->user_get(auth->store, 0, name ? name : "", row);

    if (rc == -ENOENT)
        snprintf(err, errlen, "user '%s' not found", name ? name : "");
    else if (rc < 0)
        snprintf(err, errlen, "cannot read user '%s': %s",
                 name ? name : "", strerror(-rc));
    return rc;
}

int auth_user_set_password(auth_t *auth, const char *actor,
                           const char *name, const char *old_password,
                           const char *new_password, char *err,
                           size_t errlen)
{
    auth_user_row_t row;
    int rc = auth_user_load(auth, name, &row, err, errlen);

    if (rc < 0)
        return rc;
    if (row.user.source != AUTH_SOURCE_LOCAL) {
        snprintf(err, errlen, "user '%s' signs in through the directory: "
                 "change the password there", name);
        rc = -EPERM;
        goto done;
    }
    /* NOTE: this check is not throttled like a login. The HTTP layer
     * offers it only to a user already signed in as this user. */
    if (old_password && auth_password_verify(row.pwhash, old_password) < 0) {
        snprintf(err, errlen, "the current password is wrong");
        rc = -EACCES;
        goto done;
    }
    rc = auth_password_check(auth, row.user.name, new_password, err,
                             errlen);
    if (rc < 0)
        goto done;
    rc = auth_password_hash(auth, new_password, row.pwhash);
    row.user.password_changed_us = auth_now(auth);
    if (rc == 0)
        rc = auth->ops->user_update(auth->store, &row);
    if (rc == 0)
        rc = auth->ops->session_delete_user(auth->store, row.user.id, NULL);
    if (rc < 0)
        snprintf(err, errlen, "cannot store the password of '%s': %s",
                 name, strerror(-rc));

done:
    auth_audit_note(auth, actor, NULL, "user.password", row.user.name,
                    rc == 0 ? "ok" : "failed", rc == 0 ? NULL : err);
    sodium_memzero(&row, sizeof(row));
    return rc;
}

int auth_user_set_role(auth_t *auth, const char *actor, const char *name,
                       const char *role, char *err, size_t errlen)
{
    auth_user_row_t row;
    auth_role_t r;
    int rc = auth_user_load(auth, name, &row, err, errlen);

    if (rc < 0)
        return rc;
    rc = auth->ops->role_get(auth->store, 0, role ? role : "", &r);
    if (rc < 0) {
        snprintf(err, errlen, "role '%s' not found", role ? role : "");
        goto done;
    }
    if (r.id != row.user.role_id && auth_user_is_last_admin(auth, &row)) {
        snprintf(err, errlen, "'%s' is the last administrator: make "
                 "another user administrator first", name);
        rc = -EPERM;
        goto done;
    }
    row.user.role_id = r.id;
    rc = auth->ops->user_update(auth->store, &row);

done:
    auth_audit_note(auth, actor, NULL, "user.role", row.user.name,
                    rc == 0 ? "ok" : "failed", role);
    sodium_memzero(&row, sizeof(row));
    return rc;
}

int auth_user_set_disabled(auth_t *auth, const char *actor,
                           const char *name, int disabled, char *err,
                           size_t errlen)
{
    auth_user_row_t row;
    int rc = auth_user_load(auth, name, &row, err, errlen);

    if (rc < 0)
        return rc;
    if (disabled && auth_user_is_last_admin(auth, &row)) {
        snprintf(err, errlen, "'%s' is the last administrator and cannot "
                 "be disabled", name);
        rc = -EPERM;
        goto done;
    }
    row.user.disabled = disabled ? 1 : 0;
    rc = auth->ops->user_update(auth->store, &row);
    if (rc == 0 && disabled)
        rc = auth->ops->session_delete_user(auth->store, row.user.id, NULL);

done:
    auth_audit_note(auth, actor, NULL,
                    disabled ? "user.disable" : "user.enable",
                    row.user.name, rc == 0 ? "ok" : "failed", NULL);
    sodium_memzero(&row, sizeof(row));
    return rc;
}

int auth_user_delete(auth_t *auth, const char *actor, const char *name,
                     char *err, size_t errlen)
{
    auth_user_row_t row;
    int rc = auth_user_load(auth, name, &row, err, errlen);

    if (rc < 0)
        return rc;
    if (auth_user_is_last_admin(auth, &row)) {
        snprintf(err, errlen, "'%s' is the last administrator and cannot "
                 "be deleted", name);
        rc = -EPERM;
    } else {
        rc = auth->ops->user_delete(auth->store, row.user.id);
    }
    auth_audit_note(auth, actor, NULL, "user.delete", row.user.name,
                    rc == 0 ? "ok" : "failed", NULL);
    sodium_memzero(&row, sizeof(row));
    return rc;
}

/* ---- First administrator ---------------------------------------------- */

int auth_setup_needed(auth_t *auth, int *needed)
{
    auth_role_t admin;
    int count = 0;
    int rc = auth->ops->role_get(auth->store, 0, AUTH_ROLE_ADMINISTRATOR,
                                 &admin);

    if (rc == 0)
        rc = auth->ops->user_count_role(auth->store, admin.id, &count);
    if (rc < 0)
        return rc;
    *needed = count == 0;
    return 0;
}

int auth_setup_token_create(auth_t *auth, char *token, size_t len)
{
    unsigned char hash[AUTH_HASH_LEN];
    char hex[2 * AUTH_HASH_LEN + 1];
    int needed = 0;
    int rc = auth_setup_needed(auth, &needed);

    if (rc < 0)
        return rc;
    if (!needed)
        return -EEXIST;
    if (len < AUTH_TOKEN_LEN + 1)
        return -ENOSPC;
    auth_token_new(token);
    auth_token_hash(token, hash);
    sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
    rc = auth->ops->setting_put(auth->store, AUTH_SETTING_SETUP, hex);
    if (rc == 0)
        auth_audit_note(auth, "-", "daemon", "setup.token", "-", "ok",
                        "one-time setup token created");
    return rc;
}

int auth_setup_complete(auth_t *auth, const char *token, const char *name,
                        const char *password, const char *source,
                        char *err, size_t errlen)
{
    unsigned char hash[AUTH_HASH_LEN], stored[AUTH_HASH_LEN];
    char hex[2 * AUTH_HASH_LEN + 1];
    int needed = 0;
    int rc = auth_setup_needed(auth, &needed);

    if (rc < 0)
        return rc;
    if (!needed) {
        snprintf(err, errlen, "setup is already done: an administrator "
                 "exists");
        return -EEXIST;
    }
    rc = auth->ops->setting_get(auth->store, AUTH_SETTING_SETUP, hex,
                                sizeof(hex));
    if (rc == 0 && (!token || sodium_hex2bin(stored, sizeof(stored), hex,
                                             strlen(hex), NULL, NULL,
                                             NULL) != 0))
        rc = -EACCES;
    if (rc == 0) {
        auth_token_hash(token, hash);
        if (sodium_memcmp(hash, stored, sizeof(hash)) != 0)
            rc = -EACCES;
    }
    if (rc < 0) {
        snprintf(err, errlen, "invalid setup token: use the token that the "
                 "daemon printed at its last start");
        auth_audit_note(auth, name, source, "setup.complete", name,
                        "denied", "invalid setup token");
        return -EACCES;
    }
    rc = auth_user_create(auth, "setup", name, password,
                          AUTH_ROLE_ADMINISTRATOR, NULL, err, errlen);
    if (rc == 0)
        rc = auth->ops->setting_put(auth->store, AUTH_SETTING_SETUP, NULL);
    auth_audit_note(auth, name, source, "setup.complete", name,
                    rc == 0 ? "ok" : "failed", NULL);
    return rc;
}
