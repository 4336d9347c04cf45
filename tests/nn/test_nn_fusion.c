/*
 * Checks the fused depthwise + 1x1 convolution kernel (nn_conv2d_dw) and
 * the AVX2 and AVX-512 depthwise kernels on shapes that the op fixtures
 * do not reach.  The cases have wide rows, channel counts that are not a multiple of 8,
 * stride 2 with 5x5 filters, dilation, a channel multiplier, batch 2, a
 * residual Add, a Sigmoid, a per-channel Mul folded into the depthwise
 * filter and an expanding 1x1 convolution in front.  A last graph checks
 * the MaxPool peak test fusion.
 * Each case is a graph Placeholder -> depthwise -> 1x1
 * convolution built in memory.  The reference is the same graph planned
 * without fusion and run with the portable kernels on one thread, which
 * the op test checks against TensorFlow.js.  Every other combination of
 * fusion, AVX2, AVX-512 and 1 or 2 threads must match it.
 *
 * usage: test_nn_fusion
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

/* Tolerance per element: |c - ref| <= ATOL + RTOL * max|ref|. */
#define FUSION_ATOL 1e-5
#define FUSION_RTOL 1e-5

struct fusion_case {
    const char *name;
    int n, h, w, c;             /* input [n, h, w, c] */
    int k, stride, dilation, mult;
    const char *padding;        /* "SAME" or "VALID" */
    const char *dw_act;         /* NULL, "Relu6" or "Sigmoid" (own node) */
    bool dw_bias;
    int oc;                     /* 1x1 output channels */
    const char *pw_act;         /* NULL or "Relu" (fused into the op) */
    bool residual;              /* Add of a Placeholder after the 1x1 */
    bool scale;                 /* Mul of x by a channel vector first */
    /* > 0: x has this many channels; a 1x1 convolution expands it. */
    int expand_from;
};

static const struct fusion_case fusion_cases[] = {
    {"dw5x5 s1 c18 relu6", 1, 13, 37, 18, 5, 1, 1, 1, "SAME", "Relu6",
     true, 24, NULL, false},
    {"dw3x3 s2 c40 no bias", 1, 17, 41, 40, 3, 2, 1, 1, "SAME", NULL,
     false, 16, "Relu", false},
    {"dw5x5 s2 batch 2", 2, 9, 31, 12, 5, 2, 1, 1, "SAME", "Relu6", true,
     20, NULL, false},
    {"dw3x3 valid residual", 1, 12, 30, 8, 3, 1, 1, 1, "VALID", NULL, true,
     8, NULL, true},
    {"dw3x3 dilation 2 sigmoid", 1, 10, 26, 22, 3, 1, 2, 1, "SAME",
     "Sigmoid", true, 7, NULL, false},
    {"dw3x3 multiplier 2", 1, 9, 19, 3, 3, 1, 1, 2, "SAME", NULL, true, 5,
     "Relu", false},
    {"dw3x3 c5 narrow", 1, 6, 5, 5, 3, 1, 1, 1, "SAME", "Relu6", true, 9,
     NULL, false},
    {"dw5x5 s1 c96", 1, 16, 16, 96, 5, 1, 1, 1, "SAME", "Relu6", true, 32,
     NULL, false},
    {"dw3x3 channel scale", 1, 11, 23, 20, 3, 1, 1, 1, "SAME", "Relu6",
     true, 12, NULL, false, true},
    {"dw5x5 s2 scale mult 2", 1, 12, 21, 6, 5, 2, 1, 2, "SAME", NULL, true,
     10, NULL, false, true},
    /* The expanded tensors are above the planner's 4 MiB bound. */
    {"expand dw3x3 s2", 1, 131, 133, 64, 3, 2, 1, 1, "SAME", "Relu6", true,
     8, NULL, false, false, 8},
    {"expand dw5x5 s1 batch 2", 2, 97, 91, 120, 5, 1, 1, 1, "SAME", "Relu6",
     true, 12, NULL, true, false, 6},
    {"expand dw3x3 s1 valid", 1, 103, 99, 104, 3, 1, 1, 1, "VALID", NULL,
     true, 16, "Relu", false, false, 16},
};

static int fusion_fails;

/* Deterministic values in [lo, hi) from a 32-bit LCG. */
static void fusion_fill(float *x, size_t count, uint32_t *state, float lo,
                        float hi)
{
    for (size_t i = 0; i < count; i++) {
        *state = *state * 1664525u + 1013904223u;
        x[i] = lo + (hi - lo) * (float)(*state >> 8) / 16777216.0f;
    }
}

/* An attr list of four ints, such as strides. */
static json_t *fusion_ints(int a, int b, int c, int d)
{
    int v[4] = {a, b, c, d};
    json_t *list = json_array();

    for (int i = 0; i < 4; i++) {
        char s[16];

        snprintf(s, sizeof(s), "%d", v[i]);
        json_array_append_new(list, json_string(s));
    }
    return json_pack("{s:{s:o}}", "list", "i", list);
}

/* base64 of a short ASCII string, as TensorFlow.js stores attr strings. */
static json_t *fusion_b64(const char *s)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[64];
    size_t n = strlen(s), o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;

        if (i + 1 < n)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return json_string(out);
}

static json_t *fusion_placeholder(const char *name, int n, int h, int w,
                                  int c)
{
    char d[4][16];

    snprintf(d[0], sizeof(d[0]), "%d", n);
    snprintf(d[1], sizeof(d[1]), "%d", h);
    snprintf(d[2], sizeof(d[2]), "%d", w);
    snprintf(d[3], sizeof(d[3]), "%d", c);
    return json_pack("{s:s,s:s,s:{s:{s:{s:[{s:s},{s:s},{s:s},{s:s}]}},"
                     "s:{s:s}}}",
                     "name", name, "op", "Placeholder", "attr", "shape",
                     "shape", "dim", "size", d[0], "size", d[1], "size",
                     d[2], "size", d[3], "dtype", "type", "DT_FLOAT");
}

static json_t *fusion_const_spec(const char *name, int d0, int d1, int d2,
                                 int d3)
{
    if (d1 < 0)
        return json_pack("{s:s,s:[i],s:s}", "name", name, "shape", d0,
                         "dtype", "float32");
    return json_pack("{s:s,s:[i,i,i,i],s:s}", "name", name, "shape", d0, d1,
                     d2, d3, "dtype", "float32");
}

/* Convolution attributes with the fused ops fused0 and fused1 (or NULL). */
static json_t *fusion_conv_attr(int stride, int dilation, const char *pad,
                                const char *fused0, const char *fused1)
{
    json_t *a = json_object();

    json_object_set_new(a, "strides", fusion_ints(1, stride, stride, 1));
    json_object_set_new(a, "dilations",
                        fusion_ints(1, dilation, dilation, 1));
    json_object_set_new(a, "padding", json_pack("{s:o}", "s",
                                                fusion_b64(pad)));
    json_object_set_new(a, "data_format", json_pack("{s:o}", "s",
                                                    fusion_b64("NHWC")));
    if (fused0) {
        json_t *list = json_array();

        json_array_append_new(list, fusion_b64(fused0));
        if (fused1)
            json_array_append_new(list, fusion_b64(fused1));
        json_object_set_new(a, "fused_ops",
                            json_pack("{s:{s:o}}", "list", "s", list));
        json_object_set_new(a, "num_args", json_pack("{s:s}", "i", "1"));
    }
    return a;
}

static json_t *fusion_node(const char *name, const char *op, json_t *attr,
                           const char *in0, const char *in1,
                           const char *in2)
{
    json_t *n = json_pack("{s:s,s:s,s:[]}", "name", name, "op", op, "input");
    json_t *in = json_object_get(n, "input");

    json_array_append_new(in, json_string(in0));
    if (in1)
        json_array_append_new(in, json_string(in1));
    if (in2)
        json_array_append_new(in, json_string(in2));
    if (attr)
        json_object_set_new(n, "attr", attr);
    return n;
}

/*
 * Build the model text and weights of case fc.  The weights are the
 * depthwise filter and bias, the 1x1 filter and bias, the channel scale,
 * then the expanding filter and bias.
 */
static char *fusion_build(const struct fusion_case *fc, float **weights,
                          size_t *wcount)
{
    int dwc = fc->c * fc->mult;
    size_t nf = (size_t)fc->k * fc->k * dwc, nb = (size_t)dwc;
    size_t npf = (size_t)dwc * fc->oc, npb = (size_t)fc->oc;
    json_t *nodes = json_array(), *specs = json_array();
    const char *dw_op = fc->dw_bias ? "FusedDepthwiseConv2dNative"
                                    : "DepthwiseConv2dNative";
    const char *dw_fused1 = fc->dw_act && strcmp(fc->dw_act, "Relu6") == 0
                                ? "Relu6"
                                : NULL;
    const char *dw_out = "dw";
    uint32_t seed = 12345;
    char *text;

    size_t ns = fc->scale ? (size_t)fc->c : 0;
    size_t nef = (size_t)fc->expand_from * fc->c;
    size_t neb = fc->expand_from ? (size_t)fc->c : 0;
    const char *dw_in = fc->scale ? "xs" : fc->expand_from ? "ex" : "x";

    *wcount = nf + nb + npf + npb + ns + nef + neb;
    *weights = malloc(*wcount * sizeof(float));
    fusion_fill(*weights, nf, &seed, -0.5f, 0.5f);
    fusion_fill(*weights + nf, nb, &seed, -1.0f, 1.0f);
    fusion_fill(*weights + nf + nb, npf, &seed, -0.5f, 0.5f);
    fusion_fill(*weights + nf + nb + npf, npb, &seed, -1.0f, 1.0f);
    fusion_fill(*weights + nf + nb + npf + npb, ns, &seed, 0.0f, 2.0f);
    fusion_fill(*weights + nf + nb + npf + npb + ns, nef, &seed, -0.5f,
                0.5f);
    fusion_fill(*weights + nf + nb + npf + npb + ns + nef, neb, &seed, -1.0f,
                1.0f);
    json_array_append_new(nodes, fusion_placeholder(
        "x", fc->n, fc->h, fc->w, fc->expand_from ? fc->expand_from : fc->c));
    json_array_append_new(specs, fusion_const_spec("dwf", fc->k, fc->k,
                                                   fc->c, fc->mult));
    json_array_append_new(specs, fusion_const_spec("dwb", dwc, -1, 0, 0));
    json_array_append_new(specs, fusion_const_spec("pwf", 1, 1, dwc,
                                                   fc->oc));
    json_array_append_new(specs, fusion_const_spec("pwb", fc->oc, -1, 0,
                                                   0));
    if (fc->scale)
        json_array_append_new(specs, fusion_const_spec("sc", fc->c, -1, 0,
                                                       0));
    if (fc->expand_from) {
        json_array_append_new(specs, fusion_const_spec(
            "exf", 1, 1, fc->expand_from, fc->c));
        json_array_append_new(specs, fusion_const_spec("exb", fc->c, -1, 0,
                                                       0));
    }
    for (size_t i = 0; i < json_array_size(specs); i++)
        json_array_append_new(nodes, json_pack(
            "{s:O,s:s}", "name",
            json_object_get(json_array_get(specs, i), "name"), "op",
            "Const"));
    if (fc->scale)
        json_array_append_new(nodes, fusion_node("xs", "Mul", NULL, "x",
                                                 "sc", NULL));
    if (fc->expand_from)
        json_array_append_new(nodes, fusion_node(
            "ex", "_FusedConv2D",
            fusion_conv_attr(1, 1, "VALID", "BiasAdd", "Relu6"), "x", "exf",
            "exb"));
    json_array_append_new(nodes, fusion_node(
        "dw", dw_op,
        fusion_conv_attr(fc->stride, fc->dilation, fc->padding,
                         fc->dw_bias ? "BiasAdd" : NULL, dw_fused1),
        dw_in, "dwf", fc->dw_bias ? "dwb" : NULL));
    if (fc->dw_act && strcmp(fc->dw_act, "Sigmoid") == 0) {
        json_array_append_new(nodes, fusion_node("dw_act", "Sigmoid", NULL,
                                                 "dw", NULL, NULL));
        dw_out = "dw_act";
    }
    json_array_append_new(nodes, fusion_node(
        "pw", "_FusedConv2D",
        fusion_conv_attr(1, 1, "VALID", "BiasAdd", fc->pw_act), dw_out,
        "pwf", "pwb"));
    if (fc->residual) {
        int oh = strcmp(fc->padding, "SAME") == 0
                     ? (fc->h + fc->stride - 1) / fc->stride
                     : (fc->h - (fc->k - 1) * fc->dilation - 1) / fc->stride +
                           1;
        int ow = strcmp(fc->padding, "SAME") == 0
                     ? (fc->w + fc->stride - 1) / fc->stride
                     : (fc->w - (fc->k - 1) * fc->dilation - 1) / fc->stride +
                           1;

        json_array_append_new(nodes, fusion_placeholder("res", fc->n, oh, ow,
                                                        fc->oc));
        json_array_append_new(nodes, fusion_node("add", "AddV2", NULL, "pw",
                                                 "res", NULL));
    }
    json_t *root = json_pack(
        "{s:{s:o},s:s,s:[{s:[],s:o}]}", "modelTopology", "node", nodes,
        "format", "graph-model", "weightsManifest", "paths", "weights",
        specs);

    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* Fusions found in a planned graph. */
struct fusion_plan {
    int dw;                     /* depthwise nodes run inside a 1x1 */
    int expand;                 /* 1x1 nodes run inside a fused depthwise */
    int muls;                   /* Mul nodes left */
};

/*
 * Run case fc with the given options.  *out receives the output (the
 * caller frees it) and *plan what the planner fused.
 */
static int fusion_run(const struct fusion_case *fc,
                      const struct nn_options *opt, float **out,
                      int64_t *count, struct fusion_plan *plan)
{
    float *weights;
    size_t wcount;
    char *text = fusion_build(fc, &weights, &wcount);
    char err[1024];
    nn_model *m = NULL;
    int rc = nn_model_open_memory(fc->name, text, strlen(text), weights,
                                  wcount * sizeof(float), opt, &m, err,
                                  sizeof(err));
    uint32_t seed = 777;
    struct nn_tensor_info t;

    if (rc < 0) {
        fprintf(stderr, "FAIL %s: %s\n", fc->name, err);
        goto done;
    }
    for (int i = 0; i < nn_model_input_count(m); i++) {
        nn_model_input(m, i, &t);
        fusion_fill(t.data, (size_t)t.count, &seed, -2.0f, 2.0f);
    }
    rc = nn_model_run(m, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "FAIL %s: %s\n", fc->name, err);
        goto done;
    }
    memset(plan, 0, sizeof(*plan));
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].dw_node >= 0)
            plan->dw++;
        if (m->nodes[i].expand_node >= 0)
            plan->expand++;
        if (m->nodes[i].op == NN_OP_MUL && !m->nodes[i].dead)
            plan->muls++;
    }
    nn_model_output(m, 0, &t);
    *count = t.count;
    *out = malloc((size_t)t.count * sizeof(float));
    memcpy(*out, t.data, (size_t)t.count * sizeof(float));

done:
    nn_model_free(m);
    free(text);
    free(weights);
    return rc;
}

static void fusion_check(const struct fusion_case *fc)
{
    struct nn_options ref_opt = {.threads = 1, .skip_hash_check = 1,
                                 .no_fusion = 1, .no_simd = 1};
    struct {
        int threads, no_simd, no_fusion, no_avx512;
    } variants[] = {{1, 1, 0, 0}, {1, 0, 0, 0}, {2, 0, 0, 0}, {2, 1, 0, 0},
                    {2, 0, 1, 0}, {1, 0, 0, 1}, {2, 0, 1, 1}};
    float *ref;
    int64_t ref_count;
    struct fusion_plan plan;
    double maxref = 0;

    if (fusion_run(fc, &ref_opt, &ref, &ref_count, &plan) < 0) {
        fusion_fails++;
        return;
    }
    for (int64_t i = 0; i < ref_count; i++)
        maxref = fmax(maxref, fabs(ref[i]));
    for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
        struct nn_options opt = {.threads = variants[v].threads,
                                 .skip_hash_check = 1,
                                 .no_simd = variants[v].no_simd,
                                 .no_fusion = variants[v].no_fusion,
                                 .no_avx512 = variants[v].no_avx512};
        float *got;
        int64_t count;
        long bad = 0;

        if (fusion_run(fc, &opt, &got, &count, &plan) < 0) {
            fusion_fails++;
            continue;
        }
        if (count != ref_count) {
            fprintf(stderr, "FAIL %s: %lld outputs, expected %lld\n",
                    fc->name, (long long)count, (long long)ref_count);
            bad = 1;
        }
        if (!opt.no_fusion && plan.dw != 1) {
            fprintf(stderr, "FAIL %s: %d fused depthwise convolutions, "
                    "expected 1\n", fc->name, plan.dw);
            bad++;
        }
        if (!opt.no_fusion && plan.expand != (fc->expand_from ? 1 : 0)) {
            fprintf(stderr, "FAIL %s: %d fused expanding convolutions, "
                    "expected %d\n", fc->name, plan.expand,
                    fc->expand_from ? 1 : 0);
            bad++;
        }
        if (!opt.no_fusion && plan.muls != 0) {
            fprintf(stderr, "FAIL %s: %d Mul nodes left, expected the "
                    "channel scale folded into the filter\n", fc->name,
                    plan.muls);
            bad++;
        }
        for (int64_t i = 0; i < count && i < ref_count; i++) {
            double d = fabs((double)got[i] - ref[i]);

            if (!(d <= FUSION_ATOL + FUSION_RTOL * maxref)) {
                if (bad < 3)
                    fprintf(stderr, "FAIL %s [%lld]: %.9g, expected "
                            "%.9g\n", fc->name, (long long)i, got[i],
                            ref[i]);
                bad++;
            }
        }
        if (bad) {
            fprintf(stderr, "FAIL %s (threads %d, simd %s, avx512 %s, "
                    "fusion %s): %ld values differ\n", fc->name,
                    opt.threads, opt.no_simd ? "off" : "on",
                    opt.no_avx512 ? "off" : "on",
                    opt.no_fusion ? "off" : "on", bad);
            fusion_fails++;
        }
        free(got);
    }
    free(ref);
}

/*
 * Peak test of CenterNet heads, Mul(x, Cast(Equal(x, MaxPool3x3(x)))),
 * which the planner fuses into the MaxPool.  Values are multiples of 0.5
 * so that windows have ties, and some are infinite.  An infinity that is
 * not the window maximum becomes NaN (infinity times 0) in both forms.
 */
static void fusion_check_peaks(int threads)
{
    const char *json =
        "{\"format\":\"graph-model\",\"weightsManifest\":[],"
        "\"modelTopology\":{\"node\":["
        "{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{"
        "\"shape\":{\"shape\":{\"dim\":[{\"size\":\"1\"},"
        "{\"size\":\"9\"},{\"size\":\"13\"},{\"size\":\"6\"}]}},"
        "\"dtype\":{\"type\":\"DT_FLOAT\"}}},"
        "{\"name\":\"mp\",\"op\":\"MaxPool\",\"input\":[\"x\"],"
        "\"attr\":{\"ksize\":{\"list\":{\"i\":[\"1\",\"3\",\"3\","
        "\"1\"]}},\"strides\":{\"list\":{\"i\":[\"1\",\"1\",\"1\","
        "\"1\"]}},\"padding\":{\"s\":\"U0FNRQ==\"}}},"
        "{\"name\":\"eq\",\"op\":\"Equal\",\"input\":[\"x\",\"mp\"]},"
        "{\"name\":\"cast\",\"op\":\"Cast\",\"input\":[\"eq\"],"
        "\"attr\":{\"DstT\":{\"type\":\"DT_FLOAT\"}}},"
        "{\"name\":\"peaks\",\"op\":\"Mul\",\"input\":[\"x\","
        "\"cast\"]}]}}";
    float *res[2] = {NULL, NULL};
    int64_t count = 0;
    int left[2] = {0, 0};

    for (int v = 0; v < 2; v++) {
        struct nn_options opt = {.threads = v ? threads : 1,
                                 .skip_hash_check = 1, .no_fusion = !v};
        char err[1024];
        nn_model *m;
        struct nn_tensor_info t;
        uint32_t seed = 99;

        if (nn_model_open_memory("peaks", json, strlen(json), NULL, 0, &opt,
                                 &m, err, sizeof(err)) < 0) {
            fprintf(stderr, "FAIL peaks: %s\n", err);
            fusion_fails++;
            goto done;
        }
        nn_model_input(m, 0, &t);
        fusion_fill(t.data, (size_t)t.count, &seed, -4.0f, 4.0f);
        for (int64_t i = 0; i < t.count; i++) {
            float *x = t.data;

            x[i] = (float)(int)(x[i] * 2.0f) / 2.0f;
            if (i % 37 == 5)
                x[i] = INFINITY;
            else if (i % 41 == 7)
                x[i] = -INFINITY;
        }
        if (nn_model_run(m, err, sizeof(err)) < 0) {
            fprintf(stderr, "FAIL peaks: %s\n", err);
            fusion_fails++;
            nn_model_free(m);
            goto done;
        }
        for (int i = 0; i < m->n_nodes; i++)
            if (!m->nodes[i].dead && (m->nodes[i].op == NN_OP_EQUAL ||
                                      m->nodes[i].op == NN_OP_MUL))
                left[v]++;
        nn_model_output(m, 0, &t);
        count = t.count;
        res[v] = malloc((size_t)count * sizeof(float));
        memcpy(res[v], t.data, (size_t)count * sizeof(float));
        nn_model_free(m);
    }
    if (left[1] != 0) {
        fprintf(stderr, "FAIL peaks: %d Equal and Mul nodes left after "
                "fusion, expected 0\n", left[1]);
        fusion_fails++;
    }
    for (int64_t i = 0; i < count; i++) {
        bool same = isnan(res[0][i]) ? isnan(res[1][i])
                                     : res[0][i] == res[1][i];

        if (!same) {
            fprintf(stderr, "FAIL peaks (threads %d) [%lld]: %g, expected "
                    "%g\n", threads, (long long)i, res[1][i], res[0][i]);
            fusion_fails++;
            break;
        }
    }

done:
    free(res[0]);
    free(res[1]);
}

int main(void)
{
    size_t n = sizeof(fusion_cases) / sizeof(fusion_cases[0]);

    for (size_t i = 0; i < n; i++)
        fusion_check(&fusion_cases[i]);
    fusion_check_peaks(1);
    fusion_check_peaks(2);
    printf("%zu fusion cases and the peak test, %d failed\n", n,
           fusion_fails);
    return fusion_fails ? 1 : 0;
}
