/* Shared parts of the vmsctl commands. */
#include "vmsctl/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vmsctl_table {
    size_t columns;
    size_t rows;     /* including the header row */
    size_t capacity; /* rows allocated */
    char **cells;    /* rows * columns strings, row by row */
};

static void cli_verror(const char *command, const char *fmt, va_list ap)
{
    if (command)
        fprintf(stderr, "vmsctl %s: ", command);
    else
        fputs("vmsctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void vmsctl_error(const char *command, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cli_verror(command, fmt, ap);
    va_end(ap);
}

int vmsctl_option_error(const char *command, int opt, char **argv,
                        const char *usage)
{
    const char *arg = argv[optind - 1];

    if (opt == ':')
        vmsctl_error(command, "option '%s' needs a value", arg);
    else if (optopt && strncmp(arg, "--", 2) != 0)
        vmsctl_error(command, "unknown option '-%c'", optopt);
    else
        vmsctl_error(command, "unknown option '%s'", arg);
    fputs(usage, stderr);
    return VMSCTL_EXIT_USAGE;
}

int vmsctl_usage_error(const char *command, const char *usage, const char *fmt,
                       ...)
{
    va_list ap;

    va_start(ap, fmt);
    cli_verror(command, fmt, ap);
    va_end(ap);
    fputs(usage, stderr);
    return VMSCTL_EXIT_USAGE;
}

int vmsctl_parse_id(const char *text, int64_t *out)
{
    char *end;
    long long v;

    if (!text || *text < '0' || *text > '9')
        return -EINVAL;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || *end || v <= 0)
        return -EINVAL;
    *out = v;
    return 0;
}

int vmsctl_parse_count(const char *text, long max, long *out)
{
    char *end;
    long v;

    if (*text < '0' || *text > '9')
        return -EINVAL;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || *end || v < 1 || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int vmsctl_take_id(const char *command, int argc, char **argv,
                   const char *usage, int64_t *id)
{
    if (optind >= argc)
        return vmsctl_usage_error(command, usage, "missing camera ID");
    if (vmsctl_parse_id(argv[optind], id) < 0)
        return vmsctl_usage_error(command, usage,
                                  "invalid camera ID '%s': expected a "
                                  "positive integer, as listed by 'vmsctl "
                                  "camera list'",
                                  argv[optind]);
    if (optind + 1 < argc)
        return vmsctl_usage_error(command, usage, "unexpected argument '%s'",
                                  argv[optind + 1]);
    return 0;
}

/* Reads exactly n decimal digits at *p into *out and advances *p. */
static int cli_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];

        if (ch < '0' || ch > '9')
            return -EINVAL;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Parses "-N" followed by a unit s, m, h or d as a time before now. */
static int cli_parse_relative(const char *text, int64_t now_us, int64_t *out_us)
{
    static const struct {
        char unit;
        int64_t us;
    } units[] = {{'s', 1000000LL},
                 {'m', 60000000LL},
                 {'h', 3600000000LL},
                 {'d', 86400000000LL}};
    char *end;
    long long n;

    if (text[1] < '0' || text[1] > '9')
        return -EINVAL;
    errno = 0;
    n = strtoll(text + 1, &end, 10);
    if (errno || end[0] == '\0' || end[1] != '\0')
        return -EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (*end != units[i].unit)
            continue;
        /* 100 years bounds n so that the product cannot overflow. */
        if (n > 36525LL * 86400000000LL / units[i].us)
            return -EINVAL;
        *out_us = now_us - n * units[i].us;
        return 0;
    }
    return -EINVAL;
}

/* Parses the fraction digits after a '.' as microseconds. */
static int cli_parse_fraction(const char **p, int64_t *frac_us)
{
    int digits = 0;
    int64_t frac = 0;

    while (**p >= '0' && **p <= '9') {
        if (digits < 6) {
            frac = frac * 10 + (**p - '0');
        }
        digits++;
        (*p)++;
    }
    if (digits == 0 || digits > 9)
        return -EINVAL;
    for (; digits < 6; digits++)
        frac *= 10;
    *frac_us = frac;
    return 0;
}

/* Parses "YYYY-MM-DD[THH:MM:SS[.frac](Z|+00:00)]" in UTC. */
static int cli_parse_iso(const char *text, int64_t *out_us)
{
    const char *p = text;
    struct tm tm;
    struct tm check;
    int year, month, day, hour = 0, minute = 0, second = 0;
    int64_t frac = 0;
    time_t t;

    if (cli_digits(&p, 4, &year) < 0 || *p++ != '-' ||
        cli_digits(&p, 2, &month) < 0 || *p++ != '-' ||
        cli_digits(&p, 2, &day) < 0)
        return -EINVAL;
    if (*p == 'T') {
        p++;
        if (cli_digits(&p, 2, &hour) < 0 || *p++ != ':' ||
            cli_digits(&p, 2, &minute) < 0 || *p++ != ':' ||
            cli_digits(&p, 2, &second) < 0)
            return -EINVAL;
        if (*p == '.') {
            p++;
            if (cli_parse_fraction(&p, &frac) < 0)
                return -EINVAL;
        }
        if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
            return -EINVAL;
    } else if (*p != '\0') {
        return -EINVAL;
    }
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 ||
        hour > 23 || minute > 59 || second > 59)
        return -EINVAL;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    t = timegm(&tm);
    /* timegm() normalizes 2026-02-30 to March 2, so such dates are
     * rejected by comparing the day. */
    if (t == (time_t)-1 || !gmtime_r(&t, &check) || check.tm_mday != day)
        return -EINVAL;
    *out_us = (int64_t)t * 1000000 + frac;
    return 0;
}

int vmsctl_parse_time(const char *text, int64_t now_us, int64_t *out_us)
{
    char *end;
    long long v;

    if (!text || !*text)
        return -EINVAL;
    if (strcmp(text, "now") == 0) {
        *out_us = now_us;
        return 0;
    }
    if (text[0] == '-')
        return cli_parse_relative(text, now_us, out_us);
    if (strlen(text) > 4 && text[4] == '-')
        return cli_parse_iso(text, out_us);
    if (text[0] < '0' || text[0] > '9')
        return -EINVAL;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out_us = v;
    return 0;
}

void vmsctl_format_time(int64_t us, char *buf, size_t cap)
{
    int64_t seconds = us / 1000000;
    int64_t micros = us % 1000000;
    time_t t;
    struct tm tm;

    if (micros < 0) {
        micros += 1000000;
        seconds--;
    }
    t = (time_t)seconds;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, cap, "%lld us", (long long)us);
        return;
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(micros / 1000));
}

void vmsctl_format_duration(int64_t us, char *buf, size_t cap)
{
    int64_t s = us / 1000000;

    if (us < 60000000)
        snprintf(buf, cap, "%.1f s", (double)us / 1e6);
    else if (s < 3600)
        snprintf(buf, cap, "%lldm%02llds", (long long)(s / 60),
                 (long long)(s % 60));
    else
        snprintf(buf, cap, "%lldh%02lldm%02llds", (long long)(s / 3600),
                 (long long)(s / 60 % 60), (long long)(s % 60));
}

void vmsctl_format_bytes(int64_t bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t i = 0;

    if (bytes < 1024) {
        snprintf(buf, cap, "%lld B", (long long)bytes);
        return;
    }
    v /= 1024;
    while (v >= 1024 && i + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        i++;
    }
    snprintf(buf, cap, "%.1f %s", v, units[i]);
}

int64_t vmsctl_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void vmsctl_print_json(json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_ENCODE_ANY);

    if (text) {
        puts(text);
        free(text);
    }
}

int vmsctl_call_failed(const char *command, const char *err)
{
    vmsctl_error(command, "%s", err);
    return VMSCTL_EXIT_FAILURE;
}

const char *vmsctl_json_text(json_t *obj, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s && *s ? s : fallback;
}

/* Copies text with control characters replaced by '?'. */
static char *cli_printable_copy(const char *text)
{
    char *copy = strdup(text ? text : "-");

    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return copy;
}

/* Returns the number of UTF-8 code points of s, an estimate of its
 * width on a terminal that ignores double-width characters. */
static size_t cli_text_width(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

vmsctl_table_t *vmsctl_table_new(size_t columns, const char *const *headers)
{
    vmsctl_table_t *table = calloc(1, sizeof(*table));

    if (!table)
        return NULL;
    table->columns = columns;
    if (vmsctl_table_add(table, headers) < 0) {
        free(table);
        return NULL;
    }
    return table;
}

int vmsctl_table_add(vmsctl_table_t *table, const char *const *cells)
{
    char **row;

    if (table->rows == table->capacity) {
        size_t bigger = table->capacity ? table->capacity * 2 : 16;
        char **p = realloc(table->cells, bigger * table->columns * sizeof(*p));

        if (!p)
            return -ENOMEM;
        table->cells = p;
        table->capacity = bigger;
    }
    row = table->cells + table->rows * table->columns;
    for (size_t c = 0; c < table->columns; c++) {
        row[c] = cli_printable_copy(cells[c]);
        if (!row[c]) {
            while (c > 0)
                free(row[--c]);
            return -ENOMEM;
        }
    }
    table->rows++;
    return 0;
}

void vmsctl_table_print(const vmsctl_table_t *table, FILE *out)
{
    size_t widths[16] = {0};
    size_t columns = table->columns < 16 ? table->columns : 16;

    for (size_t r = 0; r < table->rows; r++) {
        for (size_t c = 0; c < columns; c++) {
            size_t w = cli_text_width(table->cells[r * table->columns + c]);

            if (w > widths[c])
                widths[c] = w;
        }
    }
    for (size_t r = 0; r < table->rows; r++) {
        for (size_t c = 0; c < columns; c++) {
            const char *cell = table->cells[r * table->columns + c];

            fputs(cell, out);
            if (c + 1 == columns)
                break;
            for (size_t pad = cli_text_width(cell); pad < widths[c] + 2; pad++)
                fputc(' ', out);
        }
        fputc('\n', out);
    }
}

void vmsctl_table_free(vmsctl_table_t *table)
{
    if (!table)
        return;
    for (size_t i = 0; i < table->rows * table->columns; i++)
        free(table->cells[i]);
    free(table->cells);
    free(table);
}

int vmsctl_table_finish(vmsctl_table_t *table, int rc)
{
    if (rc == 0)
        vmsctl_table_print(table, stdout);
    vmsctl_table_free(table);
    return rc;
}
