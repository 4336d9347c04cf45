/*
 * TOTP second factor (RFC 6238 over HOTP, RFC 4226), base32 (RFC 4648),
 * enrolment and recovery codes.
 *
 * Users get SHA-1, 6 digits and a 30 s step, which every authenticator
 * app supports. A code is accepted for the current step and one step
 * either side (clock drift), and each step at most once: the store
 * raises the user's last accepted step atomically, so a code that was
 * seen (or an older one) is rejected even from a parallel request.
 * Recovery codes carry 80 random bits, so a fast keyed hash (BLAKE2b)
 * is enough to store them. Each can be used once.
 */
#include "auth/internal.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_TOTP_STEP_S 30
#define AUTH_TOTP_SECRET_LEN 20

static const char auth_base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int auth_base32_encode(const unsigned char *in, size_t n, char *out,
                       size_t len)
{
    size_t need = (n * 8 + 4) / 5, o = 0;
    uint32_t buffer = 0;
    int bits = 0;

    if (len < need + 1)
        return -ENOSPC;
    for (size_t i = 0; i < n; i++) {
        buffer = (buffer << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = auth_base32_alphabet[(buffer >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = auth_base32_alphabet[(buffer << (5 - bits)) & 31];
    out[o] = '\0';
    return 0;
}

int auth_base32_decode(const char *in, unsigned char *out, size_t len,
                       size_t *n_out)
{
    uint32_t buffer = 0;
    size_t o = 0;
    int bits = 0;

    for (size_t i = 0; in[i] != '\0'; i++) {
        int c = toupper((unsigned char)in[i]);
        const char *p;

        if (c == ' ' || c == '=' || c == '-')
            continue;
        p = c ? strchr(auth_base32_alphabet, c) : NULL;
        if (!p)
            return -EINVAL;
        buffer = (buffer << 5) | (uint32_t)(p - auth_base32_alphabet);
        bits += 5;
        if (bits >= 8) {
            if (o == len)
                return -ENOSPC;
            out[o++] = (unsigned char)(buffer >> (bits - 8));
            bits -= 8;
        }
    }
    *n_out = o;
    return 0;
}

int auth_totp_code(const unsigned char *key, size_t keylen, int64_t t_s,
                   const char *digest, int digits, char *out, size_t len)
{
    static const uint32_t pow10[] = {1,      10,      100,      1000,
                                     10000,  100000,  1000000,  10000000,
                                     100000000};
    const EVP_MD *md;
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    uint64_t step;
    uint32_t bin;
    int offset;

    if (digits < 6 || digits > 8 || len < (size_t)digits + 1 || t_s < 0)
        return -EINVAL;
    if (!digest || strcmp(digest, "SHA1") == 0)
        md = EVP_sha1();
    else if (strcmp(digest, "SHA256") == 0)
        md = EVP_sha256();
    else if (strcmp(digest, "SHA512") == 0)
        md = EVP_sha512();
    else
        return -EINVAL;

    step = (uint64_t)t_s / AUTH_TOTP_STEP_S;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(step & 0xff);
        step >>= 8;
    }
    if (!HMAC(md, key, (int)keylen, msg, sizeof(msg), mac, &maclen))
        return -EIO;

    /* Dynamic truncation, RFC 4226 section 5.3. */
    offset = mac[maclen - 1] & 0x0f;
    bin = ((uint32_t)(mac[offset] & 0x7f) << 24) |
          ((uint32_t)mac[offset + 1] << 16) |
          ((uint32_t)mac[offset + 2] << 8) | mac[offset + 3];
    snprintf(out, len, "%0*u", digits, bin % pow10[digits]);
    sodium_memzero(mac, sizeof(mac));
    return 0;
}

int auth_totp_verify_user(auth_t *auth, const auth_user_row_t *row,
                          const char *code)
{
    int64_t now_s = auth_now(auth) / 1000000;
    int64_t step = now_s / AUTH_TOTP_STEP_S, matched = -1;
    char expected[8];

    if (row->totp_secret_len <= 0 || !code || strlen(code) != 6)
        return -EACCES;
    /* Compare all three windows without stopping at a match. */
    for (int d = -1; d <= 1; d++) {
        int64_t t = (step + d) * AUTH_TOTP_STEP_S;
        if (t < 0 || auth_totp_code(row->totp_secret,
                                    (size_t)row->totp_secret_len, t, "SHA1",
                                    6, expected, sizeof(expected)) < 0)
            continue;
        if (sodium_memcmp(expected, code, 6) == 0)
            matched = step + d;
    }
    if (matched < 0)
        return -EACCES;
    return auth->ops->user_totp_step(auth->store, row->user.id, matched);
}

/* Normalises a recovery code (lower case, no separators) and writes its
 * keyed hash in hex. The key binds the hash to the user. */
static int auth_recovery_hash(int64_t user_id, const char *code,
                              char hex[65])
{
    unsigned char key[crypto_generichash_KEYBYTES_MIN] = {0};
    unsigned char out[32];
    char norm[32];
    size_t n = 0;

    for (size_t i = 0; code[i] != '\0'; i++) {
        unsigned char c = (unsigned char)code[i];
        if (c == '-' || c == ' ')
            continue;
        if (n + 1 >= sizeof(norm))
            return -EINVAL;
        norm[n++] = (char)tolower(c);
    }
    norm[n] = '\0';
    for (size_t i = 0; i < 8; i++)
        key[i] = (unsigned char)((uint64_t)user_id >> (8 * i));
    crypto_generichash(out, sizeof(out), (const unsigned char *)norm, n,
                       key, sizeof(key));
    sodium_bin2hex(hex, 65, out, sizeof(out));
    sodium_memzero(norm, sizeof(norm));
    return 0;
}

int auth_recovery_use(auth_t *auth, const auth_user_row_t *row,
                      const char *code)
{
    char (*hashes)[AUTH_PWHASH_MAX] = NULL;
    int64_t *ids = NULL, found = -1;
    char hex[65];
    size_t n = 0;
    int rc;

    if (!code || auth_recovery_hash(row->user.id, code, hex) < 0)
        return -EACCES;
    rc = auth->ops->recovery_list(auth->store, row->user.id, &ids, &hashes,
                                  &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (sodium_memcmp(hashes[i], hex, 64) == 0)
            found = ids[i];
    free(ids);
    free(hashes);
    if (found < 0)
        return -EACCES;
    rc = auth->ops->recovery_use(auth->store, found, auth_now(auth));
    return rc == -EALREADY ? -EACCES : rc;
}

/* Writes AUTH_RECOVERY_CODES new codes for a user and stores their
 * hashes, replacing the old ones. */
static int auth_recovery_generate(auth_t *auth, int64_t user_id,
                                  char codes[][AUTH_RECOVERY_CODE_LEN + 1])
{
    char hashes[AUTH_RECOVERY_CODES][AUTH_PWHASH_MAX];
    int rc;

    for (int i = 0; i < AUTH_RECOVERY_CODES; i++) {
        unsigned char raw[10];
        char b32[17];

        randombytes_buf(raw, sizeof(raw));
        auth_base32_encode(raw, sizeof(raw), b32, sizeof(b32));
        for (int j = 0; j < 16; j++)
            b32[j] = (char)tolower((unsigned char)b32[j]);
        snprintf(codes[i], AUTH_RECOVERY_CODE_LEN + 1, "%.4s-%.4s-%.4s-%.4s",
                 b32, b32 + 4, b32 + 8, b32 + 12);
        auth_recovery_hash(user_id, codes[i], hashes[i]);
    }
    rc = auth->ops->recovery_set(auth->store, user_id, hashes,
                                 AUTH_RECOVERY_CODES);
    if (rc < 0)
        sodium_memzero(codes, AUTH_RECOVERY_CODES *
                                  (AUTH_RECOVERY_CODE_LEN + 1));
    return rc;
}

/* Percent-encodes s for an otpauth:// URI path or query value. */
static void auth_uri_escape(const char *s, char *out, size_t len)
{
    size_t o = 0;

    for (; *s && o + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-._~", c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, len - o, "%%%02X", c);
    }
    out[o] = '\0';
}

int auth_totp_enrol(auth_t *auth, const char *user, const char *issuer,
                    auth_totp_enrolment_t *out, char *err, size_t errlen)
{
    char esc_user[3 * AUTH_NAME_MAX], esc_issuer[3 * AUTH_NAME_MAX];
    auth_user_row_t row;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = auth->ops->user_get(auth->store, 0, user ? user : "", &row);
    if (rc < 0) {
        snprintf(err, errlen, "user '%s' not found", user ? user : "");
        return rc;
    }
    if (row.user.totp_enabled) {
        snprintf(err, errlen, "user '%s' already has a second factor: "
                 "disable it before enrolling again", row.user.name);
        rc = -EEXIST;
        goto done;
    }
    if (!issuer || issuer[0] == '\0' || strlen(issuer) >= AUTH_NAME_MAX)
        issuer = "VMS";

    randombytes_buf(row.totp_secret, AUTH_TOTP_SECRET_LEN);
    row.totp_secret_len = AUTH_TOTP_SECRET_LEN;
    row.totp_pending = 1;
    row.totp_last_step = 0;
    rc = auth->ops->user_update(auth->store, &row);
    if (rc < 0) {
        snprintf(err, errlen, "cannot store the TOTP secret: %s",
                 strerror(-rc));
        goto done;
    }
    auth_base32_encode(row.totp_secret, AUTH_TOTP_SECRET_LEN,
                       out->secret_base32, sizeof(out->secret_base32));
    auth_uri_escape(row.user.name, esc_user, sizeof(esc_user));
    auth_uri_escape(issuer, esc_issuer, sizeof(esc_issuer));
    snprintf(out->uri, sizeof(out->uri),
             "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&"
             "digits=6&period=30",
             esc_issuer, esc_user, out->secret_base32, esc_issuer);
    rc = auth_qr_svg(out->uri, &out->qr_svg);
    if (rc < 0) {
        snprintf(err, errlen, "cannot render the QR code: %s",
                 strerror(-rc));
        sodium_memzero(out, sizeof(*out));
        goto done;
    }
    auth_audit_note(auth, row.user.name, NULL, "totp.enrol", row.user.name,
                    "ok", "secret issued, waiting for confirmation");

done:
    sodium_memzero(&row, sizeof(row));
    return rc;
}

int auth_totp_confirm(auth_t *auth, const char *user, const char *code,
                      char codes[][AUTH_RECOVERY_CODE_LEN + 1], char *err,
                      size_t errlen)
{
    auth_user_row_t row;
    int rc = auth->ops->user_get(auth->store, 0, user ? user : "", &row);

    if (rc < 0) {
        snprintf(err, errlen, "user '%s' not found", user ? user : "");
        return rc;
    }
    if (!row.totp_pending) {
        snprintf(err, errlen, "no TOTP enrolment in progress for '%s'",
                 row.user.name);
        rc = -ENOENT;
        goto done;
    }
    rc = auth_totp_verify_user(auth, &row, code);
    if (rc < 0) {
        snprintf(err, errlen, "wrong TOTP code: check the device clock and "
                 "enter the current code");
        rc = -EACCES;
        goto done;
    }
    /* Reload: the verification raised the last accepted step. */
    rc = auth->ops->user_get(auth->store, row.user.id, NULL, &row);
    if (rc == 0) {
        row.totp_pending = 0;
        row.user.totp_enabled = 1;
        rc = auth->ops->user_update(auth->store, &row);
    }
    if (rc == 0)
        rc = auth_recovery_generate(auth, row.user.id, codes);
    if (rc < 0)
        snprintf(err, errlen, "cannot enable TOTP: %s", strerror(-rc));

done:
    auth_audit_note(auth, row.user.name, NULL, "totp.enable", row.user.name,
                    rc == 0 ? "ok" : "failed", NULL);
    sodium_memzero(&row, sizeof(row));
    return rc;
}

int auth_totp_disable(auth_t *auth, const char *actor, const char *user)
{
    auth_user_row_t row;
    int rc = auth->ops->user_get(auth->store, 0, user ? user : "", &row);

    if (rc < 0)
        return rc;
    memset(row.totp_secret, 0, sizeof(row.totp_secret));
    row.totp_secret_len = 0;
    row.totp_pending = 0;
    row.user.totp_enabled = 0;
    rc = auth->ops->user_update(auth->store, &row);
    if (rc == 0)
        rc = auth->ops->recovery_set(auth->store, row.user.id, NULL, 0);
    auth_audit_note(auth, actor, NULL, "totp.disable", row.user.name,
                    rc == 0 ? "ok" : "failed", NULL);
    sodium_memzero(&row, sizeof(row));
    return rc;
}
