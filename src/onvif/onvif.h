/*
 * ONVIF client: WS-Discovery, device and media services, PTZ, events.
 *
 * The module is a library. It never logs: every function returns 0 or a
 * negative errno-style code and, on failure, writes a sentence into the
 * caller's onvif_err_t that names the camera address and the call. The
 * codes that callers branch on:
 *
 *   -EACCES      the camera rejected the credentials (HTTP 401 or a
 *                NotAuthorized fault)
 *   -EOPNOTSUPP  the camera does not implement the call or service
 *   -EINVAL      invalid argument (ours, or an InvalidArgVal fault)
 *   -ETIMEDOUT   no complete response within the time limit
 *   -EMSGSIZE    the response exceeded the size limit
 *   -EBADMSG     the response is not a well-formed, safe SOAP document
 *   -EPROTO      another SOAP fault or an unexpected HTTP status
 *   -ECONNREFUSED, -EHOSTUNREACH, ...  socket errors as they occur
 *   -ENOMEM      out of memory
 *
 * Ownership: every structure that a function returns through an
 * out-parameter belongs to the caller, who releases it with the _free
 * function named beside it. All _free functions accept NULL. Strings
 * passed in are copied when they are kept. Every err may be NULL.
 *
 * Threads: an onvif_client_t is not thread-safe; use one per thread or
 * lock around it. Different clients are independent.
 */
#ifndef VMS_ONVIF_ONVIF_H
#define VMS_ONVIF_ONVIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Error message of the last failed call. */
typedef struct onvif_err {
    char msg[512];
} onvif_err_t;

typedef struct onvif_credentials {
    const char *username; /* NULL or "" sends no credentials */
    const char *password; /* NULL is taken as "" */
} onvif_credentials_t;

#define ONVIF_DEFAULT_TIMEOUT_MS 5000
#define ONVIF_DEFAULT_MAX_RESPONSE (4u * 1024 * 1024)

/* Per-client limits and TLS settings. A zeroed struct (or NULL) means
 * the defaults above and no TLS certificate check. */
typedef struct onvif_client_options {
    int timeout_ms;            /* whole request: connect, send, receive */
    size_t max_response_bytes; /* headers and body together */
    /* PEM file of CAs that sign the cameras' HTTPS certificates. NULL
     * accepts any certificate, because most cameras ship self-signed
     * ones; the connection is still encrypted. */
    const char *tls_ca_file;
} onvif_client_options_t;

/* ---- Client ---------------------------------------------------------- */

typedef struct onvif_client onvif_client_t;

/* Creates a client for one camera. address is a device service URL
 * ("http://10.0.0.5/onvif/device_service", "https://..."), or a host
 * with an optional port ("10.0.0.5", "10.0.0.5:8080", "[fd00::5]:80"),
 * which means http and the path /onvif/device_service. No traffic is
 * sent. cred and opts may be NULL; both are copied. *out is freed with
 * onvif_client_free(). */
int onvif_client_new(const char *address, const onvif_credentials_t *cred,
                     const onvif_client_options_t *opts,
                     onvif_client_t **out, onvif_err_t *err);

void onvif_client_free(onvif_client_t *client);

/* Reads the camera clock with the unauthenticated GetSystemDateAndTime,
 * stores the offset used by every later WS-UsernameToken, then finds the
 * service addresses with GetServices, or GetCapabilities on cameras that
 * lack it. Other calls run this first if it has not been run. The
 * offset is not measured again on its own: a long-lived client that
 * gets -EACCES after working before should call this again, because
 * the camera clock may have been changed. */
int onvif_client_connect(onvif_client_t *client, onvif_err_t *err);

/* Camera clock minus our clock in seconds, measured by the last connect
 * (0 before it). */
int64_t onvif_client_time_offset(const onvif_client_t *client);

/* Device service URL the client talks to. Owned by the client. */
const char *onvif_client_device_url(const onvif_client_t *client);

/* ---- Device probe ---------------------------------------------------- */

typedef struct onvif_device_info {
    char *manufacturer;
    char *model;
    char *firmware_version;
    char *serial_number;
    char *hardware_id;
} onvif_device_info_t;

/* Service addresses; NULL when the camera does not offer the service. */
typedef struct onvif_services {
    char *device;
    char *media;  /* Media (ver10) */
    char *media2; /* Media2 (ver20) */
    char *ptz;
    char *events;
    char *imaging;
} onvif_services_t;

typedef struct onvif_profile {
    char *token;
    char *name;
    char *encoding; /* "H264", "H265", "JPEG", ... or NULL */
    int width;      /* 0 when the profile has no video encoder */
    int height;
    double frame_rate; /* frames per second, 0 when unknown */
    int bitrate_kbps;  /* 0 when unknown */
    char *ptz_configuration_token; /* NULL without PTZ */
    char *stream_uri;   /* RTSP URI after rewriting, or NULL */
    char *snapshot_uri; /* HTTP URI after rewriting, or NULL */
    bool stream_uri_rewritten;   /* host replaced, see onvif_uri_rewrite */
    bool snapshot_uri_rewritten;
} onvif_profile_t;

typedef struct onvif_device {
    char *device_url;
    onvif_device_info_t info;
    onvif_services_t services;
    int64_t time_offset_s; /* camera clock minus ours */
    onvif_profile_t *profiles;
    size_t profile_count;
    int main_profile; /* index of the highest resolution, -1 if none */
    int sub_profile;  /* index of the lowest resolution, -1 if none */
    /* Non-fatal problems met during the probe (a profile without a
     * snapshot URI, a URI rewritten), one per line, for the caller's log.
     * Empty when there were none. */
    char notes[1024];
} onvif_device_t;

/* Probes a camera: clock offset, device information, services, video
 * profiles with stream and snapshot URIs. Profiles come from Media, or
 * from Media2 on cameras without a Media service. A profile without a
 * stream URI is kept (stream_uri NULL); no stream URI at all fails.
 * Stream and snapshot URIs that point at an unusable host are rewritten
 * (see onvif_uri_rewrite) and the rewrite is noted in dev->notes.
 * *out is freed with onvif_device_free(). */
int onvif_device_probe(const char *address, const onvif_credentials_t *cred,
                       const onvif_client_options_t *opts,
                       onvif_device_t **out, onvif_err_t *err);

/* Same as onvif_device_probe() on an existing client. */
int onvif_device_probe_client(onvif_client_t *client, onvif_device_t **out,
                              onvif_err_t *err);

void onvif_device_free(onvif_device_t *dev);

/* ---- Date and time --------------------------------------------------- */

/* Reads the camera's UTC clock as seconds since the epoch. */
int onvif_get_system_time(onvif_client_t *client, time_t *utc,
                          onvif_err_t *err);

/* Sets the camera's clock to utc (manual mode), keeping its time zone. */
int onvif_set_system_time(onvif_client_t *client, time_t utc,
                          onvif_err_t *err);

/* ---- PTZ ------------------------------------------------------------- */

/* A PTZ vector in the camera's generic spaces: pan and tilt in -1..1,
 * zoom in 0..1 for positions and -1..1 for speeds and translations.
 * Unused axes are skipped when the has_ flag is false. */
typedef struct onvif_ptz_vector {
    bool has_pan_tilt;
    double pan;
    double tilt;
    bool has_zoom;
    double zoom;
} onvif_ptz_vector_t;

typedef struct onvif_ptz_preset {
    char *token;
    char *name;
    bool has_position;
    onvif_ptz_vector_t position;
} onvif_ptz_preset_t;

typedef struct onvif_ptz_status {
    bool has_position;
    onvif_ptz_vector_t position;
    char pan_tilt_move[16]; /* "IDLE", "MOVING", "UNKNOWN" or "" */
    char zoom_move[16];
    char error[128];
    time_t utc_time; /* 0 when absent */
} onvif_ptz_status_t;

typedef struct onvif_ptz_node {
    char *token;
    char *name;
    int max_presets;
    bool home_supported;
} onvif_ptz_node_t;

typedef struct onvif_ptz_configuration {
    char *token;
    char *name;
    char *node_token;
    int default_timeout_ms; /* from DefaultPTZTimeout, 0 when absent */
} onvif_ptz_configuration_t;

/* Moves at velocity until onvif_ptz_stop() or timeout_ms (0: the
 * camera's default timeout). */
int onvif_ptz_continuous_move(onvif_client_t *client, const char *profile,
                              const onvif_ptz_vector_t *velocity,
                              int timeout_ms, onvif_err_t *err);

/* Stops pan/tilt and/or zoom movement. */
int onvif_ptz_stop(onvif_client_t *client, const char *profile,
                   bool pan_tilt, bool zoom, onvif_err_t *err);

/* Moves to position; speed may be NULL for the camera's default. */
int onvif_ptz_absolute_move(onvif_client_t *client, const char *profile,
                            const onvif_ptz_vector_t *position,
                            const onvif_ptz_vector_t *speed,
                            onvif_err_t *err);

/* Moves by translation; speed may be NULL. */
int onvif_ptz_relative_move(onvif_client_t *client, const char *profile,
                            const onvif_ptz_vector_t *translation,
                            const onvif_ptz_vector_t *speed,
                            onvif_err_t *err);

int onvif_ptz_get_status(onvif_client_t *client, const char *profile,
                         onvif_ptz_status_t *status, onvif_err_t *err);

/* *presets (count entries) is freed with onvif_ptz_presets_free(). */
int onvif_ptz_get_presets(onvif_client_t *client, const char *profile,
                          onvif_ptz_preset_t **presets, size_t *count,
                          onvif_err_t *err);
void onvif_ptz_presets_free(onvif_ptz_preset_t *presets, size_t count);

/* Moves to a preset; speed may be NULL. */
int onvif_ptz_goto_preset(onvif_client_t *client, const char *profile,
                          const char *preset_token,
                          const onvif_ptz_vector_t *speed, onvif_err_t *err);

/* Stores the current position as a preset. preset_token NULL creates a
 * new preset, otherwise that preset is overwritten. The camera's token
 * is copied to token_out (token_size bytes, may be 0). */
int onvif_ptz_set_preset(onvif_client_t *client, const char *profile,
                         const char *name, const char *preset_token,
                         char *token_out, size_t token_size,
                         onvif_err_t *err);

int onvif_ptz_remove_preset(onvif_client_t *client, const char *profile,
                            const char *preset_token, onvif_err_t *err);

int onvif_ptz_goto_home(onvif_client_t *client, const char *profile,
                        onvif_err_t *err);

int onvif_ptz_set_home(onvif_client_t *client, const char *profile,
                       onvif_err_t *err);

/* *nodes is freed with onvif_ptz_nodes_free(). */
int onvif_ptz_get_nodes(onvif_client_t *client, onvif_ptz_node_t **nodes,
                        size_t *count, onvif_err_t *err);
void onvif_ptz_nodes_free(onvif_ptz_node_t *nodes, size_t count);

/* *configs is freed with onvif_ptz_configurations_free(). */
int onvif_ptz_get_configurations(onvif_client_t *client,
                                 onvif_ptz_configuration_t **configs,
                                 size_t *count, onvif_err_t *err);
void onvif_ptz_configurations_free(onvif_ptz_configuration_t *configs,
                                   size_t count);

/* ---- Events ---------------------------------------------------------- */

typedef enum onvif_event_kind {
    ONVIF_EVENT_OTHER = 0,
    ONVIF_EVENT_MOTION,        /* MotionAlarm, CellMotionDetector, ... */
    ONVIF_EVENT_TAMPER,        /* TamperDetector, GlobalSceneChange */
    ONVIF_EVENT_DIGITAL_INPUT, /* Device/Trigger/DigitalInput, ... */
} onvif_event_kind_t;

typedef struct onvif_event {
    onvif_event_kind_t kind;
    char *topic;    /* e.g. "tns1:VideoSource/MotionAlarm" */
    char *source;   /* value of the first Source SimpleItem, or NULL */
    char *property; /* "Initialized", "Changed", "Deleted" or NULL */
    bool has_state; /* a boolean Data SimpleItem was present */
    bool state;     /* its value: motion on, tampered, input active */
    time_t utc_time;
} onvif_event_t;

typedef struct onvif_subscription {
    char *address; /* subscription manager / pull point URL */
    time_t termination_time; /* camera clock, 0 when absent */
} onvif_subscription_t;

/* Creates a pull-point subscription that the camera keeps for
 * termination_s seconds after the last pull. *out is freed with
 * onvif_subscription_free(). */
int onvif_events_subscribe(onvif_client_t *client, int termination_s,
                           onvif_subscription_t **out, onvif_err_t *err);

/* Pulls up to max_messages events. The camera waits up to timeout_s
 * seconds for the first one, so the HTTP time limit is extended by that
 * wait. *events is freed with onvif_events_free(); *count may be 0. */
int onvif_events_pull(onvif_client_t *client, onvif_subscription_t *sub,
                      int timeout_s, int max_messages,
                      onvif_event_t **events, size_t *count,
                      onvif_err_t *err);

/* Ends the subscription on the camera. */
int onvif_events_unsubscribe(onvif_client_t *client,
                             onvif_subscription_t *sub, onvif_err_t *err);

void onvif_events_free(onvif_event_t *events, size_t count);
void onvif_subscription_free(onvif_subscription_t *sub);

/* ---- URI rewriting --------------------------------------------------- */

/* Replaces the host of uri with camera_host when the host differs from
 * camera_host and is unusable: unspecified (0.0.0.0, ::), loopback
 * (localhost, 127.x, ::1), or a private or link-local address while
 * camera_host is itself a literal address. Public addresses and names
 * are kept. On success *out is a new string, freed with free(), and
 * *rewritten is true when the host was replaced, for the caller's log. */
int onvif_uri_rewrite(const char *uri, const char *camera_host, char **out,
                      bool *rewritten, onvif_err_t *err);

/* ---- WS-Discovery ---------------------------------------------------- */

typedef struct onvif_discovered {
    char *endpoint;   /* EndpointReference address, e.g. "urn:uuid:..." */
    char **xaddrs;    /* every XAddr the device announced */
    size_t xaddr_count;
    /* Preferred XAddr: routable IPv4, then routable IPv6 or a name,
     * then link-local (never chosen while a routable one exists); http
     * before https within a class. Points into xaddrs; NULL when none. */
    const char *xaddr;
    char *name;     /* scope onvif://www.onvif.org/name/..., decoded */
    char *hardware; /* scope .../hardware/... */
    char *location; /* scope .../location/... */
    char *types;    /* Types text as sent, or NULL */
    char *scopes;   /* Scopes text as sent, or NULL */
    char from[64];  /* source address of the ProbeMatches */
} onvif_discovered_t;

typedef struct onvif_discovery_options {
    /* Interfaces to probe from, by name ("eth0") or by one of their
     * IPv4 or IPv6 addresses. Each is probed over IPv4 when it has an
     * IPv4 address and over IPv6 (ff02::c) when the system allows. With
     * none and no unicast_address, nothing is sent and -EINVAL is
     * returned: the library never picks interfaces on its own. */
    const char *const *interfaces;
    size_t interface_count;
    /* Also send a unicast Probe to this host[:port] (default port 3702).
     * NULL for none. */
    const char *unicast_address;
    int duration_ms; /* how long to collect ProbeMatches; 0 means 3000 */
    int port;        /* destination port, 0 means 3702 (for tests) */
} onvif_discovery_options_t;

/* Sends the Probes and collects ProbeMatches for duration_ms. Devices
 * are de-duplicated by endpoint reference; their XAddrs are merged.
 * *out (count entries) is freed with onvif_discovered_free(). */
int onvif_discovery_probe(const onvif_discovery_options_t *opts,
                          onvif_discovered_t **out, size_t *count,
                          onvif_err_t *err);

void onvif_discovered_free(onvif_discovered_t *devices, size_t count);

/* Copies one device (for example in a Hello callback) into a new array
 * of one entry, freed with onvif_discovered_free(*out, 1). */
int onvif_discovered_copy(const onvif_discovered_t *src,
                          onvif_discovered_t **out, onvif_err_t *err);

typedef enum onvif_announce {
    ONVIF_ANNOUNCE_HELLO,
    ONVIF_ANNOUNCE_BYE,
} onvif_announce_t;

/* Called on the listener's thread for each Hello or Bye. dev is valid
 * only during the call (copy what you keep). */
typedef void (*onvif_announce_cb)(void *user, onvif_announce_t kind,
                                  const onvif_discovered_t *dev);

typedef struct onvif_discovery_listener onvif_discovery_listener_t;

/* Joins the WS-Discovery multicast group on the given interfaces
 * (required, as for probes) and calls cb for every Hello and Bye until
 * onvif_discovery_listener_stop(). */
int onvif_discovery_listener_start(const char *const *interfaces,
                                   size_t interface_count, int port,
                                   onvif_announce_cb cb, void *user,
                                   onvif_discovery_listener_t **out,
                                   onvif_err_t *err);

/* Stops the thread, leaves the group and frees the listener. After it
 * returns cb is no longer called. NULL is a no-op. */
void onvif_discovery_listener_stop(onvif_discovery_listener_t *listener);

#endif
