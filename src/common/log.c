/* Line logger with repeat suppression; see log.h. */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

vms_log_level_t vms_log_threshold = VMS_LOG_INFO;

static const char *const log_level_names[] = {"error", "warn", "info",
                                              "debug"};

/* The previous line is kept so that repeats can be counted; a repeat
 * run is reported when a different line arrives or every
 * LOG_REPEAT_REPORT_SECONDS while it lasts. */
#define LOG_REPEAT_REPORT_SECONDS 60

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_last_line[1024];
static unsigned long log_repeats;
static time_t log_repeat_since;

static void log_emit(const char *line)
{
    struct timespec ts;
    struct tm tm;
    char stamp[40];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %s\n", stamp, ts.tv_nsec / 1000000, line);
}

void vms_log_write(vms_log_level_t level, const char *component,
                   const char *fmt, ...)
{
    char line[1024];
    char note[128];
    va_list ap;
    int n;
    time_t now = time(NULL);

    if (level < VMS_LOG_ERROR || level > VMS_LOG_DEBUG)
        level = VMS_LOG_ERROR;
    n = snprintf(line, sizeof(line), "level=%s component=%s ",
                 log_level_names[level], component);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log_lock);
    if (strcmp(line, log_last_line) == 0) {
        log_repeats++;
        if (now - log_repeat_since >= LOG_REPEAT_REPORT_SECONDS) {
            snprintf(note, sizeof(note),
                     "level=info component=log repeated=%lu", log_repeats);
            log_emit(note);
            log_repeats = 0;
            log_repeat_since = now;
        }
        pthread_mutex_unlock(&log_lock);
        return;
    }
    if (log_repeats > 0) {
        snprintf(note, sizeof(note),
                 "level=info component=log repeated=%lu", log_repeats);
        log_emit(note);
    }
    log_repeats = 0;
    log_repeat_since = now;
    snprintf(log_last_line, sizeof(log_last_line), "%s", line);
    log_emit(line);
    pthread_mutex_unlock(&log_lock);
}

int vms_log_parse_level(const char *name, vms_log_level_t *out)
{
    for (int i = 0; i <= VMS_LOG_DEBUG; i++) {
        if (strcmp(name, log_level_names[i]) == 0) {
            *out = (vms_log_level_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

void vms_log_redact_url(const char *url, char *out, size_t out_len)
{
    const char *scheme_end;
    const char *authority;
    const char *at;

    if (out_len == 0)
        return;
    if (!url) {
        snprintf(out, out_len, "(none)");
        return;
    }
    scheme_end = strstr(url, "://");
    authority = scheme_end ? scheme_end + 3 : url;
    /* Everything up to the last '@' is masked, because a password may
     * contain an unescaped '@' or '/'. An '@' after a '/' is taken for
     * part of the path only when no ':' precedes that '/', that is when
     * there cannot be a password; otherwise masking part of a path is
     * the safe mistake. */
    at = strrchr(authority, '@');
    if (at) {
        const char *slash = memchr(authority, '/', (size_t)(at - authority));
        if (slash && !memchr(authority, ':', (size_t)(slash - authority)))
            at = NULL;
    }
    if (!at) {
        snprintf(out, out_len, "%s", url);
        return;
    }
    snprintf(out, out_len, "%.*s***%s", (int)(authority - url), url, at);
}
