/* SPDX-License-Identifier: MIT */
/*
 * The salvo stamp: 32 bytes at the start of every generated payload (UDP
 * datagram, TCP message, raw frame's L4 payload) that is at least that long.
 * Layout and byte order are documented in docs/stamp.md; all fields are
 * big-endian so that a capture reads the same on any host.
 *
 * Version 2 (written):
 *   0  u32 magic    0x53564c4f ("SVLO")
 *   4  u8  version  2
 *   5  u8  flags    bit 0: ts is CLOCK_REALTIME (else CLOCK_MONOTONIC)
 *   6  u48 seq      per-flow sequence number mod 2^48, starting at 0
 *  12  u32 session  the sending run's random id (never 0)
 *  16  u32 flow     flow id within the session
 *  20  u32 len      message length including the stamp (stream framing; 0 = unknown)
 *  24  u64 ts_ns    send time in ns
 *
 * Version 1 (still read, session 0): magic, version 1, flags, u16 reserved,
 * u32 flow at 8, u32 len at 12, u64 seq at 16, u64 ts_ns at 24.
 *
 * The session keeps the stamp at 32 bytes by taking 16 bits from seq (and
 * v1's reserved field): 2^48 packets is 326 days at 10 Mpps, where a 16-bit
 * session would let two of a few hundred senders collide.
 */
#ifndef SALVO_STAMP_H
#define SALVO_STAMP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SALVO_STAMP_MAGIC 0x53564c4fU
#define SALVO_STAMP_VERSION 2
#define SALVO_STAMP_SIZE 32
#define SALVO_STAMP_F_REALTIME 0x01
#define SALVO_STAMP_SEQ_MASK ((1ULL << 48) - 1)

struct salvo_stamp {
	uint8_t version;
	uint8_t flags;
	uint32_t session;	/* 0: a version-1 stamp (no session) */
	uint32_t flow;
	uint32_t len;
	uint64_t seq;		/* version 2 carries seq mod 2^48 */
	uint64_t ts_ns;
};

/*
 * Write the 32-byte version-2 stamp at buf (which must have SALVO_STAMP_SIZE
 * bytes, any alignment).  The magic and SALVO_STAMP_VERSION are always
 * written; st->version is ignored, so a zeroed struct encodes a valid stamp.
 * seq is written mod 2^48.
 */
void salvo_stamp_encode(void *buf, const struct salvo_stamp *st);

/*
 * Read a stamp (version 2, or version 1 with session 0) from the first len
 * bytes of buf.  Returns 0, or -EINVAL when len is short, the magic is
 * wrong, or the version is unknown (the payload is then "unstamped").
 * Unknown flag bits (and v1's reserved field) are accepted as they are.
 */
int salvo_stamp_decode(const void *buf, size_t len, struct salvo_stamp *st);

/*
 * The receive path's salvo_stamp_decode: the version-2 stamp every current
 * sender writes is read inline (a receiver decodes one per packet, and the
 * call was a tenth of its work), and so is the refusal of a payload that is
 * short or not a stamp (unstamped traffic); a v1 stamp takes
 * salvo_stamp_decode.  Both give the same answer for every input.
 */
static inline int salvo_stamp_read(const void *buf, size_t len, struct salvo_stamp *st)
{
	const uint8_t *p = (const uint8_t *)buf;
	uint32_t m, sess, flow, l;
	uint16_t hi;
	uint32_t lo;
	uint64_t ts;

	/* Short or not a stamp: salvo_stamp_decode's answer, without the call. */
	if (__builtin_expect(len < SALVO_STAMP_SIZE || !buf, 0))
		return -EINVAL;
	__builtin_memcpy(&m, p, 4);
	if (__builtin_expect(m != __builtin_bswap32(SALVO_STAMP_MAGIC), 0))
		return -EINVAL;
	if (__builtin_expect(p[4] != 2, 0))
		return salvo_stamp_decode(buf, len, st);
	__builtin_memcpy(&hi, p + 6, 2);
	__builtin_memcpy(&lo, p + 8, 4);
	__builtin_memcpy(&sess, p + 12, 4);
	__builtin_memcpy(&flow, p + 16, 4);
	__builtin_memcpy(&l, p + 20, 4);
	__builtin_memcpy(&ts, p + 24, 8);
	st->version = 2;
	st->flags = p[5];
	st->seq = (uint64_t)__builtin_bswap16(hi) << 32 | __builtin_bswap32(lo);
	st->session = __builtin_bswap32(sess);
	st->flow = __builtin_bswap32(flow);
	st->len = __builtin_bswap32(l);
	st->ts_ns = __builtin_bswap64(ts);
	return 0;
}

/*
 * A new random session id for one sending run (getrandom), never 0.
 * Returns 0 or -errno.
 */
int salvo_stamp_session_new(uint32_t *out);

/*
 * Hot-path helper: rewrite only seq and ts of a version-2 stamp already
 * encoded at buf (a sender encodes a template once per buffer, then patches
 * per packet).
 */
static inline void salvo_stamp_patch(void *buf, uint64_t seq, uint64_t ts_ns)
{
	uint8_t *p = (uint8_t *)buf;
	uint64_t s = __builtin_bswap64(seq << 16), t = __builtin_bswap64(ts_ns);

	/* seq << 16, big-endian: its first 6 bytes are seq's low 48 bits. */
	__builtin_memcpy(p + 6, &s, 6);
	__builtin_memcpy(p + 24, &t, 8);
}

static inline void salvo_stamp_patch_flow(void *buf, uint32_t flow)
{
	uint32_t f = __builtin_bswap32(flow);

	__builtin_memcpy((uint8_t *)buf + 16, &f, 4);
}

#endif
