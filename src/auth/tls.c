/*
 * Local CA, server certificates and the import check, with the OpenSSL 3
 * API (Debian 12 ships 3.0).
 */
#include "auth/tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUTH_TLS_NAMES_MAX 64

/* Appends OpenSSL's last error to a message. */
static int auth_tls_fail(char *err, size_t errlen, int rc, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char reason[160] = "";

    if (e)
        ERR_error_string_n(e, reason, sizeof(reason));
    snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", reason);
    ERR_clear_error();
    return rc;
}

/* Generates a key of the given type. */
static EVP_PKEY *auth_tls_key_new(auth_tls_key_type_t type)
{
    if (type == AUTH_TLS_KEY_RSA_3072)
        return EVP_RSA_gen(3072);
    return EVP_EC_gen("P-256");
}

/* Writes a PEM file through path.tmp, fsync and rename, then fsyncs the
 * directory. write_fn writes the PEM to f. mode 0600 for keys. */
static int auth_tls_write(const char *path, mode_t mode,
                          int (*write_fn)(FILE *f, void *obj), void *obj)
{
    char tmp[4096], dir[4096];
    FILE *f = NULL;
    int fd, rc = 0, dfd;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    fchmod(fd, mode);
    f = fdopen(fd, "w");
    if (!f) {
        rc = -errno;
        close(fd);
        goto fail;
    }
    if (!write_fn(f, obj) || fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -EIO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc < 0)
        goto fail;

    /* Make the rename itself durable. */
    snprintf(dir, sizeof(dir), "%s", path);
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;

fail:
    unlink(tmp);
    return rc;
}

static int auth_tls_write_key(FILE *f, void *key)
{
    return PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
}

static int auth_tls_write_cert(FILE *f, void *cert)
{
    return PEM_write_X509(f, cert);
}

/* Adds an X509v3 extension given in OpenSSL's configuration syntax. */
static int auth_tls_add_ext(X509 *cert, X509 *issuer, int nid,
                            const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return 0;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Creates a certificate for key named cn, valid from an hour ago (for
 * clocks slightly behind) for days, without extensions or signature. */
static X509 *auth_tls_cert_new(EVP_PKEY *key, const char *cn, int days)
{
    X509 *cert = X509_new();
    X509_NAME *name;
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    int ok = cert != NULL;

    /* A random positive 127-bit serial number (RFC 5280 4.1.2.2). */
    if (ok)
        ok = RAND_bytes(serial, sizeof(serial)) == 1;
    serial[0] &= 0x7f;
    if (ok)
        ok = (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL;
    if (ok)
        ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    if (ok)
        ok = X509_set_version(cert, 2) &&
             X509_gmtime_adj(X509_getm_notBefore(cert), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(cert),
                             (long)days * 86400) &&
             X509_set_pubkey(cert, key);
    name = ok ? X509_get_subject_name(cert) : NULL;
    if (ok)
        ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                        (const unsigned char *)cn, -1, -1,
                                        0);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

int auth_tls_ca_create(const char *common_name, auth_tls_key_type_t type,
                       int days, const char *cert_path,
                       const char *key_path, char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc = -EIO;

    if (!common_name || common_name[0] == '\0' || strlen(common_name) > 64) {
        snprintf(err, errlen, "invalid CA name: use 1 to 64 characters");
        return -EINVAL;
    }
    key = auth_tls_key_new(type);
    if (!key) {
        rc = auth_tls_fail(err, errlen, -EIO, "CA key generation failed");
        goto fail;
    }
    cert = auth_tls_cert_new(key, common_name,
                             days > 0 ? days : AUTH_TLS_CA_DAYS);
    if (!cert || !X509_set_issuer_name(cert, X509_get_subject_name(cert)) ||
        !auth_tls_add_ext(cert, cert, NID_basic_constraints,
                          "critical,CA:TRUE,pathlen:0") ||
        !auth_tls_add_ext(cert, cert, NID_key_usage,
                          "critical,keyCertSign,cRLSign") ||
        !auth_tls_add_ext(cert, cert, NID_subject_key_identifier, "hash") ||
        !X509_sign(cert, key, EVP_sha256())) {
        rc = auth_tls_fail(err, errlen, -EIO, "CA certificate failed");
        goto fail;
    }
    rc = auth_tls_write(key_path, 0600, auth_tls_write_key, key);
    if (rc == 0)
        rc = auth_tls_write(cert_path, 0644, auth_tls_write_cert, cert);
    if (rc < 0)
        snprintf(err, errlen, "cannot write %s or %s: %s", key_path,
                 cert_path, strerror(-rc));

fail:
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* Checks a DNS name: labels of letters, digits and '-', a leading "*."
 * allowed, dots between, 253 characters at most. */
static int auth_tls_dns_valid(const char *name)
{
    size_t n = strlen(name), label = 0;

    if (n == 0 || n > 253)
        return 0;
    if (strncmp(name, "*.", 2) == 0)
        name += 2;
    for (const char *p = name; *p; p++) {
        if (*p == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)*p) || *p == '-') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

/* Builds "DNS:a,IP:1.2.3.4" from names, checking each. */
static int auth_tls_san(const char *const *names, size_t n, char *out,
                        size_t len, char *err, size_t errlen)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        unsigned char addr[16];
        const char *kind;
        int w;

        if (!names[i]) {
            snprintf(err, errlen, "missing host name %zu", i + 1);
            return -EINVAL;
        }
        if (inet_pton(AF_INET, names[i], addr) == 1 ||
            inet_pton(AF_INET6, names[i], addr) == 1) {
            kind = "IP";
        } else if (auth_tls_dns_valid(names[i])) {
            kind = "DNS";
        } else {
            snprintf(err, errlen,
                     "invalid host name '%s': expected a DNS name or an "
                     "IPv4 or IPv6 address", names[i]);
            return -EINVAL;
        }
        w = snprintf(out + o, len - o, "%s%s:%s", i ? "," : "", kind,
                     names[i]);
        if (w < 0 || (size_t)w >= len - o) {
            snprintf(err, errlen, "too many host names");
            return -EINVAL;
        }
        o += (size_t)w;
    }
    return 0;
}

/* Reads a PEM certificate or key file. */
static X509 *auth_tls_read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    if (f)
        fclose(f);
    return cert;
}

static EVP_PKEY *auth_tls_read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

    if (f)
        fclose(f);
    return key;
}

int auth_tls_server_create(const char *ca_cert, const char *ca_key,
                           const char *const *names, size_t n,
                           auth_tls_key_type_t type, int days,
                           const char *cert_path, const char *key_path,
                           char *err, size_t errlen)
{
    char san[AUTH_TLS_NAMES_MAX * 80];
    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *cakey = NULL, *key = NULL;
    int rc;

    if (n == 0 || n > AUTH_TLS_NAMES_MAX) {
        snprintf(err, errlen, "a server certificate needs 1 to %d names",
                 AUTH_TLS_NAMES_MAX);
        return -EINVAL;
    }
    rc = auth_tls_san(names, n, san, sizeof(san), err, errlen);
    if (rc < 0)
        return rc;
    ca = auth_tls_read_cert(ca_cert);
    cakey = auth_tls_read_key(ca_key);
    if (!ca || !cakey) {
        rc = auth_tls_fail(err, errlen, -ENOENT, !ca
                           ? "cannot read the CA certificate"
                           : "cannot read the CA key");
        goto fail;
    }
    if (X509_check_private_key(ca, cakey) != 1) {
        rc = auth_tls_fail(err, errlen, -EINVAL,
                           "the CA key does not match the CA certificate");
        goto fail;
    }
    key = auth_tls_key_new(type);
    cert = key ? auth_tls_cert_new(key, names[0],
                                   days > 0 ? days : AUTH_TLS_SERVER_DAYS)
               : NULL;
    if (!cert || !X509_set_issuer_name(cert, X509_get_subject_name(ca)) ||
        !auth_tls_add_ext(cert, ca, NID_basic_constraints,
                          "critical,CA:FALSE") ||
        !auth_tls_add_ext(cert, ca, NID_key_usage,
                          "critical,digitalSignature,keyEncipherment") ||
        !auth_tls_add_ext(cert, ca, NID_ext_key_usage, "serverAuth") ||
        !auth_tls_add_ext(cert, ca, NID_subject_key_identifier, "hash") ||
        !auth_tls_add_ext(cert, ca, NID_authority_key_identifier,
                          "keyid:always") ||
        !auth_tls_add_ext(cert, ca, NID_subject_alt_name, san) ||
        !X509_sign(cert, cakey, EVP_sha256())) {
        rc = auth_tls_fail(err, errlen, -EIO,
                           "server certificate failed");
        goto fail;
    }
    rc = auth_tls_write(key_path, 0600, auth_tls_write_key, key);
    if (rc == 0)
        rc = auth_tls_write(cert_path, 0644, auth_tls_write_cert, cert);
    if (rc < 0)
        snprintf(err, errlen, "cannot write %s or %s: %s", key_path,
                 cert_path, strerror(-rc));

fail:
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(key);
    return rc;
}

/* Adds a copy of name to the list unless it is there. */
static int auth_tls_names_add(char **names, size_t *n, const char *name)
{
    if (!name || name[0] == '\0')
        return 0;
    for (size_t i = 0; i < *n; i++)
        if (strcasecmp(names[i], name) == 0)
            return 0;
    if (*n == AUTH_TLS_NAMES_MAX)
        return 0;
    names[*n] = strdup(name);
    if (!names[*n])
        return -ENOMEM;
    (*n)++;
    return 0;
}

int auth_tls_host_names(char ***out, size_t *count)
{
    char **names = calloc(AUTH_TLS_NAMES_MAX, sizeof(*names));
    char host[256] = "", addr[INET6_ADDRSTRLEN];
    struct ifaddrs *ifs = NULL;
    size_t n = 0;
    int rc = 0;

    if (!names)
        return -ENOMEM;
    if (gethostname(host, sizeof(host) - 1) == 0 &&
        auth_tls_dns_valid(host))
        rc = auth_tls_names_add(names, &n, host);
    if (rc == 0)
        rc = auth_tls_names_add(names, &n, "localhost");
    if (rc == 0 && getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; rc == 0 && i; i = i->ifa_next) {
            if (!i->ifa_addr)
                continue;
            if (i->ifa_addr->sa_family == AF_INET) {
                struct sockaddr_in *s = (struct sockaddr_in *)i->ifa_addr;
                inet_ntop(AF_INET, &s->sin_addr, addr, sizeof(addr));
            } else if (i->ifa_addr->sa_family == AF_INET6) {
                struct sockaddr_in6 *s = (struct sockaddr_in6 *)i->ifa_addr;
                if (IN6_IS_ADDR_LINKLOCAL(&s->sin6_addr))
                    continue; /* needs a zone id, useless in a cert */
                inet_ntop(AF_INET6, &s->sin6_addr, addr, sizeof(addr));
            } else {
                continue;
            }
            rc = auth_tls_names_add(names, &n, addr);
        }
        freeifaddrs(ifs);
    }
    if (rc < 0) {
        auth_tls_names_free(names, n);
        return rc;
    }
    *out = names;
    *count = n;
    return 0;
}

void auth_tls_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Reads every certificate after the first in a PEM file. */
static STACK_OF(X509) *auth_tls_read_chain(const char *path)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    FILE *f = fopen(path, "r");
    X509 *c;
    int first = 1;

    if (!f || !chain) {
        if (f)
            fclose(f);
        sk_X509_free(chain);
        return NULL;
    }
    while ((c = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (first || !sk_X509_push(chain, c))
            X509_free(c);
        first = 0;
    }
    ERR_clear_error(); /* the end of the file ends the loop */
    fclose(f);
    return chain;
}

/* Copies a file with auth_tls_write(). */
static int auth_tls_write_pem_cert(FILE *f, void *path)
{
    FILE *in = fopen(path, "r");
    char buf[4096];
    size_t n;
    int ok = in != NULL;

    while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        ok = fwrite(buf, 1, n, f) == n;
    if (in)
        fclose(in);
    return ok;
}

int auth_tls_import(const char *cert_path, const char *key_path,
                    const char *ca_path, const char *cert_out,
                    const char *key_out, char *err, size_t errlen)
{
    X509 *cert = auth_tls_read_cert(cert_path);
    EVP_PKEY *key = auth_tls_read_key(key_path);
    STACK_OF(X509) *chain = NULL;
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    int rc = 0;

    if (!cert || !key) {
        rc = auth_tls_fail(err, errlen, -EINVAL, !cert
                           ? "cannot read a PEM certificate from the "
                             "certificate file"
                           : "cannot read a PEM private key from the key "
                             "file (an encrypted key must be decrypted "
                             "first)");
        goto done;
    }
    if (X509_check_private_key(cert, key) != 1) {
        rc = auth_tls_fail(err, errlen, -EINVAL,
                           "the private key does not match the "
                           "certificate");
        goto done;
    }

    chain = auth_tls_read_chain(cert_path);
    store = X509_STORE_new();
    ctx = X509_STORE_CTX_new();
    if (!chain || !store || !ctx ||
        X509_STORE_load_file(store, ca_path) != 1) {
        rc = auth_tls_fail(err, errlen, -EINVAL,
                           "cannot read the CA certificate file");
        goto done;
    }
    X509_STORE_set_purpose(store, X509_PURPOSE_SSL_SERVER);
    if (X509_STORE_CTX_init(ctx, store, cert, chain) != 1 ||
        X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        snprintf(err, errlen,
                 "the certificate does not verify against the CA: %s (put "
                 "intermediate certificates after the server certificate "
                 "in its file)", X509_verify_cert_error_string(e));
        rc = -EINVAL;
        goto done;
    }

    if (cert_out && key_out) {
        rc = auth_tls_write(key_out, 0600, auth_tls_write_key, key);
        if (rc == 0)
            rc = auth_tls_write(cert_out, 0644, auth_tls_write_pem_cert,
                                (void *)cert_path);
        if (rc < 0)
            snprintf(err, errlen, "cannot write %s or %s: %s", cert_out,
                     key_out, strerror(-rc));
    }

done:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(chain, X509_free);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

int auth_tls_init(const char *dir, const char *const *names, size_t n,
                  auth_tls_key_type_t type, char *err, size_t errlen)
{
    char ca_cert[4096], ca_key[4096], cert[4096], key[4096], cn[96];
    char **host = NULL;
    size_t host_n = 0;
    int rc = 0;

    snprintf(ca_cert, sizeof(ca_cert), "%s/ca.pem", dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    if (!names) {
        rc = auth_tls_host_names(&host, &host_n);
        if (rc < 0) {
            snprintf(err, errlen, "cannot list the host's names: %s",
                     strerror(-rc));
            return rc;
        }
        names = (const char *const *)host;
        n = host_n;
    }
    if (access(ca_cert, F_OK) != 0 || access(ca_key, F_OK) != 0) {
        snprintf(cn, sizeof(cn), "VMS local CA %.64s",
                 n > 0 ? names[0] : "");
        rc = auth_tls_ca_create(cn, type, 0, ca_cert, ca_key, err, errlen);
    }
    if (rc == 0)
        rc = auth_tls_server_create(ca_cert, ca_key, names, n, type, 0,
                                    cert, key, err, errlen);
    auth_tls_names_free(host, host_n);
    return rc;
}
