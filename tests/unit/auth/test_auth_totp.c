/*
 * TOTP: RFC 6238 and RFC 4648 test vectors, enrolment, the ±1 step
 * window, the reuse check, recovery codes and the QR code.
 */
#include "fixture.h"

typedef struct totp_vector {
    int64_t t;
    const char *sha1, *sha256, *sha512;
} totp_vector_t;

/* RFC 6238 appendix B. */
static const totp_vector_t totp_vectors[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000, "65353130", "77737706", "47863826"},
};

static void totp_rfc6238_vectors(void **state)
{
    const unsigned char *k1 = (const unsigned char *)"12345678901234567890";
    const unsigned char *k256 =
        (const unsigned char *)"12345678901234567890123456789012";
    const unsigned char *k512 = (const unsigned char *)
        "1234567890123456789012345678901234567890123456789012345678901234";
    char code[9];

    (void)state;
    for (size_t i = 0; i < sizeof(totp_vectors) / sizeof(*totp_vectors);
         i++) {
        const totp_vector_t *v = &totp_vectors[i];
        assert_int_equal(auth_totp_code(k1, 20, v->t, "SHA1", 8, code,
                                        sizeof(code)), 0);
        assert_string_equal(code, v->sha1);
        assert_int_equal(auth_totp_code(k256, 32, v->t, "SHA256", 8, code,
                                        sizeof(code)), 0);
        assert_string_equal(code, v->sha256);
        assert_int_equal(auth_totp_code(k512, 64, v->t, "SHA512", 8, code,
                                        sizeof(code)), 0);
        assert_string_equal(code, v->sha512);
    }
    /* Six digits are the last six of the eight. */
    assert_int_equal(auth_totp_code(k1, 20, 59, "SHA1", 6, code,
                                    sizeof(code)), 0);
    assert_string_equal(code, "287082");
}

static void totp_rejects_bad_arguments(void **state)
{
    char code[9];

    (void)state;
    assert_int_equal(auth_totp_code((const unsigned char *)"k", 1, 0, "MD5",
                                    6, code, sizeof(code)), -EINVAL);
    assert_int_equal(auth_totp_code((const unsigned char *)"k", 1, 0,
                                    "SHA1", 9, code, sizeof(code)),
                     -EINVAL);
    assert_int_equal(auth_totp_code((const unsigned char *)"k", 1, 0,
                                    "SHA1", 6, code, 6), -EINVAL);
}

static void base32_rfc4648_vectors(void **state)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob",
                                        "fooba", "foobar"};
    static const char *const coded[] = {"", "MY", "MZXQ", "MZXW6",
                                        "MZXW6YQ", "MZXW6YTB",
                                        "MZXW6YTBOI"};
    unsigned char raw[16];
    char out[32];
    size_t n;

    (void)state;
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(auth_base32_encode((const unsigned char *)plain[i],
                                            strlen(plain[i]), out,
                                            sizeof(out)), 0);
        assert_string_equal(out, coded[i]);
        assert_int_equal(auth_base32_decode(coded[i], raw, sizeof(raw), &n),
                         0);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(raw, plain[i], n);
    }
    /* Padding, spaces and lower case are accepted. */
    assert_int_equal(auth_base32_decode("mzxw 6yq=", raw, sizeof(raw), &n),
                     0);
    assert_int_equal(n, 4);
    assert_memory_equal(raw, "foob", 4);
    assert_int_equal(auth_base32_decode("MZ1W", raw, sizeof(raw), &n),
                     -EINVAL);
    assert_int_equal(auth_base32_decode("MZXW6YTBOI", raw, 3, &n), -ENOSPC);
}

/* Enrols user with the fixture's clock and returns the secret. */
static void totp_enrol(fixture_t *f, const char *user, unsigned char *key,
                       size_t *keylen,
                       char codes[][AUTH_RECOVERY_CODE_LEN + 1])
{
    auth_totp_enrolment_t e;
    char code[8];

    assert_int_equal(auth_totp_enrol(f->auth, user, "Site A", &e, f->err,
                                     sizeof(f->err)), 0);
    assert_int_equal(strlen(e.secret_base32), 32);
    assert_non_null(strstr(e.uri, "otpauth://totp/Site%20A:"));
    assert_non_null(strstr(e.uri, e.secret_base32));
    assert_non_null(e.qr_svg);
    assert_non_null(strstr(e.qr_svg, "<svg"));
    assert_int_equal(auth_base32_decode(e.secret_base32, key, 20, keylen),
                     0);
    assert_int_equal(*keylen, 20);
    free(e.qr_svg);

    assert_int_equal(auth_totp_code(key, *keylen, f->now_us / 1000000,
                                    "SHA1", 6, code, sizeof(code)), 0);
    assert_int_equal(auth_totp_confirm(f->auth, user, code, codes, f->err,
                                       sizeof(f->err)), 0);
}

/* The code of the step at offset steps from the fixture's clock. */
static void totp_code_at(fixture_t *f, const unsigned char *key,
                         size_t keylen, int offset, char code[8])
{
    assert_int_equal(auth_totp_code(key, keylen,
                                    f->now_us / 1000000 + 30 * offset,
                                    "SHA1", 6, code, 8), 0);
}

static void totp_login_needs_code(void **state)
{
    fixture_t *f = *state;
    char codes[AUTH_RECOVERY_CODES][AUTH_RECOVERY_CODE_LEN + 1];
    unsigned char key[20];
    size_t keylen;
    char code[8], token[AUTH_TOKEN_LEN + 1];

    fixture_user(f, "alice", AUTH_ROLE_OPERATOR);
    totp_enrol(f, "alice", key, &keylen, codes);

    assert_int_equal(fixture_login(f, "alice", FIXTURE_PASSWORD, NULL,
                                   "10.0.0.1", NULL),
                     AUTH_LOGIN_TOTP_REQUIRED);
    f->now_us += 30 * 1000000;
    totp_code_at(f, key, keylen, 0, code);
    assert_int_equal(fixture_login(f, "alice", FIXTURE_PASSWORD, code,
                                   "10.0.0.1", token), AUTH_LOGIN_OK);
    assert_int_equal(strlen(token), AUTH_TOKEN_LEN);
    /* A wrong password with a right code still fails. */
    f->now_us += 30 * 1000000;
    totp_code_at(f, key, keylen, 0, code);
    assert_int_equal(fixture_login(f, "alice", "wrong password 123", code,
                                   "10.0.0.1", NULL), AUTH_LOGIN_FAILED);
}

static void totp_code_reuse_rejected(void **state)
{
    fixture_t *f = *state;
    char codes[AUTH_RECOVERY_CODES][AUTH_RECOVERY_CODE_LEN + 1];
    unsigned char key[20];
    size_t keylen;
    char code[8];

    fixture_user(f, "bob", AUTH_ROLE_VIEWER);
    totp_enrol(f, "bob", key, &keylen, codes);

    /* The confirmation used this step's code: it cannot log in. */
    totp_code_at(f, key, keylen, 0, code);
    assert_int_equal(fixture_login(f, "bob", FIXTURE_PASSWORD, code,
                                   "10.0.0.2", NULL), AUTH_LOGIN_FAILED);
    assert_non_null(strstr(f->err, "already used"));

    f->now_us += 30 * 1000000;
    totp_code_at(f, key, keylen, 0, code);
    assert_int_equal(fixture_login(f, "bob", FIXTURE_PASSWORD, code,
                                   "10.0.0.2", NULL), AUTH_LOGIN_OK);
    /* The same code again, still inside its step. */
    f->now_us += 10 * 1000000;
    assert_int_equal(fixture_login(f, "bob", FIXTURE_PASSWORD, code,
                                   "10.0.0.2", NULL), AUTH_LOGIN_FAILED);
    /* The previous step's code is within the window but older than
     * the step already used. */
    totp_code_at(f, key, keylen, -1, code);
    assert_int_equal(fixture_login(f, "bob", FIXTURE_PASSWORD, code,
                                   "10.0.0.2", NULL), AUTH_LOGIN_FAILED);
}

static void totp_window_one_step(void **state)
{
    fixture_t *f = *state;
    char codes[AUTH_RECOVERY_CODES][AUTH_RECOVERY_CODE_LEN + 1];
    unsigned char key[20];
    size_t keylen;
    char code[8];

    fixture_user(f, "carol", AUTH_ROLE_VIEWER);
    totp_enrol(f, "carol", key, &keylen, codes);
    f->now_us += 10 * 60 * 1000000LL;

    /* Two steps away on either side: rejected. */
    totp_code_at(f, key, keylen, 2, code);
    assert_int_equal(fixture_login(f, "carol", FIXTURE_PASSWORD, code,
                                   "10.0.0.3", NULL), AUTH_LOGIN_FAILED);
    f->now_us += 2 * 60 * 1000000LL;
    totp_code_at(f, key, keylen, -2, code);
    assert_int_equal(fixture_login(f, "carol", FIXTURE_PASSWORD, code,
                                   "10.0.0.3", NULL), AUTH_LOGIN_FAILED);
    /* One step behind (a slow phone clock): accepted. */
    f->now_us += 2 * 60 * 1000000LL;
    totp_code_at(f, key, keylen, -1, code);
    assert_int_equal(fixture_login(f, "carol", FIXTURE_PASSWORD, code,
                                   "10.0.0.3", NULL), AUTH_LOGIN_OK);
    /* One step ahead: accepted, and then the current step is older. */
    totp_code_at(f, key, keylen, 1, code);
    assert_int_equal(fixture_login(f, "carol", FIXTURE_PASSWORD, code,
                                   "10.0.0.3", NULL), AUTH_LOGIN_OK);
    totp_code_at(f, key, keylen, 0, code);
    assert_int_equal(fixture_login(f, "carol", FIXTURE_PASSWORD, code,
                                   "10.0.0.3", NULL), AUTH_LOGIN_FAILED);
}

static void totp_recovery_code_single_use(void **state)
{
    fixture_t *f = *state;
    char codes[AUTH_RECOVERY_CODES][AUTH_RECOVERY_CODE_LEN + 1];
    unsigned char key[20];
    size_t keylen;
    char upper[AUTH_RECOVERY_CODE_LEN + 1];

    fixture_user(f, "dave", AUTH_ROLE_VIEWER);
    totp_enrol(f, "dave", key, &keylen, codes);
    for (int i = 0; i < AUTH_RECOVERY_CODES; i++) {
        assert_int_equal(strlen(codes[i]), AUTH_RECOVERY_CODE_LEN);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(codes[i], codes[j]);
    }
    /* Case and dashes do not matter. */
    for (int i = 0; i <= AUTH_RECOVERY_CODE_LEN; i++)
        upper[i] = (char)toupper((unsigned char)codes[3][i]);
    assert_int_equal(fixture_login(f, "dave", FIXTURE_PASSWORD, upper,
                                   "10.0.0.4", NULL), AUTH_LOGIN_OK);
    assert_int_equal(fixture_login(f, "dave", FIXTURE_PASSWORD, codes[3],
                                   "10.0.0.4", NULL), AUTH_LOGIN_FAILED);
    assert_int_equal(fixture_login(f, "dave", FIXTURE_PASSWORD, codes[4],
                                   "10.0.0.4", NULL), AUTH_LOGIN_OK);
    assert_int_equal(fixture_login(f, "dave", FIXTURE_PASSWORD,
                                   "aaaa-bbbb-cccc-dddd", "10.0.0.4", NULL),
                     AUTH_LOGIN_FAILED);
}

static void totp_confirm_wrong_code(void **state)
{
    fixture_t *f = *state;
    char codes[AUTH_RECOVERY_CODES][AUTH_RECOVERY_CODE_LEN + 1];
    auth_totp_enrolment_t e;
    auth_user_t u;

    fixture_user(f, "erin", AUTH_ROLE_VIEWER);
    assert_int_equal(auth_totp_confirm(f->auth, "erin", "123456", codes,
                                       f->err, sizeof(f->err)), -ENOENT);
    assert_int_equal(auth_totp_enrol(f->auth, "erin", NULL, &e, f->err,
                                     sizeof(f->err)), 0);
    free(e.qr_svg);
    assert_int_equal(auth_totp_confirm(f->auth, "erin", "000000", codes,
                                       f->err, sizeof(f->err)), -EACCES);
    assert_non_null(strstr(f->err, "wrong TOTP code"));
    assert_int_equal(auth_user_get(f->auth, "erin", &u), 0);
    assert_int_equal(u.totp_enabled, 0);
    /* Pending enrolment does not demand a code at login. */
    assert_int_equal(fixture_login(f, "erin", FIXTURE_PASSWORD, NULL,
                                   "10.0.0.5", NULL), AUTH_LOGIN_OK);
}

static void totp_role_requires_enrolment(void **state)
{
    fixture_t *f = *state;
    char codes[AUTH_RECOVERY_CODES][AUTH_RECOVERY_CODE_LEN + 1];
    char token[AUTH_TOKEN_LEN + 1];
    unsigned char key[20];
    size_t keylen;
    auth_principal_t *p = NULL;
    auth_role_t role;

    assert_int_equal(auth_role_get(f->auth, AUTH_ROLE_OPERATOR, &role), 0);
    role.require_totp = 1;
    assert_int_equal(auth_role_update(f->auth, "test", &role, f->err,
                                      sizeof(f->err)), 0);
    fixture_user(f, "frank", AUTH_ROLE_OPERATOR);
    assert_int_equal(fixture_login(f, "frank", FIXTURE_PASSWORD, NULL,
                                   "10.0.0.6", token), AUTH_LOGIN_OK);
    assert_int_equal(auth_resolve(f->auth, token, &p), 0);
    assert_int_equal(p->totp_enrol_required, 1);
    assert_int_equal(auth_check(p, "GET", "/api/v1/cameras/{id}/live", 1),
                     AUTH_FORBIDDEN);
    assert_int_equal(auth_check(p, "POST", "/api/v1/auth/totp/enrol", 0),
                     AUTH_ALLOW);
    auth_principal_free(p);

    totp_enrol(f, "frank", key, &keylen, codes);
    assert_int_equal(auth_resolve(f->auth, token, &p), 0);
    assert_int_equal(p->totp_enrol_required, 0);
    assert_int_equal(auth_check(p, "GET", "/api/v1/cameras/{id}/live", 1),
                     AUTH_ALLOW);
    auth_principal_free(p);
}

static void qr_svg_renders(void **state)
{
    char *svg = NULL;

    (void)state;
    assert_int_equal(auth_qr_svg("otpauth://totp/A:b?secret=MZXW6", &svg),
                     0);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg xmlns"));
    assert_non_null(strstr(svg, "h1v1h-1z"));
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
    assert_int_equal(auth_qr_svg("", &svg), -EINVAL);
    assert_null(svg);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(totp_rfc6238_vectors),
        cmocka_unit_test(totp_rejects_bad_arguments),
        cmocka_unit_test(base32_rfc4648_vectors),
        cmocka_unit_test_setup_teardown(totp_login_needs_code,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(totp_code_reuse_rejected,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(totp_window_one_step,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(totp_recovery_code_single_use,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(totp_confirm_wrong_code,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(totp_role_requires_enrolment,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test(qr_svg_renders),
    };

    return UNIT_RUN("auth totp", tests, NULL, NULL, argc, argv);
}
