/*
 * `vmsctl detect`: decodes an image or the frames of a video, runs the
 * centernet or nanodet detector and prints the detections.
 */
#include "vmsctl/detect.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "nn/nn_detect.h"
#include "nn/nn_image.h"

#define DETECT_MAX 256

static void detect_usage(FILE *f)
{
    fprintf(f,
        "usage: vmsctl detect IMAGE|VIDEO [options]\n"
        "  --model NAME      centernet (default) or nanodet\n"
        "  --png OUT         draw the boxes of the last processed frame "
        "into OUT\n"
        "  --models DIR      model directory (default $VMS_MODELS_DIR, "
        "else " VMS_INSTALLED_MODELS_DIR " when it exists, else ./models)\n"
        "  --threads N       inference threads (default 1)\n"
        "  --score S         minimum score, 0..1 (default 0.3)\n"
        "  --iou I           NMS overlap limit, 0..1 (default 0.5)\n"
        "  --letterbox       keep the aspect ratio and pad (default: "
        "stretch)\n"
        "  --every N         process every Nth video frame (default 1)\n"
        "  --max-frames N    stop after N processed frames (default: all)\n");
}

/* Colour of class c for box drawing. */
static void detect_color(int c, uint8_t rgb[3])
{
    static const uint8_t tab[6][3] = {
        {255, 64, 64}, {64, 255, 64}, {64, 128, 255},
        {255, 255, 0}, {255, 0, 255}, {0, 255, 255},
    };

    memcpy(rgb, tab[c % 6], 3);
}

/* Draw a 2-pixel rectangle outline for each detection. */
static void detect_draw(const struct nn_rgb_frame *f,
                        const struct nn_detection *d, int n)
{
    for (int i = 0; i < n; i++) {
        int x1 = (int)d[i].x1, y1 = (int)d[i].y1;
        int x2 = (int)d[i].x2 - 1, y2 = (int)d[i].y2 - 1;
        uint8_t col[3];

        detect_color(d[i].class_id, col);
        for (int y = y1; y <= y2; y++) {
            for (int x = x1; x <= x2; x++) {
                bool edge = x - x1 < 2 || x2 - x < 2 || y - y1 < 2 ||
                            y2 - y < 2;

                if (!edge || x < 0 || y < 0 || x >= f->width ||
                    y >= f->height)
                    continue;
                memcpy(f->data + (size_t)y * f->stride + (size_t)x * 3, col,
                       3);
            }
        }
    }
}

static int detect_parse_float(const char *s, float lo, float hi, float *out)
{
    char *end;
    float v = strtof(s, &end);

    if (*end || end == s || !(v >= lo && v <= hi))
        return -EINVAL;
    *out = v;
    return 0;
}

static int detect_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*end || end == s || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

int vmsctl_detect_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},
        {"png", required_argument, NULL, 'p'},
        {"models", required_argument, NULL, 'd'},
        {"threads", required_argument, NULL, 't'},
        {"score", required_argument, NULL, 's'},
        {"iou", required_argument, NULL, 'i'},
        {"letterbox", no_argument, NULL, 'l'},
        {"every", required_argument, NULL, 'e'},
        {"max-frames", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct nn_detect_params params;
    enum nn_detector_kind kind = NN_DETECTOR_CENTERNET;
    const char *png = NULL, *models = getenv("VMS_MODELS_DIR");
    long threads = 1, every = 1, max_frames = -1;
    nn_detector *det = NULL;
    nn_frame_reader *reader = NULL;
    struct nn_detection dets[DETECT_MAX];
    struct nn_rgb_frame frame = {0};
    char err[1024] = "";
    int c, rc, status = 1, processed = 0, last_n = 0;

    nn_detect_params_default(&params);
    /* FFmpeg's own warnings (such as deprecated YUVJ formats) are noise. */
    av_log_set_level(AV_LOG_ERROR);
    if (!models || !models[0])
        models = access(VMS_INSTALLED_MODELS_DIR, R_OK) == 0
                     ? VMS_INSTALLED_MODELS_DIR
                     : "models";
    /*
     * The caller may have run getopt already; 0 makes glibc reinitialise
     * its permutation state, which optind = 1 does not.
     */
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (nn_detector_kind_parse(optarg, &kind) < 0) {
                fprintf(stderr, "detect: invalid --model '%s'; use "
                        "centernet or nanodet\n", optarg);
                return 2;
            }
            break;
        case 'p':
            png = optarg;
            break;
        case 'd':
            models = optarg;
            break;
        case 't':
            if (detect_parse_int(optarg, 1, 64, &threads) < 0) {
                fprintf(stderr, "detect: invalid --threads '%s'; use 1 to "
                        "64\n", optarg);
                return 2;
            }
            break;
        case 's':
            if (detect_parse_float(optarg, 0, 1, &params.score_threshold) <
                0) {
                fprintf(stderr, "detect: invalid --score '%s'; use a value "
                        "from 0 to 1\n", optarg);
                return 2;
            }
            break;
        case 'i':
            if (detect_parse_float(optarg, 0, 1, &params.iou_threshold) < 0) {
                fprintf(stderr, "detect: invalid --iou '%s'; use a value "
                        "from 0 to 1\n", optarg);
                return 2;
            }
            break;
        case 'l':
            params.letterbox = true;
            break;
        case 'e':
            if (detect_parse_int(optarg, 1, 1000000, &every) < 0) {
                fprintf(stderr, "detect: invalid --every '%s'\n", optarg);
                return 2;
            }
            break;
        case 'n':
            if (detect_parse_int(optarg, 1, 1L << 30, &max_frames) < 0) {
                fprintf(stderr, "detect: invalid --max-frames '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            detect_usage(stdout);
            return 0;
        default:
            detect_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        detect_usage(stderr);
        return 2;
    }
    rc = nn_detector_open(models, kind, (int)threads, &det, err,
                          sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "detect: %s\n", err);
        goto done;
    }
    rc = nn_frame_reader_open(argv[optind], &reader, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "detect: %s\n", err);
        goto done;
    }
    while ((rc = nn_frame_reader_next(reader, &frame, err, sizeof(err))) >
           0) {
        int n = 0;

        if (frame.index % every != 0)
            continue;
        rc = nn_detector_run(det, frame.data, frame.width, frame.height,
                             frame.stride, &params, dets, DETECT_MAX, &n,
                             err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "detect: frame %lld: %s\n",
                    (long long)frame.index, err);
            goto done;
        }
        for (int i = 0; i < n; i++)
            printf("frame=%lld time=%.3f class=%s score=%.3f "
                   "box=%.1f,%.1f,%.1f,%.1f\n",
                   (long long)frame.index, frame.seconds < 0 ? 0
                                                             : frame.seconds,
                   nn_coco_label(dets[i].class_id), dets[i].score,
                   dets[i].x1, dets[i].y1, dets[i].x2, dets[i].y2);
        last_n = n;
        processed++;
        if (png) {
            detect_draw(&frame, dets, last_n);
            rc = nn_write_png(png, frame.data, frame.width, frame.height,
                              frame.stride, err, sizeof(err));
            if (rc < 0) {
                fprintf(stderr, "detect: %s\n", err);
                goto done;
            }
        }
        if (max_frames > 0 && processed >= max_frames)
            break;
    }
    if (rc < 0) {
        fprintf(stderr, "detect: %s\n", err);
        goto done;
    }
    if (processed == 0) {
        fprintf(stderr, "detect: '%s' contains no decodable video frame\n",
                argv[optind]);
        goto done;
    }
    fflush(stdout);
    status = 0;

done:
    nn_frame_reader_close(reader);
    nn_detector_free(det);
    return status;
}
