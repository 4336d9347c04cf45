/*
 * Object detection on RGB images with the centernet and nanodet models:
 * input preparation (resize or letterbox), output decoding to boxes in
 * source-image pixels, per-class non-maximum suppression and COCO labels.
 */
#ifndef VMS_NN_DETECT_H
#define VMS_NN_DETECT_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/nn.h"

#define NN_COCO_CLASSES 80

enum nn_detector_kind {
    NN_DETECTOR_CENTERNET = 0,
    NN_DETECTOR_NANODET,
};

struct nn_detection {
    float x1, y1, x2, y2;       /* source-image pixels */
    float score;
    int class_id;               /* 0-based COCO class */
};

struct nn_detect_params {
    float score_threshold;      /* minimum score, 0..1 */
    float iou_threshold;        /* NMS overlap limit, 0..1 */
    int max_detections;
    bool letterbox;             /* keep aspect ratio, pad the rest */
};

/* Mapping between model input pixels and source-image pixels. */
struct nn_geometry {
    int src_w, src_h;
    int in_w, in_h;
    float scale_x, scale_y;     /* input pixels per source pixel */
    float pad_x, pad_y;         /* input pixels left/top of the image */
};

typedef struct nn_detector nn_detector;

/* Return the COCO name of class_id, or "unknown". */
const char *nn_coco_label(int class_id);

/* Parse "centernet" or "nanodet"; returns 0 or -EINVAL. */
int nn_detector_kind_parse(const char *name, enum nn_detector_kind *kind);
const char *nn_detector_kind_name(enum nn_detector_kind kind);

/* Defaults: score 0.3, IoU 0.5, 100 detections, no letterbox. */
void nn_detect_params_default(struct nn_detect_params *p);

/*
 * Load models_dir/<kind>/<kind>.json (hash-checked against
 * models_dir/MANIFEST.sha256).  The caller owns *out.
 */
int nn_detector_open(const char *models_dir, enum nn_detector_kind kind,
                     int threads, nn_detector **out, char *err,
                     size_t errlen);
void nn_detector_free(nn_detector *det);

/* The underlying model (owned by det). */
nn_model *nn_detector_model(nn_detector *det);

/*
 * Resize or letterbox a packed RGB24 image (stride in bytes) into the
 * model's input tensor and fill geom.
 */
int nn_detector_prepare(nn_detector *det, const uint8_t *rgb, int width,
                        int height, int stride,
                        const struct nn_detect_params *p,
                        struct nn_geometry *geom);

/*
 * Decode the model's current outputs into at most max detections sorted
 * by score; *count receives the number written.
 */
int nn_detector_decode(nn_detector *det, const struct nn_geometry *geom,
                       const struct nn_detect_params *p,
                       struct nn_detection *out, int max, int *count);

/* prepare + run + decode. */
int nn_detector_run(nn_detector *det, const uint8_t *rgb, int width,
                    int height, int stride, const struct nn_detect_params *p,
                    struct nn_detection *out, int max, int *count,
                    char *err, size_t errlen);

/*
 * Decoders on raw output tensors, shared with the tests.  centernet:
 * det is [n,6] rows of x1,y1,x2,y2,score,class in input pixels.
 */
int nn_decode_centernet(const float *det, int n,
                        const struct nn_geometry *geom,
                        const struct nn_detect_params *p,
                        struct nn_detection *out, int max, int *count);

/*
 * nanodet: for each of the 3 levels (strides 8, 16, 32), cls[l] is
 * [cells, 80] sigmoid scores and reg[l] is [cells, 44], four sides of 11
 * distribution bins each (distribution focal loss).
 */
int nn_decode_nanodet(const float *const cls[3], const float *const reg[3],
                      const struct nn_geometry *geom,
                      const struct nn_detect_params *p,
                      struct nn_detection *out, int max, int *count);

/* Per-class NMS in place over d[0..*n), keeping the order by score. */
void nn_detect_nms(struct nn_detection *d, int *n, float iou_threshold);

float nn_detection_iou(const struct nn_detection *a,
                       const struct nn_detection *b);

#endif
