/*
 * SQLite backend of the security store.
 *
 * The tables are named auth_* so that they can share a database file
 * with the catalog. Their schema version is kept in the table
 * auth_schema, not in PRAGMA user_version, which belongs to the
 * catalog. Migrations are numbered entries of auth_sqlite_migrations[];
 * each runs in one transaction with its version bump, and a released
 * migration is never edited: a change is a new entry.
 *
 * Every call takes the store's mutex, so one store serves all threads.
 */
#include "auth/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct auth_sqlite {
    auth_store_t base;
    sqlite3 *db;
    int owned; /* db was opened here and is closed here */
    int version;
    pthread_mutex_t lock;
} auth_sqlite_t;

static const char *const auth_sqlite_migrations[] = {
    /* 1: roles, users, sessions, keys, TOTP recovery, throttle, settings
     * and the audit chain. */
    "CREATE TABLE auth_roles ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  builtin INTEGER NOT NULL DEFAULT 0,"
    "  global_rights INTEGER NOT NULL DEFAULT 0,"
    "  all_cameras INTEGER NOT NULL DEFAULT 0,"
    "  require_totp INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO auth_roles (name, builtin, global_rights, all_cameras)"
    "  VALUES ('administrator', 1, 1792, 31), ('operator', 1, 0, 15),"
    "  ('viewer', 1, 0, 3);"
    "CREATE TABLE auth_grants ("
    "  role_id INTEGER NOT NULL REFERENCES auth_roles(id),"
    "  camera_id INTEGER NOT NULL,"
    "  rights INTEGER NOT NULL,"
    "  PRIMARY KEY (role_id, camera_id));"
    "CREATE TABLE auth_users ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  role_id INTEGER NOT NULL REFERENCES auth_roles(id),"
    "  source INTEGER NOT NULL DEFAULT 0,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  pwhash TEXT NOT NULL DEFAULT '',"
    "  totp_secret BLOB,"
    "  totp_enabled INTEGER NOT NULL DEFAULT 0,"
    "  totp_pending INTEGER NOT NULL DEFAULT 0,"
    "  totp_last_step INTEGER NOT NULL DEFAULT 0,"
    "  created_us INTEGER NOT NULL,"
    "  password_changed_us INTEGER NOT NULL);"
    "CREATE TABLE auth_sessions ("
    "  hash BLOB PRIMARY KEY,"
    "  user_id INTEGER NOT NULL,"
    "  created_us INTEGER NOT NULL,"
    "  last_seen_us INTEGER NOT NULL,"
    "  expires_us INTEGER NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id);"
    "CREATE TABLE auth_api_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  hash BLOB NOT NULL UNIQUE,"
    "  user_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  scope INTEGER NOT NULL,"
    "  created_us INTEGER NOT NULL,"
    "  expires_us INTEGER NOT NULL DEFAULT 0,"
    "  revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE auth_recovery_codes ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  used_us INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE auth_throttle ("
    "  kind TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  failures INTEGER NOT NULL,"
    "  last_failure_us INTEGER NOT NULL,"
    "  locked_until_us INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, key));"
    "CREATE TABLE auth_settings ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE auth_audit ("
    "  seq INTEGER PRIMARY KEY,"
    "  time_us INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX auth_audit_by_time ON auth_audit (time_us);"
    "CREATE TABLE auth_audit_head ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  digest TEXT NOT NULL);",
};

#define AUTH_SQLITE_MIGRATIONS                                              \
    (int)(sizeof(auth_sqlite_migrations) / sizeof(auth_sqlite_migrations[0]))

#define AUTH_SQLITE(s) ((auth_sqlite_t *)(s))

/* Maps an SQLite result code to a negative errno. */
static int auth_sqlite_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return -EACCES;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    default:
        return -EIO;
    }
}

/* Prepares sql and binds the arguments described by types: 'i' int64,
 * 't' text (NULL binds ""), 'b' a blob of AUTH_HASH_LEN bytes. */
static int auth_sqlite_vprepare(auth_sqlite_t *s, sqlite3_stmt **st,
                                const char *sql, const char *types,
                                va_list ap)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

    if (rc != SQLITE_OK)
        return auth_sqlite_errno(rc);
    for (int i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
        if (types[i] == 'i') {
            rc = sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
        } else if (types[i] == 't') {
            const char *t = va_arg(ap, const char *);
            rc = sqlite3_bind_text(*st, i + 1, t ? t : "", -1,
                                   SQLITE_TRANSIENT);
        } else {
            const unsigned char *b = va_arg(ap, const unsigned char *);
            rc = sqlite3_bind_blob(*st, i + 1, b, AUTH_HASH_LEN,
                                   SQLITE_TRANSIENT);
        }
    }
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
        return auth_sqlite_errno(rc);
    }
    return 0;
}

static int auth_sqlite_prepare(auth_sqlite_t *s, sqlite3_stmt **st,
                               const char *sql, const char *types, ...)
{
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = auth_sqlite_vprepare(s, st, sql, types, ap);
    va_end(ap);
    return rc;
}

/* Runs a statement that returns no rows. *changes (may be NULL)
 * receives the rows it changed. */
static int auth_sqlite_exec(auth_sqlite_t *s, int *changes, const char *sql,
                            const char *types, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = auth_sqlite_vprepare(s, &st, sql, types, ap);
    va_end(ap);
    if (rc < 0)
        return rc;
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return auth_sqlite_errno(rc);
    if (changes)
        *changes = sqlite3_changes(s->db);
    return 0;
}

/* Copies text column col into out (len bytes, always terminated). */
static void auth_sqlite_text(sqlite3_stmt *st, int col, char *out,
                             size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    snprintf(out, len, "%s", t ? (const char *)t : "");
}

/* Grows a list by one zeroed element of size bytes and returns it. */
static void *auth_sqlite_grow(void **list, size_t *n, size_t *cap,
                              size_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        void *p = realloc(*list, ncap * size);
        if (!p)
            return NULL;
        *list = p;
        *cap = ncap;
    }
    memset((char *)*list + *n * size, 0, size);
    return (char *)*list + (*n)++ * size;
}

/* Applies the migrations above the stored version. */
static int auth_sqlite_migrate(auth_sqlite_t *s, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    char *msg = NULL;
    int rc;

    rc = sqlite3_exec(s->db,
                      "CREATE TABLE IF NOT EXISTS auth_schema ("
                      "  version INTEGER NOT NULL);",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        goto fail;
    rc = sqlite3_prepare_v2(s->db, "SELECT max(version) FROM auth_schema",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    s->version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0)
                                                : 0;
    sqlite3_finalize(st);
    if (s->version > AUTH_SQLITE_MIGRATIONS) {
        snprintf(err, errlen,
                 "auth schema version %d is newer than this program's %d: "
                 "upgrade the program",
                 s->version, AUTH_SQLITE_MIGRATIONS);
        return -EPROTO;
    }
    while (s->version < AUTH_SQLITE_MIGRATIONS) {
        char bump[96];

        snprintf(bump, sizeof(bump),
                 "INSERT INTO auth_schema (version) VALUES (%d);",
                 s->version + 1);
        rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, auth_sqlite_migrations[s->version],
                              NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, bump, NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
        s->version++;
    }
    return 0;

fail:
    snprintf(err, errlen, "auth schema migration %d failed: %s",
             s->version + 1, msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return auth_sqlite_errno(rc);
}

/* ---- Roles ------------------------------------------------------------ */

#define AUTH_ROLE_COLUMNS                                                   \
    "id, name, builtin, global_rights, all_cameras, require_totp"

static void auth_sqlite_role_row(sqlite3_stmt *st, auth_role_t *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    auth_sqlite_text(st, 1, r->name, sizeof(r->name));
    r->builtin = sqlite3_column_int(st, 2);
    r->global_rights = (uint32_t)sqlite3_column_int64(st, 3);
    r->all_cameras = (uint32_t)sqlite3_column_int64(st, 4);
    r->require_totp = sqlite3_column_int(st, 5);
}

static int auth_sqlite_role_insert(auth_store_t *base, auth_role_t *role)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL,
                          "INSERT INTO auth_roles (name, builtin, "
                          "global_rights, all_cameras, require_totp) "
                          "VALUES (?, 0, ?, ?, ?)",
                          "tiii", role->name, (int64_t)role->global_rights,
                          (int64_t)role->all_cameras,
                          (int64_t)role->require_totp);
    if (rc == 0)
        role->id = sqlite3_last_insert_rowid(s->db);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_role_update(auth_store_t *base,
                                   const auth_role_t *role)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int changes = 0, rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, &changes,
                          "UPDATE auth_roles SET global_rights = ?, "
                          "all_cameras = ?, require_totp = ? WHERE id = ?",
                          "iiii", (int64_t)role->global_rights,
                          (int64_t)role->all_cameras,
                          (int64_t)role->require_totp, role->id);
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? rc : changes ? 0 : -ENOENT;
}

static int auth_sqlite_role_delete(auth_store_t *base, int64_t id)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int changes = 0, rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_grants "
                          "WHERE role_id = ?", "i", id);
    if (rc == 0)
        rc = auth_sqlite_exec(s, &changes, "DELETE FROM auth_roles "
                              "WHERE id = ? AND builtin = 0", "i", id);
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? rc : changes ? 0 : -ENOENT;
}

static int auth_sqlite_role_get(auth_store_t *base, int64_t id,
                                const char *name, auth_role_t *out)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&s->lock);
    if (name)
        rc = auth_sqlite_prepare(s, &st, "SELECT " AUTH_ROLE_COLUMNS
                                 " FROM auth_roles WHERE name = ?",
                                 "t", name);
    else
        rc = auth_sqlite_prepare(s, &st, "SELECT " AUTH_ROLE_COLUMNS
                                 " FROM auth_roles WHERE id = ?", "i", id);
    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            auth_sqlite_role_row(st, out);
            rc = 0;
        } else {
            rc = rc == SQLITE_DONE ? -ENOENT : auth_sqlite_errno(rc);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_role_list(auth_store_t *base, auth_role_t **out,
                                 size_t *n)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    void *list = NULL;
    size_t count = 0, cap = 0;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT " AUTH_ROLE_COLUMNS
                             " FROM auth_roles ORDER BY id", "");
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        auth_role_t *r = auth_sqlite_grow(&list, &count, &cap, sizeof(*r));
        if (!r) {
            rc = -ENOMEM;
            break;
        }
        auth_sqlite_role_row(st, r);
        rc = 0;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = auth_sqlite_errno(rc);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

static int auth_sqlite_grant_set(auth_store_t *base, int64_t role_id,
                                 int64_t camera_id, uint32_t rights)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    if (rights == 0)
        rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_grants "
                              "WHERE role_id = ? AND camera_id = ?",
                              "ii", role_id, camera_id);
    else
        rc = auth_sqlite_exec(s, NULL,
                              "INSERT INTO auth_grants (role_id, camera_id,"
                              " rights) VALUES (?, ?, ?) ON CONFLICT DO "
                              "UPDATE SET rights = excluded.rights",
                              "iii", role_id, camera_id, (int64_t)rights);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_grant_list(auth_store_t *base, int64_t role_id,
                                  auth_camera_grant_t **out, size_t *n)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    void *list = NULL;
    size_t count = 0, cap = 0;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT camera_id, rights FROM "
                             "auth_grants WHERE role_id = ? "
                             "ORDER BY camera_id", "i", role_id);
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        auth_camera_grant_t *g = auth_sqlite_grow(&list, &count, &cap,
                                                  sizeof(*g));
        if (!g) {
            rc = -ENOMEM;
            break;
        }
        g->camera_id = sqlite3_column_int64(st, 0);
        g->rights = (uint32_t)sqlite3_column_int64(st, 1);
        rc = 0;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = auth_sqlite_errno(rc);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

/* ---- Users ------------------------------------------------------------ */

#define AUTH_USER_COLUMNS                                                   \
    "id, name, role_id, source, disabled, totp_enabled, created_us,"        \
    " password_changed_us, pwhash, totp_secret, totp_pending,"              \
    " totp_last_step"

static void auth_sqlite_user_row(sqlite3_stmt *st, auth_user_row_t *r)
{
    int len;

    memset(r, 0, sizeof(*r));
    r->user.id = sqlite3_column_int64(st, 0);
    auth_sqlite_text(st, 1, r->user.name, sizeof(r->user.name));
    r->user.role_id = sqlite3_column_int64(st, 2);
    r->user.source = (auth_user_source_t)sqlite3_column_int(st, 3);
    r->user.disabled = sqlite3_column_int(st, 4);
    r->user.totp_enabled = sqlite3_column_int(st, 5);
    r->user.created_us = sqlite3_column_int64(st, 6);
    r->user.password_changed_us = sqlite3_column_int64(st, 7);
    auth_sqlite_text(st, 8, r->pwhash, sizeof(r->pwhash));
    len = sqlite3_column_bytes(st, 9);
    if (len > 0 && len <= (int)sizeof(r->totp_secret)) {
        memcpy(r->totp_secret, sqlite3_column_blob(st, 9), (size_t)len);
        r->totp_secret_len = len;
    }
    r->totp_pending = sqlite3_column_int(st, 10);
    r->totp_last_step = sqlite3_column_int64(st, 11);
}

/* Binds the mutable user fields in the order used by insert and update:
 * name, role_id, source, disabled, pwhash, totp_secret, totp_enabled,
 * totp_pending, totp_last_step, created_us, password_changed_us. */
static int auth_sqlite_user_bind(sqlite3_stmt *st, const auth_user_row_t *r)
{
    int rc = sqlite3_bind_text(st, 1, r->user.name, -1, SQLITE_TRANSIENT);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, r->user.role_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 3, (int)r->user.source);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 4, r->user.disabled);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 5, r->pwhash, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK && r->totp_secret_len > 0)
        rc = sqlite3_bind_blob(st, 6, r->totp_secret, r->totp_secret_len,
                               SQLITE_TRANSIENT);
    else if (rc == SQLITE_OK)
        rc = sqlite3_bind_null(st, 6);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 7, r->user.totp_enabled);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 8, r->totp_pending);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 9, r->totp_last_step);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 10, r->user.created_us);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 11, r->user.password_changed_us);
    return rc;
}

static int auth_sqlite_user_write(auth_store_t *base, auth_user_row_t *row,
                                  int insert)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    const char *sql =
        insert ? "INSERT INTO auth_users (name, role_id, source, disabled,"
                 " pwhash, totp_secret, totp_enabled, totp_pending,"
                 " totp_last_step, created_us, password_changed_us)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
               : "UPDATE auth_users SET name = ?1, role_id = ?2,"
                 " source = ?3, disabled = ?4, pwhash = ?5,"
                 " totp_secret = ?6, totp_enabled = ?7, totp_pending = ?8,"
                 " totp_last_step = ?9, created_us = ?10,"
                 " password_changed_us = ?11 WHERE id = ?12";
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = auth_sqlite_user_bind(st, row);
    if (rc == SQLITE_OK && !insert)
        rc = sqlite3_bind_int64(st, 12, row->user.id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        if (insert)
            row->user.id = sqlite3_last_insert_rowid(s->db);
        else if (sqlite3_changes(s->db) == 0)
            rc = SQLITE_NOTFOUND;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == SQLITE_NOTFOUND)
        return -ENOENT;
    return rc == SQLITE_DONE ? 0 : auth_sqlite_errno(rc);
}

static int auth_sqlite_user_insert(auth_store_t *base, auth_user_row_t *row)
{
    return auth_sqlite_user_write(base, row, 1);
}

static int auth_sqlite_user_update(auth_store_t *base,
                                   const auth_user_row_t *row)
{
    return auth_sqlite_user_write(base, (auth_user_row_t *)row, 0);
}

static int auth_sqlite_user_delete(auth_store_t *base, int64_t id)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int changes = 0, rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL, "BEGIN IMMEDIATE", "");
    if (rc == 0)
        rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_sessions "
                              "WHERE user_id = ?", "i", id);
    if (rc == 0)
        rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_api_keys "
                              "WHERE user_id = ?", "i", id);
    if (rc == 0)
        rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_recovery_codes "
                              "WHERE user_id = ?", "i", id);
    if (rc == 0)
        rc = auth_sqlite_exec(s, &changes, "DELETE FROM auth_users "
                              "WHERE id = ?", "i", id);
    if (rc == 0)
        rc = auth_sqlite_exec(s, NULL, "COMMIT", "");
    else
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? rc : changes ? 0 : -ENOENT;
}

static int auth_sqlite_user_get(auth_store_t *base, int64_t id,
                                const char *name, auth_user_row_t *out)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&s->lock);
    if (name)
        rc = auth_sqlite_prepare(s, &st, "SELECT " AUTH_USER_COLUMNS
                                 " FROM auth_users WHERE name = ?",
                                 "t", name);
    else
        rc = auth_sqlite_prepare(s, &st, "SELECT " AUTH_USER_COLUMNS
                                 " FROM auth_users WHERE id = ?", "i", id);
    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            auth_sqlite_user_row(st, out);
            rc = 0;
        } else {
            rc = rc == SQLITE_DONE ? -ENOENT : auth_sqlite_errno(rc);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_user_list(auth_store_t *base, auth_user_t **out,
                                 size_t *n)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    void *list = NULL;
    size_t count = 0, cap = 0;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT " AUTH_USER_COLUMNS
                             " FROM auth_users ORDER BY id", "");
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        auth_user_row_t row;
        auth_user_t *u = auth_sqlite_grow(&list, &count, &cap, sizeof(*u));
        if (!u) {
            rc = -ENOMEM;
            break;
        }
        auth_sqlite_user_row(st, &row);
        *u = row.user;
        rc = 0;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = auth_sqlite_errno(rc);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

/* Runs a query whose single row holds one integer. */
static int auth_sqlite_int(auth_sqlite_t *s, int64_t *out, const char *sql,
                           const char *types, int64_t a)
{
    sqlite3_stmt *st = NULL;
    int rc = auth_sqlite_prepare(s, &st, sql, types, a);

    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = 0;
        } else {
            rc = rc == SQLITE_DONE ? -ENOENT : auth_sqlite_errno(rc);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int auth_sqlite_user_count_role(auth_store_t *base, int64_t role_id,
                                       int *count)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int64_t v = 0;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_int(s, &v, "SELECT count(*) FROM auth_users "
                         "WHERE role_id = ? AND disabled = 0", "i", role_id);
    pthread_mutex_unlock(&s->lock);
    *count = (int)v;
    return rc;
}

static int auth_sqlite_user_totp_step(auth_store_t *base, int64_t id,
                                      int64_t step)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int changes = 0, rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, &changes, "UPDATE auth_users SET "
                          "totp_last_step = ? WHERE id = ? AND "
                          "totp_last_step < ?", "iii", step, id, step);
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? rc : changes ? 0 : -EALREADY;
}

/* ---- Sessions and keys ------------------------------------------------ */

static int auth_sqlite_session_insert(auth_store_t *base,
                                      const auth_session_row_t *r)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL,
                          "INSERT INTO auth_sessions (hash, user_id, "
                          "created_us, last_seen_us, expires_us, source) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          "biiiit", r->hash, r->user_id, r->created_us,
                          r->last_seen_us, r->expires_us, r->source);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_session_get(auth_store_t *base,
                                   const unsigned char *hash,
                                   auth_session_row_t *out)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT user_id, created_us, "
                             "last_seen_us, expires_us, source FROM "
                             "auth_sessions WHERE hash = ?", "b", hash);
    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            memset(out, 0, sizeof(*out));
            memcpy(out->hash, hash, AUTH_HASH_LEN);
            out->user_id = sqlite3_column_int64(st, 0);
            out->created_us = sqlite3_column_int64(st, 1);
            out->last_seen_us = sqlite3_column_int64(st, 2);
            out->expires_us = sqlite3_column_int64(st, 3);
            auth_sqlite_text(st, 4, out->source, sizeof(out->source));
            rc = 0;
        } else {
            rc = rc == SQLITE_DONE ? -ENOENT : auth_sqlite_errno(rc);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_session_touch(auth_store_t *base,
                                     const unsigned char *hash,
                                     int64_t now_us)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL, "UPDATE auth_sessions SET "
                          "last_seen_us = ? WHERE hash = ?", "ib", now_us,
                          hash);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_session_delete(auth_store_t *base,
                                      const unsigned char *hash)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int changes = 0, rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, &changes, "DELETE FROM auth_sessions "
                          "WHERE hash = ?", "b", hash);
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? rc : changes ? 0 : -ENOENT;
}

static int auth_sqlite_session_delete_user(auth_store_t *base,
                                           int64_t user_id, int *count)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int changes = 0, rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, &changes, "DELETE FROM auth_sessions "
                          "WHERE user_id = ?", "i", user_id);
    pthread_mutex_unlock(&s->lock);
    if (count)
        *count = changes;
    return rc;
}

static int auth_sqlite_session_delete_expired(auth_store_t *base,
                                              int64_t now_us,
                                              int64_t idle_us)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_sessions WHERE "
                          "expires_us <= ? OR last_seen_us + ? <= ?",
                          "iii", now_us, idle_us, now_us);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

#define AUTH_KEY_COLUMNS                                                    \
    "id, user_id, name, scope, created_us, expires_us, revoked"

static void auth_sqlite_key_row(sqlite3_stmt *st, auth_api_key_t *k)
{
    memset(k, 0, sizeof(*k));
    k->id = sqlite3_column_int64(st, 0);
    k->user_id = sqlite3_column_int64(st, 1);
    auth_sqlite_text(st, 2, k->name, sizeof(k->name));
    k->scope = (uint32_t)sqlite3_column_int64(st, 3);
    k->created_us = sqlite3_column_int64(st, 4);
    k->expires_us = sqlite3_column_int64(st, 5);
    k->revoked = sqlite3_column_int(st, 6);
}

static int auth_sqlite_key_insert(auth_store_t *base,
                                  const unsigned char *hash,
                                  auth_api_key_t *k)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL,
                          "INSERT INTO auth_api_keys (hash, user_id, name,"
                          " scope, created_us, expires_us) VALUES "
                          "(?, ?, ?, ?, ?, ?)",
                          "bitiii", hash, k->user_id, k->name,
                          (int64_t)k->scope, k->created_us, k->expires_us);
    if (rc == 0)
        k->id = sqlite3_last_insert_rowid(s->db);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_key_get(auth_store_t *base, const unsigned char *hash,
                               auth_api_key_t *out)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT " AUTH_KEY_COLUMNS
                             " FROM auth_api_keys WHERE hash = ?", "b",
                             hash);
    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            auth_sqlite_key_row(st, out);
            rc = 0;
        } else {
            rc = rc == SQLITE_DONE ? -ENOENT : auth_sqlite_errno(rc);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_key_revoke(auth_store_t *base, int64_t id)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int changes = 0, rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, &changes, "UPDATE auth_api_keys SET "
                          "revoked = 1 WHERE id = ?", "i", id);
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? rc : changes ? 0 : -ENOENT;
}

static int auth_sqlite_key_list(auth_store_t *base, int64_t user_id,
                                auth_api_key_t **out, size_t *n)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    void *list = NULL;
    size_t count = 0, cap = 0;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT " AUTH_KEY_COLUMNS
                             " FROM auth_api_keys WHERE ?1 = 0 OR "
                             "user_id = ?1 ORDER BY id", "i", user_id);
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        auth_api_key_t *k = auth_sqlite_grow(&list, &count, &cap,
                                             sizeof(*k));
        if (!k) {
            rc = -ENOMEM;
            break;
        }
        auth_sqlite_key_row(st, k);
        rc = 0;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = auth_sqlite_errno(rc);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

/* ---- Recovery codes --------------------------------------------------- */

static int auth_sqlite_recovery_set(auth_store_t *base, int64_t user_id,
                                    char (*hashes)[AUTH_PWHASH_MAX],
                                    size_t n)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL, "BEGIN IMMEDIATE", "");
    if (rc == 0)
        rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_recovery_codes "
                              "WHERE user_id = ?", "i", user_id);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = auth_sqlite_exec(s, NULL, "INSERT INTO auth_recovery_codes "
                              "(user_id, hash) VALUES (?, ?)", "it",
                              user_id, hashes[i]);
    if (rc == 0)
        rc = auth_sqlite_exec(s, NULL, "COMMIT", "");
    else
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_recovery_list(auth_store_t *base, int64_t user_id,
                                     int64_t **ids,
                                     char (**hashes)[AUTH_PWHASH_MAX],
                                     size_t *n)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    void *idl = NULL, *hl = NULL;
    size_t count = 0, hcount = 0, cap = 0, hcap = 0;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT id, hash FROM "
                             "auth_recovery_codes WHERE user_id = ? AND "
                             "used_us = 0 ORDER BY id", "i", user_id);
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t *id = auth_sqlite_grow(&idl, &count, &cap, sizeof(*id));
        char *h = auth_sqlite_grow(&hl, &hcount, &hcap, AUTH_PWHASH_MAX);
        if (!id || !h) {
            rc = -ENOMEM;
            break;
        }
        *id = sqlite3_column_int64(st, 0);
        auth_sqlite_text(st, 1, h, AUTH_PWHASH_MAX);
        rc = 0;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = auth_sqlite_errno(rc);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        free(idl);
        free(hl);
        return rc;
    }
    *ids = idl;
    *hashes = hl;
    *n = count;
    return 0;
}

static int auth_sqlite_recovery_use(auth_store_t *base, int64_t id,
                                    int64_t now_us)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int changes = 0, rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, &changes, "UPDATE auth_recovery_codes SET "
                          "used_us = ? WHERE id = ? AND used_us = 0", "ii",
                          now_us > 0 ? now_us : 1, id);
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? rc : changes ? 0 : -EALREADY;
}

/* ---- Throttle and settings -------------------------------------------- */

static int auth_sqlite_throttle_get(auth_store_t *base, const char *kind,
                                    const char *key,
                                    auth_throttle_row_t *out)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT failures, last_failure_us, "
                             "locked_until_us FROM auth_throttle WHERE "
                             "kind = ? AND key = ?", "tt", kind, key);
    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            out->failures = sqlite3_column_int(st, 0);
            out->last_failure_us = sqlite3_column_int64(st, 1);
            out->locked_until_us = sqlite3_column_int64(st, 2);
            rc = 0;
        } else {
            rc = rc == SQLITE_DONE ? -ENOENT : auth_sqlite_errno(rc);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_throttle_put(auth_store_t *base, const char *kind,
                                    const char *key,
                                    const auth_throttle_row_t *row)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL,
                          "INSERT INTO auth_throttle (kind, key, failures,"
                          " last_failure_us, locked_until_us) VALUES "
                          "(?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                          "failures = excluded.failures, last_failure_us ="
                          " excluded.last_failure_us, locked_until_us = "
                          "excluded.locked_until_us",
                          "ttiii", kind, key, (int64_t)row->failures,
                          row->last_failure_us, row->locked_until_us);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_throttle_clear(auth_store_t *base, const char *kind,
                                      const char *key)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_throttle WHERE "
                          "kind = ? AND key = ?", "tt", kind, key);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_throttle_purge(auth_store_t *base, int64_t before_us)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_throttle WHERE "
                          "last_failure_us < ?1 AND locked_until_us < ?1",
                          "i", before_us);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_setting_get(auth_store_t *base, const char *key,
                                   char *value, size_t len)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT value FROM auth_settings "
                             "WHERE key = ?", "t", key);
    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            auth_sqlite_text(st, 0, value, len);
            rc = 0;
        } else {
            rc = rc == SQLITE_DONE ? -ENOENT : auth_sqlite_errno(rc);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_setting_put(auth_store_t *base, const char *key,
                                   const char *value)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    if (value)
        rc = auth_sqlite_exec(s, NULL, "INSERT INTO auth_settings (key, "
                              "value) VALUES (?, ?) ON CONFLICT DO UPDATE "
                              "SET value = excluded.value", "tt", key,
                              value);
    else
        rc = auth_sqlite_exec(s, NULL, "DELETE FROM auth_settings "
                              "WHERE key = ?", "t", key);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- Audit ------------------------------------------------------------ */

#define AUTH_AUDIT_COLUMNS                                                  \
    "seq, time_us, actor, source, action, target, outcome, detail,"         \
    " prev_hash, hash"

static void auth_sqlite_audit_row(sqlite3_stmt *st, auth_audit_entry_t *e)
{
    memset(e, 0, sizeof(*e));
    e->seq = sqlite3_column_int64(st, 0);
    e->time_us = sqlite3_column_int64(st, 1);
    auth_sqlite_text(st, 2, e->actor, sizeof(e->actor));
    auth_sqlite_text(st, 3, e->source, sizeof(e->source));
    auth_sqlite_text(st, 4, e->action, sizeof(e->action));
    auth_sqlite_text(st, 5, e->target, sizeof(e->target));
    auth_sqlite_text(st, 6, e->outcome, sizeof(e->outcome));
    auth_sqlite_text(st, 7, e->detail, sizeof(e->detail));
    auth_sqlite_text(st, 8, e->prev_hash, sizeof(e->prev_hash));
    auth_sqlite_text(st, 9, e->hash, sizeof(e->hash));
}

static int auth_sqlite_audit_append(auth_store_t *base, auth_audit_entry_t *e,
                                    void (*seal)(auth_audit_entry_t *e,
                                                 char *head, void *ctx),
                                    void *ctx)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    char head[65] = "";
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_exec(s, NULL, "BEGIN IMMEDIATE", "");
    if (rc < 0)
        goto done;

    rc = auth_sqlite_prepare(s, &st, "SELECT seq, hash FROM auth_audit "
                             "ORDER BY seq DESC LIMIT 1", "");
    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            e->seq = sqlite3_column_int64(st, 0) + 1;
            auth_sqlite_text(st, 1, e->prev_hash, sizeof(e->prev_hash));
            rc = 0;
        } else if (rc == SQLITE_DONE) {
            e->seq = 1;
            memset(e->prev_hash, '0', 64);
            e->prev_hash[64] = '\0';
            rc = 0;
        } else {
            rc = auth_sqlite_errno(rc);
        }
    }
    sqlite3_finalize(st);

    if (rc == 0) {
        seal(e, head, ctx);
        rc = auth_sqlite_exec(s, NULL,
                              "INSERT INTO auth_audit (" AUTH_AUDIT_COLUMNS
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              "iittttttt" "t", e->seq, e->time_us, e->actor,
                              e->source, e->action, e->target, e->outcome,
                              e->detail, e->prev_hash, e->hash);
    }
    if (rc == 0)
        rc = auth_sqlite_exec(s, NULL, "INSERT INTO auth_audit_head (id, "
                              "digest) VALUES (1, ?) ON CONFLICT DO UPDATE "
                              "SET digest = excluded.digest", "t", head);
    if (rc == 0)
        rc = auth_sqlite_exec(s, NULL, "COMMIT", "");
    else
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);

done:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int auth_sqlite_audit_scan(auth_store_t *base,
                                  const auth_audit_filter_t *f,
                                  int (*fn)(const auth_audit_entry_t *e,
                                            void *ctx),
                                  void *ctx)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    auth_audit_filter_t none = {0};
    sqlite3_stmt *st = NULL;
    char like[64];
    int rc, stop = 0;

    if (!f)
        f = &none;
    /* The prefix is matched with substr() so that '%' and '_' in it
     * are literal. */
    snprintf(like, sizeof(like), "%s", f->action ? f->action : "");
    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(
        s, &st,
        "SELECT " AUTH_AUDIT_COLUMNS " FROM auth_audit WHERE seq > ?1 "
        "AND (?2 = 0 OR time_us >= ?2) AND (?3 = 0 OR time_us < ?3) "
        "AND (?4 = '' OR actor = ?4) "
        "AND (?5 = '' OR substr(action, 1, length(?5)) = ?5) "
        "ORDER BY seq LIMIT ?6",
        "iiitti", f->after_seq, f->from_us, f->to_us, f->actor, like,
        f->limit ? (int64_t)f->limit : (int64_t)-1);
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        auth_audit_entry_t e;

        auth_sqlite_audit_row(st, &e);
        stop = fn(&e, ctx);
        if (stop != 0)
            break;
        rc = 0;
    }
    if (stop != 0 || rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = auth_sqlite_errno(rc);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? rc : stop;
}

static int auth_sqlite_audit_head(auth_store_t *base, char *head,
                                  size_t len)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);
    sqlite3_stmt *st = NULL;
    int rc;

    head[0] = '\0';
    pthread_mutex_lock(&s->lock);
    rc = auth_sqlite_prepare(s, &st, "SELECT digest FROM auth_audit_head "
                             "WHERE id = 1", "");
    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            auth_sqlite_text(st, 0, head, len);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
                                                   : auth_sqlite_errno(rc);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- Lifecycle -------------------------------------------------------- */

static int auth_sqlite_schema_version(auth_store_t *base)
{
    return AUTH_SQLITE(base)->version;
}

static void auth_sqlite_close(auth_store_t *base)
{
    auth_sqlite_t *s = AUTH_SQLITE(base);

    if (s->owned)
        sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const auth_store_ops_t auth_sqlite_ops = {
    .name = "sqlite",
    .close = auth_sqlite_close,
    .schema_version = auth_sqlite_schema_version,
    .role_insert = auth_sqlite_role_insert,
    .role_update = auth_sqlite_role_update,
    .role_delete = auth_sqlite_role_delete,
    .role_get = auth_sqlite_role_get,
    .role_list = auth_sqlite_role_list,
    .grant_set = auth_sqlite_grant_set,
    .grant_list = auth_sqlite_grant_list,
    .user_insert = auth_sqlite_user_insert,
    .user_update = auth_sqlite_user_update,
    .user_delete = auth_sqlite_user_delete,
    .user_get = auth_sqlite_user_get,
    .user_list = auth_sqlite_user_list,
    .user_count_role = auth_sqlite_user_count_role,
    .user_totp_step = auth_sqlite_user_totp_step,
    .session_insert = auth_sqlite_session_insert,
    .session_get = auth_sqlite_session_get,
    .session_touch = auth_sqlite_session_touch,
    .session_delete = auth_sqlite_session_delete,
    .session_delete_user = auth_sqlite_session_delete_user,
    .session_delete_expired = auth_sqlite_session_delete_expired,
    .key_insert = auth_sqlite_key_insert,
    .key_get = auth_sqlite_key_get,
    .key_revoke = auth_sqlite_key_revoke,
    .key_list = auth_sqlite_key_list,
    .recovery_set = auth_sqlite_recovery_set,
    .recovery_list = auth_sqlite_recovery_list,
    .recovery_use = auth_sqlite_recovery_use,
    .throttle_get = auth_sqlite_throttle_get,
    .throttle_put = auth_sqlite_throttle_put,
    .throttle_clear = auth_sqlite_throttle_clear,
    .throttle_purge = auth_sqlite_throttle_purge,
    .setting_get = auth_sqlite_setting_get,
    .setting_put = auth_sqlite_setting_put,
    .audit_append = auth_sqlite_audit_append,
    .audit_scan = auth_sqlite_audit_scan,
    .audit_head = auth_sqlite_audit_head,
};

/* Wraps db in a store and migrates the schema. */
static int auth_sqlite_new(sqlite3 *db, int owned, auth_store_t **out,
                           char *err, size_t errlen)
{
    auth_sqlite_t *s = calloc(1, sizeof(*s));
    int rc;

    if (!s) {
        if (owned)
            sqlite3_close(db);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->base.ops = &auth_sqlite_ops;
    s->db = db;
    s->owned = owned;
    pthread_mutex_init(&s->lock, NULL);
    rc = auth_sqlite_migrate(s, err, errlen);
    if (rc < 0) {
        auth_sqlite_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

int auth_store_sqlite_open(const char *path, auth_store_t **out, char *err,
                           size_t errlen)
{
    sqlite3 *db = NULL;
    int rc;

    rc = sqlite3_open_v2(path, &db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_FULLMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open auth database %s: %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return auth_sqlite_errno(rc);
    }
    /* Another connection (the catalog's) may hold the write lock for a
     * moment, so wait for it instead of failing. */
    sqlite3_busy_timeout(db, 5000);
    sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    return auth_sqlite_new(db, 1, out, err, errlen);
}

int auth_store_sqlite_wrap(sqlite3 *db, auth_store_t **out, char *err,
                           size_t errlen)
{
    if (!db) {
        snprintf(err, errlen, "no SQLite connection given");
        return -EINVAL;
    }
    return auth_sqlite_new(db, 0, out, err, errlen);
}

int auth_store_schema_version(auth_store_t *store)
{
    return store->ops->schema_version(store);
}

void auth_store_close(auth_store_t *store)
{
    if (store)
        store->ops->close(store);
}
