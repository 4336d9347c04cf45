/*
 * The audit log: the chain verifies, and rows edited, removed or
 * inserted with SQL directly in the database file are detected. Also
 * filters, export and the keyed chain.
 */
#include <sqlite3.h>

#include "fixture.h"

/* Runs sql on the database file through a separate connection, as
 * someone with write access to the file would. */
static void audit_tamper(fixture_t *f, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("tamper SQL failed: %s", msg);
    sqlite3_close(db);
}

/* Writes n entries. */
static void audit_fill(fixture_t *f, int n)
{
    for (int i = 0; i < n; i++) {
        char target[32];
        snprintf(target, sizeof(target), "camera=%d", i + 1);
        f->now_us += 1000000;
        assert_int_equal(auth_audit_record(f->auth, "alice", "10.0.0.1",
                                           i % 2 ? "export" : "ptz", target,
                                           "ok", "preset=3"), 0);
    }
}

/* Runs auth_audit_verify(). *bad receives the first bad seq. */
static int audit_verify(fixture_t *f, int64_t *count, int64_t *bad)
{
    return auth_audit_verify(f->auth, count, bad, f->err, sizeof(f->err));
}

static void audit_chain_verifies(void **state)
{
    fixture_t *f = *state;
    int64_t count = -1, bad = -1;

    assert_int_equal(audit_verify(f, &count, &bad), 0);
    assert_int_equal(count, 0);
    audit_fill(f, 10);
    assert_int_equal(audit_verify(f, &count, &bad), 0);
    assert_int_equal(count, 10);
    assert_int_equal(bad, 0);
    /* Reopening the database keeps the chain. */
    auth_free(f->auth);
    fixture_open(f);
    audit_fill(f, 2);
    assert_int_equal(audit_verify(f, &count, &bad), 0);
    assert_int_equal(count, 12);
}

static void audit_detects_edited_row(void **state)
{
    fixture_t *f = *state;
    int64_t count, bad;

    audit_fill(f, 10);
    audit_tamper(f, "UPDATE auth_audit SET actor = 'mallory' WHERE seq = 4");
    assert_int_equal(audit_verify(f, &count, &bad), -EBADMSG);
    assert_int_equal(bad, 4);
    assert_int_equal(count, 3);
    assert_non_null(strstr(f->err, "row 4 was edited"));
}

static void audit_detects_edited_time(void **state)
{
    fixture_t *f = *state;
    int64_t count, bad;

    audit_fill(f, 5);
    audit_tamper(f, "UPDATE auth_audit SET time_us = time_us + 1 "
                    "WHERE seq = 5");
    assert_int_equal(audit_verify(f, &count, &bad), -EBADMSG);
    assert_int_equal(bad, 5);
}

static void audit_detects_deleted_row(void **state)
{
    fixture_t *f = *state;
    int64_t count, bad;

    audit_fill(f, 10);
    audit_tamper(f, "DELETE FROM auth_audit WHERE seq = 6");
    assert_int_equal(audit_verify(f, &count, &bad), -EBADMSG);
    assert_int_equal(bad, 6);
    assert_non_null(strstr(f->err, "row 6 is missing"));
}

static void audit_detects_renumbered_rows(void **state)
{
    fixture_t *f = *state;
    int64_t count, bad;

    /* Remove row 3 and close the gap: the chain link breaks. */
    audit_fill(f, 6);
    audit_tamper(f, "DELETE FROM auth_audit WHERE seq = 3;"
                    "UPDATE auth_audit SET seq = seq - 1 WHERE seq > 3;");
    assert_int_equal(audit_verify(f, &count, &bad), -EBADMSG);
    assert_int_equal(bad, 3);
    assert_non_null(strstr(f->err, "does not follow"));
}

static void audit_detects_inserted_row(void **state)
{
    fixture_t *f = *state;
    int64_t count, bad;

    /* A copy of row 2 inserted as row 3, with rows after it moved up. */
    audit_fill(f, 5);
    audit_tamper(f, "UPDATE auth_audit SET seq = seq + 100 WHERE seq > 2;"
                    "UPDATE auth_audit SET seq = seq - 99 WHERE seq > 100;"
                    "INSERT INTO auth_audit SELECT 3, time_us, actor, "
                    "source, 'login.success', target, outcome, detail, "
                    "hash, hash FROM auth_audit WHERE seq = 2;");
    assert_int_equal(audit_verify(f, &count, &bad), -EBADMSG);
    assert_int_equal(bad, 3);
}

static void audit_detects_truncated_tail(void **state)
{
    fixture_t *f = *state;
    int64_t count, bad;

    audit_fill(f, 8);
    audit_tamper(f, "DELETE FROM auth_audit WHERE seq >= 7");
    assert_int_equal(audit_verify(f, &count, &bad), -EBADMSG);
    assert_int_equal(count, 6);
    assert_int_equal(bad, 7);
    assert_non_null(strstr(f->err, "head does not match"));
}

static void audit_detects_wiped_log(void **state)
{
    fixture_t *f = *state;
    int64_t count, bad;

    audit_fill(f, 3);
    audit_tamper(f, "DELETE FROM auth_audit");
    assert_int_equal(audit_verify(f, &count, &bad), -EBADMSG);
    assert_int_equal(count, 0);
    assert_int_equal(bad, 1);
}

static void audit_keyed_chain(void **state)
{
    fixture_t *f = *state;
    unsigned char key[32];
    int64_t count, bad;

    auth_free(f->auth);
    memset(key, 7, sizeof(key));
    f->cfg.audit_key = key;
    f->cfg.audit_key_len = sizeof(key);
    fixture_open(f);
    audit_fill(f, 4);
    assert_int_equal(audit_verify(f, &count, &bad), 0);
    assert_int_equal(count, 4);

    /* Without the key, or with another one, the chain does not verify:
     * whoever edits the file cannot recompute it. */
    auth_free(f->auth);
    f->cfg.audit_key = NULL;
    f->cfg.audit_key_len = 0;
    fixture_open(f);
    assert_int_equal(audit_verify(f, &count, &bad), -EBADMSG);
    assert_int_equal(bad, 1);

    auth_free(f->auth);
    f->cfg.audit_key = key;
    f->cfg.audit_key_len = 8;
    assert_int_equal(auth_new(&f->cfg, NULL, &f->auth, f->err,
                              sizeof(f->err)), -EINVAL);
    f->auth = NULL;
    f->cfg.audit_key_len = sizeof(key);
    fixture_open(f);
}

static void audit_list_filters(void **state)
{
    fixture_t *f = *state;
    auth_audit_filter_t filter = {0};
    auth_audit_entry_t *list = NULL;
    size_t n = 0;
    int64_t start = f->now_us;

    audit_fill(f, 10);
    assert_int_equal(auth_audit_record(f->auth, "bob", "10.0.0.2",
                                       "camera.update", "camera=1", "ok",
                                       "name changed"), 0);

    filter.action = "export";
    assert_int_equal(auth_audit_list(f->auth, &filter, &list, &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal(list[0].action, "export");
    assert_int_equal(list[0].seq, 2);
    free(list);

    memset(&filter, 0, sizeof(filter));
    filter.actor = "bob";
    assert_int_equal(auth_audit_list(f->auth, &filter, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].detail, "name changed");
    assert_int_equal(strlen(list[0].hash), 64);
    free(list);

    /* Time range [start + 3 s, start + 6 s) and paging. */
    memset(&filter, 0, sizeof(filter));
    filter.from_us = start + 3000000;
    filter.to_us = start + 6000000;
    assert_int_equal(auth_audit_list(f->auth, &filter, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].seq, 3);
    free(list);
    memset(&filter, 0, sizeof(filter));
    filter.after_seq = 8;
    filter.limit = 2;
    assert_int_equal(auth_audit_list(f->auth, &filter, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].seq, 9);
    assert_int_equal(list[1].seq, 10);
    free(list);

    /* '%' in a prefix is literal, not a wildcard. */
    memset(&filter, 0, sizeof(filter));
    filter.action = "%";
    assert_int_equal(auth_audit_list(f->auth, &filter, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
}

static void audit_export_json_lines(void **state)
{
    fixture_t *f = *state;
    auth_audit_filter_t filter = {0};
    char path[400], line[2048];
    FILE *out;
    int lines = 0;

    audit_fill(f, 3);
    assert_int_equal(auth_audit_record(f->auth, "bob", "10.0.0.2", "hold",
                                       "camera=2", "ok",
                                       "quote \" and \\ kept"), 0);
    snprintf(path, sizeof(path), "%s/audit.jsonl", f->dir);
    out = fopen(path, "w");
    assert_non_null(out);
    assert_int_equal(auth_audit_export(f->auth, &filter, out), 0);
    fclose(out);

    out = fopen(path, "r");
    assert_non_null(out);
    while (fgets(line, sizeof(line), out)) {
        lines++;
        assert_non_null(strstr(line, "\"seq\":"));
        assert_non_null(strstr(line, "\"hash\":\""));
    }
    fclose(out);
    assert_int_equal(lines, 4);
    /* The last line has the escaped detail. */
    assert_non_null(strstr(line, "quote \\\" and \\\\ kept"));
}

static void audit_records_security_events(void **state)
{
    fixture_t *f = *state;
    auth_audit_entry_t *list = NULL;
    size_t n = 0;
    int64_t count, bad;
    const char *want[] = {"user.create", "login.failure", "login.success",
                          "user.password", "user.role", "user.disable",
                          "user.enable"};

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    fixture_user(f, "root", AUTH_ROLE_ADMINISTRATOR);
    fixture_login(f, "alice", "wrong password 1", NULL, "10.0.0.9", NULL);
    fixture_login(f, "alice", FIXTURE_PASSWORD, NULL, "10.0.0.9", NULL);
    assert_int_equal(auth_user_set_password(f->auth, "root", "alice", NULL,
                                            "another long password", f->err,
                                            sizeof(f->err)), 0);
    assert_int_equal(auth_user_set_role(f->auth, "root", "alice",
                                        AUTH_ROLE_VIEWER, f->err,
                                        sizeof(f->err)), 0);
    assert_int_equal(auth_user_set_disabled(f->auth, "root", "alice", 1,
                                            f->err, sizeof(f->err)), 0);
    assert_int_equal(auth_user_set_disabled(f->auth, "root", "alice", 0,
                                            f->err, sizeof(f->err)), 0);
    assert_int_equal(auth_audit_list(f->auth, NULL, &list, &n), 0);
    for (size_t w = 0; w < sizeof(want) / sizeof(*want); w++) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(list[i].action, want[w]) == 0;
        if (!found)
            fail_msg("no audit entry with action %s", want[w]);
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].action, "login.failure") == 0) {
            assert_string_equal(list[i].source, "10.0.0.9");
            assert_string_equal(list[i].outcome, "denied");
        }
    free(list);
    assert_int_equal(audit_verify(f, &count, &bad), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(audit_chain_verifies,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_detects_edited_row,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_detects_edited_time,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_detects_deleted_row,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_detects_renumbered_rows,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_detects_inserted_row,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_detects_truncated_tail,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_detects_wiped_log,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_keyed_chain,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_list_filters,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_export_json_lines,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(audit_records_security_events,
                                        fixture_setup, fixture_teardown),
    };

    return UNIT_RUN("auth audit", tests, NULL, NULL, argc, argv);
}
