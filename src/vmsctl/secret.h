/* Reading camera passwords and API keys without the command line. */
#ifndef VMS_VMSCTL_SECRET_H
#define VMS_VMSCTL_SECRET_H

#include <stddef.h>

/*
 * Reads a secret into buf (cap bytes): the content of the file at path,
 * or standard input when path is NULL, where a terminal gets a prompt
 * with echo turned off. The secret must be one line that is not empty,
 * and its line ending is stripped. what names the secret in messages,
 * such as "password". Prints errors as vmsctl_error(command, ...) and
 * returns 0 or -EINVAL. The caller wipes buf after use.
 */
int vmsctl_secret_read(const char *command, const char *what, const char *path,
                       char *buf, size_t cap);

#endif
