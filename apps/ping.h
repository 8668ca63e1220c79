/* SPDX-License-Identifier: MIT */
/*
 * `udp ping` (apps/ping.c).
 */
#ifndef SALVO_APPS_PING_H
#define SALVO_APPS_PING_H

#include <salvo/run.h>

/*
 * udp ping: no arg.  Every request carries a stamp (cfg->size >= 32 bytes);
 * a reply whose stamp matches the outstanding request records its round
 * trip in w->lat; no matching reply within cfg->timeout_ms is a timeout.
 * One request is outstanding per worker; --rate spaces them.
 */

extern const struct salvo_app salvo_app_ping;

#endif
