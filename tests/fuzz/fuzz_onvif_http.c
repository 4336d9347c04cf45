/*
 * libFuzzer target: the HTTP response parser of the ONVIF client. The
 * input is parsed whole, with and without end of stream, and then cut
 * at every eighth length. The Digest challenge it keeps and the URL
 * parser on the input's first line are fuzzed as well.
 *
 * fuzz-sources: src/onvif/xml.c src/onvif/http.c
 * fuzz-packages: libxml-2.0 openssl
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onvif/internal.h"

/* Parses buf[0..len) and checks the result's invariants. */
static void fuzz_onvif_http_once(const char *buf, size_t len, bool eof)
{
    onvif_http_response_t resp;
    onvif_err_t err;
    char *authz = NULL;
    int rc;

    err.msg[0] = '\0';
    rc = onvif_http_response_parse(buf, len, eof, &resp, &err);
    if (rc == -EAGAIN && eof)
        abort(); /* at end of stream a response is complete or bad */
    if (rc < 0 && rc != -EAGAIN && rc != -EBADMSG && rc != -ENOMEM)
        abort();
    if (rc == -EBADMSG && err.msg[0] == '\0')
        abort();
    if (rc != 0)
        return;
    if (resp.status < 100 || resp.status > 599 || resp.body == NULL ||
        resp.body[resp.body_len] != '\0' || resp.body_len > len)
        abort();
    if (resp.www_authenticate != NULL) {
        rc = onvif_http_digest(resp.www_authenticate, "POST", "/onvif",
                               "admin", "pw", &authz, &err);
        if (rc == 0 && (authz == NULL || strncmp(authz, "Digest ", 7)))
            abort();
        free(authz);
    }
    onvif_http_response_clear(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data, *nl;
    char line[512];
    onvif_url_t url;
    onvif_err_t err;
    size_t cut, n;

    fuzz_onvif_http_once(buf, size, false);
    fuzz_onvif_http_once(buf, size, true);
    for (cut = 0; cut < size; cut += 8)
        fuzz_onvif_http_once(buf, cut, false);

    /* data is not NUL-terminated: look for the line end by length. */
    nl = memchr(buf, '\n', size);
    n = nl != NULL ? (size_t)(nl - buf) : size;
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    memcpy(line, buf, n);
    line[n] = '\0';
    if (onvif_url_parse(line, &url, &err) == 0 &&
        (url.port < 1 || url.port > 65535 || url.path[0] != '/'))
        abort();
    return 0;
}
