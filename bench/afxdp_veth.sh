#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 60-byte frames out of one end of a veth pair, counted at the other end
# (`ip -s link` rx_packets of the peer): salvo af_xdp vs salvo af_packet vs
# trafgen -P 1 in the same run, each on one sender core; then --threads 2
# (two queues) for both salvo backends; dpdk-testpmd (txonly over its
# af_xdp PMD) when it is installed and starts with --no-huge.
#
# Each tool sends for WARM + WINDOW seconds; the rate is the peer's
# rx_packets difference over the WINDOW seconds in the middle, so start-up
# and teardown are not counted.  The peer has an XDP_DROP program (a cheap
# sink: the receiving side should not be what limits a sender).
# Bounded: every process runs under timeout; the namespaces go on EXIT.
#
#	sudo SALVO=build/salvo bench/afxdp_veth.sh [-w WINDOW_S] [-r REPEATS]
#
# A benchmark, not a test: it reports and asserts nothing.  On a shared or
# loaded machine the numbers are noisy; compare tools within one run only.
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
SALVO=${SALVO:-$TOP/build/salvo}
WINDOW=3
WARM=1
REPEATS=1
while getopts "w:r:" o; do
	case $o in
	w) WINDOW=$OPTARG ;;
	r) REPEATS=$OPTARG ;;
	*) echo "usage: $0 [-w WINDOW_S] [-r REPEATS]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "afxdp_veth: needs root (namespaces, XDP)" >&2; exit 1; }
[ -x "$SALVO" ] || { echo "afxdp_veth: no salvo binary at $SALVO (make, or SALVO=...)" >&2; exit 1; }

SFX=$(printf '%04x%04x' "$RANDOM" "$RANDOM")
NA=salvo-bxa-$SFX
NB=salvo-bxb-$SFX
TMP=$(mktemp -d /tmp/salvo-bench-xdp.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$NA" && ip netns add "$NB" || exit 1
# two queues each way, so --threads 2 gets a queue per worker
ip -n "$NA" link add veth-a numtxqueues 2 numrxqueues 2 type veth peer name veth-b \
	numtxqueues 2 numrxqueues 2 netns "$NB" || exit 1
for ns in "$NA" "$NB"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$NA" addr add 10.80.0.1/24 dev veth-a
ip -n "$NB" addr add 10.80.0.2/24 dev veth-b
ip -n "$NA" link set veth-a up
ip -n "$NB" link set veth-b up
MAC_A=$(ip -n "$NA" -j link show dev veth-a | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
MAC_B=$(ip -n "$NB" -j link show dev veth-b | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')

# The sink: XDP_DROP on the peer.
printf '#include <linux/bpf.h>\n__attribute__((section("xdp"), used)) int drop(struct xdp_md *c) { return XDP_DROP; }\nchar _l[] __attribute__((section("license"), used)) = "GPL";\n' >"$TMP/drop.c"
clang -O2 -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c -o "$TMP/drop.o" "$TMP/drop.c" &&
	ip -n "$NB" link set dev veth-b xdp obj "$TMP/drop.o" sec xdp ||
	{ echo "afxdp_veth: cannot attach the XDP_DROP sink on the peer" >&2; exit 1; }
sleep 1

rx_b() { ip -n "$NB" -s -j link show dev veth-b | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'; }
now_ns() { date +%s%N; }

# measure NAME cmd...: start cmd in A (bounded), count the peer's rx over the window.
measure() {
	local name=$1 c0 c1 t0 t1 pid pps
	shift
	ip netns exec "$NA" timeout -s INT $((WARM + WINDOW + 5)) "$@" >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	PIDS+=("$pid")
	sleep "$WARM"
	if ! kill -0 "$pid" 2>/dev/null; then
		printf '%-34s %12s   %s\n' "$name" "failed" "$(head -c 200 "$TMP/err" | tr '\n' ' ')"
		return
	fi
	c0=$(rx_b); t0=$(now_ns)
	sleep "$WINDOW"
	c1=$(rx_b); t1=$(now_ns)
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pps=$(python3 -c "print('%.0f' % (($c1 - $c0) * 1e9 / ($t1 - $t0)))")
	printf '%-34s %12s   %s\n' "$name" "$pps" "$(grep -h "worker 0:" "$TMP/err" | head -1 | sed 's/^salvo: //')"
}

SEND=(raw send -I veth-a --dst 10.80.0.99 --dst-mac "$MAC_B" --src 10.80.0.1 --size 60
	--no-stamp -d $((WARM + WINDOW + 3)) -q -v)
cat >"$TMP/trafgen.cfg" <<EOF
{ eth(da=$MAC_B, sa=$MAC_A), ipv4(daddr=10.80.0.99, saddr=10.80.0.1, ttl=64), udp(dp=9, sp=9), fill(0x00, 18) }
EOF

echo "# afxdp_veth: 60-byte frames, veth pair, counted at the peer (rx_packets over ${WINDOW}s)"
echo "# $(uname -r), $(nproc) cores, $(date -u +%FT%TZ); shared machine: numbers are noisy"
printf '%-34s %12s   %s\n' "sender" "pps at peer" "setup"
for r in $(seq "$REPEATS"); do
	measure "salvo af_xdp, 1 core" "$SALVO" "${SEND[@]}" --backend af_xdp --cpu 0
	measure "salvo af_packet, 1 core" "$SALVO" "${SEND[@]}" --backend af_packet --cpu 0
	if command -v trafgen >/dev/null; then
		measure "trafgen -P 1" taskset -c 0 trafgen -o veth-a -i "$TMP/trafgen.cfg" -P 1 -q -C
	else
		printf '%-34s %12s\n' "trafgen -P 1" "not installed"
	fi
	measure "salvo af_xdp, --threads 2" "$SALVO" "${SEND[@]}" --backend af_xdp --threads 2 --cpu 0
	measure "salvo af_packet, --threads 2" "$SALVO" "${SEND[@]}" --backend af_packet --threads 2 --cpu 0
	if command -v dpdk-testpmd >/dev/null; then
		# txonly on the af_xdp PMD; its frames go to testpmd's default peer MAC, counted all the same
		measure "dpdk-testpmd txonly (af_xdp PMD)" dpdk-testpmd --no-huge -m 512 --no-pci -l 0-1 \
			--file-prefix "salvo$SFX" --vdev "net_af_xdp0,iface=veth-a,start_queue=0,queue_count=1" -- \
			--forward-mode=txonly --txpkts=60 --total-num-mbufs=16384 --auto-start --stats-period 60
	else
		printf '%-34s %12s\n' "dpdk-testpmd" "not installed"
	fi
done
