/*
 * JSON calls to the vmsd HTTP API (/api/v1/...) on top of the HTTP
 * client, with the daemon's {"error": "..."} bodies turned into
 * messages.
 */
#ifndef VMS_VMSCTL_CLIENT_H
#define VMS_VMSCTL_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include "vmsctl/http.h"

typedef struct vmsctl_client {
    vmsctl_url_t url;
    const char *api_key; /* sent as a bearer token, or NULL; borrowed */
    const char *ca_file; /* CAs for https://, or NULL for the system's */
    int connect_timeout_ms;
    int io_timeout_ms;
} vmsctl_client_t;

/* Result codes of vmsctl_client_call() besides 0 and -ENOMEM. */
enum {
    VMSCTL_CALL_UNREACHABLE = -1000, /* no connection to the daemon */
    VMSCTL_CALL_HTTP_ERROR = -1001,  /* the daemon returned 4xx or 5xx */
    VMSCTL_CALL_BAD_RESPONSE = -1002, /* invalid HTTP or JSON response */
    VMSCTL_CALL_TLS_ERROR = -1003     /* TLS failed or was rejected */
};

/*
 * Sends method to path (relative to /api/v1, starting with '/') with
 * body as JSON unless it is NULL, and parses the response body as JSON.
 * body is borrowed and, because it may carry a password, its serialized
 * copy is wiped after sending.
 *
 * Returns 0 for a 2xx status with *out set to the parsed body (NULL for
 * an empty body, otherwise owned by the caller), or one of the codes
 * above with a message in err. *status receives the HTTP status, or 0
 * when there was none.
 */
int vmsctl_client_call(const vmsctl_client_t *client, const char *method,
                       const char *path, json_t *body, json_t **out,
                       int *status, char *err, size_t errlen);

#endif
