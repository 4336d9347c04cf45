/*
 * libFuzzer target: the ONVIF media parsers (GetProfiles for Media and
 * Media2, GetStreamUri and GetSnapshotUri) on arbitrary bytes, and URI
 * rewriting of every URI they accept.
 *
 * fuzz-sources: src/onvif/xml.c src/onvif/parse.c src/onvif/uri.c
 * fuzz-packages: libxml-2.0
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onvif/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    onvif_profile_t *profiles = NULL;
    onvif_err_t err;
    size_t count = 0, i;
    char *uri = NULL, *out = NULL;
    bool rewritten;
    int rc;

    err.msg[0] = '\0';
    rc = onvif_parse_profiles(xml, size, &profiles, &count, &err);
    if (rc < 0 && (err.msg[0] == '\0' || profiles != NULL))
        abort();
    for (i = 0; rc == 0 && i < count; i++) {
        if (profiles[i].token == NULL || profiles[i].width < 0 ||
            profiles[i].height < 0)
            abort();
    }
    onvif_profiles_free(profiles, count);

    err.msg[0] = '\0';
    rc = onvif_parse_media_uri(xml, size, &uri, &err);
    if (rc < 0 && (err.msg[0] == '\0' || uri != NULL))
        abort();
    if (rc == 0) {
        if (uri == NULL || uri[0] == '\0')
            abort();
        rc = onvif_uri_rewrite(uri, "10.0.0.5", &out, &rewritten, &err);
        if (rc == 0 && out == NULL)
            abort();
        if (rc < 0 && rc != -EINVAL && rc != -ENOMEM)
            abort();
        free(out);
    }
    free(uri);
    return 0;
}
