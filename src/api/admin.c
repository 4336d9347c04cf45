/*
 * Administration over HTTP: users, roles, settings and the audit log
 * (/api/v1/users, /roles, /settings, /audit).
 */
#include "api/internal.h"

int api_route_admin(api_conn_t *c, const char *path)
{
    /* TODO: users, roles, settings and the audit log over HTTP; until
     * then vmsctl manages them on the data directory. */
    return api_respond_error(c, 501, "%s is not served yet: use vmsctl",
                             path);
}
