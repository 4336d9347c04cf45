/*
 * Stand-alone driver for vmsctl_detect_main: nn_detect_cli detect ARGS.
 * Like vmsctl's main it parses its own options with getopt first, so the
 * test also covers getopt state left behind by the caller.
 */
#include <getopt.h>
#include <stddef.h>

#include "vmsctl/detect.h"

int main(int argc, char **argv)
{
    static const struct option opts[] = {{NULL, 0, NULL, 0}};

    while (getopt_long(argc, argv, "+", opts, NULL) != -1)
        ;
    if (optind >= argc)
        return 2;
    return vmsctl_detect_main(argc - optind, argv + optind);
}
