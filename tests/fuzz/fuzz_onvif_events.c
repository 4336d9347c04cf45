/*
 * libFuzzer target: the ONVIF event parsers (PullMessages,
 * CreatePullPointSubscription) and the empty-response check on
 * arbitrary bytes.
 *
 * fuzz-sources: src/onvif/xml.c src/onvif/parse.c
 * fuzz-packages: libxml-2.0
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onvif/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    onvif_event_t *events = NULL;
    onvif_subscription_t sub;
    onvif_err_t err;
    size_t count = 0, i;
    int rc;

    err.msg[0] = '\0';
    rc = onvif_parse_pull_messages(xml, size, &events, &count, &err);
    if (rc < 0 && (err.msg[0] == '\0' || events != NULL))
        abort();
    for (i = 0; i < count; i++)
        if (events[i].kind < ONVIF_EVENT_OTHER ||
            events[i].kind > ONVIF_EVENT_DIGITAL_INPUT)
            abort();
    onvif_events_free(events, count);

    err.msg[0] = '\0';
    rc = onvif_parse_subscription(xml, size, &sub, &err);
    if (rc < 0 && (err.msg[0] == '\0' || sub.address != NULL))
        abort();
    if (rc == 0)
        free(sub.address);

    err.msg[0] = '\0';
    rc = onvif_parse_empty(xml, size, "UnsubscribeResponse", &err);
    if (rc < 0 && err.msg[0] == '\0')
        abort();
    return 0;
}
