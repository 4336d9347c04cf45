/* `vmsctl discover`, `vmsctl adopt` and `vmsctl ptz`: ONVIF cameras. */
#ifndef VMS_VMSCTL_ONVIF_H
#define VMS_VMSCTL_ONVIF_H

#include "vmsctl/client.h"

/* Returns 1 if command is one of the ONVIF commands, else 0. */
int vmsctl_onvif_command(const char *command);

/* Runs an ONVIF command. argv[0] is the command name and the result is
 * the process exit status. */
int vmsctl_onvif_main(const vmsctl_client_t *client, int argc, char **argv);

#endif
