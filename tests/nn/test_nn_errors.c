/*
 * Bad model files must fail to load with a clear message naming the
 * model, node and op: truncated shard, wrong shape, unknown op, missing
 * input, NaN weight, cycle, hash mismatch and missing files.
 *
 * usage: test_nn_errors MODELS_DIR WORK_DIR
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/nn.h"

static int passed, failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

static int write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;

    if (f)
        fclose(f);
    return ok ? 0 : -1;
}

/* Replace the first occurrence of from with to; returns a new string. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    size_t a, b = strlen(from), c = strlen(to), n = strlen(s);
    char *out;

    if (!p)
        return NULL;
    a = (size_t)(p - s);
    out = malloc(n - b + c + 1);
    memcpy(out, s, a);
    memcpy(out + a, to, c);
    strcpy(out + a + c, p + b);
    return out;
}

/* Load json text with weights from memory; returns rc, message in err. */
static int load_mem(const char *json, const void *w, size_t wlen, char *err,
                    size_t errlen)
{
    struct nn_options opt = {.skip_hash_check = 1};
    nn_model *m = NULL;
    int rc;

    err[0] = '\0';
    rc = nn_model_open_memory("centernet", json, strlen(json), w, wlen, &opt,
                              &m, err, errlen);
    nn_model_free(m);
    return rc;
}

static void expect_error(const char *what, int rc, const char *err,
                         const char *const *needles)
{
    CHECK(rc < 0, "%s: load succeeded", what);
    for (int i = 0; needles[i]; i++)
        CHECK(strstr(err, needles[i]) != NULL, "%s: message '%s' lacks '%s'",
              what, err, needles[i]);
    printf("%-18s -> %s\n", what, err);
}

static void test_real_model(const char *models)
{
    char path[4096], err[1024];
    size_t jlen, blen;
    char *json, *bin, *bad;
    int rc;

    snprintf(path, sizeof(path), "%s/centernet/centernet.json", models);
    json = read_all(path, &jlen);
    snprintf(path, sizeof(path), "%s/centernet/centernet.bin", models);
    bin = read_all(path, &blen);
    CHECK(json != NULL, "cannot read the installed centernet.json");
    CHECK(bin != NULL, "cannot read the installed centernet.bin");
    if (!json || !bin)
        return;

    rc = load_mem(json, bin, blen, err, sizeof(err));
    CHECK(rc == 0, "intact model fails: %s", err);

    rc = load_mem(json, bin, blen - 1000, err, sizeof(err));
    expect_error("truncated shard", rc, err, (const char *const[]){
        "model centernet", "(op Const)", "truncated", NULL});

    /* Same byte count, transposed filter shape: the conv must reject it. */
    bad = replace(json, "\"shape\":[3,3,3,16]", "\"shape\":[3,3,16,3]");
    if (!bad)
        bad = replace(json, "\"shape\": [3, 3, 3, 16]",
                      "\"shape\": [3, 3, 16, 3]");
    CHECK(bad != NULL, "first conv filter shape not found in the JSON");
    if (bad) {
        rc = load_mem(bad, bin, blen, err, sizeof(err));
        expect_error("wrong shape", rc, err, (const char *const[]){
            "model centernet", "tower_0/MobilenetV3/Conv/BatchNorm",
            "(op _FusedConv2D)", "input channels", NULL});
        free(bad);
    }

    bad = replace(json, "\"op\":\"Sigmoid\"", "\"op\":\"Softplus\"");
    if (!bad)
        bad = replace(json, "\"op\": \"Sigmoid\"", "\"op\": \"Softplus\"");
    CHECK(bad != NULL, "Sigmoid op not found in the JSON");
    if (bad) {
        rc = load_mem(bad, bin, blen, err, sizeof(err));
        expect_error("unknown op", rc, err, (const char *const[]){
            "model centernet", "(op Softplus)", "unknown op", NULL});
        free(bad);
    }

    bad = replace(json, "\"tower_0/CenternetHead/concat\"",
                  "\"tower_0/CenternetHead/no_such_node\"");
    if (bad && strstr(bad, "no_such_node")) {
        rc = load_mem(bad, bin, blen, err, sizeof(err));
        CHECK(rc < 0, "missing input: load succeeded");
        printf("%-18s -> %s\n", "missing input", err);
        CHECK(strstr(err, "missing input") || strstr(err, "no_such_node") ||
              strstr(err, "not a node"),
              "missing input: message '%s'", err);
    }
    free(bad);
    free(json);
    free(bin);
}

static const char *const small_model_fmt =
    "{\"modelTopology\":{\"node\":["
    "{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{\"shape\":{\"shape\":"
    "{\"dim\":[{\"size\":\"2\"}]}}}},"
    "{\"name\":\"w\",\"op\":\"Const\"},"
    "{\"name\":\"y\",\"op\":\"%s\",\"input\":[\"x\",\"%s\"]},"
    "{\"name\":\"z\",\"op\":\"Mul\",\"input\":[\"y\",\"w\"]}]},"
    "\"signature\":{\"outputs\":{\"z\":{\"name\":\"z\"}}},"
    "\"weightsManifest\":[{\"paths\":[],\"weights\":[{\"name\":\"w\","
    "\"shape\":[2],\"dtype\":\"float32\"}]}]}";

static void test_small_models(void)
{
    char json[2048], err[1024];
    float w[2] = {1.0f, NAN};
    float ok[2] = {1.0f, 2.0f};
    int rc;

    snprintf(json, sizeof(json), small_model_fmt, "Add", "w");
    rc = load_mem(json, w, sizeof(w), err, sizeof(err));
    expect_error("NaN weight", rc, err, (const char *const[]){
        "node 'w'", "(op Const)", "NaN", NULL});

    rc = load_mem(json, ok, sizeof(ok), err, sizeof(err));
    CHECK(rc == 0, "small model fails: %s", err);

    rc = load_mem(json, ok, 4, err, sizeof(err));
    expect_error("short weights", rc, err, (const char *const[]){
        "node 'w'", "truncated", NULL});

    snprintf(json, sizeof(json), small_model_fmt, "Add", "z");
    rc = load_mem(json, ok, sizeof(ok), err, sizeof(err));
    expect_error("cycle", rc, err, (const char *const[]){"cycle", NULL});

    snprintf(json, sizeof(json), small_model_fmt, "Add", "nothing:3");
    rc = load_mem(json, ok, sizeof(ok), err, sizeof(err));
    expect_error("missing input", rc, err, (const char *const[]){
        "node 'y'", "(op Add)", "missing input 'nothing:3'", NULL});

    rc = load_mem("{\"modelTopology\": [", ok, sizeof(ok), err,
                  sizeof(err));
    expect_error("invalid JSON", rc, err, (const char *const[]){
        "invalid JSON", NULL});

    struct nn_options many = {.skip_hash_check = 1, .threads = 65};
    nn_model *m = NULL;

    snprintf(json, sizeof(json), small_model_fmt, "Add", "w");
    rc = nn_model_open_memory("centernet", json, strlen(json), ok,
                              sizeof(ok), &many, &m, err, sizeof(err));
    nn_model_free(m);
    expect_error("65 threads", rc, err, (const char *const[]){
        "65 threads requested", "at most 64", NULL});
    CHECK(rc == -EINVAL, "65 threads returns %d, expected -EINVAL", rc);
}

/* Copy the installed centernet into work/centernet with a manifest. */
static void test_hashes(const char *models, const char *work)
{
    char src[4096], dst[4096], err[1024], manifest[4096];
    size_t len;
    char *data;
    struct nn_options opt = {0};
    nn_model *m = NULL;
    int rc;

    snprintf(dst, sizeof(dst), "%s/centernet", work);
    mkdir(work, 0755);
    mkdir(dst, 0755);
    for (int i = 0; i < 2; i++) {
        const char *f = i ? "centernet.bin" : "centernet.json";

        snprintf(src, sizeof(src), "%s/centernet/%s", models, f);
        data = read_all(src, &len);
        snprintf(dst, sizeof(dst), "%s/centernet/%s", work, f);
        CHECK(data != NULL, "cannot read %s", src);
        if (data)
            CHECK(write_all(dst, data, len) == 0, "cannot write %s", dst);
        free(data);
    }
    /* The committed manifest accepts the copy. */
    snprintf(src, sizeof(src), "%s/MANIFEST.sha256", models);
    opt.manifest_path = src;
    snprintf(dst, sizeof(dst), "%s/centernet/centernet.json", work);
    rc = nn_model_open(dst, &opt, &m, err, sizeof(err));
    CHECK(rc == 0, "verified load fails: %s", err);
    nn_model_free(m);
    m = NULL;

    /* A manifest with one changed digit rejects it. */
    data = read_all(src, &len);
    CHECK(data != NULL, "cannot read %s", src);
    if (!data)
        return;
    char *line = strstr(data, "  centernet/centernet.bin");

    CHECK(line != NULL, "manifest has no centernet.bin entry");
    if (line) {
        char *digit = line - 64;

        *digit = *digit == '0' ? '1' : '0';
    }
    snprintf(manifest, sizeof(manifest), "%s/MANIFEST.sha256", work);
    write_all(manifest, data, len);
    free(data);
    opt.manifest_path = NULL;   /* default: ../MANIFEST.sha256 */
    rc = nn_model_open(dst, &opt, &m, err, sizeof(err));
    expect_error("hash mismatch", rc, err, (const char *const[]){
        "model centernet", "SHA-256 of 'centernet/centernet.bin'",
        "fetch-models", NULL});
    CHECK(rc == -EBADMSG, "hash mismatch returns %d, expected -EBADMSG",
          rc);
    nn_model_free(m);

    snprintf(dst, sizeof(dst), "%s/nanodet/nanodet.json", work);
    rc = nn_model_open(dst, &opt, &m, err, sizeof(err));
    expect_error("missing model", rc, err, (const char *const[]){
        "cannot read", "fetch-models", NULL});

    /* A model directory in place of its JSON file names the file. */
    snprintf(dst, sizeof(dst), "%s/centernet", work);
    rc = nn_model_open(dst, &opt, &m, err, sizeof(err));
    expect_error("model directory", rc, err, (const char *const[]){
        "Is a directory", "centernet/centernet.json", NULL});
    CHECK(rc == -EISDIR, "directory returns %d, expected -EISDIR", rc);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_nn_errors MODELS_DIR WORK_DIR\n");
        return 2;
    }
    test_small_models();
    test_real_model(argv[1]);
    test_hashes(argv[1], argv[2]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
