#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# Exit codes that tell the truth (docs/commands.md, "Exit codes"): 0 success,
# 1 runtime failure, 2 bad input.  Each test checks the code and the printed
# figures against a witness: a plain Python peer's own counts, the kernel's
# UDP counters (NoPorts: datagrams that found no socket) in a namespace of
# the test's own, the CPU time the kernel charged the process.
#
#	sudo SALVO=build/salvo tests/integ/test_exit.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves out the tcp wait (a timing, over the stream paths test_tcp covers under ASan).
PLAIN_ONLY="test_tcp_peer_stops_reading"
TESTS="
	test_ping_nothing_answered
	test_ping_partial_loss
	test_send_every_datagram_refused
	test_send_some_refused
	test_tcp_peer_stops_reading
	test_raw_send_no_carrier
	test_registry_bench_nothing_joined
	test_signal_ends_with_0
"
BACKENDS=${BACKENDS:-"uring syscall"}

# A UDP peer in the test's namespace: counts what it receives into $TMP/peer.n
# (one line per datagram: "rx" or "rx+answered"); answers every EVERY-th
# datagram (0: never); closes its socket after CLOSE_AFTER datagrams (0: never)
# and stays alive, so later datagrams find no socket (NoPorts).
udp_peer() {
	local ns=$1 port=$2 every=$3 close_after=$4
	bg -n "$ns" "$TMP/peer.log" python3 -u -c '
import socket, sys
port, every, close_after, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
f = open(out, "w", buffering=1)
n = 0
while True:
    d, a = s.recvfrom(65536)
    n += 1
    if every and n % every == 0:
        s.sendto(d, a)
        f.write("rx+answered\n")
    else:
        f.write("rx\n")
    if close_after and n == close_after:
        s.close()
        break
import time
time.sleep(60)
' "$port" "$every" "$close_after" "$TMP/peer.n"
	wait_udp_bound "$port" "$ns" 30000 || { fail "python peer did not bind in 30 s"; return 1; }
}

# json_vals FILE PATH...: the values at dotted PATHs, on one line (one python start:
# the machine may be loaded, and each start costs).
json_vals() {
	python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
out = []
for p in sys.argv[2:]:
    v = d
    for k in p.split("."):
        v = v[k]
    out.append(json.dumps(v))
print(" ".join(out))
PY
}

peer_rx() { awk 'END { print NR }' "$TMP/peer.n"; }
peer_answered() { awk '/answered/ { n++ } END { print n + 0 }' "$TMP/peer.n"; }
# The backends share one peer (each python start costs on a loaded machine): deltas.
peer_mark() { R0=$(peer_rx); A0=$(peer_answered); }

test_ping_nothing_answered() {
	local b p rc sent ok lost rxlost pct
	require_root || return
	setup_ns A || return
	p=$(random_port)
	udp_peer "$A" "$p" 0 0 || return
	for b in $BACKENDS; do
		peer_mark
		SALVO_BACKEND=$b salvo_run -n "$A" "$TMP/ping.json" udp ping "127.0.0.1:$p" --count 5 --timeout 100ms --json
		rc=$?
		[ "$rc" -eq 1 ] || { show "$TMP/ping.json.err"; fail "$b: exit $rc with nothing answered, want 1"; return; }
		[ "$(count_lines "$TMP/ping.json.err")" = 1 ] && grep -q "^salvo: udp ping: no reply to any of 5 requests" "$TMP/ping.json.err" ||
			{ show "$TMP/ping.json.err"; fail "$b: want one line saying nothing answered"; return; }
		read -r sent ok lost rxlost pct < <(json_vals "$TMP/ping.json" ping.sent ping.answered ping.lost rx.lost ping.loss_pct) ||
			{ fail "$b: no summary"; return; }
		# The witness received every request; none answered, all lost.
		[ "$sent" = 5 ] && [ $(($(peer_rx) - R0)) = 5 ] || { fail "$b: sent $sent, peer got $(($(peer_rx) - R0))"; return; }
		[ "$ok" = 0 ] && [ "$lost" = 5 ] && [ "$rxlost" = 5 ] && [ "$pct" = 100.0 ] ||
			{ show "$TMP/ping.json"; fail "$b: figures"; return; }
	done
}

test_ping_partial_loss() {
	local b p rc sent ok lost
	require_root || return
	setup_ns A || return
	p=$(random_port)
	udp_peer "$A" "$p" 2 0 || return
	for b in $BACKENDS; do
		peer_mark
		SALVO_BACKEND=$b salvo_run -n "$A" "$TMP/ping.txt" udp ping "127.0.0.1:$p" --count 10 --timeout 200ms
		rc=$?
		# Partial loss is a result, not a failure (as ping(8)).
		[ "$rc" -eq 0 ] || { show "$TMP/ping.txt.err"; fail "$b: exit $rc with half answered, want 0"; return; }
		sent=$(($(peer_rx) - R0))
		ok=$(($(peer_answered) - A0))
		lost=$((sent - ok))
		[ "$sent" = 10 ] && [ "$ok" = 5 ] || { fail "$b: the peer got $sent and answered $ok"; return; }
		grep -q "^  pings: $sent sent, $ok answered, $lost lost (50.000%)" "$TMP/ping.txt" ||
			{ show "$TMP/ping.txt"; fail "$b: want $sent sent, $ok answered, $lost lost"; return; }
	done
}

# UDP NoPorts in NS: datagrams the kernel answered with port unreachable.
noports() { snmp_udp NoPorts "$1"; }

test_send_every_datagram_refused() {
	local b p rc n0 n1 sent refused
	require_root || return
	for b in $BACKENDS; do
		setup_ns A || return
		p=$(random_port)
		n0=$(noports "$A")
		# An odd count: on io_uring the last datagram's refusal has no next send to report it.
		SALVO_BACKEND=$b salvo_run -n "$A" "$TMP/send.json" udp send "127.0.0.1:$p" --count 201 --rate 2k --json
		rc=$?
		n1=$(noports "$A")
		[ "$rc" -eq 1 ] || { show "$TMP/send.json.err"; fail "$b: exit $rc with nobody listening, want 1"; return; }
		grep -q "^salvo: udp send: every datagram was refused" "$TMP/send.json.err" ||
			{ show "$TMP/send.json.err"; fail "$b: want the refusal line"; return; }
		read -r sent refused < <(json_vals "$TMP/send.json" tx.packets tx.refused) || { fail "$b: no summary"; return; }
		# Every datagram that went out found no socket, and each refusal is one of them.
		[ "$sent" -gt 0 ] && [ "$sent" = $((n1 - n0)) ] && [ "$refused" = "$sent" ] ||
			{ fail "$b: sent $sent, refused $refused, kernel NoPorts $((n1 - n0))"; return; }
		cleanup_test
	done
}

test_send_some_refused() {
	local b p rc n0 n1 sent refused got
	require_root || return
	for b in $BACKENDS; do
		setup_ns A || return
		p=$(random_port)
		udp_peer "$A" "$p" 0 50 || return
		n0=$(noports "$A")
		# Long enough that the peer has read its 50 and closed while datagrams still go out.
		SALVO_BACKEND=$b salvo_run -n "$A" "$TMP/send.json" udp send "127.0.0.1:$p" --duration 3 --rate 500 --json
		rc=$?
		n1=$(noports "$A")
		[ "$rc" -eq 0 ] || { show "$TMP/send.json.err"; fail "$b: exit $rc with 50 received, want 0"; return; }
		read -r sent refused < <(json_vals "$TMP/send.json" tx.packets tx.refused) || { fail "$b: no summary"; return; }
		got=$(peer_rx)
		# The peer took 50; each refusal counted is one datagram the kernel found
		# no socket for (those queued to the peer when it closed are neither).
		[ "$got" = 50 ] && [ "$refused" = $((n1 - n0)) ] && [ "$refused" -gt 0 ] &&
			[ "$sent" -ge $((got + refused)) ] ||
			{ fail "$b: sent $sent, refused $refused, peer got $got, kernel NoPorts $((n1 - n0))"; return; }
		# And in the text summary.
		SALVO_BACKEND=$b salvo_run -n "$A" "$TMP/send.txt" udp send "127.0.0.1:$p" --count 20 --rate 2k
		rc=$?
		[ "$rc" -eq 1 ] && grep -qE "^  tx errors: [0-9]+ \([0-9]+ refused: nobody listening\)" "$TMP/send.txt" ||
			{ show "$TMP/send.txt" "$TMP/send.txt.err"; fail "$b: text run (nobody listening any more): exit $rc"; return; }
		cleanup_test
	done
}

# cpu_s: the user+system seconds of this shell's finished children (bash's times).
cpu_s() {
	times | awk 'NR == 2 {
		split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.3f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }'
}

test_tcp_peer_stops_reading() {
	local b p rc c0 c1 t0 t1 cpu wall
	p=$(random_port)
	# Accepts, never reads: the sender's buffers fill, then nothing moves.
	bg "$TMP/sink.txt" python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
cs = []
while True:
    cs.append(s.accept())
' "$p"
	busywait 30000 sh -c "ss -Hlnt 'sport = :$p' | grep -q ." || { fail "python listener"; return; }
	for b in $BACKENDS; do
		c0=$(cpu_s)
		t0=$(date +%s%3N)
		SALVO_BACKEND=$b salvo_run "$TMP/tcp.txt" tcp send "127.0.0.1:$p" --duration 1 --timeout 1s
		rc=$?
		t1=$(date +%s%3N)
		c1=$(cpu_s)
		cpu=$(py_eval "$c1 - $c0")
		wall=$(py_eval "($t1 - $t0) / 1000")
		[ "$rc" -eq 1 ] || { show "$TMP/tcp.txt" "$TMP/tcp.txt.err"; fail "$b: exit $rc, want 1"; return; }
		[ "$(count_lines "$TMP/tcp.txt.err")" = 1 ] && grep -q "^salvo: tcp send: the peer stopped reading" "$TMP/tcp.txt.err" ||
			{ show "$TMP/tcp.txt.err"; fail "$b: want one line saying the peer stopped reading"; return; }
		# Waited without spinning: under a fifth of the wall time on the CPU
		# (the kernel's count for salvo and its timeout(1) wrapper).
		py_cmp "$cpu" "<" "0.2 * $wall" || { fail "$b: $cpu s of CPU in $wall s: it spins"; return; }
		py_cmp "$wall" "<" 20 || { fail "$b: took $wall s for --duration 1 --timeout 1s"; return; }
	done
}

test_raw_send_no_carrier() {
	local rc sent t0 t1
	require_root || return
	setup_ns A || return
	# A veth whose peer is down: af_packet queues the frames, the link takes none.
	ip -n "$A" link add va type veth peer name vb && ip -n "$A" link set va up ||
		{ fail "veth"; return; }
	t0=$(link_stat va tx_packets "$A")
	salvo_run -n "$A" "$TMP/raw.json" raw send -I va --src 10.9.9.1 --dst 10.9.9.9 \
		--dst-mac 02:00:00:00:00:01 --count 100 --timeout 500ms --json
	rc=$?
	t1=$(link_stat va tx_packets "$A")
	[ "$rc" -eq 1 ] || { show "$TMP/raw.json.err"; fail "exit $rc with no carrier, want 1"; return; }
	grep -q "^salvo: raw send: [0-9]* frames still queued after --timeout" "$TMP/raw.json.err" ||
		{ show "$TMP/raw.json.err"; fail "want the line saying the frames stayed queued"; return; }
	read -r sent < <(json_vals "$TMP/raw.json" tx.packets) || { fail "no summary"; return; }
	# What the summary calls sent is what the link counted.
	[ "$sent" = $((t1 - t0)) ] || { fail "sent $sent, link tx_packets $((t1 - t0))"; return; }
}

# handlers_ready PID: salvo catches SIGINT and SIGTERM (bits 1 and 14 of SigCgt).
handlers_ready() {
	local cgt
	cgt=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$cgt" ] && (( (16#$cgt & 0x4002) == 0x4002 ))
}

# registry bench against a port nobody listens on: exit 1, every attempt
# counted failed, and no latency figures made of zeros ("no samples").
test_registry_bench_nothing_joined() {
	local p rc
	p=$(random_port)
	salvo_run "$TMP/rb.txt" registry bench "127.0.0.1:$p" --count 5 -d 2 --timeout 1s
	rc=$?
	[ "$rc" -eq 1 ] || { show "$TMP/rb.txt.err"; fail "exit $rc, want 1"; return; }
	grep -q "(0 error replies, 5 failed)" "$TMP/rb.txt" || { show "$TMP/rb.txt"; fail "not 5 failed"; return; }
	grep -q "no join completed, no samples" "$TMP/rb.txt" && ! grep -q "p50" "$TMP/rb.txt" ||
		{ show "$TMP/rb.txt"; fail "latency percentiles printed without a sample"; return; }
	salvo_run "$TMP/rb.json" registry bench "127.0.0.1:$p" --count 5 -d 2 --timeout 1s --json
	[ "$(json_get "$TMP/rb.json" latency_ns.count)" = 0 ] || { show "$TMP/rb.json"; fail "JSON latency count"; return; }
}

# A run stopped by a signal exits 0 with its summary, even one whose every
# datagram was refused: the figures say so.
test_signal_ends_with_0() {
	local p rc refused
	p=$(random_port)
	salvo_bg "$TMP/sig.json" udp send "127.0.0.1:$p" --rate 1k --duration 30 --json
	busywait 30000 handlers_ready "$SALVO_PID" || { fail "no signal handlers"; return; }
	sleep 1	# some datagrams go out, and are refused
	kill -TERM "$SALVO_PID"
	wait_pid "$SALVO_PID" 10000
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/sig.json.err"; fail "exit $rc after SIGTERM, want 0"; return; }
	read -r refused < <(json_vals "$TMP/sig.json" tx.refused) || { fail "no summary"; return; }
	[ "$(json_get "$TMP/sig.json" interrupted)" = true ] && [ "$refused" -gt 0 ] ||
		{ show "$TMP/sig.json"; fail "want interrupted, refused > 0 (refused $refused)"; return; }
}

[ $# -gt 0 ] && TESTS="$*"
for t in $TESTS; do run_test "$t"; done
exit "$RET"
