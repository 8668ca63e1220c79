#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Faults while salvo runs: the sending interface goes down (af_packet,
# af_xdp); SIGINT/SIGTERM at random moments of six commands and of a
# two-stream profile (salvo run); 1000 silent
# registry connections; a UDP receiver and a TCP sink that die mid-run;
# raw send --user.  Each run is bounded; every check says what was left
# behind (process, XDP program, socket file).
#
#	sudo SALVO=build/salvo tests/integ/test_faults.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_link_down_af_packet
	test_link_down_af_xdp
	test_signals_random
	test_profile_signal
	test_registry_silent_conns
	test_udp_receiver_killed
	test_tcp_sink_killed
	test_raw_user
"
[ $# -gt 0 ] && TESTS="$*"

SIGNAL_RUNS=${SIGNAL_RUNS:-12}

# Two namespaces A (10.81.0.1, veth-a) and B (10.81.0.2, veth-b), MACs known.
setup_pair() {
	setup_ns NA NB || return
	setup_veth "$NA" "$NB" 10.81.0.1/24 10.81.0.2/24 || return
	MAC_B=$(ip -n "$NB" -j link show dev veth-b | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
}

sent_some() { [ "$(link_stat veth-a tx_packets "$NA")" -gt 100 ]; }
no_xdp() { ! ip -n "$1" -d link show dev "$2" | grep -qw xdp; }

# handlers_ready PID: the process is salvo (exec done) and catches SIGINT and SIGTERM.
handlers_ready() {
	local cgt
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = salvo ] || return 1
	cgt=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$cgt" ] || return 1
	# bit 1: SIGINT (2), bit 14: SIGTERM (15)
	(( (16#$cgt & 0x4002) == 0x4002 ))
}

# The interface under a sender goes down: one line, exit 1, quickly, nothing left.
link_down() {
	local be=$1 rc t0 t1
	require_root || return
	setup_pair || return
	salvo_bg -n "$NA" "$TMP/s.json" raw send --backend "$be" -I veth-a --dst 10.81.0.2 \
		--dst-mac "$MAC_B" --rate 10k -d 30 --json
	busywait 10000 sent_some || { show "$TMP/s.json.err"; fail "$be: nothing sent"; return; }
	ip -n "$NA" link set veth-a down || { fail "link down"; return; }
	t0=$(date +%s%3N)
	wait_pid "$SALVO_PID" 10000
	rc=$?
	t1=$(date +%s%3N)
	[ "$rc" -eq 1 ] || { show "$TMP/s.json.err"; fail "$be: exit $rc (want 1)"; return; }
	[ $((t1 - t0)) -le 5000 ] || { fail "$be: took $((t1 - t0)) ms to exit"; return; }
	[ "$(count_lines "$TMP/s.json.err")" -eq 1 ] && grep -q "veth-a went down" "$TMP/s.json.err" ||
		{ show "$TMP/s.json.err"; fail "$be: not one clear line"; return; }
	json_ok "$TMP/s.json" || { show "$TMP/s.json"; fail "$be: no JSON summary"; return; }
	no_xdp "$NA" veth-a || { fail "$be: XDP program left on veth-a"; return; }
	[ -z "$(ip netns pids "$NA")" ] || fail "$be: processes left in $NA: $(ip netns pids "$NA")"
}

test_link_down_af_packet() { link_down af_packet; }
test_link_down_af_xdp() { link_down af_xdp; }

# SIGINT/SIGTERM, at 0..300 ms after the handlers are in place, to six
# commands in turn: exit 0 within 3 s, summary printed, nothing left.
test_signals_random() {
	require_root || return
	setup_pair || return
	local sink=$TMP/sink.sock sinkpid i k sig json out rc t0 t1 port cmd sock
	local names=("udp send" "udp recv" "tcp send" "tcp sink" "raw send" "registry serve")
	# the peer of tcp send: a sink that outlives every run
	salvo_bg -n "$NA" "$TMP/longsink.out" tcp sink "unix:$sink" -d 300 -q
	sinkpid=$SALVO_PID
	wait_unix_bound "$sink" || { fail "tcp sink did not bind"; return; }
	for ((i = 0; i < SIGNAL_RUNS; i++)); do
		k=$((i % 6))
		sig=$([ $(((i / 6) % 2)) -eq 0 ] && echo INT || echo TERM)
		json=$([ $((i % 2)) -eq 0 ] && echo --json)
		out=$TMP/sig.$i
		port=$(random_port)
		sock=$TMP/s$i.sock
		case $k in
		0) cmd=(udp send "127.0.0.1:$port" --rate 20k -d 30) ;;
		1) cmd=(udp recv "unix:$sock" -d 30) ;;
		2) cmd=(tcp send "unix:$sink" -d 30) ;;
		3) cmd=(tcp sink "unix:$sock" -d 30) ;;
		4) cmd=(raw send --backend af_xdp -I veth-a --dst 10.81.0.2 --dst-mac "$MAC_B" --rate 10k -d 30) ;;
		5) cmd=(registry serve "unix:$sock" -d 30) ;;
		esac
		salvo_bg -n "$NA" "$out" "${cmd[@]}" $json -q
		busywait 10000 handlers_ready "$SALVO_PID" ||
			{ show "$out.err"; fail "run $i (${names[k]}): no signal handlers"; return; }
		sleep "0.$(printf '%03d' $((RANDOM % 301)))"
		t0=$(date +%s%3N)
		kill -"$sig" "$SALVO_PID"
		wait_pid "$SALVO_PID" 3000
		rc=$?
		t1=$(date +%s%3N)
		[ "$rc" -eq 0 ] || { show "$out" "$out.err"; fail "run $i (${names[k]}, SIG$sig): exit $rc"; return; }
		[ $((t1 - t0)) -le 3000 ] || { fail "run $i (${names[k]}): $((t1 - t0)) ms to exit"; return; }
		if [ -n "$json" ]; then
			[ "$(json_get "$out" interrupted)" = true ] ||
				{ show "$out"; fail "run $i (${names[k]}, SIG$sig): JSON not interrupted=true"; return; }
		else
			grep -q "^salvo ${names[k]}:" "$out" ||
				{ show "$out" "$out.err"; fail "run $i (${names[k]}, SIG$sig): no summary line"; return; }
		fi
		[ ! -e "$sock" ] || { fail "run $i (${names[k]}): socket file $sock left"; return; }
		no_xdp "$NA" veth-a || { fail "run $i (${names[k]}): XDP program left on veth-a"; return; }
	done
	kill -INT "$sinkpid"
	wait_pid "$sinkpid" 5000 || { fail "long tcp sink exit"; return; }
	[ ! -e "$sink" ] || { fail "socket file $sink left"; return; }
	[ -z "$(ip netns pids "$NA")" ] || { fail "processes left in $NA: $(ip netns pids "$NA")"; return; }
	local ns=$NA
	cleanup_test
	! ip netns list | grep -qw "$ns" || fail "namespace $ns left"
}

# salvo run: SIGINT/SIGTERM ends every stream of a profile (one run driver
# for commands and profiles), each summary says interrupted, exit 0, quickly.
# Loopback only: the datagrams go to a port nobody listens on.
test_profile_signal() {
	local port prof=$TMP/p.json out sig rc t0 t1 i
	port=$(random_port)
	cat >"$prof" <<EOF
{ "duration": "30s", "streams": [
  { "name": "a", "type": "udp", "dst": "127.0.0.1:$port", "size": 100, "rate": "2000" },
  { "name": "b", "type": "udp", "dst": "127.0.0.1:$port", "size": 300, "rate": "1000", "threads": 2, "flows": 2 } ] }
EOF
	for sig in INT TERM; do
		out=$TMP/prof.$sig
		# no -b: a profile names its backends itself
		SALVO_BACKEND= salvo_bg "$out" run "$prof" --json
		busywait 10000 handlers_ready "$SALVO_PID" ||
			{ show "$out.err"; fail "SIG$sig: no signal handlers"; return; }
		sleep "0.$((200 + RANDOM % 300))"
		t0=$(date +%s%3N)
		kill -"$sig" "$SALVO_PID"
		wait_pid "$SALVO_PID" 3000
		rc=$?
		t1=$(date +%s%3N)
		[ "$rc" -eq 0 ] || { show "$out" "$out.err"; fail "SIG$sig: exit $rc"; return; }
		[ $((t1 - t0)) -le 3000 ] || { fail "SIG$sig: $((t1 - t0)) ms to exit"; return; }
		for i in 0 1; do
			[ "$(json_get "$out" "streams.$i.report.interrupted")" = true ] ||
				{ show "$out"; fail "SIG$sig: stream $i not interrupted=true"; return; }
			# 30 s asked: each stream ended at the signal, not at its duration
			py_cmp "$(json_get "$out" "streams.$i.report.duration_s")" "<" 5 ||
				{ show "$out"; fail "SIG$sig: stream $i ran on"; return; }
		done
	done
}

# 1000 silent connections: served around them, closed at --timeout.
test_registry_silent_conns() {
	local port=$(random_port) held t0 t1 timeout=3
	salvo_bg "$TMP/serve.out" registry serve "127.0.0.1:$port" --max-conns 1100 --timeout ${timeout}s -d 60
	local spid=$SALVO_PID
	busywait 10000 "$SALVO" registry list "$port" --timeout 1s >/dev/null 2>&1 ||
		{ show "$TMP/serve.out.err"; fail "server did not start"; return; }
	# (a background job's stdin is /dev/null: the script goes to a file)
	cat >"$TMP/hold.py" <<'EOF'
import resource, select, socket, sys, time
port, n, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))
socks, opened = [], {}
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setblocking(False)
    socks.append(s)
    opened[s.fileno()] = time.monotonic()
print("held %d" % n, flush=True)
ep = select.epoll()
for s in socks:
    ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
left, early, late = set(opened), 0, 0
end = time.monotonic() + timeout + 10
while left and time.monotonic() < end:
    for fd, ev in ep.poll(0.5):
        if fd not in left:
            continue
        s = socket.socket(fileno=fd)
        try:
            data = s.recv(4096)
        except (BlockingIOError, ConnectionResetError):
            data = b""
        finally:
            s.detach()
        if data:
            continue    # an error reply before EOF is still a close
        left.discard(fd)
        ep.unregister(fd)
        age = time.monotonic() - opened[fd]
        early += age < timeout * 0.8
print("eof %d early %d open %d" % (n - len(left), early, len(left)), flush=True)
EOF
	bg "$TMP/hold.out" python3 "$TMP/hold.py" "$port" 1000 "$timeout"
	local hpid=$BG_PID
	busywait 20000 grep -q "^held" "$TMP/hold.out" ||
		{ show "$TMP/hold.out" "$TMP/hold.out.err"; fail "could not open 1000 connections"; return; }
	t0=$(date +%s%3N)
	timeout 5 "$SALVO" registry join "$port" -n while-held --timeout 3s >"$TMP/join.out" 2>&1 ||
		{ show "$TMP/join.out"; fail "join failed while 1000 were held"; return; }
	t1=$(date +%s%3N)
	[ $((t1 - t0)) -le 2000 ] || { fail "join took $((t1 - t0)) ms while 1000 were held"; return; }
	grep -q '"while-held"' "$TMP/join.out" || { show "$TMP/join.out"; fail "join reply lacks the name"; return; }
	wait_pid "$hpid" 30000 || { show "$TMP/hold.out" "$TMP/hold.out.err"; fail "holder did not finish"; return; }
	held=$(cat "$TMP/hold.out")
	echo "$held" | grep -q "^eof 1000 early 0 open 0" ||
		{ fail "silent connections: $held"; return; }
	kill -0 "$spid" 2>/dev/null || { fail "server died"; return; }
	kill -INT "$spid"
	wait_pid "$spid" 5000 || { show "$TMP/serve.out.err"; fail "server exit"; return; }
	grep -qE "(^|[^0-9])1000 timed out" "$TMP/serve.out" ||
		{ show "$TMP/serve.out"; fail "server did not count 1000 timed out"; return; }
}

# The receiver dies after 1 s: refused errors, counters equal the kernel's, clean exit.
test_udp_receiver_killed() {
	require_root || return
	setup_ns NU || return
	local port=$(random_port) before after rc pkts refused dur b
	for b in syscall uring; do
		port=$(random_port)
		SALVO_BACKEND=$b salvo_bg -n "$NU" "$TMP/recv.$b" udp recv "127.0.0.1:$port" -d 30 -q
		local rpid=$SALVO_PID
		wait_udp_bound "$port" "$NU" || { fail "$b: receiver not bound"; return; }
		before=$(snmp_udp OutDatagrams "$NU")
		SALVO_BACKEND=$b salvo_bg -n "$NU" "$TMP/send.$b" udp send "127.0.0.1:$port" --rate 5k -d 3 --json
		local spid=$SALVO_PID
		sleep 1
		kill -KILL "$rpid"
		wait_pid "$rpid" 5000
		wait_pid "$spid" 15000
		rc=$?
		[ "$rc" -eq 0 ] || { show "$TMP/send.$b.err"; fail "$b: udp send exit $rc"; return; }
		after=$(snmp_udp OutDatagrams "$NU")
		pkts=$(json_get "$TMP/send.$b" tx.packets) && refused=$(json_get "$TMP/send.$b" tx.refused) &&
			dur=$(json_get "$TMP/send.$b" duration_s) || { fail "$b: no summary"; return; }
		[ "$refused" -gt 0 ] || { fail "$b: tx.refused is $refused"; return; }
		[ "$pkts" -eq $((after - before)) ] ||
			{ fail "$b: tx.packets $pkts, kernel OutDatagrams +$((after - before))"; return; }
		py_cmp "$dur" "<" 6 || { fail "$b: ran $dur s for -d 3"; return; }
		[ "$pkts" -gt 1000 ] || { fail "$b: only $pkts sent"; return; }
	done
}

# The sink dies (SIGKILL) under a TCP sender: exit 1, one line, no hang.
test_tcp_sink_killed() {
	require_root || return
	setup_ns NT || return
	local port b rc
	for b in syscall uring; do
		port=$(random_port)
		SALVO_BACKEND=$b salvo_bg -n "$NT" "$TMP/sink.$b" tcp sink "127.0.0.1:$port" -d 30 -q
		local kpid=$SALVO_PID
		busywait 10000 sh -c "ip netns exec $NT ss -Hltn 'sport = :$port' | grep -q ." ||
			{ fail "$b: sink not listening"; return; }
		SALVO_BACKEND=$b salvo_bg -n "$NT" "$TMP/send.$b" tcp send "127.0.0.1:$port" -d 20 -q
		local spid=$SALVO_PID
		sleep 1
		kill -KILL "$kpid"
		wait_pid "$kpid" 5000
		wait_pid "$spid" 15000
		rc=$?
		[ "$rc" -eq 1 ] || { show "$TMP/send.$b.err"; fail "$b: tcp send exit $rc (want 1)"; return; }
		[ "$(count_lines "$TMP/send.$b.err")" -eq 1 ] ||
			{ show "$TMP/send.$b.err"; fail "$b: not one line"; return; }
	done
}

# raw send --user nobody: runs as nobody (every thread), sends; unknown user: exit 2.
test_raw_user() {
	require_root || return
	setup_pair || return
	id nobody >/dev/null 2>&1 || { fail "no user nobody"; return; }
	local rc users
	salvo_run -n "$NA" "$TMP/u0" raw send -I veth-a --dst 10.81.0.2 --dst-mac "$MAC_B" -n 10 \
		--user no-such-user-salvo
	rc=$?
	[ "$rc" -eq 2 ] && [ "$(count_lines "$TMP/u0.err")" -eq 1 ] ||
		{ show "$TMP/u0.err"; fail "unknown user: exit $rc"; return; }
	salvo_bg -n "$NA" "$TMP/u1" raw send -I veth-a --dst 10.81.0.2 --dst-mac "$MAC_B" \
		--rate 1k -d 4 --user nobody -v
	busywait 10000 grep -q "now running as nobody" "$TMP/u1.err" ||
		{ show "$TMP/u1.err"; fail "no switch said (-v)"; return; }
	users=$(ps -L -o user= -p "$SALVO_PID" | sort -u | tr -d ' ')
	[ "$users" = nobody ] || { fail "threads run as: $users"; return; }
	[ "$(ps -o user= -p "$SALVO_PID" | tr -d ' ')" = nobody ] || { fail "ps -o user= is not nobody"; return; }
	wait_pid "$SALVO_PID" 15000 || { show "$TMP/u1.err"; fail "raw send --user exit $?"; return; }
	grep -qE "tx: [1-9][0-9]* packets" "$TMP/u1" || { show "$TMP/u1"; fail "nothing sent"; }
}

for t in $TESTS; do run_test "$t"; done
exit "$RET"
