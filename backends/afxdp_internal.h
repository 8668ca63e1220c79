/* SPDX-License-Identifier: MIT */
/*
 * The af_xdp backend's view of its options: taken from struct salvo_cfg
 * (xdp_mode, zc_mode, force, filter_udp_port, queue) when a port opens.
 */
#ifndef SALVO_AFXDP_INTERNAL_H
#define SALVO_AFXDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <salvo/cfg.h>

struct salvo_afxdp_opts {
	enum salvo_xdp_mode mode;
	enum salvo_zc zc;
	bool force;		/* replace an XDP program already on the interface */
	uint16_t udp_port;	/* receive filter: UDP to this port only, 0: every frame */
	uint32_t ring_size;	/* fill/completion/rx/tx descriptors per socket, power of 2 */
};

/* The defaults (auto mode, zero-copy when offered, every frame, no force), then cfg's choices. */
void salvo_afxdp_opts_from_cfg(struct salvo_afxdp_opts *o, const struct salvo_cfg *cfg);

#endif
