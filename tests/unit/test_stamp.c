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
		0x01,						/* version */
		0x01,						/* flags: realtime */
		0x00, 0x00,					/* reserved */
		0x11, 0x22, 0x33, 0x44,				/* flow */
		0x00, 0x00, 0x05, 0xdc,				/* len 1500 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* seq */
		0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,	/* ts_ns */
	};
	struct salvo_stamp st = {
		.version = SALVO_STAMP_VERSION,
		.flags = SALVO_STAMP_F_REALTIME,
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
		assert_int_equal(out.flow, in.flow);
		assert_int_equal(out.len, in.len);
		assert_true(out.seq == in.seq);
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
		.version = SALVO_STAMP_VERSION, .flags = 0, .flow = 7, .len = 64,
		.seq = 0, .ts_ns = 0,
	}, out;
	/* Patch at an odd offset: buffers are not necessarily aligned. */
	uint8_t raw[SALVO_STAMP_SIZE + 1], *buf = raw + 1;

	salvo_stamp_encode(buf, &in);
	salvo_stamp_patch(buf, 0xdeadbeefcafef00dULL, 123456789012345ULL);
	assert_int_equal(salvo_stamp_decode(buf, SALVO_STAMP_SIZE, &out), 0);
	assert_true(out.seq == 0xdeadbeefcafef00dULL);
	assert_true(out.ts_ns == 123456789012345ULL);
	assert_int_equal(out.flow, 7);
	assert_int_equal(out.len, 64);
	assert_int_equal(out.flags, 0);
	/* Big-endian on the wire. */
	assert_int_equal(buf[16], 0xde);
	assert_int_equal(buf[23], 0x0d);

	salvo_stamp_patch_flow(buf, 0xa0b0c0d0);
	assert_int_equal(salvo_stamp_decode(buf, SALVO_STAMP_SIZE, &out), 0);
	assert_int_equal(out.flow, 0xa0b0c0d0);
	assert_int_equal(buf[8], 0xa0);
	assert_true(out.seq == 0xdeadbeefcafef00dULL);
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
	bad[4] = 2;
	assert_int_equal(salvo_stamp_decode(bad, sizeof(bad), &out), -EINVAL);
	/* Unknown flag bits and reserved bytes are tolerated. */
	memcpy(bad, buf, sizeof(bad));
	bad[5] = 0xfe;
	bad[6] = 0x12;
	assert_int_equal(salvo_stamp_decode(bad, sizeof(bad), &out), 0);
	assert_int_equal(out.flags, 0xfe);
	/* An unstamped payload (all zero) is rejected. */
	memset(bad, 0, sizeof(bad));
	assert_int_equal(salvo_stamp_decode(bad, sizeof(bad), &out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_bytes),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_zeroed),
		cmocka_unit_test(test_patch),
		cmocka_unit_test(test_decode_errors),
	};

	return cmocka_run_group_tests_name("stamp", tests, NULL, NULL);
}
