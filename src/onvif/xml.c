/*
 * Safe XML reading and namespace-tolerant element lookup.
 *
 * Cameras use every prefix imaginable (tt, tt1, ns2, SOAP-ENV, env, s)
 * and a few declare namespaces on the element itself, so elements are
 * matched by local name and namespace URI family, never by prefix.
 */
#include "onvif/internal.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

int onvif_fail(onvif_err_t *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Set by the internalSubset SAX callback when a DOCTYPE appears. */
typedef struct onvif_xml_guard {
    bool doctype;
} onvif_xml_guard_t;

/* Stops the parser at "<!DOCTYPE": ONVIF messages never carry one, and
 * the internal subset is where entity bombs and external entities live. */
static void onvif_xml_on_doctype(void *ctx, const xmlChar *name,
                                 const xmlChar *external_id,
                                 const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    onvif_xml_guard_t *guard = ctxt->_private;

    guard->doctype = true;
    xmlStopParser(ctxt);
}

/* Drops libxml2's default error printing to stderr: errors are read
 * back from the context instead. */
static void onvif_xml_quiet(void *ctx, const char *msg, ...)
{
}

/* libxml2 2.9 must be initialised once before threads parse at the
 * same time (the discovery listener runs on its own thread). */
static pthread_once_t onvif_xml_once = PTHREAD_ONCE_INIT;

int onvif_xml_read(const char *data, size_t len, const char *what,
                   xmlDocPtr *out, onvif_err_t *err)
{
    xmlParserCtxtPtr ctxt = NULL;
    onvif_xml_guard_t guard = {false};
    xmlDocPtr doc = NULL;
    const xmlError *xe;
    int rc = -EBADMSG;

    *out = NULL;
    pthread_once(&onvif_xml_once, xmlInitParser);
    if (data == NULL || len == 0)
        return onvif_fail(err, -EBADMSG, "%s: empty response, expected a "
                          "SOAP envelope", what);
    if (len > INT32_MAX)
        return onvif_fail(err, -EMSGSIZE, "%s: document of %zu bytes is "
                          "too large", what, len);

    ctxt = xmlCreateMemoryParserCtxt(data, (int)len);
    if (ctxt == NULL)
        return onvif_fail(err, -ENOMEM, "%s: out of memory", what);

    /* No XML_PARSE_NOENT (entities stay unsubstituted), no DTDLOAD, no
     * DTDATTR, no HUGE: libxml2's default size limits stay in force. The
     * handlers are set after the options, which may reset them. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    ctxt->_private = &guard;
    ctxt->sax->internalSubset = onvif_xml_on_doctype;
    ctxt->sax->externalSubset = NULL;
    ctxt->sax->warning = onvif_xml_quiet;
    ctxt->sax->error = onvif_xml_quiet;
    ctxt->sax->fatalError = onvif_xml_quiet;
    ctxt->vctxt.error = onvif_xml_quiet;
    ctxt->vctxt.warning = onvif_xml_quiet;
    xmlParseDocument(ctxt);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;

    if (guard.doctype) {
        onvif_fail(err, -EBADMSG, "%s: document has a DOCTYPE, which "
                   "SOAP forbids; rejected to prevent entity expansion",
                   what);
        goto fail;
    }
    if (doc == NULL || !ctxt->wellFormed) {
        xe = xmlCtxtGetLastError(ctxt);
        if (xe != NULL && xe->message != NULL) {
            char msg[160];
            size_t n;

            snprintf(msg, sizeof(msg), "%s", xe->message);
            n = strlen(msg);
            while (n > 0 && isspace((unsigned char)msg[n - 1]))
                msg[--n] = '\0';
            onvif_fail(err, -EBADMSG, "%s: response is not well-formed "
                       "XML (line %d: %s)", what, xe->line, msg);
        } else {
            onvif_fail(err, -EBADMSG, "%s: response is not well-formed "
                       "XML", what);
        }
        goto fail;
    }
    if (xmlDocGetRootElement(doc) == NULL) {
        onvif_fail(err, -EBADMSG, "%s: document has no root element",
                   what);
        goto fail;
    }
    *out = doc;
    doc = NULL;
    rc = 0;
fail:
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

/* Tells whether a namespace URI belongs to a family. */
static bool onvif_xml_ns_match(const xmlNs *ns, onvif_ns_t family)
{
    const char *uri;

    if (family == ONVIF_NS_ANY || ns == NULL || ns->href == NULL)
        return true;
    uri = (const char *)ns->href;
    switch (family) {
    case ONVIF_NS_SOAP:
        return strcmp(uri, "http://www.w3.org/2003/05/soap-envelope") == 0 ||
               strcmp(uri, "http://schemas.xmlsoap.org/soap/envelope/") == 0;
    case ONVIF_NS_ONVIF:
        return strncmp(uri, "http://www.onvif.org/ver", 24) == 0;
    case ONVIF_NS_WSA:
        return strstr(uri, "addressing") != NULL;
    case ONVIF_NS_WSDD:
        return strstr(uri, "discovery") != NULL;
    case ONVIF_NS_WSNT:
        return strcmp(uri, "http://docs.oasis-open.org/wsn/b-2") == 0;
    default:
        return false;
    }
}

bool onvif_xml_is(const xmlNode *node, onvif_ns_t ns, const char *local)
{
    const char *name, *colon;

    if (node == NULL || node->type != XML_ELEMENT_NODE)
        return false;
    name = (const char *)node->name;

    /* libxml2 keeps an undeclared prefix in the name ("tt:Uri") and
     * leaves ns NULL; such elements match by their local part. */
    if (node->ns == NULL && (colon = strchr(name, ':')) != NULL)
        name = colon + 1;
    return strcmp(name, local) == 0 && onvif_xml_ns_match(node->ns, ns);
}

xmlNode *onvif_xml_child(const xmlNode *parent, onvif_ns_t ns,
                         const char *local)
{
    xmlNode *n;

    if (parent == NULL)
        return NULL;
    for (n = parent->children; n != NULL; n = n->next)
        if (onvif_xml_is(n, ns, local))
            return n;
    return NULL;
}

xmlNode *onvif_xml_next(const xmlNode *node, onvif_ns_t ns,
                        const char *local)
{
    xmlNode *n;

    if (node == NULL)
        return NULL;
    for (n = node->next; n != NULL; n = n->next)
        if (onvif_xml_is(n, ns, local))
            return n;
    return NULL;
}

xmlNode *onvif_xml_path(const xmlNode *node, ...)
{
    va_list ap;
    const char *name;
    xmlNode *cur = (xmlNode *)node;

    va_start(ap, node);
    while (cur != NULL && (name = va_arg(ap, const char *)) != NULL)
        cur = onvif_xml_child(cur, ONVIF_NS_ONVIF, name);
    va_end(ap);
    return cur;
}

/* Depth-first search with an explicit depth bound; libxml2 already caps
 * nesting at 256 levels without XML_PARSE_HUGE. */
static xmlNode *onvif_xml_find_depth(const xmlNode *node, onvif_ns_t ns,
                                     const char *local, int depth)
{
    xmlNode *n, *hit;

    if (node == NULL || depth > 300)
        return NULL;
    for (n = node->children; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (onvif_xml_is(n, ns, local))
            return n;
        hit = onvif_xml_find_depth(n, ns, local, depth + 1);
        if (hit != NULL)
            return hit;
    }
    return NULL;
}

xmlNode *onvif_xml_find(const xmlNode *node, onvif_ns_t ns,
                        const char *local)
{
    return onvif_xml_find_depth(node, ns, local, 0);
}

/* Copies s without leading and trailing white space. */
static char *onvif_xml_trim_dup(const char *s)
{
    size_t n;
    char *out;

    while (*s != '\0' && isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

char *onvif_xml_text(const xmlNode *node)
{
    xmlChar *content;
    char *out;

    if (node == NULL)
        return NULL;
    content = xmlNodeGetContent(node);
    if (content == NULL)
        return NULL;
    out = onvif_xml_trim_dup((const char *)content);
    xmlFree(content);
    return out;
}

char *onvif_xml_attr(const xmlNode *node, const char *name)
{
    xmlAttr *a;
    xmlChar *value;
    char *out;

    if (node == NULL)
        return NULL;
    for (a = node->properties; a != NULL; a = a->next) {
        if (strcmp((const char *)a->name, name) != 0)
            continue;
        value = xmlNodeListGetString(node->doc, a->children, 1);
        if (value == NULL)
            return NULL;
        out = onvif_xml_trim_dup((const char *)value);
        xmlFree(value);
        return out;
    }
    return NULL;
}

xmlNode *onvif_xml_body_first(xmlDocPtr doc)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *body, *n;

    if (!onvif_xml_is(root, ONVIF_NS_SOAP, "Envelope"))
        return NULL;
    body = onvif_xml_child(root, ONVIF_NS_SOAP, "Body");
    if (body == NULL)
        return NULL;
    for (n = body->children; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* Copies the local part of a QName text ("ter:NotAuthorized") into dst. */
static void onvif_xml_qname_local(const xmlNode *node, char *dst,
                                  size_t size)
{
    char *text = onvif_xml_text(node);
    const char *colon;

    dst[0] = '\0';
    if (text == NULL)
        return;
    colon = strrchr(text, ':');
    snprintf(dst, size, "%s", colon != NULL ? colon + 1 : text);
    free(text);
}

/* Reads a SOAP 1.2 (Code/Value, Subcode, Reason/Text) or SOAP 1.1
 * (faultcode, faultstring) fault element. */
void onvif_xml_read_fault(const xmlNode *fault, onvif_fault_t *out)
{
    xmlNode *code, *sub, *reason;
    char *text;

    memset(out, 0, sizeof(*out));
    code = onvif_xml_child(fault, ONVIF_NS_SOAP, "Code");
    if (code != NULL) {
        onvif_xml_qname_local(onvif_xml_child(code, ONVIF_NS_SOAP, "Value"),
                              out->code, sizeof(out->code));
        sub = onvif_xml_child(code, ONVIF_NS_SOAP, "Subcode");
        onvif_xml_qname_local(onvif_xml_child(sub, ONVIF_NS_SOAP, "Value"),
                              out->subcode, sizeof(out->subcode));
        sub = onvif_xml_child(sub, ONVIF_NS_SOAP, "Subcode");
        onvif_xml_qname_local(onvif_xml_child(sub, ONVIF_NS_SOAP, "Value"),
                              out->subcode2, sizeof(out->subcode2));
    } else {
        onvif_xml_qname_local(onvif_xml_child(fault, ONVIF_NS_ANY,
                                              "faultcode"),
                              out->code, sizeof(out->code));
    }
    reason = onvif_xml_child(fault, ONVIF_NS_SOAP, "Reason");
    if (reason != NULL)
        text = onvif_xml_text(onvif_xml_child(reason, ONVIF_NS_SOAP, "Text"));
    else
        text = onvif_xml_text(onvif_xml_child(fault, ONVIF_NS_ANY,
                                              "faultstring"));
    if (text != NULL)
        snprintf(out->reason, sizeof(out->reason), "%s", text);
    free(text);
}

int onvif_parse_fault(const char *xml, size_t len, onvif_fault_t *fault,
                      onvif_err_t *err)
{
    xmlDocPtr doc = NULL;
    xmlNode *first;
    int rc;

    rc = onvif_xml_read(xml, len, "fault", &doc, err);
    if (rc < 0)
        return rc;
    first = onvif_xml_body_first(doc);
    if (onvif_xml_is(first, ONVIF_NS_SOAP, "Fault")) {
        onvif_xml_read_fault(first, fault);
        rc = 0;
    } else {
        rc = -ENOENT;
    }
    xmlFreeDoc(doc);
    return rc;
}

int onvif_fault_code(const onvif_fault_t *f)
{
    const char *codes[3] = {f->subcode, f->subcode2, f->code};
    size_t i;

    for (i = 0; i < 3; i++) {
        const char *c = codes[i];

        if (strcmp(c, "NotAuthorized") == 0 ||
            strcmp(c, "FailedAuthentication") == 0 ||
            strcmp(c, "InvalidSecurity") == 0 ||
            strcmp(c, "InvalidSecurityToken") == 0)
            return -EACCES;
        if (strcmp(c, "ActionNotSupported") == 0 ||
            strcmp(c, "NoSuchService") == 0 ||
            strcmp(c, "ServiceNotSupported") == 0 ||
            strcmp(c, "NotSupported") == 0)
            return -EOPNOTSUPP;
        if (strcmp(c, "InvalidArgVal") == 0 ||
            strcmp(c, "InvalidArgs") == 0 ||
            strcmp(c, "InvalidArgument") == 0)
            return -EINVAL;
    }
    return -EPROTO;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t onvif_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int onvif_parse_datetime(const char *text, time_t *out)
{
    int y, mo, d, h, mi, s, n = 0;
    const char *p;
    int64_t t;

    if (text == NULL ||
        sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
               &n) != 6 || n == 0)
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 ||
        s > 60 || y < 1970 || h < 0 || mi < 0 || s < 0)
        return -EINVAL;
    t = onvif_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    p = text + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p == '+' || *p == '-') {
        int oh, om;

        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return -EINVAL;
        t += (*p == '+' ? -1 : 1) * (oh * 3600 + om * 60);
    }
    *out = (time_t)t;
    return 0;
}

void onvif_percent_decode(char *s)
{
    char *w = s;
    unsigned int v;

    for (; *s != '\0'; s++) {
        if (s[0] == '%' && isxdigit((unsigned char)s[1]) &&
            isxdigit((unsigned char)s[2]) && sscanf(s + 1, "%2x", &v) == 1) {
            *w++ = (char)v;
            s += 2;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

char *onvif_xml_escape(const char *s)
{
    size_t n = 0;
    const char *p;
    char *out, *w;

    for (p = s; *p != '\0'; p++)
        n += (*p == '&' || *p == '<' || *p == '>' || *p == '"' ||
              *p == '\'') ? 6 : 1;
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    for (w = out, p = s; *p != '\0'; p++) {
        const char *rep = NULL;

        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: break;
        }
        if (rep != NULL) {
            memcpy(w, rep, strlen(rep));
            w += strlen(rep);
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return out;
}
