/*
 * Sessions and API keys: idle and absolute timeouts on an injected
 * clock, revocation on password change, disable and logout, key scopes
 * and expiry, the cookie and the parsing of request credentials.
 */
#include "fixture.h"

#define SECOND 1000000LL
#define MINUTE (60 * SECOND)

/* Logs alice in and returns her session token. */
static void session_login(fixture_t *f, const char *name, char *token)
{
    assert_int_equal(fixture_login(f, name, FIXTURE_PASSWORD, NULL,
                                   "10.0.0.1", token), AUTH_LOGIN_OK);
}

/* Returns auth_resolve()'s result and frees the principal. */
static int session_resolves(fixture_t *f, const char *token)
{
    auth_principal_t *p = NULL;
    int rc = auth_resolve(f->auth, token, &p);

    auth_principal_free(p);
    return rc;
}

static void session_idle_timeout(void **state)
{
    fixture_t *f = *state;
    char token[AUTH_TOKEN_LEN + 1];

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    session_login(f, "alice", token);
    /* Requests every 20 minutes keep the session alive past 30. */
    for (int i = 0; i < 5; i++) {
        f->now_us += 20 * MINUTE;
        assert_int_equal(session_resolves(f, token), 0);
    }
    f->now_us += 30 * MINUTE;
    assert_int_equal(session_resolves(f, token), -EACCES);
    /* Gone for good, even if the clock went back. */
    f->now_us -= 25 * MINUTE;
    assert_int_equal(session_resolves(f, token), -EACCES);
}

static void session_absolute_timeout(void **state)
{
    fixture_t *f = *state;
    char token[AUTH_TOKEN_LEN + 1];
    auth_principal_t *p = NULL;

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    session_login(f, "alice", token);
    assert_int_equal(auth_resolve(f->auth, token, &p), 0);
    assert_int_equal(p->expires_us, FIXTURE_T0_US + 12 * 60 * MINUTE);
    assert_string_equal(p->user, "alice");
    assert_string_equal(p->role, AUTH_ROLE_OPERATOR);
    assert_int_equal(strlen(p->id), 16);
    auth_principal_free(p);
    /* Busy all day: still ends 12 hours after login. */
    for (int i = 0; i < 12 * 6 - 1; i++) {
        f->now_us += 10 * MINUTE;
        assert_int_equal(session_resolves(f, token), 0);
    }
    f->now_us += 10 * MINUTE;
    assert_int_equal(session_resolves(f, token), -EACCES);
}

static void session_revoked_on_password_change(void **state)
{
    fixture_t *f = *state;
    char one[AUTH_TOKEN_LEN + 1], two[AUTH_TOKEN_LEN + 1];
    char other[AUTH_TOKEN_LEN + 1];

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    fixture_user(f, "bob", AUTH_ROLE_OPERATOR);
    session_login(f, "alice", one);
    session_login(f, "alice", two);
    session_login(f, "bob", other);
    assert_int_equal(auth_user_set_password(f->auth, "alice", "alice",
                                            "wrong old password",
                                            "a new long password", f->err,
                                            sizeof(f->err)), -EACCES);
    assert_int_equal(session_resolves(f, one), 0);
    assert_int_equal(auth_user_set_password(f->auth, "alice", "alice",
                                            FIXTURE_PASSWORD,
                                            "a new long password", f->err,
                                            sizeof(f->err)), 0);
    assert_int_equal(session_resolves(f, one), -EACCES);
    assert_int_equal(session_resolves(f, two), -EACCES);
    assert_int_equal(session_resolves(f, other), 0);
    assert_int_equal(fixture_login(f, "alice", "a new long password", NULL,
                                   "10.0.0.1", NULL), AUTH_LOGIN_OK);
}

static void session_revoked_on_disable(void **state)
{
    fixture_t *f = *state;
    char token[AUTH_TOKEN_LEN + 1], key[AUTH_API_KEY_LEN + 1];

    fixture_user(f, "root", AUTH_ROLE_ADMINISTRATOR);
    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    session_login(f, "alice", token);
    assert_int_equal(auth_api_key_create(f->auth, "root", "alice", "script",
                                         AUTH_RIGHT_LIVE, 0, key,
                                         sizeof(key), NULL, f->err,
                                         sizeof(f->err)), 0);
    assert_int_equal(auth_user_set_disabled(f->auth, "root", "alice", 1,
                                            f->err, sizeof(f->err)), 0);
    assert_int_equal(session_resolves(f, token), -EACCES);
    assert_int_equal(session_resolves(f, key), -EACCES);
    assert_int_equal(auth_user_set_disabled(f->auth, "root", "alice", 0,
                                            f->err, sizeof(f->err)), 0);
    /* The session stays ended, but the key works again. */
    assert_int_equal(session_resolves(f, token), -EACCES);
    assert_int_equal(session_resolves(f, key), 0);
}

static void session_logout_and_revoke_all(void **state)
{
    fixture_t *f = *state;
    char one[AUTH_TOKEN_LEN + 1], two[AUTH_TOKEN_LEN + 1];
    int count = 0;
    int64_t id = 0;

    id = fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    session_login(f, "alice", one);
    session_login(f, "alice", two);
    assert_int_equal(auth_logout(f->auth, one, "10.0.0.1"), 0);
    assert_int_equal(session_resolves(f, one), -EACCES);
    assert_int_equal(auth_logout(f->auth, one, "10.0.0.1"), -ENOENT);
    assert_int_equal(session_resolves(f, two), 0);
    assert_int_equal(auth_sessions_revoke_user(f->auth, "root", id, &count),
                     0);
    assert_int_equal(count, 1);
    assert_int_equal(session_resolves(f, two), -EACCES);
}

static void session_rejects_malformed_tokens(void **state)
{
    fixture_t *f = *state;
    char token[AUTH_TOKEN_LEN + 1];

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    session_login(f, "alice", token);
    assert_int_equal(session_resolves(f, NULL), -EACCES);
    assert_int_equal(session_resolves(f, ""), -EACCES);
    token[5] = token[5] == 'A' ? 'B' : 'A';
    assert_int_equal(session_resolves(f, token), -EACCES);
    token[AUTH_TOKEN_LEN - 1] = '\0';
    assert_int_equal(session_resolves(f, token), -EACCES);
    assert_int_equal(session_resolves(
                         f, "vmsk_'; DROP TABLE auth_users; --xxxxxxxxxxxxxxx"),
                     -EACCES);
}

static void api_key_scope_and_expiry(void **state)
{
    fixture_t *f = *state;
    char key[AUTH_API_KEY_LEN + 1];
    auth_principal_t *p = NULL;
    auth_api_key_t info, *list = NULL;
    size_t n = 0;

    fixture_user(f, "root", AUTH_ROLE_ADMINISTRATOR);
    fixture_user(f, "alice", AUTH_ROLE_VIEWER);
    /* A scope wider than the role is cut down to the role. */
    assert_int_equal(auth_api_key_create(
                         f->auth, "root", "alice", "wall-display",
                         AUTH_RIGHT_LIVE | AUTH_RIGHT_CONFIGURE |
                             AUTH_RIGHT_USERS,
                         f->now_us + 60 * MINUTE, key, sizeof(key), &info,
                         f->err, sizeof(f->err)), 0);
    assert_int_equal(strlen(key), AUTH_API_KEY_LEN);
    assert_memory_equal(key, AUTH_API_KEY_PREFIX, 5);
    assert_int_equal(auth_resolve(f->auth, key, &p), 0);
    assert_int_equal(p->kind, AUTH_PRINCIPAL_API_KEY);
    assert_int_equal(p->all_cameras, AUTH_RIGHT_LIVE);
    assert_int_equal(p->global_rights, 0);
    assert_int_equal(auth_check(p, "GET", "/api/v1/cameras/{id}/live", 3),
                     AUTH_ALLOW);
    assert_int_equal(auth_check(p, "GET", "/api/v1/cameras/{id}/recordings",
                                3), AUTH_FORBIDDEN);
    auth_principal_free(p);

    f->now_us += 60 * MINUTE;
    assert_int_equal(session_resolves(f, key), -EACCES);

    assert_int_equal(auth_api_key_create(f->auth, "root", "alice", "two",
                                         AUTH_RIGHT_PLAYBACK, 0, key,
                                         sizeof(key), &info, f->err,
                                         sizeof(f->err)), 0);
    assert_int_equal(session_resolves(f, key), 0);
    assert_int_equal(auth_api_key_revoke(f->auth, "root", info.id), 0);
    assert_int_equal(session_resolves(f, key), -EACCES);
    assert_int_equal(auth_api_key_list(f->auth, 0, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[1].revoked, 1);
    free(list);

    assert_int_equal(auth_api_key_create(f->auth, "root", "alice", "bad",
                                         0x80000000u, 0, key, sizeof(key),
                                         NULL, f->err, sizeof(f->err)),
                     -EINVAL);
    assert_int_equal(auth_api_key_create(f->auth, "root", "alice", "old",
                                         AUTH_RIGHT_LIVE, f->now_us - 1, key,
                                         sizeof(key), NULL, f->err,
                                         sizeof(f->err)), -EINVAL);
}

static void cookie_attributes(void **state)
{
    const char *token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char out[AUTH_COOKIE_MAX];

    (void)state;
    assert_int_equal(auth_cookie_format(token, 1, 43200, out, sizeof(out)),
                     0);
    assert_string_equal(out, "__Host-vms_session=AAAAAAAAAAAAAAAAAAAAAAAAAAA"
                             "AAAAAAAAAAAAAAAA; Path=/; Max-Age=43200; "
                             "HttpOnly; SameSite=Strict; Secure");
    assert_int_equal(auth_cookie_format(token, 0, 60, out, sizeof(out)), 0);
    assert_string_equal(out, "vms_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                             "AAAAAAAAAA; Path=/; Max-Age=60; HttpOnly; "
                             "SameSite=Strict");
    /* Logout: an empty cookie that expires now. */
    assert_int_equal(auth_cookie_format("", 1, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "__Host-vms_session=; Path=/; Max-Age=0; "
                             "HttpOnly; SameSite=Strict; Secure");
    assert_int_equal(auth_cookie_format(token, 1, 60, out, 20), -ENOSPC);
}

static void request_token_sources(void **state)
{
    char token[AUTH_API_KEY_LEN + 1];
    int from_cookie = -1;

    (void)state;
    assert_int_equal(auth_request_token("Bearer vmsk_abc-_9", NULL, token,
                                        sizeof(token), &from_cookie), 0);
    assert_string_equal(token, "vmsk_abc-_9");
    assert_int_equal(from_cookie, 0);
    assert_int_equal(auth_request_token("bearer  tok ", "vms_session=x",
                                        token, sizeof(token), &from_cookie),
                     0);
    assert_string_equal(token, "tok");
    assert_int_equal(auth_request_token("Basic dXNlcjpwYXNz", NULL, token,
                                        sizeof(token), &from_cookie),
                     -EINVAL);
    assert_int_equal(auth_request_token(NULL,
                                        "theme=dark; vms_session=abc; x=1",
                                        token, sizeof(token), &from_cookie),
                     0);
    assert_string_equal(token, "abc");
    assert_int_equal(from_cookie, 1);
    assert_int_equal(auth_request_token(NULL,
                                        "vms_session=plain; "
                                        "__Host-vms_session=secure",
                                        token, sizeof(token), &from_cookie),
                     0);
    assert_string_equal(token, "secure");
    assert_int_equal(auth_request_token(NULL, "my_vms_session=abc", token,
                                        sizeof(token), &from_cookie),
                     -ENOENT);
    assert_int_equal(auth_request_token(NULL, "vms_session=a\"b", token,
                                        sizeof(token), &from_cookie),
                     -EINVAL);
    assert_int_equal(auth_request_token(NULL, NULL, token, sizeof(token),
                                        &from_cookie), -ENOENT);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(session_idle_timeout,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(session_absolute_timeout,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(session_revoked_on_password_change,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(session_revoked_on_disable,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(session_logout_and_revoke_all,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(session_rejects_malformed_tokens,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(api_key_scope_and_expiry,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test(cookie_attributes),
        cmocka_unit_test(request_token_sources),
    };

    return UNIT_RUN("auth session", tests, NULL, NULL, argc, argv);
}
