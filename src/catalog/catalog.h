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
    int retention_days;       /* delete recordings older than this; 0: no
                                 limit */
    int64_t retention_bytes;  /* keep at most this many bytes; 0: no
                                 limit */
    /* Learnt by ONVIF adoption; empty or 0 for cameras added by URL. */
    char onvif_url[CATALOG_URL_MAX];  /* device service address */
    char manufacturer[CATALOG_NAME_MAX];
    char model[CATALOG_NAME_MAX];
    char firmware[CATALOG_NAME_MAX];
    char serial[CATALOG_NAME_MAX];
    int64_t time_offset_s;    /* camera clock minus ours at adoption */
} catalog_camera_t;

/* States of a recording row. */
enum {
    CATALOG_REC_OK = 0,
    CATALOG_REC_GARBAGE = 1, /* being deleted: the file may be gone */
    CATALOG_REC_MISSING = 2, /* the file vanished outside our control */
};

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
    /* hex SHA-256 over the previous segment's chain value and this
     * segment's digest, times and size; see storage/integrity.h */
    char chain[65];
    int state;                      /* CATALOG_REC_* */
} catalog_recording_t;

typedef struct catalog_hold {
    int64_t id;
    int64_t camera_id;
    int64_t start_us;
    int64_t end_us;
    char reason[256];
    int64_t created_us;
} catalog_hold_t;

typedef struct catalog_usage {
    int64_t bytes;         /* recordings in state OK */
    int64_t segments;
    int64_t oldest_us;     /* start of the oldest recording, 0 if none */
    int64_t newest_us;     /* end of the newest recording, 0 if none */
    int64_t bytes_hour;    /* bytes of recordings that end after since_hour */
    int64_t bytes_day;     /* same for since_day */
    int64_t duration_hour_us; /* recorded time of those recordings */
    int64_t duration_day_us;
} catalog_usage_t;

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

/* Lists the recordings in state OK of a camera stream that overlap
 * [from_us, to_us), ordered by start time. *out is malloc'd (free() it). */
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

/* Lists the rows of every state of a camera stream that overlap
 * [from_us, to_us), ordered by start time, for integrity checks. */
int catalog_recording_list_all(catalog_t *cat, int64_t camera_id,
                               const char *stream, int64_t from_us,
                               int64_t to_us, catalog_recording_t **out,
                               size_t *n);

/* Finds the latest row (any state but garbage) of a camera stream that
 * starts before before_us; -ENOENT if none. */
int catalog_recording_previous(catalog_t *cat, int64_t camera_id,
                               const char *stream, int64_t before_us,
                               catalog_recording_t *out);

/* Lists up to limit rows in state OK, oldest first, on volume (NULL:
 * any) of camera_id (0: any). */
int catalog_recording_oldest(catalog_t *cat, const char *volume,
                             int64_t camera_id, size_t limit,
                             catalog_recording_t **out, size_t *n);

/* Lists rows in state GARBAGE (deletions a crash interrupted). */
int catalog_recording_garbage(catalog_t *cat, catalog_recording_t **out,
                              size_t *n);

/* Sets a row's state. */
int catalog_recording_set_state(catalog_t *cat, int64_t id, int state);

/* Sums the recordings in state OK of camera_id (0: all cameras) on
 * volume (NULL: all volumes). */
int catalog_usage(catalog_t *cat, int64_t camera_id, const char *volume,
                  int64_t since_hour_us, int64_t since_day_us,
                  catalog_usage_t *out);

/* Volume identities. */
int catalog_volume_find(catalog_t *cat, const char *path, char *uuid,
                        size_t uuid_len);
int catalog_volume_find_uuid(catalog_t *cat, const char *uuid, char *path,
                             size_t path_len);
int catalog_volume_insert(catalog_t *cat, const char *uuid,
                          const char *path);

/* Evidence holds: recordings overlapping a hold are never deleted by
 * retention. */
int catalog_hold_insert(catalog_t *cat, catalog_hold_t *hold);
int catalog_hold_delete(catalog_t *cat, int64_t id);
/* camera_id 0 lists the holds of every camera. */
int catalog_hold_list(catalog_t *cat, int64_t camera_id,
                      catalog_hold_t **out, size_t *n);

/* Finds the earliest row (any state but garbage) of a camera stream
 * that starts after after_us; -ENOENT if none. */
int catalog_recording_next(catalog_t *cat, int64_t camera_id,
                           const char *stream, int64_t after_us,
                           catalog_recording_t *out);

/* Chain links kept across deletions: when retention deletes a segment,
 * the chain value that its successor (starting at next_start_us)
 * follows is stored, so the chain stays checkable. get returns -ENOENT
 * if none was stored. */
int catalog_chain_link_get(catalog_t *cat, int64_t camera_id,
                           const char *stream, int64_t next_start_us,
                           char chain[65]);
int catalog_chain_link_set(catalog_t *cat, int64_t camera_id,
                           const char *stream, int64_t next_start_us,
                           const char *chain);

/* Camera events (ONVIF motion, tamper, digital input and others), one
 * row each, on the recorder's clock. */
typedef struct catalog_event {
    int64_t id;
    int64_t camera_id;
    int64_t time_us;   /* UTC microseconds on the recorder's clock */
    char kind[16];     /* "motion", "tamper", "input" or "other" */
    char topic[256];   /* e.g. "tns1:VideoSource/MotionAlarm" */
    char source[128];  /* value of the event's Source item, or "" */
    int state;         /* 1 on (motion, tampered, active), 0 off, -1 none */
    char data[256];    /* property operation: "Initialized", "Changed",
                          "Deleted" or "" */
} catalog_event_t;

/* Inserts ev and stores its new id in ev->id. */
int catalog_event_insert(catalog_t *cat, catalog_event_t *ev);

/* Lists up to limit events of a camera with from_us <= time_us < to_us,
 * oldest first. *out is malloc'd (free() it), NULL if none. */
int catalog_event_list(catalog_t *cat, int64_t camera_id, int64_t from_us,
                       int64_t to_us, size_t limit, catalog_event_t **out,
                       size_t *n);

#endif
