/*
 * Reference-counted byte buffers. One buffer holds one fMP4 init segment
 * or fragment and is shared, read-only once published, by the segment
 * writer and every live client. Each buffer reserves VMS_BUF_HEADROOM
 * bytes before its data so that a WebSocket frame header can be written
 * in place without a copy.
 */
#ifndef VMS_COMMON_BUF_H
#define VMS_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

#define VMS_BUF_HEADROOM 32

typedef struct vms_buf {
    int refs;      /* atomic; the buffer is freed when it drops to 0 */
    size_t len;    /* bytes of data */
    uint8_t *data; /* points VMS_BUF_HEADROOM bytes into the allocation */
} vms_buf_t;

/* Allocates a buffer of len bytes with one reference, copying src if it
 * is not NULL. Returns NULL when out of memory. */
vms_buf_t *vms_buf_new(const void *src, size_t len);

/* Adds a reference and returns buf; buf may be NULL. */
vms_buf_t *vms_buf_ref(vms_buf_t *buf);

/* Drops a reference; frees the buffer with the last one. NULL is a
 * no-op. */
void vms_buf_unref(vms_buf_t *buf);

#endif
