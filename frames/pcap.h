/* SPDX-License-Identifier: MIT */
/*
 * Captures in and out (frames/pcap.c, libpcap).
 */
#ifndef SALVO_PCAP_H
#define SALVO_PCAP_H

#include <stdbool.h>
#include <stdint.h>

/* Captures (libpcap), whole in memory: for --pcap replay and for tests. */
struct salvo_pcap {
	/* frames[i] / lens[i] / ts_ns[i], i < n */
	uint32_t n;
	uint8_t **frames;
	uint32_t *lens;
	uint64_t *ts_ns;	/* replay time, ns since the first frame (docs/raw.md) */
	uint64_t span_ns;	/* ts of the last frame */
	uint32_t backwards;	/* frames stamped before their predecessor: sent right after it */
	bool cut;		/* the last record was cut short (writer killed) and left out */
};

int salvo_pcap_load(struct salvo_pcap **out, const char *path, char *err, size_t errlen);
void salvo_pcap_free(struct salvo_pcap *p);
/* Write frames (ts_ns may be NULL: 1 us apart) as an Ethernet nanosecond pcap. */
int salvo_pcap_save(const char *path, uint8_t *const *frames, const uint32_t *lens,
		    const uint64_t *ts_ns, uint32_t n, char *err, size_t errlen);

#endif
