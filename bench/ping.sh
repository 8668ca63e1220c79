#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP round trip on loopback: salvo udp ping against udp echo (uring,
# syscall) vs sockperf ping-pong, 64-byte messages, a few seconds each.
#	bench/ping.sh [SECONDS]
set -u
SALVO=${SALVO:-$(dirname "$0")/../build/salvo}
T=${1:-3}
port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000)); }

printf '%-18s %10s %10s %10s\n' case p50_us p99_us pings
for b in syscall uring; do
	p=$(port)
	timeout $((T + 10)) "$SALVO" udp echo "127.0.0.1:$p" -b "$b" -d $((T + 3)) -q >/dev/null 2>&1 &
	e=$!
	sleep 0.5
	timeout $((T + 10)) "$SALVO" udp ping "127.0.0.1:$p" -b "$b" -s 64 -d "$T" --json >/tmp/bench-p.$$ 2>/dev/null
	kill -INT $e 2>/dev/null; wait $e
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); l=d["latency_ns"]; print("%-18s %10.1f %10.1f %10d" % (sys.argv[2], l["p50"]/1e3, l["p99"]/1e3, l["count"]))' /tmp/bench-p.$$ "salvo $b"
done
if command -v sockperf >/dev/null; then
	p=$(port)
	timeout $((T + 10)) sockperf server -i 127.0.0.1 -p "$p" >/dev/null 2>&1 &
	s=$!
	sleep 0.5
	timeout $((T + 10)) sockperf ping-pong -i 127.0.0.1 -p "$p" -m 64 -t "$T" >/tmp/bench-k.$$ 2>&1
	kill $s 2>/dev/null; wait $s 2>/dev/null
	awk '/percentile 50.000 =/ {p50=$NF} /percentile 99.000 =/ {p99=$NF} /ReceivedMessages=/ {for(i=1;i<=NF;i++) if ($i ~ /ReceivedMessages=/) {split($i,a,"="); n=a[2]}}
	     END {printf "%-18s %10s %10s %10s\n", "sockperf", p50, p99, n}' /tmp/bench-k.$$
fi
rm -f /tmp/bench-p.$$ /tmp/bench-k.$$
