#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instructions per packet of salvo's UDP receive path, counted by callgrind
# (Ir), so that machine load does not change the figure.  The receiver runs
# under callgrind with --count N; a sender outside it blasts loopback (GSO,
# so the receiver's queue stays full and every recvmmsg / CQE batch is as
# large as it gets: the R1 regime).  Only what runs inside the app's loop
# is counted (--toggle-collect), so start-up does not dilute the figure, and
# not the interval roll-over (salvo_worker_interval), a cost per second that
# a slowed-down receiver would otherwise charge to its packets.
#
#   bench/probes/ipp.sh BACKEND stamp|nostamp [N] [extra recv options]
#   bench/probes/ipp.sh BACKEND send|send-gso|send-stamp [N] [extra send options]
#
# The send modes count the sender instead: salvo udp send -n N under
# callgrind (its loop only, gen_loop), into the bare receiver probe
# (build/probes/recv_count, `make probes`): send is --no-stamp --no-gso
# (one datagram per send, the probe's regime), send-gso --no-stamp --gso,
# send-stamp --no-gso with stamps.  The GSO choice is explicit because the
# default changed (unpaced sends use GSO).  User-space instructions only:
# the kernel's copy and the io_uring worker are not in the figure.
#
# BACKEND probe counts the liburing sender probe instead (build/probes/
# send_uring, 64 B, 64 SQEs per submit; send-gso: 32 segments per SEND, as
# salvo's default --burst gives its GSO sender): the whole program for 2 s
# under callgrind (set-up included, a few thousand Ir), divided by the
# segments it reports sent.  N is ignored there.
#
# BACKEND probe with MODE recv-uring or recv-count counts a receiver probe
# (build/probes/recv_uring, recv_count) the same way: the whole program
# under callgrind, set-up included, offered the GSO load above, divided by
# the datagrams it reports: the floor of salvo's receiver on that path.
#
# Prints "BACKEND MODE N Ir Ir/pkt" (probe: N is the packets it sent or got).
# Loopback only.
set -u
be=${1:?backend} mode=${2:?stamp, nostamp, send, send-gso or send-stamp} n=${3:-20000}
shift 3 2>/dev/null || shift $#
SALVO=${SALVO:-$(dirname "$0")/../../build/salvo}
port=$((20000 + RANDOM % 20000))
out=$(mktemp -d)
trap 'kill "$spid" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] && cp "$out/cg" "$KEEP"; rm -rf "$out"' EXIT
case $be/$mode in
probe/send|probe/send-gso)
	gso=""
	[ "$mode" = send-gso ] && gso="--gso 32"
	PROBES=${PROBES:-$(dirname "$0")/../../build/probes}
	"$PROBES/recv_count" 127.0.0.1:$port 120 >"$out/rx" 2>&1 &
	spid=$!
	sleep 0.3
	# shellcheck disable=SC2086
	valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
		"$PROBES/send_uring" 127.0.0.1:$port 2 64 64 $gso >"$out/tx" 2>"$out/tx.err" ||
		{ echo "probe failed:" >&2; cat "$out/tx.err" >&2; exit 1; }
	kill "$spid" 2>/dev/null
	n=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["packets"])' "$out/tx")
	;;
probe/recv-uring|probe/recv-count)
	PROBES=${PROBES:-$(dirname "$0")/../../build/probes}
	valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
		"$PROBES/recv_${mode#recv-}" 127.0.0.1:$port 3 >"$out/rx" 2>"$out/rx.err" &
	rpid=$!
	sleep 3	# valgrind start-up, as below
	timeout 150 "$SALVO" udp send -q -b syscall --gso --no-stamp -d 120 127.0.0.1:$port >/dev/null 2>&1 &
	spid=$!
	wait "$rpid"
	rc=$?
	kill "$spid" 2>/dev/null
	[ "$rc" = 0 ] || { echo "receiver probe failed ($rc):" >&2; cat "$out/rx.err" >&2; exit 1; }
	n=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["packets"])' "$out/rx")
	;;
*/send|*/send-gso|*/send-stamp)
	case $mode in
	send) opts="--no-stamp --no-gso" ;;
	send-gso) opts="--no-stamp --gso" ;;
	*) opts="--no-gso" ;;
	esac
	PROBES=${PROBES:-$(dirname "$0")/../../build/probes}
	"$PROBES/recv_count" 127.0.0.1:$port 120 >"$out/rx" 2>&1 &
	spid=$!
	sleep 0.3
	# shellcheck disable=SC2086
	valgrind --tool=callgrind --callgrind-out-file="$out/cg" --toggle-collect='gen_loop' \
		"$SALVO" udp send -q -b "$be" -n "$n" $opts "$@" 127.0.0.1:$port \
		>"$out/tx" 2>"$out/tx.err"
	rc=$?
	kill "$spid" 2>/dev/null
	[ "$rc" = 0 ] || { echo "sender failed ($rc):" >&2; cat "$out/tx.err" >&2; exit 1; }
	;;
*)
	ns=""
	[ "$mode" = nostamp ] && ns=--no-stamp
	valgrind --tool=callgrind --callgrind-out-file="$out/cg" --toggle-collect='sink_loop' \
		--toggle-collect='salvo_worker_interval' \
		"$SALVO" udp recv -q -b "$be" -n "$n" --timeout 30s -d 120 "$@" 127.0.0.1:$port \
		>"$out/rx" 2>"$out/rx.err" &
	rpid=$!
	sleep 3	# valgrind start-up; the sender's excess is dropped by the kernel, not counted
	timeout 150 "$SALVO" udp send -q -b syscall --gso $ns -d 120 127.0.0.1:$port >/dev/null 2>&1 &
	spid=$!
	wait "$rpid"
	rc=$?
	kill "$spid" 2>/dev/null
	[ "$rc" = 0 ] || { echo "receiver failed ($rc):" >&2; cat "$out/rx.err" >&2; exit 1; }
	;;
esac
ir=$(callgrind_annotate "$out/cg" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
echo "$be $mode $n $ir $(awk -v a="$ir" -v b="$n" 'BEGIN { printf "%.1f", a / b }')"
