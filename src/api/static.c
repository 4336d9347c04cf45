/* The operator page's files and the daemon status. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

#define API_VERSION "0.1.0"

int api_route_static(api_conn_t *c)
{
    char path[1024];
    const char *rel = c->path;

    if (c->method != API_GET && c->method != API_HEAD)
        return api_respond_error(c, 405, "use GET on %s", c->path);
    if (strcmp(rel, "/") == 0)
        rel = "/index.html";
    /* Only plain names below the web root: no "..", no hidden files. */
    if (strstr(rel, "/.") || strstr(rel, "..") || strchr(rel, '\\'))
        return api_respond_error(c, 404, "not found: %s", c->path);
    snprintf(path, sizeof(path), "%s%s", c->srv->web_root, rel);
    return api_respond_file(c, path, NULL, NULL);
}

int api_route_status(api_conn_t *c)
{
    recorder_stats_t st;

    memset(&st, 0, sizeof(st));
    c->srv->cfg.svc->recorder_stats(c->srv->cfg.svc_ctx, &st);
    return api_respond_json(
        c, 200,
        json_pack("{s:s, s:{s:I, s:I, s:I, s:I, s:I, s:s}}", "version",
                  API_VERSION, "recorder", "segments",
                  (json_int_t)st.segments, "bytes", (json_int_t)st.bytes,
                  "dropped", (json_int_t)st.dropped, "write_errors",
                  (json_int_t)st.write_errors, "queue_bytes",
                  (json_int_t)st.queue_bytes, "last_error", st.last_error));
}
