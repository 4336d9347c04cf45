/*
 * Test helper: decodes images and video frames and writes the prepared
 * input tensor of each model, plus cases.json describing them, for the
 * TensorFlow.js reference script and test_nn_models.
 *
 * usage: nn_prep MODELS_DIR OUT_DIR NAME=PATH[@FRAME] ...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>

#include "nn/nn_detect.h"
#include "nn/nn_image.h"

static int prep_write(const char *path, const void *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, bytes, f) != bytes) {
        fprintf(stderr, "nn_prep: cannot write %s\n", path);
        if (f)
            fclose(f);
        return -EIO;
    }
    return fclose(f) == 0 ? 0 : -EIO;
}

int main(int argc, char **argv)
{
    const char *kinds[2] = {"centernet", "nanodet"};
    nn_detector *det[2] = {NULL, NULL};
    struct nn_detect_params p;
    char err[1024], path[4096];
    FILE *cases;
    int first = 1;

    if (argc < 4) {
        fprintf(stderr, "usage: nn_prep MODELS_DIR OUT_DIR "
                "NAME=PATH[@FRAME] ...\n");
        return 2;
    }
    nn_detect_params_default(&p);
    av_log_set_level(AV_LOG_ERROR);
    for (int k = 0; k < 2; k++) {
        if (nn_detector_open(argv[1], (enum nn_detector_kind)k, 1, &det[k],
                             err, sizeof(err)) < 0) {
            fprintf(stderr, "nn_prep: %s\n", err);
            return 1;
        }
    }
    snprintf(path, sizeof(path), "%s/cases.json", argv[2]);
    cases = fopen(path, "w");
    if (!cases) {
        fprintf(stderr, "nn_prep: cannot write %s\n", path);
        return 1;
    }
    fprintf(cases, "[\n");
    for (int a = 3; a < argc; a++) {
        char spec[4096], *eq, *at;
        long frame_no = 0;
        nn_frame_reader *r;
        struct nn_rgb_frame f;
        int rc;

        snprintf(spec, sizeof(spec), "%s", argv[a]);
        eq = strchr(spec, '=');
        if (!eq) {
            fprintf(stderr, "nn_prep: '%s' is not NAME=PATH\n", spec);
            return 2;
        }
        *eq = '\0';
        at = strrchr(eq + 1, '@');
        if (at) {
            *at = '\0';
            frame_no = strtol(at + 1, NULL, 10);
        }
        if (nn_frame_reader_open(eq + 1, &r, err, sizeof(err)) < 0) {
            fprintf(stderr, "nn_prep: %s\n", err);
            return 1;
        }
        do {
            rc = nn_frame_reader_next(r, &f, err, sizeof(err));
        } while (rc > 0 && f.index < frame_no);
        if (rc <= 0) {
            fprintf(stderr, "nn_prep: no frame %ld in %s\n", frame_no,
                    eq + 1);
            return 1;
        }
        for (int k = 0; k < 2; k++) {
            struct nn_geometry g;
            struct nn_tensor_info in;

            nn_detector_prepare(det[k], f.data, f.width, f.height, f.stride,
                                &p, &g);
            nn_model_input(nn_detector_model(det[k]), 0, &in);
            snprintf(path, sizeof(path), "%s/%s.%s.in.f32", argv[2], spec,
                     kinds[k]);
            if (prep_write(path, in.data, (size_t)in.count * 4) < 0)
                return 1;
            fprintf(cases, "%s {\"name\": \"%s.%s\", \"model\": \"%s\", "
                    "\"input\": \"%s.%s.in.f32\", \"src_w\": %d, "
                    "\"src_h\": %d, \"scale_x\": %.9g, \"scale_y\": %.9g, "
                    "\"pad_x\": %g, \"pad_y\": %g}",
                    first ? "" : ",\n", spec, kinds[k], kinds[k], spec,
                    kinds[k], g.src_w, g.src_h, g.scale_x, g.scale_y,
                    g.pad_x, g.pad_y);
            first = 0;
        }
        nn_frame_reader_close(r);
    }
    fprintf(cases, "\n]\n");
    fclose(cases);
    nn_detector_free(det[0]);
    nn_detector_free(det[1]);
    return 0;
}
