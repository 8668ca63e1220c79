#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Raw receive: `salvo raw recv` with af_packet and with af_xdp (default
# options: stamps checked, flows tracked) on one end of a veth pair between
# two throw-away namespaces, fed by one common sender on the other end:
# `salvo raw send`, one thread, unpaced (as many frames as one sender makes),
# for DUR seconds, af_xdp when it works here (the faster raw sender,
# raw_veth), else af_packet.  The figure is what the receiver counted, over
# its own first-to-last-frame time; beside it the kernel's witnesses: the
# receiving veth's rx_packets (ip -s -j link) from before the sender started
# to after it ended, and the sender's own count.  issue 13 R4: the raw
# receive default is the backend this row shows fastest (the af_xdp ÷
# af_packet ratio, repetition by repetition).
#
# CPUs: the sender on CPU 0, the receiver on CPU 1.  veth hands each frame to
# the peer in the sender's own syscall, so the kernel's receive work (the
# copy into the packet ring, or XDP's redirect into the AF_XDP socket's
# UMEM) runs on the sender's CPU for both backends; the receiver's CPU does
# what the receiving program does per frame.
#
# Frames go to a MAC that is not the peer's (SINK_MAC, as raw_veth): both
# receivers take them before IP (a packet socket sees every frame the device
# receives; the XDP program redirects every frame), and the peer's stack
# drops them at IP's first check instead of answering each with an ICMP
# attempt on the sender's CPU, a cost the af_xdp receiver would not pay.
set -u
. "$(dirname "$0")/../lib/common.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

S=raw_rx
CASE="1 thread"
SINK_MAC=02:5a:00:00:00:01	# locally administered, on no interface
TXC=0 RXC=1

if [ "$(id -u)" -ne 0 ]; then
	for be in af_packet af_xdp; do
		want_tool salvo && unavailable $S "$CASE" salvo "$be" "needs root (namespaces, raw sockets)"
	done
	exit 0
fi
want_tool salvo || exit 0

rx_bes=()
for be in af_packet af_xdp; do
	st=$(backend_state "$be")
	salvo_has "raw recv" || st="not available: this salvo has no raw recv"
	if [ "$st" = ok ]; then rx_bes+=("$be"); else unavailable $S "$CASE" salvo "$be" "$st"; fi
done
[ ${#rx_bes[@]} -gt 0 ] || exit 0
tx_be=af_xdp
[ "$(backend_state af_xdp)" = ok ] || tx_be=af_packet
if [ "$(backend_state "$tx_be")" != ok ] || ! salvo_has "raw send"; then
	for be in "${rx_bes[@]}"; do unavailable $S "$CASE" salvo "$be" "no raw sender here (af_xdp, af_packet)"; done
	exit 0
fi
if ! netns_create; then
	log "cannot create namespaces / veth pair"
	for be in "${rx_bes[@]}"; do unavailable $S "$CASE" salvo "$be" "could not create the veth pair"; done
	exit 0
fi
log "sender $tx_be on $VETH_A ($NS_A) -> receivers on $VETH_B ($NS_B)"

# rx_ready backend: the receiver takes frames from now on.  af_packet: a
# packet socket in NS_B bound to VETH_B and running (only the receiver opens
# one there; it sets up its ring before it binds).  af_xdp: an XDP program
# attached to VETH_B (the socket is in its map before the attach).
rx_ready() {
	if [ "$1" = af_xdp ]; then
		ip -n "$NS_B" link show dev "$VETH_B" | grep -qE '\bxdp(generic|drv)?\b'
		return
	fi
	local idx
	idx=$(ip -n "$NS_B" -o link show dev "$VETH_B" | cut -d: -f1)
	ip netns exec "$NS_B" cat /proc/net/packet | awk -v idx="$idx" 'NR > 1 && $5 == idx && $6 == 1 { f = 1 } END { exit !f }'
}

one() {	# rep receiver-backend
	local rep=$1 be=$2 tag rcmd tcmd rpid bound rc
	tag=rawrx-$be-$rep
	bound=$((DUR + 40))	# stopped by SIGINT once the sender is done
	rcmd=(ip netns exec "$NS_B" taskset -c "$RXC" "$SALVO" raw recv -b "$be" -I "$VETH_B" -t 1
		-d "$bound" --json -q)
	tcmd=(ip netns exec "$NS_A" taskset -c "$TXC" "$SALVO" raw send -b "$tx_be" -I "$VETH_A"
		--dst "$IP_B" --dst-mac "$SINK_MAC" -t 1 -d "$DUR" --json -q)
	bg "$tag.rx" $TO_BG "$((bound + 2))" "${rcmd[@]}"
	rpid=$BG_PID
	for _ in $(seq 100); do
		rx_ready "$be" && break
		kill -0 "$rpid" 2>/dev/null || break
		sleep 0.1
	done
	if ! rx_ready "$be"; then
		stop "$rpid"
		record --scenario $S --case "$CASE" --tool salvo --variant "$be" --backend "$be" --rep "$rep" \
			--status failed --reason "receiver not ready after 10 s" --stderr "$WORK/$tag.rx.err" \
			--cmd "$(q "${rcmd[@]}")"
		return
	fi
	rx_count "$NS_B" "$VETH_B" >"$WORK/$tag.win"
	$TO_FG "$((DUR + 30))" "${tcmd[@]}" >"$WORK/$tag.tx.out" 2>"$WORK/$tag.tx.err"
	rc=$?
	sleep 0.5	# frames still in the rings reach the receiver
	rx_count "$NS_B" "$VETH_B" >>"$WORK/$tag.win"
	stop "$rpid"
	if [ "$rc" -ne 0 ]; then
		record --scenario $S --case "$CASE" --tool salvo --variant "$be" --backend "$be" --rep "$rep" \
			--status failed --reason "sender exited $rc" --stderr "$WORK/$tag.tx.err" \
			--cmd "$(q "${tcmd[@]}")"
		return
	fi
	record --scenario $S --case "$CASE" --tool salvo --variant "$be" --backend "$be" --rep "$rep" \
		--param "sender=salvo raw send -b $tx_be" --param "rx_cpu=$RXC" --param "tx_cpu=$TXC" \
		--param "dst_mac=$SINK_MAC" --parser salvo-raw-rx --file "a=$WORK/$tag.rx.out" \
		--file "b=$WORK/$tag.tx.out" --file "c=$WORK/$tag.win" --stderr "$WORK/$tag.rx.err" \
		--cmd "$(q "${rcmd[@]}")" --cmd "$(q "${tcmd[@]}")"
}

for rep in $(seq "$REPS"); do
	for be in "${rx_bes[@]}"; do
		one "$rep" "$be"
	done
done
