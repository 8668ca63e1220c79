// SPDX-License-Identifier: MIT
/*
 * Fuzz capture loading (frames/pcap.c, salvo_pcap_load): a pcap file from
 * anywhere must load or be refused with a reason, and what loads is
 * consistent (n frames, each readable to its length, times non-decreasing
 * from 0).  The input is handed over as a memfd path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frames/pktgen.h"
#include "frames/pcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct salvo_pcap *p = NULL;
	char path[64], err[256];
	int fd = memfd_create("fuzz-pcap", 0);
	volatile uint8_t sink = 0;

	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = 0;
	if (salvo_pcap_load(&p, path, err, sizeof(err)) == 0) {
		for (uint32_t i = 0; i < p->n; i++) {
			if (p->lens[i] && !p->frames[i])
				abort();
			for (uint32_t k = 0; k < p->lens[i]; k++)
				sink ^= p->frames[i][k];
		}
		/* Times are ns since the first frame: 0 first, never decreasing
		 * (a capture's clock steps back; replay must not). */
		if (p->n && (!p->ts_ns || p->ts_ns[0] != 0 || p->span_ns != p->ts_ns[p->n - 1]))
			abort();
		for (uint32_t i = 1; i < p->n; i++)
			if (p->ts_ns[i] < p->ts_ns[i - 1])
				abort();
		salvo_pcap_free(p);
	} else if (!err[0]) {
		abort();	/* refused without a reason */
	}
	(void)sink;
	close(fd);
	return 0;
}
