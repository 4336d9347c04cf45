/* Detection front end for the centernet and nanodet models. */
#include "nn/nn_detect.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* COCO 2017 detection classes in the models' output order. */
static const char *const nn_coco_names[NN_COCO_CLASSES] = {
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
    "truck", "boat", "traffic light", "fire hydrant", "stop sign",
    "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard",
    "sports ball", "kite", "baseball bat", "baseball glove", "skateboard",
    "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv",
    "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave",
    "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
};

/* nanodet: regression bins per box side, and level strides. */
#define NN_NANODET_BINS 11
static const int nn_nanodet_strides[3] = {8, 16, 32};

struct nn_detector {
    enum nn_detector_kind kind;
    nn_model *model;
    int in_w, in_h;
    bool nchw;
    float *input;
    /* nanodet outputs per level; centernet uses det only. */
    const float *cls[3], *reg[3];
    const float *det;
    int det_rows;
};

const char *nn_coco_label(int class_id)
{
    if (class_id < 0 || class_id >= NN_COCO_CLASSES)
        return "unknown";
    return nn_coco_names[class_id];
}

int nn_detector_kind_parse(const char *name, enum nn_detector_kind *kind)
{
    if (strcmp(name, "centernet") == 0)
        *kind = NN_DETECTOR_CENTERNET;
    else if (strcmp(name, "nanodet") == 0)
        *kind = NN_DETECTOR_NANODET;
    else
        return -EINVAL;
    return 0;
}

const char *nn_detector_kind_name(enum nn_detector_kind kind)
{
    return kind == NN_DETECTOR_NANODET ? "nanodet" : "centernet";
}

void nn_detect_params_default(struct nn_detect_params *p)
{
    p->score_threshold = 0.3f;
    p->iou_threshold = 0.5f;
    p->max_detections = 100;
    p->letterbox = false;
}

/* Bind the model's input and outputs to the detector's fields. */
static int nn_detector_bind(nn_detector *d, char *err, size_t errlen)
{
    struct nn_tensor_info in, t;

    nn_model_input(d->model, 0, &in);
    if (in.ndim != 4)
        goto bad_input;
    d->nchw = d->kind == NN_DETECTOR_NANODET;
    d->in_h = (int)(d->nchw ? in.dims[2] : in.dims[1]);
    d->in_w = (int)(d->nchw ? in.dims[3] : in.dims[2]);
    if ((d->nchw ? in.dims[1] : in.dims[3]) != 3)
        goto bad_input;
    d->input = in.data;
    if (d->kind == NN_DETECTOR_CENTERNET) {
        if (nn_model_output_by_name(d->model, "tower_0/detections", &t) < 0 ||
            t.ndim != 3 || t.dims[2] != 6) {
            snprintf(err, errlen, "model %s: output tower_0/detections "
                     "[1,N,6] not found", nn_model_name(d->model));
            return -EINVAL;
        }
        d->det = t.data;
        d->det_rows = (int)t.dims[1];
        return 0;
    }
    for (int l = 0; l < 3; l++) {
        int64_t cells = (int64_t)(d->in_w / nn_nanodet_strides[l]) *
                        (d->in_h / nn_nanodet_strides[l]);

        d->cls[l] = d->reg[l] = NULL;
        for (int i = 0; i < nn_model_output_count(d->model); i++) {
            nn_model_output(d->model, i, &t);
            if (t.ndim != 3 || t.dims[1] != cells)
                continue;
            if (t.dims[2] == NN_COCO_CLASSES)
                d->cls[l] = t.data;
            else if (t.dims[2] == 4 * NN_NANODET_BINS)
                d->reg[l] = t.data;
        }
        if (!d->cls[l] || !d->reg[l]) {
            snprintf(err, errlen, "model %s: no [1,%lld,80] and [1,%lld,44] "
                     "outputs for stride %d", nn_model_name(d->model),
                     (long long)cells, (long long)cells,
                     nn_nanodet_strides[l]);
            return -EINVAL;
        }
    }
    return 0;

bad_input:
    snprintf(err, errlen, "model %s: input must be a 3-channel image "
             "tensor", nn_model_name(d->model));
    return -EINVAL;
}

int nn_detector_open(const char *models_dir, enum nn_detector_kind kind,
                     int threads, nn_detector **out, char *err,
                     size_t errlen)
{
    const char *name = nn_detector_kind_name(kind);
    struct nn_options opt = {.threads = threads};
    char path[4096];
    nn_detector *d;
    int rc;

    *out = NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->kind = kind;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s.json", models_dir,
                         name, name) >= sizeof(path)) {
        snprintf(err, errlen, "models directory path is too long");
        rc = -ENAMETOOLONG;
        goto fail;
    }
    rc = nn_model_open(path, &opt, &d->model, err, errlen);
    if (rc < 0)
        goto fail;
    rc = nn_detector_bind(d, err, errlen);
    if (rc < 0)
        goto fail;
    *out = d;
    return 0;

fail:
    nn_detector_free(d);
    return rc;
}

void nn_detector_free(nn_detector *d)
{
    if (!d)
        return;
    nn_model_free(d->model);
    free(d);
}

nn_model *nn_detector_model(nn_detector *d)
{
    return d->model;
}

/*
 * Bilinear resize (half-pixel centres) of the RGB image into the
 * rectangle [px, px+w) x [py, py+h) of the input tensor; the rest is 0.
 */
int nn_detector_prepare(nn_detector *d, const uint8_t *rgb, int width,
                        int height, int stride,
                        const struct nn_detect_params *p,
                        struct nn_geometry *g)
{
    int W = d->in_w, H = d->in_h, w = W, h = H, px = 0, py = 0;
    size_t plane = (size_t)W * H;
    float norm = d->kind == NN_DETECTOR_NANODET ? 1.0f / 255.0f : 1.0f;

    if (width < 1 || height < 1 || stride < width * 3)
        return -EINVAL;
    if (p->letterbox) {
        float s = fminf((float)W / width, (float)H / height);

        w = (int)lroundf(width * s);
        h = (int)lroundf(height * s);
        w = w < 1 ? 1 : w > W ? W : w;
        h = h < 1 ? 1 : h > H ? H : h;
        px = (W - w) / 2;
        py = (H - h) / 2;
    }
    g->src_w = width;
    g->src_h = height;
    g->in_w = W;
    g->in_h = H;
    g->scale_x = (float)w / width;
    g->scale_y = (float)h / height;
    g->pad_x = (float)px;
    g->pad_y = (float)py;
    memset(d->input, 0, plane * 3 * sizeof(float));
    for (int y = 0; y < h; y++) {
        float sy = ((float)y + 0.5f) * height / h - 0.5f;
        int y0 = sy < 0 ? 0 : (int)sy;
        int y1 = y0 + 1 < height ? y0 + 1 : height - 1;
        float fy = sy < 0 ? 0 : sy - (float)y0;
        const uint8_t *r0 = rgb + (size_t)y0 * stride;
        const uint8_t *r1 = rgb + (size_t)y1 * stride;

        for (int x = 0; x < w; x++) {
            float sx = ((float)x + 0.5f) * width / w - 0.5f;
            int x0 = sx < 0 ? 0 : (int)sx;
            int x1 = x0 + 1 < width ? x0 + 1 : width - 1;
            float fx = sx < 0 ? 0 : sx - (float)x0;
            size_t pix = (size_t)(y + py) * W + (x + px);

            for (int c = 0; c < 3; c++) {
                float top = r0[x0 * 3 + c] +
                            (r0[x1 * 3 + c] - r0[x0 * 3 + c]) * fx;
                float bot = r1[x0 * 3 + c] +
                            (r1[x1 * 3 + c] - r1[x0 * 3 + c]) * fx;
                float v = (top + (bot - top) * fy) * norm;

                if (d->nchw)
                    d->input[(size_t)c * plane + pix] = v;
                else
                    d->input[pix * 3 + c] = v;
            }
        }
    }
    return 0;
}

/* Map a box from input pixels to source pixels, clipped to the image. */
static void nn_to_source(const struct nn_geometry *g, struct nn_detection *b)
{
    b->x1 = (b->x1 - g->pad_x) / g->scale_x;
    b->x2 = (b->x2 - g->pad_x) / g->scale_x;
    b->y1 = (b->y1 - g->pad_y) / g->scale_y;
    b->y2 = (b->y2 - g->pad_y) / g->scale_y;
    b->x1 = fminf(fmaxf(b->x1, 0), (float)g->src_w);
    b->x2 = fminf(fmaxf(b->x2, 0), (float)g->src_w);
    b->y1 = fminf(fmaxf(b->y1, 0), (float)g->src_h);
    b->y2 = fminf(fmaxf(b->y2, 0), (float)g->src_h);
}

float nn_detection_iou(const struct nn_detection *a,
                       const struct nn_detection *b)
{
    float ix = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
    float iy = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
    float inter, uni;

    if (ix <= 0 || iy <= 0)
        return 0;
    inter = ix * iy;
    uni = (a->x2 - a->x1) * (a->y2 - a->y1) +
          (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
    return uni > 0 ? inter / uni : 0;
}

static int nn_cmp_score(const void *a, const void *b)
{
    const struct nn_detection *x = a, *y = b;

    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->class_id - y->class_id;
}

void nn_detect_nms(struct nn_detection *d, int *n, float iou)
{
    int kept = 0;

    qsort(d, (size_t)*n, sizeof(*d), nn_cmp_score);
    for (int i = 0; i < *n; i++) {
        bool keep = true;

        for (int j = 0; j < kept && keep; j++)
            if (d[j].class_id == d[i].class_id &&
                nn_detection_iou(&d[j], &d[i]) > iou)
                keep = false;
        if (keep)
            d[kept++] = d[i];
    }
    *n = kept;
}

int nn_decode_centernet(const float *det, int n,
                        const struct nn_geometry *g,
                        const struct nn_detect_params *p,
                        struct nn_detection *out, int max, int *count)
{
    int k = 0;
    struct nn_detection *tmp = malloc(((size_t)n + 1) * sizeof(*tmp));

    if (!tmp)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        const float *r = det + (size_t)i * 6;
        struct nn_detection b = {r[0], r[1], r[2], r[3], r[4], (int)r[5]};

        if (!(b.score >= p->score_threshold) || b.class_id < 0 ||
            b.class_id >= NN_COCO_CLASSES)
            continue;
        nn_to_source(g, &b);
        if (b.x2 <= b.x1 || b.y2 <= b.y1)
            continue;
        tmp[k++] = b;
    }
    nn_detect_nms(tmp, &k, p->iou_threshold);
    if (k > max)
        k = max;
    if (k > p->max_detections)
        k = p->max_detections;
    memcpy(out, tmp, (size_t)k * sizeof(*out));
    *count = k;
    free(tmp);
    return 0;
}

/* Expected value of a softmax distribution over NN_NANODET_BINS bins. */
static float nn_dfl_expect(const float *bins)
{
    float mx = bins[0], sum = 0, acc = 0;

    for (int j = 1; j < NN_NANODET_BINS; j++)
        mx = fmaxf(mx, bins[j]);
    for (int j = 0; j < NN_NANODET_BINS; j++) {
        float e = expf(bins[j] - mx);

        sum += e;
        acc += e * (float)j;
    }
    return acc / sum;
}

int nn_decode_nanodet(const float *const cls[3], const float *const reg[3],
                      const struct nn_geometry *g,
                      const struct nn_detect_params *p,
                      struct nn_detection *out, int max, int *count)
{
    int cap = 1024, k = 0;
    struct nn_detection *tmp = malloc((size_t)cap * sizeof(*tmp));

    if (!tmp)
        return -ENOMEM;
    for (int l = 0; l < 3; l++) {
        int s = nn_nanodet_strides[l];
        int gw = g->in_w / s, gh = g->in_h / s;

        for (int i = 0; i < gw * gh; i++) {
            const float *sc = cls[l] + (size_t)i * NN_COCO_CLASSES;
            const float *bx = reg[l] + (size_t)i * 4 * NN_NANODET_BINS;
            float cx = ((float)(i % gw) + 0.5f) * s;
            float cy = ((float)(i / gw) + 0.5f) * s;
            float dist[4];
            bool computed = false;

            for (int c = 0; c < NN_COCO_CLASSES; c++) {
                if (!(sc[c] >= p->score_threshold))
                    continue;
                if (!computed) {
                    for (int side = 0; side < 4; side++)
                        dist[side] = nn_dfl_expect(
                            bx + side * NN_NANODET_BINS) * (float)s;
                    computed = true;
                }
                struct nn_detection b = {cx - dist[0], cy - dist[1],
                                         cx + dist[2], cy + dist[3], sc[c],
                                         c};

                nn_to_source(g, &b);
                if (b.x2 <= b.x1 || b.y2 <= b.y1)
                    continue;
                if (k == cap) {
                    struct nn_detection *grown =
                        realloc(tmp, (size_t)cap * 2 * sizeof(*tmp));

                    if (!grown) {
                        free(tmp);
                        return -ENOMEM;
                    }
                    tmp = grown;
                    cap *= 2;
                }
                tmp[k++] = b;
            }
        }
    }
    nn_detect_nms(tmp, &k, p->iou_threshold);
    if (k > max)
        k = max;
    if (k > p->max_detections)
        k = p->max_detections;
    memcpy(out, tmp, (size_t)k * sizeof(*out));
    *count = k;
    free(tmp);
    return 0;
}

int nn_detector_decode(nn_detector *d, const struct nn_geometry *g,
                       const struct nn_detect_params *p,
                       struct nn_detection *out, int max, int *count)
{
    if (d->kind == NN_DETECTOR_CENTERNET)
        return nn_decode_centernet(d->det, d->det_rows, g, p, out, max,
                                   count);
    return nn_decode_nanodet(d->cls, d->reg, g, p, out, max, count);
}

int nn_detector_run(nn_detector *d, const uint8_t *rgb, int width,
                    int height, int stride, const struct nn_detect_params *p,
                    struct nn_detection *out, int max, int *count,
                    char *err, size_t errlen)
{
    struct nn_geometry g;
    int rc = nn_detector_prepare(d, rgb, width, height, stride, p, &g);

    if (rc < 0) {
        snprintf(err, errlen, "invalid image %dx%d (stride %d)", width,
                 height, stride);
        return rc;
    }
    rc = nn_model_run(d->model, err, errlen);
    if (rc < 0)
        return rc;
    rc = nn_detector_decode(d, &g, p, out, max, count);
    if (rc < 0)
        snprintf(err, errlen, "out of memory decoding detections");
    return rc;
}
