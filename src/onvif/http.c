/*
 * Minimal HTTP/1.1 client for SOAP: one POST per connection
 * ("Connection: close"), over TCP or TLS (OpenSSL), with a deadline for
 * the whole exchange and a cap on the response size. Responses are read
 * until the parser reports them complete, so a camera that keeps the
 * connection open after a Content-Length body does not stall us.
 */
#include "onvif/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

int onvif_url_parse(const char *url, onvif_url_t *out, onvif_err_t *err)
{
    const char *p, *host_end, *path;
    size_t hlen;

    memset(out, 0, sizeof(*out));
    if (url == NULL)
        return onvif_fail(err, -EINVAL, "missing URL");
    if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
        out->port = 80;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        p = url + 8;
        out->tls = true;
        out->port = 443;
    } else {
        return onvif_fail(err, -EINVAL, "invalid URL '%s': expected "
                          "http:// or https://", url);
    }
    path = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(path - p)) != NULL)
        return onvif_fail(err, -EINVAL, "invalid URL '%s': credentials in "
                          "the URL are not supported, pass them apart", url);
    if (*p == '[') {
        host_end = memchr(p, ']', (size_t)(path - p));
        if (host_end == NULL)
            return onvif_fail(err, -EINVAL, "invalid URL '%s': unclosed "
                              "'[' in IPv6 host", url);
        hlen = (size_t)(host_end - p - 1);
        p++;
        host_end++;
    } else {
        host_end = memchr(p, ':', (size_t)(path - p));
        if (host_end == NULL)
            host_end = path;
        hlen = (size_t)(host_end - p);
    }
    if (hlen == 0 || hlen >= sizeof(out->host))
        return onvif_fail(err, -EINVAL, "invalid URL '%s': empty or too "
                          "long host", url);
    memcpy(out->host, p, hlen);
    out->host[hlen] = '\0';
    if (*host_end == ':') {
        char *end;
        long port = strtol(host_end + 1, &end, 10);

        if (end != path || port < 1 || port > 65535)
            return onvif_fail(err, -EINVAL, "invalid URL '%s': port must "
                              "be 1-65535", url);
        out->port = (int)port;
    } else if (host_end != path) {
        return onvif_fail(err, -EINVAL, "invalid URL '%s'", url);
    }
    if (*path == '\0')
        path = "/";
    if (strlen(path) >= sizeof(out->path))
        return onvif_fail(err, -EINVAL, "invalid URL '%s': path longer "
                          "than %zu bytes", url, sizeof(out->path) - 1);
    snprintf(out->path, sizeof(out->path), "%s%s", *path == '/' ? "" : "/",
             path);
    return 0;
}

void onvif_http_response_clear(onvif_http_response_t *resp)
{
    if (resp == NULL)
        return;
    free(resp->www_authenticate);
    free(resp->content_type);
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

/* Finds "\r\n\r\n" (or "\n\n" from sloppy servers); returns the offset
 * of the body or 0 when the header is not complete. */
static size_t onvif_http_header_end(const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n')
            return i + 2;
        if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    }
    return 0;
}

/* Copies a header value (trimmed) into a new string. */
static char *onvif_http_value(const char *v, size_t n)
{
    char *out;

    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)v[n - 1]))
        n--;
    out = malloc(n + 1);
    if (out != NULL) {
        memcpy(out, v, n);
        out[n] = '\0';
    }
    return out;
}

/* Decodes a chunked body starting at buf[0..len). Returns 0 with a new
 * body when the last chunk was seen, -EAGAIN when more is needed,
 * -EBADMSG when malformed. */
static int onvif_http_dechunk(const char *buf, size_t len, char **body,
                              size_t *body_len, onvif_err_t *err)
{
    size_t pos = 0, out_len = 0;
    char *out = malloc(len + 1);

    if (out == NULL)
        return onvif_fail(err, -ENOMEM, "out of memory");
    for (;;) {
        const char *line_end = memchr(buf + pos, '\n', len - pos);
        unsigned long long size = 0;
        size_t i, digits = 0;

        if (line_end == NULL)
            goto again;
        for (i = pos; buf + i < line_end && isxdigit((unsigned char)buf[i]);
             i++) {
            int c = tolower((unsigned char)buf[i]);

            if (++digits > 8)
                goto bad;
            size = size * 16 + (unsigned)(isdigit(c) ? c - '0' : c - 'a' + 10);
        }
        if (digits == 0)
            goto bad;
        pos = (size_t)(line_end - buf) + 1;
        if (size == 0) {
            /* Trailers are skipped up to the empty line. */
            for (;;) {
                line_end = memchr(buf + pos, '\n', len - pos);
                if (line_end == NULL)
                    goto again;
                if (line_end == buf + pos ||
                    (line_end == buf + pos + 1 && buf[pos] == '\r'))
                    break;
                pos = (size_t)(line_end - buf) + 1;
            }
            out[out_len] = '\0';
            *body = out;
            *body_len = out_len;
            return 0;
        }
        if (len - pos < size + 1)
            goto again;
        memcpy(out + out_len, buf + pos, size);
        out_len += size;
        pos += size;
        if (buf[pos] == '\r')
            pos++;
        if (pos >= len)
            goto again;
        if (buf[pos] != '\n')
            goto bad;
        pos++;
    }
again:
    free(out);
    return -EAGAIN;
bad:
    free(out);
    return onvif_fail(err, -EBADMSG, "malformed chunked HTTP body");
}

/* Tells whether buf ends with an empty line ("\n\n" or "\n\r\n"). */
static bool onvif_http_ends_blank(const char *buf, size_t len)
{
    if (len < 2 || buf[len - 1] != '\n')
        return false;
    if (buf[len - 2] == '\n')
        return true;
    return len >= 3 && buf[len - 2] == '\r' && buf[len - 3] == '\n';
}

/* Largest header block accepted. The receive loop parses again after
 * every read, so the cap also bounds the repeated header scans. */
#define ONVIF_HTTP_MAX_HEADER 65536

int onvif_http_response_parse(const char *buf, size_t len, bool eof,
                              onvif_http_response_t *out, onvif_err_t *err)
{
    size_t hdr_end, pos;
    long long content_length = -1;
    bool chunked = false;
    int major, minor, status, rc;
    const char *line, *next;
    char status_line[64];

    memset(out, 0, sizeof(*out));
    hdr_end = onvif_http_header_end(
        buf, len < ONVIF_HTTP_MAX_HEADER ? len : ONVIF_HTTP_MAX_HEADER);
    if (hdr_end == 0) {
        if (len >= ONVIF_HTTP_MAX_HEADER)
            return onvif_fail(err, -EBADMSG, "HTTP header longer than %d "
                              "bytes", ONVIF_HTTP_MAX_HEADER);
        if (eof)
            return onvif_fail(err, -EBADMSG, "connection closed before the "
                              "end of the HTTP header (%zu bytes)", len);
        return -EAGAIN;
    }
    /* buf is not NUL-terminated: scan a bounded copy of the line. */
    memcpy(status_line, buf, hdr_end < sizeof(status_line) - 1
                                 ? hdr_end
                                 : sizeof(status_line) - 1);
    status_line[hdr_end < sizeof(status_line) - 1 ? hdr_end
                                                  : sizeof(status_line) - 1] =
        '\0';
    if (hdr_end < 12 || sscanf(status_line, "HTTP/%1d.%1d %3d", &major,
                               &minor, &status) != 3 || status < 100 ||
        status > 599)
        return onvif_fail(err, -EBADMSG, "invalid HTTP status line");
    out->status = status;

    line = memchr(buf, '\n', hdr_end);
    for (line = line + 1; line < buf + hdr_end; line = next + 1) {
        const char *colon;
        size_t n;

        next = memchr(line, '\n', (size_t)(buf + hdr_end - line));
        if (next == NULL)
            break;
        n = (size_t)(next - line);
        colon = memchr(line, ':', n);
        if (colon == NULL)
            continue;
        if ((size_t)(colon - line) == 14 &&
            strncasecmp(line, "Content-Length", 14) == 0) {
            char *v = onvif_http_value(colon + 1, (size_t)(next - colon - 1));
            char *end;

            content_length = v != NULL ? strtoll(v, &end, 10) : -1;
            if (v == NULL || end == v || *end != '\0' || content_length < 0) {
                free(v);
                rc = onvif_fail(err, -EBADMSG, "invalid Content-Length");
                goto fail;
            }
            free(v);
        } else if ((size_t)(colon - line) == 17 &&
                   strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            char *v = onvif_http_value(colon + 1, (size_t)(next - colon - 1));

            chunked = v != NULL && strcasestr(v, "chunked") != NULL;
            free(v);
        } else if ((size_t)(colon - line) == 12 &&
                   strncasecmp(line, "Content-Type", 12) == 0 &&
                   out->content_type == NULL) {
            out->content_type =
                onvif_http_value(colon + 1, (size_t)(next - colon - 1));
        } else if ((size_t)(colon - line) == 16 &&
                   strncasecmp(line, "WWW-Authenticate", 16) == 0 &&
                   out->www_authenticate == NULL) {
            char *v = onvif_http_value(colon + 1, (size_t)(next - colon - 1));

            if (v != NULL && strncasecmp(v, "Digest ", 7) == 0)
                out->www_authenticate = v;
            else
                free(v);
        }
    }

    pos = hdr_end;
    if (chunked && !eof && !onvif_http_ends_blank(buf + pos, len - pos)) {
        /* A complete chunked body ends with an empty line, so there is
         * no need to decode the whole body again before one arrives. */
        rc = -EAGAIN;
        goto fail;
    }
    if (chunked) {
        rc = onvif_http_dechunk(buf + pos, len - pos, &out->body,
                                &out->body_len, err);
        if (rc == -EAGAIN && eof)
            rc = onvif_fail(err, -EBADMSG, "connection closed inside a "
                            "chunked HTTP body");
        if (rc < 0)
            goto fail;
        return 0;
    }
    if (content_length >= 0) {
        if ((unsigned long long)content_length > len - pos) {
            if (eof) {
                rc = onvif_fail(err, -EBADMSG, "connection closed after "
                                "%zu of %lld body bytes", len - pos,
                                content_length);
                goto fail;
            }
            rc = -EAGAIN;
            goto fail;
        }
    } else if (!eof && status != 204 && status != 304 && status >= 200) {
        rc = -EAGAIN;
        goto fail;
    } else {
        content_length = (long long)(len - pos);
    }
    out->body = malloc((size_t)content_length + 1);
    if (out->body == NULL) {
        rc = onvif_fail(err, -ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(out->body, buf + pos, (size_t)content_length);
    out->body[content_length] = '\0';
    out->body_len = (size_t)content_length;
    return 0;
fail:
    onvif_http_response_clear(out);
    return rc;
}

/* ---- Connection ------------------------------------------------------ */

typedef struct onvif_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    struct timespec deadline;
} onvif_conn_t;

/* Milliseconds left until the deadline, at least 0. */
static int onvif_conn_left_ms(const onvif_conn_t *c)
{
    struct timespec now;
    long long ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (long long)(c->deadline.tv_sec - now.tv_sec) * 1000 +
         (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
    if (ms < 0)
        return 0;
    if (ms > 3600000)
        return 3600000;
    return (int)ms;
}

/* Waits for events on the socket until the deadline. Returns 0, or
 * -ETIMEDOUT. */
static int onvif_conn_wait(const onvif_conn_t *c, short events)
{
    struct pollfd pfd = {.fd = c->fd, .events = events};
    int left, n;

    for (;;) {
        left = onvif_conn_left_ms(c);
        if (left == 0)
            return -ETIMEDOUT;
        n = poll(&pfd, 1, left);
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* Connects to host:port (every address the name resolves to, in order)
 * with a non-blocking socket, within the deadline. */
static int onvif_conn_tcp(onvif_conn_t *c, const onvif_url_t *u,
                          onvif_err_t *err)
{
    struct addrinfo hints = {0}, *res = NULL, *ai;
    char port[8];
    int rc, last = -EHOSTUNREACH;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", u->port);
    rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc != 0)
        return onvif_fail(err, -EHOSTUNREACH, "%s: cannot resolve host: %s",
                          u->host, gai_strerror(rc));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
                                           SOCK_CLOEXEC, ai->ai_protocol);
        int soerr = 0;
        socklen_t sl = sizeof(soerr);

        if (fd < 0) {
            last = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
            errno != EINPROGRESS) {
            last = -errno;
            close(fd);
            continue;
        }
        c->fd = fd;
        rc = onvif_conn_wait(c, POLLOUT);
        if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0
            && soerr == 0) {
            freeaddrinfo(res);
            return 0;
        }
        last = rc < 0 ? rc : -soerr;
        close(fd);
        c->fd = -1;
        if (rc == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (last == -ETIMEDOUT)
        return onvif_fail(err, last, "%s:%d: connect timed out", u->host,
                          u->port);
    return onvif_fail(err, last, "%s:%d: connect failed: %s", u->host,
                      u->port, strerror(-last));
}

/* Runs the TLS handshake within the deadline. */
static int onvif_conn_tls(onvif_conn_t *c, const onvif_url_t *u,
                          const char *ca_file, onvif_err_t *err)
{
    unsigned char addr[sizeof(struct in6_addr)];
    int rc;

    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL)
        return onvif_fail(err, -ENOMEM, "%s: cannot create TLS context",
                          u->host);
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    if (ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1)
            return onvif_fail(err, -EINVAL, "cannot load CA file '%s'; "
                              "check the path and PEM format", ca_file);
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    }
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return onvif_fail(err, -ENOMEM, "%s: cannot create TLS session",
                          u->host);
    if (inet_pton(AF_INET, u->host, &addr) == 1 ||
        inet_pton(AF_INET6, u->host, &addr) == 1) {
        /* Cameras are mostly reached by address: check the IP SAN. */
        if (ca_file != NULL)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host);
    } else {
        SSL_set_tlsext_host_name(c->ssl, u->host);
        if (ca_file != NULL)
            SSL_set1_host(c->ssl, u->host);
    }
    for (;;) {
        rc = SSL_connect(c->ssl);
        if (rc == 1)
            return 0;
        switch (SSL_get_error(c->ssl, rc)) {
        case SSL_ERROR_WANT_READ:
            rc = onvif_conn_wait(c, POLLIN);
            break;
        case SSL_ERROR_WANT_WRITE:
            rc = onvif_conn_wait(c, POLLOUT);
            break;
        default: {
            char msg[160];
            long verify = SSL_get_verify_result(c->ssl);

            if (verify != X509_V_OK)
                return onvif_fail(err, -EPROTO, "%s:%d: TLS certificate "
                                  "rejected: %s; check the CA file or the "
                                  "camera address", u->host, u->port,
                                  X509_verify_cert_error_string(verify));
            ERR_error_string_n(ERR_get_error(), msg, sizeof(msg));
            return onvif_fail(err, -EPROTO, "%s:%d: TLS handshake failed: "
                              "%s", u->host, u->port, msg);
        }
        }
        if (rc < 0)
            return onvif_fail(err, rc, "%s:%d: TLS handshake timed out",
                              u->host, u->port);
    }
}

static void onvif_conn_close(onvif_conn_t *c)
{
    if (c->ssl != NULL)
        SSL_free(c->ssl);
    if (c->ctx != NULL)
        SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->ctx = NULL;
    c->fd = -1;
}

/* Writes all of buf within the deadline. */
static int onvif_conn_write(onvif_conn_t *c, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n;
        int rc;

        if (c->ssl != NULL) {
            int r = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX
                                                           : (int)len);
            if (r > 0) {
                n = r;
            } else {
                int e = SSL_get_error(c->ssl, r);

                if (e == SSL_ERROR_WANT_READ)
                    rc = onvif_conn_wait(c, POLLIN);
                else if (e == SSL_ERROR_WANT_WRITE)
                    rc = onvif_conn_wait(c, POLLOUT);
                else
                    return -EPIPE;
                if (rc < 0)
                    return rc;
                continue;
            }
        } else {
            n = send(c->fd, buf, len, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                    rc = onvif_conn_wait(c, POLLOUT);
                    if (rc < 0)
                        return rc;
                    continue;
                }
                return -errno;
            }
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads what is available into buf within the deadline. Returns bytes
 * read, 0 at end of stream, or a negative code. */
static ssize_t onvif_conn_read(onvif_conn_t *c, char *buf, size_t len)
{
    for (;;) {
        int rc;

        if (c->ssl != NULL) {
            int r = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX
                                                          : (int)len);
            int e;

            if (r > 0)
                return r;
            e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN)
                return 0;
            if (e == SSL_ERROR_WANT_READ)
                rc = onvif_conn_wait(c, POLLIN);
            else if (e == SSL_ERROR_WANT_WRITE)
                rc = onvif_conn_wait(c, POLLOUT);
            else if (e == SSL_ERROR_SYSCALL && r == 0)
                return 0; /* closed without close_notify, common */
            else
                return -EPROTO;
        } else {
            ssize_t n = recv(c->fd, buf, len, 0);

            if (n >= 0)
                return n;
            if (errno != EAGAIN && errno != EINTR)
                return -errno;
            rc = onvif_conn_wait(c, POLLIN);
        }
        if (rc < 0)
            return rc;
    }
}

int onvif_http_post(const onvif_http_request_t *req,
                    onvif_http_response_t *resp, onvif_err_t *err)
{
    onvif_conn_t c = {.fd = -1};
    onvif_url_t u;
    char *head = NULL, *buf = NULL;
    size_t len = 0, cap = 0, max;
    int rc, n;

    memset(resp, 0, sizeof(*resp));
    rc = onvif_url_parse(req->url, &u, err);
    if (rc < 0)
        return rc;
    max = req->max_response_bytes ? req->max_response_bytes
                                  : ONVIF_DEFAULT_MAX_RESPONSE;
    clock_gettime(CLOCK_MONOTONIC, &c.deadline);
    c.deadline.tv_sec += (req->timeout_ms > 0 ? req->timeout_ms
                                              : ONVIF_DEFAULT_TIMEOUT_MS) /
                         1000;
    c.deadline.tv_nsec += (long)((req->timeout_ms > 0
                                      ? req->timeout_ms
                                      : ONVIF_DEFAULT_TIMEOUT_MS) %
                                 1000) * 1000000;
    if (c.deadline.tv_nsec >= 1000000000) {
        c.deadline.tv_sec++;
        c.deadline.tv_nsec -= 1000000000;
    }

    rc = onvif_conn_tcp(&c, &u, err);
    if (rc < 0)
        goto fail;
    if (u.tls) {
        rc = onvif_conn_tls(&c, &u, req->tls_ca_file, err);
        if (rc < 0)
            goto fail;
    }

    n = asprintf(&head,
                 "POST %s HTTP/1.1\r\n"
                 "Host: %s%s%s:%d\r\n"
                 "Content-Type: application/soap+xml; charset=utf-8%s%s%s\r\n"
                 "Content-Length: %zu\r\n"
                 "%s%s%s"
                 "Connection: close\r\n"
                 "\r\n",
                 u.path, strchr(u.host, ':') ? "[" : "", u.host,
                 strchr(u.host, ':') ? "]" : "", u.port,
                 req->soap_action ? "; action=\"" : "",
                 req->soap_action ? req->soap_action : "",
                 req->soap_action ? "\"" : "", req->body_len,
                 req->authorization ? "Authorization: " : "",
                 req->authorization ? req->authorization : "",
                 req->authorization ? "\r\n" : "");
    if (n < 0) {
        head = NULL;
        rc = onvif_fail(err, -ENOMEM, "out of memory");
        goto fail;
    }
    rc = onvif_conn_write(&c, head, (size_t)n);
    if (rc == 0)
        rc = onvif_conn_write(&c, req->body, req->body_len);
    if (rc < 0) {
        onvif_fail(err, rc, "%s: sending the request failed: %s", req->url,
                   rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
        goto fail;
    }

    for (;;) {
        ssize_t got;

        if (cap - len < 16384) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *grown;

            if (ncap > max + 1)
                ncap = max + 1;
            if (ncap <= len) {
                rc = onvif_fail(err, -EMSGSIZE, "%s: response exceeds the "
                                "limit of %zu bytes; the camera sent too "
                                "much, or raise max_response_bytes",
                                req->url, max);
                goto fail;
            }
            grown = realloc(buf, ncap);
            if (grown == NULL) {
                rc = onvif_fail(err, -ENOMEM, "out of memory");
                goto fail;
            }
            buf = grown;
            cap = ncap;
        }
        got = onvif_conn_read(&c, buf + len, cap - len);
        if (got < 0) {
            rc = (int)got;
            if (rc == -ETIMEDOUT)
                onvif_fail(err, rc, "%s: no complete response within %d "
                           "ms (%zu bytes received)", req->url,
                           req->timeout_ms > 0 ? req->timeout_ms
                                               : ONVIF_DEFAULT_TIMEOUT_MS,
                           len);
            else
                onvif_fail(err, rc, "%s: receiving the response failed: %s",
                           req->url, strerror(-rc));
            goto fail;
        }
        len += (size_t)got;
        if (len > max) {
            rc = onvif_fail(err, -EMSGSIZE, "%s: response exceeds the limit "
                            "of %zu bytes; the camera sent too much, or "
                            "raise max_response_bytes", req->url, max);
            goto fail;
        }
        rc = onvif_http_response_parse(buf, len, got == 0, resp, err);
        if (rc == 0)
            break;
        if (rc != -EAGAIN) {
            char msg[sizeof(err->msg)];

            snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
            onvif_fail(err, rc, "%s: %s", req->url, msg);
            goto fail;
        }
        if (got == 0) {
            rc = onvif_fail(err, -EBADMSG, "%s: connection closed early",
                            req->url);
            goto fail;
        }
    }
    rc = 0;
fail:
    free(head);
    free(buf);
    onvif_conn_close(&c);
    return rc;
}

/* ---- HTTP Digest ----------------------------------------------------- */

/* Finds key="value" or key=value in a Digest challenge; copies the value
 * into dst. Returns whether it was found. */
static bool onvif_digest_param(const char *chal, const char *key, char *dst,
                               size_t size)
{
    const char *p = chal;
    size_t klen = strlen(key);

    dst[0] = '\0';
    while ((p = strcasestr(p, key)) != NULL) {
        const char *v;
        size_t n = 0;

        if ((p != chal && p[-1] != ' ' && p[-1] != ',' && p[-1] != '\t') ||
            p[klen] != '=') {
            p += klen;
            continue;
        }
        v = p + klen + 1;
        if (*v == '"') {
            v++;
            while (v[n] != '\0' && v[n] != '"')
                n++;
        } else {
            while (v[n] != '\0' && v[n] != ',' && v[n] != ' ')
                n++;
        }
        if (n >= size)
            return false;
        memcpy(dst, v, n);
        dst[n] = '\0';
        return true;
    }
    return false;
}

/* Hex digest of the NUL-separated-free string s with md. */
static void onvif_digest_hex(const EVP_MD *md, const char *s, char *hex)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    EVP_Digest(s, strlen(s), d, &n, md, NULL);
    for (i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
    hex[2 * n] = '\0';
}

int onvif_http_digest(const char *challenge, const char *method,
                      const char *uri, const char *user,
                      const char *password, char **out, onvif_err_t *err)
{
    unsigned char rnd[16];
    char cnonce[33];
    int i;

    *out = NULL;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return onvif_fail(err, -EIO, "no random bytes for the cnonce");
    for (i = 0; i < 16; i++)
        sprintf(cnonce + 2 * i, "%02x", rnd[i]);
    return onvif_http_digest_cnonce(challenge, method, uri, user, password,
                                    cnonce, out, err);
}

int onvif_http_digest_cnonce(const char *challenge, const char *method,
                             const char *uri, const char *user,
                             const char *password, const char *cnonce,
                             char **out, onvif_err_t *err)
{
    char realm[256], nonce[256], opaque[256], qop[64], algo[32];
    char ha1[2 * EVP_MAX_MD_SIZE + 1], ha2[sizeof(ha1)], resp[sizeof(ha1)];
    char *tmp = NULL;
    const EVP_MD *md = EVP_md5();
    bool use_qop;
    int n;

    *out = NULL;
    if (!onvif_digest_param(challenge, "realm", realm, sizeof(realm)) ||
        !onvif_digest_param(challenge, "nonce", nonce, sizeof(nonce)))
        return onvif_fail(err, -EPROTO, "invalid Digest challenge: realm "
                          "or nonce missing");
    onvif_digest_param(challenge, "opaque", opaque, sizeof(opaque));
    onvif_digest_param(challenge, "qop", qop, sizeof(qop));
    onvif_digest_param(challenge, "algorithm", algo, sizeof(algo));
    if (strcasecmp(algo, "SHA-256") == 0)
        md = EVP_sha256();
    else if (algo[0] != '\0' && strcasecmp(algo, "MD5") != 0)
        return onvif_fail(err, -EOPNOTSUPP, "Digest algorithm '%s' is not "
                          "supported (MD5 and SHA-256 are)", algo);
    use_qop = strstr(qop, "auth") != NULL;

    if (asprintf(&tmp, "%s:%s:%s", user, realm, password ? password : "")
        < 0)
        goto oom;
    onvif_digest_hex(md, tmp, ha1);
    free(tmp);
    if (asprintf(&tmp, "%s:%s", method, uri) < 0)
        goto oom;
    onvif_digest_hex(md, tmp, ha2);
    free(tmp);
    if (use_qop)
        n = asprintf(&tmp, "%s:%s:00000001:%s:auth:%s", ha1, nonce, cnonce,
                     ha2);
    else
        n = asprintf(&tmp, "%s:%s:%s", ha1, nonce, ha2);
    if (n < 0)
        goto oom;
    onvif_digest_hex(md, tmp, resp);
    free(tmp);

    n = asprintf(out,
                 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
                 "uri=\"%s\", response=\"%s\"%s%s%s%s%s%s%s%s",
                 user, realm, nonce, uri, resp,
                 algo[0] ? ", algorithm=" : "", algo,
                 use_qop ? ", qop=auth, nc=00000001, cnonce=\"" : "",
                 use_qop ? cnonce : "", use_qop ? "\"" : "",
                 opaque[0] ? ", opaque=\"" : "", opaque,
                 opaque[0] ? "\"" : "");
    if (n < 0) {
        *out = NULL;
        goto oom;
    }
    return 0;
oom:
    free(*out);
    *out = NULL;
    return onvif_fail(err, -ENOMEM, "out of memory");
}
