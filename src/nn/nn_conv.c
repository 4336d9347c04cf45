/*
 * Convolution kernels: dense convolution as im2col (or the input itself
 * for 1x1 stride-1 convolutions) times the filter with OpenBLAS sgemm, and
 * hand-vectorised depthwise convolution with a portable C path and an
 * AVX2/FMA path chosen at run time.
 */
#include "nn/nn_internal.h"

#include <cblas.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NN_HAVE_X86 1
#endif


bool nn_cpu_has_avx512(void)
{
#ifdef NN_HAVE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && nn_cpu_has_avx2();
#else
    return false;
#endif
}

bool nn_cpu_has_avx2(void)
{
#ifdef NN_HAVE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

static inline float nn_act1(float v, enum nn_act act, float alpha)
{
    switch (act) {
    case NN_ACT_RELU:
        return v > 0 ? v : 0;
    case NN_ACT_RELU6:
        return v < 0 ? 0 : v > 6 ? 6 : v;
    case NN_ACT_LEAKY:
        return v < 0 ? v * alpha : v;
    case NN_ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-v));
    case NN_ACT_HARDSWISH: {
        float r = v + 3.0f;

        r = r < 0 ? 0 : r > 6 ? 6 : r;
        return (v * alpha) * r;
    }
    case NN_ACT_NONE:
        break;
    }
    return v;
}

/*
 * Add bias (per channel) and residual, then apply act, over count values
 * laid out as rows of channels.  One loop per activation keeps each loop
 * simple enough for the compiler to vectorise.
 */
#ifdef NN_HAVE_X86
static void nn_sigmoid_avx2(float *x, int n);
static void nn_apply_act_avx2(float *x, size_t rows, int channels,
                              const float *bias, const float *residual,
                              enum nn_act act, float alpha);
#endif

void nn_apply_act(float *x, size_t count, int channels, const float *bias,
                  const float *residual, enum nn_act act, float alpha,
                  bool simd)
{
    size_t rows = count / (size_t)channels;

#ifdef NN_HAVE_X86
    if (simd) {
        nn_apply_act_avx2(x, rows, channels, bias, residual, act, alpha);
        return;
    }
#endif
    for (size_t r = 0; r < rows; r++) {
        float *restrict row = x + r * (size_t)channels;
        const float *restrict res =
            residual ? residual + r * (size_t)channels : NULL;
        int n = channels;

        if (bias)
            for (int c = 0; c < n; c++)
                row[c] += bias[c];
        if (res)
            for (int c = 0; c < n; c++)
                row[c] += res[c];
        switch (act) {
        case NN_ACT_NONE:
            break;
        case NN_ACT_RELU:
            for (int c = 0; c < n; c++)
                row[c] = row[c] > 0 ? row[c] : 0;
            break;
        case NN_ACT_RELU6:
            for (int c = 0; c < n; c++)
                row[c] = row[c] < 0 ? 0 : row[c] > 6 ? 6 : row[c];
            break;
        case NN_ACT_LEAKY:
            for (int c = 0; c < n; c++)
                row[c] = row[c] < 0 ? row[c] * alpha : row[c];
            break;
        case NN_ACT_HARDSWISH:
            for (int c = 0; c < n; c++) {
                float v = row[c], r6 = v + 3.0f;

                r6 = r6 < 0 ? 0 : r6 > 6 ? 6 : r6;
                row[c] = (v * alpha) * r6;
            }
            break;
        case NN_ACT_SIGMOID:
#ifdef NN_HAVE_X86
            if (simd) {
                nn_sigmoid_avx2(row, n);
                break;
            }
#endif
            for (int c = 0; c < n; c++)
                row[c] = 1.0f / (1.0f + expf(-row[c]));
            break;
        }
    }
}

/* Output rows (pixels) per GEMM block: im2col block of at most 512 KiB. */
static size_t nn_conv_block_rows(size_t k, size_t pixels)
{
    size_t rows = (512u << 10) / (k * sizeof(float));

    if (rows < 32)
        rows = 32;
    if (rows > 512)
        rows = 512;
    rows = rows / 16 * 16;
    return rows < pixels ? rows : pixels;
}

/*
 * Shrink rows per block (a multiple of align) so that the block count of
 * total rows is a multiple of threads where possible.  With 2 threads, 5
 * blocks keep one thread idle for a fifth of the time, and 6 smaller ones
 * do not.  Never returns more than rows.
 */
static size_t nn_balance_rows(size_t total, size_t rows, size_t threads,
                              size_t align)
{
    size_t blocks = (total + rows - 1) / rows, balanced;

    if (threads <= 1 || blocks % threads == 0)
        return rows;
    blocks = (blocks + threads - 1) / threads * threads;
    balanced = (total + blocks - 1) / blocks;
    balanced = (balanced + align - 1) / align * align;
    return balanced < rows ? balanced : rows;
}

static bool nn_conv_is_direct(const struct nn_conv_args *a)
{
    return a->kh == 1 && a->kw == 1 && a->sh == 1 && a->sw == 1 &&
           a->pad_top == 0 && a->pad_left == 0 && a->oh == a->h &&
           a->ow == a->w;
}

/* Scratch bytes one thread needs for im2col blocks. */
size_t nn_conv2d_scratch(const struct nn_conv_args *a)
{
    size_t k = (size_t)a->kh * a->kw * a->c;

    if (nn_conv_is_direct(a))
        return 0;
    return nn_conv_block_rows(k, (size_t)a->oh * a->ow) * k * sizeof(float);
}

/* Fill im2col rows for output pixels [p0, p0 + rows): one row per pixel. */
static void nn_im2col(const struct nn_conv_args *a, const float *in,
                      float *col, size_t p0, size_t rows)
{
    size_t cb = (size_t)a->c * sizeof(float);

    for (size_t r = 0; r < rows; r++) {
        size_t p = p0 + r;
        int oy = (int)(p / (size_t)a->ow), ox = (int)(p % (size_t)a->ow);
        float *dst = col + r * (size_t)a->kh * a->kw * a->c;

        for (int ky = 0; ky < a->kh; ky++) {
            int iy = oy * a->sh - a->pad_top + ky * a->dh;

            for (int kx = 0; kx < a->kw; kx++) {
                int ix = ox * a->sw - a->pad_left + kx * a->dw;

                if (iy < 0 || iy >= a->h || ix < 0 || ix >= a->w)
                    memset(dst, 0, cb);
                else
                    memcpy(dst, in + ((size_t)iy * a->w + ix) * a->c, cb);
                dst += a->c;
            }
        }
    }
}

/*
 * out = act(A * filter + bias + residual) for rows output pixels with k
 * inputs each; residual points at the block's rows or is NULL.  Without
 * an activation, out starts as bias + residual and sgemm adds to it
 * (beta 1), which replaces both the zeroing pass that OpenBLAS makes for
 * beta 0 and the epilogue pass.
 */
static void nn_gemm_epilogue(const struct nn_conv_args *a, int rows, int k,
                             const float *A, float *out,
                             const float *residual)
{
    size_t n = (size_t)rows * a->oc;
    float beta = 0.0f;

    if (a->act == NN_ACT_NONE && (a->bias || residual)) {
        for (int r = 0; r < rows; r++) {
            float *restrict o = out + (size_t)r * a->oc;
            const float *restrict res = residual ? residual +
                                                       (size_t)r * a->oc
                                                 : NULL;

            if (a->bias && res)
                for (int c = 0; c < a->oc; c++)
                    o[c] = a->bias[c] + res[c];
            else if (a->bias)
                memcpy(o, a->bias, (size_t)a->oc * sizeof(float));
            else
                memcpy(o, res, (size_t)a->oc * sizeof(float));
        }
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, a->oc, k,
                1.0f, A, k, a->filter, a->oc, beta, out, a->oc);
    if (beta == 0.0f && (a->bias || residual || a->act != NN_ACT_NONE))
        nn_apply_act(out, n, a->oc, a->bias, residual, a->act, a->alpha,
                     a->simd);
}

struct nn_conv_ctx {
    const struct nn_conv_args *a;
    size_t rows_per_block, blocks_per_image, scratch_stride;
    size_t pixels;
    struct nn_model *m;
};

/*
 * Blocks [begin, end) of output rows over all images: im2col (unless the
 * convolution is 1x1), a single-threaded sgemm and the epilogue while the
 * block is still in cache.  Each pool thread uses its own scratch slice.
 */
static void nn_conv_blocks(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_conv_ctx *c = ctx;
    const struct nn_conv_args *a = c->a;
    size_t k = (size_t)a->kh * a->kw * a->c;
    size_t in_img = (size_t)a->h * a->w * a->c;
    size_t out_img = c->pixels * (size_t)a->oc;
    bool direct = nn_conv_is_direct(a);
    /* Direct convolutions have no scratch; offsetting NULL is undefined
     * even by zero. */
    float *col = a->scratch ? a->scratch + (size_t)thread * c->scratch_stride
                            : NULL;

    for (size_t blk = begin; blk < end; blk++) {
        size_t img = blk / c->blocks_per_image;
        size_t p0 = (blk % c->blocks_per_image) * c->rows_per_block;
        size_t rows = c->pixels - p0 < c->rows_per_block ? c->pixels - p0
                                                         : c->rows_per_block;
        const float *in = a->in + img * in_img;
        float *out = a->out + img * out_img + p0 * (size_t)a->oc;
        const float *A;

        if (direct) {
            A = in + p0 * k;
        } else {
            nn_im2col(a, in, col, p0, rows);
            A = col;
        }
        nn_gemm_epilogue(a, (int)rows, (int)k, A, out,
                         a->residual ? a->residual + img * out_img +
                                           p0 * (size_t)a->oc
                                     : NULL);
    }
}

/*
 * Dense NHWC convolution with an HWIO filter.  Output rows are split into
 * blocks that the thread pool shares; a->scratch holds one
 * nn_conv2d_scratch() slice per pool thread.
 */
void nn_conv2d(struct nn_model *m, const struct nn_conv_args *a)
{
    size_t k = (size_t)a->kh * a->kw * a->c;
    struct nn_conv_ctx c = {a, 0, 0, 0, (size_t)a->oh * a->ow, m};

#ifdef NN_HAVE_X86
    if (nn_conv_small_ok(m, a)) {
        nn_conv_small(m, a);
        return;
    }
#endif

    c.rows_per_block = nn_conv_block_rows(k, c.pixels);
    if (c.rows_per_block == 0)
        return;
    /* Small feature maps: see NN_BLOCKS_PER_THREAD. */
    size_t threads = (size_t)nn_pool_threads(m->pool);
    size_t parts = threads > 1 ? threads * NN_BLOCKS_PER_THREAD : 1;
    size_t share = (c.pixels * (size_t)a->n + parts - 1) / parts;

    share = (share + 15) / 16 * 16;
    if (parts > 1 && share < NN_MIN_BLOCK_PIXELS)
        share = NN_MIN_BLOCK_PIXELS;
    if (a->n == 1 && share < c.rows_per_block)
        c.rows_per_block = share;
    c.rows_per_block = nn_balance_rows(c.pixels, c.rows_per_block,
                                       a->n == 1 ? threads : 1, 16);
    c.blocks_per_image = (c.pixels + c.rows_per_block - 1) /
                         c.rows_per_block;
    c.scratch_stride = nn_conv2d_scratch(a) / sizeof(float);
    nn_pool_run(m->pool, c.blocks_per_image * (size_t)a->n, nn_conv_blocks,
                &c);
}

struct nn_dw_ctx {
    const struct nn_conv_args *a;
    int batch;
};

/*
 * One output row oy of a portable depthwise convolution, any channel
 * multiplier: in is the image, orow the output row and rrow the residual
 * row (or NULL).
 */
static void nn_dw_row_c(const struct nn_conv_args *a, const float *in,
                        float *orow, const float *rrow, int oy)
{
    int mult = a->oc / a->c;

    for (int ox = 0; ox < a->ow; ox++) {
        float *o = orow + (size_t)ox * a->oc;

        memset(o, 0, (size_t)a->oc * sizeof(float));
        for (int ky = 0; ky < a->kh; ky++) {
            int iy = oy * a->sh - a->pad_top + ky * a->dh;

            if (iy < 0 || iy >= a->h)
                continue;
            for (int kx = 0; kx < a->kw; kx++) {
                int ix = ox * a->sw - a->pad_left + kx * a->dw;

                if (ix < 0 || ix >= a->w)
                    continue;
                const float *ip = in + ((size_t)(iy - a->in_row0) * a->w +
                                        ix) * a->c;
                const float *wp = a->filter +
                                  ((size_t)ky * a->kw + kx) * a->oc;

                if (mult == 1) {
                    for (int c = 0; c < a->c; c++)
                        o[c] += ip[c] * wp[c];
                } else {
                    for (int c = 0; c < a->c; c++)
                        for (int q = 0; q < mult; q++)
                            o[c * mult + q] += ip[c] * wp[c * mult + q];
                }
            }
        }
        nn_apply_act(o, (size_t)a->oc, a->oc, a->bias,
                     rrow ? rrow + (size_t)ox * a->oc : NULL, a->act,
                     a->alpha, false);
    }
}

/* Portable depthwise rows [begin, end) of one image. */
static void nn_dw_rows_c(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_dw_ctx *d = ctx;
    const struct nn_conv_args *a = d->a;
    const float *in = a->in + (size_t)d->batch * a->h * a->w * a->c;
    size_t row = (size_t)a->ow * a->oc;
    size_t img = (size_t)d->batch * a->oh * row;

    for (size_t oy = begin; oy < end; oy++)
        nn_dw_row_c(a, in, a->out + img + oy * row,
                    a->residual ? a->residual + img + oy * row : NULL,
                    (int)oy);
}

#ifdef NN_HAVE_X86

/*
 * e^x for 8 floats: x = n ln2 + r with |r| <= ln2/2, e^r by the degree-6
 * minimax polynomial of the Cephes expf, then scaled by 2^n through the
 * exponent bits.  Error about 1 ulp; inputs are clamped to +-88.
 */
__attribute__((target("avx2,fma")))
static inline __m256 nn_exp8(__m256 x)
{
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f);
    const __m256 ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    __m256 n, r, p;
    __m256i e;

    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-88.0f)),
                      _mm256_set1_ps(88.0f));
    n = _mm256_round_ps(_mm256_mul_ps(x, log2e),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_fnmadd_ps(n, ln2_hi, x);
    r = _mm256_fnmadd_ps(n, ln2_lo, r);
    p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    return _mm256_castsi256_ps(
        _mm256_add_epi32(_mm256_castps_si256(p), e));
}

__attribute__((target("avx2,fma")))
static void nn_sigmoid_avx2(float *x, int n)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    int c = 0;

    for (; c + 8 <= n; c += 8) {
        __m256 v = _mm256_loadu_ps(x + c);
        __m256 e = nn_exp8(_mm256_sub_ps(_mm256_setzero_ps(), v));

        _mm256_storeu_ps(x + c, _mm256_div_ps(one, _mm256_add_ps(one, e)));
    }
    for (; c < n; c++)
        x[c] = 1.0f / (1.0f + expf(-x[c]));
}

__attribute__((target("avx2,fma")))
static inline __m256 nn_act8(__m256 v, enum nn_act act, __m256 alpha)
{
    const __m256 zero = _mm256_setzero_ps();
    const __m256 six = _mm256_set1_ps(6.0f);

    switch (act) {
    case NN_ACT_RELU:
        return _mm256_max_ps(v, zero);
    case NN_ACT_RELU6:
        return _mm256_min_ps(_mm256_max_ps(v, zero), six);
    case NN_ACT_LEAKY: {
        __m256 neg = _mm256_cmp_ps(v, zero, _CMP_LT_OQ);

        return _mm256_blendv_ps(v, _mm256_mul_ps(v, alpha), neg);
    }
    case NN_ACT_HARDSWISH: {
        __m256 r = _mm256_add_ps(v, _mm256_set1_ps(3.0f));

        r = _mm256_min_ps(_mm256_max_ps(r, zero), six);
        return _mm256_mul_ps(_mm256_mul_ps(v, alpha), r);
    }
    default:
        return v;
    }
}

/* Vector form of nn_apply_act. */
__attribute__((target("avx2,fma")))
static void nn_apply_act_avx2(float *x, size_t rows, int channels,
                              const float *bias, const float *residual,
                              enum nn_act act, float alpha)
{
    const __m256 va = _mm256_set1_ps(alpha);

    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * (size_t)channels;
        const float *res = residual ? residual + r * (size_t)channels : NULL;
        int c = 0;

        for (; c + 8 <= channels; c += 8) {
            __m256 v = _mm256_loadu_ps(row + c);

            if (bias)
                v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            if (res)
                v = _mm256_add_ps(v, _mm256_loadu_ps(res + c));
            _mm256_storeu_ps(row + c, nn_act8(v, act, va));
        }
        for (; c < channels; c++) {
            float v = row[c];

            if (bias)
                v += bias[c];
            if (res)
                v += res[c];
            row[c] = act == NN_ACT_SIGMOID ? v : nn_act1(v, act, alpha);
        }
        if (act == NN_ACT_SIGMOID)
            nn_sigmoid_avx2(row, channels);
    }
}

/*
 * Finish 8 channels of a depthwise or small convolution output: residual
 * (res, may be NULL), activation and store.  Sigmoid is left to the
 * caller, which applies it to whole pixels.
 */
__attribute__((target("avx2,fma")))
static inline void nn_dw_store8(float *o, const float *res, __m256 acc,
                                enum nn_act act, __m256 alpha)
{
    if (res)
        acc = _mm256_add_ps(acc, _mm256_loadu_ps(res));
    if (act != NN_ACT_SIGMOID)
        acc = nn_act8(acc, act, alpha);
    _mm256_storeu_ps(o, acc);
}

/* nn_dw_store8 for the first lanes of mask only. */
__attribute__((target("avx2,fma")))
static inline void nn_dw_store8_mask(float *o, const float *res, __m256 acc,
                                     enum nn_act act, __m256 alpha,
                                     __m256i mask)
{
    if (res)
        acc = _mm256_add_ps(acc, _mm256_maskload_ps(res, mask));
    if (act != NN_ACT_SIGMOID)
        acc = nn_act8(acc, act, alpha);
    _mm256_maskstore_ps(o, mask, acc);
}

/* Lane mask selecting the first n (0..8) of 8 lanes. */
__attribute__((target("avx2,fma")))
static inline __m256i nn_lane_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/*
 * One depthwise output pixel at column ox, any position (taps clipped to
 * the input).  Channels past the last multiple of 8 use masked loads.
 */
__attribute__((target("avx2,fma")))
static void nn_dw_pixel_avx2(const struct nn_conv_args *a, const float *in,
                             float *orow, const float *rrow, int oy, int ox,
                             __m256 alpha)
{
    const int C = a->c;
    int iy0 = oy * a->sh - a->pad_top, ix0 = ox * a->sw - a->pad_left;
    int ky0 = 0, ky1 = a->kh, kx0 = 0, kx1 = a->kw;
    float *o = orow + (size_t)ox * C;
    const float *r = rrow ? rrow + (size_t)ox * C : NULL;

    while (ky0 < ky1 && iy0 + ky0 * a->dh < 0)
        ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * a->dh >= a->h)
        ky1--;
    while (kx0 < kx1 && ix0 + kx0 * a->dw < 0)
        kx0++;
    while (kx1 > kx0 && ix0 + (kx1 - 1) * a->dw >= a->w)
        kx1--;
    for (int c = 0; c < C; c += 8) {
        __m256i mask = nn_lane_mask(C - c);
        bool full = c + 8 <= C;
        __m256 acc = !a->bias ? _mm256_setzero_ps()
                     : full   ? _mm256_loadu_ps(a->bias + c)
                              : _mm256_maskload_ps(a->bias + c, mask);

        /* A sum per filter row keeps the FMA chains short. */
        for (int ky = ky0; ky < ky1; ky++) {
            const float *irow = in + (size_t)(iy0 + ky * a->dh - a->in_row0) *
                                         a->w * C + c;
            const float *wrow = a->filter + (size_t)ky * a->kw * C + c;
            __m256 sum = _mm256_setzero_ps();

            for (int kx = kx0; kx < kx1; kx++) {
                const float *ip = irow + (size_t)(ix0 + kx * a->dw) * C;
                const float *wp = wrow + (size_t)kx * C;

                if (full)
                    sum = _mm256_fmadd_ps(_mm256_loadu_ps(ip),
                                          _mm256_loadu_ps(wp), sum);
                else
                    sum = _mm256_fmadd_ps(_mm256_maskload_ps(ip, mask),
                                          _mm256_maskload_ps(wp, mask), sum);
            }
            acc = _mm256_add_ps(acc, sum);
        }
        if (full)
            nn_dw_store8(o + c, r ? r + c : NULL, acc, a->act, alpha);
        else
            nn_dw_store8_mask(o + c, r ? r + c : NULL, acc, a->act, alpha,
                              mask);
    }
    if (a->act == NN_ACT_SIGMOID)
        nn_sigmoid_avx2(o, C);
}

/* Load 8 channels, all or the lanes of mask. */
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 nn_dw_load(const float *p, bool full, __m256i mask)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

/*
 * Eight channels from c of four horizontally adjacent output pixels from
 * column ox, whose taps are all inside the input in x.  With KW, SW and DW
 * constant (KW > 0) each input vector of a filter row is loaded once and
 * used by every pixel whose window covers it; KW == 0 is the generic form,
 * which loads each filter vector once for the four pixels.  FULL selects
 * plain loads; otherwise only the lanes of mask are read and written.
 * irow0 points at filter row ky0 of the first pixel's window.
 */
__attribute__((target("avx2,fma"), always_inline))
static inline void nn_dw_quad8(const struct nn_conv_args *a,
                               const float *irow0, float *o, const float *r,
                               int c, int ky0, int ky1, __m256 alpha,
                               const int KW, const int SW, const int DW,
                               const bool FULL, __m256i mask)
{
    const size_t C = (size_t)a->c, row = (size_t)a->w * C * a->dh;
    const int kw = KW ? KW : a->kw;
    const size_t step = (size_t)(KW ? SW : a->sw) * C;
    const size_t dstep = (size_t)(KW ? DW : a->dw) * C;
    __m256 b = !a->bias ? _mm256_setzero_ps()
                        : nn_dw_load(a->bias + c, FULL, mask);
    __m256 acc0 = b, acc1 = b, acc2 = b, acc3 = b;
    const float *irow = irow0 + c;
    const float *wrow = a->filter + (size_t)ky0 * a->kw * C + c;

    for (int ky = ky0; ky < ky1; ky++, irow += row, wrow += a->kw * C) {
        if (KW) {
            /* Input column j serves pixel q at tap kx when
             * j == q * SW + kx * DW. */
            __m256 x[3 * 2 + 4 * 2 + 1];
            const int nx = 3 * SW + (KW - 1) * DW + 1;

            for (int j = 0; j < nx; j++)
                x[j] = nn_dw_load(irow + (size_t)j * C, FULL, mask);
            for (int kx = 0; kx < KW; kx++) {
                __m256 w = nn_dw_load(wrow + (size_t)kx * C, FULL, mask);

                acc0 = _mm256_fmadd_ps(x[kx * DW], w, acc0);
                acc1 = _mm256_fmadd_ps(x[SW + kx * DW], w, acc1);
                acc2 = _mm256_fmadd_ps(x[2 * SW + kx * DW], w, acc2);
                acc3 = _mm256_fmadd_ps(x[3 * SW + kx * DW], w, acc3);
            }
            continue;
        }
        for (int kx = 0; kx < kw; kx++) {
            const float *ip = irow + (size_t)kx * dstep;
            __m256 w = nn_dw_load(wrow + (size_t)kx * C, FULL, mask);

            acc0 = _mm256_fmadd_ps(nn_dw_load(ip, FULL, mask), w, acc0);
            acc1 = _mm256_fmadd_ps(nn_dw_load(ip + step, FULL, mask), w,
                                   acc1);
            acc2 = _mm256_fmadd_ps(nn_dw_load(ip + 2 * step, FULL, mask), w,
                                   acc2);
            acc3 = _mm256_fmadd_ps(nn_dw_load(ip + 3 * step, FULL, mask), w,
                                   acc3);
        }
    }
    __m256 acc[4] = {acc0, acc1, acc2, acc3};

    for (int q = 0; q < 4; q++) {
        float *oq = o + (size_t)q * C + c;
        const float *rq = r ? r + (size_t)q * C + c : NULL;

        if (FULL)
            nn_dw_store8(oq, rq, acc[q], a->act, alpha);
        else
            nn_dw_store8_mask(oq, rq, acc[q], a->act, alpha, mask);
    }
}

/* Four adjacent output pixels from column ox: nn_dw_quad8 over channels. */
__attribute__((target("avx2,fma"), always_inline))
static inline void nn_dw_quad_k(const struct nn_conv_args *a,
                                const float *in, float *orow,
                                const float *rrow, int oy, int ox, int ky0,
                                int ky1, __m256 alpha, const int KW,
                                const int SW, const int DW)
{
    const int C = a->c, C8 = C & ~7;
    int iy0 = oy * a->sh - a->pad_top, ix0 = ox * a->sw - a->pad_left;
    /* Start at filter row ky0, so that no row index is negative. */
    const float *irow0 = ky0 >= ky1 ? in
                         : in + ((size_t)(iy0 + ky0 * a->dh - a->in_row0) *
                                     a->w + (size_t)ix0) * C;
    float *o = orow + (size_t)ox * C;
    const float *r = rrow ? rrow + (size_t)ox * C : NULL;
    const __m256i all = _mm256_set1_epi32(-1);

    for (int c = 0; c < C8; c += 8)
        nn_dw_quad8(a, irow0, o, r, c, ky0, ky1, alpha, KW, SW, DW, true,
                    all);
    if (C8 < C)
        nn_dw_quad8(a, irow0, o, r, C8, ky0, ky1, alpha, KW, SW, DW, false,
                    nn_lane_mask(C - C8));
    if (a->act == NN_ACT_SIGMOID)
        nn_sigmoid_avx2(o, 4 * C);
}

__attribute__((target("avx2,fma")))
static void nn_dw_quad_3x1(const struct nn_conv_args *a, const float *in,
                           float *orow, const float *rrow, int oy, int ox,
                           int ky0, int ky1, __m256 alpha)
{
    nn_dw_quad_k(a, in, orow, rrow, oy, ox, ky0, ky1, alpha, 3, 1, 1);
}

__attribute__((target("avx2,fma")))
static void nn_dw_quad_5x1(const struct nn_conv_args *a, const float *in,
                           float *orow, const float *rrow, int oy, int ox,
                           int ky0, int ky1, __m256 alpha)
{
    nn_dw_quad_k(a, in, orow, rrow, oy, ox, ky0, ky1, alpha, 5, 1, 1);
}

__attribute__((target("avx2,fma")))
static void nn_dw_quad_3x2(const struct nn_conv_args *a, const float *in,
                           float *orow, const float *rrow, int oy, int ox,
                           int ky0, int ky1, __m256 alpha)
{
    nn_dw_quad_k(a, in, orow, rrow, oy, ox, ky0, ky1, alpha, 3, 2, 1);
}

__attribute__((target("avx2,fma")))
static void nn_dw_quad_5x2(const struct nn_conv_args *a, const float *in,
                           float *orow, const float *rrow, int oy, int ox,
                           int ky0, int ky1, __m256 alpha)
{
    nn_dw_quad_k(a, in, orow, rrow, oy, ox, ky0, ky1, alpha, 5, 2, 1);
}

__attribute__((target("avx2,fma")))
static void nn_dw_quad_any(const struct nn_conv_args *a, const float *in,
                           float *orow, const float *rrow, int oy, int ox,
                           int ky0, int ky1, __m256 alpha)
{
    nn_dw_quad_k(a, in, orow, rrow, oy, ox, ky0, ky1, alpha, 0, 0, 0);
}

/*
 * One output row oy of an AVX2/FMA depthwise convolution with channel
 * multiplier 1: in is the image, orow the output row and rrow the
 * residual row (or NULL).
 */
__attribute__((target("avx2,fma")))
static void nn_dw_row_avx2(const struct nn_conv_args *a, const float *in,
                           float *orow, const float *rrow, int oy)
{
    const __m256 alpha = _mm256_set1_ps(a->alpha);
    /* Output columns whose taps all fall inside the input in x. */
    int ox_lo = (a->pad_left + a->sw - 1) / a->sw;
    int last = a->w - 1 - (a->kw - 1) * a->dw + a->pad_left;
    int ox_hi = last < 0 ? 0 : last / a->sw + 1;
    int iy0 = oy * a->sh - a->pad_top;
    int ky0 = 0, ky1 = a->kh, ox = 0;
    void (*quad)(const struct nn_conv_args *, const float *, float *,
                 const float *, int, int, int, int, __m256) = nn_dw_quad_any;

    if (a->dw == 1 && a->sw <= 2 && (a->kw == 3 || a->kw == 5)) {
        if (a->sw == 1)
            quad = a->kw == 3 ? nn_dw_quad_3x1 : nn_dw_quad_5x1;
        else
            quad = a->kw == 3 ? nn_dw_quad_3x2 : nn_dw_quad_5x2;
    }
    if (ox_hi > a->ow)
        ox_hi = a->ow;
    if (ox_lo > ox_hi)
        ox_lo = ox_hi;
    while (ky0 < ky1 && iy0 + ky0 * a->dh < 0)
        ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * a->dh >= a->h)
        ky1--;
    for (; ox < ox_lo; ox++)
        nn_dw_pixel_avx2(a, in, orow, rrow, oy, ox, alpha);
    for (; ox + 4 <= ox_hi; ox += 4)
        quad(a, in, orow, rrow, oy, ox, ky0, ky1, alpha);
    for (; ox < a->ow; ox++)
        nn_dw_pixel_avx2(a, in, orow, rrow, oy, ox, alpha);
}

/*
 * AVX-512 depthwise kernels: the AVX2 ones with 16 channels per vector,
 * mask registers for the last channels and, at stride 1, 8 output pixels
 * per step (32 vector registers hold their accumulators and inputs).
 */
#define NN_AVX512 "avx512f,avx2,fma"

__attribute__((target(NN_AVX512)))
static inline __m512 nn_act16(__m512 v, enum nn_act act, __m512 alpha)
{
    const __m512 zero = _mm512_setzero_ps();
    const __m512 six = _mm512_set1_ps(6.0f);

    switch (act) {
    case NN_ACT_RELU:
        return _mm512_max_ps(v, zero);
    case NN_ACT_RELU6:
        return _mm512_min_ps(_mm512_max_ps(v, zero), six);
    case NN_ACT_LEAKY: {
        __mmask16 neg = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);

        return _mm512_mask_mul_ps(v, neg, v, alpha);
    }
    case NN_ACT_HARDSWISH: {
        __m512 r = _mm512_add_ps(v, _mm512_set1_ps(3.0f));

        r = _mm512_min_ps(_mm512_max_ps(r, zero), six);
        return _mm512_mul_ps(_mm512_mul_ps(v, alpha), r);
    }
    default:
        return v;
    }
}

/* Residual (res may be NULL), activation but sigmoid, masked store. */
__attribute__((target(NN_AVX512)))
static inline void nn_dw_store16(float *o, const float *res, __m512 acc,
                                 enum nn_act act, __m512 alpha,
                                 __mmask16 mask)
{
    if (res)
        acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(mask, res));
    if (act != NN_ACT_SIGMOID)
        acc = nn_act16(acc, act, alpha);
    _mm512_mask_storeu_ps(o, mask, acc);
}

/* nn_dw_pixel_avx2 with 16 channels per vector. */
__attribute__((target(NN_AVX512)))
static void nn_dw_pixel_avx512(const struct nn_conv_args *a, const float *in,
                               float *orow, const float *rrow, int oy,
                               int ox, __m512 alpha)
{
    const int C = a->c;
    int iy0 = oy * a->sh - a->pad_top, ix0 = ox * a->sw - a->pad_left;
    int ky0 = 0, ky1 = a->kh, kx0 = 0, kx1 = a->kw;
    float *o = orow + (size_t)ox * C;
    const float *r = rrow ? rrow + (size_t)ox * C : NULL;

    while (ky0 < ky1 && iy0 + ky0 * a->dh < 0)
        ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * a->dh >= a->h)
        ky1--;
    while (kx0 < kx1 && ix0 + kx0 * a->dw < 0)
        kx0++;
    while (kx1 > kx0 && ix0 + (kx1 - 1) * a->dw >= a->w)
        kx1--;
    for (int c = 0; c < C; c += 16) {
        __mmask16 mask = C - c >= 16 ? 0xffff
                                     : (__mmask16)((1u << (C - c)) - 1);
        /* A sum per filter row keeps the FMA chains short. */
        __m512 acc = a->bias ? _mm512_maskz_loadu_ps(mask, a->bias + c)
                             : _mm512_setzero_ps();

        for (int ky = ky0; ky < ky1; ky++) {
            const float *irow = in + (size_t)(iy0 + ky * a->dh - a->in_row0) *
                                         a->w * C + c;
            const float *wrow = a->filter + (size_t)ky * a->kw * C + c;
            __m512 sum = _mm512_setzero_ps();

            for (int kx = kx0; kx < kx1; kx++)
                sum = _mm512_fmadd_ps(
                    _mm512_maskz_loadu_ps(
                        mask, irow + (size_t)(ix0 + kx * a->dw) * C),
                    _mm512_maskz_loadu_ps(mask, wrow + (size_t)kx * C), sum);
            acc = _mm512_add_ps(acc, sum);
        }
        nn_dw_store16(o + c, r ? r + c : NULL, acc, a->act, alpha, mask);
    }
    if (a->act == NN_ACT_SIGMOID)
        nn_sigmoid_avx2(o, C);
}

/*
 * Sixteen channels from c of PX adjacent output pixels from column ox,
 * whose taps are all inside the input in x: nn_dw_quad8 with KW, SW and
 * DW constant and 16-lane vectors.
 */
__attribute__((target(NN_AVX512), always_inline))
static inline void nn_dw_group16(const struct nn_conv_args *a,
                                 const float *irow0, float *o,
                                 const float *r, int c, int ky0, int ky1,
                                 __m512 alpha, const int KW, const int SW,
                                 const int PX, __mmask16 mask)
{
    const size_t C = (size_t)a->c, row = (size_t)a->w * C * a->dh;
    __m512 b = a->bias ? _mm512_maskz_loadu_ps(mask, a->bias + c)
                       : _mm512_setzero_ps();
    __m512 acc[8];
    const float *irow = irow0 + c;
    const float *wrow = a->filter + (size_t)ky0 * a->kw * C + c;

    for (int q = 0; q < PX; q++)
        acc[q] = b;
    for (int ky = ky0; ky < ky1; ky++, irow += row, wrow += a->kw * C) {
        __m512 x[7 * 2 + 5];
        const int nx = (PX - 1) * SW + KW;

        for (int j = 0; j < nx; j++)
            x[j] = _mm512_maskz_loadu_ps(mask, irow + (size_t)j * C);
        for (int kx = 0; kx < KW; kx++) {
            __m512 w = _mm512_maskz_loadu_ps(mask, wrow + (size_t)kx * C);

            for (int q = 0; q < PX; q++)
                acc[q] = _mm512_fmadd_ps(x[q * SW + kx], w, acc[q]);
        }
    }
    for (int q = 0; q < PX; q++)
        nn_dw_store16(o + (size_t)q * C + c, r ? r + (size_t)q * C + c : NULL,
                      acc[q], a->act, alpha, mask);
}

/* PX adjacent output pixels from column ox: nn_dw_group16 over channels. */
__attribute__((target(NN_AVX512), always_inline))
static inline void nn_dw_run_k(const struct nn_conv_args *a, const float *in,
                               float *orow, const float *rrow, int oy,
                               int ox, int ky0, int ky1, __m512 alpha,
                               const int KW, const int SW, const int PX)
{
    const int C = a->c;
    int iy0 = oy * a->sh - a->pad_top, ix0 = ox * SW - a->pad_left;
    /* Start at filter row ky0, so that no row index is negative. */
    const float *irow0 = ky0 >= ky1 ? in
                         : in + ((size_t)(iy0 + ky0 * a->dh - a->in_row0) *
                                     a->w + (size_t)ix0) * C;
    float *o = orow + (size_t)ox * C;
    const float *r = rrow ? rrow + (size_t)ox * C : NULL;
    int c = 0;

    for (; c + 16 <= C; c += 16)
        nn_dw_group16(a, irow0, o, r, c, ky0, ky1, alpha, KW, SW, PX,
                      0xffff);
    if (c < C)
        nn_dw_group16(a, irow0, o, r, c, ky0, ky1, alpha, KW, SW, PX,
                      (__mmask16)((1u << (C - c)) - 1));
    if (a->act == NN_ACT_SIGMOID)
        nn_sigmoid_avx2(o, PX * C);
}

#define NN_DW_RUN512(name, KW, SW, PX)                                      \
    __attribute__((target(NN_AVX512))) static void name(                    \
        const struct nn_conv_args *a, const float *in, float *orow,         \
        const float *rrow, int oy, int ox, int ky0, int ky1, __m512 alpha)  \
    {                                                                       \
        nn_dw_run_k(a, in, orow, rrow, oy, ox, ky0, ky1, alpha, KW, SW,     \
                    PX);                                                    \
    }

NN_DW_RUN512(nn_dw_run_3x1, 3, 1, 8)
NN_DW_RUN512(nn_dw_run_5x1, 5, 1, 8)
NN_DW_RUN512(nn_dw_run4_3x1, 3, 1, 4)
NN_DW_RUN512(nn_dw_run4_5x1, 5, 1, 4)
NN_DW_RUN512(nn_dw_run_3x2, 3, 2, 4)
NN_DW_RUN512(nn_dw_run_5x2, 5, 2, 4)

/* Whether the AVX-512 row kernel handles a (3x3 or 5x5, no dilation). */
static bool nn_dw_avx512_ok(const struct nn_conv_args *a)
{
    return a->avx512 && a->oc == a->c && a->dw == 1 && a->sw <= 2 &&
           (a->kw == 3 || a->kw == 5);
}

/* nn_dw_row_avx2 with the AVX-512 kernels; needs nn_dw_avx512_ok(a). */
__attribute__((target(NN_AVX512)))
static void nn_dw_row_avx512(const struct nn_conv_args *a, const float *in,
                             float *orow, const float *rrow, int oy)
{
    const __m512 alpha = _mm512_set1_ps(a->alpha);
    int ox_lo = (a->pad_left + a->sw - 1) / a->sw;
    int last = a->w - 1 - (a->kw - 1) + a->pad_left;
    int ox_hi = last < 0 ? 0 : last / a->sw + 1;
    int iy0 = oy * a->sh - a->pad_top;
    int ky0 = 0, ky1 = a->kh, ox = 0;
    int px = a->sw == 1 ? 8 : 4;
    void (*run)(const struct nn_conv_args *, const float *, float *,
                const float *, int, int, int, int, __m512);
    void (*run4)(const struct nn_conv_args *, const float *, float *,
                 const float *, int, int, int, int, __m512);

    if (a->sw == 1) {
        run = a->kw == 3 ? nn_dw_run_3x1 : nn_dw_run_5x1;
        run4 = a->kw == 3 ? nn_dw_run4_3x1 : nn_dw_run4_5x1;
    } else {
        run = a->kw == 3 ? nn_dw_run_3x2 : nn_dw_run_5x2;
        run4 = run;
    }
    if (ox_hi > a->ow)
        ox_hi = a->ow;
    if (ox_lo > ox_hi)
        ox_lo = ox_hi;
    while (ky0 < ky1 && iy0 + ky0 * a->dh < 0)
        ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * a->dh >= a->h)
        ky1--;
    for (; ox < ox_lo; ox++)
        nn_dw_pixel_avx512(a, in, orow, rrow, oy, ox, alpha);
    for (; ox + px <= ox_hi; ox += px)
        run(a, in, orow, rrow, oy, ox, ky0, ky1, alpha);
    for (; ox + 4 <= ox_hi; ox += 4)
        run4(a, in, orow, rrow, oy, ox, ky0, ky1, alpha);
    for (; ox < a->ow; ox++)
        nn_dw_pixel_avx512(a, in, orow, rrow, oy, ox, alpha);
}

/* AVX2/FMA depthwise rows [begin, end) of one image. */
__attribute__((target("avx2,fma")))
static void nn_dw_rows_avx2(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_dw_ctx *d = ctx;
    const struct nn_conv_args *a = d->a;
    const float *in = a->in + (size_t)d->batch * a->h * a->w * a->c;
    size_t row = (size_t)a->ow * a->oc;
    size_t img = (size_t)d->batch * a->oh * row;

    bool avx512 = nn_dw_avx512_ok(a);

    for (size_t oy = begin; oy < end; oy++) {
        float *orow = a->out + img + oy * row;
        const float *rrow = a->residual ? a->residual + img + oy * row
                                        : NULL;

        if (avx512)
            nn_dw_row_avx512(a, in, orow, rrow, (int)oy);
        else
            nn_dw_row_avx2(a, in, orow, rrow, (int)oy);
    }
}

/*
 * PX adjacent output pixels from column ox of a dense convolution with few
 * input channels (the RGB stems), over the filter columns [kx0, kx1) that
 * are inside the input for all of them.  Each pixel accumulates NV vectors
 * of 8 output channels.  NV and PX are compile-time constants at every
 * call, so the PX * NV independent accumulators stay in registers and hide
 * the FMA latency.
 */
__attribute__((target("avx2,fma"), always_inline))
static inline void nn_conv_small_px(const struct nn_conv_args *a,
                                    const float *in, int b, int oy, int ox,
                                    int ky0, int ky1, int kx0, int kx1,
                                    __m256 alpha, const int NV,
                                    const int PX)
{
    const int OC = a->oc;
    const size_t pstep = (size_t)a->sw * a->c;
    int iy0 = oy * a->sh - a->pad_top, ix0 = ox * a->sw - a->pad_left;
    size_t off = (((size_t)b * a->oh + oy) * a->ow + ox) * OC;
    __m256 acc[4][8];

    for (int q = 0; q < PX; q++)
        for (int v = 0; v < NV; v++)
            acc[q][v] = a->bias ? _mm256_loadu_ps(a->bias + 8 * v)
                                : _mm256_setzero_ps();
    for (int ky = ky0; ky < ky1; ky++) {
        const float *irow = in + (size_t)(iy0 + ky * a->dh) * a->w * a->c;

        for (int kx = kx0; kx < kx1; kx++) {
            const float *ip = irow + (size_t)(ix0 + kx * a->dw) * a->c;
            const float *wp = a->filter +
                              ((size_t)ky * a->kw + kx) * a->c * OC;

            for (int ci = 0; ci < a->c; ci++) {
                __m256 w[8];

                for (int v = 0; v < NV; v++)
                    w[v] = _mm256_loadu_ps(wp + ci * OC + 8 * v);
                for (int q = 0; q < PX; q++) {
                    __m256 x = _mm256_broadcast_ss(ip + q * pstep + ci);

                    for (int v = 0; v < NV; v++)
                        acc[q][v] = _mm256_fmadd_ps(x, w[v], acc[q][v]);
                }
            }
        }
    }
    for (int q = 0; q < PX; q++) {
        float *o = a->out + off + (size_t)q * OC;
        const float *r = a->residual ? a->residual + off + (size_t)q * OC
                                     : NULL;

        for (int v = 0; v < NV; v++)
            nn_dw_store8(o + 8 * v, r ? r + 8 * v : NULL, acc[q][v], a->act,
                         alpha);
        if (a->act == NN_ACT_SIGMOID)
            nn_sigmoid_avx2(o, OC);
    }
}

/*
 * One output row of a dense convolution with few input channels: groups
 * of PX pixels where every filter column is inside the input, single
 * pixels with clipped filter columns at the borders.
 */
__attribute__((target("avx2,fma"), always_inline))
static inline void nn_conv_small_row(const struct nn_conv_args *a, int b,
                                     int oy, const int NV)
{
    const int PX = NV <= 2 ? 4 : NV <= 4 ? 2 : 1;
    const __m256 alpha = _mm256_set1_ps(a->alpha);
    const float *in = a->in + (size_t)b * a->h * a->w * a->c;
    int iy0 = oy * a->sh - a->pad_top, ky0 = 0, ky1 = a->kh;
    int ox_lo = (a->pad_left + a->sw - 1) / a->sw;
    int last = a->w - 1 - (a->kw - 1) * a->dw + a->pad_left;
    int ox_hi = last < 0 ? 0 : last / a->sw + 1;

    if (ox_hi > a->ow)
        ox_hi = a->ow;
    if (ox_lo > ox_hi)
        ox_lo = ox_hi;
    while (ky0 < ky1 && iy0 + ky0 * a->dh < 0)
        ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * a->dh >= a->h)
        ky1--;
    for (int ox = 0; ox < a->ow;) {
        int ix0 = ox * a->sw - a->pad_left, kx0 = 0, kx1 = a->kw;

        if (ox >= ox_lo && ox + PX <= ox_hi) {
            nn_conv_small_px(a, in, b, oy, ox, ky0, ky1, 0, a->kw, alpha, NV,
                             PX);
            ox += PX;
            continue;
        }
        while (kx0 < kx1 && ix0 + kx0 * a->dw < 0)
            kx0++;
        while (kx1 > kx0 && ix0 + (kx1 - 1) * a->dw >= a->w)
            kx1--;
        nn_conv_small_px(a, in, b, oy, ox, ky0, ky1, kx0, kx1, alpha, NV, 1);
        ox++;
    }
}

__attribute__((target("avx2,fma")))
static void nn_conv_small_rows(void *ctx, size_t begin, size_t end, int thread)
{
    const struct nn_conv_args *a = ctx;

    for (size_t r = begin; r < end; r++) {
        int b = (int)(r / (size_t)a->oh), oy = (int)(r % (size_t)a->oh);

        switch (a->oc / 8) {
        case 1:
            nn_conv_small_row(a, b, oy, 1);
            break;
        case 2:
            nn_conv_small_row(a, b, oy, 2);
            break;
        case 3:
            nn_conv_small_row(a, b, oy, 3);
            break;
        case 4:
            nn_conv_small_row(a, b, oy, 4);
            break;
        default:
            nn_conv_small_row(a, b, oy, 8);
            break;
        }
    }
}

bool nn_conv_small_ok(const struct nn_model *m, const struct nn_conv_args *a)
{
    return m->simd && a->c <= 4 && (a->oc == 8 || a->oc == 16 ||
                                    a->oc == 24 || a->oc == 32 ||
                                    a->oc == 64);
}

void nn_conv_small(struct nn_model *m, const struct nn_conv_args *a)
{
    nn_pool_run(m->pool, (size_t)a->n * a->oh, nn_conv_small_rows,
                (void *)a);
}
#endif

/* Depthwise NHWC convolution with an [KH,KW,C,M] filter. */
void nn_depthwise(struct nn_model *m, const struct nn_conv_args *a)
{
    for (int b = 0; b < a->n; b++) {
        struct nn_dw_ctx d = {a, b};

#ifdef NN_HAVE_X86
        if (m->simd && a->oc == a->c) {
            nn_pool_run(m->pool, (size_t)a->oh, nn_dw_rows_avx2, &d);
            continue;
        }
#endif
        nn_pool_run(m->pool, (size_t)a->oh, nn_dw_rows_c, &d);
    }
}

/* Output rows per block of a fused depthwise + 1x1 convolution. */
static int nn_conv2d_dw_block_rows(const struct nn_conv_args *dw)
{
    size_t rows = nn_conv_block_rows((size_t)dw->oc,
                                     (size_t)dw->oh * dw->ow) /
                  (size_t)dw->ow;

    return rows < 1 ? 1 : (int)rows;
}

/* Input rows of the depthwise convolution that rows output rows read. */
static int nn_conv2d_dw_window(const struct nn_conv_args *dw, int rows)
{
    int window = (rows - 1) * dw->sh + (dw->kh - 1) * dw->dh + 1;

    return window < dw->h ? window : dw->h;
}

size_t nn_conv2d_dw_scratch(const struct nn_conv_args *dw, bool expand)
{
    int rows = nn_conv2d_dw_block_rows(dw);
    size_t bytes = (size_t)rows * dw->ow * dw->oc * sizeof(float);

    if (expand)
        bytes += (size_t)nn_conv2d_dw_window(dw, rows) * dw->w * dw->c *
                 sizeof(float);
    return bytes;
}

bool nn_conv2d_dw_ok(const struct nn_model *m, const struct nn_conv_args *dw,
                     const struct nn_conv_args *pw)
{
    (void)m;
    return nn_conv_is_direct(pw) && pw->n == dw->n && pw->h == dw->oh &&
           pw->w == dw->ow && pw->c == dw->oc;
}

bool nn_conv2d_expand_ok(const struct nn_conv_args *ex,
                         const struct nn_conv_args *dw)
{
    return nn_conv_is_direct(ex) && !ex->residual && ex->n == dw->n &&
           ex->oh == dw->h && ex->ow == dw->w && ex->oc == dw->c;
}

/*
 * Rows [lo, hi) of the expanded input of image img that a thread's
 * scratch slice holds; kept between the calls of one loop, because the
 * pool gives a thread consecutive blocks in several calls.
 */
struct nn_dwpw_window {
    _Alignas(64) int img, lo, hi;
};

struct nn_dwpw_ctx {
    const struct nn_conv_args *ex, *dw, *pw;
    int rows_per_block, blocks_per_image;
    size_t scratch_stride;
    struct nn_model *m;
    struct nn_dwpw_window window[NN_POOL_MAX_THREADS];
};

/*
 * Window of rows [*lo, *hi) of the expanded input of image img, stored
 * from x: make it hold rows [lo, hi).  Rows already there move to the
 * front; the others are computed by the 1x1 convolution ex.
 */
static void nn_expand_window(const struct nn_conv_args *ex, float *x,
                             int img, int *have_lo, int *have_hi, int lo,
                             int hi)
{
    size_t row = (size_t)ex->ow * ex->oc;

    if (lo < *have_lo || lo >= *have_hi) {
        *have_lo = lo;
        *have_hi = lo;
    } else if (lo > *have_lo) {
        memmove(x, x + (size_t)(lo - *have_lo) * row,
                (size_t)(*have_hi - lo) * row * sizeof(float));
        *have_lo = lo;
    }
    if (hi > *have_hi) {
        const float *a = ex->in + ((size_t)img * ex->h + (size_t)*have_hi) *
                                      ex->w * ex->c;

        nn_gemm_epilogue(ex, (hi - *have_hi) * ex->ow, ex->c, a,
                         x + (size_t)(*have_hi - lo) * row, NULL);
        *have_hi = hi;
    }
}

/*
 * Blocks [begin, end) of a fused depthwise + 1x1 convolution: the
 * depthwise rows of the block go to this thread's scratch slice, then one
 * sgemm and the epilogue of the 1x1 convolution write the output rows.
 * With an expanding 1x1 convolution ex in front, the depthwise input rows
 * come from a window of its output rows after the block in the slice.
 * While a thread's blocks are consecutive, each row is computed once per
 * thread; after the thread takes over blocks of another thread, the rows
 * that the two share are computed by both.
 */
static void nn_dwpw_blocks(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_dwpw_ctx *c = ctx;
    const struct nn_conv_args *dw = c->dw, *pw = c->pw;
    float *mid = pw->scratch + (size_t)thread * c->scratch_stride;
    size_t mid_row = (size_t)dw->ow * dw->oc;
    size_t out_row = (size_t)pw->ow * pw->oc;
    float *window = mid + (size_t)c->rows_per_block * mid_row;
    struct nn_dwpw_window *have = &c->window[thread];

    for (size_t blk = begin; blk < end; blk++) {
        int img = (int)(blk / (size_t)c->blocks_per_image);
        int y0 = (int)(blk % (size_t)c->blocks_per_image) * c->rows_per_block;
        int y1 = y0 + c->rows_per_block < dw->oh ? y0 + c->rows_per_block
                                                 : dw->oh;
        struct nn_conv_args a = *dw;
        size_t mid_img = (size_t)img * dw->oh * mid_row;
        size_t out_off = ((size_t)img * pw->oh + (size_t)y0) * out_row;
        int pixels = (y1 - y0) * dw->ow;

        if (!c->ex) {
            a.in = dw->in + (size_t)img * dw->h * dw->w * dw->c;
        } else {
            int lo = y0 * dw->sh - dw->pad_top;
            int hi = (y1 - 1) * dw->sh - dw->pad_top +
                     (dw->kh - 1) * dw->dh + 1;

            lo = lo < 0 ? 0 : lo;
            hi = hi > dw->h ? dw->h : hi;
            if (img != have->img)
                have->lo = have->hi = 0;
            have->img = img;
            nn_expand_window(c->ex, window, img, &have->lo, &have->hi, lo,
                             hi);
            a.in = window;
            a.in_row0 = lo;
        }
        for (int oy = y0; oy < y1; oy++) {
            float *orow = mid + (size_t)(oy - y0) * mid_row;
            const float *rrow = dw->residual ? dw->residual + mid_img +
                                                   (size_t)oy * mid_row
                                             : NULL;

#ifdef NN_HAVE_X86
            if (nn_dw_avx512_ok(&a)) {
                nn_dw_row_avx512(&a, a.in, orow, rrow, oy);
                continue;
            }
            if (a.simd && a.oc == a.c) {
                nn_dw_row_avx2(&a, a.in, orow, rrow, oy);
                continue;
            }
#endif
            nn_dw_row_c(&a, a.in, orow, rrow, oy);
        }
        nn_gemm_epilogue(pw, pixels, pw->c, mid, pw->out + out_off,
                         pw->residual ? pw->residual + out_off : NULL);
    }
}

void nn_conv2d_dw(struct nn_model *m, const struct nn_conv_args *ex,
                  const struct nn_conv_args *dw,
                  const struct nn_conv_args *pw)
{
    struct nn_dwpw_ctx c = {ex, dw, pw, nn_conv2d_dw_block_rows(dw), 0, 0,
                            m};
    int threads = nn_pool_threads(m->pool);
    int parts = threads > 1 ? threads * NN_BLOCKS_PER_THREAD : 1;
    /* Small feature maps: see NN_BLOCKS_PER_THREAD. */
    int share = (dw->oh + parts - 1) / parts;
    int min_rows = (NN_MIN_BLOCK_PIXELS + dw->ow - 1) / dw->ow;

    for (int i = 0; i < threads; i++)
        c.window[i].img = -1;
    if (parts > 1 && share < min_rows)
        share = min_rows;
    if (dw->n == 1 && share < c.rows_per_block)
        c.rows_per_block = share;
    c.rows_per_block = (int)nn_balance_rows(
        (size_t)dw->oh, (size_t)c.rows_per_block,
        dw->n == 1 ? (size_t)threads : 1, 1);
    c.blocks_per_image = (dw->oh + c.rows_per_block - 1) / c.rows_per_block;
    c.scratch_stride = nn_conv2d_dw_scratch(dw, ex != NULL) / sizeof(float);
    nn_pool_run(m->pool, (size_t)c.blocks_per_image * (size_t)dw->n,
                nn_dwpw_blocks, &c);
}
