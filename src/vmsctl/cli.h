/*
 * Shared parts of the vmsctl commands: exit codes, option errors, value
 * parsing and terminal output.
 */
#ifndef VMS_VMSCTL_CLI_H
#define VMS_VMSCTL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "vmsctl/client.h"

enum { VMSCTL_EXIT_OK = 0, VMSCTL_EXIT_FAILURE = 1, VMSCTL_EXIT_USAGE = 2 };

/* Command entry points. argv[0] is the command name and the result is
 * the process exit status. */
int vmsctl_camera_main(const vmsctl_client_t *client, int argc, char **argv);
int vmsctl_recordings_main(const vmsctl_client_t *client, int argc,
                           char **argv);
int vmsctl_status_main(const vmsctl_client_t *client, int argc, char **argv);
int vmsctl_storage_main(const vmsctl_client_t *client, int argc, char **argv);
int vmsctl_verify_main(const vmsctl_client_t *client, int argc, char **argv);

/* Prints "vmsctl COMMAND: ", or "vmsctl: " when command is NULL, and
 * the formatted message to stderr. */
void vmsctl_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Prints the error of the getopt_long() result opt (':' or '?', read
 * with an optstring that starts with ':') and the usage text to stderr.
 * Returns VMSCTL_EXIT_USAGE.
 */
int vmsctl_option_error(const char *command, int opt, char **argv,
                        const char *usage);

/* Prints the formatted message as vmsctl_error(command, ...) and the
 * usage text to stderr. Returns VMSCTL_EXIT_USAGE. */
int vmsctl_usage_error(const char *command, const char *usage, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

/* Parses a camera id (a positive decimal integer). Returns 0 or
 * -EINVAL. */
int vmsctl_parse_id(const char *text, int64_t *out);

/* Parses a whole decimal number from 1 to max, with no sign or spaces.
 * Returns 0 or -EINVAL. */
int vmsctl_parse_count(const char *text, long max, long *out);

/*
 * Reads the camera ID at argv[optind], which must be the last argument.
 * Returns 0, or prints the error and usage and returns
 * VMSCTL_EXIT_USAGE.
 */
int vmsctl_take_id(const char *command, int argc, char **argv,
                   const char *usage, int64_t *id);

/*
 * Parses a time: UTC microseconds since 1970, "now", a time before now
 * such as "-90s", "-30m", "-2h" or "-7d", or ISO 8601 UTC
 * ("2026-01-31", "2026-01-31T12:00:00Z", "2026-01-31T12:00:00.250Z",
 * "...+00:00"). now_us is the current time. Returns 0 or -EINVAL.
 */
int vmsctl_parse_time(const char *text, int64_t now_us, int64_t *out_us);

/* Formats UTC microseconds as "2026-01-31T12:00:00.250Z". */
void vmsctl_format_time(int64_t us, char *buf, size_t cap);

/* Formats a duration as "12.5 s", "4m05s" or "3h02m00s". */
void vmsctl_format_duration(int64_t us, char *buf, size_t cap);

/* Formats a byte count as "512 B", "1.5 KiB", "12.0 MiB", ... */
void vmsctl_format_bytes(int64_t bytes, char *buf, size_t cap);

/* Returns the current UTC time in microseconds. */
int64_t vmsctl_now_us(void);

/* Prints value as indented JSON and a newline to stdout. */
void vmsctl_print_json(json_t *value);

/*
 * Reports a failed vmsctl_client_call() with its message on stderr and
 * returns VMSCTL_EXIT_FAILURE.
 */
int vmsctl_call_failed(const char *command, const char *err);

/* Returns the string member key of obj, or fallback if it is missing,
 * empty or not a string. */
const char *vmsctl_json_text(json_t *obj, const char *key,
                             const char *fallback);

/* Text table printed with aligned columns. Cells are copied with
 * control characters replaced by '?'. */
typedef struct vmsctl_table vmsctl_table_t;

/* Creates a table whose columns have the given headers. Returns NULL
 * when out of memory. */
vmsctl_table_t *vmsctl_table_new(size_t columns, const char *const *headers);

/* Appends a row of one cell per column; NULL cells print as "-".
 * Returns 0 or -ENOMEM. */
int vmsctl_table_add(vmsctl_table_t *table, const char *const *cells);

/* Prints the header and the rows. The last column is not padded. */
void vmsctl_table_print(const vmsctl_table_t *table, FILE *out);

/* Prints the table to stdout when rc is 0, then frees the table (NULL
 * is a no-op). Returns rc. */
int vmsctl_table_finish(vmsctl_table_t *table, int rc);

/* Frees the table. NULL is a no-op. */
void vmsctl_table_free(vmsctl_table_t *table);

#endif
