/*
 * Frame source for detection: decodes still images and video files with
 * libavformat/libavcodec into packed RGB24, and writes RGB24 as PNG.
 */
#ifndef VMS_NN_IMAGE_H
#define VMS_NN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_frame_reader nn_frame_reader;

/* An RGB24 frame owned by the reader; valid until the next read/close. */
struct nn_rgb_frame {
    uint8_t *data;
    int width, height, stride;
    int64_t index;              /* 0-based frame number in the file */
    double seconds;             /* presentation time, or -1 if unknown */
};

/* Open path (image or video). The caller owns *out. */
int nn_frame_reader_open(const char *path, nn_frame_reader **out, char *err,
                         size_t errlen);
void nn_frame_reader_close(nn_frame_reader *r);

/* Decode the next frame; returns 1 with a frame, 0 at end, < 0 on error. */
int nn_frame_reader_next(nn_frame_reader *r, struct nn_rgb_frame *frame,
                         char *err, size_t errlen);

/* Encode a packed RGB24 image as PNG into path. */
int nn_write_png(const char *path, const uint8_t *rgb, int width, int height,
                 int stride, char *err, size_t errlen);

#endif
