/*
 * libFuzzer target: vms_config_parse() on arbitrary text, and
 * vms_config_host_is_loopback() on the host it accepts.
 *
 * fuzz-sources: src/common/config.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vms_config_t cfg;
    char err[256];
    int rc;

    vms_config_defaults(&cfg);
    memset(err, 'x', sizeof(err));
    err[0] = '\0';
    rc = vms_config_parse(&cfg, (const char *)data, size, err, sizeof(err));
    if (rc != 0 && rc != -EINVAL)
        abort(); /* only -EINVAL is documented */
    if (rc != 0 && (err[0] == '\0' || !memchr(err, '\0', sizeof(err))))
        abort(); /* every error has a message */
    if (cfg.volume_count < 0 || cfg.volume_count > VMS_CONFIG_MAX_VOLUMES)
        abort();
    if (rc == 0) {
        /* Accepted values stay in their documented ranges. */
        if (cfg.listen_port < 1 || cfg.listen_port > 65535 ||
            cfg.segment_seconds < 2 || cfg.segment_seconds > 3600 ||
            !memchr(cfg.listen_host, '\0', sizeof(cfg.listen_host)) ||
            !memchr(cfg.data_dir, '\0', sizeof(cfg.data_dir)))
            abort();
        vms_config_host_is_loopback(cfg.listen_host);
    }
    return 0;
}
