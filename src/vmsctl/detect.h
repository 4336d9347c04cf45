/* `vmsctl detect`: run the object detector on an image or video file. */
#ifndef VMS_VMSCTL_DETECT_H
#define VMS_VMSCTL_DETECT_H

/*
 * Entry point for `vmsctl detect IMAGE|VIDEO [options]`; argv[0] is
 * "detect".  Prints one detection per line to stdout and returns the
 * process exit status (0 success, 1 runtime error, 2 usage error).
 */
int vmsctl_detect_main(int argc, char **argv);

#endif
