/*
 * Users, roles and rights, passwords, sessions and API keys, TOTP second
 * factor, brute-force throttling, request authorization and the
 * hash-chained audit log.
 *
 * Library code: every function returns 0 or a negative errno-style code
 * (results through out-parameters), writes a message into err where the
 * caller passes a buffer, and logs nothing. One auth_t is safe to use
 * from several threads. Password hashing (argon2id) takes tens to
 * hundreds of milliseconds by design, so auth_login(), auth_setup_*()
 * and the password functions belong on a worker thread, not on the HTTP
 * event loop. auth_resolve() and auth_check() are cheap.
 *
 * Storage goes through auth_store_t, an interface with one backend today
 * (SQLite, tables named auth_* with their own schema version). The TLS
 * functions are in auth/tls.h and directory login in auth/directory.h.
 */
#ifndef VMS_AUTH_AUTH_H
#define VMS_AUTH_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/clock.h"

typedef struct auth auth_t;
typedef struct auth_store auth_store_t;
typedef struct auth_ldap_config auth_ldap_config_t;

#define AUTH_NAME_MAX 64    /* user and role names, with the NUL */
#define AUTH_PASSWORD_MAX 1024
#define AUTH_TOKEN_LEN 43   /* base64url of 32 random bytes, no padding */
#define AUTH_API_KEY_PREFIX "vmsk_"
#define AUTH_API_KEY_LEN (5 + AUTH_TOKEN_LEN)
#define AUTH_RECOVERY_CODES 10
#define AUTH_RECOVERY_CODE_LEN 19 /* "xxxx-xxxx-xxxx-xxxx" */
#define AUTH_COOKIE_MAX 256
#define AUTH_ERR_MAX 256    /* a good size for the err buffers */

/* Rights on a camera. */
#define AUTH_RIGHT_LIVE (1u << 0)
#define AUTH_RIGHT_PLAYBACK (1u << 1)
#define AUTH_RIGHT_EXPORT (1u << 2)
#define AUTH_RIGHT_PTZ (1u << 3)
#define AUTH_RIGHT_CONFIGURE (1u << 4)
#define AUTH_CAMERA_RIGHTS 0x1fu
/* Rights that do not depend on a camera. */
#define AUTH_RIGHT_USERS (1u << 8)
#define AUTH_RIGHT_SETTINGS (1u << 9)
#define AUTH_RIGHT_AUDIT (1u << 10)
#define AUTH_GLOBAL_RIGHTS 0x700u
#define AUTH_ALL_RIGHTS (AUTH_CAMERA_RIGHTS | AUTH_GLOBAL_RIGHTS)

/* The built-in roles. Their rights are fixed: administrator has every
 * right on every camera, operator has live, playback, export and PTZ on
 * every camera, viewer has live and playback on every camera. */
#define AUTH_ROLE_ADMINISTRATOR "administrator"
#define AUTH_ROLE_OPERATOR "operator"
#define AUTH_ROLE_VIEWER "viewer"

/* ---- Opening ---------------------------------------------------------- */

typedef struct auth_config {
    /* Time source for sessions, lockouts, TOTP and the audit log.
     * NULL: the real-time clock. Must outlive the auth_t. */
    const vms_clock_t *clock;
    /* argon2id cost, 0 for AUTH_PWHASH_OPSLIMIT/MEMLIMIT. Tests
     * may use libsodium's crypto_pwhash_OPSLIMIT_MIN/MEMLIMIT_MIN. */
    unsigned long long pwhash_opslimit;
    size_t pwhash_memlimit;
    /* Session lifetime in microseconds, 0 for the default. */
    int64_t session_idle_us;     /* default 30 minutes without a request */
    int64_t session_absolute_us; /* default 12 hours after login */
    /* Per-account throttle: failures that cost nothing, then a delay
     * of throttle_base_us doubled per further failure up to
     * throttle_max_delay_us. At account_lockout failures the account is
     * locked for lockout_us. 0 selects the default (3, 1 s, 60 s, 10,
     * 15 minutes). */
    int account_free_failures;
    int account_lockout;
    /* Per-source-address limits, same scheme, defaults 10 and 50. */
    int address_free_failures;
    int address_lockout;
    int64_t throttle_base_us;
    int64_t throttle_max_delay_us;
    int64_t lockout_us;
    /* Key for the audit chain (BLAKE2b keyed hash). NULL: the chain is
     * an unkeyed hash, which detects edits by anyone who does not
     * recompute every later row. With a key kept outside the database
     * a writer without the key cannot forge a chain. Copied. */
    const unsigned char *audit_key;
    size_t audit_key_len; /* 16..64 bytes when audit_key is set */
    /* Directory login, NULL for local users only. Copied. */
    const auth_ldap_config_t *ldap;
} auth_config_t;

#define AUTH_PWHASH_OPSLIMIT 3ULL
#define AUTH_PWHASH_MEMLIMIT (64u * 1024 * 1024)

/* Creates the security service over store, which it takes over (freed
 * by auth_free(), also on failure). cfg is copied. */
int auth_new(const auth_config_t *cfg, auth_store_t *store, auth_t **out,
             char *err, size_t errlen);

/* Closes the store and frees everything. NULL is a no-op. */
void auth_free(auth_t *auth);

/* ---- Store backends --------------------------------------------------- */

struct sqlite3;

/* Opens its own connection to the SQLite database at path (normally the
 * catalog's file, which then also holds the auth_* tables) and applies
 * the auth schema migrations. */
int auth_store_sqlite_open(const char *path, auth_store_t **out, char *err,
                           size_t errlen);

/* Uses a connection the caller already has, for example the catalog's.
 * The connection stays the caller's and must outlive the store, and
 * the caller serialises its own use of db with the store's. */
int auth_store_sqlite_wrap(struct sqlite3 *db, auth_store_t **out,
                           char *err, size_t errlen);

/* Returns the auth schema version reached. */
int auth_store_schema_version(auth_store_t *store);

/* Closes a store that was not handed to auth_new(). NULL is a no-op. */
void auth_store_close(auth_store_t *store);

/* ---- Roles ------------------------------------------------------------ */

typedef struct auth_camera_grant {
    int64_t camera_id;
    uint32_t rights; /* AUTH_RIGHT_LIVE ... AUTH_RIGHT_CONFIGURE */
} auth_camera_grant_t;

typedef struct auth_role {
    int64_t id;
    char name[AUTH_NAME_MAX];
    int builtin;             /* built-in roles cannot change */
    uint32_t global_rights;  /* AUTH_RIGHT_USERS/SETTINGS/AUDIT */
    uint32_t all_cameras;    /* camera rights on every camera */
    int require_totp;        /* members must use a second factor */
} auth_role_t;

/* Creates a custom role from role (id ignored, stored into role->id).
 * -EEXIST if the name is taken, -EINVAL for a bad name or rights. */
int auth_role_create(auth_t *auth, const char *actor, auth_role_t *role,
                     char *err, size_t errlen);

/* Replaces the rights and TOTP policy of a role. For a built-in role
 * only require_totp may change (-EPERM otherwise). */
int auth_role_update(auth_t *auth, const char *actor,
                     const auth_role_t *role, char *err, size_t errlen);

/* Deletes a custom role. -EBUSY while users have it. */
int auth_role_delete(auth_t *auth, const char *actor, int64_t id,
                     char *err, size_t errlen);

/* Sets the rights of a custom role on one camera (0 removes them). */
int auth_role_grant(auth_t *auth, const char *actor, int64_t role_id,
                    int64_t camera_id, uint32_t rights, char *err,
                    size_t errlen);

int auth_role_get(auth_t *auth, const char *name, auth_role_t *out);

/* Lists roles by id. *out is malloc'd (free() it), NULL when n is 0. */
int auth_role_list(auth_t *auth, auth_role_t **out, size_t *n);

/* Lists the per-camera grants of a role. *out as above. */
int auth_role_grants(auth_t *auth, int64_t role_id,
                     auth_camera_grant_t **out, size_t *n);

/* ---- Users and passwords ---------------------------------------------- */

typedef enum auth_user_source {
    AUTH_SOURCE_LOCAL = 0,
    AUTH_SOURCE_LDAP = 1, /* password checked by the directory */
} auth_user_source_t;

typedef struct auth_user {
    int64_t id;
    char name[AUTH_NAME_MAX];
    int64_t role_id;
    auth_user_source_t source;
    int disabled;
    int totp_enabled;
    int64_t created_us;
    int64_t password_changed_us;
} auth_user_t;

/* Password rules. The defaults are the floor: the administrator can
 * raise them, never lower them below it. */
typedef struct auth_password_policy {
    int min_length;      /* characters (UTF-8 code points); floor 12 */
    int min_classes;     /* of lower, upper, digit, other; floor 0 */
    int reject_username; /* password may not contain the user name; 1 */
} auth_password_policy_t;

#define AUTH_PASSWORD_MIN_LENGTH 12

int auth_password_policy_get(auth_t *auth, auth_password_policy_t *out);

/* Stores a stricter policy. -EINVAL (with a message) for a value below
 * the floor. */
int auth_password_policy_set(auth_t *auth, const char *actor,
                             const auth_password_policy_t *policy,
                             char *err, size_t errlen);

/* Checks a candidate password against the policy. -EINVAL with a
 * message that names the rule it breaks. */
int auth_password_check(auth_t *auth, const char *user,
                        const char *password, char *err, size_t errlen);

/* Creates a local user with the named role (argon2id hash of password).
 * user->id receives the new id. -EEXIST if the name exists (names
 * compare case-insensitively), -ENOENT for an unknown role, -EINVAL for
 * a name or password the policy rejects. actor is the user name that
 * made the change, for the audit log ("vmsctl" or "setup" for tools). */
int auth_user_create(auth_t *auth, const char *actor, const char *name,
                     const char *password, const char *role,
                     auth_user_t *user, char *err, size_t errlen);

int auth_user_get(auth_t *auth, const char *name, auth_user_t *out);
int auth_user_get_by_id(auth_t *auth, int64_t id, auth_user_t *out);

/* Lists users by id. *out is malloc'd (free() it), NULL when n is 0. */
int auth_user_list(auth_t *auth, auth_user_t **out, size_t *n);

/* Sets a new password and ends every session of the user. When
 * old_password is not NULL it must match (a user changing their own
 * password). NULL is an administrator's reset. */
int auth_user_set_password(auth_t *auth, const char *actor,
                           const char *name, const char *old_password,
                           const char *new_password, char *err,
                           size_t errlen);

int auth_user_set_role(auth_t *auth, const char *actor, const char *name,
                       const char *role, char *err, size_t errlen);

/* Disables (ending every session and API key use) or enables a user. */
int auth_user_set_disabled(auth_t *auth, const char *actor,
                           const char *name, int disabled, char *err,
                           size_t errlen);

/* Deletes a user with their sessions, keys and recovery codes. The last
 * enabled administrator cannot be deleted or disabled (-EPERM). */
int auth_user_delete(auth_t *auth, const char *actor, const char *name,
                     char *err, size_t errlen);

/* ---- First administrator ---------------------------------------------- */

/* Returns 1 in *needed when no administrator exists yet. */
int auth_setup_needed(auth_t *auth, int *needed);

/* Creates a one-time setup token when no administrator exists, replacing
 * any earlier one. Only its hash is stored: the daemon prints token
 * once. token receives AUTH_TOKEN_LEN characters and a NUL. -EEXIST
 * when an administrator exists. */
int auth_setup_token_create(auth_t *auth, char *token, size_t len);

/* Creates the first administrator if token matches the stored setup
 * token, which is then consumed. -EACCES for a wrong or used token,
 * -EEXIST when an administrator already exists. */
int auth_setup_complete(auth_t *auth, const char *token, const char *name,
                        const char *password, const char *source,
                        char *err, size_t errlen);

/* ---- Login, sessions and API keys ------------------------------------- */

typedef enum auth_login_status {
    AUTH_LOGIN_OK = 0,
    /* Wrong name, password or code, unknown user, disabled user or a
     * directory user without a mapped role: one answer for all, so a
     * client cannot tell which (the reason is in err). HTTP 401. */
    AUTH_LOGIN_FAILED,
    /* Too many failures: retry_after_us says when to try again. HTTP
     * 429 with Retry-After. Unknown and known names are throttled the
     * same way. */
    AUTH_LOGIN_THROTTLED,
    /* Name and password are right and the user has a second factor:
     * send the request again with totp_code. HTTP 401. */
    AUTH_LOGIN_TOTP_REQUIRED,
    /* The directory could not be reached or answered an error other
     * than invalid credentials. HTTP 503. */
    AUTH_LOGIN_UNAVAILABLE,
} auth_login_status_t;

typedef struct auth_login_request {
    const char *username;
    const char *password;
    const char *totp_code; /* 6 digits or a recovery code; may be NULL */
    const char *source;    /* client address, for throttling and audit */
    int tls;               /* the request came over TLS (cookie Secure) */
} auth_login_request_t;

typedef struct auth_login_result {
    auth_login_status_t status;
    int64_t retry_after_us;                /* AUTH_LOGIN_THROTTLED */
    char token[AUTH_TOKEN_LEN + 1];        /* AUTH_LOGIN_OK */
    char set_cookie[AUTH_COOKIE_MAX];      /* Set-Cookie header value */
    int64_t expires_us;                    /* absolute session end */
    int totp_enrol_required;               /* see auth_principal_t */
} auth_login_result_t;

/* Checks credentials with throttling and audit, and on success starts a
 * session. Returns 0 when result->status is set (including failures),
 * or a negative code for an internal error (storage, memory). err gets
 * the precise reason for the daemon's log. Never show it to the client.
 */
int auth_login(auth_t *auth, const auth_login_request_t *req,
               auth_login_result_t *result, char *err, size_t errlen);

typedef enum auth_principal_kind {
    AUTH_PRINCIPAL_SESSION = 0,
    AUTH_PRINCIPAL_API_KEY = 1,
} auth_principal_kind_t;

/* Who sent a request, with the rights in force for it. */
typedef struct auth_principal {
    auth_principal_kind_t kind;
    int64_t user_id;
    char user[AUTH_NAME_MAX];
    char role[AUTH_NAME_MAX];
    uint32_t global_rights;     /* already limited by an API key scope */
    uint32_t all_cameras;       /* rights on every camera */
    auth_camera_grant_t *grants; /* per-camera rights, owned */
    size_t n_grants;
    /* The role requires TOTP and the user has not enrolled yet: only
     * the routes marked for enrolment are allowed. */
    int totp_enrol_required;
    int64_t expires_us;
    char id[17]; /* first 16 hex digits of the token hash, for logs */
} auth_principal_t;

/* Finds the session or API key of token (a session token or a string
 * starting with AUTH_API_KEY_PREFIX), applies the idle and absolute
 * timeouts and refreshes the idle timer. *out is freed with
 * auth_principal_free(). -EACCES for an unknown, expired or revoked
 * token or a disabled user (answer 401). */
int auth_resolve(auth_t *auth, const char *token, auth_principal_t **out);

void auth_principal_free(auth_principal_t *p);

/* Returns the rights of p on camera_id (all_cameras | its grant). */
uint32_t auth_principal_camera_rights(const auth_principal_t *p,
                                      int64_t camera_id);

/* Returns 1 if p holds any right in `rights` on camera_id. */
int auth_principal_can(const auth_principal_t *p, int64_t camera_id,
                       uint32_t rights);

/* Ends the session of token (logout). -ENOENT if there is none. */
int auth_logout(auth_t *auth, const char *token, const char *source);

/* Ends every session of a user. *count receives how many. */
int auth_sessions_revoke_user(auth_t *auth, const char *actor,
                              int64_t user_id, int *count);

/* Writes the Set-Cookie value for token: the cookie is HttpOnly,
 * SameSite=Strict, Path=/, and Secure with the __Host- name prefix when
 * tls is set. max_age_s 0 writes a cookie that clears the session. */
int auth_cookie_format(const char *token, int tls, int64_t max_age_s,
                       char *out, size_t len);

/* Extracts the credential of a request: an "Authorization: Bearer"
 * value (API key or session token) first, else the session cookie from
 * the Cookie header. Either header may be NULL. token receives up to
 * AUTH_API_KEY_LEN characters. *from_cookie tells which one was used,
 * for the CSRF check. -ENOENT when there is none, -EINVAL for a
 * malformed value. */
int auth_request_token(const char *authorization, const char *cookie,
                       char *token, size_t len, int *from_cookie);

typedef struct auth_api_key {
    int64_t id;
    int64_t user_id;
    char name[AUTH_NAME_MAX];
    uint32_t scope;       /* rights the key may use, within the user's */
    int64_t created_us;
    int64_t expires_us;   /* 0: no expiry */
    int revoked;
} auth_api_key_t;

/* Creates an API key for user with a scope (a subset of
 * AUTH_ALL_RIGHTS) and an expiry (0 for none). key receives the
 * plaintext key (AUTH_API_KEY_LEN + 1 bytes) to show once. Only its
 * hash is stored. info->id receives the key id. */
int auth_api_key_create(auth_t *auth, const char *actor, const char *user,
                        const char *name, uint32_t scope,
                        int64_t expires_us, char *key, size_t len,
                        auth_api_key_t *info, char *err, size_t errlen);

int auth_api_key_revoke(auth_t *auth, const char *actor, int64_t id);

/* Lists the keys of a user (0: of every user). *out as for lists. */
int auth_api_key_list(auth_t *auth, int64_t user_id, auth_api_key_t **out,
                      size_t *n);

/* ---- TOTP ------------------------------------------------------------- */

typedef struct auth_totp_enrolment {
    char secret_base32[33];   /* 20 random bytes in RFC 4648 base32 */
    char uri[512];            /* otpauth://totp/... for the QR code */
    char *qr_svg;             /* the URI as an SVG QR code, malloc'd */
} auth_totp_enrolment_t;

/* Starts enrolment: stores a new pending secret for user and returns it.
 * The second factor is enabled only by auth_totp_confirm(). issuer
 * names the site in authenticator apps. Free qr_svg with free(). */
int auth_totp_enrol(auth_t *auth, const char *user, const char *issuer,
                    auth_totp_enrolment_t *out, char *err, size_t errlen);

/* Enables TOTP when code matches the pending secret, and writes
 * AUTH_RECOVERY_CODES single-use recovery codes (each
 * AUTH_RECOVERY_CODE_LEN characters) into codes, shown once. */
int auth_totp_confirm(auth_t *auth, const char *user, const char *code,
                      char codes[][AUTH_RECOVERY_CODE_LEN + 1],
                      char *err, size_t errlen);

/* Turns the second factor off (administrator reset or the user). */
int auth_totp_disable(auth_t *auth, const char *actor, const char *user);

/* Computes the RFC 6238 code of key at unix time t_s with a 30 s step.
 * digest is "SHA1", "SHA256" or "SHA512", digits 6 to 8. */
int auth_totp_code(const unsigned char *key, size_t keylen, int64_t t_s,
                   const char *digest, int digits, char *out, size_t len);

/* RFC 4648 base32 without padding. Decode ignores case, spaces and
 * '=' padding. -EINVAL for a character outside the alphabet, -ENOSPC
 * when out is too small. */
int auth_base32_encode(const unsigned char *in, size_t n, char *out,
                       size_t len);
int auth_base32_decode(const char *in, unsigned char *out, size_t len,
                       size_t *n_out);

/* Renders text as a QR code in SVG (black modules on white, 4-module
 * quiet zone). *svg is malloc'd. */
int auth_qr_svg(const char *text, char **svg);

/* ---- Authorization ---------------------------------------------------- */

typedef enum auth_access {
    AUTH_ACCESS_PUBLIC = 0,   /* no credential needed */
    AUTH_ACCESS_SESSION,      /* any signed-in user */
    AUTH_ACCESS_CAMERA,       /* a right on the {id} camera */
    AUTH_ACCESS_ANY_CAMERA,   /* a right on at least one camera; the
                               * handler filters what it returns */
    AUTH_ACCESS_ALL_CAMERAS,  /* a right on every camera (create one) */
    AUTH_ACCESS_GLOBAL,       /* a global right */
} auth_access_t;

typedef struct auth_route {
    const char *method;   /* "GET", "POST", ... HEAD matches GET */
    const char *pattern;  /* "/api/v1/cameras/{id}/live" */
    auth_access_t access;
    uint32_t rights;      /* any one of these is enough */
    int enrolment;        /* allowed before a required TOTP enrolment */
} auth_route_t;

/* The decision of auth_check(). Values are the HTTP status to send. */
typedef enum auth_decision {
    AUTH_ALLOW = 0,
    AUTH_UNAUTHORIZED = 401, /* no valid credential */
    AUTH_FORBIDDEN = 403,    /* valid credential, missing right */
    AUTH_NOT_FOUND = 404,    /* no such API route */
    AUTH_METHOD_NOT_ALLOWED = 405,
} auth_decision_t;

/* The route table of /api/v1, terminated by an entry with a NULL
 * method. Paths outside /api/ (the console's static files) are public.
 */
extern const auth_route_t auth_routes[];

/* Finds the route of method and path (a query string is ignored) and
 * the decimal {id} in it. -ENOENT for no such path, -EPERM for a path
 * that exists with another method, -EINVAL for a malformed path. */
int auth_route_match(const char *method, const char *path,
                     const auth_route_t **route, int64_t *id);

/* Decides whether p (NULL: no credential) may call route_pattern with
 * method on camera_id (ignored by routes without {id}). */
auth_decision_t auth_check(const auth_principal_t *p, const char *method,
                           const char *route_pattern, int64_t camera_id);

/* auth_route_match() and auth_check() in one call: the call the HTTP
 * layer makes once per request. route and id may be NULL. */
auth_decision_t auth_check_request(const auth_principal_t *p,
                                   const char *method, const char *path,
                                   const auth_route_t **route,
                                   int64_t *id);

/* CSRF check for a request authenticated by cookie: a state-changing
 * method (anything but GET, HEAD, OPTIONS) must carry an Origin header
 * equal to the scheme and Host of the request. Returns 0 to allow,
 * -EPERM to refuse (answer 403). Requests with a bearer credential do
 * not need it. */
int auth_origin_check(const char *method, const char *origin,
                      const char *host, int tls);

/* ---- Audit log -------------------------------------------------------- */

#define AUTH_AUDIT_TEXT_MAX 256

typedef struct auth_audit_entry {
    int64_t seq;          /* 1, 2, 3 ... without gaps */
    int64_t time_us;
    char actor[AUTH_NAME_MAX];    /* user name, or "-" */
    char source[64];              /* client address or tool */
    char action[48];              /* "login.failure", "camera.update" */
    char target[AUTH_AUDIT_TEXT_MAX]; /* what it acted on */
    char outcome[16];             /* "ok", "denied", "failed" */
    char detail[AUTH_AUDIT_TEXT_MAX];
    char prev_hash[65];           /* hex */
    char hash[65];
} auth_audit_entry_t;

/* Appends an entry. The HTTP layer records what the library cannot see:
 * camera and settings changes ("camera.create", "settings.update"),
 * exports ("export"), PTZ moves ("ptz"), holds ("hold") and playback
 * ("playback"). Any text may be NULL (stored as ""). */
int auth_audit_record(auth_t *auth, const char *actor, const char *source,
                      const char *action, const char *target,
                      const char *outcome, const char *detail);

typedef struct auth_audit_filter {
    int64_t from_us;      /* 0: no lower bound */
    int64_t to_us;        /* 0: no upper bound (exclusive) */
    const char *actor;    /* NULL: any */
    const char *action;   /* prefix, "login." matches every login; NULL */
    int64_t after_seq;    /* for paging: entries with seq > after_seq */
    size_t limit;         /* 0: no limit */
} auth_audit_filter_t;

/* Lists entries in seq order. *out is malloc'd (free() it). */
int auth_audit_list(auth_t *auth, const auth_audit_filter_t *filter,
                    auth_audit_entry_t **out, size_t *n);

/* Writes the matching entries to f as JSON Lines, hashes included. */
int auth_audit_export(auth_t *auth, const auth_audit_filter_t *filter,
                      FILE *f);

/* Recomputes the chain. Returns 0 when every row is intact, -EBADMSG
 * with the first bad seq in *bad_seq and a message when a row was
 * edited, removed or inserted. *count receives the rows checked. */
int auth_audit_verify(auth_t *auth, int64_t *count, int64_t *bad_seq,
                      char *err, size_t errlen);

#endif
