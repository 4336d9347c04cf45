/*
 * A minimal HTTP/1.1 client for vmsctl: one request per TCP connection
 * ("Connection: close"), and response bodies framed by Content-Length,
 * chunked transfer coding or the end of the connection. http:// URLs
 * are served in clear text. https:// URLs use TLS 1.2 or later, with the
 * server's certificate and host name verified.
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

/* A parsed http[s]://host[:port][/prefix] base URL. */
typedef struct vmsctl_url {
    char host[256];   /* name or address, IPv6 without brackets */
    char port[6];     /* decimal; "80", or "443" for https, by default */
    char prefix[512]; /* path prefix without a trailing '/', or "" */
    char text[1024];  /* the URL as given, for messages */
    int ipv6;         /* host is an IPv6 literal */
    int tls;          /* https:// */
} vmsctl_url_t;

/* Parses text as an http:// or https:// base URL. Rejects other
 * schemes, user information, queries and fragments. Returns 0 or
 * -EINVAL with err set. */
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
    int io_timeout_ms; /* maximum wait for each send or receive, and for
                        * the TLS handshake */
    /* PEM file of the CAs that https:// servers are verified against,
     * or NULL for the system's CA store. */
    const char *ca_file;
} vmsctl_http_request_t;

/*
 * Sends req to url and reads the whole response into *resp (release it
 * with vmsctl_http_response_clear()). Returns 0 for any HTTP status.
 * Otherwise it sets err and returns -ENOTCONN when no address of the
 * host accepted a connection, -ETIMEDOUT when the server stopped
 * responding, or -EPROTO when TLS failed: ca_file unreadable, handshake
 * failed or certificate rejected. -EMSGSIZE or -EBADMSG mean an invalid
 * response, and another negative errno another socket error.
 */
int vmsctl_http_send(const vmsctl_url_t *url, const vmsctl_http_request_t *req,
                     vmsctl_http_response_t *resp, char *err, size_t errlen);

#endif
