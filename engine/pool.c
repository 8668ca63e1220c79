// SPDX-License-Identifier: MIT
/* Per-worker packet buffer pools: allocated once, no lock, no malloc per packet. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <salvo/pkt.h>

uint32_t salvo_pool_stride(uint32_t buf_size)
{
	return (buf_size + SALVO_CACHELINE - 1) & ~(uint32_t)(SALVO_CACHELINE - 1);
}

int salvo_pool_create(struct salvo_pool **out, uint32_t n, uint32_t buf_size, void *mem)
{
	struct salvo_pool *p;
	uint32_t stride;
	size_t bytes;

	/* 1 GiB per buffer is far past any packet; it also keeps the stride from wrapping. */
	if (!n || !buf_size || buf_size > (1u << 30) || n > (1u << 24))
		return -EINVAL;
	stride = salvo_pool_stride(buf_size);
	bytes = (size_t)n * stride;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->n = n;
	p->buf_size = stride;
	/* n <= 2^24 above, so this size cannot overflow; round up to the alignment. */
	p->pkts = aligned_alloc(SALVO_CACHELINE, ((size_t)n * sizeof(struct salvo_pkt) + SALVO_CACHELINE - 1) &
						 ~(size_t)(SALVO_CACHELINE - 1));
	p->free = calloc(n, sizeof(*p->free));
	if (!p->pkts || !p->free)
		goto fail;
	memset(p->pkts, 0, n * sizeof(struct salvo_pkt));
	if (mem) {
		p->mem = mem;
	} else {
		/* mmap: page aligned and zeroed, and returned to the kernel whole on destroy. */
		p->mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p->mem == MAP_FAILED) {
			p->mem = NULL;
			goto fail;
		}
		p->own_mem = true;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct salvo_pkt *k = &p->pkts[i];

		k->data = p->mem + (size_t)i * stride;
		k->buf_len = stride;
		k->idx = i;
		p->free[n - 1 - i] = k;	/* pop order 0, 1, 2...: buffers touched in address order */
	}
	p->nfree = n;
	*out = p;
	return 0;
fail:
	free(p->pkts);
	free(p->free);
	free(p);
	return -ENOMEM;
}

void salvo_pool_destroy(struct salvo_pool *p)
{
	if (!p)
		return;
	if (p->own_mem)
		munmap(p->mem, (size_t)p->n * p->buf_size);
	free(p->pkts);
	free(p->free);
	free(p);
}
