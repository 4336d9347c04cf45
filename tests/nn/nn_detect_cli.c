/* Stand-alone driver for vmsctl_detect_main: nn_detect_cli detect ARGS. */
#include "vmsctl/detect.h"

int main(int argc, char **argv)
{
    return vmsctl_detect_main(argc - 1, argv + 1);
}
