/*
 * libFuzzer target: the request parsers of the security module, which
 * see every HTTP request before any check: auth_request_token() on the
 * Authorization and Cookie headers, auth_route_match() and
 * auth_check_request() on the method and path, and auth_origin_check()
 * on the Origin and Host headers. The input is split at NUL bytes into
 * method, path, authorization, cookie, origin and host.
 *
 * fuzz-sources: src/auth/route.c src/auth/session.c
 * fuzz-packages: libsodium
 * fuzz-functions: auth_request_token auth_cookie_find auth_token_take auth_token_chars_valid auth_route_match auth_route_path_match auth_route_path_valid auth_route_method auth_check_request auth_check auth_route_decide auth_any_camera auth_principal_camera_rights auth_origin_check auth_origin_normalise
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

/* Returns the next NUL-terminated field of buf, or "" at the end. */
static const char *fuzz_field(char **p, char *end)
{
    char *start = *p;

    if (start >= end)
        return "";
    *p = start + strlen(start) + 1;
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const auth_camera_grant_t grants[] = {{1, AUTH_RIGHT_LIVE},
                                                 {7, AUTH_RIGHT_PTZ}};
    auth_principal_t viewer = {0};
    const auth_route_t *route = NULL;
    char *buf = malloc(size + 1), *p, *end;
    char token[AUTH_API_KEY_LEN + 1];
    const char *method, *path, *authz, *cookie, *origin, *host;
    int64_t id = -1;
    int from_cookie = -1, rc;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    p = buf;
    end = buf + size;
    method = fuzz_field(&p, end);
    path = fuzz_field(&p, end);
    authz = fuzz_field(&p, end);
    cookie = fuzz_field(&p, end);
    origin = fuzz_field(&p, end);
    host = fuzz_field(&p, end);

    rc = auth_request_token(authz[0] ? authz : NULL, cookie, token,
                            sizeof(token), &from_cookie);
    if (rc == 0 && (strlen(token) == 0 || strlen(token) > AUTH_API_KEY_LEN))
        abort();
    if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
        abort();

    rc = auth_route_match(method, path, &route, &id);
    if (rc == 0 && (!route || id < 0))
        abort();
    if (rc == 0 && strstr(route->pattern, "{id}") && id <= 0)
        abort(); /* a matched {id} is always positive */

    viewer.all_cameras = AUTH_RIGHT_LIVE | AUTH_RIGHT_PLAYBACK;
    viewer.grants = (auth_camera_grant_t *)grants;
    viewer.n_grants = 2;
    auth_decision_t anonymous = auth_check_request(NULL, method, path, NULL,
                                                   NULL);
    auth_decision_t seen = auth_check_request(&viewer, method, path, NULL,
                                              NULL);
    /* Without a credential only public routes are allowed. */
    if (anonymous == AUTH_ALLOW &&
        (rc != 0 || route->access != AUTH_ACCESS_PUBLIC))
        abort();
    /* A viewer never gets a global right. */
    if (seen == AUTH_ALLOW && rc == 0 && route->access == AUTH_ACCESS_GLOBAL)
        abort();

    rc = auth_origin_check(method, origin[0] ? origin : NULL,
                           host[0] ? host : NULL, size & 1);
    if (rc != 0 && rc != -EPERM)
        abort();
    free(buf);
    return 0;
}
