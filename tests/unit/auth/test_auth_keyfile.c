/*
 * The audit key file of a data directory: creation, reading, the checks
 * of type, owner, mode and size, several processes creating it at once,
 * and auth_open_data_dir() hashing the audit chain with that key.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "fixture.h"

#include "auth/keyfile.h"

typedef struct keydir {
    char dir[256];
    char key[300];
    char err[AUTH_ERR_MAX];
} keydir_t;

static int keydir_setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    keydir_t *k = calloc(1, sizeof(*k));

    if (!k)
        return -1;
    snprintf(k->dir, sizeof(k->dir), "%s/vms-keyfile-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(k->dir)) {
        free(k);
        return -1;
    }
    snprintf(k->key, sizeof(k->key), "%s/audit.key", k->dir);
    *state = k;
    return 0;
}

static int keydir_teardown(void **state)
{
    keydir_t *k = *state;

    fixture_rmdir(k->dir);
    free(k);
    return 0;
}

/* Writes n bytes of data to path with the given mode. */
static void keydir_write(const char *path, const void *data, size_t n,
                         mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* Returns the number of entries in dir besides . and .. */
static int keydir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void keyfile_created_when_absent(void **state)
{
    keydir_t *k = *state;
    unsigned char key[32], on_disk[32], zero[32] = {0};
    struct stat st;
    int fd;

    assert_int_equal(auth_audit_key_load(k->dir, key, k->err,
                                         sizeof(k->err)), 0);
    assert_int_equal(lstat(k->key, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(st.st_uid, geteuid());
    fd = open(k->key, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, on_disk, sizeof(on_disk)), 32);
    close(fd);
    assert_memory_equal(key, on_disk, 32);
    assert_memory_not_equal(key, zero, 32);
    /* The temporary file is gone. */
    assert_int_equal(keydir_entries(k->dir), 1);
}

static void keyfile_existing_key_read(void **state)
{
    keydir_t *k = *state;
    unsigned char want[32], key[32], again[32];

    for (int i = 0; i < 32; i++)
        want[i] = (unsigned char)(i * 7 + 1);
    keydir_write(k->key, want, sizeof(want), 0600);
    assert_int_equal(auth_audit_key_load(k->dir, key, k->err,
                                         sizeof(k->err)), 0);
    assert_memory_equal(key, want, 32);
    assert_int_equal(auth_audit_key_load(k->dir, again, k->err,
                                         sizeof(k->err)), 0);
    assert_memory_equal(again, want, 32);
}

static void keyfile_mode_forced_to_0600(void **state)
{
    keydir_t *k = *state;
    unsigned char key[32];
    struct stat st;
    mode_t old = umask(0277);

    assert_int_equal(auth_audit_key_load(k->dir, key, k->err,
                                         sizeof(k->err)), 0);
    umask(old);
    assert_int_equal(stat(k->key, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static void keyfile_rejects_bad_mode(void **state)
{
    keydir_t *k = *state;
    static const mode_t modes[] = {0644, 0640, 0400, 0700, 0604};
    unsigned char data[32] = {1};
    unsigned char key[32];

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        keydir_write(k->key, data, sizeof(data), modes[i]);
        assert_int_equal(auth_audit_key_load(k->dir, key, k->err,
                                             sizeof(k->err)), -EPERM);
        assert_non_null(strstr(k->err, k->key));
        assert_non_null(strstr(k->err, "chmod 600"));
        unlink(k->key);
    }
}

static void keyfile_rejects_bad_size(void **state)
{
    keydir_t *k = *state;
    static const size_t sizes[] = {0, 16, 31, 33, 64};
    unsigned char data[64] = {1};
    unsigned char key[32];

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        keydir_write(k->key, data, sizes[i], 0600);
        assert_int_equal(auth_audit_key_load(k->dir, key, k->err,
                                             sizeof(k->err)), -EINVAL);
        assert_non_null(strstr(k->err, k->key));
        assert_non_null(strstr(k->err, "expected 32"));
        unlink(k->key);
    }
}

static void keyfile_rejects_other_owner(void **state)
{
    keydir_t *k = *state;
    unsigned char data[32] = {1};
    unsigned char key[32];

    /* Only root can give a file to another user. `make test` runs as
     * root; a test run as another user cannot create this case. */
    if (geteuid() != 0)
        skip();
    keydir_write(k->key, data, sizeof(data), 0600);
    assert_int_equal(chown(k->key, 65534, 65534), 0);
    assert_int_equal(auth_audit_key_load(k->dir, key, k->err,
                                         sizeof(k->err)), -EPERM);
    assert_non_null(strstr(k->err, k->key));
    assert_non_null(strstr(k->err, "owned by uid 65534"));
}

static void keyfile_rejects_link_and_dir(void **state)
{
    keydir_t *k = *state;
    unsigned char data[32] = {1};
    unsigned char key[32];
    char target[320];

    snprintf(target, sizeof(target), "%s/elsewhere", k->dir);
    keydir_write(target, data, sizeof(data), 0600);
    assert_int_equal(symlink(target, k->key), 0);
    assert_int_equal(auth_audit_key_load(k->dir, key, k->err,
                                         sizeof(k->err)), -EINVAL);
    assert_non_null(strstr(k->err, "symbolic link"));
    unlink(k->key);

    assert_int_equal(mkdir(k->key, 0700), 0);
    assert_int_equal(auth_audit_key_load(k->dir, key, k->err,
                                         sizeof(k->err)), -EINVAL);
    assert_non_null(strstr(k->err, "not a regular file"));
    rmdir(k->key);
}

static void keyfile_missing_dir(void **state)
{
    keydir_t *k = *state;
    unsigned char key[32];
    char missing[320];
    auth_t *auth = (auth_t *)1;

    snprintf(missing, sizeof(missing), "%s/none", k->dir);
    assert_int_equal(auth_audit_key_load(missing, key, k->err,
                                         sizeof(k->err)), -ENOENT);
    assert_non_null(strstr(k->err, missing));
    assert_non_null(strstr(k->err, "does not exist"));
    assert_int_equal(auth_open_data_dir(missing, &auth, k->err,
                                        sizeof(k->err)), -ENOENT);
    assert_null(auth);
    assert_int_equal(keydir_entries(k->dir), 0);
}

/* Several processes find no key at once: all must end with the key
 * that won, and that key is the one on disk. */
static void keyfile_concurrent_create(void **state)
{
    enum { CHILDREN = 8 };
    keydir_t *k = *state;
    unsigned char keys[CHILDREN][32];
    unsigned char on_disk[32];
    pid_t pids[CHILDREN];
    int results[CHILDREN][2];
    int start[2];
    int fd;

    assert_int_equal(pipe(start), 0);
    for (int i = 0; i < CHILDREN; i++) {
        assert_int_equal(pipe(results[i]), 0);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            unsigned char key[32];
            char go;
            char err[AUTH_ERR_MAX];

            close(start[1]);
            close(results[i][0]);
            /* Wait until every child exists, then race. */
            if (read(start[0], &go, 1) != 0)
                _exit(3);
            if (auth_audit_key_load(k->dir, key, err, sizeof(err)) != 0)
                _exit(1);
            _exit(write(results[i][1], key, 32) == 32 ? 0 : 2);
        }
        close(results[i][1]);
    }
    close(start[0]);
    close(start[1]); /* end of file on the pipe releases the children */
    for (int i = 0; i < CHILDREN; i++) {
        int status = -1;

        assert_int_equal(read(results[i][0], keys[i], 32), 32);
        close(results[i][0]);
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    fd = open(k->key, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, on_disk, sizeof(on_disk)), 32);
    close(fd);
    for (int i = 0; i < CHILDREN; i++)
        assert_memory_equal(keys[i], on_disk, 32);
    assert_int_equal(keydir_entries(k->dir), 1);
}

/* Appends n audit entries through a new auth_t of the data directory
 * and returns the result of auth_audit_verify() on it. */
static int keyfile_audit_round(keydir_t *k, int n, int64_t *count,
                               int64_t *bad)
{
    auth_t *auth = NULL;
    int rc;

    assert_int_equal(auth_open_data_dir(k->dir, &auth, k->err,
                                        sizeof(k->err)), 0);
    assert_non_null(auth);
    for (int i = 0; i < n; i++)
        assert_int_equal(auth_audit_record(auth, "vmsctl", "", "test",
                                           "keyfile", "ok", NULL), 0);
    rc = auth_audit_verify(auth, count, bad, k->err, sizeof(k->err));
    auth_free(auth);
    return rc;
}

static void open_data_dir_uses_key(void **state)
{
    keydir_t *k = *state;
    unsigned char other[32];
    char db[320];
    struct stat st;
    int64_t count = -1, bad = -1;

    assert_int_equal(keyfile_audit_round(k, 3, &count, &bad), 0);
    assert_int_equal(count, 3);
    snprintf(db, sizeof(db), "%s/catalog.db", k->dir);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(stat(k->key, &st), 0);

    /* A second opening reads the same key, so the chain still holds. */
    assert_int_equal(keyfile_audit_round(k, 2, &count, &bad), 0);
    assert_int_equal(count, 5);

    /* With another key, the first row no longer verifies: the chain is
     * keyed with the file's key. */
    memset(other, 0x5a, sizeof(other));
    unlink(k->key);
    keydir_write(k->key, other, sizeof(other), 0600);
    assert_int_equal(keyfile_audit_round(k, 0, &count, &bad), -EBADMSG);
    assert_int_equal(bad, 1);
}

static void open_data_dir_bad_key(void **state)
{
    keydir_t *k = *state;
    unsigned char data[32] = {1};
    auth_t *auth = (auth_t *)1;

    keydir_write(k->key, data, sizeof(data), 0644);
    assert_int_equal(auth_open_data_dir(k->dir, &auth, k->err,
                                        sizeof(k->err)), -EPERM);
    assert_null(auth);
    assert_non_null(strstr(k->err, "chmod 600"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(keyfile_created_when_absent, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(keyfile_existing_key_read, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(keyfile_mode_forced_to_0600, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(keyfile_rejects_bad_mode, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(keyfile_rejects_bad_size, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(keyfile_rejects_other_owner, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(keyfile_rejects_link_and_dir, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(keyfile_missing_dir, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(keyfile_concurrent_create, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(open_data_dir_uses_key, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(open_data_dir_bad_key, keydir_setup,
                                        keydir_teardown),
    };

    return UNIT_RUN("auth keyfile", tests, NULL, NULL, argc, argv);
}
