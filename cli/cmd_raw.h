/* SPDX-License-Identifier: MIT */
/* Shared by cmd_raw.c and cmd_run.c (profiles): one stream of raw frames from options. */
#ifndef SALVO_CLI_CMD_RAW_H
#define SALVO_CLI_CMD_RAW_H

#include <stdbool.h>
#include <stddef.h>

#include <salvo/cfg.h>
#include "frames/pktgen.h"

/* Header fields as text (NULL: not given), as the options and profiles spell them. */
struct salvo__raw_fields {
	const char *dst, *src, *dst_mac, *src_mac, *dport, *sport, *size;
	unsigned int flows;
};

int salvo__raw_l2_fields(struct salvo_l2_cfg *l2, const struct salvo__raw_fields *f, char *err,
			 size_t errlen);
/* Frame bytes when --size is not given: headers + SALVO_STAMP_SIZE (at least 60). */
uint32_t salvo__raw_default_size(const struct salvo_l2_cfg *l2);
/* Resolve from cfg->iface, load a capture, derive cfg (proto, dir, size, bound). */
int salvo__raw_setup(struct salvo_cfg *cfg, struct salvo_l2_cfg *l2, struct salvo_pcap **pcap,
		     char *err, size_t errlen);
/* Main thread: keep only CAP_NET_RAW before the workers start. */
/* salvo_cli_extra.started hook: drop the main thread's capabilities (arg: salvo_cli_common). */
void salvo__raw_caps_drop(void *arg);
/* Stamp offset in a frame for the sink, -1 when none. */
int salvo__raw_locate(const uint8_t *d, uint32_t len);

#endif
