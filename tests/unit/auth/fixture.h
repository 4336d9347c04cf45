/*
 * Shared set-up of the security module's tests: a temporary directory
 * with a fresh SQLite database, an auth_t over it with the cheapest
 * argon2id cost, and a test clock that the tests move by hand.
 * Everything is removed again in fixture_teardown().
 */
#ifndef VMS_TESTS_AUTH_FIXTURE_H
#define VMS_TESTS_AUTH_FIXTURE_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "auth/auth.h"

/* 2023-11-14T22:13:20Z: a fixed start so that TOTP steps are known. */
#define FIXTURE_T0_US 1700000000000000LL
#define FIXTURE_PASSWORD "correct horse battery"

typedef struct fixture {
    char dir[256];
    char db[300];
    int64_t now_us;
    vms_clock_t clock;
    auth_config_t cfg;
    auth_t *auth;
    char err[AUTH_ERR_MAX];
} fixture_t;

static int64_t fixture_clock_now(void *ctx)
{
    return ((fixture_t *)ctx)->now_us;
}

/* Removes every file in dir and then dir itself. */
static inline void fixture_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            fixture_rmdir(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Opens (or reopens) the auth_t of f with f->cfg. */
static inline void fixture_open(fixture_t *f)
{
    auth_store_t *store = NULL;

    assert_int_equal(auth_store_sqlite_open(f->db, &store, f->err,
                                            sizeof(f->err)), 0);
    f->cfg.clock = &f->clock;
    f->cfg.pwhash_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    f->cfg.pwhash_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    assert_int_equal(auth_new(&f->cfg, store, &f->auth, f->err,
                              sizeof(f->err)), 0);
}

static inline int fixture_setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    fixture_t *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/vms-auth-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->db, sizeof(f->db), "%s/vms.db", f->dir);
    f->now_us = FIXTURE_T0_US;
    f->clock.now_us = fixture_clock_now;
    f->clock.ctx = f;
    fixture_open(f);
    *state = f;
    return 0;
}

static inline int fixture_teardown(void **state)
{
    fixture_t *f = *state;

    auth_free(f->auth);
    fixture_rmdir(f->dir);
    free(f);
    return 0;
}

/* Creates a local user with FIXTURE_PASSWORD and the given role. */
static inline int64_t fixture_user(fixture_t *f, const char *name,
                                   const char *role)
{
    auth_user_t u;

    assert_int_equal(auth_user_create(f->auth, "test", name,
                                      FIXTURE_PASSWORD, role, &u, f->err,
                                      sizeof(f->err)), 0);
    return u.id;
}

/* Logs in and returns the status. token (may be NULL) receives the
 * session token. */
static inline auth_login_status_t fixture_login(fixture_t *f,
                                                const char *name,
                                                const char *password,
                                                const char *code,
                                                const char *source,
                                                char *token)
{
    auth_login_request_t req = {name, password, code, source, 0};
    auth_login_result_t res;

    assert_int_equal(auth_login(f->auth, &req, &res, f->err,
                                sizeof(f->err)), 0);
    if (token)
        memcpy(token, res.token, sizeof(res.token));
    return res.status;
}

#endif
