// SPDX-License-Identifier: MIT
/* Kernel witnesses (include/salvo/kstats.h): summing them, reading a socket's drops. */
#include <errno.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <salvo/common.h>
#include <salvo/kstats.h>

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

void salvo_kstats_add(struct salvo_kstats *a, const struct salvo_kstats *b)
{
	a->have |= salvo_cnt_read(&b->have);
	a->rcvbuf_drops += salvo_cnt_read(&b->rcvbuf_drops);
	a->ring_drops += salvo_cnt_read(&b->ring_drops);
	a->ring_freezes += salvo_cnt_read(&b->ring_freezes);
	a->xdp_rx_dropped += salvo_cnt_read(&b->xdp_rx_dropped);
	a->xdp_rx_invalid_descs += salvo_cnt_read(&b->xdp_rx_invalid_descs);
	a->xdp_tx_invalid_descs += salvo_cnt_read(&b->xdp_tx_invalid_descs);
	a->xdp_rx_ring_full += salvo_cnt_read(&b->xdp_rx_ring_full);
	a->xdp_rx_fill_ring_empty_descs += salvo_cnt_read(&b->xdp_rx_fill_ring_empty_descs);
	a->xdp_tx_ring_empty_descs += salvo_cnt_read(&b->xdp_tx_ring_empty_descs);
	a->tcp_retrans += salvo_cnt_read(&b->tcp_retrans);
}

int salvo_sock_drops(int fd, uint64_t *out)
{
	uint32_t mem[SK_MEMINFO_VARS] = { 0 };
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len))
		return -errno;
	if (len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return -EOPNOTSUPP;	/* a kernel before SK_MEMINFO_DROPS (4.15) */
	*out = mem[SK_MEMINFO_DROPS];
	return 0;
}

void salvo_kstats_add_sock(struct salvo_kstats *k, int fd)
{
	uint64_t d;

	if (fd < 0 || salvo_sock_drops(fd, &d))
		return;
	salvo_cnt_add(&k->rcvbuf_drops, d);
	__atomic_store_n(&k->have, k->have | SALVO_KSTAT_RCVBUF, __ATOMIC_RELAXED);
}
