/* SPDX-License-Identifier: MIT */
/*
 * The raw-frame sender (frames/rawgen.c).
 */
#ifndef SALVO_RAWGEN_H
#define SALVO_RAWGEN_H

#include <salvo/run.h>

/*
 * The raw-frame traffic generator app (frames/rawgen.c): like salvo_app_gen
 * but frames come from a salvo_pktgen made from cfg->l2, written straight
 * into the port's buffers (for af_packet: the mmapped tx ring).  Pacing,
 * tx quota, counters and end-of-run drain follow gen.c.
 */
extern const struct salvo_app salvo_app_rawgen;

#endif
