/*
 * Event service: pull-point subscriptions (ONVIF Core, "real-time pull
 * point notification interface").
 */
#include "onvif/calls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int onvif_events_subscribe(onvif_client_t *c, int termination_s,
                           onvif_subscription_t **out, onvif_err_t *err)
{
    onvif_subscription_t *sub = NULL;
    char body[256], *xml = NULL;
    size_t len;
    int rc;

    *out = NULL;
    if (termination_s < 10 || termination_s > 86400)
        return onvif_fail(err, -EINVAL, "CreatePullPointSubscription: "
                          "termination time %d s must be within 10..86400",
                          termination_s);
    rc = onvif_client_ensure(c, err);
    if (rc < 0)
        return rc;
    snprintf(body, sizeof(body), "<tev:CreatePullPointSubscription>"
             "<tev:InitialTerminationTime>PT%dS</tev:InitialTerminationTime>"
             "</tev:CreatePullPointSubscription>", termination_s);
    rc = onvif_call(c, onvif_client_services(c)->events,
                    ONVIF_ACTION_EVENTS
                    "EventPortType/CreatePullPointSubscriptionRequest",
                    body, true, 0, &xml, &len, err);
    if (rc < 0)
        return rc;
    sub = calloc(1, sizeof(*sub));
    if (sub == NULL) {
        free(xml);
        return onvif_fail(err, -ENOMEM, "out of memory");
    }
    rc = onvif_parse_subscription(xml, len, sub, err);
    free(xml);
    if (rc < 0) {
        onvif_subscription_free(sub);
        return onvif_err_prefix(c, "CreatePullPointSubscription", rc, err);
    }

    /* The reference may name an address only valid inside the camera's
     * network, like the stream URIs. */
    {
        char *fixed = NULL;
        bool rewritten;

        if (onvif_uri_rewrite(sub->address, onvif_client_host(c), &fixed,
                              &rewritten, NULL) == 0) {
            free(sub->address);
            sub->address = fixed;
        }
    }
    *out = sub;
    return 0;
}

int onvif_events_pull(onvif_client_t *c, onvif_subscription_t *sub,
                      int timeout_s, int max_messages,
                      onvif_event_t **events, size_t *count,
                      onvif_err_t *err)
{
    char body[256], *xml = NULL;
    size_t len;
    int rc;

    *events = NULL;
    *count = 0;
    if (sub == NULL || sub->address == NULL)
        return onvif_fail(err, -EINVAL, "PullMessages: no subscription");
    if (timeout_s < 0 || timeout_s > 600 || max_messages < 1 ||
        max_messages > 1000)
        return onvif_fail(err, -EINVAL, "PullMessages: timeout %d s must "
                          "be within 0..600 and message limit %d within "
                          "1..1000", timeout_s, max_messages);
    snprintf(body, sizeof(body), "<tev:PullMessages><tev:Timeout>PT%dS"
             "</tev:Timeout><tev:MessageLimit>%d</tev:MessageLimit>"
             "</tev:PullMessages>", timeout_s, max_messages);
    rc = onvif_call(c, sub->address,
                    ONVIF_ACTION_EVENTS
                    "PullPointSubscription/PullMessagesRequest",
                    body, true, timeout_s * 1000, &xml, &len, err);
    if (rc < 0)
        return rc;
    rc = onvif_parse_pull_messages(xml, len, events, count, err);
    free(xml);
    return onvif_err_prefix(c, "PullMessages", rc, err);
}

int onvif_events_unsubscribe(onvif_client_t *c, onvif_subscription_t *sub,
                             onvif_err_t *err)
{
    char *xml = NULL;
    size_t len;
    int rc;

    if (sub == NULL || sub->address == NULL)
        return onvif_fail(err, -EINVAL, "Unsubscribe: no subscription");
    rc = onvif_call(c, sub->address,
                    "http://docs.oasis-open.org/wsn/bw-2/"
                    "SubscriptionManager/UnsubscribeRequest",
                    "<wsnt:Unsubscribe/>", true, 0, &xml, &len, err);
    if (rc < 0)
        return rc;
    rc = onvif_parse_empty(xml, len, "UnsubscribeResponse", err);
    free(xml);
    return onvif_err_prefix(c, "Unsubscribe", rc, err);
}
