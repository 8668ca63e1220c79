#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TCP over loopback, 1 and 2 streams: salvo tcp send/sink against iperf3
# (-P 2 for two), Gbit/s as the receiver counted it (sink JSON rx; iperf3
# server sum_received), and CPU seconds per GB of each side (salvo's
# tcp.cpu_s over the data phase, iperf3's cpu_utilization_percent over its
# test); one stream by sendfile
# (salvo --splice, iperf3 -Z); salvo's discarding sink (labelled).
set -u
. "$(dirname "$0")/../lib/common.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

S=tcp
runs=()
splice_be="" discard_be=""
if want_tool salvo; then
	st=ok
	salvo_has "tcp send" && salvo_has "tcp sink" || st="not available: this salvo has no tcp send/sink"
	if [ "$st" = ok ]; then
		be=$(salvo_backends_json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
# the automatic order for tcp send (salvo backends: defaults[]), the available ones
avail = {b["name"] for b in d.get("backends", []) if b.get("available")}
order = [x.get("order", []) for x in d.get("defaults", []) if x.get("path") == "tcp send"]
print(" ".join(n for n in (order[0] if order else []) if n in avail))' 2>/dev/null)
		[ -n "$be" ] || st="not available: no backend with TCP"
		# Backends with the splice / discard capability (tcp send --splice, tcp sink --discard).
		splice_be=$(salvo_backends_json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(b["name"] for b in d.get("backends", []) if b.get("available") and "splice" in b.get("caps", "").split(",")))' 2>/dev/null)
		discard_be=$(salvo_backends_json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(b["name"] for b in d.get("backends", []) if b.get("available") and "discard" in b.get("caps", "").split(",")))' 2>/dev/null)
	fi
	if [ "$st" = ok ]; then
		for b in $be; do runs+=("salvo $b"); done
	else
		for n in 1 2; do unavailable $S "$n stream(s)" salvo salvo "$st"; done
	fi
fi
if want_tool iperf3; then
	st=$(tool_state iperf3)
	if [ "$st" = ok ]; then runs+=("iperf3 iperf3"); else
		for n in 1 2; do unavailable $S "$n stream(s)" iperf3 "iperf3 -P $n" "$st"; done
	fi
fi

# salvo_tcp REP STREAMS BACKEND [CASE VARIANT SINK_OPTS SEND_OPTS]: one sink, one sender.
salvo_tcp() {
	local rep=$1 n=$2 be=$3 case=${4:-"$2 stream(s)"} var=${5:-$3} kx=${6:-} sx=${7:-} p kc sc kpid tag
	port_next
	p=$BENCH_PORT
	tag=tcp-salvo-$(echo "$var" | tr -c 'a-z0-9\n' -)-$n-$rep
	# shellcheck disable=SC2206
	kc=(taskset -c "$RX_CPU" "$SALVO" tcp sink "127.0.0.1:$p" -b "$be" -n "$n" -q --json -d "$((DUR + 10))" $kx)
	# shellcheck disable=SC2206
	sc=(taskset -c "$TX_CPU" "$SALVO" tcp send "127.0.0.1:$p" -b "$be" -P "$n" -d "$DUR" -q --json $sx)
	bg "$tag.sink" $TO_BG "$((DUR + 12))" "${kc[@]}"
	kpid=$BG_PID
	if ! wait_listen tcp "$p"; then
		stop "$kpid"
		record --scenario $S --case "$case" --tool salvo --variant "$var" --backend "$be" --rep "$rep" \
			--status failed --reason "sink did not listen" --stderr "$WORK/$tag.sink.err" --cmd "$(q "${kc[@]}")"
		return
	fi
	$TO_FG "$((DUR + 10))" "${sc[@]}" >"$WORK/$tag.send.out" 2>"$WORK/$tag.send.err" </dev/null
	# the sink stops by itself once its -n connections have closed
	local i
	for i in $(seq 30); do kill -0 "$kpid" 2>/dev/null || break; sleep 0.1; done
	stop "$kpid"
	record --scenario $S --case "$case" --tool salvo --variant "$var" --backend "$be" --rep "$rep" \
		--param "streams=$n" --parser salvo-tcp --file "a=$WORK/$tag.sink.out" --file "b=$WORK/$tag.send.out" \
		--stderr "$WORK/$tag.sink.err" --stderr "$WORK/$tag.send.err" --cmd "$(q "${kc[@]}")" --cmd "$(q "${sc[@]}")"
}

# iperf3_tcp REP STREAMS [CASE VARIANT CLIENT_OPTS]: the server's and the
# client's JSON both go to the parser (receiver and sender CPU).
iperf3_tcp() {
	local rep=$1 n=$2 case=${3:-"$2 stream(s)"} var=${4:-iperf3} cx=${5:-} p sv cc spid tag
	port_next
	p=$BENCH_PORT
	tag=tcp-iperf3-$(echo "$var" | tr -c 'a-z0-9\n' -)-$n-$rep
	sv=(taskset -c "$RX_CPU" iperf3 -s -p "$p" -1 --json)
	# shellcheck disable=SC2206
	cc=(taskset -c "$TX_CPU" iperf3 -c 127.0.0.1 -p "$p" -P "$n" -t "$DUR" --json $cx)
	bg "$tag.srv" $TO_BG "$((DUR + 15))" "${sv[@]}"
	spid=$BG_PID
	if ! wait_listen tcp "$p"; then
		stop "$spid"
		record --scenario $S --case "$case" --tool iperf3 --variant "$var" --rep "$rep" --status failed \
			--reason "iperf3 server did not listen" --stderr "$WORK/$tag.srv.err" --cmd "$(q "${sv[@]}")"
		return
	fi
	$TO_FG "$((DUR + 10))" "${cc[@]}" >"$WORK/$tag.cli.out" 2>"$WORK/$tag.cli.err" </dev/null
	local i
	for i in $(seq 30); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
	stop "$spid"
	record --scenario $S --case "$case" --tool iperf3 --variant "$var" --rep "$rep" --param "streams=$n" \
		--parser iperf3-tcp --file "a=$WORK/$tag.srv.out" --file "b=$WORK/$tag.cli.out" \
		--stderr "$WORK/$tag.cli.err" --cmd "$(q "${sv[@]}")" --cmd "$(q "${cc[@]}")"
}

# The copy-mode cases (1 and 2 streams; "2 stream(s)" is the iperf3 -P 2
# row; one stream also against iperf3 -l 1M, the write size of salvo's
# batched sends), then one stream with the payload sent by sendfile (salvo --splice,
# iperf3 -Z), then salvo's discarding sink, a case of its own: it copies
# nothing, so no copying receiver is its reference.
SENDFILE="1 stream(s), sendfile"
DISCARD="1 stream(s), discarding sink (not comparable with copying receivers)"
for rep in $(seq "$REPS"); do
	for n in 1 2; do
		for r in "${runs[@]}"; do
			set -- $r
			case $1 in
			salvo) salvo_tcp "$rep" "$n" "$2" ;;
			iperf3) iperf3_tcp "$rep" "$n" "$n stream(s)" "iperf3 -P $n"
				# salvo's syscall sender writes up to 1 MiB a call:
				# iperf3 with the same write size, for a like-for-like row
				[ "$n" = 1 ] && iperf3_tcp "$rep" 1 "1 stream(s)" "iperf3 -l 1M" "-l 1M" ;;
			esac
		done
	done
	for r in "${runs[@]}"; do
		set -- $r
		case $1 in
		salvo)
			case " $splice_be " in *" $2 "*)
				salvo_tcp "$rep" 1 "$2" "$SENDFILE" "$2 --splice" "" "--splice" ;;
			esac
			case " $discard_be " in *" $2 "*)
				salvo_tcp "$rep" 1 "$2" "$DISCARD" "$2 sink --discard" "--discard" "" ;;
			esac ;;
		iperf3) iperf3_tcp "$rep" 1 "$SENDFILE" "iperf3 -Z" "-Z" ;;
		esac
	done
done
