/*
 * libFuzzer target: base32 decoding of TOTP secrets typed or pasted by
 * users, its round trip through the encoder, TOTP codes of any key, and
 * the LDAP filter and DN escaping of user names.
 *
 * fuzz-sources: src/auth/totp.c src/auth/ldap.c
 * fuzz-packages: libsodium openssl ldap
 * fuzz-functions: auth_base32_decode auth_base32_encode auth_totp_code auth_ldap_escape_filter auth_ldap_escape_dn
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *again = NULL, code[9], esc[512];
    unsigned char raw[256], raw2[256];
    size_t n = 0, n2 = 0;
    int rc;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    rc = auth_base32_decode(text, raw, sizeof(raw), &n);
    if (rc != 0 && rc != -EINVAL && rc != -ENOSPC)
        abort();
    if (rc == 0) {
        again = malloc(n * 8 / 5 + 2);
        if (!again || auth_base32_encode(raw, n, again, n * 8 / 5 + 2) != 0)
            abort();
        if (auth_base32_decode(again, raw2, sizeof(raw2), &n2) != 0 ||
            n2 != n || memcmp(raw, raw2, n) != 0)
            abort(); /* decode(encode(x)) == x */
        if (n > 0 && auth_totp_code(raw, n, (int64_t)n * 1000, "SHA1", 6,
                                    code, sizeof(code)) != 0)
            abort();
        if (n > 0 && strlen(code) != 6)
            abort();
    }

    rc = auth_ldap_escape_filter(text, esc, sizeof(esc));
    if (rc == 0 && strpbrk(esc, "*()"))
        abort(); /* no filter syntax survives escaping */
    if (rc != 0 && rc != -ENOSPC)
        abort();
    rc = auth_ldap_escape_dn(text, esc, sizeof(esc));
    if (rc != 0 && rc != -ENOSPC)
        abort();
    free(again);
    free(text);
    return 0;
}
