/*
 * 3x3 stride-1 convolution by the Winograd minimal filtering algorithm
 * F(2x2, 3x3): each 4x4 input tile gives a 2x2 output tile with 16
 * products per channel pair in place of 36, done as 16 sgemm calls per
 * block of tiles.  With the transform matrices Bt, G and At written out
 * below: V = Bt d B, U = G g Gt, Y = At (U .* V) A.
 */
#include "nn/nn_internal.h"

#include <cblas.h>
#include <errno.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NN_WINO_X86 1
#endif
#include <stdlib.h>
#include <string.h>

/* Tiles per block; with 128 channels in and out, V and M take 1 MiB. */
#define NN_WINO_TILES 64

bool nn_winograd_ok(const struct nn_conv_args *a)
{
    return a->kh == 3 && a->kw == 3 && a->sh == 1 && a->sw == 1 &&
           a->dh == 1 && a->dw == 1 && a->c >= 16 && a->oc >= 16;
}

/* Transform the HWIO filter into 16 matrices of [C, OC]. */
float *nn_winograd_filter(const struct nn_conv_args *a)
{
    size_t c_n = (size_t)a->c, o_n = (size_t)a->oc;
    float *u = malloc(16 * c_n * o_n * sizeof(float));

    if (!u)
        return NULL;
    for (size_t ci = 0; ci < c_n; ci++) {
        for (size_t co = 0; co < o_n; co++) {
            float g[3][3], t[4][3];

            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++)
                    g[y][x] = a->filter[((size_t)(y * 3 + x) * c_n + ci) *
                                            o_n + co];
            /* t = G g, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] */
            for (int x = 0; x < 3; x++) {
                t[0][x] = g[0][x];
                t[1][x] = 0.5f * (g[0][x] + g[1][x] + g[2][x]);
                t[2][x] = 0.5f * (g[0][x] - g[1][x] + g[2][x]);
                t[3][x] = g[2][x];
            }
            /* u = t Gt */
            for (int y = 0; y < 4; y++) {
                float r[4] = {
                    t[y][0],
                    0.5f * (t[y][0] + t[y][1] + t[y][2]),
                    0.5f * (t[y][0] - t[y][1] + t[y][2]),
                    t[y][2],
                };

                for (int x = 0; x < 4; x++)
                    u[((size_t)(y * 4 + x) * c_n + ci) * o_n + co] = r[x];
            }
        }
    }
    return u;
}

size_t nn_winograd_scratch(const struct nn_conv_args *a)
{
    /* V and M of one block, then one row of zeros for padding. */
    return (16 * (size_t)NN_WINO_TILES * ((size_t)a->c + (size_t)a->oc) +
            (size_t)a->c) * sizeof(float);
}

struct nn_wino_ctx {
    const struct nn_conv_args *a;
    const float *u;
    struct nn_model *m;
    int tiles_x, tiles_y;
    size_t tiles, per_block, blocks;
};


#ifdef NN_WINO_X86
/* Input transform of one tile for channels [0, C & ~7); returns the end. */
__attribute__((target("avx2,fma")))
static size_t nn_wino_input8(const float *const p[16], float *v, size_t nt,
                             size_t t, size_t C)
{
    size_t c = 0, stride = nt * C;

    for (; c + 8 <= C; c += 8) {
        __m256 d[16], r[16];

        for (int k = 0; k < 16; k++)
            d[k] = _mm256_loadu_ps(p[k] + c);
        for (int j = 0; j < 4; j++) {
            r[0 + j] = _mm256_sub_ps(d[0 + j], d[8 + j]);
            r[4 + j] = _mm256_add_ps(d[4 + j], d[8 + j]);
            r[8 + j] = _mm256_sub_ps(d[8 + j], d[4 + j]);
            r[12 + j] = _mm256_sub_ps(d[4 + j], d[12 + j]);
        }
        for (int i = 0; i < 4; i++) {
            const __m256 *q = r + i * 4;
            float *base = v + (size_t)(i * 4) * stride + t * C + c;

            _mm256_storeu_ps(base, _mm256_sub_ps(q[0], q[2]));
            _mm256_storeu_ps(base + stride, _mm256_add_ps(q[1], q[2]));
            _mm256_storeu_ps(base + 2 * stride, _mm256_sub_ps(q[2], q[1]));
            _mm256_storeu_ps(base + 3 * stride, _mm256_sub_ps(q[1], q[3]));
        }
    }
    return c;
}

/* Output transform of one tile for channels [0, O & ~7); returns the end. */
__attribute__((target("avx2,fma")))
static size_t nn_wino_output8(const float *mm, size_t nt, size_t t, size_t O,
                              float *const dst[4], const bool ok[4])
{
    size_t o = 0, stride = nt * O;

    for (; o + 8 <= O; o += 8) {
        __m256 q[16], s[8], y[4];

        for (int k = 0; k < 16; k++)
            q[k] = _mm256_loadu_ps(mm + (size_t)k * stride + t * O + o);
        for (int j = 0; j < 4; j++) {
            s[j] = _mm256_add_ps(_mm256_add_ps(q[j], q[4 + j]), q[8 + j]);
            s[4 + j] = _mm256_sub_ps(_mm256_sub_ps(q[4 + j], q[8 + j]),
                                     q[12 + j]);
        }
        y[0] = _mm256_add_ps(_mm256_add_ps(s[0], s[1]), s[2]);
        y[1] = _mm256_sub_ps(_mm256_sub_ps(s[1], s[2]), s[3]);
        y[2] = _mm256_add_ps(_mm256_add_ps(s[4], s[5]), s[6]);
        y[3] = _mm256_sub_ps(_mm256_sub_ps(s[5], s[6]), s[7]);
        for (int k = 0; k < 4; k++)
            if (ok[k])
                _mm256_storeu_ps(dst[k] + o, y[k]);
    }
    return o;
}
#endif

/* Input transform of tiles [t0, t0 + nt) of image b into v[16][nt][C]. */
static void nn_wino_input(const struct nn_wino_ctx *w, int b, size_t t0,
                          size_t nt, float *restrict v, const float *zero)
{
    const struct nn_conv_args *a = w->a;
    const size_t C = (size_t)a->c;
    const float *img = a->in + (size_t)b * a->h * a->w * C;

    for (size_t t = 0; t < nt; t++) {
        int ty = (int)((t0 + t) / (size_t)w->tiles_x);
        int tx = (int)((t0 + t) % (size_t)w->tiles_x);
        const float *p[16];

        for (int i = 0; i < 4; i++) {
            int iy = ty * 2 - a->pad_top + i;

            for (int j = 0; j < 4; j++) {
                int ix = tx * 2 - a->pad_left + j;

                p[i * 4 + j] = iy < 0 || iy >= a->h || ix < 0 || ix >= a->w
                    ? zero : img + ((size_t)iy * a->w + ix) * C;
            }
        }
        size_t c = 0;

#ifdef NN_WINO_X86
        if (w->m->simd)
            c = nn_wino_input8(p, v, nt, t, C);
#endif
        for (; c < C; c++) {
            float d[16], r[16];

            for (int k = 0; k < 16; k++)
                d[k] = p[k][c];
            /* r = Bt d, Bt = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
            for (int j = 0; j < 4; j++) {
                r[0 + j] = d[0 + j] - d[8 + j];
                r[4 + j] = d[4 + j] + d[8 + j];
                r[8 + j] = d[8 + j] - d[4 + j];
                r[12 + j] = d[4 + j] - d[12 + j];
            }
            /* v = r B */
            for (int i = 0; i < 4; i++) {
                const float *q = r + i * 4;
                size_t base = (size_t)(i * 4) * nt * C + t * C + c;

                v[base] = q[0] - q[2];
                v[base + nt * C] = q[1] + q[2];
                v[base + 2 * nt * C] = q[2] - q[1];
                v[base + 3 * nt * C] = q[1] - q[3];
            }
        }
    }
}

/* Output transform of m[16][nt][OC] into the output, then the epilogue. */
static void nn_wino_output(const struct nn_wino_ctx *w, int b, size_t t0,
                           size_t nt, const float *restrict mm)
{
    const struct nn_conv_args *a = w->a;
    const size_t O = (size_t)a->oc;
    size_t img = (size_t)b * a->oh * a->ow * O;

    for (size_t t = 0; t < nt; t++) {
        int ty = (int)((t0 + t) / (size_t)w->tiles_x);
        int tx = (int)((t0 + t) % (size_t)w->tiles_x);
        float *dst[4];
        bool ok[4];

        for (int k = 0; k < 4; k++) {
            int oy = ty * 2 + k / 2, ox = tx * 2 + k % 2;

            ok[k] = oy < a->oh && ox < a->ow;
            dst[k] = a->out + img + ((size_t)oy * a->ow + ox) * O;
        }
        size_t o = 0;

#ifdef NN_WINO_X86
        if (w->m->simd)
            o = nn_wino_output8(mm, nt, t, O, dst, ok);
#endif
        for (; o < O; o++) {
            float q[16], s[8];

            for (int k = 0; k < 16; k++)
                q[k] = mm[(size_t)k * nt * O + t * O + o];
            /* s = At q, At = [1 1 1 0; 0 1 -1 -1] */
            for (int j = 0; j < 4; j++) {
                s[j] = q[j] + q[4 + j] + q[8 + j];
                s[4 + j] = q[4 + j] - q[8 + j] - q[12 + j];
            }
            /* y = s A */
            float y0 = s[0] + s[1] + s[2], y1 = s[1] - s[2] - s[3];
            float y2 = s[4] + s[5] + s[6], y3 = s[5] - s[6] - s[7];

            if (ok[0])
                dst[0][o] = y0;
            if (ok[1])
                dst[1][o] = y1;
            if (ok[2])
                dst[2][o] = y2;
            if (ok[3])
                dst[3][o] = y3;
        }
        for (int k = 0; k < 4; k++) {
            if (!ok[k] || (!a->bias && !a->residual && a->act == NN_ACT_NONE))
                continue;
            nn_apply_act(dst[k], O, (int)O, a->bias,
                         a->residual ? a->residual + (dst[k] - a->out) : NULL,
                         a->act, a->alpha, a->simd);
        }
    }
}

static void nn_wino_blocks(void *ctx, size_t begin, size_t end, int thread)
{
    struct nn_wino_ctx *w = ctx;
    const struct nn_conv_args *a = w->a;
    float *v = a->scratch +
               (size_t)thread * (w->m->scratch_per_thread / sizeof(float));
    float *mm = v + 16 * (size_t)NN_WINO_TILES * (size_t)a->c;
    float *zero = mm + 16 * (size_t)NN_WINO_TILES * (size_t)a->oc;

    memset(zero, 0, (size_t)a->c * sizeof(float));

    for (size_t blk = begin; blk < end; blk++) {
        int b = (int)(blk / w->blocks);
        size_t t0 = (blk % w->blocks) * w->per_block;
        size_t nt = w->tiles - t0 < w->per_block ? w->tiles - t0
                                                 : w->per_block;

        nn_wino_input(w, b, t0, nt, v, zero);
        for (int k = 0; k < 16; k++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nt,
                        a->oc, a->c, 1.0f, v + (size_t)k * nt * a->c, a->c,
                        w->u + (size_t)k * a->c * a->oc, a->oc, 0.0f,
                        mm + (size_t)k * nt * a->oc, a->oc);
        nn_wino_output(w, b, t0, nt, mm);
    }
}

/*
 * Run the convolution; u is nn_winograd_filter() of the filter, and
 * a->scratch contains nn_winograd_scratch() bytes per thread.
 */
void nn_winograd(struct nn_model *m, const struct nn_conv_args *a,
                 const float *u)
{
    struct nn_wino_ctx w = {a, u, m, (a->ow + 1) / 2, (a->oh + 1) / 2, 0, 0,
                            0};
    size_t threads = (size_t)nn_pool_threads(m->pool);

    w.tiles = (size_t)w.tiles_x * w.tiles_y;
    w.per_block = NN_WINO_TILES;
    size_t parts = threads > 1 ? threads * NN_BLOCKS_PER_THREAD : 1;

    /* Small feature maps: see NN_BLOCKS_PER_THREAD. */
    if (a->n == 1 && (w.tiles + parts - 1) / parts < w.per_block)
        w.per_block = (w.tiles + parts - 1) / parts;
    if (parts > 1 && w.per_block < NN_MIN_BLOCK_PIXELS / 4)
        w.per_block = NN_MIN_BLOCK_PIXELS / 4;
    if (w.per_block == 0)
        return;
    w.blocks = (w.tiles + w.per_block - 1) / w.per_block;
    nn_pool_run(m->pool, w.blocks * (size_t)a->n, nn_wino_blocks, &w);
}
