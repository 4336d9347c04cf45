/*
 * Shared between the API's ONVIF sources (onvif.c: discovery and
 * adoption; ptz.c: PTZ and camera time). Called on the event-loop
 * thread unless a comment states otherwise.
 */
#ifndef VMS_API_ONVIF_API_H
#define VMS_API_ONVIF_API_H

#include <stddef.h>

#include "api/internal.h"
#include "onvif/onvif.h"

/* Copies the host of an ONVIF address ("10.0.0.5", "10.0.0.5:8080",
 * "[fd00::5]:80", "http://host:port/path") into host in lower case,
 * without brackets. Returns 0, or -EINVAL when there is no host. Safe
 * on any thread. */
int api_onvif_host(const char *address, char *host, size_t len);

/* Returns the HTTP status for an error code of src/onvif: 401 for
 * rejected credentials, 504 for a time-out, 501 for a call the camera
 * lacks, 503 for memory, 502 for everything else the camera did. */
int api_onvif_status(int rc);

/* Responds with the status of rc and a message that names the camera
 * address, what failed and what to do, followed by the library's
 * message. user is the user name sent, or NULL. */
int api_onvif_respond_error(api_conn_t *c, int rc, const char *address,
                            const char *user, const onvif_err_t *err);

/* GET and POST /api/v1/cameras/ID/time (ptz.c): the camera's clock
 * offset, and setting the camera's clock from ours. */
int api_camera_time(api_conn_t *c, int64_t camera_id);

#endif
