/*
 * Login: answers that do not reveal accounts, throttling and lockout
 * per account and per address with an injected clock, the password
 * policy, the first administrator and the audit of it all.
 */
#include <sqlite3.h>
#include <time.h>

#include "fixture.h"

#define SECOND 1000000LL
#define MINUTE (60 * SECOND)

/* Logs in and returns the full result. */
static auth_login_result_t login_full(fixture_t *f, const char *name,
                                      const char *password,
                                      const char *source)
{
    auth_login_request_t req = {name, password, NULL, source, 0};
    auth_login_result_t res;

    assert_int_equal(auth_login(f->auth, &req, &res, f->err,
                                sizeof(f->err)), 0);
    return res;
}

/* Sends a wrong password, first waiting out any delay. Returns the
 * delay that was waited. */
static int64_t fail_once(fixture_t *f, const char *name, const char *source)
{
    auth_login_result_t res = login_full(f, name, "not the password 1",
                                         source);
    int64_t waited = 0;

    if (res.status == AUTH_LOGIN_THROTTLED) {
        waited = res.retry_after_us;
        f->now_us += res.retry_after_us;
        res = login_full(f, name, "not the password 1", source);
    }
    assert_int_equal(res.status, AUTH_LOGIN_FAILED);
    return waited;
}

/* Counts audit entries whose action starts with prefix. */
static size_t audit_count(fixture_t *f, const char *prefix)
{
    auth_audit_filter_t filter = {0};
    auth_audit_entry_t *list = NULL;
    size_t n = 0;

    filter.action = prefix;
    assert_int_equal(auth_audit_list(f->auth, &filter, &list, &n), 0);
    free(list);
    return n;
}

static void login_failure_hides_account(void **state)
{
    fixture_t *f = *state;
    auth_login_result_t res;

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    fixture_user(f, "bob", AUTH_ROLE_VIEWER);
    assert_int_equal(auth_user_set_disabled(f->auth, "test", "bob", 1,
                                            f->err, sizeof(f->err)), 0);

    res = login_full(f, "nobody", FIXTURE_PASSWORD, "10.0.0.1");
    assert_int_equal(res.status, AUTH_LOGIN_FAILED);
    assert_string_equal(f->err, "unknown user");
    assert_int_equal(res.token[0], '\0');
    res = login_full(f, "alice", "wrong password 99", "10.0.0.1");
    assert_int_equal(res.status, AUTH_LOGIN_FAILED);
    assert_string_equal(f->err, "wrong password");
    res = login_full(f, "bob", FIXTURE_PASSWORD, "10.0.0.1");
    assert_int_equal(res.status, AUTH_LOGIN_FAILED);
    assert_string_equal(f->err, "user is disabled");
    res = login_full(f, "", FIXTURE_PASSWORD, "10.0.0.1");
    assert_int_equal(res.status, AUTH_LOGIN_FAILED);

    res = login_full(f, "ALICE", FIXTURE_PASSWORD, "10.0.0.1");
    assert_int_equal(res.status, AUTH_LOGIN_OK);
    assert_int_equal(strlen(res.token), AUTH_TOKEN_LEN);
    assert_non_null(strstr(res.set_cookie, "HttpOnly"));
    assert_int_equal(audit_count(f, "login.failure"), 4);
    assert_int_equal(audit_count(f, "login.success"), 1);
}

/* Returns the median time in microseconds of 7 logins. */
static int64_t login_median_us(fixture_t *f, const char *name)
{
    int64_t t[7];

    for (int i = 0; i < 7; i++) {
        struct timespec a, b;
        char source[32];

        /* A new address and a moved clock each time: no throttle. */
        snprintf(source, sizeof(source), "10.1.0.%d", i);
        f->now_us += 60 * MINUTE;
        clock_gettime(CLOCK_MONOTONIC, &a);
        login_full(f, name, "wrong password 99", source);
        clock_gettime(CLOCK_MONOTONIC, &b);
        t[i] = (b.tv_sec - a.tv_sec) * SECOND + (b.tv_nsec - a.tv_nsec) /
                                                    1000;
    }
    for (int i = 1; i < 7; i++)
        for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
            int64_t x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return t[3];
}

static void login_unknown_user_hashes_too(void **state)
{
    fixture_t *f = *state;
    int64_t known, unknown;

    /* A cost that makes the hash dominate the time of a login. */
    auth_free(f->auth);
    f->auth = NULL;
    fixture_open(f);
    auth_free(f->auth);
    f->cfg.pwhash_opslimit = 2;
    f->cfg.pwhash_memlimit = 16 * 1024 * 1024;
    {
        auth_store_t *store = NULL;
        assert_int_equal(auth_store_sqlite_open(f->db, &store, f->err,
                                                sizeof(f->err)), 0);
        assert_int_equal(auth_new(&f->cfg, store, &f->auth, f->err,
                                  sizeof(f->err)), 0);
    }
    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    known = login_median_us(f, "alice");
    unknown = login_median_us(f, "nobody");
    print_message("login time: known user %lld us, unknown user %lld us\n",
                  (long long)known, (long long)unknown);
    /* Without the dummy hash an unknown user would take a few
     * microseconds instead of the milliseconds of argon2id, a factor of
     * about a thousand; a factor of 4 leaves room for a loaded machine
     * and sanitizer builds. */
    assert_true(unknown * 4 > known);
    assert_true(known * 4 > unknown);
}

static void login_delays_grow_exponentially(void **state)
{
    fixture_t *f = *state;
    static const int64_t expected[] = {0, 0, 0, 1, 2, 4, 8, 16, 32, 60};
    auth_login_result_t res;

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    for (int i = 0; i < 10; i++)
        assert_int_equal(fail_once(f, "alice", "10.0.0.1"),
                         expected[i] * SECOND);
    /* The tenth failure locked the account for 15 minutes. */
    res = login_full(f, "alice", FIXTURE_PASSWORD, "10.0.0.1");
    assert_int_equal(res.status, AUTH_LOGIN_THROTTLED);
    assert_int_equal(res.retry_after_us, 15 * MINUTE);
    assert_int_equal(res.token[0], '\0');
}

static void lockout_one_address_then_expires(void **state)
{
    fixture_t *f = *state;
    auth_login_result_t res;

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    for (int i = 0; i < 10; i++)
        fail_once(f, "alice", "10.0.0.1");

    /* The right password does not help during the lockout. */
    f->now_us += 14 * MINUTE;
    res = login_full(f, "alice", FIXTURE_PASSWORD, "10.0.0.1");
    assert_int_equal(res.status, AUTH_LOGIN_THROTTLED);
    assert_int_equal(res.retry_after_us, 1 * MINUTE);
    /* Seven waits for delays, then this attempt. */
    assert_int_equal(audit_count(f, "login.throttled"), 7 + 1);

    f->now_us += 1 * MINUTE;
    res = login_full(f, "alice", FIXTURE_PASSWORD, "10.0.0.1");
    assert_int_equal(res.status, AUTH_LOGIN_OK);
    /* The success cleared the account: a wrong password is free again. */
    assert_int_equal(fail_once(f, "alice", "10.0.0.1"), 0);
}

static void lockout_many_addresses(void **state)
{
    fixture_t *f = *state;
    auth_login_result_t res;

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    for (int i = 0; i < 10; i++) {
        char source[32];
        snprintf(source, sizeof(source), "192.0.2.%d", i + 1);
        fail_once(f, "alice", source);
    }
    res = login_full(f, "alice", FIXTURE_PASSWORD, "198.51.100.7");
    assert_int_equal(res.status, AUTH_LOGIN_THROTTLED);
    assert_true(res.retry_after_us > 14 * MINUTE);

    f->now_us += res.retry_after_us;
    res = login_full(f, "alice", FIXTURE_PASSWORD, "198.51.100.7");
    assert_int_equal(res.status, AUTH_LOGIN_OK);
}

static void lockout_address_across_accounts(void **state)
{
    fixture_t *f = *state;
    auth_login_result_t res;

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    for (int i = 0; i < 50; i++) {
        char name[32];
        snprintf(name, sizeof(name), "guess%d", i);
        fail_once(f, name, "203.0.113.9");
    }
    /* The address is locked, even for a valid account. */
    res = login_full(f, "alice", FIXTURE_PASSWORD, "203.0.113.9");
    assert_int_equal(res.status, AUTH_LOGIN_THROTTLED);
    assert_int_equal(res.retry_after_us, 15 * MINUTE);
    /* Another address is not affected. */
    res = login_full(f, "alice", FIXTURE_PASSWORD, "203.0.113.10");
    assert_int_equal(res.status, AUTH_LOGIN_OK);

    f->now_us += 15 * MINUTE;
    res = login_full(f, "alice", FIXTURE_PASSWORD, "203.0.113.9");
    assert_int_equal(res.status, AUTH_LOGIN_OK);
}

static void lockout_unknown_user_alike(void **state)
{
    fixture_t *f = *state;
    auth_login_result_t known, unknown;

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    for (int i = 0; i < 10; i++) {
        fail_once(f, "alice", "10.0.0.1");
        fail_once(f, "nobody", "10.0.0.2");
    }
    known = login_full(f, "alice", "x", "10.0.0.1");
    unknown = login_full(f, "nobody", "x", "10.0.0.2");
    assert_int_equal(known.status, AUTH_LOGIN_THROTTLED);
    assert_int_equal(unknown.status, AUTH_LOGIN_THROTTLED);
    assert_true(known.retry_after_us > 14 * MINUTE);
    assert_true(unknown.retry_after_us > 14 * MINUTE);
}

/* Returns the number of rows in auth_throttle. */
static int throttle_rows(fixture_t *f)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM "
                                        "auth_throttle", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void throttle_rows_swept(void **state)
{
    fixture_t *f = *state;

    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "spray%d", i);
        fail_once(f, name, "10.9.0.1");
    }
    /* Five account rows and one address row. */
    assert_int_equal(throttle_rows(f), 6);
    f->now_us += 16 * MINUTE;
    fail_once(f, "late", "10.9.0.2");
    assert_int_equal(throttle_rows(f), 2);
}

static void password_policy_rules(void **state)
{
    fixture_t *f = *state;
    auth_password_policy_t p;

    assert_int_equal(auth_user_create(f->auth, "test", "alice", "short",
                                      AUTH_ROLE_VIEWER, NULL, f->err,
                                      sizeof(f->err)), -EINVAL);
    assert_non_null(strstr(f->err, "too short"));
    assert_int_equal(auth_user_create(f->auth, "test", "alice",
                                      "my name is ALICE ok",
                                      AUTH_ROLE_VIEWER, NULL, f->err,
                                      sizeof(f->err)), -EINVAL);
    assert_non_null(strstr(f->err, "user name"));
    /* Twelve characters, counted as code points, not bytes. */
    assert_int_equal(auth_password_check(f->auth, "alice",
                                         "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                         "\xc3\xa9\xc3\xa9" "abcde",
                                         f->err, sizeof(f->err)), -EINVAL);

    p.min_length = 8;
    p.min_classes = 0;
    p.reject_username = 1;
    assert_int_equal(auth_password_policy_set(f->auth, "test", &p, f->err,
                                              sizeof(f->err)), -EINVAL);
    assert_non_null(strstr(f->err, "minimum password length 8"));
    p.min_length = 16;
    p.min_classes = 3;
    assert_int_equal(auth_password_policy_set(f->auth, "test", &p, f->err,
                                              sizeof(f->err)), 0);
    assert_int_equal(auth_password_check(f->auth, "alice",
                                         "correct horse battery", f->err,
                                         sizeof(f->err)), -EINVAL);
    assert_non_null(strstr(f->err, "too simple"));
    assert_int_equal(auth_password_check(f->auth, "alice",
                                         "Correct horse battery 9", f->err,
                                         sizeof(f->err)), 0);
    assert_int_equal(auth_password_policy_get(f->auth, &p), 0);
    assert_int_equal(p.min_length, 16);
    assert_int_equal(p.min_classes, 3);
}

static void setup_token_creates_first_admin(void **state)
{
    fixture_t *f = *state;
    char token[AUTH_TOKEN_LEN + 1], again[AUTH_TOKEN_LEN + 1];
    int needed = 0;

    assert_int_equal(auth_setup_needed(f->auth, &needed), 0);
    assert_int_equal(needed, 1);
    assert_int_equal(auth_setup_token_create(f->auth, token, sizeof(token)),
                     0);
    assert_int_equal(auth_setup_token_create(f->auth, again, sizeof(again)),
                     0);
    /* Only the newest token counts. */
    assert_int_equal(auth_setup_complete(f->auth, token, "root",
                                         FIXTURE_PASSWORD, "10.0.0.1",
                                         f->err, sizeof(f->err)), -EACCES);
    assert_int_equal(auth_setup_complete(f->auth, again, "root",
                                         FIXTURE_PASSWORD, "10.0.0.1",
                                         f->err, sizeof(f->err)), 0);
    assert_int_equal(auth_setup_needed(f->auth, &needed), 0);
    assert_int_equal(needed, 0);
    assert_int_equal(auth_setup_complete(f->auth, again, "root2",
                                         FIXTURE_PASSWORD, "10.0.0.1",
                                         f->err, sizeof(f->err)), -EEXIST);
    assert_int_equal(auth_setup_token_create(f->auth, token, sizeof(token)),
                     -EEXIST);
    assert_int_equal(fixture_login(f, "root", FIXTURE_PASSWORD, NULL,
                                   "10.0.0.1", NULL), AUTH_LOGIN_OK);
}

static void last_admin_protected(void **state)
{
    fixture_t *f = *state;

    fixture_user(f, "root", AUTH_ROLE_ADMINISTRATOR);
    assert_int_equal(auth_user_delete(f->auth, "test", "root", f->err,
                                      sizeof(f->err)), -EPERM);
    assert_int_equal(auth_user_set_disabled(f->auth, "test", "root", 1,
                                            f->err, sizeof(f->err)),
                     -EPERM);
    assert_int_equal(auth_user_set_role(f->auth, "test", "root",
                                        AUTH_ROLE_VIEWER, f->err,
                                        sizeof(f->err)), -EPERM);
    fixture_user(f, "root2", AUTH_ROLE_ADMINISTRATOR);
    assert_int_equal(auth_user_delete(f->auth, "test", "root", f->err,
                                      sizeof(f->err)), 0);
}

static void user_names_validated(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(auth_user_create(f->auth, "test", "bad name",
                                      FIXTURE_PASSWORD, AUTH_ROLE_VIEWER,
                                      NULL, f->err, sizeof(f->err)),
                     -EINVAL);
    assert_int_equal(auth_user_create(f->auth, "test", "x*)(uid=*",
                                      FIXTURE_PASSWORD, AUTH_ROLE_VIEWER,
                                      NULL, f->err, sizeof(f->err)),
                     -EINVAL);
    assert_int_equal(auth_user_create(f->auth, "test", "alice",
                                      FIXTURE_PASSWORD, "nosuchrole", NULL,
                                      f->err, sizeof(f->err)), -ENOENT);
    fixture_user(f, "alice", AUTH_ROLE_VIEWER);
    assert_int_equal(auth_user_create(f->auth, "test", "Alice",
                                      FIXTURE_PASSWORD, AUTH_ROLE_VIEWER,
                                      NULL, f->err, sizeof(f->err)),
                     -EEXIST);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(login_failure_hides_account,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(login_unknown_user_hashes_too,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(login_delays_grow_exponentially,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(lockout_one_address_then_expires,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(lockout_many_addresses,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(lockout_address_across_accounts,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(lockout_unknown_user_alike,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(throttle_rows_swept,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(password_policy_rules,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(setup_token_creates_first_admin,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(last_admin_protected,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(user_names_validated,
                                        fixture_setup, fixture_teardown),
    };

    return UNIT_RUN("auth login", tests, NULL, NULL, argc, argv);
}
