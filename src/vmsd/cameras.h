/*
 * The camera supervisor: runs one ingest per configured camera stream,
 * attaches it to the recorder, and keeps each stream's hub for the
 * lifetime of the daemon so that viewers never hold a freed hub.
 */
#ifndef VMS_VMSD_CAMERAS_H
#define VMS_VMSD_CAMERAS_H

#include "api/api.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "storage/recorder.h"

typedef struct vmsd_cameras vmsd_cameras_t;

/* cat, rec and clock are borrowed and must outlive the supervisor. */
int vmsd_cameras_new(catalog_t *cat, recorder_t *rec,
                     const vms_clock_t *clock, int retry_max_ms,
                     vmsd_cameras_t **out);

/* Starts every enabled camera in the catalog. */
int vmsd_cameras_start_all(vmsd_cameras_t *cams);

/* Stops every stream (segments closed and indexed). */
void vmsd_cameras_stop_all(vmsd_cameras_t *cams);

/* Frees the supervisor and the hubs; streams must be stopped. */
void vmsd_cameras_free(vmsd_cameras_t *cams);

/* The api_camera_service_t implementation; ctx is the supervisor. */
extern const api_camera_service_t vmsd_cameras_service;

#endif
