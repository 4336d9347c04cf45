/*
 * Load client for the live benchmark: opens WebSocket viewers on
 * loopback and reads every message as fast as it arrives, with one
 * epoll loop, so that the client never holds the daemon back.
 *
 *   viewers PORT SECONDS PATH [PATH...]
 *
 * Each PATH (for example /api/v1/cameras/1/live?stream=main) opens one
 * viewer. After SECONDS, or on SIGTERM, it prints one JSON line with the
 * messages, fragments (binary messages that start with a moof box) and
 * bytes received, and the viewers that failed. run.py compiles it with
 * cc.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define VIEWERS_MAX 1024
#define VIEWERS_BUF (1 << 20)

static volatile sig_atomic_t viewers_stop;

static void viewers_on_signal(int sig)
{
    (void)sig;
    viewers_stop = 1;
}

typedef struct viewer {
    int fd;
    int upgraded;            /* the 101 response was read */
    int failed;
    unsigned char *buf;      /* unparsed input */
    size_t len;
    int in_message;          /* a message's continuation frames follow */
    int message_is_fragment;
    uint64_t messages;
    uint64_t fragments;
    uint64_t bytes;
} viewer_t;

static double viewers_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connects to 127.0.0.1:port and sends the upgrade request for path.
 * Returns the socket or -1. */
static int viewers_connect(int port, const char *path)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    char request[1024];
    const char *key = getenv("VMS_API_KEY");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int n;

    if (fd < 0)
        return -1;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    n = snprintf(request, sizeof(request),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "%s%s%s"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n",
                 path, port, key ? "Authorization: Bearer " : "",
                 key ? key : "", key ? "\r\n" : "");
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        n >= (int)sizeof(request) || write(fd, request, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Parses whole frames from v->buf; returns -1 on a protocol error. */
static int viewers_parse(viewer_t *v)
{
    size_t off = 0;

    if (!v->upgraded) {
        unsigned char *end = memmem(v->buf, v->len, "\r\n\r\n", 4);

        if (!end)
            return v->len == VIEWERS_BUF ? -1 : 0;
        if (v->len < 12 || memcmp(v->buf + 9, "101", 3) != 0)
            return -1;
        v->upgraded = 1;
        off = (size_t)(end + 4 - v->buf);
    }
    for (;;) {
        size_t header = 2;
        uint64_t payload;
        unsigned char *p = v->buf + off;
        size_t avail = v->len - off;

        if (avail < 2)
            break;
        payload = p[1] & 0x7f;
        if (payload == 126) {
            header = 4;
            if (avail < header)
                break;
            payload = ((uint64_t)p[2] << 8) | p[3];
        } else if (payload == 127) {
            header = 10;
            if (avail < header)
                break;
            payload = 0;
            for (int i = 0; i < 8; i++)
                payload = (payload << 8) | p[2 + i];
        }
        if (payload > VIEWERS_BUF - 16)
            return -1;
        if (avail < header + payload)
            break;
        if ((p[0] & 0x0f) == 0x8)
            return -1; /* the server closed the WebSocket */
        if (!v->in_message)
            v->message_is_fragment = (p[0] & 0x0f) == 0x2 && payload >= 8 &&
                                     memcmp(p + header + 4, "moof", 4) == 0;
        v->in_message = !(p[0] & 0x80);
        if (!v->in_message) {
            v->messages++;
            v->fragments += (uint64_t)v->message_is_fragment;
        }
        v->bytes += payload;
        off += header + (size_t)payload;
    }
    memmove(v->buf, v->buf + off, v->len - off);
    v->len -= off;
    return 0;
}

int main(int argc, char **argv)
{
    static viewer_t viewers[VIEWERS_MAX];
    struct epoll_event events[64];
    uint64_t messages = 0;
    uint64_t fragments = 0;
    uint64_t bytes = 0;
    int failed = 0;
    double deadline;
    int count = argc - 3;
    int port;
    int ep;

    if (argc < 4 || count > VIEWERS_MAX) {
        fprintf(stderr, "usage: viewers PORT SECONDS PATH [PATH...] "
                        "(at most %d paths)\n",
                VIEWERS_MAX);
        return 2;
    }
    signal(SIGTERM, viewers_on_signal);
    signal(SIGINT, viewers_on_signal);
    port = atoi(argv[1]);
    deadline = viewers_now() + atof(argv[2]);
    ep = epoll_create1(0);
    if (ep < 0) {
        perror("epoll_create1");
        return 1;
    }
    for (int i = 0; i < count; i++) {
        viewer_t *v = &viewers[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

        v->buf = malloc(VIEWERS_BUF);
        v->fd = viewers_connect(port, argv[3 + i]);
        if (!v->buf || v->fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, v->fd, &ev)) {
            fprintf(stderr, "viewer %d: cannot connect to port %d for %s\n",
                    i, port, argv[3 + i]);
            v->failed = 1;
        }
    }
    while (!viewers_stop && viewers_now() < deadline) {
        int ms = (int)((deadline - viewers_now()) * 1000) + 1;
        int n = epoll_wait(ep, events, 64, ms);

        for (int i = 0; i < n; i++) {
            viewer_t *v = &viewers[events[i].data.u32];
            ssize_t got = read(v->fd, v->buf + v->len, VIEWERS_BUF - v->len);

            if (got <= 0 || (v->len += (size_t)got, viewers_parse(v) < 0)) {
                if (got < 0 && errno == EINTR)
                    continue;
                fprintf(stderr, "viewer %u: connection closed or invalid "
                                "data\n",
                        events[i].data.u32);
                v->failed = 1;
                epoll_ctl(ep, EPOLL_CTL_DEL, v->fd, NULL);
            }
        }
    }
    for (int i = 0; i < count; i++) {
        messages += viewers[i].messages;
        fragments += viewers[i].fragments;
        bytes += viewers[i].bytes;
        failed += viewers[i].failed;
        if (viewers[i].fd >= 0)
            close(viewers[i].fd);
        free(viewers[i].buf);
    }
    printf("{\"viewers\": %d, \"failed\": %d, \"messages\": %llu, "
           "\"fragments\": %llu, \"bytes\": %llu}\n",
           count, failed, (unsigned long long)messages,
           (unsigned long long)fragments, (unsigned long long)bytes);
    close(ep);
    return failed ? 1 : 0;
}
