/*
 * Authorization: the route table of /api/v1 and the one decision
 * function that the HTTP layer calls for every request.
 *
 * Deny by default: an /api/ path that is not in the table is refused
 * with 404 before any handler runs, so a new handler is unreachable
 * until it has a row here. Paths outside /api/ are the console's static
 * files and are public for GET and HEAD.
 */
#include "auth/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CAM AUTH_ACCESS_CAMERA
#define GLOBAL AUTH_ACCESS_GLOBAL

const auth_route_t auth_routes[] = {
    /* Public: health check and the ways to get a session. */
    {"GET", "/api/v1/health", AUTH_ACCESS_PUBLIC, 0, 1},
    {"POST", "/api/v1/auth/login", AUTH_ACCESS_PUBLIC, 0, 1},
    {"POST", "/api/v1/auth/setup", AUTH_ACCESS_PUBLIC, 0, 1},

    /* The signed-in user's own account, also open during a required
     * TOTP enrolment. */
    {"POST", "/api/v1/auth/logout", AUTH_ACCESS_SESSION, 0, 1},
    {"GET", "/api/v1/auth/me", AUTH_ACCESS_SESSION, 0, 1},
    {"POST", "/api/v1/auth/password", AUTH_ACCESS_SESSION, 0, 1},
    {"POST", "/api/v1/auth/totp/enrol", AUTH_ACCESS_SESSION, 0, 1},
    {"POST", "/api/v1/auth/totp/confirm", AUTH_ACCESS_SESSION, 0, 1},
    /* API keys of the signed-in user; a key's scope never exceeds the
     * user's own rights. */
    {"GET", "/api/v1/auth/keys", AUTH_ACCESS_SESSION, 0, 0},
    {"POST", "/api/v1/auth/keys", AUTH_ACCESS_SESSION, 0, 0},
    {"DELETE", "/api/v1/auth/keys/{id}", AUTH_ACCESS_SESSION, 0, 0},

    /* Recorder counters and storage use: for any signed-in user, unlike
     * /health. */
    {"GET", "/api/v1/status", AUTH_ACCESS_SESSION, 0, 0},
    {"GET", "/api/v1/storage", AUTH_ACCESS_SESSION, 0, 0},

    /* Cameras. The list handler returns only the cameras on which the
     * user has a right (auth_principal_camera_rights()). */
    {"GET", "/api/v1/cameras", AUTH_ACCESS_ANY_CAMERA, AUTH_CAMERA_RIGHTS, 0},
    {"POST", "/api/v1/cameras", AUTH_ACCESS_ALL_CAMERAS,
     AUTH_RIGHT_CONFIGURE, 0},
    {"POST", "/api/v1/cameras/adopt", AUTH_ACCESS_ALL_CAMERAS,
     AUTH_RIGHT_CONFIGURE, 0},
    {"POST", "/api/v1/discovery/scan", AUTH_ACCESS_ALL_CAMERAS,
     AUTH_RIGHT_CONFIGURE, 0},
    {"GET", "/api/v1/cameras/{id}", CAM,
     AUTH_RIGHT_LIVE | AUTH_RIGHT_PLAYBACK | AUTH_RIGHT_CONFIGURE, 0},
    {"PUT", "/api/v1/cameras/{id}", CAM, AUTH_RIGHT_CONFIGURE, 0},
    {"PATCH", "/api/v1/cameras/{id}", CAM, AUTH_RIGHT_CONFIGURE, 0},
    {"DELETE", "/api/v1/cameras/{id}", CAM, AUTH_RIGHT_CONFIGURE, 0},

    /* Live view: the WebSocket, HLS, snapshots and viewer figures. The
     * multiplexed WebSocket names its cameras in the query, so the
     * server checks the live right on each of them as well. */
    {"GET", "/api/v1/cameras/{id}/live", CAM, AUTH_RIGHT_LIVE, 0},
    {"GET", "/api/v1/live", AUTH_ACCESS_ANY_CAMERA, AUTH_RIGHT_LIVE, 0},
    {"GET", "/api/v1/cameras/{id}/snapshot.jpg", CAM, AUTH_RIGHT_LIVE, 0},
    {"GET", "/api/v1/cameras/{id}/hls/{name}", CAM, AUTH_RIGHT_LIVE, 0},
    {"GET", "/api/v1/cameras/{id}/hls/part/{name}", CAM, AUTH_RIGHT_LIVE, 0},
    {"GET", "/api/v1/cameras/{id}/hls/seg/{name}", CAM, AUTH_RIGHT_LIVE, 0},
    {"GET", "/api/v1/cameras/{id}/live/viewers", CAM,
     AUTH_RIGHT_LIVE | AUTH_RIGHT_CONFIGURE, 0},
    {"GET", "/api/v1/cameras/{id}/live/stats", CAM,
     AUTH_RIGHT_LIVE | AUTH_RIGHT_CONFIGURE, 0},
    {"GET", "/api/v1/live/viewers", GLOBAL, AUTH_RIGHT_SETTINGS, 0},
    {"GET", "/api/v1/live/stats", GLOBAL, AUTH_RIGHT_SETTINGS, 0},

    /* Recordings. Watching a range needs playback, and a user with only
     * the export right may download it too. */
    {"GET", "/api/v1/cameras/{id}/recordings", CAM,
     AUTH_RIGHT_PLAYBACK | AUTH_RIGHT_EXPORT, 0},
    {"GET", "/api/v1/cameras/{id}/playback.mp4", CAM,
     AUTH_RIGHT_PLAYBACK | AUTH_RIGHT_EXPORT, 0},
    {"GET", "/api/v1/cameras/{id}/verify", CAM,
     AUTH_RIGHT_PLAYBACK | AUTH_RIGHT_EXPORT, 0},
    {"GET", "/api/v1/cameras/{id}/events", CAM,
     AUTH_RIGHT_LIVE | AUTH_RIGHT_PLAYBACK, 0},

    /* Evidence holds. Creating one needs the export right on the camera
     * named in the body, which the handler checks; the list shows only
     * holds on cameras with a right. Here {id} is a hold id, so
     * releasing a hold needs the right on every camera. */
    {"GET", "/api/v1/holds", AUTH_ACCESS_ANY_CAMERA,
     AUTH_RIGHT_PLAYBACK | AUTH_RIGHT_EXPORT, 0},
    {"POST", "/api/v1/holds", AUTH_ACCESS_ANY_CAMERA, AUTH_RIGHT_EXPORT, 0},
    {"DELETE", "/api/v1/holds/{id}", AUTH_ACCESS_ALL_CAMERAS,
     AUTH_RIGHT_CONFIGURE, 0},

    /* PTZ and the camera clock (ONVIF). */
    {"POST", "/api/v1/cameras/{id}/ptz/move", CAM, AUTH_RIGHT_PTZ, 0},
    {"POST", "/api/v1/cameras/{id}/ptz/absolute", CAM, AUTH_RIGHT_PTZ, 0},
    {"POST", "/api/v1/cameras/{id}/ptz/relative", CAM, AUTH_RIGHT_PTZ, 0},
    {"POST", "/api/v1/cameras/{id}/ptz/stop", CAM, AUTH_RIGHT_PTZ, 0},
    {"GET", "/api/v1/cameras/{id}/ptz/status", CAM, AUTH_RIGHT_PTZ, 0},
    {"GET", "/api/v1/cameras/{id}/ptz/presets", CAM, AUTH_RIGHT_PTZ, 0},
    {"POST", "/api/v1/cameras/{id}/ptz/presets", CAM, AUTH_RIGHT_PTZ, 0},
    {"DELETE", "/api/v1/cameras/{id}/ptz/presets/{name}", CAM,
     AUTH_RIGHT_PTZ, 0},
    {"POST", "/api/v1/cameras/{id}/ptz/presets/{name}/goto", CAM,
     AUTH_RIGHT_PTZ, 0},
    {"POST", "/api/v1/cameras/{id}/ptz/home", CAM, AUTH_RIGHT_PTZ, 0},
    {"PUT", "/api/v1/cameras/{id}/ptz/home", CAM, AUTH_RIGHT_PTZ, 0},
    {"GET", "/api/v1/cameras/{id}/time", CAM, AUTH_RIGHT_CONFIGURE, 0},
    {"POST", "/api/v1/cameras/{id}/time", CAM, AUTH_RIGHT_CONFIGURE, 0},

    /* Administration. Here {id} is a user, role or key id, not a
     * camera. */
    {"GET", "/api/v1/users", GLOBAL, AUTH_RIGHT_USERS, 0},
    {"POST", "/api/v1/users", GLOBAL, AUTH_RIGHT_USERS, 0},
    {"GET", "/api/v1/users/{id}", GLOBAL, AUTH_RIGHT_USERS, 0},
    {"PATCH", "/api/v1/users/{id}", GLOBAL, AUTH_RIGHT_USERS, 0},
    {"DELETE", "/api/v1/users/{id}", GLOBAL, AUTH_RIGHT_USERS, 0},
    {"GET", "/api/v1/roles", GLOBAL, AUTH_RIGHT_USERS, 0},
    {"POST", "/api/v1/roles", GLOBAL, AUTH_RIGHT_USERS, 0},
    {"PUT", "/api/v1/roles/{id}", GLOBAL, AUTH_RIGHT_USERS, 0},
    {"DELETE", "/api/v1/roles/{id}", GLOBAL, AUTH_RIGHT_USERS, 0},
    {"GET", "/api/v1/settings", GLOBAL, AUTH_RIGHT_SETTINGS, 0},
    {"PUT", "/api/v1/settings", GLOBAL, AUTH_RIGHT_SETTINGS, 0},
    {"GET", "/api/v1/audit", GLOBAL, AUTH_RIGHT_AUDIT, 0},
    {"GET", "/api/v1/audit/verify", GLOBAL, AUTH_RIGHT_AUDIT, 0},
    {NULL, NULL, 0, 0, 0},
};

/* The console's static files: anything outside /api/. */
static const auth_route_t auth_route_static = {
    "GET", "*", AUTH_ACCESS_PUBLIC, 0, 1,
};

/* Returns the method that rows are stored under: HEAD is GET. */
static const char *auth_route_method(const char *method)
{
    return strcasecmp(method, "HEAD") == 0 ? "GET" : method;
}

/* Matches path against pattern segment by segment. {id} takes a
 * positive decimal number of at most 18 digits, {name} one segment of
 * letters, digits, '-', '_' and '.' (a preset token or an HLS part).
 * Returns 1 on a match. */
static int auth_route_path_match(const char *pattern, const char *path,
                                 size_t path_len, int64_t *id)
{
    const char *p = pattern, *s = path, *end = path + path_len;

    while (*p && s < end) {
        if (strncmp(p, "{id}", 4) == 0) {
            int64_t v = 0;
            int digits = 0;

            while (s < end && isdigit((unsigned char)*s)) {
                if (digits == 18)
                    return 0; /* would overflow int64_t */
                v = v * 10 + (*s++ - '0');
                digits++;
            }
            if (digits == 0 || v <= 0)
                return 0;
            *id = v;
            p += 4;
            continue;
        }
        if (strncmp(p, "{name}", 6) == 0) {
            const char *first = s;

            while (s < end && (isalnum((unsigned char)*s) || *s == '-' ||
                               *s == '_' || *s == '.'))
                s++;
            if (s == first)
                return 0;
            p += 6;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *p == '\0' && s == end;
}

/* Checks the form of an /api/ path: no empty, "." or ".." segment and
 * no percent-encoding, so that one resource has exactly one spelling. */
static int auth_route_path_valid(const char *path, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c == '%' || c == '\\' || c < 0x21 || c > 0x7e)
            return 0;
        if (c == '/' && i + 1 < len) {
            const char *seg = path + i + 1;
            size_t rest = len - i - 1;
            if (seg[0] == '/' ||
                (seg[0] == '.' && (rest == 1 || seg[1] == '/')) ||
                (rest >= 2 && seg[0] == '.' && seg[1] == '.' &&
                 (rest == 2 || seg[2] == '/')))
                return 0;
        }
    }
    return 1;
}

int auth_route_match(const char *method, const char *path,
                     const auth_route_t **route, int64_t *id)
{
    const char *m;
    size_t len;
    int path_found = 0;

    if (!method || !path || path[0] != '/')
        return -EINVAL;
    len = strcspn(path, "?#");
    m = auth_route_method(method);
    if (strncmp(path, "/api/", 5) != 0 && !(len == 4 &&
                                             strncmp(path, "/api", 4) == 0)) {
        if (strcmp(m, "GET") != 0)
            return -EPERM;
        *route = &auth_route_static;
        *id = 0;
        return 0;
    }
    if (!auth_route_path_valid(path, len))
        return -EINVAL;
    if (len > 1 && path[len - 1] == '/')
        len--; /* "/api/v1/cameras/" is "/api/v1/cameras" */

    for (const auth_route_t *r = auth_routes; r->method; r++) {
        int64_t v = 0;
        if (!auth_route_path_match(r->pattern, path, len, &v))
            continue;
        path_found = 1;
        if (strcmp(r->method, m) == 0) {
            *route = r;
            *id = v;
            return 0;
        }
    }
    return path_found ? -EPERM : -ENOENT;
}

/* Returns 1 if p holds one of rights on some camera. */
static int auth_any_camera(const auth_principal_t *p, uint32_t rights)
{
    if (p->all_cameras & rights)
        return 1;
    for (size_t i = 0; i < p->n_grants; i++)
        if (p->grants[i].rights & rights)
            return 1;
    return 0;
}

/* Decides a request on a known route. */
static auth_decision_t auth_route_decide(const auth_route_t *r,
                                         const auth_principal_t *p,
                                         int64_t camera_id)
{
    int allowed = 0;

    if (r->access == AUTH_ACCESS_PUBLIC)
        return AUTH_ALLOW;
    if (!p)
        return AUTH_UNAUTHORIZED;
    if (p->totp_enrol_required && !r->enrolment)
        return AUTH_FORBIDDEN;
    switch (r->access) {
    case AUTH_ACCESS_PUBLIC:
    case AUTH_ACCESS_SESSION:
        allowed = 1;
        break;
    case AUTH_ACCESS_CAMERA:
        allowed = camera_id > 0 &&
                  (auth_principal_camera_rights(p, camera_id) & r->rights);
        break;
    case AUTH_ACCESS_ANY_CAMERA:
        allowed = auth_any_camera(p, r->rights);
        break;
    case AUTH_ACCESS_ALL_CAMERAS:
        allowed = (p->all_cameras & r->rights) != 0;
        break;
    case AUTH_ACCESS_GLOBAL:
        allowed = (p->global_rights & r->rights) != 0;
        break;
    }
    return allowed ? AUTH_ALLOW : AUTH_FORBIDDEN;
}

auth_decision_t auth_check(const auth_principal_t *p, const char *method,
                           const char *route_pattern, int64_t camera_id)
{
    const char *m;

    if (!method || !route_pattern)
        return AUTH_NOT_FOUND;
    m = auth_route_method(method);
    if (strcmp(route_pattern, auth_route_static.pattern) == 0)
        return strcmp(m, "GET") == 0 ? AUTH_ALLOW : AUTH_METHOD_NOT_ALLOWED;
    for (const auth_route_t *r = auth_routes; r->method; r++)
        if (strcmp(r->pattern, route_pattern) == 0 &&
            strcmp(r->method, m) == 0)
            return auth_route_decide(r, p, camera_id);
    return AUTH_NOT_FOUND;
}

auth_decision_t auth_check_request(const auth_principal_t *p,
                                   const char *method, const char *path,
                                   const auth_route_t **route, int64_t *id)
{
    const auth_route_t *r = NULL;
    int64_t v = 0;
    int rc = auth_route_match(method, path, &r, &v);

    if (route)
        *route = r;
    if (id)
        *id = v;
    if (rc == -EPERM)
        return p ? AUTH_METHOD_NOT_ALLOWED : AUTH_UNAUTHORIZED;
    if (rc < 0)
        return AUTH_NOT_FOUND;
    return auth_route_decide(r, p, v);
}

/* Writes "scheme://host[:port]" in lower case without the scheme's
 * default port. Returns -EINVAL if it does not fit. */
static int auth_origin_normalise(const char *scheme, const char *host,
                                 size_t host_len, char *out, size_t len)
{
    const char *default_port = strcmp(scheme, "https") == 0 ? ":443" : ":80";
    size_t dp = strlen(default_port);
    int n;

    if (host_len > dp &&
        strncmp(host + host_len - dp, default_port, dp) == 0)
        host_len -= dp;
    if (host_len == 0)
        return -EINVAL;
    n = snprintf(out, len, "%s://%.*s", scheme, (int)host_len, host);
    if (n < 0 || (size_t)n >= len)
        return -EINVAL;
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return 0;
}

int auth_origin_check(const char *method, const char *origin,
                      const char *host, int tls)
{
    char want[300], got[300];
    const char *sep;

    if (!method || strcasecmp(method, "GET") == 0 ||
        strcasecmp(method, "HEAD") == 0 ||
        strcasecmp(method, "OPTIONS") == 0)
        return 0;
    if (!origin || !host || strcmp(origin, "null") == 0)
        return -EPERM;
    if (auth_origin_normalise(tls ? "https" : "http", host, strlen(host),
                              want, sizeof(want)) < 0)
        return -EPERM;
    sep = strstr(origin, "://");
    if (!sep || sep == origin || strchr(sep + 3, '/'))
        return -EPERM;
    if (!((sep - origin == 4 && strncasecmp(origin, "http", 4) == 0) ||
          (sep - origin == 5 && strncasecmp(origin, "https", 5) == 0)))
        return -EPERM;
    if (auth_origin_normalise(sep - origin == 5 ? "https" : "http", sep + 3,
                              strlen(sep + 3), got, sizeof(got)) < 0)
        return -EPERM;
    return strcmp(want, got) == 0 ? 0 : -EPERM;
}
