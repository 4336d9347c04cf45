/*
 * libFuzzer target: the ONVIF device-service parsers
 * (GetDeviceInformation, GetServices, GetCapabilities,
 * GetSystemDateAndTime) and the SOAP Fault reader on arbitrary bytes.
 *
 * fuzz-sources: src/onvif/xml.c src/onvif/parse.c
 * fuzz-packages: libxml-2.0
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onvif/internal.h"

/* Every failure carries a message and one of the documented codes. */
static void fuzz_onvif_check(int rc, const onvif_err_t *err)
{
    if (rc == 0)
        return;
    if (rc != -EBADMSG && rc != -EPROTO && rc != -EACCES &&
        rc != -EOPNOTSUPP && rc != -EINVAL && rc != -ENOMEM &&
        rc != -EMSGSIZE)
        abort();
    if (err->msg[0] == '\0' || memchr(err->msg, '\0', sizeof(err->msg)) ==
                                   NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    onvif_device_info_t info;
    onvif_services_t services;
    onvif_fault_t fault;
    onvif_err_t err;
    time_t utc;
    bool dst;
    int rc;

    err.msg[0] = '\0';
    rc = onvif_parse_device_information(xml, size, &info, &err);
    fuzz_onvif_check(rc, &err);
    if (rc == 0)
        onvif_device_info_clear(&info);

    err.msg[0] = '\0';
    rc = onvif_parse_services(xml, size, &services, &err);
    fuzz_onvif_check(rc, &err);
    onvif_services_clear(&services);

    err.msg[0] = '\0';
    rc = onvif_parse_capabilities(xml, size, &services, &err);
    fuzz_onvif_check(rc, &err);
    onvif_services_clear(&services);

    err.msg[0] = '\0';
    rc = onvif_parse_system_date_and_time(xml, size, &utc, &dst, &err);
    fuzz_onvif_check(rc, &err);

    err.msg[0] = '\0';
    rc = onvif_parse_fault(xml, size, &fault, &err);
    if (rc == 0 && (memchr(fault.reason, '\0', sizeof(fault.reason)) ==
                        NULL ||
                    onvif_fault_code(&fault) > 0))
        abort();
    return 0;
}
