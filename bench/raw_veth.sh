#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 60-byte frames on a veth pair, one sender core: salvo's af_packet backend
# against netsniff-ng's trafgen -P 1, in the same run.  Frames are counted at
# the peer (its `ip -s link` rx_packets), not by either sender.  The frames
# go to a MAC nobody owns, so the peer's stack drops them right after the
# veth driver counted them and the receiving side costs both tools the same.
# Bounded: SECS seconds per tool (default 3).  Reports, never asserts.
#
#	sudo SALVO=build/salvo bench/raw_veth.sh [SECS]
set -u
SALVO=${SALVO:-$(dirname "$0")/../build/salvo}
SECS=${1:-3}
CPU=${CPU:-0}
S=$(printf '%04x%04x' $RANDOM $RANDOM)
NA=salvo-bench-a-$S NB=salvo-bench-b-$S
cleanup() { ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null; }
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "needs root (namespaces, raw sockets)"; exit 1; }
ip netns add "$NA" && ip netns add "$NB" || exit 1
ip -n "$NA" link add veth-a type veth peer name veth-b netns "$NB" || exit 1
ip -n "$NA" addr add 10.78.0.1/24 dev veth-a
ip -n "$NB" addr add 10.78.0.2/24 dev veth-b
ip -n "$NA" link set veth-a up
ip -n "$NB" link set veth-b up
SRC_MAC=$(ip -n "$NA" -j link show dev veth-a | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
DST_MAC=02:00:00:00:be:ef	# no one's: PACKET_OTHERHOST at the peer

rx() { ip -n "$NB" -s -j link show dev veth-b | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'; }

# measure NAME CMD...: peer rx frames during SECS seconds of CMD (killed after).
declare -A PPS
measure() {
	local name=$1 before after t0 t1
	shift
	before=$(rx)
	t0=$(date +%s%N)
	timeout -s INT "$((SECS + 2))" "$@" >/tmp/raw_veth_$name.log 2>&1
	t1=$(date +%s%N)
	after=$(rx)
	PPS[$name]=$(python3 -c "print(int(($after - $before) / (($t1 - $t0) / 1e9)))")
	FR[$name]=$((after - before))
	SEC[$name]=$(python3 -c "print(round(($t1 - $t0) / 1e9, 2))")
}
declare -A FR SEC

measure af_packet ip netns exec "$NA" taskset -c "$CPU" "$SALVO" raw send -I veth-a \
	--dst 10.78.0.2 --dst-mac "$DST_MAC" --size 60 -d "${SECS}s" -q

if command -v trafgen >/dev/null; then
	cat >/tmp/raw_veth_$S.cfg <<CFG
{ eth(da=$DST_MAC, sa=$SRC_MAC, type=0x0800),
  ipv4(saddr=10.78.0.1, daddr=10.78.0.2, ttl=64, proto=17),
  udp(sp=9, dp=9), fill(0x00, 18) }
CFG
	measure trafgen ip netns exec "$NA" timeout -s INT "$SECS" trafgen -i /tmp/raw_veth_$S.cfg \
		-o veth-a -P 1 --cpu "$CPU" -q
	rm -f /tmp/raw_veth_$S.cfg
fi

printf '%-12s %10s %12s %12s\n' sender seconds "peer frames" "frames/s"
for n in af_packet trafgen; do
	[ -n "${PPS[$n]:-}" ] || { printf '%-12s %s\n' "$n" "not installed"; continue; }
	printf '%-12s %10s %12s %12s\n' "$n" "${SEC[$n]}" "${FR[$n]}" "${PPS[$n]}"
done
echo "(60-byte frames, veth, one sender core: CPU $CPU; $(nproc) cores; kernel $(uname -r))"
