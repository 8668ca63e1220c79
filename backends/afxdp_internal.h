/* SPDX-License-Identifier: MIT */
/*
 * af_xdp backend options that struct salvo_cfg does not carry: how the XDP
 * program is attached, zero-copy, the receive filter, ring sizes.  The CLI
 * (cli/cmd_raw.c) fills one with the parse helpers below and hands it over
 * with salvo_afxdp_set_opts() before the run starts; without that the
 * defaults apply (auto mode, zero-copy when offered, every frame, no force).
 */
#ifndef SALVO_AFXDP_INTERNAL_H
#define SALVO_AFXDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum salvo_xdp_mode {
	SALVO_XDP_MODE_AUTO = 0,	/* native when the driver has it, else skb */
	SALVO_XDP_MODE_NATIVE,		/* driver mode, or fail */
	SALVO_XDP_MODE_SKB,		/* generic mode, any interface */
};

enum salvo_zc {
	SALVO_ZC_AUTO = 0,		/* zero-copy when the driver offers it, else copy */
	SALVO_ZC_ON,			/* zero-copy, or fail */
	SALVO_ZC_OFF,			/* copy mode */
};

struct salvo_afxdp_opts {
	enum salvo_xdp_mode mode;
	enum salvo_zc zc;
	bool force;		/* replace an XDP program already on the interface */
	uint16_t udp_port;	/* receive filter: UDP to this port only, 0: every frame */
	uint32_t ring_size;	/* fill/completion/rx/tx descriptors per socket, power of 2 */
};

/* Names for option tables: index = enum value, NULL-terminated. */
extern const char *const salvo_afxdp_mode_names[];	/* "auto", "native", "skb" */
extern const char *const salvo_afxdp_zc_names[];	/* "auto", "on", "off" */

void salvo_afxdp_opts_init(struct salvo_afxdp_opts *o);
/* "udp-port=N" (N in 1..65535).  0, or -EINVAL with one line in err. */
int salvo_afxdp_filter_parse(struct salvo_afxdp_opts *o, const char *s, char *err, size_t errlen);
/* Process-wide: read by every af_xdp port opened after this call (copied). */
void salvo_afxdp_set_opts(const struct salvo_afxdp_opts *o);

#endif
