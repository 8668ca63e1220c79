#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP ping-pong latency over loopback: salvo udp ping/echo against sockperf
# ping-pong (--full-rtt, so both report round trips), 64 B, one request in
# flight, back to back.  p50/p99/p99.9.  Two waits on each side: sleeping in
# the kernel (the default of both tools) and spinning (salvo --busy-poll on
# ping and echo; sockperf --nonblocked on client and server, which loops on
# recvfrom's EAGAIN).  Loopback has no NAPI, so SO_BUSY_POLL (salvo asks for
# it with --busy-poll) changes nothing here: the gain is the wake-up saved.
# Every salvo row gets a ratio against each sockperf row (issue 13 R5:
# sleeping salvo / sleeping sockperf <= 1.0, busy-poll salvo / sleeping
# sockperf <= 0.5; against sockperf busy-poll: like for like).
set -u
. "$(dirname "$0")/../lib/common.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

S=ping C="64 B" SIZE=64
runs=()
if want_tool salvo; then
	if salvo_has "udp ping" && salvo_has "udp echo"; then
		for be in syscall uring; do
			st=$(backend_state "$be")
			if [ "$st" = ok ]; then runs+=("salvo $be sleep" "salvo $be busy-poll"); else
				unavailable $S "$C" salvo "$be" "$st"
				unavailable $S "$C" salvo "$be+busy-poll" "$st"
			fi
		done
	else
		unavailable $S "$C" salvo salvo "this salvo has no udp ping/echo"
	fi
fi
if want_tool sockperf; then
	st=$(tool_state sockperf)
	if [ "$st" = ok ]; then runs+=("sockperf sockperf sleep" "sockperf sockperf busy-poll"); else
		unavailable $S "$C" sockperf sockperf "$st"
		unavailable $S "$C" sockperf busy-poll "$st"
	fi
fi

salvo_ping() {	# rep backend wait(sleep|busy-poll)
	local rep=$1 be=$2 wait=$3 p ec pc epid tag v=$2 bp=()
	if [ "$wait" = busy-poll ]; then v=$be+busy-poll bp=(--busy-poll); fi
	port_next
	p=$BENCH_PORT
	tag=ping-salvo-$v-$rep
	ec=(taskset -c "$RX_CPU" "$SALVO" udp echo "127.0.0.1:$p" -b "$be" "${bp[@]}" -q -d "$((DUR + 10))")
	pc=(taskset -c "$TX_CPU" "$SALVO" udp ping "127.0.0.1:$p" -b "$be" "${bp[@]}" -s "$SIZE" -d "$DUR" -q --json)
	bg "$tag.echo" $TO_BG "$((DUR + 12))" "${ec[@]}"
	epid=$BG_PID
	if ! wait_listen udp "$p"; then
		stop "$epid"
		record --scenario $S --case "$C" --tool salvo --variant "$v" --backend "$be" --rep "$rep" \
			--status failed --reason "echo did not bind" --stderr "$WORK/$tag.echo.err" --cmd "$(q "${ec[@]}")"
		return
	fi
	$TO_FG "$((DUR + 10))" "${pc[@]}" >"$WORK/$tag.ping.out" 2>"$WORK/$tag.ping.err" </dev/null
	stop "$epid"
	record --scenario $S --case "$C" --tool salvo --variant "$v" --backend "$be" --rep "$rep" \
		--param "size=$SIZE" --param "wait=$wait" --parser salvo-ping --file "a=$WORK/$tag.ping.out" \
		--stderr "$WORK/$tag.ping.err" --cmd "$(q "${ec[@]}")" --cmd "$(q "${pc[@]}")"
}

sockperf_pp() {	# rep wait(sleep|busy-poll)
	local rep=$1 wait=$2 p sv cc spid tag vopt=() nb=()
	if [ "$wait" = busy-poll ]; then vopt=(--variant busy-poll) nb=(--nonblocked); fi
	port_next
	p=$BENCH_PORT
	tag=ping-sockperf-$wait-$rep
	sv=(taskset -c "$RX_CPU" sockperf sr -i 127.0.0.1 -p "$p" "${nb[@]}")
	cc=(taskset -c "$TX_CPU" sockperf pp -i 127.0.0.1 -p "$p" -m "$SIZE" -t "$DUR" --mps max --full-rtt "${nb[@]}")
	bg "$tag.srv" $TO_BG "$((DUR + 15))" "${sv[@]}"
	spid=$BG_PID
	if ! wait_listen udp "$p"; then
		stop "$spid"
		record --scenario $S --case "$C" --tool sockperf "${vopt[@]}" --rep "$rep" --status failed \
			--reason "sockperf server did not bind" --stderr "$WORK/$tag.srv.err" --cmd "$(q "${sv[@]}")"
		return
	fi
	$TO_FG "$((DUR + 10))" "${cc[@]}" >"$WORK/$tag.cli.out" 2>&1 </dev/null
	stop "$spid"
	record --scenario $S --case "$C" --tool sockperf "${vopt[@]}" --rep "$rep" --param "size=$SIZE" \
		--parser sockperf-pp --file "a=$WORK/$tag.cli.out" --stderr "$WORK/$tag.cli.out" \
		--cmd "$(q "${sv[@]}")" --cmd "$(q "${cc[@]}")"
}

for rep in $(seq "$REPS"); do
	for r in "${runs[@]}"; do
		set -- $r
		case $1 in
		salvo) salvo_ping "$rep" "$2" "$3" ;;
		sockperf) sockperf_pp "$rep" "$3" ;;
		esac
	done
done
