// SPDX-License-Identifier: MIT
/*
 * Header fields of a raw frame stream from their text forms: shared by
 * `raw send` (options) and `salvo run` (profiles).  A file of its own so the
 * profile fuzzer (tests/fuzz/fuzz_profile.c) links it without the commands.
 */
#include <errno.h>
#include <stdio.h>

#include "frames/pktgen.h"

#include "cmd_raw.h"

int salvo__raw_l2_fields(struct salvo_l2_cfg *l2, const struct salvo__raw_fields *f, char *err,
			 size_t errlen)
{
	int rc;

	l2->family = 0;
#define FIELD(str, fld, kind, fam)                                                         \
	do {                                                                               \
		if ((str) && (rc = salvo_field_parse(&l2->fld, kind, str, fam, err, errlen))) \
			return rc;                                                         \
	} while (0)
	FIELD(f->dst, dst_ip, SALVO_FK_IP4, &l2->family);
	FIELD(f->src, src_ip, SALVO_FK_IP4, &l2->family);
	FIELD(f->dst_mac, dst_mac, SALVO_FK_MAC, NULL);
	FIELD(f->src_mac, src_mac, SALVO_FK_MAC, NULL);
	FIELD(f->dport, dst_port, SALVO_FK_PORT, NULL);
	FIELD(f->sport, src_port, SALVO_FK_PORT, NULL);
#undef FIELD
	if (f->size && (rc = salvo_size_parse(&l2->size, f->size, err, errlen)))
		return rc;
	/* No --size: 0 until salvo__raw_setup knows the headers (salvo__raw_default_size). */
	if (!f->size)
		l2->size.lo = l2->size.hi = 0;
	if (f->sport && f->flows > 1 && l2->src_port.mode == SALVO_FIELD_FIXED) {
		/* --sport P --flows N: the easy form starting at P */
		l2->src_port.set = false;
	} else if (f->sport && f->flows > 1) {
		snprintf(err, errlen, "--flows with a varying --sport: say one or the other");
		return -EINVAL;
	}
	l2->flows = f->flows ? f->flows : 1;
	return 0;
}
