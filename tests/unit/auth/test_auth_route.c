/*
 * Authorization: every route of the table without a credential, as a
 * viewer, as a user with rights on one camera only, as an
 * administrator. Also path matching and the CSRF Origin check.
 */
#include "fixture.h"

/* Signs name in and resolves the session. */
static auth_principal_t *route_principal(fixture_t *f, const char *name)
{
    char token[AUTH_TOKEN_LEN + 1];
    auth_principal_t *p = NULL;

    assert_int_equal(fixture_login(f, name, FIXTURE_PASSWORD, NULL,
                                   "10.0.0.1", token), AUTH_LOGIN_OK);
    assert_int_equal(auth_resolve(f->auth, token, &p), 0);
    return p;
}

/* Writes the route's pattern with {id} replaced by id and {name} by a
 * preset-like token. */
static void route_path(const auth_route_t *r, int64_t id, char *out,
                       size_t len)
{
    const char *p = r->pattern;
    size_t n = 0;

    while (*p && n + 24 < len) {
        if (strncmp(p, "{id}", 4) == 0) {
            n += (size_t)snprintf(out + n, len - n, "%lld", (long long)id);
            p += 4;
        } else if (strncmp(p, "{name}", 6) == 0) {
            n += (size_t)snprintf(out + n, len - n, "preset-1.m4s");
            p += 6;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

/* Checks p on every route both by pattern and by a real path. */
static void route_expect(const auth_principal_t *p, int64_t camera,
                         auth_decision_t (*expected)(const auth_route_t *r))
{
    for (const auth_route_t *r = auth_routes; r->method; r++) {
        const auth_route_t *matched = NULL;
        char path[128];
        int64_t id = 0;
        auth_decision_t want = expected(r);

        route_path(r, camera, path, sizeof(path));
        if (auth_check(p, r->method, r->pattern, camera) != want)
            fail_msg("%s %s: auth_check() gave %d, expected %d", r->method,
                     r->pattern, auth_check(p, r->method, r->pattern,
                                            camera), want);
        if (auth_check_request(p, r->method, path, &matched, &id) != want)
            fail_msg("%s %s: auth_check_request() differs", r->method,
                     path);
        assert_ptr_equal(matched, r);
        if (strstr(r->pattern, "{id}"))
            assert_int_equal(id, camera);
    }
}

static auth_decision_t expect_anonymous(const auth_route_t *r)
{
    return r->access == AUTH_ACCESS_PUBLIC ? AUTH_ALLOW : AUTH_UNAUTHORIZED;
}

static auth_decision_t expect_allow(const auth_route_t *r)
{
    (void)r;
    return AUTH_ALLOW;
}

/* What a viewer (live and playback on every camera) may do, written out
 * by hand rather than derived from the table. */
static auth_decision_t expect_viewer(const auth_route_t *r)
{
    static const char *const allowed[] = {
        "GET /api/v1/health",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/setup",
        "POST /api/v1/auth/logout",
        "GET /api/v1/auth/me",
        "POST /api/v1/auth/password",
        "POST /api/v1/auth/totp/enrol",
        "POST /api/v1/auth/totp/confirm",
        "GET /api/v1/auth/keys",
        "POST /api/v1/auth/keys",
        "DELETE /api/v1/auth/keys/{id}",
        "GET /api/v1/status",
        "GET /api/v1/storage",
        "GET /api/v1/cameras",
        "GET /api/v1/cameras/{id}",
        "GET /api/v1/cameras/{id}/live",
        "GET /api/v1/live",
        "GET /api/v1/cameras/{id}/snapshot.jpg",
        "GET /api/v1/cameras/{id}/hls/{name}",
        "GET /api/v1/cameras/{id}/hls/part/{name}",
        "GET /api/v1/cameras/{id}/hls/seg/{name}",
        "GET /api/v1/cameras/{id}/live/viewers",
        "GET /api/v1/cameras/{id}/live/stats",
        "GET /api/v1/cameras/{id}/recordings",
        "GET /api/v1/cameras/{id}/playback.mp4",
        "GET /api/v1/cameras/{id}/verify",
        "GET /api/v1/cameras/{id}/events",
        "GET /api/v1/holds",
    };
    char key[128];

    snprintf(key, sizeof(key), "%s %s", r->method, r->pattern);
    for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
        if (strcmp(key, allowed[i]) == 0)
            return AUTH_ALLOW;
    return AUTH_FORBIDDEN;
}

/* A user whose only right is live on camera 1, asking about camera 2:
 * only the routes that need no right are open. */
static auth_decision_t expect_other_camera(const auth_route_t *r)
{
    if (r->access == AUTH_ACCESS_PUBLIC || r->access == AUTH_ACCESS_SESSION)
        return AUTH_ALLOW;
    if (r->access == AUTH_ACCESS_ANY_CAMERA)
        /* lists that the handler filters, if they need the live right */
        return (r->rights & AUTH_RIGHT_LIVE) ? AUTH_ALLOW : AUTH_FORBIDDEN;
    return AUTH_FORBIDDEN;
}

static void route_anonymous_gets_401(void **state)
{
    (void)state;
    route_expect(NULL, 1, expect_anonymous);
}

static void route_administrator_allowed(void **state)
{
    fixture_t *f = *state;
    auth_principal_t *p;

    fixture_user(f, "root", AUTH_ROLE_ADMINISTRATOR);
    p = route_principal(f, "root");
    route_expect(p, 1, expect_allow);
    auth_principal_free(p);
}

static void route_viewer_gets_403(void **state)
{
    fixture_t *f = *state;
    auth_principal_t *p;

    fixture_user(f, "val", AUTH_ROLE_VIEWER);
    p = route_principal(f, "val");
    route_expect(p, 1, expect_viewer);
    route_expect(p, 2, expect_viewer);
    auth_principal_free(p);
}

static void route_per_camera_rights(void **state)
{
    fixture_t *f = *state;
    auth_role_t role = {0};
    auth_principal_t *p;

    snprintf(role.name, sizeof(role.name), "lobby-guard");
    assert_int_equal(auth_role_create(f->auth, "test", &role, f->err,
                                      sizeof(f->err)), 0);
    assert_int_equal(auth_role_grant(f->auth, "test", role.id, 1,
                                     AUTH_RIGHT_LIVE, f->err,
                                     sizeof(f->err)), 0);
    fixture_user(f, "gus", "lobby-guard");
    p = route_principal(f, "gus");
    route_expect(p, 2, expect_other_camera);
    assert_int_equal(auth_check(p, "GET", "/api/v1/cameras/{id}/live", 1),
                     AUTH_ALLOW);
    assert_int_equal(auth_check(p, "GET", "/api/v1/cameras/{id}/recordings",
                                1), AUTH_FORBIDDEN);
    assert_int_equal(auth_check(p, "POST", "/api/v1/cameras", 0),
                     AUTH_FORBIDDEN);
    assert_true(auth_principal_can(p, 1, AUTH_RIGHT_LIVE));
    assert_false(auth_principal_can(p, 2, AUTH_RIGHT_LIVE));
    auth_principal_free(p);

    /* A role without any camera right cannot even list cameras. */
    memset(&role, 0, sizeof(role));
    snprintf(role.name, sizeof(role.name), "auditor");
    role.global_rights = AUTH_RIGHT_AUDIT;
    assert_int_equal(auth_role_create(f->auth, "test", &role, f->err,
                                      sizeof(f->err)), 0);
    fixture_user(f, "ann", "auditor");
    p = route_principal(f, "ann");
    assert_int_equal(auth_check(p, "GET", "/api/v1/cameras", 0),
                     AUTH_FORBIDDEN);
    assert_int_equal(auth_check(p, "GET", "/api/v1/audit", 0), AUTH_ALLOW);
    auth_principal_free(p);
}

static void route_builtin_roles_fixed(void **state)
{
    fixture_t *f = *state;
    auth_role_t role;

    assert_int_equal(auth_role_get(f->auth, AUTH_ROLE_VIEWER, &role), 0);
    role.global_rights = AUTH_RIGHT_USERS;
    assert_int_equal(auth_role_update(f->auth, "test", &role, f->err,
                                      sizeof(f->err)), -EPERM);
    assert_int_equal(auth_role_grant(f->auth, "test", role.id, 1,
                                     AUTH_RIGHT_PTZ, f->err,
                                     sizeof(f->err)), -EPERM);
    assert_int_equal(auth_role_delete(f->auth, "test", role.id, f->err,
                                      sizeof(f->err)), -EPERM);
}

static void route_match_paths(void **state)
{
    const auth_route_t *r = NULL;
    int64_t id = 0;

    (void)state;
    assert_int_equal(auth_route_match("GET",
                                      "/api/v1/cameras/42/live?stream=sub",
                                      &r, &id), 0);
    assert_string_equal(r->pattern, "/api/v1/cameras/{id}/live");
    assert_int_equal(id, 42);
    assert_int_equal(auth_route_match("HEAD", "/api/v1/cameras/", &r, &id),
                     0);
    assert_string_equal(r->pattern, "/api/v1/cameras");
    assert_int_equal(auth_route_match("POST", "/api/v1/status", &r, &id),
                     -EPERM);
    assert_int_equal(auth_route_match("GET", "/api/v1/nothing", &r, &id),
                     -ENOENT);
    assert_int_equal(auth_route_match("GET", "/api/v1/cameras/0", &r, &id),
                     -ENOENT);
    assert_int_equal(auth_route_match("GET", "/api/v1/cameras/-3", &r, &id),
                     -ENOENT);
    assert_int_equal(auth_route_match("GET",
                                      "/api/v1/cameras/1234567890123456789",
                                      &r, &id), -ENOENT);
    assert_int_equal(auth_route_match("GET", "/api/v1/users/../cameras",
                                      &r, &id), -EINVAL);
    assert_int_equal(auth_route_match("GET", "/api/v1//cameras", &r, &id),
                     -EINVAL);
    assert_int_equal(auth_route_match("GET", "/api/v1/%63ameras", &r, &id),
                     -EINVAL);
    assert_int_equal(auth_route_match("GET", "api/v1/cameras", &r, &id),
                     -EINVAL);
    /* The console's files are public, for reading only. */
    assert_int_equal(auth_route_match("GET", "/index.html", &r, &id), 0);
    assert_int_equal(auth_check_request(NULL, "GET", "/app.js", NULL, NULL),
                     AUTH_ALLOW);
    assert_int_equal(auth_check_request(NULL, "POST", "/app.js", NULL,
                                        NULL), AUTH_UNAUTHORIZED);
    assert_int_equal(auth_check_request(NULL, "GET", "/api/v1/nothing",
                                        NULL, NULL), AUTH_NOT_FOUND);
    assert_int_equal(auth_check(NULL, "GET", "/api/v1/nothing", 0),
                     AUTH_NOT_FOUND);
}

static void origin_check_rules(void **state)
{
    (void)state;
    assert_int_equal(auth_origin_check("GET", NULL, "vms.local", 1), 0);
    assert_int_equal(auth_origin_check("POST", "https://vms.local",
                                       "vms.local", 1), 0);
    assert_int_equal(auth_origin_check("POST", "https://VMS.local:443",
                                       "vms.local", 1), 0);
    assert_int_equal(auth_origin_check("DELETE", "http://10.0.0.5:8080",
                                       "10.0.0.5:8080", 0), 0);
    assert_int_equal(auth_origin_check("POST", NULL, "vms.local", 1),
                     -EPERM);
    assert_int_equal(auth_origin_check("POST", "null", "vms.local", 1),
                     -EPERM);
    assert_int_equal(auth_origin_check("POST", "https://evil.example",
                                       "vms.local", 1), -EPERM);
    assert_int_equal(auth_origin_check("PUT", "http://vms.local",
                                       "vms.local", 1), -EPERM);
    assert_int_equal(auth_origin_check("PATCH", "https://vms.local.evil",
                                       "vms.local", 1), -EPERM);
    assert_int_equal(auth_origin_check("POST", "https://vms.local/x",
                                       "vms.local", 1), -EPERM);
    assert_int_equal(auth_origin_check("POST", "https://vms.local:444",
                                       "vms.local", 1), -EPERM);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(route_anonymous_gets_401),
        cmocka_unit_test_setup_teardown(route_administrator_allowed,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(route_viewer_gets_403,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(route_per_camera_rights,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(route_builtin_roles_fixed,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test(route_match_paths),
        cmocka_unit_test(origin_check_rules),
    };

    return UNIT_RUN("auth route", tests, NULL, NULL, argc, argv);
}
