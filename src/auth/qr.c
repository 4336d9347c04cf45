/*
 * QR codes for TOTP enrolment, rendered locally as SVG so that the
 * secret never leaves the site. libqrencode encodes, and this file
 * only draws the modules.
 */
#include "auth/internal.h"

#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_QR_QUIET 4 /* white border in modules, ISO/IEC 18004 */

int auth_qr_svg(const char *text, char **svg)
{
    QRcode *qr;
    char *out = NULL;
    size_t cap, len = 0;
    int size, n;

    *svg = NULL;
    if (!text || text[0] == '\0')
        return -EINVAL;
    qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return errno ? -errno : -EINVAL;

    size = qr->width + 2 * AUTH_QR_QUIET;
    /* At most one "M%d %dh1v1h-1z" (under 24 bytes) per module. */
    cap = 512 + (size_t)qr->width * (size_t)qr->width * 24;
    out = malloc(cap);
    if (!out) {
        QRcode_free(qr);
        return -ENOMEM;
    }
    n = snprintf(out, cap,
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                 "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
                 "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>"
                 "<path fill=\"#000\" d=\"",
                 size, size);
    len = (size_t)n;
    for (int y = 0; y < qr->width; y++) {
        for (int x = 0; x < qr->width; x++) {
            /* Bit 0 of each byte is the module's colour (1: dark). */
            if (!(qr->data[y * qr->width + x] & 1))
                continue;
            n = snprintf(out + len, cap - len, "M%d %dh1v1h-1z",
                         x + AUTH_QR_QUIET, y + AUTH_QR_QUIET);
            len += (size_t)n;
        }
    }
    snprintf(out + len, cap - len, "\"/></svg>\n");
    QRcode_free(qr);
    *svg = out;
    return 0;
}
