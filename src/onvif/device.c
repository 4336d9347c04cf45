/*
 * High-level ONVIF calls: connect (clock offset and services), device
 * probe, date and time.
 */
#include "onvif/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onvif/calls.h"

int onvif_call(onvif_client_t *c, const char *url, const char *action,
               const char *body, bool auth, int extra_timeout_ms,
               char **xml, size_t *len, onvif_err_t *err)
{
    if (url == NULL)
        return onvif_fail(err, -EOPNOTSUPP, "camera %s: %s: the camera "
                          "does not offer this service",
                          onvif_client_host(c), strrchr(action, '/') + 1);
    return onvif_soap_call(c, url, action, body, auth, extra_timeout_ms, xml,
                           len, err);
}

int onvif_err_prefix(onvif_client_t *c, const char *call, int rc,
                     onvif_err_t *err)
{
    char msg[sizeof(err->msg)];

    if (err == NULL || rc >= 0 || strncmp(err->msg, "camera ", 7) == 0)
        return rc;
    snprintf(msg, sizeof(msg), "%s", err->msg);
    return onvif_fail(err, rc, "camera %s: %s: %s", onvif_client_host(c),
                      call, msg);
}

/* Rewrites *url in place when its host is unusable; see uri.c. */
static void onvif_fix_url(onvif_client_t *c, char **url)
{
    char *fixed = NULL;
    bool rewritten;

    if (*url != NULL &&
        onvif_uri_rewrite(*url, onvif_client_host(c), &fixed, &rewritten,
                          NULL) == 0) {
        free(*url);
        *url = fixed;
    }
}

/* Reads the camera clock. Some cameras demand credentials even here,
 * so a refusal is retried with them (and the offset then still 0). */
static int onvif_read_clock(onvif_client_t *c, time_t *utc, bool *dst,
                            onvif_err_t *err)
{
    const char *body = "<tds:GetSystemDateAndTime/>";
    char *xml = NULL;
    size_t len;
    int rc;

    rc = onvif_soap_call(c, onvif_client_device_url(c),
                         ONVIF_ACTION_DEVICE "GetSystemDateAndTime", body,
                         false, 0, &xml, &len, err);
    if (rc == -EACCES)
        rc = onvif_soap_call(c, onvif_client_device_url(c),
                             ONVIF_ACTION_DEVICE "GetSystemDateAndTime",
                             body, true, 0, &xml, &len, err);
    if (rc < 0)
        return rc;
    rc = onvif_parse_system_date_and_time(xml, len, utc, dst, err);
    free(xml);
    return onvif_err_prefix(c, "GetSystemDateAndTime", rc, err);
}

int onvif_client_connect(onvif_client_t *c, onvif_err_t *err)
{
    onvif_services_t s = {0};
    char *xml = NULL;
    size_t len;
    time_t cam;
    int rc;

    rc = onvif_read_clock(c, &cam, NULL, err);
    if (rc < 0)
        return rc;
    onvif_client_set_time_offset(c, (int64_t)cam - (int64_t)time(NULL));

    rc = onvif_soap_call(c, onvif_client_device_url(c),
                         ONVIF_ACTION_DEVICE "GetServices",
                         "<tds:GetServices><tds:IncludeCapability>false"
                         "</tds:IncludeCapability></tds:GetServices>",
                         true, 0, &xml, &len, err);
    if (rc == 0) {
        rc = onvif_parse_services(xml, len, &s, err);
        free(xml);
        xml = NULL;
    }
    if (rc < 0 && rc != -EOPNOTSUPP && rc != -EPROTO && rc != -EINVAL &&
        rc != -EBADMSG)
        return onvif_err_prefix(c, "GetServices", rc, err);
    if (rc < 0) {
        /* Cameras older than ONVIF 2.0 implement only GetCapabilities. */
        rc = onvif_soap_call(c, onvif_client_device_url(c),
                             ONVIF_ACTION_DEVICE "GetCapabilities",
                             "<tds:GetCapabilities><tds:Category>All"
                             "</tds:Category></tds:GetCapabilities>",
                             true, 0, &xml, &len, err);
        if (rc < 0)
            return rc;
        rc = onvif_parse_capabilities(xml, len, &s, err);
        free(xml);
        if (rc < 0)
            return onvif_err_prefix(c, "GetCapabilities", rc, err);
    }

    /* The device service is the one we reached; the others may carry an
     * address that only works inside the camera's own network. */
    free(s.device);
    s.device = strdup(onvif_client_device_url(c));
    onvif_fix_url(c, &s.media);
    onvif_fix_url(c, &s.media2);
    onvif_fix_url(c, &s.ptz);
    onvif_fix_url(c, &s.events);
    onvif_fix_url(c, &s.imaging);
    onvif_client_set_services(c, &s);
    return 0;
}

int onvif_client_ensure(onvif_client_t *c, onvif_err_t *err)
{
    return onvif_client_connected(c) ? 0 : onvif_client_connect(c, err);
}

/* ---- Probe ----------------------------------------------------------- */

void onvif_device_free(onvif_device_t *dev)
{
    if (dev == NULL)
        return;
    free(dev->device_url);
    onvif_device_info_clear(&dev->info);
    onvif_services_clear(&dev->services);
    onvif_profiles_free(dev->profiles, dev->profile_count);
    free(dev);
}

/* Appends one line to dev->notes, dropping what does not fit. */
static void onvif_note(onvif_device_t *dev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void onvif_note(onvif_device_t *dev, const char *fmt, ...)
{
    size_t used = strlen(dev->notes);
    va_list ap;

    if (used + 2 >= sizeof(dev->notes))
        return;
    va_start(ap, fmt);
    vsnprintf(dev->notes + used, sizeof(dev->notes) - used, fmt, ap);
    va_end(ap);
    used = strlen(dev->notes);
    if (used + 1 < sizeof(dev->notes)) {
        dev->notes[used] = '\n';
        dev->notes[used + 1] = '\0';
    }
}

/* Asks for the stream or snapshot URI of one profile over Media or
 * Media2 and rewrites it. */
static int onvif_profile_uri(onvif_client_t *c, bool media2, bool snapshot,
                             const char *token, char **uri, bool *rewritten,
                             onvif_err_t *err)
{
    const onvif_services_t *s = onvif_client_services(c);
    char *tok = onvif_xml_escape(token), *body = NULL, *xml = NULL;
    char *raw = NULL;
    size_t len;
    int rc, n;

    *uri = NULL;
    *rewritten = false;
    if (tok == NULL)
        return onvif_fail(err, -ENOMEM, "out of memory");
    if (snapshot)
        n = asprintf(&body, "<%s:GetSnapshotUri><%s:ProfileToken>%s</%s:"
                     "ProfileToken></%s:GetSnapshotUri>",
                     media2 ? "tr2" : "trt", media2 ? "tr2" : "trt", tok,
                     media2 ? "tr2" : "trt", media2 ? "tr2" : "trt");
    else if (media2)
        n = asprintf(&body, "<tr2:GetStreamUri><tr2:Protocol>RTSP</tr2:"
                     "Protocol><tr2:ProfileToken>%s</tr2:ProfileToken>"
                     "</tr2:GetStreamUri>", tok);
    else
        n = asprintf(&body, "<trt:GetStreamUri><trt:StreamSetup><tt:Stream>"
                     "RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>"
                     "RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>"
                     "<trt:ProfileToken>%s</trt:ProfileToken>"
                     "</trt:GetStreamUri>", tok);
    free(tok);
    if (n < 0)
        return onvif_fail(err, -ENOMEM, "out of memory");

    rc = onvif_call(c, media2 ? s->media2 : s->media,
                    snapshot ? (media2 ? ONVIF_ACTION_MEDIA2 "GetSnapshotUri"
                                       : ONVIF_ACTION_MEDIA "GetSnapshotUri")
                             : (media2 ? ONVIF_ACTION_MEDIA2 "GetStreamUri"
                                       : ONVIF_ACTION_MEDIA "GetStreamUri"),
                    body, true, 0, &xml, &len, err);
    free(body);
    if (rc < 0)
        return rc;
    rc = onvif_parse_media_uri(xml, len, &raw, err);
    free(xml);
    if (rc < 0)
        return onvif_err_prefix(c, snapshot ? "GetSnapshotUri"
                                            : "GetStreamUri", rc, err);
    rc = onvif_uri_rewrite(raw, onvif_client_host(c), uri, rewritten, err);
    free(raw);
    return rc;
}

/* Fetches the profiles over Media2 or Media. */
static int onvif_fetch_profiles(onvif_client_t *c, bool media2,
                                onvif_profile_t **profiles, size_t *count,
                                onvif_err_t *err)
{
    const onvif_services_t *s = onvif_client_services(c);
    char *xml = NULL;
    size_t len;
    int rc;

    if (media2)
        rc = onvif_call(c, s->media2, ONVIF_ACTION_MEDIA2 "GetProfiles",
                        "<tr2:GetProfiles><tr2:Type>All</tr2:Type>"
                        "</tr2:GetProfiles>", true, 0, &xml, &len, err);
    else
        rc = onvif_call(c, s->media, ONVIF_ACTION_MEDIA "GetProfiles",
                        "<trt:GetProfiles/>", true, 0, &xml, &len, err);
    if (rc < 0)
        return rc;
    rc = onvif_parse_profiles(xml, len, profiles, count, err);
    free(xml);
    return onvif_err_prefix(c, "GetProfiles", rc, err);
}

/* Picks the main (largest) and sub (smallest) profiles. Profiles with an
 * unknown resolution count only when none is known. */
static void onvif_pick_streams(onvif_device_t *dev)
{
    long best = -1, least = -1;
    size_t i;

    dev->main_profile = dev->sub_profile = -1;
    for (i = 0; i < dev->profile_count; i++) {
        const onvif_profile_t *p = &dev->profiles[i];
        long area = (long)p->width * p->height;

        if (p->stream_uri == NULL || area <= 0)
            continue;
        if (area > best) {
            best = area;
            dev->main_profile = (int)i;
        }
        if (least < 0 || area < least) {
            least = area;
            dev->sub_profile = (int)i;
        }
    }
    if (dev->main_profile >= 0)
        return;
    for (i = 0; i < dev->profile_count; i++) {
        if (dev->profiles[i].stream_uri == NULL)
            continue;
        if (dev->main_profile < 0)
            dev->main_profile = (int)i;
        dev->sub_profile = (int)i;
    }
}

int onvif_device_probe_client(onvif_client_t *c, onvif_device_t **out,
                              onvif_err_t *err)
{
    const onvif_services_t *s;
    onvif_device_t *dev;
    char *xml = NULL;
    size_t len, i, uris = 0;
    bool media2 = false;
    int rc;

    *out = NULL;
    rc = onvif_client_ensure(c, err);
    if (rc < 0)
        return rc;
    s = onvif_client_services(c);
    dev = calloc(1, sizeof(*dev));
    if (dev == NULL)
        return onvif_fail(err, -ENOMEM, "out of memory");
    dev->device_url = strdup(onvif_client_device_url(c));
    dev->time_offset_s = onvif_client_time_offset(c);
    dev->main_profile = dev->sub_profile = -1;

    rc = onvif_soap_call(c, onvif_client_device_url(c),
                         ONVIF_ACTION_DEVICE "GetDeviceInformation",
                         "<tds:GetDeviceInformation/>", true, 0, &xml, &len,
                         err);
    if (rc < 0)
        goto fail;
    rc = onvif_parse_device_information(xml, len, &dev->info, err);
    free(xml);
    if (rc < 0) {
        onvif_err_prefix(c, "GetDeviceInformation", rc, err);
        goto fail;
    }

    /* Media's GetProfiles carries the encoder settings in every capture
     * in tests/data/onvif, Media2's often not, so Media2 is used only
     * when the camera has no Media service. */
    if (s->media == NULL && s->media2 != NULL)
        media2 = true;
    rc = onvif_fetch_profiles(c, media2, &dev->profiles, &dev->profile_count,
                              err);
    if (rc < 0)
        goto fail;

    for (i = 0; i < dev->profile_count; i++) {
        onvif_profile_t *p = &dev->profiles[i];
        onvif_err_t e;

        if (onvif_profile_uri(c, media2, false, p->token, &p->stream_uri,
                              &p->stream_uri_rewritten, &e) < 0) {
            onvif_note(dev, "profile %s: no stream URI: %s", p->token,
                       e.msg);
            continue;
        }
        uris++;
        if (p->stream_uri_rewritten)
            onvif_note(dev, "profile %s: stream URI host rewritten to %s",
                       p->token, onvif_client_host(c));
        if (onvif_profile_uri(c, media2, true, p->token, &p->snapshot_uri,
                              &p->snapshot_uri_rewritten, &e) < 0)
            onvif_note(dev, "profile %s: no snapshot URI: %s", p->token,
                       e.msg);
        else if (p->snapshot_uri_rewritten)
            onvif_note(dev, "profile %s: snapshot URI host rewritten to %s",
                       p->token, onvif_client_host(c));
    }
    if (uris == 0) {
        rc = onvif_fail(err, -EPROTO, "camera %s: GetStreamUri: no profile "
                        "of %zu has a stream URI: %s", onvif_client_host(c),
                        dev->profile_count, dev->notes);
        goto fail;
    }
    onvif_pick_streams(dev);

    dev->services.device = strdup(onvif_client_device_url(c));
    dev->services.media = s->media ? strdup(s->media) : NULL;
    dev->services.media2 = s->media2 ? strdup(s->media2) : NULL;
    dev->services.ptz = s->ptz ? strdup(s->ptz) : NULL;
    dev->services.events = s->events ? strdup(s->events) : NULL;
    dev->services.imaging = s->imaging ? strdup(s->imaging) : NULL;
    *out = dev;
    return 0;
fail:
    onvif_device_free(dev);
    return rc;
}

int onvif_device_probe(const char *address, const onvif_credentials_t *cred,
                       const onvif_client_options_t *opts,
                       onvif_device_t **out, onvif_err_t *err)
{
    onvif_client_t *c = NULL;
    int rc;

    *out = NULL;
    rc = onvif_client_new(address, cred, opts, &c, err);
    if (rc < 0)
        return rc;
    rc = onvif_device_probe_client(c, out, err);
    onvif_client_free(c);
    return rc;
}

/* ---- Date and time --------------------------------------------------- */

int onvif_get_system_time(onvif_client_t *c, time_t *utc, onvif_err_t *err)
{
    return onvif_read_clock(c, utc, NULL, err);
}

int onvif_set_system_time(onvif_client_t *c, time_t utc, onvif_err_t *err)
{
    char *body = NULL, *xml = NULL;
    time_t cam;
    bool dst = false;
    struct tm tm;
    size_t len;
    int rc;

    /* Read first so that the DaylightSavings flag is kept. */
    rc = onvif_read_clock(c, &cam, &dst, err);
    if (rc < 0)
        return rc;
    onvif_client_set_time_offset(c, (int64_t)cam - (int64_t)time(NULL));
    gmtime_r(&utc, &tm);
    if (asprintf(&body,
                 "<tds:SetSystemDateAndTime><tds:DateTimeType>Manual"
                 "</tds:DateTimeType><tds:DaylightSavings>%s"
                 "</tds:DaylightSavings><tds:UTCDateTime><tt:Time>"
                 "<tt:Hour>%d</tt:Hour><tt:Minute>%d</tt:Minute>"
                 "<tt:Second>%d</tt:Second></tt:Time><tt:Date>"
                 "<tt:Year>%d</tt:Year><tt:Month>%d</tt:Month>"
                 "<tt:Day>%d</tt:Day></tt:Date></tds:UTCDateTime>"
                 "</tds:SetSystemDateAndTime>",
                 dst ? "true" : "false", tm.tm_hour, tm.tm_min, tm.tm_sec,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) < 0)
        return onvif_fail(err, -ENOMEM, "out of memory");
    rc = onvif_soap_call(c, onvif_client_device_url(c),
                         ONVIF_ACTION_DEVICE "SetSystemDateAndTime", body,
                         true, 0, &xml, &len, err);
    free(body);
    if (rc < 0)
        return rc;
    rc = onvif_parse_empty(xml, len, "SetSystemDateAndTimeResponse", err);
    free(xml);
    if (rc < 0)
        return onvif_err_prefix(c, "SetSystemDateAndTime", rc, err);

    /* The camera's clock is now ours plus (utc - now). */
    onvif_client_set_time_offset(c, (int64_t)utc - (int64_t)time(NULL));
    return 0;
}
