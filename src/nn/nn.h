/*
 * Neural-network runtime for TensorFlow.js graph models (model.json plus
 * weight shards).  A model is loaded, planned for its fixed input shape and
 * then run any number of times without allocating memory.
 *
 * Errors are returned as negative errno-style codes; functions that take an
 * error buffer write a message naming the model, the node and the op there.
 */
#ifndef VMS_NN_H
#define VMS_NN_H

#include <stddef.h>
#include <stdint.h>

#define NN_MAX_DIMS 6

typedef struct nn_model nn_model;

enum nn_dtype {
    NN_DTYPE_FLOAT32 = 1,
    NN_DTYPE_INT32,
    NN_DTYPE_BOOL,              /* one byte per element, 0 or 1 */
};

/* Options for nn_model_open.  A zeroed struct selects the defaults. */
struct nn_options {
    /*
     * Threads for OpenBLAS and for the runtime's own kernels; 0 means 1,
     * at most 64 (more is an error).
     */
    int threads;
    /*
     * SHA-256 manifest ("<hex>  <model dir name>/<file>" per line) that
     * the model's files must match.  NULL selects MANIFEST.sha256 in the
     * parent of the model's directory.
     */
    const char *manifest_path;
    /* Non-zero skips the hash check, for models built by tests. */
    int skip_hash_check;
    /*
     * Disable kernel fusion, or the hand-written AVX2 and AVX-512 kernels
     * in favour of portable C (used by tests).  The AVX2 clones of the
     * portable loops still run on AVX2 CPUs.
     */
    int no_fusion;
    int no_simd;
    int no_winograd;            /* 3x3 convolutions by im2col only */
    int no_avx512;              /* AVX2 depthwise kernels on AVX-512 CPUs */
    /* Reject any tensor or arena above this many bytes; 0: no limit. */
    size_t max_tensor_bytes;
};

/* A view of a tensor owned by the model; valid until the next run/free. */
struct nn_tensor_info {
    const char *name;
    enum nn_dtype dtype;
    int ndim;
    int64_t dims[NN_MAX_DIMS];
    int64_t count;
    void *data;
};

/*
 * Load, verify and plan the graph model at json_path.  On success *out
 * receives a model that the caller owns and frees with nn_model_free.
 * err (may be NULL) receives a message on failure.
 */
int nn_model_open(const char *json_path, const struct nn_options *opt,
                  nn_model **out, char *err, size_t errlen);

/*
 * Same as nn_model_open, with the model JSON text and the concatenated
 * weight data given in memory (used by tests and the fuzzer).  name is
 * used in messages.  The buffers are copied as needed and may be freed
 * after the call.
 */
int nn_model_open_memory(const char *name, const char *json, size_t json_len,
                         const void *weights, size_t weights_len,
                         const struct nn_options *opt, nn_model **out,
                         char *err, size_t errlen);

void nn_model_free(nn_model *model);

/*
 * Set the thread count used by later runs (OpenBLAS and own threads).
 * Returns -EINVAL for more than 64 threads.
 */
int nn_model_set_threads(nn_model *model, int threads);

int nn_model_input_count(const nn_model *model);
int nn_model_output_count(const nn_model *model);

/* Describe input or output i; data points into the model's memory. */
int nn_model_input(nn_model *model, int i, struct nn_tensor_info *info);
int nn_model_output(nn_model *model, int i, struct nn_tensor_info *info);

/* Find an output by name ("name" and "name:0" both match). */
int nn_model_output_by_name(nn_model *model, const char *name,
                            struct nn_tensor_info *info);

/* Run the graph on the data currently in the input tensors. */
int nn_model_run(nn_model *model, char *err, size_t errlen);

/* Model name used in messages (the model's directory name). */
const char *nn_model_name(const nn_model *model);

/* Multiply-add count of convolutions per run, times two (FLOP). */
double nn_model_flops(const nn_model *model);

/* Per-op-type timing of the last runs, for benchmarks. */
void nn_model_set_profiling(nn_model *model, int on);
/* Write a per-op time table to buf; returns characters written. */
size_t nn_model_profile_report(const nn_model *model, char *buf, size_t len);

#endif
