#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Registry: joins/s measured by `salvo registry bench` (replies read to EOF)
# against salvo registry serve and against the Python 3 seed server, with 1
# and 2 server threads.  The seed server is thread-per-connection under the
# GIL: its "2 threads" case gives it the same two CPUs, nothing more.
set -u
. "$(dirname "$0")/../lib/common.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

S=registry
SEED=${SEED:-}
if [ -z "$SEED" ]; then
	for f in "$BENCH_DIR/seed_client_list.py" "$TOP/tests/seed/client_list.py"; do
		[ -f "$f" ] && SEED=$f && break
	done
fi
cpus_of() { [ "$1" = 1 ] && echo "$RX_CPU" || echo "$RX_CPU,$TX_CPU"; }
bench_cpus() { [ "$1" = 1 ] && echo "$TX_CPU" || echo "$RX_CPU,$TX_CPU"; }

st=ok
salvo_has "registry bench" || st="not available: this salvo has no registry bench (the load generator for both servers)"
runs=()
if [ "$st" != ok ]; then
	for n in 1 2; do
		want_tool salvo && unavailable $S "$n thread(s)" salvo salvo "$st"
		want_tool seed && unavailable $S "$n thread(s)" seed seed "$st"
	done
else
	if want_tool salvo; then
		if salvo_has "registry serve"; then runs+=(salvo); else
			for n in 1 2; do unavailable $S "$n thread(s)" salvo salvo "this salvo has no registry serve"; done
		fi
	fi
	if want_tool seed; then
		if [ -n "$SEED" ]; then runs+=(seed); else
			for n in 1 2; do unavailable $S "$n thread(s)" seed seed "no seed client-list server script"; done
		fi
	fi
fi

one() {	# rep threads tool
	local rep=$1 n=$2 tool=$3 p sv bc spid tag
	port_next
	p=$BENCH_PORT
	tag=registry-$tool-$n-$rep
	if [ "$tool" = salvo ]; then
		sv=(taskset -c "$(cpus_of "$n")" "$SALVO" registry serve "127.0.0.1:$p" -t "$n" -q -d "$((DUR + 10))")
	else
		sv=(taskset -c "$(cpus_of "$n")" "$PY" "$SEED" --host 127.0.0.1 --port "$p")
	fi
	bc=(taskset -c "$(bench_cpus "$n")" "$SALVO" registry bench "127.0.0.1:$p" -d "$DUR" --json)
	bg "$tag.srv" $TO_BG "$((DUR + 15))" "${sv[@]}"
	spid=$BG_PID
	if ! wait_listen tcp "$p"; then
		stop "$spid"
		record --scenario $S --case "$n thread(s)" --tool "$tool" --rep "$rep" --status failed \
			--reason "server did not listen" --stderr "$WORK/$tag.srv.err" --cmd "$(q "${sv[@]}")"
		return
	fi
	$TO_FG "$((DUR + 15))" "${bc[@]}" >"$WORK/$tag.bench.out" 2>"$WORK/$tag.bench.err" </dev/null
	stop "$spid"
	record --scenario $S --case "$n thread(s)" --tool "$tool" --rep "$rep" --param "threads=$n" \
		--param "server_cpus=$(cpus_of "$n")" --parser salvo-registry --file "a=$WORK/$tag.bench.out" \
		--stderr "$WORK/$tag.bench.err" --cmd "$(q "${sv[@]}")" --cmd "$(q "${bc[@]}")"
}

for rep in $(seq "$REPS"); do
	for n in 1 2; do
		for t in "${runs[@]}"; do one "$rep" "$n" "$t"; done
	done
done
