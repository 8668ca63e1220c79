// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/cfg.h>
#include <salvo/stamp.h>

const char *const salvo_xdp_mode_names[] = {"auto", "native", "skb", NULL};
const char *const salvo_zc_names[] = {"auto", "on", "off", NULL};

int salvo_filter_parse(const char *s, uint16_t *udp_port, char *err, size_t errlen)
{
	size_t n = strlen("udp-port=");
	const char *d = s + n;

	if (strncmp(s, "udp-port=", n)) {
		snprintf(err, errlen, "filter \"%s\": the one filter is udp-port=N", s);
		return -EINVAL;
	}
	if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 5 || atoi(d) < 1 ||
	    atoi(d) > 65535) {
		snprintf(err, errlen, "filter \"%s\": port must be 1..65535", s);
		return -EINVAL;
	}
	*udp_port = (uint16_t)atoi(d);
	return 0;
}

void salvo_cfg_init(struct salvo_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 1;
	cfg->burst = 32;
	cfg->flows = 0;		/* 0: one per worker */
	cfg->streams = 1;
	cfg->size = 64;
	cfg->timeout_ms = 5000;
	cfg->stamp = true;
	cfg->stamp_clock = CLOCK_MONOTONIC;
	cfg->cpu_base = 0;
}

unsigned int salvo_cfg_udp_burst(const struct salvo_cfg *cfg)
{
	if (cfg->proto != SALVO_PROTO_UDP)
		return cfg->burst;
	if (cfg->dir == SALVO_DIR_RX)
		return SALVO_UDP_RX_BURST;
	if ((cfg->dir & SALVO_DIR_TX) && !cfg->listen && !cfg->rate_pps && !cfg->rate_bps)
		return SALVO_UDP_TX_BURST;
	return cfg->burst;
}

int salvo_cfg_finish(struct salvo_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->threads < 1 || cfg->threads > 256) {
		snprintf(err, errlen, "--threads must be 1..256");
		return -EINVAL;
	}
	if (cfg->burst < 1 || cfg->burst > 1024) {
		snprintf(err, errlen, "--burst must be 1..1024");
		return -EINVAL;
	}
	if (cfg->flows == 0)
		cfg->flows = cfg->threads;
	if (cfg->flows > 65536) {
		snprintf(err, errlen, "--flows must be 1..65536");
		return -EINVAL;
	}
	if (cfg->proto == SALVO_PROTO_UDP && cfg->size > 65507) {
		snprintf(err, errlen, "a UDP payload of %u bytes exceeds the maximum of 65507", cfg->size);
		return -EINVAL;
	}
	if (cfg->gso && cfg->size > 65507 / 2) {
		snprintf(err, errlen, "--gso needs --size of at most %u", 65507 / 2);
		return -EINVAL;
	}
	if (cfg->size == 0 && !cfg->message) {
		snprintf(err, errlen, "--size must be at least 1");
		return -EINVAL;
	}
	if (cfg->rate_bps > 0) {
		/* Bit rates count payload bits (as iperf3 -b does for UDP), frames for L2. */
		uint32_t sz = cfg->message ? cfg->message_len : cfg->size;

		cfg->rate_pps = cfg->rate_bps / (8.0 * (sz ? sz : 1));
	}
	if (cfg->rate_pps < 0) {
		snprintf(err, errlen, "--rate must be greater than zero");
		return -EINVAL;
	}
	return 0;
}
