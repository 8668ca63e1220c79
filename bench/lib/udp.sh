# shellcheck shell=bash disable=SC2034
# SPDX-License-Identifier: MIT
# UDP runs shared by the udp64, udp_sweep and pacing scenarios (sourced after
# common.sh).  Each function runs one bounded run over loopback and appends
# one record.  Receiver on RX_CPU, sender on TX_CPU, for every tool.

IVL=${IVL:-0.1}		# receiver report interval (s): the 100 ms rate CoV

# salvo_udp scenario case variant rep backend size gso(0|1|d) [rate_pps]
# gso=d with backend "-" is the default pair: no -b, no --gso/--no-gso/--gro,
# exactly what a user gets from `salvo udp send` into `salvo udp recv`.
salvo_udp() {
	local s=$1 c=$2 v=$3 rep=$4 be=$5 size=$6 gso=$7 rate=${8:-} p rxc txc rxpid
	port_next
	p=$BENCH_PORT
	local tag=$s-salvo-$v-$size-${rate:-max}-$rep
	local bo=(-b "$be")
	[ "$be" = - ] && bo=()
	rxc=(taskset -c "$RX_CPU" "$SALVO" udp recv "127.0.0.1:$p" "${bo[@]}" -q --json-stream -i "$IVL"
		-d "$((DUR + 10))")
	txc=(taskset -c "$TX_CPU" "$SALVO" udp send "127.0.0.1:$p" "${bo[@]}" -q --json -s "$size" -d "$DUR")
	# gso=0 is one datagram per send: since GSO became the default for unpaced
	# sends (docs/backends.md), that takes --no-gso.
	case $gso in
	1) rxc+=(--gro) && txc+=(--gso) ;;
	0) txc+=(--no-gso) ;;
	esac
	[ -n "$rate" ] && txc+=(-r "$rate")
	bg "$tag.rx" $TO_BG "$((DUR + 12))" "${rxc[@]}"
	rxpid=$BG_PID
	if ! wait_listen udp "$p"; then
		stop "$rxpid"
		record --scenario "$s" --case "$c" --tool salvo --variant "$v" --backend "$be" --rep "$rep" \
			--status failed --reason "receiver did not bind" --stderr "$WORK/$tag.rx.err" \
			--cmd "$(q "${rxc[@]}")"
		return
	fi
	$TO_FG "$((DUR + 10))" "${txc[@]}" >"$WORK/$tag.tx.out" 2>"$WORK/$tag.tx.err" </dev/null
	sleep 0.3	# let the receiver drain its socket before it stops
	stop "$rxpid"
	record --scenario "$s" --case "$c" --tool salvo --variant "$v" --backend "$be" --rep "$rep" \
		--param "size=$size" --param "gso=$gso" ${rate:+--param "rate_pps=$rate" --target-pps "$rate"} \
		--parser salvo-udp --file "a=$WORK/$tag.rx.out" --file "b=$WORK/$tag.tx.out" \
		--stderr "$WORK/$tag.rx.err" --stderr "$WORK/$tag.tx.err" \
		--cmd "$(q "${rxc[@]}")" --cmd "$(q "${txc[@]}")"
}

# iperf3_udp scenario case rep size [rate_pps]
iperf3_udp() {
	local s=$1 c=$2 rep=$3 size=$4 rate=${5:-} p sc cc spid bw
	port_next
	p=$BENCH_PORT
	local tag=$s-iperf3-$size-${rate:-max}-$rep
	bw=0
	[ -n "$rate" ] && bw=$((rate * size * 8))
	sc=(taskset -c "$RX_CPU" iperf3 -s -p "$p" -1 --json -i "$IVL")
	cc=(taskset -c "$TX_CPU" iperf3 -c 127.0.0.1 -p "$p" -u -b "$bw" -l "$size" -t "$DUR" --json)
	bg "$tag.srv" $TO_BG "$((DUR + 15))" "${sc[@]}"
	spid=$BG_PID
	if ! wait_listen tcp "$p"; then
		stop "$spid"
		record --scenario "$s" --case "$c" --tool iperf3 --rep "$rep" --status failed \
			--reason "iperf3 server did not listen" --stderr "$WORK/$tag.srv.err" --cmd "$(q "${sc[@]}")"
		return
	fi
	$TO_FG "$((DUR + 10))" "${cc[@]}" >"$WORK/$tag.cli.out" 2>"$WORK/$tag.cli.err" </dev/null
	# the one-off server (-1) exits by itself once it has written its report
	local i
	for i in $(seq 30); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
	stop "$spid"
	record --scenario "$s" --case "$c" --tool iperf3 --rep "$rep" --size "$size" \
		--param "size=$size" --param "bandwidth=$bw" ${rate:+--param "rate_pps=$rate" --target-pps "$rate"} \
		--parser iperf3-udp --file "a=$WORK/$tag.srv.out" --file "b=$WORK/$tag.cli.out" \
		--stderr "$WORK/$tag.cli.out" --cmd "$(q "${sc[@]}")" --cmd "$(q "${cc[@]}")"
}

# sockperf_tp scenario case rep size
sockperf_tp() {
	local s=$1 c=$2 rep=$3 size=$4 p sc cc spid
	port_next
	p=$BENCH_PORT
	local tag=$s-sockperf-$size-$rep
	sc=(taskset -c "$RX_CPU" sockperf sr -i 127.0.0.1 -p "$p")
	cc=(taskset -c "$TX_CPU" sockperf tp -i 127.0.0.1 -p "$p" -m "$size" -t "$DUR")
	# sockperf prints its report partly on stderr: keep both in one file
	bg "$tag.srv" bash -c 'exec "$@" 2>&1' _ $TO_BG "$((DUR + 15))" "${sc[@]}"
	spid=$BG_PID
	if ! wait_listen udp "$p"; then
		stop "$spid"
		record --scenario "$s" --case "$c" --tool sockperf --rep "$rep" --status failed \
			--reason "sockperf server did not bind" --stderr "$WORK/$tag.srv.err" --cmd "$(q "${sc[@]}")"
		return
	fi
	$TO_FG "$((DUR + 10))" "${cc[@]}" >"$WORK/$tag.cli.out" 2>&1 </dev/null
	sleep 0.3
	stop "$spid"	# sockperf sr prints its received total when interrupted
	record --scenario "$s" --case "$c" --tool sockperf --rep "$rep" --size "$size" --param "size=$size" \
		--parser sockperf-tp --file "a=$WORK/$tag.srv.out" --file "b=$WORK/$tag.cli.out" \
		--stderr "$WORK/$tag.cli.out" --cmd "$(q "${sc[@]}")" --cmd "$(q "${cc[@]}")"
}
