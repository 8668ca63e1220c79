/* SPDX-License-Identifier: MIT */
/* What a run is asked to do: filled by cli/ from the command line, read by the engine and backends. */
#ifndef SALVO_CFG_H
#define SALVO_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <salvo/addr.h>

enum salvo_proto {
	SALVO_PROTO_UDP = 1,	/* datagrams: UDP, or AF_UNIX SOCK_DGRAM */
	SALVO_PROTO_TCP,	/* streams: TCP, or AF_UNIX SOCK_STREAM */
	SALVO_PROTO_L2,		/* raw Ethernet frames on cfg->iface */
};

/* Which directions a port needs: a sender, a receiver, or both (echo, ping). */
enum {
	SALVO_DIR_TX = 1 << 0,
	SALVO_DIR_RX = 1 << 1,
};

struct salvo_l2_cfg;	/* raw frames: frames/pktgen.h */

/* Raw-frame kernel bypass: how an XDP program is attached (backends with SALVO_CAP_XDP). */
enum salvo_xdp_mode {
	SALVO_XDP_MODE_AUTO = 0,	/* native when the driver has it, else skb */
	SALVO_XDP_MODE_NATIVE,		/* driver mode, or fail */
	SALVO_XDP_MODE_SKB,		/* generic mode, any interface */
};

/* Zero-copy for raw-frame sockets. */
enum salvo_zc {
	SALVO_ZC_AUTO = 0,		/* zero-copy when the driver offers it, else copy */
	SALVO_ZC_ON,			/* zero-copy, or fail */
	SALVO_ZC_OFF,			/* copy mode */
};

/* Option-table names, index = enum value, NULL-terminated. */
extern const char *const salvo_xdp_mode_names[];	/* "auto", "native", "skb" */
extern const char *const salvo_zc_names[];		/* "auto", "on", "off" */

struct salvo_cfg {
	const char *command;	/* "udp send", ... for reports */
	const char *backend;	/* requested backend name, NULL: best available */
	enum salvo_proto proto;
	unsigned int dir;	/* SALVO_DIR_* */
	bool listen;		/* bind to 'local' and receive/accept (servers, receivers) */
	bool connect;		/* connect to 'remote' (senders, clients) */
	struct salvo_addr remote;	/* destination for senders and clients */
	struct salvo_addr local;	/* bind address for receivers and servers */
	bool have_local;	/* a sender with a given source address */

	const char *iface;	/* L2: interface name */
	struct salvo_l2_cfg *l2;/* L2: frame template and variation */
	bool qdisc;		/* af_packet: go through the qdisc (default: PACKET_QDISC_BYPASS) */
	uint32_t max_frame;	/* L2: the largest frame the run sends (salvo_l2_max_frame); 0: the MTU */

	unsigned int threads;	/* workers, >= 1 */
	unsigned int burst;	/* max descriptors per submission, >= 1 */
	unsigned int flows;	/* distinct flows (source ports), >= 1 */
	unsigned int streams;	/* TCP: parallel connections */
	/*
	 * TCP clients: open no connection at start; cfg->streams is the number
	 * of connection slots, each connected on demand by a tx packet flagged
	 * SALVO_PKT_F_CONN_OPEN (pkt.h), as often as the app likes.
	 */
	bool dial;
	uint32_t size;		/* payload (UDP/TCP message) or frame size in bytes */
	uint64_t count;		/* packets (tx) / packets (rx) / connections; 0: unbounded */
	uint64_t bytes;		/* stream senders: stop after this many bytes; 0: unbounded */
	uint64_t duration_ns;	/* 0: unbounded */
	double rate_pps;	/* 0: as fast as possible */
	double rate_bps;	/* converted to rate_pps by salvo_cfg_finish() */
	uint32_t timeout_ms;	/* how long one wait may block (connect, reply, idle) */
	/*
	 * Streams: a tx message not wholly sent this long after its first byte
	 * was handed to the kernel resets the connection (RST, CONN_ERROR
	 * -ETIMEDOUT), so a peer that never reads cannot hold a descriptor and
	 * its socket buffer for ever.  0: no limit.
	 */
	uint32_t send_timeout_ms;
	/* Stream listeners: one tx descriptor per connection slot (small ones, --size). */
	bool tx_per_conn;

	bool gso;		/* UDP_SEGMENT on send */
	bool gro;		/* UDP_GRO on receive */
	bool zerocopy;		/* MSG_ZEROCOPY / SEND_ZC where the backend has it */
	bool stamp;		/* put a stamp in every payload that can hold one (default on) */
	/*
	 * Stream receivers (SALVO_CAP_DISCARD): recv with MSG_TRUNC, which on
	 * TCP drops the bytes in the kernel without copying them out: rx
	 * packets carry a length and no data (pkt->data is not to be read).
	 */
	bool discard;
	/*
	 * Stream senders (SALVO_CAP_SPLICE): the backend copies the first
	 * message's bytes into a memfd once and sends every message as a
	 * prefix of it with sendfile(2), which splices the pages into the
	 * socket instead of copying them from user memory.  Messages must
	 * not differ (no stamps): the app writes nothing per message.
	 */
	bool splice;
	bool verbose;
	clockid_t stamp_clock;	/* CLOCK_MONOTONIC (default) or CLOCK_REALTIME */
	uint32_t session;	/* the stamps' session id; 0: salvo_run_create() draws one */

	const void *message;	/* fixed payload (--message), or NULL for generated */
	uint32_t message_len;
	int cpu_base;		/* first CPU to pin to, -1: no pinning */
	unsigned int queue;	/* L2: first queue (AF_XDP) */
	enum salvo_xdp_mode xdp_mode;	/* L2: XDP attach mode (SALVO_CAP_XDP backends) */
	enum salvo_zc zc_mode;	/* L2: zero-copy sockets */
	bool force;		/* L2: take over an interface another XDP program holds */
	bool keep_setid;	/* L2: workers keep CAP_SETUID/CAP_SETGID after setup, for the
				 * cli's switch to --user once every port is open (glibc
				 * changes the ids of every thread; one that may not aborts) */
	uint16_t filter_udp_port;	/* L2 receive: only UDP to this port (0: every frame) */
	unsigned int rcvbuf, sndbuf;	/* socket buffer sizes to ask for, 0: default */
	/*
	 * --busy-poll (udp ping, udp echo, udp recv): a datagram receiver never sleeps in
	 * the kernel: its port's rx_timeout_ms is 0 (rx_burst returns at once)
	 * and the app's loop spins, checking the run's stop flag and deadline
	 * on every turn.  Its sockets also ask for SO_BUSY_POLL (busy_poll_us)
	 * and SO_PREFER_BUSY_POLL, which act only on devices with NAPI (veth,
	 * NICs; not loopback); the port counts whether the kernel accepted them.
	 */
	bool busy_poll;
	unsigned int busy_poll_us;
	void *ext;		/* command-specific extension, read by that command's app */
	/*
	 * --start-at: the CLOCK_REALTIME instant (ns) the workers start at,
	 * 0: as soon as every port is open.  salvo_run_start() sleeps until
	 * then once the ports are open; start_wait_stop, when set, is asked
	 * every few ms of that sleep and true ends it: the run is interrupted
	 * before it sends or counts anything.
	 */
	uint64_t start_at_ns;
	bool (*start_wait_stop)(void);
	/*
	 * Probes only: judge whether the backend works on this machine (salvo
	 * backends' table, salvo doctor), not whether this run fits the
	 * interface (af_xdp: an MTU beyond a UMEM frame, as lo's).  A run and
	 * the defaults `salvo backends` reports leave it false.
	 */
	bool probe_host_only;
};

/*
 * A UDP receiver's batch (datagrams a receive call may take) unless --burst
 * says: under a load it cannot keep up with, recvmmsg of 256 cost the
 * receiver about 8% less CPU a datagram than of 32 (docs/benchmarks.md).
 * A receiver that keeps up takes what is queued, a few at a time, either way.
 */
#define SALVO_UDP_RX_BURST 256

/*
 * An unpaced UDP sender's burst (datagrams a submission) unless --burst
 * says.  With GSO, 32 made the system call the limit: 1.49-1.72M/s into a
 * bare receiver, 256 took 1.79-2.55M/s.  Plain sends, one datagram a
 * message, also spend less CPU a datagram with 256 in one sendmmsg or one
 * io_uring_enter than with 32 (docs/backends.md).
 */
#define SALVO_UDP_TX_BURST 256

/*
 * The burst a UDP cfg gets when none was given: SALVO_UDP_RX_BURST for a
 * receiver (dir RX alone), SALVO_UDP_TX_BURST for an unpaced sender, else
 * cfg->burst as it is (a pacer's bursts are its own; echo keeps 32).
 * Called once dir and the rate are set, by every command that builds one.
 */
unsigned int salvo_cfg_udp_burst(const struct salvo_cfg *cfg);

/* Defaults: one thread, burst 32, one flow, stamps on, 5 s timeout, loopback. */
void salvo_cfg_init(struct salvo_cfg *cfg);

/*
 * Check the combination and derive what follows (rate_bps -> rate_pps from
 * the payload size, flows >= threads, ...).  Returns 0 or -EINVAL with one
 * line in err.
 */
int salvo_cfg_finish(struct salvo_cfg *cfg, char *err, size_t errlen);

/* A receive filter: "udp-port=N".  0, or -EINVAL with one line in err. */
int salvo_filter_parse(const char *s, uint16_t *udp_port, char *err, size_t errlen);

#endif
