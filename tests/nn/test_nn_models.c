/*
 * Compares the C runtime with TensorFlow.js on real images: every output
 * tensor within tolerance, and the same detections after decoding.
 *
 * usage: test_nn_models MODELS_DIR CASES_DIR [THREADS]
 * CASES_DIR holds cases.json (from nn_prep) and the reference outputs
 * written by scripts/nn-reference/reference.mjs.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_detect.h"

/*
 * Tolerance per element: |c - ref| <= ATOL + RTOL * max|ref| of the
 * tensor.  Kernels that sum in a different order than TensorFlow.js
 * (blocked GEMM, FMA, vector exp) differ by a few ulp per layer.  The
 * worst error on the test images is 4.4e-5 of the tensor maximum
 * (centernet tower_0/wh), so the bound leaves a margin of about 10x.
 */
#define NN_ATOL 1e-4
#define NN_RTOL 5e-4

static int fails;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            fails++;                                                       \
        }                                                                  \
    } while (0)

static float *read_f32(const char *dir, const char *file, size_t count)
{
    char path[4096];
    FILE *f;
    float *buf = malloc(count * sizeof(float) + 1);

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "rb");
    if (!f || !buf || fread(buf, sizeof(float), count, f) != count) {
        fprintf(stderr, "cannot read %zu floats from %s\n", count, path);
        free(buf);
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    return buf;
}

/* Worst errors over a tensor; returns the number of elements out of bound. */
static long compare_tensor(const float *c, const float *ref, int64_t n,
                           double *worst_abs, double *worst_rel)
{
    double maxref = 0;
    long bad = 0;

    for (int64_t i = 0; i < n; i++)
        maxref = fmax(maxref, fabs(ref[i]));
    *worst_abs = 0;
    *worst_rel = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)c[i] - ref[i]);

        if (isnan(c[i]) || d > NN_ATOL + NN_RTOL * maxref)
            bad++;
        if (d > *worst_abs)
            *worst_abs = d;
        if (maxref > 0 && d / maxref > *worst_rel)
            *worst_rel = d / maxref;
    }
    return bad;
}

/* Each reference detection must have a C detection of the same class. */
static void compare_detections(const char *name, const struct nn_detection *c,
                               int nc, const struct nn_detection *r, int nr,
                               float threshold)
{
    int matched = 0;

    for (int i = 0; i < nr; i++) {
        int best = -1;
        float best_iou = 0;

        for (int j = 0; j < nc; j++) {
            float iou = nn_detection_iou(&r[i], &c[j]);

            if (c[j].class_id == r[i].class_id && iou > best_iou) {
                best_iou = iou;
                best = j;
            }
        }
        /* A reference box within 0.01 of the threshold may drop out. */
        if (best < 0 && r[i].score < threshold + 0.01f)
            continue;
        CHECK(best >= 0, "%s: no C detection for %s %.3f", name,
              nn_coco_label(r[i].class_id), r[i].score);
        if (best < 0)
            continue;
        matched++;
        CHECK(best_iou >= 0.95f, "%s: %s box IoU %.3f < 0.95", name,
              nn_coco_label(r[i].class_id), best_iou);
        CHECK(fabsf(c[best].score - r[i].score) <= 0.01f,
              "%s: %s score %.4f vs reference %.4f", name,
              nn_coco_label(r[i].class_id), c[best].score, r[i].score);
    }
    for (int j = 0; j < nc; j++) {
        bool found = false;

        for (int i = 0; i < nr && !found; i++)
            found = r[i].class_id == c[j].class_id &&
                    nn_detection_iou(&r[i], &c[j]) >= 0.95f;
        CHECK(found || c[j].score < threshold + 0.01f,
              "%s: extra C detection %s %.3f", name,
              nn_coco_label(c[j].class_id), c[j].score);
    }
    printf("  detections: %d reference, %d C, %d matched\n", nr, nc,
           matched);
    for (int i = 0; i < nr; i++)
        printf("    %-14s %.3f  %.1f,%.1f,%.1f,%.1f\n",
               nn_coco_label(r[i].class_id), r[i].score, r[i].x1, r[i].y1,
               r[i].x2, r[i].y2);
}

/* Decode detections from either the C or the reference outputs. */
static int decode(enum nn_detector_kind kind, float *const *outs,
                  const int64_t (*shapes)[3], int nout,
                  const struct nn_geometry *g,
                  const struct nn_detect_params *p, struct nn_detection *d,
                  int max, int *n)
{
    if (kind == NN_DETECTOR_CENTERNET) {
        for (int k = 0; k < nout; k++)
            if (shapes[k][2] == 6)
                return nn_decode_centernet(outs[k], (int)shapes[k][1], g, p,
                                           d, max, n);
        return -EINVAL;
    }
    const float *cls[3] = {NULL}, *reg[3] = {NULL};
    const int strides[3] = {8, 16, 32};

    for (int l = 0; l < 3; l++) {
        int64_t cells = (int64_t)(g->in_w / strides[l]) *
                        (g->in_h / strides[l]);

        for (int k = 0; k < nout; k++) {
            if (shapes[k][1] != cells)
                continue;
            if (shapes[k][2] == 80)
                cls[l] = outs[k];
            else if (shapes[k][2] == 44)
                reg[l] = outs[k];
        }
        if (!cls[l] || !reg[l])
            return -EINVAL;
    }
    return nn_decode_nanodet(cls, reg, g, p, d, max, n);
}

int main(int argc, char **argv)
{
    nn_detector *det[2] = {NULL, NULL};
    struct nn_detect_params p;
    json_error_t jerr;
    json_t *cases;
    char path[4096], err[1024];
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    size_t ci;
    json_t *cs;
    double all_abs = 0, all_rel = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: test_nn_models MODELS_DIR CASES_DIR "
                "[THREADS]\n");
        return 2;
    }
    nn_detect_params_default(&p);
    snprintf(path, sizeof(path), "%s/cases.json", argv[2]);
    cases = json_load_file(path, 0, &jerr);
    if (!cases) {
        fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
        return 1;
    }
    json_array_foreach(cases, ci, cs) {
        const char *name = json_string_value(json_object_get(cs, "name"));
        const char *model = json_string_value(json_object_get(cs, "model"));
        const char *input = json_string_value(json_object_get(cs, "input"));
        enum nn_detector_kind kind;
        struct nn_tensor_info in;
        json_t *ref, *outs;
        float *ref_data[8] = {NULL}, *c_data[8] = {NULL};
        int64_t shapes[8][3] = {{0}};
        int nout = 0;

        if (!name || !model || !input ||
            nn_detector_kind_parse(model, &kind) < 0) {
            fprintf(stderr, "invalid case %zu in cases.json\n", ci);
            return 1;
        }
        if (!det[kind] && nn_detector_open(argv[1], kind, threads, &det[kind],
                                           err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        nn_model *m = nn_detector_model(det[kind]);

        nn_model_input(m, 0, &in);
        float *x = read_f32(argv[2], input, (size_t)in.count);

        if (!x)
            return 1;
        memcpy(in.data, x, (size_t)in.count * sizeof(float));
        free(x);
        if (nn_model_run(m, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s: %s\n", name, err);
            return 1;
        }
        snprintf(path, sizeof(path), "%s/%s.ref.json", argv[2], name);
        ref = json_load_file(path, 0, &jerr);
        if (!ref) {
            fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
            return 1;
        }
        printf("%s:\n", name);
        outs = json_object_get(ref, "outputs");
        for (size_t k = 0; k < json_array_size(outs) && k < 8; k++) {
            json_t *o = json_array_get(outs, k);
            const char *oname = json_string_value(json_object_get(o, "name"));
            struct nn_tensor_info t;
            double wa, wr;
            long bad;

            if (nn_model_output_by_name(m, oname, &t) < 0) {
                CHECK(0, "%s: C model has no output %s", name, oname);
                continue;
            }
            ref_data[nout] = read_f32(argv[2], json_string_value(
                                          json_object_get(o, "file")),
                                      (size_t)t.count);
            if (!ref_data[nout])
                return 1;
            c_data[nout] = t.data;
            for (int d = 0; d < 3 && d < t.ndim; d++)
                shapes[nout][d] = t.dims[d];
            bad = compare_tensor(t.data, ref_data[nout], t.count, &wa, &wr);
            printf("  %-22s %8lld values  worst abs %.3g  worst rel %.3g\n",
                   oname, (long long)t.count, wa, wr);
            /*
             * The [100,6] detections come from TopK over a heat map, so a
             * near tie may reorder rows; those are checked as detections.
             */
            if (strstr(oname, "detections") == NULL) {
                CHECK(bad == 0, "%s: %ld values of %s outside tolerance",
                      name, bad, oname);
                all_abs = fmax(all_abs, wa);
                all_rel = fmax(all_rel, wr);
            }
            nout++;
        }
        struct nn_geometry g = {
            (int)json_integer_value(json_object_get(cs, "src_w")),
            (int)json_integer_value(json_object_get(cs, "src_h")),
            (int)(kind == NN_DETECTOR_NANODET ? in.dims[3] : in.dims[2]),
            (int)(kind == NN_DETECTOR_NANODET ? in.dims[2] : in.dims[1]),
            (float)json_number_value(json_object_get(cs, "scale_x")),
            (float)json_number_value(json_object_get(cs, "scale_y")),
            (float)json_number_value(json_object_get(cs, "pad_x")),
            (float)json_number_value(json_object_get(cs, "pad_y")),
        };
        struct nn_detection dc[256], dr[256];
        int nc = 0, nr = 0;

        CHECK(decode(kind, c_data, (const int64_t(*)[3])shapes, nout, &g, &p,
                     dc, 256, &nc) == 0, "%s: decoding C outputs", name);
        CHECK(decode(kind, ref_data, (const int64_t(*)[3])shapes, nout, &g,
                     &p, dr, 256, &nr) == 0, "%s: decoding reference", name);
        CHECK(nr > 0, "%s: reference has no detection above %.2f", name,
              p.score_threshold);
        compare_detections(name, dc, nc, dr, nr, p.score_threshold);
        for (int k = 0; k < nout; k++)
            free(ref_data[k]);
        json_decref(ref);
    }
    printf("worst over all tensors: abs %.3g, rel (to tensor max) %.3g; "
           "bound %.0e + %.0e * max|ref|\n", all_abs, all_rel, NN_ATOL,
           NN_RTOL);
    json_decref(cases);
    nn_detector_free(det[0]);
    nn_detector_free(det[1]);
    printf("%d failed\n", fails);
    return fails ? 1 : 0;
}
