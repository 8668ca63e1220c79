// SPDX-License-Identifier: MIT
/* One doctor check for both raw backends, so their verdicts on lo cannot drift apart. */
#include <stdio.h>

#include "doctor_raw.h"

void salvo__doctor_raw_lo(struct salvo_doctor_report *r, const char *backend,
			  int (*probe)(const struct salvo_cfg *cfg, char *why, size_t len),
			  const char *fix)
{
	struct salvo_cfg cfg;
	char check[48], why[256];

	snprintf(check, sizeof(check), "%s.raw", backend);
	salvo_cfg_init(&cfg);
	cfg.proto = SALVO_PROTO_L2;
	cfg.iface = "lo";
	cfg.dir = SALVO_DIR_TX | SALVO_DIR_RX;
	cfg.probe_host_only = true;	/* lo stands for the machine; its MTU is not the question */
	if (probe(&cfg, why, sizeof(why)))
		salvo_doctor_add(r, check, SALVO_DOCTOR_FAIL, backend, fix, "raw frames unavailable: %s",
				 why);
	else
		salvo_doctor_add(r, check, SALVO_DOCTOR_OK, backend, "", "raw frames available");
}
