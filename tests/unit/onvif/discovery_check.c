/*
 * Client side of the WS-Discovery end-to-end test. test_discovery_netns.sh
 * runs it inside a network namespace that the script created; it never
 * runs on the machine's own interfaces.
 *
 *   discovery_check probe IFACE
 *       multicast Probe on IFACE, then a unicast Probe to 10.231.0.2,
 *       then a device probe of every camera found; checks the devices
 *       that test_discovery_netns.sh started.
 *   discovery_check probe6 IFACE ENDPOINT
 *       multicast Probe on IFACE that ENDPOINT replies to only over IPv6,
 *       then a device probe of it over IPv6.
 *   discovery_check listen IFACE ENDPOINT SECONDS
 *       waits for a Hello and then a Bye from ENDPOINT.
 *
 * Prints what it finds and exits 0 when every check passes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "onvif/onvif.h"

static int failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "check failed at line %d: %s\n", __LINE__,      \
                    #cond);                                                  \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static const onvif_discovered_t *find(const onvif_discovered_t *d, size_t n,
                                      const char *endpoint)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(d[i].endpoint, endpoint) == 0)
            return &d[i];
    return NULL;
}

static void print_devices(const char *what, const onvif_discovered_t *d,
                          size_t n)
{
    size_t i, j;

    printf("%s: %zu device(s)\n", what, n);
    for (i = 0; i < n; i++) {
        printf("  %s name='%s' hardware='%s' location='%s' from=%s "
               "xaddr=%s\n", d[i].endpoint, d[i].name ? d[i].name : "",
               d[i].hardware ? d[i].hardware : "",
               d[i].location ? d[i].location : "", d[i].from,
               d[i].xaddr ? d[i].xaddr : "(none)");
        for (j = 0; j < d[i].xaddr_count; j++)
            printf("    xaddr %s\n", d[i].xaddrs[j]);
    }
}

static int run_probe(const char *iface)
{
    const char *ifaces[] = {iface};
    onvif_discovery_options_t opts = {.interfaces = ifaces,
                                      .interface_count = 1,
                                      .duration_ms = 1500};
    onvif_credentials_t cred = {"admin", "s3cret"};
    onvif_discovered_t *d = NULL;
    const onvif_discovered_t *a, *b;
    onvif_err_t err = {""};
    size_t n = 0, i;

    if (onvif_discovery_probe(&opts, &d, &n, &err) < 0) {
        fprintf(stderr, "multicast probe failed: %s\n", err.msg);
        return 1;
    }
    print_devices("multicast", d, n);
    CHECK(n == 2);
    a = find(d, n, "urn:uuid:0a0a0a0a-0000-4000-8000-00000000000a");
    b = find(d, n, "urn:uuid:0b0b0b0b-0000-4000-8000-00000000000b");
    CHECK(a != NULL);
    CHECK(b != NULL);
    if (a != NULL) {
        /* Camera A replied from two addresses and also announced a
         * link-local XAddr. All are merged and a routable one chosen. */
        CHECK(a->xaddr_count == 3);
        CHECK(a->xaddr != NULL);
        CHECK(strstr(a->xaddr ? a->xaddr : "", "169.254.") == NULL);
        CHECK(strcmp(a->name ? a->name : "", "Gate Camera") == 0);
        CHECK(strcmp(a->hardware ? a->hardware : "", "FAKE-A") == 0);
        CHECK(strcmp(a->location ? a->location : "",
                     "site/north gate") == 0);
    }
    if (b != NULL) {
        CHECK(b->xaddr_count == 1);
        CHECK(strcmp(b->name ? b->name : "", "Yard Camera") == 0);
    }

    /* Each camera found is probed over SOAP; camera B runs 20 minutes
     * ahead and must still accept our UsernameToken. */
    for (i = 0; i < n; i++) {
        onvif_device_t *dev = NULL;

        if (d[i].xaddr == NULL ||
            onvif_device_probe(d[i].xaddr, &cred, NULL, &dev, &err) < 0) {
            fprintf(stderr, "device probe of %s failed: %s\n",
                    d[i].endpoint, err.msg);
            failures++;
            continue;
        }
        printf("  %s: %s %s, %zu profiles, clock offset %lld s\n",
               d[i].endpoint, dev->info.manufacturer, dev->info.model,
               dev->profile_count, (long long)dev->time_offset_s);
        if (&d[i] == b)
            CHECK(llabs(dev->time_offset_s - 1200) <= 2);
        else
            CHECK(llabs(dev->time_offset_s) <= 2);
        onvif_device_free(dev);
    }
    onvif_discovered_free(d, n);

    /* A unicast Probe reaches only the camera it is sent to. */
    opts.interface_count = 0;
    opts.unicast_address = "10.231.0.3";
    opts.duration_ms = 800;
    if (onvif_discovery_probe(&opts, &d, &n, &err) < 0) {
        fprintf(stderr, "unicast probe failed: %s\n", err.msg);
        return 1;
    }
    print_devices("unicast to 10.231.0.3", d, n);
    CHECK(n == 1);
    CHECK(strcmp(n > 0 ? d[0].endpoint : "", "urn:uuid:0b0b0b0b-0000-4000-"
                                             "8000-00000000000b") == 0);
    onvif_discovered_free(d, n);
    return failures == 0 ? 0 : 1;
}

static int run_probe6(const char *iface, const char *endpoint)
{
    const char *ifaces[] = {iface};
    onvif_discovery_options_t opts = {.interfaces = ifaces,
                                      .interface_count = 1,
                                      .duration_ms = 1500};
    onvif_credentials_t cred = {"admin", "s3cret"};
    onvif_discovered_t *d = NULL;
    const onvif_discovered_t *cam;
    onvif_device_t *dev = NULL;
    onvif_err_t err = {""};
    size_t n = 0;

    if (onvif_discovery_probe(&opts, &d, &n, &err) < 0) {
        fprintf(stderr, "multicast probe failed: %s\n", err.msg);
        return 1;
    }
    print_devices("multicast, IPv4 and IPv6", d, n);
    cam = find(d, n, endpoint);
    CHECK(cam != NULL);
    if (cam == NULL) {
        onvif_discovered_free(d, n);
        return 1;
    }
    CHECK(strcmp(cam->from, "fd00:231::5") == 0);
    CHECK(strcmp(cam->xaddr ? cam->xaddr : "",
                 "http://[fd00:231::5]:8080/onvif/device_service") == 0);
    if (onvif_device_probe(cam->xaddr, &cred, NULL, &dev, &err) < 0) {
        fprintf(stderr, "device probe over IPv6 failed: %s\n", err.msg);
        failures++;
    } else {
        printf("  %s: %zu profiles, main stream %s\n", endpoint,
               dev->profile_count,
               dev->profiles[dev->main_profile].stream_uri);
        CHECK(dev->profiles[0].stream_uri_rewritten);
        CHECK(strcmp(dev->profiles[0].stream_uri,
                     "rtsp://[fd00:231::5]:8554/main") == 0);
        onvif_device_free(dev);
    }
    onvif_discovered_free(d, n);
    return failures == 0 ? 0 : 1;
}

typedef struct listen_state {
    pthread_mutex_t lock;
    const char *endpoint;
    bool hello, bye;
} listen_state_t;

static void on_announce(void *user, onvif_announce_t kind,
                        const onvif_discovered_t *dev)
{
    listen_state_t *s = user;

    printf("%s %s xaddr=%s\n", kind == ONVIF_ANNOUNCE_HELLO ? "Hello" : "Bye",
           dev->endpoint, dev->xaddr ? dev->xaddr : "(none)");
    fflush(stdout);
    pthread_mutex_lock(&s->lock);
    if (strcmp(dev->endpoint, s->endpoint) == 0) {
        if (kind == ONVIF_ANNOUNCE_HELLO)
            s->hello = true;
        else
            s->bye = true;
    }
    pthread_mutex_unlock(&s->lock);
}

static int run_listen(const char *iface, const char *endpoint, int seconds)
{
    const char *ifaces[] = {iface};
    listen_state_t s = {PTHREAD_MUTEX_INITIALIZER, endpoint, false, false};
    onvif_discovery_listener_t *l = NULL;
    onvif_err_t err = {""};
    int i;
    bool done = false;

    if (onvif_discovery_listener_start(ifaces, 1, 0, on_announce, &s, &l,
                                       &err) < 0) {
        fprintf(stderr, "listener: %s\n", err.msg);
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    for (i = 0; i < seconds * 10 && !done; i++) {
        usleep(100000);
        pthread_mutex_lock(&s.lock);
        done = s.hello && s.bye;
        pthread_mutex_unlock(&s.lock);
    }
    onvif_discovery_listener_stop(l);
    CHECK(s.hello);
    CHECK(s.bye);
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "probe") == 0)
        return run_probe(argv[2]);
    if (argc == 4 && strcmp(argv[1], "probe6") == 0)
        return run_probe6(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "listen") == 0)
        return run_listen(argv[2], argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: discovery_check probe IFACE\n"
                    "       discovery_check probe6 IFACE ENDPOINT\n"
                    "       discovery_check listen IFACE ENDPOINT SECONDS\n");
    return 2;
}
