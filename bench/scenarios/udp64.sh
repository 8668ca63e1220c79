#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP 64 B over loopback: salvo (syscall, uring; with and without GSO/GRO)
# against iperf3 -u -b 0 -l 64 and sockperf tp -m 64.  Receiver-verified pps.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$BENCH_DIR/lib/udp.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

S=udp64 C="64 B" SIZE=64
runs=()	# "tool variant" entries that can run; the others get a row with the reason
if want_tool salvo; then
	for be in syscall uring; do
		st=$(backend_state "$be")
		for gso in 0 1; do
			v=$be
			[ "$gso" = 1 ] && v=$be+gso
			if [ "$st" = ok ]; then runs+=("salvo $v $be $gso"); else unavailable $S "$C" salvo "$v" "$st"; fi
		done
	done
	# issue 13 R4: the default pair, no flags on either side (against iperf3 -u)
	runs+=("salvo default - d")
fi
for t in iperf3 sockperf; do
	want_tool "$t" || continue
	st=$(tool_state "$t")
	if [ "$st" = ok ]; then runs+=("$t $t"); else unavailable $S "$C" "$t" "$t" "$st"; fi
done

for rep in $(seq "$REPS"); do
	for r in "${runs[@]}"; do
		set -- $r
		case $1 in
		salvo) salvo_udp $S "$C" "$2" "$rep" "$3" $SIZE "$4" ;;
		iperf3) iperf3_udp $S "$C" "$rep" $SIZE ;;
		sockperf) sockperf_tp $S "$C" "$rep" $SIZE ;;
		esac
	done
done
