/*
 * The audit key file and the opening of the security service over a
 * data directory. vmsd and vmsctl both call these functions, so that
 * both write and verify the audit chain with the same key.
 *
 * DATA_DIR/audit.key contains the 32 raw bytes of the BLAKE2b key of the
 * audit chain (auth_config_t.audit_key). It is kept outside the
 * database so that someone who can write the database but not read the
 * key cannot forge the chain. A lost or replaced key makes every row
 * written with the old key fail auth_audit_verify(), so back it up with
 * the database.
 */
#ifndef VMS_AUTH_KEYFILE_H
#define VMS_AUTH_KEYFILE_H

#include <stddef.h>

#include "auth/auth.h"

#define AUTH_AUDIT_KEY_LEN 32
#define AUTH_AUDIT_KEY_FILE "audit.key"
/* The catalog database, which also contains the auth_* tables. */
#define AUTH_CATALOG_FILE "catalog.db"

/*
 * Reads DATA_DIR/audit.key into key, or creates it with 32 random bytes
 * when it does not exist. An existing file must be a regular file of
 * exactly 32 bytes with mode 0600, owned by the effective uid of the
 * caller. A new file is written under a temporary name, fsynced and
 * published with link(), so other processes see either no file or the
 * whole key. When another process publishes its key first, that key is
 * read and returned.
 *
 * Returns 0, or with a message in err that names the path and the fix:
 * -EPERM for a wrong owner or mode, -EINVAL for a file that is not a
 * regular file of 32 bytes (or a symbolic link), -ENOENT when data_dir
 * does not exist, -ENAMETOOLONG, or another negative errno of a failed
 * system call.
 */
int auth_audit_key_load(const char *data_dir, unsigned char key[32],
                        char *err, size_t errlen);

/*
 * Opens the security service of a data directory: loads the audit key
 * with auth_audit_key_load(), opens DATA_DIR/catalog.db (created if
 * missing) with auth_store_sqlite_open() and calls auth_new() with the
 * key and the default costs and timeouts. *out is freed with
 * auth_free() and is NULL on failure. Returns 0 or a negative errno
 * with a message in err.
 */
int auth_open_data_dir(const char *data_dir, auth_t **out, char *err,
                       size_t errlen);

#endif
