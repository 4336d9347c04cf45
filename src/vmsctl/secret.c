/* Reading camera passwords and API keys without the command line. */
#include "vmsctl/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vmsctl/cli.h"

/* Checks that the len bytes in buf are one line that is not empty, and
 * strips the line ending. source names where they came from. */
static int secret_check(const char *command, const char *what,
                        const char *source, char *buf, size_t len)
{
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (len == 0) {
        vmsctl_error(command, "%s is empty: expected the %s on one line",
                     source, what);
        return -EINVAL;
    }
    if (memchr(buf, '\0', len) || memchr(buf, '\n', len) ||
        memchr(buf, '\r', len)) {
        vmsctl_error(command,
                     "%s contains more than one line or a NUL "
                     "byte: expected only the %s",
                     source, what);
        return -EINVAL;
    }
    return 0;
}

/* Reads all of fd, up to cap - 1 bytes, into buf. Returns -EFBIG if
 * there is more. */
static int secret_read_all(int fd, char *buf, size_t cap, size_t *out_len)
{
    size_t len = 0;

    for (;;) {
        ssize_t got = read(fd, buf + len, cap - 1 - len);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            break;
        len += (size_t)got;
        if (len == cap - 1) {
            char extra;

            if (read(fd, &extra, 1) > 0)
                return -EFBIG;
            break;
        }
    }
    buf[len] = '\0';
    *out_len = len;
    return 0;
}

/* Prompts on the terminal and reads one line with echo turned off. */
static int secret_prompt(const char *command, const char *what, char *buf,
                         size_t cap, size_t *out_len)
{
    struct termios saved;
    struct termios quiet;
    int restore = tcgetattr(STDIN_FILENO, &saved) == 0;
    int rc = 0;

    /* Echo goes off before the prompt appears, because TCSAFLUSH drops
     * what was typed before, and a line typed after the prompt but
     * before the change would be echoed and then dropped. */
    if (restore) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    fprintf(stderr, "Enter the %s: ", what);
    fflush(stderr);
    if (!fgets(buf, (int)cap, stdin)) {
        vmsctl_error(command, "no %s was entered", what);
        rc = -EINVAL;
    }
    if (restore)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    *out_len = rc == 0 ? strlen(buf) : 0;
    return rc;
}

/* Reads the secret from standard input. */
static int secret_read_stdin(const char *command, const char *what, char *buf,
                             size_t cap)
{
    char source[64];
    size_t len = 0;
    int rc;

    if (isatty(STDIN_FILENO)) {
        rc = secret_prompt(command, what, buf, cap, &len);
        if (rc < 0)
            return rc;
    } else {
        rc = secret_read_all(STDIN_FILENO, buf, cap, &len);
        if (rc == -EFBIG) {
            vmsctl_error(command,
                         "standard input is larger than %zu bytes: "
                         "expected only the %s",
                         cap - 1, what);
            return -EINVAL;
        }
        if (rc < 0) {
            vmsctl_error(command, "reading standard input failed: %s",
                         strerror(-rc));
            return -EINVAL;
        }
    }
    snprintf(source, sizeof(source), "the %s on standard input", what);
    return secret_check(command, what, source, buf, len);
}

int vmsctl_secret_read(const char *command, const char *what, const char *path,
                       char *buf, size_t cap)
{
    char source[600];
    size_t len = 0;
    int fd;
    int rc;

    if (!path)
        return secret_read_stdin(command, what, buf, cap);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vmsctl_error(command, "cannot open %s file '%s': %s", what, path,
                     strerror(errno));
        return -EINVAL;
    }
    rc = secret_read_all(fd, buf, cap, &len);
    close(fd);
    if (rc == -EFBIG) {
        vmsctl_error(command,
                     "%s file '%s' is larger than %zu bytes: "
                     "expected only the %s",
                     what, path, cap - 1, what);
        return -EINVAL;
    }
    if (rc < 0) {
        vmsctl_error(command, "cannot read %s file '%s': %s", what, path,
                     strerror(-rc));
        return -EINVAL;
    }
    snprintf(source, sizeof(source), "%s file '%s'", what, path);
    return secret_check(command, what, source, buf, len);
}
