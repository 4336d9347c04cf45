/*
 * The catalog: cameras and the index of recorded segments.
 *
 * The SQLite backend is the embedded default; the database runs in WAL
 * mode and numbered schema migrations are applied when it opens. Every
 * function is safe to call from any thread: calls are serialised on one
 * connection. Library code: errors are returned, with a message where
 * the caller passes a buffer, and nothing is logged.
 */
#ifndef VMS_CATALOG_CATALOG_H
#define VMS_CATALOG_CATALOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct catalog catalog_t;

#define CATALOG_NAME_MAX 128
#define CATALOG_URL_MAX 1024
#define CATALOG_PATH_MAX 512

typedef struct catalog_camera {
    int64_t id;
    char name[CATALOG_NAME_MAX];
    char main_url[CATALOG_URL_MAX];
    char sub_url[CATALOG_URL_MAX]; /* empty: no sub stream */
    char username[CATALOG_NAME_MAX];
    /* NOTE: stored in the catalog in clear text, because the recorder
     * must present it to the camera; the API never returns it. */
    char password[CATALOG_NAME_MAX];
    char transport[8]; /* "tcp" or "udp" */
    int enabled;
} catalog_camera_t;

typedef struct catalog_recording {
    int64_t id;
    int64_t camera_id;
    char stream[8];                 /* "main" or "sub" */
    char volume[CATALOG_PATH_MAX];  /* volume root */
    char path[CATALOG_PATH_MAX];    /* relative to the volume root */
    int64_t start_us;               /* UTC microseconds, first sample */
    int64_t end_us;                 /* UTC microseconds, end of last sample */
    int64_t bytes;                  /* file size */
    char sha256[65];                /* hex digest of the whole file */
} catalog_recording_t;

/* Opens (creating if needed) the SQLite catalog at path and migrates
 * its schema. *out is freed with catalog_close(). */
int catalog_open(const char *path, catalog_t **out, char *err,
                 size_t errlen);

/* Flushes the WAL into the database and closes it. NULL is a no-op. */
void catalog_close(catalog_t *cat);

/* Returns the schema version after migration. */
int catalog_schema_version(catalog_t *cat);

/* Inserts cam and stores its new id in cam->id. */
int catalog_camera_insert(catalog_t *cat, catalog_camera_t *cam);

/* Replaces the camera with id cam->id; -ENOENT if there is none. */
int catalog_camera_update(catalog_t *cat, const catalog_camera_t *cam);

/* Deletes the camera; its recordings stay. -ENOENT if there is none. */
int catalog_camera_delete(catalog_t *cat, int64_t id);

/* Reads one camera; -ENOENT if there is none. */
int catalog_camera_get(catalog_t *cat, int64_t id, catalog_camera_t *out);

/* Lists all cameras by id. *out is malloc'd (free() it), NULL if none. */
int catalog_camera_list(catalog_t *cat, catalog_camera_t **out, size_t *n);

/* Inserts rec and stores its new id in rec->id. -EEXIST if a row for
 * the same volume and path exists. */
int catalog_recording_insert(catalog_t *cat, catalog_recording_t *rec);

/* Lists the recordings of a camera stream that overlap [from_us, to_us),
 * ordered by start time. *out is malloc'd (free() it). */
int catalog_recording_list(catalog_t *cat, int64_t camera_id,
                           const char *stream, int64_t from_us,
                           int64_t to_us, catalog_recording_t **out,
                           size_t *n);

/* Lists every recording on a volume (for start-up reconciliation). */
int catalog_recording_list_volume(catalog_t *cat, const char *volume,
                                  catalog_recording_t **out, size_t *n);

/* Finds the row for volume and path; -ENOENT if there is none. */
int catalog_recording_find(catalog_t *cat, const char *volume,
                           const char *path, catalog_recording_t *out);

/* Deletes one recording row. */
int catalog_recording_delete(catalog_t *cat, int64_t id);

#endif
