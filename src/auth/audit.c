/*
 * The audit log: an append-only table whose rows are chained by hashes.
 *
 * Row n stores hash_n = H(tag, prev_hash = hash_(n-1), seq, time, actor,
 * source, action, target, outcome, detail), each text field prefixed by
 * its length so that no two rows encode alike. H is BLAKE2b-256, keyed
 * with the audit key when the daemon has one. The first row's prev_hash
 * is 64 zeros. A separate head row stores H(head tag, seq, hash) of the
 * last row. auth_audit_verify() recomputes everything, which detects:
 *   - an edited row: its hash no longer matches;
 *   - a removed or inserted row: the seq numbers are not 1, 2, 3 ... or
 *     a prev_hash does not match the row before;
 *   - removed rows at the end: the head does not match the last row.
 * NOTE: without a key, a writer who recomputes every later row and the
 * head can rewrite history undetected, and with a key, restoring an
 * older copy of the whole database is undetectable. Copy the log off
 * the machine (auth_audit_export()) to catch those.
 */
#include "auth/internal.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_AUDIT_TAG "vms-audit-v1"
#define AUTH_AUDIT_HEAD_TAG "vms-audit-head-v1"

/* Adds a 64-bit little-endian integer to the hash. */
static void auth_audit_add_int(crypto_generichash_state *st, int64_t v)
{
    unsigned char b[8];
    uint64_t u = (uint64_t)v;

    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    crypto_generichash_update(st, b, sizeof(b));
}

/* Adds a length-prefixed text field to the hash. */
static void auth_audit_add_text(crypto_generichash_state *st,
                                const char *s)
{
    size_t n = strlen(s);

    auth_audit_add_int(st, (int64_t)n);
    crypto_generichash_update(st, (const unsigned char *)s, n);
}

/* Computes the hex hash of entry e (all fields but e->hash). */
static void auth_audit_digest(const auth_t *auth,
                              const auth_audit_entry_t *e, char hex[65])
{
    crypto_generichash_state st;
    unsigned char out[32];

    crypto_generichash_init(&st, auth->audit_key_len ? auth->audit_key
                                                     : NULL,
                            auth->audit_key_len, sizeof(out));
    auth_audit_add_text(&st, AUTH_AUDIT_TAG);
    auth_audit_add_text(&st, e->prev_hash);
    auth_audit_add_int(&st, e->seq);
    auth_audit_add_int(&st, e->time_us);
    auth_audit_add_text(&st, e->actor);
    auth_audit_add_text(&st, e->source);
    auth_audit_add_text(&st, e->action);
    auth_audit_add_text(&st, e->target);
    auth_audit_add_text(&st, e->outcome);
    auth_audit_add_text(&st, e->detail);
    crypto_generichash_final(&st, out, sizeof(out));
    sodium_bin2hex(hex, 65, out, sizeof(out));
}

/* Computes the head digest that stands for a log ending at e. */
static void auth_audit_head_digest(const auth_t *auth,
                                   const auth_audit_entry_t *e,
                                   char hex[65])
{
    crypto_generichash_state st;
    unsigned char out[32];

    crypto_generichash_init(&st, auth->audit_key_len ? auth->audit_key
                                                     : NULL,
                            auth->audit_key_len, sizeof(out));
    auth_audit_add_text(&st, AUTH_AUDIT_HEAD_TAG);
    auth_audit_add_int(&st, e->seq);
    auth_audit_add_text(&st, e->hash);
    crypto_generichash_final(&st, out, sizeof(out));
    sodium_bin2hex(hex, 65, out, sizeof(out));
}

static void auth_audit_seal(auth_audit_entry_t *e, char *head, void *ctx)
{
    const auth_t *auth = ctx;

    auth_audit_digest(auth, e, e->hash);
    auth_audit_head_digest(auth, e, head);
}

int auth_audit_record(auth_t *auth, const char *actor, const char *source,
                      const char *action, const char *target,
                      const char *outcome, const char *detail)
{
    auth_audit_entry_t e;

    if (!action || action[0] == '\0')
        return -EINVAL;
    memset(&e, 0, sizeof(e));
    e.time_us = auth_now(auth);
    /* Texts are cut to their field size here, before sealing, so that
     * what is hashed is exactly what is stored and read back. */
    snprintf(e.actor, sizeof(e.actor), "%s", actor ? actor : "");
    snprintf(e.source, sizeof(e.source), "%s", source ? source : "");
    snprintf(e.action, sizeof(e.action), "%s", action);
    snprintf(e.target, sizeof(e.target), "%s", target ? target : "");
    snprintf(e.outcome, sizeof(e.outcome), "%s", outcome ? outcome : "");
    snprintf(e.detail, sizeof(e.detail), "%s", detail ? detail : "");
    return auth->ops->audit_append(auth->store, &e, auth_audit_seal, auth);
}

void auth_audit_note(auth_t *auth, const char *actor, const char *source,
                     const char *action, const char *target,
                     const char *outcome, const char *detail)
{
    (void)auth_audit_record(auth, actor ? actor : "-", source, action,
                            target, outcome, detail);
}

typedef struct auth_audit_collect {
    auth_audit_entry_t *list;
    size_t n, cap;
} auth_audit_collect_t;

static int auth_audit_collect(const auth_audit_entry_t *e, void *ctx)
{
    auth_audit_collect_t *c = ctx;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        auth_audit_entry_t *p = realloc(c->list, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        c->list = p;
        c->cap = cap;
    }
    c->list[c->n++] = *e;
    return 0;
}

int auth_audit_list(auth_t *auth, const auth_audit_filter_t *filter,
                    auth_audit_entry_t **out, size_t *n)
{
    auth_audit_collect_t c = {0};
    int rc = auth->ops->audit_scan(auth->store, filter, auth_audit_collect,
                                   &c);

    if (rc < 0) {
        free(c.list);
        return rc;
    }
    *out = c.list;
    *n = c.n;
    return 0;
}

/* Writes one entry as a JSON line. */
static int auth_audit_write_json(const auth_audit_entry_t *e, void *ctx)
{
    FILE *f = ctx;
    json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                          "s:s}",
                          "seq", (json_int_t)e->seq, "time_us",
                          (json_int_t)e->time_us, "actor", e->actor,
                          "source", e->source, "action", e->action,
                          "target", e->target, "outcome", e->outcome,
                          "detail", e->detail, "prev_hash", e->prev_hash,
                          "hash", e->hash);
    int rc;

    /* json_pack() fails on text that is not UTF-8. Such a row is still
     * exported, as its seq and hashes with an error field. */
    if (!o)
        o = json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)e->seq,
                      "error", "row text is not UTF-8", "prev_hash",
                      e->prev_hash, "hash", e->hash);
    if (!o)
        return -ENOMEM;
    rc = json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (rc < 0 || fputc('\n', f) == EOF)
        return -EIO;
    return 0;
}

int auth_audit_export(auth_t *auth, const auth_audit_filter_t *filter,
                      FILE *f)
{
    int rc = auth->ops->audit_scan(auth->store, filter,
                                   auth_audit_write_json, f);

    if (rc == 0 && fflush(f) != 0)
        rc = -EIO;
    return rc;
}

typedef struct auth_audit_check {
    const auth_t *auth;
    auth_audit_entry_t last;
    int64_t count;
    int64_t bad_seq;
    char *err;
    size_t errlen;
} auth_audit_check_t;

/* Checks one row against the row before it. Returns 1 to stop the
 * scan at the first bad row. */
static int auth_audit_check_row(const auth_audit_entry_t *e, void *ctx)
{
    auth_audit_check_t *c = ctx;
    int64_t expected = c->count + 1;
    char hash[65];

    if (e->seq != expected) {
        c->bad_seq = expected;
        snprintf(c->err, c->errlen,
                 "audit row %lld is missing (the next row is %lld): rows "
                 "were removed or inserted", (long long)expected,
                 (long long)e->seq);
        return 1;
    }
    if (strcmp(e->prev_hash, c->last.hash) != 0) {
        c->bad_seq = e->seq;
        snprintf(c->err, c->errlen,
                 "audit row %lld does not follow row %lld: its previous "
                 "hash does not match", (long long)e->seq,
                 (long long)c->count);
        return 1;
    }
    auth_audit_digest(c->auth, e, hash);
    if (sodium_memcmp(hash, e->hash, 64) != 0 || e->hash[64] != '\0') {
        c->bad_seq = e->seq;
        snprintf(c->err, c->errlen,
                 "audit row %lld was edited: its hash does not match its "
                 "content", (long long)e->seq);
        return 1;
    }
    c->last = *e;
    c->count++;
    return 0;
}

int auth_audit_verify(auth_t *auth, int64_t *count, int64_t *bad_seq,
                      char *err, size_t errlen)
{
    auth_audit_check_t c;
    char head[65], expected[65];
    int rc;

    memset(&c, 0, sizeof(c));
    c.auth = auth;
    c.err = err;
    c.errlen = errlen;
    memset(c.last.hash, '0', 64);
    *bad_seq = 0;
    err[0] = '\0';

    rc = auth->ops->audit_scan(auth->store, NULL, auth_audit_check_row, &c);
    *count = c.count;
    if (rc < 0) {
        snprintf(err, errlen, "cannot read the audit log: %s",
                 strerror(-rc));
        return rc;
    }
    if (rc > 0) {
        *bad_seq = c.bad_seq;
        return -EBADMSG;
    }

    rc = auth->ops->audit_head(auth->store, head, sizeof(head));
    if (rc < 0) {
        snprintf(err, errlen, "cannot read the audit head: %s",
                 strerror(-rc));
        return rc;
    }
    if (c.count == 0)
        expected[0] = '\0';
    else
        auth_audit_head_digest(auth, &c.last, expected);
    if (strcmp(head, expected) != 0) {
        *bad_seq = c.count + 1;
        snprintf(err, errlen,
                 "the audit log ends at row %lld but its head does not "
                 "match: rows after it were removed or the head edited",
                 (long long)c.count);
        return -EBADMSG;
    }
    return 0;
}
