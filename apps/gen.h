/* SPDX-License-Identifier: MIT */
/*
 * The traffic generator behind `udp send` (apps/gen.c): stamped datagrams,
 * paced against the run's budget, one submission per burst.
 */
#ifndef SALVO_APPS_GEN_H
#define SALVO_APPS_GEN_H

#include <salvo/run.h>

extern const struct salvo_app salvo_app_gen;

#endif
