/* `vmsctl recordings` and `vmsctl status`. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/cli.h"

static const char recordings_usage[] =
    "Usage: vmsctl recordings ID --from TIME --to TIME [OPTIONS]\n"
    "\n"
    "Lists the recorded segments of a camera and the gaps between them,\n"
    "in time order.\n"
    "\n"
    "  --from TIME      start of the range (required)\n"
    "  --to TIME        end of the range (required)\n"
    "  --stream NAME    main (default) or sub\n"
    "  --json           print the daemon's JSON\n"
    "\n"
    "TIME is ISO 8601 UTC (2026-01-31, 2026-01-31T12:00:00Z,\n"
    "2026-01-31T12:00:00.250Z), UTC microseconds since 1970, 'now', or a\n"
    "time before now such as -90s, -30m, -2h or -7d.\n"
    "\n"
    "The segment being written appears once it is closed.\n";

static const char status_usage[] =
    "Usage: vmsctl status [--json]\n"
    "\n"
    "Shows the daemon's version, camera states and recorder figures.\n"
    "\n"
    "  --json   print the daemon's JSON\n";

/* One line of the recordings table: a recording or a gap. */
typedef struct recordings_item {
    int64_t start_us;
    int64_t end_us;
    int64_t bytes; /* -1 for a gap */
} recordings_item_t;

/* Reads start_us, end_us and bytes of the objects in array. */
static int recordings_collect(json_t *array, int gap, recordings_item_t *items,
                              size_t *n)
{
    size_t i;
    json_t *obj;

    json_array_foreach(array, i, obj)
    {
        json_t *start = json_object_get(obj, "start_us");
        json_t *end = json_object_get(obj, "end_us");

        if (!json_is_integer(start) || !json_is_integer(end))
            return -EINVAL;
        items[*n].start_us = json_integer_value(start);
        items[*n].end_us = json_integer_value(end);
        items[*n].bytes =
            gap ? -1 : json_integer_value(json_object_get(obj, "bytes"));
        (*n)++;
    }
    return 0;
}

static int recordings_compare(const void *a, const void *b)
{
    const recordings_item_t *x = a;
    const recordings_item_t *y = b;

    if (x->start_us != y->start_us)
        return x->start_us < y->start_us ? -1 : 1;
    return (x->bytes < 0) - (y->bytes < 0);
}

/* Prints the recordings and gaps of a response as one table in time
 * order, and a summary line. */
static int recordings_print(json_t *reply)
{
    static const char *const headers[] = {"KIND", "START", "END", "DURATION",
                                          "SIZE"};
    json_t *recs = json_object_get(reply, "recordings");
    json_t *gaps = json_object_get(reply, "gaps");
    size_t total = json_array_size(recs) + json_array_size(gaps);
    recordings_item_t *items = calloc(total ? total : 1, sizeof(*items));
    vmsctl_table_t *table = vmsctl_table_new(5, headers);
    int64_t recorded_us = 0, recorded_bytes = 0, missing_us = 0;
    size_t n = 0;
    char from[40], to[40], recorded[32], size[32], missing[32];
    int rc = -ENOMEM;

    if (!items || !table)
        goto fail;
    rc = -EINVAL;
    if (!json_is_array(recs) || !json_is_array(gaps) ||
        recordings_collect(recs, 0, items, &n) < 0 ||
        recordings_collect(gaps, 1, items, &n) < 0)
        goto fail;
    qsort(items, n, sizeof(*items), recordings_compare);
    rc = -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char start[40], end[40], duration[32], bytes[32];
        const char *cells[5] = {items[i].bytes < 0 ? "gap" : "recording", start,
                                end, duration, bytes};
        int64_t length = items[i].end_us - items[i].start_us;

        vmsctl_format_time(items[i].start_us, start, sizeof(start));
        vmsctl_format_time(items[i].end_us, end, sizeof(end));
        vmsctl_format_duration(length, duration, sizeof(duration));
        if (items[i].bytes < 0) {
            snprintf(bytes, sizeof(bytes), "-");
            missing_us += length;
        } else {
            vmsctl_format_bytes(items[i].bytes, bytes, sizeof(bytes));
            recorded_us += length;
            recorded_bytes += items[i].bytes;
        }
        if (vmsctl_table_add(table, cells) < 0)
            goto fail;
    }

    vmsctl_format_time(json_integer_value(json_object_get(reply, "from_us")),
                       from, sizeof(from));
    vmsctl_format_time(json_integer_value(json_object_get(reply, "to_us")), to,
                       sizeof(to));
    printf("camera %lld, %s stream, %s to %s\n",
           (long long)json_integer_value(json_object_get(reply, "camera_id")),
           vmsctl_json_text(reply, "stream", "main"), from, to);
    if (n > 0)
        vmsctl_table_print(table, stdout);
    vmsctl_format_duration(recorded_us, recorded, sizeof(recorded));
    vmsctl_format_bytes(recorded_bytes, size, sizeof(size));
    vmsctl_format_duration(missing_us, missing, sizeof(missing));
    printf("%zu recording%s (%s, %s), %zu gap%s (%s)\n", json_array_size(recs),
           json_array_size(recs) == 1 ? "" : "s", recorded, size,
           json_array_size(gaps), json_array_size(gaps) == 1 ? "" : "s",
           missing);
    rc = 0;
fail:
    free(items);
    vmsctl_table_free(table);
    return rc;
}

/* Options of `vmsctl recordings`. */
typedef struct recordings_args {
    const char *from;
    const char *to;
    const char *stream;
    int json;
} recordings_args_t;

/* Parses the options. Sets *done after --help or an invalid option and
 * then returns the exit status. */
static int recordings_parse_options(int argc, char **argv,
                                    recordings_args_t *args, int *done)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"stream", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    memset(args, 0, sizeof(*args));
    args->stream = "main";
    *done = 0;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'f':
            args->from = optarg;
            break;
        case 't':
            args->to = optarg;
            break;
        case 's':
            args->stream = optarg;
            break;
        case 'j':
            args->json = 1;
            break;
        case 'h':
            fputs(recordings_usage, stdout);
            *done = 1;
            return VMSCTL_EXIT_OK;
        default:
            *done = 1;
            return vmsctl_option_error("recordings", opt, argv,
                                       recordings_usage);
        }
    }
    return 0;
}

/* Reports an invalid argument of `vmsctl recordings`. */
static int recordings_bad_usage(const char *fmt, const char *value)
{
    vmsctl_error("recordings", fmt, value);
    fputs(recordings_usage, stderr);
    return VMSCTL_EXIT_USAGE;
}

/* Parses the --from or --to value. */
static int recordings_parse_time(const char *option, const char *text,
                                 int64_t now_us, int64_t *out_us)
{
    if (!text) {
        vmsctl_error("recordings", "missing %s", option);
        fputs(recordings_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    if (vmsctl_parse_time(text, now_us, out_us) < 0) {
        vmsctl_error("recordings",
                     "invalid %s '%s': expected ISO 8601 UTC such as "
                     "2026-01-31T12:00:00Z, UTC microseconds, 'now' or "
                     "a time before now such as -2h",
                     option, text);
        fputs(recordings_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    return 0;
}

int vmsctl_recordings_main(const vmsctl_client_t *client, int argc, char **argv)
{
    recordings_args_t args;
    json_t *reply = NULL;
    char path[256];
    char err[2048];
    int64_t now_us = vmsctl_now_us();
    int64_t id, from_us, to_us;
    int status;
    int done;
    int rc = recordings_parse_options(argc, argv, &args, &done);

    if (done)
        return rc;
    if (optind >= argc)
        return recordings_bad_usage("missing camera ID%s", "");
    if (vmsctl_parse_id(argv[optind], &id) < 0)
        return recordings_bad_usage("invalid camera ID '%s': expected a "
                                    "positive integer, as listed by "
                                    "'vmsctl camera list'",
                                    argv[optind]);
    if (optind + 1 < argc)
        return recordings_bad_usage("unexpected argument '%s'",
                                    argv[optind + 1]);
    if (strcmp(args.stream, "main") != 0 && strcmp(args.stream, "sub") != 0)
        return recordings_bad_usage("invalid --stream '%s': expected main "
                                    "or sub",
                                    args.stream);
    rc = recordings_parse_time("--from", args.from, now_us, &from_us);
    if (rc == 0)
        rc = recordings_parse_time("--to", args.to, now_us, &to_us);
    if (rc)
        return rc;
    if (to_us <= from_us)
        return recordings_bad_usage("invalid range: --to must be after "
                                    "--from%s",
                                    "");

    snprintf(path, sizeof(path),
             "/cameras/%lld/recordings?from=%lld&to=%lld"
             "&stream=%s",
             (long long)id, (long long)from_us, (long long)to_us, args.stream);
    rc = vmsctl_client_call(client, "GET", path, NULL, &reply, &status, err,
                            sizeof(err));
    if (rc < 0)
        return vmsctl_call_failed("recordings", err);
    if (args.json) {
        vmsctl_print_json(reply);
        rc = 0;
    } else {
        rc = recordings_print(reply);
    }
    json_decref(reply);
    if (rc == -EINVAL)
        return vmsctl_call_failed("recordings", "the daemon's recordings "
                                                "list is malformed");
    if (rc < 0)
        return vmsctl_call_failed("recordings", "out of memory");
    return VMSCTL_EXIT_OK;
}

/* Counts the cameras by the state of their main stream into text, as
 * "3 (2 streaming, 1 retrying)". */
static void status_count_cameras(json_t *cameras, char *text, size_t cap)
{
    static const char *const states[] = {"streaming", "connecting", "retrying",
                                         "failed",    "stopped",    "disabled"};
    size_t counts[sizeof(states) / sizeof(states[0])] = {0};
    size_t shown = 0;
    size_t len;
    size_t i;
    json_t *camera;

    json_array_foreach(cameras, i, camera)
    {
        json_t *stream =
            json_object_get(json_object_get(camera, "streams"), "main");
        const char *state = vmsctl_json_text(stream, "state", "");

        if (json_is_false(json_object_get(camera, "enabled")))
            state = "disabled";

        for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++)
            if (strcmp(state, states[s]) == 0)
                counts[s]++;
    }
    len = (size_t)snprintf(text, cap, "%zu", json_array_size(cameras));
    for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
        if (!counts[s] || len >= cap)
            continue;
        len += (size_t)snprintf(text + len, cap - len, "%s%zu %s",
                                shown++ ? ", " : " (", counts[s], states[s]);
    }
    if (shown && len < cap)
        snprintf(text + len, cap - len, ")");
}

/* Prints an integer member of the recorder object. */
static void status_print_count(json_t *recorder, const char *key,
                               const char *label)
{
    printf("  %-18s %lld\n", label,
           (long long)json_integer_value(json_object_get(recorder, key)));
}

int vmsctl_status_main(const vmsctl_client_t *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    json_t *status_json = NULL;
    json_t *cameras = NULL;
    json_t *recorder;
    char err[2048];
    char text[256];
    int json = 0;
    int status;
    int opt;
    int rc;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (opt == 'j') {
            json = 1;
        } else if (opt == 'h') {
            fputs(status_usage, stdout);
            return VMSCTL_EXIT_OK;
        } else {
            return vmsctl_option_error("status", opt, argv, status_usage);
        }
    }
    if (optind < argc) {
        vmsctl_error("status", "unexpected argument '%s'", argv[optind]);
        fputs(status_usage, stderr);
        return VMSCTL_EXIT_USAGE;
    }
    rc = vmsctl_client_call(client, "GET", "/status", NULL, &status_json,
                            &status, err, sizeof(err));
    if (rc < 0)
        return vmsctl_call_failed("status", err);
    if (json) {
        vmsctl_print_json(status_json);
        json_decref(status_json);
        return VMSCTL_EXIT_OK;
    }
    rc = vmsctl_client_call(client, "GET", "/cameras", NULL, &cameras, &status,
                            err, sizeof(err));
    if (rc < 0) {
        json_decref(status_json);
        return vmsctl_call_failed("status", err);
    }

    recorder = json_object_get(status_json, "recorder");
    printf("vmsd %s at %s\n", vmsctl_json_text(status_json, "version", "?"),
           client->url.text);
    status_count_cameras(cameras, text, sizeof(text));
    printf("cameras: %s\n", text);
    printf("recorder:\n");
    status_print_count(recorder, "segments", "segments");
    vmsctl_format_bytes(json_integer_value(json_object_get(recorder, "bytes")),
                        text, sizeof(text));
    printf("  %-18s %s\n", "written", text);
    status_print_count(recorder, "dropped", "dropped fragments");
    status_print_count(recorder, "write_errors", "write errors");
    vmsctl_format_bytes(
        json_integer_value(json_object_get(recorder, "queue_bytes")), text,
        sizeof(text));
    printf("  %-18s %s\n", "queued", text);
    snprintf(text, sizeof(text), "%s",
             vmsctl_json_text(recorder, "last_error", "-"));
    for (char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    printf("  %-18s %s\n", "last error", text);
    json_decref(cameras);
    json_decref(status_json);
    return VMSCTL_EXIT_OK;
}
