/*
 * Recording volumes: one directory per disk or mount, each with an
 * identity file so that an unmounted, swapped or read-only disk is
 * detected before anything is written into it.
 *
 * The identity file ".vms-volume" holds the volume's UUID. At start:
 * - identity present and known to the catalog at this path: usable;
 * - identity present but known at another path, or unknown while the
 *   catalog has another UUID at this path: a swapped disk (FOREIGN);
 * - no identity, empty directory, path unknown to the catalog: a new
 *   volume, initialised;
 * - no identity while the catalog knows this path: the disk is missing
 *   (an empty mount point), nothing is written (MISSING);
 * - no identity in a non-empty directory: not ours (FOREIGN).
 * A volume that fails a write test is READ_ONLY; one whose write or
 * fsync failed is WRITE_ERROR and takes no more writes until restart.
 */
#ifndef VMS_STORAGE_VOLUME_H
#define VMS_STORAGE_VOLUME_H

#include <pthread.h>
#include <stdint.h>

#include "catalog/catalog.h"

#define VOLUME_MAX 16
#define VOLUME_IDENTITY_FILE ".vms-volume"

typedef enum volume_state {
    VOLUME_OK = 0,
    VOLUME_MISSING,
    VOLUME_FOREIGN,
    VOLUME_READ_ONLY,
    VOLUME_WRITE_ERROR,
    VOLUME_FULL,       /* below its reserve even after retention */
} volume_state_t;

typedef struct volume {
    char path[CATALOG_PATH_MAX];
    char uuid[40];
    int64_t reserve_bytes;   /* free space never used */
    int high_percent;        /* retention starts above this use */
    int low_percent;         /* and stops at this use */
    volume_state_t state;
    char error[256];
    int64_t total_bytes;     /* from statvfs, refreshed */
    int64_t free_bytes;      /* available to us */
} volume_t;

typedef struct volume_set {
    pthread_mutex_t lock;
    volume_t volumes[VOLUME_MAX];
    int count;
} volume_set_t;

/* Returns "ok", "missing", "foreign", "read_only", "write_error" or
 * "full". */
const char *volume_state_name(volume_state_t state);

void volume_set_init(volume_set_t *set);
void volume_set_deinit(volume_set_t *set);

/* Adds a volume and checks its identity as described above; the state
 * and error say what was found. Returns 0, or -ENOSPC if the set is
 * full. */
int volume_set_add(volume_set_t *set, catalog_t *cat, const char *path,
                   int64_t reserve_bytes, int high_percent, int low_percent);

/* Refreshes free space and the state of every volume: a volume whose
 * identity file vanished becomes MISSING. */
void volume_set_refresh(volume_set_t *set);

/* Copies into out the path of the usable volume with the most free
 * space above its reserve that can take need_bytes. Returns 0, or
 * -ENOSPC if no volume can. */
int volume_set_choose(volume_set_t *set, int64_t need_bytes, char *out,
                      size_t len);

/* Marks the volume at path as failed with state and error text; it takes
 * no more writes. */
void volume_set_fail(volume_set_t *set, const char *path,
                     volume_state_t state, const char *error);

/* Marks usable volumes whose free space is below their reserve FULL,
 * and FULL volumes that have room again OK. */
void volume_set_update_full(volume_set_t *set);

/* Copies the volumes (for the capacity report). Returns the count. */
int volume_set_snapshot(volume_set_t *set, volume_t *out, int max);

#endif
