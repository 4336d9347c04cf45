/* `vmsctl storage` and `vmsctl verify`. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/cli.h"

static const char storage_usage[] =
    "Usage: vmsctl storage [--json]\n"
    "\n"
    "Shows each volume's capacity and state, each camera's use, bitrate\n"
    "and forecast of days of video that fit, and the storage alarms.\n"
    "\n"
    "  --json   print the daemon's JSON\n";

static const char verify_usage[] =
    "Usage: vmsctl verify --camera ID [--from TIME] [--to TIME] [OPTIONS]\n"
    "\n"
    "Checks a camera's recorded segments: each file exists and has its\n"
    "catalogued size and SHA-256, and the integrity chain that links\n"
    "each segment to the previous one is unbroken. Prints every problem;\n"
    "exits 1 if there is one.\n"
    "\n"
    "  --camera ID      the camera (required)\n"
    "  --from TIME      start of the range (default: the first recording)\n"
    "  --to TIME        end of the range (default: now)\n"
    "  --stream NAME    main (default) or sub\n"
    "  --json           print the daemon's JSON\n"
    "\n"
    "TIME is as for 'vmsctl recordings'.\n";

/* Formats a JSON integer field as bytes ("1.5 GiB"). */
static void storage_bytes(json_t *obj, const char *key, char *buf, size_t cap)
{
    vmsctl_format_bytes(json_integer_value(json_object_get(obj, key)), buf,
                        cap);
}

/* Prints the volumes table. */
static int storage_print_volumes(json_t *volumes)
{
    static const char *const headers[] = {"VOLUME", "STATE",  "TOTAL",
                                          "USED",   "FREE",   "RECORDINGS",
                                          "RESERVE"};
    vmsctl_table_t *table = vmsctl_table_new(7, headers);
    int rc = 0;
    json_t *v;
    size_t i;

    if (!table)
        return -ENOMEM;
    json_array_foreach(volumes, i, v)
    {
        char total[32], used[32], free_[32], rec[32], reserve[32];
        const char *cells[7];

        storage_bytes(v, "total_bytes", total, sizeof(total));
        storage_bytes(v, "used_bytes", used, sizeof(used));
        storage_bytes(v, "free_bytes", free_, sizeof(free_));
        storage_bytes(v, "recordings_bytes", rec, sizeof(rec));
        storage_bytes(v, "reserve_bytes", reserve, sizeof(reserve));
        cells[0] = vmsctl_json_text(v, "path", "?");
        cells[1] = vmsctl_json_text(v, "state", "?");
        cells[2] = total;
        cells[3] = used;
        cells[4] = free_;
        cells[5] = rec;
        cells[6] = reserve;
        rc = vmsctl_table_add(table, cells);
        if (rc < 0)
            break;
    }
    return vmsctl_table_finish(table, rc);
}

/* Prints the cameras table. */
static int storage_print_cameras(json_t *cameras)
{
    static const char *const headers[] = {"ID",      "NAME",   "BYTES",
                                          "BITRATE", "OLDEST", "HELD",
                                          "FORECAST"};
    vmsctl_table_t *table = vmsctl_table_new(7, headers);
    int rc = 0;
    json_t *c;
    size_t i;

    if (!table)
        return -ENOMEM;
    json_array_foreach(cameras, i, c)
    {
        char id[24], bytes[32], rate[32], oldest[40], held[32], days[32];
        json_t *forecast = json_object_get(c, "forecast_days");
        int64_t oldest_us = json_integer_value(json_object_get(c, "oldest_us"));
        const char *cells[7];

        snprintf(id, sizeof(id), "%" PRId64,
                 (int64_t)json_integer_value(json_object_get(c, "camera_id")));
        storage_bytes(c, "bytes", bytes, sizeof(bytes));
        snprintf(rate, sizeof(rate), "%.0f kbit/s",
                 json_number_value(json_object_get(c, "bitrate_day_bps")) /
                     1000);
        if (oldest_us > 0)
            vmsctl_format_time(oldest_us, oldest, sizeof(oldest));
        else
            snprintf(oldest, sizeof(oldest), "-");
        storage_bytes(c, "held_bytes", held, sizeof(held));
        if (json_is_number(forecast))
            snprintf(days, sizeof(days), "%.1f days",
                     json_number_value(forecast));
        else
            snprintf(days, sizeof(days), "-");
        cells[0] = id;
        cells[1] = vmsctl_json_text(c, "name", "?");
        cells[2] = bytes;
        cells[3] = rate;
        cells[4] = oldest;
        cells[5] = held;
        cells[6] = days;
        rc = vmsctl_table_add(table, cells);
        if (rc < 0)
            break;
    }
    return vmsctl_table_finish(table, rc);
}

int vmsctl_storage_main(const vmsctl_client_t *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    json_t *reply = NULL;
    json_t *alarm;
    char err[2048];
    size_t i;
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
            fputs(storage_usage, stdout);
            return VMSCTL_EXIT_OK;
        } else {
            return vmsctl_option_error("storage", opt, argv, storage_usage);
        }
    }
    if (optind < argc)
        return vmsctl_usage_error("storage", storage_usage,
                                  "unexpected argument '%s'", argv[optind]);
    rc = vmsctl_client_call(client, "GET", "/storage", NULL, &reply, &status,
                            err, sizeof(err));
    if (rc < 0)
        return vmsctl_call_failed("storage", err);
    if (json) {
        vmsctl_print_json(reply);
        json_decref(reply);
        return VMSCTL_EXIT_OK;
    }
    rc = storage_print_volumes(json_object_get(reply, "volumes"));
    if (rc == 0) {
        putchar('\n');
        rc = storage_print_cameras(json_object_get(reply, "cameras"));
    }
    json_array_foreach(json_object_get(reply, "alarms"), i, alarm)
        printf("%salarm %s: %s\n", i == 0 ? "\n" : "",
               vmsctl_json_text(alarm, "kind", "?"),
               vmsctl_json_text(alarm, "message", ""));
    if (json_array_size(json_object_get(reply, "alarms")) == 0)
        printf("\nno storage alarm\n");
    json_decref(reply);
    return rc < 0 ? VMSCTL_EXIT_FAILURE : VMSCTL_EXIT_OK;
}

/* Prints the verification result; returns the exit status. */
static int verify_print(json_t *reply)
{
    json_t *problems = json_object_get(reply, "problems");
    json_t *p;
    size_t i;

    json_array_foreach(problems, i, p)
    {
        char when[40];

        vmsctl_format_time(json_integer_value(json_object_get(p, "start_us")),
                           when, sizeof(when));
        printf("%s  %s/%s: %s\n", when, vmsctl_json_text(p, "volume", "?"),
               vmsctl_json_text(p, "path", "?"),
               vmsctl_json_text(p, "problem", "?"));
    }
    printf("%lld segments checked, %zu problems\n",
           (long long)json_integer_value(json_object_get(reply, "segments")),
           json_array_size(problems));
    return json_array_size(problems) ? VMSCTL_EXIT_FAILURE : VMSCTL_EXIT_OK;
}

int vmsctl_verify_main(const vmsctl_client_t *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"camera", required_argument, NULL, 'c'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"stream", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *camera = NULL;
    const char *from = NULL;
    const char *to = NULL;
    const char *stream = "main";
    int64_t now_us = vmsctl_now_us();
    int64_t id;
    int64_t from_us = 0;
    int64_t to_us = now_us;
    json_t *reply = NULL;
    char path[256];
    char err[2048];
    int json = 0;
    int status;
    int opt;
    int rc;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            camera = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 's':
            stream = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(verify_usage, stdout);
            return VMSCTL_EXIT_OK;
        default:
            return vmsctl_option_error("verify", opt, argv, verify_usage);
        }
    }
    if (optind < argc)
        return vmsctl_usage_error("verify", verify_usage,
                                  "unexpected argument '%s'", argv[optind]);
    if (!camera)
        return vmsctl_usage_error("verify", verify_usage, "missing --camera");
    if (vmsctl_parse_id(camera, &id) < 0)
        return vmsctl_usage_error("verify", verify_usage,
                                  "invalid --camera '%s': expected a positive "
                                  "integer, as listed by 'vmsctl camera list'",
                                  camera);
    if (strcmp(stream, "main") != 0 && strcmp(stream, "sub") != 0)
        return vmsctl_usage_error("verify", verify_usage,
                                  "invalid --stream '%s': expected main or sub",
                                  stream);
    if (from && vmsctl_parse_time(from, now_us, &from_us) < 0)
        return vmsctl_usage_error("verify", verify_usage,
                                  "invalid --from '%s': expected a time as for "
                                  "'vmsctl recordings'",
                                  from);
    if (to && vmsctl_parse_time(to, now_us, &to_us) < 0)
        return vmsctl_usage_error("verify", verify_usage,
                                  "invalid --to '%s': expected a time as for "
                                  "'vmsctl recordings'",
                                  to);
    snprintf(path, sizeof(path),
             "/cameras/%" PRId64 "/verify?stream=%s&from=%" PRId64
             "&to=%" PRId64,
             id, stream, from_us, to_us);
    rc = vmsctl_client_call(client, "GET", path, NULL, &reply, &status, err,
                            sizeof(err));
    if (rc < 0)
        return vmsctl_call_failed("verify", err);
    if (json) {
        vmsctl_print_json(reply);
        rc = json_array_size(json_object_get(reply, "problems"))
                 ? VMSCTL_EXIT_FAILURE
                 : VMSCTL_EXIT_OK;
    } else {
        rc = verify_print(reply);
    }
    json_decref(reply);
    return rc;
}
