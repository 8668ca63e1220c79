#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TCP on loopback: salvo tcp send/sink (uring, syscall) with 1 and 2 streams
# vs iperf3 -P 1/2.  A few seconds per run; prints receiver-side Gbit/s.
#	bench/tcp.sh [SECONDS]
set -u
SALVO=${SALVO:-$(dirname "$0")/../build/salvo}
T=${1:-3}
port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000)); }

printf '%-22s %10s %12s\n' case rx_Gbit/s retransmits
for n in 1 2; do
	for b in syscall uring; do
		p=$(port)
		timeout $((T + 10)) "$SALVO" tcp sink "127.0.0.1:$p" -b "$b" --count "$n" -d $((T + 5)) --json >/tmp/bench-s.$$ 2>/dev/null &
		r=$!
		sleep 0.5
		timeout $((T + 10)) "$SALVO" tcp send "127.0.0.1:$p" -b "$b" --streams "$n" -d "$T" --json >/tmp/bench-c.$$ 2>/dev/null
		wait $r
		python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); c=json.load(open(sys.argv[2])); print("%-22s %10.2f %12d" % (sys.argv[3], r["rx"]["bits_per_second"]/1e9, c["tcp"]["retransmits"]))' \
			/tmp/bench-s.$$ /tmp/bench-c.$$ "salvo $b -P $n"
	done
	p=$(port)
	timeout $((T + 10)) iperf3 -s -1 -p "$p" >/dev/null 2>&1 &
	s=$!
	sleep 0.5
	timeout $((T + 10)) iperf3 -c 127.0.0.1 -p "$p" -P "$n" -t "$T" -J >/tmp/bench-i.$$ 2>/dev/null
	wait $s
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]; print("%-22s %10.2f %12d" % (sys.argv[2], e["sum_received"]["bits_per_second"]/1e9, e["sum_sent"].get("retransmits", 0)))' /tmp/bench-i.$$ "iperf3 -P $n"
done
rm -f /tmp/bench-s.$$ /tmp/bench-c.$$ /tmp/bench-i.$$
