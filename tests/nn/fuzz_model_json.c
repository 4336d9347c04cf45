/*
 * libFuzzer target for the model.json loader and planner.  The input is
 * the model JSON, optionally followed by a NUL byte and the weight data.
 * Loaded models are run once, so folded and executed ops are fuzzed too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nn/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t json_len = nul ? (size_t)(nul - data) : size;
    const uint8_t *weights = nul ? nul + 1 : NULL;
    size_t weights_len = nul ? size - json_len - 1 : 0;
    struct nn_options opt = {
        .threads = 1,
        .skip_hash_check = 1,
        .max_tensor_bytes = 4u << 20,
    };
    char err[512];
    nn_model *m = NULL;

    if (nn_model_open_memory("fuzz", (const char *)data, json_len, weights,
                             weights_len, &opt, &m, err, sizeof(err)) == 0) {
        nn_model_run(m, err, sizeof(err));
        nn_model_free(m);
    }
    return 0;
}
