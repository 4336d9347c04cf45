/*
 * A minimal HTTP/1.1 client for vmsctl: one request per TCP connection
 * ("Connection: close"), plain http:// only, response bodies framed by
 * Content-Length, chunked transfer coding or the end of the connection.
 */
#ifndef VMS_VMSCTL_HTTP_H
#define VMS_VMSCTL_HTTP_H

#include <stddef.h>

/* Maximum size of a response's status line plus header section. */
#define VMSCTL_HTTP_HEADER_MAX (64 * 1024)
/* Maximum size of a decoded response body. Larger ones are rejected. */
#define VMSCTL_HTTP_BODY_MAX (64 * 1024 * 1024)
/* Maximum number of header fields in one response. */
#define VMSCTL_HTTP_FIELDS_MAX 100

/* A parsed http://host[:port][/prefix] base URL. */
typedef struct vmsctl_url {
    char host[256];   /* name or address, IPv6 without brackets */
    char port[6];     /* decimal, "80" when the URL has none */
    char prefix[512]; /* path prefix without a trailing '/', or "" */
    char text[1024];  /* the URL as given, for messages */
    int ipv6;         /* host is an IPv6 literal */
} vmsctl_url_t;

/* Parses text as an http:// base URL. Rejects other schemes, user
 * information, queries and fragments. Returns 0 or -EINVAL with err
 * set. */
int vmsctl_url_parse(const char *text, vmsctl_url_t *url, char *err,
                     size_t errlen);

typedef struct vmsctl_http_response {
    int status;       /* 100 to 599 */
    char reason[128]; /* control characters replaced with '?' */
    char content_type[128];
    char *body; /* owned, NUL-terminated after body_len bytes */
    size_t body_len;
} vmsctl_http_response_t;

/*
 * Parses one HTTP/1.x response from the len bytes at data, skipping
 * interim 1xx responses. With eof set, data is everything the server
 * sent, so a body without Content-Length or chunked coding ends there.
 *
 * Returns 0 with *resp filled (release it with
 * vmsctl_http_response_clear()), -EAGAIN when the response is not yet
 * complete and eof is not set, -EMSGSIZE when a limit above is exceeded,
 * or -EBADMSG when the response is malformed. On errors err explains
 * the problem and *resp holds nothing to release.
 */
int vmsctl_http_response_parse(const char *data, size_t len, int eof,
                               vmsctl_http_response_t *resp, char *err,
                               size_t errlen);

/* Frees the body of resp and zeroes it. NULL is a no-op. */
void vmsctl_http_response_clear(vmsctl_http_response_t *resp);

typedef struct vmsctl_http_request {
    const char *method;       /* "GET", "POST", ... */
    const char *target;       /* path and query after the URL prefix */
    const char *bearer_token; /* sent as "Authorization: Bearer", or NULL */
    const char *content_type; /* NULL when there is no body */
    const char *body;         /* borrowed */
    size_t body_len;
    int connect_timeout_ms;
    int io_timeout_ms; /* maximum wait for each send or receive */
} vmsctl_http_request_t;

/*
 * Sends req to url and reads the whole response into *resp (release it
 * with vmsctl_http_response_clear()). Returns 0 for any HTTP status, or
 * with err set: -ENOTCONN when no address of the host accepted a
 * connection, -ETIMEDOUT when the server stopped responding, -EMSGSIZE or
 * -EBADMSG for an invalid response, another negative errno for other
 * socket errors.
 */
int vmsctl_http_send(const vmsctl_url_t *url, const vmsctl_http_request_t *req,
                     vmsctl_http_response_t *resp, char *err, size_t errlen);

#endif
