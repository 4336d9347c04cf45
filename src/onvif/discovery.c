/*
 * WS-Discovery (2005/04, the version ONVIF uses): Probe, ProbeMatches,
 * Hello and Bye on UDP 239.255.255.250:3702.
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

/* Finds the IPv4 address and index of an interface given by name or by
 * one of its IPv4 addresses. */
static int onvif_iface_resolve(const char *spec, struct in_addr *addr,
                               unsigned int *index, onvif_err_t *err)
{
    struct ifaddrs *list = NULL, *ifa;
    struct in_addr want;
    bool by_addr = inet_pton(AF_INET, spec, &want) == 1;

    if (getifaddrs(&list) < 0)
        return onvif_fail(err, -errno, "cannot list interfaces: %s",
                          strerror(errno));
    for (ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
        const struct sockaddr_in *sin;

        if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET)
            continue;
        sin = (const struct sockaddr_in *)ifa->ifa_addr;
        if ((by_addr && sin->sin_addr.s_addr == want.s_addr) ||
            (!by_addr && strcmp(ifa->ifa_name, spec) == 0)) {
            *addr = sin->sin_addr;
            *index = if_nametoindex(ifa->ifa_name);
            freeifaddrs(list);
            return 0;
        }
    }
    freeifaddrs(list);
    return onvif_fail(err, -ENODEV, "interface '%s' not found or has no "
                      "IPv4 address; give an interface name or one of its "
                      "addresses", spec);
}

/* Opens a UDP socket bound to addr:0 that sends multicast out of the
 * interface with the given index, one hop only. */
static int onvif_socket_for_iface(struct in_addr addr, unsigned int index,
                                  int *out, onvif_err_t *err)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = addr};
    struct ip_mreqn mreq = {.imr_address = addr, .imr_ifindex = (int)index};
    unsigned char ttl = 1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    char text[INET_ADDRSTRLEN];

    inet_ntop(AF_INET, &addr, text, sizeof(text));
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

/* Sends both Probes on every socket: multicast sockets to the group,
 * the unicast socket (last, if any) to its target. */
static void onvif_probe_send(const int *fds, size_t nfd, bool has_unicast,
                             const struct sockaddr_storage *uni,
                             socklen_t unilen, int port)
{
    static const char *const types[] = {"dn:NetworkVideoTransmitter",
                                        "tds:Device"};
    struct sockaddr_in group = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port)};
    char msg[1024];
    size_t i, t;

    inet_pton(AF_INET, ONVIF_WSD_GROUP, &group.sin_addr);
    for (t = 0; t < 2; t++) {
        int n = onvif_probe_message(msg, sizeof(msg), types[t]);

        for (i = 0; i < nfd; i++) {
            if (has_unicast && i == nfd - 1)
                sendto(fds[i], msg, (size_t)n, 0,
                       (const struct sockaddr *)uni, unilen);
            else
                sendto(fds[i], msg, (size_t)n, 0,
                       (const struct sockaddr *)&group, sizeof(group));
        }
    }
}

int onvif_discovery_probe(const onvif_discovery_options_t *opts,
                          onvif_discovered_t **out, size_t *count,
                          onvif_err_t *err)
{
    int fds[ONVIF_WSD_MAX_SOCKETS];
    size_t nfd = 0, n = 0, i;
    onvif_discovered_t *list = NULL;
    struct sockaddr_storage uni;
    socklen_t unilen = 0;
    bool has_unicast = false, resent = false;
    int port, duration, rc = 0;
    int64_t start, deadline;
    char *buf = NULL;

    *out = NULL;
    *count = 0;
    if (opts == NULL || (opts->interface_count == 0 &&
                         opts->unicast_address == NULL))
        return onvif_fail(err, -EINVAL, "discovery: name at least one "
                          "interface or a unicast address");
    if (opts->interface_count > ONVIF_WSD_MAX_SOCKETS - 1)
        return onvif_fail(err, -EINVAL, "discovery: at most %d interfaces",
                          ONVIF_WSD_MAX_SOCKETS - 1);
    port = opts->port > 0 ? opts->port : ONVIF_WSD_PORT;
    duration = opts->duration_ms > 0 ? opts->duration_ms : 3000;
    if (duration > 60000)
        return onvif_fail(err, -EINVAL, "discovery: duration %d ms is over "
                          "60000", duration);

    for (i = 0; i < opts->interface_count; i++) {
        struct in_addr addr;
        unsigned int index;

        rc = onvif_iface_resolve(opts->interfaces[i], &addr, &index, err);
        if (rc == 0)
            rc = onvif_socket_for_iface(addr, index, &fds[nfd], err);
        if (rc < 0)
            goto fail;
        nfd++;
    }
    if (opts->unicast_address != NULL) {
        rc = onvif_unicast_target(opts->unicast_address, port, &uni, &unilen,
                                  err);
        if (rc < 0)
            goto fail;
        fds[nfd] = socket(uni.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fds[nfd] < 0) {
            rc = onvif_fail(err, -errno, "socket: %s", strerror(errno));
            goto fail;
        }
        nfd++;
        has_unicast = true;
    }

    buf = malloc(65536);
    if (buf == NULL) {
        rc = onvif_fail(err, -ENOMEM, "out of memory");
        goto fail;
    }
    start = onvif_now_ms();
    deadline = start + duration;
    onvif_probe_send(fds, nfd, has_unicast, &uni, unilen, port);

    for (;;) {
        struct pollfd pfd[ONVIF_WSD_MAX_SOCKETS];
        int64_t now = onvif_now_ms(), wait;

        if (now >= deadline)
            break;
        if (!resent && now - start >= 250) {
            onvif_probe_send(fds, nfd, has_unicast, &uni, unilen, port);
            resent = true;
        }
        wait = deadline - now;
        if (!resent && wait > 250 - (now - start))
            wait = 250 - (now - start);
        for (i = 0; i < nfd; i++) {
            pfd[i].fd = fds[i];
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        if (poll(pfd, nfd, (int)wait) < 0 && errno != EINTR) {
            rc = onvif_fail(err, -errno, "discovery: poll: %s",
                            strerror(errno));
            goto fail;
        }
        for (i = 0; i < nfd; i++) {
            struct sockaddr_storage from;
            socklen_t fromlen = sizeof(from);
            char host[64] = "";
            onvif_discovered_t *found = NULL;
            size_t nfound = 0;
            ssize_t got;
            int kind;

            if (!(pfd[i].revents & POLLIN))
                continue;
            got = recvfrom(fds[i], buf, 65535, 0, (struct sockaddr *)&from,
                           &fromlen);
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
    for (i = 0; i < nfd; i++)
        close(fds[i]);
    return rc;
}

/* ---- Hello/Bye listener ---------------------------------------------- */

struct onvif_discovery_listener {
    int fd;
    int stop_pipe[2];
    pthread_t thread;
    onvif_announce_cb cb;
    void *user;
};

/* Receives datagrams until the stop pipe becomes readable. */
static void *onvif_listener_main(void *arg)
{
    onvif_discovery_listener_t *l = arg;
    char *buf = malloc(65536);

    if (buf == NULL)
        return NULL;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = l->fd, .events = POLLIN},
                                {.fd = l->stop_pipe[0], .events = POLLIN}};
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof(from);
        onvif_discovered_t *found = NULL;
        size_t nfound = 0, i;
        ssize_t got;
        int kind;
        char host[64] = "";

        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents != 0)
            break;
        if (!(pfd[0].revents & POLLIN))
            continue;
        got = recvfrom(l->fd, buf, 65535, 0, (struct sockaddr *)&from,
                       &fromlen);
        if (got <= 0)
            continue;
        if (onvif_parse_discovery(buf, (size_t)got, &kind, &found, &nfound,
                                  NULL) < 0)
            continue;
        getnameinfo((struct sockaddr *)&from, fromlen, host, sizeof(host),
                    NULL, 0, NI_NUMERICHOST);
        for (i = 0; i < nfound && kind > 0; i++) {
            snprintf(found[i].from, sizeof(found[i].from), "%s", host);
            l->cb(l->user, kind == 1 ? ONVIF_ANNOUNCE_HELLO
                                     : ONVIF_ANNOUNCE_BYE, &found[i]);
        }
        onvif_discovered_free(found, nfound);
    }
    free(buf);
    return NULL;
}

int onvif_discovery_listener_start(const char *const *interfaces,
                                   size_t interface_count, int port,
                                   onvif_announce_cb cb, void *user,
                                   onvif_discovery_listener_t **out,
                                   onvif_err_t *err)
{
    onvif_discovery_listener_t *l;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    int one = 1, rc;
    size_t i;

    *out = NULL;
    if (interface_count == 0 || cb == NULL)
        return onvif_fail(err, -EINVAL, "discovery listener: name at least "
                          "one interface and a callback");
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return onvif_fail(err, -ENOMEM, "out of memory");
    l->fd = -1;
    l->stop_pipe[0] = l->stop_pipe[1] = -1;
    l->cb = cb;
    l->user = user;
    sin.sin_port = htons((uint16_t)(port > 0 ? port : ONVIF_WSD_PORT));
    inet_pton(AF_INET, ONVIF_WSD_GROUP, &sin.sin_addr);

    l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (l->fd < 0 ||
        setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(l->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        rc = onvif_fail(err, -errno, "discovery listener: cannot bind UDP "
                        "port %d: %s", ntohs(sin.sin_port), strerror(errno));
        goto fail;
    }
    for (i = 0; i < interface_count; i++) {
        struct ip_mreqn mreq = {0};
        struct in_addr addr;
        unsigned int index;

        rc = onvif_iface_resolve(interfaces[i], &addr, &index, err);
        if (rc < 0)
            goto fail;
        inet_pton(AF_INET, ONVIF_WSD_GROUP, &mreq.imr_multiaddr);
        mreq.imr_address = addr;
        mreq.imr_ifindex = (int)index;
        if (setsockopt(l->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
                       sizeof(mreq)) < 0) {
            rc = onvif_fail(err, -errno, "discovery listener: cannot join "
                            "%s on %s: %s", ONVIF_WSD_GROUP, interfaces[i],
                            strerror(errno));
            goto fail;
        }
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
    if (l->fd >= 0)
        close(l->fd);
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
    close(l->fd);
    close(l->stop_pipe[0]);
    close(l->stop_pipe[1]);
    free(l);
}
