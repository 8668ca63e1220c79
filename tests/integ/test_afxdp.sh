#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# The af_xdp backend end to end over a veth pair between two throw-away
# namespaces (veth: native XDP, copy-mode sockets).  Each count is checked
# against an independent witness: a plain UDP socket receiver and the
# peer's `ip -s link` counters for raw send; the af_packet sender's own
# count and the stamps for raw recv; `ip link show` for what XDP program is
# attached, in which mode, and that none is left behind (normal end, SIGINT,
# refusal); the kernel's UDP NoPorts counter for the frames --filter passes on.
#
#	sudo SALVO=build/salvo tests/integ/test_afxdp.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves these out (lib.sh PLAIN_ONLY): rates and kernel-counter witnesses; the AF_XDP rx/tx, detach, refusal and two-queue paths stay under ASan.
PLAIN_ONLY="test_send_udp_socket test_recv_skb_mode test_back_to_back test_kernel_xdp_drops test_kernel_tcp_retrans"
TESTS="
	test_send_udp_socket
	test_recv_counts_stamps
	test_recv_skb_mode
	test_recv_filter_passes_rest
	test_sigint_detaches
	test_second_salvo_refused
	test_back_to_back
	test_force_replaces
	test_two_queues
	test_clear_errors
	test_kernel_xdp_drops
	test_kernel_tcp_retrans
"
[ $# -gt 0 ] && TESTS="$*"

N=20000
RATE=20k	# moderate: a loaded 2-core machine (or ASan) keeps up with this

# Namespaces A (10.79.0.1, veth-a) and B (10.79.0.2, veth-b), quiet: IPv6 off
# (no ND/MLD frames), permanent neighbour entries (no ARP), so the peer's
# counters see only what a test sends.  QUEUES=n gives both ends n queues.
setup_pair() {
	local q=${QUEUES:-1} ns
	setup_ns NA NB || return
	if [ "$q" -eq 1 ]; then
		setup_veth "$NA" "$NB" 10.79.0.1/24 10.79.0.2/24 || return
	else
		ip -n "$NA" link add veth-a numtxqueues "$q" numrxqueues "$q" type veth peer name veth-b \
			numtxqueues "$q" numrxqueues "$q" netns "$NB" || { fail "veth with $q queues"; return; }
		ip -n "$NA" addr add 10.79.0.1/24 dev veth-a && ip -n "$NB" addr add 10.79.0.2/24 dev veth-b &&
			ip -n "$NA" link set veth-a up && ip -n "$NB" link set veth-b up || { fail "veth up"; return; }
		busywait 5000 veth_up "$NA" veth-a && busywait 5000 veth_up "$NB" veth-b || { fail "veth not up"; return; }
	fi
	quiet_pair "$NA" "$NB" 10.79.0.1 10.79.0.2 || return
}

rx_b() { link_stat veth-b rx_packets "$NB"; }
rx_b_above() { [ "$(rx_b)" -gt "$1" ]; }

# xdp_id NS IF: the id of the XDP program attached to IF, "" if none.
xdp_id() { ip -n "$1" -d link show dev "$2" | grep -oE 'prog/xdp id [0-9]+' | head -1 | grep -oE '[0-9]+$'; }
xdp_changed() { [ -n "$(xdp_id "$1" "$2")" ] && [ "$(xdp_id "$1" "$2")" != "$3" ]; }

# xdp_on NS IF: "xdp" (native), "xdpgeneric" (skb) or "" (none), from `ip link show`.
xdp_on() { ip -n "$1" link show dev "$2" | grep -oE '\b(xdpgeneric|xdpdrv|xdpoffload|xdp)\b' | head -1; }
has_xdp() { [ -n "$(xdp_on "$1" "$2")" ]; }
no_xdp() { [ -z "$(xdp_on "$1" "$2")" ]; }

# A raw recv on af_xdp in B, in the background; returns once its program is attached.
start_recv() {
	local out=$1
	shift
	salvo_bg -n "$NB" "$out" raw recv --backend af_xdp -I veth-b "$@"
	RPID=$SALVO_PID
	busywait 10000 has_xdp "$NB" veth-b || { show "$out.err"; fail "no XDP program attached to veth-b"; return; }
}

test_send_udp_socket() {
	require_root || return
	setup_pair || return
	local port before after rx tx seen
	port=$(random_port)
	before=$(rx_b)
	salvo_bg -n "$NB" "$TMP/recv.json" udp recv "10.79.0.2:$port" --count "$N" --json -q -d 30
	local upid=$SALVO_PID
	wait_udp_bound "$port" "$NB" || { fail "receiver not bound"; return; }
	salvo_run -n "$NA" "$TMP/send.json" raw send --backend af_xdp -I veth-a --dst 10.79.0.2 \
		--dport "$port" --size 128 --flows 4 -n "$N" --rate "$RATE" --json ||
		{ show "$TMP/send.json.err"; fail "raw send --backend af_xdp exit $?"; return; }
	wait_pid "$upid" 20000 || { show "$TMP/recv.json.err"; fail "udp recv did not finish"; return; }
	after=$(rx_b)
	tx=$(json_get "$TMP/send.json" tx.packets)
	rx=$(json_get "$TMP/recv.json" rx.packets)
	seen=$((after - before))
	[ "$tx" -eq "$N" ] || { fail "sender counted $tx, not $N"; return; }
	[ "$seen" -eq "$N" ] || { fail "peer's ip -s link counted $seen frames, sender $N"; return; }
	[ "$rx" -eq "$seen" ] || { fail "UDP socket received $rx of the $seen frames the peer counted"; return; }
	[ "$(json_get "$TMP/recv.json" rx.lost)" -eq 0 ] || { fail "stamps report loss"; return; }
	[ "$(json_get "$TMP/recv.json" rx.flows)" -eq 4 ] || { fail "expected 4 stamped flows"; return; }
	no_xdp "$NA" veth-a || { fail "a sender left an XDP program on veth-a"; return; }
}

# raw recv on af_xdp counts what an af_packet sender sent; stamps: no loss.
recv_and_check() {
	local mode=$1
	shift
	local before rx tx
	start_recv "$TMP/rrecv.json" --count "$N" --json -q -d 30 "$@" || return
	[ "$(xdp_on "$NB" veth-b)" = "$mode" ] || { fail "attached as '$(xdp_on "$NB" veth-b)', expected $mode"; return; }
	before=$(rx_b)
	salvo_run -n "$NA" "$TMP/send.json" raw send --backend af_packet -I veth-a --dst 10.79.0.2 \
		--size 200 --flows 8 -n "$N" --rate "$RATE" --json || { show "$TMP/send.json.err"; fail "raw send"; return; }
	wait_pid "$RPID" 20000 || { show "$TMP/rrecv.json.err"; fail "raw recv did not finish"; return; }
	tx=$(json_get "$TMP/send.json" tx.packets)
	rx=$(json_get "$TMP/rrecv.json" rx.packets)
	[ "$tx" -eq "$N" ] && [ "$rx" -eq "$tx" ] || { fail "raw recv counted $rx, sender $tx"; return; }
	[ "$(($(rx_b) - before))" -eq "$N" ] || { fail "peer link counted $(($(rx_b) - before))"; return; }
	[ "$(json_get "$TMP/rrecv.json" rx.unstamped)" -eq 0 ] || { fail "unstamped frames"; return; }
	[ "$(json_get "$TMP/rrecv.json" rx.lost)" -eq 0 ] || { fail "stamps report loss"; return; }
	[ "$(json_get "$TMP/rrecv.json" rx.flows)" -eq 8 ] || { fail "expected 8 flows"; return; }
	[ "$(json_get "$TMP/rrecv.json" rx.bytes)" -eq $((N * 200)) ] || { fail "byte count"; return; }
	no_xdp "$NB" veth-b || { fail "XDP program left on veth-b after the run"; return; }
}

test_recv_counts_stamps() {
	require_root || return
	setup_pair || return
	recv_and_check xdp
}

test_recv_skb_mode() {
	require_root || return
	setup_pair || return
	recv_and_check xdpgeneric --xdp-mode skb
}

# --filter udp-port=P: frames to P reach salvo, the rest reach the kernel's UDP (NoPorts).
test_recv_filter_passes_rest() {
	require_root || return
	setup_pair || return
	local p1 p2 noports0 noports1 rx
	p1=$(random_port)
	p2=$((p1 + 1))
	start_recv "$TMP/f.json" --filter "udp-port=$p1" --count 3000 --json -q -d 30 || return
	noports0=$(snmp_udp NoPorts "$NB")
	salvo_run -n "$NA" "$TMP/s1" raw send --backend af_packet -I veth-a --dst 10.79.0.2 --dport "$p2" \
		--size 100 -n 2000 --rate "$RATE" -q || { fail "send to the other port"; return; }
	salvo_run -n "$NA" "$TMP/s2" raw send --backend af_packet -I veth-a --dst 10.79.0.2 --dport "$p1" \
		--size 100 -n 3000 --rate "$RATE" -q || { fail "send to the filter port"; return; }
	wait_pid "$RPID" 20000 || { show "$TMP/f.json.err"; fail "raw recv did not finish"; return; }
	noports1=$(snmp_udp NoPorts "$NB")
	rx=$(json_get "$TMP/f.json" rx.packets)
	[ "$rx" -eq 3000 ] || { fail "salvo received $rx frames, 3000 were sent to port $p1"; return; }
	[ "$((noports1 - noports0))" -eq 2000 ] ||
		{ fail "kernel saw $((noports1 - noports0)) datagrams to closed port $p2, expected 2000"; return; }
}

# Overload with a witness: the af_xdp receiver is stopped (SIGSTOP) while
# 20000 frames arrive, more than its fill and rx rings hold, so the kernel
# drops the rest and counts them in XDP_STATISTICS (rx_dropped: no fill
# ring entry; rx_ring_full: no rx ring slot).  The quiet peer's rx_packets
# counts every frame: it must equal what salvo received plus those two.
# Resumed, it reads what the rings hold, then SIGINT ends it.
test_kernel_xdp_drops() {
	require_root || return
	setup_pair || return
	local n=20000 before seen rx d f
	start_recv "$TMP/kx.json" --json -q -d 60 || return
	kill -STOP "$RPID"
	before=$(rx_b)
	salvo_run -n "$NA" "$TMP/kxs" raw send --backend af_packet -I veth-a --dst 10.79.0.2 --size 200 -n "$n" -q ||
		{ show "$TMP/kxs.err"; fail "raw send"; return; }
	seen=$(($(rx_b) - before))
	kill -CONT "$RPID"
	# It reads what the ring holds in milliseconds; 3 s is a generous bound for that.
	sleep 3
	kill -INT "$RPID"
	wait_pid "$RPID" 30000 || { show "$TMP/kx.json.err"; fail "raw recv did not finish"; return; }
	rx=$(json_get "$TMP/kx.json" rx.packets)
	d=$(json_get "$TMP/kx.json" kernel.xdp_rx_dropped) || { show "$TMP/kx.json"; fail "no kernel.xdp_rx_dropped"; return; }
	f=$(json_get "$TMP/kx.json" kernel.xdp_rx_ring_full) || { fail "no kernel.xdp_rx_ring_full"; return; }
	[ $((d + f)) -gt 0 ] || { fail "no drops: the overload did not happen ($rx received)"; return; }
	[ $((rx + d + f)) -eq "$seen" ] ||
		{ show "$TMP/kx.json"; fail "received $rx + rx_dropped $d + rx_ring_full $f != $seen frames the peer counted"; return; }
}

# snmp_tcp FIELD NS: a Tcp counter of NS's /proc/net/snmp (RetransSegs ...).
snmp_tcp() {
	in_ns "$2" cat /proc/net/snmp | awk -v f="$1" '
		$1 == "Tcp:" && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == "Tcp:" && hdr { if (f in col) { print $(col[f]); found = 1 } exit }
		END { if (!found) exit 1 }'
}
tcp_listening() { in_ns "$2" ss -Hltn "sport = :$1" | grep -q .; }
tcp_established() { in_ns "$2" ss -Htn state established "dport = :$1" | grep -q .; }

# TCP retransmits with a witness: in the middle of a tcp send A -> B, an
# af_xdp raw recv on veth-b takes every frame for 1 s (the TCP segments
# too), so A must retransmit.  A's namespace holds this one connection: the
# sender's "kernel" tcp_retrans must equal the growth of A's Tcp RetransSegs.
# (No netem or gact here to drop segments otherwise.)  The sender runs 8 s
# so TCP has recovered before it closes: what the kernel retransmits for a
# connection after salvo closed it is in RetransSegs only (docs/json.md).
test_kernel_tcp_retrans() {
	require_root || return
	setup_pair || return
	local b p r0 r1 retr spid tpid
	for b in uring syscall; do
		p=$(random_port)
		salvo_bg -n "$NB" "$TMP/tsink$b.json" tcp sink "10.79.0.2:$p" --count 1 --json -q -d 30
		spid=$SALVO_PID
		busywait 10000 tcp_listening "$p" "$NB" || { show "$TMP/tsink$b.json.err"; fail "$b: sink not listening"; return; }
		r0=$(snmp_tcp RetransSegs "$NA")
		salvo_bg -n "$NA" "$TMP/tsend$b.json" tcp send -b "$b" "10.79.0.2:$p" -d 8 --json -q
		tpid=$SALVO_PID
		busywait 10000 tcp_established "$p" "$NA" || { show "$TMP/tsend$b.json.err"; fail "$b: no connection"; return; }
		start_recv "$TMP/thief$b" -d 1 -q || return
		wait_pid "$RPID" 15000 || { show "$TMP/thief$b.err"; fail "$b: the af_xdp receiver did not end"; return; }
		wait_pid "$tpid" 30000 || { show "$TMP/tsend$b.json.err"; fail "$b: tcp send exit"; return; }
		wait_pid "$spid" 30000 || { show "$TMP/tsink$b.json.err"; fail "$b: tcp sink exit"; return; }
		r1=$(snmp_tcp RetransSegs "$NA")
		retr=$(json_get "$TMP/tsend$b.json" kernel.tcp_retrans) || { show "$TMP/tsend$b.json"; fail "$b: no kernel.tcp_retrans"; return; }
		[ "$retr" -gt 0 ] || { fail "$b: no retransmits: nothing was taken"; return; }
		# Equal, but for what the kernel retransmits after salvo's last
		# read at close (a FIN, on a loaded machine): at most 2 more.
		[ "$retr" -le $((r1 - r0)) ] && [ $((r1 - r0 - retr)) -le 2 ] ||
			{ fail "$b: salvo says $retr retransmits, RetransSegs grew by $((r1 - r0))"; return; }
		echo "  $b: $retr retransmits, as RetransSegs"
	done
}

test_sigint_detaches() {
	require_root || return
	setup_pair || return
	local rc
	start_recv "$TMP/int.out" -d 30 || return
	salvo_run -n "$NA" "$TMP/s" raw send --backend af_packet -I veth-a --dst 10.79.0.2 --size 100 \
		-n 1000 --rate "$RATE" -q || { fail "send"; return; }
	kill -INT "$RPID"
	wait_pid "$RPID" 10000
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/int.out.err"; fail "raw recv exit $rc after SIGINT"; return; }
	grep -q "interrupted" "$TMP/int.out" || { show "$TMP/int.out"; fail "report not marked interrupted"; return; }
	no_xdp "$NB" veth-b || { fail "XDP program left on veth-b after SIGINT"; return; }
	# the send path after SIGINT too: a long sender interrupted mid-run
	local b0
	b0=$(rx_b)
	salvo_bg -n "$NA" "$TMP/sint.out" raw send --backend af_xdp -I veth-a --dst 10.79.0.2 --rate 10k -d 20 -q
	# mid-run: once its frames reach the peer (the pair is quiet), not after a fixed sleep
	busywait 10000 rx_b_above "$((b0 + 100))" || { show "$TMP/sint.out.err"; fail "raw send: no frames reached veth-b"; return; }
	kill -INT "$SALVO_PID"
	wait_pid "$SALVO_PID" 10000 || { show "$TMP/sint.out.err"; fail "raw send exit after SIGINT"; return; }
	no_xdp "$NA" veth-a || { fail "XDP program left on veth-a"; return; }
}

test_second_salvo_refused() {
	require_root || return
	setup_pair || return
	local id0 id1
	start_recv "$TMP/first.out" -d 30 || return
	id0=$(ip -n "$NB" -d link show dev veth-b | grep -oE 'prog/xdp id [0-9]+')
	salvo_run -n "$NB" "$TMP/second.out" raw recv --backend af_xdp -I veth-b -d 2 -q &&
		{ fail "a second salvo on veth-b was not refused"; return; }
	[ "$(wc -l <"$TMP/second.out.err")" -eq 1 ] &&
		grep -q "already has an XDP program" "$TMP/second.out.err" ||
		{ show "$TMP/second.out.err"; fail "refusal is not one clear line"; return; }
	id1=$(ip -n "$NB" -d link show dev veth-b | grep -oE 'prog/xdp id [0-9]+')
	[ -n "$id0" ] && [ "$id0" = "$id1" ] || { fail "first program changed: '$id0' -> '$id1'"; return; }
	kill -0 "$RPID" 2>/dev/null || { fail "the first salvo died"; return; }
	kill -INT "$RPID"
	wait_pid "$RPID" 10000 || { fail "first salvo exit"; return; }
	no_xdp "$NB" veth-b || fail "XDP program left on veth-b"
}

# Runs started right after one another: the kernel frees a closed socket's
# queue from a workqueue a little after the process exits, and the next run
# used to find the queue "already used by another AF_XDP socket".
test_back_to_back() {
	require_root || return
	setup_pair || return
	local i before seen
	before=$(rx_b)
	for i in 1 2 3 4 5 6 7 8; do
		salvo_run -n "$NA" "$TMP/b2b.$i" raw send --backend af_xdp -I veth-a --dst 10.79.0.2 \
			--size 60 -n 5000 -q || { show "$TMP/b2b.$i.err"; fail "run $i of 8 back to back failed"; return; }
	done
	seen=$(($(rx_b) - before))
	[ "$seen" -eq 40000 ] || fail "peer counted $seen frames of 8 x 5000"
}

# Someone else's program (attached by ip over netlink): refused, then replaced with --force.
test_force_replaces() {
	require_root || return
	setup_pair || return
	local obj=$TMP/pass.o
	command -v clang >/dev/null || { fail "clang not installed (needed to build a foreign XDP program)"; return; }
	printf '#include <linux/bpf.h>\n__attribute__((section("xdp"), used)) int pass(struct xdp_md *c) { return XDP_PASS; }\nchar _l[] __attribute__((section("license"), used)) = "GPL";\n' >"$TMP/pass.c"
	clang -O2 -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c -o "$obj" "$TMP/pass.c" || { fail "clang"; return; }
	ip -n "$NB" link set dev veth-b xdpgeneric obj "$obj" sec xdp || { fail "ip link set xdpgeneric"; return; }
	salvo_run -n "$NB" "$TMP/r.out" raw recv --backend af_xdp -I veth-b -d 1 -q &&
		{ fail "foreign program was not refused"; return; }
	grep -q "already has an XDP program" "$TMP/r.out.err" || { show "$TMP/r.out.err"; fail "refusal line"; return; }
	[ "$(xdp_on "$NB" veth-b)" = xdpgeneric ] || { fail "foreign program touched without --force"; return; }
	local foreign
	foreign=$(xdp_id "$NB" veth-b)
	start_recv "$TMP/f.json" --force --count 1000 --json -q -d 30 || return
	# has_xdp was already true (the foreign program): wait until salvo's replaced it.
	busywait 10000 xdp_changed "$NB" veth-b "$foreign" ||
		{ show "$TMP/f.json.err"; fail "--force did not replace program $foreign"; return; }
	salvo_run -n "$NA" "$TMP/s" raw send --backend af_packet -I veth-a --dst 10.79.0.2 --size 100 \
		-n 1000 --rate "$RATE" -q || { fail "send"; return; }
	wait_pid "$RPID" 20000 || { show "$TMP/f.json.err"; fail "raw recv --force did not finish"; return; }
	[ "$(json_get "$TMP/f.json" rx.packets)" -eq 1000 ] || { fail "received $(json_get "$TMP/f.json" rx.packets) of 1000"; return; }
	no_xdp "$NB" veth-b || fail "XDP program left on veth-b"
}

# queue_stat NS IF STAT: a driver statistic (ethtool -S), read with the
# SIOCETHTOOL ioctl from Python (no ethtool binary needed): veth keeps
# rx_queue_<i>_xdp_packets / _xdp_redirect per queue.
queue_stat() {
	ip netns exec "$1" python3 - "$2" "$3" <<'PY'
import array, fcntl, socket, struct, sys
SIOCETHTOOL, GSTRINGS, GSTATS, GSSET_INFO, SS_STATS = 0x8946, 0x1b, 0x1d, 0x37, 1
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def ioctl(buf):
    fcntl.ioctl(s, SIOCETHTOOL, struct.pack("16sP", sys.argv[1].encode(), buf.buffer_info()[0]))
b = array.array("B", struct.pack("IIQI", GSSET_INFO, 0, 1 << SS_STATS, 0))
ioctl(b)
n = struct.unpack_from("IIQI", b)[3]
b = array.array("B", struct.pack("III", GSTRINGS, SS_STATS, n) + bytes(32 * n))
ioctl(b)
names = [bytes(b[12 + 32 * i:44 + 32 * i]).split(b"\0")[0].decode() for i in range(n)]
b = array.array("B", struct.pack("II", GSTATS, n) + bytes(8 * n))
ioctl(b)
v = dict(zip(names, struct.unpack_from("%dQ" % n, b, 8)))
if sys.argv[2] not in v:
    sys.exit("no statistic %s on %s" % (sys.argv[2], sys.argv[1]))
print(v[sys.argv[2]])
PY
}

# Two queues each side: one worker (socket, UMEM) per queue, sender and
# receiver.  Both queues must carry traffic: the sender's worker i sends on
# queue i (N/2 each), veth delivers a frame on the peer's queue of the same
# number, and the peer's per-queue XDP redirect counters (to the XSK of that
# queue) must each grow by exactly N/2; all on queue 0 would still add up.
test_two_queues() {
	require_root || return
	QUEUES=2 setup_pair || return
	local rx tx q r0 r1
	r0=() r1=()
	for q in 0 1; do
		r0[q]=$(queue_stat "$NB" veth-b "rx_queue_${q}_xdp_redirect") || { fail "no per-queue XDP counter on veth-b"; return; }
	done
	start_recv "$TMP/q.json" --queues 2 --count "$N" --json -q -d 30 || return
	salvo_run -n "$NA" "$TMP/qs.json" raw send --backend af_xdp --queues 2 -I veth-a --dst 10.79.0.2 \
		--size 100 --flows 4 -n "$N" --rate "$RATE" --json || { show "$TMP/qs.json.err"; fail "send"; return; }
	wait_pid "$RPID" 20000 || { show "$TMP/q.json.err"; fail "raw recv did not finish"; return; }
	tx=$(json_get "$TMP/qs.json" tx.packets)
	rx=$(json_get "$TMP/q.json" rx.packets)
	[ "$tx" -eq "$N" ] && [ "$rx" -eq "$N" ] || { fail "sent $tx, received $rx, expected $N"; return; }
	[ "$(json_get "$TMP/q.json" rx.lost)" -eq 0 ] || { fail "stamps report loss"; return; }
	# each sender worker has its own flows: 2 workers x 4
	[ "$(json_get "$TMP/q.json" rx.flows)" -eq 8 ] || { fail "expected 8 flows, got $(json_get "$TMP/q.json" rx.flows)"; return; }
	for q in 0 1; do
		r1[q]=$(queue_stat "$NB" veth-b "rx_queue_${q}_xdp_redirect")
	done
	[ $((r1[0] - r0[0])) -eq $((N / 2)) ] && [ $((r1[1] - r0[1])) -eq $((N / 2)) ] ||
		{ fail "veth-b queues redirected $((r1[0] - r0[0])) and $((r1[1] - r0[1])) frames to their sockets, want $((N / 2)) each"; return; }
	salvo_run -n "$NA" "$TMP/oor" raw send --backend af_xdp --queue 2 -I veth-a --dst 10.79.0.2 -n 10 -q &&
		{ fail "queue 2 of a 2-queue veth was accepted"; return; }
	grep -q "queue 2 out of range" "$TMP/oor.err" || { show "$TMP/oor.err"; fail "out-of-range line"; return; }
}

# One line each: interface down, interface missing.
test_clear_errors() {
	require_root || return
	setup_pair || return
	ip -n "$NA" link set veth-a down
	salvo_run -n "$NA" "$TMP/down" raw send --backend af_xdp -I veth-a --dst 10.79.0.2 --dst-mac "$MAC_B" -n 10 -q &&
		{ fail "sent on a down interface"; return; }
	[ "$(wc -l <"$TMP/down.err")" -eq 1 ] && grep -q "veth-a is down" "$TMP/down.err" ||
		{ show "$TMP/down.err"; fail "interface-down line"; return; }
	salvo_run -n "$NB" "$TMP/none" raw recv --backend af_xdp -I nosuch0 -d 1 -q &&
		{ fail "recv on a missing interface"; return; }
	[ "$(wc -l <"$TMP/none.err")" -eq 1 ] && grep -q "no interface nosuch0" "$TMP/none.err" ||
		{ show "$TMP/none.err"; fail "missing-interface line"; return; }
}

for t in $TESTS; do run_test "$t"; done
exit "$RET"
