// SPDX-License-Identifier: MIT
/* Unit tests for the per-worker buffer pool (engine/pool.c, include/salvo/pkt.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <salvo/pkt.h>

static void test_stride(void **state)
{
	(void)state;
	assert_int_equal(salvo_pool_stride(1), 64);
	assert_int_equal(salvo_pool_stride(64), 64);
	assert_int_equal(salvo_pool_stride(65), 128);
	assert_int_equal(salvo_pool_stride(1500), 1536);
	assert_int_equal(salvo_pool_stride(2048), 2048);
}

static void test_create_rejects(void **state)
{
	struct salvo_pool *p = (void *)1;

	(void)state;
	assert_int_equal(salvo_pool_create(&p, 0, 64, NULL), -EINVAL);
	assert_int_equal(salvo_pool_create(&p, 8, 0, NULL), -EINVAL);
	assert_ptr_equal(p, (void *)1);
	salvo_pool_destroy(NULL);
}

static void test_get_put(void **state)
{
	struct salvo_pool *p;
	struct salvo_pkt *v[20], *w[4];
	const unsigned int n = 16;

	(void)state;
	assert_int_equal(salvo_pool_create(&p, n, 100, NULL), 0);
	assert_int_equal(p->n, n);
	assert_int_equal(p->nfree, n);
	assert_int_equal(p->buf_size, 128);

	/* Fresh pool: buffers come out in address order, each distinct and in range. */
	assert_int_equal(salvo_pool_get(p, v, 5), 5);
	for (unsigned int i = 0; i < 5; i++) {
		assert_int_equal(v[i]->idx, i);
		assert_ptr_equal(v[i], salvo_pool_pkt(p, i));
		assert_ptr_equal(v[i]->data, p->mem + (size_t)i * 128);
		assert_int_equal(v[i]->buf_len, 128);
	}
	assert_int_equal(p->nfree, n - 5);

	/* Exhaustion: ask for more than is left, get exactly the rest, then nothing. */
	assert_int_equal(salvo_pool_get(p, v + 5, 15), n - 5);
	assert_int_equal(p->nfree, 0);
	assert_int_equal(salvo_pool_get(p, w, 4), 0);
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = i + 1; j < n; j++)
			assert_ptr_not_equal(v[i], v[j]);

	/* Descriptors come back reset, whatever the last user left in them. */
	v[3]->len = 77;
	v[3]->flags = SALVO_PKT_F_PEER;
	v[3]->gso_size = 1400;
	salvo_pool_put(p, &v[3], 1);
	assert_int_equal(p->nfree, 1);
	/* LIFO: the last one put is the next one taken (still cache-warm). */
	assert_int_equal(salvo_pool_get(p, w, 4), 1);
	assert_ptr_equal(w[0], v[3]);
	assert_int_equal(w[0]->len, 0);
	assert_int_equal(w[0]->flags, 0);
	assert_int_equal(w[0]->gso_size, 0);

	salvo_pool_put(p, v, n);
	assert_int_equal(p->nfree, n);
	assert_int_equal(salvo_pool_get(p, v, 0), 0);
	salvo_pool_destroy(p);
}

/*
 * take: the top of the stack as one block, in the order put_block left it
 * (a burst comes back as it went), each descriptor as it was put back
 * (nothing cleared: its caller writes len, flags and gso_size).
 */
static void test_take(void **state)
{
	struct salvo_pool *p;
	struct salvo_pkt *v[8], *w[8];

	(void)state;
	assert_int_equal(salvo_pool_create(&p, 8, 64, NULL), 0);
	assert_int_equal(salvo_pool_get(p, v, 8), 8);
	for (unsigned int i = 0; i < 8; i++)
		v[i]->len = 100 + i;
	salvo_pool_put_block(p, v + 2, 5);	/* v[2..7) */
	assert_int_equal(p->nfree, 5);
	assert_int_equal(salvo_pool_take(p, w, 3), 3);	/* the top three: v[4..7) */
	assert_int_equal(p->nfree, 2);
	for (unsigned int i = 0; i < 3; i++) {
		assert_ptr_equal(w[i], v[4 + i]);
		assert_int_equal(w[i]->len, 104 + i);
	}
	/* More than is left: exactly the rest, then nothing. */
	assert_int_equal(salvo_pool_take(p, w, 8), 2);
	assert_ptr_equal(w[0], v[2]);
	assert_ptr_equal(w[1], v[3]);
	assert_int_equal(p->nfree, 0);
	assert_int_equal(salvo_pool_take(p, w, 1), 0);
	salvo_pool_put(p, v, 8);
	salvo_pool_destroy(p);
}

/* Every buffer starts on a cache line, for every size; pool memory is zeroed and writable. */
static void test_alignment(void **state)
{
	static const uint32_t sizes[] = {1, 7, 63, 64, 65, 100, 1500, 2047, 9000, 65536};

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct salvo_pool *p;
		struct salvo_pkt *v[33];

		assert_int_equal(salvo_pool_create(&p, 33, sizes[s], NULL), 0);
		assert_true(p->buf_size >= sizes[s]);
		assert_int_equal(p->buf_size % SALVO_CACHELINE, 0);
		assert_int_equal((uintptr_t)p->pkts % SALVO_CACHELINE, 0);
		assert_int_equal(salvo_pool_get(p, v, 33), 33);
		for (unsigned int i = 0; i < 33; i++) {
			assert_int_equal((uintptr_t)v[i]->data % SALVO_CACHELINE, 0);
			assert_true(v[i]->buf_len >= sizes[s]);
			assert_int_equal(v[i]->data[0], 0);
			assert_int_equal(v[i]->data[sizes[s] - 1], 0);
			/* Writable to the end without touching the neighbour (ASan checks). */
			memset(v[i]->data, 0xa5, v[i]->buf_len);
		}
		for (unsigned int i = 0; i + 1 < 33; i++)
			assert_true(v[i]->data + v[i]->buf_len <= v[i + 1]->data);
		salvo_pool_put(p, v, 33);
		salvo_pool_destroy(p);
	}
}

/* Caller-owned memory (UMEM, registered buffers): used in place, not freed by destroy. */
static void test_external_memory(void **state)
{
	const uint32_t n = 8, size = 2048;
	uint32_t stride = salvo_pool_stride(size);
	uint8_t *mem = aligned_alloc(4096, (size_t)n * stride);
	struct salvo_pool *p;
	struct salvo_pkt *v[8];

	(void)state;
	assert_non_null(mem);
	memset(mem, 0x5a, (size_t)n * stride);
	assert_int_equal(salvo_pool_create(&p, n, size, mem), 0);
	assert_ptr_equal(p->mem, mem);
	assert_false(p->own_mem);
	assert_int_equal(salvo_pool_get(p, v, n), n);
	for (uint32_t i = 0; i < n; i++) {
		assert_ptr_equal(v[i]->data, mem + (size_t)v[i]->idx * stride);
		assert_int_equal((uintptr_t)v[i]->data % SALVO_CACHELINE, 0);
		assert_int_equal(v[i]->data[0], 0x5a);	/* not cleared: it is the caller's */
	}
	salvo_pool_put(p, v, n);
	salvo_pool_destroy(p);
	/* Still ours after destroy (ASan flags a use-after-free if the pool freed it). */
	mem[0] = 1;
	free(mem);
}

/*
 * A buffer size whose rounding overflows 32 bits must be refused, not
 * turned into a pool of zero-byte buffers (with external memory nothing
 * else would catch it).
 */
static void test_huge_buf_size(void **state)
{
	uint8_t mem[256];
	struct salvo_pool *p = NULL;
	int rc;

	(void)state;
	rc = salvo_pool_create(&p, 2, UINT32_MAX - 10, mem);
	if (rc == 0) {
		uint32_t bl = p->pkts[0].buf_len;

		salvo_pool_destroy(p);
		fail_msg("pool of %u-byte buffers created for buf_size %u", bl, UINT32_MAX - 10);
	}
	assert_true(rc < 0);
	assert_true(salvo_pool_create(&p, 2, UINT32_MAX - 10, NULL) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stride),
		cmocka_unit_test(test_create_rejects),
		cmocka_unit_test(test_get_put),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_external_memory),
		cmocka_unit_test(test_huge_buf_size),
	};

	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
