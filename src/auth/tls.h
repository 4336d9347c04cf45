/*
 * TLS material for the daemon, behind `vmsctl tls init`: a local CA and
 * a server certificate signed by it, or a certificate and key issued by
 * the site's own CA, checked before use. Files are PEM. Private keys
 * are written with mode 0600, and every file goes through a temporary
 * file, fsync and rename, so a crash leaves the old file or the new one.
 */
#ifndef VMS_AUTH_TLS_H
#define VMS_AUTH_TLS_H

#include <stddef.h>

typedef enum auth_tls_key_type {
    AUTH_TLS_KEY_EC_P256 = 0, /* the default: small and fast */
    AUTH_TLS_KEY_RSA_3072 = 1,/* for clients without ECDSA */
} auth_tls_key_type_t;

#define AUTH_TLS_CA_DAYS 3650
#define AUTH_TLS_SERVER_DAYS 825 /* the limit most browsers accept */

/* Creates a self-signed CA certificate (cert_path) and its key
 * (key_path) named common_name. days 0 selects AUTH_TLS_CA_DAYS. */
int auth_tls_ca_create(const char *common_name, auth_tls_key_type_t type,
                       int days, const char *cert_path,
                       const char *key_path, char *err, size_t errlen);

/* Creates a server certificate signed by the CA in ca_cert/ca_key, with
 * names[0..n) as subject alternative names: DNS names or IPv4/IPv6
 * addresses (the first also becomes the common name). days 0 selects
 * AUTH_TLS_SERVER_DAYS. -EINVAL names a bad host name. */
int auth_tls_server_create(const char *ca_cert, const char *ca_key,
                           const char *const *names, size_t n,
                           auth_tls_key_type_t type, int days,
                           const char *cert_path, const char *key_path,
                           char *err, size_t errlen);

/* Lists the host's names for a server certificate: the host name,
 * "localhost", and every configured address except link-local IPv6.
 * No name is resolved, so nothing is sent on the network. *names is freed with
 * auth_tls_names_free(). */
int auth_tls_host_names(char ***names, size_t *n);
void auth_tls_names_free(char **names, size_t n);

/* Checks a certificate and key issued by the site's CA: the key matches
 * the certificate, the chain (intermediates may follow the leaf in
 * cert_path) verifies against ca_path, and the certificate is valid now
 * and for a TLS server. When cert_out and key_out are not NULL the
 * files are copied there. The message in err names the failed check. */
int auth_tls_import(const char *cert_path, const char *key_path,
                    const char *ca_path, const char *cert_out,
                    const char *key_out, char *err, size_t errlen);

/* The work of `vmsctl tls init` in dir: creates ca.pem and ca.key unless
 * they exist, then server.pem and server.key for names (NULL: the
 * host's names from auth_tls_host_names()). */
int auth_tls_init(const char *dir, const char *const *names, size_t n,
                  auth_tls_key_type_t type, char *err, size_t errlen);

#endif
