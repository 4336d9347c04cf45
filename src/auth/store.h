/*
 * The storage interface of the security module. A backend (SQLite
 * today, PostgreSQL later) fills one const auth_store_ops_t, and the
 * rest of the module calls only these functions. Every operation is
 * atomic on its own, and a sequence that must be atomic as a whole (the
 * audit append) is one operation. Backends serialise calls on their
 * connection.
 *
 * Lists return malloc'd arrays (NULL when n is 0) that the caller
 * frees. Lookups return -ENOENT when nothing matches.
 */
#ifndef VMS_AUTH_STORE_H
#define VMS_AUTH_STORE_H

#include "auth/auth.h"

#define AUTH_HASH_LEN 32 /* SHA-256 of a token */
#define AUTH_PWHASH_MAX 128

/* A user row with its secrets, which never leave the module. */
typedef struct auth_user_row {
    auth_user_t user;
    char pwhash[AUTH_PWHASH_MAX];   /* crypto_pwhash_str(); "" for LDAP */
    unsigned char totp_secret[20];  /* valid when totp_secret_len */
    int totp_secret_len;
    int totp_pending;               /* secret stored, not confirmed */
    int64_t totp_last_step;         /* last accepted step, reuse check */
} auth_user_row_t;

typedef struct auth_session_row {
    unsigned char hash[AUTH_HASH_LEN];
    int64_t user_id;
    int64_t created_us;
    int64_t last_seen_us;
    int64_t expires_us;
    char source[64];
} auth_session_row_t;

typedef struct auth_throttle_row {
    int failures;
    int64_t last_failure_us;
    int64_t locked_until_us;
} auth_throttle_row_t;

typedef struct auth_store_ops {
    const char *name;
    void (*close)(auth_store_t *s);
    int (*schema_version)(auth_store_t *s);

    int (*role_insert)(auth_store_t *s, auth_role_t *role);
    int (*role_update)(auth_store_t *s, const auth_role_t *role);
    int (*role_delete)(auth_store_t *s, int64_t id);
    int (*role_get)(auth_store_t *s, int64_t id, const char *name,
                    auth_role_t *out);
    int (*role_list)(auth_store_t *s, auth_role_t **out, size_t *n);
    int (*grant_set)(auth_store_t *s, int64_t role_id, int64_t camera_id,
                     uint32_t rights);
    int (*grant_list)(auth_store_t *s, int64_t role_id,
                      auth_camera_grant_t **out, size_t *n);

    int (*user_insert)(auth_store_t *s, auth_user_row_t *row);
    int (*user_update)(auth_store_t *s, const auth_user_row_t *row);
    int (*user_delete)(auth_store_t *s, int64_t id);
    /* By id when name is NULL, else by name (case-insensitive). */
    int (*user_get)(auth_store_t *s, int64_t id, const char *name,
                    auth_user_row_t *out);
    int (*user_list)(auth_store_t *s, auth_user_t **out, size_t *n);
    /* Counts enabled users of a role. */
    int (*user_count_role)(auth_store_t *s, int64_t role_id, int *count);
    /* Raises totp_last_step to step only if it is lower (-EALREADY if
     * not): the atomic reuse check of a TOTP code. */
    int (*user_totp_step)(auth_store_t *s, int64_t id, int64_t step);

    int (*session_insert)(auth_store_t *s, const auth_session_row_t *row);
    int (*session_get)(auth_store_t *s, const unsigned char *hash,
                       auth_session_row_t *out);
    int (*session_touch)(auth_store_t *s, const unsigned char *hash,
                         int64_t now_us);
    int (*session_delete)(auth_store_t *s, const unsigned char *hash);
    int (*session_delete_user)(auth_store_t *s, int64_t user_id,
                               int *count);
    int (*session_delete_expired)(auth_store_t *s, int64_t now_us,
                                  int64_t idle_us);

    int (*key_insert)(auth_store_t *s, const unsigned char *hash,
                      auth_api_key_t *key);
    int (*key_get)(auth_store_t *s, const unsigned char *hash,
                   auth_api_key_t *out);
    int (*key_revoke)(auth_store_t *s, int64_t id);
    int (*key_list)(auth_store_t *s, int64_t user_id, auth_api_key_t **out,
                    size_t *n);

    /* Replaces every recovery code of a user. */
    int (*recovery_set)(auth_store_t *s, int64_t user_id,
                        char (*hashes)[AUTH_PWHASH_MAX], size_t n);
    /* Lists unused code hashes with their ids. */
    int (*recovery_list)(auth_store_t *s, int64_t user_id, int64_t **ids,
                         char (**hashes)[AUTH_PWHASH_MAX], size_t *n);
    /* Marks a code used. -EALREADY if it already was. */
    int (*recovery_use)(auth_store_t *s, int64_t id, int64_t now_us);

    int (*throttle_get)(auth_store_t *s, const char *kind, const char *key,
                        auth_throttle_row_t *out);
    int (*throttle_put)(auth_store_t *s, const char *kind, const char *key,
                        const auth_throttle_row_t *row);
    int (*throttle_clear)(auth_store_t *s, const char *kind,
                          const char *key);
    /* Deletes rows whose last failure and lock both ended before
     * before_us. */
    int (*throttle_purge)(auth_store_t *s, int64_t before_us);

    int (*setting_get)(auth_store_t *s, const char *key, char *value,
                       size_t len);
    int (*setting_put)(auth_store_t *s, const char *key, const char *value);

    /* Appends e: the backend sets e->seq to last seq + 1 and
     * e->prev_hash to the last hash, then calls seal(e, ctx) which
     * fills e->hash and head (the keyed digest of the new tail), and
     * stores both in one transaction. */
    int (*audit_append)(auth_store_t *s, auth_audit_entry_t *e,
                        void (*seal)(auth_audit_entry_t *e, char *head,
                                     void *ctx),
                        void *ctx);
    /* Calls fn for each matching entry in seq order until fn returns
     * non-zero (which is then returned). */
    int (*audit_scan)(auth_store_t *s, const auth_audit_filter_t *f,
                      int (*fn)(const auth_audit_entry_t *e, void *ctx),
                      void *ctx);
    /* Reads the stored head digest ("" when the log is empty). */
    int (*audit_head)(auth_store_t *s, char *head, size_t len);
} auth_store_ops_t;

/* The common part of every backend. Each backend's struct begins
 * with it. */
struct auth_store {
    const auth_store_ops_t *ops;
};

#endif
