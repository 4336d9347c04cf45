/* Internal structures of the neural-network runtime; not a public API. */
#ifndef VMS_NN_INTERNAL_H
#define VMS_NN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"
#include "nn/nn_pool.h"

/*
 * AVX2 clone of a portable loop, chosen when the program starts on CPUs
 * that have AVX2: the compiler vectorises it 8 floats wide in place of 4
 * (SSE2 is the x86-64 baseline).  Without FMA, so results are the same
 * as the default clone's.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NN_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#else
#define NN_AVX2_CLONE
#endif

enum nn_op {
    NN_OP_UNKNOWN = 0,
    NN_OP_PLACEHOLDER,
    NN_OP_CONST,
    NN_OP_CONV2D,               /* Conv2D and _FusedConv2D */
    NN_OP_DEPTHWISE,            /* DepthwiseConv2dNative and fused form */
    NN_OP_ADD,                  /* Add, AddV2, BiasAdd */
    NN_OP_SUB,
    NN_OP_MUL,
    NN_OP_FLOORDIV,
    NN_OP_FLOORMOD,
    NN_OP_EQUAL,
    NN_OP_RELU,
    NN_OP_RELU6,
    NN_OP_LEAKYRELU,
    NN_OP_SIGMOID,
    NN_OP_HARDSWISH,            /* produced by fusion only */
    NN_OP_MEAN,
    NN_OP_MAXPOOL,
    NN_OP_RESIZE_BILINEAR,
    NN_OP_CONCAT,
    NN_OP_RESHAPE,
    NN_OP_EXPAND_DIMS,
    NN_OP_CAST,
    NN_OP_GATHER,
    NN_OP_STRIDED_SLICE,
    NN_OP_TOPK,
    NN_OP_IDENTITY,
    NN_OP_PAD,                  /* Pad and PadV2 */
    NN_OP_TRANSPOSE,
    NN_OP_SPLITV,
    NN_OP_SPARSE_TO_DENSE,
};

enum nn_act {
    NN_ACT_NONE = 0,
    NN_ACT_RELU,
    NN_ACT_RELU6,
    NN_ACT_LEAKY,
    NN_ACT_SIGMOID,
    NN_ACT_HARDSWISH,           /* (x * alpha) * relu6(x + 3), alpha ~ 1/6 */
};

enum nn_padding { NN_PAD_VALID = 0, NN_PAD_SAME, NN_PAD_EXPLICIT };

struct nn_tensor {
    char *name;
    enum nn_dtype dtype;
    int ndim;
    int64_t dims[NN_MAX_DIMS];
    int64_t count;
    void *data;
    bool shaped;                /* shape inference has run */
    bool is_const;              /* data is a heap buffer owned here */
    bool is_io;                 /* graph input or output */
    int producer;               /* node index, -1 for none */
    int first_step, last_step;  /* liveness over the execution order */
    size_t arena_off;
};

/* Attributes that ops read, parsed once at load time. */
struct nn_attrs {
    int strides[4], dilations[4], ksize[4];
    enum nn_padding padding;
    int explicit_pad[8];
    bool nchw;
    bool has_bias;              /* fused BiasAdd */
    enum nn_act act;
    float alpha;                /* LeakyRelu slope, hard-swish scale */
    bool align_corners, half_pixel_centers;
    bool keep_dims;
    /* MaxPool with stride 1 fused with x * Cast(Equal(x, pool)). */
    bool keep_max;
    int begin_mask, end_mask, shrink_mask, new_axis_mask, ellipsis_mask;
    int batch_dims;
    enum nn_dtype dst_type;     /* Cast target, Placeholder dtype */
    int num_split;
    int shape_ndim;             /* Placeholder shape, -1 when absent */
    int64_t shape[NN_MAX_DIMS];
};

struct nn_node {
    char *name;
    char *op_name;
    enum nn_op op;
    int n_in;
    int *in;                    /* tensor indices */
    int n_out;
    int *out;
    struct nn_attrs a;
    int bias;                   /* fused bias tensor or -1 */
    int residual;               /* fused residual add tensor or -1 */
    int scale;                  /* per-input-channel scale of x, or -1 */
    float *scaled_filter;       /* filter times scale, refreshed per run */
    float *wino_filter;         /* Winograd-transformed filter, or NULL */
    /*
     * Depthwise node computed block by block inside this 1x1 convolution,
     * whose input tensor is then never stored (-1 for none).
     */
    int dw_node;
    /*
     * For a depthwise node fused into a 1x1 convolution: the 1x1
     * convolution that computes its input inside that kernel, or -1.
     */
    int expand_node;
    bool folded;                /* evaluated at plan time */
    bool dead;                  /* removed by fusion */
    double flops;
    double time_ms;             /* accumulated when profiling */
    size_t scratch;             /* bytes of scratch memory needed */
};

struct nn_model {
    char *name;
    struct nn_options opt;
    struct nn_tensor *tensors;
    int n_tensors, cap_tensors;
    struct nn_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs, n_inputs;      /* tensor indices */
    int *outputs, n_outputs;
    int *order, n_order;        /* node indices executed per run */
    void *arena;
    size_t arena_size;
    void *scratch;              /* im2col scratch, one slice per thread */
    size_t scratch_per_thread;  /* bytes of one slice */
    struct nn_pool *pool;
    int threads;
    bool simd;                  /* AVX2 and FMA usable */
    bool avx512;                /* AVX-512F usable too */
    bool profiling;
    double flops;
};

/* Write "model M: node 'N' (op O): <fmt>" into err. Returns rc. */
int nn_node_error(const struct nn_model *m, const struct nn_node *n,
                  char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

size_t nn_dtype_size(enum nn_dtype t);
/* Append a tensor; returns its index or -ENOMEM.  Invalidates pointers. */
int nn_add_tensor(struct nn_model *m, const char *name, int producer);
const char *nn_shape_str(const struct nn_tensor *t, char *buf, size_t len);

/* Ops (nn_ops.c): shape inference and execution of one node. */
int nn_op_infer(struct nn_model *m, struct nn_node *n, char *err,
                size_t errlen);
int nn_op_exec(struct nn_model *m, struct nn_node *n, char *err,
               size_t errlen);

/* Planning (nn_plan.c). */
int nn_plan(struct nn_model *m, char *err, size_t errlen);
/* (Re)allocate the per-thread scratch for m->threads threads. */
int nn_plan_scratch(struct nn_model *m);

/*
 * Blocks per pool thread that the convolutions aim for on feature maps
 * small enough to need fewer than that: with several blocks each, a
 * thread that another process delays loses its unclaimed blocks to the
 * others (see nn_pool_run).  Blocks stay at NN_MIN_BLOCK_PIXELS output
 * pixels or more (Winograd: a quarter as many 2x2 tiles), where sgemm is
 * still efficient.  On centernet, 4 blocks per thread in place of 1 left
 * the sum of per-node minimum times on 2 threads unchanged (20.2 and
 * 20.1 ms).
 */
#define NN_BLOCKS_PER_THREAD 4
#define NN_MIN_BLOCK_PIXELS 32

/* Kernels (nn_conv.c). */
struct nn_conv_args {
    const float *in;            /* NHWC */
    int in_row0;                /* image row at in (depthwise only), or 0 */
    int n, h, w, c;
    const float *filter;        /* HWIO, or HWCM for depthwise */
    int kh, kw, oc;             /* oc = output channels */
    int sh, sw, dh, dw;
    int pad_top, pad_left;
    float *out;
    int oh, ow;
    const float *bias;          /* [oc] or NULL */
    const float *residual;      /* same shape as out, or NULL */
    enum nn_act act;
    float alpha;
    bool simd;                  /* AVX2/FMA kernels allowed */
    bool avx512;                /* AVX-512 depthwise kernels allowed */
    float *scratch;             /* nn_conv2d_scratch() bytes per thread */
};

/* Fill a from convolution node n (not in, out, bias, residual, scratch). */
int nn_conv_args_fill(struct nn_model *m, struct nn_node *n,
                      struct nn_conv_args *a, char *err, size_t errlen);
void nn_conv2d(struct nn_model *m, const struct nn_conv_args *a);
void nn_depthwise(struct nn_model *m, const struct nn_conv_args *a);
size_t nn_conv2d_scratch(const struct nn_conv_args *a);
/*
 * Depthwise convolution dw followed by the 1x1 stride-1 convolution pw,
 * in blocks of output rows: each block of the depthwise output stays in
 * per-thread scratch (nn_conv2d_dw_scratch() bytes per thread, given as
 * pw->scratch) and goes straight into sgemm.  dw->out and pw->in are not
 * used.  ex, if not NULL, is a 1x1 stride-1 convolution that computes the
 * depthwise input (dw->in is then not used) a window of rows at a time in
 * the same scratch.
 */
bool nn_conv2d_dw_ok(const struct nn_model *m, const struct nn_conv_args *dw,
                     const struct nn_conv_args *pw);
bool nn_conv2d_expand_ok(const struct nn_conv_args *ex,
                         const struct nn_conv_args *dw);
void nn_conv2d_dw(struct nn_model *m, const struct nn_conv_args *ex,
                  const struct nn_conv_args *dw,
                  const struct nn_conv_args *pw);
size_t nn_conv2d_dw_scratch(const struct nn_conv_args *dw, bool expand);
void nn_apply_act(float *x, size_t count, int channels, const float *bias,
                  const float *residual, enum nn_act act, float alpha,
                  bool simd);
bool nn_cpu_has_avx2(void);
bool nn_cpu_has_avx512(void);
/* Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (nn_winograd.c). */
bool nn_winograd_ok(const struct nn_conv_args *a);
float *nn_winograd_filter(const struct nn_conv_args *a);
size_t nn_winograd_scratch(const struct nn_conv_args *a);
void nn_winograd(struct nn_model *m, const struct nn_conv_args *a,
                 const float *u);
/* Direct AVX2 convolution for inputs of at most 4 channels. */
bool nn_conv_small_ok(const struct nn_model *m, const struct nn_conv_args *a);
void nn_conv_small(struct nn_model *m, const struct nn_conv_args *a);

#endif
