#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP payload sweep over loopback: pps and Gbit/s per backend and tool.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$BENCH_DIR/lib/udp.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

S=udp_sweep
if [ "$QUICK" = 1 ]; then SIZES=${SIZES:-"256 1472"}; else SIZES=${SIZES:-"64 128 256 512 1024 1472"}; fi
runs=()
if want_tool salvo; then
	for v in syscall syscall+gso uring uring+gso; do
		be=${v%+gso}
		gso=0
		[ "$v" != "$be" ] && gso=1
		# the GSO variants are the point at large sizes; keep the sweep short in quick mode
		[ "$QUICK" = 1 ] && [ "$v" = uring+gso ] && continue
		st=$(backend_state "$be")
		if [ "$st" = ok ]; then runs+=("salvo $v $be $gso"); else
			for size in $SIZES; do unavailable $S "$size B" salvo "$v" "$st"; done
		fi
	done
fi
if want_tool iperf3; then
	st=$(tool_state iperf3)
	if [ "$st" = ok ]; then runs+=("iperf3 iperf3"); else
		for size in $SIZES; do unavailable $S "$size B" iperf3 iperf3 "$st"; done
	fi
fi

for rep in $(seq "$REPS"); do
	for size in $SIZES; do
		for r in "${runs[@]}"; do
			set -- $r
			case $1 in
			salvo) salvo_udp $S "$size B" "$2" "$rep" "$3" "$size" "$4" ;;
			iperf3) iperf3_udp $S "$size B" "$rep" "$size" ;;
			esac
		done
	done
done
