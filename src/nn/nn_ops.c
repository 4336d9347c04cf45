/*
 * Shape inference and execution of every op, following TensorFlow
 * semantics.  Inference runs once at plan time and may read the values of
 * constant inputs (shapes, axes, sizes); execution runs per inference and
 * never allocates.
 */
#include "nn/nn_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T(i) (&m->tensors[n->in[i]])
#define O(i) (&m->tensors[n->out[i]])
#define ERR(rc, ...) nn_node_error(m, n, err, errlen, rc, __VA_ARGS__)

static void nn_set_shape(struct nn_tensor *t, enum nn_dtype dt, int ndim,
                         const int64_t *dims)
{
    t->dtype = dt;
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) {
        t->dims[i] = dims[i];
        t->count *= dims[i];
    }
}

static int nn_need_inputs(struct nn_model *m, struct nn_node *n, int lo,
                          int hi, char *err, size_t errlen)
{
    if (n->n_in < lo || n->n_in > hi)
        return ERR(-EINVAL, "has %d inputs, expected %d to %d", n->n_in, lo,
                   hi);
    for (int i = 0; i < n->n_in; i++)
        if (!T(i)->shaped)
            return ERR(-EINVAL, "input %d has no known shape", i);
    return 0;
}

/* Read constant integer input i into vals; returns its count or < 0. */
static int nn_const_ints(struct nn_model *m, struct nn_node *n, int i,
                         int64_t *vals, int max, char *err, size_t errlen)
{
    struct nn_tensor *t = T(i);

    if (!t->is_const)
        return ERR(-ENOTSUP, "input %d ('%s') must be a constant; dynamic "
                   "shapes are not supported", i, t->name);
    if (t->count > max)
        return ERR(-EINVAL, "input %d has %lld values, at most %d allowed",
                   i, (long long)t->count, max);
    for (int64_t k = 0; k < t->count; k++) {
        if (t->dtype == NN_DTYPE_INT32)
            vals[k] = ((const int32_t *)t->data)[k];
        else if (t->dtype == NN_DTYPE_FLOAT32)
            vals[k] = (int64_t)((const float *)t->data)[k];
        else
            return ERR(-EINVAL, "input %d must be int32", i);
    }
    return (int)t->count;
}

static int nn_norm_axis(int64_t axis, int ndim)
{
    if (axis < 0)
        axis += ndim;
    if (axis < 0 || axis >= ndim)
        return -1;
    return (int)axis;
}

/* ---- convolutions ---- */

static int nn_conv_out(int in, int k, int s, int d, enum nn_padding p,
                       int pad_before, int pad_after, int *out, int *before)
{
    int ek = (k - 1) * d + 1;

    if (p == NN_PAD_SAME) {
        *out = (in + s - 1) / s;
        int total = (*out - 1) * s + ek - in;

        if (total < 0)
            total = 0;
        *before = total / 2;
    } else {
        int span = in + (p == NN_PAD_EXPLICIT ? pad_before + pad_after : 0);

        *before = p == NN_PAD_EXPLICIT ? pad_before : 0;
        if (span < ek)
            return -1;
        *out = (span - ek) / s + 1;
    }
    return 0;
}

int nn_conv_args_fill(struct nn_model *m, struct nn_node *n,
                      struct nn_conv_args *a, char *err, size_t errlen)
{
    struct nn_tensor *x = T(0), *f = T(1);
    bool dw = n->op == NN_OP_DEPTHWISE;

    memset(a, 0, sizeof(*a));
    if (n->a.nchw)
        return ERR(-ENOTSUP, "data_format NCHW is not supported; "
                   "TensorFlow.js converts graphs to NHWC");
    if (x->ndim != 4 || f->ndim != 4 || x->dtype != NN_DTYPE_FLOAT32 ||
        f->dtype != NN_DTYPE_FLOAT32)
        return ERR(-EINVAL, "input and filter must be 4-D float32");
    if (!f->is_const)
        return ERR(-ENOTSUP, "filter must be a constant");
    if (f->dims[2] != x->dims[3])
        return ERR(-EINVAL, "filter has %lld input channels but the input "
                   "has %lld", (long long)f->dims[2], (long long)x->dims[3]);
    if (n->a.strides[0] != 1 || n->a.strides[3] != 1)
        return ERR(-ENOTSUP, "strides in the batch or channel dimension");
    a->n = (int)x->dims[0];
    a->h = (int)x->dims[1];
    a->w = (int)x->dims[2];
    a->c = (int)x->dims[3];
    a->kh = (int)f->dims[0];
    a->kw = (int)f->dims[1];
    a->oc = (int)(dw ? f->dims[2] * f->dims[3] : f->dims[3]);
    a->sh = n->a.strides[1];
    a->sw = n->a.strides[2];
    a->dh = n->a.dilations[1];
    a->dw = n->a.dilations[2];
    a->filter = f->data;
    a->act = n->a.act;
    a->alpha = n->a.alpha;
    a->simd = m->simd;
    a->avx512 = m->avx512;
    if (nn_conv_out(a->h, a->kh, a->sh, a->dh, n->a.padding,
                    n->a.explicit_pad[2], n->a.explicit_pad[3], &a->oh,
                    &a->pad_top) < 0 ||
        nn_conv_out(a->w, a->kw, a->sw, a->dw, n->a.padding,
                    n->a.explicit_pad[4], n->a.explicit_pad[5], &a->ow,
                    &a->pad_left) < 0)
        return ERR(-EINVAL, "filter is larger than the padded input");
    return 0;
}

static int nn_infer_conv(struct nn_model *m, struct nn_node *n, char *err,
                         size_t errlen)
{
    struct nn_conv_args a;
    int rc = nn_need_inputs(m, n, 2, 3, err, errlen);

    if (rc < 0)
        return rc;
    rc = nn_conv_args_fill(m, n, &a, err, errlen);
    if (rc < 0)
        return rc;
    if (n->a.has_bias) {
        if (n->n_in < 3 || !T(2)->is_const || T(2)->count != a.oc ||
            T(2)->dtype != NN_DTYPE_FLOAT32)
            return ERR(-EINVAL, "fused BiasAdd needs a constant float32 "
                       "bias of %d values", a.oc);
        n->bias = n->in[2];
    }
    int64_t dims[4] = {a.n, a.oh, a.ow, a.oc};

    nn_set_shape(O(0), NN_DTYPE_FLOAT32, 4, dims);
    n->flops = 2.0 * a.n * a.oh * a.ow * a.kh * a.kw * a.oc *
               (n->op == NN_OP_DEPTHWISE ? 1 : a.c);
    if (n->op == NN_OP_CONV2D)
        n->scratch = nn_conv2d_scratch(&a);
    free(n->wino_filter);
    n->wino_filter = NULL;
    if (n->op == NN_OP_CONV2D && !m->opt.no_winograd && n->scale < 0 &&
        !nn_conv_small_ok(m, &a) && nn_winograd_ok(&a)) {
        n->wino_filter = nn_winograd_filter(&a);
        if (!n->wino_filter)
            return -ENOMEM;
        if (nn_winograd_scratch(&a) > n->scratch)
            n->scratch = nn_winograd_scratch(&a);
    }
    return 0;
}

/*
 * Refresh n->scaled_filter, the filter with the weights of input channel c
 * times the scale vector's s[c], and point a at it.
 */
static void nn_conv_scale_filter(struct nn_model *m, struct nn_node *n,
                                 struct nn_conv_args *a)
{
    const float *sv = m->tensors[n->scale].data;
    const float *f = a->filter;
    /* HWIO rows hold oc outputs per input channel, HWCM rows oc / c. */
    size_t per_row = (size_t)(n->op == NN_OP_DEPTHWISE ? a->oc / a->c
                                                       : a->oc);
    size_t rows = (size_t)a->kh * a->kw * a->c;

    for (size_t r = 0; r < rows; r++) {
        float g = sv[r % (size_t)a->c];

        for (size_t o = 0; o < per_row; o++)
            n->scaled_filter[r * per_row + o] = f[r * per_row + o] * g;
    }
    a->filter = n->scaled_filter;
}

static int nn_exec_conv(struct nn_model *m, struct nn_node *n, char *err,
                        size_t errlen)
{
    struct nn_conv_args a;
    int rc = nn_conv_args_fill(m, n, &a, err, errlen);
    void *tmp = NULL;

    if (rc < 0)
        return rc;
    a.in = T(0)->data;
    a.out = O(0)->data;
    a.bias = n->bias >= 0 ? m->tensors[n->bias].data : NULL;
    a.residual = n->residual >= 0 ? m->tensors[n->residual].data : NULL;
    if (n->scale >= 0)
        nn_conv_scale_filter(m, n, &a);
    if (n->op == NN_OP_DEPTHWISE) {
        nn_depthwise(m, &a);
        return 0;
    }
    if (n->dw_node >= 0) {
        struct nn_node *d = &m->nodes[n->dw_node];
        struct nn_conv_args da;

        rc = nn_conv_args_fill(m, d, &da, err, errlen);
        if (rc < 0)
            return rc;
        if (d->scale >= 0)
            nn_conv_scale_filter(m, d, &da);
        da.in = m->tensors[d->in[0]].data;
        da.bias = d->bias >= 0 ? m->tensors[d->bias].data : NULL;
        da.residual = d->residual >= 0 ? m->tensors[d->residual].data
                                       : NULL;
        /* Planned after constant folding, so the scratch exists. */
        a.in = NULL;
        a.scratch = m->scratch;
        if (d->expand_node < 0) {
            nn_conv2d_dw(m, NULL, &da, &a);
            return 0;
        }
        struct nn_node *e = &m->nodes[d->expand_node];
        struct nn_conv_args ea;

        rc = nn_conv_args_fill(m, e, &ea, err, errlen);
        if (rc < 0)
            return rc;
        ea.in = m->tensors[e->in[0]].data;
        ea.bias = e->bias >= 0 ? m->tensors[e->bias].data : NULL;
        da.in = NULL;
        nn_conv2d_dw(m, &ea, &da, &a);
        return 0;
    }
    a.scratch = m->scratch;
    if (n->wino_filter && m->scratch) {
        nn_winograd(m, &a, n->wino_filter);
        return 0;
    }
    if (n->scratch > 0 && !m->scratch) {
        /* Only constant folding at plan time gets here. */
        tmp = malloc(n->scratch * (size_t)nn_pool_threads(m->pool));
        if (!tmp)
            return -ENOMEM;
        a.scratch = tmp;
    }
    nn_conv2d(m, &a);
    free(tmp);
    return 0;
}

/* ---- elementwise binary ops with broadcasting ---- */

static int nn_infer_binary(struct nn_model *m, struct nn_node *n, char *err,
                           size_t errlen)
{
    int rc = nn_need_inputs(m, n, 2, 2, err, errlen);
    struct nn_tensor *a, *b;
    int64_t dims[NN_MAX_DIMS];
    int nd;

    if (rc < 0)
        return rc;
    a = T(0);
    b = T(1);
    if (a->dtype != b->dtype)
        return ERR(-EINVAL, "inputs have different dtypes");
    if (a->dtype == NN_DTYPE_BOOL && n->op != NN_OP_EQUAL)
        return ERR(-ENOTSUP, "bool inputs are not supported");
    nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->dims[ia] : 1;
        int64_t db = ib >= 0 ? b->dims[ib] : 1;

        if (da != db && da != 1 && db != 1) {
            char sa[96], sb[96];

            return ERR(-EINVAL, "shapes %s and %s cannot be broadcast",
                       nn_shape_str(a, sa, sizeof(sa)),
                       nn_shape_str(b, sb, sizeof(sb)));
        }
        dims[i] = da == 1 ? db : da;
    }
    nn_set_shape(O(0), n->op == NN_OP_EQUAL ? NN_DTYPE_BOOL : a->dtype, nd,
                 dims);
    return 0;
}

static inline int32_t nn_floordiv_i(int32_t x, int32_t y)
{
    int32_t q = x / y;

    if ((x % y != 0) && ((x < 0) != (y < 0)))
        q--;
    return q;
}

static inline int32_t nn_floormod_i(int32_t x, int32_t y)
{
    int32_t r = x % y;

    if (r != 0 && ((r < 0) != (y < 0)))
        r += y;
    return r;
}

/* Apply op to n elements; sa/sb are 0 (broadcast) or 1. */
/* Same-shape float operands: loops without strides, for vectorising. */
NN_AVX2_CLONE
static bool nn_binary_f_dense(enum nn_op op, const float *restrict a,
                              const float *restrict b, void *out,
                              int64_t cnt)
{
    float *restrict o = out;
    uint8_t *restrict ob = out;

    switch (op) {
    case NN_OP_ADD:
        for (int64_t i = 0; i < cnt; i++)
            o[i] = a[i] + b[i];
        return true;
    case NN_OP_SUB:
        for (int64_t i = 0; i < cnt; i++)
            o[i] = a[i] - b[i];
        return true;
    case NN_OP_MUL:
        for (int64_t i = 0; i < cnt; i++)
            o[i] = a[i] * b[i];
        return true;
    case NN_OP_EQUAL:
        for (int64_t i = 0; i < cnt; i++)
            ob[i] = a[i] == b[i];
        return true;
    default:
        return false;
    }
}

static void nn_binary_f(enum nn_op op, const float *a, int sa, const float *b,
                        int sb, void *out, int64_t cnt)
{
    float *o = out;
    uint8_t *ob = out;

    if (sa == 1 && sb == 1 && nn_binary_f_dense(op, a, b, out, cnt))
        return;
    switch (op) {
    case NN_OP_ADD:
        for (int64_t i = 0; i < cnt; i++)
            o[i] = a[i * sa] + b[i * sb];
        break;
    case NN_OP_SUB:
        for (int64_t i = 0; i < cnt; i++)
            o[i] = a[i * sa] - b[i * sb];
        break;
    case NN_OP_MUL:
        for (int64_t i = 0; i < cnt; i++)
            o[i] = a[i * sa] * b[i * sb];
        break;
    case NN_OP_FLOORDIV:
        for (int64_t i = 0; i < cnt; i++)
            o[i] = floorf(a[i * sa] / b[i * sb]);
        break;
    case NN_OP_FLOORMOD:
        for (int64_t i = 0; i < cnt; i++) {
            float x = a[i * sa], y = b[i * sb];
            float r = fmodf(x, y);

            if (r != 0 && ((r < 0) != (y < 0)))
                r += y;
            o[i] = r;
        }
        break;
    case NN_OP_EQUAL:
        for (int64_t i = 0; i < cnt; i++)
            ob[i] = a[i * sa] == b[i * sb];
        break;
    default:
        break;
    }
}

/* Integer version; returns -EDOM on division by zero. */
static int nn_binary_i(enum nn_op op, const int32_t *a, int sa,
                       const int32_t *b, int sb, void *out, int64_t cnt)
{
    int32_t *o = out;
    uint8_t *ob = out;

    for (int64_t i = 0; i < cnt; i++) {
        int32_t x = a[i * sa], y = b[i * sb];

        switch (op) {
        case NN_OP_ADD:
            o[i] = (int32_t)((uint32_t)x + (uint32_t)y);
            break;
        case NN_OP_SUB:
            o[i] = (int32_t)((uint32_t)x - (uint32_t)y);
            break;
        case NN_OP_MUL:
            o[i] = (int32_t)((uint32_t)x * (uint32_t)y);
            break;
        case NN_OP_FLOORDIV:
        case NN_OP_FLOORMOD:
            if (y == 0 || (x == INT32_MIN && y == -1))
                return -EDOM;
            o[i] = op == NN_OP_FLOORDIV ? nn_floordiv_i(x, y)
                                        : nn_floormod_i(x, y);
            break;
        case NN_OP_EQUAL:
            ob[i] = x == y;
            break;
        default:
            break;
        }
    }
    return 0;
}

static int nn_binary_run(enum nn_op op, enum nn_dtype dt, const void *a,
                         int sa, const void *b, int sb, void *o, int64_t cnt)
{
    if (dt == NN_DTYPE_FLOAT32) {
        nn_binary_f(op, a, sa, b, sb, o, cnt);
        return 0;
    }
    if (dt == NN_DTYPE_BOOL) {
        const uint8_t *x = a, *y = b;
        uint8_t *r = o;

        for (int64_t i = 0; i < cnt; i++)
            r[i] = x[i * sa] == y[i * sb];
        return 0;
    }
    return nn_binary_i(op, a, sa, b, sb, o, cnt);
}

struct nn_bin_ctx {
    struct nn_model *m;
    struct nn_node *n;
    int64_t rows, inner;
    int64_t sa[NN_MAX_DIMS], sb[NN_MAX_DIMS], od[NN_MAX_DIMS];
    int nd;
    int ia, ib;                 /* inner strides */
    int rc;
};

NN_AVX2_CLONE
static void nn_binary_rows(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_bin_ctx *c = ctx;
    struct nn_model *m = c->m;
    struct nn_node *n = c->n;
    size_t es = nn_dtype_size(T(0)->dtype);
    size_t os = nn_dtype_size(O(0)->dtype);

    for (size_t r = begin; r < end; r++) {
        int64_t offa = 0, offb = 0, rem = (int64_t)r;

        for (int d = c->nd - 2; d >= 0; d--) {
            int64_t idx = rem % c->od[d];

            rem /= c->od[d];
            offa += idx * c->sa[d];
            offb += idx * c->sb[d];
        }
        int rc = nn_binary_run(n->op, T(0)->dtype,
                               (const char *)T(0)->data + offa * es, c->ia,
                               (const char *)T(1)->data + offb * es, c->ib,
                               (char *)O(0)->data + r * c->inner * os,
                               c->inner);

        if (rc < 0)
            c->rc = rc;
    }
}

/* Flat elementwise op split into chunks of 16384 elements. */
struct nn_flat_ctx {
    enum nn_op op;
    enum nn_dtype dt;
    const char *a, *b;
    char *o;
    int sa, sb;
    size_t es, os;
    int64_t count;
    int rc;
};

#define NN_CHUNK 16384

static void nn_binary_flat(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_flat_ctx *f = ctx;
    int64_t lo = (int64_t)begin * NN_CHUNK;
    int64_t hi = (int64_t)end * NN_CHUNK < f->count ? (int64_t)end * NN_CHUNK
                                                    : f->count;
    int rc = nn_binary_run(f->op, f->dt, f->a + (size_t)(lo * f->sa) * f->es,
                           f->sa, f->b + (size_t)(lo * f->sb) * f->es, f->sb,
                           f->o + (size_t)lo * f->os, hi - lo);

    if (rc < 0)
        f->rc = rc;
}

static int nn_exec_binary(struct nn_model *m, struct nn_node *n, char *err,
                          size_t errlen)
{
    struct nn_tensor *a = T(0), *b = T(1), *o = O(0);
    struct nn_bin_ctx c = {m, n, 0, 0, {0}, {0}, {0}, 0, 0, 0, 0};
    struct nn_flat_ctx f = {n->op, a->dtype, a->data, b->data, o->data, 1, 1,
                            nn_dtype_size(a->dtype), nn_dtype_size(o->dtype),
                            o->count, 0};
    int rc = 0;
    bool flat = true;

    if (a->count == o->count && b->count == o->count) {
        f.sa = f.sb = 1;
    } else if (b->count == 1 && a->count == o->count) {
        f.sb = 0;
    } else if (a->count == 1 && b->count == o->count) {
        f.sa = 0;
    } else {
        flat = false;
    }
    if (flat) {
        nn_pool_run(m->pool, (size_t)((o->count + NN_CHUNK - 1) / NN_CHUNK),
                    nn_binary_flat, &f);
        rc = f.rc;
    } else {
        /* General broadcast: strides of each input over output dims. */
        int nd = o->ndim;
        int64_t stra = 1, strb = 1;

        c.nd = nd;
        for (int d = nd - 1; d >= 0; d--) {
            int ia = d - (nd - a->ndim), ib = d - (nd - b->ndim);
            int64_t da = ia >= 0 ? a->dims[ia] : 1;
            int64_t db = ib >= 0 ? b->dims[ib] : 1;

            c.od[d] = o->dims[d];
            c.sa[d] = da == 1 ? 0 : stra;
            c.sb[d] = db == 1 ? 0 : strb;
            stra *= da;
            strb *= db;
        }
        c.inner = nd ? o->dims[nd - 1] : 1;
        c.rows = c.inner ? o->count / c.inner : 0;
        c.ia = nd ? (int)c.sa[nd - 1] : 0;
        c.ib = nd ? (int)c.sb[nd - 1] : 0;
        nn_pool_run(m->pool, (size_t)c.rows, nn_binary_rows, &c);
        rc = c.rc;
    }
    if (rc < 0)
        return ERR(rc, "integer division by zero");
    return 0;
}

/* ---- unary ---- */

static int nn_infer_same(struct nn_model *m, struct nn_node *n, char *err,
                         size_t errlen, int lo, int hi)
{
    int rc = nn_need_inputs(m, n, lo, hi, err, errlen);

    if (rc < 0)
        return rc;
    nn_set_shape(O(0), T(0)->dtype, T(0)->ndim, T(0)->dims);
    return 0;
}

struct nn_unary_ctx {
    const float *in;
    float *out;
    enum nn_act act;
    float alpha;
    size_t count;
    bool simd;
};

static void nn_unary_range(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_unary_ctx *u = ctx;

    if (u->out != u->in)
        memcpy(u->out + begin, u->in + begin, (end - begin) * sizeof(float));
    nn_apply_act(u->out + begin, end - begin, (int)(end - begin), NULL, NULL,
                 u->act, u->alpha, u->simd);
}

/* Unary op over 4096-element chunks [begin, end). */
static void nn_unary_chunks(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_unary_ctx *u = ctx;

    nn_unary_range(u, begin * 4096,
                   end * 4096 < u->count ? end * 4096 : u->count, thread);
}

static int nn_exec_unary(struct nn_model *m, struct nn_node *n, char *err,
                         size_t errlen)
{
    struct nn_unary_ctx u = {T(0)->data, O(0)->data, NN_ACT_NONE,
                             n->a.alpha, (size_t)O(0)->count, m->simd};

    if (T(0)->dtype != NN_DTYPE_FLOAT32)
        return ERR(-ENOTSUP, "input must be float32");
    switch (n->op) {
    case NN_OP_RELU:
        u.act = NN_ACT_RELU;
        break;
    case NN_OP_RELU6:
        u.act = NN_ACT_RELU6;
        break;
    case NN_OP_LEAKYRELU:
        u.act = NN_ACT_LEAKY;
        break;
    case NN_OP_SIGMOID:
        u.act = NN_ACT_SIGMOID;
        break;
    default:
        break;
    }
    size_t cnt = (size_t)O(0)->count;
    size_t chunks = (cnt + 4095) / 4096;

    if (cnt > 0 && cnt < 65536)
        nn_unary_range(&u, 0, cnt, 0);
    else
        nn_pool_run(m->pool, chunks, nn_unary_chunks, &u);
    return 0;
}

/* ---- reductions, pooling, resizing ---- */

static int nn_infer_mean(struct nn_model *m, struct nn_node *n, char *err,
                         size_t errlen)
{
    int64_t axes[NN_MAX_DIMS], dims[NN_MAX_DIMS];
    int rc = nn_need_inputs(m, n, 2, 2, err, errlen), na, nd = 0;
    bool red[NN_MAX_DIMS] = {false};

    if (rc < 0)
        return rc;
    na = nn_const_ints(m, n, 1, axes, NN_MAX_DIMS, err, errlen);
    if (na < 0)
        return na;
    if (T(0)->dtype != NN_DTYPE_FLOAT32)
        return ERR(-ENOTSUP, "input must be float32");
    for (int i = 0; i < na; i++) {
        int ax = nn_norm_axis(axes[i], T(0)->ndim);

        if (ax < 0)
            return ERR(-EINVAL, "axis %lld is out of range",
                       (long long)axes[i]);
        red[ax] = true;
    }
    for (int d = 0; d < T(0)->ndim; d++) {
        if (!red[d])
            dims[nd++] = T(0)->dims[d];
        else if (n->a.keep_dims)
            dims[nd++] = 1;
    }
    nn_set_shape(O(0), NN_DTYPE_FLOAT32, nd, dims);
    return 0;
}

struct nn_mean_ctx {
    const float *in;
    float *out;
    int64_t pixels, c, batch;
};

/* NHWC spatial mean of channel blocks [begin, end) of 16 channels. */
NN_AVX2_CLONE
static void nn_mean_spatial(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_mean_ctx *mc = ctx;
    int64_t c0 = (int64_t)begin * 16;
    int64_t c1 = (int64_t)end * 16 < mc->c ? (int64_t)end * 16 : mc->c;
    float *restrict ob = mc->out + mc->batch * mc->c;
    const float *restrict ib = mc->in + mc->batch * mc->pixels * mc->c;

    const int64_t tile = 32;

    for (int64_t ch = c0; ch < c1; ch++)
        ob[ch] = 0;
    /*
     * Tiles of 32 pixels stay in L1 while groups of 8 channels accumulate
     * in registers, so the input is read from memory once.
     */
    for (int64_t p0 = 0; p0 < mc->pixels; p0 += tile) {
        int64_t p1 = p0 + tile < mc->pixels ? p0 + tile : mc->pixels;
        int64_t ch = c0;

        for (; ch + 8 <= c1; ch += 8) {
            float acc[8] = {0};

            for (int64_t p = p0; p < p1; p++)
                for (int j = 0; j < 8; j++)
                    acc[j] += ib[p * mc->c + ch + j];
            for (int j = 0; j < 8; j++)
                ob[ch + j] += acc[j];
        }
        for (; ch < c1; ch++)
            for (int64_t p = p0; p < p1; p++)
                ob[ch] += ib[p * mc->c + ch];
    }
    for (int64_t ch = c0; ch < c1; ch++)
        ob[ch] /= (float)mc->pixels;
}

static int nn_exec_mean(struct nn_model *m, struct nn_node *n, char *err,
                        size_t errlen)
{
    int64_t axes[NN_MAX_DIMS];
    int na = nn_const_ints(m, n, 1, axes, NN_MAX_DIMS, err, errlen);
    const struct nn_tensor *x = T(0);
    float *o = O(0)->data;
    const float *in = x->data;
    bool red[NN_MAX_DIMS] = {false};
    int64_t ostride[NN_MAX_DIMS], idx[NN_MAX_DIMS] = {0}, s = 1;
    double *acc;

    if (na < 0)
        return na;
    for (int i = 0; i < na; i++)
        red[nn_norm_axis(axes[i], x->ndim)] = true;
    /* Output stride of each input dim; 0 for reduced dims. */
    for (int d = x->ndim - 1; d >= 0; d--) {
        ostride[d] = red[d] ? 0 : s;
        if (!red[d])
            s *= x->dims[d];
    }
    int64_t group = O(0)->count ? x->count / O(0)->count : 0;

    /* Accumulate in the output buffer, in float as TensorFlow.js does. */
    acc = NULL;
    if (x->ndim == 4 && red[1] && red[2] && !red[0] && !red[3]) {
        struct nn_mean_ctx c = {in, o, x->dims[1] * x->dims[2], x->dims[3]};

        /* Threads share channel blocks, so sums keep the serial order. */
        for (c.batch = 0; c.batch < x->dims[0]; c.batch++)
            nn_pool_run(m->pool, (size_t)((c.c + 15) / 16),
                        nn_mean_spatial, &c);
        return 0;
    }
    memset(o, 0, (size_t)O(0)->count * sizeof(float));
    for (int64_t i = 0; i < x->count; i++) {
        int64_t off = 0;

        for (int d = 0; d < x->ndim; d++)
            off += idx[d] * ostride[d];
        o[off] += in[i];
        for (int d = x->ndim - 1; d >= 0; d--) {
            if (++idx[d] < x->dims[d])
                break;
            idx[d] = 0;
        }
    }
    free(acc);
    for (int64_t i = 0; i < O(0)->count; i++)
        o[i] /= (float)group;
    return 0;
}

static int nn_infer_maxpool(struct nn_model *m, struct nn_node *n, char *err,
                            size_t errlen)
{
    int rc = nn_need_inputs(m, n, 1, 1, err, errlen);
    struct nn_tensor *x;
    int oh, ow, pt, pl;

    if (rc < 0)
        return rc;
    x = T(0);
    if (n->a.nchw)
        return ERR(-ENOTSUP, "data_format NCHW is not supported");
    if (x->ndim != 4 || x->dtype != NN_DTYPE_FLOAT32)
        return ERR(-EINVAL, "input must be 4-D float32");
    if (n->a.ksize[0] != 1 || n->a.ksize[3] != 1 || n->a.strides[0] != 1 ||
        n->a.strides[3] != 1)
        return ERR(-ENOTSUP, "pooling over batch or channels");
    /* EXPLICIT comes only from a fused -inf Pad; padding is ignored. */
    if (nn_conv_out((int)x->dims[1], n->a.ksize[1], n->a.strides[1], 1,
                    n->a.padding, n->a.explicit_pad[2], n->a.explicit_pad[3],
                    &oh, &pt) < 0 ||
        nn_conv_out((int)x->dims[2], n->a.ksize[2], n->a.strides[2], 1,
                    n->a.padding, n->a.explicit_pad[4], n->a.explicit_pad[5],
                    &ow, &pl) < 0)
        return ERR(-EINVAL, "window is larger than the input");
    int64_t dims[4] = {x->dims[0], oh, ow, x->dims[3]};

    nn_set_shape(O(0), NN_DTYPE_FLOAT32, 4, dims);
    if (n->a.strides[1] == 1 && n->a.strides[2] == 1)
        n->scratch = (size_t)(x->dims[2] * x->dims[3]) * sizeof(float);
    return 0;
}

struct nn_pool_ctx {
    struct nn_model *m;
    struct nn_node *n;
    int pt, pl;
    size_t rows;                /* parallel items, for the scratch slot */
};

/*
 * Epilogue of a MaxPool fused with x * Cast(Equal(x, pool)): row x times
 * 1 where it equals the pooled row o, else times 0, as the three ops
 * compute it (so an infinity that is not the maximum becomes NaN).
 */
NN_AVX2_CLONE
static void nn_keep_max_row(float *restrict o, const float *restrict x,
                            size_t count)
{
    /* GCC 12 does not vectorise the float compare, so use vector types. */
    typedef float v4f __attribute__((vector_size(16)));
    typedef int32_t v4i __attribute__((vector_size(16)));
    const v4f one = {1.0f, 1.0f, 1.0f, 1.0f};
    size_t i = 0;

    for (; i + 4 <= count; i += 4) {
        v4f xv, ov;

        memcpy(&xv, x + i, sizeof(xv));
        memcpy(&ov, o + i, sizeof(ov));
        ov = xv * (v4f)((xv == ov) & (v4i)one);
        memcpy(o + i, &ov, sizeof(ov));
    }
    for (; i < count; i++)
        o[i] = x[i] * (x[i] == o[i] ? 1.0f : 0.0f);
}

NN_AVX2_CLONE
static void nn_maxpool_rows(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_pool_ctx *p = ctx;
    struct nn_model *m = p->m;
    struct nn_node *n = p->n;
    const struct nn_tensor *x = T(0), *y = O(0);
    int H = (int)x->dims[1], W = (int)x->dims[2], C = (int)x->dims[3];
    int OH = (int)y->dims[1], OW = (int)y->dims[2];
    int kh = n->a.ksize[1], kw = n->a.ksize[2];
    int sh = n->a.strides[1], sw = n->a.strides[2];
    const float *in = x->data;
    float *out = y->data;

    for (size_t r = begin; r < end; r++) {
        int b = (int)(r / (size_t)OH), oy = (int)(r % (size_t)OH);

        for (int ox = 0; ox < OW; ox++) {
            float *o = out + (((size_t)b * OH + oy) * OW + ox) * C;

            for (int c = 0; c < C; c++)
                o[c] = -INFINITY;
            for (int ky = 0; ky < kh; ky++) {
                int iy = oy * sh - p->pt + ky;

                if (iy < 0 || iy >= H)
                    continue;
                for (int kx = 0; kx < kw; kx++) {
                    int ix = ox * sw - p->pl + kx;

                    if (ix < 0 || ix >= W)
                        continue;
                    const float *i =
                        in + (((size_t)b * H + iy) * W + ix) * C;

                    for (int c = 0; c < C; c++)
                        o[c] = i[c] > o[c] ? i[c] : o[c];
                }
            }
        }
        if (n->a.keep_max)
            nn_keep_max_row(out + ((size_t)b * OH + oy) * OW * C,
                            in + ((size_t)b * H + oy) * W * C,
                            (size_t)OW * C);
    }
}

/*
 * Stride-1 max pooling as two passes (rows, then columns) through the
 * output buffer: k + k compares per value in place of k * k.
 */
NN_AVX2_CLONE
static void nn_maxpool_sep_rows(void *ctx, size_t begin, size_t end,
                                int thread)
{
    struct nn_pool_ctx *p = ctx;
    struct nn_model *m = p->m;
    struct nn_node *n = p->n;
    const struct nn_tensor *x = T(0), *y = O(0);
    int H = (int)x->dims[1], W = (int)x->dims[2], C = (int)x->dims[3];
    int OH = (int)y->dims[1], OW = (int)y->dims[2];
    int kh = n->a.ksize[1], kw = n->a.ksize[2];
    const float *in = x->data;
    float *out = y->data;

    /* Rows of the output: column maxima over kh input rows, then across. */
    for (size_t r = begin; r < end; r++) {
        int b = (int)(r / (size_t)OH), oy = (int)(r % (size_t)OH);
        float *o = out + ((size_t)b * OH + oy) * OW * C;
        float *colmax = (float *)m->scratch +
                        (size_t)thread *
                            (m->scratch_per_thread / sizeof(float));
        int y0 = oy - p->pt, y1 = y0 + kh;

        y0 = y0 < 0 ? 0 : y0;
        y1 = y1 > H ? H : y1;
        memcpy(colmax, in + ((size_t)b * H + y0) * W * C,
               (size_t)W * C * sizeof(float));
        for (int iy = y0 + 1; iy < y1; iy++) {
            const float *restrict row = in + ((size_t)b * H + iy) * W * C;

            for (size_t i = 0; i < (size_t)W * C; i++)
                colmax[i] = row[i] > colmax[i] ? row[i] : colmax[i];
        }
        /*
         * Columns whose window lies inside the row: one flat pass per
         * filter column over all of them.
         */
        int ox_a = p->pl < OW ? p->pl : OW;
        int ox_b = W - kw + 1 + p->pl < OW ? W - kw + 1 + p->pl : OW;

        if (ox_b > ox_a) {
            float *restrict dst = o + (size_t)ox_a * C;
            const float *src = colmax + (size_t)(ox_a - p->pl) * C;
            size_t len = (size_t)(ox_b - ox_a) * C;

            memcpy(dst, src, len * sizeof(float));
            for (int kx = 1; kx < kw; kx++) {
                const float *restrict s2 = src + (size_t)kx * C;

                for (size_t i = 0; i < len; i++)
                    dst[i] = s2[i] > dst[i] ? s2[i] : dst[i];
            }
        } else {
            ox_a = ox_b = 0;
        }
        for (int ox = 0; ox < OW; ox++) {
            int x0 = ox - p->pl, x1 = x0 + kw;
            float *restrict dst = o + (size_t)ox * C;

            if (ox == ox_a && ox_b > ox_a) {
                ox = ox_b - 1;
                continue;
            }
            x0 = x0 < 0 ? 0 : x0;
            x1 = x1 > W ? W : x1;
            memcpy(dst, colmax + (size_t)x0 * C, (size_t)C * sizeof(float));
            for (int ix = x0 + 1; ix < x1; ix++) {
                const float *restrict src = colmax + (size_t)ix * C;

                for (int c = 0; c < C; c++)
                    dst[c] = src[c] > dst[c] ? src[c] : dst[c];
            }
        }
        if (n->a.keep_max)
            nn_keep_max_row(o, in + ((size_t)b * H + oy) * W * C,
                            (size_t)OW * C);
    }
}

static int nn_exec_maxpool(struct nn_model *m, struct nn_node *n, char *err,
                           size_t errlen)
{
    struct nn_pool_ctx p = {m, n, 0, 0, 0};
    int oh, ow;

    nn_conv_out((int)T(0)->dims[1], n->a.ksize[1], n->a.strides[1], 1,
                n->a.padding, n->a.explicit_pad[2], n->a.explicit_pad[3],
                &oh, &p.pt);
    nn_conv_out((int)T(0)->dims[2], n->a.ksize[2], n->a.strides[2], 1,
                n->a.padding, n->a.explicit_pad[4], n->a.explicit_pad[5],
                &ow, &p.pl);
    p.rows = (size_t)(O(0)->dims[0] * O(0)->dims[1]);
    if (n->scratch > 0 && m->scratch)
        nn_pool_run(m->pool, p.rows, nn_maxpool_sep_rows, &p);
    else
        nn_pool_run(m->pool, p.rows, nn_maxpool_rows, &p);
    return 0;
}

static int nn_infer_resize(struct nn_model *m, struct nn_node *n, char *err,
                           size_t errlen)
{
    int64_t size[2];
    int rc = nn_need_inputs(m, n, 2, 2, err, errlen);

    if (rc < 0)
        return rc;
    if (T(0)->ndim != 4 || T(0)->dtype != NN_DTYPE_FLOAT32)
        return ERR(-EINVAL, "images must be 4-D float32 (NHWC)");
    rc = nn_const_ints(m, n, 1, size, 2, err, errlen);
    if (rc < 0)
        return rc;
    if (rc != 2 || size[0] < 1 || size[1] < 1 || size[0] > 65536 ||
        size[1] > 65536)
        return ERR(-EINVAL, "size must be 2 positive values up to 65536");
    if (n->a.align_corners && n->a.half_pixel_centers)
        return ERR(-EINVAL, "align_corners and half_pixel_centers cannot "
                   "both be true");
    int64_t dims[4] = {T(0)->dims[0], size[0], size[1], T(0)->dims[3]};

    nn_set_shape(O(0), NN_DTYPE_FLOAT32, 4, dims);
    return 0;
}

/* Source coordinate of output index o, as TensorFlow computes it. */
static void nn_resize_coord(int o, int in, int out, bool align, bool half,
                            int *lo, int *hi, float *frac)
{
    float scale = (align && out > 1) ? (float)(in - 1) / (float)(out - 1)
                                     : (float)in / (float)out;
    float src = half ? ((float)o + 0.5f) * scale - 0.5f : (float)o * scale;
    float fl = floorf(src);

    *lo = fl < 0 ? 0 : (int)fl;
    *hi = (int)ceilf(src);
    if (*hi > in - 1)
        *hi = in - 1;
    if (*hi < 0)
        *hi = 0;
    if (*lo > in - 1)
        *lo = in - 1;
    *frac = src - (float)*lo;
    if (src < 0)
        *frac = 0;
}

NN_AVX2_CLONE
static void nn_resize_rows(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_pool_ctx *p = ctx;
    struct nn_model *m = p->m;
    struct nn_node *n = p->n;
    const struct nn_tensor *x = T(0), *y = O(0);
    int H = (int)x->dims[1], W = (int)x->dims[2], C = (int)x->dims[3];
    int OH = (int)y->dims[1], OW = (int)y->dims[2];
    bool al = n->a.align_corners, hp = n->a.half_pixel_centers;
    const float *in = x->data;
    float *out = y->data;

    for (size_t r = begin; r < end; r++) {
        int b = (int)(r / (size_t)OH), oy = (int)(r % (size_t)OH);
        int y0, y1;
        float fy;

        nn_resize_coord(oy, H, OH, al, hp, &y0, &y1, &fy);
        const float *r0 = in + ((size_t)b * H + y0) * W * C;
        const float *r1 = in + ((size_t)b * H + y1) * W * C;

        for (int ox = 0; ox < OW; ox++) {
            int x0, x1;
            float fx;
            float *o = out + (((size_t)b * OH + oy) * OW + ox) * C;

            nn_resize_coord(ox, W, OW, al, hp, &x0, &x1, &fx);
            for (int c = 0; c < C; c++) {
                float tl = r0[(size_t)x0 * C + c], tr = r0[(size_t)x1 * C + c];
                float bl = r1[(size_t)x0 * C + c], br = r1[(size_t)x1 * C + c];
                float top = tl + (tr - tl) * fx;
                float bot = bl + (br - bl) * fx;

                o[c] = top + (bot - top) * fy;
            }
        }
    }
}

static int nn_exec_resize(struct nn_model *m, struct nn_node *n, char *err,
                          size_t errlen)
{
    struct nn_pool_ctx p = {m, n, 0, 0, 0};

    nn_pool_run(m->pool, (size_t)(O(0)->dims[0] * O(0)->dims[1]),
                nn_resize_rows, &p);
    return 0;
}

/* ---- shape and data movement ---- */

static int nn_infer_concat(struct nn_model *m, struct nn_node *n, char *err,
                           size_t errlen)
{
    int64_t axis_v, dims[NN_MAX_DIMS];
    int rc = nn_need_inputs(m, n, 2, 1024, err, errlen), axis;
    struct nn_tensor *f;

    if (rc < 0)
        return rc;
    rc = nn_const_ints(m, n, n->n_in - 1, &axis_v, 1, err, errlen);
    if (rc < 0)
        return rc;
    f = T(0);
    axis = nn_norm_axis(axis_v, f->ndim);
    if (rc != 1 || axis < 0)
        return ERR(-EINVAL, "axis is out of range");
    memcpy(dims, f->dims, sizeof(dims));
    for (int i = 1; i < n->n_in - 1; i++) {
        struct nn_tensor *t = T(i);

        if (t->ndim != f->ndim || t->dtype != f->dtype)
            return ERR(-EINVAL, "input %d has a different rank or dtype", i);
        for (int d = 0; d < f->ndim; d++)
            if (d != axis && t->dims[d] != f->dims[d])
                return ERR(-EINVAL, "input %d differs in dimension %d", i,
                           d);
        dims[axis] += t->dims[axis];
    }
    nn_set_shape(O(0), f->dtype, f->ndim, dims);
    return 0;
}

struct nn_concat_ctx {
    struct nn_model *m;
    struct nn_node *n;
    int axis;
    int64_t inner;
    size_t es;
};

/*
 * Rows [begin, end) of the dimensions before the axis: one chunk of each
 * input per row, with the fused ReLU applied while copying if any.
 */
NN_AVX2_CLONE
static void nn_concat_rows(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_concat_ctx *cc = ctx;
    struct nn_model *m = cc->m;
    struct nn_node *n = cc->n;
    struct nn_tensor *o = O(0);
    size_t ostride = (size_t)(o->dims[cc->axis] * cc->inner) * cc->es;
    size_t off = 0;

    for (int i = 0; i < n->n_in - 1; i++) {
        struct nn_tensor *t = T(i);
        size_t chunk = (size_t)(t->dims[cc->axis] * cc->inner) * cc->es;

        for (size_t r = begin; r < end; r++) {
            char *dst = (char *)o->data + r * ostride + off;
            const char *src = (const char *)t->data + r * chunk;

            if (n->a.act == NN_ACT_RELU) {
                float *restrict df = (float *)dst;
                const float *restrict sf = (const float *)src;

                for (size_t j = 0; j < chunk / sizeof(float); j++)
                    df[j] = sf[j] > 0 ? sf[j] : 0;
            } else {
                memcpy(dst, src, chunk);
            }
        }
        off += chunk;
    }
}

static int nn_exec_concat(struct nn_model *m, struct nn_node *n, char *err,
                          size_t errlen)
{
    int64_t axis_v;
    struct nn_tensor *o = O(0);
    struct nn_concat_ctx cc = {m, n, 0, 1, nn_dtype_size(o->dtype)};
    int64_t outer = 1;

    nn_const_ints(m, n, n->n_in - 1, &axis_v, 1, err, errlen);
    cc.axis = nn_norm_axis(axis_v, o->ndim);
    for (int d = 0; d < cc.axis; d++)
        outer *= o->dims[d];
    for (int d = cc.axis + 1; d < o->ndim; d++)
        cc.inner *= o->dims[d];
    /* Copies below 128 KiB stay on the calling thread. */
    if ((size_t)o->count * cc.es < (128u << 10))
        nn_concat_rows(&cc, 0, (size_t)outer, 0);
    else
        nn_pool_run(m->pool, (size_t)outer, nn_concat_rows, &cc);
    return 0;
}

static int nn_infer_reshape(struct nn_model *m, struct nn_node *n, char *err,
                            size_t errlen)
{
    int64_t shape[NN_MAX_DIMS], known = 1;
    int rc = nn_need_inputs(m, n, 2, 2, err, errlen), nd, unknown = -1;

    if (rc < 0)
        return rc;
    nd = nn_const_ints(m, n, 1, shape, NN_MAX_DIMS, err, errlen);
    if (nd < 0)
        return nd;
    for (int i = 0; i < nd; i++) {
        if (shape[i] == -1 && unknown < 0)
            unknown = i;
        else if (shape[i] < 0)
            return ERR(-EINVAL, "shape value %lld is invalid",
                       (long long)shape[i]);
        else
            known *= shape[i];
    }
    if (unknown >= 0) {
        if (known == 0 || T(0)->count % known != 0)
            return ERR(-EINVAL, "cannot infer the -1 dimension");
        shape[unknown] = T(0)->count / known;
        known *= shape[unknown];
    }
    if (known != T(0)->count)
        return ERR(-EINVAL, "input has %lld elements but the shape has %lld",
                   (long long)T(0)->count, (long long)known);
    nn_set_shape(O(0), T(0)->dtype, nd, shape);
    return 0;
}

static int nn_infer_expand(struct nn_model *m, struct nn_node *n, char *err,
                           size_t errlen)
{
    int64_t dim, dims[NN_MAX_DIMS];
    int rc = nn_need_inputs(m, n, 2, 2, err, errlen), nd, ax;

    if (rc < 0)
        return rc;
    rc = nn_const_ints(m, n, 1, &dim, 1, err, errlen);
    if (rc < 0)
        return rc;
    nd = T(0)->ndim;
    if (rc != 1 || nd + 1 > NN_MAX_DIMS)
        return ERR(-EINVAL, "needs one axis and rank below %d", NN_MAX_DIMS);
    ax = nn_norm_axis(dim, nd + 1);
    if (ax < 0)
        return ERR(-EINVAL, "axis %lld is out of range", (long long)dim);
    for (int i = 0, j = 0; i < nd + 1; i++)
        dims[i] = i == ax ? 1 : T(0)->dims[j++];
    nn_set_shape(O(0), T(0)->dtype, nd + 1, dims);
    return 0;
}

static int nn_exec_copy(struct nn_model *m, struct nn_node *n, char *err,
                        size_t errlen)
{
    if (O(0)->data != T(0)->data)
        memcpy(O(0)->data, T(0)->data,
               (size_t)O(0)->count * nn_dtype_size(O(0)->dtype));
    return 0;
}

static int nn_infer_cast(struct nn_model *m, struct nn_node *n, char *err,
                         size_t errlen)
{
    int rc = nn_need_inputs(m, n, 1, 1, err, errlen);

    if (rc < 0)
        return rc;
    nn_set_shape(O(0), n->a.dst_type, T(0)->ndim, T(0)->dims);
    return 0;
}

struct nn_cast_ctx {
    const struct nn_tensor *x, *y;
};

NN_AVX2_CLONE
static void nn_cast_range(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_cast_ctx *c = ctx;
    const struct nn_tensor *x = c->x, *y = c->y;
    int64_t lo = (int64_t)begin * NN_CHUNK;
    int64_t hi = (int64_t)end * NN_CHUNK < x->count ? (int64_t)end * NN_CHUNK
                                                    : x->count;

    /* Common exact conversions as plain loops the compiler vectorises. */
    if (x->dtype == NN_DTYPE_BOOL && y->dtype == NN_DTYPE_FLOAT32) {
        const uint8_t *restrict src = x->data;
        float *restrict dst = y->data;

        for (int64_t i = lo; i < hi; i++)
            dst[i] = (float)src[i];
        return;
    }
    if (x->dtype == NN_DTYPE_INT32 && y->dtype == NN_DTYPE_FLOAT32) {
        const int32_t *restrict src = x->data;
        float *restrict dst = y->data;

        for (int64_t i = lo; i < hi; i++)
            dst[i] = (float)src[i];
        return;
    }
    for (int64_t i = lo; i < hi; i++) {
        double v;

        switch (x->dtype) {
        case NN_DTYPE_FLOAT32:
            v = ((const float *)x->data)[i];
            break;
        case NN_DTYPE_INT32:
            v = ((const int32_t *)x->data)[i];
            break;
        default:
            v = ((const uint8_t *)x->data)[i];
            break;
        }
        switch (y->dtype) {
        case NN_DTYPE_FLOAT32:
            ((float *)y->data)[i] = (float)v;
            break;
        case NN_DTYPE_INT32:
            /*
             * Truncation toward zero, then wrap-around modulo 2^32 as
             * TensorFlow.js stores into an Int32Array (NaN becomes 0).
             */
            if (isnan(v) || isinf(v)) {
                ((int32_t *)y->data)[i] = 0;
            } else {
                double w = fmod(trunc(v), 4294967296.0);

                if (w < 0)
                    w += 4294967296.0;
                ((int32_t *)y->data)[i] = (int32_t)(uint32_t)w;
            }
            break;
        default:
            ((uint8_t *)y->data)[i] = v != 0;
            break;
        }
    }
}

static int nn_exec_cast(struct nn_model *m, struct nn_node *n, char *err,
                        size_t errlen)
{
    struct nn_cast_ctx c = {T(0), O(0)};

    nn_pool_run(m->pool, (size_t)((T(0)->count + NN_CHUNK - 1) / NN_CHUNK),
                nn_cast_range, &c);
    return 0;
}

static int nn_infer_gather(struct nn_model *m, struct nn_node *n, char *err,
                           size_t errlen)
{
    int64_t axis_v = 0, dims[NN_MAX_DIMS];
    int rc = nn_need_inputs(m, n, 2, 3, err, errlen), axis, nd = 0;
    struct nn_tensor *p, *ix;

    if (rc < 0)
        return rc;
    if (n->n_in == 3) {
        rc = nn_const_ints(m, n, 2, &axis_v, 1, err, errlen);
        if (rc < 0)
            return rc;
    }
    p = T(0);
    ix = T(1);
    if (n->a.batch_dims != 0)
        return ERR(-ENOTSUP, "batch_dims %d; only 0 is supported",
                   n->a.batch_dims);
    if (ix->dtype != NN_DTYPE_INT32)
        return ERR(-EINVAL, "indices must be int32");
    axis = nn_norm_axis(axis_v, p->ndim);
    if (axis < 0)
        return ERR(-EINVAL, "axis %lld is out of range", (long long)axis_v);
    if (p->ndim - 1 + ix->ndim > NN_MAX_DIMS)
        return ERR(-EINVAL, "result rank exceeds %d", NN_MAX_DIMS);
    for (int d = 0; d < axis; d++)
        dims[nd++] = p->dims[d];
    for (int d = 0; d < ix->ndim; d++)
        dims[nd++] = ix->dims[d];
    for (int d = axis + 1; d < p->ndim; d++)
        dims[nd++] = p->dims[d];
    nn_set_shape(O(0), p->dtype, nd, dims);
    return 0;
}

static int nn_exec_gather(struct nn_model *m, struct nn_node *n, char *err,
                          size_t errlen)
{
    int64_t axis_v = 0, outer = 1, inner = 1;
    struct nn_tensor *p = T(0), *ix = T(1);
    size_t es = nn_dtype_size(p->dtype);
    const int32_t *idx = ix->data;
    int axis;

    if (n->n_in == 3)
        nn_const_ints(m, n, 2, &axis_v, 1, err, errlen);
    axis = nn_norm_axis(axis_v, p->ndim);
    for (int d = 0; d < axis; d++)
        outer *= p->dims[d];
    for (int d = axis + 1; d < p->ndim; d++)
        inner *= p->dims[d];
    size_t chunk = (size_t)inner * es;
    char *o = O(0)->data;

    for (int64_t r = 0; r < outer; r++)
        for (int64_t k = 0; k < ix->count; k++) {
            if (idx[k] < 0 || idx[k] >= p->dims[axis])
                return ERR(-EINVAL, "index %d is outside [0, %lld)", idx[k],
                           (long long)p->dims[axis]);
            memcpy(o, (const char *)p->data +
                          ((size_t)(r * p->dims[axis] + idx[k])) * chunk,
                   chunk);
            o += chunk;
        }
    return 0;
}

/* Resolved slice of one dimension. */
struct nn_slice {
    int64_t begin[NN_MAX_DIMS], stride[NN_MAX_DIMS], len[NN_MAX_DIMS];
};

static int nn_slice_resolve(struct nn_model *m, struct nn_node *n,
                            struct nn_slice *s, int64_t *odims, int *ond,
                            char *err, size_t errlen)
{
    int64_t b[NN_MAX_DIMS], e[NN_MAX_DIMS], st[NN_MAX_DIMS];
    struct nn_tensor *x = T(0);
    int nb, ne, ns, nd = 0;

    nb = nn_const_ints(m, n, 1, b, NN_MAX_DIMS, err, errlen);
    if (nb < 0)
        return nb;
    ne = nn_const_ints(m, n, 2, e, NN_MAX_DIMS, err, errlen);
    if (ne < 0)
        return ne;
    ns = nn_const_ints(m, n, 3, st, NN_MAX_DIMS, err, errlen);
    if (ns < 0)
        return ns;
    if (nb != ne || nb != ns || nb > x->ndim)
        return ERR(-EINVAL, "begin, end and strides must have the same "
                   "length, at most the input rank");
    if (n->a.ellipsis_mask || n->a.new_axis_mask)
        return ERR(-ENOTSUP, "ellipsis_mask and new_axis_mask");
    for (int d = 0; d < x->ndim; d++) {
        int64_t dim = x->dims[d], lo, hi, step = d < nb ? st[d] : 1;
        bool shrink = d < nb && (n->a.shrink_mask >> d & 1);

        if (step == 0)
            return ERR(-EINVAL, "stride of dimension %d is 0", d);
        if (d >= nb) {
            lo = 0;
            hi = dim;
        } else if (shrink) {
            lo = b[d] < 0 ? b[d] + dim : b[d];
            if (lo < 0 || lo >= dim)
                return ERR(-EINVAL, "index %lld is out of range",
                           (long long)b[d]);
            hi = lo + 1;
            step = 1;
        } else {
            bool bm = n->a.begin_mask >> d & 1, em = n->a.end_mask >> d & 1;

            lo = bm ? (step > 0 ? 0 : dim - 1) : b[d];
            hi = em ? (step > 0 ? dim : -dim - 1) : e[d];
            if (!bm && lo < 0)
                lo += dim;
            if (!em && hi < 0)
                hi += dim;
            if (step > 0) {
                lo = lo < 0 ? 0 : lo > dim ? dim : lo;
                hi = hi < 0 ? 0 : hi > dim ? dim : hi;
            } else {
                lo = lo < -1 ? -1 : lo > dim - 1 ? dim - 1 : lo;
                hi = hi < -1 ? -1 : hi > dim - 1 ? dim - 1 : hi;
            }
        }
        int64_t len = step > 0 ? (hi - lo + step - 1) / step
                               : (lo - hi + (-step) - 1) / (-step);

        if (len < 0)
            len = 0;
        s->begin[d] = lo;
        s->stride[d] = step;
        s->len[d] = len;
        if (!shrink)
            odims[nd++] = len;
    }
    *ond = nd;
    return 0;
}

static int nn_infer_slice(struct nn_model *m, struct nn_node *n, char *err,
                          size_t errlen)
{
    struct nn_slice s;
    int64_t dims[NN_MAX_DIMS];
    int nd, rc = nn_need_inputs(m, n, 4, 4, err, errlen);

    if (rc < 0)
        return rc;
    rc = nn_slice_resolve(m, n, &s, dims, &nd, err, errlen);
    if (rc < 0)
        return rc;
    nn_set_shape(O(0), T(0)->dtype, nd, dims);
    return 0;
}

static int nn_exec_slice(struct nn_model *m, struct nn_node *n, char *err,
                         size_t errlen)
{
    struct nn_slice s;
    int64_t dims[NN_MAX_DIMS], idx[NN_MAX_DIMS] = {0}, istr[NN_MAX_DIMS];
    struct nn_tensor *x = T(0);
    size_t es = nn_dtype_size(x->dtype);
    int nd, rc = nn_slice_resolve(m, n, &s, dims, &nd, err, errlen);
    char *o = O(0)->data;

    if (rc < 0)
        return rc;
    istr[x->ndim - 1] = 1;
    for (int d = x->ndim - 2; d >= 0; d--)
        istr[d] = istr[d + 1] * x->dims[d + 1];
    for (int64_t i = 0; i < O(0)->count; i++) {
        int64_t off = 0;

        for (int d = 0; d < x->ndim; d++)
            off += (s.begin[d] + idx[d] * s.stride[d]) * istr[d];
        memcpy(o + (size_t)i * es, (const char *)x->data + (size_t)off * es,
               es);
        for (int d = x->ndim - 1; d >= 0; d--) {
            if (++idx[d] < s.len[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}

static int nn_infer_topk(struct nn_model *m, struct nn_node *n, char *err,
                         size_t errlen)
{
    int64_t k, dims[NN_MAX_DIMS];
    int rc = nn_need_inputs(m, n, 2, 2, err, errlen);
    struct nn_tensor *x;

    if (rc < 0)
        return rc;
    rc = nn_const_ints(m, n, 1, &k, 1, err, errlen);
    if (rc < 0)
        return rc;
    x = T(0);
    if (x->ndim < 1 || x->dtype != NN_DTYPE_FLOAT32)
        return ERR(-EINVAL, "input must be float32 with rank >= 1");
    if (k < 0 || k > x->dims[x->ndim - 1])
        return ERR(-EINVAL, "k = %lld is outside [0, %lld]", (long long)k,
                   (long long)x->dims[x->ndim - 1]);
    memcpy(dims, x->dims, sizeof(dims));
    dims[x->ndim - 1] = k;
    nn_set_shape(O(0), NN_DTYPE_FLOAT32, x->ndim, dims);
    nn_set_shape(O(1), NN_DTYPE_INT32, x->ndim, dims);
    return 0;
}

/* a ranks below b: lower value, or equal value and higher index. */
static inline bool nn_topk_worse(float va, int32_t ia, float vb, int32_t ib)
{
    return va < vb || (va == vb && ia > ib);
}

static int nn_exec_topk(struct nn_model *m, struct nn_node *n, char *err,
                        size_t errlen)
{
    struct nn_tensor *x = T(0);
    int64_t len = x->dims[x->ndim - 1];
    int64_t k = O(0)->dims[x->ndim - 1];
    int64_t rows = len ? x->count / len : 0;
    float *ov = O(0)->data;
    int32_t *oi = O(1)->data;

    for (int64_t r = 0; r < rows; r++) {
        const float *in = (const float *)x->data + r * len;
        float *hv = ov + r * k;
        int32_t *hi = oi + r * k;
        int64_t size = 0;

        /* Min-heap of the best k, worst at the root. */
        for (int64_t i = 0; i < len && k > 0; i++) {
            float v = in[i];
            int64_t pos;

            /*
             * Once the heap is full, a later value only enters if it is
             * greater than the root (equal ones have a higher index), so
             * blocks of 16 values whose maximum is not greater are
             * skipped.  NaN never enters, as in the comparison below.
             */
            if (size == k && (i & 15) == 0 && i + 16 <= len) {
                float mx = -INFINITY;

                for (int j = 0; j < 16; j++)
                    mx = in[i + j] > mx ? in[i + j] : mx;
                if (!(mx > hv[0])) {
                    i += 15;
                    continue;
                }
            }
            if (size < k) {
                pos = size++;
                while (pos > 0) {
                    int64_t parent = (pos - 1) / 2;

                    if (!nn_topk_worse(v, (int32_t)i, hv[parent],
                                       hi[parent]))
                        break;
                    hv[pos] = hv[parent];
                    hi[pos] = hi[parent];
                    pos = parent;
                }
                hv[pos] = v;
                hi[pos] = (int32_t)i;
                continue;
            }
            if (!nn_topk_worse(hv[0], hi[0], v, (int32_t)i))
                continue;
            pos = 0;
            for (;;) {
                int64_t l = 2 * pos + 1, rr = l + 1, w = l;

                if (l >= size)
                    break;
                if (rr < size && nn_topk_worse(hv[rr], hi[rr], hv[l], hi[l]))
                    w = rr;
                if (!nn_topk_worse(hv[w], hi[w], v, (int32_t)i))
                    break;
                hv[pos] = hv[w];
                hi[pos] = hi[w];
                pos = w;
            }
            hv[pos] = v;
            hi[pos] = (int32_t)i;
        }
        /* Heap sort in place: repeatedly move the worst to the end. */
        for (int64_t end = size - 1; end > 0; end--) {
            float tv = hv[end];
            int32_t ti = hi[end];
            int64_t pos = 0;

            hv[end] = hv[0];
            hi[end] = hi[0];
            for (;;) {
                int64_t l = 2 * pos + 1, rr = l + 1, w = l;

                if (l >= end)
                    break;
                if (rr < end && nn_topk_worse(hv[rr], hi[rr], hv[l], hi[l]))
                    w = rr;
                if (!nn_topk_worse(hv[w], hi[w], tv, ti))
                    break;
                hv[pos] = hv[w];
                hi[pos] = hi[w];
                pos = w;
            }
            hv[pos] = tv;
            hi[pos] = ti;
        }
    }
    return 0;
}

static int nn_infer_pad(struct nn_model *m, struct nn_node *n, char *err,
                        size_t errlen)
{
    int64_t p[2 * NN_MAX_DIMS], dims[NN_MAX_DIMS];
    int rc = nn_need_inputs(m, n, 2, 3, err, errlen), np;
    struct nn_tensor *x;

    if (rc < 0)
        return rc;
    x = T(0);
    np = nn_const_ints(m, n, 1, p, 2 * NN_MAX_DIMS, err, errlen);
    if (np < 0)
        return np;
    if (np != 2 * x->ndim)
        return ERR(-EINVAL, "paddings has %d values, expected %d", np,
                   2 * x->ndim);
    if (n->n_in == 3 && (T(2)->count != 1 || T(2)->dtype != x->dtype))
        return ERR(-EINVAL, "constant_values must be one value of the "
                   "input's dtype");
    for (int d = 0; d < x->ndim; d++) {
        if (p[2 * d] < 0 || p[2 * d + 1] < 0 || p[2 * d] > 65536 ||
            p[2 * d + 1] > 65536)
            return ERR(-EINVAL, "padding of dimension %d must be within "
                       "0..65536", d);
        dims[d] = x->dims[d] + p[2 * d] + p[2 * d + 1];
    }
    nn_set_shape(O(0), x->dtype, x->ndim, dims);
    return 0;
}

static int nn_exec_pad(struct nn_model *m, struct nn_node *n, char *err,
                       size_t errlen)
{
    int64_t p[2 * NN_MAX_DIMS], idx[NN_MAX_DIMS] = {0};
    struct nn_tensor *x = T(0), *y = O(0);
    size_t es = nn_dtype_size(x->dtype);
    int nd = x->ndim;

    nn_const_ints(m, n, 1, p, 2 * NN_MAX_DIMS, err, errlen);
    /* Fill with the constant, then copy each input row into place. */
    if (n->n_in == 3 || x->dtype != NN_DTYPE_FLOAT32) {
        for (int64_t i = 0; i < y->count; i++)
            memcpy((char *)y->data + (size_t)i * es,
                   n->n_in == 3 ? T(2)->data : (const void *)"\0\0\0\0", es);
    } else {
        memset(y->data, 0, (size_t)y->count * es);
    }
    if (x->count == 0)
        return 0;
    if (nd == 0) {
        memcpy(y->data, x->data, es);
        return 0;
    }
    int64_t inner = x->dims[nd - 1];
    int64_t rows = x->count / inner;

    for (int64_t r = 0; r < rows; r++) {
        int64_t off = 0;

        for (int d = 0; d < nd - 1; d++)
            off = off * y->dims[d] + idx[d] + p[2 * d];
        off = off * y->dims[nd - 1] + p[2 * (nd - 1)];
        memcpy((char *)y->data + (size_t)off * es,
               (const char *)x->data + (size_t)(r * inner) * es,
               (size_t)inner * es);
        for (int d = nd - 2; d >= 0; d--) {
            if (++idx[d] < x->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}

static int nn_infer_transpose(struct nn_model *m, struct nn_node *n,
                              char *err, size_t errlen)
{
    int64_t perm[NN_MAX_DIMS], dims[NN_MAX_DIMS];
    int rc = nn_need_inputs(m, n, 2, 2, err, errlen), np;
    bool seen[NN_MAX_DIMS] = {false};

    if (rc < 0)
        return rc;
    np = nn_const_ints(m, n, 1, perm, NN_MAX_DIMS, err, errlen);
    if (np < 0)
        return np;
    if (np != T(0)->ndim)
        return ERR(-EINVAL, "perm has %d values for a rank-%d input", np,
                   T(0)->ndim);
    for (int d = 0; d < np; d++) {
        if (perm[d] < 0 || perm[d] >= np || seen[perm[d]])
            return ERR(-EINVAL, "perm is not a permutation");
        seen[perm[d]] = true;
        dims[d] = T(0)->dims[perm[d]];
    }
    nn_set_shape(O(0), T(0)->dtype, np, dims);
    return 0;
}

struct nn_tr_ctx {
    const float *in;
    float *out;
    int64_t rows, cols;         /* per batch: out[c][r] = in[r][c] */
};

static void nn_transpose_batch(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_tr_ctx *t = ctx;
    const int64_t B = 32;

    /* Blocked 2-D transpose over row blocks [begin, end). */
    for (size_t rb = begin; rb < end; rb++) {
        int64_t r0 = (int64_t)rb * B;
        int64_t r1 = r0 + B < t->rows ? r0 + B : t->rows;

        for (int64_t c0 = 0; c0 < t->cols; c0 += B) {
            int64_t c1 = c0 + B < t->cols ? c0 + B : t->cols;

            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = c0; c < c1; c++)
                    t->out[c * t->rows + r] = t->in[r * t->cols + c];
        }
    }
}

/*
 * Transpose after dropping size-1 dims and merging input dims that stay
 * adjacent in the output, so NHWC<->NCHW becomes a batched 2-D transpose.
 */
static int nn_exec_transpose(struct nn_model *m, struct nn_node *n,
                             char *err, size_t errlen)
{
    int64_t perm[NN_MAX_DIMS], sz[NN_MAX_DIMS], gsz[NN_MAX_DIMS];
    int64_t istr[NN_MAX_DIMS], idx[NN_MAX_DIMS] = {0};
    int p2[NN_MAX_DIMS], newidx[NN_MAX_DIMS], gfirst[NN_MAX_DIMS];
    int rank[NN_MAX_DIMS];
    struct nn_tensor *x = T(0), *y = O(0);
    size_t es = nn_dtype_size(x->dtype);
    int np = nn_const_ints(m, n, 1, perm, NN_MAX_DIMS, err, errlen);
    int nk = 0, n2 = 0, ng = 0;

    if (np < 0)
        return np;
    for (int i = 0; i < np; i++) {
        newidx[i] = -1;
        if (x->dims[i] != 1) {
            newidx[i] = nk;
            sz[nk++] = x->dims[i];
        }
    }
    for (int d = 0; d < np; d++)
        if (newidx[perm[d]] >= 0)
            p2[n2++] = newidx[perm[d]];
    /* Groups of consecutive input dims, in output order. */
    for (int d = 0; d < n2; d++) {
        if (d > 0 && p2[d] == p2[d - 1] + 1) {
            gsz[ng - 1] *= sz[p2[d]];
            continue;
        }
        gfirst[ng] = p2[d];
        gsz[ng] = sz[p2[d]];
        ng++;
    }
    /* rank[g]: position of group g in input order. */
    for (int g = 0; g < ng; g++) {
        rank[g] = 0;
        for (int h = 0; h < ng; h++)
            if (gfirst[h] < gfirst[g])
                rank[g]++;
    }
    if (ng <= 1 || (ng == 2 && rank[0] == 0)) {
        memcpy(y->data, x->data, (size_t)x->count * es);
        return 0;
    }
    if (es == 4 && ng == 2) {
        /* input [gsz[1]][gsz[0]] -> output [gsz[0]][gsz[1]] */
        struct nn_tr_ctx t = {x->data, y->data, gsz[1], gsz[0]};

        nn_pool_run(m->pool, (size_t)((t.rows + 31) / 32),
                    nn_transpose_batch, &t);
        return 0;
    }
    if (es == 4 && ng == 3 && rank[0] == 0 && rank[1] == 2) {
        for (int64_t b = 0; b < gsz[0]; b++) {
            struct nn_tr_ctx t = {
                (const float *)x->data + b * gsz[1] * gsz[2],
                (float *)y->data + b * gsz[1] * gsz[2], gsz[2], gsz[1]
            };

            nn_pool_run(m->pool, (size_t)((t.rows + 31) / 32),
                        nn_transpose_batch, &t);
        }
        return 0;
    }
    /* General case: input stride of each output group. */
    for (int g = 0; g < ng; g++) {
        istr[g] = 1;
        for (int h = 0; h < ng; h++)
            if (rank[h] > rank[g])
                istr[g] *= gsz[h];
    }
    for (int64_t i = 0; i < y->count; i++) {
        int64_t off = 0;

        for (int g = 0; g < ng; g++)
            off += idx[g] * istr[g];
        memcpy((char *)y->data + (size_t)i * es,
               (const char *)x->data + (size_t)off * es, es);
        for (int g = ng - 1; g >= 0; g--) {
            if (++idx[g] < gsz[g])
                break;
            idx[g] = 0;
        }
    }
    return 0;
}

static int nn_infer_splitv(struct nn_model *m, struct nn_node *n, char *err,
                           size_t errlen)
{
    int64_t sizes[64], axis_v, sum = 0, dims[NN_MAX_DIMS];
    int rc = nn_need_inputs(m, n, 3, 3, err, errlen), ns, axis,
        unknown = -1;

    if (rc < 0)
        return rc;
    ns = nn_const_ints(m, n, 1, sizes, 64, err, errlen);
    if (ns < 0)
        return ns;
    rc = nn_const_ints(m, n, 2, &axis_v, 1, err, errlen);
    if (rc < 0)
        return rc;
    axis = nn_norm_axis(axis_v, T(0)->ndim);
    if (axis < 0 || ns != n->n_out)
        return ERR(-EINVAL, "axis out of range or %d sizes for %d outputs",
                   ns, n->n_out);
    for (int i = 0; i < ns; i++) {
        if (sizes[i] == -1 && unknown < 0)
            unknown = i;
        else if (sizes[i] < 0)
            return ERR(-EINVAL, "split size %lld is invalid",
                       (long long)sizes[i]);
        else
            sum += sizes[i];
    }
    if (unknown >= 0)
        sizes[unknown] = T(0)->dims[axis] - sum;
    sum = 0;
    for (int i = 0; i < ns; i++)
        sum += sizes[i];
    if (sum != T(0)->dims[axis] || (unknown >= 0 && sizes[unknown] < 0))
        return ERR(-EINVAL, "split sizes add up to %lld, not %lld",
                   (long long)sum, (long long)T(0)->dims[axis]);
    for (int i = 0; i < ns; i++) {
        memcpy(dims, T(0)->dims, sizeof(dims));
        dims[axis] = sizes[i];
        nn_set_shape(O(i), T(0)->dtype, T(0)->ndim, dims);
    }
    return 0;
}

static int nn_exec_splitv(struct nn_model *m, struct nn_node *n, char *err,
                          size_t errlen)
{
    int64_t axis_v, outer = 1, inner = 1, off = 0;
    struct nn_tensor *x = T(0);
    size_t es = nn_dtype_size(x->dtype);
    int axis;

    nn_const_ints(m, n, 2, &axis_v, 1, err, errlen);
    axis = nn_norm_axis(axis_v, x->ndim);
    for (int d = 0; d < axis; d++)
        outer *= x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= x->dims[d];
    size_t rowb = (size_t)(x->dims[axis] * inner) * es;

    for (int i = 0; i < n->n_out; i++) {
        struct nn_tensor *y = O(i);
        size_t chunk = (size_t)(y->dims[axis] * inner) * es;

        for (int64_t r = 0; r < outer; r++)
            memcpy((char *)y->data + (size_t)r * chunk,
                   (const char *)x->data + (size_t)r * rowb + (size_t)off,
                   chunk);
        off += (int64_t)chunk;
    }
    return 0;
}

static int nn_infer_s2d(struct nn_model *m, struct nn_node *n, char *err,
                        size_t errlen)
{
    int64_t shape[NN_MAX_DIMS];
    int rc = nn_need_inputs(m, n, 4, 4, err, errlen), nd;

    if (rc < 0)
        return rc;
    nd = nn_const_ints(m, n, 1, shape, NN_MAX_DIMS, err, errlen);
    if (nd < 0)
        return nd;
    for (int d = 0; d < nd; d++)
        if (shape[d] < 0)
            return ERR(-EINVAL, "output_shape has a negative value");
    if (T(3)->count != 1 || T(3)->dtype != T(2)->dtype)
        return ERR(-EINVAL, "default_value must be a scalar of the values' "
                   "dtype");
    if (T(0)->dtype != NN_DTYPE_INT32)
        return ERR(-EINVAL, "sparse_indices must be int32");
    nn_set_shape(O(0), T(2)->dtype, nd, shape);
    return 0;
}

static int nn_exec_s2d(struct nn_model *m, struct nn_node *n, char *err,
                       size_t errlen)
{
    struct nn_tensor *ix = T(0), *val = T(2), *y = O(0);
    size_t es = nn_dtype_size(y->dtype);
    int nd = y->ndim;
    int64_t nidx = ix->ndim == 0 ? 1 : ix->dims[0];
    int64_t width = ix->ndim > 1 ? ix->dims[1] : 1;
    const int32_t *idx = ix->data;

    for (int64_t i = 0; i < y->count; i++)
        memcpy((char *)y->data + (size_t)i * es, T(3)->data, es);
    if (width != (nd ? nd : 1) && nidx > 0)
        return ERR(-EINVAL, "sparse_indices has %lld columns for a rank-%d "
                   "output", (long long)width, nd);
    if (val->count != 1 && val->count != nidx)
        return ERR(-EINVAL, "sparse_values has %lld values for %lld indices",
                   (long long)val->count, (long long)nidx);
    for (int64_t i = 0; i < nidx; i++) {
        int64_t off = 0;

        for (int d = 0; d < nd; d++) {
            int64_t v = idx[i * width + d];

            if (v < 0 || v >= y->dims[d])
                return ERR(-EINVAL, "index %lld is out of range",
                           (long long)v);
            off = off * y->dims[d] + v;
        }
        memcpy((char *)y->data + (size_t)off * es,
               (const char *)val->data + (val->count == 1 ? 0 : (size_t)i) *
                                             es,
               es);
    }
    return 0;
}

int nn_op_infer(struct nn_model *m, struct nn_node *n, char *err,
                size_t errlen)
{
    switch (n->op) {
    case NN_OP_CONV2D:
    case NN_OP_DEPTHWISE:
        return nn_infer_conv(m, n, err, errlen);
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_FLOORDIV:
    case NN_OP_FLOORMOD:
    case NN_OP_EQUAL:
        return nn_infer_binary(m, n, err, errlen);
    case NN_OP_RELU:
    case NN_OP_RELU6:
    case NN_OP_LEAKYRELU:
    case NN_OP_SIGMOID: {
        int rc = nn_infer_same(m, n, err, errlen, 1, 1);

        if (rc == 0 && T(0)->dtype != NN_DTYPE_FLOAT32)
            return ERR(-ENOTSUP, "input must be float32");
        return rc;
    }
    case NN_OP_IDENTITY:
        return nn_infer_same(m, n, err, errlen, 1, 1);
    case NN_OP_MEAN:
        return nn_infer_mean(m, n, err, errlen);
    case NN_OP_MAXPOOL:
        return nn_infer_maxpool(m, n, err, errlen);
    case NN_OP_RESIZE_BILINEAR:
        return nn_infer_resize(m, n, err, errlen);
    case NN_OP_CONCAT:
        return nn_infer_concat(m, n, err, errlen);
    case NN_OP_RESHAPE:
        return nn_infer_reshape(m, n, err, errlen);
    case NN_OP_EXPAND_DIMS:
        return nn_infer_expand(m, n, err, errlen);
    case NN_OP_CAST:
        return nn_infer_cast(m, n, err, errlen);
    case NN_OP_GATHER:
        return nn_infer_gather(m, n, err, errlen);
    case NN_OP_STRIDED_SLICE:
        return nn_infer_slice(m, n, err, errlen);
    case NN_OP_TOPK:
        return nn_infer_topk(m, n, err, errlen);
    case NN_OP_PAD:
        return nn_infer_pad(m, n, err, errlen);
    case NN_OP_TRANSPOSE:
        return nn_infer_transpose(m, n, err, errlen);
    case NN_OP_SPLITV:
        return nn_infer_splitv(m, n, err, errlen);
    case NN_OP_SPARSE_TO_DENSE:
        return nn_infer_s2d(m, n, err, errlen);
    default:
        return ERR(-ENOTSUP, "op cannot be planned");
    }
}

int nn_op_exec(struct nn_model *m, struct nn_node *n, char *err,
               size_t errlen)
{
    switch (n->op) {
    case NN_OP_CONV2D:
    case NN_OP_DEPTHWISE:
        return nn_exec_conv(m, n, err, errlen);
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_FLOORDIV:
    case NN_OP_FLOORMOD:
    case NN_OP_EQUAL:
        return nn_exec_binary(m, n, err, errlen);
    case NN_OP_RELU:
    case NN_OP_RELU6:
    case NN_OP_LEAKYRELU:
    case NN_OP_SIGMOID:
        return nn_exec_unary(m, n, err, errlen);
    case NN_OP_IDENTITY:
    case NN_OP_RESHAPE:
    case NN_OP_EXPAND_DIMS:
        return nn_exec_copy(m, n, err, errlen);
    case NN_OP_MEAN:
        return nn_exec_mean(m, n, err, errlen);
    case NN_OP_MAXPOOL:
        return nn_exec_maxpool(m, n, err, errlen);
    case NN_OP_RESIZE_BILINEAR:
        return nn_exec_resize(m, n, err, errlen);
    case NN_OP_CONCAT:
        return nn_exec_concat(m, n, err, errlen);
    case NN_OP_CAST:
        return nn_exec_cast(m, n, err, errlen);
    case NN_OP_GATHER:
        return nn_exec_gather(m, n, err, errlen);
    case NN_OP_STRIDED_SLICE:
        return nn_exec_slice(m, n, err, errlen);
    case NN_OP_TOPK:
        return nn_exec_topk(m, n, err, errlen);
    case NN_OP_PAD:
        return nn_exec_pad(m, n, err, errlen);
    case NN_OP_TRANSPOSE:
        return nn_exec_transpose(m, n, err, errlen);
    case NN_OP_SPLITV:
        return nn_exec_splitv(m, n, err, errlen);
    case NN_OP_SPARSE_TO_DENSE:
        return nn_exec_s2d(m, n, err, errlen);
    default:
        return ERR(-ENOTSUP, "op cannot be executed");
    }
}
