/*
 * WS-Discovery (2005/04, the version ONVIF uses): Probe, ProbeMatches,
 * Hello and Bye on UDP port 3702, group 239.255.255.250 (IPv4) and
 * ff02::c (IPv6, link scope).
 *
 * Probes go out only on the interfaces the caller names, so the library
 * never sends multicast on a network that the administrator did not pick.
 * Two Probes are sent per interface, one per type
 * (dn:NetworkVideoTransmitter, tds:Device), because a Probe listing both
 * types matches only devices that declare both, and many cameras declare
 * one. Each Probe is sent twice, as UDP may drop one.
 */
#include "onvif/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#define ONVIF_WSD_GROUP "239.255.255.250"
#define ONVIF_WSD_GROUP6 "ff02::c"
#define ONVIF_WSD_PORT 3702
#define ONVIF_WSD_MAX_DEVICES 1024
#define ONVIF_WSD_MAX_SOCKETS 32

/* ---- Parsing --------------------------------------------------------- */

/* Frees the strings of one entry and zeroes it. */
static void onvif_discovered_clear(onvif_discovered_t *dev)
{
    size_t j;

    free(dev->endpoint);
    for (j = 0; j < dev->xaddr_count; j++)
        free(dev->xaddrs[j]);
    free(dev->xaddrs);
    free(dev->name);
    free(dev->hardware);
    free(dev->location);
    free(dev->types);
    free(dev->scopes);
    memset(dev, 0, sizeof(*dev));
}

void onvif_discovered_free(onvif_discovered_t *devs, size_t count)
{
    size_t i;

    if (devs == NULL)
        return;
    for (i = 0; i < count; i++)
        onvif_discovered_clear(&devs[i]);
    free(devs);
}

/* Duplicates s into *dst; NULL stays NULL. Returns false when out of
 * memory. */
static bool onvif_dup(char **dst, const char *s)
{
    *dst = s != NULL ? strdup(s) : NULL;
    return s == NULL || *dst != NULL;
}

int onvif_discovered_copy(const onvif_discovered_t *src,
                          onvif_discovered_t **out, onvif_err_t *err)
{
    onvif_discovered_t *d = calloc(1, sizeof(*d));
    bool ok = d != NULL;
    size_t i;

    *out = NULL;
    if (ok && src->xaddr_count > 0) {
        d->xaddrs = calloc(src->xaddr_count, sizeof(*d->xaddrs));
        ok = d->xaddrs != NULL;
    }
    for (i = 0; ok && i < src->xaddr_count; i++) {
        ok = onvif_dup(&d->xaddrs[i], src->xaddrs[i]);
        d->xaddr_count = i + 1;
        if (src->xaddr == src->xaddrs[i])
            d->xaddr = d->xaddrs[i];
    }
    ok = ok && onvif_dup(&d->endpoint, src->endpoint) &&
         onvif_dup(&d->name, src->name) &&
         onvif_dup(&d->hardware, src->hardware) &&
         onvif_dup(&d->location, src->location) &&
         onvif_dup(&d->types, src->types) &&
         onvif_dup(&d->scopes, src->scopes);
    if (!ok) {
        onvif_discovered_free(d, d != NULL ? 1 : 0);
        return onvif_fail(err, -ENOMEM, "out of memory");
    }
    memcpy(d->from, src->from, sizeof(d->from));
    *out = d;
    return 0;
}

/* Ranks an XAddr: higher is better. Routable IPv4 4, names and
 * routable IPv6 3, link-local 1; https one less than http within its
 * class; garbage 0. */
static int onvif_xaddr_rank(const char *xaddr)
{
    onvif_url_t u;
    struct in_addr a4;
    struct in6_addr a6;
    int rank;

    if (onvif_url_parse(xaddr, &u, NULL) < 0)
        return 0;
    if (inet_pton(AF_INET, u.host, &a4) == 1)
        rank = (ntohl(a4.s_addr) >> 16) == (169u << 8 | 254) ? 2 : 8;
    else if (inet_pton(AF_INET6, u.host, &a6) == 1)
        rank = IN6_IS_ADDR_LINKLOCAL(&a6) ? 2 : 6;
    else
        rank = 6;
    return u.tls ? rank - 1 : rank;
}

/* Sets dev->xaddr to the best of dev->xaddrs. */
static void onvif_xaddr_choose(onvif_discovered_t *dev)
{
    int best = 0;
    size_t i;

    dev->xaddr = NULL;
    for (i = 0; i < dev->xaddr_count; i++) {
        int r = onvif_xaddr_rank(dev->xaddrs[i]);

        if (r > best) {
            best = r;
            dev->xaddr = dev->xaddrs[i];
        }
    }
}

/* Adds each white-space separated XAddr of text that dev lacks. */
static int onvif_xaddrs_merge(onvif_discovered_t *dev, const char *text)
{
    const char *p = text;

    while (p != NULL && *p != '\0') {
        size_t n, i;
        char *x, **grown;
        bool dup = false;

        while (isspace((unsigned char)*p))
            p++;
        n = strcspn(p, " \t\r\n");
        if (n == 0)
            break;
        for (i = 0; i < dev->xaddr_count && !dup; i++)
            dup = strlen(dev->xaddrs[i]) == n &&
                  strncmp(dev->xaddrs[i], p, n) == 0;
        if (!dup && dev->xaddr_count < 16) {
            x = strndup(p, n);
            grown = realloc(dev->xaddrs,
                            (dev->xaddr_count + 1) * sizeof(*grown));
            if (x == NULL || grown == NULL) {
                free(x);
                if (grown != NULL)
                    dev->xaddrs = grown;
                return -ENOMEM;
            }
            dev->xaddrs = grown;
            dev->xaddrs[dev->xaddr_count++] = x;
        }
        p += n;
    }
    onvif_xaddr_choose(dev);
    return 0;
}

/* Copies the value of the first scope onvif://www.onvif.org/<key>/...
 * (key matched without case, as vendors capitalise it), decoded. */
static char *onvif_scope_value(const char *scopes, const char *key)
{
    static const char prefix[] = "onvif://www.onvif.org/";
    const char *p = scopes;
    size_t klen = strlen(key);

    while (p != NULL && *p != '\0') {
        size_t n;

        while (isspace((unsigned char)*p))
            p++;
        n = strcspn(p, " \t\r\n");
        if (n > sizeof(prefix) - 1 + klen &&
            strncasecmp(p, prefix, sizeof(prefix) - 1) == 0 &&
            strncasecmp(p + sizeof(prefix) - 1, key, klen) == 0 &&
            p[sizeof(prefix) - 1 + klen] == '/') {
            size_t off = sizeof(prefix) + klen;
            char *v = strndup(p + off, n - off);

            if (v != NULL)
                onvif_percent_decode(v);
            return v;
        }
        p += n;
    }
    return NULL;
}

/* Reads one ProbeMatch, Hello or Bye element into dev. */
static int onvif_discovered_read(const xmlNode *el, onvif_discovered_t *dev)
{
    xmlNode *epr = onvif_xml_child(el, ONVIF_NS_WSA, "EndpointReference");
    char *xaddrs;
    int rc;

    memset(dev, 0, sizeof(*dev));
    dev->endpoint = onvif_xml_text(onvif_xml_child(epr, ONVIF_NS_WSA,
                                                   "Address"));
    if (dev->endpoint == NULL || dev->endpoint[0] == '\0')
        return -EPROTO;
    dev->types = onvif_xml_text(onvif_xml_child(el, ONVIF_NS_WSDD, "Types"));
    dev->scopes = onvif_xml_text(onvif_xml_child(el, ONVIF_NS_WSDD,
                                                 "Scopes"));
    if (dev->scopes != NULL) {
        dev->name = onvif_scope_value(dev->scopes, "name");
        dev->hardware = onvif_scope_value(dev->scopes, "hardware");
        dev->location = onvif_scope_value(dev->scopes, "location");
    }
    xaddrs = onvif_xml_text(onvif_xml_child(el, ONVIF_NS_WSDD, "XAddrs"));
    rc = onvif_xaddrs_merge(dev, xaddrs);
    free(xaddrs);
    return rc;
}

int onvif_parse_discovery(const char *xml, size_t len, int *kind,
                          onvif_discovered_t **out, size_t *count,
                          onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *first, *m;
    onvif_discovered_t *list = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    *count = 0;
    *kind = -1;
    rc = onvif_xml_read(xml, len, "WS-Discovery message", &doc, err);
    if (rc < 0)
        return rc;
    first = onvif_xml_body_first(doc);
    if (onvif_xml_is(first, ONVIF_NS_WSDD, "ProbeMatches")) {
        *kind = 0;
        m = onvif_xml_child(first, ONVIF_NS_WSDD, "ProbeMatch");
    } else if (onvif_xml_is(first, ONVIF_NS_WSDD, "Hello")) {
        *kind = 1;
        m = first;
    } else if (onvif_xml_is(first, ONVIF_NS_WSDD, "Bye")) {
        *kind = 2;
        m = first;
    } else {
        rc = onvif_fail(err, -EPROTO, "WS-Discovery message: expected "
                        "ProbeMatches, Hello or Bye, found '%s'",
                        first ? (const char *)first->name : "nothing");
        xmlFreeDoc(doc);
        return rc;
    }
    for (; m != NULL && n < 64;
         m = *kind == 0 ? onvif_xml_next(m, ONVIF_NS_WSDD, "ProbeMatch")
                        : NULL) {
        onvif_discovered_t *grown = realloc(list, (n + 1) * sizeof(*list));

        if (grown == NULL) {
            rc = onvif_fail(err, -ENOMEM, "out of memory");
            goto fail;
        }
        list = grown;
        rc = onvif_discovered_read(m, &list[n]);
        if (rc == -EPROTO) {
            /* A match without an endpoint cannot be de-duplicated. */
            onvif_discovered_clear(&list[n]);
        } else if (rc < 0) {
            onvif_discovered_clear(&list[n]);
            rc = onvif_fail(err, rc, "out of memory");
            goto fail;
        } else {
            n++;
        }
    }
    xmlFreeDoc(doc);
    if (n == 0) {
        free(list);
        return onvif_fail(err, -EPROTO, "WS-Discovery message: no match "
                          "with an EndpointReference Address");
    }
    *out = list;
    *count = n;
    return 0;
fail:
    xmlFreeDoc(doc);
    onvif_discovered_free(list, n);
    return rc;
}

/* ---- Sockets --------------------------------------------------------- */

/* An interface named by the caller. */
typedef struct onvif_iface {
    unsigned int index;
    bool has_v4;
    struct in_addr v4; /* its first IPv4 address when has_v4 */
} onvif_iface_t;

/* Finds an interface given by name, by one of its IPv4 addresses or by
 * one of its IPv6 addresses. */
static int onvif_iface_resolve(const char *spec, onvif_iface_t *out,
                               onvif_err_t *err)
{
    struct ifaddrs *list = NULL, *ifa;
    struct in_addr want4;
    struct in6_addr want6;
    bool by_v4 = inet_pton(AF_INET, spec, &want4) == 1;
    bool by_v6 = !by_v4 && inet_pton(AF_INET6, spec, &want6) == 1;
    const char *name = by_v4 || by_v6 ? NULL : spec;

    memset(out, 0, sizeof(*out));
    if (getifaddrs(&list) < 0)
        return onvif_fail(err, -errno, "cannot list interfaces: %s",
                          strerror(errno));

    /* First pass: turn an address into the interface name. */
    for (ifa = list; ifa != NULL && name == NULL; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr == NULL)
            continue;
        if (by_v4 && ifa->ifa_addr->sa_family == AF_INET &&
            ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr ==
                want4.s_addr)
            name = ifa->ifa_name;
        if (by_v6 && ifa->ifa_addr->sa_family == AF_INET6 &&
            memcmp(&((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr,
                   &want6, sizeof(want6)) == 0)
            name = ifa->ifa_name;
    }
    if (name != NULL)
        out->index = if_nametoindex(name);
    if (out->index == 0) {
        freeifaddrs(list);
        return onvif_fail(err, -ENODEV, "interface '%s' not found; give an "
                          "interface name or one of its addresses", spec);
    }

    /* Second pass: the IPv4 address to send from, the given one first. */
    if (by_v4) {
        out->has_v4 = true;
        out->v4 = want4;
    }
    for (ifa = list; ifa != NULL && !out->has_v4; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr != NULL && ifa->ifa_addr->sa_family == AF_INET &&
            strcmp(ifa->ifa_name, name) == 0) {
            out->has_v4 = true;
            out->v4 = ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
        }
    }
    freeifaddrs(list);
    return 0;
}

/* Opens a UDP socket bound to the interface's IPv4 address that sends
 * multicast out of that interface, one hop only. */
static int onvif_socket4(const onvif_iface_t *iface, int *out,
                         onvif_err_t *err)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = iface->v4};
    struct ip_mreqn mreq = {.imr_address = iface->v4,
                            .imr_ifindex = (int)iface->index};
    unsigned char ttl = 1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    char text[INET_ADDRSTRLEN];

    inet_ntop(AF_INET, &iface->v4, text, sizeof(text));
    if (fd < 0)
        return onvif_fail(err, -errno, "socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0) {
        int e = errno;

        close(fd);
        return onvif_fail(err, -e, "cannot prepare multicast on %s: %s",
                          text, strerror(e));
    }
    *out = fd;
    return 0;
}

/* Opens an IPv6 UDP socket that sends link-scope multicast out of the
 * interface, one hop only. */
static int onvif_socket6(const onvif_iface_t *iface, int *out,
                         onvif_err_t *err)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1, hops = 1;
    unsigned int index = iface->index;

    if (fd < 0)
        return onvif_fail(err, -errno, "IPv6 socket: %s", strerror(errno));
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index,
                   sizeof(index)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops,
                   sizeof(hops)) < 0) {
        int e = errno;

        close(fd);
        return onvif_fail(err, -e, "cannot prepare IPv6 multicast on "
                          "interface %u: %s", index, strerror(e));
    }
    *out = fd;
    return 0;
}

/* One socket of a probe and where its Probes go. */
typedef struct onvif_probe_socket {
    int fd;
    struct sockaddr_storage dest;
    socklen_t dest_len;
} onvif_probe_socket_t;

/* Sets dest to the IPv4 group, or the IPv6 group on interface index. */
static socklen_t onvif_group_address(struct sockaddr_storage *dest,
                                     bool v6, unsigned int index, int port)
{
    memset(dest, 0, sizeof(*dest));
    if (v6) {
        struct sockaddr_in6 *g6 = (struct sockaddr_in6 *)dest;

        g6->sin6_family = AF_INET6;
        g6->sin6_port = htons((uint16_t)port);
        g6->sin6_scope_id = index;
        inet_pton(AF_INET6, ONVIF_WSD_GROUP6, &g6->sin6_addr);
        return sizeof(*g6);
    }
    struct sockaddr_in *g4 = (struct sockaddr_in *)dest;

    g4->sin_family = AF_INET;
    g4->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ONVIF_WSD_GROUP, &g4->sin_addr);
    return sizeof(*g4);
}

/* Fills a random urn:uuid (version 4). */
static void onvif_uuid(char *out, size_t size)
{
    unsigned char b[16];

    if (RAND_bytes(b, sizeof(b)) != 1)
        memset(b, 0x5a, sizeof(b));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, size,
             "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Writes a Probe for one type into buf. */
static int onvif_probe_message(char *buf, size_t size, const char *type)
{
    char id[64];

    onvif_uuid(id, sizeof(id));
    return snprintf(
        buf, size,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\""
        " xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\""
        " xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\""
        " xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\""
        " xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\">"
        "<s:Header><a:MessageID>%s</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
        "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
        "</a:Action></s:Header><s:Body><d:Probe><d:Types>%s</d:Types>"
        "</d:Probe></s:Body></s:Envelope>",
        id, type);
}

/* Adds or merges the matches of one datagram into the result list. */
static int onvif_results_add(onvif_discovered_t **list, size_t *n,
                             onvif_discovered_t *found, size_t count,
                             const char *from)
{
    size_t i, j;

    for (i = 0; i < count; i++) {
        onvif_discovered_t *f = &found[i];

        for (j = 0; j < *n; j++)
            if (strcmp((*list)[j].endpoint, f->endpoint) == 0)
                break;
        if (j < *n) {
            size_t k;

            for (k = 0; k < f->xaddr_count; k++)
                if (onvif_xaddrs_merge(&(*list)[j], f->xaddrs[k]) < 0)
                    return -ENOMEM;
            continue;
        }
        if (*n >= ONVIF_WSD_MAX_DEVICES)
            continue;
        onvif_discovered_t *grown = realloc(*list, (*n + 1) * sizeof(**list));

        if (grown == NULL)
            return -ENOMEM;
        *list = grown;
        (*list)[*n] = *f;
        snprintf((*list)[*n].from, sizeof((*list)[*n].from), "%s", from);
        onvif_xaddr_choose(&(*list)[*n]);
        memset(f, 0, sizeof(*f));
        (*n)++;
    }
    return 0;
}

/* Resolves host[:port] for the unicast Probe. */
static int onvif_unicast_target(const char *spec, int default_port,
                                struct sockaddr_storage *ss,
                                socklen_t *sslen, onvif_err_t *err)
{
    char host[256], port[8];
    const char *colon = strrchr(spec, ':');
    struct addrinfo hints = {0}, *res = NULL;
    int rc;

    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');

        if (end == NULL || (size_t)(end - spec) >= sizeof(host))
            return onvif_fail(err, -EINVAL, "invalid address '%s'", spec);
        snprintf(host, sizeof(host), "%.*s", (int)(end - spec - 1),
                 spec + 1);
        colon = end[1] == ':' ? end + 1 : NULL;
    } else if (colon != NULL && strchr(spec, ':') == colon) {
        snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
    } else {
        snprintf(host, sizeof(host), "%s", spec);
        colon = NULL;
    }
    snprintf(port, sizeof(port), "%d",
             colon != NULL ? atoi(colon + 1) : default_port);
    hints.ai_socktype = SOCK_DGRAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return onvif_fail(err, -EHOSTUNREACH, "cannot resolve '%s': %s",
                          host, gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int64_t onvif_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends both Probes once on every socket. A send that fails (an
 * interface without IPv6, a route that went away) is skipped: the other
 * sockets still probe. */
static void onvif_probe_send(const onvif_probe_socket_t *socks, size_t n)
{
    static const char *const types[] = {"dn:NetworkVideoTransmitter",
                                        "tds:Device"};
    char msg[1024];
    size_t i, t;

    for (t = 0; t < 2; t++) {
        int len = onvif_probe_message(msg, sizeof(msg), types[t]);

        for (i = 0; i < n; i++)
            sendto(socks[i].fd, msg, (size_t)len, 0,
                   (const struct sockaddr *)&socks[i].dest,
                   socks[i].dest_len);
    }
}

/* Opens the multicast sockets of one interface: IPv4 when it has an
 * IPv4 address, IPv6 when the system allows. An interface with neither
 * is an error. */
static int onvif_probe_open_iface(const char *spec, int port,
                                  onvif_probe_socket_t *socks, size_t *n,
                                  onvif_err_t *err)
{
    onvif_iface_t iface;
    onvif_err_t v6err;
    int rc;

    rc = onvif_iface_resolve(spec, &iface, err);
    if (rc < 0)
        return rc;
    if (iface.has_v4) {
        rc = onvif_socket4(&iface, &socks[*n].fd, err);
        if (rc < 0)
            return rc;
        socks[*n].dest_len = onvif_group_address(&socks[*n].dest, false, 0,
                                                 port);
        (*n)++;
    }
    rc = onvif_socket6(&iface, &socks[*n].fd, &v6err);
    if (rc == 0) {
        socks[*n].dest_len = onvif_group_address(&socks[*n].dest, true,
                                                 iface.index, port);
        (*n)++;
    } else if (!iface.has_v4) {
        return onvif_fail(err, rc, "interface '%s' has no IPv4 address and "
                          "%s", spec, v6err.msg);
    }
    return 0;
}

int onvif_discovery_probe(const onvif_discovery_options_t *opts,
                          onvif_discovered_t **out, size_t *count,
                          onvif_err_t *err)
{
    onvif_probe_socket_t socks[ONVIF_WSD_MAX_SOCKETS];
    size_t nsock = 0, n = 0, i;
    onvif_discovered_t *list = NULL;
    bool resent = false;
    int port, duration, rc = 0;
    int64_t start, deadline;
    char *buf = NULL;

    *out = NULL;
    *count = 0;
    if (opts == NULL || (opts->interface_count == 0 &&
                         opts->unicast_address == NULL))
        return onvif_fail(err, -EINVAL, "discovery: name at least one "
                          "interface or a unicast address");
    if (opts->interface_count > (ONVIF_WSD_MAX_SOCKETS - 1) / 2)
        return onvif_fail(err, -EINVAL, "discovery: at most %d interfaces",
                          (ONVIF_WSD_MAX_SOCKETS - 1) / 2);
    port = opts->port > 0 ? opts->port : ONVIF_WSD_PORT;
    duration = opts->duration_ms > 0 ? opts->duration_ms : 3000;
    if (duration > 60000)
        return onvif_fail(err, -EINVAL, "discovery: duration %d ms is over "
                          "60000", duration);

    for (i = 0; i < opts->interface_count; i++) {
        rc = onvif_probe_open_iface(opts->interfaces[i], port, socks, &nsock,
                                    err);
        if (rc < 0)
            goto fail;
    }
    if (opts->unicast_address != NULL) {
        rc = onvif_unicast_target(opts->unicast_address, port,
                                  &socks[nsock].dest, &socks[nsock].dest_len,
                                  err);
        if (rc < 0)
            goto fail;
        socks[nsock].fd = socket(socks[nsock].dest.ss_family,
                                 SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (socks[nsock].fd < 0) {
            rc = onvif_fail(err, -errno, "socket: %s", strerror(errno));
            goto fail;
        }
        nsock++;
    }

    buf = malloc(65536);
    if (buf == NULL) {
        rc = onvif_fail(err, -ENOMEM, "out of memory");
        goto fail;
    }
    start = onvif_now_ms();
    deadline = start + duration;
    onvif_probe_send(socks, nsock);

    for (;;) {
        struct pollfd pfd[ONVIF_WSD_MAX_SOCKETS];
        int64_t now = onvif_now_ms(), wait;

        if (now >= deadline)
            break;
        if (!resent && now - start >= 250) {
            onvif_probe_send(socks, nsock);
            resent = true;
        }
        wait = deadline - now;
        if (!resent && wait > 250 - (now - start))
            wait = 250 - (now - start);
        for (i = 0; i < nsock; i++) {
            pfd[i].fd = socks[i].fd;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        if (poll(pfd, nsock, (int)wait) < 0 && errno != EINTR) {
            rc = onvif_fail(err, -errno, "discovery: poll: %s",
                            strerror(errno));
            goto fail;
        }
        for (i = 0; i < nsock; i++) {
            struct sockaddr_storage from;
            socklen_t fromlen = sizeof(from);
            char host[64] = "";
            onvif_discovered_t *found = NULL;
            size_t nfound = 0;
            ssize_t got;
            int kind;

            if (!(pfd[i].revents & POLLIN))
                continue;
            got = recvfrom(socks[i].fd, buf, 65535, 0,
                           (struct sockaddr *)&from, &fromlen);
            if (got <= 0)
                continue;
            getnameinfo((struct sockaddr *)&from, fromlen, host,
                        sizeof(host), NULL, 0, NI_NUMERICHOST);
            /* Malformed datagrams are skipped: any host may send them. */
            if (onvif_parse_discovery(buf, (size_t)got, &kind, &found,
                                      &nfound, NULL) < 0)
                continue;
            if (kind == 0 &&
                onvif_results_add(&list, &n, found, nfound, host) < 0) {
                onvif_discovered_free(found, nfound);
                rc = onvif_fail(err, -ENOMEM, "out of memory");
                goto fail;
            }
            onvif_discovered_free(found, nfound);
        }
    }
    *out = list;
    *count = n;
    list = NULL;
    n = 0;
    rc = 0;
fail:
    onvif_discovered_free(list, n);
    free(buf);
    for (i = 0; i < nsock; i++)
        close(socks[i].fd);
    return rc;
}

/* ---- Hello/Bye listener ---------------------------------------------- */

struct onvif_discovery_listener {
    int fd4; /* -1 when no interface has IPv4 */
    int fd6; /* -1 when IPv6 is unavailable */
    int stop_pipe[2];
    pthread_t thread;
    onvif_announce_cb cb;
    void *user;
};

/* Parses one datagram from fd and reports its Hello or Bye. */
static void onvif_listener_receive(onvif_discovery_listener_t *l, int fd,
                                   char *buf)
{
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof(from);
    onvif_discovered_t *found = NULL;
    size_t nfound = 0, i;
    ssize_t got;
    int kind;
    char host[64] = "";

    got = recvfrom(fd, buf, 65535, 0, (struct sockaddr *)&from, &fromlen);
    if (got <= 0)
        return;
    if (onvif_parse_discovery(buf, (size_t)got, &kind, &found, &nfound,
                              NULL) < 0)
        return;
    getnameinfo((struct sockaddr *)&from, fromlen, host, sizeof(host), NULL,
                0, NI_NUMERICHOST);
    for (i = 0; i < nfound && kind > 0; i++) {
        snprintf(found[i].from, sizeof(found[i].from), "%s", host);
        l->cb(l->user, kind == 1 ? ONVIF_ANNOUNCE_HELLO : ONVIF_ANNOUNCE_BYE,
              &found[i]);
    }
    onvif_discovered_free(found, nfound);
}

/* Receives datagrams until the stop pipe becomes readable. */
static void *onvif_listener_main(void *arg)
{
    onvif_discovery_listener_t *l = arg;
    char *buf = malloc(65536);

    if (buf == NULL)
        return NULL;
    for (;;) {
        struct pollfd pfd[3] = {{.fd = l->stop_pipe[0], .events = POLLIN},
                                {.fd = l->fd4, .events = POLLIN},
                                {.fd = l->fd6, .events = POLLIN}};

        if (poll(pfd, 3, -1) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents != 0)
            break;
        if (pfd[1].revents & POLLIN)
            onvif_listener_receive(l, l->fd4, buf);
        if (pfd[2].revents & POLLIN)
            onvif_listener_receive(l, l->fd6, buf);
    }
    free(buf);
    return NULL;
}

/* Opens a socket bound to the WS-Discovery port of one family, shared
 * with other listeners on the host (SO_REUSEADDR). */
static int onvif_listener_socket(bool v6, int port, int *out,
                                 onvif_err_t *err)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int one = 1, fd;

    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof(*s4);
    }
    fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
                          sizeof(one)) < 0) ||
        bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;

        if (fd >= 0)
            close(fd);
        return onvif_fail(err, -e, "discovery listener: cannot bind UDP "
                          "port %d (%s): %s", port, v6 ? "IPv6" : "IPv4",
                          strerror(e));
    }
    *out = fd;
    return 0;
}

/* Joins the groups on one interface; IPv6 only when its socket exists. */
static int onvif_listener_join(onvif_discovery_listener_t *l,
                               const char *spec, int port, onvif_err_t *err)
{
    onvif_iface_t iface;
    bool joined = false;
    int rc;

    rc = onvif_iface_resolve(spec, &iface, err);
    if (rc < 0)
        return rc;
    if (iface.has_v4) {
        struct ip_mreqn mreq = {.imr_address = iface.v4,
                                .imr_ifindex = (int)iface.index};

        if (l->fd4 < 0) {
            rc = onvif_listener_socket(false, port, &l->fd4, err);
            if (rc < 0)
                return rc;
        }
        inet_pton(AF_INET, ONVIF_WSD_GROUP, &mreq.imr_multiaddr);
        if (setsockopt(l->fd4, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
                       sizeof(mreq)) < 0)
            return onvif_fail(err, -errno, "discovery listener: cannot "
                              "join %s on %s: %s", ONVIF_WSD_GROUP, spec,
                              strerror(errno));
        joined = true;
    }
    if (l->fd6 < 0)
        onvif_listener_socket(true, port, &l->fd6, NULL);
    if (l->fd6 >= 0) {
        struct ipv6_mreq mreq6 = {.ipv6mr_interface = iface.index};

        inet_pton(AF_INET6, ONVIF_WSD_GROUP6, &mreq6.ipv6mr_multiaddr);
        if (setsockopt(l->fd6, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq6,
                       sizeof(mreq6)) == 0)
            joined = true;
    }
    if (!joined)
        return onvif_fail(err, -ENODEV, "discovery listener: interface "
                          "'%s' has no IPv4 address and IPv6 multicast is "
                          "unavailable", spec);
    return 0;
}

int onvif_discovery_listener_start(const char *const *interfaces,
                                   size_t interface_count, int port,
                                   onvif_announce_cb cb, void *user,
                                   onvif_discovery_listener_t **out,
                                   onvif_err_t *err)
{
    onvif_discovery_listener_t *l;
    size_t i;
    int rc;

    *out = NULL;
    if (interface_count == 0 || cb == NULL)
        return onvif_fail(err, -EINVAL, "discovery listener: name at least "
                          "one interface and a callback");
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return onvif_fail(err, -ENOMEM, "out of memory");
    l->fd4 = l->fd6 = -1;
    l->stop_pipe[0] = l->stop_pipe[1] = -1;
    l->cb = cb;
    l->user = user;
    port = port > 0 ? port : ONVIF_WSD_PORT;

    for (i = 0; i < interface_count; i++) {
        rc = onvif_listener_join(l, interfaces[i], port, err);
        if (rc < 0)
            goto fail;
    }
    if (pipe2(l->stop_pipe, O_CLOEXEC) < 0) {
        rc = onvif_fail(err, -errno, "pipe: %s", strerror(errno));
        goto fail;
    }
    rc = pthread_create(&l->thread, NULL, onvif_listener_main, l);
    if (rc != 0) {
        rc = onvif_fail(err, -rc, "discovery listener: cannot start "
                        "thread");
        goto fail;
    }
    *out = l;
    return 0;
fail:
    if (l->fd4 >= 0)
        close(l->fd4);
    if (l->fd6 >= 0)
        close(l->fd6);
    if (l->stop_pipe[0] >= 0) {
        close(l->stop_pipe[0]);
        close(l->stop_pipe[1]);
    }
    free(l);
    return rc;
}

void onvif_discovery_listener_stop(onvif_discovery_listener_t *l)
{
    if (l == NULL)
        return;
    if (write(l->stop_pipe[1], "x", 1) < 0) {
        /* The pipe cannot be full with one byte; nothing to do. */
    }
    pthread_join(l->thread, NULL);
    if (l->fd4 >= 0)
        close(l->fd4);
    if (l->fd6 >= 0)
        close(l->fd6);
    close(l->stop_pipe[0]);
    close(l->stop_pipe[1]);
    free(l);
}
