/*
 * Administration over HTTP: users, roles, settings and the audit log
 * (/api/v1/users, /roles, /settings, /audit).
 *
 * server.c has already checked the caller's rights against the route
 * table, so the handlers here only validate input and call the auth
 * library. The library records every change it makes in the audit log
 * (user.create, user.role, role.grant, settings.password_policy ...),
 * so the handlers add an entry only for what it cannot see: an export
 * of the log itself.
 *
 * Creating a user and resetting a password hash with argon2id, so those
 * requests run on the server's auth queue like a login. The rest is
 * cheap and responds on the event loop.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/deferred.h"
#include "api/internal.h"
#include "common/log.h"

/* Audit entries returned when the request gives no limit, and the
 * maximum. */
#define API_AUDIT_DEFAULT_LIMIT 100
#define API_AUDIT_MAX_LIMIT 1000

/* ---- Request helpers -------------------------------------------------- */

/* Parses the "/ID" that follows a collection path. Returns the id, or 0
 * when rest is not a slash and a positive decimal number. */
static int64_t api_admin_id(const char *rest)
{
    char *end;
    long long id;

    if (rest[0] != '/' || rest[1] < '0' || rest[1] > '9')
        return 0;
    errno = 0;
    id = strtoll(rest + 1, &end, 10);
    if (*end || errno || id <= 0)
        return 0;
    return id;
}

/* Reads the string member key of obj into out (len bytes). Returns 1
 * when it is present, 0 when absent, or -1 after responding 400 for an
 * empty value, a value of another type or one that does not fit. */
static int api_admin_string(api_conn_t *c, json_t *obj, const char *key,
                            char *out, size_t len)
{
    json_t *v = json_object_get(obj, key);
    const char *s;

    out[0] = '\0';
    if (!v)
        return 0;
    s = json_string_value(v);
    if (!s || !*s || strlen(s) >= len) {
        api_respond_error(c, 400,
                          "invalid %s: expected a string of 1 to %zu bytes",
                          key, len - 1);
        return -1;
    }
    memcpy(out, s, strlen(s) + 1);
    return 1;
}

/* Reads the boolean member key of obj into *out. Returns 1 when it is
 * present, 0 when absent, or -1 after responding 400. */
static int api_admin_bool(api_conn_t *c, json_t *obj, const char *key,
                          int *out)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        api_respond_error(c, 400, "invalid %s: expected true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

/* Returns the HTTP status for an error code of the auth library. */
static int api_admin_status(int rc)
{
    switch (rc) {
    case -EINVAL:
    case -ENAMETOOLONG:
        return 400;
    case -EPERM:
        return 403;
    case -ENOENT:
        return 404;
    case -EEXIST:
    case -EBUSY:
        return 409;
    default:
        return 500;
    }
}

/* ---- Users ------------------------------------------------------------ */

static const char *api_role_name(const auth_role_t *roles, size_t n,
                                 int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (roles[i].id == id)
            return roles[i].name;
    return "";
}

/* Builds the public form of a user: never a password hash or a TOTP
 * secret, which auth_user_t does not carry. */
static json_t *api_user_json(const auth_user_t *u, const auth_role_t *roles,
                             size_t n_roles)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:b, s:b, s:I, s:I}", "id",
                     (json_int_t)u->id, "name", u->name, "role",
                     api_role_name(roles, n_roles, u->role_id), "source",
                     u->source == AUTH_SOURCE_LDAP ? "ldap" : "local",
                     "disabled", u->disabled, "totp_enabled",
                     u->totp_enabled, "created_us",
                     (json_int_t)u->created_us, "password_changed_us",
                     (json_int_t)u->password_changed_us);
}

/* Responds with user id as it is stored now. */
static int api_user_respond(api_conn_t *c, int status, int64_t id)
{
    auth_role_t *roles = NULL;
    size_t n_roles = 0;
    auth_user_t user;
    json_t *body;
    int rc = auth_user_get_by_id(c->srv->auth, id, &user);

    if (rc == -ENOENT)
        return api_respond_error(c, 404, "user %lld not found: GET "
                                         "/api/v1/users lists the users",
                                 (long long)id);
    if (rc == 0)
        rc = auth_role_list(c->srv->auth, &roles, &n_roles);
    if (rc < 0)
        return api_respond_error(c, 500, "cannot read user %lld: %s",
                                 (long long)id, strerror(-rc));
    body = api_user_json(&user, roles, n_roles);
    free(roles);
    return api_respond_json(c, status, body);
}

static int api_users_list(api_conn_t *c)
{
    auth_user_t *users = NULL;
    auth_role_t *roles = NULL;
    size_t n = 0;
    size_t n_roles = 0;
    json_t *list;
    int rc = auth_user_list(c->srv->auth, &users, &n);

    if (rc == 0)
        rc = auth_role_list(c->srv->auth, &roles, &n_roles);
    if (rc < 0) {
        free(users);
        return api_respond_error(c, 500, "cannot list users: %s",
                                 strerror(-rc));
    }
    list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, api_user_json(&users[i], roles,
                                                  n_roles));
    free(users);
    free(roles);
    return api_respond_json(c, 200, list);
}

typedef enum api_user_op {
    API_USER_CREATE,
    API_USER_UPDATE,
} api_user_op_t;

/* A user change, applied on the auth queue when it hashes a password
 * and on the event loop otherwise. */
typedef struct api_user_job {
    api_user_op_t op;
    auth_t *auth;
    char actor[AUTH_NAME_MAX];
    char name[AUTH_NAME_MAX];
    char role[AUTH_NAME_MAX];       /* update: "" keeps the role */
    char password[AUTH_PASSWORD_MAX + 1];
    int has_password;               /* update: reset the password */
    int disabled;                   /* update: -1 keeps the state */
    int totp_reset;
    int64_t id;                     /* the user's, set by a create */
    int rc;
    char err[AUTH_ERR_MAX];
} api_user_job_t;

static void api_user_job_free(api_user_job_t *job)
{
    explicit_bzero(job, sizeof(*job));
    free(job);
}

/* Applies the job, stopping at the first failure. In an update the
 * steps that the library may reject for the last administrator (role,
 * then state) come first, and the handler checked the role, the
 * password and the account's source beforehand. So once a step has
 * changed the user, a later one fails only on a storage error or a
 * concurrent change. */
static void api_user_apply(void *arg)
{
    api_user_job_t *job = arg;
    auth_user_t user;
    size_t len = sizeof(job->err);

    if (job->op == API_USER_CREATE) {
        job->rc = auth_user_create(job->auth, job->actor, job->name,
                                   job->password, job->role, &user,
                                   job->err, len);
        if (job->rc == -ENOENT)
            job->rc = -EINVAL; /* the role, a field of the body */
        if (job->rc == 0)
            job->id = user.id;
        return;
    }
    job->rc = 0;
    if (job->role[0])
        job->rc = auth_user_set_role(job->auth, job->actor, job->name,
                                     job->role, job->err, len);
    if (job->rc == 0 && job->disabled >= 0)
        job->rc = auth_user_set_disabled(job->auth, job->actor, job->name,
                                         job->disabled, job->err, len);
    if (job->rc == 0 && job->totp_reset) {
        job->rc = auth_totp_disable(job->auth, job->actor, job->name);
        if (job->rc < 0)
            snprintf(job->err, len,
                     "cannot reset the second factor of '%s': %s",
                     job->name, strerror(-job->rc));
    }
    if (job->rc == 0 && job->has_password)
        job->rc = auth_user_set_password(job->auth, job->actor, job->name,
                                         NULL, job->password, job->err,
                                         len);
}

/* Responds for a finished job and frees it. */
static int api_user_done(api_conn_t *c, void *arg)
{
    api_user_job_t *job = arg;
    int rc;

    if (!c) {
        api_user_job_free(job);
        return 0;
    }
    if (job->rc < 0)
        rc = api_respond_error(c, api_admin_status(job->rc), "%s",
                               job->err);
    else
        rc = api_user_respond(c, job->op == API_USER_CREATE ? 201 : 200,
                              job->id);
    api_user_job_free(job);
    return rc;
}

/* Runs the job on the auth queue, whose done callback responds. */
static int api_user_start(api_conn_t *c, api_user_job_t *job)
{
    int rc = api_deferred_start(c, c->srv->auth_queue, api_user_apply,
                                api_user_done, job);

    if (rc < 0) {
        api_user_job_free(job);
        return api_respond_error(c, 503, "cannot start the request: %s",
                                 strerror(-rc));
    }
    return 0;
}

/* Allocates a job for the signed-in administrator. */
static api_user_job_t *api_user_job_new(api_conn_t *c, api_user_op_t op)
{
    api_user_job_t *job = calloc(1, sizeof(*job));

    if (!job)
        return NULL;
    job->op = op;
    job->auth = c->srv->auth;
    job->disabled = -1;
    snprintf(job->actor, sizeof(job->actor), "%s", c->principal->user);
    return job;
}

/* Checks that role names an existing role; responds 400 if not. Returns
 * 0, or -1 after responding. */
static int api_user_check_role(api_conn_t *c, const char *role,
                               auth_role_t *out)
{
    int rc = auth_role_get(c->srv->auth, role, out);

    if (rc == -ENOENT) {
        api_respond_error(c, 400, "invalid role '%s': no such role; GET "
                                  "/api/v1/roles lists them",
                          role);
        return -1;
    }
    if (rc < 0) {
        api_respond_error(c, 500, "cannot read role '%s': %s", role,
                          strerror(-rc));
        return -1;
    }
    return 0;
}

/* Checks a new password against the policy before anything changes,
 * so that a rejected password leaves the user as it was. Returns 0, or
 * -1 after responding 400. */
static int api_user_check_password(api_conn_t *c, const char *user,
                                   const char *password)
{
    char err[AUTH_ERR_MAX];

    if (auth_password_check(c->srv->auth, user, password, err,
                            sizeof(err)) == 0)
        return 0;
    api_respond_error(c, 400, "invalid password: %s", err);
    return -1;
}

static int api_user_create(api_conn_t *c)
{
    static const char *const fields[] = {"name", "password", "role", NULL};
    json_t *obj = api_body_object(c, fields, "name, password and role");
    api_user_job_t *job;
    auth_role_t role;
    auth_user_t existing;

    if (!obj)
        return 0;
    job = api_user_job_new(c, API_USER_CREATE);
    if (!job) {
        json_decref(obj);
        return api_respond_error(c, 503, "out of memory: retry later");
    }
    if (api_admin_string(c, obj, "name", job->name, sizeof(job->name)) < 0 ||
        api_admin_string(c, obj, "password", job->password,
                         sizeof(job->password)) < 0 ||
        api_admin_string(c, obj, "role", job->role, sizeof(job->role)) < 0) {
        json_decref(obj);
        api_user_job_free(job);
        return 0;
    }
    json_decref(obj);
    if (!job->name[0] || !job->password[0] || !job->role[0]) {
        const char *missing = !job->name[0]       ? "name"
                              : !job->password[0] ? "password"
                                                  : "role";

        api_user_job_free(job);
        return api_respond_error(c, 400, "missing %s: send name, password "
                                         "and role",
                                 missing);
    }
    /* Cheap checks first, so that bad input costs no password hash. */
    if (api_user_check_role(c, job->role, &role) < 0 ||
        api_user_check_password(c, job->name, job->password) < 0) {
        api_user_job_free(job);
        return 0;
    }
    if (auth_user_get(c->srv->auth, job->name, &existing) == 0) {
        api_user_job_free(job);
        return api_respond_error(c, 409, "user '%s' already exists: pick "
                                         "another name",
                                 existing.name);
    }
    return api_user_start(c, job);
}

/* Reads the fields of a PATCH body into job and *disabled. Returns how
 * many fields are present, or -1 after responding 400. */
static int api_user_patch_input(api_conn_t *c, json_t *obj,
                                api_user_job_t *job, int *has_disabled,
                                int *disabled)
{
    int present = 0;
    int rc;

    rc = api_admin_string(c, obj, "role", job->role, sizeof(job->role));
    if (rc < 0)
        return -1;
    present += rc;
    rc = api_admin_bool(c, obj, "disabled", disabled);
    if (rc < 0)
        return -1;
    *has_disabled = rc;
    present += rc;
    rc = api_admin_string(c, obj, "password", job->password,
                          sizeof(job->password));
    if (rc < 0)
        return -1;
    job->has_password = rc;
    present += rc;
    rc = api_admin_bool(c, obj, "totp_reset", &job->totp_reset);
    if (rc < 0)
        return -1;
    return present + rc;
}

/* PATCH /users/ID: any of role, disabled, password (an administrator's
 * reset) and totp_reset. */
static int api_user_update(api_conn_t *c, int64_t id)
{
    static const char *const fields[] = {"role", "disabled", "password",
                                         "totp_reset", NULL};
    json_t *obj = api_body_object(c, fields,
                                  "role, disabled, password and "
                                  "totp_reset");
    api_user_job_t *job;
    auth_user_t user;
    auth_role_t role;
    int has_disabled = 0;
    int disabled = 0;
    int present;
    int rc;

    if (!obj)
        return 0;
    job = api_user_job_new(c, API_USER_UPDATE);
    if (!job) {
        json_decref(obj);
        return api_respond_error(c, 503, "out of memory: retry later");
    }
    present = api_user_patch_input(c, obj, job, &has_disabled, &disabled);
    json_decref(obj);
    if (present <= 0) {
        api_user_job_free(job);
        if (present < 0)
            return 0;
        return api_respond_error(c, 400, "nothing to change: send role, "
                                         "disabled, password or "
                                         "totp_reset");
    }

    rc = auth_user_get_by_id(c->srv->auth, id, &user);
    if (rc < 0) {
        api_user_job_free(job);
        if (rc == -ENOENT)
            return api_respond_error(c, 404, "user %lld not found: GET "
                                             "/api/v1/users lists the "
                                             "users",
                                     (long long)id);
        return api_respond_error(c, 500, "cannot read user %lld: %s",
                                 (long long)id, strerror(-rc));
    }
    snprintf(job->name, sizeof(job->name), "%s", user.name);
    job->id = id;
    /* Only what differs from the stored user changes, so that the audit
     * log records real changes only. */
    if (job->role[0]) {
        if (api_user_check_role(c, job->role, &role) < 0) {
            api_user_job_free(job);
            return 0;
        }
        if (role.id == user.role_id)
            job->role[0] = '\0';
    }
    if (has_disabled && disabled != user.disabled)
        job->disabled = disabled;
    if (job->has_password) {
        if (user.source != AUTH_SOURCE_LOCAL) {
            api_user_job_free(job);
            return api_respond_error(c, 400, "invalid password: user '%s' "
                                             "signs in through the "
                                             "directory; change the "
                                             "password there",
                                     user.name);
        }
        if (api_user_check_password(c, user.name, job->password) < 0) {
            api_user_job_free(job);
            return 0;
        }
        return api_user_start(c, job);
    }
    api_user_apply(job);
    return api_user_done(c, job);
}

static int api_user_delete(api_conn_t *c, int64_t id)
{
    char err[AUTH_ERR_MAX];
    auth_user_t user;
    int rc = auth_user_get_by_id(c->srv->auth, id, &user);

    if (rc == -ENOENT)
        return api_respond_error(c, 404, "user %lld not found: GET "
                                         "/api/v1/users lists the users",
                                 (long long)id);
    if (rc < 0)
        return api_respond_error(c, 500, "cannot read user %lld: %s",
                                 (long long)id, strerror(-rc));
    rc = auth_user_delete(c->srv->auth, c->principal->user, user.name, err,
                          sizeof(err));
    if (rc < 0)
        return api_respond_error(c, api_admin_status(rc), "%s", err);
    return api_respond(c, 204, "application/json", NULL, NULL);
}

static int api_route_users(api_conn_t *c, const char *rest)
{
    int64_t id;

    if (rest[0] == '\0')
        return c->method == API_POST ? api_user_create(c)
                                     : api_users_list(c);
    id = api_admin_id(rest);
    if (id == 0)
        return api_respond_error(c, 404, "unknown API path %s", c->path);
    switch (c->method) {
    case API_PATCH:
        return api_user_update(c, id);
    case API_DELETE:
        return api_user_delete(c, id);
    default:
        return api_user_respond(c, 200, id);
    }
}

/* ---- Roles ------------------------------------------------------------ */

/* Builds the public form of a role with its per-camera grants, or
 * returns NULL when the grants cannot be read. */
static json_t *api_role_json(auth_t *auth, const auth_role_t *r)
{
    auth_camera_grant_t *grants = NULL;
    size_t n = 0;
    json_t *cameras;

    if (auth_role_grants(auth, r->id, &grants, &n) < 0)
        return NULL;
    cameras = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            cameras, json_pack("{s:I, s:o}", "camera_id",
                               (json_int_t)grants[i].camera_id, "rights",
                               api_rights_json(grants[i].rights)));
    free(grants);
    return json_pack("{s:I, s:s, s:b, s:o, s:o, s:b, s:o}", "id",
                     (json_int_t)r->id, "name", r->name, "builtin",
                     r->builtin, "rights", api_rights_json(r->global_rights),
                     "all_cameras", api_rights_json(r->all_cameras),
                     "require_totp", r->require_totp, "cameras", cameras);
}

/* Finds a role by id: 0, -ENOENT or a storage error. */
static int api_role_find(auth_t *auth, int64_t id, auth_role_t *out)
{
    auth_role_t *roles = NULL;
    size_t n = 0;
    int rc = auth_role_list(auth, &roles, &n);

    if (rc < 0)
        return rc;
    rc = -ENOENT;
    for (size_t i = 0; i < n; i++) {
        if (roles[i].id == id) {
            *out = roles[i];
            rc = 0;
        }
    }
    free(roles);
    return rc;
}

/* Responds with the role as it is stored now. */
static int api_role_respond(api_conn_t *c, int status, const char *name)
{
    auth_role_t role;
    json_t *body = NULL;
    int rc = auth_role_get(c->srv->auth, name, &role);

    if (rc == 0)
        body = api_role_json(c->srv->auth, &role);
    if (!body)
        return api_respond_error(c, 500, "cannot read role '%s' back: %s",
                                 name, strerror(rc < 0 ? -rc : EIO));
    return api_respond_json(c, status, body);
}

static int api_roles_list(api_conn_t *c)
{
    auth_role_t *roles = NULL;
    size_t n = 0;
    json_t *list;
    int rc = auth_role_list(c->srv->auth, &roles, &n);

    if (rc < 0)
        return api_respond_error(c, 500, "cannot list roles: %s",
                                 strerror(-rc));
    list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *role = api_role_json(c->srv->auth, &roles[i]);

        if (!role) {
            json_decref(list);
            free(roles);
            return api_respond_error(c, 500, "cannot read the grants of "
                                             "role '%s'",
                                     roles[i].name);
        }
        json_array_append_new(list, role);
    }
    free(roles);
    return api_respond_json(c, 200, list);
}

/* A role body as sent. Each has_ flag is set when its field was
 * present. */
typedef struct api_role_input {
    char name[AUTH_NAME_MAX];
    int has_name;
    uint32_t rights;
    int has_rights;
    uint32_t all_cameras;
    int has_all_cameras;
    int require_totp;
    int has_require_totp;
    auth_camera_grant_t *cameras; /* malloc'd; rights 0 are dropped */
    size_t n_cameras;
    int has_cameras;
} api_role_input_t;

/* Parses a list of right names that must all lie in allowed; fix names
 * where the others belong. Returns 0, or -1 after responding 400. */
static int api_role_rights(api_conn_t *c, json_t *value, const char *key,
                           uint32_t allowed, const char *fix,
                           uint32_t *out)
{
    char err[AUTH_ERR_MAX];
    json_t *outside;

    if (api_rights_parse(value, out, err, sizeof(err)) < 0) {
        api_respond_error(c, 400, "invalid %s: %s", key, err);
        return -1;
    }
    if (*out & ~allowed) {
        outside = api_rights_json(*out & ~allowed);
        api_respond_error(c, 400, "invalid %s: '%s' does not belong here: "
                                  "%s",
                          key, json_string_value(json_array_get(outside, 0)),
                          fix);
        json_decref(outside);
        return -1;
    }
    return 0;
}

/* Parses the cameras member: [{camera_id, rights}, ...]. Returns 0, or
 * -1 after responding 400. */
static int api_role_cameras(api_conn_t *c, json_t *value,
                            api_role_input_t *in)
{
    static const char fix[] =
        "expected [{\"camera_id\": ID, \"rights\": [...]}] with camera "
        "rights (live, playback, export, ptz, configure)";
    size_t i;
    json_t *item;

    if (!json_is_array(value)) {
        api_respond_error(c, 400, "invalid cameras: %s", fix);
        return -1;
    }
    in->cameras = calloc(json_array_size(value) + 1, sizeof(*in->cameras));
    if (!in->cameras) {
        api_respond_error(c, 503, "out of memory: retry later");
        return -1;
    }
    json_array_foreach(value, i, item) {
        json_t *id = json_object_get(item, "camera_id");
        json_t *rights = json_object_get(item, "rights");
        auth_camera_grant_t *g = &in->cameras[in->n_cameras];

        if (!json_is_object(item) || json_object_size(item) != 2 ||
            !json_is_integer(id) || json_integer_value(id) <= 0 ||
            !rights) {
            api_respond_error(c, 400, "invalid cameras[%zu]: %s", i, fix);
            return -1;
        }
        g->camera_id = json_integer_value(id);
        for (size_t k = 0; k < in->n_cameras; k++) {
            if (in->cameras[k].camera_id == g->camera_id) {
                api_respond_error(c, 400, "invalid cameras[%zu]: camera "
                                          "%lld is listed twice; merge "
                                          "its rights into one entry",
                                  i, (long long)g->camera_id);
                return -1;
            }
        }
        if (api_role_rights(c, rights, "cameras rights", AUTH_CAMERA_RIGHTS,
                            "a camera grant takes live, playback, export, "
                            "ptz and configure",
                            &g->rights) < 0)
            return -1;
        if (g->rights)
            in->n_cameras++; /* an empty list grants nothing */
    }
    return 0;
}

/* Parses a role body. Returns 0, or -1 after responding 400; free
 * in->cameras in both cases. */
static int api_role_input(api_conn_t *c, api_role_input_t *in)
{
    static const char *const fields[] = {"name", "rights", "all_cameras",
                                         "require_totp", "cameras", NULL};
    json_t *obj = api_body_object(c, fields,
                                  "name, rights, all_cameras, require_totp "
                                  "and cameras");
    json_t *v;
    int rc = -1;

    memset(in, 0, sizeof(*in));
    if (!obj)
        return -1;
    in->has_name = api_admin_string(c, obj, "name", in->name,
                                    sizeof(in->name));
    if (in->has_name < 0)
        goto done;
    in->has_require_totp = api_admin_bool(c, obj, "require_totp",
                                          &in->require_totp);
    if (in->has_require_totp < 0)
        goto done;
    v = json_object_get(obj, "rights");
    in->has_rights = v != NULL;
    if (v && api_role_rights(c, v, "rights", AUTH_GLOBAL_RIGHTS,
                             "rights takes users, settings and audit; put "
                             "camera rights in all_cameras or cameras",
                             &in->rights) < 0)
        goto done;
    v = json_object_get(obj, "all_cameras");
    in->has_all_cameras = v != NULL;
    if (v && api_role_rights(c, v, "all_cameras", AUTH_CAMERA_RIGHTS,
                             "all_cameras takes live, playback, export, "
                             "ptz and configure; put users, settings and "
                             "audit in rights",
                             &in->all_cameras) < 0)
        goto done;
    v = json_object_get(obj, "cameras");
    in->has_cameras = v != NULL;
    if (v && api_role_cameras(c, v, in) < 0)
        goto done;
    rc = 0;

done:
    json_decref(obj);
    return rc;
}

/* Returns the rights of camera_id in grants, 0 without a grant. */
static uint32_t api_grant_rights(const auth_camera_grant_t *grants, size_t n,
                                 int64_t camera_id)
{
    for (size_t i = 0; i < n; i++)
        if (grants[i].camera_id == camera_id)
            return grants[i].rights;
    return 0;
}

/* Checks that every camera that gets new rights exists, so that a
 * mistyped id grants nothing to a camera added later under it. A grant
 * already stored may name a camera deleted since. Returns 0, or -1
 * after responding. */
static int api_role_check_cameras(api_conn_t *c, const api_role_input_t *in,
                                  const auth_camera_grant_t *stored,
                                  size_t n_stored)
{
    catalog_camera_t cam;

    if (!c->srv->cfg.cat)
        return 0;
    for (size_t i = 0; i < in->n_cameras; i++) {
        const auth_camera_grant_t *g = &in->cameras[i];
        int rc;

        if (api_grant_rights(stored, n_stored, g->camera_id) == g->rights)
            continue;
        rc = catalog_camera_get(c->srv->cfg.cat, g->camera_id, &cam);
        if (rc == -ENOENT) {
            api_respond_error(c, 400, "invalid cameras: camera %lld not "
                                      "found; GET /api/v1/cameras lists "
                                      "the cameras",
                              (long long)g->camera_id);
            return -1;
        }
        if (rc < 0) {
            api_respond_error(c, 500, "cannot read camera %lld: %s",
                              (long long)g->camera_id, strerror(-rc));
            return -1;
        }
    }
    return 0;
}

/* Makes the role's per-camera grants those of in: new and changed ones
 * are set, and stored ones that in lacks are removed. Returns 0 or the
 * library's error with a message in err. */
static int api_role_set_grants(api_conn_t *c, const auth_role_t *role,
                               const api_role_input_t *in,
                               const auth_camera_grant_t *stored,
                               size_t n_stored, char *err, size_t errlen)
{
    const char *actor = c->principal->user;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n_stored; i++)
        if (api_grant_rights(in->cameras, in->n_cameras,
                             stored[i].camera_id) == 0)
            rc = auth_role_grant(c->srv->auth, actor, role->id,
                                 stored[i].camera_id, 0, err, errlen);
    for (size_t i = 0; rc == 0 && i < in->n_cameras; i++) {
        const auth_camera_grant_t *g = &in->cameras[i];

        if (api_grant_rights(stored, n_stored, g->camera_id) != g->rights)
            rc = auth_role_grant(c->srv->auth, actor, role->id,
                                 g->camera_id, g->rights, err, errlen);
    }
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "cannot store the camera grants of role "
                              "'%s': %s",
                 role->name, strerror(-rc));
    return rc;
}

static int api_role_create(api_conn_t *c)
{
    char err[AUTH_ERR_MAX] = "";
    api_role_input_t in;
    auth_role_t role;
    int rc;

    if (api_role_input(c, &in) < 0) {
        free(in.cameras);
        return 0;
    }
    if (!in.has_name) {
        free(in.cameras);
        return api_respond_error(c, 400, "missing name: send the role's "
                                         "name, and its rights, "
                                         "all_cameras and cameras");
    }
    if (api_role_check_cameras(c, &in, NULL, 0) < 0) {
        free(in.cameras);
        return 0;
    }
    memset(&role, 0, sizeof(role));
    snprintf(role.name, sizeof(role.name), "%s", in.name);
    role.global_rights = in.rights;
    role.all_cameras = in.all_cameras;
    role.require_totp = in.require_totp;
    rc = auth_role_create(c->srv->auth, c->principal->user, &role, err,
                          sizeof(err));
    if (rc == 0) {
        rc = api_role_set_grants(c, &role, &in, NULL, 0, err, sizeof(err));
        if (rc < 0) {
            free(in.cameras);
            return api_respond_error(c, 500, "role '%s' was created without "
                                             "all its camera grants: %s; "
                                             "send PUT /api/v1/roles/%lld "
                                             "again",
                                     role.name, err, (long long)role.id);
        }
    }
    free(in.cameras);
    if (rc < 0)
        return api_respond_error(c, api_admin_status(rc), "%s", err);
    return api_role_respond(c, 201, role.name);
}

/* PUT /roles/ID: the fields sent replace the stored ones, and absent
 * fields are kept. A built-in role may change only require_totp. */
static int api_role_update(api_conn_t *c, int64_t id)
{
    char err[AUTH_ERR_MAX] = "";
    auth_camera_grant_t *stored = NULL;
    size_t n_stored = 0;
    api_role_input_t in;
    auth_role_t cur;
    auth_role_t next;
    int rc = api_role_find(c->srv->auth, id, &cur);

    if (rc == -ENOENT)
        return api_respond_error(c, 404, "role %lld not found: GET "
                                         "/api/v1/roles lists the roles",
                                 (long long)id);
    if (rc == 0)
        rc = auth_role_grants(c->srv->auth, id, &stored, &n_stored);
    if (rc < 0)
        return api_respond_error(c, 500, "cannot read role %lld: %s",
                                 (long long)id, strerror(-rc));
    if (api_role_input(c, &in) < 0)
        goto done;
    if (in.has_name && strcmp(in.name, cur.name) != 0) {
        rc = api_respond_error(c, 400, "invalid name: role '%s' cannot be "
                                       "renamed; create a role with the "
                                       "new name and move its users",
                               cur.name);
        goto done;
    }
    next = cur;
    if (in.has_rights)
        next.global_rights = in.rights;
    if (in.has_all_cameras)
        next.all_cameras = in.all_cameras;
    if (in.has_require_totp)
        next.require_totp = in.require_totp;
    /* Checked here, not only by the library, so that a refused request
     * changes nothing. */
    if (cur.builtin && (next.global_rights != cur.global_rights ||
                        next.all_cameras != cur.all_cameras ||
                        in.n_cameras > 0)) {
        rc = api_respond_error(c, 403, "the rights of built-in role '%s' "
                                       "cannot change: create a custom "
                                       "role instead",
                               cur.name);
        goto done;
    }
    if (in.has_cameras &&
        api_role_check_cameras(c, &in, stored, n_stored) < 0) {
        rc = 0;
        goto done;
    }
    rc = 0;
    if (next.global_rights != cur.global_rights ||
        next.all_cameras != cur.all_cameras ||
        next.require_totp != cur.require_totp)
        rc = auth_role_update(c->srv->auth, c->principal->user, &next, err,
                              sizeof(err));
    if (rc == 0 && in.has_cameras)
        rc = api_role_set_grants(c, &cur, &in, stored, n_stored, err,
                                 sizeof(err));
    if (rc < 0)
        rc = api_respond_error(c, api_admin_status(rc), "%s", err);
    else
        rc = api_role_respond(c, 200, cur.name);

done:
    free(in.cameras);
    free(stored);
    return rc;
}

static int api_role_delete(api_conn_t *c, int64_t id)
{
    char err[AUTH_ERR_MAX] = "";
    int rc = auth_role_delete(c->srv->auth, c->principal->user, id, err,
                              sizeof(err));

    if (rc == -ENOENT)
        return api_respond_error(c, 404, "role %lld not found: GET "
                                         "/api/v1/roles lists the roles",
                                 (long long)id);
    if (rc < 0)
        return api_respond_error(c, api_admin_status(rc), "%s",
                                 err[0] ? err : strerror(-rc));
    return api_respond(c, 204, "application/json", NULL, NULL);
}

static int api_route_roles(api_conn_t *c, const char *rest)
{
    int64_t id;

    if (rest[0] == '\0')
        return c->method == API_POST ? api_role_create(c)
                                     : api_roles_list(c);
    id = api_admin_id(rest);
    if (id == 0)
        return api_respond_error(c, 404, "unknown API path %s", c->path);
    return c->method == API_DELETE ? api_role_delete(c, id)
                                   : api_role_update(c, id);
}

/* ---- Settings --------------------------------------------------------- */

static int api_settings_respond(api_conn_t *c)
{
    auth_password_policy_t policy;
    int rc = auth_password_policy_get(c->srv->auth, &policy);

    if (rc < 0)
        return api_respond_error(c, 500, "cannot read the password policy: "
                                         "%s",
                                 strerror(-rc));
    return api_respond_json(
        c, 200,
        json_pack("{s:{s:i, s:i, s:b}}", "password_policy", "min_length",
                  policy.min_length, "min_classes", policy.min_classes,
                  "reject_username", policy.reject_username));
}

/* Reads the integer member key of obj into *out, keeping *out when it
 * is absent. Returns 0, or -1 after responding 400. */
static int api_settings_int(api_conn_t *c, json_t *obj, const char *key,
                            int *out)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < INT_MIN ||
        json_integer_value(v) > INT_MAX) {
        api_respond_error(c, 400, "invalid password_policy.%s: expected an "
                                  "integer",
                          key);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

/* PUT /settings: the fields sent replace the stored ones. The library
 * rejects values below its floor with a message that names them. */
static int api_settings_update(api_conn_t *c)
{
    static const char *const fields[] = {"password_policy", NULL};
    static const char *const policy_fields[] = {
        "min_length", "min_classes", "reject_username", NULL};
    char err[AUTH_ERR_MAX];
    auth_password_policy_t policy;
    json_t *obj = api_body_object(c, fields, "password_policy");
    json_t *p;
    const char *key;
    json_t *v;
    int rc;

    if (!obj)
        return 0;
    p = json_object_get(obj, "password_policy");
    if (!p) {
        json_decref(obj);
        return api_respond_error(c, 400, "nothing to change: send "
                                         "password_policy");
    }
    if (!json_is_object(p)) {
        json_decref(obj);
        return api_respond_error(c, 400, "invalid password_policy: "
                                         "expected an object with "
                                         "min_length, min_classes and "
                                         "reject_username");
    }
    json_object_foreach(p, key, v) {
        size_t i;

        for (i = 0; policy_fields[i]; i++)
            if (strcmp(key, policy_fields[i]) == 0)
                break;
        if (!policy_fields[i]) {
            rc = api_respond_error(c, 400, "unknown field "
                                           "'password_policy.%.64s': "
                                           "expected min_length, "
                                           "min_classes and "
                                           "reject_username",
                                   key);
            json_decref(obj);
            return rc;
        }
    }
    rc = auth_password_policy_get(c->srv->auth, &policy);
    if (rc < 0) {
        json_decref(obj);
        return api_respond_error(c, 500, "cannot read the password policy: "
                                         "%s",
                                 strerror(-rc));
    }
    if (api_settings_int(c, p, "min_length", &policy.min_length) < 0 ||
        api_settings_int(c, p, "min_classes", &policy.min_classes) < 0 ||
        api_admin_bool(c, p, "reject_username", &policy.reject_username) <
            0) {
        json_decref(obj);
        return 0;
    }
    json_decref(obj);
    rc = auth_password_policy_set(c->srv->auth, c->principal->user, &policy,
                                  err, sizeof(err));
    if (rc < 0)
        return api_respond_error(c, rc == -EINVAL ? 400 : 500, "%s", err);
    return api_settings_respond(c);
}

/* ---- Audit log -------------------------------------------------------- */

/* The filter of GET /audit and the buffers its strings live in. */
typedef struct api_audit_query {
    auth_audit_filter_t filter;
    char actor[AUTH_NAME_MAX];
    char action[48];
    int jsonl;      /* format=jsonl */
    int has_limit;
} api_audit_query_t;

/* Reads a time argument into *out_us, which stays 0 when it is absent.
 * Returns 0, or -1 after responding 400. */
static int api_audit_time_arg(api_conn_t *c, const char *name,
                              int64_t *out_us)
{
    char buf[64];
    const char *v = api_query(c, name, buf, sizeof(buf));

    if (!v || api_parse_time(v, out_us) == 0)
        return 0;
    api_respond_error(c, 400, "invalid %s: expected UTC microseconds or "
                              "ISO 8601 like 2026-01-31T12:00:00Z",
                      name);
    return -1;
}

/* Reads an integer argument from min to max into *out. Returns 1 when
 * present, 0 when absent, or -1 after responding 400. */
static int api_audit_int_arg(api_conn_t *c, const char *name, long long min,
                             long long max, long long *out)
{
    char buf[32];
    const char *v = api_query(c, name, buf, sizeof(buf));
    char *end;

    if (!v)
        return 0;
    errno = 0;
    *out = strtoll(v, &end, 10);
    if (end == v || *end || errno || *out < min || *out > max) {
        api_respond_error(c, 400, "invalid %s '%s': expected an integer "
                                  "from %lld to %lld",
                          name, v, min, max);
        return -1;
    }
    return 1;
}

/* Reads a text argument that must fit into out. Returns 1 when present,
 * 0 when absent, or -1 after responding 400. */
static int api_audit_text_arg(api_conn_t *c, const char *name, char *out,
                              size_t len)
{
    char buf[256];
    const char *v = api_query(c, name, buf, sizeof(buf));

    if (!v)
        return 0;
    if (!*v || strlen(v) >= len) {
        api_respond_error(c, 400, "invalid %s: expected 1 to %zu bytes",
                          name, len - 1);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 1;
}

/* Parses the query of GET /audit. Returns 0, or -1 after responding. */
static int api_audit_query(api_conn_t *c, api_audit_query_t *q)
{
    char format[16];
    long long after = 0;
    long long limit = API_AUDIT_DEFAULT_LIMIT;
    int rc;

    memset(q, 0, sizeof(*q));
    if (api_audit_time_arg(c, "from", &q->filter.from_us) < 0 ||
        api_audit_time_arg(c, "to", &q->filter.to_us) < 0)
        return -1;
    if (q->filter.from_us && q->filter.to_us &&
        q->filter.to_us <= q->filter.from_us) {
        api_respond_error(c, 400, "invalid range: to must be after from");
        return -1;
    }
    rc = api_audit_text_arg(c, "actor", q->actor, sizeof(q->actor));
    if (rc < 0)
        return -1;
    q->filter.actor = rc ? q->actor : NULL;
    rc = api_audit_text_arg(c, "action", q->action, sizeof(q->action));
    if (rc < 0)
        return -1;
    q->filter.action = rc ? q->action : NULL;
    if (api_audit_int_arg(c, "after", 0, INT64_MAX, &after) < 0)
        return -1;
    q->filter.after_seq = after;
    q->has_limit = api_audit_int_arg(c, "limit", 1, API_AUDIT_MAX_LIMIT,
                                     &limit);
    if (q->has_limit < 0)
        return -1;
    q->filter.limit = (size_t)limit;
    rc = api_audit_text_arg(c, "format", format, sizeof(format));
    if (rc < 0)
        return -1;
    if (rc && strcmp(format, "jsonl") != 0 && strcmp(format, "json") != 0) {
        api_respond_error(c, 400, "invalid format '%s': expected json or "
                                  "jsonl",
                          format);
        return -1;
    }
    q->jsonl = rc && strcmp(format, "jsonl") == 0;
    return 0;
}

static json_t *api_audit_entry_json(const auth_audit_entry_t *e)
{
    json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                          "s:s}",
                          "seq", (json_int_t)e->seq, "time_us",
                          (json_int_t)e->time_us, "actor", e->actor,
                          "source", e->source, "action", e->action,
                          "target", e->target, "outcome", e->outcome,
                          "detail", e->detail, "prev_hash", e->prev_hash,
                          "hash", e->hash);

    /* json_pack() fails on text that is not UTF-8; such a row is still
     * listed, with its seq and hashes, as auth_audit_export() does. */
    if (!o)
        o = json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)e->seq,
                      "error", "row text is not UTF-8", "prev_hash",
                      e->prev_hash, "hash", e->hash);
    return o;
}

/* Responds with the matching entries as JSON Lines (the format of
 * auth_audit_export()), as a file to save. */
static int api_audit_export(api_conn_t *c, api_audit_query_t *q)
{
    char *text = NULL;
    size_t len = 0;
    size_t rows = 0;
    vms_buf_t *body;
    FILE *f;
    int rc;

    /* Without a limit the export contains every matching entry.
     * NOTE: it is built in memory, a few hundred bytes and at most about
     * 1 KB per entry, so a very long log is better fetched in pieces
     * with from and to, or with after and limit. */
    if (!q->has_limit)
        q->filter.limit = 0;
    f = open_memstream(&text, &len);
    if (!f)
        return api_respond_error(c, 503, "out of memory: retry later");
    rc = auth_audit_export(c->srv->auth, &q->filter, f);
    if (fclose(f) != 0 && rc == 0)
        rc = -EIO;
    if (rc < 0) {
        free(text);
        return api_respond_error(c, 500, "cannot export the audit log: %s",
                                 strerror(-rc));
    }
    for (size_t i = 0; i < len; i++)
        rows += text[i] == '\n';
    body = vms_buf_new(text, len);
    free(text);
    if (!body)
        return api_respond_error(c, 503, "out of memory: retry later");
    if (c->method == API_GET)
        api_audit(c, "audit.export", "-", "ok", "rows=%zu", rows);
    return api_respond(c, 200, "application/x-ndjson", body,
                       "Content-Disposition: attachment; "
                       "filename=\"audit.jsonl\"");
}

static int api_audit_list(api_conn_t *c)
{
    api_audit_query_t q;
    auth_audit_entry_t *entries = NULL;
    size_t limit;
    size_t n = 0;
    json_t *list;
    int rc;

    if (api_audit_query(c, &q) < 0)
        return 0;
    if (q.jsonl)
        return api_audit_export(c, &q);
    /* One entry more than the limit shows whether the list was cut. */
    limit = q.filter.limit;
    q.filter.limit = limit + 1;
    rc = auth_audit_list(c->srv->auth, &q.filter, &entries, &n);
    if (rc < 0)
        return api_respond_error(c, 500, "cannot read the audit log: %s",
                                 strerror(-rc));
    list = json_array();
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(list, api_audit_entry_json(&entries[i]));
    free(entries);
    return api_respond_json(c, 200,
                            json_pack("{s:o, s:b}", "entries", list,
                                      "truncated", n > limit));
}

static int api_audit_verify(api_conn_t *c)
{
    char err[AUTH_ERR_MAX];
    int64_t count = 0;
    int64_t bad_seq = 0;
    int rc = auth_audit_verify(c->srv->auth, &count, &bad_seq, err,
                               sizeof(err));

    if (rc == 0)
        return api_respond_json(
            c, 200,
            json_pack("{s:b, s:I, s:n, s:n}", "intact", 1, "count",
                      (json_int_t)count, "bad_seq", "error"));
    if (rc == -EBADMSG) {
        vms_log(VMS_LOG_WARN, "api",
                "event=audit_chain_broken bad_seq=%lld error=\"%s\"",
                (long long)bad_seq, err);
        return api_respond_json(
            c, 200,
            json_pack("{s:b, s:I, s:I, s:s}", "intact", 0, "count",
                      (json_int_t)count, "bad_seq", (json_int_t)bad_seq,
                      "error", err));
    }
    return api_respond_error(c, 500, "%s", err);
}

/* ---- Dispatch --------------------------------------------------------- */

int api_route_admin(api_conn_t *c, const char *path)
{
    /* The route table already matched method and path, and checked the
     * caller's rights. */
    if (api_deferred_busy(c))
        return 0;
    if (strncmp(path, "/users", 6) == 0 &&
        (path[6] == '\0' || path[6] == '/'))
        return api_route_users(c, path + 6);
    if (strncmp(path, "/roles", 6) == 0 &&
        (path[6] == '\0' || path[6] == '/'))
        return api_route_roles(c, path + 6);
    if (strcmp(path, "/settings") == 0)
        return c->method == API_PUT ? api_settings_update(c)
                                    : api_settings_respond(c);
    if (strcmp(path, "/audit") == 0)
        return api_audit_list(c);
    if (strcmp(path, "/audit/verify") == 0)
        return api_audit_verify(c);
    return api_respond_error(c, 404, "unknown API path %s", c->path);
}
