/*
 * TLS material: a local CA and a server certificate that `openssl
 * verify` accepts, with the names as SANs, for both key types. Import
 * of a matching pair, and rejection of a foreign key or CA.
 */
#include <sys/wait.h>

#include "fixture.h"

#include "auth/tls.h"

/* Runs a shell command quietly and returns its exit status. */
static int tls_run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int status;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Makes dir/name into out. */
static void tls_path(const fixture_t *f, const char *name, char *out)
{
    snprintf(out, 400, "%s/%s", f->dir, name);
}

static void tls_server_cert(fixture_t *f, auth_tls_key_type_t type)
{
    static const char *const names[] = {"vms.example.org", "localhost",
                                        "192.0.2.10", "::1"};
    char ca[400], ca_key[400], cert[400], key[400], out[400];
    struct stat st;

    tls_path(f, "ca.pem", ca);
    tls_path(f, "ca.key", ca_key);
    tls_path(f, "server.pem", cert);
    tls_path(f, "server.key", key);
    tls_path(f, "san.txt", out);
    assert_int_equal(auth_tls_ca_create("Site CA", type, 0, ca, ca_key,
                                        f->err, sizeof(f->err)), 0);
    assert_int_equal(auth_tls_server_create(ca, ca_key, names, 4, type, 0,
                                            cert, key, f->err,
                                            sizeof(f->err)), 0);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(ca_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(tls_run("openssl verify -CAfile %s %s >/dev/null", ca,
                             cert), 0);
    assert_int_equal(tls_run("openssl verify -purpose sslserver -CAfile %s "
                             "%s >/dev/null", ca, cert), 0);
    assert_int_equal(tls_run("openssl x509 -in %s -noout -ext "
                             "subjectAltName > %s", cert, out), 0);
    assert_int_equal(tls_run("grep -q 'DNS:vms.example.org, "
                             "DNS:localhost, IP Address:192.0.2.10, "
                             "IP Address:0:0:0:0:0:0:0:1' %s", out), 0);
    assert_int_equal(tls_run("openssl x509 -in %s -noout -text | grep -q "
                             "'%s'", cert,
                             type == AUTH_TLS_KEY_RSA_3072
                                 ? "Public-Key: (3072 bit)"
                                 : "NIST CURVE: P-256"), 0);
    /* The server key belongs to the certificate. */
    assert_int_equal(auth_tls_import(cert, key, ca, NULL, NULL, f->err,
                                     sizeof(f->err)), 0);
}

static void tls_server_cert_ec(void **state)
{
    tls_server_cert(*state, AUTH_TLS_KEY_EC_P256);
}

static void tls_server_cert_rsa(void **state)
{
    tls_server_cert(*state, AUTH_TLS_KEY_RSA_3072);
}

static void tls_rejects_bad_names(void **state)
{
    fixture_t *f = *state;
    const char *bad[] = {"vms.example.org,DNS:evil.example"};
    const char *empty[] = {"a..b"};
    char ca[400], ca_key[400], cert[400], key[400];

    tls_path(f, "ca.pem", ca);
    tls_path(f, "ca.key", ca_key);
    tls_path(f, "server.pem", cert);
    tls_path(f, "server.key", key);
    assert_int_equal(auth_tls_ca_create("Site CA", AUTH_TLS_KEY_EC_P256, 0,
                                        ca, ca_key, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(auth_tls_server_create(ca, ca_key, bad, 1,
                                            AUTH_TLS_KEY_EC_P256, 0, cert,
                                            key, f->err, sizeof(f->err)),
                     -EINVAL);
    assert_non_null(strstr(f->err, "invalid host name"));
    assert_int_equal(auth_tls_server_create(ca, ca_key, empty, 1,
                                            AUTH_TLS_KEY_EC_P256, 0, cert,
                                            key, f->err, sizeof(f->err)),
                     -EINVAL);
    assert_int_equal(access(cert, F_OK), -1);
}

static void tls_import_checks(void **state)
{
    fixture_t *f = *state;
    static const char *const names[] = {"vms.example.org"};
    char ca[400], ca_key[400], cert[400], key[400];
    char other_ca[400], other_key[400], other_cert[400], other_skey[400];
    char out_cert[400], out_key[400];

    tls_path(f, "ca.pem", ca);
    tls_path(f, "ca.key", ca_key);
    tls_path(f, "server.pem", cert);
    tls_path(f, "server.key", key);
    tls_path(f, "other-ca.pem", other_ca);
    tls_path(f, "other-ca.key", other_key);
    tls_path(f, "other.pem", other_cert);
    tls_path(f, "other.key", other_skey);
    tls_path(f, "installed.pem", out_cert);
    tls_path(f, "installed.key", out_key);
    assert_int_equal(auth_tls_ca_create("Site CA", AUTH_TLS_KEY_EC_P256, 0,
                                        ca, ca_key, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(auth_tls_server_create(ca, ca_key, names, 1,
                                            AUTH_TLS_KEY_EC_P256, 0, cert,
                                            key, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(auth_tls_ca_create("Other CA", AUTH_TLS_KEY_RSA_3072,
                                        0, other_ca, other_key, f->err,
                                        sizeof(f->err)), 0);
    assert_int_equal(auth_tls_server_create(other_ca, other_key, names, 1,
                                            AUTH_TLS_KEY_EC_P256, 0,
                                            other_cert, other_skey, f->err,
                                            sizeof(f->err)), 0);

    assert_int_equal(auth_tls_import(cert, key, ca, out_cert, out_key,
                                     f->err, sizeof(f->err)), 0);
    assert_int_equal(tls_run("openssl verify -CAfile %s %s >/dev/null", ca,
                             out_cert), 0);
    assert_int_equal(tls_run("cmp -s %s %s", cert, out_cert), 0);

    assert_int_equal(auth_tls_import(cert, other_skey, ca, NULL, NULL,
                                     f->err, sizeof(f->err)), -EINVAL);
    assert_non_null(strstr(f->err, "does not match"));
    assert_int_equal(auth_tls_import(other_cert, other_skey, ca, NULL,
                                     NULL, f->err, sizeof(f->err)),
                     -EINVAL);
    assert_non_null(strstr(f->err, "does not verify"));
    assert_int_equal(auth_tls_import(ca, ca_key, ca, NULL, NULL, f->err,
                                     sizeof(f->err)), -EINVAL);
    assert_int_equal(auth_tls_import(f->db, key, ca, NULL, NULL, f->err,
                                     sizeof(f->err)), -EINVAL);
    assert_non_null(strstr(f->err, "cannot read a PEM certificate"));
}

static void tls_init_reuses_ca(void **state)
{
    fixture_t *f = *state;
    static const char *const names[] = {"recorder-1", "10.1.2.3"};
    char ca[400], cert[400], before[400];
    char **host = NULL;
    size_t n = 0;

    tls_path(f, "ca.pem", ca);
    tls_path(f, "server.pem", cert);
    tls_path(f, "ca-before.pem", before);
    assert_int_equal(auth_tls_init(f->dir, names, 2, AUTH_TLS_KEY_EC_P256,
                                   f->err, sizeof(f->err)), 0);
    assert_int_equal(tls_run("cp %s %s", ca, before), 0);
    assert_int_equal(auth_tls_init(f->dir, NULL, 0, AUTH_TLS_KEY_EC_P256,
                                   f->err, sizeof(f->err)), 0);
    /* The second run renewed the server certificate with the same CA. */
    assert_int_equal(tls_run("cmp -s %s %s", ca, before), 0);
    assert_int_equal(tls_run("openssl verify -CAfile %s %s >/dev/null", ca,
                             cert), 0);

    assert_int_equal(auth_tls_host_names(&host, &n), 0);
    assert_true(n >= 2);
    int localhost = 0, loopback = 0;
    for (size_t i = 0; i < n; i++) {
        localhost |= strcmp(host[i], "localhost") == 0;
        loopback |= strcmp(host[i], "127.0.0.1") == 0;
    }
    assert_true(localhost);
    assert_true(loopback);
    auth_tls_names_free(host, n);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tls_server_cert_ec, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(tls_server_cert_rsa, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(tls_rejects_bad_names,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(tls_import_checks, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(tls_init_reuses_ca, fixture_setup,
                                        fixture_teardown),
    };

    return UNIT_RUN("auth tls", tests, NULL, NULL, argc, argv);
}
