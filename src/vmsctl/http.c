/*
 * HTTP/1.1 client transport: one request per TCP connection, in clear
 * text for http:// URLs or over TLS (OpenSSL) for https:// URLs.
 */
#include "vmsctl/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
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

/* A connection to the server: a non-blocking socket, and the TLS
 * session over it for https:// URLs. */
typedef struct http_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl; /* NULL for http:// */
} http_conn_t;

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

/* Returns whether host is an IPv4 or IPv6 address rather than a name. */
static int http_host_is_address(const char *host)
{
    unsigned char addr[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, addr) == 1 ||
           inet_pton(AF_INET6, host, addr) == 1;
}

/* Writes OpenSSL's oldest queued error, or fallback, into text. */
static void http_tls_reason(const char *fallback, char *text, size_t cap)
{
    unsigned long e = ERR_get_error();

    if (e)
        ERR_error_string_n(e, text, cap);
    else
        snprintf(text, cap, "%s", fallback);
    ERR_clear_error();
}

/* Explains a failed handshake: a rejected certificate with the fix, or
 * OpenSSL's reason. */
static int http_tls_failed(const http_conn_t *c, const vmsctl_url_t *url,
                           char *err, size_t errlen)
{
    long verify = SSL_get_verify_result(c->ssl);
    char reason[256];

    if (verify == X509_V_ERR_HOSTNAME_MISMATCH ||
        verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        ERR_clear_error();
        return vmsctl_http_fail(
            err, errlen, -EPROTO,
            "TLS certificate verification failed for %s: the certificate "
            "is not issued for %s '%s'. Use a URL with a name or address "
            "that the certificate lists (openssl x509 -noout -ext "
            "subjectAltName shows them), or add it with 'vmsctl tls init "
            "--name %s'",
            url->text, http_host_is_address(url->host) ? "address" : "host",
            url->host, url->host);
    }
    if (verify != X509_V_OK) {
        ERR_clear_error();
        return vmsctl_http_fail(
            err, errlen, -EPROTO,
            "TLS certificate verification failed for %s: %s. Pass the CA "
            "certificate that issued vmsd's certificate with --ca-file FILE "
            "or VMS_CA_FILE, such as the ca.pem written by 'vmsctl tls "
            "init'",
            url->text, X509_verify_cert_error_string(verify));
    }
    switch (ERR_GET_REASON(ERR_peek_error())) {
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
        http_tls_reason("", reason, sizeof(reason));
        return vmsctl_http_fail(err, errlen, -EPROTO,
                                "TLS handshake with %s failed: the server "
                                "offers no TLS version from 1.2 on (%s). "
                                "Enable TLS 1.2 or 1.3 on the server",
                                url->text, reason);
    default:
        break;
    }
    http_tls_reason("the server closed the connection", reason,
                    sizeof(reason));
    return vmsctl_http_fail(err, errlen, -EPROTO,
                            "TLS handshake with %s failed: %s. Check that "
                            "vmsd serves HTTPS on this port, or use "
                            "http://",
                            url->text, reason);
}

/*
 * Starts TLS on the connected socket of c: TLS 1.2 or later, with the
 * server's certificate verified against ca_file (NULL: the system's CA
 * store) and checked for the URL's host name or address.
 */
static int http_tls_start(http_conn_t *c, const vmsctl_url_t *url,
                          const char *ca_file, int timeout_ms, char *err,
                          size_t errlen)
{
    char reason[256];
    int ok;
    int rc;

    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx)
        return vmsctl_http_fail(err, errlen, -ENOMEM,
                                "cannot create a TLS context");
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (ca_file)
        ok = SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL);
    else
        ok = SSL_CTX_set_default_verify_paths(c->ctx);
    if (ok != 1) {
        http_tls_reason("no certificate found", reason, sizeof(reason));
        if (ca_file)
            return vmsctl_http_fail(err, errlen, -EPROTO,
                                    "cannot load CA file '%s': %s. Expected "
                                    "PEM certificates, such as the ca.pem "
                                    "written by 'vmsctl tls init'",
                                    ca_file, reason);
        return vmsctl_http_fail(err, errlen, -EPROTO,
                                "cannot load the system's CA certificates: "
                                "%s. Pass --ca-file FILE",
                                reason);
    }
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
        return vmsctl_http_fail(err, errlen, -ENOMEM,
                                "cannot create a TLS session");
    if (http_host_is_address(url->host)) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
                                           url->host);
    } else {
        /* Server Name Indication carries names only (RFC 6066). */
        SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set_tlsext_host_name(c->ssl, url->host) == 1 &&
             SSL_set1_host(c->ssl, url->host) == 1;
    }
    if (ok != 1)
        return vmsctl_http_fail(err, errlen, -EPROTO,
                                "cannot check the certificate for host '%s'",
                                url->host);
    for (;;) {
        int result = SSL_connect(c->ssl);
        short events;

        if (result == 1)
            return 0;
        switch (SSL_get_error(c->ssl, result)) {
        case SSL_ERROR_WANT_READ:
            events = POLLIN;
            break;
        case SSL_ERROR_WANT_WRITE:
            events = POLLOUT;
            break;
        default:
            return http_tls_failed(c, url, err, errlen);
        }
        rc = http_wait(c->fd, events, timeout_ms);
        if (rc == -ETIMEDOUT)
            return vmsctl_http_fail(err, errlen, -ETIMEDOUT,
                                    "TLS handshake with %s timed out after "
                                    "%d ms",
                                    url->text, timeout_ms);
        if (rc < 0)
            return vmsctl_http_fail(err, errlen, rc, "poll failed: %s",
                                    strerror(-rc));
    }
}

/* Closes the TLS session, if any, and the socket. */
static void http_conn_close(http_conn_t *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->ctx = NULL;
    c->fd = -1;
}

/*
 * Writes up to n bytes. Returns the number written, -EAGAIN with
 * *events set to what to wait for, or another negative errno with err
 * set.
 */
static ssize_t http_conn_write(http_conn_t *c, const char *p, size_t n,
                               short *events, char *err, size_t errlen)
{
    char reason[256];
    ssize_t sent;
    int result;

    if (!c->ssl) {
        sent = send(c->fd, p, n, MSG_NOSIGNAL);
        if (sent >= 0)
            return sent;
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
            *events = POLLOUT;
            return -EAGAIN;
        }
        return vmsctl_http_fail(err, errlen, -errno,
                                "sending the request failed: %s",
                                strerror(errno));
    }
    /* A retried SSL_write() must pass the same bytes again, which the
     * caller does because it retries from the same p and n. */
    result = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
    if (result > 0)
        return result;
    switch (SSL_get_error(c->ssl, result)) {
    case SSL_ERROR_WANT_READ:
        *events = POLLIN;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *events = POLLOUT;
        return -EAGAIN;
    default:
        http_tls_reason(strerror(errno), reason, sizeof(reason));
        return vmsctl_http_fail(err, errlen, -EPROTO,
                                "sending the request over TLS failed: %s",
                                reason);
    }
}

/*
 * Reads up to n bytes. Returns the number read, 0 at the end of the
 * response, -EAGAIN with *events set to what to wait for, or another
 * negative errno with err set.
 */
static ssize_t http_conn_read(http_conn_t *c, char *p, size_t n,
                              short *events, char *err, size_t errlen)
{
    char reason[256];
    ssize_t got;
    int result;

    if (!c->ssl) {
        got = recv(c->fd, p, n, 0);
        if (got >= 0)
            return got;
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
            *events = POLLIN;
            return -EAGAIN;
        }
        return vmsctl_http_fail(err, errlen, -errno,
                                "reading the response failed: %s",
                                strerror(errno));
    }
    result = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
    if (result > 0)
        return result;
    switch (SSL_get_error(c->ssl, result)) {
    case SSL_ERROR_ZERO_RETURN:
        return 0; /* the server's close_notify */
    case SSL_ERROR_WANT_READ:
        *events = POLLIN;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *events = POLLOUT;
        return -EAGAIN;
    default:
        /* A connection closed without close_notify is an error too:
         * a response that ends with the connection could be cut short
         * by an attacker. Responses with Content-Length or chunked
         * coding are complete before that. */
        http_tls_reason(strerror(errno), reason, sizeof(reason));
        return vmsctl_http_fail(err, errlen, -EPROTO,
                                "reading the response over TLS failed: %s",
                                reason);
    }
}

/* Sends all n bytes at p. */
static int http_send_all(http_conn_t *c, const char *p, size_t n,
                         int timeout_ms, char *err, size_t errlen)
{
    while (n > 0) {
        short events = 0;
        ssize_t sent = http_conn_write(c, p, n, &events, err, errlen);
        int rc;

        if (sent >= 0) {
            p += sent;
            n -= (size_t)sent;
            continue;
        }
        if (sent != -EAGAIN)
            return (int)sent;
        rc = http_wait(c->fd, events, timeout_ms);
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

/* Reads until the buffered bytes form a whole response. */
static int http_receive(http_conn_t *c, int timeout_ms,
                        vmsctl_http_response_t *resp, char *err,
                        size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    int rc;

    for (;;) {
        short events = 0;
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
        got = http_conn_read(c, buf + len, cap - len, &events, err, errlen);
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
        if (got != -EAGAIN) {
            char reason[256];

            snprintf(reason, sizeof(reason), "%s", err ? err : "");
            rc = vmsctl_http_fail(err, errlen, (int)got,
                                  "%s (after %zu bytes)", reason, len);
            goto fail;
        }
        rc = http_wait(c->fd, events, timeout_ms);
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
    http_conn_t conn = {.fd = -1};
    int rc;

    memset(resp, 0, sizeof(*resp));
    rc = http_build_head(url, req, head, sizeof(head), &head_len, err, errlen);
    if (rc < 0)
        return rc;
    rc = http_connect(url, req->connect_timeout_ms, &conn.fd, err, errlen);
    if (rc < 0)
        return rc;
    if (url->tls)
        rc = http_tls_start(&conn, url, req->ca_file, req->io_timeout_ms, err,
                            errlen);
    if (rc == 0)
        rc = http_send_all(&conn, head, head_len, req->io_timeout_ms, err,
                           errlen);
    if (rc == 0 && req->body_len > 0)
        rc = http_send_all(&conn, req->body, req->body_len,
                           req->io_timeout_ms, err, errlen);
    if (rc == 0)
        rc = http_receive(&conn, req->io_timeout_ms, resp, err, errlen);
    http_conn_close(&conn);
    return rc;
}
