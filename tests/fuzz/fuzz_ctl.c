// SPDX-License-Identifier: MIT
/*
 * Fuzz the control-channel decoder (apps/ctl.c), which reads what any
 * client of `salvo serve` sends: any bytes decode or are refused with a
 * reason; a decoded message encodes again and decodes to the same fields.
 * The first 4 bytes also go through the framing check.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct salvo_ctl_msg m, again;
	uint8_t buf[SALVO_CTL_MAX_MSG + 4];
	char err[256];
	int n;

	if (size >= 4) {
		n = salvo_ctl_frame_len(data);
		if (n != -EMSGSIZE && (n < 1 || n > SALVO_CTL_MAX_MSG))
			abort();
	}
	err[0] = 0;
	if (salvo_ctl_decode(data, size, &m, err, sizeof(err))) {
		if (!err[0])
			abort();	/* a refusal always says why */
		return 0;
	}
	n = salvo_ctl_encode(&m, buf, sizeof(buf));
	if (n < 4 || salvo_ctl_frame_len(buf) != n - 4)
		abort();
	if (salvo_ctl_decode(buf + 4, (size_t)n - 4, &again, err, sizeof(err)))
		abort();
	if (again.type != m.type || again.version != m.version || strcmp(again.token, m.token) ||
	    again.tcp != m.tcp || again.reverse != m.reverse || again.bidir != m.bidir ||
	    again.size != m.size ||
	    again.count != m.count || again.bytes != m.bytes || again.duration_ms != m.duration_ms ||
	    again.flows != m.flows || again.streams != m.streams || again.port != m.port ||
	    again.rcvbuf != m.rcvbuf || strcmp(again.backend, m.backend) ||
	    again.has_tx != m.has_tx || again.has_rx != m.has_rx ||
	    again.tx.packets != m.tx.packets || again.rx.packets != m.rx.packets ||
	    again.tx.bytes != m.tx.bytes || again.rx.bytes != m.rx.bytes)
		abort();
	return 0;
}
