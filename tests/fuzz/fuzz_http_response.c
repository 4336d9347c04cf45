/*
 * libFuzzer target: vmsctl_http_response_parse(), the parser of every
 * response that vmsctl reads from the daemon. Besides memory errors it
 * checks what vmsctl's reader relies on, because the reader reruns the
 * parser after each read:
 *  - a parsed response has a status of 200 to 599 and a NUL-terminated
 *    body within VMSCTL_HTTP_BODY_MAX;
 *  - a response that is complete before the end of the data parses the
 *    same with the end of the data;
 *  - no prefix of such a response is rejected as malformed or parses to
 *    a different response, so reading in pieces gives the same result.
 * The input is also parsed as a --url value by vmsctl_url_parse(),
 * which must accept only hosts, ports and path prefixes that are safe
 * to write into a request line and Host header.
 *
 * fuzz-sources: src/vmsctl/http_parse.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/http.h"

/* Returns whether a and b are the same response. */
static int fuzz_same(const vmsctl_http_response_t *a,
                     const vmsctl_http_response_t *b)
{
    return a->status == b->status && a->body_len == b->body_len &&
           memcmp(a->body, b->body, a->body_len) == 0 &&
           strcmp(a->reason, b->reason) == 0 &&
           strcmp(a->content_type, b->content_type) == 0;
}

/* Checks the invariants of a successfully parsed response. */
static void fuzz_check_parsed(const vmsctl_http_response_t *resp)
{
    if (resp->status < 200 || resp->status > 599 || !resp->body ||
        resp->body_len > VMSCTL_HTTP_BODY_MAX ||
        resp->body[resp->body_len] != '\0')
        abort();
}

/* Checks that the prefixes of a response that parsed complete at len
 * bytes either need more data or parse to the same response. */
static void fuzz_check_prefixes(const char *data, size_t len,
                                const vmsctl_http_response_t *whole)
{
    size_t step = len <= 512 ? 1 : 61;
    char err[256];

    for (size_t n = 0; n < len; n += step) {
        vmsctl_http_response_t part;
        int rc =
            vmsctl_http_response_parse(data, n, 0, &part, err, sizeof(err));

        if (rc == -EAGAIN)
            continue;
        if (rc != 0 || !fuzz_same(&part, whole))
            abort();
        vmsctl_http_response_clear(&part);
    }
}

/* Parses text as a base URL and checks what an accepted one contains. */
static void fuzz_check_url(const uint8_t *data, size_t size)
{
    char text[2048];
    char err[256];
    vmsctl_url_t url;
    long port;

    if (size >= sizeof(text))
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    if (vmsctl_url_parse(text, &url, err, sizeof(err)) != 0)
        return;
    if (!url.host[0] || strpbrk(url.host, " \t\r\n/?#@[]"))
        abort();
    port = strtol(url.port, NULL, 10);
    if (port < 1 || port > 65535)
        abort();
    for (const char *p = url.prefix; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
            *p == '?' || *p == '#')
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    vmsctl_http_response_t open_resp;
    vmsctl_http_response_t closed_resp;
    char err[256];
    int open_rc =
        vmsctl_http_response_parse(text, size, 0, &open_resp, err, sizeof(err));
    int closed_rc = vmsctl_http_response_parse(text, size, 1, &closed_resp, err,
                                               sizeof(err));

    if (open_rc != 0 && open_rc != -EAGAIN && open_rc != -EBADMSG &&
        open_rc != -EMSGSIZE)
        abort();
    if (closed_rc != 0 && closed_rc != -EBADMSG && closed_rc != -EMSGSIZE)
        abort();
    if (closed_rc == 0)
        fuzz_check_parsed(&closed_resp);
    if (open_rc == 0) {
        fuzz_check_parsed(&open_resp);
        if (closed_rc != 0 || !fuzz_same(&open_resp, &closed_resp))
            abort();
        fuzz_check_prefixes(text, size, &open_resp);
    }
    vmsctl_http_response_clear(&open_resp);
    vmsctl_http_response_clear(&closed_resp);
    fuzz_check_url(data, size);
    return 0;
}
