/*
 * Benchmark of the nn runtime: ms per inference (median and p90 after
 * warm-up) of each model for each thread count, and the achieved GFLOP/s
 * against the peak of OpenBLAS sgemm measured in the same run.  The run
 * also measures the memory read bandwidth of one thread.  Each model line
 * gives the 1-minute load average at its start and the thread pool's
 * totals per run.  These are the parallel loops, the loops that the
 * calling thread ran alone because no worker got to them in time, the
 * steals, and the time the calling thread waited for items that workers
 * had taken.
 *
 * usage: bench_nn MODELS_DIR [RUNS [WARMUP [THREADS...]]]
 * Prints one JSON object per line.
 *
 * usage: bench_nn --profile MODEL_JSON [RUNS [THREADS]]
 * Prints the minimum time of every planned node over RUNS runs (after one
 * warm-up run) and their sums by kind.  The minimum is the time least
 * disturbed by other processes.  A last line gives the median and minimum
 * of the whole runs and the pool totals per run.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/nn.h"
#include "nn/nn_internal.h"

static double bench_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/*
 * Best GFLOP/s of a square sgemm of size n over 20 repetitions; the best
 * run is the one least disturbed by other processes on a shared machine.
 * The median of the same repetitions goes to *median.  On a busy machine
 * it shows how much of the cores the run got.
 */
static double bench_sgemm_peak(int threads, int n, double *median)
{
    size_t sz = (size_t)n * n;
    float *a = malloc(sz * sizeof(float)), *b = malloc(sz * sizeof(float));
    float *c = malloc(sz * sizeof(float));
    double best = 0, gf[20];

    for (size_t i = 0; i < sz; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.2f;
    }
    openblas_set_num_threads(threads);
    /* The first repetition warms up and is not counted. */
    for (int r = 0; r < 21; r++) {
        double t0 = bench_now_ms();

        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
                    a, n, b, n, 0.0f, c, n);
        if (r == 0)
            continue;
        gf[r - 1] = 2.0 * n * n * (double)n / ((bench_now_ms() - t0) * 1e6);
        if (gf[r - 1] > best)
            best = gf[r - 1];
    }
    qsort(gf, 20, sizeof(double), bench_cmp);
    *median = (gf[9] + gf[10]) / 2;
    free(a);
    free(b);
    free(c);
    return best;
}

/*
 * Best read bandwidth in GB/s of one thread summing a 256 MiB buffer, which
 * no cache holds, over 5 repetitions.  It bounds layers that stream their
 * tensors from DRAM.
 */
static double bench_read_bandwidth(void)
{
    size_t n = (256u << 20) / sizeof(float);
    float *a = malloc(n * sizeof(float));
    double best = 0;
    volatile float sink;

    if (!a)
        return 0;
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i & 7);
    for (int r = 0; r < 5; r++) {
        float s[16] = {0};
        double t0 = bench_now_ms(), gbs;

        for (size_t i = 0; i < n; i += 16)
            for (int j = 0; j < 16; j++)
                s[j] += a[i + j];
        gbs = (double)n * sizeof(float) / ((bench_now_ms() - t0) * 1e6);
        sink = s[0] + s[15];
        (void)sink;
        if (gbs > best)
            best = gbs;
    }
    free(a);
    return best;
}

/* 1-minute load average, or -1 where /proc/loadavg cannot be read. */
static double bench_load(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double load = -1;

    if (f) {
        if (fscanf(f, "%lf", &load) != 1)
            load = -1;
        fclose(f);
    }
    return load;
}

/* Kind of a planned node for the profile sums. */
static const char *bench_kind(const struct nn_model *m,
                              const struct nn_node *n)
{
    const struct nn_tensor *out = &m->tensors[n->out[0]];

    if (n->op == NN_OP_DEPTHWISE)
        return "depthwise";
    if (n->op != NN_OP_CONV2D)
        return "other ops";
    if (m->tensors[n->in[1]].dims[0] > 1)
        return "dense KxK";
    if (out->ndim == 4 && out->dims[1] == 1 && out->dims[2] == 1)
        return "1x1 on 1x1 maps";
    return n->dw_node >= 0 ? "1x1 with fused depthwise" : "1x1";
}

/* The --profile mode; see the file comment. */
static int bench_profile(const char *path, int runs, int threads)
{
    struct nn_options opt = {.threads = threads};
    static const char *kinds[] = {"dense KxK", "1x1 with fused depthwise",
                                  "1x1", "1x1 on 1x1 maps", "depthwise",
                                  "other ops"};
    double sum_ms[6] = {0}, sum_gflop[6] = {0}, total = 0;
    struct nn_tensor_info in;
    struct nn_pool_stats st;
    char err[1024];
    double *best, *whole;
    nn_model *m;

    if (nn_model_open(path, &opt, &m, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_nn: %s\n", err);
        return 1;
    }
    best = malloc((size_t)m->n_nodes * sizeof(double));
    whole = malloc((size_t)runs * sizeof(double));
    nn_model_input(m, 0, &in);
    srand(42);
    for (int64_t i = 0; i < in.count; i++)
        ((float *)in.data)[i] = (float)rand() / RAND_MAX * 255.0f;
    for (int i = 0; i < m->n_nodes; i++)
        best[i] = 1e30;
    for (int r = 0; r <= runs; r++) {
        double t0;

        if (r == 1)
            nn_pool_stats(m->pool, &st, true);
        nn_model_set_profiling(m, 1);
        t0 = bench_now_ms();
        if (nn_model_run(m, err, sizeof(err)) < 0) {
            fprintf(stderr, "bench_nn: %s\n", err);
            return 1;
        }
        if (r > 0)
            whole[r - 1] = bench_now_ms() - t0;
        for (int k = 0; r > 0 && k < m->n_order; k++) {
            int j = m->order[k];

            if (m->nodes[j].time_ms < best[j])
                best[j] = m->nodes[j].time_ms;
        }
    }
    printf("step  ms(min)  MFLOP  op                          node\n");
    for (int k = 0; k < m->n_order; k++) {
        const struct nn_node *n = &m->nodes[m->order[k]];
        const char *kind = bench_kind(m, n);

        printf("%4d %8.3f %6.1f  %-27s %s\n", k, best[m->order[k]],
               n->flops / 1e6, n->op_name, n->name);
        for (int i = 0; i < 6; i++)
            if (strcmp(kind, kinds[i]) == 0) {
                sum_ms[i] += best[m->order[k]];
                sum_gflop[i] += n->flops / 1e9;
            }
        total += best[m->order[k]];
    }
    for (int i = 0; i < 6; i++)
        printf("%-26s %8.2f ms %6.3f GFLOP\n", kinds[i], sum_ms[i],
               sum_gflop[i]);
    printf("%-26s %8.2f ms (%d threads, minimum of %d runs per node)\n",
           "total", total, threads, runs);
    nn_pool_stats(m->pool, &st, false);
    qsort(whole, (size_t)runs, sizeof(double), bench_cmp);
    printf("whole runs: median %.2f ms, minimum %.2f ms; per run %.1f "
           "parallel loops, %.1f run by the caller alone, %.1f steals, "
           "%.2f ms waiting for workers' last items\n",
           whole[(runs - 1) / 2], whole[0], (double)st.loops / runs,
           (double)st.alone / runs, (double)st.steals / runs,
           st.wait_ms / runs);
    free(whole);
    free(best);
    nn_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    const char *models[2] = {"centernet", "nanodet"};
    int runs = argc > 2 ? atoi(argv[2]) : 20;
    int warmup = argc > 3 ? atoi(argv[3]) : 3;
    int threads[8] = {1, 2}, n_threads = 2;
    double peak[8], peak_median[8];
    char err[1024], path[4096];

    if (argc > 2 && strcmp(argv[1], "--profile") == 0) {
        int prof_runs = argc > 3 ? atoi(argv[3]) : 20;
        int prof_threads = argc > 4 ? atoi(argv[4]) : 1;

        if (prof_runs < 1 || prof_threads < 1) {
            fprintf(stderr, "bench_nn: RUNS and THREADS must be at least "
                    "1\n");
            return 2;
        }
        return bench_profile(argv[2], prof_runs, prof_threads);
    }
    if (argc < 2 || runs < 1 || warmup < 0) {
        fprintf(stderr, "usage: bench_nn MODELS_DIR [RUNS [WARMUP "
                "[THREADS...]]]\n       bench_nn --profile MODEL_JSON "
                "[RUNS [THREADS]]\n");
        return 2;
    }
    if (argc > 4) {
        n_threads = 0;
        for (int i = 4; i < argc && n_threads < 8; i++)
            threads[n_threads++] = atoi(argv[i]) > 0 ? atoi(argv[i]) : 1;
    }
    for (int t = 0; t < n_threads; t++) {
        peak[t] = bench_sgemm_peak(threads[t], 1024, &peak_median[t]);
        printf("{\"what\":\"sgemm_peak\",\"threads\":%d,\"size\":1024,"
               "\"gflops\":%.1f,\"median_gflops\":%.1f}\n", threads[t],
               peak[t], peak_median[t]);
    }
    printf("{\"what\":\"read_bandwidth\",\"threads\":1,\"mib\":256,"
           "\"gb_per_s\":%.1f}\n", bench_read_bandwidth());
    /* A peak below the one-thread peak means the cores were busy. */
    for (int t = 1; t < n_threads; t++)
        if (threads[t] > threads[0] && peak[t] < peak[0])
            fprintf(stderr, "bench_nn: sgemm with %d threads is slower than "
                    "with %d; other processes are using the cores\n",
                    threads[t], threads[0]);
    for (int k = 0; k < 2; k++) {
        struct nn_options opt = {.threads = 1};
        nn_model *m;

        snprintf(path, sizeof(path), "%s/%s/%s.json", argv[1], models[k],
                 models[k]);
        if (nn_model_open(path, &opt, &m, err, sizeof(err)) < 0) {
            fprintf(stderr, "bench_nn: %s\n", err);
            return 1;
        }
        struct nn_tensor_info in;

        nn_model_input(m, 0, &in);
        srand(42);
        for (int64_t i = 0; i < in.count; i++)
            ((float *)in.data)[i] = (float)rand() / RAND_MAX *
                                    (k == 0 ? 255.0f : 1.0f);
        for (int t = 0; t < n_threads; t++) {
            double *ms = calloc((size_t)runs, sizeof(double));
            double load = bench_load();
            struct nn_pool_stats st;

            if (nn_model_set_threads(m, threads[t]) < 0) {
                fprintf(stderr, "bench_nn: cannot run %s on %d threads\n",
                        models[k], threads[t]);
                return 1;
            }
            for (int r = 0; r < warmup + runs; r++) {
                if (r == warmup)
                    nn_pool_stats(m->pool, &st, true);
                double t0 = bench_now_ms();

                if (nn_model_run(m, err, sizeof(err)) < 0) {
                    fprintf(stderr, "bench_nn: %s\n", err);
                    return 1;
                }
                if (r >= warmup)
                    ms[r - warmup] = bench_now_ms() - t0;
            }
            qsort(ms, (size_t)runs, sizeof(double), bench_cmp);
            double med = ms[(runs - 1) / 2];
            int i90 = (runs * 9 + 9) / 10 - 1;
            double p90 = ms[i90 < runs ? i90 : runs - 1];
            double gf = nn_model_flops(m) / (med * 1e6);

            nn_pool_stats(m->pool, &st, false);
            printf("{\"what\":\"model\",\"model\":\"%s\",\"threads\":%d,"
                   "\"runs\":%d,\"load\":%.2f,\"median_ms\":%.1f,"
                   "\"p90_ms\":%.1f,\"min_ms\":%.1f,\"gflop\":%.2f,"
                   "\"gflops\":%.1f,\"sgemm_peak_gflops\":%.1f,"
                   "\"percent_of_peak\":%.0f,"
                   "\"percent_of_sgemm_median\":%.0f,"
                   "\"loops_per_run\":%.1f,\"alone_per_run\":%.1f,"
                   "\"steals_per_run\":%.1f,\"wait_ms_per_run\":%.2f}\n",
                   models[k], threads[t], runs, load, med, p90, ms[0],
                   nn_model_flops(m) / 1e9, gf, peak[t],
                   100.0 * gf / peak[t], 100.0 * gf / peak_median[t],
                   (double)st.loops / runs, (double)st.alone / runs,
                   (double)st.steals / runs, st.wait_ms / runs);
            fflush(stdout);
            free(ms);
        }
        nn_model_free(m);
    }
    return 0;
}
