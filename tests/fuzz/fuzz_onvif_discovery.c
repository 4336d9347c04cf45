/*
 * libFuzzer target: the WS-Discovery parser (ProbeMatches, Hello, Bye),
 * which reads datagrams that any host on the segment may send.
 *
 * fuzz-sources: src/onvif/xml.c src/onvif/parse.c src/onvif/http.c src/onvif/discovery.c
 * fuzz-packages: libxml-2.0 openssl
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onvif/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    onvif_discovered_t *devices = NULL;
    onvif_err_t err;
    size_t count = 0, i, j;
    int kind, rc;

    err.msg[0] = '\0';
    rc = onvif_parse_discovery((const char *)data, size, &kind, &devices,
                               &count, &err);
    if (rc < 0 && (err.msg[0] == '\0' || devices != NULL))
        abort();
    for (i = 0; rc == 0 && i < count; i++) {
        bool chosen_listed = devices[i].xaddr == NULL;

        if (kind < 0 || kind > 2 || devices[i].endpoint == NULL)
            abort();
        for (j = 0; j < devices[i].xaddr_count; j++)
            chosen_listed |= devices[i].xaddr == devices[i].xaddrs[j];
        if (!chosen_listed)
            abort(); /* the chosen XAddr points into the list */
    }
    onvif_discovered_free(devices, count);
    return 0;
}
