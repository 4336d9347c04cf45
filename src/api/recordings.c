/*
 * Recorded video: the recordings and gaps of a range, playback of a
 * range as one MP4, and JPEG snapshots.
 *
 * A playback export can take seconds for a long range, so it runs on a
 * worker thread; the connection waits (on the event loop, without
 * blocking it) until the worker wakes the loop. Exports are cached in
 * the cache directory by camera, stream and range, so the Range
 * requests that a browser's <video> element makes are served from the
 * same file, and identical requests share one running export.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/deferred.h"
#include "api/internal.h"
#include "common/clock.h"
#include "common/log.h"
#include "media/snapshot.h"
#include "playback/export.h"

/* A gap shorter than this between two segments is timestamp jitter, not
 * missing video. */
#define API_GAP_MIN_US 1000000
/* Cached exports older than this are deleted. */
#define API_CACHE_MAX_AGE_S 600
/* The cache never grows past this; the oldest files go first. */
#define API_CACHE_MAX_BYTES (1LL << 30)
/* A cached export of a range that was still being recorded when the file
 * was built is reused for this long only. */
#define API_CACHE_OPEN_RANGE_S 20
/* Exports running at once; more requests get 503 and retry. */
#define API_EXPORT_WORKERS 2
/* Times are accepted from 1970 to the end of year 9999, so that every
 * difference of two of them fits an int64_t. */
#define API_TIME_MAX_US 253402300799999999LL
/* The maximum range that one playback request may cover. */
#define API_PLAYBACK_MAX_US (24LL * 3600 * 1000000)

struct api_export_job {
    int refs;                 /* under srv->jobs_lock */
    int done;                 /* under srv->jobs_lock */
    int rc;
    char err[512];
    char path[1024];          /* the cached output file */
    playback_segment_t *segs;
    char (*seg_paths)[1100];
    size_t n;
    int64_t from_us;
    int64_t to_us;
    api_server_t *srv;
    api_export_job_t *next;   /* srv->jobs */
};

int api_parse_time(const char *text, int64_t *out_us)
{
    struct tm tm;
    char *end;
    long long v;
    const char *rest;
    int64_t frac = 0;
    int digits = 0;
    int mday;
    time_t secs;

    if (!text || !*text)
        return -EINVAL;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (*end == '\0' && errno == 0 && end != text) {
        if (v < 0 || v > API_TIME_MAX_US)
            return -EINVAL;
        *out_us = v;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -EINVAL;
    if (*rest == '.') {
        rest++;
        if (*rest < '0' || *rest > '9')
            return -EINVAL; /* a decimal point needs a digit */
        while (*rest >= '0' && *rest <= '9') {
            if (digits < 6) {
                frac = frac * 10 + (*rest - '0');
                digits++;
            }
            rest++;
        }
        while (digits < 6) {
            frac *= 10;
            digits++;
        }
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
        return -EINVAL;
    mday = tm.tm_mday;
    secs = timegm(&tm);
    /* timegm() moves a day that the month lacks (February 30) into the
     * next month; such a date is invalid, not a later time. */
    if (tm.tm_mday != mday || secs < 0 ||
        secs > API_TIME_MAX_US / 1000000)
        return -EINVAL;
    *out_us = (int64_t)secs * 1000000 + frac;
    return 0;
}

/* Reads the stream, from and to query arguments; responds 400 and
 * returns -1 on invalid values, 0 otherwise. */
static int api_range_args(api_conn_t *c, char *stream, size_t stream_len,
                          int64_t *from, int64_t *to)
{
    char buf[64];
    const char *v;

    snprintf(stream, stream_len, "main");
    v = api_query(c, "stream", buf, sizeof(buf));
    if (v) {
        if (strcmp(v, "main") && strcmp(v, "sub")) {
            api_respond_error(c, 400,
                              "invalid stream '%s': expected main or sub", v);
            return -1;
        }
        snprintf(stream, stream_len, "%s", v);
    }
    v = api_query(c, "from", buf, sizeof(buf));
    if (!v || api_parse_time(v, from) < 0) {
        api_respond_error(c, 400,
                          "%s from: expected UTC microseconds from 0 to "
                          "%lld or ISO 8601 like 2026-01-31T12:00:00Z",
                          v ? "invalid" : "missing", API_TIME_MAX_US);
        return -1;
    }
    v = api_query(c, "to", buf, sizeof(buf));
    if (!v || api_parse_time(v, to) < 0) {
        api_respond_error(c, 400,
                          "%s to: expected UTC microseconds from 0 to "
                          "%lld or ISO 8601 like 2026-01-31T12:00:00Z",
                          v ? "invalid" : "missing", API_TIME_MAX_US);
        return -1;
    }
    if (*to <= *from) {
        api_respond_error(c, 400, "invalid range: to must be after from");
        return -1;
    }
    return 0;
}

static json_t *api_gap_json(int64_t start, int64_t end)
{
    return json_pack("{s:I, s:I}", "start_us", (json_int_t)start, "end_us",
                     (json_int_t)end);
}

int api_recordings_list(api_conn_t *c, int64_t camera_id)
{
    catalog_recording_t *rows = NULL;
    char stream[8];
    int64_t from;
    int64_t to;
    int64_t cursor;
    int64_t now = vms_realtime_us();
    size_t n = 0;
    json_t *recs;
    json_t *gaps;
    int rc;

    if (api_range_args(c, stream, sizeof(stream), &from, &to) < 0)
        return 0;
    rc = catalog_recording_list(c->srv->cfg.cat, camera_id, stream, from, to,
                                &rows, &n);
    if (rc < 0)
        return api_respond_error(c, 500, "catalog read failed: %s",
                                 strerror(-rc));
    recs = json_array();
    gaps = json_array();
    cursor = from;
    for (size_t i = 0; i < n; i++) {
        catalog_recording_t *r = &rows[i];

        json_array_append_new(
            recs, json_pack("{s:I, s:I, s:I, s:s}", "start_us",
                            (json_int_t)r->start_us, "end_us",
                            (json_int_t)r->end_us, "bytes",
                            (json_int_t)r->bytes, "sha256", r->sha256));
        if (r->start_us - cursor > API_GAP_MIN_US)
            json_array_append_new(gaps, api_gap_json(cursor, r->start_us));
        if (r->end_us > cursor)
            cursor = r->end_us;
    }
    /* NOTE: the segment being written is indexed only when it closes, so
     * the time after the last indexed segment is reported as a gap only
     * for a range that ends in the past. */
    if (to < now && to - cursor > API_GAP_MIN_US)
        json_array_append_new(gaps, api_gap_json(cursor, to));
    free(rows);
    return api_respond_json(c, 200,
                            json_pack("{s:I, s:s, s:I, s:I, s:o, s:o}",
                                      "camera_id", (json_int_t)camera_id,
                                      "stream", stream, "from_us",
                                      (json_int_t)from, "to_us",
                                      (json_int_t)to, "recordings", recs,
                                      "gaps", gaps));
}

/* Drops a reference to job; frees it with the last one. */
static void api_job_unref(api_server_t *srv, api_export_job_t *job)
{
    int last;

    pthread_mutex_lock(&srv->jobs_lock);
    last = --job->refs == 0;
    if (last)
        for (api_export_job_t **p = &srv->jobs; *p; p = &(*p)->next)
            if (*p == job) {
                *p = job->next;
                break;
            }
    pthread_mutex_unlock(&srv->jobs_lock);
    if (!last)
        return;
    free(job->segs);
    free(job->seg_paths);
    free(job);
}

static void *api_export_thread(void *arg)
{
    api_export_job_t *job = arg;
    api_server_t *srv = job->srv;
    playback_export_result_t result;
    int rc;

    rc = playback_export_mp4_ex(job->segs, job->n, job->from_us, job->to_us,
                                job->path, &result, job->err,
                                sizeof(job->err));
    pthread_mutex_lock(&srv->jobs_lock);
    job->rc = rc;
    job->done = 1;
    pthread_mutex_unlock(&srv->jobs_lock);
    if (rc < 0)
        vms_log(VMS_LOG_WARN, "playback", "path=%s error=\"%s\"", job->path,
                job->err);
    lws_cancel_service(srv->ctx);
    api_job_unref(srv, job);
    return NULL;
}

/* A cached export file, for the sweep. */
typedef struct api_cache_file {
    char path[1024];
    time_t mtime;
    off_t size;
} api_cache_file_t;

static int api_cache_older_first(const void *a, const void *b)
{
    const api_cache_file_t *x = a;
    const api_cache_file_t *y = b;

    return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

/* Deletes cached exports older than API_CACHE_MAX_AGE_S, then the oldest
 * ones until the cache holds at most API_CACHE_MAX_BYTES minus room, so
 * that exports never crowd recordings off a shared disk. */
static void api_cache_sweep(const char *dir, int64_t room)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    api_cache_file_t *files = NULL;
    size_t n = 0;
    size_t cap = 0;
    time_t now = time(NULL);
    int64_t total = 0;

    if (!d)
        return;
    while ((de = readdir(d))) {
        api_cache_file_t f;
        struct stat st;

        if (strncmp(de->d_name, "playback-", 9) != 0)
            continue;
        snprintf(f.path, sizeof(f.path), "%s/%s", dir, de->d_name);
        if (stat(f.path, &st) < 0)
            continue;
        if (now - st.st_mtime > API_CACHE_MAX_AGE_S) {
            unlink(f.path);
            continue;
        }
        f.mtime = st.st_mtime;
        f.size = st.st_size;
        total += st.st_size;
        if (n == cap) {
            api_cache_file_t *bigger;
            cap = cap ? cap * 2 : 32;
            bigger = realloc(files, cap * sizeof(*files));
            if (!bigger)
                break;
            files = bigger;
        }
        files[n++] = f;
    }
    closedir(d);
    if (n > 1)
        qsort(files, n, sizeof(*files), api_cache_older_first);
    for (size_t i = 0; i < n && total + room > API_CACHE_MAX_BYTES; i++) {
        /* NOTE: a file still being sent stays readable through its open
         * descriptor after the unlink. */
        unlink(files[i].path);
        total -= files[i].size;
    }
    free(files);
}

/* Writes the Content-Disposition header of a playback response: an
 * attachment for an export (download=1), else inline for a player. */
static void api_playback_disposition(const api_conn_t *c, char *out,
                                     size_t len)
{
    snprintf(out, len,
             "Content-Disposition: %s; filename=\"camera-%lld.mp4\"",
             c->download ? "attachment" : "inline",
             (long long)c->camera_id);
}

/* Sends the response to a connection whose export has finished. */
static int api_export_answer(api_conn_t *c)
{
    api_export_job_t *job = c->job;
    char disposition[160];
    int rc;

    c->job = NULL;
    if (job->rc == -ENODATA)
        rc = api_respond_error(c, 404, "no recording in the range: %s",
                               job->err);
    else if (job->rc < 0)
        rc = api_respond_error(c, 500, "playback export failed: %s",
                               job->err);
    else {
        api_playback_disposition(c, disposition, sizeof(disposition));
        rc = api_respond_file(c, job->path, "video/mp4", disposition);
    }
    api_job_unref(c->srv, job);
    return rc;
}

void api_export_poll(api_server_t *srv)
{
    api_conn_t **p = &srv->waiting_conns;

    while (*p) {
        api_conn_t *c = *p;
        int done;

        pthread_mutex_lock(&srv->jobs_lock);
        done = c->job->done;
        pthread_mutex_unlock(&srv->jobs_lock);
        if (!done) {
            p = &c->next_waiting;
            continue;
        }
        *p = c->next_waiting;
        if (api_export_answer(c) < 0)
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT,
                            LWS_TO_KILL_ASYNC);
    }
}

void api_export_detach(api_conn_t *c)
{
    if (!c->job || !c->srv)
        return;
    for (api_conn_t **p = &c->srv->waiting_conns; *p;
         p = &(*p)->next_waiting)
        if (*p == c) {
            *p = c->next_waiting;
            break;
        }
    api_job_unref(c->srv, c->job);
    c->job = NULL;
}

void api_export_free_all(api_server_t *srv)
{
    /* Workers hold their own reference; wait for them to finish. */
    for (;;) {
        int busy;

        pthread_mutex_lock(&srv->jobs_lock);
        busy = srv->jobs != NULL;
        pthread_mutex_unlock(&srv->jobs_lock);
        if (!busy)
            break;
        usleep(10000);
    }
}

/* Returns the number of running exports, not counting one that builds
 * path (a request for it joins that export instead of starting one). */
static int api_export_running(api_server_t *srv, const char *path)
{
    int running = 0;

    pthread_mutex_lock(&srv->jobs_lock);
    for (api_export_job_t *job = srv->jobs; job; job = job->next) {
        if (!job->done && strcmp(job->path, path) == 0) {
            running = 0;
            break;
        }
        running += !job->done;
    }
    pthread_mutex_unlock(&srv->jobs_lock);
    return running;
}

/* Creates the export job for rows, or finds a running one for the same
 * output path. Returns NULL when out of memory. */
static api_export_job_t *api_export_job_get(api_server_t *srv,
                                            const char *path,
                                            catalog_recording_t *rows,
                                            size_t n, int64_t from,
                                            int64_t to, int *started)
{
    api_export_job_t *job;
    pthread_t thread;

    *started = 0;
    pthread_mutex_lock(&srv->jobs_lock);
    for (job = srv->jobs; job; job = job->next)
        if (strcmp(job->path, path) == 0 && !job->done) {
            job->refs++;
            pthread_mutex_unlock(&srv->jobs_lock);
            return job;
        }
    pthread_mutex_unlock(&srv->jobs_lock);

    job = calloc(1, sizeof(*job));
    if (!job)
        return NULL;
    job->segs = calloc(n, sizeof(*job->segs));
    job->seg_paths = calloc(n, sizeof(*job->seg_paths));
    if (!job->segs || !job->seg_paths) {
        free(job->segs);
        free(job->seg_paths);
        free(job);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(job->seg_paths[i], sizeof(job->seg_paths[i]), "%s/%s",
                 rows[i].volume, rows[i].path);
        job->segs[i].path = job->seg_paths[i];
        job->segs[i].start_us = rows[i].start_us;
        job->segs[i].end_us = rows[i].end_us;
    }
    job->n = n;
    job->from_us = from;
    job->to_us = to;
    job->srv = srv;
    snprintf(job->path, sizeof(job->path), "%s", path);
    job->refs = 2; /* the connection and the worker */
    pthread_mutex_lock(&srv->jobs_lock);
    job->next = srv->jobs;
    srv->jobs = job;
    pthread_mutex_unlock(&srv->jobs_lock);
    if (pthread_create(&thread, NULL, api_export_thread, job) != 0) {
        job->rc = -EAGAIN;
        snprintf(job->err, sizeof(job->err), "cannot start a worker thread");
        pthread_mutex_lock(&srv->jobs_lock);
        job->done = 1;
        job->refs--;
        pthread_mutex_unlock(&srv->jobs_lock);
        return job;
    }
    pthread_detach(thread);
    *started = 1;
    return job;
}

/* Records who watched or exported which range. A player asks for one
 * range in many Range requests, so only the first (no Range, or one
 * from byte 0) is recorded. A download (download=1), or a request by a
 * user with the export right but not the playback right, is an
 * export. */
static void api_playback_audit(api_conn_t *c, int64_t camera_id,
                               const char *stream, int64_t from, int64_t to)
{
    char range[64];
    char target[32];

    if (lws_hdr_copy(c->wsi, range, sizeof(range), WSI_TOKEN_HTTP_RANGE) >
            0 &&
        strncmp(range, "bytes=0-", 8) != 0)
        return;
    snprintf(target, sizeof(target), "camera %lld", (long long)camera_id);
    api_audit(c,
              c->download || !api_can(c, camera_id, AUTH_RIGHT_PLAYBACK)
                  ? "export"
                  : "playback",
              target, "ok", "stream=%s from_us=%lld to_us=%lld", stream,
              (long long)from, (long long)to);
}

int api_playback(api_conn_t *c, int64_t camera_id)
{
    catalog_recording_t *rows = NULL;
    char stream[8];
    char path[1024];
    struct stat st;
    int64_t from;
    int64_t to;
    size_t n = 0;
    int started;
    int rc;

    if (api_range_args(c, stream, sizeof(stream), &from, &to) < 0)
        return 0;
    if (to - from > API_PLAYBACK_MAX_US)
        return api_respond_error(c, 400,
                                 "range too long: at most 24 hours per "
                                 "request; split it");
    {
        char flag[8];
        const char *v = api_query(c, "download", flag, sizeof(flag));

        if (v && strcmp(v, "1") && strcmp(v, "0"))
            return api_respond_error(c, 400,
                                     "invalid download '%s': expected 1 "
                                     "for a file to save, or 0",
                                     v);
        c->download = v && strcmp(v, "1") == 0;
    }
    /* Saving a copy is an export, which needs its own right. */
    if (c->download && !api_can(c, camera_id, AUTH_RIGHT_EXPORT)) {
        char target[32];

        snprintf(target, sizeof(target), "camera %lld", (long long)camera_id);
        api_audit(c, "access.denied", target, "denied", "export");
        return api_respond_error(c, 403,
                                 "user %s has no export right on camera "
                                 "%lld: watch the range without "
                                 "download=1, or ask an administrator",
                                 c->principal ? c->principal->user : "-",
                                 (long long)camera_id);
    }
    api_playback_audit(c, camera_id, stream, from, to);
    c->camera_id = camera_id;
    snprintf(path, sizeof(path), "%s/playback-%lld-%s-%lld-%lld.mp4",
             c->srv->cache_dir, (long long)camera_id, stream,
             (long long)from, (long long)to);
    /* A cached file is reused unless the range was still being recorded
     * when it was built and it is older than a few seconds. */
    if (stat(path, &st) == 0 &&
        ((int64_t)st.st_mtime * 1000000 > to ||
         time(NULL) - st.st_mtime < API_CACHE_OPEN_RANGE_S)) {
        char disposition[160];
        api_playback_disposition(c, disposition, sizeof(disposition));
        return api_respond_file(c, path, "video/mp4", disposition);
    }
    rc = catalog_recording_list(c->srv->cfg.cat, camera_id, stream, from, to,
                                &rows, &n);
    if (rc < 0)
        return api_respond_error(c, 500, "catalog read failed: %s",
                                 strerror(-rc));
    if (n == 0) {
        free(rows);
        return api_respond_error(c, 404,
                                 "no recording of camera %lld %s stream in "
                                 "the range",
                                 (long long)camera_id, stream);
    }
    {
        int64_t room = 0;
        for (size_t i = 0; i < n; i++)
            room += rows[i].bytes;
        api_cache_sweep(c->srv->cache_dir, room);
        if (room > API_CACHE_MAX_BYTES) {
            free(rows);
            return api_respond_error(c, 400,
                                     "range too large: its recordings hold "
                                     "%lld bytes, more than the %lld-byte "
                                     "export cache; split it",
                                     (long long)room,
                                     (long long)API_CACHE_MAX_BYTES);
        }
    }
    if (api_export_running(c->srv, path) >= API_EXPORT_WORKERS) {
        free(rows);
        return api_respond(c, 503, "application/json",
                           vms_buf_new("{\"error\":\"the recorder is building "
                                       "other exports: retry in a few "
                                       "seconds\"}",
                                       strlen("{\"error\":\"the recorder is "
                                              "building other exports: retry "
                                              "in a few seconds\"}")),
                           "Retry-After: 2");
    }
    c->job = api_export_job_get(c->srv, path, rows, n, from, to, &started);
    free(rows);
    if (!c->job)
        return api_respond_error(c, 503, "out of memory: retry later");
    c->next_waiting = c->srv->waiting_conns;
    c->srv->waiting_conns = c;
    lws_cancel_service(c->srv->ctx); /* the job may be done already */
    return 0;
}

/* A snapshot being decoded on the snapshot queue's worker. */
typedef struct api_snapshot_job {
    hub_t *hub;
    int width;
    int64_t camera_id;
    vms_buf_t *jpeg;
    int64_t time_us;
    int rc;
} api_snapshot_job_t;

/* One worker decodes every snapshot in turn, so the event loop never
 * waits on a decoder. The cache decodes each stream at most once per
 * second, so the queue stays short. */
static api_deferred_queue_t api_snapshot_queue;
static pthread_once_t api_snapshot_queue_once = PTHREAD_ONCE_INIT;

static void api_snapshot_queue_init(void)
{
    api_deferred_queue_init(&api_snapshot_queue);
}

static void api_snapshot_work(void *arg)
{
    api_snapshot_job_t *job = arg;

    job->rc = api_live_snapshot(job->hub, job->width, &job->jpeg,
                                &job->time_us);
}

static int api_snapshot_done(api_conn_t *c, void *arg)
{
    api_snapshot_job_t *job = arg;
    char reason[AV_ERROR_MAX_STRING_SIZE];
    char header[64];
    int rc = 0;

    if (!c) {
        vms_buf_unref(job->jpeg);
    } else if (job->rc == AVERROR(ENOENT)) {
        rc = api_respond_error(c, 503,
                               "no picture yet from camera %lld: retry when "
                               "its stream is streaming",
                               (long long)job->camera_id);
    } else if (job->rc < 0) {
        av_strerror(job->rc, reason, sizeof(reason));
        rc = api_respond_error(c, 500, "snapshot decoding failed: %s",
                               reason);
    } else {
        snprintf(header, sizeof(header), "X-Frame-Time-Us: %lld",
                 (long long)job->time_us);
        rc = api_respond(c, 200, "image/jpeg", job->jpeg, header);
    }
    free(job);
    return rc;
}

int api_snapshot(api_conn_t *c, int64_t camera_id)
{
    char buf[32];
    char stream[8] = "main";
    const char *v;
    api_snapshot_job_t *job;
    int width = 0;
    hub_t *hub;
    int rc;

    if (api_deferred_busy(c))
        return 0;

    v = api_query(c, "stream", buf, sizeof(buf));
    if (v) {
        if (strcmp(v, "main") && strcmp(v, "sub"))
            return api_respond_error(c, 400,
                                     "invalid stream '%s': expected main "
                                     "or sub",
                                     v);
        snprintf(stream, sizeof(stream), "%s", v);
    }
    v = api_query(c, "width", buf, sizeof(buf));
    if (v) {
        char *end;
        long w = strtol(v, &end, 10);
        if (*end || w < 16 || w > 7680)
            return api_respond_error(c, 400,
                                     "invalid width '%s': expected 16 to "
                                     "7680 pixels",
                                     v);
        width = (int)w;
    }
    hub = c->srv->cfg.svc->stream_hub(c->srv->cfg.svc_ctx, camera_id,
                                      stream);
    if (!hub)
        return api_respond_error(c, 404, "camera %lld has no %s stream",
                                 (long long)camera_id, stream);
    job = calloc(1, sizeof(*job));
    if (!job)
        return api_respond_error(c, 503, "out of memory: retry later");
    job->hub = hub;
    job->width = width;
    job->camera_id = camera_id;
    pthread_once(&api_snapshot_queue_once, api_snapshot_queue_init);
    rc = api_deferred_start(c, &api_snapshot_queue, api_snapshot_work,
                            api_snapshot_done, job);
    if (rc < 0) {
        free(job);
        return api_respond_error(c, 503, "cannot start the snapshot: %s",
                                 strerror(-rc));
    }
    return 0;
}
