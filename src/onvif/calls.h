/*
 * Helpers shared by the high-level call files (device.c, ptz.c,
 * events.c): action URIs and error wrapping.
 */
#ifndef VMS_ONVIF_CALLS_H
#define VMS_ONVIF_CALLS_H

#include "onvif/internal.h"

#define ONVIF_ACTION_DEVICE "http://www.onvif.org/ver10/device/wsdl/"
#define ONVIF_ACTION_MEDIA "http://www.onvif.org/ver10/media/wsdl/"
#define ONVIF_ACTION_MEDIA2 "http://www.onvif.org/ver20/media/wsdl/"
#define ONVIF_ACTION_PTZ "http://www.onvif.org/ver20/ptz/wsdl/"
#define ONVIF_ACTION_EVENTS "http://www.onvif.org/ver10/events/wsdl/"

/* onvif_soap_call() on a service URL that may be NULL (the camera lacks
 * the service), which gives -EOPNOTSUPP. */
int onvif_call(onvif_client_t *c, const char *url, const char *action,
               const char *body, bool auth, int extra_timeout_ms,
               char **xml, size_t *len, onvif_err_t *err);

/* Prefixes err with "camera HOST: CALL: " unless it already names the
 * camera. Returns rc. */
int onvif_err_prefix(onvif_client_t *c, const char *call, int rc,
                     onvif_err_t *err);

/* Runs onvif_client_connect() once. */
int onvif_client_ensure(onvif_client_t *c, onvif_err_t *err);

#endif
