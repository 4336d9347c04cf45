/* Helpers shared by the files of the vmsctl HTTP client. */
#ifndef VMS_VMSCTL_HTTP_INTERNAL_H
#define VMS_VMSCTL_HTTP_INTERNAL_H

#include <stddef.h>

/* Formats a message into err (when err is not NULL) and returns rc. */
int vmsctl_http_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
