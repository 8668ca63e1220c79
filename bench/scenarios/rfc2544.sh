#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# salvo rfc2544 over a device under test made of namespaces (tests/integ/lib.sh
# setup_dut, no shaping): the NDR of this machine's Linux forwarding path (a
# namespace with ip_forward between two veth pairs) per frame size, and what
# the tester itself can offer: the same search over one veth pair whose two
# ends are the tester's two ports, no DUT between them (its ceiling, measured
# back-to-back: the first trial goes as fast as the sender can).  And the
# same forwarding path at L4: socket mode (--server) from a client namespace
# through the DUT to a `salvo serve` namespace (setup_dut_l4), 1518 B only.
set -u
# setup_dut and its namespace bookkeeping from the tests' lib.sh, sourced first
# so the bench's own helpers (bg, TOP) win where both define one; lib.sh's
# cleanup deletes the namespaces, then the bench's runs.
. "$(dirname "$0")/../../tests/integ/lib.sh"
. "$(dirname "$0")/../lib/common.sh"
trap 'cleanup; cleanup_common' EXIT
trap 'exit 130' INT TERM

S=rfc2544
SIZES="64 1518"
TRIAL=2
[ "$QUICK" = 1 ] && TRIAL=0.5

if [ "$(id -u)" -ne 0 ] || ! salvo_has rfc2544; then
	why="needs root (namespaces, raw sockets)"
	salvo_has rfc2544 || why="this salvo has no rfc2544"
	for sz in $SIZES; do
		unavailable $S "forwarding, $sz B" salvo af_packet "$why"
		unavailable $S "tester ceiling, $sz B" salvo af_packet "$why"
	done
	unavailable $S "forwarding, UDP socket, 1518 B" salvo socket "$why"
	exit 0
fi

# one rep case sz ns tx rx [rfc2544 args...]: a throughput search, recorded from its JSON
one() {
	local rep=$1 case=$2 sz=$3 ns=$4 tx=$5 rx=$6 tag cmd
	shift 6
	tag=rfc2544-${case%%,*}-$sz-$rep
	tag=${tag// /_}
	cmd=(ip netns exec "$ns" "$SALVO" rfc2544 -b af_packet --tx "$tx" --rx "$rx" --sizes "$sz"
		--trial "$TRIAL" --resolution 1% --pdr 0 --json "$@" throughput)
	if timeout -s INT 600 "${cmd[@]}" >"$WORK/$tag.json" 2>"$WORK/$tag.err"; then
		record --scenario $S --case "$case" --tool salvo --variant af_packet --backend af_packet \
			--rep "$rep" --param "size=$sz" --param "trial_s=$TRIAL" --parser salvo-rfc2544 \
			--file "a=$WORK/$tag.json" --stderr "$WORK/$tag.err" --cmd "$(q "${cmd[@]}")"
	else
		record --scenario $S --case "$case" --tool salvo --variant af_packet --rep "$rep" \
			--status failed --reason "salvo rfc2544 exited $?" --stderr "$WORK/$tag.err" \
			--cmd "$(q "${cmd[@]}")"
	fi
}

# one_sock rep: socket mode, 1518-byte frames (1472 B of UDP), through setup_dut_l4 to salvo serve
one_sock() {
	local rep=$1 case="forwarding, UDP socket, 1518 B" tag=rfc2544-sock-1518-$1 port cmd
	setup_dut_l4 || { unavailable $S "$case" salvo socket "setup_dut_l4: $TEST_MSG"; return; }
	port=$(random_port)
	# the bench's bg (its EXIT trap) and lib.sh's BG_PIDS (cleanup_test stops it with the namespaces)
	bg "$tag-serve" ip netns exec "$SERVER" "$SALVO" serve "$SRV_ADDR:$port" --token bench
	BG_PIDS+=("$BG_PID")
	busywait 10000 in_ns "$SERVER" sh -c "ss -Hltn 'sport = :$port' | grep -q ." ||
		{ unavailable $S "$case" salvo socket "salvo serve did not listen"; cleanup_test; return; }
	cmd=(ip netns exec "$CLIENT" "$SALVO" rfc2544 --server "$SRV_ADDR:$port" --token bench --sizes 1518
		--trial "$TRIAL" --resolution 1% --pdr 0 --json throughput)
	if timeout -s INT 600 "${cmd[@]}" >"$WORK/$tag.json" 2>"$WORK/$tag.err"; then
		record --scenario $S --case "$case" --tool salvo --variant socket \
			--rep "$rep" --param "size=1518" --param "trial_s=$TRIAL" --parser salvo-rfc2544 \
			--file "a=$WORK/$tag.json" --stderr "$WORK/$tag.err" --cmd "$(q "${cmd[@]}")"
	else
		record --scenario $S --case "$case" --tool salvo --variant socket --rep "$rep" \
			--status failed --reason "salvo rfc2544 --server exited $?" --stderr "$WORK/$tag.err" \
			--cmd "$(q "${cmd[@]}")"
	fi
	cleanup_test
}

for rep in $(seq "$REPS"); do
	one_sock "$rep"
	for sz in $SIZES; do
		setup_dut || { unavailable $S "forwarding, $sz B" salvo af_packet "setup_dut: $TEST_MSG"; continue; }
		one "$rep" "forwarding, $sz B" "$sz" "$TESTER" "$DUT_TX" "$DUT_RX" \
			--dst "$DUT_DST" --dst-mac "$DUT_MAC"
		cleanup_test
		# The tester's ceiling: its two ports joined by one veth pair, nothing between them.
		setup_ns TESTER || continue
		ip -n "$TESTER" link add p0 type veth peer name p1 && ip -n "$TESTER" link set p0 up &&
			ip -n "$TESTER" link set p1 up && ip -n "$TESTER" addr add 10.203.0.1/24 dev p0 ||
			{ unavailable $S "tester ceiling, $sz B" salvo af_packet "veth pair"; cleanup_test; continue; }
		one "$rep" "tester ceiling, $sz B" "$sz" "$TESTER" p0 p1 \
			--dst 10.203.0.100 --dst-mac "$(mac_of "$TESTER" p1)"
		cleanup_test
	done
done
