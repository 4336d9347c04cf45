/*
 * Logging: one line per event on stderr, `key=value` pairs after a level
 * and a component name. The level is checked before the arguments are
 * evaluated, and a line identical to the previous one from the same
 * component is counted instead of printed again.
 */
#ifndef VMS_COMMON_LOG_H
#define VMS_COMMON_LOG_H

#include <stddef.h>

typedef enum vms_log_level {
    VMS_LOG_ERROR = 0,
    VMS_LOG_WARN = 1,
    VMS_LOG_INFO = 2,
    VMS_LOG_DEBUG = 3,
} vms_log_level_t;

extern vms_log_level_t vms_log_threshold;

/* Writes one line; use vms_log() so that disabled levels cost nothing. */
void vms_log_write(vms_log_level_t level, const char *component,
                   const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int vms_log_parse_level(const char *name, vms_log_level_t *out);

/* Copies url into out with any "user:password@" part replaced by
 * "***@", so that camera credentials never reach a log line. */
void vms_log_redact_url(const char *url, char *out, size_t out_len);

#define vms_log(level, component, ...)                                      \
    do {                                                                    \
        if ((level) <= vms_log_threshold)                                   \
            vms_log_write((level), (component), __VA_ARGS__);               \
    } while (0)

#endif
