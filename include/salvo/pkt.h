/* SPDX-License-Identifier: MIT */
/*
 * Packet descriptors and the per-worker buffer pool.
 *
 * A pool is allocated once per worker (port): n descriptors and n buffers,
 * each buffer cache-line aligned, in one region.  get/put are a LIFO stack
 * with no lock: a pool belongs to one worker thread.  Backends that need
 * their own memory (AF_XDP UMEM, io_uring registered buffers) pass it to
 * salvo_pool_create() so the same buffers are what the kernel sees.
 */
#ifndef SALVO_PKT_H
#define SALVO_PKT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <salvo/addr.h>
#include <salvo/common.h>

enum {
	SALVO_PKT_F_PEER = 1 << 0,	/* tx: send to pkt->peer (unconnected sockets) */
	/*
	 * rx (stream): connection pkt->conn opened; len 0.  tx (stream client):
	 * connect slot pkt->conn to cfg->remote, then send the packet; the slot
	 * must be free (its last connection closed and all its events released,
	 * else -EBUSY); the result comes as a CONN_OPEN or CONN_ERROR event.
	 */
	SALVO_PKT_F_CONN_OPEN = 1 << 1,
	SALVO_PKT_F_CONN_CLOSE = 1 << 2,/* rx (stream): peer closed conn; tx: close after send */
	SALVO_PKT_F_CONN_ERROR = 1 << 3,/* rx (stream): conn failed, -errno in pkt->err */
	SALVO_PKT_F_SHUT_WR = 1 << 4,	/* tx (stream): shutdown(SHUT_WR) after this send */
	/*
	 * tx: data points outside the pool (memory the caller keeps alive until
	 * it gets this descriptor back from the pool); sent without the
	 * registered-buffer path, and salvo_pool_put() points data back at the
	 * descriptor's own buffer.
	 */
	SALVO_PKT_F_EXTERN = 1 << 5,
};

struct salvo_pkt {
	uint8_t *data;		/* first byte of payload (UDP/TCP) or frame (L2) */
	uint32_t len;		/* valid bytes at data */
	uint32_t buf_len;	/* capacity at data */
	uint16_t gso_size;	/* tx: UDP GSO segment size (0: one datagram); rx: GRO size */
	uint16_t flags;		/* SALVO_PKT_F_* */
	int32_t err;		/* rx: -errno with SALVO_PKT_F_CONN_ERROR */
	uint32_t flow;		/* tx: the worker's local flow index (see salvo_worker_flow_id) */
	uint32_t conn;		/* stream backends: connection id */
	uint32_t idx;		/* index in its pool (owner bookkeeping) */
	uint32_t bid;		/* backend private: buffer id, frame address, ... */
	uint64_t ts_ns;		/* rx: receive time if the backend knows it, else 0 */
	struct salvo_addr peer;	/* rx: source; tx with SALVO_PKT_F_PEER: destination */
};

struct salvo_pool {
	struct salvo_pkt *pkts;	/* n descriptors */
	struct salvo_pkt **free;/* LIFO stack of free descriptors */
	uint32_t n;
	uint32_t nfree;
	uint32_t buf_size;	/* bytes per buffer (stride), cache-line multiple */
	uint8_t *mem;		/* n * buf_size bytes */
	bool own_mem;
};

/*
 * Create a pool of n buffers of at least buf_size bytes.  mem, when not
 * NULL, is caller-owned memory of n * stride bytes (stride = buf_size
 * rounded up to a cache line) used as the buffers; otherwise the pool
 * allocates it (page aligned, zeroed).
 */
int salvo_pool_create(struct salvo_pool **out, uint32_t n, uint32_t buf_size, void *mem);
void salvo_pool_destroy(struct salvo_pool *p);
/* Stride that salvo_pool_create will use for buf_size. */
uint32_t salvo_pool_stride(uint32_t buf_size);

/* Take up to n descriptors; returns how many.  Each comes back with len 0, flags 0. */
static inline unsigned int salvo_pool_get(struct salvo_pool *p, struct salvo_pkt **v, unsigned int n)
{
	unsigned int i;

	if (n > p->nfree)
		n = p->nfree;
	for (i = 0; i < n; i++) {
		struct salvo_pkt *k = p->free[--p->nfree];

		k->len = 0;
		k->flags = 0;
		k->gso_size = 0;
		v[i] = k;
	}
	return n;
}

/*
 * salvo_pool_get for a caller that writes len, flags and gso_size of every
 * descriptor itself: the top n of the stack in one copy, nothing cleared
 * (a descriptor keeps what it carried when it was put back).
 */
static inline unsigned int salvo_pool_take(struct salvo_pool *p, struct salvo_pkt **v, unsigned int n)
{
	if (n > p->nfree)
		n = p->nfree;
	p->nfree -= n;
	memcpy(v, &p->free[p->nfree], (size_t)n * sizeof(*v));
	return n;
}

static inline void salvo_pool_put(struct salvo_pool *p, struct salvo_pkt **v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (salvo_unlikely(v[i]->flags & SALVO_PKT_F_EXTERN)) {
			v[i]->data = p->mem + (size_t)v[i]->idx * p->buf_size;
			v[i]->flags &= (uint16_t)~SALVO_PKT_F_EXTERN;
		}
		p->free[p->nfree++] = v[i];
	}
}

/* salvo_pool_put for descriptors the caller knows carry no SALVO_PKT_F_EXTERN: one copy. */
static inline void salvo_pool_put_block(struct salvo_pool *p, struct salvo_pkt **v, unsigned int n)
{
	memcpy(&p->free[p->nfree], v, (size_t)n * sizeof(*v));
	p->nfree += n;
}

static inline struct salvo_pkt *salvo_pool_pkt(struct salvo_pool *p, uint32_t idx)
{
	return &p->pkts[idx];
}

#endif
