/*
 * SOAP client: envelopes, WS-UsernameToken, HTTP Digest fallback and
 * fault mapping. One onvif_client_t per camera.
 *
 * Authentication order: every authenticated call carries a
 * WS-UsernameToken (ONVIF Core requires cameras to accept it). When a
 * camera replies 401 with a Digest challenge, the same request is sent
 * again with an HTTP Digest Authorization header. The challenge is kept,
 * so later calls send Digest at once.
 */
#include "onvif/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

struct onvif_client {
    char *device_url;
    onvif_url_t url;
    char *username; /* NULL sends no credentials */
    char *password;
    char *tls_ca_file;
    int timeout_ms;
    size_t max_response_bytes;
    int64_t time_offset; /* camera clock minus ours, seconds */
    bool connected;
    onvif_services_t services;
    char *digest_challenge; /* last WWW-Authenticate: Digest, or NULL */
};

int onvif_client_new(const char *address, const onvif_credentials_t *cred,
                     const onvif_client_options_t *opts,
                     onvif_client_t **out, onvif_err_t *err)
{
    onvif_client_t *c;
    char *url = NULL;
    int rc;

    *out = NULL;
    if (address == NULL || address[0] == '\0')
        return onvif_fail(err, -EINVAL, "missing camera address; give a "
                          "host, host:port or device service URL");
    if (strstr(address, "://") != NULL) {
        url = strdup(address);
    } else {
        bool v6 = strchr(address, ':') != NULL &&
                  strchr(address, ':') != strrchr(address, ':') &&
                  address[0] != '[';

        if (asprintf(&url, "http://%s%s%s/onvif/device_service",
                     v6 ? "[" : "", address, v6 ? "]" : "") < 0)
            url = NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || url == NULL) {
        free(c);
        free(url);
        return onvif_fail(err, -ENOMEM, "out of memory");
    }
    c->device_url = url;
    rc = onvif_url_parse(url, &c->url, err);
    if (rc < 0)
        goto fail;
    if (cred != NULL && cred->username != NULL && cred->username[0]) {
        c->username = strdup(cred->username);
        c->password = strdup(cred->password ? cred->password : "");
        if (c->username == NULL || c->password == NULL)
            goto oom;
    }
    c->timeout_ms = ONVIF_DEFAULT_TIMEOUT_MS;
    c->max_response_bytes = ONVIF_DEFAULT_MAX_RESPONSE;
    if (opts != NULL) {
        if (opts->timeout_ms > 0)
            c->timeout_ms = opts->timeout_ms;
        if (opts->max_response_bytes > 0)
            c->max_response_bytes = opts->max_response_bytes;
        if (opts->tls_ca_file != NULL) {
            c->tls_ca_file = strdup(opts->tls_ca_file);
            if (c->tls_ca_file == NULL)
                goto oom;
        }
    }
    *out = c;
    return 0;
oom:
    rc = onvif_fail(err, -ENOMEM, "out of memory");
fail:
    onvif_client_free(c);
    return rc;
}

void onvif_client_free(onvif_client_t *c)
{
    if (c == NULL)
        return;
    free(c->device_url);
    if (c->password != NULL)
        memset(c->password, 0, strlen(c->password));
    free(c->username);
    free(c->password);
    free(c->tls_ca_file);
    free(c->digest_challenge);
    onvif_services_clear(&c->services);
    free(c);
}

int64_t onvif_client_time_offset(const onvif_client_t *c)
{
    return c->time_offset;
}

const char *onvif_client_device_url(const onvif_client_t *c)
{
    return c->device_url;
}

const char *onvif_client_host(const onvif_client_t *c)
{
    return c->url.host;
}

const onvif_services_t *onvif_client_services(const onvif_client_t *c)
{
    return &c->services;
}

/* Internal setters used by device.c through these two functions. */
void onvif_client_set_time_offset(onvif_client_t *c, int64_t offset)
{
    c->time_offset = offset;
}

void onvif_client_set_services(onvif_client_t *c, onvif_services_t *s)
{
    onvif_services_clear(&c->services);
    c->services = *s;
    memset(s, 0, sizeof(*s));
    c->connected = true;
}

bool onvif_client_connected(const onvif_client_t *c)
{
    return c->connected;
}

int onvif_wsse_header(const char *user, const char *password,
                      time_t now_utc, const unsigned char *fixed_nonce,
                      char **out, onvif_err_t *err)
{
    unsigned char nonce[16], digest[20];
    char created[32], nonce_b64[32], digest_b64[32];
    char *user_xml = NULL;
    struct tm tm;
    EVP_MD_CTX *md = NULL;
    unsigned int dlen = 0;
    int rc = -ENOMEM, n;

    *out = NULL;
    if (fixed_nonce != NULL)
        memcpy(nonce, fixed_nonce, sizeof(nonce));
    else if (RAND_bytes(nonce, sizeof(nonce)) != 1)
        return onvif_fail(err, -EIO, "no random bytes for the nonce");
    gmtime_r(&now_utc, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);

    /* PasswordDigest = Base64(SHA-1(nonce + created + password)), with
     * the raw nonce bytes (WS-Security UsernameToken Profile 1.0). */
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1 ||
        EVP_DigestUpdate(md, nonce, sizeof(nonce)) != 1 ||
        EVP_DigestUpdate(md, created, strlen(created)) != 1 ||
        EVP_DigestUpdate(md, password, strlen(password)) != 1 ||
        EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 20) {
        rc = onvif_fail(err, -EIO, "SHA-1 failed");
        goto fail;
    }
    EVP_EncodeBlock((unsigned char *)nonce_b64, nonce, sizeof(nonce));
    EVP_EncodeBlock((unsigned char *)digest_b64, digest, sizeof(digest));
    user_xml = onvif_xml_escape(user);
    if (user_xml == NULL)
        goto oom;
    n = asprintf(
        out,
        "<wsse:Security s:mustUnderstand=\"1\" xmlns:wsse=\"http://docs."
        "oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0."
        "xsd\" xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-"
        "200401-wss-wssecurity-utility-1.0.xsd\"><wsse:UsernameToken>"
        "<wsse:Username>%s</wsse:Username><wsse:Password Type=\"http://"
        "docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-"
        "profile-1.0#PasswordDigest\">%s</wsse:Password><wsse:Nonce "
        "EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-"
        "200401-wss-soap-message-security-1.0#Base64Binary\">%s</wsse:"
        "Nonce><wsu:Created>%s</wsu:Created></wsse:UsernameToken>"
        "</wsse:Security>",
        user_xml, digest_b64, nonce_b64, created);
    if (n < 0) {
        *out = NULL;
        goto oom;
    }
    rc = 0;
    goto fail;
oom:
    rc = onvif_fail(err, -ENOMEM, "out of memory");
fail:
    EVP_MD_CTX_free(md);
    free(user_xml);
    return rc;
}

/* Short name of an action URI: its last path segment. */
static const char *onvif_action_name(const char *action)
{
    const char *slash = strrchr(action, '/');

    return slash != NULL ? slash + 1 : action;
}

/* Builds the envelope around body_xml. Event calls also carry the
 * WS-Addressing Action and To headers, which several cameras require on
 * subscription manager addresses. */
static int onvif_soap_envelope(onvif_client_t *c, const char *url,
                               const char *action, const char *body_xml,
                               bool auth, char **out, onvif_err_t *err)
{
    char *wsse = NULL, *wsa = NULL;
    int rc = 0, n;

    *out = NULL;
    if (auth && c->username != NULL) {
        rc = onvif_wsse_header(c->username, c->password,
                               time(NULL) + (time_t)c->time_offset, NULL,
                               &wsse, err);
        if (rc < 0)
            return rc;
    }
    if (strstr(action, "/events/") != NULL ||
        strstr(action, "wsn/bw-2") != NULL) {
        char *to = onvif_xml_escape(url);

        n = to ? asprintf(&wsa, "<wsa:Action>%s</wsa:Action><wsa:To>%s"
                          "</wsa:To>", action, to) : -1;
        free(to);
        if (n < 0) {
            wsa = NULL;
            rc = onvif_fail(err, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    n = asprintf(out,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<s:Envelope"
                 " xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\""
                 " xmlns:tt=\"http://www.onvif.org/ver10/schema\""
                 " xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\""
                 " xmlns:trt=\"http://www.onvif.org/ver10/media/wsdl\""
                 " xmlns:tr2=\"http://www.onvif.org/ver20/media/wsdl\""
                 " xmlns:tptz=\"http://www.onvif.org/ver20/ptz/wsdl\""
                 " xmlns:tev=\"http://www.onvif.org/ver10/events/wsdl\""
                 " xmlns:wsnt=\"http://docs.oasis-open.org/wsn/b-2\""
                 " xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">"
                 "<s:Header>%s%s</s:Header><s:Body>%s</s:Body>"
                 "</s:Envelope>",
                 wsse ? wsse : "", wsa ? wsa : "", body_xml);
    if (n < 0) {
        *out = NULL;
        rc = onvif_fail(err, -ENOMEM, "out of memory");
    }
fail:
    free(wsse);
    free(wsa);
    return rc;
}

/* Turns a non-2xx response into an error naming the camera and call. */
static int onvif_soap_status_error(onvif_client_t *c, const char *name,
                                   const onvif_http_response_t *resp,
                                   onvif_err_t *err)
{
    onvif_fault_t f;

    if (resp->body_len > 0 &&
        onvif_parse_fault(resp->body, resp->body_len, &f, NULL) == 0) {
        int code = onvif_fault_code(&f);
        const char *what = code == -EACCES      ? "not authorized"
                           : code == -EOPNOTSUPP ? "action not supported"
                           : code == -EINVAL     ? "invalid argument"
                                                 : "SOAP fault";

        return onvif_fail(err, code, "camera %s: %s: %s (%s%s%s%s%s)%s%s",
                          c->url.host, name, what, f.code,
                          f.subcode[0] ? "/" : "", f.subcode,
                          f.subcode2[0] ? "/" : "", f.subcode2,
                          f.reason[0] ? ": " : "", f.reason);
    }
    if (resp->status == 401 || resp->status == 403)
        return onvif_fail(err, -EACCES, "camera %s: %s: not authorized "
                          "(HTTP %d); check the user name and password",
                          c->url.host, name, resp->status);
    if (resp->status == 404 || resp->status == 405)
        return onvif_fail(err, -EOPNOTSUPP, "camera %s: %s: service not "
                          "found (HTTP %d)", c->url.host, name,
                          resp->status);
    return onvif_fail(err, -EPROTO, "camera %s: %s: unexpected HTTP status "
                      "%d", c->url.host, name, resp->status);
}

int onvif_soap_call(onvif_client_t *c, const char *url, const char *action,
                    const char *body_xml, bool auth, int extra_timeout_ms,
                    char **xml, size_t *len, onvif_err_t *err)
{
    onvif_http_request_t req = {0};
    onvif_http_response_t resp = {0};
    const char *name = onvif_action_name(action);
    char *envelope = NULL, *authz = NULL;
    onvif_url_t u;
    int rc, attempt;

    *xml = NULL;
    *len = 0;
    rc = onvif_url_parse(url, &u, err);
    if (rc < 0)
        return rc;

    for (attempt = 0; attempt < 3; attempt++) {
        free(envelope);
        free(authz);
        envelope = authz = NULL;
        rc = onvif_soap_envelope(c, url, action, body_xml, auth, &envelope,
                                 err);
        if (rc < 0)
            goto fail;
        if (auth && c->username != NULL && c->digest_challenge != NULL) {
            rc = onvif_http_digest(c->digest_challenge, "POST", u.path,
                                   c->username, c->password, &authz, err);
            if (rc < 0)
                goto fail;
        }
        req.url = url;
        req.soap_action = action;
        req.body = envelope;
        req.body_len = strlen(envelope);
        req.authorization = authz;
        req.timeout_ms = c->timeout_ms + extra_timeout_ms;
        req.max_response_bytes = c->max_response_bytes;
        req.tls_ca_file = c->tls_ca_file;
        onvif_http_response_clear(&resp);
        rc = onvif_http_post(&req, &resp, err);
        if (rc < 0) {
            char msg[sizeof(err->msg)];

            snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
            onvif_fail(err, rc, "camera %s: %s: %s", c->url.host, name,
                       msg);
            goto fail;
        }

        /* A new Digest challenge (the first one, or a fresh nonce after
         * a stale one) gets one more attempt. */
        if (resp.status == 401 && auth && c->username != NULL &&
            resp.www_authenticate != NULL &&
            (c->digest_challenge == NULL ||
             strcmp(c->digest_challenge, resp.www_authenticate) != 0)) {
            free(c->digest_challenge);
            c->digest_challenge = resp.www_authenticate;
            resp.www_authenticate = NULL;
            continue;
        }
        break;
    }
    if (resp.status < 200 || resp.status > 299) {
        rc = onvif_soap_status_error(c, name, &resp, err);
        goto fail;
    }
    *xml = resp.body;
    *len = resp.body_len;
    resp.body = NULL;
    rc = 0;
fail:
    onvif_http_response_clear(&resp);
    free(envelope);
    free(authz);
    return rc;
}
