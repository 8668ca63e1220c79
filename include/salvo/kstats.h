/* SPDX-License-Identifier: MIT */
/*
 * Kernel witnesses: what the kernel itself says it dropped or resent, read
 * from its own counters, reported beside (never mixed into) the loss the
 * stamps show.  A backend fills the ones it can read and says which in
 * `have`; cli/ prints them as the report's "kernel" section (docs/json.md).
 * One writer per port (its worker, salvo_cnt_add or a plain store through
 * __atomic_store_n); the report reads them with salvo_cnt_read().
 */
#ifndef SALVO_KSTATS_H
#define SALVO_KSTATS_H

#include <stdint.h>

enum {
	SALVO_KSTAT_RCVBUF = 1 << 0,	/* rcvbuf_drops */
	SALVO_KSTAT_RING = 1 << 1,	/* ring_drops, ring_freezes */
	SALVO_KSTAT_XDP = 1 << 2,	/* xdp_* */
	SALVO_KSTAT_TCP = 1 << 3,	/* tcp_retrans */
};

struct salvo_kstats {
	uint64_t have;			/* SALVO_KSTAT_*: the counters this port reads */
	/* Datagrams dropped for a full socket receive buffer (the socket's
	 * sk_drops: SO_MEMINFO's SK_MEMINFO_DROPS, what SO_RXQ_OVFL reports). */
	uint64_t rcvbuf_drops;
	/* af_packet rx ring, PACKET_STATISTICS: frames dropped for a full ring
	 * (tp_drops) and times the ring froze for it (tp_freeze_q_cnt). */
	uint64_t ring_drops, ring_freezes;
	/* AF_XDP, XDP_STATISTICS: the kernel's struct xdp_statistics. */
	uint64_t xdp_rx_dropped, xdp_rx_invalid_descs, xdp_tx_invalid_descs;
	uint64_t xdp_rx_ring_full, xdp_rx_fill_ring_empty_descs, xdp_tx_ring_empty_descs;
	uint64_t tcp_retrans;		/* TCP_INFO tcpi_total_retrans, summed over connections */
};

/* a += b, counter by counter, and a->have |= b->have: one port's into a run's total. */
void salvo_kstats_add(struct salvo_kstats *a, const struct salvo_kstats *b);

/*
 * The datagrams the kernel dropped on socket fd (its sk_drops) in *out:
 * exact and cumulative since the socket was made, drops after the last
 * datagram read included (SO_RXQ_OVFL only tells them with a later one).
 * 0, or -errno.
 */
int salvo_sock_drops(int fd, uint64_t *out);

/*
 * For a port's receiving UDP socket, at its close (the one writer, its
 * worker): add the socket's drops (salvo_sock_drops) to k->rcvbuf_drops and
 * say k has them.  A socket that will not tell is left out.
 */
void salvo_kstats_add_sock(struct salvo_kstats *k, int fd);

#endif
