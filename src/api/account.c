/*
 * Accounts and sessions over HTTP: the health check, the first
 * administrator's setup, login and logout, the signed-in user's own
 * password, second factor and API keys (/api/v1/auth/...).
 *
 * Everything that hashes a password (login, setup, password change) runs
 * on the server's auth queue, one call at a time, and responds from
 * there. The rest is cheap and responds on the event loop.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/deferred.h"
#include "api/internal.h"
#include "common/clock.h"
#include "common/log.h"

/* The name authenticator apps show for the second factor. */
#define API_TOTP_ISSUER "VMS"

static const struct {
    const char *name;
    uint32_t right;
} api_right_names[] = {
    {"live", AUTH_RIGHT_LIVE},         {"playback", AUTH_RIGHT_PLAYBACK},
    {"export", AUTH_RIGHT_EXPORT},     {"ptz", AUTH_RIGHT_PTZ},
    {"configure", AUTH_RIGHT_CONFIGURE}, {"users", AUTH_RIGHT_USERS},
    {"settings", AUTH_RIGHT_SETTINGS}, {"audit", AUTH_RIGHT_AUDIT},
};

json_t *api_rights_json(uint32_t rights)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < sizeof(api_right_names) / sizeof(*api_right_names);
         i++)
        if (rights & api_right_names[i].right)
            json_array_append_new(arr, json_string(api_right_names[i].name));
    return arr;
}

int api_rights_parse(json_t *value, uint32_t *out, char *err, size_t errlen)
{
    size_t i;
    json_t *item;

    *out = 0;
    if (!json_is_array(value)) {
        snprintf(err, errlen, "expected an array of right names (live, "
                              "playback, export, ptz, configure, users, "
                              "settings, audit)");
        return -EINVAL;
    }
    json_array_foreach(value, i, item) {
        const char *name = json_string_value(item);
        size_t k;

        for (k = 0; name && k < sizeof(api_right_names) /
                                    sizeof(*api_right_names);
             k++)
            if (strcmp(name, api_right_names[k].name) == 0)
                break;
        if (!name ||
            k == sizeof(api_right_names) / sizeof(*api_right_names)) {
            snprintf(err, errlen,
                     "unknown right '%s': expected live, playback, export, "
                     "ptz, configure, users, settings or audit",
                     name ? name : "(not a string)");
            return -EINVAL;
        }
        *out |= api_right_names[k].right;
    }
    return 0;
}

json_t *api_body_object(api_conn_t *c, const char *const *allowed,
                        const char *expected)
{
    json_error_t jerr;
    json_t *obj;
    const char *key;
    json_t *v;

    obj = json_loadb(c->body ? c->body : "", c->body_len,
                     JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        api_respond_error(c, 400, "malformed JSON at line %d: %s", jerr.line,
                          jerr.text);
        return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        api_respond_error(c, 400, "expected a JSON object with %s",
                          expected);
        return NULL;
    }
    json_object_foreach(obj, key, v) {
        size_t i;

        for (i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0)
                break;
        if (!allowed[i]) {
            api_respond_error(c, 400, "unknown field '%.64s': expected %s",
                              key, expected);
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* Returns the string member key of obj, "" when absent, or NULL after
 * responding 400 to a value of another type or an over-long one. */
static const char *api_body_string(api_conn_t *c, json_t *obj,
                                   const char *key, size_t max)
{
    json_t *v = json_object_get(obj, key);
    const char *s;

    if (!v)
        return "";
    s = json_string_value(v);
    if (!s || strlen(s) > max) {
        api_respond_error(c, 400, "invalid %s: expected a string of at most "
                                  "%zu bytes",
                          key, max);
        return NULL;
    }
    return s;
}

int api_route_health(api_conn_t *c)
{
    if (c->method != API_GET && c->method != API_HEAD)
        return api_respond_error(c, 405, "use GET on %s", c->path);
    return api_respond_json(c, 200, json_pack("{s:s}", "status", "ok"));
}

/* ---- Work on the auth queue ------------------------------------------ */

typedef enum api_auth_op {
    API_AUTH_LOGIN,
    API_AUTH_SETUP,
    API_AUTH_PASSWORD,
} api_auth_op_t;

typedef struct api_auth_job {
    api_auth_op_t op;
    auth_t *auth;
    char username[AUTH_NAME_MAX];
    char password[AUTH_PASSWORD_MAX + 1];
    char new_password[AUTH_PASSWORD_MAX + 1];
    char code[AUTH_RECOVERY_CODE_LEN + 1];
    char setup_token[AUTH_TOKEN_LEN + 1];
    char source[64];
    int tls;
    int want_token; /* return the session token in the body */
    int rc;
    auth_login_result_t result;
    char err[AUTH_ERR_MAX];
} api_auth_job_t;

static void api_auth_job_free(api_auth_job_t *job)
{
    explicit_bzero(job, sizeof(*job));
    free(job);
}

static void api_auth_work(void *arg)
{
    api_auth_job_t *job = arg;
    auth_login_request_t req;

    switch (job->op) {
    case API_AUTH_LOGIN:
        memset(&req, 0, sizeof(req));
        req.username = job->username;
        req.password = job->password;
        req.totp_code = job->code[0] ? job->code : NULL;
        req.source = job->source;
        req.tls = job->tls;
        job->rc = auth_login(job->auth, &req, &job->result, job->err,
                             sizeof(job->err));
        break;
    case API_AUTH_SETUP:
        job->rc = auth_setup_complete(job->auth, job->setup_token,
                                      job->username, job->password,
                                      job->source, job->err,
                                      sizeof(job->err));
        break;
    case API_AUTH_PASSWORD:
        job->rc = auth_user_set_password(job->auth, job->username,
                                         job->username, job->password,
                                         job->new_password, job->err,
                                         sizeof(job->err));
        break;
    }
}

static int api_login_done(api_conn_t *c, api_auth_job_t *job)
{
    const auth_login_result_t *r = &job->result;
    char headers[AUTH_COOKIE_MAX + 64];
    json_t *body;

    if (job->rc < 0) {
        vms_log(VMS_LOG_ERROR, "api", "user=%s error=\"login failed: %s\"",
                job->username, job->err);
        return api_respond_error(c, 500, "login failed on the server: see "
                                         "the daemon's log");
    }
    switch (r->status) {
    case AUTH_LOGIN_OK:
        snprintf(headers, sizeof(headers), "Set-Cookie: %s", r->set_cookie);
        body = json_pack("{s:s, s:I, s:b}", "user", job->username,
                         "expires_us", (json_int_t)r->expires_us,
                         "totp_enrol_required", r->totp_enrol_required);
        if (job->want_token)
            json_object_set_new(body, "token", json_string(r->token));
        {
            char *text = json_dumps(body, JSON_COMPACT);
            vms_buf_t *buf = text ? vms_buf_new(text, strlen(text)) : NULL;

            json_decref(body);
            if (text) {
                explicit_bzero(text, strlen(text));
                free(text);
            }
            if (!buf)
                return api_respond_error(c, 503, "out of memory: retry");
            return api_respond(c, 200, "application/json", buf, headers);
        }
    case AUTH_LOGIN_TOTP_REQUIRED:
        return api_respond_json(
            c, 401,
            json_pack("{s:s, s:b}", "error",
                      "second factor required: send totp_code with a code "
                      "from your authenticator app or a recovery code",
                      "totp_required", 1));
    case AUTH_LOGIN_THROTTLED: {
        int64_t s = (r->retry_after_us + 999999) / 1000000;
        json_t *err = json_pack(
            "{s:s, s:I}", "error",
            "too many failed logins: wait before trying again",
            "retry_after_s", (json_int_t)s);
        char *text = json_dumps(err, JSON_COMPACT);
        vms_buf_t *buf = text ? vms_buf_new(text, strlen(text)) : NULL;

        json_decref(err);
        free(text); /* vms_buf_new() copied it */
        snprintf(headers, sizeof(headers), "Retry-After: %lld",
                 (long long)s);
        return api_respond(c, 429, "application/json", buf, headers);
    }
    case AUTH_LOGIN_UNAVAILABLE:
        vms_log(VMS_LOG_WARN, "api", "user=%s error=\"%s\"", job->username,
                job->err);
        return api_respond_error(c, 503,
                                 "the directory server cannot be reached: "
                                 "try again, or sign in with a local "
                                 "account");
    case AUTH_LOGIN_FAILED:
    default:
        vms_log(VMS_LOG_INFO, "api", "source=%s event=login_failed",
                job->source);
        return api_respond_error(c, 401, "wrong user name, password or "
                                         "code");
    }
}

static int api_auth_done(api_conn_t *c, void *arg)
{
    api_auth_job_t *job = arg;
    int rc = 0;

    if (!c) {
        api_auth_job_free(job);
        return 0;
    }
    switch (job->op) {
    case API_AUTH_LOGIN:
        rc = api_login_done(c, job);
        break;
    case API_AUTH_SETUP:
        if (job->rc == -EACCES)
            rc = api_respond_error(c, 403, "wrong or used setup token: use "
                                           "the token that vmsd printed at "
                                           "first start, or create the "
                                           "administrator with vmsctl user "
                                           "add --admin");
        else if (job->rc == -EEXIST)
            rc = api_respond_error(c, 409, "an administrator exists "
                                           "already: sign in instead");
        else if (job->rc < 0)
            rc = api_respond_error(c, job->rc == -EINVAL ? 400 : 500,
                                   "%s", job->err);
        else
            rc = api_respond_json(c, 201, json_pack("{s:s, s:s}", "user",
                                                    job->username, "role",
                                                    AUTH_ROLE_ADMINISTRATOR));
        break;
    case API_AUTH_PASSWORD:
        if (job->rc == -EACCES)
            rc = api_respond_error(c, 403, "wrong current password");
        else if (job->rc < 0)
            rc = api_respond_error(c, job->rc == -EINVAL ? 400 : 500, "%s",
                                   job->err);
        else
            rc = api_respond(c, 204, "application/json", NULL,
                             "Clear-Site-Data: \"cookies\"");
        break;
    }
    api_auth_job_free(job);
    return rc;
}

static int api_auth_start(api_conn_t *c, api_auth_job_t *job)
{
    int rc;

    job->auth = c->srv->auth;
    snprintf(job->source, sizeof(job->source), "%s", c->source);
    job->tls = c->tls;
    rc = api_deferred_start(c, c->srv->auth_queue, api_auth_work,
                            api_auth_done, job);
    if (rc < 0) {
        api_auth_job_free(job);
        return api_respond_error(c, 503, "cannot start the request: %s",
                                 strerror(-rc));
    }
    return 0;
}

/* Copies a string field into a fixed buffer, responding 400 when it
 * does not fit. Returns 0 or -1. */
static int api_copy_field(api_conn_t *c, json_t *obj, const char *key,
                          char *out, size_t len, int required)
{
    const char *s = api_body_string(c, obj, key, len - 1);

    if (!s)
        return -1;
    if (required && !*s) {
        api_respond_error(c, 400, "missing %s", key);
        return -1;
    }
    snprintf(out, len, "%s", s);
    return 0;
}

/* A string field of a request body and where it goes in the job. */
typedef struct api_job_field {
    const char *key;
    size_t offset;
    size_t size;
    int required;
} api_job_field_t;

#define API_JOB_FIELD(key, member, required)                                \
    {key, offsetof(api_auth_job_t, member),                                 \
     sizeof(((api_auth_job_t *)0)->member), required}

/* Parses the body into a new job of op: the object may hold only
 * allowed keys (expected names them), and fields are copied into the
 * job. Returns the job with the parsed object in *obj (the caller frees
 * both), or NULL after responding with the error. */
static api_auth_job_t *api_auth_job_parse(api_conn_t *c, api_auth_op_t op,
                                          const char *const *allowed,
                                          const char *expected,
                                          const api_job_field_t *fields,
                                          size_t n, json_t **obj)
{
    api_auth_job_t *job;

    *obj = api_body_object(c, allowed, expected);
    if (!*obj)
        return NULL;
    job = calloc(1, sizeof(*job));
    if (!job) {
        json_decref(*obj);
        api_respond_error(c, 503, "out of memory: retry later");
        return NULL;
    }
    job->op = op;
    for (size_t i = 0; i < n; i++) {
        if (api_copy_field(c, *obj, fields[i].key,
                           (char *)job + fields[i].offset, fields[i].size,
                           fields[i].required) < 0) {
            json_decref(*obj);
            api_auth_job_free(job);
            return NULL;
        }
    }
    return job;
}

static int api_login(api_conn_t *c)
{
    static const char *const allowed[] = {"username", "password",
                                          "totp_code", "bearer", NULL};
    static const api_job_field_t fields[] = {
        API_JOB_FIELD("username", username, 1),
        API_JOB_FIELD("password", password, 1),
        API_JOB_FIELD("totp_code", code, 0),
    };
    json_t *obj;
    api_auth_job_t *job = api_auth_job_parse(
        c, API_AUTH_LOGIN, allowed, "username, password, totp_code and bearer",
        fields, sizeof(fields) / sizeof(*fields), &obj);

    if (!job)
        return 0;
    job->want_token = json_is_true(json_object_get(obj, "bearer"));
    json_decref(obj);
    return api_auth_start(c, job);
}

static int api_setup(api_conn_t *c)
{
    static const char *const allowed[] = {"token", "username", "password",
                                          NULL};
    static const api_job_field_t fields[] = {
        API_JOB_FIELD("token", setup_token, 1),
        API_JOB_FIELD("username", username, 1),
        API_JOB_FIELD("password", password, 1),
    };
    json_t *obj;
    api_auth_job_t *job = api_auth_job_parse(
        c, API_AUTH_SETUP, allowed, "token, username and password", fields,
        sizeof(fields) / sizeof(*fields), &obj);

    if (!job)
        return 0;
    json_decref(obj);
    return api_auth_start(c, job);
}

static int api_password(api_conn_t *c)
{
    static const char *const allowed[] = {"old_password", "new_password",
                                          NULL};
    static const api_job_field_t fields[] = {
        API_JOB_FIELD("old_password", password, 1),
        API_JOB_FIELD("new_password", new_password, 1),
    };
    json_t *obj;
    api_auth_job_t *job = api_auth_job_parse(
        c, API_AUTH_PASSWORD, allowed, "old_password and new_password",
        fields, sizeof(fields) / sizeof(*fields), &obj);

    if (!job)
        return 0;
    json_decref(obj);
    snprintf(job->username, sizeof(job->username), "%s",
             c->principal->user);
    return api_auth_start(c, job);
}

/* ---- Cheap requests, handled on the event loop ----------------------- */

static int api_logout(api_conn_t *c)
{
    char cookie[AUTH_COOKIE_MAX];
    char headers[AUTH_COOKIE_MAX + 16];

    if (c->principal->kind == AUTH_PRINCIPAL_API_KEY)
        return api_respond_error(c, 400, "an API key has no session to end: "
                                         "revoke the key instead");
    auth_logout(c->srv->auth, c->token, c->source);
    auth_cookie_format("", c->tls, 0, cookie, sizeof(cookie));
    snprintf(headers, sizeof(headers), "Set-Cookie: %s", cookie);
    return api_respond(c, 204, "application/json", NULL, headers);
}

static int api_me(api_conn_t *c)
{
    const auth_principal_t *p = c->principal;
    json_t *grants = json_array();

    for (size_t i = 0; i < p->n_grants; i++)
        json_array_append_new(
            grants, json_pack("{s:I, s:o}", "camera_id",
                              (json_int_t)p->grants[i].camera_id, "rights",
                              api_rights_json(p->grants[i].rights)));
    return api_respond_json(
        c, 200,
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:I}", "user",
                  p->user, "role", p->role, "kind",
                  p->kind == AUTH_PRINCIPAL_API_KEY ? "api_key" : "session",
                  "rights", api_rights_json(p->global_rights),
                  "all_cameras", api_rights_json(p->all_cameras), "cameras",
                  grants, "totp_enrol_required", p->totp_enrol_required,
                  "expires_us", (json_int_t)p->expires_us));
}

static int api_totp_enrol(api_conn_t *c)
{
    static const char *const fields[] = {NULL};
    auth_totp_enrolment_t e;
    char err[AUTH_ERR_MAX];
    json_t *obj;
    int rc;

    if (c->body_len) {
        obj = api_body_object(c, fields, "no fields");
        if (!obj)
            return 0;
        json_decref(obj);
    }
    memset(&e, 0, sizeof(e));
    rc = auth_totp_enrol(c->srv->auth, c->principal->user, API_TOTP_ISSUER,
                         &e, err, sizeof(err));
    if (rc < 0)
        return api_respond_error(c, rc == -EINVAL ? 400 : 500, "%s", err);
    rc = api_respond_json(c, 200,
                          json_pack("{s:s, s:s, s:s}", "secret",
                                    e.secret_base32, "uri", e.uri, "qr_svg",
                                    e.qr_svg ? e.qr_svg : ""));
    explicit_bzero(&e.secret_base32, sizeof(e.secret_base32));
    free(e.qr_svg);
    return rc;
}

static int api_totp_confirm(api_conn_t *c)
{
    static const char *const fields[] = {"code", NULL};
    char codes[AUTH_RECOVERY_CODES][AUTH_RECOVERY_CODE_LEN + 1];
    char err[AUTH_ERR_MAX];
    json_t *obj = api_body_object(c, fields, "code");
    json_t *arr;
    const char *code;
    int rc;

    if (!obj)
        return 0;
    code = api_body_string(c, obj, "code", 16);
    if (!code) {
        json_decref(obj);
        return 0;
    }
    rc = auth_totp_confirm(c->srv->auth, c->principal->user, code, codes,
                           err, sizeof(err));
    json_decref(obj);
    if (rc == -EACCES || rc == -EINVAL || rc == -ENOENT)
        return api_respond_error(c, 400, "%s", err);
    if (rc < 0)
        return api_respond_error(c, 500, "%s", err);
    arr = json_array();
    for (int i = 0; i < AUTH_RECOVERY_CODES; i++)
        json_array_append_new(arr, json_string(codes[i]));
    explicit_bzero(codes, sizeof(codes));
    return api_respond_json(c, 200, json_pack("{s:o}", "recovery_codes",
                                              arr));
}

static json_t *api_key_json(const auth_api_key_t *k)
{
    return json_pack("{s:I, s:s, s:o, s:I, s:I, s:b}", "id",
                     (json_int_t)k->id, "name", k->name, "scope",
                     api_rights_json(k->scope), "created_us",
                     (json_int_t)k->created_us, "expires_us",
                     (json_int_t)k->expires_us, "revoked", k->revoked);
}

static int api_keys_list(api_conn_t *c)
{
    auth_api_key_t *keys = NULL;
    size_t n = 0;
    json_t *arr;
    int rc = auth_api_key_list(c->srv->auth, c->principal->user_id, &keys,
                               &n);

    if (rc < 0)
        return api_respond_error(c, 500, "cannot list API keys: %s",
                                 strerror(-rc));
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, api_key_json(&keys[i]));
    free(keys);
    return api_respond_json(c, 200, arr);
}

static int api_keys_create(api_conn_t *c)
{
    static const char *const fields[] = {"name", "scope", "expires_days",
                                         NULL};
    char key[AUTH_API_KEY_LEN + 1];
    char err[AUTH_ERR_MAX];
    auth_api_key_t info;
    uint32_t scope = AUTH_ALL_RIGHTS;
    int64_t expires_us = 0;
    json_t *obj = api_body_object(c, fields, "name, scope and expires_days");
    json_t *days;
    json_t *reply;
    const char *name;
    int rc;

    if (!obj)
        return 0;
    name = api_body_string(c, obj, "name", AUTH_NAME_MAX - 1);
    if (!name) {
        json_decref(obj);
        return 0;
    }
    if (json_object_get(obj, "scope") &&
        api_rights_parse(json_object_get(obj, "scope"), &scope, err,
                         sizeof(err)) < 0) {
        json_decref(obj);
        return api_respond_error(c, 400, "invalid scope: %s", err);
    }
    days = json_object_get(obj, "expires_days");
    if (days) {
        if (!json_is_integer(days) || json_integer_value(days) < 1 ||
            json_integer_value(days) > 3650) {
            json_decref(obj);
            return api_respond_error(c, 400, "invalid expires_days: expected "
                                             "1 to 3650 days, or no field "
                                             "for a key without expiry");
        }
        expires_us = vms_realtime_us() +
                     json_integer_value(days) * 86400LL * 1000000LL;
    }
    rc = auth_api_key_create(c->srv->auth, c->principal->user,
                             c->principal->user, *name ? name : "api key",
                             scope, expires_us, key, sizeof(key), &info, err,
                             sizeof(err));
    json_decref(obj);
    if (rc < 0)
        return api_respond_error(c, rc == -EINVAL ? 400 : 500, "%s", err);
    reply = api_key_json(&info);
    json_object_set_new(reply, "key", json_string(key));
    explicit_bzero(key, sizeof(key));
    return api_respond_json(c, 201, reply);
}

static int api_keys_revoke(api_conn_t *c, const char *id_text)
{
    auth_api_key_t *keys = NULL;
    size_t n = 0;
    int64_t id = strtoll(id_text, NULL, 10);
    int found = 0;
    int rc = auth_api_key_list(c->srv->auth, c->principal->user_id, &keys,
                               &n);

    if (rc < 0)
        return api_respond_error(c, 500, "cannot list API keys: %s",
                                 strerror(-rc));
    for (size_t i = 0; i < n; i++)
        found |= keys[i].id == id;
    free(keys);
    /* Another user's key is "not found" too, so key ids of other users
     * stay unknown. */
    if (!found)
        return api_respond_error(c, 404, "API key %lld not found among "
                                         "yours",
                                 (long long)id);
    rc = auth_api_key_revoke(c->srv->auth, c->principal->user, id);
    if (rc < 0)
        return api_respond_error(c, 500, "cannot revoke API key %lld: %s",
                                 (long long)id, strerror(-rc));
    return api_respond(c, 204, "application/json", NULL, NULL);
}

int api_route_auth(api_conn_t *c, const char *rest)
{
    /* The route table already matched method and path. */
    if (api_deferred_busy(c))
        return 0;
    if (strcmp(rest, "/login") == 0)
        return api_login(c);
    if (strcmp(rest, "/setup") == 0)
        return api_setup(c);
    if (strcmp(rest, "/logout") == 0)
        return api_logout(c);
    if (strcmp(rest, "/me") == 0)
        return api_me(c);
    if (strcmp(rest, "/password") == 0)
        return api_password(c);
    if (strcmp(rest, "/totp/enrol") == 0)
        return api_totp_enrol(c);
    if (strcmp(rest, "/totp/confirm") == 0)
        return api_totp_confirm(c);
    if (strcmp(rest, "/keys") == 0)
        return c->method == API_POST ? api_keys_create(c) : api_keys_list(c);
    if (strncmp(rest, "/keys/", 6) == 0)
        return api_keys_revoke(c, rest + 6);
    return api_respond_error(c, 404, "unknown API path %s", c->path);
}
