/* JSON calls to the vmsd HTTP API. */
#include "vmsctl/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies text into dst with control characters replaced by '?', so that
 * a message from the server cannot drive the terminal. */
static void client_copy_printable(const char *text, char *dst, size_t cap)
{
    size_t i;

    for (i = 0; text[i] && i + 1 < cap; i++) {
        unsigned char ch = (unsigned char)text[i];

        dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    dst[i] = '\0';
}

/* Explains a 4xx or 5xx response, preferring the daemon's message. */
static void client_describe_error(const vmsctl_client_t *client,
                                  const vmsctl_http_response_t *resp, char *err,
                                  size_t errlen)
{
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    const char *message = json_string_value(json_object_get(root, "error"));
    char text[1024];

    if (message && resp->status == 401 && !client->api_key) {
        client_copy_printable(message, text, sizeof(text));
        snprintf(err, errlen,
                 "%s (HTTP 401): pass an API key with --api-key-file FILE "
                 "or the VMS_API_KEY environment variable",
                 text);
    } else if (message) {
        client_copy_printable(message, text, sizeof(text));
        snprintf(err, errlen, "%s (HTTP %d)", text, resp->status);
    } else {
        snprintf(err, errlen,
                 "HTTP %d %s without a JSON error message: check that %s "
                 "is the address of vmsd",
                 resp->status, resp->reason, client->url.text);
    }
    json_decref(root);
}

int vmsctl_client_call(const vmsctl_client_t *client, const char *method,
                       const char *path, json_t *body, json_t **out,
                       int *status, char *err, size_t errlen)
{
    vmsctl_http_request_t req = {
        .method = method,
        .bearer_token = client->api_key,
        .ca_file = client->ca_file,
        .connect_timeout_ms = client->connect_timeout_ms,
        .io_timeout_ms = client->io_timeout_ms,
    };
    vmsctl_http_response_t resp;
    char target[2048];
    char http_err[1024];
    char *text = NULL;
    json_error_t jerr;
    int rc;

    *out = NULL;
    *status = 0;
    snprintf(target, sizeof(target), "/api/v1%s", path);
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text) {
            snprintf(err, errlen, "out of memory encoding the request");
            return -ENOMEM;
        }
        req.content_type = "application/json";
        req.body = text;
        req.body_len = strlen(text);
    }
    req.target = target;
    rc =
        vmsctl_http_send(&client->url, &req, &resp, http_err, sizeof(http_err));
    if (text) {
        explicit_bzero(text, req.body_len);
        free(text);
    }
    if (rc == -ENOTCONN) {
        snprintf(err, errlen,
                 "vmsd is not reachable: %s. Start vmsd, or pass --url "
                 "(or set VMS_URL) with the address that vmsd listens on",
                 http_err);
        return VMSCTL_CALL_UNREACHABLE;
    }
    if (rc == -EPROTO) {
        /* The message names the URL or the CA file and the fix. */
        snprintf(err, errlen, "%s", http_err);
        return VMSCTL_CALL_TLS_ERROR;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s %s%s failed: %s", method, client->url.text,
                 target, http_err);
        return VMSCTL_CALL_BAD_RESPONSE;
    }

    *status = resp.status;
    if (resp.status < 200 || resp.status > 299) {
        client_describe_error(client, &resp, err, errlen);
        rc = VMSCTL_CALL_HTTP_ERROR;
        goto done;
    }
    if (resp.body_len == 0)
        goto done;
    *out = json_loadb(resp.body, resp.body_len, 0, &jerr);
    if (!*out) {
        snprintf(err, errlen,
                 "invalid JSON in the response to %s %s%s at line %d "
                 "column %d: %s",
                 method, client->url.text, target, jerr.line, jerr.column,
                 jerr.text);
        rc = VMSCTL_CALL_BAD_RESPONSE;
    }
done:
    vmsctl_http_response_clear(&resp);
    return rc;
}
