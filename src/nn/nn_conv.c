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
void nn_apply_act(float *x, size_t count, int channels, const float *bias,
                  const float *residual, enum nn_act act, float alpha)
{
    size_t rows = count / (size_t)channels;

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
                row[c] = fminf(fmaxf(row[c], 0.0f), 6.0f);
            break;
        case NN_ACT_LEAKY:
            for (int c = 0; c < n; c++)
                row[c] = row[c] < 0 ? row[c] * alpha : row[c];
            break;
        case NN_ACT_HARDSWISH:
            for (int c = 0; c < n; c++) {
                float v = row[c];
                float r6 = fminf(fmaxf(v + 3.0f, 0.0f), 6.0f);

                row[c] = (v * alpha) * r6;
            }
            break;
        case NN_ACT_SIGMOID:
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
static void nn_conv_blocks(void *ctx, size_t begin, size_t end)
{
    struct nn_conv_ctx *c = ctx;
    const struct nn_conv_args *a = c->a;
    size_t k = (size_t)a->kh * a->kw * a->c;
    size_t in_img = (size_t)a->h * a->w * a->c;
    size_t out_img = c->pixels * (size_t)a->oc;
    bool direct = nn_conv_is_direct(a);
    size_t slot = begin * (size_t)nn_pool_threads(c->m->pool) /
                  (c->blocks_per_image * (size_t)a->n);
    float *col;

    if (slot >= (size_t)nn_pool_threads(c->m->pool))
        slot = (size_t)nn_pool_threads(c->m->pool) - 1;
    col = a->scratch + slot * c->scratch_stride;

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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows,
                    a->oc, (int)k, 1.0f, A, (int)k, a->filter, a->oc, 0.0f,
                    out, a->oc);
        if (a->bias || a->residual || a->act != NN_ACT_NONE)
            nn_apply_act(out, rows * (size_t)a->oc, a->oc, a->bias,
                         a->residual ? a->residual + img * out_img +
                                           p0 * (size_t)a->oc
                                     : NULL,
                         a->act, a->alpha);
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

    c.rows_per_block = nn_conv_block_rows(k, c.pixels);
    if (c.rows_per_block == 0)
        return;
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

/* Portable depthwise rows: any channel multiplier. */
static void nn_dw_rows_c(void *ctx, size_t begin, size_t end)
{
    struct nn_dw_ctx *d = ctx;
    const struct nn_conv_args *a = d->a;
    int mult = a->oc / a->c;
    const float *in = a->in + (size_t)d->batch * a->h * a->w * a->c;
    float *out = a->out + (size_t)d->batch * a->oh * a->ow * a->oc;

    for (size_t oy = begin; oy < end; oy++) {
        for (int ox = 0; ox < a->ow; ox++) {
            float *o = out + ((size_t)oy * a->ow + ox) * a->oc;

            memset(o, 0, (size_t)a->oc * sizeof(float));
            for (int ky = 0; ky < a->kh; ky++) {
                int iy = (int)oy * a->sh - a->pad_top + ky * a->dh;

                if (iy < 0 || iy >= a->h)
                    continue;
                for (int kx = 0; kx < a->kw; kx++) {
                    int ix = ox * a->sw - a->pad_left + kx * a->dw;

                    if (ix < 0 || ix >= a->w)
                        continue;
                    const float *ip = in + ((size_t)iy * a->w + ix) * a->c;
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
                         a->residual ? a->residual + (o - a->out) : NULL,
                         a->act, a->alpha);
        }
    }
}

#ifdef NN_HAVE_X86
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

/* AVX2/FMA depthwise rows for channel multiplier 1. */
__attribute__((target("avx2,fma")))
static void nn_dw_rows_avx2(void *ctx, size_t begin, size_t end)
{
    struct nn_dw_ctx *d = ctx;
    const struct nn_conv_args *a = d->a;
    const int C = a->c;
    const int C8 = C & ~7;
    const float *in = a->in + (size_t)d->batch * a->h * a->w * C;
    float *out = a->out + (size_t)d->batch * a->oh * a->ow * C;
    const __m256 alpha = _mm256_set1_ps(a->alpha);
    bool vec_act = a->act != NN_ACT_SIGMOID;

    for (size_t oy = begin; oy < end; oy++) {
        int ky0 = 0, ky1 = a->kh;
        int iy0 = (int)oy * a->sh - a->pad_top;

        while (ky0 < ky1 && iy0 + ky0 * a->dh < 0)
            ky0++;
        while (ky1 > ky0 && iy0 + (ky1 - 1) * a->dh >= a->h)
            ky1--;
        for (int ox = 0; ox < a->ow; ox++) {
            float *o = out + ((size_t)oy * a->ow + ox) * C;
            const float *res = a->residual ? a->residual + (o - a->out)
                                           : NULL;
            int ix0 = ox * a->sw - a->pad_left;
            int kx0 = 0, kx1 = a->kw;

            while (kx0 < kx1 && ix0 + kx0 * a->dw < 0)
                kx0++;
            while (kx1 > kx0 && ix0 + (kx1 - 1) * a->dw >= a->w)
                kx1--;
            int c = 0;

            for (; c < C8; c += 8) {
                __m256 acc = a->bias ? _mm256_loadu_ps(a->bias + c)
                                     : _mm256_setzero_ps();

                for (int ky = ky0; ky < ky1; ky++) {
                    int iy = iy0 + ky * a->dh;
                    const float *irow = in + (size_t)iy * a->w * C + c;
                    const float *wrow = a->filter + (size_t)ky * a->kw * C + c;

                    for (int kx = kx0; kx < kx1; kx++) {
                        int ix = ix0 + kx * a->dw;

                        acc = _mm256_fmadd_ps(
                            _mm256_loadu_ps(irow + (size_t)ix * C),
                            _mm256_loadu_ps(wrow + (size_t)kx * C), acc);
                    }
                }
                if (res)
                    acc = _mm256_add_ps(acc, _mm256_loadu_ps(res + c));
                if (vec_act)
                    acc = nn_act8(acc, a->act, alpha);
                _mm256_storeu_ps(o + c, acc);
            }
            for (; c < C; c++) {
                float acc = a->bias ? a->bias[c] : 0.0f;

                for (int ky = ky0; ky < ky1; ky++) {
                    int iy = iy0 + ky * a->dh;

                    for (int kx = kx0; kx < kx1; kx++) {
                        int ix = ix0 + kx * a->dw;

                        acc = fmaf(in[((size_t)iy * a->w + ix) * C + c],
                                   a->filter[((size_t)ky * a->kw + kx) * C +
                                             c], acc);
                    }
                }
                if (res)
                    acc += res[c];
                o[c] = vec_act ? nn_act1(acc, a->act, a->alpha) : acc;
            }
            if (!vec_act)
                for (c = 0; c < C; c++)
                    o[c] = nn_act1(o[c], a->act, a->alpha);
        }
    }
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
