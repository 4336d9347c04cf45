#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

vms_buf_t *vms_buf_new(const void *src, size_t len)
{
    vms_buf_t *buf = malloc(sizeof(*buf) + VMS_BUF_HEADROOM + len);

    if (!buf)
        return NULL;
    buf->refs = 1;
    buf->len = len;
    buf->data = (uint8_t *)(buf + 1) + VMS_BUF_HEADROOM;
    if (src && len)
        memcpy(buf->data, src, len);
    return buf;
}

vms_buf_t *vms_buf_ref(vms_buf_t *buf)
{
    if (buf)
        __atomic_add_fetch(&buf->refs, 1, __ATOMIC_RELAXED);
    return buf;
}

void vms_buf_unref(vms_buf_t *buf)
{
    if (buf && __atomic_sub_fetch(&buf->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(buf);
}
