/* SPDX-License-Identifier: MIT */
/*
 * Request/reply client behind `udp send --message` (apps/request.c): sends
 * cfg->message, waits for one reply per request (app.arg may point to a
 * struct salvo_sink_hooks whose on_packet sees it); a missing reply is an
 * error.
 */
#ifndef SALVO_APPS_REQUEST_H
#define SALVO_APPS_REQUEST_H

#include <salvo/run.h>

#include "apps/sink.h"

extern const struct salvo_app salvo_app_request;

#endif
