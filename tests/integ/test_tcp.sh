#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# salvo tcp send / tcp sink on both stream backends (uring, syscall): byte
# counts equal on both ends over IPv4, IPv6, unix stream and a veth pair
# between two namespaces; the seed's TCP sender; several streams; refused
# connect, port in use, peer reset and SIGINT; the CPU figures against
# time(1); tcp sink --discard and tcp send --splice (exact bytes, every byte
# checked by a Python reader, their labels, the combinations refused).
#
#	sudo SALVO=build/salvo tests/integ/test_tcp.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves these out (lib.sh PLAIN_ONLY): the same stream path over a veth and IPv6;
# and the CPU witness, since ASan's exit (its leak check) burns CPU after the
# summary that time(1) counts and salvo cannot (every other test prints the
# same cpu fields under ASan); and the strace counts, since LeakSanitizer
# cannot run under ptrace (every other test takes the same send and
# receive paths under ASan).
PLAIN_ONLY="test_veth test_loopback_v6 test_cpu_report test_syscalls_per_byte test_uring_sqes_per_byte"
TESTS="
	test_loopback_v4
	test_bytes_python_sink
	test_loopback_v6
	test_unix_stream
	test_unix_path_rules
	test_veth
	test_streams_threads
	test_seed_sender
	test_message
	test_refused
	test_port_in_use
	test_peer_reset
	test_sigint_summary
	test_cpu_report
	test_cpu_phase
	test_syscalls_per_byte
	test_uring_sqes_per_byte
	test_discard
	test_discard_bad
	test_splice
	test_splice_bad
	test_payload_bytes
"
BACKENDS=${BACKENDS:-"uring syscall"}
BYTES=64M
BYTES_N=67108864	# 64M in bytes, written out: the check does not use salvo's parser

# pair NS SINK_ADDR DEST BACKEND [send opts...]: sink --count 1 and a --bytes
# send; both ends count exactly $BYTES_N.
pair() {
	local ns=$1 laddr=$2 dest=$3 b=$4 rpid tx rx
	shift 4
	SALVO_BACKEND=$b salvo_bg -n "$ns" "$TMP/sink.json" tcp sink "$laddr" --count 1 --json -d 30
	rpid=$SALVO_PID
	case $laddr in
	unix:*) wait_unix_bound "${laddr#unix:}" || { fail "$b: sink not bound"; return; } ;;
	*) busywait 10000 tcp_listening "${laddr##*:}" "$ns" || { fail "$b: sink not listening"; return; } ;;
	esac
	SALVO_BACKEND=$b salvo_run -n "$ns" "$TMP/send.json" tcp send "$dest" --bytes $BYTES --json "$@" ||
		{ show "$TMP/send.json" "$TMP/send.json.err"; fail "$b: send failed"; return; }
	busywait 20000 pid_gone "$rpid" ||
		{ sink_state "$rpid"; show "$TMP/sink.json" "$TMP/sink.json.err"; fail "$b: sink did not end"; return; }
	wait "$rpid" || { show "$TMP/sink.json.err"; fail "$b: sink exited $?"; return; }
	tx=$(json_get "$TMP/send.json" tx.bytes) && rx=$(json_get "$TMP/sink.json" rx.bytes) ||
		{ fail "$b: no byte counts"; return; }
	[ "$tx" = "$BYTES_N" ] && [ "$rx" = "$BYTES_N" ] ||
		{ fail "$b: --bytes $BYTES: sent $tx, received $rx, want $BYTES_N both"; return; }
	echo "  $b: $tx bytes both ends"
}
# sink_state PID: where a sink that did not end is (each thread's kernel wait
# and stack, its sockets' queues), for the log; then SIGINT, so its summary
# says what it received (a lost EOF, or a hang on the way out if none comes).
sink_state() {
	local t
	echo "  sink $1 still running; its threads:"
	for t in /proc/"$1"/task/*; do
		echo "  $(basename "$t") $(cut -d' ' -f3 "$t/stat" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)"
		sed 's/^/    /' "$t/stack" 2>/dev/null | head -8
	done
	ss -Hxanp 2>/dev/null | grep -F "pid=$1," | head -5
	ss -Htanp 2>/dev/null | grep -F "pid=$1," | head -5
	kill -INT "$1" 2>/dev/null
	busywait 5000 pid_gone "$1"
}
tcp_listening() { in_ns "${2:-}" ss -Hltn "sport = :$1" | grep -q .; }
tcp_established() { ss -Htn state established "dport = :$1" | grep -q .; }

test_loopback_v4() {
	local b p
	for b in $BACKENDS; do
		p=$(random_port)
		pair "" "127.0.0.1:$p" "127.0.0.1:$p" "$b" || return
	done
}

# --bytes 64M into a plain Python server that counts what it reads until the
# FIN: exactly 67108864, on each backend (a witness salvo does not write).
test_bytes_python_sink() {
	local b p pid got
	for b in $BACKENDS; do
		p=$(random_port)
		bg "$TMP/py-$b.txt" timeout 60 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept(); n = 0
while True:
    x = c.recv(1 << 20)
    if not x: break
    n += len(x)
print(n)' "$p"
		pid=$BG_PID
		busywait 30000 tcp_listening "$p" || { fail "$b: python sink not listening"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/send-$b.json" tcp send "127.0.0.1:$p" --bytes $BYTES --json ||
			{ show "$TMP/send-$b.json.err"; fail "$b: send failed"; return; }
		wait_pid "$pid" 20000 || { show "$TMP/py-$b.txt.err"; fail "$b: python sink saw no close"; return; }
		got=$(cat "$TMP/py-$b.txt")
		[ "$got" = "$BYTES_N" ] || { fail "$b: python sink read ${got:-?} bytes, want $BYTES_N"; return; }
		[ "$(json_get "$TMP/send-$b.json" tx.bytes)" = "$BYTES_N" ] ||
			{ fail "$b: tx.bytes $(json_get "$TMP/send-$b.json" tx.bytes), the sink read $got"; return; }
	done
}

test_loopback_v6() {
	local b p
	for b in $BACKENDS; do
		p=$(random_port)
		pair "" "[::1]:$p" "[::1]:$p" "$b" || return
	done
}

test_unix_stream() {
	local b
	for b in $BACKENDS; do
		pair "" "unix:$TMP/s-$b.sock" "unix:$TMP/s-$b.sock" "$b" || return
	done
}

# The stale-path rule (backends/sock.c) on both stream backends: a file is
# kept, a running sink keeps its path (and sees no connection from the
# second one's probe: --count 1 still ends on the real sender), a killed
# one's socket is reused.
test_unix_path_rules() {
	local b
	for b in $BACKENDS; do
		unix_path_rules "$b" "tcp sink" "--count 1" "tcp send --bytes 1M -q" rx.bytes 1048576 || return
	done
}

test_veth() {
	require_root || return
	setup_ns A B || return
	setup_veth "$A" "$B" 10.77.1.1/24 10.77.1.2/24 || return
	local b p rpid tx rx rb0 rb1
	for b in $BACKENDS; do
		p=$(random_port)
		rb0=$(link_stat veth-b rx_bytes "$B")
		SALVO_BACKEND=$b salvo_bg -n "$B" "$TMP/sink.json" tcp sink "10.77.1.2:$p" --count 1 --json -d 30
		rpid=$SALVO_PID
		busywait 10000 tcp_listening "$p" "$B" || { fail "$b: sink not listening"; return; }
		SALVO_BACKEND=$b salvo_run -n "$A" "$TMP/send.json" tcp send "10.77.1.2:$p" --bytes 32M --json ||
			{ show "$TMP/send.json.err"; fail "$b: send failed"; return; }
		wait_pid "$rpid" 20000 || { fail "$b: sink did not end"; return; }
		tx=$(json_get "$TMP/send.json" tx.bytes); rx=$(json_get "$TMP/sink.json" rx.bytes)
		[ "$tx" = 33554432 ] && [ "$rx" = "$tx" ] || { fail "$b: --bytes 32M: sent $tx, received $rx"; return; }
		# Independent witness: what veth-b received during this run (not the
		# cumulative counter, which the first backend alone would fill): the
		# payload plus headers (Ethernet+IP+TCP with options, ~66 bytes a
		# segment of up to 1448), so between tx and tx + 10%.
		rb1=$(link_stat veth-b rx_bytes "$B")
		py_cmp "$((rb1 - rb0))" ">=" "$tx" && py_cmp "$((rb1 - rb0))" "<=" "$tx * 1.1" ||
			{ fail "$b: veth-b received $((rb1 - rb0)) bytes during a $tx-byte transfer"; return; }
	done
}

test_streams_threads() {
	local b p rpid n
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/sink.json" tcp sink "127.0.0.1:$p" --count 4 --json -d 30
		rpid=$SALVO_PID
		busywait 10000 tcp_listening "$p" || { fail "$b: sink not listening"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/send.json" tcp send "127.0.0.1:$p" --streams 4 --threads 2 --bytes 64M --json ||
			{ show "$TMP/send.json.err"; fail "$b: send failed"; return; }
		wait_pid "$rpid" 20000 || { fail "$b: sink did not end"; return; }
		n=$(json_get "$TMP/sink.json" tcp.connections)
		[ "$n" = 4 ] || { fail "$b: sink saw $n connections"; return; }
		[ "$(json_get "$TMP/send.json" tx.bytes)" = "$(json_get "$TMP/sink.json" rx.bytes)" ] ||
			{ fail "$b: byte counts differ"; return; }
		python3 -c "import json,sys; d=json.load(open(sys.argv[1])); c=d['tcp']['per_connection']; sys.exit(0 if len(c)==4 and sum(x['bytes'] for x in c)==d['rx']['bytes'] else 1)" "$TMP/sink.json" ||
			{ fail "$b: per-connection bytes do not add up"; return; }
	done
}

test_seed_sender() {
	local b p rpid
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/sink.txt" tcp sink "127.0.0.1:$p" --print --count 1 -d 20
		rpid=$SALVO_PID
		busywait 10000 tcp_listening "$p" || { fail "$b: sink not listening"; return; }
		timeout 10 python3 "$SEED/tcp_sender.py" --host 127.0.0.1 --port "$p" || { fail "$b: seed sender failed"; return; }
		wait_pid "$rpid" 10000 || { fail "$b: sink did not end"; return; }
		grep -qx "It said: Hello" "$TMP/sink.txt" || { show "$TMP/sink.txt"; fail "$b: no 'It said: Hello'"; return; }
		grep -q "^Got connection from: 127.0.0.1:" "$TMP/sink.txt" || { fail "$b: no connection line"; return; }
	done
}

# Our sender against a plain Python server: the bytes arrive, the connection closes.
test_message() {
	local b p pid
	for b in $BACKENDS; do
		p=$(random_port)
		bg "$TMP/py.txt" timeout 10 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); d = b""
while True:
    x = c.recv(100)
    if not x: break
    d += x
print(d.decode())' "$p"
		pid=$BG_PID
		busywait 30000 tcp_listening "$p" || { fail "$b: python server"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/send.txt" tcp send "127.0.0.1:$p" --message "Hello from salvo" ||
			{ show "$TMP/send.txt.err"; fail "$b: send failed"; return; }
		wait_pid "$pid" 5000 || { fail "$b: server saw no close"; return; }
		grep -qx "Hello from salvo" "$TMP/py.txt" || { show "$TMP/py.txt"; fail "$b: message did not arrive"; return; }
	done
}

test_refused() {
	local b p
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_run "$TMP/r.txt" tcp send "127.0.0.1:$p" --bytes 1M --timeout 2s && { fail "$b: succeeded"; return; }
		[ "$(count_lines "$TMP/r.txt.err")" = 1 ] && grep -q "Connection refused" "$TMP/r.txt.err" ||
			{ show "$TMP/r.txt.err"; fail "$b: not one 'Connection refused' line"; return; }
	done
}

test_port_in_use() {
	local b p
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/a.txt" tcp sink "127.0.0.1:$p" -d 10
		busywait 10000 tcp_listening "$p" || { fail "$b: first sink"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/b.txt" tcp sink "127.0.0.1:$p" -d 2 && { fail "$b: second sink bound"; return; }
		grep -q "Address already in use" "$TMP/b.txt.err" || { show "$TMP/b.txt.err"; fail "$b: no 'in use' line"; return; }
		cleanup_test
	done
}

# A server that resets every connection: the sender ends with one error line, no hang.
test_peer_reset() {
	local b p pid
	for b in $BACKENDS; do
		p=$(random_port)
		bg "$TMP/py.txt" timeout 20 python3 -c '
import socket, struct, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept(); c.recv(65536); time.sleep(0.2)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()' "$p"
		busywait 30000 tcp_listening "$p" || { fail "$b: python server"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/r.json" tcp send "127.0.0.1:$p" -d 10 --json --timeout 3s && { fail "$b: succeeded"; return; }
		grep -qiE "reset|broken pipe" "$TMP/r.json.err" || { show "$TMP/r.json.err"; fail "$b: no reset line"; return; }
		json_ok "$TMP/r.json" || { fail "$b: no JSON summary"; return; }
		cleanup_test
	done
}

test_sigint_summary() {
	local b p spid rpid
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/sink.txt" tcp sink "127.0.0.1:$p" -d 30
		rpid=$SALVO_PID
		busywait 10000 tcp_listening "$p" || { fail "$b: sink"; return; }
		SALVO_BACKEND=$b salvo_bg "$TMP/send.txt" tcp send "127.0.0.1:$p" -d 30
		spid=$SALVO_PID
		# mid-run: once the connection is up (not a fixed sleep)
		busywait 10000 tcp_established "$p" || { show "$TMP/send.txt.err"; fail "$b: sender never connected"; return; }
		kill -INT "$spid"
		wait_pid "$spid" 10000 || { fail "$b: sender did not stop on SIGINT"; return; }
		grep -q "(interrupted)" "$TMP/send.txt" && grep -q "^  tx: " "$TMP/send.txt" ||
			{ show "$TMP/send.txt" "$TMP/send.txt.err"; fail "$b: no interrupted summary"; return; }
		kill -INT "$rpid"
		wait_pid "$rpid" 10000 || { fail "$b: sink did not stop on SIGINT"; return; }
		grep -q "connections: 1" "$TMP/sink.txt" || { show "$TMP/sink.txt"; fail "$b: sink summary"; return; }
	done
}

# timed OUT ARGS...: salvo ARGS with stdout to OUT, stderr to OUT.err, and
# bash's own `time` (user and system seconds of the whole process, from
# wait4's rusage: the kernel's count, not salvo's) to OUT.time.
timed() {
	local out=$1
	shift
	salvo_cmd "$@"
	bash -c 'TIMEFORMAT="%3U %3S"; out=$1; shift
		{ time timeout -s KILL 60 "$@" >"$out" 2>"$out.err"; } 2>"$out.time"' _ "$out" "${SALVO_ARGV[@]}"
}

# cpu_close JSON TIMEFILE WHAT: salvo's tcp.cpu_process_user_s and
# cpu_process_sys_s against what time(1) saw, each within 50 ms + 10% (salvo
# reads its rusage when it prints, so the exit's own work is not in it); the
# data phase's cpu_s is user + sys and at most the process's;
# cpu_s_per_gb = cpu_s / GB moved.
cpu_close() {
	python3 - "$1" "$2" "$3" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1])); t = d["tcp"]
u, s = (float(x) for x in open(sys.argv[2]).read().split())
moved = d["rx"]["bytes"] if "rx" in d else d["tx"]["bytes"]
bad = []
for k, w in (("cpu_process_user_s", u), ("cpu_process_sys_s", s)):
    if abs(t[k] - w) > 0.05 + 0.1 * w:
        bad.append("%s %.3f, time(1) %.3f" % (k, t[k], w))
for p in ("", "process_"):
    if abs(t["cpu_%ss" % p] - (t["cpu_%suser_s" % p] + t["cpu_%ssys_s" % p])) > 1e-6:
        bad.append("cpu_%ss %.6f is not user + sys" % (p, t["cpu_%ss" % p]))
for k in ("cpu_s", "cpu_user_s", "cpu_sys_s"):
    if not 0 <= t[k] <= t[k.replace("cpu_", "cpu_process_")] + 1e-6:
        bad.append("%s %.6f is outside [0, the process's]" % (k, t[k]))
if abs(t["cpu_s_per_gb"] - t["cpu_s"] / (moved / 1e9)) > 1e-6 * max(1, t["cpu_s_per_gb"]):
    bad.append("cpu_s_per_gb %r for %.6f s over %d bytes" % (t["cpu_s_per_gb"], t["cpu_s"], moved))
if u + s < 0.02:
    bad.append("the run cost %.3f s: too little to compare" % (u + s))
if bad:
    print("  %s: %s" % (sys.argv[3], "; ".join(bad)))
    sys.exit(1)
print("  %s: salvo %.3f+%.3f s, time(1) %.3f+%.3f s" % (sys.argv[3], t["cpu_process_user_s"], t["cpu_process_sys_s"], u, s))
EOF2
}

# cpu_pair BACKEND TAG BYTES PAUSE RUN: a timed JSON sink ($TMP/TAGsink-B.json)
# for one connection, PAUSE seconds, then RUN (timed or salvo_run) a sender
# of BYTES into it ($TMP/TAGsend-B.json); waits for the sink to end.
cpu_pair() {
	local b=$1 tag=$2 bytes=$3 pause=$4 run=$5 p spid
	p=$(random_port)
	SALVO_BACKEND=$b bg "$TMP/${tag}sinkrun" timed "$TMP/${tag}sink-$b.json" tcp sink "127.0.0.1:$p" --count 1 --json -d 30
	spid=$BG_PID
	busywait 10000 tcp_listening "$p" || { fail "$b: sink not listening"; return 1; }
	[ "$pause" = 0 ] || sleep "$pause"
	SALVO_BACKEND=$b "$run" "$TMP/${tag}send-$b.json" tcp send "127.0.0.1:$p" --bytes "$bytes" --json ||
		{ show "$TMP/${tag}send-$b.json.err"; fail "$b: send failed"; return 1; }
	wait_pid "$spid" 20000 || { fail "$b: sink did not end"; return 1; }
}

# Both ends report their CPU time: against bash's `time` on the same process
# (wait4's rusage), text and JSON.
test_cpu_report() {
	local b p
	for b in $BACKENDS; do
		cpu_pair "$b" "" 128M 0 timed || return
		cpu_close "$TMP/send-$b.json" "$TMP/send-$b.json.time" "$b send" || { fail "$b: sender's cpu"; return; }
		cpu_close "$TMP/sink-$b.json" "$TMP/sink-$b.json.time" "$b sink" || { fail "$b: sink's cpu"; return; }
	done
	p=$(random_port)
	salvo_bg "$TMP/sink.txt" tcp sink "127.0.0.1:$p" --count 1 -d 30
	busywait 10000 tcp_listening "$p" || { fail "text: sink not listening"; return; }
	salvo_run "$TMP/send.txt" tcp send "127.0.0.1:$p" --bytes 1M || { fail "text: send failed"; return; }
	wait_pid "$SALVO_PID" 20000 || { fail "text: sink did not end"; return; }
	local f
	for f in "$TMP/send.txt" "$TMP/sink.txt"; do
		grep -qE '^  cpu: [0-9.]+ s \(user [0-9.]+, sys [0-9.]+, data phase of [0-9.]+ s\), [0-9.]+ s per GB; whole process [0-9.]+ s \(user [0-9.]+, sys [0-9.]+\)$' "$f" ||
			{ show "$f"; fail "no cpu line in $(basename "$f")"; return; }
	done
}

# The data phase leaves out the wait for the peer: a sink started 1.5 s
# before its sender (the test's own sleep is the witness of that wait)
# reports a phase (cpu_phase_s) shorter than the wait, and less CPU than
# the whole process (start-up is outside the phase); the same for the
# sender, whose phase starts at its connect.
test_cpu_phase() {
	local b
	for b in $BACKENDS; do
		cpu_pair "$b" p 16M 1.5 salvo_run || return
		python3 - "$TMP/psink-$b.json" "$TMP/psend-$b.json" "$b" <<'EOF2' || { fail "$b: data phase"; return; }
import json, sys
bad = []
for path, who in ((sys.argv[1], "sink"), (sys.argv[2], "send")):
    t = json.load(open(path))["tcp"]
    if not 0 < t["cpu_phase_s"] < 1.0:
        bad.append("%s: data phase %.3f s, not inside (0, 1) s" % (who, t["cpu_phase_s"]))
    if not 0 <= t["cpu_s"] < t["cpu_process_s"]:
        bad.append("%s: phase cpu %.6f s, process %.6f s" % (who, t["cpu_s"], t["cpu_process_s"]))
if bad:
    print("  %s: %s" % (sys.argv[3], "; ".join(bad)))
    sys.exit(1)
EOF2
	done
}

# strace_counts FILE: "CALL COUNT" lines from a strace -c -o FILE table.
strace_counts() {
	# Columns: % time, seconds, usecs/call, calls, [errors], syscall.
	awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $NF, $4 }' "$1"
}

# System calls per byte on the syscall backend, counted by strace (the
# kernel's view, not salvo's): the sender hands consecutive messages of one
# connection to one sendmsg (64 MiB in 128 KiB messages: at most 64 + 8
# calls, not 512; with two streams on one thread too, each taking an equal
# run of the burst, and each at least a quarter of the bytes), and the sink reads a connection again after a full
# buffer instead of waiting in epoll_wait before every recv (fewer
# epoll_waits than recvs; the traced sink is the slower side, so its reads
# fill). Bytes and messages stay exact.
test_syscalls_per_byte() {
	local p spid
	p=$(random_port)
	SALVO_BACKEND=syscall salvo_cmd tcp sink "127.0.0.1:$p" --count 1 --json -d 30
	bg "$TMP/ssink.json" strace -f -c -o "$TMP/ssink.strace" -e trace=recvfrom,epoll_wait \
		"${SALVO_ARGV[@]}"
	spid=$BG_PID
	busywait 10000 tcp_listening "$p" || { fail "sink not listening"; return; }
	SALVO_BACKEND=syscall salvo_cmd tcp send "127.0.0.1:$p" --bytes 64M --json
	timeout -s KILL 60 strace -f -c -o "$TMP/ssend.strace" -e trace=sendto,sendmsg \
		"${SALVO_ARGV[@]}" >"$TMP/ssend.json" 2>"$TMP/ssend.err" || { show "$TMP/ssend.err"; fail "send failed"; return; }
	wait_pid "$spid" 20000 || { fail "sink did not end"; return; }
	# Two streams on one thread: each connection takes a run of the burst.
	p=$(random_port)
	SALVO_BACKEND=syscall salvo_bg "$TMP/psink2.json" tcp sink "127.0.0.1:$p" --count 2 --json -d 30
	busywait 10000 tcp_listening "$p" || { fail "sink 2 not listening"; return; }
	SALVO_BACKEND=syscall salvo_cmd tcp send "127.0.0.1:$p" --bytes 64M -P 2 --json
	timeout -s KILL 60 strace -f -c -o "$TMP/p2send.strace" -e trace=sendto,sendmsg \
		"${SALVO_ARGV[@]}" >"$TMP/p2send.json" 2>"$TMP/p2send.err" || { show "$TMP/p2send.err"; fail "send -P 2 failed"; return; }
	wait_pid "$SALVO_PID" 20000 || { fail "sink 2 did not end"; return; }
	python3 - "$TMP/psink2.json" <(strace_counts "$TMP/p2send.strace") <<'EOF2' || { fail "system calls, 2 streams"; return; }
import json, sys
d = json.load(open(sys.argv[1])); rx = d["rx"]
snd = dict((l.split()[0], int(l.split()[1])) for l in open(sys.argv[2]))
per = sorted(c["bytes"] for c in d["tcp"]["per_connection"])
sends = snd.get("sendto", 0) + snd.get("sendmsg", 0)
print("  2 streams: sender %r, per connection %r" % (snd, per))
if rx["bytes"] != 64 << 20 or rx["packets"] != 512 or rx.get("lost") or sum(per) != 64 << 20 or per[0] < 16 << 20 \
        or not 64 <= sends <= 80:
    sys.exit(1)
EOF2
	python3 - "$TMP/ssend.json" "$TMP/ssink.json" <(strace_counts "$TMP/ssend.strace") \
		<(strace_counts "$TMP/ssink.strace") <<'EOF2' || fail "system calls"
import json, sys
tx = json.load(open(sys.argv[1]))["tx"]; rx = json.load(open(sys.argv[2]))["rx"]
snd = dict((l.split()[0], int(l.split()[1])) for l in open(sys.argv[3]))
rcv = dict((l.split()[0], int(l.split()[1])) for l in open(sys.argv[4]))
bad = []
if tx["bytes"] != 64 << 20 or rx["bytes"] != 64 << 20 or rx["packets"] != 512 or rx.get("lost"):
    bad.append("bytes %d/%d, packets %d, lost %r" % (tx["bytes"], rx["bytes"], rx["packets"], rx.get("lost")))
sends = snd.get("sendto", 0) + snd.get("sendmsg", 0)
if not 64 <= sends <= 72:
    bad.append("sender: %d send calls for 64 MiB" % sends)
if not 0 < rcv.get("epoll_wait", 0) < rcv.get("recvfrom", 0):
    bad.append("sink: %r" % rcv)
print("  sender %r; sink %r" % (snd, rcv))
if bad:
    print("  " + "; ".join(bad))
    sys.exit(1)
EOF2
}

# uring_perf_pair TAG COUNT BYTES [send opts...]: a uring sink taking COUNT
# connections and a uring `tcp send --bytes BYTES`, each under perf stat
# counting $URING_EV; TAG names the files.  SALVO_URING_REFUSE passes through.
URING_EV=io_uring:io_uring_submit_req,io_uring:io_uring_complete
uring_perf_pair() {
	local tag=$1 count=$2 bytes=$3 p spid
	shift 3
	p=$(random_port)
	SALVO_BACKEND=uring salvo_cmd tcp sink "127.0.0.1:$p" --count "$count" --json -d 30
	bg "$TMP/$tag.sink.json" perf stat -e $URING_EV -x, -o "$TMP/$tag.sink.perf" "${SALVO_ARGV[@]}"
	spid=$BG_PID
	busywait 10000 tcp_listening "$p" || { fail "$tag: sink not listening"; return 1; }
	SALVO_BACKEND=uring salvo_cmd tcp send "127.0.0.1:$p" --bytes "$bytes" --json "$@"
	timeout -s KILL 60 perf stat -e $URING_EV -x, -o "$TMP/$tag.perf" "${SALVO_ARGV[@]}" \
		>"$TMP/$tag.send.json" 2>"$TMP/$tag.send.err" ||
		{ show "$TMP/$tag.send.err"; fail "$tag: send failed"; return 1; }
	wait_pid "$spid" 20000 || { fail "$tag: sink did not end"; return 1; }
}

# The uring sender's SQEs, counted by the kernel: perf stat on the
# io_uring:io_uring_submit_req tracepoint (one event per request the kernel
# takes) around `tcp send -b uring --bytes 256M`.  One SENDMSG per run of up
# to 8 messages (1 MiB) is ~256 requests plus the connect; one SEND per
# 128 KiB message was 2057.  The sink's CQEs (io_uring:io_uring_complete):
# a receive fills its 128 KiB buffer while the sender outruns it, ~2050 per
# 256 MiB (64 KiB buffers took 4107; bound 3000, a margin for receives that
# find less queued).  Each sink counts every byte and message, stamps
# in sequence: one stream; two streams on one thread (each gets its share in
# runs; 64 MiB was 526 SQEs); and sends without MSG_WAITALL
# (SALVO_URING_REFUSE=waitall), where a full socket buffer ends a run short
# and the next send resumes inside it (exact bytes and stamps prove the resume).
test_uring_sqes_per_byte() {
	command -v perf >/dev/null || { skip "no perf (Debian package linux-perf)"; return; }
	perf stat -e $URING_EV -x, -o "$TMP/probe.perf" true 2>"$TMP/probe.err" ||
		{ skip "perf cannot count $URING_EV (tracefs or io_uring tracepoints missing): $(head -1 "$TMP/probe.err")"; return; }
	uring_perf_pair one 1 256M || return
	uring_perf_pair two 2 64M -P 2 || return
	SALVO_URING_REFUSE=waitall uring_perf_pair short 1 64M || return
	python3 - "$TMP" <<'EOF2' || fail "SQEs per byte"
import json, sys
def count(path, ev):
    for l in open(path):
        f = l.strip().split(",")
        if len(f) > 2 and f[2] == "io_uring:io_uring_" + ev:
            return int(f[0])
    sys.exit("no %s count in %s" % (ev, path))
bad = []
for tag, mib, conns, bound in (("one", 256, 1, 700), ("two", 64, 2, 200), ("short", 64, 1, None)):
    tx = json.load(open("%s/%s.send.json" % (sys.argv[1], tag)))["tx"]
    sink = json.load(open("%s/%s.sink.json" % (sys.argv[1], tag)))
    rx, n, want = sink["rx"], count("%s/%s.perf" % (sys.argv[1], tag), "submit_req"), mib << 20
    cqes = count("%s/%s.sink.perf" % (sys.argv[1], tag), "complete")
    per = sorted(c["bytes"] for c in sink["tcp"]["per_connection"])
    print("  %s: %d MiB, %d stream(s): %s; sent %d, received %d in %d messages, lost %r, per connection %r"
          % (tag, mib, conns, ("%d SQEs" % n if bound else "-") + (", sink %d CQEs" % cqes if tag == "one" else ""), tx["bytes"],
             rx["bytes"], rx["packets"], rx.get("lost"), per))
    if tag == "one" and not 0 < cqes <= 3000:
        bad.append("sink: %d CQEs for 256 MiB, want 1..3000" % cqes)
    if tx["bytes"] != want or rx["bytes"] != want or tx["packets"] != want >> 17 or \
            rx["packets"] != want >> 17 or rx.get("lost") or rx.get("unstamped") or \
            rx.get("reordered") or len(per) != conns or sum(per) != want or per[0] < want // (4 * conns):
        bad.append("%s: counts wrong" % tag)
    if bound and not 0 < n <= bound:
        bad.append("%s: %d SQEs for %d MiB, want 1..%d" % (tag, n, mib, bound))
if bad:
    print("  " + "; ".join(bad))
    sys.exit(1)
EOF2
}

# tcp sink --discard on each backend: the byte count is exact against two
# senders (salvo's tx.bytes, and a Python sendall of a size salvo does not
# choose), the report says discard and "not comparable", and the stamp and
# latency fields are absent, not zero.
test_discard() {
	local b p rpid n=33554433
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/sink-$b.json" tcp sink "127.0.0.1:$p" --discard --count 2 --json -d 30
		rpid=$SALVO_PID
		busywait 10000 tcp_listening "$p" || { fail "$b: sink not listening"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/send-$b.json" tcp send "127.0.0.1:$p" --bytes $BYTES --json ||
			{ show "$TMP/send-$b.json.err"; fail "$b: send failed"; return; }
		timeout 20 python3 -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
n = int(sys.argv[2]); b = bytes(range(256)) * 4096
while n:
    k = min(n, len(b)); c.sendall(b[:k]); n -= k
c.close()' "$p" "$n" || { fail "$b: python sender failed"; return; }
		wait_pid "$rpid" 20000 || { show "$TMP/sink-$b.json.err"; fail "$b: sink did not end"; return; }
		python3 - "$TMP/sink-$b.json" "$(json_get "$TMP/send-$b.json" tx.bytes)" "$n" "$b" <<'EOF2' || { fail "$b: discard report"; return; }
import json, sys
d = json.load(open(sys.argv[1])); sent = int(sys.argv[2]) + int(sys.argv[3])
t = d["tcp"]; rx = d["rx"]; bad = []
if rx["bytes"] != sent: bad.append("rx.bytes %d, the senders sent %d" % (rx["bytes"], sent))
if int(sys.argv[2]) != 67108864: bad.append("salvo sent %s" % sys.argv[2])
per = sorted(c["bytes"] for c in t["per_connection"])
if per != sorted([int(sys.argv[2]), int(sys.argv[3])]): bad.append("per connection %r" % per)
if t.get("discard") is not True: bad.append("tcp.discard %r" % t.get("discard"))
if "not comparable with copying receivers" not in t.get("throughput_note", ""): bad.append("no throughput note")
for k in ("lost", "reordered", "duplicates", "unstamped", "flows", "sessions"):
    if k in rx: bad.append("rx.%s present" % k)
if "latency_ns" in d: bad.append("latency_ns present")
if bad: print("  %s: %s" % (sys.argv[4], "; ".join(bad))); sys.exit(1)
print("  %s: %d bytes discarded, as sent" % (sys.argv[4], rx["bytes"]))
EOF2
	done
	p=$(random_port)
	salvo_bg "$TMP/sink.txt" tcp sink "127.0.0.1:$p" --discard --count 1 -d 30
	busywait 10000 tcp_listening "$p" || { fail "text: sink not listening"; return; }
	salvo_run "$TMP/send.txt" tcp send "127.0.0.1:$p" --bytes 1M || { fail "text: send failed"; return; }
	wait_pid "$SALVO_PID" 20000 || { fail "text: sink did not end"; return; }
	grep -q "^  discard: .*not comparable with copying receivers" "$TMP/sink.txt" &&
		! grep -qE "^  (one-way latency|lost)" "$TMP/sink.txt" ||
		{ show "$TMP/sink.txt"; fail "text: no discard label, or latency/loss lines"; return; }
}

# --discard with what cannot honour it: exit 2 and one line.
test_discard_bad() {
	local args
	for args in "--discard --print 0" "--discard unix:$TMP/d.sock"; do
		# shellcheck disable=SC2086
		salvo_run "$TMP/bad.txt" tcp sink $args -d 1
		[ $? = 2 ] && [ "$(count_lines "$TMP/bad.txt.err")" = 1 ] ||
			{ show "$TMP/bad.txt.err"; fail "tcp sink $args: not exit 2 with one line"; return; }
	done
}

# pattern_reader PORT OUT: a Python server (pid in $BG_PID) that reads one
# connection to its end and writes "BYTES BAD" to OUT: BAD counts 64 KiB
# chunks that differ from salvo's unstamped payload, messages of 128 KiB
# each holding "salvo-stream-" repeated from its start.
pattern_reader() {
	local p=$1 out=$2
	bg "$out" timeout 60 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept(); size = 131072
msg = (b"salvo-stream-" * (size // 13 + 1))[:size]
n = bad = 0; buf = bytearray(4 << 20)
while True:
    k = c.recv_into(buf)
    if not k: break
    for i in range(0, k, 65536):
        j = min(k, i + 65536); o = (n + i) % size
        want = (msg + msg)[o:o + j - i]
        if buf[i:j] != want: bad += 1
    n += k
print(n, bad)' "$p"
}

# tcp send --splice (sendfile from a memfd): the default backend is one with
# the splice capability; exact bytes over IPv4 into a Python reader that also
# checks every byte (each message is the memfd's pattern from its start, the
# last one cut short: partial sends resume at the right offset), and over
# IPv6 and a unix stream into salvo's sink.
test_splice() {
	local p pid n=8388609 dst
	p=$(random_port)
	pattern_reader "$p" "$TMP/py.txt"
	pid=$BG_PID
	busywait 30000 tcp_listening "$p" || { fail "python sink not listening"; return; }
	salvo_run "$TMP/send.json" tcp send "127.0.0.1:$p" --splice --bytes $n --json ||
		{ show "$TMP/send.json.err"; fail "v4: send failed"; return; }
	wait_pid "$pid" 30000 || { fail "python sink saw no close"; return; }
	[ "$(cat "$TMP/py.txt")" = "$n 0" ] && [ "$(json_get "$TMP/send.json" tx.bytes)" = "$n" ] ||
		{ show "$TMP/py.txt"; fail "v4: python read '$(cat "$TMP/py.txt")' (bytes, bad chunks), salvo sent $(json_get "$TMP/send.json" tx.bytes), want $n 0"; return; }
	[ "$(json_get "$TMP/send.json" tcp.splice)" = true ] && [ "$(json_get "$TMP/send.json" backend)" = syscall ] ||
		{ fail "v4: no tcp.splice, or not the syscall backend"; return; }
	echo "  v4: $n bytes, each as the memfd holds it"
	for dst in "[::1]:$(random_port)" "unix:$TMP/splice.sock"; do
		salvo_bg "$TMP/sink.json" tcp sink "$dst" --count 1 --json -d 30
		pid=$SALVO_PID
		case $dst in
		unix:*) wait_unix_bound "${dst#unix:}" || { fail "$dst: sink not bound"; return; } ;;
		*) busywait 10000 tcp_listening "${dst##*:}" || { fail "$dst: sink not listening"; return; } ;;
		esac
		salvo_run "$TMP/send.txt" tcp send "$dst" --splice --bytes $n ||
			{ show "$TMP/send.txt.err"; fail "$dst: send failed"; return; }
		wait_pid "$pid" 20000 || { fail "$dst: sink did not end"; return; }
		[ "$(json_get "$TMP/sink.json" rx.bytes)" = "$n" ] && grep -q "tx: .* $n bytes" "$TMP/send.txt" ||
			{ show "$TMP/send.txt"; fail "$dst: sink got $(json_get "$TMP/sink.json" rx.bytes), want $n"; return; }
		grep -q "^  splice: payload sent from a memfd with sendfile(2); messages unstamped" "$TMP/send.txt" ||
			{ show "$TMP/send.txt"; fail "$dst: no splice note"; return; }
		echo "  $dst: $n bytes both ends"
	done
}

# --splice with what cannot honour it: exit 2 and one line; a backend
# without the splice capability fails with one line naming --splice.
test_splice_bad() {
	local args
	for args in "--message hi" "--zerocopy" "--server 127.0.0.1"; do
		# shellcheck disable=SC2086
		salvo_run "$TMP/bad.txt" tcp send 127.0.0.1:1 --splice $args
		[ $? = 2 ] && [ "$(count_lines "$TMP/bad.txt.err")" = 1 ] ||
			{ show "$TMP/bad.txt.err"; fail "tcp send --splice $args: not exit 2 with one line"; return; }
	done
	salvo_run "$TMP/bad.txt" tcp send -b uring 127.0.0.1:1 --splice --bytes 1M && { fail "uring took --splice"; return; }
	[ "$(count_lines "$TMP/bad.txt.err")" = 1 ] && grep -q -- "--splice" "$TMP/bad.txt.err" ||
		{ show "$TMP/bad.txt.err"; fail "-b uring --splice: not one line naming --splice"; return; }
}

# Copy mode, --no-stamp: every byte on the wire is the payload pattern (each
# worker writes it into its buffers once), on each backend.
test_payload_bytes() {
	local b p pid n=8388609
	for b in $BACKENDS; do
		p=$(random_port)
		pattern_reader "$p" "$TMP/py-$b.txt"
		pid=$BG_PID
		busywait 30000 tcp_listening "$p" || { fail "$b: python sink not listening"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/send-$b.json" tcp send "127.0.0.1:$p" --no-stamp --bytes $n --json ||
			{ show "$TMP/send-$b.json.err"; fail "$b: send failed"; return; }
		wait_pid "$pid" 30000 || { fail "$b: python sink saw no close"; return; }
		[ "$(cat "$TMP/py-$b.txt")" = "$n 0" ] ||
			{ fail "$b: python read '$(cat "$TMP/py-$b.txt")' (bytes, bad chunks), want '$n 0'"; return; }
	done
}

[ $# -gt 0 ] && TESTS="$*"
for t in $TESTS; do run_test "$t"; done
exit "$RET"
