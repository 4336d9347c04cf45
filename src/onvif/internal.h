/*
 * Internal interface of the ONVIF module: the HTTP client, the SOAP
 * layer and the response parsers. The unit tests and the fuzz targets
 * use it directly; other modules use onvif.h only.
 */
#ifndef VMS_ONVIF_INTERNAL_H
#define VMS_ONVIF_INTERNAL_H

#include "onvif/onvif.h"

#include <libxml/tree.h>

/* Formats a message into err (may be NULL) and returns code. */
int onvif_fail(onvif_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- Safe XML ------------------------------------------------------- */

/* Namespace families matched by local name. An element with no namespace
 * matches every family, because some vendors omit them. */
typedef enum onvif_ns {
    ONVIF_NS_ANY = 0,
    ONVIF_NS_SOAP,  /* SOAP 1.2 and 1.1 envelopes */
    ONVIF_NS_ONVIF, /* http://www.onvif.org/ver10/..., ver20/... */
    ONVIF_NS_WSA,   /* WS-Addressing 2004/08 and 2005/08 */
    ONVIF_NS_WSDD,  /* WS-Discovery 2005/04 and 2009/01 */
    ONVIF_NS_WSNT,  /* WS-BaseNotification */
} onvif_ns_t;

/* Parses a document with network access, entity substitution, DTD
 * loading and the huge-document mode off. A document with a DOCTYPE is
 * rejected before its internal subset is read, which stops entity
 * expansion attacks. what names the call for the error message. *out is
 * freed with xmlFreeDoc(). Returns -EBADMSG on any failure. */
int onvif_xml_read(const char *data, size_t len, const char *what,
                   xmlDocPtr *out, onvif_err_t *err);

bool onvif_xml_is(const xmlNode *node, onvif_ns_t ns, const char *local);

/* First element child of parent matching ns and local, or NULL. */
xmlNode *onvif_xml_child(const xmlNode *parent, onvif_ns_t ns,
                         const char *local);

/* Next element sibling after node matching ns and local, or NULL. */
xmlNode *onvif_xml_next(const xmlNode *node, onvif_ns_t ns,
                        const char *local);

/* Follows a path of local names in the ONVIF family, e.g.
 * ("Resolution", "Width"), ending with NULL. */
xmlNode *onvif_xml_path(const xmlNode *node, ...);

/* First descendant (depth first) matching ns and local, or NULL. */
xmlNode *onvif_xml_find(const xmlNode *node, onvif_ns_t ns,
                        const char *local);

/* Text content with surrounding white space removed, as a new string
 * (freed with free()); NULL when node is NULL or out of memory. */
char *onvif_xml_text(const xmlNode *node);

/* Attribute by local name (any namespace), trimmed, new string or NULL. */
char *onvif_xml_attr(const xmlNode *node, const char *name);

/* The SOAP Body element's first child, or NULL. */
xmlNode *onvif_xml_body_first(xmlDocPtr doc);

/* ---- SOAP faults ---------------------------------------------------- */

typedef struct onvif_fault {
    char code[64];    /* local part of Code/Value, e.g. "Sender" */
    char subcode[64]; /* local part of the first Subcode/Value */
    char subcode2[64];
    char reason[192];
} onvif_fault_t;

/* Reads a SOAP 1.2 or 1.1 fault. Returns 0 and fills fault when the body
 * contains one, -ENOENT when it does not, -EBADMSG when not XML. */
int onvif_parse_fault(const char *xml, size_t len, onvif_fault_t *fault,
                      onvif_err_t *err);

/* Reads a Fault element (SOAP 1.2 or 1.1) into out. */
void onvif_xml_read_fault(const xmlNode *fault, onvif_fault_t *out);

/* Maps a fault to an error code: NotAuthorized to -EACCES,
 * ActionNotSupported and friends to -EOPNOTSUPP, InvalidArgVal and
 * InvalidArgs to -EINVAL, others to -EPROTO. */
int onvif_fault_code(const onvif_fault_t *fault);

/* ---- Response parsers ------------------------------------------------ */
/* Each takes a whole SOAP envelope. what is the camera address for the
 * error message (may be NULL). They return -EBADMSG for bad XML, -EPROTO
 * when the expected response element is missing, or the fault's code. */

int onvif_parse_device_information(const char *xml, size_t len,
                                   onvif_device_info_t *info,
                                   onvif_err_t *err);
void onvif_device_info_clear(onvif_device_info_t *info);

int onvif_parse_services(const char *xml, size_t len,
                         onvif_services_t *services, onvif_err_t *err);
int onvif_parse_capabilities(const char *xml, size_t len,
                             onvif_services_t *services, onvif_err_t *err);
void onvif_services_clear(onvif_services_t *services);

/* Media (ver10) and Media2 (ver20) GetProfilesResponse. */
int onvif_parse_profiles(const char *xml, size_t len,
                         onvif_profile_t **profiles, size_t *count,
                         onvif_err_t *err);
void onvif_profiles_free(onvif_profile_t *profiles, size_t count);

/* GetStreamUriResponse or GetSnapshotUriResponse, Media or Media2. */
int onvif_parse_media_uri(const char *xml, size_t len, char **uri,
                          onvif_err_t *err);

/* UTC time and the DaylightSavings flag (dst may be NULL) from
 * GetSystemDateAndTimeResponse. */
int onvif_parse_system_date_and_time(const char *xml, size_t len,
                                     time_t *utc, bool *dst,
                                     onvif_err_t *err);

int onvif_parse_ptz_presets(const char *xml, size_t len,
                            onvif_ptz_preset_t **presets, size_t *count,
                            onvif_err_t *err);
int onvif_parse_ptz_status(const char *xml, size_t len,
                           onvif_ptz_status_t *status, onvif_err_t *err);
int onvif_parse_ptz_nodes(const char *xml, size_t len,
                          onvif_ptz_node_t **nodes, size_t *count,
                          onvif_err_t *err);
int onvif_parse_ptz_configurations(const char *xml, size_t len,
                                   onvif_ptz_configuration_t **configs,
                                   size_t *count, onvif_err_t *err);
/* SetPresetResponse: copies PresetToken. */
int onvif_parse_set_preset(const char *xml, size_t len, char **token,
                           onvif_err_t *err);

int onvif_parse_subscription(const char *xml, size_t len,
                             onvif_subscription_t *sub, onvif_err_t *err);
int onvif_parse_pull_messages(const char *xml, size_t len,
                              onvif_event_t **events, size_t *count,
                              onvif_err_t *err);

/* Checks that the body contains an element whose local name is expected
 * (for calls whose response carries nothing). */
int onvif_parse_empty(const char *xml, size_t len, const char *expected,
                      onvif_err_t *err);

/* ProbeMatches, Hello or Bye. *kind is set to 0 for ProbeMatches, 1 for
 * Hello, 2 for Bye. Matches go to *devices (count entries). */
int onvif_parse_discovery(const char *xml, size_t len, int *kind,
                          onvif_discovered_t **devices, size_t *count,
                          onvif_err_t *err);

/* Parses an ISO 8601 / xs:dateTime in UTC ("2025-04-18T20:34:05Z",
 * fractions and offsets accepted). Returns 0 or -EINVAL. */
int onvif_parse_datetime(const char *text, time_t *out);

/* Decodes %XX escapes in place. */
void onvif_percent_decode(char *s);

/* ---- HTTP ----------------------------------------------------------- */

typedef struct onvif_url {
    bool tls;
    char host[256]; /* without brackets */
    int port;
    char path[1024];
} onvif_url_t;

/* Parses http(s)://host[:port][/path]. Returns 0 or -EINVAL. */
int onvif_url_parse(const char *url, onvif_url_t *out, onvif_err_t *err);

typedef struct onvif_http_response {
    int status;
    char *www_authenticate; /* first Digest challenge, or NULL */
    char *content_type;
    char *body; /* NUL-terminated, decoded from chunked if needed */
    size_t body_len;
} onvif_http_response_t;

/* Parses a complete or partial HTTP/1.x response in buf. eof is true
 * when the peer closed the connection, which ends a body without a
 * length. Returns 0 with *out filled when the response is complete,
 * -EAGAIN when more bytes are needed, -EBADMSG when malformed. */
int onvif_http_response_parse(const char *buf, size_t len, bool eof,
                              onvif_http_response_t *out, onvif_err_t *err);
void onvif_http_response_clear(onvif_http_response_t *resp);

typedef struct onvif_http_request {
    const char *url;
    const char *soap_action; /* may be NULL */
    const char *body;
    size_t body_len;
    const char *authorization; /* full header value, or NULL */
    int timeout_ms;
    size_t max_response_bytes;
    const char *tls_ca_file;
} onvif_http_request_t;

/* Sends one POST and reads the whole response within the time limit. */
int onvif_http_post(const onvif_http_request_t *req,
                    onvif_http_response_t *resp, onvif_err_t *err);

/* Builds an HTTP Digest Authorization value (RFC 7616, MD5 or SHA-256,
 * qop auth or none) for challenge. *out is freed with free(). */
int onvif_http_digest(const char *challenge, const char *method,
                      const char *uri, const char *user,
                      const char *password, char **out, onvif_err_t *err);

/* Same with a given client nonce, for test vectors. */
int onvif_http_digest_cnonce(const char *challenge, const char *method,
                             const char *uri, const char *user,
                             const char *password, const char *cnonce,
                             char **out, onvif_err_t *err);

/* ---- SOAP ----------------------------------------------------------- */

/* Builds the WS-Security header for a UsernameToken with
 * PasswordDigest = base64(SHA-1(nonce + created + password)), created
 * being now_utc in the camera's clock. nonce is 16 random bytes unless
 * fixed_nonce (16 bytes) is given for tests. *out is freed with free(). */
int onvif_wsse_header(const char *user, const char *password,
                      time_t now_utc, const unsigned char *fixed_nonce,
                      char **out, onvif_err_t *err);

/* Sends body_xml (the content of soap:Body) to url as action and returns
 * the response envelope. Handles WS-UsernameToken, the HTTP Digest
 * fallback and SOAP faults. auth false sends no credentials. *xml is
 * freed with free(). */
int onvif_soap_call(onvif_client_t *client, const char *url,
                    const char *action, const char *body_xml, bool auth,
                    int extra_timeout_ms, char **xml, size_t *len,
                    onvif_err_t *err);

/* Escapes & < > " ' for XML text and attributes; new string. */
char *onvif_xml_escape(const char *s);

void onvif_client_set_time_offset(onvif_client_t *c, int64_t offset);
/* Takes over *s (left zeroed) and marks the client connected. */
void onvif_client_set_services(onvif_client_t *c, onvif_services_t *s);
bool onvif_client_connected(const onvif_client_t *c);

/* Host of the client's device URL (for URI rewriting). */
const char *onvif_client_host(const onvif_client_t *client);
const onvif_services_t *onvif_client_services(const onvif_client_t *c);

#endif
