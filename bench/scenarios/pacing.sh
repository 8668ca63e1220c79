#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Pacing: salvo --rate at 10k/100k/500k pps against iperf3 -u -b (pps*64*8
# bit/s, 64 B payload), rate and steadiness measured at the receiver.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$BENCH_DIR/lib/udp.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

S=pacing SIZE=64
RATES=${RATES:-"10000 100000 500000"}
case_of() { echo "$(($1 / 1000))k pps"; }
runs=()
if want_tool salvo; then
	# the default backend: whichever salvo picks as fastest here (recorded)
	be=$(salvo_backends_json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
ok = [x["backend"] for x in d.get("defaults", []) if x.get("path") == "udp send" and x.get("backend")]
print(ok[0] if ok else "")' 2>/dev/null)
	if [ -n "$be" ]; then runs+=("salvo $be"); else
		for r in $RATES; do unavailable $S "$(case_of "$r")" salvo salvo "no UDP backend available"; done
	fi
fi
if want_tool iperf3; then
	st=$(tool_state iperf3)
	if [ "$st" = ok ]; then runs+=("iperf3"); else
		for r in $RATES; do unavailable $S "$(case_of "$r")" iperf3 iperf3 "$st"; done
	fi
fi

for rep in $(seq "$REPS"); do
	for rate in $RATES; do
		for r in "${runs[@]}"; do
			set -- $r
			case $1 in
			salvo) salvo_udp $S "$(case_of "$rate")" "$2" "$rep" "$2" $SIZE 0 "$rate" ;;
			iperf3) iperf3_udp $S "$(case_of "$rate")" "$rep" $SIZE "$rate" ;;
			esac
		done
	done
done
