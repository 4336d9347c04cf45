/*
 * Checks every op against TensorFlow.js: each fixture case (written by
 * scripts/nn-reference/ops.mjs) becomes a one-op graph model whose
 * non-constant inputs are Placeholders, run through the normal loader,
 * planner and kernels.  Each case runs four times: portable kernels
 * without Winograd on one thread, portable kernels with Winograd on one
 * thread, SIMD kernels (AVX-512 depthwise where the CPU has it) with
 * Winograd on two threads, and AVX2 kernels with Winograd on one thread.
 *
 * usage: test_nn_ops FIXTURES.json
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

/* Tolerance per element: |c - ref| <= ATOL + RTOL * max|ref|. */
#define OPS_ATOL 1e-5
#define OPS_RTOL 1e-5

static int fails;
static double worst_rel;

static const char *tf_type(const char *dtype)
{
    if (strcmp(dtype, "int32") == 0)
        return "DT_INT32";
    if (strcmp(dtype, "bool") == 0)
        return "DT_BOOL";
    return "DT_FLOAT";
}

/* Append the values of a JSON array as dtype to buf. */
static int append_values(unsigned char **buf, size_t *len, json_t *data,
                         const char *dtype)
{
    size_t n = json_array_size(data), es = strcmp(dtype, "bool") ? 4 : 1;
    unsigned char *grown = realloc(*buf, *len + n * es + 1);

    if (!grown)
        return -1;
    *buf = grown;
    for (size_t i = 0; i < n; i++) {
        double v = json_number_value(json_array_get(data, i));
        unsigned char *dst = *buf + *len + i * es;

        if (es == 1) {
            *dst = v != 0;
        } else if (strcmp(dtype, "int32") == 0) {
            int32_t x = (int32_t)v;

            memcpy(dst, &x, 4);
        } else {
            float x = (float)v;

            memcpy(dst, &x, 4);
        }
    }
    *len += n * es;
    return 0;
}

/* Build the model.json text and weight data for one case. */
static char *build_model(json_t *c, unsigned char **weights, size_t *wlen)
{
    json_t *root = json_object(), *topo = json_object();
    json_t *nodes = json_array(), *specs = json_array();
    json_t *op = json_object(), *op_inputs = json_array();
    json_t *sig_out = json_object();
    json_t *inputs = json_object_get(c, "inputs");
    size_t i;
    json_t *in;
    char *text;

    json_array_foreach(inputs, i, in) {
        char name[32];
        const char *dtype = json_string_value(json_object_get(in, "dtype"));
        json_t *shape = json_object_get(in, "shape");
        json_t *node = json_object();

        snprintf(name, sizeof(name), "in%zu", i);
        json_object_set_new(node, "name", json_string(name));
        if (json_is_true(json_object_get(in, "const"))) {
            json_t *spec = json_object();

            json_object_set_new(node, "op", json_string("Const"));
            json_object_set_new(spec, "name", json_string(name));
            json_object_set(spec, "shape", shape);
            json_object_set_new(spec, "dtype", json_string(dtype));
            json_array_append_new(specs, spec);
            append_values(weights, wlen, json_object_get(in, "data"), dtype);
        } else {
            json_t *attr = json_object(), *dims = json_array();
            size_t d;
            json_t *dv;

            json_object_set_new(node, "op", json_string("Placeholder"));
            json_array_foreach(shape, d, dv) {
                char sz[32];

                snprintf(sz, sizeof(sz), "%lld",
                         (long long)json_integer_value(dv));
                json_array_append_new(dims, json_pack("{s:s}", "size", sz));
            }
            json_object_set_new(attr, "shape", json_pack(
                "{s:{s:o}}", "shape", "dim", dims));
            json_object_set_new(attr, "dtype",
                                json_pack("{s:s}", "type", tf_type(dtype)));
            json_object_set_new(node, "attr", attr);
        }
        json_array_append_new(nodes, node);
        json_array_append_new(op_inputs, json_string(name));
    }
    json_object_set_new(op, "name", json_string("op"));
    json_object_set(op, "op", json_object_get(c, "op"));
    json_object_set(op, "attr", json_object_get(c, "attr"));
    json_object_set_new(op, "input", op_inputs);
    json_array_append_new(nodes, op);
    for (i = 0; i < json_array_size(json_object_get(c, "outputs")); i++) {
        char name[32];

        snprintf(name, sizeof(name), i ? "op:%zu" : "op", i);
        json_object_set_new(sig_out, name, json_pack("{s:s}", "name", name));
    }
    json_object_set_new(topo, "node", nodes);
    json_object_set_new(root, "modelTopology", topo);
    json_object_set_new(root, "format", json_string("graph-model"));
    json_object_set_new(root, "signature",
                        json_pack("{s:o}", "outputs", sig_out));
    json_object_set_new(root, "weightsManifest", json_pack(
        "[{s:[],s:o}]", "paths", "weights", specs));
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static void fill_input(struct nn_tensor_info *t, json_t *data)
{
    for (int64_t k = 0; k < t->count; k++) {
        double v = json_number_value(json_array_get(data, (size_t)k));

        if (t->dtype == NN_DTYPE_FLOAT32)
            ((float *)t->data)[k] = (float)v;
        else if (t->dtype == NN_DTYPE_INT32)
            ((int32_t *)t->data)[k] = (int32_t)v;
        else
            ((uint8_t *)t->data)[k] = v != 0;
    }
}

/* Compare output k of the case; returns the number of mismatches. */
static long check_output(const char *name, int k, struct nn_tensor_info *t,
                         json_t *ref)
{
    json_t *shape = json_object_get(ref, "shape");
    json_t *data = json_object_get(ref, "data");
    double maxref = 0, worst = 0;
    long bad = 0;

    if ((size_t)t->ndim != json_array_size(shape)) {
        fprintf(stderr, "FAIL %s output %d: rank %d, expected %zu\n", name,
                k, t->ndim, json_array_size(shape));
        return 1;
    }
    for (int d = 0; d < t->ndim; d++)
        if (t->dims[d] != json_integer_value(json_array_get(shape, d))) {
            fprintf(stderr, "FAIL %s output %d: dimension %d is %lld, "
                    "expected %lld\n", name, k, d, (long long)t->dims[d],
                    (long long)json_integer_value(json_array_get(shape, d)));
            return 1;
        }
    for (int64_t i = 0; i < t->count; i++)
        maxref = fmax(maxref, fabs(json_number_value(
                                  json_array_get(data, (size_t)i))));
    for (int64_t i = 0; i < t->count; i++) {
        double r = json_number_value(json_array_get(data, (size_t)i)), v;

        if (t->dtype == NN_DTYPE_FLOAT32)
            v = ((float *)t->data)[i];
        else if (t->dtype == NN_DTYPE_INT32)
            v = ((int32_t *)t->data)[i];
        else
            v = ((uint8_t *)t->data)[i];
        double d = fabs(v - r);

        if (t->dtype != NN_DTYPE_FLOAT32 ? d != 0
                                         : !(d <= OPS_ATOL + OPS_RTOL * maxref)) {
            if (bad < 3)
                fprintf(stderr, "FAIL %s output %d [%lld]: %.9g, expected "
                        "%.9g\n", name, k, (long long)i, v, r);
            bad++;
        }
        if (maxref > 0)
            worst = fmax(worst, d / maxref);
    }
    worst_rel = fmax(worst_rel, worst);
    return bad;
}

static void run_case(json_t *c, int threads, int no_simd, int no_winograd,
                     int no_avx512)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    unsigned char *weights = NULL;
    size_t wlen = 0;
    char *text = build_model(c, &weights, &wlen);
    struct nn_options opt = {.threads = threads, .skip_hash_check = 1,
                             .no_simd = no_simd,
                             .no_winograd = no_winograd,
                             .no_avx512 = no_avx512};
    char err[1024];
    nn_model *m;
    json_t *inputs = json_object_get(c, "inputs");
    json_t *outs = json_object_get(c, "outputs");
    int pi = 0;
    long bad = 0;

    if (nn_model_open_memory(name, text, strlen(text), weights, wlen, &opt,
                             &m, err, sizeof(err)) < 0) {
        fprintf(stderr, "FAIL %s: %s\n", name, err);
        fails++;
        goto done;
    }
    for (size_t i = 0; i < json_array_size(inputs); i++) {
        json_t *in = json_array_get(inputs, i);
        struct nn_tensor_info t;

        if (json_is_true(json_object_get(in, "const")))
            continue;
        nn_model_input(m, pi++, &t);
        fill_input(&t, json_object_get(in, "data"));
    }
    if (nn_model_run(m, err, sizeof(err)) < 0) {
        fprintf(stderr, "FAIL %s: %s\n", name, err);
        fails++;
        nn_model_free(m);
        goto done;
    }
    for (int k = 0; k < nn_model_output_count(m); k++) {
        struct nn_tensor_info t;

        nn_model_output(m, k, &t);
        bad += check_output(name, k, &t, json_array_get(outs, (size_t)k));
    }
    if (bad) {
        fprintf(stderr, "FAIL %s (threads %d, simd %s, avx512 %s, "
                "winograd %s): %ld values differ\n", name, threads,
                no_simd ? "off" : "on", no_avx512 ? "off" : "on",
                no_winograd ? "off" : "on", bad);
        fails++;
    }
    nn_model_free(m);

done:
    free(text);
    free(weights);
}

int main(int argc, char **argv)
{
    json_error_t jerr;
    json_t *root, *cases, *c;
    size_t i;

    if (argc != 2) {
        fprintf(stderr, "usage: test_nn_ops FIXTURES.json\n");
        return 2;
    }
    root = json_load_file(argv[1], 0, &jerr);
    if (!root) {
        fprintf(stderr, "cannot read %s: %s\n", argv[1], jerr.text);
        return 1;
    }
    cases = json_object_get(root, "cases");
    json_array_foreach(cases, i, c) {
        run_case(c, 1, 1, 1, 0);
        run_case(c, 1, 1, 0, 0);
        run_case(c, 2, 0, 0, 0);
        run_case(c, 1, 0, 0, 1);
    }
    printf("%zu op cases, worst error %.3g of the tensor maximum "
           "(bound %.0e + %.0e * max|ref|)\n", json_array_size(cases),
           worst_rel, OPS_ATOL, OPS_RTOL);
    printf("%zu passed, %d failed\n", 4 * json_array_size(cases) - fails,
           fails);
    json_decref(root);
    return fails ? 1 : 0;
}
