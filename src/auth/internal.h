/*
 * State and helpers shared by the files of the security module. Not
 * part of its interface: other modules include auth/auth.h only.
 */
#ifndef VMS_AUTH_INTERNAL_H
#define VMS_AUTH_INTERNAL_H

#include <pthread.h>

#include "auth/auth.h"
#include "auth/directory.h"
#include "auth/store.h"

struct auth {
    auth_store_t *store;
    const auth_store_ops_t *ops;
    const vms_clock_t *clock;
    unsigned long long opslimit;
    size_t memlimit;
    int64_t idle_us;
    int64_t absolute_us;
    int account_free, account_lockout;
    int address_free, address_lockout;
    int64_t throttle_base_us, throttle_max_us, lockout_us;
    unsigned char audit_key[64];
    size_t audit_key_len;
    auth_ldap_config_t *ldap;
    /* Hash of a random password with the same cost as real ones: an
     * unknown user's login verifies against it, so that it takes as
     * long as a known user's. */
    char dummy_hash[AUTH_PWHASH_MAX];
    /* Serialises the read-modify-write of throttle rows. */
    pthread_mutex_t throttle_lock;
    int64_t throttle_purged_us; /* last sweep of old throttle rows */
};

static inline int64_t auth_now(const auth_t *auth)
{
    return vms_clock_now_us(auth->clock);
}

/* Hashes password with argon2id at the configured cost. */
int auth_password_hash(const auth_t *auth, const char *password,
                       char hash[AUTH_PWHASH_MAX]);

/* Verifies password against hash in constant time: 0 or -EACCES. */
int auth_password_verify(const char *hash, const char *password);

/* SHA-256 of a token, as stored for sessions, keys and setup tokens. */
void auth_token_hash(const char *token, unsigned char out[AUTH_HASH_LEN]);

/* Writes a new random token: base64url of 32 bytes. */
void auth_token_new(char out[AUTH_TOKEN_LEN + 1]);

/* Copies src into dst (len bytes) and returns -ENAMETOOLONG if it did
 * not fit or -EINVAL if src is NULL. */
int auth_copy(char *dst, size_t len, const char *src);

/* Checks a user or role name: 1 to AUTH_NAME_MAX - 1 bytes of letters,
 * digits and ". _ - @". */
int auth_name_valid(const char *name, char *err, size_t errlen);

/* Records an audit entry, ignoring errors (the caller's result does not
 * depend on it). */
void auth_audit_note(auth_t *auth, const char *actor, const char *source,
                     const char *action, const char *target,
                     const char *outcome, const char *detail);

/* Checks a 6-digit code for the user's secret at the current step and
 * one step either side, and consumes the step: 0, -EACCES for a wrong
 * code, -EALREADY for a code of a step already used. */
int auth_totp_verify_user(auth_t *auth, const auth_user_row_t *row,
                          const char *code);

/* Checks and consumes a recovery code of the user: 0 or -EACCES. */
int auth_recovery_use(auth_t *auth, const auth_user_row_t *row,
                      const char *code);

/* Starts a session for user and fills the token, cookie and expiry of
 * result. */
int auth_session_start(auth_t *auth, const auth_user_row_t *row,
                       const char *source, int tls,
                       auth_login_result_t *result);

/* Copies an LDAP configuration (deep). */
int auth_ldap_config_dup(const auth_ldap_config_t *src,
                         auth_ldap_config_t **out);
void auth_ldap_config_free(auth_ldap_config_t *cfg);

#endif
