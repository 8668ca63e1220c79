// SPDX-License-Identifier: MIT
/* The salvo stamp: encode and decode (layout in stamp.h and docs/stamp.md). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

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

static inline uint16_t get_be16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return __builtin_bswap16(v);
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
	put_be16(p + 6, (uint16_t)(st->seq >> 32));
	put_be32(p + 8, (uint32_t)st->seq);
	put_be32(p + 12, st->session);
	put_be32(p + 16, st->flow);
	put_be32(p + 20, st->len);
	put_be64(p + 24, st->ts_ns);
}

int salvo_stamp_decode(const void *buf, size_t len, struct salvo_stamp *st)
{
	const uint8_t *p = buf;

	if (len < SALVO_STAMP_SIZE || !buf || get_be32(p) != SALVO_STAMP_MAGIC)
		return -EINVAL;
	st->version = p[4];
	st->flags = p[5];
	st->ts_ns = get_be64(p + 24);
	if (p[4] == 2) {
		st->seq = (uint64_t)get_be16(p + 6) << 32 | get_be32(p + 8);
		st->session = get_be32(p + 12);
		st->flow = get_be32(p + 16);
		st->len = get_be32(p + 20);
		return 0;
	}
	if (p[4] == 1) {
		/*
		 * The reserved field is not checked: a version-1 writer may have
		 * used it.  No session: all v1 senders share session 0.
		 */
		st->session = 0;
		st->flow = get_be32(p + 8);
		st->len = get_be32(p + 12);
		st->seq = get_be64(p + 16);
		return 0;
	}
	return -EINVAL;
}

int salvo_stamp_session_new(uint32_t *out)
{
	uint32_t v = 0;

	/* 0 means "no session" (a v1 sender): draw again in the 2^-32 case. */
	while (!v) {
		ssize_t n = getrandom(&v, sizeof(v), 0);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n != (ssize_t)sizeof(v))
			v = 0;
	}
	*out = v;
	return 0;
}
