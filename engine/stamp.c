// SPDX-License-Identifier: MIT
/* The salvo stamp: encode and decode (layout in stamp.h and docs/stamp.md). */
#include <errno.h>
#include <string.h>

#include <salvo/stamp.h>

static inline void put_be16(uint8_t *p, uint16_t v)
{
	v = __builtin_bswap16(v);
	memcpy(p, &v, 2);
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, 8);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

static inline uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

void salvo_stamp_encode(void *buf, const struct salvo_stamp *st)
{
	uint8_t *p = buf;

	put_be32(p + 0, SALVO_STAMP_MAGIC);
	/* Always the version this code speaks, whatever st->version says. */
	p[4] = SALVO_STAMP_VERSION;
	p[5] = st->flags;
	put_be16(p + 6, 0);
	put_be32(p + 8, st->flow);
	put_be32(p + 12, st->len);
	put_be64(p + 16, st->seq);
	put_be64(p + 24, st->ts_ns);
}

int salvo_stamp_decode(const void *buf, size_t len, struct salvo_stamp *st)
{
	const uint8_t *p = buf;

	if (len < SALVO_STAMP_SIZE || !buf)
		return -EINVAL;
	if (get_be32(p) != SALVO_STAMP_MAGIC || p[4] != SALVO_STAMP_VERSION)
		return -EINVAL;
	/*
	 * The reserved field is not checked: a later minor revision may use it
	 * and a version-1 reader can still account the packet.
	 */
	st->version = p[4];
	st->flags = p[5];
	st->flow = get_be32(p + 8);
	st->len = get_be32(p + 12);
	st->seq = get_be64(p + 16);
	st->ts_ns = get_be64(p + 24);
	return 0;
}
