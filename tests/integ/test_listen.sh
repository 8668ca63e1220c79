#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# Every server command says the address it listens on, the port the kernel
# picked for port 0 included: udp recv, udp echo, tcp sink and registry
# serve print "salvo: CMD: listening on ADDR:PORT" on stderr (also with
# --json), serve prints "serving on ADDR:PORT".  Each test starts the server
# on port 0, reads the port from that line, checks with ss (the witness)
# that every worker's socket is on that port, and talks to it there: plain
# Python sockets send datagrams, a TCP stream, a registry join, and a
# udp send --server test.  Loopback only.
#
#	SALVO=build/salvo tests/integ/test_listen.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_udp_recv_port0
	test_udp_echo_port0
	test_tcp_sink_port0
	test_registry_serve_port0
	test_serve_port0
"

# listened_port OUT.err: the port of the "listening on" line, once it is there.
has_listen_line() { grep -qE 'listening on 127\.0\.0\.1:[0-9]+$' "$1"; }
listened_port() {
	busywait 10000 has_listen_line "$1" || return 1
	sed -nE 's/^salvo: .*: listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$1" | head -n 1
}

# sockets_on PROTO PORT: how many sockets listen there (ss -l: u for UDP, t for TCP).
sockets_on() { ss -Hl"$1"n "sport = :$2" | wc -l; }

test_udp_recv_port0() {
	local p n
	salvo_bg "$TMP/r" udp recv 0 --threads 2 --count 20 --json --duration 30
	p=$(listened_port "$TMP/r.err") || { fail "no listening line: $(head -c 300 "$TMP/r.err")"; return; }
	[ "$p" -gt 0 ] || { fail "port $p"; return; }
	n=$(sockets_on u "$p")
	[ "$n" = 2 ] || { fail "ss: $n UDP sockets on $p, want both workers' 2"; return; }
	python3 - "$p" <<'PY' || { fail "python send"; return; }
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20):
    s.sendto(b"x" * 32, ("127.0.0.1", int(sys.argv[1])))
PY
	wait_pid "$SALVO_PID" 20000 || { fail "udp recv did not end after 20 datagrams"; return; }
	[ "$(json_get "$TMP/r" rx.packets)" = 20 ] || { fail "rx.packets $(json_get "$TMP/r" rx.packets)"; return; }
}

test_udp_echo_port0() {
	local p
	salvo_bg "$TMP/e" udp echo 0 --duration 30
	p=$(listened_port "$TMP/e.err") || { fail "no listening line: $(head -c 300 "$TMP/e.err")"; return; }
	python3 - "$p" <<'PY' || { fail "no echo from port $p"; return; }
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"ping-port0", ("127.0.0.1", int(sys.argv[1])))
sys.exit(0 if s.recvfrom(100)[0] == b"ping-port0" else 1)
PY
}

test_tcp_sink_port0() {
	local p n
	salvo_bg "$TMP/t" tcp sink 127.0.0.1:0 --threads 2 --count 1 --json --duration 30
	p=$(listened_port "$TMP/t.err") || { fail "no listening line: $(head -c 300 "$TMP/t.err")"; return; }
	n=$(sockets_on t "$p")
	[ "$n" = 2 ] || { fail "ss: $n TCP listeners on $p, want both workers' 2"; return; }
	python3 - "$p" <<'PY' || { fail "connect to $p"; return; }
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"y" * 5000)
s.close()
PY
	wait_pid "$SALVO_PID" 20000 || { fail "tcp sink did not end after its one connection"; return; }
	[ "$(json_get "$TMP/t" rx.bytes)" = 5000 ] || { fail "rx.bytes $(json_get "$TMP/t" rx.bytes)"; return; }
}

test_registry_serve_port0() {
	local p
	salvo_bg "$TMP/g" registry serve 0 --duration 30
	p=$(listened_port "$TMP/g.err") || { fail "no listening line: $(head -c 300 "$TMP/g.err")"; return; }
	salvo_run "$TMP/j" registry join "127.0.0.1:$p" -n port0name || { fail "join exit $?: $(head -c 200 "$TMP/j.err")"; return; }
	grep -q '"port0name"' "$TMP/j" || { fail "the list lacks the name: $(head -c 200 "$TMP/j")"; return; }
}

has_serving_line() { grep -qE '^serving on 127\.0\.0\.1:[0-9]+ ' "$1"; }
test_serve_port0() {
	local p
	salvo_bg "$TMP/s" serve 127.0.0.1:0
	busywait 10000 has_serving_line "$TMP/s" || { fail "no serving line: $(head -c 300 "$TMP/s") $(head -c 300 "$TMP/s.err")"; return; }
	p=$(sed -nE 's/^serving on 127\.0\.0\.1:([0-9]+) .*/\1/p' "$TMP/s" | head -n 1)
	[ "$p" -gt 0 ] || { fail "port $p"; return; }
	salvo_run "$TMP/c" udp send --server "127.0.0.1:$p" --count 100 --json ||
		{ fail "udp send --server 127.0.0.1:$p exit $?: $(head -c 300 "$TMP/c.err")"; return; }
}

for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
