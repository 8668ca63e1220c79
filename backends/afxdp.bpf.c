// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * salvo's XDP program for the af_xdp backend: hand received frames to the
 * AF_XDP socket bound to their rx queue, through an XSKMAP keyed by queue
 * index.  With a filter set (salvo_conf[0].udp_port, network order) only
 * UDP datagrams to that port are redirected and every other frame goes on
 * to the kernel's stack (XDP_PASS), so ARP, ssh and the like keep working.
 *
 * No CO-RE: it reads only packet bytes and xdp_md, whose layout is UAPI,
 * so it loads on kernels without BTF.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <stddef.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define SALVO_XSK_MAX_QUEUES 256

struct salvo_xdp_conf {
	__u16 udp_port;		/* network order; 0: redirect every frame */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SALVO_XSK_MAX_QUEUES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} salvo_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct salvo_xdp_conf);
} salvo_conf SEC(".maps");

/* Per-CPU frame counts: [0] redirected, [1] passed to the stack (filter miss or no socket). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} salvo_cnt SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/*
 * Is this a UDP datagram (first fragment or unfragmented) to port (network
 * order)?  Headers are read at constant offsets or with bpf_xdp_load_bytes:
 * without CAP_PERFMON the verifier refuses packet pointer + variable offset
 * (IPv4 options), and salvo runs its workers with CAP_BPF + CAP_NET_ADMIN only.
 */
static __always_inline int udp_to(struct xdp_md *ctx, void *data, void *end, __u16 port)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__u16 proto, dport;

	if ((void *)(eth + 1) > end)
		return 0;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > end)
			return 0;
		proto = vh->proto;
		off += sizeof(*vh);
		if (proto == bpf_htons(ETH_P_8021Q)) {	/* QinQ: the inner tag */
			vh++;
			if ((void *)(vh + 1) > end)
				return 0;
			proto = vh->proto;
			off += sizeof(*vh);
		}
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_xdp_load_bytes(ctx, off, &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP ||
		    ip.ihl < 5)
			return 0;
		if (ip.frag_off & bpf_htons(0x1fff))	/* not the first fragment: no UDP header */
			return 0;
		off += ip.ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		/* Extension headers are not walked: such frames go to the stack. */
		if (bpf_xdp_load_bytes(ctx, off, &ip6, sizeof(ip6)) || ip6.nexthdr != IPPROTO_UDP)
			return 0;
		off += sizeof(ip6);
	} else {
		return 0;
	}
	if (bpf_xdp_load_bytes(ctx, off + offsetof(struct udphdr, dest), &dport, sizeof(dport)))
		return 0;
	return dport == port;
}

static __always_inline void count(__u32 k)
{
	__u64 *c = bpf_map_lookup_elem(&salvo_cnt, &k);

	if (c)
		(*c)++;
}

SEC("xdp")
int salvo_xsk_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 zero = 0, q = ctx->rx_queue_index;
	struct salvo_xdp_conf *conf = bpf_map_lookup_elem(&salvo_conf, &zero);
	long act;

	if (conf && conf->udp_port && !udp_to(ctx, data, end, conf->udp_port)) {
		count(1);
		return XDP_PASS;
	}
	/* No socket on this queue (yet): the flags argument is the action, XDP_PASS. */
	act = bpf_redirect_map(&salvo_xsks, q, XDP_PASS);
	count(act == XDP_REDIRECT ? 0 : 1);
	return act;
}

char _license[] SEC("license") = "Dual MIT/GPL";
