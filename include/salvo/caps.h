/* SPDX-License-Identifier: MIT */
/* Capabilities: what raw backends drop once their sockets and rings are set up. */
#ifndef SALVO_CAPS_H
#define SALVO_CAPS_H

#include <stdbool.h>

/*
 * Drop every capability of the calling thread (capabilities are per thread).
 * keep_setid keeps CAP_SETUID and CAP_SETGID, for a --user switch that is
 * still to come; the switch then clears them too.  0 or -errno.
 */
int salvo_caps_drop_thread(bool keep_setid);

#endif
