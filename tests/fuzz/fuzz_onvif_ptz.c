/*
 * libFuzzer target: the ONVIF PTZ parsers (GetPresets, GetStatus,
 * GetNodes, GetConfigurations, SetPreset) on arbitrary bytes.
 *
 * fuzz-sources: src/onvif/xml.c src/onvif/parse.c
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
    onvif_ptz_preset_t *presets = NULL;
    onvif_ptz_node_t *nodes = NULL;
    onvif_ptz_configuration_t *configs = NULL;
    onvif_ptz_status_t status;
    onvif_err_t err;
    size_t count = 0;
    char *token = NULL;
    int rc;

    err.msg[0] = '\0';
    rc = onvif_parse_ptz_presets(xml, size, &presets, &count, &err);
    if (rc < 0 && (err.msg[0] == '\0' || presets != NULL))
        abort();
    onvif_ptz_presets_free(presets, count);

    err.msg[0] = '\0';
    rc = onvif_parse_ptz_status(xml, size, &status, &err);
    if (rc < 0 && err.msg[0] == '\0')
        abort();
    if (memchr(status.error, '\0', sizeof(status.error)) == NULL)
        abort();

    err.msg[0] = '\0';
    rc = onvif_parse_ptz_nodes(xml, size, &nodes, &count, &err);
    if (rc < 0 && (err.msg[0] == '\0' || nodes != NULL))
        abort();
    onvif_ptz_nodes_free(nodes, count);

    err.msg[0] = '\0';
    rc = onvif_parse_ptz_configurations(xml, size, &configs, &count, &err);
    if (rc < 0 && (err.msg[0] == '\0' || configs != NULL))
        abort();
    onvif_ptz_configurations_free(configs, count);

    err.msg[0] = '\0';
    rc = onvif_parse_set_preset(xml, size, &token, &err);
    if (rc < 0 && err.msg[0] == '\0')
        abort();
    free(token);
    return 0;
}
