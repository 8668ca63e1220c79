#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Raw 60 B frames on a veth pair between two throw-away namespaces: salvo
# af_packet and af_xdp against trafgen (and dpdk-testpmd txonly over its
# net_af_packet / net_af_xdp vdevs when installed), 1 and 2 threads.  The
# figure is the peer's own rx_packets (ip -s -j link) over a fixed window
# after a warm-up, sampled by the harness, identical for every tool.
#
# CPUs: trafgen pins its i-th process to CPU i, so every sender here uses
# CPU 0 for one thread and CPUs 0-1 for two.
#
# Where the frames end: veth hands each frame to the peer's stack in the
# sender's own syscall, on the sender's CPU.  Frames for the peer's MAC and
# address go up to UDP, find no socket and make the peer build an ICMP port
# unreachable (route lookups and all, before the rate limit drops it): that
# work is about half of every tool's CPU and hides what the generators
# themselves cost.  So the main cases address frames to a MAC that is not the
# peer's (SINK_MAC): the peer counts them in rx_packets like any other and
# drops them at IP's first check, as a switch port counter would count them.
# The "to the peer's stack" case keeps the old full delivery for one thread.
set -u
. "$(dirname "$0")/../lib/common.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

S=raw_veth SIZE=60
SINK_MAC=02:5a:00:00:00:01	# locally administered, on no interface
CASES=("1 thread(s)" "2 thread(s)" "1 thread(s), to the peer's stack")
WARM=${WARM:-1}
[ "$QUICK" = 1 ] && WARM=0.3
cpus_of() { [ "$1" = 1 ] && echo 0 || echo 0,1; }

if [ "$(id -u)" -ne 0 ]; then
	for c in "${CASES[@]}"; do
		for tv in "salvo af_packet" "salvo af_xdp" "trafgen trafgen"; do
			set -- $tv
			want_tool "$1" && unavailable $S "$c" "$1" "$2" "needs root (namespaces, raw sockets)"
		done
	done
	exit 0
fi
if ! netns_create; then
	log "cannot create namespaces / veth pair"
	for c in "${CASES[@]}"; do unavailable $S "$c" salvo af_packet "could not create the veth pair"; done
	exit 0
fi
log "veth $VETH_A ($NS_A, $MAC_A) -> $VETH_B ($NS_B, $MAC_B)"

runs=()
if want_tool salvo; then
	for be in af_packet af_xdp; do
		st=$(backend_state "$be")
		salvo_has "raw send" || st="not available: this salvo has no raw send"
		if [ "$st" = ok ]; then runs+=("salvo $be"); else
			for c in "${CASES[@]}"; do unavailable $S "$c" salvo "$be" "$st"; done
		fi
	done
fi
if want_tool trafgen; then
	st=$(tool_state trafgen)
	if [ "$st" = ok ]; then runs+=("trafgen trafgen"); else
		for c in "${CASES[@]}"; do unavailable $S "$c" trafgen trafgen "$st"; done
	fi
fi
if want_tool testpmd; then
	st=$(tool_state dpdk-testpmd)
	for pmd in af_packet af_xdp; do
		s2=$st
		if [ "$st" = ok ] && ! ls /usr/lib/*/dpdk/pmds-*/librte_net_$pmd.so* >/dev/null 2>&1; then
			s2="not available: DPDK net_$pmd driver not installed"
		fi
		if [ "$s2" = ok ]; then runs+=("testpmd $pmd"); else
			for c in "${CASES[@]}"; do unavailable $S "$c" testpmd "$pmd" "$s2"; done
		fi
	done
fi

# trafgen's frame: Ethernet + IPv4 + UDP 9 -> 9 + 18 bytes of zeros = 60 B
for dst in "$SINK_MAC" "$MAC_B"; do
	cat >"$WORK/trafgen-$dst.cfg" <<CFG
{ eth(da=$dst, sa=$MAC_A, type=0x0800), ipv4(saddr=$IP_A, daddr=$IP_B, proto=17, ttl=64), udp(sp=9, dp=9), fill(0x00, 18) }
CFG
done

# measure tag sender-pid: wait until frames reach the peer (DPDK and AF_XDP
# set-up takes seconds here), warm up, sample the peer, wait DUR, sample again
measure() {
	local tag=$1 pid=$2 c0 c i
	c0=$(rx_count "$NS_B" "$VETH_B" | cut -d' ' -f2)
	for i in $(seq 150); do
		c=$(rx_count "$NS_B" "$VETH_B" | cut -d' ' -f2)
		[ "$((c - c0))" -gt 1000 ] && break
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	sleep "$WARM"
	rx_count "$NS_B" "$VETH_B" >"$WORK/$tag.win"
	sleep "$DUR"
	rx_count "$NS_B" "$VETH_B" >>"$WORK/$tag.win"
	kill -0 "$pid" 2>/dev/null	# still sending at the end of the window?
}

one() {	# rep threads tool variant dst-mac case
	local rep=$1 n=$2 tool=$3 v=$4 dmac=$5 case=$6 cmd tag pid alive bound
	tag=raw-$tool-$v-$n-${dmac//:/}-$rep
	bound=$(awk -v w="$WARM" -v d="$DUR" 'BEGIN { printf "%d", w + d + 25 }')	# stopped by SIGINT well before
	case $tool in
	salvo)
		cmd=(ip netns exec "$NS_A" taskset -c "$(cpus_of "$n")" "$SALVO" raw send -b "$v" -I "$VETH_A"
			--dst "$IP_B" --dst-mac "$dmac" --size "$SIZE" -t "$n" -d "$bound" -q)
		;;
	trafgen)
		cmd=(ip netns exec "$NS_A" trafgen -o "$VETH_A" -i "$WORK/trafgen-$dmac.cfg" -P "$n" -C -Q)
		;;
	testpmd)
		local vdev lc
		if [ "$v" = af_packet ]; then vdev="net_af_packet0,iface=$VETH_A,qpairs=$n"
		else vdev="net_af_xdp0,iface=$VETH_A,start_queue=0,queue_count=$n"; fi
		# lcore 0 is testpmd's main (control) lcore; forwarding lcores on CPU 0 (and 1)
		[ "$n" = 1 ] && lc="0@1,1@0" || lc="0@1,1@0,2@1"
		cmd=(ip netns exec "$NS_A" dpdk-testpmd --lcores "$lc" --no-huge -m 512 --no-pci
			--file-prefix "sbench$$" --vdev "$vdev" -- --forward-mode=txonly --txpkts="$SIZE"
			--total-num-mbufs=16384 --nb-cores="$n" --txq="$n" --rxq="$n"
			--eth-peer="0,$dmac" --tx-ip="$IP_A,$IP_B" --stats-period=1 -a)
		cmd=(stdbuf -oL "${cmd[@]}")	# its report survives SIGINT
		;;
	esac
	bg "$tag" $TO_BG "$((bound + 2))" "${cmd[@]}"
	pid=$BG_PID
	if measure "$tag" "$pid"; then alive=1; else alive=0; fi
	stop "$pid"
	if [ "$alive" = 0 ]; then
		record --scenario $S --case "$case" --tool "$tool" --variant "$v" --backend "$v" --rep "$rep" \
			--status failed --reason "sender exited before the end of the window" \
			--stderr "$WORK/$tag.err" --stderr "$WORK/$tag.out" --cmd "$(q "${cmd[@]}")"
		return
	fi
	record --scenario $S --case "$case" --tool "$tool" --variant "$v" --backend "$v" --rep "$rep" \
		--param "threads=$n" --param "size=$SIZE" --param "cpus=$(cpus_of "$n")" --param "dst_mac=$dmac" \
		--parser witness --file "a=$WORK/$tag.win" --stderr "$WORK/$tag.err" --cmd "$(q "${cmd[@]}")"
}

for rep in $(seq "$REPS"); do
	for c in "${CASES[@]}"; do
		n=${c%% *}
		case $c in *peer*) dmac=$MAC_B ;; *) dmac=$SINK_MAC ;; esac
		for r in "${runs[@]}"; do
			set -- $r
			one "$rep" "$n" "$1" "$2" "$dmac" "$c"
		done
	done
done
