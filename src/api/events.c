/*
 * GET /api/v1/cameras/ID/events: the camera events that the events
 * thread (src/vmsd/events.c) stored, in a time range, oldest first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* Events returned when the request gives no limit, and the maximum. */
#define API_EVENTS_DEFAULT_LIMIT 1000
#define API_EVENTS_MAX_LIMIT 10000

/* Reads a required time argument; responds 400 and returns -1 when it
 * is missing or invalid. */
static int api_events_time_arg(api_conn_t *c, const char *name,
                               int64_t *out_us)
{
    char buf[64];
    const char *v = api_query(c, name, buf, sizeof(buf));

    if (v && api_parse_time(v, out_us) == 0)
        return 0;
    api_respond_error(c, 400,
                      "%s %s: expected UTC microseconds or ISO 8601 like "
                      "2026-01-31T12:00:00Z",
                      v ? "invalid" : "missing", name);
    return -1;
}

static json_t *api_event_json(const catalog_event_t *e)
{
    json_t *state = e->state < 0 ? json_null() : json_boolean(e->state);

    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:s}", "id",
                     (json_int_t)e->id, "time_us", (json_int_t)e->time_us,
                     "kind", e->kind, "topic", e->topic, "source",
                     e->source, "state", state, "property", e->data);
}

int api_events_list(api_conn_t *c, int64_t camera_id)
{
    catalog_event_t *rows = NULL;
    char buf[32];
    const char *v;
    int64_t from;
    int64_t to;
    long limit = API_EVENTS_DEFAULT_LIMIT;
    size_t n = 0;
    json_t *list;
    int rc;

    if (c->method != API_GET && c->method != API_HEAD)
        return api_respond_error(c, 405, "use GET on %s", c->path);
    if (api_events_time_arg(c, "from", &from) < 0 ||
        api_events_time_arg(c, "to", &to) < 0)
        return 0;
    if (to <= from)
        return api_respond_error(c, 400,
                                 "invalid range: to must be after from");
    v = api_query(c, "limit", buf, sizeof(buf));
    if (v) {
        char *end;

        errno = 0;
        limit = strtol(v, &end, 10);
        if (end == v || *end || errno || limit < 1 ||
            limit > API_EVENTS_MAX_LIMIT)
            return api_respond_error(c, 400,
                                     "invalid limit '%s': expected 1 to %d",
                                     v, API_EVENTS_MAX_LIMIT);
    }
    /* One row more than the limit shows whether the list was cut. */
    rc = catalog_event_list(c->srv->cfg.cat, camera_id, from, to,
                            (size_t)limit + 1, &rows, &n);
    if (rc < 0)
        return api_respond_error(c, 500, "catalog read failed: %s",
                                 strerror(-rc));
    list = json_array();
    for (size_t i = 0; i < n && i < (size_t)limit; i++)
        json_array_append_new(list, api_event_json(&rows[i]));
    free(rows);
    return api_respond_json(c, 200,
                            json_pack("{s:I, s:I, s:I, s:o, s:b}",
                                      "camera_id", (json_int_t)camera_id,
                                      "from_us", (json_int_t)from, "to_us",
                                      (json_int_t)to, "events", list,
                                      "truncated", n > (size_t)limit));
}
