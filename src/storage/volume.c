/* Recording volumes; see volume.h. */
#include "storage/volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "storage/segment.h"

const char *volume_state_name(volume_state_t state)
{
    switch (state) {
    case VOLUME_OK:
        return "ok";
    case VOLUME_MISSING:
        return "missing";
    case VOLUME_FOREIGN:
        return "foreign";
    case VOLUME_READ_ONLY:
        return "read_only";
    case VOLUME_WRITE_ERROR:
        return "write_error";
    case VOLUME_FULL:
        return "full";
    }
    return "unknown";
}

void volume_set_init(volume_set_t *set)
{
    memset(set, 0, sizeof(*set));
    pthread_mutex_init(&set->lock, NULL);
}

void volume_set_deinit(volume_set_t *set)
{
    pthread_mutex_destroy(&set->lock);
}

/* Reads the UUID from the identity file; returns 0, -ENOENT or -EINVAL. */
static int volume_read_identity(const char *dir, char *uuid, size_t len)
{
    char path[CATALOG_PATH_MAX + 32];
    char line[128];
    FILE *f;
    int rc = -EINVAL;

    snprintf(path, sizeof(path), "%s/" VOLUME_IDENTITY_FILE, dir);
    f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? -ENOENT : -errno;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "uuid=", 5) == 0) {
            line[strcspn(line, "\r\n")] = '\0';
            if (strlen(line + 5) == 36) {
                snprintf(uuid, len, "%s", line + 5);
                rc = 0;
            }
        }
    }
    fclose(f);
    return rc;
}

/* Writes a new identity file crash-safely: temp file, fsync, rename,
 * fsync the directory. */
static int volume_write_identity(const char *dir, const char *uuid)
{
    char tmp[CATALOG_PATH_MAX + 40];
    char path[CATALOG_PATH_MAX + 32];
    char text[128];
    int fd;
    int n;
    int rc = 0;

    snprintf(tmp, sizeof(tmp), "%s/" VOLUME_IDENTITY_FILE ".tmp", dir);
    snprintf(path, sizeof(path), "%s/" VOLUME_IDENTITY_FILE, dir);
    n = snprintf(text, sizeof(text),
                 "# Recording volume of vmsd; do not edit or copy.\n"
                 "uuid=%s\n",
                 uuid);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    if (write(fd, text, (size_t)n) != n || fsync(fd) < 0)
        rc = -errno ? -errno : -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc == 0)
        rc = segment_fsync_parent(path);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* Makes a random version 4 UUID from /dev/urandom. */
static int volume_new_uuid(char *out, size_t len)
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, b, sizeof(b));
    close(fd);
    if (n != (ssize_t)sizeof(b))
        return -EIO;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, len,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

/* Returns 1 if dir has no entries but "." and "..", 0 otherwise. */
static int volume_dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int empty = 1;

    if (!d)
        return 0;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

/* Checks that a file can be created and fsynced in the volume. */
static int volume_write_test(const char *dir)
{
    char path[CATALOG_PATH_MAX + 32];
    int fd;
    int rc = 0;

    snprintf(path, sizeof(path), "%s/.vms-write-test", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    if (write(fd, "x", 1) != 1 || fsync(fd) < 0)
        rc = -errno ? -errno : -EIO;
    close(fd);
    unlink(path);
    return rc;
}

/* Checks the identity of v against the catalog; sets state and error. */
static void volume_check_identity(volume_t *v, catalog_t *cat)
{
    char known_uuid[40] = "";
    char known_path[CATALOG_PATH_MAX] = "";
    int have_row = catalog_volume_find(cat, v->path, known_uuid,
                                       sizeof(known_uuid)) == 0;
    int rc = volume_read_identity(v->path, v->uuid, sizeof(v->uuid));

    v->state = VOLUME_OK;
    v->error[0] = '\0';
    if (rc == 0) {
        if (have_row && strcmp(known_uuid, v->uuid) != 0) {
            v->state = VOLUME_FOREIGN;
            snprintf(v->error, sizeof(v->error),
                     "volume %s holds disk %s, but disk %s was there: "
                     "mount the right disk or remove the volume from the "
                     "config",
                     v->path, v->uuid, known_uuid);
        } else if (!have_row &&
                   catalog_volume_find_uuid(cat, v->uuid, known_path,
                                            sizeof(known_path)) == 0) {
            v->state = VOLUME_FOREIGN;
            snprintf(v->error, sizeof(v->error),
                     "disk %s was catalogued at %s, not at %s: mount it "
                     "there again",
                     v->uuid, known_path, v->path);
        } else if (!have_row) {
            catalog_volume_insert(cat, v->uuid, v->path);
        }
        return;
    }
    if (have_row) {
        v->state = VOLUME_MISSING;
        snprintf(v->error, sizeof(v->error),
                 "volume %s has lost its identity file: the disk is not "
                 "mounted or was replaced; nothing is written there",
                 v->path);
        return;
    }
    mkdir(v->path, 0750);
    if (!volume_dir_empty(v->path)) {
        v->state = VOLUME_FOREIGN;
        snprintf(v->error, sizeof(v->error),
                 "volume %s is not empty and has no identity file: point "
                 "the volume at an empty directory",
                 v->path);
        return;
    }
    if (volume_new_uuid(v->uuid, sizeof(v->uuid)) < 0 ||
        volume_write_identity(v->path, v->uuid) < 0 ||
        catalog_volume_insert(cat, v->uuid, v->path) < 0) {
        v->state = VOLUME_READ_ONLY;
        snprintf(v->error, sizeof(v->error),
                 "cannot initialise volume %s: %s", v->path, strerror(errno));
    }
}

/* Refreshes one volume's free space and state; the lock is held. */
static void volume_refresh_one(volume_t *v)
{
    struct statvfs sv;
    char uuid[40];

    if (v->state == VOLUME_FOREIGN || v->state == VOLUME_WRITE_ERROR)
        return;
    if (volume_read_identity(v->path, uuid, sizeof(uuid)) < 0 ||
        strcmp(uuid, v->uuid) != 0) {
        if (v->state != VOLUME_MISSING)
            snprintf(v->error, sizeof(v->error),
                     "volume %s lost its identity file: the disk was "
                     "unmounted or replaced; recording moved to the other "
                     "volumes",
                     v->path);
        v->state = VOLUME_MISSING;
        return;
    }
    if (statvfs(v->path, &sv) == 0) {
        v->total_bytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
        v->free_bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
        if (sv.f_flag & ST_RDONLY) {
            v->state = VOLUME_READ_ONLY;
            snprintf(v->error, sizeof(v->error),
                     "volume %s is mounted read-only", v->path);
            return;
        }
    }
    if (v->state == VOLUME_MISSING || v->state == VOLUME_READ_ONLY) {
        /* The disk came back: test it before using it again. */
        if (volume_write_test(v->path) == 0) {
            v->state = VOLUME_OK;
            v->error[0] = '\0';
        }
    }
}

int volume_set_add(volume_set_t *set, catalog_t *cat, const char *path,
                   int64_t reserve_bytes, int high_percent, int low_percent)
{
    volume_t *v;
    int rc;

    pthread_mutex_lock(&set->lock);
    if (set->count >= VOLUME_MAX) {
        pthread_mutex_unlock(&set->lock);
        return -ENOSPC;
    }
    v = &set->volumes[set->count++];
    memset(v, 0, sizeof(*v));
    snprintf(v->path, sizeof(v->path), "%s", path);
    v->reserve_bytes = reserve_bytes;
    v->high_percent = high_percent > 0 ? high_percent : 95;
    v->low_percent = low_percent > 0 ? low_percent : v->high_percent - 5;
    volume_check_identity(v, cat);
    if (v->state == VOLUME_OK) {
        rc = volume_write_test(path);
        if (rc < 0) {
            v->state = VOLUME_READ_ONLY;
            snprintf(v->error, sizeof(v->error),
                     "volume %s is not writable: %s", path, strerror(-rc));
        }
    }
    volume_refresh_one(v);
    pthread_mutex_unlock(&set->lock);
    return 0;
}

void volume_set_refresh(volume_set_t *set)
{
    pthread_mutex_lock(&set->lock);
    for (int i = 0; i < set->count; i++)
        volume_refresh_one(&set->volumes[i]);
    pthread_mutex_unlock(&set->lock);
}

int volume_set_choose(volume_set_t *set, int64_t need_bytes, char *out,
                      size_t len)
{
    volume_t *best = NULL;
    int64_t best_room = 0;

    pthread_mutex_lock(&set->lock);
    for (int i = 0; i < set->count; i++) {
        volume_t *v = &set->volumes[i];
        int64_t room = v->free_bytes - v->reserve_bytes;

        if (v->state != VOLUME_OK)
            continue;
        if (room >= need_bytes && (!best || room > best_room)) {
            best = v;
            best_room = room;
        }
    }
    if (best)
        snprintf(out, len, "%s", best->path);
    pthread_mutex_unlock(&set->lock);
    return best ? 0 : -ENOSPC;
}

void volume_set_fail(volume_set_t *set, const char *path,
                     volume_state_t state, const char *error)
{
    pthread_mutex_lock(&set->lock);
    for (int i = 0; i < set->count; i++) {
        volume_t *v = &set->volumes[i];
        if (strcmp(v->path, path) == 0) {
            v->state = state;
            snprintf(v->error, sizeof(v->error), "%s", error);
        }
    }
    pthread_mutex_unlock(&set->lock);
}

int volume_set_snapshot(volume_set_t *set, volume_t *out, int max)
{
    int n;

    pthread_mutex_lock(&set->lock);
    n = set->count < max ? set->count : max;
    memcpy(out, set->volumes, (size_t)n * sizeof(*out));
    pthread_mutex_unlock(&set->lock);
    return n;
}

void volume_set_update_full(volume_set_t *set)
{
    pthread_mutex_lock(&set->lock);
    for (int i = 0; i < set->count; i++) {
        volume_t *v = &set->volumes[i];

        if (v->state == VOLUME_OK && v->free_bytes < v->reserve_bytes) {
            char path[CATALOG_PATH_MAX];

            snprintf(path, sizeof(path), "%s", v->path);
            v->state = VOLUME_FULL;
            snprintf(v->error, sizeof(v->error),
                     "volume %s has %lld MiB free, less than its reserve of "
                     "%lld MiB (volume_reserve_mb), and retention found no "
                     "recording it may delete: lower volume_reserve_mb, "
                     "free space or release holds",
                     path, (long long)(v->free_bytes >> 20),
                     (long long)(v->reserve_bytes >> 20));
        } else if (v->state == VOLUME_FULL &&
                   v->free_bytes >= v->reserve_bytes) {
            v->state = VOLUME_OK;
            v->error[0] = '\0';
        }
    }
    pthread_mutex_unlock(&set->lock);
}
