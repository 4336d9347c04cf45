/* The audit key file of a data directory, shared by vmsd and vmsctl. */
#include "auth/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes path = data_dir/name, or returns -ENAMETOOLONG with a
 * message. */
static int keyfile_path(const char *data_dir, const char *name, char *path,
                        size_t cap, char *err, size_t errlen)
{
    if (!data_dir || !*data_dir) {
        snprintf(err, errlen, "missing data directory: set data_dir");
        return -EINVAL;
    }
    if ((size_t)snprintf(path, cap, "%s/%s", data_dir, name) >= cap) {
        snprintf(err, errlen,
                 "data directory path '%s' is too long: at most %zu bytes",
                 data_dir, cap - strlen(name) - 2);
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Reads exactly n bytes from fd. Returns -EIO when the file is shorter. */
static int keyfile_read_all(int fd, unsigned char *buf, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t got = read(fd, buf + done, n - done);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            return -EIO;
        done += (size_t)got;
    }
    return 0;
}

/* Writes all n bytes of buf to fd. */
static int keyfile_write_all(int fd, const unsigned char *buf, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t put = write(fd, buf + done, n - done);

        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0)
            return -errno;
        done += (size_t)put;
    }
    return 0;
}

/* Checks the open key file fd (type, owner, mode and size) and reads
 * the key from it. */
static int keyfile_read(int fd, const char *path, unsigned char *key,
                        char *err, size_t errlen)
{
    struct stat st;
    int rc;

    if (fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot read the audit key %s: %s", path,
                 strerror(errno));
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen,
                 "audit key %s is not a regular file: expected the %d-byte "
                 "key that vmsd or vmsctl writes there",
                 path, AUTH_AUDIT_KEY_LEN);
        return -EINVAL;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "audit key %s is owned by uid %u, but this program runs as "
                 "uid %u: run it as the user that runs vmsd, or give the "
                 "data directory to that user with chown -R",
                 path, (unsigned)st.st_uid, (unsigned)geteuid());
        return -EPERM;
    }
    if ((st.st_mode & 07777) != 0600) {
        snprintf(err, errlen,
                 "audit key %s has mode %04o, expected 0600 because it "
                 "protects the audit log: run chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        return -EPERM;
    }
    if (st.st_size != AUTH_AUDIT_KEY_LEN) {
        snprintf(err, errlen,
                 "audit key %s has %lld bytes, expected %d: restore it from "
                 "a backup, because a new key makes the existing audit rows "
                 "fail verification",
                 path, (long long)st.st_size, AUTH_AUDIT_KEY_LEN);
        return -EINVAL;
    }
    rc = keyfile_read_all(fd, key, AUTH_AUDIT_KEY_LEN);
    if (rc < 0)
        snprintf(err, errlen, "cannot read the audit key %s: %s", path,
                 rc == -EIO ? "the file became shorter while it was read"
                            : strerror(-rc));
    return rc;
}

/* Opens path and reads the key. Returns -ENOENT, without a message,
 * when there is no file. */
static int keyfile_open_read(const char *path, unsigned char *key,
                             char *err, size_t errlen)
{
    /* O_NOFOLLOW: a symbolic link could point the key anywhere.
     * O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
                            O_NONBLOCK);
    int rc;

    if (fd < 0 && errno == ENOENT)
        return -ENOENT;
    if (fd < 0 && errno == ELOOP) {
        snprintf(err, errlen,
                 "audit key %s is a symbolic link: replace it with the key "
                 "file itself",
                 path);
        return -EINVAL;
    }
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open the audit key %s: %s", path,
                 strerror(errno));
        return rc;
    }
    rc = keyfile_read(fd, path, key, err, errlen);
    close(fd);
    return rc;
}

/* Flushes the directory entries of dir to disk. */
static int keyfile_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/*
 * Creates the key file at path with a new random key. Returns 0, or
 * -EEXIST without a message when another process published its key
 * first.
 *
 * The key is written to a temporary file (O_CREAT | O_EXCL, mode 0600)
 * and fsynced before link() gives it the final name. link() fails with
 * EEXIST instead of replacing a file, unlike rename(), so the first
 * process wins and no reader ever sees a partly written key.
 */
static int keyfile_create(const char *data_dir, const char *path,
                          unsigned char *key, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    int fd;
    int rc;

    rc = keyfile_path(data_dir, "." AUTH_AUDIT_KEY_FILE ".XXXXXX", tmp,
                      sizeof(tmp), err, errlen);
    if (rc < 0)
        return rc;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        snprintf(err, errlen,
                 "data directory %s does not exist: create it, or set "
                 "data_dir to the directory of the catalog",
                 data_dir);
        return -ENOENT;
    }
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot create the audit key in %s: %s",
                 data_dir, strerror(errno));
        return rc;
    }
    if (sodium_init() < 0) {
        close(fd);
        unlink(tmp);
        snprintf(err, errlen, "libsodium failed to initialise");
        return -EIO;
    }
    randombytes_buf(key, AUTH_AUDIT_KEY_LEN);
    /* mkostemp() applies the umask to 0600, so set the mode itself. */
    rc = fchmod(fd, 0600) < 0 ? -errno : 0;
    if (rc == 0)
        rc = keyfile_write_all(fd, key, AUTH_AUDIT_KEY_LEN);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && link(tmp, path) < 0)
        rc = -errno;
    unlink(tmp);
    if (rc == -EEXIST) {
        sodium_memzero(key, AUTH_AUDIT_KEY_LEN);
        return rc;
    }
    if (rc == 0)
        rc = keyfile_sync_dir(data_dir);
    if (rc < 0) {
        sodium_memzero(key, AUTH_AUDIT_KEY_LEN);
        snprintf(err, errlen, "cannot write the audit key %s: %s", path,
                 strerror(-rc));
    }
    return rc;
}

int auth_audit_key_load(const char *data_dir, unsigned char key[32],
                        char *err, size_t errlen)
{
    char path[PATH_MAX];
    int rc;

    rc = keyfile_path(data_dir, AUTH_AUDIT_KEY_FILE, path, sizeof(path), err,
                      errlen);
    if (rc < 0)
        return rc;
    rc = keyfile_open_read(path, key, err, errlen);
    if (rc != -ENOENT)
        return rc;
    rc = keyfile_create(data_dir, path, key, err, errlen);
    if (rc != -EEXIST)
        return rc;
    /* Another process created the key between the two calls above. */
    rc = keyfile_open_read(path, key, err, errlen);
    if (rc == -ENOENT)
        snprintf(err, errlen,
                 "audit key %s was removed while it was being created: run "
                 "the command again",
                 path);
    return rc;
}

int auth_open_data_dir(const char *data_dir, auth_t **out, char *err,
                       size_t errlen)
{
    unsigned char key[AUTH_AUDIT_KEY_LEN];
    char path[PATH_MAX];
    auth_config_t cfg;
    auth_store_t *store = NULL;
    int rc;

    *out = NULL;
    rc = keyfile_path(data_dir, AUTH_CATALOG_FILE, path, sizeof(path), err,
                      errlen);
    if (rc < 0)
        return rc;
    rc = auth_audit_key_load(data_dir, key, err, errlen);
    if (rc < 0)
        return rc;
    rc = auth_store_sqlite_open(path, &store, err, errlen);
    if (rc == 0) {
        memset(&cfg, 0, sizeof(cfg));
        cfg.audit_key = key;
        cfg.audit_key_len = sizeof(key);
        rc = auth_new(&cfg, store, out, err, errlen);
        if (rc < 0)
            *out = NULL;
    }
    sodium_memzero(key, sizeof(key));
    return rc;
}
