// SPDX-License-Identifier: MIT
/* Unit tests for the stamp codec (engine/stamp.c, include/salvo/stamp.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <salvo/stamp.h>

/* The wire image from docs/stamp.md, byte by byte. */
static void test_layout_bytes(void **state)
{
	(void)state;
	static const uint8_t want[SALVO_STAMP_SIZE] = {
		0x53, 0x56, 0x4c, 0x4f,				/* "SVLO" */
		0x02,						/* version */
		0x01,						/* flags: realtime */
		0x03, 0x04, 0x05, 0x06, 0x07, 0x08,		/* seq, low 48 bits */
		0x9a, 0xbc, 0xde, 0xf0,				/* session */
		0x11, 0x22, 0x33, 0x44,				/* flow */
		0x00, 0x00, 0x05, 0xdc,				/* len 1500 */
		0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,	/* ts_ns */
	};
	struct salvo_stamp st = {
		.version = SALVO_STAMP_VERSION,
		.flags = SALVO_STAMP_F_REALTIME,
		.session = 0x9abcdef0,
		.flow = 0x11223344,
		.len = 1500,
		.seq = 0x0102030405060708ULL,
		.ts_ns = 0xa1a2a3a4a5a6a7a8ULL,
	};
	uint8_t buf[SALVO_STAMP_SIZE];

	memset(buf, 0xee, sizeof(buf));
	salvo_stamp_encode(buf, &st);
	assert_memory_equal(buf, want, sizeof(want));
	assert_memory_equal(buf, "SVLO", 4);
}

static void test_roundtrip(void **state)
{
	(void)state;
	uint64_t vals[] = { 0, 1, 0xff, 0x100, 0x7fffffffffffffffULL, 0x8000000000000000ULL, UINT64_MAX };
	uint8_t buf[64];

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct salvo_stamp in = {
			.version = SALVO_STAMP_VERSION,
			.flags = (uint8_t)(i & 1),
			.session = (uint32_t)(vals[i] >> 3) ^ 0xa5a5a5a5,
			.flow = (uint32_t)(vals[i] ^ 0x5a5a5a5a),
			.len = (uint32_t)(vals[i] >> 7),
			.seq = vals[i],
			.ts_ns = ~vals[i],
		};
		struct salvo_stamp out;

		memset(&out, 0xcc, sizeof(out));
		salvo_stamp_encode(buf, &in);
		assert_int_equal(salvo_stamp_decode(buf, sizeof(buf), &out), 0);
		assert_int_equal(out.version, in.version);
		assert_int_equal(out.flags, in.flags);
		assert_int_equal(out.session, in.session);
		assert_int_equal(out.flow, in.flow);
		assert_int_equal(out.len, in.len);
		/* The wire keeps seq mod 2^48. */
		assert_true(out.seq == (in.seq & SALVO_STAMP_SEQ_MASK));
		assert_true(out.ts_ns == in.ts_ns);
	}
}

/* Encode writes the current version even from a zeroed struct. */
static void test_encode_zeroed(void **state)
{
	(void)state;
	struct salvo_stamp in = { 0 }, out;
	uint8_t buf[SALVO_STAMP_SIZE];

	salvo_stamp_encode(buf, &in);
	assert_int_equal(buf[4], SALVO_STAMP_VERSION);
	assert_int_equal(salvo_stamp_decode(buf, sizeof(buf), &out), 0);
	assert_int_equal(out.version, SALVO_STAMP_VERSION);
	assert_true(out.seq == 0 && out.ts_ns == 0 && out.flow == 0 && out.len == 0);
}

static void test_patch(void **state)
{
	(void)state;
	struct salvo_stamp in = {
		.version = SALVO_STAMP_VERSION, .flags = 0, .session = 99, .flow = 7, .len = 64,
		.seq = 0, .ts_ns = 0,
	}, out;
	/* Patch at an odd offset: buffers are not necessarily aligned. */
	uint8_t raw[SALVO_STAMP_SIZE + 1], *buf = raw + 1;

	salvo_stamp_encode(buf, &in);
	salvo_stamp_patch(buf, 0xdeadbeefcafef00dULL, 123456789012345ULL);
	assert_int_equal(salvo_stamp_decode(buf, SALVO_STAMP_SIZE, &out), 0);
	assert_true(out.seq == 0xbeefcafef00dULL);
	assert_true(out.ts_ns == 123456789012345ULL);
	assert_int_equal(out.session, 99);
	assert_int_equal(out.flow, 7);
	assert_int_equal(out.len, 64);
	assert_int_equal(out.flags, 0);
	/* Big-endian on the wire; the neighbours of seq untouched. */
	assert_int_equal(buf[5], 0);
	assert_int_equal(buf[6], 0xbe);
	assert_int_equal(buf[11], 0x0d);
	assert_int_equal(buf[15], 99);

	salvo_stamp_patch_flow(buf, 0xa0b0c0d0);
	assert_int_equal(salvo_stamp_decode(buf, SALVO_STAMP_SIZE, &out), 0);
	assert_int_equal(out.flow, 0xa0b0c0d0);
	assert_int_equal(buf[16], 0xa0);
	assert_int_equal(out.session, 99);
	assert_true(out.seq == 0xbeefcafef00dULL);
}

static void test_decode_errors(void **state)
{
	(void)state;
	struct salvo_stamp in = { .version = SALVO_STAMP_VERSION, .flow = 1, .seq = 2 }, out;
	uint8_t buf[SALVO_STAMP_SIZE], bad[SALVO_STAMP_SIZE];

	salvo_stamp_encode(buf, &in);
	/* Short buffers, down to empty. */
	for (size_t len = 0; len < SALVO_STAMP_SIZE; len++)
		assert_int_equal(salvo_stamp_decode(buf, len, &out), -EINVAL);
	assert_int_equal(salvo_stamp_decode(buf, SALVO_STAMP_SIZE, &out), 0);

	/* Any single corrupted magic byte. */
	for (int i = 0; i < 4; i++) {
		memcpy(bad, buf, sizeof(bad));
		bad[i] ^= 0x20;
		assert_int_equal(salvo_stamp_decode(bad, sizeof(bad), &out), -EINVAL);
	}
	/* Unknown versions. */
	memcpy(bad, buf, sizeof(bad));
	bad[4] = 0;
	assert_int_equal(salvo_stamp_decode(bad, sizeof(bad), &out), -EINVAL);
	bad[4] = 3;
	assert_int_equal(salvo_stamp_decode(bad, sizeof(bad), &out), -EINVAL);
	bad[4] = 0xff;
	assert_int_equal(salvo_stamp_decode(bad, sizeof(bad), &out), -EINVAL);
	/* Unknown flag bits are tolerated. */
	memcpy(bad, buf, sizeof(bad));
	bad[5] = 0xfe;
	assert_int_equal(salvo_stamp_decode(bad, sizeof(bad), &out), 0);
	assert_int_equal(out.flags, 0xfe);
	/* An unstamped payload (all zero) is rejected. */
	memset(bad, 0, sizeof(bad));
	assert_int_equal(salvo_stamp_decode(bad, sizeof(bad), &out), -EINVAL);
}

/* A version-1 stamp (older salvo, the seed's programs) still decodes, as session 0. */
static void test_decode_v1(void **state)
{
	(void)state;
	static const uint8_t v1[SALVO_STAMP_SIZE] = {
		0x53, 0x56, 0x4c, 0x4f,				/* "SVLO" */
		0x01,						/* version 1 */
		0x01,						/* flags: realtime */
		0x12, 0x34,					/* reserved: ignored */
		0x11, 0x22, 0x33, 0x44,				/* flow */
		0x00, 0x00, 0x05, 0xdc,				/* len 1500 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* seq, all 64 bits */
		0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,	/* ts_ns */
	};
	struct salvo_stamp out;

	memset(&out, 0xcc, sizeof(out));
	assert_int_equal(salvo_stamp_decode(v1, sizeof(v1), &out), 0);
	assert_int_equal(out.version, 1);
	assert_int_equal(out.flags, SALVO_STAMP_F_REALTIME);
	assert_int_equal(out.session, 0);
	assert_int_equal(out.flow, 0x11223344);
	assert_int_equal(out.len, 1500);
	assert_true(out.seq == 0x0102030405060708ULL);
	assert_true(out.ts_ns == 0xa1a2a3a4a5a6a7a8ULL);
	assert_int_equal(salvo_stamp_decode(v1, sizeof(v1) - 1, &out), -EINVAL);
}

/* Sessions are drawn at random and never 0 (0 names the v1 senders). */
/*
 * The receive path's inline reader: the wire image of test_layout_bytes
 * read field by field, and the same answer as salvo_stamp_decode for every
 * buffer that is short, not a stamp, another version, or v2 with each byte
 * changed in turn (each field's bytes land where the layout says).
 */
static void test_read_inline(void **state)
{
	(void)state;
	static const uint8_t img[SALVO_STAMP_SIZE + 4] = {
		0x53, 0x56, 0x4c, 0x4f, 0x02, 0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x05, 0xdc,
		0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xff, 0xff, 0xff, 0xff,
	};
	struct salvo_stamp a, b;
	uint8_t buf[sizeof(img)];

	assert_int_equal(salvo_stamp_read(img + 0, sizeof(img), &a), 0);
	assert_int_equal(a.version, 2);
	assert_int_equal(a.flags, 1);
	assert_true(a.seq == 0x030405060708ULL);
	assert_true(a.session == 0x9abcdef0U);
	assert_true(a.flow == 0x11223344U);
	assert_int_equal(a.len, 1500);
	assert_true(a.ts_ns == 0xa1a2a3a4a5a6a7a8ULL);
	assert_int_equal(salvo_stamp_read(NULL, 64, &a), -EINVAL);
	for (size_t len = 0; len <= sizeof(img); len++)
		assert_int_equal(salvo_stamp_read(img, len, &a), salvo_stamp_decode(img, len, &b));
	memcpy(buf, img, sizeof(buf));
	buf[4] = 1;	/* version 1: read hands it to decode */
	assert_int_equal(salvo_stamp_read(buf, sizeof(buf), &a), 0);
	assert_int_equal(salvo_stamp_decode(buf, sizeof(buf), &b), 0);
	assert_true(a.version == 1 && a.session == 0 && a.seq == b.seq && a.flow == b.flow);
	for (size_t i = 0; i < SALVO_STAMP_SIZE; i++) {
		for (unsigned int x = 1; x < 256; x <<= 1) {
			int ra, rb;

			memcpy(buf, img, sizeof(buf));
			buf[i] ^= (uint8_t)x;
			memset(&a, 0x5a, sizeof(a));
			memset(&b, 0x5a, sizeof(b));
			ra = salvo_stamp_read(buf, sizeof(buf), &a);
			rb = salvo_stamp_decode(buf, sizeof(buf), &b);
			assert_int_equal(ra, rb);
			if (ra)
				continue;
			assert_int_equal(a.version, b.version);
			assert_int_equal(a.flags, b.flags);
			assert_true(a.seq == b.seq && a.session == b.session && a.flow == b.flow);
			assert_true(a.len == b.len && a.ts_ns == b.ts_ns);
		}
	}
}

static void test_session_new(void **state)
{
	(void)state;
	uint32_t a = 0, b = 0;

	assert_int_equal(salvo_stamp_session_new(&a), 0);
	assert_int_equal(salvo_stamp_session_new(&b), 0);
	assert_int_not_equal(a, 0);
	assert_int_not_equal(b, 0);
	/* 2^-32 odds of a false failure. */
	assert_int_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_bytes),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_zeroed),
		cmocka_unit_test(test_patch),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_v1),
		cmocka_unit_test(test_read_inline),
		cmocka_unit_test(test_session_new),
	};

	return cmocka_run_group_tests_name("stamp", tests, NULL, NULL);
}
