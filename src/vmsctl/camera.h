/* The `vmsctl camera` subcommands that camera_view.c implements. */
#ifndef VMS_VMSCTL_CAMERA_H
#define VMS_VMSCTL_CAMERA_H

#include "vmsctl/client.h"

/* `camera list`: prints the table of cameras. Returns the exit status. */
int vmsctl_camera_list(const vmsctl_client_t *client, int argc, char **argv);

/* `camera show`: prints one camera. Returns the exit status. */
int vmsctl_camera_show(const vmsctl_client_t *client, int argc, char **argv);

#endif
