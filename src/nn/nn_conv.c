/*
 * Convolution kernels: dense convolution as im2col (or the input itself
 * for 1x1 stride-1 convolutions) times the filter with OpenBLAS sgemm, and
 * hand-vectorised depthwise convolution with a portable C path and an
 * AVX2/FMA path chosen at run time.
 */
#include "nn/nn_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NN_HAVE_X86 1
#endif

/* Largest im2col block in floats (16 MiB), to bound the scratch size. */
#define NN_IM2COL_MAX_FLOATS (4u << 20)

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
        return (v * (1.0f / 6.0f)) * r;
    }
    case NN_ACT_NONE:
        break;
    }
    return v;
}

/*
 * Add bias (per channel) and residual, then apply act, over count values
 * laid out as rows of channels.
 */
void nn_apply_act(float *x, size_t count, int channels, const float *bias,
                  const float *residual, enum nn_act act, float alpha)
{
    size_t rows = count / (size_t)channels;

    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * (size_t)channels;
        const float *res = residual ? residual + r * (size_t)channels : NULL;

        if (bias)
            for (int c = 0; c < channels; c++)
                row[c] += bias[c];
        if (res)
            for (int c = 0; c < channels; c++)
                row[c] += res[c];
        switch (act) {
        case NN_ACT_NONE:
            break;
        case NN_ACT_RELU:
            for (int c = 0; c < channels; c++)
                row[c] = row[c] > 0 ? row[c] : 0;
            break;
        case NN_ACT_RELU6:
            for (int c = 0; c < channels; c++)
                row[c] = row[c] < 0 ? 0 : row[c] > 6 ? 6 : row[c];
            break;
        default:
            for (int c = 0; c < channels; c++)
                row[c] = nn_act1(row[c], act, alpha);
            break;
        }
    }
}

struct nn_epilogue_ctx {
    const struct nn_conv_args *a;
    float *out;
    const float *residual;
};

static void nn_epilogue_rows(void *ctx, size_t begin, size_t end)
{
    struct nn_epilogue_ctx *e = ctx;
    size_t oc = (size_t)e->a->oc;

    nn_apply_act(e->out + begin * oc, (end - begin) * oc, e->a->oc,
                 e->a->bias,
                 e->residual ? e->residual + begin * oc : NULL, e->a->act,
                 e->a->alpha);
}

size_t nn_conv2d_scratch(const struct nn_conv_args *a)
{
    size_t k = (size_t)a->kh * a->kw * a->c;
    size_t rows = (size_t)a->oh * a->ow;

    if (a->kh == 1 && a->kw == 1 && a->sh == 1 && a->sw == 1 &&
        a->pad_top == 0 && a->pad_left == 0 && a->oh == a->h &&
        a->ow == a->w)
        return 0;
    if (rows * k > NN_IM2COL_MAX_FLOATS)
        rows = NN_IM2COL_MAX_FLOATS / k > 0 ? NN_IM2COL_MAX_FLOATS / k : 1;
    return rows * k * sizeof(float);
}

struct nn_im2col_ctx {
    const struct nn_conv_args *a;
    const float *in;            /* one image */
    float *col;
    size_t row0;                /* first output pixel of the block */
};

/* Fill im2col rows [begin, end) of the block: one row per output pixel. */
static void nn_im2col_rows(void *ctx, size_t begin, size_t end)
{
    struct nn_im2col_ctx *x = ctx;
    const struct nn_conv_args *a = x->a;
    size_t k = (size_t)a->kh * a->kw * a->c;
    size_t cb = (size_t)a->c * sizeof(float);

    for (size_t r = begin; r < end; r++) {
        size_t p = x->row0 + r;
        int oy = (int)(p / (size_t)a->ow), ox = (int)(p % (size_t)a->ow);
        float *dst = x->col + r * k;

        for (int ky = 0; ky < a->kh; ky++) {
            int iy = oy * a->sh - a->pad_top + ky * a->dh;

            for (int kx = 0; kx < a->kw; kx++) {
                int ix = ox * a->sw - a->pad_left + kx * a->dw;

                if (iy < 0 || iy >= a->h || ix < 0 || ix >= a->w)
                    memset(dst, 0, cb);
                else
                    memcpy(dst, x->in + ((size_t)iy * a->w + ix) * a->c, cb);
                dst += a->c;
            }
        }
    }
}

/* Dense NHWC convolution with an HWIO filter via sgemm. */
void nn_conv2d(struct nn_model *m, const struct nn_conv_args *a)
{
    size_t k = (size_t)a->kh * a->kw * a->c;
    size_t pixels = (size_t)a->oh * a->ow;
    size_t in_img = (size_t)a->h * a->w * a->c;
    size_t out_img = pixels * (size_t)a->oc;
    bool direct = nn_conv2d_scratch(a) == 0;
    size_t block = direct ? pixels : a->scratch_floats / k;

    if (block == 0)
        block = 1;
    for (int b = 0; b < a->n; b++) {
        const float *in = a->in + (size_t)b * in_img;
        float *out = a->out + (size_t)b * out_img;

        if (direct) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        (int)pixels, a->oc, (int)k, 1.0f, in, (int)k,
                        a->filter, a->oc, 0.0f, out, a->oc);
        } else {
            for (size_t r0 = 0; r0 < pixels; r0 += block) {
                size_t rows = pixels - r0 < block ? pixels - r0 : block;
                struct nn_im2col_ctx ic = {a, in, a->scratch, r0};

                nn_pool_run(m->pool, rows, nn_im2col_rows, &ic);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                            (int)rows, a->oc, (int)k, 1.0f, a->scratch,
                            (int)k, a->filter, a->oc, 0.0f,
                            out + r0 * (size_t)a->oc, a->oc);
            }
        }
        if (a->bias || a->residual || a->act != NN_ACT_NONE) {
            struct nn_epilogue_ctx e = {
                a, out, a->residual ? a->residual + (size_t)b * out_img : NULL
            };

            nn_pool_run(m->pool, pixels, nn_epilogue_rows, &e);
        }
    }
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
        return _mm256_mul_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.0f / 6.0f)),
                             r);
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
