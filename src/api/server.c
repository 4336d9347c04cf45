/*
 * libwebsockets plumbing: the listening socket, request dispatch,
 * response sending and the live WebSocket viewers.
 *
 * All connection state is touched only on the event-loop thread. Other
 * threads (ingest delivering live fragments, playback export workers)
 * wake it with lws_cancel_service(); LWS_CALLBACK_EVENT_WAIT_CANCELLED
 * then requests a write callback on each connection that has data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/deferred.h"
#include "api/internal.h"
#include "common/config.h"
#include "common/log.h"

#include <openssl/ssl.h>

/* Bytes sent per write callback: small enough to keep one connection
 * from holding the loop, large enough to keep syscalls few. */
#define API_CHUNK 65536

static unsigned char api_scratch[LWS_PRE + API_CHUNK];

/* Resets the HTTP request state for a new transaction on a kept-alive
 * connection. */
static void api_conn_reset(api_conn_t *c)
{
    free(c->body);
    c->body = NULL;
    c->body_len = 0;
    c->body_too_large = 0;
    vms_buf_unref(c->resp);
    c->resp = NULL;
    c->resp_off = 0;
    if (c->fd > 0)
        close(c->fd);
    c->fd = -1;
    c->sending = 0;
    auth_principal_free(c->principal);
    c->principal = NULL;
    explicit_bzero(c->token, sizeof(c->token));
}

/* Appends "name: value\r\n" lines from extra (may be NULL) to the
 * header buffer. */
static int api_add_extra_headers(struct lws *wsi, const char *extra,
                                 unsigned char **p, unsigned char *end)
{
    char line[512];

    while (extra && *extra) {
        const char *eol = strstr(extra, "\r\n");
        size_t len = eol ? (size_t)(eol - extra) : strlen(extra);
        char *colon;

        if (len >= sizeof(line))
            return -1;
        memcpy(line, extra, len);
        line[len] = '\0';
        colon = strchr(line, ':');
        if (colon) {
            char name[128];
            const char *value = colon + 1;
            size_t nlen = (size_t)(colon - line);

            while (*value == ' ')
                value++;
            if (nlen + 2 > sizeof(name))
                return -1;
            memcpy(name, line, nlen);
            name[nlen] = ':';
            name[nlen + 1] = '\0';
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                            (const unsigned char *)value,
                                            (int)strlen(value), p, end))
                return -1;
        }
        extra = eol ? eol + 2 : extra + len;
    }
    return 0;
}

/* Writes the status line and headers. */
static int api_write_headers(api_conn_t *c, int status,
                             const char *content_type, off_t length,
                             const char *extra)
{
    unsigned char buf[LWS_PRE + 4096];
    unsigned char *start = buf + LWS_PRE;
    unsigned char *p = start;
    unsigned char *end = buf + sizeof(buf) - 1;
    /* The page loads nothing from other origins, may not be framed and
     * sends no Referer. */
    static const char security[] =
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "X-Frame-Options: DENY\r\n"
        "Content-Security-Policy: default-src 'self'; "
        "connect-src 'self'; media-src 'self' blob:; "
        "img-src 'self' blob: data:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'\r\n";
    static const char hsts[] =
        "Strict-Transport-Security: max-age=31536000\r\n";

    if (lws_add_http_common_headers(c->wsi, (unsigned)status, content_type,
                                    (lws_filepos_t)length, &p, end) ||
        api_add_extra_headers(c->wsi, security, &p, end) ||
        (c->tls && api_add_extra_headers(c->wsi, hsts, &p, end)) ||
        api_add_extra_headers(c->wsi, extra, &p, end) ||
        lws_finalize_write_http_header(c->wsi, start, &p, end))
        return -1;
    return 0;
}

/* Ends the transaction after the headers when there is no body. */
static int api_finish(api_conn_t *c)
{
    c->sending = 0;
    if (lws_http_transaction_completed(c->wsi))
        return -1;
    return 0;
}

int api_respond(api_conn_t *c, int status, const char *content_type,
                vms_buf_t *body, const char *extra_headers)
{
    size_t len = body ? body->len : 0;

    if (api_write_headers(c, status, content_type, (off_t)len, extra_headers) <
        0) {
        vms_buf_unref(body);
        return -1;
    }
    if (!body || len == 0 || c->method == API_HEAD) {
        vms_buf_unref(body);
        return api_finish(c);
    }
    c->resp = body;
    c->resp_off = 0;
    c->sending = 1;
    lws_callback_on_writable(c->wsi);
    return 0;
}

int api_respond_json(api_conn_t *c, int status, json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT);
    vms_buf_t *body;

    json_decref(value);
    if (!text)
        return api_respond(c, 500, "text/plain", NULL, NULL);
    body = vms_buf_new(text, strlen(text));
    free(text);
    return api_respond(c, status, "application/json", body, NULL);
}

int api_respond_error(api_conn_t *c, int status, const char *fmt, ...)
{
    char msg[1024];
    json_t *text;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The message may quote a path or query value that is not UTF-8,
     * which json_pack() rejects: replace such bytes so that the client
     * still gets its 4xx with a message instead of a 500. */
    text = json_string(msg);
    if (text)
        json_decref(text);
    else
        for (char *s = msg; *s; s++)
            if ((unsigned char)*s >= 0x80)
                *s = '?';
    if (status >= 500)
        vms_log(VMS_LOG_ERROR, "api", "path=%s status=%d error=\"%s\"", c->path,
                status, msg);
    else
        vms_log(VMS_LOG_DEBUG, "api", "path=%s status=%d error=\"%s\"", c->path,
                status, msg);
    return api_respond_json(c, status, json_pack("{s:s}", "error", msg));
}

/* Guesses a Content-Type from a file name. */
static const char *api_content_type(const char *path)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".mp4", "video/mp4"},
        {".jpg", "image/jpeg"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Parses a single "bytes=" range against size. Returns 1 with
 * [*first, *last] set, 0 if the header should be ignored (absent or
 * several ranges), -1 if it cannot be satisfied. */
static int api_parse_range(const char *h, off_t size, off_t *first, off_t *last)
{
    char *end;
    long long a;
    long long b;

    if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    h += 6;
    if (*h == '-') {
        b = strtoll(h + 1, &end, 10);
        if (end == h + 1 || *end || b <= 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return size > 0 ? 1 : -1;
    }
    a = strtoll(h, &end, 10);
    if (end == h || *end != '-' || a < 0)
        return -1;
    h = end + 1;
    if (*h == '\0') {
        b = size - 1;
    } else {
        b = strtoll(h, &end, 10);
        if (*end || b < a)
            return -1;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *first = a;
    *last = b;
    return 1;
}

int api_respond_file(api_conn_t *c, const char *path, const char *content_type,
                     const char *extra_headers)
{
    char range[128];
    char headers[1024];
    struct stat st;
    off_t first = 0;
    off_t last;
    int status = 200;
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return api_respond_error(c, 404, "not found: %s", c->path);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return api_respond_error(c, 404, "not found: %s", c->path);
    }
    last = st.st_size - 1;
    if (lws_hdr_copy(c->wsi, range, sizeof(range), WSI_TOKEN_HTTP_RANGE) > 0)
        rc = api_parse_range(range, st.st_size, &first, &last);
    if (rc < 0) {
        close(fd);
        snprintf(headers, sizeof(headers), "Content-Range: bytes */%lld",
                 (long long)st.st_size);
        return api_respond(c, 416, "text/plain", NULL, headers);
    }
    snprintf(headers, sizeof(headers), "Accept-Ranges: bytes\r\n%s",
             extra_headers ? extra_headers : "");
    if (rc == 1) {
        size_t n = strlen(headers);
        status = 206;
        snprintf(headers + n, sizeof(headers) - n,
                 "%sContent-Range: bytes %lld-%lld/%lld",
                 n && headers[n - 1] != '\n' ? "\r\n" : "", (long long)first,
                 (long long)last, (long long)st.st_size);
    }
    if (api_write_headers(c, status,
                          content_type ? content_type : api_content_type(path),
                          last - first + 1, headers) < 0) {
        close(fd);
        return -1;
    }
    if (c->method == API_HEAD || last < first) {
        close(fd);
        return api_finish(c);
    }
    c->fd = fd;
    c->file_off = first;
    c->file_end = last + 1;
    c->sending = 1;
    lws_callback_on_writable(c->wsi);
    return 0;
}

const char *api_query(api_conn_t *c, const char *name, char *buf, size_t len)
{
    char key[64];
    char arg[API_PATH_MAX];
    const char *value;
    size_t n;

    /* lws copies "name=value" into its buffer, so a value that fits the
     * caller's buffer may not fit there with its name. */
    snprintf(key, sizeof(key), "%s=", name);
    value = lws_get_urlarg_by_name(c->wsi, key, arg, (int)sizeof(arg));
    if (!value || len == 0)
        return NULL;
    n = strlen(value);
    if (n >= len) {
        /* Too long for any valid value: keep a prefix that no parser
         * accepts, so the error names the parameter. */
        n = len - 1;
        memcpy(buf, value, n);
        buf[n - (n > 0)] = '?';
        buf[n] = '\0';
        return buf;
    }
    memcpy(buf, value, n + 1);
    return buf;
}

/* Sends the next chunk of the response body. */
static int api_http_writeable(api_conn_t *c)
{
    unsigned char *out = api_scratch + LWS_PRE;
    size_t n;
    int final;

    if (!c->sending)
        return 0;
    if (c->resp) {
        n = c->resp->len - c->resp_off;
        if (n > API_CHUNK)
            n = API_CHUNK;
        memcpy(out, c->resp->data + c->resp_off, n);
        c->resp_off += n;
        final = c->resp_off == c->resp->len;
    } else if (c->fd >= 0) {
        off_t want = c->file_end - c->file_off;
        ssize_t got;

        if (want > API_CHUNK)
            want = API_CHUNK;
        got = pread(c->fd, out, (size_t)want, c->file_off);
        if (got <= 0)
            return -1; /* the file shrank under us: drop the connection */
        n = (size_t)got;
        c->file_off += got;
        final = c->file_off == c->file_end;
    } else {
        return 0;
    }
    if (lws_write(c->wsi, out, n,
                  final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    if (!final) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    api_conn_reset(c);
    return api_finish(c);
}

static const char *api_method_name(api_method_t method)
{
    static const char *const names[] = {
        [API_GET] = "GET",       [API_HEAD] = "HEAD",
        [API_POST] = "POST",     [API_PUT] = "PUT",
        [API_PATCH] = "PATCH",   [API_DELETE] = "DELETE",
        [API_OTHER] = "OTHER",
    };
    return names[method];
}

int api_request_credential(struct lws *wsi, char *token, size_t len)
{
    char authorization[AUTH_API_KEY_LEN + 64];
    char cookie[4096];
    int from_cookie;
    int rc;

    if (lws_hdr_copy(wsi, authorization, sizeof(authorization),
                     WSI_TOKEN_HTTP_AUTHORIZATION) <= 0)
        authorization[0] = '\0';
    if (lws_hdr_copy(wsi, cookie, sizeof(cookie), WSI_TOKEN_HTTP_COOKIE) <= 0)
        cookie[0] = '\0';
    rc = auth_request_token(authorization[0] ? authorization : NULL,
                            cookie[0] ? cookie : NULL, token, len,
                            &from_cookie);
    explicit_bzero(authorization, sizeof(authorization));
    explicit_bzero(cookie, sizeof(cookie));
    return rc;
}

/* Resolves the credential of the request on wsi (bearer header first,
 * then the session cookie) into *out, which stays NULL without a valid
 * one. token receives the credential and *from_cookie where it came
 * from. Returns 0, or -EINVAL for a malformed credential header. */
static int api_principal_of(api_server_t *srv, struct lws *wsi, char *token,
                            size_t len, int *from_cookie,
                            auth_principal_t **out)
{
    char authorization[AUTH_API_KEY_LEN + 64];
    char cookie[4096];
    int have_auth;
    int have_cookie;
    int rc;

    *out = NULL;
    *from_cookie = 0;
    token[0] = '\0';
    have_auth = lws_hdr_copy(wsi, authorization, sizeof(authorization),
                             WSI_TOKEN_HTTP_AUTHORIZATION) > 0;
    if (!have_auth &&
        lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0)
        return -EINVAL; /* longer than any credential we issue */
    have_cookie = lws_hdr_copy(wsi, cookie, sizeof(cookie),
                               WSI_TOKEN_HTTP_COOKIE) > 0;
    rc = auth_request_token(have_auth ? authorization : NULL,
                            have_cookie ? cookie : NULL, token, len,
                            from_cookie);
    explicit_bzero(authorization, sizeof(authorization));
    explicit_bzero(cookie, sizeof(cookie));
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (auth_resolve(srv->auth, token, out) < 0)
        *out = NULL;
    return 0;
}

/* Checks a request authenticated by cookie against cross-site request
 * forgery: a state-changing request (or any WebSocket upgrade, with
 * state_changing set) must carry an Origin equal to its own scheme and
 * Host. SameSite=Strict cookies already stop most of it in current
 * browsers; this covers older ones. Returns 0 or -1. */
static int api_csrf_check(struct lws *wsi, const char *method, int tls)
{
    char origin[300];
    char host[256];

    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
        origin[0] = '\0';
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
        host[0] = '\0';
    return auth_origin_check(method, origin[0] ? origin : NULL,
                             host[0] ? host : NULL, tls) < 0
               ? -1
               : 0;
}

/* Authenticates and authorizes the request in one place, from the
 * route table in src/auth/route.c. Sets *handled to 0 when the handler
 * may run, else to 1 and returns the result of the error response. */
static int api_authorize(api_conn_t *c, int *handled)
{
    const char *method = api_method_name(c->method);
    const auth_route_t *route = NULL;
    auth_decision_t d;
    int from_cookie = 0;
    int64_t id = 0;

    *handled = 1;
    if (api_principal_of(c->srv, c->wsi, c->token, sizeof(c->token),
                         &from_cookie, &c->principal) < 0)
        return api_respond_error(c, 400,
                                 "malformed Authorization header: expected "
                                 "\"Bearer\" and an API key or session "
                                 "token");
    d = auth_check_request(c->principal, method, c->path, &route, &id);
    if (d == AUTH_ALLOW && c->principal && from_cookie &&
        api_csrf_check(c->wsi, method, c->tls) < 0) {
        api_audit(c, "access.denied", c->path, "denied",
                  "cross-site request: Origin does not match Host");
        return api_respond_error(c, 403,
                                 "cross-site request refused: the Origin "
                                 "header must match this server");
    }
    switch (d) {
    case AUTH_ALLOW:
        *handled = 0;
        return 0;
    case AUTH_UNAUTHORIZED:
        return api_respond_error(c, 401,
                                 "sign in first: send a session cookie or "
                                 "\"Authorization: Bearer KEY\" (the "
                                 "session may have expired)");
    case AUTH_FORBIDDEN:
        api_audit(c, "access.denied", c->path, "denied", "%s", method);
        if (c->principal && c->principal->totp_enrol_required)
            return api_respond_error(c, 403,
                                     "your role requires a second factor: "
                                     "enrol TOTP first");
        return api_respond_error(c, 403,
                                 "user %s has no right to %s %s: ask an "
                                 "administrator for it",
                                 c->principal ? c->principal->user : "-",
                                 method, c->path);
    case AUTH_METHOD_NOT_ALLOWED:
        return api_respond_error(c, 405, "method %s not allowed on %s: see "
                                         "docs/api.yaml",
                                 method, c->path);
    case AUTH_NOT_FOUND:
    default:
        return api_respond_error(c, 404,
                                 "unknown API path %s: see docs/api.yaml",
                                 c->path);
    }
}

/* Dispatches a complete request to its route. */
static int api_dispatch(api_conn_t *c)
{
    const char *path = c->path;
    int handled;
    int rc;

    if (api_deferred_busy(c))
        return 0; /* a second completion of a request already parked */
    c->dispatched = 1;
    /* Checked here rather than when the headers arrive, so that a
     * rejected request's body has been read before the response. */
    if (api_check_origin(c->srv, c->wsi) < 0)
        return api_respond_error(c, 403,
                                 "request from another site refused: open "
                                 "the page at its own address");

    if (c->body_too_large)
        return api_respond_error(c, 413, "request body larger than %d bytes",
                                 API_BODY_MAX);
    if (strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0)
        return api_route_static(c);
    rc = api_authorize(c, &handled);
    if (handled)
        return rc;
    if (strcmp(path, "/api/v1/health") == 0)
        return api_route_health(c);
    if (strncmp(path, "/api/v1/auth/", 13) == 0)
        return api_route_auth(c, path + 12);
    if (strncmp(path, "/api/v1/cameras", 15) == 0 &&
        (path[15] == '\0' || path[15] == '/'))
        return api_route_cameras(c, path + 15);
    if (strcmp(path, "/api/v1/status") == 0)
        return api_route_status(c);
    if (strcmp(path, "/api/v1/storage") == 0)
        return api_route_storage(c);
    if (strncmp(path, "/api/v1/live/", 13) == 0)
        return api_route_live(c, path + 12);
    if (strcmp(path, "/api/v1/live") == 0)
        return api_respond_error(c, 426,
                                 "live video needs a WebSocket upgrade");
    if (strncmp(path, "/api/v1/discovery", 17) == 0 &&
        (path[17] == '\0' || path[17] == '/'))
        return api_route_discovery(c, path + 17);
    if (strncmp(path, "/api/v1/holds", 13) == 0 &&
        (path[13] == '\0' || path[13] == '/'))
        return api_route_holds(c, path + 13);
    if (strncmp(path, "/api/v1/users", 13) == 0 ||
        strncmp(path, "/api/v1/roles", 13) == 0 ||
        strcmp(path, "/api/v1/settings") == 0 ||
        strncmp(path, "/api/v1/audit", 13) == 0)
        return api_route_admin(c, path + 7);
    return api_respond_error(c, 404, "unknown API path %s: see docs/api.yaml",
                             path);
}

void api_audit(api_conn_t *c, const char *action, const char *target,
               const char *outcome, const char *detail_fmt, ...)
{
    char detail[AUTH_AUDIT_TEXT_MAX];
    va_list ap;
    int rc;

    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof(detail), detail_fmt, ap);
    va_end(ap);
    rc = auth_audit_record(c->srv->auth,
                           c->principal ? c->principal->user : "-",
                           c->source, action, target, outcome, detail);
    if (rc < 0)
        vms_log(VMS_LOG_ERROR, "api",
                "action=%s error=\"cannot append to the audit log: %s\"",
                action, strerror(-rc));
}

int api_can(const api_conn_t *c, int64_t camera_id, uint32_t rights)
{
    return c->principal && auth_principal_can(c->principal, camera_id,
                                               rights);
}

static api_method_t api_method_of(struct lws *wsi)
{
    char *uri;
    int len;

    switch (lws_http_get_uri_and_method(wsi, &uri, &len)) {
    case LWSHUMETH_GET:
        return API_GET;
    case LWSHUMETH_HEAD:
        return API_HEAD;
    case LWSHUMETH_POST:
        return API_POST;
    case LWSHUMETH_PUT:
        return API_PUT;
    case LWSHUMETH_PATCH:
        return API_PATCH;
    case LWSHUMETH_DELETE:
        return API_DELETE;
    default:
        return API_OTHER;
    }
}

/* Returns 1 if the host part of a Host or Origin value ("host:port",
 * "[v6]:port", or an origin "scheme://host:port") names this server: a
 * loopback address or the configured listen address. Anything else is a
 * page of another site (or a DNS rebinding) talking to the API. */
static int api_host_allowed(const api_server_t *srv, const char *value)
{
    char host[256];
    const char *start = strstr(value, "://");
    const char *end;
    size_t len;

    start = start ? start + 3 : value;
    if (*start == '[') {
        start++;
        end = strchr(start, ']');
    } else {
        end = strchr(start, ':');
    }
    if (!end)
        end = start + strcspn(start, "/");
    len = (size_t)(end - start);
    if (len == 0 || len >= sizeof(host))
        return 0;
    memcpy(host, start, len);
    host[len] = '\0';
    return vms_config_host_is_loopback(host) || strcmp(host, srv->host) == 0;
}

/* Checks the Host header, and the Origin header when present: requests
 * from pages of other sites are refused, so a web page open in a browser
 * on this machine cannot drive the API. Over plain HTTP (loopback only)
 * both must name this server, which also defeats DNS rebinding. Over
 * TLS the server's names are listed only in its certificate, so an
 * Origin must equal the request's own https://Host, and a rebound name
 * gets no session cookie anyway. Returns 0 or -1. */
int api_check_origin(const api_server_t *srv, struct lws *wsi)
{
    char value[256];
    char host[256];

    if (srv->cfg.tls_cert) {
        if (lws_hdr_copy(wsi, value, sizeof(value), WSI_TOKEN_ORIGIN) <= 0)
            return 0;
        if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
            return -1;
        return auth_origin_check("POST", value, host, 1) < 0 ? -1 : 0;
    }
    if (lws_hdr_copy(wsi, value, sizeof(value), WSI_TOKEN_HOST) > 0 &&
        !api_host_allowed(srv, value))
        return -1;
    if (lws_hdr_copy(wsi, value, sizeof(value), WSI_TOKEN_ORIGIN) > 0 &&
        !api_host_allowed(srv, value))
        return -1;
    return 0;
}

/* Decides a live WebSocket upgrade before the handshake, so that a
 * refused client gets an HTTP status. It applies the route check of any
 * request, the live right on every camera that the URL names, and the
 * Origin check for a browser's cookie. Returns 0 to accept, or -1 after
 * an error response. */
static int api_ws_filter(struct lws *wsi)
{
    api_server_t *srv = lws_context_user(lws_get_context(wsi));
    char token[AUTH_API_KEY_LEN + 1];
    char source[64];
    char uri[256];
    auth_principal_t *p = NULL;
    const char *user = "-";
    int tls = lws_is_ssl(wsi) != 0;
    int from_cookie = 0;
    int status = 0;
    auth_decision_t d;

    lws_get_peer_simple(wsi, source, sizeof(source));
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
        snprintf(uri, sizeof(uri), "/");
    if (api_check_origin(srv, wsi) < 0) {
        status = HTTP_STATUS_FORBIDDEN;
    } else if (api_principal_of(srv, wsi, token, sizeof(token), &from_cookie,
                                &p) < 0) {
        status = HTTP_STATUS_BAD_REQUEST;
    } else {
        d = auth_check_request(p, "GET", uri, NULL, NULL);
        if (d == AUTH_ALLOW && p && from_cookie &&
            api_csrf_check(wsi, "POST", tls) < 0)
            d = AUTH_FORBIDDEN;
        if (d == AUTH_ALLOW && api_live_allowed(wsi, p) == -EACCES)
            d = AUTH_FORBIDDEN;
        if (d == AUTH_ALLOW && api_live_target(wsi, NULL, NULL, NULL) < 0)
            d = AUTH_NOT_FOUND;
        status = d == AUTH_ALLOW ? 0 : (int)d;
    }
    explicit_bzero(token, sizeof(token));
    if (p)
        user = p->user;
    if (status == HTTP_STATUS_FORBIDDEN)
        auth_audit_record(srv->auth, user, source, "access.denied", uri,
                          "denied", "live WebSocket");
    auth_principal_free(p);
    if (status == 0)
        return 0;
    lws_return_http_status(wsi, (unsigned)status, NULL);
    return -1;
}

/* LWS_CALLBACK_HTTP: a request's headers arrived. */
static int api_on_http(api_conn_t *c, struct lws *wsi, const char *uri)
{
    c->srv = lws_context_user(lws_get_context(wsi));
    c->wsi = wsi;
    api_conn_reset(c);
    c->dispatched = 0;
    c->tls = lws_is_ssl(wsi) != 0;
    lws_get_peer_simple(wsi, c->source, sizeof(c->source));
    c->method = api_method_of(wsi);
    snprintf(c->path, sizeof(c->path), "%s", uri ? uri : "/");
    if (c->method == API_POST || c->method == API_PUT ||
        c->method == API_PATCH) {
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
            char len[24];
            lws_hdr_copy(wsi, len, sizeof(len), WSI_TOKEN_HTTP_CONTENT_LENGTH);
            if (atoll(len) > 0)
                return 0; /* wait for LWS_CALLBACK_HTTP_BODY_COMPLETION */
        }
    }
    if (c->method == API_OTHER) {
        /* Marked dispatched so that the completion of a body sent with
         * it does not dispatch the request a second time. */
        c->dispatched = 1;
        return api_respond_error(c, 405, "method not allowed");
    }
    return api_dispatch(c);
}

static int api_on_body(api_conn_t *c, const void *in, size_t len)
{
    char *bigger;

    if (len == 0 || !in)
        return 0;
    if (c->body_too_large || c->body_len + len > API_BODY_MAX) {
        c->body_too_large = 1;
        return 0;
    }
    bigger = realloc(c->body, c->body_len + len + 1);
    if (!bigger) {
        c->body_too_large = 1;
        return 0;
    }
    c->body = bigger;
    memcpy(c->body + c->body_len, in, len);
    c->body_len += len;
    c->body[c->body_len] = '\0';
    return 0;
}

static int api_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len)
{
    api_conn_t *c = user;
    api_server_t *srv;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return api_on_http(c, wsi, in);
    case LWS_CALLBACK_HTTP_BODY:
        return api_on_body(c, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        /* A request without a declared body got its response when its
         * headers arrived; lws may still report an (empty) body. */
        if (c->dispatched)
            return 0;
        return api_dispatch(c);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return api_http_writeable(c);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c) {
            api_export_detach(c);
            api_conn_reset(c);
        }
        break;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return api_ws_filter(wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return api_live_open(c, wsi);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return api_live_writeable(c);
    case LWS_CALLBACK_RECEIVE:
        break; /* viewers send nothing that needs a response */
    case LWS_CALLBACK_CLOSED:
        api_live_close(c);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        srv = lws_context_user(lws_get_context(wsi));
        if (!srv)
            break;
        api_live_poll(srv);
        api_export_poll(srv);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols api_protocols[] = {
    {"vms", api_callback, sizeof(api_conn_t), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *api_thread(void *arg)
{
    api_server_t *srv = arg;

    while (!__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE))
        if (lws_service(srv->ctx, 0) < 0)
            break;
    return NULL;
}

/* Routes libwebsockets' own log lines through ours. */
static void api_lws_log(int level, const char *line)
{
    char msg[512];
    size_t n;

    snprintf(msg, sizeof(msg), "%s", line);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    vms_log(level == LLL_ERR ? VMS_LOG_ERROR : VMS_LOG_WARN, "http",
            "message=\"%s\"", msg);
}

int api_server_start(const api_config_t *cfg, api_server_t **out, char *err,
                     size_t errlen)
{
    struct lws_context_creation_info info;
    api_server_t *srv = calloc(1, sizeof(*srv));
    int rc;

    *out = NULL;
    if (!srv)
        return -ENOMEM;
    srv->cfg = *cfg;
    snprintf(srv->host, sizeof(srv->host), "%s", cfg->host);
    snprintf(srv->web_root, sizeof(srv->web_root), "%s", cfg->web_root);
    snprintf(srv->cache_dir, sizeof(srv->cache_dir), "%s", cfg->cache_dir);
    if (!srv->cfg.live_queue_bytes)
        srv->cfg.live_queue_bytes = (size_t)8 << 20;
    pthread_mutex_init(&srv->jobs_lock, NULL);
    srv->auth = cfg->auth;
    /* Freed by api_server_stop() unless a job still runs then (see
     * api_deferred_start). */
    srv->auth_queue = calloc(1, sizeof(*srv->auth_queue));
    if (!srv->auth_queue) {
        pthread_mutex_destroy(&srv->jobs_lock);
        free(srv);
        return -ENOMEM;
    }
    api_deferred_queue_init(srv->auth_queue);

    lws_set_log_level(LLL_ERR | LLL_WARN, api_lws_log);
    memset(&info, 0, sizeof(info));
    info.port = cfg->port;
    info.iface = srv->host;
    info.protocols = api_protocols;
    info.user = srv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (cfg->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        /* TLS 1.2 and later only. */
        info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                               SSL_OP_NO_TLSv1_1;
    }
    info.server_string = "vmsd";
    info.timeout_secs = 30;
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        if (cfg->tls_cert)
            snprintf(err, errlen,
                     "cannot listen on %s:%d with TLS: the address is in "
                     "use or not local, or %s or %s is not a readable PEM "
                     "certificate and matching key; check listen, "
                     "tls_cert and tls_key in the config file",
                     cfg->host, cfg->port, cfg->tls_cert, cfg->tls_key);
        else
            snprintf(err, errlen,
                     "cannot listen on %s:%d: the address is in use or not "
                     "local; pick another listen address in the config "
                     "file",
                     cfg->host, cfg->port);
        pthread_mutex_destroy(&srv->jobs_lock);
        free(srv);
        return -EADDRINUSE;
    }
    api_live_revoke_start(srv);
    rc = pthread_create(&srv->thread, NULL, api_thread, srv);
    if (rc != 0) {
        lws_context_destroy(srv->ctx);
        free(srv);
        return -rc;
    }
    *out = srv;
    return 0;
}

void api_server_stop(api_server_t *srv)
{
    if (!srv)
        return;
    __atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
    lws_cancel_service(srv->ctx);
    pthread_join(srv->thread, NULL);
    lws_sul_cancel(&srv->revoke_timer);
    api_hls_stop(srv);
    lws_context_destroy(srv->ctx);
    api_export_free_all(srv);
    pthread_mutex_lock(&srv->auth_queue->lock);
    if (!srv->auth_queue->running) {
        pthread_mutex_unlock(&srv->auth_queue->lock);
        pthread_mutex_destroy(&srv->auth_queue->lock);
        free(srv->auth_queue);
    } else {
        pthread_mutex_unlock(&srv->auth_queue->lock);
    }
    pthread_mutex_destroy(&srv->jobs_lock);
    free(srv);
}
