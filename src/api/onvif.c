/*
 * ONVIF in the API: discovery scans, adoption of a camera from its
 * device address, and PTZ control.
 */
#include "api/internal.h"

int api_route_discovery(api_conn_t *c, const char *rest)
{
    (void)rest;
    /* TODO: ONVIF discovery is not wired to the API yet; src/onvif has
     * onvif_discovery_probe(). */
    return api_respond_error(c, 501, "ONVIF discovery is not available in "
                                     "this build yet");
}

int api_camera_adopt(api_conn_t *c)
{
    /* TODO: adoption is not wired to the API yet; src/onvif has
     * onvif_device_probe(). */
    return api_respond_error(c, 501, "ONVIF adoption is not available in "
                                     "this build yet");
}

int api_ptz(api_conn_t *c, int64_t camera_id, const char *rest)
{
    (void)camera_id;
    (void)rest;
    /* TODO: PTZ is not wired to the API yet; src/onvif has the calls. */
    return api_respond_error(c, 501, "PTZ is not available in this build "
                                     "yet");
}
