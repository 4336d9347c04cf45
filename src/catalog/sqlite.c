/*
 * SQLite catalog backend.
 *
 * Schema changes are numbered migrations in catalog_migrations[]; the
 * version reached is stored in PRAGMA user_version, and each migration
 * runs in its own transaction together with the version bump, so a crash
 * leaves the database at one version or the next, never between. A
 * migration, once released, is never edited: a change is a new entry.
 */
#include "catalog/catalog.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct catalog {
    sqlite3 *db;
    pthread_mutex_t lock;
    int version;
};

static const char *const catalog_migrations[] = {
    /* 1: cameras and the segment index. */
    "CREATE TABLE cameras ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  main_url TEXT NOT NULL,"
    "  sub_url TEXT NOT NULL DEFAULT '',"
    "  username TEXT NOT NULL DEFAULT '',"
    "  password TEXT NOT NULL DEFAULT '',"
    "  transport TEXT NOT NULL DEFAULT 'tcp',"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  created_us INTEGER NOT NULL,"
    "  updated_us INTEGER NOT NULL);"
    "CREATE TABLE recordings ("
    "  id INTEGER PRIMARY KEY,"
    "  camera_id INTEGER NOT NULL,"
    "  stream TEXT NOT NULL,"
    "  volume TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  start_us INTEGER NOT NULL,"
    "  end_us INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  UNIQUE (volume, path));"
    "CREATE INDEX recordings_by_time"
    "  ON recordings (camera_id, stream, start_us);",

    /* 2: storage management: volume identities, the integrity chain,
     * deletion and loss states, retention limits and evidence holds. */
    "CREATE TABLE volumes ("
    "  id INTEGER PRIMARY KEY,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  path TEXT NOT NULL UNIQUE,"
    "  created_us INTEGER NOT NULL);"
    "ALTER TABLE recordings ADD COLUMN chain TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE recordings ADD COLUMN state INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX recordings_by_volume ON recordings (volume, start_us);"
    "ALTER TABLE cameras ADD COLUMN retention_days INTEGER NOT NULL"
    "  DEFAULT 0;"
    "ALTER TABLE cameras ADD COLUMN retention_bytes INTEGER NOT NULL"
    "  DEFAULT 0;"
    "CREATE TABLE holds ("
    "  id INTEGER PRIMARY KEY,"
    "  camera_id INTEGER NOT NULL,"
    "  start_us INTEGER NOT NULL,"
    "  end_us INTEGER NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  created_us INTEGER NOT NULL);"
    "CREATE TABLE chain_links ("
    "  camera_id INTEGER NOT NULL,"
    "  stream TEXT NOT NULL,"
    "  next_start_us INTEGER NOT NULL,"
    "  prev_chain TEXT NOT NULL,"
    "  PRIMARY KEY (camera_id, stream, next_start_us));",

    /* 3: what ONVIF adoption learns about a camera. */
    "ALTER TABLE cameras ADD COLUMN onvif_url TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cameras ADD COLUMN manufacturer TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cameras ADD COLUMN model TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cameras ADD COLUMN firmware TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cameras ADD COLUMN serial TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cameras ADD COLUMN time_offset_s INTEGER NOT NULL"
    "  DEFAULT 0;",

    /* 4: camera events on the timeline. state is NULL for an event
     * without a boolean value. */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  camera_id INTEGER NOT NULL,"
    "  time_us INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  topic TEXT NOT NULL DEFAULT '',"
    "  source TEXT NOT NULL DEFAULT '',"
    "  state INTEGER,"
    "  data TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX events_by_time ON events (camera_id, time_us);",
};

#define CATALOG_MIGRATION_COUNT                                             \
    (int)(sizeof(catalog_migrations) / sizeof(catalog_migrations[0]))

/* Maps an SQLite result code to a negative errno. */
static int catalog_errno(int rc)
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

static int64_t catalog_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Applies the migrations above the stored version, each in one
 * transaction. */
static int catalog_migrate(catalog_t *cat, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int version = 0;
    int rc;

    rc = sqlite3_prepare_v2(cat->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > CATALOG_MIGRATION_COUNT) {
        snprintf(err, errlen,
                 "catalog schema version %d is newer than this program "
                 "(%d): run the newer version or restore a backup",
                 version, CATALOG_MIGRATION_COUNT);
        return -EPROTO;
    }
    while (version < CATALOG_MIGRATION_COUNT) {
        char bump[64];
        char *msg = NULL;

        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d;",
                 version + 1);
        rc = sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(cat->db, catalog_migrations[version], NULL,
                              NULL, &msg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(cat->db, bump, NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(cat->db, "COMMIT", NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "catalog migration %d failed: %s",
                     version + 1, msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
            return catalog_errno(rc);
        }
        version++;
    }
    cat->version = version;
    return 0;
}

int catalog_open(const char *path, catalog_t **out, char *err,
                 size_t errlen)
{
    catalog_t *cat = calloc(1, sizeof(*cat));
    char *msg = NULL;
    int rc;

    *out = NULL;
    if (!cat)
        return -ENOMEM;
    pthread_mutex_init(&cat->lock, NULL);
    rc = sqlite3_open_v2(path, &cat->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open catalog %s: %s", path,
                 cat->db ? sqlite3_errmsg(cat->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(cat->db, 5000);
    /* Camera passwords live here: readable by the daemon's user only.
     * The WAL and shared-memory files take the database's mode. */
    chmod(path, 0600);
    /* WAL lets API readers run beside the segment writer; synchronous =
     * FULL makes each committed row durable before the call returns. */
    rc = sqlite3_exec(cat->db,
                      "PRAGMA journal_mode = WAL;"
                      "PRAGMA synchronous = FULL;"
                      "PRAGMA foreign_keys = ON;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot configure catalog %s: %s", path,
                 msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        goto fail;
    }
    rc = catalog_migrate(cat, err, errlen);
    if (rc < 0)
        goto fail_errno;
    *out = cat;
    return 0;

fail:
    rc = catalog_errno(rc);
    if (rc == 0)
        rc = -EIO;
fail_errno:
    catalog_close(cat);
    return rc;
}

void catalog_close(catalog_t *cat)
{
    if (!cat)
        return;
    if (cat->db) {
        sqlite3_exec(cat->db, "PRAGMA wal_checkpoint(TRUNCATE);", NULL,
                     NULL, NULL);
        sqlite3_close(cat->db);
    }
    pthread_mutex_destroy(&cat->lock);
    free(cat);
}

int catalog_schema_version(catalog_t *cat)
{
    return cat->version;
}

/* Copies a text column into a fixed buffer, truncating. */
static void catalog_column_text(sqlite3_stmt *st, int col, char *dst,
                                size_t len)
{
    const unsigned char *text = sqlite3_column_text(st, col);

    snprintf(dst, len, "%s", text ? (const char *)text : "");
}

#define CAMERA_COLUMNS                                                      \
    "id, name, main_url, sub_url, username, password, transport, enabled," \
    " retention_days, retention_bytes, onvif_url, manufacturer, model,"    \
    " firmware, serial, time_offset_s"

static void catalog_read_camera(sqlite3_stmt *st, catalog_camera_t *cam)
{
    memset(cam, 0, sizeof(*cam));
    cam->id = sqlite3_column_int64(st, 0);
    catalog_column_text(st, 1, cam->name, sizeof(cam->name));
    catalog_column_text(st, 2, cam->main_url, sizeof(cam->main_url));
    catalog_column_text(st, 3, cam->sub_url, sizeof(cam->sub_url));
    catalog_column_text(st, 4, cam->username, sizeof(cam->username));
    catalog_column_text(st, 5, cam->password, sizeof(cam->password));
    catalog_column_text(st, 6, cam->transport, sizeof(cam->transport));
    cam->enabled = sqlite3_column_int(st, 7);
    cam->retention_days = sqlite3_column_int(st, 8);
    cam->retention_bytes = sqlite3_column_int64(st, 9);
    catalog_column_text(st, 10, cam->onvif_url, sizeof(cam->onvif_url));
    catalog_column_text(st, 11, cam->manufacturer, sizeof(cam->manufacturer));
    catalog_column_text(st, 12, cam->model, sizeof(cam->model));
    catalog_column_text(st, 13, cam->firmware, sizeof(cam->firmware));
    catalog_column_text(st, 14, cam->serial, sizeof(cam->serial));
    cam->time_offset_s = sqlite3_column_int64(st, 15);
}

/* Binds the camera's fields to parameters 1..7, the time to 8, the
 * retention limits to 10 and 11 and the device facts to 12..17. */
static void catalog_bind_camera(sqlite3_stmt *st, const catalog_camera_t *c)
{
    sqlite3_bind_text(st, 1, c->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c->main_url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, c->sub_url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, c->username, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, c->password, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, c->transport[0] ? c->transport : "tcp", -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 7, c->enabled);
    sqlite3_bind_int64(st, 8, catalog_now_us());
    sqlite3_bind_int(st, 10, c->retention_days);
    sqlite3_bind_int64(st, 11, c->retention_bytes);
    sqlite3_bind_text(st, 12, c->onvif_url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 13, c->manufacturer, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 14, c->model, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 15, c->firmware, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 16, c->serial, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 17, c->time_offset_s);
}

int catalog_camera_insert(catalog_t *cat, catalog_camera_t *cam)
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(
        cat->db,
        "INSERT INTO cameras (name, main_url, sub_url, username, password,"
        " transport, enabled, created_us, updated_us, retention_days,"
        " retention_bytes, onvif_url, manufacturer, model, firmware, serial,"
        " time_offset_s)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17)",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        catalog_bind_camera(st, cam);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            cam->id = sqlite3_last_insert_rowid(cat->db);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return catalog_errno(rc);
}

int catalog_camera_update(catalog_t *cat, const catalog_camera_t *cam)
{
    sqlite3_stmt *st = NULL;
    int rc;
    int changed = 0;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(
        cat->db,
        "UPDATE cameras SET name = ?1, main_url = ?2, sub_url = ?3,"
        " username = ?4, password = ?5, transport = ?6, enabled = ?7,"
        " updated_us = ?8, retention_days = ?10, retention_bytes = ?11,"
        " onvif_url = ?12, manufacturer = ?13, model = ?14, firmware = ?15,"
        " serial = ?16, time_offset_s = ?17 WHERE id = ?9",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        catalog_bind_camera(st, cam);
        sqlite3_bind_int64(st, 9, cam->id);
        rc = sqlite3_step(st);
        changed = sqlite3_changes(cat->db);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc == SQLITE_DONE && changed == 0)
        return -ENOENT;
    return catalog_errno(rc);
}

/* Runs a statement with one int64 parameter and no result rows; returns
 * -ENOENT if it changed no row. */
static int catalog_exec_id(catalog_t *cat, const char *sql, int64_t id)
{
    sqlite3_stmt *st = NULL;
    int rc;
    int changed = 0;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        changed = sqlite3_changes(cat->db);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc == SQLITE_DONE && changed == 0)
        return -ENOENT;
    return catalog_errno(rc);
}

int catalog_camera_delete(catalog_t *cat, int64_t id)
{
    return catalog_exec_id(cat, "DELETE FROM cameras WHERE id = ?1", id);
}

int catalog_camera_get(catalog_t *cat, int64_t id, catalog_camera_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "SELECT " CAMERA_COLUMNS
                            " FROM cameras WHERE id = ?1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            catalog_read_camera(st, out);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    return catalog_errno(rc);
}

/* Grows *items (of size elem) so that index n fits. */
static int catalog_grow(void **items, size_t *cap, size_t n, size_t elem)
{
    void *bigger;
    size_t new_cap;

    if (n < *cap)
        return 0;
    new_cap = *cap ? *cap * 2 : 16;
    bigger = realloc(*items, new_cap * elem);
    if (!bigger)
        return -ENOMEM;
    *items = bigger;
    *cap = new_cap;
    return 0;
}

int catalog_camera_list(catalog_t *cat, catalog_camera_t **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    catalog_camera_t *items = NULL;
    size_t cap = 0;
    size_t count = 0;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "SELECT " CAMERA_COLUMNS
                            " FROM cameras ORDER BY id",
                            -1, &st, NULL);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        if (catalog_grow((void **)&items, &cap, count, sizeof(*items))) {
            rc = SQLITE_NOMEM;
            break;
        }
        catalog_read_camera(st, &items[count++]);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc != SQLITE_DONE) {
        free(items);
        return catalog_errno(rc) ? catalog_errno(rc) : -EIO;
    }
    *out = items;
    *n = count;
    return 0;
}

#define RECORDING_COLUMNS                                                   \
    "id, camera_id, stream, volume, path, start_us, end_us, bytes, sha256," \
    " chain, state"

static void catalog_read_recording(sqlite3_stmt *st, catalog_recording_t *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    r->camera_id = sqlite3_column_int64(st, 1);
    catalog_column_text(st, 2, r->stream, sizeof(r->stream));
    catalog_column_text(st, 3, r->volume, sizeof(r->volume));
    catalog_column_text(st, 4, r->path, sizeof(r->path));
    r->start_us = sqlite3_column_int64(st, 5);
    r->end_us = sqlite3_column_int64(st, 6);
    r->bytes = sqlite3_column_int64(st, 7);
    catalog_column_text(st, 8, r->sha256, sizeof(r->sha256));
    catalog_column_text(st, 9, r->chain, sizeof(r->chain));
    r->state = sqlite3_column_int(st, 10);
}

int catalog_recording_insert(catalog_t *cat, catalog_recording_t *rec)
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(
        cat->db,
        "INSERT INTO recordings (camera_id, stream, volume, path, start_us,"
        " end_us, bytes, sha256, chain, state)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, rec->camera_id);
        sqlite3_bind_text(st, 2, rec->stream, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, rec->volume, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, rec->path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 5, rec->start_us);
        sqlite3_bind_int64(st, 6, rec->end_us);
        sqlite3_bind_int64(st, 7, rec->bytes);
        sqlite3_bind_text(st, 8, rec->sha256, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 9, rec->chain, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 10, rec->state);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rec->id = sqlite3_last_insert_rowid(cat->db);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return catalog_errno(rc);
}

/* Runs a prepared recording query and collects its rows. The lock is
 * held by the caller. */
static int catalog_collect_recordings(sqlite3_stmt *st,
                                      catalog_recording_t **out, size_t *n)
{
    catalog_recording_t *items = NULL;
    size_t cap = 0;
    size_t count = 0;
    int rc;

    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        if (catalog_grow((void **)&items, &cap, count, sizeof(*items))) {
            rc = SQLITE_NOMEM;
            break;
        }
        catalog_read_recording(st, &items[count++]);
    }
    if (rc != SQLITE_DONE) {
        free(items);
        return catalog_errno(rc) ? catalog_errno(rc) : -EIO;
    }
    *out = items;
    *n = count;
    return 0;
}

/* Lists the rows of a camera stream that overlap [from_us, to_us) and
 * match state_clause (SQL, e.g. "state = 0"), ordered by start time. */
static int catalog_recording_range(catalog_t *cat, const char *state_clause,
                                   int64_t camera_id, const char *stream,
                                   int64_t from_us, int64_t to_us,
                                   catalog_recording_t **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    char sql[512];
    int rc;

    *out = NULL;
    *n = 0;
    snprintf(sql, sizeof(sql),
             "SELECT " RECORDING_COLUMNS " FROM recordings WHERE camera_id = ?1"
             " AND stream = ?2 AND end_us > ?3 AND start_us < ?4 AND %s"
             " ORDER BY start_us",
             state_clause);
    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, camera_id);
        sqlite3_bind_text(st, 2, stream, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, from_us);
        sqlite3_bind_int64(st, 4, to_us);
        rc = catalog_collect_recordings(st, out, n);
    } else {
        rc = catalog_errno(rc);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return rc;
}

int catalog_recording_list(catalog_t *cat, int64_t camera_id,
                           const char *stream, int64_t from_us,
                           int64_t to_us, catalog_recording_t **out,
                           size_t *n)
{
    return catalog_recording_range(cat, "state = 0", camera_id, stream,
                                   from_us, to_us, out, n);
}

int catalog_recording_list_volume(catalog_t *cat, const char *volume,
                                  catalog_recording_t **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "SELECT " RECORDING_COLUMNS
                            " FROM recordings WHERE volume = ?1"
                            " ORDER BY id",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, volume, -1, SQLITE_TRANSIENT);
        rc = catalog_collect_recordings(st, out, n);
    } else {
        rc = catalog_errno(rc);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return rc;
}

int catalog_recording_find(catalog_t *cat, const char *volume,
                           const char *path, catalog_recording_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "SELECT " RECORDING_COLUMNS
                            " FROM recordings WHERE volume = ?1"
                            " AND path = ?2",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, volume, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            catalog_read_recording(st, out);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    return catalog_errno(rc);
}

int catalog_recording_delete(catalog_t *cat, int64_t id)
{
    return catalog_exec_id(cat, "DELETE FROM recordings WHERE id = ?1", id);
}

int catalog_recording_list_all(catalog_t *cat, int64_t camera_id,
                               const char *stream, int64_t from_us,
                               int64_t to_us, catalog_recording_t **out,
                               size_t *n)
{
    return catalog_recording_range(cat, "state != 1", camera_id, stream,
                                   from_us, to_us, out, n);
}

/* Finds the one row (any state but garbage) of a camera stream that
 * sql_where selects relative to time_us, in the order of sql_order;
 * -ENOENT if none. */
static int catalog_recording_neighbour(catalog_t *cat, const char *sql_where,
                                       const char *sql_order,
                                       int64_t camera_id, const char *stream,
                                       int64_t time_us,
                                       catalog_recording_t *out)
{
    sqlite3_stmt *st = NULL;
    char sql[512];
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT " RECORDING_COLUMNS " FROM recordings WHERE camera_id = ?1"
             " AND stream = ?2 AND %s AND state != 1 ORDER BY %s LIMIT 1",
             sql_where, sql_order);
    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, camera_id);
        sqlite3_bind_text(st, 2, stream, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, time_us);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            catalog_read_recording(st, out);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    return catalog_errno(rc);
}

int catalog_recording_previous(catalog_t *cat, int64_t camera_id,
                               const char *stream, int64_t before_us,
                               catalog_recording_t *out)
{
    return catalog_recording_neighbour(cat, "start_us < ?3",
                                       "start_us DESC", camera_id, stream,
                                       before_us, out);
}

int catalog_recording_oldest(catalog_t *cat, const char *volume,
                             int64_t camera_id, size_t limit,
                             catalog_recording_t **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "SELECT " RECORDING_COLUMNS
                            " FROM recordings WHERE state = 0"
                            " AND (?1 IS NULL OR volume = ?1)"
                            " AND (?2 = 0 OR camera_id = ?2)"
                            " ORDER BY start_us LIMIT ?3",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (volume)
            sqlite3_bind_text(st, 1, volume, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 1);
        sqlite3_bind_int64(st, 2, camera_id);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
        rc = catalog_collect_recordings(st, out, n);
    } else {
        rc = catalog_errno(rc);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return rc;
}

int catalog_recording_garbage(catalog_t *cat, catalog_recording_t **out,
                              size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "SELECT " RECORDING_COLUMNS
                            " FROM recordings WHERE state = 1 ORDER BY id",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = catalog_collect_recordings(st, out, n);
    else
        rc = catalog_errno(rc);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return rc;
}

int catalog_recording_set_state(catalog_t *cat, int64_t id, int state)
{
    sqlite3_stmt *st = NULL;
    int rc;
    int changed = 0;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "UPDATE recordings SET state = ?2 WHERE id = ?1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, state);
        rc = sqlite3_step(st);
        changed = sqlite3_changes(cat->db);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc == SQLITE_DONE && changed == 0)
        return -ENOENT;
    return catalog_errno(rc);
}

int catalog_usage(catalog_t *cat, int64_t camera_id, const char *volume,
                  int64_t since_hour_us, int64_t since_day_us,
                  catalog_usage_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(
        cat->db,
        "SELECT COALESCE(SUM(bytes), 0), COUNT(*), COALESCE(MIN(start_us), 0),"
        " COALESCE(MAX(end_us), 0),"
        " COALESCE(SUM(CASE WHEN end_us > ?3 THEN bytes END), 0),"
        " COALESCE(SUM(CASE WHEN end_us > ?4 THEN bytes END), 0),"
        " COALESCE(SUM(CASE WHEN end_us > ?3 THEN end_us - start_us END), 0),"
        " COALESCE(SUM(CASE WHEN end_us > ?4 THEN end_us - start_us END), 0)"
        " FROM recordings WHERE state = 0 AND (?1 = 0 OR camera_id = ?1)"
        " AND (?2 IS NULL OR volume = ?2)",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, camera_id);
        if (volume)
            sqlite3_bind_text(st, 2, volume, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_int64(st, 3, since_hour_us);
        sqlite3_bind_int64(st, 4, since_day_us);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            out->bytes = sqlite3_column_int64(st, 0);
            out->segments = sqlite3_column_int64(st, 1);
            out->oldest_us = sqlite3_column_int64(st, 2);
            out->newest_us = sqlite3_column_int64(st, 3);
            out->bytes_hour = sqlite3_column_int64(st, 4);
            out->bytes_day = sqlite3_column_int64(st, 5);
            out->duration_hour_us = sqlite3_column_int64(st, 6);
            out->duration_day_us = sqlite3_column_int64(st, 7);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return catalog_errno(rc);
}

/* Looks up one text column by one text key; -ENOENT if no row. */
static int catalog_lookup_text(catalog_t *cat, const char *sql,
                               const char *key, char *out, size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            catalog_column_text(st, 0, out, len);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    return catalog_errno(rc);
}

int catalog_volume_find(catalog_t *cat, const char *path, char *uuid,
                        size_t uuid_len)
{
    return catalog_lookup_text(cat, "SELECT uuid FROM volumes WHERE path = ?1",
                               path, uuid, uuid_len);
}

int catalog_volume_find_uuid(catalog_t *cat, const char *uuid, char *path,
                             size_t path_len)
{
    return catalog_lookup_text(cat, "SELECT path FROM volumes WHERE uuid = ?1",
                               uuid, path, path_len);
}

int catalog_volume_insert(catalog_t *cat, const char *uuid, const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "INSERT INTO volumes (uuid, path, created_us)"
                            " VALUES (?1, ?2, ?3)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, catalog_now_us());
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return catalog_errno(rc);
}

int catalog_hold_insert(catalog_t *cat, catalog_hold_t *hold)
{
    sqlite3_stmt *st = NULL;
    int rc;

    hold->created_us = catalog_now_us();
    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "INSERT INTO holds (camera_id, start_us, end_us,"
                            " reason, created_us) VALUES (?1, ?2, ?3, ?4, ?5)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, hold->camera_id);
        sqlite3_bind_int64(st, 2, hold->start_us);
        sqlite3_bind_int64(st, 3, hold->end_us);
        sqlite3_bind_text(st, 4, hold->reason, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 5, hold->created_us);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            hold->id = sqlite3_last_insert_rowid(cat->db);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return catalog_errno(rc);
}

int catalog_hold_delete(catalog_t *cat, int64_t id)
{
    return catalog_exec_id(cat, "DELETE FROM holds WHERE id = ?1", id);
}

int catalog_hold_list(catalog_t *cat, int64_t camera_id,
                      catalog_hold_t **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    catalog_hold_t *items = NULL;
    size_t cap = 0;
    size_t count = 0;
    int rc;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "SELECT id, camera_id, start_us, end_us, reason,"
                            " created_us FROM holds"
                            " WHERE ?1 = 0 OR camera_id = ?1 ORDER BY id",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        sqlite3_bind_int64(st, 1, camera_id);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        catalog_hold_t *h;

        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        if (catalog_grow((void **)&items, &cap, count, sizeof(*items))) {
            rc = SQLITE_NOMEM;
            break;
        }
        h = &items[count++];
        memset(h, 0, sizeof(*h));
        h->id = sqlite3_column_int64(st, 0);
        h->camera_id = sqlite3_column_int64(st, 1);
        h->start_us = sqlite3_column_int64(st, 2);
        h->end_us = sqlite3_column_int64(st, 3);
        catalog_column_text(st, 4, h->reason, sizeof(h->reason));
        h->created_us = sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc != SQLITE_DONE) {
        free(items);
        return catalog_errno(rc) ? catalog_errno(rc) : -EIO;
    }
    *out = items;
    *n = count;
    return 0;
}

int catalog_chain_link_get(catalog_t *cat, int64_t camera_id,
                           const char *stream, int64_t next_start_us,
                           char chain[65])
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "SELECT prev_chain FROM chain_links"
                            " WHERE camera_id = ?1 AND stream = ?2"
                            " AND next_start_us = ?3",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, camera_id);
        sqlite3_bind_text(st, 2, stream, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, next_start_us);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            catalog_column_text(st, 0, chain, 65);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    return catalog_errno(rc);
}

int catalog_chain_link_set(catalog_t *cat, int64_t camera_id,
                           const char *stream, int64_t next_start_us,
                           const char *chain)
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "INSERT INTO chain_links (camera_id, stream,"
                            " next_start_us, prev_chain)"
                            " VALUES (?1, ?2, ?3, ?4)"
                            " ON CONFLICT (camera_id, stream, next_start_us)"
                            " DO UPDATE SET prev_chain = excluded.prev_chain",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, camera_id);
        sqlite3_bind_text(st, 2, stream, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, next_start_us);
        sqlite3_bind_text(st, 4, chain, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return catalog_errno(rc);
}

int catalog_recording_next(catalog_t *cat, int64_t camera_id,
                           const char *stream, int64_t after_us,
                           catalog_recording_t *out)
{
    return catalog_recording_neighbour(cat, "start_us > ?3", "start_us",
                                       camera_id, stream, after_us, out);
}

int catalog_event_insert(catalog_t *cat, catalog_event_t *ev)
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "INSERT INTO events (camera_id, time_us, kind,"
                            " topic, source, state, data)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, ev->camera_id);
        sqlite3_bind_int64(st, 2, ev->time_us);
        sqlite3_bind_text(st, 3, ev->kind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, ev->topic, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, ev->source, -1, SQLITE_TRANSIENT);
        if (ev->state >= 0)
            sqlite3_bind_int(st, 6, ev->state ? 1 : 0);
        else
            sqlite3_bind_null(st, 6);
        sqlite3_bind_text(st, 7, ev->data, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            ev->id = sqlite3_last_insert_rowid(cat->db);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    return catalog_errno(rc);
}

int catalog_event_list(catalog_t *cat, int64_t camera_id, int64_t from_us,
                       int64_t to_us, size_t limit, catalog_event_t **out,
                       size_t *n)
{
    sqlite3_stmt *st = NULL;
    catalog_event_t *items = NULL;
    size_t cap = 0;
    size_t count = 0;
    int rc;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&cat->lock);
    rc = sqlite3_prepare_v2(cat->db,
                            "SELECT id, camera_id, time_us, kind, topic,"
                            " source, state, data FROM events"
                            " WHERE camera_id = ?1 AND time_us >= ?2"
                            " AND time_us < ?3 ORDER BY time_us, id"
                            " LIMIT ?4",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, camera_id);
        sqlite3_bind_int64(st, 2, from_us);
        sqlite3_bind_int64(st, 3, to_us);
        sqlite3_bind_int64(st, 4, limit > INT64_MAX ? INT64_MAX
                                                    : (int64_t)limit);
    }
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        catalog_event_t *e;

        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        if (catalog_grow((void **)&items, &cap, count, sizeof(*items))) {
            rc = SQLITE_NOMEM;
            break;
        }
        e = &items[count++];
        memset(e, 0, sizeof(*e));
        e->id = sqlite3_column_int64(st, 0);
        e->camera_id = sqlite3_column_int64(st, 1);
        e->time_us = sqlite3_column_int64(st, 2);
        catalog_column_text(st, 3, e->kind, sizeof(e->kind));
        catalog_column_text(st, 4, e->topic, sizeof(e->topic));
        catalog_column_text(st, 5, e->source, sizeof(e->source));
        e->state = sqlite3_column_type(st, 6) == SQLITE_NULL
                       ? -1
                       : sqlite3_column_int(st, 6);
        catalog_column_text(st, 7, e->data, sizeof(e->data));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&cat->lock);
    if (rc != SQLITE_DONE) {
        free(items);
        return catalog_errno(rc) ? catalog_errno(rc) : -EIO;
    }
    *out = items;
    *n = count;
    return 0;
}
