/* SPDX-License-Identifier: MIT */
/*
 * The doctor line both raw backends (af_packet, af_xdp) end with: can raw
 * frames be sent and received on lo, the interface `salvo backends` probes.
 * Private to backends/.
 */
#ifndef SALVO_DOCTOR_RAW_H
#define SALVO_DOCTOR_RAW_H

#include <stddef.h>

#include <salvo/cfg.h>
#include <salvo/doctor.h>

/*
 * Run probe on an L2 tx+rx configuration of lo and add "<backend>.raw":
 * OK, or FAIL with probe's reason and fix as the remedy.
 */
void salvo__doctor_raw_lo(struct salvo_doctor_report *r, const char *backend,
			  int (*probe)(const struct salvo_cfg *cfg, char *why, size_t len),
			  const char *fix);

#endif
