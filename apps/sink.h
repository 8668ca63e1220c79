/* SPDX-License-Identifier: MIT */
/*
 * The counting receiver behind `udp recv` and `raw recv` (apps/sink.c).
 */
#ifndef SALVO_APPS_SINK_H
#define SALVO_APPS_SINK_H

#include <stdint.h>

#include <salvo/pkt.h>
#include <salvo/run.h>

/* app.arg may point to a struct salvo_sink_hooks. */
extern const struct salvo_app salvo_app_sink;

struct salvo_sink_hooks {
	/* Called for each received packet (from a worker thread), e.g. --print. */
	void (*on_packet)(const struct salvo_pkt *pkt, void *arg);
	void *arg;
	/*
	 * Where the stamp sits in each received packet: NULL means at the
	 * start (UDP, unix).  Raw frames set it to the frame decoder, which
	 * returns the L4 payload's offset, or -1 when the frame has none.
	 */
	int (*locate)(const uint8_t *data, uint32_t len);
};

#endif
