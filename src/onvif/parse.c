/*
 * Parsers of ONVIF responses: device, media, PTZ, events.
 *
 * Each parser reads a whole SOAP envelope, turns a Fault into its error
 * code, finds the expected response element and copies what the VMS
 * needs into plain C structures. Missing optional fields stay zero or
 * NULL; a missing response element is an error.
 */
#include "onvif/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Opens a response: parses the XML, maps a Fault to its code, and finds
 * the body element named expected (one of several names separated by
 * '|'). *doc is freed with xmlFreeDoc() by the caller on success. */
static int onvif_parse_open(const char *xml, size_t len,
                            const char *expected, xmlDocPtr *doc,
                            xmlNode **resp, onvif_err_t *err)
{
    xmlNode *first;
    char names[128], *save = NULL, *name;
    int rc;

    rc = onvif_xml_read(xml, len, expected, doc, err);
    if (rc < 0)
        return rc;
    first = onvif_xml_body_first(*doc);
    if (first == NULL) {
        rc = onvif_fail(err, -EPROTO, "%s: response has no SOAP Body",
                        expected);
        goto fail;
    }
    if (onvif_xml_is(first, ONVIF_NS_SOAP, "Fault")) {
        onvif_fault_t f;

        onvif_xml_read_fault(first, &f);
        xmlFreeDoc(*doc);
        *doc = NULL;
        return onvif_fail(err, onvif_fault_code(&f),
                          "%s: SOAP fault %s%s%s: %s", expected, f.code,
                          f.subcode[0] ? "/" : "", f.subcode,
                          f.reason[0] ? f.reason : "no reason given");
    }
    snprintf(names, sizeof(names), "%s", expected);
    for (name = strtok_r(names, "|", &save); name != NULL;
         name = strtok_r(NULL, "|", &save)) {
        if (onvif_xml_is(first, ONVIF_NS_ANY, name)) {
            *resp = first;
            return 0;
        }
    }
    rc = onvif_fail(err, -EPROTO, "%s: expected that element in the SOAP "
                    "Body, found '%s'", expected, (const char *)first->name);
fail:
    xmlFreeDoc(*doc);
    *doc = NULL;
    return rc;
}

/* Parses the text of node as an integer; 0 when absent or invalid. */
static long onvif_node_long(const xmlNode *node)
{
    char *text = onvif_xml_text(node), *end;
    long v;

    if (text == NULL)
        return 0;
    v = strtol(text, &end, 10);
    if (end == text)
        v = 0;
    free(text);
    return v;
}

static double onvif_node_double(const xmlNode *node)
{
    char *text = onvif_xml_text(node), *end;
    double v;

    if (text == NULL)
        return 0;
    v = strtod(text, &end);
    if (end == text)
        v = 0;
    free(text);
    return v;
}

/* Reads a double attribute into *out; returns whether it was present. */
static bool onvif_attr_double(const xmlNode *node, const char *name,
                              double *out)
{
    char *text = onvif_xml_attr(node, name), *end;
    bool ok = false;

    if (text != NULL) {
        *out = strtod(text, &end);
        ok = end != text;
    }
    free(text);
    return ok;
}

/* ---- Device ---------------------------------------------------------- */

void onvif_device_info_clear(onvif_device_info_t *info)
{
    if (info == NULL)
        return;
    free(info->manufacturer);
    free(info->model);
    free(info->firmware_version);
    free(info->serial_number);
    free(info->hardware_id);
    memset(info, 0, sizeof(*info));
}

int onvif_parse_device_information(const char *xml, size_t len,
                                   onvif_device_info_t *info,
                                   onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r;
    int rc;

    memset(info, 0, sizeof(*info));
    rc = onvif_parse_open(xml, len, "GetDeviceInformationResponse", &doc,
                          &r, err);
    if (rc < 0)
        return rc;
    info->manufacturer =
        onvif_xml_text(onvif_xml_child(r, ONVIF_NS_ONVIF, "Manufacturer"));
    info->model = onvif_xml_text(onvif_xml_child(r, ONVIF_NS_ONVIF, "Model"));
    info->firmware_version = onvif_xml_text(
        onvif_xml_child(r, ONVIF_NS_ONVIF, "FirmwareVersion"));
    info->serial_number =
        onvif_xml_text(onvif_xml_child(r, ONVIF_NS_ONVIF, "SerialNumber"));
    info->hardware_id =
        onvif_xml_text(onvif_xml_child(r, ONVIF_NS_ONVIF, "HardwareId"));
    xmlFreeDoc(doc);
    return 0;
}

void onvif_services_clear(onvif_services_t *s)
{
    if (s == NULL)
        return;
    free(s->device);
    free(s->media);
    free(s->media2);
    free(s->ptz);
    free(s->events);
    free(s->imaging);
    memset(s, 0, sizeof(*s));
}

/* Stores xaddr in the slot that namespace ns belongs to. */
static void onvif_services_set(onvif_services_t *s, const char *ns,
                               char *xaddr)
{
    static const struct {
        const char *ns;
        size_t offset;
    } map[] = {
        {"http://www.onvif.org/ver10/device/wsdl",
         offsetof(onvif_services_t, device)},
        {"http://www.onvif.org/ver10/media/wsdl",
         offsetof(onvif_services_t, media)},
        {"http://www.onvif.org/ver20/media/wsdl",
         offsetof(onvif_services_t, media2)},
        {"http://www.onvif.org/ver20/ptz/wsdl",
         offsetof(onvif_services_t, ptz)},
        {"http://www.onvif.org/ver10/events/wsdl",
         offsetof(onvif_services_t, events)},
        {"http://www.onvif.org/ver20/imaging/wsdl",
         offsetof(onvif_services_t, imaging)},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        char **slot = (char **)((char *)s + map[i].offset);

        if (strcmp(ns, map[i].ns) == 0 && *slot == NULL) {
            *slot = xaddr;
            return;
        }
    }
    free(xaddr);
}

int onvif_parse_services(const char *xml, size_t len, onvif_services_t *s,
                         onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *svc;
    int rc;

    memset(s, 0, sizeof(*s));
    rc = onvif_parse_open(xml, len, "GetServicesResponse", &doc, &r, err);
    if (rc < 0)
        return rc;
    for (svc = onvif_xml_child(r, ONVIF_NS_ONVIF, "Service"); svc != NULL;
         svc = onvif_xml_next(svc, ONVIF_NS_ONVIF, "Service")) {
        char *ns = onvif_xml_text(
            onvif_xml_child(svc, ONVIF_NS_ONVIF, "Namespace"));
        char *xaddr =
            onvif_xml_text(onvif_xml_child(svc, ONVIF_NS_ONVIF, "XAddr"));

        if (ns != NULL && xaddr != NULL && xaddr[0] != '\0')
            onvif_services_set(s, ns, xaddr);
        else
            free(xaddr);
        free(ns);
    }
    xmlFreeDoc(doc);
    return 0;
}

int onvif_parse_capabilities(const char *xml, size_t len,
                             onvif_services_t *s, onvif_err_t *err)
{
    static const struct {
        const char *element;
        size_t offset;
    } map[] = {
        {"Device", offsetof(onvif_services_t, device)},
        {"Media", offsetof(onvif_services_t, media)},
        {"PTZ", offsetof(onvif_services_t, ptz)},
        {"Events", offsetof(onvif_services_t, events)},
        {"Imaging", offsetof(onvif_services_t, imaging)},
    };
    xmlDocPtr doc = NULL;
    xmlNode *r, *caps, *ext, *m2;
    size_t i;
    int rc;

    memset(s, 0, sizeof(*s));
    rc = onvif_parse_open(xml, len, "GetCapabilitiesResponse", &doc, &r,
                          err);
    if (rc < 0)
        return rc;
    caps = onvif_xml_child(r, ONVIF_NS_ONVIF, "Capabilities");
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        xmlNode *el = onvif_xml_child(caps, ONVIF_NS_ONVIF, map[i].element);
        char *x = onvif_xml_text(onvif_xml_child(el, ONVIF_NS_ONVIF,
                                                 "XAddr"));

        if (x != NULL && x[0] == '\0') {
            free(x);
            x = NULL;
        }
        *(char **)((char *)s + map[i].offset) = x;
    }

    /* Media2 hides under Extension on cameras that list it at all. */
    ext = onvif_xml_child(caps, ONVIF_NS_ONVIF, "Extension");
    m2 = onvif_xml_find(ext, ONVIF_NS_ONVIF, "Media2");
    if (m2 != NULL) {
        s->media2 = onvif_xml_text(onvif_xml_child(m2, ONVIF_NS_ONVIF,
                                                   "XAddr"));
        if (s->media2 != NULL && s->media2[0] == '\0') {
            free(s->media2);
            s->media2 = NULL;
        }
    }
    xmlFreeDoc(doc);
    if (caps == NULL)
        return onvif_fail(err, -EPROTO, "GetCapabilitiesResponse: no "
                          "Capabilities element");
    return 0;
}

/* ---- Media ----------------------------------------------------------- */

void onvif_profiles_free(onvif_profile_t *p, size_t count)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < count; i++) {
        free(p[i].token);
        free(p[i].name);
        free(p[i].encoding);
        free(p[i].ptz_configuration_token);
        free(p[i].stream_uri);
        free(p[i].snapshot_uri);
    }
    free(p);
}

/* Fills the video fields from a Media VideoEncoderConfiguration or a
 * Media2 VideoEncoder element; both keep Resolution and RateControl. */
static void onvif_profile_read_encoder(onvif_profile_t *p,
                                       const xmlNode *enc)
{
    xmlNode *rate;

    p->encoding = onvif_xml_text(onvif_xml_child(enc, ONVIF_NS_ONVIF,
                                                 "Encoding"));
    p->width = (int)onvif_node_long(onvif_xml_path(enc, "Resolution",
                                                   "Width", NULL));
    p->height = (int)onvif_node_long(onvif_xml_path(enc, "Resolution",
                                                    "Height", NULL));
    rate = onvif_xml_child(enc, ONVIF_NS_ONVIF, "RateControl");
    p->frame_rate = onvif_node_double(onvif_xml_child(rate, ONVIF_NS_ONVIF,
                                                      "FrameRateLimit"));
    p->bitrate_kbps = (int)onvif_node_long(
        onvif_xml_child(rate, ONVIF_NS_ONVIF, "BitrateLimit"));
    if (p->width < 0 || p->width > 65535 || p->height < 0 ||
        p->height > 65535)
        p->width = p->height = 0;
}

int onvif_parse_profiles(const char *xml, size_t len,
                         onvif_profile_t **out, size_t *count,
                         onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *prof;
    onvif_profile_t *list = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *count = 0;
    rc = onvif_parse_open(xml, len, "GetProfilesResponse", &doc, &r, err);
    if (rc < 0)
        return rc;
    for (prof = onvif_xml_child(r, ONVIF_NS_ONVIF, "Profiles"); prof != NULL;
         prof = onvif_xml_next(prof, ONVIF_NS_ONVIF, "Profiles")) {
        onvif_profile_t *p;
        xmlNode *enc, *conf, *ptz;

        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            onvif_profile_t *grown = realloc(list, ncap * sizeof(*list));

            if (grown == NULL) {
                rc = onvif_fail(err, -ENOMEM, "GetProfiles: out of memory");
                goto fail;
            }
            list = grown;
            cap = ncap;
        }
        p = &list[n++];
        memset(p, 0, sizeof(*p));
        p->token = onvif_xml_attr(prof, "token");
        p->name = onvif_xml_text(onvif_xml_child(prof, ONVIF_NS_ONVIF,
                                                 "Name"));

        /* Media: children of Profiles. Media2: under Configurations. */
        conf = onvif_xml_child(prof, ONVIF_NS_ONVIF, "Configurations");
        enc = onvif_xml_child(prof, ONVIF_NS_ONVIF,
                              "VideoEncoderConfiguration");
        if (enc == NULL)
            enc = onvif_xml_child(conf, ONVIF_NS_ONVIF, "VideoEncoder");
        if (enc != NULL)
            onvif_profile_read_encoder(p, enc);
        ptz = onvif_xml_child(prof, ONVIF_NS_ONVIF, "PTZConfiguration");
        if (ptz == NULL)
            ptz = onvif_xml_child(conf, ONVIF_NS_ONVIF, "PTZ");
        if (ptz != NULL)
            p->ptz_configuration_token = onvif_xml_attr(ptz, "token");
        if (p->token == NULL) {
            rc = onvif_fail(err, -EPROTO, "GetProfilesResponse: profile "
                            "%zu has no token attribute", n);
            goto fail;
        }
    }
    xmlFreeDoc(doc);
    *out = list;
    *count = n;
    return 0;
fail:
    onvif_profiles_free(list, n);
    xmlFreeDoc(doc);
    return rc;
}

int onvif_parse_media_uri(const char *xml, size_t len, char **uri,
                          onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *u;
    int rc;

    *uri = NULL;
    rc = onvif_parse_open(xml, len,
                          "GetStreamUriResponse|GetSnapshotUriResponse",
                          &doc, &r, err);
    if (rc < 0)
        return rc;

    /* Media: MediaUri/Uri. Media2: Uri directly. */
    u = onvif_xml_path(r, "MediaUri", "Uri", NULL);
    if (u == NULL)
        u = onvif_xml_child(r, ONVIF_NS_ONVIF, "Uri");
    *uri = onvif_xml_text(u);
    xmlFreeDoc(doc);
    if (*uri == NULL || (*uri)[0] == '\0') {
        free(*uri);
        *uri = NULL;
        return onvif_fail(err, -EPROTO, "GetStreamUri/GetSnapshotUri: "
                          "response has no Uri");
    }
    return 0;
}

/* ---- Date and time --------------------------------------------------- */

int onvif_parse_system_date_and_time(const char *xml, size_t len,
                                     time_t *utc, bool *dst,
                                     onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *dt, *t, *d;
    char text[64];
    int rc;

    rc = onvif_parse_open(xml, len, "GetSystemDateAndTimeResponse", &doc,
                          &r, err);
    if (rc < 0)
        return rc;
    if (dst != NULL) {
        char *flag = onvif_xml_text(onvif_xml_path(
            r, "SystemDateAndTime", "DaylightSavings", NULL));

        *dst = flag != NULL && strcmp(flag, "true") == 0;
        free(flag);
    }
    dt = onvif_xml_path(r, "SystemDateAndTime", "UTCDateTime", NULL);
    t = onvif_xml_child(dt, ONVIF_NS_ONVIF, "Time");
    d = onvif_xml_child(dt, ONVIF_NS_ONVIF, "Date");
    if (t == NULL || d == NULL) {
        xmlFreeDoc(doc);
        return onvif_fail(err, -EPROTO, "GetSystemDateAndTime: response "
                          "has no UTCDateTime with Date and Time; set the "
                          "camera clock or its time zone");
    }
    snprintf(text, sizeof(text), "%04ld-%02ld-%02ldT%02ld:%02ld:%02ldZ",
             onvif_node_long(onvif_xml_child(d, ONVIF_NS_ONVIF, "Year")),
             onvif_node_long(onvif_xml_child(d, ONVIF_NS_ONVIF, "Month")),
             onvif_node_long(onvif_xml_child(d, ONVIF_NS_ONVIF, "Day")),
             onvif_node_long(onvif_xml_child(t, ONVIF_NS_ONVIF, "Hour")),
             onvif_node_long(onvif_xml_child(t, ONVIF_NS_ONVIF, "Minute")),
             onvif_node_long(onvif_xml_child(t, ONVIF_NS_ONVIF, "Second")));
    xmlFreeDoc(doc);
    if (onvif_parse_datetime(text, utc) < 0)
        return onvif_fail(err, -EPROTO, "GetSystemDateAndTime: invalid "
                          "UTC date and time '%s'", text);
    return 0;
}

/* ---- PTZ ------------------------------------------------------------- */

/* Reads PanTilt x/y and Zoom x children of node into v. */
static bool onvif_ptz_read_vector(const xmlNode *node, onvif_ptz_vector_t *v)
{
    xmlNode *pt = onvif_xml_child(node, ONVIF_NS_ONVIF, "PanTilt");
    xmlNode *z = onvif_xml_child(node, ONVIF_NS_ONVIF, "Zoom");

    memset(v, 0, sizeof(*v));
    if (pt != NULL)
        v->has_pan_tilt = onvif_attr_double(pt, "x", &v->pan) &&
                          onvif_attr_double(pt, "y", &v->tilt);
    if (z != NULL)
        v->has_zoom = onvif_attr_double(z, "x", &v->zoom);
    return v->has_pan_tilt || v->has_zoom;
}

void onvif_ptz_presets_free(onvif_ptz_preset_t *p, size_t count)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < count; i++) {
        free(p[i].token);
        free(p[i].name);
    }
    free(p);
}

/* Grows a typed array by one zeroed element; returns it or NULL. */
static void *onvif_array_push(void **list, size_t *n, size_t *cap,
                              size_t size)
{
    char *slot;

    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        void *grown = realloc(*list, ncap * size);

        if (grown == NULL)
            return NULL;
        *list = grown;
        *cap = ncap;
    }
    slot = (char *)*list + (*n)++ * size;
    memset(slot, 0, size);
    return slot;
}

int onvif_parse_ptz_presets(const char *xml, size_t len,
                            onvif_ptz_preset_t **out, size_t *count,
                            onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *pr;
    void *list = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *count = 0;
    rc = onvif_parse_open(xml, len, "GetPresetsResponse", &doc, &r, err);
    if (rc < 0)
        return rc;
    for (pr = onvif_xml_child(r, ONVIF_NS_ONVIF, "Preset"); pr != NULL;
         pr = onvif_xml_next(pr, ONVIF_NS_ONVIF, "Preset")) {
        onvif_ptz_preset_t *p = onvif_array_push(&list, &n, &cap,
                                                 sizeof(*p));

        if (p == NULL) {
            onvif_ptz_presets_free(list, n);
            xmlFreeDoc(doc);
            return onvif_fail(err, -ENOMEM, "GetPresets: out of memory");
        }
        p->token = onvif_xml_attr(pr, "token");
        p->name = onvif_xml_text(onvif_xml_child(pr, ONVIF_NS_ONVIF,
                                                 "Name"));
        p->has_position = onvif_ptz_read_vector(
            onvif_xml_child(pr, ONVIF_NS_ONVIF, "PTZPosition"),
            &p->position);
    }
    xmlFreeDoc(doc);
    *out = list;
    *count = n;
    return 0;
}

int onvif_parse_ptz_status(const char *xml, size_t len,
                           onvif_ptz_status_t *st, onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *s, *mv;
    char *text;
    int rc;

    memset(st, 0, sizeof(*st));
    rc = onvif_parse_open(xml, len, "GetStatusResponse", &doc, &r, err);
    if (rc < 0)
        return rc;
    s = onvif_xml_child(r, ONVIF_NS_ONVIF, "PTZStatus");
    st->has_position = onvif_ptz_read_vector(
        onvif_xml_child(s, ONVIF_NS_ONVIF, "Position"), &st->position);
    mv = onvif_xml_child(s, ONVIF_NS_ONVIF, "MoveStatus");
    text = onvif_xml_text(onvif_xml_child(mv, ONVIF_NS_ONVIF, "PanTilt"));
    snprintf(st->pan_tilt_move, sizeof(st->pan_tilt_move), "%s",
             text ? text : "");
    free(text);
    text = onvif_xml_text(onvif_xml_child(mv, ONVIF_NS_ONVIF, "Zoom"));
    snprintf(st->zoom_move, sizeof(st->zoom_move), "%s", text ? text : "");
    free(text);
    text = onvif_xml_text(onvif_xml_child(s, ONVIF_NS_ONVIF, "Error"));
    snprintf(st->error, sizeof(st->error), "%s", text ? text : "");
    free(text);
    text = onvif_xml_text(onvif_xml_child(s, ONVIF_NS_ONVIF, "UtcTime"));
    if (text != NULL && onvif_parse_datetime(text, &st->utc_time) < 0)
        st->utc_time = 0;
    free(text);
    xmlFreeDoc(doc);
    if (s == NULL)
        return onvif_fail(err, -EPROTO, "GetStatusResponse: no PTZStatus "
                          "element");
    return 0;
}

void onvif_ptz_nodes_free(onvif_ptz_node_t *nodes, size_t count)
{
    size_t i;

    if (nodes == NULL)
        return;
    for (i = 0; i < count; i++) {
        free(nodes[i].token);
        free(nodes[i].name);
    }
    free(nodes);
}

int onvif_parse_ptz_nodes(const char *xml, size_t len,
                          onvif_ptz_node_t **out, size_t *count,
                          onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *nd;
    void *list = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *count = 0;
    rc = onvif_parse_open(xml, len, "GetNodesResponse", &doc, &r, err);
    if (rc < 0)
        return rc;
    for (nd = onvif_xml_child(r, ONVIF_NS_ONVIF, "PTZNode"); nd != NULL;
         nd = onvif_xml_next(nd, ONVIF_NS_ONVIF, "PTZNode")) {
        onvif_ptz_node_t *p = onvif_array_push(&list, &n, &cap, sizeof(*p));
        char *home;

        if (p == NULL) {
            onvif_ptz_nodes_free(list, n);
            xmlFreeDoc(doc);
            return onvif_fail(err, -ENOMEM, "GetNodes: out of memory");
        }
        p->token = onvif_xml_attr(nd, "token");
        p->name = onvif_xml_text(onvif_xml_child(nd, ONVIF_NS_ONVIF,
                                                 "Name"));
        p->max_presets = (int)onvif_node_long(
            onvif_xml_child(nd, ONVIF_NS_ONVIF, "MaximumNumberOfPresets"));
        home = onvif_xml_text(onvif_xml_child(nd, ONVIF_NS_ONVIF,
                                              "HomeSupported"));
        p->home_supported = home != NULL && (strcmp(home, "true") == 0 ||
                                             strcmp(home, "1") == 0);
        free(home);
    }
    xmlFreeDoc(doc);
    *out = list;
    *count = n;
    return 0;
}

void onvif_ptz_configurations_free(onvif_ptz_configuration_t *c,
                                   size_t count)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < count; i++) {
        free(c[i].token);
        free(c[i].name);
        free(c[i].node_token);
    }
    free(c);
}

/* Parses an xs:duration such as "PT5S" or "PT1M30.5S" into ms; 0 when
 * absent or invalid. */
static int onvif_duration_ms(const char *text)
{
    double total = 0, v;
    const char *p;
    char *end;
    bool in_time = false;

    if (text == NULL || text[0] != 'P')
        return 0;
    for (p = text + 1; *p != '\0';) {
        if (*p == 'T') {
            in_time = true;
            p++;
            continue;
        }
        v = strtod(p, &end);
        if (end == p)
            return 0;
        switch (*end) {
        case 'D': total += v * 86400; break;
        case 'H': total += v * 3600; break;
        case 'M': total += in_time ? v * 60 : v * 2592000; break;
        case 'S': total += v; break;
        default: return 0;
        }
        p = end + 1;
    }
    if (total < 0 || total > 86400)
        return 0;
    return (int)(total * 1000);
}

int onvif_parse_ptz_configurations(const char *xml, size_t len,
                                   onvif_ptz_configuration_t **out,
                                   size_t *count, onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *c;
    void *list = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *count = 0;
    rc = onvif_parse_open(xml, len, "GetConfigurationsResponse", &doc, &r,
                          err);
    if (rc < 0)
        return rc;
    for (c = onvif_xml_child(r, ONVIF_NS_ONVIF, "PTZConfiguration");
         c != NULL; c = onvif_xml_next(c, ONVIF_NS_ONVIF,
                                       "PTZConfiguration")) {
        onvif_ptz_configuration_t *p =
            onvif_array_push(&list, &n, &cap, sizeof(*p));
        char *timeout;

        if (p == NULL) {
            onvif_ptz_configurations_free(list, n);
            xmlFreeDoc(doc);
            return onvif_fail(err, -ENOMEM, "GetConfigurations: out of "
                              "memory");
        }
        p->token = onvif_xml_attr(c, "token");
        p->name = onvif_xml_text(onvif_xml_child(c, ONVIF_NS_ONVIF,
                                                 "Name"));
        p->node_token = onvif_xml_text(onvif_xml_child(c, ONVIF_NS_ONVIF,
                                                       "NodeToken"));
        timeout = onvif_xml_text(onvif_xml_child(c, ONVIF_NS_ONVIF,
                                                 "DefaultPTZTimeout"));
        p->default_timeout_ms = onvif_duration_ms(timeout);
        free(timeout);
    }
    xmlFreeDoc(doc);
    *out = list;
    *count = n;
    return 0;
}

int onvif_parse_set_preset(const char *xml, size_t len, char **token,
                           onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r;
    int rc;

    *token = NULL;
    rc = onvif_parse_open(xml, len, "SetPresetResponse", &doc, &r, err);
    if (rc < 0)
        return rc;
    *token = onvif_xml_text(onvif_xml_child(r, ONVIF_NS_ONVIF,
                                            "PresetToken"));
    xmlFreeDoc(doc);
    if (*token == NULL)
        return onvif_fail(err, -EPROTO, "SetPresetResponse: no "
                          "PresetToken");
    return 0;
}

int onvif_parse_empty(const char *xml, size_t len, const char *expected,
                      onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r;
    int rc;

    rc = onvif_parse_open(xml, len, expected, &doc, &r, err);
    if (rc < 0)
        return rc;
    xmlFreeDoc(doc);
    return 0;
}

/* ---- Events ---------------------------------------------------------- */

void onvif_subscription_free(onvif_subscription_t *sub)
{
    if (sub == NULL)
        return;
    free(sub->address);
    free(sub);
}

int onvif_parse_subscription(const char *xml, size_t len,
                             onvif_subscription_t *sub, onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *ref;
    char *text;
    int rc;

    memset(sub, 0, sizeof(*sub));
    rc = onvif_parse_open(xml, len, "CreatePullPointSubscriptionResponse",
                          &doc, &r, err);
    if (rc < 0)
        return rc;
    ref = onvif_xml_child(r, ONVIF_NS_ANY, "SubscriptionReference");
    sub->address = onvif_xml_text(onvif_xml_child(ref, ONVIF_NS_WSA,
                                                  "Address"));
    text = onvif_xml_text(onvif_xml_child(r, ONVIF_NS_ANY,
                                          "TerminationTime"));
    if (text != NULL && onvif_parse_datetime(text, &sub->termination_time))
        sub->termination_time = 0;
    free(text);
    xmlFreeDoc(doc);
    if (sub->address == NULL || sub->address[0] == '\0') {
        free(sub->address);
        sub->address = NULL;
        return onvif_fail(err, -EPROTO, "CreatePullPointSubscription: "
                          "response has no SubscriptionReference Address");
    }
    return 0;
}

void onvif_events_free(onvif_event_t *ev, size_t count)
{
    size_t i;

    if (ev == NULL)
        return;
    for (i = 0; i < count; i++) {
        free(ev[i].topic);
        free(ev[i].source);
        free(ev[i].property);
    }
    free(ev);
}

/* Classifies a topic by the substrings that vendors use. */
static onvif_event_kind_t onvif_event_classify(const char *topic)
{
    if (topic == NULL)
        return ONVIF_EVENT_OTHER;
    if (strstr(topic, "Motion") != NULL)
        return ONVIF_EVENT_MOTION;
    if (strstr(topic, "Tamper") != NULL ||
        strstr(topic, "GlobalSceneChange") != NULL)
        return ONVIF_EVENT_TAMPER;
    if (strstr(topic, "DigitalInput") != NULL ||
        strstr(topic, "LogicalState") != NULL)
        return ONVIF_EVENT_DIGITAL_INPUT;
    return ONVIF_EVENT_OTHER;
}

/* Reads one wsnt:NotificationMessage into ev. */
static void onvif_event_read(const xmlNode *nm, onvif_event_t *ev)
{
    xmlNode *msg, *src, *data, *item;
    char *text;

    ev->topic = onvif_xml_text(onvif_xml_child(nm, ONVIF_NS_WSNT, "Topic"));
    ev->kind = onvif_event_classify(ev->topic);
    msg = onvif_xml_child(onvif_xml_child(nm, ONVIF_NS_WSNT, "Message"),
                          ONVIF_NS_ONVIF, "Message");
    ev->property = onvif_xml_attr(msg, "PropertyOperation");
    text = onvif_xml_attr(msg, "UtcTime");
    if (text != NULL && onvif_parse_datetime(text, &ev->utc_time) < 0)
        ev->utc_time = 0;
    free(text);
    src = onvif_xml_child(msg, ONVIF_NS_ONVIF, "Source");
    item = onvif_xml_child(src, ONVIF_NS_ONVIF, "SimpleItem");
    ev->source = onvif_xml_attr(item, "Value");

    /* The state item's name varies (State, IsMotion, IsTamper,
     * LogicalState): take the first boolean Data item. */
    data = onvif_xml_child(msg, ONVIF_NS_ONVIF, "Data");
    for (item = onvif_xml_child(data, ONVIF_NS_ONVIF, "SimpleItem");
         item != NULL && !ev->has_state;
         item = onvif_xml_next(item, ONVIF_NS_ONVIF, "SimpleItem")) {
        text = onvif_xml_attr(item, "Value");
        if (text != NULL && (strcmp(text, "true") == 0 ||
                             strcmp(text, "1") == 0)) {
            ev->has_state = true;
            ev->state = true;
        } else if (text != NULL && (strcmp(text, "false") == 0 ||
                                    strcmp(text, "0") == 0)) {
            ev->has_state = true;
            ev->state = false;
        }
        free(text);
    }
}

int onvif_parse_pull_messages(const char *xml, size_t len,
                              onvif_event_t **out, size_t *count,
                              onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *r, *nm;
    void *list = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *count = 0;
    rc = onvif_parse_open(xml, len, "PullMessagesResponse", &doc, &r, err);
    if (rc < 0)
        return rc;
    for (nm = onvif_xml_child(r, ONVIF_NS_WSNT, "NotificationMessage");
         nm != NULL;
         nm = onvif_xml_next(nm, ONVIF_NS_WSNT, "NotificationMessage")) {
        onvif_event_t *ev = onvif_array_push(&list, &n, &cap, sizeof(*ev));

        if (ev == NULL) {
            onvif_events_free(list, n);
            xmlFreeDoc(doc);
            return onvif_fail(err, -ENOMEM, "PullMessages: out of memory");
        }
        onvif_event_read(nm, ev);
    }
    xmlFreeDoc(doc);
    *out = list;
    *count = n;
    return 0;
}
