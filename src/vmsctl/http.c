/* HTTP/1.1 client transport: one request per TCP connection. */
#include "vmsctl/http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmsctl/http_internal.h"

#ifndef VMS_VERSION
#define VMS_VERSION "unknown"
#endif

/* Maximum raw bytes read for one response. It bounds the framing
 * overhead of chunked bodies made of many small chunks. */
#define HTTP_RAW_MAX                                                           \
    ((size_t)VMSCTL_HTTP_HEADER_MAX + 2 * (size_t)VMSCTL_HTTP_BODY_MAX)
/* Maximum size of the request line plus header section. */
#define HTTP_REQUEST_HEAD_MAX 8192

/* Waits until fd is ready for events; -ETIMEDOUT after timeout_ms. */
static int http_wait(int fd, short events, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int rc;

    do {
        rc = poll(&pfd, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    return rc == 0 ? -ETIMEDOUT : 0;
}

/* Connects a non-blocking socket to one address within timeout_ms. */
static int http_connect_one(const struct addrinfo *ai, int timeout_ms,
                            int *out_fd)
{
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);
    socklen_t len = sizeof(int);
    int soerr = 0;
    int rc;

    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        goto done;
    if (errno != EINPROGRESS) {
        rc = -errno;
        goto fail;
    }
    rc = http_wait(fd, POLLOUT, timeout_ms);
    if (rc < 0)
        goto fail;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
        rc = -errno;
        goto fail;
    }
    if (soerr) {
        rc = -soerr;
        goto fail;
    }
done:
    *out_fd = fd;
    return 0;
fail:
    close(fd);
    return rc;
}

/* Resolves url and connects to the first address that accepts. */
static int http_connect(const vmsctl_url_t *url, int timeout_ms, int *out_fd,
                        char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(url->host, url->port, &hints, &list);

    if (rc != 0)
        return vmsctl_http_fail(err, errlen, -ENOTCONN,
                                "cannot resolve host '%s': %s", url->host,
                                gai_strerror(rc));
    rc = -ENOTCONN;
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        rc = http_connect_one(ai, timeout_ms, out_fd);
        if (rc == 0)
            break;
    }
    freeaddrinfo(list);
    if (rc == -ETIMEDOUT)
        return vmsctl_http_fail(err, errlen, -ENOTCONN,
                                "connection to %s timed out after %d ms",
                                url->text, timeout_ms);
    if (rc < 0)
        return vmsctl_http_fail(err, errlen, -ENOTCONN,
                                "cannot connect to %s: %s", url->text,
                                strerror(-rc));
    return 0;
}

/* Sends all n bytes at p. */
static int http_send_all(int fd, const char *p, size_t n, int timeout_ms,
                         char *err, size_t errlen)
{
    while (n > 0) {
        ssize_t sent = send(fd, p, n, MSG_NOSIGNAL);
        int rc;

        if (sent >= 0) {
            p += sent;
            n -= (size_t)sent;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return vmsctl_http_fail(err, errlen, -errno,
                                    "sending the request failed: %s",
                                    strerror(errno));
        rc = http_wait(fd, POLLOUT, timeout_ms);
        if (rc == -ETIMEDOUT)
            return vmsctl_http_fail(err, errlen, rc,
                                    "sending the request timed out after %d ms",
                                    timeout_ms);
        if (rc < 0)
            return vmsctl_http_fail(err, errlen, rc, "poll failed: %s",
                                    strerror(-rc));
    }
    return 0;
}

/* Builds the request line and header into head. */
static int http_build_head(const vmsctl_url_t *url,
                           const vmsctl_http_request_t *req, char *head,
                           size_t cap, size_t *out_len, char *err,
                           size_t errlen)
{
    const char *bracket_open = url->ipv6 ? "[" : "";
    const char *bracket_close = url->ipv6 ? "]" : "";
    int n;

    if (req->target[0] != '/')
        return vmsctl_http_fail(err, errlen, -EINVAL,
                                "request target '%s' does not start with '/'",
                                req->target);
    for (const char *p = req->target; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return vmsctl_http_fail(
                err, errlen, -EINVAL,
                "request target contains a space or control "
                "character");
    for (const char *p = req->bearer_token; p && *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return vmsctl_http_fail(err, errlen, -EINVAL,
                                    "the API key contains a space or control "
                                    "character");
    n = snprintf(head, cap,
                 "%s %s%s HTTP/1.1\r\n"
                 "Host: %s%s%s:%s\r\n"
                 "User-Agent: vmsctl/" VMS_VERSION "\r\n"
                 "Accept: application/json\r\n"
                 "Connection: close\r\n",
                 req->method, url->prefix, req->target, bracket_open, url->host,
                 bracket_close, url->port);
    if (n > 0 && (size_t)n < cap && req->bearer_token)
        n += snprintf(head + n, cap - (size_t)n, "Authorization: Bearer %s\r\n",
                      req->bearer_token);
    if (n > 0 && (size_t)n < cap && req->content_type)
        n += snprintf(head + n, cap - (size_t)n,
                      "Content-Type: %s\r\nContent-Length: %zu\r\n",
                      req->content_type, req->body_len);
    else if (n > 0 && (size_t)n < cap)
        n += snprintf(head + n, cap - (size_t)n, "Content-Length: 0\r\n");
    if (n > 0 && (size_t)n < cap)
        n += snprintf(head + n, cap - (size_t)n, "\r\n");
    if (n < 0 || (size_t)n >= cap)
        return vmsctl_http_fail(err, errlen, -EMSGSIZE,
                                "request header longer than %zu bytes", cap);
    *out_len = (size_t)n;
    return 0;
}

/* Reads from fd until the buffered bytes form a whole response. */
static int http_receive(int fd, int timeout_ms, vmsctl_http_response_t *resp,
                        char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    int rc;

    for (;;) {
        ssize_t got;

        if (len == cap) {
            size_t bigger = cap ? cap * 2 : 16384;
            char *p;

            if (cap >= HTTP_RAW_MAX) {
                rc = vmsctl_http_fail(err, errlen, -EMSGSIZE,
                                      "response larger than %zu bytes",
                                      HTTP_RAW_MAX);
                goto fail;
            }
            if (bigger > HTTP_RAW_MAX)
                bigger = HTTP_RAW_MAX;
            p = realloc(buf, bigger);
            if (!p) {
                rc = vmsctl_http_fail(err, errlen, -ENOMEM,
                                      "out of memory reading the response");
                goto fail;
            }
            buf = p;
            cap = bigger;
        }
        got = recv(fd, buf + len, cap - len, 0);
        if (got > 0) {
            len += (size_t)got;
            rc = vmsctl_http_response_parse(buf, len, 0, resp, err, errlen);
            if (rc != -EAGAIN)
                goto done;
            continue;
        }
        if (got == 0) {
            rc = vmsctl_http_response_parse(buf, len, 1, resp, err, errlen);
            goto done;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            rc =
                vmsctl_http_fail(err, errlen, -errno,
                                 "reading the response failed after %zu bytes: "
                                 "%s",
                                 len, strerror(errno));
            goto fail;
        }
        rc = http_wait(fd, POLLIN, timeout_ms);
        if (rc == -ETIMEDOUT) {
            rc = vmsctl_http_fail(
                err, errlen, rc, "no response data for %d ms (after %zu bytes)",
                timeout_ms, len);
            goto fail;
        }
        if (rc < 0) {
            rc = vmsctl_http_fail(err, errlen, rc, "poll failed: %s",
                                  strerror(-rc));
            goto fail;
        }
    }
done:
fail:
    free(buf);
    return rc;
}

int vmsctl_http_send(const vmsctl_url_t *url, const vmsctl_http_request_t *req,
                     vmsctl_http_response_t *resp, char *err, size_t errlen)
{
    char head[HTTP_REQUEST_HEAD_MAX];
    size_t head_len = 0;
    int fd = -1;
    int rc;

    memset(resp, 0, sizeof(*resp));
    rc = http_build_head(url, req, head, sizeof(head), &head_len, err, errlen);
    if (rc < 0)
        return rc;
    rc = http_connect(url, req->connect_timeout_ms, &fd, err, errlen);
    if (rc < 0)
        return rc;
    rc = http_send_all(fd, head, head_len, req->io_timeout_ms, err, errlen);
    if (rc == 0 && req->body_len > 0)
        rc = http_send_all(fd, req->body, req->body_len, req->io_timeout_ms,
                           err, errlen);
    if (rc == 0)
        rc = http_receive(fd, req->io_timeout_ms, resp, err, errlen);
    close(fd);
    return rc;
}
