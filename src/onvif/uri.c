/*
 * Rewriting of the stream, snapshot and service URIs that cameras send.
 *
 * Cameras behind NAT, fresh from the factory or with a second network
 * interface often announce an address the VMS cannot reach: 0.0.0.0,
 * 127.0.0.1, or the private address of another interface. The address
 * that reached the camera is known to work, so it replaces those hosts.
 */
#include "onvif/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum onvif_host_class {
    ONVIF_HOST_NAME,        /* a DNS name we cannot judge */
    ONVIF_HOST_UNUSABLE,    /* unspecified or loopback */
    ONVIF_HOST_PRIVATE,     /* RFC 1918, RFC 6598, link-local, ULA */
    ONVIF_HOST_PUBLIC,
} onvif_host_class_t;

/* Classifies a host written without brackets. */
static onvif_host_class_t onvif_host_classify(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(host, "localhost") == 0 ||
        strncasecmp(host, "localhost.", 10) == 0)
        return ONVIF_HOST_UNUSABLE;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        uint32_t v = ntohl(a4.s_addr);

        if ((v >> 24) == 0 || (v >> 24) == 127)
            return ONVIF_HOST_UNUSABLE;
        if ((v >> 24) == 10 || (v >> 20) == (172u << 4 | 1) ||
            (v >> 16) == (192u << 8 | 168) || (v >> 16) == (169u << 8 | 254)
            || (v >> 22) == (100u << 2 | 1))
            return ONVIF_HOST_PRIVATE;
        return ONVIF_HOST_PUBLIC;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_UNSPECIFIED(&a6) || IN6_IS_ADDR_LOOPBACK(&a6))
            return ONVIF_HOST_UNUSABLE;
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            char v4[INET_ADDRSTRLEN];

            inet_ntop(AF_INET, &a6.s6_addr[12], v4, sizeof(v4));
            return onvif_host_classify(v4);
        }
        if (IN6_IS_ADDR_LINKLOCAL(&a6) || (a6.s6_addr[0] & 0xfe) == 0xfc)
            return ONVIF_HOST_PRIVATE;
        return ONVIF_HOST_PUBLIC;
    }
    return ONVIF_HOST_NAME;
}

/* Tells whether host is an IPv4 or IPv6 literal. */
static bool onvif_host_is_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

/* Compares two literal addresses by value ("::ffff:1.2.3.4" stays apart
 * from "1.2.3.4"; cameras do not mix them). */
static bool onvif_host_equal(const char *a, const char *b)
{
    unsigned char x[sizeof(struct in6_addr)], y[sizeof(struct in6_addr)];

    if (inet_pton(AF_INET, a, x) == 1 && inet_pton(AF_INET, b, y) == 1)
        return memcmp(x, y, 4) == 0;
    if (inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1)
        return memcmp(x, y, 16) == 0;
    return strcasecmp(a, b) == 0;
}

int onvif_uri_rewrite(const char *uri, const char *camera_host, char **out,
                      bool *rewritten, onvif_err_t *err)
{
    const char *auth, *host, *host_end, *rest, *at, *scheme_end;
    char hostbuf[256];
    size_t hlen;
    onvif_host_class_t cls;
    bool replace;
    int n;

    *out = NULL;
    *rewritten = false;
    if (uri == NULL || camera_host == NULL)
        return onvif_fail(err, -EINVAL, "URI rewrite: missing URI or "
                          "camera host");
    scheme_end = strstr(uri, "://");
    if (scheme_end == NULL || scheme_end == uri)
        return onvif_fail(err, -EINVAL, "invalid URI '%s': expected "
                          "scheme://host/...", uri);
    auth = scheme_end + 3;
    rest = auth + strcspn(auth, "/?#");
    at = memchr(auth, '@', (size_t)(rest - auth));
    host = at != NULL ? at + 1 : auth;

    /* Locate the host, with or without IPv6 brackets. */
    if (*host == '[') {
        host_end = memchr(host, ']', (size_t)(rest - host));
        if (host_end == NULL)
            return onvif_fail(err, -EINVAL, "invalid URI '%s': unclosed "
                              "'['", uri);
        hlen = (size_t)(host_end - host - 1);
        memcpy(hostbuf, host + 1, hlen < sizeof(hostbuf) ? hlen : 0);
        host_end++;
    } else {
        host_end = memchr(host, ':', (size_t)(rest - host));
        if (host_end == NULL)
            host_end = rest;
        hlen = (size_t)(host_end - host);
        memcpy(hostbuf, host, hlen < sizeof(hostbuf) ? hlen : 0);
    }
    if (hlen >= sizeof(hostbuf))
        return onvif_fail(err, -EINVAL, "invalid URI '%s': host too long",
                          uri);
    hostbuf[hlen] = '\0';

    cls = hlen == 0 ? ONVIF_HOST_UNUSABLE : onvif_host_classify(hostbuf);
    replace = !onvif_host_equal(hostbuf, camera_host) &&
              (cls == ONVIF_HOST_UNUSABLE ||
              (cls == ONVIF_HOST_PRIVATE &&
               onvif_host_is_literal(camera_host)));
    if (!replace) {
        *out = strdup(uri);
        return *out != NULL ? 0 : onvif_fail(err, -ENOMEM, "out of memory");
    }

    n = asprintf(out, "%.*s%s%s%s%s", (int)(host - uri), uri,
                 strchr(camera_host, ':') ? "[" : "", camera_host,
                 strchr(camera_host, ':') ? "]" : "", host_end);
    if (n < 0) {
        *out = NULL;
        return onvif_fail(err, -ENOMEM, "out of memory");
    }
    *rewritten = true;
    return 0;
}
