/*
 * The HTTP API, the live WebSocket endpoint and the operator page, served
 * by libwebsockets on one event-loop thread.
 */
#ifndef VMS_API_API_H
#define VMS_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "catalog/catalog.h"
#include "media/hub.h"
#include "media/ingest.h"
#include "storage/storage.h"

typedef struct api_server api_server_t;

/* What the API needs from the daemon's camera supervisor. Every
 * function is called on the event-loop thread. */
typedef struct api_camera_service {
    /* (Re)starts the camera's streams after its catalog row was created
     * or changed, or stops them if it is disabled. */
    int (*camera_changed)(void *ctx, int64_t id);
    /* Stops the camera's streams after its row was deleted. */
    int (*camera_removed)(void *ctx, int64_t id);
    /* Returns the hub of a camera stream, or NULL if the camera has no
     * such stream. A returned hub lives until the daemon exits. */
    hub_t *(*stream_hub)(void *ctx, int64_t id, const char *stream);
    /* Fills the state of a running stream; returns -ENOENT if it does
     * not run. */
    int (*stream_status)(void *ctx, int64_t id, const char *stream,
                         ingest_status_t *status);
    /* Fills the recorder's figures. */
    void (*recorder_stats)(void *ctx, recorder_stats_t *stats);
} api_camera_service_t;

typedef struct api_config {
    const char *host;        /* listen address; copied */
    int port;
    const char *web_root;    /* directory of the operator page; copied */
    const char *cache_dir;   /* where playback files are built; copied */
    catalog_t *cat;          /* borrowed */
    const api_camera_service_t *svc; /* borrowed */
    void *svc_ctx;
    size_t live_queue_bytes; /* bound of each viewer's queue */
    storage_t *storage;      /* borrowed; capacity and verification */
    /* Interfaces that ONVIF discovery probes (names or addresses);
     * borrowed, count may be 0. */
    const char (*discovery_interfaces)[64];
    int discovery_interface_count;
    /* Users, sessions and rights; borrowed. Every /api/ route except
     * the public ones needs a session or API key. */
    auth_t *auth;
    /* PEM certificate (chain) and key for HTTPS and WSS, or NULL for
     * plain HTTP, which vmsd allows only on loopback. */
    const char *tls_cert;
    const char *tls_key;
} api_config_t;

/* Binds the listening socket and starts the event-loop thread. On error
 * returns a negative errno and explains it in err. */
int api_server_start(const api_config_t *cfg, api_server_t **out, char *err,
                     size_t errlen);

/* Closes every connection, stops the thread and frees the server. NULL
 * is a no-op. */
void api_server_stop(api_server_t *srv);

#endif
