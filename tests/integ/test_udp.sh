#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# salvo udp send / udp recv end to end: counts against the kernel's own
# counters (/proc/net/snmp, ip -s link) in throw-away namespaces, pacing
# accuracy, IPv6 and unix datagram paths, GSO/GRO, threads and flows, stamp
# accounting, interop with the Python seed programs, bad input, --count,
# SIGINT and a sender with nobody listening.
#
#	sudo SALVO=build/salvo tests/integ/test_udp.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves these out (lib.sh PLAIN_ONLY): rates, pacing timing and kernel-counter witnesses over paths the other tests already take under ASan;
# and the strace batches, since LeakSanitizer cannot run under ptrace.
PLAIN_ONLY="test_veth test_rate_accuracy test_ipv6 test_recv_count_exact test_pacing_deadline test_pacing_signal test_signal_at_start test_kernel_rcvbuf_drops test_recv_rcvbuf test_recv_batch test_send_batch"
TESTS="
	test_loopback_snmp
	test_port_in_use
	test_veth
	test_rate_accuracy
	test_ipv6
	test_unix
	test_unix_python_receiver
	test_unix_path_rules
	test_gso_gro
	test_gso_default
	test_threads_flows
	test_stamp_accounting
	test_interop_seed_sender
	test_interop_seed_receiver
	test_expect_reply
	test_bad_input
	test_recv_count_ends
	test_recv_count_exact
	test_recv_batch
	test_send_batch
	test_sigint_summary
	test_refused
	test_refused_unpaced
	test_refused_gso
	test_recv_rcvbuf
	test_pacing_deadline
	test_pacing_signal
	test_signal_at_start
	test_overflow_clamp_reported
	test_kernel_rcvbuf_drops
	test_recv_busy_poll
"

N=20000		# packets per transfer
RATE=20k	# moderate: a loaded 2-core machine keeps up, even under ASan

# stop PID TIMEOUT_MS: wait for a background salvo; if it is still running
# then, SIGINT it (its summary still comes out) and give it 10 s more.
# Returns its exit status; STOPPED=1 when it needed the SIGINT.
stop() {
	local pid=$1
	STOPPED=0
	if ! busywait "$2" pid_gone "$pid"; then
		STOPPED=1
		kill -INT "$pid" 2>/dev/null
		wait_pid "$pid" 10000
		return
	fi
	wait_pid "$pid" 1000
}

# transfer NS RECV_ARG DEST WAIT N: `udp recv RECV_ARG --count N` in the
# background, `udp send DEST --count N` once it is bound (WAIT is its port or
# unix path), both --json into $TMP/recv.json and $TMP/send.json, with the
# extra options in the arrays RECV_OPTS and SEND_OPTS.  Fails unless both
# exit 0 and both count N packets.
RECV_OPTS=()
SEND_OPTS=()
transfer() {
	local ns=$1 rarg=$2 dest=$3 wait_for=$4 n=$5 rpid rc tx rx
	salvo_bg -n "$ns" "$TMP/recv.json" udp recv "$rarg" --count "$n" --json -q "${RECV_OPTS[@]}"
	rpid=$SALVO_PID
	case $wait_for in
	/*)	wait_unix_bound "$wait_for" ;;
	*)	wait_udp_bound "$wait_for" "$ns" ;;
	esac || { show "$TMP/recv.json.err"; fail "receiver never bound $rarg"; return; }
	salvo_run -n "$ns" "$TMP/send.json" udp send "$dest" --count "$n" --json -q "${SEND_OPTS[@]}"
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/send.json" "$TMP/send.json.err"; fail "udp send exited $rc"; return; }
	stop "$rpid" 15000
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/recv.json" "$TMP/recv.json.err"; fail "udp recv exited $rc"; return; }
	tx=$(json_get "$TMP/send.json" tx.packets) || { fail "sender JSON unreadable"; return; }
	rx=$(json_get "$TMP/recv.json" rx.packets) || { fail "receiver JSON unreadable"; return; }
	[ "$tx" -eq "$n" ] || { fail "sender counted $tx packets, asked for $n"; return; }
	[ "$rx" -eq "$tx" ] || { fail "received $rx of $tx sent (receiver stopped by SIGINT: $STOPPED)"; return; }
}

# Loopback in a fresh namespace, where only this traffic moves the counters:
# salvo's counts equal each other and the kernel's Udp In/OutDatagrams deltas.
test_loopback_snmp() {
	require_root || return
	setup_ns NS || return
	local p in0 out0 err0 in1 out1 err1
	p=$(random_port)
	in0=$(snmp_udp InDatagrams "$NS") out0=$(snmp_udp OutDatagrams "$NS") err0=$(snmp_udp RcvbufErrors "$NS")
	RECV_OPTS=() SEND_OPTS=(--rate "$RATE")
	transfer "$NS" "127.0.0.1:$p" "127.0.0.1:$p" "$p" "$N" || return
	in1=$(snmp_udp InDatagrams "$NS") out1=$(snmp_udp OutDatagrams "$NS") err1=$(snmp_udp RcvbufErrors "$NS")
	[ $((out1 - out0)) -eq "$N" ] || { fail "kernel OutDatagrams grew by $((out1 - out0)), salvo sent $N"; return; }
	[ $((in1 - in0)) -eq "$N" ] || { fail "kernel InDatagrams grew by $((in1 - in0)), salvo received $N"; return; }
	[ $((err1 - err0)) -eq 0 ] || fail "RcvbufErrors grew by $((err1 - err0))"
}

# Across a veth pair between two namespaces: counts equal, and the peer's
# rx_packets (ip -s link) and Udp InDatagrams grew by exactly that many: the
# pair is quiet (no IPv6 ND/MLD, permanent neighbours, so no ARP), and the
# namespaces are fresh, so nothing else moves them.
test_veth() {
	require_root || return
	setup_ns NSA NSB || return
	local net="10.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))" p rx0 rx1 in0 in1
	setup_veth "$NSA" "$NSB" "$net.1/24" "$net.2/24" || return
	quiet_pair "$NSA" "$NSB" "$net.1" "$net.2" || return
	p=$(random_port)
	rx0=$(link_stat veth-b rx_packets "$NSB")
	in0=$(snmp_udp InDatagrams "$NSB")
	salvo_bg -n "$NSB" "$TMP/recv.json" udp recv "$net.2:$p" --count "$N" --json -q
	local rpid=$SALVO_PID rc
	wait_udp_bound "$p" "$NSB" || { show "$TMP/recv.json.err"; fail "receiver never bound"; return; }
	salvo_run -n "$NSA" "$TMP/send.json" udp send "$net.2:$p" --count "$N" --rate "$RATE" --json -q
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/send.json" "$TMP/send.json.err"; fail "udp send exited $rc"; return; }
	stop "$rpid" 15000
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/recv.json" "$TMP/recv.json.err"; fail "udp recv exited $rc"; return; }
	local tx rx
	tx=$(json_get "$TMP/send.json" tx.packets) && rx=$(json_get "$TMP/recv.json" rx.packets) ||
		{ fail "JSON unreadable"; return; }
	[ "$tx" -eq "$N" ] || { fail "sender counted $tx, asked for $N"; return; }
	[ "$rx" -eq "$tx" ] || { fail "received $rx of $tx"; return; }
	rx1=$(link_stat veth-b rx_packets "$NSB")
	in1=$(snmp_udp InDatagrams "$NSB")
	[ $((rx1 - rx0)) -eq "$N" ] || { fail "veth-b rx_packets grew by $((rx1 - rx0)), sent $N"; return; }
	[ $((in1 - in0)) -eq "$N" ] || fail "Udp InDatagrams in $NSB grew by $((in1 - in0)), sent $N"
}

# --rate 50k for 3 s: the sender's achieved rate within 1% of the target;
# the receiver sees them all at about that rate (5%: its clock starts late).
# The pacer forgives stalls over 50 ms rather than repaying them, so a
# machine busy with other tests can cost a run its 1%: up to 4 runs, a few
# seconds apart, and the pacer passes when one of them is on target.  A
# failure says how fast an unpaced sender got, to tell a saturated machine
# from a pacer that misses.
test_rate_accuracy() {
	local i cap
	for i in 1 2 3 4; do
		rate_once && return
		echo "rate run $i: $TEST_MSG (load: $(cut -d' ' -f1-3 /proc/loadavg))"
		cleanup_test
		[ "$i" -eq 4 ] || sleep 3
	done
	cap=$(unpaced_pps)
	fail "4 runs: $TEST_MSG; unpaced the sender reached ${cap:-?} pps here"
}

# unpaced_pps: packets/s of a 1 s unpaced send to a plain counting receiver.
unpaced_pps() {
	local p
	p=$(random_port)
	salvo_bg "$TMP/cap-recv.txt" udp recv "127.0.0.1:$p" --duration 5 -q
	wait_udp_bound "$p" || return
	salvo_cmd udp send "127.0.0.1:$p" --duration 1 --json -q
	timeout -s KILL 30 nice -n "$RATE_NICE" "${SALVO_ARGV[@]}" >"$TMP/cap.json" 2>/dev/null &&
		py_eval "round($(json_get "$TMP/cap.json" tx.pps))"
}

RATE_NICE=0
[ "$(id -u)" -ne 0 ] || RATE_NICE=-10
rate_once() {
	local p rpid rc ach tx rx act
	p=$(random_port)
	# Both niced up (root only) so the concurrent tests' load does not starve
	# them; the check is on salvo's timing, not on the scheduler's fairness.
	salvo_cmd udp recv "127.0.0.1:$p" --duration 60 --json -q
	bg "$TMP/recv.json" nice -n "$RATE_NICE" "${SALVO_ARGV[@]}"	# nice execs: the pid is salvo's
	rpid=$BG_PID
	wait_udp_bound "$p" || { fail "receiver never bound"; return; }
	salvo_cmd udp send "127.0.0.1:$p" --rate 50k --duration 3 --json -q
	timeout -s KILL 60 nice -n "$RATE_NICE" "${SALVO_ARGV[@]}" >"$TMP/send.json" 2>"$TMP/send.json.err"
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/send.json" "$TMP/send.json.err"; fail "udp send exited $rc"; return; }
	sleep 0.5
	stop "$rpid" 0
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/recv.json.err"; fail "udp recv exited $rc after SIGINT"; return; }
	ach=$(json_get "$TMP/send.json" pacing.achieved_pps) || { fail "no pacing.achieved_pps"; return; }
	tx=$(json_get "$TMP/send.json" tx.packets)
	rx=$(json_get "$TMP/recv.json" rx.packets) && act=$(json_get "$TMP/recv.json" rx.active_s) ||
		{ fail "receiver JSON unreadable"; return; }
	py_cmp "abs($ach - 50000) / 50000" "<=" 0.01 ||
		{ fail "achieved $ach pps, target 50000 (more than 1% off; departure error p99 $(json_get "$TMP/send.json" pacing.error_p99_ns) ns)"; return; }
	py_cmp "abs($tx / 3.0 - 50000) / 50000" "<=" 0.01 ||
		{ fail "sent $tx packets in a 3 s run: $(py_eval "$tx / 3.0") pps"; return; }
	# Exact counts are the other tests' business; here only the rate.
	py_cmp "$rx" ">=" "0.995 * $tx" || { fail "received $rx of $tx"; return; }
	py_cmp "abs($rx / $act - 50000) / 50000" "<=" 0.05 ||
		fail "receiver saw $(py_eval "round($rx / $act)") pps over ${act}s"
}

# [::1] in a fresh namespace: salvo's counts equal each other and the
# kernel's Udp6 In/OutDatagrams deltas (/proc/net/snmp6 is per namespace).
test_ipv6() {
	require_root || return
	setup_ns NS || return
	local p in0 out0 in1 out1
	p=$(random_port)
	busywait 5000 sh -c "ip -n $NS -6 addr show dev lo | grep -q '::1/128'" ||
		{ skip "no ::1 in a new namespace (IPv6 disabled)"; return; }
	in0=$(snmp6_udp Udp6InDatagrams "$NS") && out0=$(snmp6_udp Udp6OutDatagrams "$NS") ||
		{ fail "no Udp6 counters in /proc/net/snmp6"; return; }
	RECV_OPTS=() SEND_OPTS=(--rate "$RATE")
	transfer "$NS" "[::1]:$p" "[::1]:$p" "$p" 5000 || return
	in1=$(snmp6_udp Udp6InDatagrams "$NS") out1=$(snmp6_udp Udp6OutDatagrams "$NS")
	[ $((out1 - out0)) -eq 5000 ] || { fail "kernel Udp6OutDatagrams grew by $((out1 - out0)), salvo sent 5000"; return; }
	[ $((in1 - in0)) -eq 5000 ] || fail "kernel Udp6InDatagrams grew by $((in1 - in0)), salvo received 5000"
}

test_unix() {
	local path=$TMP/udp.sock
	RECV_OPTS=() SEND_OPTS=(--rate "$RATE")
	transfer "" "unix:$path" "unix:$path" "$path" 5000
}

# The stale-path rule (backends/sock.c) on both datagram backends: a file is
# kept, a running receiver keeps its path, a killed one's socket is reused.
test_unix_path_rules() {
	local b
	for b in uring syscall; do
		unix_path_rules "$b" "udp recv" "--count 200" "udp send --count 200 --rate 2k -q" \
			rx.packets 200 || return
	done
}

# udp send to a unix datagram socket read by plain Python (the witness):
# it receives exactly --count datagrams of exactly --size bytes.
test_unix_python_receiver() {
	local b path pid rc tx
	for b in uring syscall; do
		path=$TMP/py-$b.sock
		bg "$TMP/py-$b.txt" timeout 60 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(sys.argv[1]); s.settimeout(5)
n, sizes = 0, set()
try:
    while n < int(sys.argv[2]) + 1:	# one more: a surplus datagram is caught
        sizes.add(len(s.recv(65536))); n += 1
        if n == int(sys.argv[2]):
            s.settimeout(1)	# the sender is done: a surplus comes at once
except socket.timeout:
    pass
print(n, ",".join(map(str, sorted(sizes))))' "$path" 5000
		pid=$BG_PID
		wait_unix_bound "$path" || { show "$TMP/py-$b.txt.err"; fail "$b: python receiver never bound"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/send-$b.json" udp send "unix:$path" --count 5000 --size 200 --rate "$RATE" --json -q
		rc=$?
		[ "$rc" -eq 0 ] || { show "$TMP/send-$b.json.err"; fail "$b: udp send exited $rc"; return; }
		wait_pid "$pid" 30000 || { show "$TMP/py-$b.txt.err"; fail "$b: python receiver did not end"; return; }
		tx=$(json_get "$TMP/send-$b.json" tx.packets) || { fail "$b: sender JSON unreadable"; return; }
		[ "$tx" -eq 5000 ] || { fail "$b: sender counted $tx, asked for 5000"; return; }
		[ "$(cat "$TMP/py-$b.txt")" = "5000 200" ] ||
			{ fail "$b: python received '$(cat "$TMP/py-$b.txt")' (count sizes), want '5000 200'"; return; }
	done
}

# --gso unpaced (a paced sender's every send is one datagram, so GSO would
# never carry several) on both backends, in a fresh namespace where the
# kernel's counters are the witness: Udp OutDatagrams counts one per GSO send
# (one skb), so it must equal tx.submissions and be at most N/8; a receiver
# without --gro has the kernel split them, so InDatagrams grows by exactly N
# datagrams; with --gro they arrive coalesced (InDatagrams well under N) and
# salvo still counts N.  A large --rcvbuf so an unpaced burst is not dropped.
test_gso_gro() {
	require_root || return	# --rcvbuf beyond rmem_max; fresh namespace
	local b gro
	for b in uring syscall; do
		for gro in "" --gro; do
			SALVO_BACKEND=$b gso_once "$gro" || { TEST_MSG="$b ${gro:-no gro}: $TEST_MSG"; return 1; }
		done
	done
}
gso_once() {
	local gro=$1 p n=10000 in0 out0 in1 out1 sub tx rx
	setup_ns NS || return
	p=$(random_port)
	in0=$(snmp_udp InDatagrams "$NS") out0=$(snmp_udp OutDatagrams "$NS")
	# --burst 32: one GSO send (32 of the 54 segments that fit) per
	# submission, so OutDatagrams equals tx.submissions.
	SEND_OPTS=(--gso --size 1200 --burst 32)
	RECV_OPTS=(--rcvbuf 256M ${gro:+"$gro"})
	transfer "$NS" "127.0.0.1:$p" "127.0.0.1:$p" "$p" "$n" || return
	in1=$(snmp_udp InDatagrams "$NS") out1=$(snmp_udp OutDatagrams "$NS")
	sub=$(json_get "$TMP/send.json" tx.submissions) || { fail "no tx.submissions"; return; }
	[ "$(json_get "$TMP/recv.json" rx.bytes)" -eq $((n * 1200)) ] ||
		{ fail "rx.bytes $(json_get "$TMP/recv.json" rx.bytes), want $((n * 1200))"; return; }
	[ "$(json_get "$TMP/recv.json" rx.lost)" -eq 0 ] || { fail "rx.lost $(json_get "$TMP/recv.json" rx.lost)"; return; }
	[ $((out1 - out0)) -eq "$sub" ] ||
		{ fail "kernel OutDatagrams grew by $((out1 - out0)), salvo made $sub submissions"; return; }
	[ $((out1 - out0)) -le $((n / 8)) ] ||
		{ fail "$((out1 - out0)) kernel sends for $n datagrams: GSO did not carry several segments per send"; return; }
	if [ -z "$gro" ]; then
		[ $((in1 - in0)) -eq "$n" ] || fail "kernel InDatagrams grew by $((in1 - in0)), want $n segments"
	else
		[ $((in1 - in0)) -le $((n / 2)) ] || fail "kernel InDatagrams grew by $((in1 - in0)): nothing coalesced for --gro"
	fi
}

# GSO by default (docs/backends.md): an unpaced udp send to an IP
# destination with no GSO option carries several datagrams per kernel send
# (Udp OutDatagrams counts one per GSO skb: 64 datagrams of 64 B each, so
# N/64) in submissions of 256 datagrams (tx.submissions N/256; a given
# --burst 32 keeps 32: N/32) and says so (JSON gso true, and a "gso: on"
# line in the text); the
# receiver still counts every datagram with its own stamp: none lost,
# reordered or duplicated.  --no-gso and a paced run send one datagram per
# kernel send (OutDatagrams grows by N) and say why GSO is off.
test_gso_default() {
	require_root || return	# --rcvbuf beyond rmem_max; fresh namespace
	local p n=6400 out0 out1 k v
	setup_ns NS || return
	p=$(random_port)
	out0=$(snmp_udp OutDatagrams "$NS")
	RECV_OPTS=(--rcvbuf 256M) SEND_OPTS=()
	transfer "$NS" "127.0.0.1:$p" "127.0.0.1:$p" "$p" "$n" || return
	out1=$(snmp_udp OutDatagrams "$NS")
	[ "$(jq -r '"\(.gso) \(.gso_reason)"' "$TMP/send.json")" = "true default for unpaced sends; --no-gso for plain ones; 256 datagrams a submission (--burst)" ] ||
		{ show "$TMP/send.json"; fail "default unpaced send: gso not reported on"; return; }
	[ $((out1 - out0)) -eq $((n / 64)) ] ||
		{ fail "$((out1 - out0)) kernel sends for $n datagrams: no GSO by default"; return; }
	[ "$(jq .tx.submissions "$TMP/send.json")" -eq $((n / 256)) ] ||
		{ show "$TMP/send.json"; fail "default GSO send: $(jq .tx.submissions "$TMP/send.json") submissions for $n, want $((n / 256))"; return; }
	for k in lost reordered duplicates unstamped; do
		v=$(jq ".rx.$k" "$TMP/recv.json")
		[ "$v" = 0 ] || { show "$TMP/recv.json"; fail "default GSO send: rx.$k = $v"; return; }
	done
	SALVO_BACKEND= salvo_run -n "$NS" "$TMP/t.out" udp send "127.0.0.1:$p" -n 64
	grep -qxF "  gso: on (default for unpaced sends; --no-gso for plain ones; 256 datagrams a submission (--burst))" "$TMP/t.out" ||
		{ show "$TMP/t.out"; fail "text summary does not say gso: on"; return; }
	# A given --burst is kept: 32 datagrams a submission, still GSO.
	p=$(random_port)
	out0=$(snmp_udp OutDatagrams "$NS")
	RECV_OPTS=(--rcvbuf 256M) SEND_OPTS=(--burst 32)
	transfer "$NS" "127.0.0.1:$p" "127.0.0.1:$p" "$p" "$n" || return
	out1=$(snmp_udp OutDatagrams "$NS")
	[ "$(jq .tx.submissions "$TMP/send.json")" -eq $((n / 32)) ] && [ $((out1 - out0)) -eq $((n / 32)) ] ||
		{ show "$TMP/send.json"; fail "--burst 32: $(jq .tx.submissions "$TMP/send.json") submissions, $((out1 - out0)) kernel sends for $n"; return; }
	[ "$(jq -r .gso_reason "$TMP/send.json")" = "default for unpaced sends; --no-gso for plain ones" ] ||
		{ show "$TMP/send.json"; fail "--burst 32: gso_reason"; return; }
	for k in "--no-gso:--no-gso" "--rate 20k:paced (--rate): one datagram per send unless --gso"; do
		p=$(random_port)
		out0=$(snmp_udp OutDatagrams "$NS")
		RECV_OPTS=(--rcvbuf 256M) SEND_OPTS=(${k%%:*})
		transfer "$NS" "127.0.0.1:$p" "127.0.0.1:$p" "$p" 640 || return
		out1=$(snmp_udp OutDatagrams "$NS")
		[ "$(jq -r '"\(.gso) \(.gso_reason)"' "$TMP/send.json")" = "false ${k#*:}" ] ||
			{ show "$TMP/send.json"; fail "${k%%:*}: gso not reported off with its reason"; return; }
		[ $((out1 - out0)) -eq 640 ] || { fail "${k%%:*}: $((out1 - out0)) kernel sends for 640 datagrams"; return; }
	done
	refuse_usage() { "$SALVO" udp send 127.0.0.1:9 --gso --no-gso -n 1 >/dev/null 2>"$TMP/u.err"; }
	refuse_usage
	[ $? -eq 2 ] && grep -qF -- "--gso and --no-gso exclude each other" "$TMP/u.err" ||
		{ show "$TMP/u.err"; fail "--gso --no-gso not refused"; return; }
}

test_threads_flows() {
	local p flows
	p=$(random_port)
	RECV_OPTS=() SEND_OPTS=(--threads 2 --flows 4 --rate "$RATE")
	transfer "" "127.0.0.1:$p" "127.0.0.1:$p" "$p" "$N" || return
	flows=$(json_get "$TMP/recv.json" rx.flows) || { fail "no rx.flows"; return; }
	[ "$flows" -eq 4 ] || fail "receiver saw $flows flows, sender made 4"
}

# Stamps on loopback: nothing lost, reordered, duplicated or unstamped.
test_stamp_accounting() {
	local p k v
	p=$(random_port)
	RECV_OPTS=() SEND_OPTS=(--rate "$RATE")
	transfer "" "127.0.0.1:$p" "127.0.0.1:$p" "$p" "$N" || return
	for k in lost reordered duplicates unstamped; do
		v=$(json_get "$TMP/recv.json" "rx.$k") || { fail "no rx.$k"; return; }
		[ "$v" -eq 0 ] || { show "$TMP/recv.json"; fail "rx.$k = $v on loopback"; return; }
	done
	v=$(json_get "$TMP/recv.json" latency_ns.count) || { fail "no latency_ns.count"; return; }
	[ "$v" -eq "$N" ] || fail "latency_ns.count $v, $N stamped packets received"
}

# The seed's sender -> salvo udp recv --print: the seed receiver's line.
test_interop_seed_sender() {
	local p rc
	p=$(random_port)
	salvo_bg "$TMP/recv.txt" udp recv "$p" --print --count 1
	local rpid=$SALVO_PID
	wait_udp_bound "$p" || { fail "receiver never bound"; return; }
	timeout 10 python3 "$SEED/udp_sender.py" --port "$p" || { fail "udp_sender.py failed"; return; }
	stop "$rpid" 10000
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/recv.txt" "$TMP/recv.txt.err"; fail "udp recv --print exited $rc (stopped: $STOPPED)"; return; }
	# The summary may follow; the datagram is one line, exactly the seed's.
	[ "$(grep -c '^Got message from' "$TMP/recv.txt")" -eq 1 ] &&
		grep -qxE "Got message from 127\.0\.0\.1:[0-9]+: Hello you there!" "$TMP/recv.txt" ||
		{ show "$TMP/recv.txt"; fail "not the seed's line: $(head -c 200 "$TMP/recv.txt")"; return; }
}

# salvo udp send --message -> the seed's receiver prints it.
test_interop_seed_receiver() {
	local p rc msg="salvo says: hola, ¿qué tal?"
	p=$(random_port)
	bg "$TMP/py.txt" timeout 20 python3 "$SEED/udp_receiver.py" --port "$p" --count 1 --timeout 15
	local ppid=$BG_PID
	wait_udp_bound "$p" || { show "$TMP/py.txt.err"; fail "udp_receiver.py never bound"; return; }
	salvo_run "$TMP/send.txt" udp send "127.0.0.1:$p" --message "$msg"
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/send.txt.err"; fail "udp send --message exited $rc"; return; }
	wait_pid "$ppid" 15000
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/py.txt.err"; fail "udp_receiver.py exited $rc"; return; }
	grep -qxF "Got message from ('127.0.0.1', $(sed -n "s/^Got message from ('127.0.0.1', \([0-9]*\)).*/\1/p" "$TMP/py.txt")): $msg" "$TMP/py.txt" ||
		{ show "$TMP/py.txt"; fail "the seed receiver printed: $(head -c 200 "$TMP/py.txt")"; return; }
	[ ! -s "$TMP/send.txt.err" ] || { show "$TMP/send.txt.err"; fail "udp send --message wrote to stderr"; }
}

# udp send --message X --expect-reply against the seed's UDPServer.
test_expect_reply() {
	local p rc
	p=$(random_port)
	bg "$TMP/srv.txt" timeout 20 python3 "$SEED/udp_server.py" --port "$p" --count 1 --timeout 15
	local spid=$BG_PID
	wait_udp_bound "$p" || { show "$TMP/srv.txt.err"; fail "udp_server.py never bound"; return; }
	salvo_run "$TMP/send.txt" udp send "127.0.0.1:$p" --message Hello --expect-reply --timeout 10
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/send.txt" "$TMP/send.txt.err"; fail "udp send --expect-reply exited $rc"; return; }
	grep -qxF "Got your message!" "$TMP/send.txt" ||
		{ show "$TMP/send.txt"; fail "no reply printed: $(head -c 200 "$TMP/send.txt")"; return; }
	wait_pid "$spid" 10000
	grep -qxF "It said: Hello" "$TMP/srv.txt" || { show "$TMP/srv.txt" "$TMP/srv.txt.err"; fail "server did not get Hello"; }
}

# Each bad input: exit 2, exactly one line on stderr, nothing on stdout.
test_bad_input() {
	local p long107 long108 rc errs=0 i
	p=$(random_port)
	long107=$TMP/$(printf 'x%.0s' $(seq $((107 - ${#TMP} - 1))))
	long108=${long107}y
	[ ${#long107} -eq 107 ] || { fail "test bug: path of ${#long107} bytes"; return; }
	local cases=(
		"udp send 127.0.0.1:notaport --count 1"
		"udp send [::1:$p --count 1"
		"udp send 127.0.0.1: --count 1"
		"udp recv 127.0.0.1:xyz --count 1"
		"udp send 127.0.0.1:0 --count 1"
		"udp send 127.0.0.1:65536 --count 1"
		"udp recv 65536 --count 1"
		"udp send --bogus 127.0.0.1:$p --count 1"
		"udp recv --bogus $p --count 1"
		"udp send 127.0.0.1:$p --count 1 --rate 0"
		"udp send 127.0.0.1:$p --count 1 --rate -5"
		"udp send 127.0.0.1:$p --count 1 --size 65508"
		"udp send unix:$long108 --count 1"
		"udp recv unix:$long108 --count 1"
		"udp send 127.0.0.1:$p --count 1 --threads 0"
		"udp recv $p --count 1 --threads 0"
		"udp recv $p --count 1 --busy-poll-usec 10"
		"udp recv $p --count 1 --busy-poll --busy-poll-usec 0"
		"udp recv $p --count 1 --busy-poll --busy-poll-usec 1000001"
		"udp recv $p --count 1 --busy-poll --busy-poll-usec x"
		"udp recv $p --count 1 --busy-poll=5"
	)
	for i in "${cases[@]}"; do
		# shellcheck disable=SC2086 # the case is a word list on purpose
		timeout -s KILL 20 "$SALVO" $i >"$TMP/bad.out" 2>"$TMP/bad.err"
		rc=$?
		if [ "$rc" -ne 2 ] || [ "$(count_lines "$TMP/bad.err")" -ne 1 ] || [ -s "$TMP/bad.out" ]; then
			echo "salvo ${i/$TMP/\$TMP}: exit $rc, stderr $(count_lines "$TMP/bad.err") lines, stdout $(wc -c <"$TMP/bad.out") bytes"
			head -c 600 "$TMP/bad.err"
			errs=$((errs + 1))
		fi
	done
	# The boundaries are not errors: a 107-byte unix path binds, so does 65535.
	salvo_run "$TMP/ok.out" udp recv "unix:$long107" --duration 200ms
	rc=$?
	[ "$rc" -eq 0 ] || { echo "107-byte unix path: exit $rc"; show "$TMP/ok.out.err"; errs=$((errs + 1)); }
	[ "$errs" -eq 0 ] || fail "$errs bad-input case(s) misbehaved (listed above)"
}

# --count on the receiver ends it while the sender keeps going.
test_recv_count_ends() {
	local p rpid spid rc rx
	p=$(random_port)
	salvo_bg "$TMP/recv.json" udp recv "$p" --count 500 --json -q
	rpid=$SALVO_PID
	wait_udp_bound "$p" || { fail "receiver never bound"; return; }
	salvo_bg "$TMP/send.json" udp send "127.0.0.1:$p" --rate 5k --duration 30 --json -q
	spid=$SALVO_PID
	stop "$rpid" 15000
	rc=$?
	[ "$STOPPED" -eq 0 ] || { show "$TMP/recv.json"; fail "udp recv --count 500 still ran after 15 s"; return; }
	[ "$rc" -eq 0 ] || { show "$TMP/recv.json.err"; fail "udp recv exited $rc"; return; }
	rx=$(json_get "$TMP/recv.json" rx.packets) || { fail "receiver JSON unreadable"; return; }
	[ "$rx" -eq 500 ] || { fail "udp recv --count 500 counted $rx"; return; }
	kill -0 "$spid" 2>/dev/null || { show "$TMP/send.json.err"; fail "the sender ended before the receiver"; return; }
	kill -INT "$spid"
	wait_pid "$spid" 10000 || fail "udp send exited $? after SIGINT"
}

# Datagrams arriving in bursts (unpaced sender): --count 500 still stops at
# exactly 500, not at the end of the burst that crossed it, on both
# datagram backends, and counts exactly 500 x 100 bytes (the sender's size).
test_recv_count_exact() {
	local p rpid rc rx b
	for b in uring syscall; do
		p=$(random_port)
		salvo_bg "$TMP/recv.json" udp recv -b "$b" "$p" --count 500 --json -q
		rpid=$SALVO_PID
		wait_udp_bound "$p" || { fail "$b: receiver never bound"; return; }
		salvo_run "$TMP/send.json" udp send "127.0.0.1:$p" --count 2000 -s 100 -q ||
			{ show "$TMP/send.json.err"; fail "$b: udp send exited $?"; return; }
		stop "$rpid" 15000
		rc=$?
		[ "$STOPPED" -eq 0 ] || { fail "$b: udp recv --count 500 did not end (2000 sent)"; return; }
		[ "$rc" -eq 0 ] || { show "$TMP/recv.json.err"; fail "$b: udp recv exited $rc"; return; }
		rx=$(json_get "$TMP/recv.json" rx.packets) || { fail "$b: receiver JSON unreadable"; return; }
		[ "$rx" -eq 500 ] || { fail "$b: udp recv --count 500 counted $rx"; return; }
		rx=$(json_get "$TMP/recv.json" rx.bytes)
		[ "$rx" -eq 50000 ] || { fail "$b: 500 datagrams of 100 B counted as $rx bytes"; return; }
	done
}

# The receive batch, as the kernel sees it: the third argument of every
# recvmmsg (strace) is 256 by default and --burst when given, and JSON
# recv.batch says the same.  strace holds the first recvmmsg back 2 s while
# 2000 datagrams queue, so calls then take a full batch: some returned
# exactly the batch, none more.  The receive count stays exact.
test_recv_batch() {
	local p want opt rc
	for want in 256 16; do
		opt=()
		[ "$want" = 16 ] && opt=(--burst 16)
		p=$(random_port)
		SALVO_BACKEND=syscall salvo_cmd udp recv "127.0.0.1:$p" --count 2000 --json -q "${opt[@]}"
		bg "$TMP/batch.json" timeout -s KILL 60 strace -f -o "$TMP/batch.strace" -e trace=recvmmsg \
			-e raw=recvmmsg -e inject=recvmmsg:delay_enter=2s:when=1 "${SALVO_ARGV[@]}"
		wait_udp_bound "$p" || { fail "$want: receiver never bound"; return; }
		salvo_run "$TMP/send.json" udp send "127.0.0.1:$p" --count 2000 -s 64 -q ||
			{ show "$TMP/send.json.err"; fail "$want: udp send exited $?"; return; }
		wait_pid "$BG_PID" 30000
		rc=$?
		[ "$rc" -eq 0 ] || { show "$TMP/batch.json.err"; fail "$want: udp recv under strace exited $rc"; return; }
		python3 - "$TMP/batch.json" "$TMP/batch.strace" "$want" <<'EOF2' || { fail "batch $want"; return; }
import json, re, sys
d = json.load(open(sys.argv[1])); want = int(sys.argv[3])
calls = [(int(m.group(1), 16), int(m.group(2), 0)) for m in
         re.finditer(r"recvmmsg\(0x[0-9a-f]+, 0x[0-9a-f]+, (0x[0-9a-f]+), .*= (0x[0-9a-f]+|\d+)", open(sys.argv[2]).read())]
vlens = sorted(set(v for v, _ in calls)); got = [r for _, r in calls]
print("  batch %d: %d calls, vlen %r, most taken %d, rx %d, recv.batch %r" %
      (want, len(calls), vlens, max(got or [0]), d["rx"]["packets"], d["recv"].get("batch")))
if vlens != [want] or max(got) != want or d["recv"]["batch"] != want or d["rx"]["packets"] != 2000:
    sys.exit(1)
EOF2
	done
}

# The send batch, as the kernel sees it: an unpaced plain send of 2560
# datagrams goes as 10 submissions of 256 (the vlen of each sendmmsg, the
# to_submit of each io_uring_enter, strace), and tx.submissions says 10;
# --burst 32 makes them 80 of 32; a paced send keeps its pacer's smaller
# bursts; a salvo run profile's unpaced udp stream batches as udp send,
# and keeps a "burst" it gives.  The receiver counts every datagram.
test_send_batch() {
	local p b opt cmd burst what
	for b in syscall uring syscall:--burst=32 syscall:--rate=50k run run:32; do
		opt=
		[ "${b#*:}" != "$b" ] && opt=${b#*:}
		b=${b%%:*} what=${b%%:*}
		p=$(random_port)
		salvo_bg "$TMP/sb.rx" udp recv "127.0.0.1:$p" --count 2560 --json -q
		wait_udp_bound "$p" || { fail "$b $opt: receiver never bound"; return; }
		if [ "$b" = run ]; then
			burst=
			[ -n "$opt" ] && burst=", \"burst\": $opt" opt=--burst=$opt
			printf '{"streams": [{"type": "udp", "backend": "syscall", "dst": "127.0.0.1:%s", "size": 64, "count": 2560%s}]}\n' \
				"$p" "$burst" >"$TMP/sb.profile"
			cmd=("$SALVO" run "$TMP/sb.profile" -J)
			b=syscall
		else
			cmd=("$SALVO" udp send -b "$b" --no-gso "127.0.0.1:$p" -n 2560 -q --json ${opt:+"$opt"})
		fi
		timeout -s KILL 60 strace -f -o "$TMP/sb.strace" -e trace=sendmmsg,io_uring_enter \
			-e raw=sendmmsg,io_uring_enter "${cmd[@]}" >"$TMP/sb.json" 2>"$TMP/sb.err" ||
			{ show "$TMP/sb.err"; fail "${cmd[*]}: exited $?"; return; }
		wait_pid "$SALVO_PID" 15000 || { show "$TMP/sb.rx.err"; fail "$b $opt: receiver exited $?"; return; }
		python3 - "$TMP/sb.json" "$TMP/sb.rx" "$TMP/sb.strace" "$b" "$opt" "$what" <<'EOF2' ||
import json, re, sys
d = json.load(open(sys.argv[1])); rx = json.load(open(sys.argv[2]))["rx"]
tx = d["streams"][0]["report"]["tx"] if "streams" in d else d["tx"]
t = open(sys.argv[3]).read(); be, opt = sys.argv[4], sys.argv[5]
if be == "syscall":
    n = [int(v, 16) for v in re.findall(r"sendmmsg\(0x[0-9a-f]+, 0x[0-9a-f]+, (0x[0-9a-f]+),", t)]
else:	# the bursts' submits: flags IORING_ENTER_REGISTERED_RING alone (no wait)
    n = [int(v, 16) for v in re.findall(r"io_uring_enter\((?:0x)?[0-9a-f]+, (0x[0-9a-f]+), 0, 0x10,", t)]
print("  %s %s: %d calls, batches %r, tx.submissions %d, rx %d" %
      (sys.argv[6], opt, len(n), sorted(set(n)), tx["submissions"], rx["packets"]))
want = {"": [256] * 10, "--burst=32": [32] * 80}.get(opt)
bad = rx["packets"] != 2560 or tx["packets"] != 2560 or sum(n) != 2560
if want is not None:
    bad = bad or n != want or tx["submissions"] != len(want)
else:	# paced: the pacer's bursts, far below 256
    bad = bad or max(n) >= 256 or len(n) < 20
sys.exit(bad)
EOF2
		{ fail "$what $opt: send batches"; return; }
	done
}

# A second receiver on a port that one already holds is refused (exit 1,
# "in use"), on every backend: a UDP socket with SO_REUSEADDR would bind
# beside the first and silently take its traffic.
test_port_in_use() {
	local p b rpid rc
	p=$(random_port)
	salvo_bg "$TMP/first.out" udp recv "$p" --duration 30 -q
	rpid=$SALVO_PID
	wait_udp_bound "$p" || { fail "receiver never bound"; return; }
	for b in syscall uring; do
		SALVO_BACKEND=$b salvo_run "$TMP/second.out" udp recv "$p" --duration 1 -q
		rc=$?
		[ "$rc" -eq 1 ] || { show "$TMP/second.out.err"; fail "$b: a second receiver on port $p exited $rc, not 1"; return; }
		grep -qi "in use" "$TMP/second.out.err" || { show "$TMP/second.out.err"; fail "$b: no 'in use' line"; return; }
	done
	kill -INT "$rpid"
	wait_pid "$rpid" 10000 || fail "the first receiver exited $? after SIGINT"
}

# SIGINT mid-run: both print a parseable summary with interrupted=true and exit 0 promptly.
test_sigint_summary() {
	local p rpid spid rc who
	p=$(random_port)
	salvo_bg "$TMP/recv.json" udp recv "$p" --duration 60 --json -q
	rpid=$SALVO_PID
	wait_udp_bound "$p" || { fail "receiver never bound"; return; }
	salvo_bg "$TMP/send.json" udp send "127.0.0.1:$p" --rate 5k --duration 60 --json -q
	spid=$SALVO_PID
	sleep 1.5
	kill -INT "$spid" "$rpid"
	for who in send recv; do
		if [ $who = send ]; then wait_pid "$spid" 5000; else wait_pid "$rpid" 5000; fi
		rc=$?
		[ "$rc" -ne 124 ] || { fail "udp $who still running 5 s after SIGINT"; return; }
		[ "$rc" -eq 0 ] || { show "$TMP/$who.json.err"; fail "udp $who exited $rc after SIGINT"; return; }
		json_ok "$TMP/$who.json" || { show "$TMP/$who.json"; fail "udp $who: summary is not JSON"; return; }
		[ "$(json_get "$TMP/$who.json" interrupted)" = true ] || { fail "udp $who: interrupted is not true"; return; }
	done
	[ "$(json_get "$TMP/send.json" tx.packets)" -gt 0 ] && [ "$(json_get "$TMP/recv.json" rx.packets)" -gt 0 ] ||
		fail "no traffic counted before the SIGINT"
}

# Nobody listening: the sender counts refused sends, ends on its own with
# exit 1 (every datagram refused), and
# its tx.packets is what the kernel sent (OutDatagrams, fresh namespace).
test_refused() { refused --rate 10k; }

# The same as fast as the sender goes (a burst per submission), one datagram
# per send: OutDatagrams counts GSO sends, not datagrams, so the witness
# needs plain sends (GSO is the default for unpaced sends).
test_refused_unpaced() { refused --no-gso; }

# The default unpaced send (GSO) to a closed port: a refusal comes back per
# GSO send, not per datagram, and the run still ends with exit 1 and the
# line that says every datagram was refused.
test_refused_gso() {
	local p rc
	p=$(random_port)
	SALVO_BACKEND= salvo_run "$TMP/g.out" udp send "127.0.0.1:$p" --count 2000 -q
	rc=$?
	[ "$rc" -eq 1 ] && grep -q "^salvo: udp send: every datagram was refused: 2000 sent in [0-9]* GSO sends" "$TMP/g.out.err" ||
		{ show "$TMP/g.out" "$TMP/g.out.err"; fail "default (GSO) send to a closed port: exit $rc, want 1"; }
}

refused() {
	require_root || return
	setup_ns NS || return
	local p rc ref tx out0 out1
	p=$(random_port)
	out0=$(snmp_udp OutDatagrams "$NS")
	salvo_bg -n "$NS" "$TMP/send.json" udp send "127.0.0.1:$p" --count 2000 --json -q "$@"
	wait_pid "$SALVO_PID" 30000
	rc=$?
	[ "$rc" -ne 124 ] || { fail "udp send to a closed port still running after 30 s"; return; }
	# Every datagram refused is a failure (docs/commands.md, Exit codes), after the summary.
	[ "$rc" -eq 1 ] && grep -q "^salvo: udp send: every datagram was refused" "$TMP/send.json.err" ||
		{ show "$TMP/send.json" "$TMP/send.json.err"; fail "udp send exited $rc, want 1 (every datagram refused)"; return; }
	ref=$(json_get "$TMP/send.json" tx.refused) && tx=$(json_get "$TMP/send.json" tx.packets) ||
		{ show "$TMP/send.json"; fail "sender JSON unreadable"; return; }
	[ "$ref" -gt 0 ] || { show "$TMP/send.json"; fail "no refused sends reported"; return; }
	out1=$(snmp_udp OutDatagrams "$NS")
	[ $((out1 - out0)) -eq "$tx" ] ||
		{ show "$TMP/send.json"; fail "tx.packets $tx but the kernel sent $((out1 - out0)) (tx.refused $ref)"; }
}

# The receive buffer is what --help promises: 8 MiB by default, --rcvbuf
# otherwise.  The kernel stores twice what SO_RCVBUF(FORCE) asked for (room
# for its bookkeeping) and ss -m shows that, so exactly 2 x want: ">= want"
# would pass an ignored --rcvbuf 1M under the 8 MiB default.  Both backends.
test_recv_rcvbuf() {
	require_root || return	# SO_RCVBUFFORCE beyond rmem_max
	local b
	for b in uring syscall; do
		SALVO_BACKEND=$b recv_rcvbuf || { TEST_MSG="$b: $TEST_MSG"; return 1; }
	done
}
recv_rcvbuf() {
	local p rb want arg
	for want in 8388608 1048576 262144; do
		p=$(random_port)
		arg=()
		[ "$want" -eq 8388608 ] || arg=(--rcvbuf "$want")
		salvo_bg "$TMP/recv.txt" udp recv "$p" --duration 30 -q "${arg[@]}"
		wait_udp_bound "$p" || { fail "receiver never bound"; return; }
		rb=$(ss -Huanm "sport = :$p" | grep -o 'rb[0-9]*' | head -n1)
		rb=${rb#rb}
		kill -INT "$SALVO_PID"
		wait_pid "$SALVO_PID" 10000
		[ -n "$rb" ] && [ "$rb" -eq $((2 * want)) ] ||
			{ fail "udp recv ${arg[*]:-(default)}: receive buffer ${rb:-?} bytes, want exactly $((2 * want)) (2 x $want)"; return; }
	done
}

# child_cpu_ms: CPU (user + sys) used so far by this shell's finished children, in ms.
child_cpu_ms() {
	times | sed -n 2p | awk '{split($1,a,"m"); split($2,b,"m");
		print int((a[1]*60+a[2]+b[1]*60+b[2])*1000)}'
}

# A departure due long after --duration (--rate 0.001: the next one is 1000 s
# away) does not hold the run: it ends at the deadline with its summary, and
# the main thread does not spin while the worker waits (CPU time of the child,
# from bash's `times`).
test_pacing_deadline() {
	local p rc t0 t1 cpu0 cpu
	p=$(random_port)
	# Someone listening: the one datagram refused would be exit 1.
	salvo_bg "$TMP/recv.txt" udp recv "127.0.0.1:$p" -d 60 -q
	wait_udp_bound "$p" || { fail "receiver"; return; }
	cpu0=$(child_cpu_ms)
	t0=$(date +%s%3N)
	salvo_run "$TMP/send.json" udp send "127.0.0.1:$p" --rate 0.001 -d 2s --json -q
	rc=$?
	t1=$(date +%s%3N)
	[ "$rc" -eq 0 ] || { show "$TMP/send.json.err"; fail "udp send --rate 0.001 -d 2s exited $rc"; return; }
	[ $((t1 - t0)) -lt 5000 ] || { fail "-d 2s took $((t1 - t0)) ms"; return; }
	json_ok "$TMP/send.json" || { show "$TMP/send.json"; fail "no JSON summary"; return; }
	[ "$(json_get "$TMP/send.json" tx.packets)" -eq 1 ] ||
		{ fail "sent $(json_get "$TMP/send.json" tx.packets) packets, want 1 (slot 0 only)"; return; }
	cpu=$(($(child_cpu_ms) - cpu0))
	[ "$cpu" -lt 1000 ] || fail "children used $cpu ms of CPU in a 2 s run of mostly waiting"
}

# SIGINT and SIGTERM during a long pacing wait end the run within a second
# (bounded generously at 3 s), exit 0, with an interrupted summary.
test_pacing_signal() {
	local p sig rc t0 t1
	p=$(random_port)
	for sig in INT TERM; do
		salvo_bg "$TMP/send.json" udp send "127.0.0.1:$p" --rate 0.001 -d 60s --json -q
		busywait 5000 grep -q '^Threads:' "/proc/$SALVO_PID/status" || { fail "no process"; return; }
		sleep 0.5
		t0=$(date +%s%3N)
		kill -"$sig" "$SALVO_PID"
		wait_pid "$SALVO_PID" 10000
		rc=$?
		t1=$(date +%s%3N)
		[ "$rc" -eq 0 ] || { show "$TMP/send.json.err"; fail "SIG$sig: exited $rc"; return; }
		[ $((t1 - t0)) -lt 3000 ] || { fail "SIG$sig: took $((t1 - t0)) ms to end"; return; }
		json_ok "$TMP/send.json" || { show "$TMP/send.json"; fail "SIG$sig: no JSON summary"; return; }
		[ "$(json_get "$TMP/send.json" interrupted)" = true ] || { fail "SIG$sig: not interrupted"; return; }
	done
}

# A SIGTERM sent before salvo's handlers can exist (pending across exec: the
# launcher blocks it, starts salvo and sends it at once) still ends the run
# cleanly with an interrupted summary, not a 60 s run or a death by signal.
test_signal_at_start() {
	local out
	salvo_cmd udp send "127.0.0.1:$(random_port)" --rate 0.001 -d 60s --json -q
	out=$(timeout 30 python3 - "${SALVO_ARGV[@]}" <<'PY'
import os, signal, subprocess, sys, time
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
os.kill(p.pid, signal.SIGTERM)
try:
    out, err = p.communicate(timeout=20)
except subprocess.TimeoutExpired:
    p.kill()
    out, err = p.communicate()
import json
try:
    interrupted = json.loads(out)["interrupted"]
except Exception:
    interrupted = None
print(p.returncode, round(time.monotonic() - t0, 1), interrupted)
PY
)
	set -- $out
	[ "$1" = 0 ] || { fail "exited ${1:-?} (signal or error) for an early SIGTERM"; return; }
	[ "$3" = True ] || { fail "summary not interrupted: $out"; return; }
	awk -v t="$2" 'BEGIN { exit !(t < 10) }' || fail "ran $2 s after an early SIGTERM"
}

# Stamped packets the flow table has no room for, and latency samples above
# the histogram's range, are reported (text and JSON), equal to what a plain
# Python sender sent: one packet in each of 80,000 flows (a worker's table
# holds 65,536: 14,464 over) and 100 realtime stamps from 1970 (latency
# ~56 years, far above the ~18 min range).
test_overflow_clamp_reported() {
	local p rx fl ov cnt cl
	p=$(random_port)
	salvo_bg "$TMP/recv.json" udp recv "$p" --count 80100 --json -q -d 60
	wait_udp_bound "$p" || { fail "receiver never bound"; return; }
	timeout 60 python3 - "$p" <<'PY' || { fail "sender failed"; return; }
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dest = ("127.0.0.1", int(sys.argv[1]))
def stamp(flow, seq, flags, ts):
    return struct.pack("!IBBHIIQQ", 0x53564c4f, 1, flags, 0, flow, 32, seq, ts)
for flow in range(80000):
    s.sendto(stamp(flow, 0, 0, 0), dest)          # ts 0: no latency sample
    if flow % 500 == 499:
        time.sleep(0.002)                          # stay inside the receive buffer
for seq in range(1, 101):
    s.sendto(stamp(0, seq, 1, 1), dest)           # realtime, 1 ns after the epoch
PY
	wait_pid "$SALVO_PID" 30000 || { show "$TMP/recv.json.err"; fail "udp recv did not end at --count"; return; }
	rx=$(json_get "$TMP/recv.json" rx.packets) && fl=$(json_get "$TMP/recv.json" rx.flows) &&
		ov=$(json_get "$TMP/recv.json" rx.flow_overflow) &&
		cnt=$(json_get "$TMP/recv.json" latency_ns.count) &&
		cl=$(json_get "$TMP/recv.json" latency_ns.clamped) || { fail "fields missing from the JSON"; return; }
	[ "$rx" = 80100 ] || { fail "received $rx of 80100"; return; }
	[ "$fl" = 65536 ] && [ "$ov" = 14464 ] || { fail "flows $fl, flow_overflow $ov; want 65536 and 14464"; return; }
	[ "$cnt" = 100 ] && [ "$cl" = 100 ] || { fail "latency count $cnt, clamped $cl; want 100 and 100"; return; }
	# The same figures in the text summary.
	p=$(random_port)
	salvo_bg "$TMP/recv.txt" udp recv "$p" --count 3 -q -d 60
	wait_udp_bound "$p" || { fail "text receiver never bound"; return; }
	python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for seq in range(3):
    s.sendto(struct.pack("!IBBHIIQQ", 0x53564c4f, 1, 1, 0, 7, 32, seq, 1), ("127.0.0.1", int(sys.argv[1])))' "$p"
	wait_pid "$SALVO_PID" 30000 || { fail "text receiver did not end"; return; }
	grep -q "3 of 3 samples above" "$TMP/recv.txt" || { show "$TMP/recv.txt"; fail "clamped samples not in the text summary"; }
}

# Overload with a witness: a receiver with a tiny buffer is stopped (SIGSTOP)
# while 2000 datagrams arrive, so the kernel drops most of them, the last ones
# included (tail loss no stamp can show).  Its "kernel" section must say
# exactly what the namespace's Udp RcvbufErrors counter says, and received +
# dropped must be what was sent.  Bounded: the receiver runs 4 s in all.
test_kernel_rcvbuf_drops() {
	require_root || return
	local b p n=2000 err0 err1 rpid drops rx
	for b in uring syscall; do
		setup_ns NS || return
		p=$(random_port)
		err0=$(snmp_udp RcvbufErrors "$NS")
		salvo_bg -n "$NS" "$TMP/k$b.json" udp recv -b "$b" "127.0.0.1:$p" --rcvbuf 4096 -d 4 --json -q
		rpid=$SALVO_PID
		wait_udp_bound "$p" "$NS" || { show "$TMP/k$b.json.err"; fail "$b: receiver never bound"; return; }
		kill -STOP "$rpid"
		salvo_run -n "$NS" "$TMP/ks$b" udp send -b syscall "127.0.0.1:$p" -n "$n" --rate 20k -q
		kill -CONT "$rpid"
		stop "$rpid" 20000 || { show "$TMP/k$b.json.err"; fail "$b: udp recv exit"; return; }
		err1=$(snmp_udp RcvbufErrors "$NS")
		drops=$(json_get "$TMP/k$b.json" kernel.rcvbuf_drops) || { show "$TMP/k$b.json"; fail "$b: no kernel.rcvbuf_drops"; return; }
		rx=$(json_get "$TMP/k$b.json" rx.packets)
		[ "$drops" -gt 0 ] || { fail "$b: no drops: the overload did not happen"; return; }
		[ "$drops" -eq $((err1 - err0)) ] || { fail "$b: salvo says $drops kernel drops, RcvbufErrors grew by $((err1 - err0))"; return; }
		[ $((rx + drops)) -eq "$n" ] || { fail "$b: received $rx + dropped $drops != sent $n"; return; }
		# The text summary names them as the kernel's, apart from the stamps' loss.
		salvo_run -n "$NS" "$TMP/kt$b" udp recv -b "$b" "127.0.0.1:$p" -d 200ms ||
			{ show "$TMP/kt$b.err"; fail "$b: text run"; return; }
		grep -qx "  kernel: rcvbuf drops 0" "$TMP/kt$b" || { show "$TMP/kt$b"; fail "$b: no 'kernel: rcvbuf drops' line"; return; }
	done
}

# cpu_ticks PID: the process's user + system time so far, in clock ticks
# (/proc/PID/stat fields 14 and 15, counted after the ")" that ends comm).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# udp recv --busy-poll, each backend, in a fresh namespace (its own Udp
# counters): a spinning and a sleeping receiver side by side, idle for a
# window of at least 1 s, then N datagrams each from a plain paced sender.
# Witnesses: the kernel's CPU accounting (/proc/PID/stat) says the spinning
# one was on a CPU for a good part of the idle window while the sleeping one
# barely woke; the kernel's InDatagrams says every datagram was delivered,
# and each receiver counted exactly its N and ended at --count; recv.wait
# says which mode ran.  Then an idle spinner ends at its -d and on SIGINT.
# (Bash arithmetic and one python per backend: a python start costs 1-2 s
# on a loaded machine.)
test_recv_busy_poll() {
	require_root || return
	setup_ns NS || return
	local b pb ps bpid spid hz t0 wall b0 s0 bcpu scpu in0 in1 n=5000 rc bad
	hz=$(getconf CLK_TCK)
	for b in uring syscall; do
		pb=$(random_port)
		ps=$(random_port)
		[ "$ps" != "$pb" ] || ps=$((pb == 65535 ? pb - 1 : pb + 1))
		SALVO_BACKEND=$b salvo_bg -n "$NS" "$TMP/busy.json" udp recv "127.0.0.1:$pb" --busy-poll \
			--count "$n" --json -q -d 60
		bpid=$SALVO_PID
		SALVO_BACKEND=$b salvo_bg -n "$NS" "$TMP/sleep.json" udp recv "127.0.0.1:$ps" \
			--count "$n" --json -q -d 60
		spid=$SALVO_PID
		wait_udp_bound "$pb" "$NS" && wait_udp_bound "$ps" "$NS" ||
			{ show "$TMP/busy.json.err" "$TMP/sleep.json.err"; fail "$b: receivers never bound"; return; }
		# The idle window: 1 s, longer (up to 5 s) while the spinner has not yet
		# had 0.5 s of CPU (a loaded machine shares the cores).
		b0=$(cpu_ticks "$bpid") s0=$(cpu_ticks "$spid") t0=${EPOCHREALTIME/./}
		sleep 1
		while bcpu=$(( $(cpu_ticks "$bpid") - b0 )); [ "$bcpu" -lt $((hz / 2)) ] &&
			[ $(( ${EPOCHREALTIME/./} - t0 )) -lt 5000000 ]; do
			sleep 0.5
		done
		bcpu=$(( $(cpu_ticks "$bpid") - b0 )) scpu=$(( $(cpu_ticks "$spid") - s0 ))
		wall=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
		echo "  $b: idle $wall ms: busy-poll receiver $((bcpu * 1000 / hz)) ms CPU, sleeping one $((scpu * 1000 / hz)) ms"
		[ $((bcpu * 4)) -ge "$hz" ] && [ "$bcpu" -ge $((10 * scpu + 2)) ] ||
			{ fail "$b: busy-poll receiver used $bcpu ticks of CPU in $wall ms idle, a sleeping one $scpu: it did not spin"; return; }
		in0=$(snmp_udp InDatagrams "$NS")
		salvo_run -n "$NS" "$TMP/s1.json" udp send "127.0.0.1:$pb" --count "$n" --rate "$RATE" -q &&
			salvo_run -n "$NS" "$TMP/s2.json" udp send "127.0.0.1:$ps" --count "$n" --rate "$RATE" -q ||
			{ show "$TMP/s1.json.err" "$TMP/s2.json.err"; fail "$b: sender failed"; return; }
		wait_pid "$bpid" 20000 || { show "$TMP/busy.json.err"; fail "$b: busy-poll receiver did not end at --count"; return; }
		wait_pid "$spid" 20000 || { show "$TMP/sleep.json.err"; fail "$b: sleeping receiver did not end at --count"; return; }
		in1=$(snmp_udp InDatagrams "$NS")
		[ $((in1 - in0)) -eq $((2 * n)) ] || { fail "$b: kernel InDatagrams grew by $((in1 - in0)), sent $((2 * n))"; return; }
		# Idle, spinning: ends at its -d (not long after) and on SIGINT.
		t0=${EPOCHREALTIME/./}
		SALVO_BACKEND=$b salvo_run -n "$NS" "$TMP/idle.json" udp recv "127.0.0.1:$pb" --busy-poll -d 1 --json -q ||
			{ show "$TMP/idle.json.err"; fail "$b: idle busy-poll receiver -d 1 failed"; return; }
		wall=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
		[ "$wall" -lt 5000 ] || { fail "$b: busy-poll receiver -d 1 lasted $wall ms"; return; }
		SALVO_BACKEND=$b salvo_bg -n "$NS" "$TMP/int.json" udp recv "127.0.0.1:$pb" --busy-poll -d 60 --json -q
		bpid=$SALVO_PID
		wait_udp_bound "$pb" "$NS" || { fail "$b: receiver never bound"; return; }
		kill -INT "$bpid"
		wait_pid "$bpid" 5000
		rc=$?
		[ "$rc" -eq 0 ] || { show "$TMP/int.json.err"; fail "$b: busy-poll receiver exit $rc after SIGINT"; return; }
		bad=$(python3 - "$TMP" "$n" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
j = {k: json.load(open(f"{d}/{k}.json")) for k in ("busy", "sleep", "idle", "int")}
want = {"busy": (n, 0, "busy-poll", 50), "sleep": (n, 0, "sleep", 0)}
for k, w in want.items():
    got = (j[k]["rx"]["packets"], j[k]["rx"]["lost"], j[k]["recv"]["wait"], j[k]["recv"]["busy_poll_us"])
    if got != w:
        print(f"{k}: rx.packets, rx.lost, recv.wait, recv.busy_poll_us = {got}, want {w}")
if j["idle"]["recv"]["wait"] != "busy-poll" or j["int"]["recv"]["wait"] != "busy-poll":
    print("idle/int: recv.wait is not busy-poll")
if j["int"].get("interrupted") is not True:
    print("int: interrupted is not true")
PY
		)
		[ -z "$bad" ] || { fail "$b: $bad"; return; }
	done
}

[ -x "$SALVO" ] || { echo "FAIL: setup no salvo binary at $SALVO"; exit 1; }
ulimit -c 0
for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
