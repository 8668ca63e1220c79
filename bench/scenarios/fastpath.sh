#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 13's R1 and R2 side by side in one run, 64 B UDP over loopback,
# against the probes in bench/probes/ (each a lower bound of its kernel path).
#
# R1 "recv unstamped" / "recv stamped": one offered load, a two-thread GSO
#   salvo sender (syscall backend, unpinned: two threads need two cores),
#   into salvo udp recv on each backend with default options (stamps checked,
#   flows tracked, latency recorded) and into the bare recvmmsg receiver
#   (probe recv_count), pinned to RX_CPU.  salvo ÷ recv_count = R1.  The
#   minimal liburing receiver (probe recv_uring: multishot RECVMSG, buffer
#   ring) takes the same load: recv_uring ÷ recv_count is what the kernel's
#   io_uring path costs by itself (stats.py PROBE_PAIRS), salvo uring ÷
#   recv_uring what salvo adds to it.
# R2 "send" / "send gso": each sender pinned to TX_CPU into the bare receiver
#   on RX_CPU: salvo syscall and uring (with and without --gso) and the
#   probes send_mmsg and send_uring (connected SEND, fixed file,
#   SINGLE_ISSUER|DEFER_TASKRUN, 64 per submit).  Ratios: salvo ÷ each probe,
#   and uring ÷ syscall (stats.py SELF_PAIRS).
set -u
. "$(dirname "$0")/../lib/common.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

S=fastpath SIZE=64
PROBES=${PROBES:-$TOP/build/probes}
if [ ! -x "$PROBES/recv_count" ] || [ ! -x "$PROBES/send_mmsg" ]; then
	(cd "$TOP" && make -s probes >"$WORK/probes.build.log" 2>&1)
fi

# r1 case rep tool variant backend stamp(0|1)
r1() {
	local c=$1 rep=$2 tool=$3 v=$4 be=$5 stamp=$6 p rxc txc rxpid tag
	port_next
	p=$BENCH_PORT
	tag=$S-r1-$tool-$v-$stamp-$rep
	if [ "$tool" = probe ]; then
		rxc=(taskset -c "$RX_CPU" "$PROBES/$v" "127.0.0.1:$p" "$DUR")
	else
		rxc=(taskset -c "$RX_CPU" "$SALVO" udp recv "127.0.0.1:$p" -b "$be" -q --json -d "$((DUR + 10))")
	fi
	txc=("$SALVO" udp send "127.0.0.1:$p" -b syscall -q --json -s $SIZE --gso -t 2 -d "$DUR")
	[ "$stamp" = 0 ] && txc+=(--no-stamp)
	bg "$tag.rx" $TO_BG "$((DUR + 12))" "${rxc[@]}"
	rxpid=$BG_PID
	if ! wait_listen udp "$p"; then
		stop "$rxpid"
		record --scenario $S --case "$c" --tool "$tool" --variant "$v" --backend "$be" --rep "$rep" \
			--status failed --reason "receiver did not bind" --stderr "$WORK/$tag.rx.err" \
			--cmd "$(q "${rxc[@]}")"
		return
	fi
	$TO_FG "$((DUR + 10))" "${txc[@]}" >"$WORK/$tag.tx.out" 2>"$WORK/$tag.tx.err" </dev/null
	sleep 0.3
	if [ "$tool" = probe ]; then
		for _ in $(seq 30); do kill -0 "$rxpid" 2>/dev/null || break; sleep 0.1; done	# stops 1 s after the traffic
	fi
	stop "$rxpid"
	record --scenario $S --case "$c" --tool "$tool" --variant "$v" --backend "$be" --rep "$rep" \
		--param "size=$SIZE" --param "stamped=$stamp" \
		--parser "$([ "$tool" = probe ] && echo probe || echo salvo-udp)" \
		--file "a=$WORK/$tag.rx.out" --file "b=$WORK/$tag.tx.out" \
		--stderr "$WORK/$tag.rx.err" --stderr "$WORK/$tag.tx.err" \
		--cmd "$(q "${rxc[@]}")" --cmd "$(q "${txc[@]}")"
}

# r2 case rep tool variant backend gso(0|1)
r2() {
	local c=$1 rep=$2 tool=$3 v=$4 be=$5 gso=$6 p rxc txc rxpid tag
	port_next
	p=$BENCH_PORT
	tag=$S-r2-$tool-$v-$rep
	rxc=(taskset -c "$RX_CPU" "$PROBES/recv_count" "127.0.0.1:$p" "$DUR")
	case $tool/$v in
	salvo/*) txc=(taskset -c "$TX_CPU" "$SALVO" udp send "127.0.0.1:$p" -b "$be" -q --json -s $SIZE
			--no-stamp -d "$DUR")
		if [ "$gso" = 1 ]; then txc+=(--gso); else txc+=(--no-gso); fi ;;	# GSO is the default
	probe/send_mmsg*) txc=(taskset -c "$TX_CPU" "$PROBES/send_mmsg" "127.0.0.1:$p" "$DUR" $SIZE 64) ;;
	probe/send_uring*) txc=(taskset -c "$TX_CPU" "$PROBES/send_uring" "127.0.0.1:$p" "$DUR" $SIZE 64) ;;
	esac
	# salvo's --gso packs one burst, 32 segments by default, per send
	# (tx.submissions of -n 64000 is 2000); the probes the same.  Before
	# 2026-11-30 13:50 the probes packed 64: their GSO rows are not like
	# for like with the later ones.
	[ "$tool" = probe ] && [ "$gso" = 1 ] && txc+=(--gso 32)
	bg "$tag.rx" $TO_BG "$((DUR + 12))" "${rxc[@]}"
	rxpid=$BG_PID
	if ! wait_listen udp "$p"; then
		stop "$rxpid"
		record --scenario $S --case "$c" --tool "$tool" --variant "$v" --backend "$be" --rep "$rep" \
			--status failed --reason "receiver probe did not bind" --stderr "$WORK/$tag.rx.err" \
			--cmd "$(q "${rxc[@]}")"
		return
	fi
	$TO_FG "$((DUR + 10))" "${txc[@]}" >"$WORK/$tag.tx.out" 2>"$WORK/$tag.tx.err" </dev/null
	for _ in $(seq 30); do kill -0 "$rxpid" 2>/dev/null || break; sleep 0.1; done
	stop "$rxpid"
	record --scenario $S --case "$c" --tool "$tool" --variant "$v" --backend "$be" --rep "$rep" \
		--param "size=$SIZE" --param "gso=$gso" --parser probe \
		--file "a=$WORK/$tag.rx.out" --file "b=$WORK/$tag.tx.out" \
		--stderr "$WORK/$tag.rx.err" --stderr "$WORK/$tag.tx.err" \
		--cmd "$(q "${rxc[@]}")" --cmd "$(q "${txc[@]}")"
}

if [ ! -x "$PROBES/recv_count" ]; then
	for c in "recv unstamped" "recv stamped" "send" "send gso"; do
		unavailable $S "$c" probe probes "probes did not build (see raw/probes.build.log)"
	done
	exit 0
fi
have_uring=1
[ "$(backend_state uring)" = ok ] || have_uring=0
[ -x "$PROBES/send_uring" ] || have_uring=0
for rep in $(seq "$REPS"); do
	for stamp in 0 1; do
		c="recv unstamped"
		[ "$stamp" = 1 ] && c="recv stamped"
		r1 "$c" "$rep" probe recv_count - "$stamp"
		r1 "$c" "$rep" salvo syscall syscall "$stamp"
		[ "$have_uring" = 1 ] && [ -x "$PROBES/recv_uring" ] && r1 "$c" "$rep" probe recv_uring - "$stamp"
		[ "$have_uring" = 1 ] && r1 "$c" "$rep" salvo uring uring "$stamp"
	done
	for gso in 0 1; do
		c=send sfx=
		[ "$gso" = 1 ] && c="send gso" sfx=+gso
		r2 "$c" "$rep" probe send_mmsg$sfx - "$gso"
		r2 "$c" "$rep" salvo syscall$sfx syscall "$gso"
		if [ "$have_uring" = 1 ]; then
			r2 "$c" "$rep" probe send_uring$sfx - "$gso"
			r2 "$c" "$rep" salvo uring$sfx uring "$gso"
		fi
	done
done
if [ "$have_uring" = 0 ]; then
	for c in "recv unstamped" "recv stamped" send "send gso"; do
		unavailable $S "$c" salvo uring "io_uring: $(backend_state uring)"
	done
	for c in "recv unstamped" "recv stamped"; do
		unavailable $S "$c" probe recv_uring "io_uring: $(backend_state uring)"
	done
fi
