// SPDX-License-Identifier: MIT
/*
 * salvo raw send / raw recv: raw Ethernet frames on an interface, built from
 * fields (docs/raw.md), given in hex, or replayed from a capture; and a
 * receiver that counts frames and salvo stamps off a packet ring.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <salvo/caps.h>
#include "frames/pktgen.h"
#include <salvo/stamp.h>

#include "cli.h"
#include "cmd_raw.h"
#include "frames/pcap.h"
#include "frames/pktnet.h"
#include "frames/rawgen.h"
#include "apps/sink.h"

/* Kernel-bypass knobs: which queues, how XDP attaches, zero-copy, takeover, receive filter. */
struct raw_xdp_opts {
	unsigned int queue, queues, xdp_mode, zc_mode;
	bool force;
	const char *filter;
};

#define XDP_OPTS(T)                                                                                \
	SALVO_OPT("queue", SALVO_OPT_UINT, T, x.queue,                                             \
		  .metavar = "Q", .help = "first queue; worker i binds queue Q+i (af_xdp; default 0)", .max = 255), \
	SALVO_OPT("queues", SALVO_OPT_UINT, T, x.queues,                                           \
		  .metavar = "N", .help = "use N queues, one worker each (same as --threads N)", .min = 1, .max = 256), \
	SALVO_OPT("xdp-mode", SALVO_OPT_ENUM, T, x.xdp_mode,                                       \
		  .help = "attach XDP natively (driver) or in skb (generic) mode; auto: native, else skb", \
		  .choices = salvo_xdp_mode_names),                                                \
	SALVO_OPT("zerocopy", SALVO_OPT_ENUM, T, x.zc_mode,                                        \
		  .help = "zero-copy sockets: on (fail without), off (copy mode), auto", .choices = salvo_zc_names), \
	SALVO_OPT("force", SALVO_OPT_FLAG, T, x.force,                                             \
		  .help = "replace an XDP program already on the interface")

/* Copy the kernel-bypass options into cfg; backend selection then honours them (caps). */
static int raw_xdp_apply(const struct raw_xdp_opts *x, struct salvo_cli_common *c,
			 struct salvo_cfg *cfg)
{
	char err[256];

	cfg->xdp_mode = (enum salvo_xdp_mode)x->xdp_mode;
	cfg->zc_mode = (enum salvo_zc)x->zc_mode;
	cfg->force = x->force;
	if (x->filter && salvo_filter_parse(x->filter, &cfg->filter_udp_port, err, sizeof(err)))
		return salvo_usage_error(NULL, "--filter: %s", err);
	if (x->queues) {
		c->threads = x->queues;
		cfg->threads = x->queues;
	}
	cfg->queue = x->queue;
	return 0;
}

/* --user: who the process becomes once every worker's socket and ring is open. */
struct raw_user {
	const char *name;
	uid_t uid;
	gid_t gid;
	const char *command;
	const struct salvo_cli_common *c;
};

#define USER_OPT(T)                                                                                \
	SALVO_OPT("user", SALVO_OPT_STR, T, u.name, .metavar = "NAME",                             \
		  .help = "once the sockets and rings are open, run as user NAME (uid, gid, no supplementary groups)")

/* Look the user up before anything opens: an unknown name is a usage error. */
static int raw_user_resolve(struct raw_user *u, const char *command,
			    const struct salvo_cli_common *c, struct salvo_cfg *cfg)
{
	struct passwd *pw;

	u->command = command;
	u->c = c;
	if (!u->name)
		return 0;
	errno = 0;
	pw = getpwnam(u->name);
	if (!pw)
		return salvo_usage_error(NULL, "--user %s: %s", u->name,
					 errno ? strerror(errno) : "no such user");
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	cfg->keep_setid = true;
	return 0;
}

/*
 * The started hook: every port is open.  Switch to --user first (the main
 * thread still holds CAP_SETUID/CAP_SETGID, the workers kept just those:
 * glibc applies each call to every thread of the process and aborts when a
 * thread may not), which clears every thread's capabilities; then drop
 * whatever the main thread still has.
 */
static int raw_started(void *arg)
{
	const struct raw_user *u = arg;

	if (u->name) {
		if (setgroups(1, &u->gid) || setresgid(u->gid, u->gid, u->gid) ||
		    setresuid(u->uid, u->uid, u->uid)) {
			salvo_runtime_error(u->command, "--user %s: cannot switch to uid %u gid %u: %s",
					    u->name, (unsigned int)u->uid, (unsigned int)u->gid,
					    strerror(errno));
			return 1;
		}
		if (u->c->verbose)
			fprintf(stderr, "salvo: now running as %s (uid %u, gid %u)\n", u->name,
				(unsigned int)u->uid, (unsigned int)u->gid);
	}
	salvo__raw_caps_drop((void *)u->c);
	return 0;
}

struct raw_send_opts {
	struct salvo_cli_common c;	/* first: the shared tables point into it */
	const char *iface;
	const char *dst, *src, *dst_mac, *src_mac, *dport, *sport;
	const char *size;
	unsigned int flows;
	unsigned int vlan, vlan_prio, ttl, tos;
	bool tcp_syn;
	const char *frame_hex;
	const char *pcap;
	bool pcap_timing;
	bool qdisc;
	bool no_stamp;
	uint64_t seed;
	bool ttl_seen;
	struct raw_xdp_opts x;
	struct raw_user u;
};

static const struct salvo_opt raw_send_table[] = {
	SALVO_OPT("iface", SALVO_OPT_STR, struct raw_send_opts, iface,
		  .short_name = 'I', .metavar = "IF", .help = "interface to send on (required)"),
	SALVO_OPT("dst", SALVO_OPT_STR, struct raw_send_opts, dst,
		  .metavar = "IP", .help = "destination address(es): IP, A-B[+STEP], rand:A-B, A,B,C (required for built frames)"),
	SALVO_OPT("src", SALVO_OPT_STR, struct raw_send_opts, src,
		  .metavar = "IP", .help = "source address(es), same forms (default: the interface's address)"),
	SALVO_OPT("dst-mac", SALVO_OPT_STR, struct raw_send_opts, dst_mac,
		  .metavar = "MAC", .help = "destination MAC(s) (default: the neighbour entry of the first --dst)"),
	SALVO_OPT("src-mac", SALVO_OPT_STR, struct raw_send_opts, src_mac,
		  .metavar = "MAC", .help = "source MAC(s) (default: the interface's)"),
	SALVO_OPT("dport", SALVO_OPT_STR, struct raw_send_opts, dport,
		  .metavar = "PORT", .help = "destination port(s), same forms (default 9)"),
	SALVO_OPT("sport", SALVO_OPT_STR, struct raw_send_opts, sport,
		  .metavar = "PORT", .help = "source port(s), same forms (default 9, or 9.. with --flows)"),
	SALVO_OPT("flows", SALVO_OPT_UINT, struct raw_send_opts, flows,
		  .short_name = 'f', .metavar = "N", .help = "N flows: source ports SPORT..SPORT+N-1 (when --sport is a single port)", .min = 1, .max = 65535),
	SALVO_OPT("size", SALVO_OPT_STR, struct raw_send_opts, size,
		  .short_name = 's', .metavar = "SPEC", .help = "frame bytes without FCS: N, LO-HI (random), imix (64:7,576:4,1500:1) or SIZE:WEIGHT,... (default: headers + stamp, at least 60)"),
	SALVO_OPT("vlan", SALVO_OPT_UINT, struct raw_send_opts, vlan,
		  .metavar = "ID", .help = "add an 802.1Q tag with this VLAN id", .min = 1, .max = 4094),
	SALVO_OPT("vlan-prio", SALVO_OPT_UINT, struct raw_send_opts, vlan_prio,
		  .metavar = "PCP", .help = "802.1Q priority (0..7)", .max = 7),
	SALVO_OPT("ttl", SALVO_OPT_UINT, struct raw_send_opts, ttl,
		  .metavar = "N", .help = "IPv4 TTL / IPv6 hop limit (default 64)", .min = 1, .max = 255, .seen = SALVO_OPT_SEEN(struct raw_send_opts, ttl_seen)),
	SALVO_OPT("tos", SALVO_OPT_UINT, struct raw_send_opts, tos,
		  .metavar = "N", .help = "IPv4 TOS / IPv6 traffic class", .max = 255),
	SALVO_OPT("tcp-syn", SALVO_OPT_FLAG, struct raw_send_opts, tcp_syn,
		  .help = "send TCP SYNs instead of UDP (stateless load; no handshake)"),
	SALVO_OPT("frame-hex", SALVO_OPT_STR, struct raw_send_opts, frame_hex,
		  .metavar = "HEX", .help = "send exactly this frame (hex bytes, from the destination MAC on)"),
	SALVO_OPT("pcap", SALVO_OPT_STR, struct raw_send_opts, pcap,
		  .metavar = "FILE", .help = "replay the Ethernet frames of a capture, in a loop"),
	SALVO_OPT("pcap-timing", SALVO_OPT_FLAG, struct raw_send_opts, pcap_timing,
		  .help = "with --pcap: keep the capture's timing (else as fast as --rate allows)"),
	SALVO_OPT("qdisc", SALVO_OPT_FLAG, struct raw_send_opts, qdisc,
		  .help = "go through the interface's qdisc (default: bypass it)"),
	SALVO_OPT("no-stamp", SALVO_OPT_FLAG, struct raw_send_opts, no_stamp,
		  .help = "do not put a salvo stamp in the payload"),
	SALVO_OPT("seed", SALVO_OPT_U64, struct raw_send_opts, seed,
		  .metavar = "N", .help = "seed for random fields and sizes (default: fixed)"),
	XDP_OPTS(struct raw_send_opts),
	USER_OPT(struct raw_send_opts),
	SALVO_OPT_END,
};

static const struct salvo_opt *const raw_send_tables[] = {
	raw_send_table, salvo_cli_count_opt, salvo_cli_rate_opt, salvo_cli_run_opts, NULL,
};

static void raw_send_defaults(void *o)
{
	struct raw_send_opts *r = o;

	salvo_cli_common_defaults(&r->c);
	r->flows = 1;
	r->ttl = 64;
}

/*
 * Once every worker has opened its socket and ring, the main thread needs no
 * privilege at all: drop every capability here.  Capabilities are per
 * thread, so the workers keep what their backend still needs (af_packet
 * workers drop theirs after ring setup; af_xdp keeps what detaching needs).
 */
void salvo__raw_caps_drop(void *arg)
{
	const struct salvo_cli_common *c = arg;
	int rc = salvo_caps_drop_thread(false);

	if (c && c->verbose)
		fprintf(stderr, "salvo: main thread %s\n",
			rc ? "could not drop its capabilities" : "dropped every capability");
}

static int size_mean(const struct salvo_size_spec *s)
{
	uint64_t sum = 0, w = 0;

	if (s->mode == SALVO_SIZE_FIXED)
		return (int)s->lo;
	if (s->mode == SALVO_SIZE_RANGE)
		return (int)((s->lo + s->hi) / 2);
	for (unsigned int i = 0; i < s->n; i++) {
		sum += (uint64_t)s->sizes[i] * s->weights[i];
		w += s->weights[i];
	}
	return w ? (int)(sum / w) : 60;
}

/*
 * The frame size without --size: the headers and a whole stamp, so a default
 * run measures loss and latency (docs/raw.md), and never less than Ethernet's
 * 60-byte minimum.  From SALVO_STAMP_SIZE, so it follows the stamp's size.
 */
uint32_t salvo__raw_default_size(const struct salvo_l2_cfg *l2)
{
	uint32_t n = salvo_l2_hdr_len(l2) + (l2->stamp ? SALVO_STAMP_SIZE : 0);

	return SALVO_MAX(n, 60u);
}

/* Fill cfg + l2 for one stream of raw frames; also used by `salvo run`. */
int salvo__raw_setup(struct salvo_cfg *cfg, struct salvo_l2_cfg *l2, struct salvo_pcap **pcap,
		     char *err, size_t errlen)
{
	int rc;

	if (!cfg->iface) {
		snprintf(err, errlen, "--iface IF is required");
		return -EINVAL;
	}
	if (l2->src == SALVO_FRAMES_PCAP) {
		rc = salvo_pcap_load(pcap, l2->pcap_path, err, errlen);
		if (rc)
			return rc;
		l2->pcap = *pcap;
		if ((*pcap)->cut)
			fprintf(stderr, "salvo: %s: the last record is cut short (capture not "
				"finished?); replaying the %u complete frames before it\n",
				l2->pcap_path, (*pcap)->n);
	}
	if (l2->src == SALVO_FRAMES_BUILD && l2->size.mode == SALVO_SIZE_FIXED && !l2->size.lo)
		l2->size.lo = l2->size.hi = salvo__raw_default_size(l2);
	rc = salvo_l2_resolve(l2, cfg->iface, err, errlen);
	if (rc)
		return rc;
	cfg->proto = SALVO_PROTO_L2;
	cfg->dir = SALVO_DIR_TX;
	cfg->l2 = l2;
	cfg->max_frame = salvo_l2_max_frame(l2);
	cfg->stamp = l2->stamp;
	/* cfg->size: the mean frame, for turning --rate bits/s into frames/s */
	if (l2->src == SALVO_FRAMES_HEX) {
		cfg->size = l2->frame_len;
	} else if (l2->src == SALVO_FRAMES_PCAP) {
		uint64_t sum = 0;

		for (uint32_t i = 0; i < (*pcap)->n; i++)
			sum += (*pcap)->lens[i];
		cfg->size = (uint32_t)(sum / (*pcap)->n);
	} else {
		cfg->size = (uint32_t)size_mean(&l2->size);
	}
	if (!cfg->count && !cfg->duration_ns)
		cfg->duration_ns = 10 * NSEC_PER_SEC;	/* bounded unless asked, like udp send */
	return 0;
}

static int raw_send_run(void *o, int argc, char **argv)
{
	struct raw_send_opts *r = o;
	struct salvo_cfg cfg;
	struct salvo_l2_cfg l2;
	struct salvo_pcap *pcap = NULL;
	struct salvo__raw_fields f = {
		.dst = r->dst, .src = r->src, .dst_mac = r->dst_mac, .src_mac = r->src_mac,
		.dport = r->dport, .sport = r->sport, .size = r->size, .flows = r->flows,
	};
	char err[512];
	int rc, modes;

	(void)argc;
	(void)argv;
	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(&r->c, &cfg);
	cfg.command = "raw send";
	cfg.iface = r->iface;
	salvo_l2_cfg_init(&l2);
	modes = !!r->frame_hex + !!r->pcap;
	if (modes > 1)
		return salvo_usage_error(NULL, "--frame-hex and --pcap exclude each other");
	if (modes && (r->dst || r->src || r->dst_mac || r->src_mac || r->dport || r->sport ||
		      r->size || r->vlan || r->tcp_syn))
		return salvo_usage_error(NULL, "--frame-hex/--pcap send frames as they are; "
					 "header and size options do not apply");
	if (r->pcap_timing && !r->pcap)
		return salvo_usage_error(NULL, "--pcap-timing needs --pcap");
	if (!r->iface)
		return salvo_usage_error(NULL, "--iface IF is required");
	if (!modes && !r->dst)
		return salvo_usage_error(NULL, "no destination: give --dst IP (raw frames "
					 "are never sent to a default address)");
	rc = raw_user_resolve(&r->u, cfg.command, &r->c, &cfg);
	if (rc)
		return rc;
	if (r->frame_hex) {
		l2.src = SALVO_FRAMES_HEX;
		rc = salvo_hex_parse(r->frame_hex, &l2.frame, &l2.frame_len, err, sizeof(err));
	} else if (r->pcap) {
		l2.src = SALVO_FRAMES_PCAP;
		l2.pcap_path = r->pcap;
		l2.pcap_timing = r->pcap_timing;
		rc = 0;
	} else {
		rc = salvo__raw_l2_fields(&l2, &f, err, sizeof(err));
	}
	if (rc) {
		salvo_l2_cfg_free(&l2);
		return salvo_usage_error(NULL, "%s", err);
	}
	l2.vlan = (uint16_t)r->vlan;
	l2.vlan_prio = (uint8_t)r->vlan_prio;
	l2.ttl = (uint8_t)r->ttl;
	l2.tos = (uint8_t)r->tos;
	l2.l4 = r->tcp_syn ? SALVO_L4_TCP_SYN : SALVO_L4_UDP;
	cfg.qdisc = r->qdisc;
	l2.stamp = !r->no_stamp;
	l2.stamp_clock = cfg.stamp_clock;
	l2.seed = r->seed;
	rc = salvo__raw_setup(&cfg, &l2, &pcap, err, sizeof(err));
	if (rc) {
		salvo_l2_cfg_free(&l2);
		salvo_pcap_free(pcap);
		if (rc == -EINVAL || rc == -EDESTADDRREQ || rc == -EMSGSIZE)
			return salvo_usage_error(NULL, "%s", err);
		return salvo_runtime_error("raw send", "%s", err);
	}
	rc = raw_xdp_apply(&r->x, &r->c, &cfg);
	if (rc) {
		salvo_l2_cfg_free(&l2);
		salvo_pcap_free(pcap);
		return rc;
	}
	rc = salvo_cli_run(&r->c, &cfg, &salvo_app_rawgen,
			   &(struct salvo_cli_extra){.started = raw_started,
						     .failed = salvo_cli_tx_failed, .arg = &r->u},
			   NULL);
	salvo_l2_cfg_free(&l2);
	salvo_pcap_free(pcap);
	return rc;
}

static const struct salvo_cmd raw_send_cmd = {
	.name = "raw send",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "send raw Ethernet frames (UDP or TCP SYN, VLAN, field variation, imix, hex, pcap replay)",
	.description = "Needs CAP_NET_RAW. Frames go out of --iface to --dst; the destination MAC comes\n"
		       "from the neighbour table unless --dst-mac is given. Without --count or\n"
		       "--duration a run lasts 10 s. Field forms: V, A-B, A-B+STEP, rand:A-B, A,B,C.\n"
		       "See docs/raw.md.",
	.tables = raw_send_tables,
	.opts_size = sizeof(struct raw_send_opts),
	.defaults = raw_send_defaults,
	.run = raw_send_run,
};
SALVO_COMMAND_REGISTER(raw_send_cmd)

/* --- raw recv --------------------------------------------------------------- */

struct raw_recv_opts {
	struct salvo_cli_common c;
	const char *iface;
	bool print;
	struct raw_xdp_opts x;
	struct raw_user u;
};

static const struct salvo_opt raw_recv_table[] = {
	SALVO_OPT("iface", SALVO_OPT_STR, struct raw_recv_opts, iface,
		  .short_name = 'I', .metavar = "IF", .help = "interface to receive on (required)"),
	SALVO_OPT("print", SALVO_OPT_FLAG, struct raw_recv_opts, print,
		  .short_name = 'p', .help = "print one line per frame: MACs, VLAN, IP, ports, stamp"),
	XDP_OPTS(struct raw_recv_opts),
	SALVO_OPT("filter", SALVO_OPT_STR, struct raw_recv_opts, x.filter,
		  .metavar = "udp-port=N", .help = "take only UDP frames to port N, the rest go to the kernel (af_xdp)"),
	USER_OPT(struct raw_recv_opts),
	SALVO_OPT_END,
};

static const struct salvo_opt *const raw_recv_tables[] = {
	raw_recv_table, salvo_cli_count_opt, salvo_cli_run_opts, NULL,
};

static void raw_recv_defaults(void *o)
{
	salvo_cli_common_defaults(&((struct raw_recv_opts *)o)->c);
}

int salvo__raw_locate(const uint8_t *d, uint32_t len)
{
	struct salvo_frame_info fi;

	if (salvo_frame_decode(d, len, &fi) || !fi.payload_off)
		return -1;
	return (int)fi.payload_off;
}

static void print_frame(const struct salvo_pkt *k, void *arg)
{
	struct salvo_frame_info fi;
	char line[512];

	(void)arg;
	if (salvo_frame_decode(k->data, k->len, &fi)) {
		snprintf(line, sizeof(line), "runt frame, %u bytes", k->len);
	} else {
		salvo_frame_format(&fi, k->data, line, sizeof(line));
	}
	flockfile(stdout);
	printf("%s\n", line);
	fflush(stdout);
	funlockfile(stdout);
}

static int raw_recv_run(void *o, int argc, char **argv)
{
	struct raw_recv_opts *r = o;
	struct salvo_cfg cfg;
	struct salvo_app app = salvo_app_sink;
	struct salvo_sink_hooks hooks = { .locate = salvo__raw_locate };

	(void)argc;
	(void)argv;
	if (!r->iface)
		return salvo_usage_error(NULL, "--iface IF is required");
	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(&r->c, &cfg);
	cfg.command = "raw recv";
	cfg.proto = SALVO_PROTO_L2;
	cfg.dir = SALVO_DIR_RX;
	cfg.listen = true;
	cfg.iface = r->iface;
	cfg.size = 60;
	{
		int rc = raw_xdp_apply(&r->x, &r->c, &cfg);

		if (!rc)
			rc = raw_user_resolve(&r->u, cfg.command, &r->c, &cfg);
		if (rc)
			return rc;
	}
	if (r->print) {
		hooks.on_packet = print_frame;
		r->c.quiet = true;
	}
	app.arg = &hooks;
	return salvo_cli_run(&r->c, &cfg, &app,
			     &(struct salvo_cli_extra){.started = raw_started, .arg = &r->u}, NULL);
}

static const struct salvo_cmd raw_recv_cmd = {
	.name = "raw recv",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "receive raw frames off a packet ring: count frames, bytes, salvo stamps (loss, latency)",
	.description = "Needs CAP_NET_RAW. Counts every frame arriving on --iface (not the ones this\n"
		       "host sends); frames carrying a salvo stamp are checked per flow. With\n"
		       "--threads N the workers share the traffic through PACKET_FANOUT.",
	.tables = raw_recv_tables,
	.opts_size = sizeof(struct raw_recv_opts),
	.defaults = raw_recv_defaults,
	.run = raw_recv_run,
};
SALVO_COMMAND_REGISTER(raw_recv_cmd)
