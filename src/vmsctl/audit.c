/*
 * `vmsctl audit`: checks, lists and exports the hash-chained audit log
 * directly in vmsd's data directory, with the key in DATA_DIR/audit.key.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/admin.h"
#include "vmsctl/cli.h"

static const char audit_usage[] =
    "Usage: vmsctl audit COMMAND [OPTIONS]\n"
    "\n"
    "Reads the audit log directly in vmsd's data directory.\n"
    "\n"
    "Commands:\n"
    "  verify    recompute the hash chain and report the first bad entry\n"
    "  list      print entries as a table\n"
    "  export    write entries as JSON Lines, with their hashes\n"
    "\n"
    "Options of every command:\n" VMSCTL_ADMIN_USAGE_OPTIONS "\n"
    "Run 'vmsctl audit COMMAND --help' for the options of a command.\n";

static const char audit_verify_usage[] =
    "Usage: vmsctl audit verify [OPTIONS]\n"
    "\n"
    "Recomputes the hash of every entry with the key in DATA_DIR/audit.key\n"
    "and checks the chain. Prints 'N entries, chain intact' and exits 0,\n"
    "or names the first entry that was edited, removed or inserted and\n"
    "exits 1.\n"
    "\n" VMSCTL_ADMIN_USAGE_OPTIONS;

#define AUDIT_FILTER_USAGE                                                     \
    "  --from TIME           entries at or after TIME\n"                      \
    "  --to TIME             entries before TIME\n"                           \
    "  --actor NAME          entries of this actor (a user name or vmsctl)\n" \
    "  --action PREFIX       entries whose action starts with PREFIX, such\n" \
    "                        as login. or user.\n"                            \
    "  --limit N             at most N entries, the oldest first\n"

#define AUDIT_TIME_USAGE                                                       \
    "\n"                                                                       \
    "TIME is UTC microseconds since 1970, now, a time before now such as\n"  \
    "-30m, -2h or -7d, or ISO 8601 UTC such as 2026-01-31T12:00:00Z.\n"

static const char audit_list_usage[] =
    "Usage: vmsctl audit list [FILTERS] [OPTIONS]\n"
    "\n"
    "Prints the matching entries in order as a table.\n"
    "\n" AUDIT_FILTER_USAGE VMSCTL_ADMIN_USAGE_OPTIONS AUDIT_TIME_USAGE;

static const char audit_export_usage[] =
    "Usage: vmsctl audit export [FILTERS] [-o FILE] [OPTIONS]\n"
    "\n"
    "Writes the matching entries as JSON Lines (one object per line, with\n"
    "prev_hash and hash), to keep a copy of the log off this machine.\n"
    "\n" AUDIT_FILTER_USAGE
    "  -o, --output FILE     write to FILE instead of standard output\n"
    VMSCTL_ADMIN_USAGE_OPTIONS AUDIT_TIME_USAGE;

/* Maximum of --limit. */
#define AUDIT_LIMIT_MAX 100000000L

enum {
    AUDIT_OPT_FROM = 256,
    AUDIT_OPT_TO,
    AUDIT_OPT_ACTOR,
    AUDIT_OPT_ACTION,
    AUDIT_OPT_LIMIT,
    AUDIT_OPT_OUTPUT = 'o',
};

/* The parsed command line of a subcommand. */
typedef struct audit_args {
    vmsctl_admin_t admin;
    const char *command; /* "audit list", for messages */
    const char *usage;
    auth_audit_filter_t filter;
    const char *output; /* -o FILE, or NULL for standard output */
} audit_args_t;

static int audit_verify(auth_t *auth, const audit_args_t *args)
{
    char err[AUTH_ERR_MAX] = "";
    int64_t count = 0;
    int64_t bad_seq = 0;
    int rc = auth_audit_verify(auth, &count, &bad_seq, err, sizeof(err));

    if (rc == -EBADMSG) {
        printf("chain broken at seq %" PRId64 ": %s (%" PRId64
               " %s before it intact)\n",
               bad_seq, err, count, count == 1 ? "entry" : "entries");
        return VMSCTL_EXIT_FAILURE;
    }
    if (rc < 0)
        return vmsctl_admin_failed(args->command, rc, err);
    printf("%" PRId64 " entries, chain intact\n", count);
    return VMSCTL_EXIT_OK;
}

/* Returns text, or "-" when it is empty, so that every table cell has a
 * value. */
static const char *audit_cell(const char *text)
{
    return text[0] ? text : "-";
}

static int audit_list(auth_t *auth, const audit_args_t *args)
{
    static const char *const headers[] = {"SEQ",    "TIME",   "ACTOR",
                                          "SOURCE", "ACTION", "TARGET",
                                          "OUTCOME", "DETAIL"};
    auth_audit_entry_t *entries = NULL;
    vmsctl_table_t *table = NULL;
    size_t n = 0;
    int rc = auth_audit_list(auth, &args->filter, &entries, &n);

    if (rc < 0) {
        vmsctl_error(args->command, "cannot read the audit log: %s",
                     strerror(-rc));
        return VMSCTL_EXIT_FAILURE;
    }
    table = vmsctl_table_new(8, headers);
    if (!table)
        rc = -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const auth_audit_entry_t *e = &entries[i];
        char seq[24], when[40];
        const char *cells[8];

        snprintf(seq, sizeof(seq), "%" PRId64, e->seq);
        vmsctl_format_time(e->time_us, when, sizeof(when));
        cells[0] = seq;
        cells[1] = when;
        cells[2] = audit_cell(e->actor);
        cells[3] = audit_cell(e->source);
        cells[4] = audit_cell(e->action);
        cells[5] = audit_cell(e->target);
        cells[6] = audit_cell(e->outcome);
        cells[7] = audit_cell(e->detail);
        rc = vmsctl_table_add(table, cells);
    }
    if (vmsctl_table_finish(table, rc) < 0)
        vmsctl_error(args->command, "out of memory");
    free(entries);
    return rc < 0 ? VMSCTL_EXIT_FAILURE : VMSCTL_EXIT_OK;
}

static int audit_export(auth_t *auth, const audit_args_t *args)
{
    FILE *out = stdout;
    int rc;

    if (args->output) {
        out = fopen(args->output, "we");
        if (!out) {
            vmsctl_error(args->command, "cannot create output file '%s': %s",
                         args->output, strerror(errno));
            return VMSCTL_EXIT_FAILURE;
        }
    }
    rc = auth_audit_export(auth, &args->filter, out);
    if (out != stdout && fclose(out) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        vmsctl_error(args->command, "cannot export the audit log to %s: %s",
                     args->output ? args->output : "standard output",
                     strerror(-rc));
        return VMSCTL_EXIT_FAILURE;
    }
    if (args->output)
        fprintf(stderr, "audit log written to %s\n", args->output);
    return VMSCTL_EXIT_OK;
}

/* Parses the options of `audit SUB` into args. Returns -1 when the
 * command should run, or the exit status after --help or a usage
 * error. */
static int audit_parse(const char *sub, int argc, char **argv,
                       audit_args_t *args)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, AUDIT_OPT_FROM},
        {"to", required_argument, NULL, AUDIT_OPT_TO},
        {"actor", required_argument, NULL, AUDIT_OPT_ACTOR},
        {"action", required_argument, NULL, AUDIT_OPT_ACTION},
        {"limit", required_argument, NULL, AUDIT_OPT_LIMIT},
        {"output", required_argument, NULL, AUDIT_OPT_OUTPUT},
        VMSCTL_ADMIN_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int is_verify = strcmp(sub, "verify") == 0;
    int is_export = strcmp(sub, "export") == 0;
    int64_t now_us = vmsctl_now_us();
    long limit;
    int opt;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":hc:o:", options, NULL)) != -1) {
        if (vmsctl_admin_option(&args->admin, opt, optarg))
            continue;
        if (opt == 'h') {
            fputs(args->usage, stdout);
            return VMSCTL_EXIT_OK;
        }
        if (opt == ':' || opt == '?')
            return vmsctl_option_error(args->command, opt, argv, args->usage);
        if (is_verify || (opt == AUDIT_OPT_OUTPUT && !is_export))
            return vmsctl_usage_error(args->command, args->usage,
                                      "option '%s' does not apply here",
                                      argv[optind - 1]);
        switch (opt) {
        case AUDIT_OPT_FROM:
        case AUDIT_OPT_TO:
            if (vmsctl_parse_time(optarg, now_us,
                                  opt == AUDIT_OPT_FROM
                                      ? &args->filter.from_us
                                      : &args->filter.to_us) < 0)
                return vmsctl_usage_error(
                    args->command, args->usage,
                    "invalid %s '%s': expected a time as described "
                    "below",
                    opt == AUDIT_OPT_FROM ? "--from" : "--to", optarg);
            break;
        case AUDIT_OPT_ACTOR:
            args->filter.actor = optarg;
            break;
        case AUDIT_OPT_ACTION:
            args->filter.action = optarg;
            break;
        case AUDIT_OPT_LIMIT:
            if (vmsctl_parse_count(optarg, AUDIT_LIMIT_MAX, &limit) < 0)
                return vmsctl_usage_error(args->command, args->usage,
                                          "invalid --limit '%s': "
                                          "expected a whole number from "
                                          "1 to %ld",
                                          optarg, AUDIT_LIMIT_MAX);
            args->filter.limit = (size_t)limit;
            break;
        default: /* AUDIT_OPT_OUTPUT */
            args->output = optarg;
            break;
        }
    }
    if (optind < argc)
        return vmsctl_usage_error(args->command, args->usage,
                                  "unexpected argument '%s'", argv[optind]);
    if (args->filter.from_us && args->filter.to_us &&
        args->filter.to_us <= args->filter.from_us)
        return vmsctl_usage_error(args->command, args->usage,
                                  "--to must be after --from");
    return -1;
}

/* A subcommand: its name, its name for messages, usage and action. */
typedef struct audit_command {
    const char *name;
    const char *command;
    const char *usage;
    int (*run)(auth_t *auth, const audit_args_t *args);
} audit_command_t;

static const audit_command_t audit_commands[] = {
    {"verify", "audit verify", audit_verify_usage, audit_verify},
    {"list", "audit list", audit_list_usage, audit_list},
    {"export", "audit export", audit_export_usage, audit_export},
};

int vmsctl_audit_main(const vmsctl_admin_t *admin, int argc, char **argv)
{
    const audit_command_t *cmd;
    audit_args_t args;
    auth_t *auth = NULL;
    int rc;
    int i = vmsctl_admin_subcommand(
        "audit", audit_usage, audit_commands,
        sizeof(audit_commands) / sizeof(audit_commands[0]),
        sizeof(audit_commands[0]), argc, argv, &rc);

    if (i < 0)
        return rc;
    cmd = &audit_commands[i];
    memset(&args, 0, sizeof(args));
    args.admin = *admin;
    args.command = cmd->command;
    args.usage = cmd->usage;
    rc = audit_parse(cmd->name, argc - 1, argv + 1, &args);
    if (rc >= 0)
        return rc;
    rc = vmsctl_admin_open(cmd->command, &args.admin, &auth);
    if (rc != 0)
        return rc;
    rc = cmd->run(auth, &args);
    auth_free(auth);
    return rc;
}
