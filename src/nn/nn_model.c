/*
 * Loading of TensorFlow.js graph models: model.json parsing, weight shards,
 * dequantization, hash verification, and the public run API.
 */
#include "nn/nn_internal.h"

#include <errno.h>
#include <cblas.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Upper bounds that reject absurd files before allocating for them. */
#define NN_MAX_NODES 100000
#define NN_MAX_ELEMENTS (INT64_C(1) << 31)

static void nn_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void nn_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int nn_node_error(const struct nn_model *m, const struct nn_node *n,
                  char *err, size_t errlen, int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n)
        nn_set_err(err, errlen, "model %s: node '%s' (op %s): %s", m->name,
                   n->name, n->op_name, msg);
    else
        nn_set_err(err, errlen, "model %s: %s", m->name, msg);
    return rc;
}

size_t nn_dtype_size(enum nn_dtype t)
{
    return t == NN_DTYPE_BOOL ? 1 : 4;
}

const char *nn_shape_str(const struct nn_tensor *t, char *buf, size_t len)
{
    size_t used = 0;

    used += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < t->ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld",
                                 i ? "," : "", (long long)t->dims[i]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

/* Table of TensorFlow op names and the runtime op they map to. */
static const struct {
    const char *name;
    enum nn_op op;
} nn_op_names[] = {
    {"Placeholder", NN_OP_PLACEHOLDER},
    {"Const", NN_OP_CONST},
    {"Conv2D", NN_OP_CONV2D},
    {"_FusedConv2D", NN_OP_CONV2D},
    {"DepthwiseConv2dNative", NN_OP_DEPTHWISE},
    {"FusedDepthwiseConv2dNative", NN_OP_DEPTHWISE},
    {"Add", NN_OP_ADD},
    {"AddV2", NN_OP_ADD},
    {"BiasAdd", NN_OP_ADD},
    {"Sub", NN_OP_SUB},
    {"Mul", NN_OP_MUL},
    {"FloorDiv", NN_OP_FLOORDIV},
    {"FloorMod", NN_OP_FLOORMOD},
    {"Equal", NN_OP_EQUAL},
    {"Relu", NN_OP_RELU},
    {"Relu6", NN_OP_RELU6},
    {"LeakyRelu", NN_OP_LEAKYRELU},
    {"Sigmoid", NN_OP_SIGMOID},
    {"Mean", NN_OP_MEAN},
    {"MaxPool", NN_OP_MAXPOOL},
    {"ResizeBilinear", NN_OP_RESIZE_BILINEAR},
    {"ConcatV2", NN_OP_CONCAT},
    {"Reshape", NN_OP_RESHAPE},
    {"ExpandDims", NN_OP_EXPAND_DIMS},
    {"Cast", NN_OP_CAST},
    {"GatherV2", NN_OP_GATHER},
    {"StridedSlice", NN_OP_STRIDED_SLICE},
    {"TopKV2", NN_OP_TOPK},
    {"Identity", NN_OP_IDENTITY},
    {"Pad", NN_OP_PAD},
    {"PadV2", NN_OP_PAD},
    {"Transpose", NN_OP_TRANSPOSE},
    {"SplitV", NN_OP_SPLITV},
    {"SparseToDense", NN_OP_SPARSE_TO_DENSE},
};

static enum nn_op nn_op_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(nn_op_names) / sizeof(nn_op_names[0]); i++)
        if (strcmp(nn_op_names[i].name, name) == 0)
            return nn_op_names[i].op;
    return NN_OP_UNKNOWN;
}

int nn_add_tensor(struct nn_model *m, const char *name, int producer)
{
    if (m->n_tensors == m->cap_tensors) {
        int cap = m->cap_tensors ? m->cap_tensors * 2 : 256;
        struct nn_tensor *t = realloc(m->tensors, (size_t)cap * sizeof(*t));

        if (!t)
            return -ENOMEM;
        m->tensors = t;
        m->cap_tensors = cap;
    }
    struct nn_tensor *t = &m->tensors[m->n_tensors];

    memset(t, 0, sizeof(*t));
    t->name = strdup(name);
    if (!t->name)
        return -ENOMEM;
    t->producer = producer;
    t->first_step = -1;
    t->last_step = -1;
    return m->n_tensors++;
}

/* Decode one attribute value that is a base64 string ("s"). */
static int nn_b64_decode(const char *in, char *out, size_t outlen)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned int acc = 0;
    int bits = 0;
    size_t n = 0;

    for (; *in && *in != '='; in++) {
        const char *p = strchr(tbl, *in);

        if (!p || !*in)
            return -EINVAL;
        acc = (acc << 6) | (unsigned int)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= outlen)
                return -EINVAL;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    return 0;
}

static int nn_attr_str(json_t *attr, const char *key, char *out, size_t len)
{
    json_t *v = json_object_get(attr, key);
    const char *s = json_string_value(json_object_get(v, "s"));

    out[0] = '\0';
    if (!s)
        return 0;
    return nn_b64_decode(s, out, len) == 0 ? 1 : -EINVAL;
}

static bool nn_attr_bool(json_t *attr, const char *key)
{
    return json_is_true(json_object_get(json_object_get(attr, key), "b"));
}

static long long nn_json_ll(json_t *v)
{
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    if (json_is_integer(v))
        return json_integer_value(v);
    return 0;
}

static long long nn_attr_int(json_t *attr, const char *key)
{
    return nn_json_ll(json_object_get(json_object_get(attr, key), "i"));
}

/* Read an integer list attribute into out; returns its length or -1. */
static int nn_attr_ints(json_t *attr, const char *key, int *out, int max)
{
    json_t *l = json_object_get(json_object_get(attr, key), "list");
    json_t *a = json_object_get(l, "i");
    size_t i;
    json_t *v;

    if (!a)
        return 0;
    if (!json_is_array(a) || (int)json_array_size(a) > max)
        return -1;
    json_array_foreach(a, i, v) {
        long long x = nn_json_ll(v);

        if (x < INT_MIN || x > INT_MAX)
            return -1;
        out[i] = (int)x;
    }
    return (int)json_array_size(a);
}

static double nn_attr_float(json_t *attr, const char *key, double dflt)
{
    json_t *f = json_object_get(json_object_get(attr, key), "f");

    if (json_is_number(f))
        return json_number_value(f);
    return dflt;
}

static enum nn_dtype nn_tf_type(const char *s)
{
    if (!s)
        return 0;
    if (strcmp(s, "DT_FLOAT") == 0)
        return NN_DTYPE_FLOAT32;
    if (strcmp(s, "DT_INT32") == 0 || strcmp(s, "DT_INT64") == 0)
        return NN_DTYPE_INT32;
    if (strcmp(s, "DT_BOOL") == 0)
        return NN_DTYPE_BOOL;
    return 0;
}

/* Parse the attributes of node n that its op uses. */
static int nn_parse_attrs(struct nn_model *m, struct nn_node *n, json_t *attr,
                          char *err, size_t errlen)
{
    struct nn_attrs *a = &n->a;
    char s[64];

    for (int i = 0; i < 4; i++) {
        a->strides[i] = 1;
        a->dilations[i] = 1;
        a->ksize[i] = 1;
    }
    a->alpha = 0.2f;
    if (nn_attr_ints(attr, "strides", a->strides, 4) < 0 ||
        nn_attr_ints(attr, "dilations", a->dilations, 4) < 0 ||
        nn_attr_ints(attr, "ksize", a->ksize, 4) < 0)
        return nn_node_error(m, n, err, errlen, -EINVAL,
                             "strides, dilations or ksize is not a list of "
                             "4 integers");
    for (int i = 0; i < 4; i++)
        if (a->strides[i] < 1 || a->dilations[i] < 1 || a->ksize[i] < 1)
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "strides, dilations and ksize must be >= 1");
    if (nn_attr_str(attr, "padding", s, sizeof(s)) < 0)
        return nn_node_error(m, n, err, errlen, -EINVAL,
                             "invalid padding attribute");
    if (strcmp(s, "SAME") == 0)
        a->padding = NN_PAD_SAME;
    else if (strcmp(s, "EXPLICIT") == 0)
        a->padding = NN_PAD_EXPLICIT;
    else if (s[0] == '\0' || strcmp(s, "VALID") == 0)
        a->padding = NN_PAD_VALID;
    else
        return nn_node_error(m, n, err, errlen, -EINVAL,
                             "unsupported padding '%s'", s);
    if (a->padding == NN_PAD_EXPLICIT &&
        nn_attr_ints(attr, "explicit_paddings", a->explicit_pad, 8) != 8)
        return nn_node_error(m, n, err, errlen, -EINVAL,
                             "EXPLICIT padding needs 8 explicit_paddings");
    if (nn_attr_str(attr, "data_format", s, sizeof(s)) < 0)
        return nn_node_error(m, n, err, errlen, -EINVAL,
                             "invalid data_format attribute");
    if (strcmp(s, "NCHW") == 0)
        a->nchw = true;
    else if (s[0] && strcmp(s, "NHWC") != 0)
        return nn_node_error(m, n, err, errlen, -EINVAL,
                             "unsupported data_format '%s'", s);

    /* fused_ops of _FusedConv2D and FusedDepthwiseConv2dNative */
    json_t *fl = json_object_get(json_object_get(attr, "fused_ops"), "list");
    json_t *fs = json_object_get(fl, "s");
    size_t i;
    json_t *v;

    json_array_foreach(fs, i, v) {
        if (!json_is_string(v) ||
            nn_b64_decode(json_string_value(v), s, sizeof(s)) < 0)
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "invalid fused_ops entry");
        if (strcmp(s, "BiasAdd") == 0 && i == 0)
            a->has_bias = true;
        else if (strcmp(s, "Relu") == 0 && i == 1)
            a->act = NN_ACT_RELU;
        else if (strcmp(s, "Relu6") == 0 && i == 1)
            a->act = NN_ACT_RELU6;
        else if (strcmp(s, "LeakyRelu") == 0 && i == 1) {
            a->act = NN_ACT_LEAKY;
            a->alpha = (float)nn_attr_float(attr, "leakyrelu_alpha", 0.2);
        } else if (strcmp(s, "Sigmoid") == 0 && i == 1)
            a->act = NN_ACT_SIGMOID;
        else
            return nn_node_error(m, n, err, errlen, -ENOTSUP,
                                 "unsupported fused op '%s' at position %zu",
                                 s, i);
    }
    if (n->op == NN_OP_LEAKYRELU)
        a->alpha = (float)nn_attr_float(attr, "alpha", 0.2);
    a->align_corners = nn_attr_bool(attr, "align_corners");
    a->half_pixel_centers = nn_attr_bool(attr, "half_pixel_centers");
    a->keep_dims = nn_attr_bool(attr, "keep_dims");
    a->begin_mask = (int)nn_attr_int(attr, "begin_mask");
    a->end_mask = (int)nn_attr_int(attr, "end_mask");
    a->shrink_mask = (int)nn_attr_int(attr, "shrink_axis_mask");
    a->new_axis_mask = (int)nn_attr_int(attr, "new_axis_mask");
    a->ellipsis_mask = (int)nn_attr_int(attr, "ellipsis_mask");
    a->batch_dims = (int)nn_attr_int(attr, "batch_dims");
    a->num_split = (int)nn_attr_int(attr, "num_split");
    a->dst_type = nn_tf_type(json_string_value(
        json_object_get(json_object_get(attr, "DstT"), "type")));
    if (n->op == NN_OP_PLACEHOLDER) {
        a->dst_type = nn_tf_type(json_string_value(
            json_object_get(json_object_get(attr, "dtype"), "type")));
        if (!a->dst_type)
            a->dst_type = NN_DTYPE_FLOAT32;
    }
    if (n->op == NN_OP_CAST && !a->dst_type)
        return nn_node_error(m, n, err, errlen, -ENOTSUP,
                             "unsupported or missing DstT");
    a->shape_ndim = -1;
    json_t *dims = json_object_get(
        json_object_get(json_object_get(attr, "shape"), "shape"), "dim");

    if (n->op == NN_OP_PLACEHOLDER && json_is_array(dims)) {
        if (json_array_size(dims) > NN_MAX_DIMS)
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "input has more than %d dimensions",
                                 NN_MAX_DIMS);
        a->shape_ndim = (int)json_array_size(dims);
        json_array_foreach(dims, i, v)
            a->shape[i] = nn_json_ll(json_object_get(v, "size"));
    }
    if (n->op == NN_OP_SPLITV && (a->num_split < 1 || a->num_split > 64))
        return nn_node_error(m, n, err, errlen, -EINVAL,
                             "num_split %d is outside 1..64", a->num_split);
    return 0;
}

static int nn_output_count(const struct nn_node *n)
{
    if (n->op == NN_OP_TOPK)
        return 2;
    if (n->op == NN_OP_SPLITV)
        return n->a.num_split;
    return 1;
}

static int nn_find_node(const struct nn_model *m, const char *name, size_t len)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (strncmp(m->nodes[i].name, name, len) == 0 &&
            m->nodes[i].name[len] == '\0')
            return i;
    return -1;
}

/*
 * Resolve "node", "node:k" or "node:0" to a tensor index; returns -1 if the
 * node or output does not exist.
 */
static int nn_resolve(const struct nn_model *m, const char *ref)
{
    size_t len = strlen(ref);
    const char *colon = strrchr(ref, ':');
    int idx = 0;
    int node;

    node = nn_find_node(m, ref, len);
    if (node < 0 && colon && colon[1]) {
        char *end;
        long k = strtol(colon + 1, &end, 10);

        if (*end || k < 0 || k > 64)
            return -1;
        idx = (int)k;
        node = nn_find_node(m, ref, (size_t)(colon - ref));
    }
    if (node < 0 || idx >= m->nodes[node].n_out)
        return -1;
    return m->nodes[node].out[idx];
}

/* Create nodes and their output tensors from modelTopology.node. */
static int nn_build_nodes(struct nn_model *m, json_t *nodes, char *err,
                          size_t errlen)
{
    size_t count = json_array_size(nodes);

    if (!json_is_array(nodes) || count == 0)
        return nn_node_error(m, NULL, err, errlen, -EINVAL,
                             "modelTopology.node is missing or empty");
    if (count > NN_MAX_NODES)
        return nn_node_error(m, NULL, err, errlen, -EINVAL,
                             "%zu nodes exceed the limit of %d", count,
                             NN_MAX_NODES);
    /* Planning adds nodes when it moves transposes; reserve room here. */
    m->cap_nodes = (int)count * 2 + 64;
    m->nodes = calloc((size_t)m->cap_nodes, sizeof(*m->nodes));
    if (!m->nodes)
        return -ENOMEM;

    for (size_t i = 0; i < count; i++) {
        json_t *jn = json_array_get(nodes, i);
        const char *name = json_string_value(json_object_get(jn, "name"));
        const char *op = json_string_value(json_object_get(jn, "op"));
        struct nn_node *n = &m->nodes[m->n_nodes];
        int rc;

        n->bias = -1;
        n->residual = -1;
        n->scale = -1;
        n->dw_node = -1;
        n->expand_node = -1;
        if (!name || !op || !name[0])
            return nn_node_error(m, NULL, err, errlen, -EINVAL,
                                 "node %zu has no name or op", i);
        n->name = strdup(name);
        n->op_name = strdup(op);
        m->n_nodes++;
        if (!n->name || !n->op_name)
            return -ENOMEM;
        if (nn_find_node(m, name, strlen(name)) != m->n_nodes - 1)
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "duplicate node name");
        n->op = nn_op_lookup(op);
        if (n->op == NN_OP_UNKNOWN)
            return nn_node_error(m, n, err, errlen, -ENOTSUP,
                                 "unknown op; this runtime supports the ops "
                                 "of the centernet and nanodet models");
        rc = nn_parse_attrs(m, n, json_object_get(jn, "attr"), err, errlen);
        if (rc < 0)
            return rc;
        n->n_out = nn_output_count(n);
        n->out = calloc((size_t)n->n_out, sizeof(int));
        if (!n->out)
            return -ENOMEM;
        for (int k = 0; k < n->n_out; k++) {
            char tname[1024];

            if (k == 0)
                snprintf(tname, sizeof(tname), "%s", name);
            else
                snprintf(tname, sizeof(tname), "%s:%d", name, k);
            rc = nn_add_tensor(m, tname, m->n_nodes - 1);
            if (rc < 0)
                return rc;
            n->out[k] = rc;
        }
    }

    /* Resolve inputs once every node exists (order in the file is free). */
    for (size_t i = 0; i < count; i++) {
        json_t *in = json_object_get(json_array_get(nodes, i), "input");
        struct nn_node *n = &m->nodes[i];
        size_t k;
        json_t *v;

        if (in && !json_is_array(in))
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "input is not a list");
        n->in = calloc(json_array_size(in) + 1, sizeof(int));
        if (!n->in)
            return -ENOMEM;
        json_array_foreach(in, k, v) {
            const char *ref = json_string_value(v);

            if (!ref)
                return nn_node_error(m, n, err, errlen, -EINVAL,
                                     "input %zu is not a string", k);
            if (ref[0] == '^')
                continue;       /* control dependency: order only */
            int t = nn_resolve(m, ref);

            if (t < 0)
                return nn_node_error(m, n, err, errlen, -EINVAL,
                                     "missing input '%s'", ref);
            n->in[n->n_in++] = t;
        }
    }
    return 0;
}

static float nn_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    float f;

    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            /* subnormal: value = mant * 2^-24 */
            f = (float)mant * 5.9604644775390625e-8f;
            return sign ? -f : f;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    memcpy(&f, &bits, sizeof(f));
    return f;
}

/*
 * Fill the Const tensors of one weights-manifest group from data (the
 * group's shards concatenated).
 */
static int nn_load_group(struct nn_model *m, json_t *group,
                         const uint8_t *data, size_t size, char *err,
                         size_t errlen)
{
    json_t *weights = json_object_get(group, "weights");
    size_t off = 0;
    size_t i;
    json_t *w;

    if (!json_is_array(weights))
        return nn_node_error(m, NULL, err, errlen, -EINVAL,
                             "weightsManifest group has no weights list");
    json_array_foreach(weights, i, w) {
        const char *name = json_string_value(json_object_get(w, "name"));
        const char *dtype = json_string_value(json_object_get(w, "dtype"));
        json_t *shape = json_object_get(w, "shape");
        json_t *q = json_object_get(w, "quantization");
        const char *qtype = json_string_value(json_object_get(q, "dtype"));
        int node, ndim;
        struct nn_node *n;
        struct nn_tensor *t;
        int64_t count = 1;
        size_t esize;

        if (!name || !dtype || !json_is_array(shape))
            return nn_node_error(m, NULL, err, errlen, -EINVAL,
                                 "weight %zu lacks name, dtype or shape", i);
        node = nn_find_node(m, name, strlen(name));
        if (node < 0 || m->nodes[node].op != NN_OP_CONST)
            return nn_node_error(m, NULL, err, errlen, -EINVAL,
                                 "weight '%s' has no Const node", name);
        n = &m->nodes[node];
        t = &m->tensors[n->out[0]];
        if (t->data)
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "weight listed twice in the manifest");
        ndim = (int)json_array_size(shape);
        if (ndim > NN_MAX_DIMS)
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "weight has %d dimensions, at most %d are "
                                 "supported", ndim, NN_MAX_DIMS);
        t->ndim = ndim;
        for (int d = 0; d < ndim; d++) {
            json_t *dv = json_array_get(shape, (size_t)d);

            if (!json_is_integer(dv) || json_integer_value(dv) < 0)
                return nn_node_error(m, n, err, errlen, -EINVAL,
                                     "weight dimension %d is not a "
                                     "non-negative integer", d);
            t->dims[d] = json_integer_value(dv);
            if (t->dims[d] > NN_MAX_ELEMENTS)
                count = NN_MAX_ELEMENTS + 1;
            else
                count *= t->dims[d];
            if (count > NN_MAX_ELEMENTS)
                return nn_node_error(m, n, err, errlen, -EINVAL,
                                     "weight has more than %lld elements",
                                     (long long)NN_MAX_ELEMENTS);
        }
        t->count = count;
        if (strcmp(dtype, "float32") == 0)
            t->dtype = NN_DTYPE_FLOAT32;
        else if (strcmp(dtype, "int32") == 0)
            t->dtype = NN_DTYPE_INT32;
        else if (strcmp(dtype, "bool") == 0)
            t->dtype = NN_DTYPE_BOOL;
        else
            return nn_node_error(m, n, err, errlen, -ENOTSUP,
                                 "unsupported weight dtype '%s'", dtype);

        if (qtype && strcmp(qtype, "float16") == 0)
            esize = 2;
        else if (qtype && strcmp(qtype, "uint8") == 0)
            esize = 1;
        else if (qtype && strcmp(qtype, "uint16") == 0)
            esize = 2;
        else if (qtype)
            return nn_node_error(m, n, err, errlen, -ENOTSUP,
                                 "unsupported quantization dtype '%s'",
                                 qtype);
        else
            esize = nn_dtype_size(t->dtype);
        if (qtype && t->dtype != NN_DTYPE_FLOAT32 &&
            strcmp(qtype, "float16") == 0)
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "float16 quantization of a %s weight",
                                 dtype);

        size_t bytes = (size_t)count * esize;

        if (off > size || size - off < bytes)
            return nn_node_error(m, n, err, errlen, -EINVAL,
                                 "weight data truncated: needs %zu bytes at "
                                 "offset %zu but the shards hold %zu; "
                                 "re-run scripts/fetch-models.sh",
                                 bytes, off, size);
        t->data = malloc(count ? (size_t)count * nn_dtype_size(t->dtype) : 1);
        if (!t->data)
            return -ENOMEM;
        t->is_const = true;
        t->shaped = true;

        const uint8_t *src = data + off;

        if (qtype && strcmp(qtype, "float16") == 0) {
            float *dst = t->data;

            for (int64_t k = 0; k < count; k++) {
                uint16_t h;

                memcpy(&h, src + 2 * k, 2);
                dst[k] = nn_half_to_float(h);
            }
        } else if (qtype) {
            double scale = json_number_value(json_object_get(q, "scale"));
            double min = json_number_value(json_object_get(q, "min"));
            float *fd = t->data;
            int32_t *id = t->data;

            for (int64_t k = 0; k < count; k++) {
                uint32_t v;

                if (esize == 1) {
                    v = src[k];
                } else {
                    uint16_t h;

                    memcpy(&h, src + 2 * k, 2);
                    v = h;
                }
                if (t->dtype == NN_DTYPE_FLOAT32)
                    fd[k] = (float)(v * scale + min);
                else
                    id[k] = (int32_t)lround(v * scale + min);
            }
        } else {
            memcpy(t->data, src, bytes);
        }
        if (t->dtype == NN_DTYPE_FLOAT32) {
            const float *f = t->data;

            /* Infinities are legitimate (a -inf pad value before MaxPool). */
            for (int64_t k = 0; k < count; k++)
                if (isnan(f[k]))
                    return nn_node_error(m, n, err, errlen, -EINVAL,
                                         "weight element %lld is NaN; the "
                                         "model file is corrupt",
                                         (long long)k);
        }
        off += bytes;
    }
    if (off != size)
        return nn_node_error(m, NULL, err, errlen, -EINVAL,
                             "weight shards hold %zu bytes but the manifest "
                             "describes %zu", size, off);
    return 0;
}

/*
 * Read a whole regular file. A directory gives -EISDIR and any other
 * non-regular file -EINVAL, because their sizes are not their contents.
 */
static int nn_read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    struct stat st;
    long size;
    int rc = 0;

    *out = NULL;
    *len = 0;
    if (!f)
        return -errno;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        goto fail;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        rc = -EIO;
        goto fail;
    }
    buf = malloc((size_t)size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto fail;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        rc = -EIO;
        goto fail;
    }
    buf[size] = 0;
    fclose(f);
    *out = buf;
    *len = (size_t)size;
    return 0;

fail:
    free(buf);
    fclose(f);
    return rc;
}

static void nn_sha256_hex(const uint8_t *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    hex[64] = '\0';
}

/*
 * Check that data hashes to the manifest entry for key ("dir/file").
 * manifest is the manifest text.
 */
static int nn_check_hash(struct nn_model *m, const char *manifest,
                         const char *manifest_path, const char *key,
                         const uint8_t *data, size_t len, char *err,
                         size_t errlen)
{
    char hex[65];
    const char *line = manifest;
    size_t klen = strlen(key);

    nn_sha256_hex(data, len, hex);
    while (line && *line) {
        const char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);
        const char *name = line + 64;

        if (llen >= 66 + klen && (name[0] == ' ' || name[0] == '\t')) {
            while (name < line + llen && (*name == ' ' || *name == '*' ||
                                          *name == '\t'))
                name++;
            size_t nlen = (size_t)(line + llen - name);

            while (nlen > 0 && (name[nlen - 1] == '\r' ||
                                name[nlen - 1] == ' '))
                nlen--;
            if (nlen == klen && strncmp(name, key, klen) == 0) {
                if (strncasecmp(line, hex, 64) == 0)
                    return 0;
                return nn_node_error(m, NULL, err, errlen, -EBADMSG,
                                     "SHA-256 of '%s' is %s but %s expects "
                                     "%.64s; re-run scripts/fetch-models.sh",
                                     key, hex, manifest_path, line);
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    return nn_node_error(m, NULL, err, errlen, -ENOENT,
                         "'%s' has no entry in %s", key, manifest_path);
}

static struct nn_model *nn_model_alloc(const char *name,
                                       const struct nn_options *opt)
{
    struct nn_model *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->name = strdup(name);
    if (!m->name) {
        free(m);
        return NULL;
    }
    if (opt)
        m->opt = *opt;
    m->threads = m->opt.threads > 0 ? m->opt.threads : 1;
    return m;
}

/* Find graph inputs and outputs from the signature or the graph. */
static int nn_find_io(struct nn_model *m, json_t *root, char *err,
                      size_t errlen)
{
    json_t *sig = json_object_get(root, "signature");
    json_t *ins = json_object_get(sig, "inputs");
    json_t *outs = json_object_get(sig, "outputs");
    size_t nin = json_object_size(ins), nout = json_object_size(outs);
    const char *key;
    json_t *v;

    m->inputs = calloc((size_t)m->n_nodes + 1, sizeof(int));
    m->outputs = calloc((size_t)m->n_tensors + 1, sizeof(int));
    if (!m->inputs || !m->outputs)
        return -ENOMEM;
    if (nin > 0) {
        json_object_foreach(ins, key, v) {
            const char *name = json_string_value(json_object_get(v, "name"));
            int t = nn_resolve(m, name ? name : key);

            if (t < 0 || m->nodes[m->tensors[t].producer].op !=
                             NN_OP_PLACEHOLDER)
                return nn_node_error(m, NULL, err, errlen, -EINVAL,
                                     "signature input '%s' is not a "
                                     "Placeholder node", name ? name : key);
            m->inputs[m->n_inputs++] = t;
        }
    } else {
        for (int i = 0; i < m->n_nodes; i++)
            if (m->nodes[i].op == NN_OP_PLACEHOLDER)
                m->inputs[m->n_inputs++] = m->nodes[i].out[0];
    }
    if (nout > 0) {
        json_object_foreach(outs, key, v) {
            const char *name = json_string_value(json_object_get(v, "name"));
            int t = nn_resolve(m, name ? name : key);

            if (t < 0)
                return nn_node_error(m, NULL, err, errlen, -EINVAL,
                                     "signature output '%s' is not a node",
                                     name ? name : key);
            m->outputs[m->n_outputs++] = t;
        }
    } else {
        /* Without a signature, every tensor that nothing reads is one. */
        char *read = calloc((size_t)m->n_tensors, 1);

        if (!read)
            return -ENOMEM;
        for (int i = 0; i < m->n_nodes; i++)
            for (int k = 0; k < m->nodes[i].n_in; k++)
                read[m->nodes[i].in[k]] = 1;
        for (int t = 0; t < m->n_tensors; t++) {
            int p = m->tensors[t].producer;

            if (!read[t] && m->nodes[p].op != NN_OP_CONST &&
                m->nodes[p].op != NN_OP_PLACEHOLDER)
                m->outputs[m->n_outputs++] = t;
        }
        free(read);
    }
    if (m->n_outputs == 0)
        return nn_node_error(m, NULL, err, errlen, -EINVAL,
                             "graph has no outputs");
    for (int i = 0; i < m->n_inputs; i++)
        m->tensors[m->inputs[i]].is_io = true;
    for (int i = 0; i < m->n_outputs; i++)
        m->tensors[m->outputs[i]].is_io = true;
    return 0;
}

/*
 * Shared loader: parse root, load the weights given as one buffer per
 * manifest group, and plan the graph.
 */
static int nn_model_build(struct nn_model *m, json_t *root,
                          uint8_t **group_data, size_t *group_len,
                          char *err, size_t errlen)
{
    json_t *topo = json_object_get(root, "modelTopology");
    json_t *wm = json_object_get(root, "weightsManifest");
    size_t i;
    json_t *g;
    int rc;

    rc = nn_build_nodes(m, json_object_get(topo, "node"), err, errlen);
    if (rc < 0)
        return rc;
    json_array_foreach(wm, i, g) {
        rc = nn_load_group(m, g, group_data[i], group_len[i], err, errlen);
        if (rc < 0)
            return rc;
    }
    for (int k = 0; k < m->n_nodes; k++)
        if (m->nodes[k].op == NN_OP_CONST &&
            !m->tensors[m->nodes[k].out[0]].data)
            return nn_node_error(m, &m->nodes[k], err, errlen, -EINVAL,
                                 "no weight in weightsManifest");
    rc = nn_find_io(m, root, err, errlen);
    if (rc < 0)
        return rc;
    m->simd = !m->opt.no_simd && nn_cpu_has_avx2();
    m->avx512 = m->simd && !m->opt.no_avx512 && nn_cpu_has_avx512();
    if (m->threads > NN_POOL_MAX_THREADS)
        return nn_node_error(m, NULL, err, errlen, -EINVAL,
                             "%d threads requested but at most %d are "
                             "supported; set nn_options.threads lower",
                             m->threads, NN_POOL_MAX_THREADS);
    rc = nn_pool_new(m->threads, &m->pool);
    if (rc < 0)
        return nn_node_error(m, NULL, err, errlen, rc,
                             "cannot start %d threads", m->threads);
    return nn_plan(m, err, errlen);
}

static const char *nn_base_name(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');

    snprintf(buf, len, "%s", slash ? slash + 1 : path);
    return buf;
}

int nn_model_open(const char *json_path, const struct nn_options *opt,
                  nn_model **out, char *err, size_t errlen)
{
    struct nn_options defaults = {0};
    char dir[4096], name[256], mpath[4096];
    uint8_t *json_text = NULL, **group_data = NULL;
    size_t json_len, *group_len = NULL, n_groups = 0;
    char *manifest = NULL;
    size_t manifest_len;
    json_t *root = NULL;
    json_error_t jerr;
    struct nn_model *m = NULL;
    int rc;

    *out = NULL;
    if (!opt)
        opt = &defaults;
    snprintf(dir, sizeof(dir), "%s", json_path);
    char *slash = strrchr(dir, '/');

    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    nn_base_name(dir, name, sizeof(name));
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || !name[0])
        snprintf(name, sizeof(name), "%s", json_path);
    m = nn_model_alloc(name, opt);
    if (!m)
        return -ENOMEM;

    rc = nn_read_file(json_path, &json_text, &json_len);
    if (rc < 0) {
        if (rc == -EISDIR) {
            char base[256];

            nn_base_name(json_path, base, sizeof(base));
            nn_node_error(m, NULL, err, errlen, rc, "cannot read '%s': %s; "
                          "give the model's JSON file inside it, for example "
                          "'%s/%s.json'", json_path, strerror(-rc),
                          json_path, base);
        } else
            nn_node_error(m, NULL, err, errlen, rc, "cannot read '%s': %s; "
                          "run scripts/fetch-models.sh (make models) to "
                          "install the models", json_path, strerror(-rc));
        goto fail;
    }
    if (!opt->skip_hash_check) {
        if (opt->manifest_path)
            snprintf(mpath, sizeof(mpath), "%s", opt->manifest_path);
        else
            snprintf(mpath, sizeof(mpath), "%s/../MANIFEST.sha256", dir);
        rc = nn_read_file(mpath, (uint8_t **)&manifest, &manifest_len);
        if (rc < 0) {
            nn_node_error(m, NULL, err, errlen, rc, "cannot read hash "
                          "manifest '%s': %s", mpath, strerror(-rc));
            goto fail;
        }
        char key[512], file[256];

        snprintf(key, sizeof(key), "%s/%s", name,
                 nn_base_name(json_path, file, sizeof(file)));
        rc = nn_check_hash(m, manifest, mpath, key, json_text, json_len, err,
                           errlen);
        if (rc < 0)
            goto fail;
    }
    root = json_loadb((const char *)json_text, json_len, 0, &jerr);
    if (!root) {
        rc = nn_node_error(m, NULL, err, errlen, -EINVAL,
                           "invalid JSON in '%s' at line %d: %s", json_path,
                           jerr.line, jerr.text);
        goto fail;
    }
    json_t *wm = json_object_get(root, "weightsManifest");

    if (!json_is_array(wm)) {
        rc = nn_node_error(m, NULL, err, errlen, -EINVAL,
                           "'%s' has no weightsManifest list", json_path);
        goto fail;
    }
    n_groups = json_array_size(wm);
    group_data = calloc(n_groups + 1, sizeof(*group_data));
    group_len = calloc(n_groups + 1, sizeof(*group_len));
    if (!group_data || !group_len) {
        rc = -ENOMEM;
        goto fail;
    }
    for (size_t gi = 0; gi < n_groups; gi++) {
        json_t *paths = json_object_get(json_array_get(wm, gi), "paths");
        size_t pi;
        json_t *p;

        json_array_foreach(paths, pi, p) {
            const char *file = json_string_value(p);
            char path[4096];
            uint8_t *buf;
            size_t len;

            if (!file || strchr(file, '/') || strcmp(file, "..") == 0) {
                rc = nn_node_error(m, NULL, err, errlen, -EINVAL,
                                   "weight path must be a plain file name "
                                   "in the model directory");
                goto fail;
            }
            snprintf(path, sizeof(path), "%s/%s", dir, file);
            rc = nn_read_file(path, &buf, &len);
            if (rc < 0) {
                nn_node_error(m, NULL, err, errlen, rc, "cannot read weight "
                              "shard '%s': %s", path, strerror(-rc));
                goto fail;
            }
            if (manifest) {
                char key[512];

                snprintf(key, sizeof(key), "%s/%s", name, file);
                rc = nn_check_hash(m, manifest, mpath, key, buf, len, err,
                                   errlen);
                if (rc < 0) {
                    free(buf);
                    goto fail;
                }
            }
            uint8_t *grown = realloc(group_data[gi], group_len[gi] + len + 1);

            if (!grown) {
                free(buf);
                rc = -ENOMEM;
                goto fail;
            }
            memcpy(grown + group_len[gi], buf, len);
            group_data[gi] = grown;
            group_len[gi] += len;
            free(buf);
        }
    }
    rc = nn_model_build(m, root, group_data, group_len, err, errlen);
    if (rc < 0)
        goto fail;
    *out = m;
    m = NULL;

fail:
    if (rc == -ENOMEM && err && !err[0])
        nn_set_err(err, errlen, "out of memory loading '%s'", json_path);
    for (size_t gi = 0; group_data && gi < n_groups; gi++)
        free(group_data[gi]);
    free(group_data);
    free(group_len);
    free(manifest);
    free(json_text);
    json_decref(root);
    nn_model_free(m);
    return rc;
}

int nn_model_open_memory(const char *name, const char *json, size_t json_len,
                         const void *weights, size_t weights_len,
                         const struct nn_options *opt, nn_model **out,
                         char *err, size_t errlen)
{
    struct nn_model *m;
    json_t *root;
    json_error_t jerr;
    uint8_t **group_data = NULL;
    size_t *group_len = NULL;
    int rc;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    m = nn_model_alloc(name, opt);
    if (!m)
        return -ENOMEM;
    root = json_loadb(json, json_len, 0, &jerr);
    if (!root) {
        rc = nn_node_error(m, NULL, err, errlen, -EINVAL,
                           "invalid JSON at line %d: %s", jerr.line,
                           jerr.text);
        goto fail;
    }
    json_t *wm = json_object_get(root, "weightsManifest");
    size_t n_groups = json_array_size(wm);

    if (!json_is_array(wm)) {
        rc = nn_node_error(m, NULL, err, errlen, -EINVAL,
                           "model has no weightsManifest list");
        goto fail;
    }
    /* All weight data is treated as one group; others must be empty. */
    group_data = calloc(n_groups + 1, sizeof(*group_data));
    group_len = calloc(n_groups + 1, sizeof(*group_len));
    if (!group_data || !group_len) {
        rc = -ENOMEM;
        goto fail;
    }
    group_data[0] = (uint8_t *)weights;
    group_len[0] = weights_len;
    rc = nn_model_build(m, root, group_data, group_len, err, errlen);
    if (rc < 0)
        goto fail;
    *out = m;
    m = NULL;

fail:
    free(group_data);
    free(group_len);
    json_decref(root);
    nn_model_free(m);
    return rc;
}

void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_tensors; i++) {
        if (m->tensors[i].is_const)
            free(m->tensors[i].data);
        free(m->tensors[i].name);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        free(m->nodes[i].name);
        free(m->nodes[i].op_name);
        free(m->nodes[i].in);
        free(m->nodes[i].out);
        free(m->nodes[i].scaled_filter);
        free(m->nodes[i].wino_filter);
    }
    nn_pool_free(m->pool);
    free(m->arena);
    free(m->scratch);
    free(m->tensors);
    free(m->nodes);
    free(m->inputs);
    free(m->outputs);
    free(m->order);
    free(m->name);
    free(m);
}

int nn_model_set_threads(nn_model *m, int threads)
{
    struct nn_pool *pool;
    int rc;

    if (threads < 1)
        threads = 1;
    rc = nn_pool_new(threads, &pool);
    if (rc < 0)
        return rc;
    nn_pool_free(m->pool);
    m->pool = pool;
    m->threads = threads;
    return nn_plan_scratch(m);
}

int nn_model_input_count(const nn_model *m)
{
    return m->n_inputs;
}

int nn_model_output_count(const nn_model *m)
{
    return m->n_outputs;
}

static void nn_fill_info(const struct nn_tensor *t,
                         struct nn_tensor_info *info)
{
    info->name = t->name;
    info->dtype = t->dtype;
    info->ndim = t->ndim;
    memcpy(info->dims, t->dims, sizeof(info->dims));
    info->count = t->count;
    info->data = t->data;
}

int nn_model_input(nn_model *m, int i, struct nn_tensor_info *info)
{
    if (i < 0 || i >= m->n_inputs)
        return -EINVAL;
    nn_fill_info(&m->tensors[m->inputs[i]], info);
    return 0;
}

int nn_model_output(nn_model *m, int i, struct nn_tensor_info *info)
{
    if (i < 0 || i >= m->n_outputs)
        return -EINVAL;
    nn_fill_info(&m->tensors[m->outputs[i]], info);
    return 0;
}

int nn_model_output_by_name(nn_model *m, const char *name,
                            struct nn_tensor_info *info)
{
    size_t len = strlen(name);

    if (len > 2 && strcmp(name + len - 2, ":0") == 0)
        len -= 2;
    for (int i = 0; i < m->n_outputs; i++) {
        const char *tn = m->tensors[m->outputs[i]].name;

        if (strncmp(tn, name, len) == 0 && tn[len] == '\0') {
            nn_fill_info(&m->tensors[m->outputs[i]], info);
            return 0;
        }
    }
    return -ENOENT;
}

const char *nn_model_name(const nn_model *m)
{
    return m->name;
}

double nn_model_flops(const nn_model *m)
{
    return m->flops;
}

void nn_model_set_profiling(nn_model *m, int on)
{
    m->profiling = on != 0;
    for (int i = 0; i < m->n_nodes; i++)
        m->nodes[i].time_ms = 0;
}

size_t nn_model_profile_report(const nn_model *m, char *buf, size_t len)
{
    size_t used = 0;
    char done[64] = {0};

    if (len)
        buf[0] = '\0';
    for (int k = 0; k < m->n_order; k++) {
        const struct nn_node *n = &m->nodes[m->order[k]];
        double ms = 0, flops = 0;
        int count = 0;

        if ((int)n->op < 64 && done[n->op])
            continue;
        for (int j = k; j < m->n_order; j++) {
            const struct nn_node *o = &m->nodes[m->order[j]];

            if (o->op == n->op) {
                ms += o->time_ms;
                flops += o->flops;
                count++;
            }
        }
        if ((int)n->op < 64)
            done[n->op] = 1;
        if (used < len)
            used += (size_t)snprintf(buf + used, len - used,
                                     "%-24s %4d nodes %10.2f ms %8.2f GFLOP\n",
                                     n->op_name, count, ms, flops / 1e9);
    }
    return used < len ? used : len;
}

static double nn_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int nn_model_run(nn_model *m, char *err, size_t errlen)
{
    /*
     * The runtime's own threads split every convolution, so each sgemm
     * call runs on one OpenBLAS thread (the setting is process-wide).
     */
    openblas_set_num_threads(1);
    for (int k = 0; k < m->n_order; k++) {
        struct nn_node *n = &m->nodes[m->order[k]];
        double t0 = m->profiling ? nn_now_ms() : 0;
        int rc = nn_op_exec(m, n, err, errlen);

        if (rc < 0)
            return rc;
        if (m->profiling)
            n->time_ms += nn_now_ms() - t0;
    }
    return 0;
}
