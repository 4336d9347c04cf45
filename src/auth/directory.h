/*
 * Directory login (LDAP, Active Directory) through OpenLDAP's libldap.
 *
 * The connection is always encrypted: ldaps:// or ldap:// with
 * StartTLS, and the directory's certificate is verified against
 * ca_file. The user is checked by binding as the user, either with a DN
 * built from a template or with the DN found by a search made as a
 * service account. The user's groups select a role through an ordered
 * map: the first group that the user is a member of wins.
 */
#ifndef VMS_AUTH_DIRECTORY_H
#define VMS_AUTH_DIRECTORY_H

#include <stddef.h>

typedef struct auth_ldap_group_map {
    const char *group_dn; /* "cn=operators,ou=groups,dc=example,dc=org" */
    const char *role;     /* a role name: "operator" */
} auth_ldap_group_map_t;

typedef struct auth_ldap_config {
    /* "ldaps://dir.example.org" or "ldap://dir.example.org:389". */
    const char *uri;
    /* Required for ldap:// URIs, which are refused without it. */
    int starttls;
    /* PEM file of the CA that issued the directory's certificate;
     * NULL: the system's CA store. */
    const char *ca_file;
    /* Bind DN of a user, with %s for the escaped user name:
     * "uid=%s,ou=people,dc=example,dc=org", or for Active Directory
     * "%s@example.org". NULL: search for the DN instead. */
    const char *user_dn_template;
    /* Service account for the search and the group lookup. NULL binds
     * anonymously for them. */
    const char *bind_dn;
    const char *bind_password;
    /* Where users are searched, and the filter with %s for the escaped
     * user name: "(&(objectClass=inetOrgPerson)(uid=%s))". */
    const char *base_dn;
    const char *user_filter;
    /* Where groups are searched with group_filter, %s standing for the
     * user's escaped DN (default "(member=%s)"). NULL: the user entry's
     * memberOf values are the groups. */
    const char *group_base_dn;
    const char *group_filter;
    const auth_ldap_group_map_t *groups;
    size_t n_groups;
    int timeout_ms; /* per network operation; 0 selects 5000 */
} auth_ldap_config_t;

/* Authenticates user with password against the directory and maps the
 * user's groups to a role, written into role (rolelen bytes).
 * Returns 0 or:
 *   -EACCES        wrong password (or an empty one, never sent)
 *   -ENOENT        no such user in the directory
 *   -EPERM         the user is in no mapped group
 *   -EHOSTUNREACH  the directory cannot be reached
 *   -EPROTO        TLS or another directory error
 *   -EINVAL        an invalid configuration
 * with the reason in err in every case. */
int auth_ldap_authenticate(const auth_ldap_config_t *cfg, const char *user,
                           const char *password, char *role, size_t rolelen,
                           char *err, size_t errlen);

/* Escapes a value for an LDAP search filter (RFC 4515) or a DN
 * attribute value (RFC 4514). -ENOSPC if out is too small. */
int auth_ldap_escape_filter(const char *in, char *out, size_t len);
int auth_ldap_escape_dn(const char *in, char *out, size_t len);

#endif
