/* SPDX-License-Identifier: MIT */
/*
 * Raw frames: the frame builder and traffic model shared by every L2
 * backend (af_packet, af_xdp).
 *
 * A struct salvo_l2_cfg describes what to send: Ethernet (optional 802.1Q
 * tag), IPv4 or IPv6, UDP or a TCP SYN, a payload that starts with the salvo
 * stamp, and how fields and sizes vary from frame to frame.  Or an exact
 * frame given in hex, or a capture to replay.  The CLI fills it (cli/cmd_raw.c,
 * cli/cmd_run.c); each worker then makes its own struct salvo_pktgen from it
 * and asks it to write whole frames into packet descriptors:
 *
 *	salvo_pktgen_create(&g, l2, worker, nworkers, err, sizeof(err));
 *	n = salvo_pool_get(pool, v, burst);
 *	salvo_pktgen_fill(g, v, n, salvo_clock_ns(l2->stamp_clock));
 *
 * Checksums: the generator builds one template frame per frame length with
 * its IPv4 header and L4 checksums computed in full, then patches each frame
 * with the RFC 1624 incremental update (HC' = ~(~HC + ~m + m')) over the few
 * 16-bit words that differ from the template (addresses, ports, stamp).
 *
 * Flows: a frame's flow is its position in the cycle of the fields that
 * increment or walk a list (the least common multiple of their lengths,
 * --flows N is the easy form: N source ports).  Its stamp carries
 * flow = worker * cycle + position and a per-flow sequence, so a receiver
 * counts loss and reordering per flow.  Random fields do not make flows.
 */
#ifndef SALVO_PKTGEN_H
#define SALVO_PKTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <salvo/pkt.h>

typedef unsigned __int128 salvo_u128;

/* How one header field takes its value, frame after frame. */
enum salvo_field_mode {
	SALVO_FIELD_FIXED = 0,	/* lo */
	SALVO_FIELD_INC,	/* lo, lo + step, ... up to hi, then lo again */
	SALVO_FIELD_RANDOM,	/* uniform in [lo, hi], per frame (hi - lo < 2^64) */
	SALVO_FIELD_LIST,	/* list[0], list[1], ..., list[nlist - 1], list[0] ... */
};

/* Which kind of value a field holds: sets the parser and the width. */
enum salvo_field_kind {
	SALVO_FK_MAC,		/* 48 bits, aa:bb:cc:dd:ee:ff */
	SALVO_FK_IP4,		/* 32 bits, dotted quad */
	SALVO_FK_IP6,		/* 128 bits */
	SALVO_FK_PORT,		/* 16 bits, 0..65535 */
};

struct salvo_field {
	enum salvo_field_mode mode;
	bool set;		/* given by the user (else left to defaults/resolution) */
	salvo_u128 lo, hi, step;
	salvo_u128 *list;	/* malloc'd, freed by salvo_field_free() */
	unsigned int nlist;
};

#define SALVO_SIZE_MAX_WEIGHTS 32

enum salvo_size_mode {
	SALVO_SIZE_FIXED = 0,	/* lo */
	SALVO_SIZE_RANGE,	/* uniform in [lo, hi], per frame */
	SALVO_SIZE_WEIGHTED,	/* sizes[i] with weights[i], smoothly interleaved (imix) */
};

/* Frame sizes: bytes on the wire without the 4-byte FCS (what the socket sends). */
struct salvo_size_spec {
	enum salvo_size_mode mode;
	uint32_t lo, hi;
	unsigned int n;
	uint32_t sizes[SALVO_SIZE_MAX_WEIGHTS];
	uint32_t weights[SALVO_SIZE_MAX_WEIGHTS];
};

enum salvo_l4 {
	SALVO_L4_UDP = 0,
	SALVO_L4_TCP_SYN,	/* stateless SYNs: no handshake is ever completed */
};

enum salvo_frame_src {
	SALVO_FRAMES_BUILD = 0,	/* from the fields below */
	SALVO_FRAMES_HEX,	/* frame/frame_len, sent as given */
	SALVO_FRAMES_PCAP,	/* frames of pcap_path, in a loop */
};

struct salvo_pcap;

struct salvo_l2_cfg {
	enum salvo_frame_src src;
	struct salvo_field src_mac, dst_mac;
	uint16_t vlan;		/* 802.1Q id 1..4094, 0: untagged */
	uint8_t vlan_prio;	/* PCP 0..7 */
	int family;		/* AF_INET or AF_INET6 (0 until an address is set) */
	struct salvo_field src_ip, dst_ip;
	struct salvo_field src_port, dst_port;
	enum salvo_l4 l4;
	uint8_t ttl;		/* hop limit for IPv6 */
	uint8_t tos;		/* traffic class for IPv6 */
	struct salvo_size_spec size;
	uint32_t flows;		/* --flows N: source port lo..lo+N-1, when src_port is not set */
	bool stamp;		/* stamp every payload that holds one */
	clockid_t stamp_clock;
	uint64_t seed;		/* random fields and sizes; 0: a fixed default */

	uint8_t *frame;		/* SALVO_FRAMES_HEX: malloc'd */
	uint32_t frame_len;
	const char *pcap_path;	/* SALVO_FRAMES_PCAP */
	const struct salvo_pcap *pcap;	/* already loaded (shared, not owned); NULL: load pcap_path */
	bool pcap_timing;	/* replay at the capture's pace (else as fast as paced) */
};

/* Defaults: untagged IPv4 UDP, ports 9 -> 9, ttl 64, 60-byte frames, stamps on. */
void salvo_l2_cfg_init(struct salvo_l2_cfg *c);
void salvo_l2_cfg_free(struct salvo_l2_cfg *c);
void salvo_field_free(struct salvo_field *f);

/*
 * Parse a field: "V" (fixed), "A-B" or "A-B+STEP" (increment), "rand:A-B"
 * (random), "A,B,C" (list).  IPv4 and IPv6 addresses are told apart by
 * syntax; kind SALVO_FK_IP4 accepts both and reports which in *family.
 */
int salvo_field_parse(struct salvo_field *f, enum salvo_field_kind kind, const char *s,
		      int *family, char *err, size_t errlen);
/* Number of distinct values the field walks through (1 for fixed and random). */
uint64_t salvo_field_cycle(const struct salvo_field *f);

/* "60", "64-1500" (random), "imix" (64:7,576:4,1500:1), "64:7,576:4,1514:1" (weighted). */
int salvo_size_parse(struct salvo_size_spec *s, const char *str, char *err, size_t errlen);
uint32_t salvo_size_max(const struct salvo_size_spec *s);
uint32_t salvo_size_min(const struct salvo_size_spec *s);

/* "0011aabb..." (spaces, colons and a leading 0x allowed) into a malloc'd buffer. */
int salvo_hex_parse(const char *hex, uint8_t **out, uint32_t *len, char *err, size_t errlen);

/*
 * The largest frame c sends (its sizes, the hex frame, the loaded capture's
 * longest record); 0 when it does not say.  For cfg->max_frame.
 */
uint32_t salvo_l2_max_frame(const struct salvo_l2_cfg *c);
/* Header bytes before the L4 payload for this cfg (Ethernet [+ VLAN] + IP + L4). */
uint32_t salvo_l2_hdr_len(const struct salvo_l2_cfg *c);

/* The checks alone (no interface): used by tests and by salvo_l2_resolve. */
int salvo_l2_check(const struct salvo_l2_cfg *c, uint32_t mtu, char *err, size_t errlen);

/* One generator per worker: its own counters, cursors and random state. */
struct salvo_pktgen;

int salvo_pktgen_create(struct salvo_pktgen **out, const struct salvo_l2_cfg *c,
			unsigned int worker, unsigned int nworkers, char *err, size_t errlen);
void salvo_pktgen_destroy(struct salvo_pktgen *g);
/*
 * Write the next n frames into v[0..n) (data, len), stamps timed now_ns.
 * Returns how many were written: fewer than n only when a buffer is too
 * small (-ENOSPC if the first one is).
 */
int salvo_pktgen_fill(struct salvo_pktgen *g, struct salvo_pkt **v, unsigned int n,
		      uint64_t now_ns);
/*
 * Take back the sequence numbers of n frames that fill wrote into v and
 * the backend refused (never sent): the next frames of their flows reuse
 * them.  Only the refused tail of a burst, with each frame's flow and len
 * as fill left them.
 */
void salvo_pktgen_unspend(struct salvo_pktgen *g, struct salvo_pkt **v, unsigned int n);
/* The session id every stamp carries from now on (0 until set). */
void salvo_pktgen_set_session(struct salvo_pktgen *g, uint32_t session);
/* Largest frame the generator writes: the buffer size a backend must offer. */
uint32_t salvo_pktgen_max_frame(const struct salvo_pktgen *g);
/* Flows this worker's frames carry (the field cycle, >= 1). */
uint32_t salvo_pktgen_flows(const struct salvo_pktgen *g);
/*
 * Capture timing (--pcap-timing): ns after the start of the replay at which
 * the next frame is due; UINT64_MAX when frames are not timed.
 */
uint64_t salvo_pktgen_next_due(const struct salvo_pktgen *g);
/* Frames written so far. */
uint64_t salvo_pktgen_count(const struct salvo_pktgen *g);

/* Internet checksum helpers (exposed for the tests and other L2 code). */
uint32_t salvo_csum_add(uint32_t sum, const void *buf, size_t len);	/* 16-bit BE words */
uint16_t salvo_csum_fold(uint32_t sum);					/* ~fold: the checksum */
/* RFC 1624 eqn. 3: update checksum *hc (network order) for a 16-bit word changing m -> m1. */
void salvo_csum_replace16(uint16_t *hc, uint16_t m, uint16_t m1);

/* What a frame says, for --print and for finding the stamp on receive. */
struct salvo_frame_info {
	uint32_t len;
	uint8_t dst_mac[6], src_mac[6];
	bool vlan;
	uint16_t vlan_id;
	uint8_t vlan_prio;
	uint16_t ethertype;	/* after the tag */
	int family;		/* AF_INET, AF_INET6, 0: not IP */
	uint8_t src_ip[16], dst_ip[16];
	uint8_t proto;		/* IPPROTO_UDP, IPPROTO_TCP, ... */
	uint8_t ttl;
	bool frag;		/* IPv4 fragment other than the first: no L4 header */
	uint16_t src_port, dst_port;
	uint8_t tcp_flags;
	uint32_t l4_off;	/* offset of the L4 header, 0 when none */
	uint32_t payload_off;	/* offset of the UDP/TCP payload, 0 when none */
	uint32_t payload_len;
	bool truncated;		/* headers claim more than the frame holds */
};

/* 0 when at least Ethernet parsed (-EINVAL for < 14 bytes). */
int salvo_frame_decode(const uint8_t *f, uint32_t len, struct salvo_frame_info *fi);
/* One line: "aa:.. > bb:.. vlan 5 IPv4 10.0.0.1:9 > 10.0.0.2:9 UDP len 18 [stamp flow 0 seq 7]". */
int salvo_frame_format(const struct salvo_frame_info *fi, const uint8_t *f, char *buf,
		       size_t len);

#endif
