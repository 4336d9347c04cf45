/* Camera supervisor; see cameras.h. */
#include "vmsd/cameras.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

typedef struct vmsd_stream {
    hub_t *hub;                /* kept until the daemon exits */
    ingest_t *ingest;          /* NULL when not running */
    recorder_stream_t *recording;
} vmsd_stream_t;

typedef struct vmsd_camera {
    int64_t id;
    int removed;
    int running;               /* streams started from row */
    catalog_camera_t row;      /* the row the streams were started from */
    vmsd_stream_t streams[2];  /* main, sub */
    struct vmsd_camera *next;
} vmsd_camera_t;

struct vmsd_cameras {
    catalog_t *cat;
    recorder_t *rec;
    const vms_clock_t *clock;
    int retry_max_ms;
    pthread_mutex_t lock;      /* guards the list and the ingest pointers */
    vmsd_camera_t *list;
};

static const char *const vmsd_stream_names[2] = {"main", "sub"};

static int vmsd_stream_index(const char *stream)
{
    if (strcmp(stream, "main") == 0)
        return 0;
    if (strcmp(stream, "sub") == 0)
        return 1;
    return -1;
}

int vmsd_cameras_new(catalog_t *cat, recorder_t *rec,
                     const vms_clock_t *clock, int retry_max_ms,
                     vmsd_cameras_t **out)
{
    vmsd_cameras_t *cams = calloc(1, sizeof(*cams));

    *out = NULL;
    if (!cams)
        return -ENOMEM;
    cams->cat = cat;
    cams->rec = rec;
    cams->clock = clock;
    cams->retry_max_ms = retry_max_ms;
    pthread_mutex_init(&cams->lock, NULL);
    *out = cams;
    return 0;
}

/* Finds or creates the entry of camera id; the lock is held. */
static vmsd_camera_t *vmsd_camera_get(vmsd_cameras_t *cams, int64_t id,
                                      int create)
{
    vmsd_camera_t *cam;

    for (cam = cams->list; cam; cam = cam->next)
        if (cam->id == id)
            return cam;
    if (!create)
        return NULL;
    cam = calloc(1, sizeof(*cam));
    if (!cam)
        return NULL;
    cam->id = id;
    for (int i = 0; i < 2; i++) {
        cam->streams[i].hub = hub_new();
        if (!cam->streams[i].hub) {
            hub_free(cam->streams[0].hub);
            free(cam);
            return NULL;
        }
    }
    cam->next = cams->list;
    cams->list = cam;
    return cam;
}

/* Stops the ingest and the recording of one stream. */
static void vmsd_stream_stop(vmsd_cameras_t *cams, vmsd_stream_t *s)
{
    ingest_stop(s->ingest);
    s->ingest = NULL;
    recorder_detach(cams->rec, s->recording);
    s->recording = NULL;
}

/* Starts one stream of a camera from its catalog row. */
static int vmsd_stream_start(vmsd_cameras_t *cams, vmsd_camera_t *cam,
                             const catalog_camera_t *row, int index)
{
    vmsd_stream_t *s = &cam->streams[index];
    ingest_config_t cfg;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    cfg.camera_id = row->id;
    snprintf(cfg.camera_name, sizeof(cfg.camera_name), "%s", row->name);
    snprintf(cfg.stream, sizeof(cfg.stream), "%s", vmsd_stream_names[index]);
    snprintf(cfg.url, sizeof(cfg.url), "%s",
             index == 0 ? row->main_url : row->sub_url);
    snprintf(cfg.username, sizeof(cfg.username), "%s", row->username);
    snprintf(cfg.password, sizeof(cfg.password), "%s", row->password);
    cfg.use_udp = strcmp(row->transport, "udp") == 0;
    cfg.retry_max_ms = cams->retry_max_ms;
    cfg.io_timeout_ms = 5000;

    rc = recorder_attach(cams->rec, s->hub, row->id,
                         vmsd_stream_names[index], &s->recording);
    if (rc < 0)
        return rc;
    rc = ingest_start(&cfg, s->hub, cams->clock, &s->ingest);
    if (rc < 0) {
        recorder_detach(cams->rec, s->recording);
        s->recording = NULL;
    }
    return rc;
}

/* Returns 1 if two rows describe the same streams: URLs, credentials,
 * transport, enabled flag and name (which error messages carry). */
static int vmsd_same_streams(const catalog_camera_t *a,
                             const catalog_camera_t *b)
{
    return strcmp(a->main_url, b->main_url) == 0 &&
           strcmp(a->sub_url, b->sub_url) == 0 &&
           strcmp(a->username, b->username) == 0 &&
           strcmp(a->password, b->password) == 0 &&
           strcmp(a->transport, b->transport) == 0 &&
           strcmp(a->name, b->name) == 0 && a->enabled == b->enabled;
}

/* Makes the running streams of camera id match its catalog row. */
static int vmsd_camera_apply(vmsd_cameras_t *cams, int64_t id)
{
    catalog_camera_t row;
    vmsd_camera_t *cam;
    int rc;

    rc = catalog_camera_get(cams->cat, id, &row);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&cams->lock);
    cam = vmsd_camera_get(cams, id, 1);
    if (!cam) {
        pthread_mutex_unlock(&cams->lock);
        return -ENOMEM;
    }
    cam->removed = 0;
    if (cam->running && vmsd_same_streams(&cam->row, &row)) {
        /* Only fields the streams do not use changed (name, retention):
         * recording goes on uninterrupted. */
        cam->row = row;
        pthread_mutex_unlock(&cams->lock);
        return 0;
    }
    for (int i = 0; i < 2; i++)
        vmsd_stream_stop(cams, &cam->streams[i]);
    cam->running = 0;
    cam->row = row;
    if (row.enabled) {
        rc = vmsd_stream_start(cams, cam, &row, 0);
        if (rc == 0 && row.sub_url[0])
            rc = vmsd_stream_start(cams, cam, &row, 1);
        cam->running = rc == 0;
    }
    pthread_mutex_unlock(&cams->lock);
    vms_log(VMS_LOG_INFO, "cameras", "camera=%lld event=%s", (long long)id,
            row.enabled ? "started" : "disabled");
    return rc;
}

static int vmsd_service_changed(void *ctx, int64_t id)
{
    return vmsd_camera_apply(ctx, id);
}

static int vmsd_service_removed(void *ctx, int64_t id)
{
    vmsd_cameras_t *cams = ctx;
    vmsd_camera_t *cam;

    pthread_mutex_lock(&cams->lock);
    cam = vmsd_camera_get(cams, id, 0);
    if (cam) {
        for (int i = 0; i < 2; i++)
            vmsd_stream_stop(cams, &cam->streams[i]);
        cam->removed = 1;
        cam->running = 0;
    }
    pthread_mutex_unlock(&cams->lock);
    return 0;
}

static hub_t *vmsd_service_hub(void *ctx, int64_t id, const char *stream)
{
    vmsd_cameras_t *cams = ctx;
    vmsd_camera_t *cam;
    hub_t *hub = NULL;
    int index = vmsd_stream_index(stream);

    if (index < 0)
        return NULL;
    pthread_mutex_lock(&cams->lock);
    cam = vmsd_camera_get(cams, id, 0);
    if (cam && !cam->removed && cam->streams[index].ingest)
        hub = cam->streams[index].hub;
    pthread_mutex_unlock(&cams->lock);
    return hub;
}

static int vmsd_service_status(void *ctx, int64_t id, const char *stream,
                               ingest_status_t *status)
{
    vmsd_cameras_t *cams = ctx;
    vmsd_camera_t *cam;
    int index = vmsd_stream_index(stream);
    int rc = -ENOENT;

    if (index < 0)
        return -ENOENT;
    memset(status, 0, sizeof(*status));
    pthread_mutex_lock(&cams->lock);
    cam = vmsd_camera_get(cams, id, 0);
    if (cam && !cam->removed && cam->streams[index].ingest) {
        ingest_get_status(cam->streams[index].ingest, status);
        rc = 0;
    } else if (cam && !cam->removed) {
        status->state = INGEST_STOPPED;
        rc = 0;
    }
    pthread_mutex_unlock(&cams->lock);
    return rc;
}

static void vmsd_service_recorder_stats(void *ctx, recorder_stats_t *stats)
{
    vmsd_cameras_t *cams = ctx;

    recorder_get_stats(cams->rec, stats);
}

const api_camera_service_t vmsd_cameras_service = {
    .camera_changed = vmsd_service_changed,
    .camera_removed = vmsd_service_removed,
    .stream_hub = vmsd_service_hub,
    .stream_status = vmsd_service_status,
    .recorder_stats = vmsd_service_recorder_stats,
};

int vmsd_cameras_start_all(vmsd_cameras_t *cams)
{
    catalog_camera_t *rows = NULL;
    size_t n = 0;
    int rc = catalog_camera_list(cams->cat, &rows, &n);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        rc = vmsd_camera_apply(cams, rows[i].id);
        if (rc < 0)
            vms_log(VMS_LOG_ERROR, "cameras",
                    "camera=%lld error=\"cannot start: %s\"",
                    (long long)rows[i].id, strerror(-rc));
    }
    free(rows);
    return 0;
}

void vmsd_cameras_stop_all(vmsd_cameras_t *cams)
{
    pthread_mutex_lock(&cams->lock);
    for (vmsd_camera_t *cam = cams->list; cam; cam = cam->next) {
        for (int i = 0; i < 2; i++)
            vmsd_stream_stop(cams, &cam->streams[i]);
        cam->running = 0;
    }
    pthread_mutex_unlock(&cams->lock);
}

void vmsd_cameras_free(vmsd_cameras_t *cams)
{
    if (!cams)
        return;
    while (cams->list) {
        vmsd_camera_t *cam = cams->list;
        cams->list = cam->next;
        for (int i = 0; i < 2; i++)
            hub_free(cam->streams[i].hub);
        free(cam);
    }
    pthread_mutex_destroy(&cams->lock);
    free(cams);
}
