/*
 * Segment writer; see recorder.h.
 *
 * A stream's segment moves through these states on the writer thread:
 *
 *   CLOSED --keyframe fragment--> OPEN (file "<start>.mp4.partial" on
 *            the usable volume with the most free space, init segment
 *            written)
 *   OPEN --fragment--> OPEN (appended; fdatasync every fsync interval)
 *   OPEN --keyframe fragment after segment_seconds, new generation,
 *          end of stream, detach--> CLOSED:
 *          fsync, rename to "<start>.mp4", fsync the directory, then
 *          insert the catalog row with its integrity chain value
 *   OPEN --write error--> CLOSED: the file is cut back to its last whole
 *          fragment and closed as above; ENOSPC wakes retention, any
 *          other error takes the volume out of service
 *   OPEN --fsync error--> ABANDONED: the volume is taken out of service
 *          and the file stays ".partial" for start-up recovery, because
 *          a failed fsync is never retried on the same file
 *
 * One writer thread serves every volume.
 * NOTE: a disk that stalls stalls the other volumes too; a thread per
 * volume would isolate them.
 *
 * Queue items are (stream, fragment) pairs in arrival order; a NULL
 * fragment means the stream ended and closes the segment. Detach queues
 * a marker and waits until the writer has passed it, so the caller
 * knows the segment is indexed.
 */
#include "storage/recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "storage/integrity.h"
#include "storage/segment.h"

struct recorder_stream {
    recorder_t *rec;
    hub_t *hub;
    hub_subscription_t *sub;
    int64_t camera_id;
    char stream[8];
    /* Writer-thread state of the open segment. */
    int fd;                 /* -1 when closed */
    char volume[CATALOG_PATH_MAX];
    char path[CATALOG_PATH_MAX];  /* relative, final name */
    off_t whole_bytes;      /* file length after the last whole fragment */
    int rehash;             /* the digest must be read back from the file */
    uint32_t generation;
    vms_buf_t *init;
    int64_t start_us;
    int64_t end_us;
    int64_t bytes;
    int64_t last_sync_us;
    EVP_MD_CTX *sha;
    int waiting_keyframe;
};

typedef struct recorder_item {
    recorder_stream_t *rs;
    hub_fragment_t *frag;     /* NULL: end of stream */
    int detach_marker;
    struct recorder_item *next;
} recorder_item_t;

struct recorder {
    volume_set_t *volumes;
    void (*space_needed)(void *ctx, const char *volume);
    void *space_ctx;
    int segment_seconds;
    int fsync_interval_ms;
    size_t queue_max_bytes;
    catalog_t *cat;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t drained;
    recorder_item_t *head;
    recorder_item_t *tail;
    int stopping;
    uint64_t markers_queued;
    uint64_t markers_done;
    recorder_stats_t stats;
};

static void recorder_volume_error(recorder_t *rec, const char *volume,
                                  int rc);
static void recorder_abandon(recorder_t *rec, recorder_stream_t *rs,
                             const char *partial, int err);

/* Appends an item; the lock is held by the caller. */
static void recorder_push_locked(recorder_t *rec, recorder_item_t *item)
{
    item->next = NULL;
    if (rec->tail)
        rec->tail->next = item;
    else
        rec->head = item;
    rec->tail = item;
    pthread_cond_signal(&rec->wake);
}

/* Hub callback, on the ingest thread: queue a reference and return. */
static void recorder_on_fragment(void *ctx, hub_fragment_t *frag)
{
    recorder_stream_t *rs = ctx;
    recorder_t *rec = rs->rec;
    recorder_item_t *item;
    size_t size = frag ? frag->data->len : 0;

    pthread_mutex_lock(&rec->lock);
    if (frag && rec->stats.queue_bytes + size > rec->queue_max_bytes) {
        rec->stats.dropped++;
        pthread_mutex_unlock(&rec->lock);
        return;
    }
    item = calloc(1, sizeof(*item));
    if (!item) {
        rec->stats.dropped++;
        pthread_mutex_unlock(&rec->lock);
        return;
    }
    item->rs = rs;
    item->frag = hub_fragment_ref(frag);
    rec->stats.queue_bytes += size;
    recorder_push_locked(rec, item);
    pthread_mutex_unlock(&rec->lock);
}

static void recorder_set_error(recorder_t *rec, const char *fmt,
                               const char *path, int err)
{
    char message[sizeof(rec->stats.last_error)];

    snprintf(message, sizeof(message), fmt, path, strerror(err));
    pthread_mutex_lock(&rec->lock);
    rec->stats.write_errors++;
    snprintf(rec->stats.last_error, sizeof(rec->stats.last_error), "%s",
             message);
    pthread_mutex_unlock(&rec->lock);
    vms_log(VMS_LOG_ERROR, "recorder", "path=%s error=\"%s\"", path,
            message);
}

/* Creates every missing directory of the relative path's parent,
 * fsyncing each parent whose entries changed. */
static int recorder_make_dirs(const char *volume, const char *rel)
{
    char full[2048];
    size_t base = strlen(volume) + 1;

    snprintf(full, sizeof(full), "%s/%s", volume, rel);
    for (char *p = full + base; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(full, 0750) == 0) {
            segment_fsync_parent(full);
        } else if (errno != EEXIST) {
            int err = errno;
            *p = '/';
            return -err;
        }
        *p = '/';
    }
    return 0;
}

/* Writes all of buf to the open segment and to its running hash. */
static int recorder_write(recorder_stream_t *rs, const vms_buf_t *buf)
{
    size_t off = 0;

    while (off < buf->len) {
        ssize_t n = write(rs->fd, buf->data + off, buf->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        off += (size_t)n;
    }
    EVP_DigestUpdate(rs->sha, buf->data, buf->len);
    rs->bytes += (int64_t)buf->len;
    return 0;
}

/* Opens a new segment whose first fragment is frag. */
static int recorder_open_segment(recorder_t *rec, recorder_stream_t *rs,
                                 hub_fragment_t *frag)
{
    char full[2048];
    int64_t need;
    int rc;

    rc = segment_format_path(rs->camera_id, rs->stream, frag->start_us,
                             rs->path, sizeof(rs->path));
    if (rc < 0)
        return rc;
    /* Room for about one segment at this fragment's rate (two fragments
     * a second, and a keyframe fragment is larger than most), at least
     * 1 MiB. */
    need = (int64_t)frag->data->len * 2 * rec->segment_seconds;
    if (need < (1 << 20))
        need = 1 << 20;
    rc = volume_set_choose(rec->volumes, need, rs->volume,
                           sizeof(rs->volume));
    if (rc < 0) {
        if (rec->space_needed)
            rec->space_needed(rec->space_ctx, NULL);
        return rc;
    }
    rc = recorder_make_dirs(rs->volume, rs->path);
    if (rc < 0) {
        recorder_set_error(rec, "cannot create the directory of %s: %s",
                           rs->path, -rc);
        return rc;
    }
    snprintf(full, sizeof(full), "%s/%s" SEGMENT_PARTIAL_SUFFIX, rs->volume,
             rs->path);
    rs->fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (rs->fd < 0) {
        rc = -errno;
        recorder_set_error(rec, "cannot create %s: %s", full, -rc);
        return rc;
    }
    EVP_DigestInit_ex(rs->sha, EVP_sha256(), NULL);
    rs->bytes = 0;
    rs->generation = frag->generation;
    rs->start_us = frag->start_us;
    rs->end_us = frag->start_us;
    rs->last_sync_us = vms_monotonic_us();
    vms_buf_unref(rs->init);
    rs->init = vms_buf_ref(frag->init);
    rc = recorder_write(rs, frag->init);
    if (rc < 0) {
        recorder_set_error(rec, "cannot write %s: %s", full, -rc);
        close(rs->fd);
        unlink(full);
        rs->fd = -1;
        recorder_volume_error(rec, rs->volume, rc);
    }
    rs->whole_bytes = rs->bytes;
    return rc;
}

/* Closes the open segment: fsync, rename, fsync the directory, index. A
 * segment with no fragment is removed. */
static void recorder_close_segment(recorder_t *rec, recorder_stream_t *rs)
{
    char partial[2048];
    char final[2048];
    unsigned char digest[32];
    char prev_chain[65];
    catalog_recording_t row;
    int rc;

    if (rs->fd < 0)
        return;
    memset(&row, 0, sizeof(row));
    snprintf(final, sizeof(final), "%s/%s", rs->volume, rs->path);
    snprintf(partial, sizeof(partial), "%s" SEGMENT_PARTIAL_SUFFIX, final);
    if (rs->end_us <= rs->start_us) {
        close(rs->fd);
        rs->fd = -1;
        unlink(partial);
        return;
    }
    if (fsync(rs->fd) < 0) {
        recorder_abandon(rec, rs, partial, errno);
        return;
    }
    close(rs->fd);
    rs->fd = -1;
    if (rename(partial, final) < 0) {
        recorder_set_error(rec, "cannot rename %s: %s", partial, errno);
        return;
    }
    rc = segment_fsync_parent(final);
    if (rc == 0 && rs->rehash) {
        int fd = open(final, O_RDONLY | O_CLOEXEC);
        rc = fd < 0 ? -errno : segment_sha256_fd(fd, rs->bytes, row.sha256);
        if (fd >= 0)
            close(fd);
        rs->rehash = 0;
    } else if (rc == 0) {
        EVP_DigestFinal_ex(rs->sha, digest, NULL);
        for (int i = 0; i < 32; i++)
            snprintf(row.sha256 + 2 * i, 3, "%02x", digest[i]);
    }
    if (rc < 0) {
        recorder_set_error(rec, "fsync of the directory of %s failed: %s",
                           final, -rc);
        return;
    }

    row.camera_id = rs->camera_id;
    snprintf(row.stream, sizeof(row.stream), "%s", rs->stream);
    snprintf(row.volume, sizeof(row.volume), "%s", rs->volume);
    snprintf(row.path, sizeof(row.path), "%s", rs->path);
    row.start_us = rs->start_us;
    row.end_us = rs->end_us;
    row.bytes = rs->bytes;
    rc = integrity_previous_chain(rec->cat, &row, prev_chain);
    if (rc == 0) {
        integrity_link(prev_chain, &row, row.chain);
        rc = catalog_recording_insert(rec->cat, &row);
    }
    if (rc < 0) {
        /* The file is whole and durable; start-up reconciliation indexes
         * it if the catalog write keeps failing. */
        vms_log(VMS_LOG_ERROR, "recorder",
                "camera=%lld stream=%s path=%s error=\"catalog insert "
                "failed: %s\"",
                (long long)rs->camera_id, rs->stream, rs->path,
                strerror(-rc));
        return;
    }
    pthread_mutex_lock(&rec->lock);
    rec->stats.segments++;
    pthread_mutex_unlock(&rec->lock);
    vms_log(VMS_LOG_DEBUG, "recorder",
            "camera=%lld stream=%s event=segment_closed path=%s "
            "duration_ms=%lld bytes=%lld",
            (long long)rs->camera_id, rs->stream, rs->path,
            (long long)(rs->end_us - rs->start_us) / 1000,
            (long long)rs->bytes);
}

/* Reacts to a failed write on a volume: ENOSPC asks for retention,
 * anything else takes the volume out of service. */
static void recorder_volume_error(recorder_t *rec, const char *volume,
                                  int rc)
{
    char error[256];

    if (rc == -ENOSPC || rc == -EDQUOT) {
        if (rec->space_needed)
            rec->space_needed(rec->space_ctx, volume);
        return;
    }
    snprintf(error, sizeof(error),
             "write to volume %s failed: %s; the volume takes no more "
             "writes until vmsd restarts",
             volume, strerror(-rc));
    volume_set_fail(rec->volumes, volume, VOLUME_WRITE_ERROR, error);
    vms_log(VMS_LOG_ERROR, "recorder", "volume=%s alarm=write_error "
            "error=\"%s\"", volume, strerror(-rc));
}

/* Gives up an open segment after a failed fsync: the file stays
 * ".partial" for start-up recovery and the volume takes no more writes. */
static void recorder_abandon(recorder_t *rec, recorder_stream_t *rs,
                             const char *partial, int err)
{
    char error[256];

    recorder_set_error(rec, "fsync of %s failed: %s", partial, err);
    close(rs->fd);
    rs->fd = -1;
    snprintf(error, sizeof(error),
             "fsync on volume %s failed: %s; the volume takes no more "
             "writes until vmsd restarts",
             rs->volume, strerror(err));
    volume_set_fail(rec->volumes, rs->volume, VOLUME_WRITE_ERROR, error);
    vms_log(VMS_LOG_ERROR, "recorder", "volume=%s alarm=write_error "
            "error=\"%s\"", rs->volume, error);
}

/* Handles a failed append: cuts the file back to its last whole
 * fragment, closes and indexes it, and reports the error. */
static void recorder_write_failed(recorder_t *rec, recorder_stream_t *rs,
                                  int rc)
{
    recorder_set_error(rec, "cannot write %s: %s", rs->path, -rc);
    if (ftruncate(rs->fd, rs->whole_bytes) < 0) {
        char partial[2048];
        snprintf(partial, sizeof(partial), "%s/%s" SEGMENT_PARTIAL_SUFFIX,
                 rs->volume, rs->path);
        recorder_abandon(rec, rs, partial, errno);
        recorder_volume_error(rec, rs->volume, rc);
        return;
    }
    lseek(rs->fd, rs->whole_bytes, SEEK_SET);
    /* The running digest covers the cut bytes too, so it is recomputed
     * from the file. */
    rs->bytes = rs->whole_bytes;
    rs->rehash = 1;
    recorder_close_segment(rec, rs);
    recorder_volume_error(rec, rs->volume, rc);
}

/* Handles one fragment on the writer thread. */
static void recorder_handle(recorder_t *rec, recorder_stream_t *rs,
                            hub_fragment_t *frag)
{
    int64_t segment_us = (int64_t)rec->segment_seconds * 1000000;
    int rc;

    if (!frag) {
        recorder_close_segment(rec, rs);
        return;
    }
    if (rs->fd >= 0 &&
        (frag->generation != rs->generation || frag->init != rs->init ||
         (frag->keyframe && frag->start_us - rs->start_us >= segment_us)))
        recorder_close_segment(rec, rs);
    if (rs->fd < 0) {
        if (!frag->keyframe)
            return; /* a segment starts at a keyframe */
        if (recorder_open_segment(rec, rs, frag) < 0) {
            pthread_mutex_lock(&rec->lock);
            rec->stats.unrecorded++;
            pthread_mutex_unlock(&rec->lock);
            return;
        }
    }
    rc = recorder_write(rs, frag->data);
    if (rc < 0) {
        recorder_write_failed(rec, rs, rc);
        pthread_mutex_lock(&rec->lock);
        rec->stats.unrecorded++;
        pthread_mutex_unlock(&rec->lock);
        return;
    }
    rs->whole_bytes = rs->bytes;
    rs->end_us = frag->start_us + frag->duration_us;
    pthread_mutex_lock(&rec->lock);
    rec->stats.bytes += frag->data->len;
    pthread_mutex_unlock(&rec->lock);
    if (vms_monotonic_us() - rs->last_sync_us >=
        (int64_t)rec->fsync_interval_ms * 1000) {
        if (fdatasync(rs->fd) < 0) {
            char partial[2048];
            snprintf(partial, sizeof(partial),
                     "%s/%s" SEGMENT_PARTIAL_SUFFIX, rs->volume, rs->path);
            recorder_abandon(rec, rs, partial, errno);
            return;
        }
        rs->last_sync_us = vms_monotonic_us();
    }
}

static void *recorder_thread(void *arg)
{
    recorder_t *rec = arg;

    pthread_mutex_lock(&rec->lock);
    for (;;) {
        recorder_item_t *item;

        while (!rec->head && !rec->stopping)
            pthread_cond_wait(&rec->wake, &rec->lock);
        if (!rec->head)
            break;
        item = rec->head;
        rec->head = item->next;
        if (!rec->head)
            rec->tail = NULL;
        if (item->frag)
            rec->stats.queue_bytes -= item->frag->data->len;
        pthread_mutex_unlock(&rec->lock);

        recorder_handle(rec, item->rs, item->frag);
        hub_fragment_unref(item->frag);

        pthread_mutex_lock(&rec->lock);
        if (item->detach_marker) {
            rec->markers_done++;
            pthread_cond_broadcast(&rec->drained);
        }
        free(item);
    }
    pthread_mutex_unlock(&rec->lock);
    return NULL;
}

int recorder_start(const recorder_config_t *cfg, catalog_t *cat,
                   recorder_t **out)
{
    recorder_t *rec = calloc(1, sizeof(*rec));
    int rc;

    *out = NULL;
    if (!rec)
        return -ENOMEM;
    rec->volumes = cfg->volumes;
    rec->space_needed = cfg->space_needed;
    rec->space_ctx = cfg->space_ctx;
    rec->segment_seconds = cfg->segment_seconds > 0 ? cfg->segment_seconds
                                                    : 60;
    rec->fsync_interval_ms = cfg->fsync_interval_ms > 0
                                 ? cfg->fsync_interval_ms
                                 : 1000;
    rec->queue_max_bytes = cfg->queue_max_bytes ? cfg->queue_max_bytes
                                                : (size_t)256 << 20;
    rec->cat = cat;
    pthread_mutex_init(&rec->lock, NULL);
    pthread_cond_init(&rec->wake, NULL);
    pthread_cond_init(&rec->drained, NULL);
    rc = pthread_create(&rec->thread, NULL, recorder_thread, rec);
    if (rc != 0) {
        free(rec);
        return -rc;
    }
    *out = rec;
    return 0;
}

void recorder_stop(recorder_t *rec)
{
    if (!rec)
        return;
    pthread_mutex_lock(&rec->lock);
    rec->stopping = 1;
    pthread_cond_signal(&rec->wake);
    pthread_mutex_unlock(&rec->lock);
    pthread_join(rec->thread, NULL);
    pthread_cond_destroy(&rec->wake);
    pthread_cond_destroy(&rec->drained);
    pthread_mutex_destroy(&rec->lock);
    free(rec);
}

int recorder_attach(recorder_t *rec, hub_t *hub, int64_t camera_id,
                    const char *stream, recorder_stream_t **out)
{
    recorder_stream_t *rs = calloc(1, sizeof(*rs));
    int rc;

    *out = NULL;
    if (!rs)
        return -ENOMEM;
    rs->rec = rec;
    rs->hub = hub;
    rs->camera_id = camera_id;
    rs->fd = -1;
    snprintf(rs->stream, sizeof(rs->stream), "%s", stream);
    rs->sha = EVP_MD_CTX_new();
    if (!rs->sha) {
        free(rs);
        return -ENOMEM;
    }
    rc = hub_subscribe(hub, recorder_on_fragment, rs, 1, &rs->sub);
    if (rc < 0) {
        EVP_MD_CTX_free(rs->sha);
        free(rs);
        return rc;
    }
    *out = rs;
    return 0;
}

void recorder_detach(recorder_t *rec, recorder_stream_t *rs)
{
    recorder_item_t *end;
    recorder_item_t *marker;
    uint64_t ticket;

    if (!rs)
        return;
    hub_unsubscribe(rs->hub, rs->sub);

    end = calloc(1, sizeof(*end));
    marker = calloc(1, sizeof(*marker));
    pthread_mutex_lock(&rec->lock);
    if (end && marker) {
        end->rs = rs;
        recorder_push_locked(rec, end);
        marker->rs = rs;
        marker->detach_marker = 1;
        recorder_push_locked(rec, marker);
        ticket = ++rec->markers_queued;
        while (rec->markers_done < ticket)
            pthread_cond_wait(&rec->drained, &rec->lock);
    }
    pthread_mutex_unlock(&rec->lock);
    if (!end || !marker) {
        /* Out of memory: the writer may still hold items for rs, so it
         * cannot be freed; leak it rather than risk a use after free. */
        free(end);
        free(marker);
        return;
    }
    vms_buf_unref(rs->init);
    EVP_MD_CTX_free(rs->sha);
    free(rs);
}

void recorder_get_stats(recorder_t *rec, recorder_stats_t *out)
{
    pthread_mutex_lock(&rec->lock);
    *out = rec->stats;
    pthread_mutex_unlock(&rec->lock);
}
