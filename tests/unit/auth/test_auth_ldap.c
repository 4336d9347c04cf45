/*
 * Directory login against a real slapd (OpenLDAP from Debian) that the
 * test starts as the current user on free loopback ports, with its
 * configuration, TLS certificate and directory data in a temporary
 * directory. Nothing under /etc is written: the packaged schema files
 * are only read. slapd is stopped by its PID.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "fixture.h"

#include "auth/directory.h"
#include "auth/tls.h"

#define SLAPD "/usr/sbin/slapd"
#define SLAPADD "/usr/sbin/slapadd"
#define SCHEMA "/etc/ldap/schema"
#define BASE "dc=example,dc=org"

typedef struct directory {
    fixture_t *f;
    pid_t pid;
    int port_ldap, port_ldaps;
    char ca[400], other_ca[400];
    char uri_ldap[64], uri_ldaps[64];
} directory_t;

static directory_t dir_state;

static const auth_ldap_group_map_t dir_groups[] = {
    {"cn=vms-admins,ou=groups," BASE, AUTH_ROLE_ADMINISTRATOR},
    {"cn=vms-operators,ou=groups," BASE, AUTH_ROLE_OPERATOR},
    {"CN=VMS-Viewers, OU=groups, DC=example, DC=org", AUTH_ROLE_VIEWER},
};

static const char dir_ldif[] =
    "dn: " BASE "\n"
    "objectClass: dcObject\nobjectClass: organization\n"
    "dc: example\no: Example\n\n"
    "dn: ou=people," BASE "\nobjectClass: organizationalUnit\n"
    "ou: people\n\n"
    "dn: ou=groups," BASE "\nobjectClass: organizationalUnit\n"
    "ou: groups\n\n"
    "dn: cn=reader," BASE "\nobjectClass: organizationalRole\n"
    "objectClass: simpleSecurityObject\ncn: reader\n"
    "userPassword: reader-secret-pw\n\n"
    "dn: uid=alice,ou=people," BASE "\nobjectClass: inetOrgPerson\n"
    "uid: alice\ncn: Alice\nsn: A\nuserPassword: alice-secret-pw\n\n"
    "dn: uid=bob,ou=people," BASE "\nobjectClass: inetOrgPerson\n"
    "uid: bob\ncn: Bob\nsn: B\nuserPassword: bob-secret-pw\n\n"
    "dn: uid=carol,ou=people," BASE "\nobjectClass: inetOrgPerson\n"
    "uid: carol\ncn: Carol\nsn: C\nuserPassword: carol-secret-pw\n\n"
    "dn: cn=vms-operators,ou=groups," BASE "\nobjectClass: groupOfNames\n"
    "cn: vms-operators\nmember: uid=alice,ou=people," BASE "\n\n"
    "dn: cn=vms-viewers,ou=groups," BASE "\nobjectClass: groupOfNames\n"
    "cn: vms-viewers\nmember: uid=bob,ou=people," BASE "\n"
    "member: uid=alice,ou=people," BASE "\n\n"
    "dn: cn=others,ou=groups," BASE "\nobjectClass: groupOfNames\n"
    "cn: others\nmember: uid=carol,ou=people," BASE "\n";

/* Returns a loopback TCP port that was free a moment ago. */
static int dir_free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Returns 1 once something accepts connections on the port. */
static int dir_port_open(int port)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Writes text to dir/name. */
static void dir_write(const fixture_t *f, const char *name,
                      const char *text)
{
    char path[400];
    FILE *out;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
}

/* Creates the certificates, configuration and data, then starts slapd
 * in the foreground (-d 0) as a child process. */
static int dir_setup_steps(void **state)
{
    static const char *const names[] = {"localhost", "127.0.0.1"};
    directory_t *d = &dir_state;
    char conf[4096], path[400], cmd[1200], key[400], cert[400];
    fixture_t *f;

    if (access(SLAPD, X_OK) != 0 || access(SLAPADD, X_OK) != 0) {
        fprintf(stderr, "slapd is not installed: run "
                        "scripts/install-auth-deps.sh as root\n");
        return -1;
    }
    if (fixture_setup(state) != 0)
        return -1;
    f = *state;
    *state = NULL;
    memset(d, 0, sizeof(*d));
    d->f = f; /* freed by dir_teardown() from here on */

    snprintf(d->ca, sizeof(d->ca), "%s/ca.pem", f->dir);
    snprintf(key, sizeof(key), "%s/ca.key", f->dir);
    snprintf(d->other_ca, sizeof(d->other_ca), "%s/other-ca.pem", f->dir);
    snprintf(path, sizeof(path), "%s/other-ca.key", f->dir);
    if (auth_tls_ca_create("Directory test CA", AUTH_TLS_KEY_EC_P256, 1,
                           d->ca, key, f->err, sizeof(f->err)) < 0 ||
        auth_tls_ca_create("Unrelated CA", AUTH_TLS_KEY_EC_P256, 1,
                           d->other_ca, path, f->err, sizeof(f->err)) < 0)
        return -1;
    snprintf(cert, sizeof(cert), "%s/slapd.pem", f->dir);
    snprintf(path, sizeof(path), "%s/slapd.key", f->dir);
    if (auth_tls_server_create(d->ca, key, names, 2, AUTH_TLS_KEY_EC_P256,
                               1, cert, path, f->err, sizeof(f->err)) < 0)
        return -1;

    snprintf(conf, sizeof(conf),
             "include %s/core.schema\n"
             "include %s/cosine.schema\n"
             "include %s/inetorgperson.schema\n"
             "modulepath /usr/lib/ldap\n"
             "moduleload back_mdb\n"
             "pidfile %s/slapd.pid\n"
             "argsfile %s/slapd.args\n"
             "TLSCACertificateFile %s\n"
             "TLSCertificateFile %s\n"
             "TLSCertificateKeyFile %s/slapd.key\n"
             "database mdb\n"
             "maxsize 16777216\n"
             "suffix \"" BASE "\"\n"
             "rootdn \"cn=admin," BASE "\"\n"
             "directory %s/data\n"
             "access to attrs=userPassword by self read "
             "by anonymous auth by * none\n"
             "access to * by users read by * none\n",
             SCHEMA, SCHEMA, SCHEMA, f->dir, f->dir, d->ca, cert, f->dir,
             f->dir);
    dir_write(f, "slapd.conf", conf);
    dir_write(f, "data.ldif", dir_ldif);
    snprintf(path, sizeof(path), "%s/data", f->dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), SLAPADD " -q -f %s/slapd.conf -l "
             "%s/data.ldif > %s/slapadd.log 2>&1", f->dir, f->dir, f->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "slapadd failed, see %s/slapadd.log\n", f->dir);
        return -1;
    }

    d->port_ldap = dir_free_port();
    d->port_ldaps = dir_free_port();
    snprintf(d->uri_ldap, sizeof(d->uri_ldap), "ldap://127.0.0.1:%d",
             d->port_ldap);
    snprintf(d->uri_ldaps, sizeof(d->uri_ldaps), "ldaps://127.0.0.1:%d",
             d->port_ldaps);
    d->pid = fork();
    if (d->pid == 0) {
        char listen[160], conf_path[400], log[400];
        snprintf(listen, sizeof(listen), "%s/ %s/", d->uri_ldap,
                 d->uri_ldaps);
        snprintf(conf_path, sizeof(conf_path), "%s/slapd.conf", f->dir);
        snprintf(log, sizeof(log), "%s/slapd.log", f->dir);
        if (!freopen(log, "w", stderr) || !freopen("/dev/null", "r", stdin))
            _exit(126);
        execl(SLAPD, SLAPD, "-d", "0", "-f", conf_path, "-h", listen,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        struct timespec ts = {0, 50 * 1000000};
        if (dir_port_open(d->port_ldap) && dir_port_open(d->port_ldaps))
            return 0;
        if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
            fprintf(stderr, "slapd exited at start, see %s/slapd.log\n",
                    f->dir);
            d->pid = 0;
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "slapd did not open its ports in 5 s\n");
    return -1;
}

/* Stops slapd by its PID and removes the directory. */
static int dir_teardown(void **state)
{
    directory_t *d = &dir_state;

    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        for (int i = 0; i < 100; i++) {
            struct timespec ts = {0, 50 * 1000000};
            if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
                d->pid = 0;
                break;
            }
            nanosleep(&ts, NULL);
        }
        if (d->pid > 0) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
        }
    }
    if (d->f) {
        void *f = d->f;
        d->f = NULL;
        fixture_teardown(&f);
    }
    (void)state;
    return 0;
}

static int dir_setup(void **state)
{
    int rc = dir_setup_steps(state);

    if (rc != 0)
        dir_teardown(state);
    return rc;
}

/* A configuration that searches as the service account over
 * StartTLS and looks groups up under ou=groups. */
static auth_ldap_config_t dir_config_search(void)
{
    auth_ldap_config_t c = {0};

    c.uri = dir_state.uri_ldap;
    c.starttls = 1;
    c.ca_file = dir_state.ca;
    c.bind_dn = "cn=reader," BASE;
    c.bind_password = "reader-secret-pw";
    c.base_dn = "ou=people," BASE;
    c.user_filter = "(&(objectClass=inetOrgPerson)(uid=%s))";
    c.group_base_dn = "ou=groups," BASE;
    c.groups = dir_groups;
    c.n_groups = sizeof(dir_groups) / sizeof(*dir_groups);
    c.timeout_ms = 3000;
    return c;
}

static void ldap_starttls_maps_groups(void **state)
{
    auth_ldap_config_t c = dir_config_search();
    char role[AUTH_NAME_MAX], err[AUTH_ERR_MAX];

    (void)state;
    /* alice is in operators and viewers: the first mapped group wins. */
    assert_int_equal(auth_ldap_authenticate(&c, "alice", "alice-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), 0);
    assert_string_equal(role, AUTH_ROLE_OPERATOR);
    /* The map spells the viewers' DN in other case and spacing. */
    assert_int_equal(auth_ldap_authenticate(&c, "bob", "bob-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), 0);
    assert_string_equal(role, AUTH_ROLE_VIEWER);
}

static void ldaps_dn_template(void **state)
{
    auth_ldap_config_t c = {0};
    char role[AUTH_NAME_MAX], err[AUTH_ERR_MAX];

    (void)state;
    c.uri = dir_state.uri_ldaps;
    c.ca_file = dir_state.ca;
    c.user_dn_template = "uid=%s,ou=people," BASE;
    c.group_base_dn = "ou=groups," BASE;
    c.groups = dir_groups;
    c.n_groups = sizeof(dir_groups) / sizeof(*dir_groups);
    assert_int_equal(auth_ldap_authenticate(&c, "bob", "bob-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), 0);
    assert_string_equal(role, AUTH_ROLE_VIEWER);
    assert_int_equal(auth_ldap_authenticate(&c, "bob", "wrong-password",
                                            role, sizeof(role), err,
                                            sizeof(err)), -EACCES);
    assert_non_null(strstr(err, "rejected the password"));
}

static void ldap_wrong_password_and_user(void **state)
{
    auth_ldap_config_t c = dir_config_search();
    char role[AUTH_NAME_MAX], err[AUTH_ERR_MAX];

    (void)state;
    assert_int_equal(auth_ldap_authenticate(&c, "alice", "bob-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), -EACCES);
    assert_non_null(strstr(err, "rejected the password of "
                                "'uid=alice,ou=people,dc=example,dc=org'"));
    /* An empty password would be an anonymous bind that succeeds. */
    assert_int_equal(auth_ldap_authenticate(&c, "alice", "", role,
                                            sizeof(role), err, sizeof(err)),
                     -EACCES);
    assert_int_equal(auth_ldap_authenticate(&c, "zed", "zed-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "user 'zed' not found"));
    /* A filter injection attempt is not a valid name. */
    assert_int_equal(auth_ldap_authenticate(&c, "*)(uid=*", "x", role,
                                            sizeof(role), err, sizeof(err)),
                     -ENOENT);
    assert_int_equal(auth_ldap_authenticate(&c, "carol", "carol-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "none is mapped"));
    c.bind_password = "not-the-reader-pw";
    assert_int_equal(auth_ldap_authenticate(&c, "alice", "alice-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "service account"));
}

static void ldap_unreachable_directory(void **state)
{
    auth_ldap_config_t c = dir_config_search();
    char role[AUTH_NAME_MAX], err[AUTH_ERR_MAX], uri[64];

    (void)state;
    snprintf(uri, sizeof(uri), "ldaps://127.0.0.1:%d", dir_free_port());
    c.uri = uri;
    c.starttls = 0;
    assert_int_equal(auth_ldap_authenticate(&c, "alice", "alice-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), -EHOSTUNREACH);
    assert_non_null(strstr(err, "unreachable"));
    assert_non_null(strstr(err, uri));
}

static void ldap_certificate_checked(void **state)
{
    auth_ldap_config_t c = dir_config_search();
    char role[AUTH_NAME_MAX], err[AUTH_ERR_MAX];

    (void)state;
    c.ca_file = dir_state.other_ca;
    assert_int_equal(auth_ldap_authenticate(&c, "alice", "alice-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "TLS handshake failed during StartTLS"));
    c.uri = dir_state.uri_ldaps;
    c.starttls = 0;
    assert_int_equal(auth_ldap_authenticate(&c, "alice", "alice-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "certificate"));
}

static void ldap_rejects_plain_config(void **state)
{
    auth_ldap_config_t c = dir_config_search();
    char role[AUTH_NAME_MAX], err[AUTH_ERR_MAX];

    (void)state;
    c.starttls = 0;
    assert_int_equal(auth_ldap_authenticate(&c, "alice", "alice-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "StartTLS"));
    c = dir_config_search();
    c.user_filter = "(uid=%s)(cn=%s)";
    assert_int_equal(auth_ldap_authenticate(&c, "alice", "alice-secret-pw",
                                            role, sizeof(role), err,
                                            sizeof(err)), -EINVAL);
}

static void ldap_login_creates_user(void **state)
{
    fixture_t *f = dir_state.f;
    auth_ldap_config_t c = dir_config_search();
    char token[AUTH_TOKEN_LEN + 1], uri[64];
    auth_principal_t *p = NULL;
    auth_user_t u;

    auth_free(f->auth);
    f->cfg.ldap = &c;
    fixture_open(f);
    assert_int_equal(fixture_login(f, "alice", "alice-secret-pw", NULL,
                                   "10.0.0.1", token), AUTH_LOGIN_OK);
    assert_int_equal(auth_user_get(f->auth, "alice", &u), 0);
    assert_int_equal(u.source, AUTH_SOURCE_LDAP);
    assert_int_equal(auth_resolve(f->auth, token, &p), 0);
    assert_string_equal(p->role, AUTH_ROLE_OPERATOR);
    assert_int_equal(auth_check(p, "POST", "/api/v1/cameras/{id}/ptz/move", 1),
                     AUTH_ALLOW);
    auth_principal_free(p);
    assert_int_equal(auth_user_set_password(f->auth, "root", "alice", NULL,
                                            "a local password 1", f->err,
                                            sizeof(f->err)), -EPERM);

    assert_int_equal(fixture_login(f, "alice", "wrong-password", NULL,
                                   "10.0.0.1", NULL), AUTH_LOGIN_FAILED);
    assert_int_equal(fixture_login(f, "carol", "carol-secret-pw", NULL,
                                   "10.0.0.1", NULL), AUTH_LOGIN_FAILED);

    /* With the directory down, the answer says so (HTTP 503). */
    auth_free(f->auth);
    snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%d", dir_free_port());
    c.uri = uri;
    fixture_open(f);
    assert_int_equal(fixture_login(f, "alice", "alice-secret-pw", NULL,
                                   "10.0.0.1", NULL),
                     AUTH_LOGIN_UNAVAILABLE);
    assert_non_null(strstr(f->err, "unreachable"));
    f->cfg.ldap = NULL;
}

static void ldap_escaping(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(auth_ldap_escape_filter("a*b(c)\\d", out, sizeof(out)),
                     0);
    assert_string_equal(out, "a\\2ab\\28c\\29\\5cd");
    assert_int_equal(auth_ldap_escape_dn(" a,b+c=d ", out, sizeof(out)), 0);
    assert_string_equal(out, "\\ a\\,b\\+c\\=d\\ ");
    assert_int_equal(auth_ldap_escape_dn("#x", out, sizeof(out)), 0);
    assert_string_equal(out, "\\#x");
    assert_int_equal(auth_ldap_escape_filter("((((", out, 8), -ENOSPC);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ldap_starttls_maps_groups),
        cmocka_unit_test(ldaps_dn_template),
        cmocka_unit_test(ldap_wrong_password_and_user),
        cmocka_unit_test(ldap_unreachable_directory),
        cmocka_unit_test(ldap_certificate_checked),
        cmocka_unit_test(ldap_rejects_plain_config),
        cmocka_unit_test(ldap_login_creates_user),
        cmocka_unit_test(ldap_escaping),
    };

    /* One slapd serves the whole program. Tests reach it through
     * dir_state. */
    return UNIT_RUN("auth ldap", tests, dir_setup, dir_teardown, argc,
                    argv);
}
