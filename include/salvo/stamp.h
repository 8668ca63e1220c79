/* SPDX-License-Identifier: MIT */
/*
 * The salvo stamp: 32 bytes at the start of every generated payload (UDP
 * datagram, TCP message, raw frame's L4 payload) that is at least that long.
 * Layout and byte order are documented in docs/stamp.md; all fields are
 * big-endian so that a capture reads the same on any host.
 *
 *   0  u32 magic    0x53564c4f ("SVLO")
 *   4  u8  version  1
 *   5  u8  flags    bit 0: ts is CLOCK_REALTIME (else CLOCK_MONOTONIC)
 *   6  u16 reserved 0
 *   8  u32 flow     flow id
 *  12  u32 len      message length including the stamp (stream framing; 0 = unknown)
 *  16  u64 seq      per-flow sequence number, starting at 0
 *  24  u64 ts_ns    send time in ns
 */
#ifndef SALVO_STAMP_H
#define SALVO_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SALVO_STAMP_MAGIC 0x53564c4fU
#define SALVO_STAMP_VERSION 1
#define SALVO_STAMP_SIZE 32
#define SALVO_STAMP_F_REALTIME 0x01

struct salvo_stamp {
	uint8_t version;
	uint8_t flags;
	uint32_t flow;
	uint32_t len;
	uint64_t seq;
	uint64_t ts_ns;
};

/*
 * Write the 32-byte stamp at buf (which must have SALVO_STAMP_SIZE bytes, any
 * alignment).  The magic, SALVO_STAMP_VERSION and a zero reserved field are
 * always written; st->version is ignored, so a zeroed struct encodes a valid
 * stamp.
 */
void salvo_stamp_encode(void *buf, const struct salvo_stamp *st);

/*
 * Read a stamp from the first len bytes of buf.  Returns 0, or -EINVAL when
 * len is short, the magic is wrong, or the version is unknown (the payload
 * is then "unstamped").  Unknown flag bits and the reserved field are
 * accepted as they are, so that version 1 stays readable if they gain a use.
 */
int salvo_stamp_decode(const void *buf, size_t len, struct salvo_stamp *st);

/*
 * Hot-path helper: rewrite only seq and ts of a stamp already encoded at buf
 * (the generator encodes a template once per buffer, then patches per packet).
 */
static inline void salvo_stamp_patch(void *buf, uint64_t seq, uint64_t ts_ns)
{
	uint8_t *p = (uint8_t *)buf;
	uint64_t s = __builtin_bswap64(seq), t = __builtin_bswap64(ts_ns);

	__builtin_memcpy(p + 16, &s, 8);
	__builtin_memcpy(p + 24, &t, 8);
}

static inline void salvo_stamp_patch_flow(void *buf, uint32_t flow)
{
	uint32_t f = __builtin_bswap32(flow);

	__builtin_memcpy((uint8_t *)buf + 8, &f, 4);
}

#endif
