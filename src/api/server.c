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

#include "api/internal.h"
#include "common/config.h"
#include "common/log.h"

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
    static const char security[] =
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        "Content-Security-Policy: default-src 'self'; "
        "connect-src 'self'; media-src 'self' blob:; "
        "img-src 'self' blob: data:\r\n";

    if (lws_add_http_common_headers(c->wsi, (unsigned)status, content_type,
                                    (lws_filepos_t)length, &p, end) ||
        api_add_extra_headers(c->wsi, security, &p, end) ||
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
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
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

    snprintf(key, sizeof(key), "%s=", name);
    return lws_get_urlarg_by_name(c->wsi, key, buf, (int)len);
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

/* Dispatches a complete request to its route. */
static int api_dispatch(api_conn_t *c)
{
    const char *path = c->path;

    c->dispatched = 1;
    /* Checked here rather than when the headers arrive, so that a
     * rejected request's body has been read before the response. */
    if (api_check_origin(c->srv, c->wsi) < 0)
        return api_respond_error(c, 403,
                                 "request from another site refused: open "
                                 "the page at http://127.0.0.1:%d/",
                                 c->srv->cfg.port);

    if (c->body_too_large)
        return api_respond_error(c, 413, "request body larger than %d bytes",
                                 API_BODY_MAX);
    if (strncmp(path, "/api/v1/cameras", 15) == 0 &&
        (path[15] == '\0' || path[15] == '/'))
        return api_route_cameras(c, path + 15);
    if (strcmp(path, "/api/v1/status") == 0)
        return api_route_status(c);
    if (strcmp(path, "/api/v1/storage") == 0)
        return api_route_storage(c);
    if (strncmp(path, "/api/v1/live/", 13) == 0)
        return api_route_live(c, path + 12);
    if (strncmp(path, "/api/v1/discovery", 17) == 0 &&
        (path[17] == '\0' || path[17] == '/'))
        return api_route_discovery(c, path + 17);
    if (strncmp(path, "/api/v1/holds", 13) == 0 &&
        (path[13] == '\0' || path[13] == '/'))
        return api_route_holds(c, path + 13);
    if (strncmp(path, "/api/", 5) == 0)
        return api_respond_error(
            c, 404, "unknown API path %s: see docs/api.yaml", path);
    return api_route_static(c);
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
 * on this machine cannot drive the API. Returns 0 or -1. */
int api_check_origin(const api_server_t *srv, struct lws *wsi)
{
    char value[256];

    if (lws_hdr_copy(wsi, value, sizeof(value), WSI_TOKEN_HOST) > 0 &&
        !api_host_allowed(srv, value))
        return -1;
    if (lws_hdr_copy(wsi, value, sizeof(value), WSI_TOKEN_ORIGIN) > 0 &&
        !api_host_allowed(srv, value))
        return -1;
    return 0;
}

/* LWS_CALLBACK_HTTP: a request's headers arrived. */
static int api_on_http(api_conn_t *c, struct lws *wsi, const char *uri)
{
    c->srv = lws_context_user(lws_get_context(wsi));
    c->wsi = wsi;
    api_conn_reset(c);
    c->dispatched = 0;
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
    if (c->method == API_OTHER)
        return api_respond_error(c, 405, "method not allowed");
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
        /* Refuse the upgrade before the handshake for an unknown path,
         * camera or stream, so the client sees an HTTP error. */
        if (api_check_origin(lws_context_user(lws_get_context(wsi)), wsi) < 0)
            return -1;
        return api_live_target(wsi, NULL, NULL, NULL);
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

    lws_set_log_level(LLL_ERR | LLL_WARN, api_lws_log);
    memset(&info, 0, sizeof(info));
    info.port = cfg->port;
    info.iface = srv->host;
    info.protocols = api_protocols;
    info.user = srv;
    info.options =
        LWS_SERVER_OPTION_DISABLE_IPV6 * 0 | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.server_string = "vmsd";
    info.timeout_secs = 30;
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        snprintf(err, errlen,
                 "cannot listen on %s:%d: the address is in use or not "
                 "local; pick another listen address in the config file",
                 cfg->host, cfg->port);
        pthread_mutex_destroy(&srv->jobs_lock);
        free(srv);
        return -EADDRINUSE;
    }
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
    api_hls_stop(srv);
    lws_context_destroy(srv->ctx);
    api_export_free_all(srv);
    pthread_mutex_destroy(&srv->jobs_lock);
    free(srv);
}
