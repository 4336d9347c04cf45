/*
 * HTTP/1.1 response and base URL parsing for vmsctl.
 *
 * The response parser works on the whole buffer received so far and is
 * rerun after each read, so it keeps no state between calls. It copies
 * the body only once the response is complete.
 */
#include "vmsctl/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmsctl/http_internal.h"

/* Maximum length of a chunk-size line or trailer field. */
#define HTTP_CHUNK_LINE_MAX 1024
/* The framing of a response, taken from its status line and header. */
typedef struct http_head {
    size_t body_start; /* offset of the first body byte */
    int chunked;
    int has_length;
    size_t length; /* Content-Length, when has_length is set */
} http_head_t;

int vmsctl_http_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Writes up to 48 bytes of s into out with non-printable bytes as \xHH,
 * so that server data can appear in messages. */
static void http_escape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    size_t i;

    for (i = 0; i < n && i < 48 && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
    }
    if (i < n && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Copies a header value into dst, replacing control characters. */
static void http_copy_text(const char *s, size_t n, char *dst, size_t cap)
{
    size_t i;

    for (i = 0; i < n && i + 1 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];

        dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    dst[i] = '\0';
}

static int http_is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int http_hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Returns whether ch may appear in a header field name (RFC 9110
 * "tchar"). */
static int http_is_tchar(char ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
        (ch >= 'A' && ch <= 'Z'))
        return 1;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int http_name_equals(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/*
 * Finds the line starting at pos that must end before limit. Stores its
 * start and length without the line ending (LF or CRLF) and the offset
 * after it. Returns 0, or -EAGAIN when no line end arrived yet, or
 * -EMSGSIZE when the line would pass limit.
 */
static int http_next_line(const char *data, size_t len, size_t pos,
                          size_t limit, const char **line, size_t *line_len,
                          size_t *next)
{
    size_t end = len < limit ? len : limit;
    const char *nl;

    if (pos >= end)
        return len >= limit ? -EMSGSIZE : -EAGAIN;
    nl = memchr(data + pos, '\n', end - pos);
    if (!nl)
        return len >= limit ? -EMSGSIZE : -EAGAIN;
    *line = data + pos;
    *line_len = (size_t)(nl - *line);
    if (*line_len > 0 && (*line)[*line_len - 1] == '\r')
        (*line_len)--;
    *next = (size_t)(nl - data) + 1;
    return 0;
}

/* Parses "HTTP/1.x SSS reason" into resp. */
static int http_parse_status_line(const char *line, size_t n,
                                  vmsctl_http_response_t *resp, char *err,
                                  size_t errlen)
{
    char shown[256];

    if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || !http_is_digit(line[7]) ||
        line[8] != ' ' || !http_is_digit(line[9]) || !http_is_digit(line[10]) ||
        !http_is_digit(line[11]) || (n > 12 && line[12] != ' ')) {
        http_escape(line, n, shown, sizeof(shown));
        return vmsctl_http_fail(err, errlen, -EBADMSG,
                                "malformed HTTP status line \"%s\": expected "
                                "\"HTTP/1.1 200 OK\"",
                                shown);
    }
    resp->status =
        (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (resp->status < 100 || resp->status > 599) {
        http_escape(line, n, shown, sizeof(shown));
        return vmsctl_http_fail(
            err, errlen, -EBADMSG,
            "invalid HTTP status code in \"%s\": expected 100 "
            "to 599",
            shown);
    }
    if (n > 13)
        http_copy_text(line + 13, n - 13, resp->reason, sizeof(resp->reason));
    else
        resp->reason[0] = '\0';
    return 0;
}

/* Parses a Content-Length value. A repeated field must agree. */
static int http_parse_length(const char *value, size_t n, http_head_t *head,
                             char *err, size_t errlen)
{
    char shown[256];
    size_t length = 0;

    if (n == 0)
        return vmsctl_http_fail(err, errlen, -EBADMSG,
                                "empty Content-Length header");
    for (size_t i = 0; i < n; i++) {
        if (!http_is_digit(value[i])) {
            http_escape(value, n, shown, sizeof(shown));
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "invalid Content-Length \"%s\": expected a "
                                    "decimal number",
                                    shown);
        }
        length = length * 10 + (size_t)(value[i] - '0');
        if (length > VMSCTL_HTTP_BODY_MAX) {
            http_escape(value, n, shown, sizeof(shown));
            return vmsctl_http_fail(err, errlen, -EMSGSIZE,
                                    "Content-Length %s exceeds the limit of %d "
                                    "bytes",
                                    shown, VMSCTL_HTTP_BODY_MAX);
        }
    }
    if (head->has_length && head->length != length)
        return vmsctl_http_fail(
            err, errlen, -EBADMSG,
            "conflicting Content-Length headers %zu and %zu", head->length,
            length);
    head->has_length = 1;
    head->length = length;
    return 0;
}

/* Parses one "name: value" header line into resp and head. */
static int http_parse_field(const char *line, size_t n,
                            vmsctl_http_response_t *resp, http_head_t *head,
                            int *saw_transfer_encoding, char *err,
                            size_t errlen)
{
    const char *colon = memchr(line, ':', n);
    const char *value;
    size_t name_len;
    size_t value_len;
    char shown[256];

    if (line[0] == ' ' || line[0] == '\t')
        return vmsctl_http_fail(err, errlen, -EBADMSG,
                                "obsolete folded header line in the response");
    if (!colon || colon == line) {
        http_escape(line, n, shown, sizeof(shown));
        return vmsctl_http_fail(err, errlen, -EBADMSG,
                                "malformed header line \"%s\": expected "
                                "\"Name: value\"",
                                shown);
    }
    name_len = (size_t)(colon - line);
    for (size_t i = 0; i < name_len; i++) {
        if (!http_is_tchar(line[i])) {
            http_escape(line, name_len, shown, sizeof(shown));
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "invalid header name \"%s\"", shown);
        }
    }
    value = colon + 1;
    value_len = n - name_len - 1;
    while (value_len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        value_len--;
    }
    while (value_len > 0 &&
           (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        value_len--;
    for (size_t i = 0; i < value_len; i++) {
        unsigned char ch = (unsigned char)value[i];

        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            http_escape(line, name_len, shown, sizeof(shown));
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "control character 0x%02x in the value of "
                                    "header \"%s\"",
                                    ch, shown);
        }
    }

    if (http_name_equals(line, name_len, "Content-Length"))
        return http_parse_length(value, value_len, head, err, errlen);
    if (http_name_equals(line, name_len, "Transfer-Encoding")) {
        if (*saw_transfer_encoding)
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "repeated Transfer-Encoding header");
        *saw_transfer_encoding = 1;
        if (!http_name_equals(value, value_len, "chunked")) {
            http_escape(value, value_len, shown, sizeof(shown));
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "unsupported Transfer-Encoding \"%s\": "
                                    "expected chunked",
                                    shown);
        }
        head->chunked = 1;
        return 0;
    }
    if (http_name_equals(line, name_len, "Content-Type"))
        http_copy_text(value, value_len, resp->content_type,
                       sizeof(resp->content_type));
    return 0;
}

/*
 * Parses the status line and header fields of the response that starts
 * at start. On success fills resp (no body yet) and head.
 */
static int http_parse_head(const char *data, size_t len, size_t start, int eof,
                           vmsctl_http_response_t *resp, http_head_t *head,
                           char *err, size_t errlen)
{
    const char *line;
    size_t line_len;
    size_t pos = start;
    int saw_transfer_encoding = 0;
    int fields = 0;
    int rc;

    memset(head, 0, sizeof(*head));
    resp->content_type[0] = '\0';
    for (int first = 1;; first = 0) {
        rc = http_next_line(data, len, pos, VMSCTL_HTTP_HEADER_MAX, &line,
                            &line_len, &pos);
        if (rc == -EMSGSIZE)
            return vmsctl_http_fail(err, errlen, rc,
                                    "response header exceeds the limit of %d "
                                    "bytes",
                                    VMSCTL_HTTP_HEADER_MAX);
        if (rc == -EAGAIN && eof && len == 0)
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "the server closed the connection without "
                                    "a response");
        if (rc == -EAGAIN && eof)
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "the server closed the connection in the "
                                    "middle of the response header");
        if (rc < 0)
            return rc;
        if (first) {
            rc = http_parse_status_line(line, line_len, resp, err, errlen);
            if (rc < 0)
                return rc;
            continue;
        }
        if (line_len == 0)
            break;
        if (++fields > VMSCTL_HTTP_FIELDS_MAX)
            return vmsctl_http_fail(err, errlen, -EMSGSIZE,
                                    "response has more than %d header fields",
                                    VMSCTL_HTTP_FIELDS_MAX);
        rc = http_parse_field(line, line_len, resp, head,
                              &saw_transfer_encoding, err, errlen);
        if (rc < 0)
            return rc;
    }
    head->body_start = pos;
    return 0;
}

/* Returns -EAGAIN, or at the end of the data an error for a truncated
 * chunked body. */
static int http_chunk_incomplete(int eof, char *err, size_t errlen)
{
    if (!eof)
        return -EAGAIN;
    return vmsctl_http_fail(err, errlen, -EBADMSG,
                            "the server closed the connection in the middle of "
                            "a chunked body");
}

/* Parses "SIZE[;extensions]" into *size. */
static int http_parse_chunk_size(const char *line, size_t n, size_t *size,
                                 char *err, size_t errlen)
{
    char shown[256];
    size_t i = 0;
    size_t value = 0;

    for (; i < n && http_hex_value(line[i]) >= 0; i++) {
        if (value > VMSCTL_HTTP_BODY_MAX / 16)
            return vmsctl_http_fail(err, errlen, -EMSGSIZE,
                                    "chunk size exceeds the body limit of %d "
                                    "bytes",
                                    VMSCTL_HTTP_BODY_MAX);
        value = value * 16 + (size_t)http_hex_value(line[i]);
    }
    while (i > 0 && i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == 0 || (i < n && line[i] != ';')) {
        http_escape(line, n, shown, sizeof(shown));
        return vmsctl_http_fail(err, errlen, -EBADMSG,
                                "invalid chunk size line \"%s\": expected "
                                "hexadecimal digits",
                                shown);
    }
    *size = value;
    return 0;
}

/*
 * Decodes the chunked body in the n bytes at p. Stores its decoded
 * length in *out_len, and the data into out unless out is NULL.
 */
static int http_dechunk(const char *p, size_t n, int eof, char *out,
                        size_t *out_len, char *err, size_t errlen)
{
    const char *line;
    size_t line_len;
    size_t pos = 0;
    size_t total = 0;
    size_t size = 0;
    int rc;

    for (;;) {
        rc = http_next_line(p, n, pos, pos + HTTP_CHUNK_LINE_MAX, &line,
                            &line_len, &pos);
        if (rc == -EMSGSIZE)
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "chunk size line longer than %d bytes",
                                    HTTP_CHUNK_LINE_MAX);
        if (rc < 0)
            return http_chunk_incomplete(eof, err, errlen);
        rc = http_parse_chunk_size(line, line_len, &size, err, errlen);
        if (rc < 0)
            return rc;
        if (size == 0)
            break;
        if (size > VMSCTL_HTTP_BODY_MAX - total)
            return vmsctl_http_fail(
                err, errlen, -EMSGSIZE,
                "chunked body exceeds the limit of %d bytes",
                VMSCTL_HTTP_BODY_MAX);
        if (n - pos < size + 1)
            return http_chunk_incomplete(eof, err, errlen);
        if (out)
            memcpy(out + total, p + pos, size);
        total += size;
        pos += size;
        if (p[pos] == '\r') {
            if (n - pos < 2)
                return http_chunk_incomplete(eof, err, errlen);
            pos++;
        }
        if (p[pos] != '\n')
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "chunk data is not followed by CRLF");
        pos++;
    }

    /* Trailer fields end with an empty line; their content is unused. */
    for (int fields = 0;; fields++) {
        if (fields > VMSCTL_HTTP_FIELDS_MAX)
            return vmsctl_http_fail(
                err, errlen, -EMSGSIZE,
                "chunked body has more than %d trailer fields",
                VMSCTL_HTTP_FIELDS_MAX);
        rc = http_next_line(p, n, pos, pos + HTTP_CHUNK_LINE_MAX, &line,
                            &line_len, &pos);
        if (rc == -EMSGSIZE)
            return vmsctl_http_fail(err, errlen, -EBADMSG,
                                    "trailer field longer than %d bytes",
                                    HTTP_CHUNK_LINE_MAX);
        if (rc < 0)
            return http_chunk_incomplete(eof, err, errlen);
        if (line_len == 0)
            break;
    }
    *out_len = total;
    return 0;
}

/* Allocates resp->body as a NUL-terminated copy of n bytes at src, or
 * decodes the chunked body at src when chunked is set. */
static int http_take_body(const char *src, size_t n, int chunked,
                          size_t decoded_len, vmsctl_http_response_t *resp,
                          char *err, size_t errlen)
{
    size_t body_len = chunked ? decoded_len : n;

    resp->body = malloc(body_len + 1);
    if (!resp->body)
        return vmsctl_http_fail(err, errlen, -ENOMEM,
                                "out of memory for a %zu byte response body",
                                body_len);
    if (chunked)
        http_dechunk(src, n, 1, resp->body, &body_len, NULL, 0);
    else
        memcpy(resp->body, src, n);
    resp->body[body_len] = '\0';
    resp->body_len = body_len;
    return 0;
}

int vmsctl_http_response_parse(const char *data, size_t len, int eof,
                               vmsctl_http_response_t *resp, char *err,
                               size_t errlen)
{
    http_head_t head;
    size_t start = 0;
    size_t avail;
    size_t decoded = 0;
    int rc;

    memset(resp, 0, sizeof(*resp));
    for (;;) {
        rc = http_parse_head(data, len, start, eof, resp, &head, err, errlen);
        if (rc < 0)
            goto fail;
        if (resp->status >= 200)
            break;
        if (resp->status == 101) {
            rc =
                vmsctl_http_fail(err, errlen, -EBADMSG,
                                 "unexpected 101 Switching Protocols response");
            goto fail;
        }
        start = head.body_start; /* an interim 1xx response has no body */
    }

    avail = len - head.body_start;
    if (resp->status == 204 || resp->status == 304)
        return http_take_body(data, 0, 0, 0, resp, err, errlen);
    if (head.chunked) {
        rc = http_dechunk(data + head.body_start, avail, eof, NULL, &decoded,
                          err, errlen);
        if (rc < 0)
            goto fail;
        return http_take_body(data + head.body_start, avail, 1, decoded, resp,
                              err, errlen);
    }
    if (head.has_length) {
        if (avail < head.length) {
            rc =
                eof ? vmsctl_http_fail(err, errlen, -EBADMSG,
                                       "the server closed the connection after "
                                       "%zu of %zu body bytes",
                                       avail, head.length)
                    : -EAGAIN;
            goto fail;
        }
        return http_take_body(data + head.body_start, head.length, 0, 0, resp,
                              err, errlen);
    }
    if (avail > VMSCTL_HTTP_BODY_MAX) {
        rc = vmsctl_http_fail(err, errlen, -EMSGSIZE,
                              "response body exceeds the limit of %d bytes",
                              VMSCTL_HTTP_BODY_MAX);
        goto fail;
    }
    if (!eof) {
        rc = -EAGAIN; /* the body ends when the server closes */
        goto fail;
    }
    return http_take_body(data + head.body_start, avail, 0, 0, resp, err,
                          errlen);

fail:
    memset(resp, 0, sizeof(*resp));
    return rc;
}

void vmsctl_http_response_clear(vmsctl_http_response_t *resp)
{
    if (!resp)
        return;
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

/* Validates the characters of an IPv6 literal or a host name. */
static int http_host_is_valid(const char *host, int ipv6)
{
    if (!*host)
        return 0;
    for (const char *p = host; *p; p++) {
        char ch = *p;

        if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
            (ch >= 'A' && ch <= 'Z') || ch == '.')
            continue;
        if (!ipv6 && (ch == '-' || ch == '_'))
            continue;
        if (ipv6 && ch == ':')
            continue;
        return 0;
    }
    return 1;
}

/* Parses the port digits in [p, end) into url->port. */
static int http_parse_port(const char *p, const char *end, vmsctl_url_t *url)
{
    long port = 0;

    if (p == end || end - p > 5)
        return -EINVAL;
    for (const char *q = p; q < end; q++) {
        if (!http_is_digit(*q))
            return -EINVAL;
        port = port * 10 + (*q - '0');
    }
    if (port < 1 || port > 65535)
        return -EINVAL;
    snprintf(url->port, sizeof(url->port), "%ld", port);
    return 0;
}

/* Stores the path after the authority in url->prefix without trailing
 * slashes. */
static int http_parse_prefix(const char *path, vmsctl_url_t *url)
{
    size_t n = strlen(path);

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)path[i];

        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#')
            return -EINVAL;
    }
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n >= sizeof(url->prefix))
        return -EINVAL;
    memcpy(url->prefix, path, n);
    url->prefix[n] = '\0';
    return 0;
}

int vmsctl_url_parse(const char *text, vmsctl_url_t *url, char *err,
                     size_t errlen)
{
    static const char usage[] =
        "expected http://HOST[:PORT][/PREFIX] or "
        "https://HOST[:PORT][/PREFIX], for example http://127.0.0.1:8080";
    const char *authority;
    const char *host_end;
    const char *port_start = NULL;
    const char *end;
    size_t host_len;

    memset(url, 0, sizeof(*url));
    if (!text || strlen(text) >= sizeof(url->text))
        return vmsctl_http_fail(err, errlen, -EINVAL,
                                "invalid URL: %s, at most %zu characters",
                                usage, sizeof(url->text) - 1);
    snprintf(url->text, sizeof(url->text), "%s", text);
    if (strncasecmp(text, "https://", 8) == 0)
        url->tls = 1;
    else if (strncasecmp(text, "http://", 7) != 0)
        return vmsctl_http_fail(err, errlen, -EINVAL, "invalid URL '%s': %s",
                                text, usage);
    authority = text + (url->tls ? 8 : 7);
    end = authority + strcspn(authority, "/?#");
    if (*end == '?' || *end == '#' ||
        memchr(authority, '@', (size_t)(end - authority)))
        return vmsctl_http_fail(err, errlen, -EINVAL,
                                "invalid URL '%s': %s, without user, query or "
                                "fragment",
                                text, usage);
    if (*authority == '[') {
        url->ipv6 = 1;
        host_end = memchr(authority, ']', (size_t)(end - authority));
        if (!host_end)
            return vmsctl_http_fail(
                err, errlen, -EINVAL,
                "invalid URL '%s': missing ']' after the IPv6 "
                "address",
                text);
        authority++;
        if (host_end + 1 < end) {
            if (host_end[1] != ':')
                return vmsctl_http_fail(err, errlen, -EINVAL,
                                        "invalid URL '%s': %s", text, usage);
            port_start = host_end + 2;
        }
    } else {
        host_end = memchr(authority, ':', (size_t)(end - authority));
        if (host_end)
            port_start = host_end + 1;
        else
            host_end = end;
    }
    host_len = (size_t)(host_end - authority);
    if (host_len == 0 || host_len >= sizeof(url->host))
        return vmsctl_http_fail(
            err, errlen, -EINVAL,
            "invalid URL '%s': missing or too long host; %s", text, usage);
    memcpy(url->host, authority, host_len);
    url->host[host_len] = '\0';
    if (!http_host_is_valid(url->host, url->ipv6))
        return vmsctl_http_fail(
            err, errlen, -EINVAL,
            "invalid host '%s' in URL '%s': expected a host "
            "name or an IP address",
            url->host, text);
    if (port_start) {
        if (http_parse_port(port_start, end, url) < 0)
            return vmsctl_http_fail(err, errlen, -EINVAL,
                                    "invalid port in URL '%s': expected 1 to "
                                    "65535",
                                    text);
    } else {
        snprintf(url->port, sizeof(url->port), url->tls ? "443" : "80");
    }
    if (http_parse_prefix(end, url) < 0)
        return vmsctl_http_fail(err, errlen, -EINVAL,
                                "invalid path in URL '%s': expected printable "
                                "characters without spaces",
                                text);
    return 0;
}
