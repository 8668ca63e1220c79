#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 64-byte UDP on loopback, receiver-verified: uring vs syscall, with and
# without GSO, and iperf3 -u -b 0 -l 64 for reference.  Each run is a few
# seconds; prints what the receiver counted.
#	bench/udp_uring.sh [SECONDS]
set -u
SALVO=${SALVO:-$(dirname "$0")/../build/salvo}
T=${1:-3}
port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000)); }
rx_pps() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f" % d["rx"]["pps"], d["rx"]["packets"], d["rx"]["lost"])' "$1"; }

printf '%-24s %12s %12s %10s\n' case rx_pps rx_packets lost
for b in syscall uring; do
	for gso in "" --gso; do
		p=$(port)
		timeout $((T + 10)) "$SALVO" udp recv "127.0.0.1:$p" -b "$b" ${gso:+--gro} -d $((T + 2)) --json >/tmp/bench-r.$$ 2>/dev/null &
		r=$!
		sleep 0.5
		timeout $((T + 10)) "$SALVO" udp send "127.0.0.1:$p" -b "$b" $gso -s 64 -d "$T" -q >/dev/null 2>&1
		wait $r
		printf '%-24s %12s %12s %10s\n' "$b${gso:+ gso}" $(rx_pps /tmp/bench-r.$$)
	done
done
if command -v iperf3 >/dev/null; then
	p=$(port)
	timeout $((T + 10)) iperf3 -s -1 -p "$p" >/dev/null 2>&1 &
	s=$!
	sleep 0.5
	timeout $((T + 10)) iperf3 -c 127.0.0.1 -p "$p" -u -b 0 -l 64 -t "$T" -J >/tmp/bench-i.$$ 2>/dev/null
	wait $s
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]["sum"]; print("%-24s %12.0f %12d %10d" % ("iperf3 -u -l 64", (e["packets"]-e["lost_packets"])/e["seconds"], e["packets"]-e["lost_packets"], e["lost_packets"]))' /tmp/bench-i.$$
fi
rm -f /tmp/bench-r.$$ /tmp/bench-i.$$
