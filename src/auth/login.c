/*
 * Login: throttling, password or directory check, second factor, and
 * the start of a session.
 *
 * Throttling counts failures per account name (whether or not the
 * account exists) and per source address. Below the free limit a
 * failure costs nothing. Above it the next attempt must wait a delay
 * that doubles with each failure up to a cap, and at the lockout limit
 * the key is locked for the lockout time. An attempt inside a delay or a
 * lock is rejected before any password is checked. A success clears the
 * account's counter but not the address's, so one valid account cannot
 * reset an address that is guessing others. Failures older than the
 * lockout time are forgotten.
 *
 * Unknown users go through the same argon2id verification (against a
 * dummy hash) as known ones, and every failure gets the same status, so
 * neither timing nor answer tells whether an account exists.
 */
#include "auth/internal.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_KIND_ACCOUNT "account"
#define AUTH_KIND_ADDRESS "address"

/* Returns how long a key with row must still wait (0: may try now). */
static int64_t auth_throttle_wait(const auth_t *auth,
                                  const auth_throttle_row_t *row,
                                  int free_failures, int64_t now)
{
    int64_t delay;
    int extra;

    if (row->locked_until_us > now)
        return row->locked_until_us - now;
    if (row->locked_until_us != 0 ||
        now - row->last_failure_us >= auth->lockout_us)
        return 0; /* a lock that ran out, or failures long ago */
    if (row->failures < free_failures)
        return 0;
    extra = row->failures - free_failures;
    delay = auth->throttle_base_us;
    while (extra-- > 0 && delay < auth->throttle_max_us)
        delay *= 2;
    if (delay > auth->throttle_max_us)
        delay = auth->throttle_max_us;
    return row->last_failure_us + delay > now
               ? row->last_failure_us + delay - now
               : 0;
}

/* Counts one failure for a key and locks it at the lockout limit. */
static void auth_throttle_fail(auth_t *auth, const char *kind,
                               const char *key, int lockout, int64_t now)
{
    auth_throttle_row_t row;

    if (auth->ops->throttle_get(auth->store, kind, key, &row) < 0)
        memset(&row, 0, sizeof(row));
    if ((row.locked_until_us != 0 && row.locked_until_us <= now) ||
        now - row.last_failure_us >= auth->lockout_us) {
        memset(&row, 0, sizeof(row)); /* start a new round */
    }
    row.failures++;
    row.last_failure_us = now;
    if (row.failures >= lockout)
        row.locked_until_us = now + auth->lockout_us;
    auth->ops->throttle_put(auth->store, kind, key, &row);
}

/* Takes back one failure counted in advance by auth_login() for an
 * attempt that did not fail. */
static void auth_throttle_undo(auth_t *auth, const char *kind,
                               const char *key, int lockout)
{
    auth_throttle_row_t row;

    if (auth->ops->throttle_get(auth->store, kind, key, &row) < 0 ||
        row.failures <= 0)
        return;
    row.failures--;
    if (row.failures < lockout)
        row.locked_until_us = 0;
    auth->ops->throttle_put(auth->store, kind, key, &row);
}

/* Writes the throttle key of an account: its name in lower case. */
static void auth_account_key(const char *name, char *out, size_t len)
{
    size_t i;

    for (i = 0; name[i] != '\0' && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

/* Returns the longer wait of the account and address keys. */
static int64_t auth_throttle_check(auth_t *auth, const char *account,
                                   const char *address, int64_t now)
{
    auth_throttle_row_t row;
    int64_t wait = 0, w;

    if (auth->ops->throttle_get(auth->store, AUTH_KIND_ACCOUNT, account,
                                &row) == 0)
        wait = auth_throttle_wait(auth, &row, auth->account_free, now);
    if (auth->ops->throttle_get(auth->store, AUTH_KIND_ADDRESS, address,
                                &row) == 0) {
        w = auth_throttle_wait(auth, &row, auth->address_free, now);
        if (w > wait)
            wait = w;
    }
    return wait;
}

/* The outcome of the credential check, before the session starts. */
typedef enum auth_verdict {
    AUTH_VERDICT_OK,
    AUTH_VERDICT_FAILED,
    AUTH_VERDICT_TOTP_REQUIRED,
    AUTH_VERDICT_UNAVAILABLE,
} auth_verdict_t;

/* Authenticates a directory user and creates or updates the local row
 * that carries the user's role, TOTP state and sessions. */
static auth_verdict_t auth_login_ldap(auth_t *auth, const char *name,
                                      const char *password,
                                      auth_user_row_t *row, int have_row,
                                      char *err, size_t errlen)
{
    char role_name[AUTH_NAME_MAX];
    auth_role_t role;
    int rc;

    rc = auth_ldap_authenticate(auth->ldap, name, password, role_name,
                                sizeof(role_name), err, errlen);
    if (rc == -EHOSTUNREACH || rc == -EPROTO || rc == -EINVAL)
        return AUTH_VERDICT_UNAVAILABLE;
    if (rc < 0)
        return AUTH_VERDICT_FAILED;
    if (auth->ops->role_get(auth->store, 0, role_name, &role) < 0) {
        snprintf(err, errlen, "directory group maps to role '%s', which "
                 "does not exist: fix the group map", role_name);
        return AUTH_VERDICT_FAILED;
    }
    if (!have_row) {
        memset(row, 0, sizeof(*row));
        snprintf(row->user.name, sizeof(row->user.name), "%s", name);
        row->user.source = AUTH_SOURCE_LDAP;
        row->user.created_us = auth_now(auth);
        row->user.role_id = role.id;
        rc = auth->ops->user_insert(auth->store, row);
    } else if (row->user.role_id != role.id) {
        /* The directory is the authority on group membership. */
        row->user.role_id = role.id;
        rc = auth->ops->user_update(auth->store, row);
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot store directory user '%s': %s", name,
                 strerror(-rc));
        return AUTH_VERDICT_UNAVAILABLE;
    }
    return AUTH_VERDICT_OK;
}

/* Checks the second factor of a user whose password was right. */
static auth_verdict_t auth_login_second_factor(auth_t *auth,
                                               const auth_user_row_t *row,
                                               const char *code, char *err,
                                               size_t errlen)
{
    int rc;

    if (!row->user.totp_enabled)
        return AUTH_VERDICT_OK;
    if (!code || code[0] == '\0') {
        snprintf(err, errlen, "second factor required");
        return AUTH_VERDICT_TOTP_REQUIRED;
    }
    if (strlen(code) == 6) {
        rc = auth_totp_verify_user(auth, row, code);
        if (rc == -EALREADY)
            snprintf(err, errlen, "TOTP code of an already used time step");
        else if (rc < 0)
            snprintf(err, errlen, "wrong TOTP code");
    } else {
        rc = auth_recovery_use(auth, row, code);
        if (rc < 0)
            snprintf(err, errlen, "wrong or used recovery code");
        else
            auth_audit_note(auth, row->user.name, NULL, "totp.recovery",
                            row->user.name, "ok", "recovery code used");
    }
    return rc == 0 ? AUTH_VERDICT_OK : AUTH_VERDICT_FAILED;
}

/* Checks name, password and second factor. row receives the user. */
static auth_verdict_t auth_login_verify(auth_t *auth,
                                        const auth_login_request_t *req,
                                        auth_user_row_t *row, char *err,
                                        size_t errlen)
{
    const char *password = req->password ? req->password : "";
    int rc, have_row, password_ok;

    rc = auth->ops->user_get(auth->store, 0, req->username, row);
    if (rc < 0 && rc != -ENOENT) {
        snprintf(err, errlen, "cannot read user: %s", strerror(-rc));
        return AUTH_VERDICT_UNAVAILABLE;
    }
    have_row = rc == 0;

    if ((!have_row && auth->ldap) ||
        (have_row && row->user.source == AUTH_SOURCE_LDAP)) {
        if (!auth->ldap) {
            snprintf(err, errlen, "directory user but no directory is "
                     "configured");
            return AUTH_VERDICT_FAILED;
        }
        auth_verdict_t v = auth_login_ldap(auth, req->username, password,
                                           row, have_row, err, errlen);
        if (v != AUTH_VERDICT_OK)
            return v;
    } else {
        /* The same argon2id work whether or not the user exists. */
        rc = auth_password_verify(have_row ? row->pwhash : auth->dummy_hash,
                                  password);
        password_ok = have_row && rc == 0;
        if (!password_ok) {
            snprintf(err, errlen, have_row ? "wrong password"
                                           : "unknown user");
            return AUTH_VERDICT_FAILED;
        }
    }
    if (row->user.disabled) {
        snprintf(err, errlen, "user is disabled");
        return AUTH_VERDICT_FAILED;
    }
    return auth_login_second_factor(auth, row, req->totp_code, err, errlen);
}

int auth_login(auth_t *auth, const auth_login_request_t *req,
               auth_login_result_t *result, char *err, size_t errlen)
{
    const char *source = req->source ? req->source : "-";
    char account[AUTH_NAME_MAX], detail[AUTH_AUDIT_TEXT_MAX];
    auth_user_row_t row;
    auth_verdict_t verdict;
    int64_t now, wait;
    int rc = 0;

    memset(result, 0, sizeof(*result));
    memset(&row, 0, sizeof(row));
    err[0] = '\0';
    if (!req->username || req->username[0] == '\0' ||
        strlen(req->username) >= AUTH_NAME_MAX ||
        (req->password && strlen(req->password) >= AUTH_PASSWORD_MAX)) {
        /* Not a name that can exist: fail without touching the store,
         * after the same hashing work as a real attempt. */
        auth_password_verify(auth->dummy_hash, "-");
        snprintf(err, errlen, "missing or too long user name or password");
        result->status = AUTH_LOGIN_FAILED;
        auth_audit_note(auth, "-", source, "login.failure", "-", "denied",
                        err);
        return 0;
    }
    auth_account_key(req->username, account, sizeof(account));

    /* The attempt counts as a failure before it is checked, so that
     * parallel attempts cannot all pass the throttle at once. It is
     * taken back below if it did not fail. */
    now = auth_now(auth);
    pthread_mutex_lock(&auth->throttle_lock);
    /* Rows of names tried once stay until swept: without the sweep a
     * spray of random names would grow the table without bound. */
    if (now - auth->throttle_purged_us >= 60 * 1000000LL) {
        auth->ops->throttle_purge(auth->store, now - auth->lockout_us);
        auth->throttle_purged_us = now;
    }
    wait = auth_throttle_check(auth, account, source, now);
    if (wait == 0) {
        auth_throttle_fail(auth, AUTH_KIND_ACCOUNT, account,
                           auth->account_lockout, now);
        auth_throttle_fail(auth, AUTH_KIND_ADDRESS, source,
                           auth->address_lockout, now);
    }
    pthread_mutex_unlock(&auth->throttle_lock);
    if (wait > 0) {
        result->status = AUTH_LOGIN_THROTTLED;
        result->retry_after_us = wait;
        snprintf(err, errlen, "too many failed logins: retry in %lld s",
                 (long long)((wait + 999999) / 1000000));
        auth_audit_note(auth, req->username, source, "login.throttled",
                        req->username, "denied", err);
        return 0;
    }

    verdict = auth_login_verify(auth, req, &row, err, errlen);
    if (verdict != AUTH_VERDICT_FAILED) {
        pthread_mutex_lock(&auth->throttle_lock);
        if (verdict == AUTH_VERDICT_OK)
            auth->ops->throttle_clear(auth->store, AUTH_KIND_ACCOUNT,
                                      account);
        else
            auth_throttle_undo(auth, AUTH_KIND_ACCOUNT, account,
                               auth->account_lockout);
        auth_throttle_undo(auth, AUTH_KIND_ADDRESS, source,
                           auth->address_lockout);
        pthread_mutex_unlock(&auth->throttle_lock);
    }

    switch (verdict) {
    case AUTH_VERDICT_OK:
        rc = auth_session_start(auth, &row, source, req->tls, result);
        if (rc < 0) {
            snprintf(err, errlen, "cannot store the session: %s",
                     strerror(-rc));
            break;
        }
        result->status = AUTH_LOGIN_OK;
        auth_audit_note(auth, row.user.name, source, "login.success",
                        row.user.name, "ok",
                        row.user.source == AUTH_SOURCE_LDAP ? "directory"
                                                            : "local");
        break;
    case AUTH_VERDICT_TOTP_REQUIRED:
        result->status = AUTH_LOGIN_TOTP_REQUIRED;
        auth_audit_note(auth, row.user.name, source, "login.totp_required",
                        row.user.name, "ok", NULL);
        break;
    case AUTH_VERDICT_UNAVAILABLE:
        result->status = AUTH_LOGIN_UNAVAILABLE;
        auth_audit_note(auth, req->username, source, "login.failure",
                        req->username, "failed", err);
        break;
    case AUTH_VERDICT_FAILED:
        result->status = AUTH_LOGIN_FAILED;
        snprintf(detail, sizeof(detail), "%s", err);
        auth_audit_note(auth, req->username, source, "login.failure",
                        req->username, "denied", detail);
        break;
    }
    sodium_memzero(&row, sizeof(row));
    return rc;
}
