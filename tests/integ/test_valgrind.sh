#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# valgrind memcheck over one short run of each command: udp send/recv,
# udp echo/ping, tcp send/sink, raw send/recv (af_packet), registry
# serve/join/list, backends, doctor.  A run fails on any memcheck error or a
# definite leak (exit 99), and on the command's own failure.  The socket
# commands run with --backend syscall: under valgrind (3.19) a thread
# blocked in io_uring_enter keeps valgrind's thread lock, so the main thread
# (duration, signals) never runs again and a uring run hangs; see
# docs/hardening.md.  VG_BACKENDS="syscall uring" tries both anyway.
# Counts are small: valgrind runs salvo ~20-50x slower.
#
#	sudo SALVO=build/salvo tests/integ/test_valgrind.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_backends_doctor
	test_udp_send_recv
	test_udp_echo_ping
	test_tcp_send_sink
	test_raw_send_recv
	test_registry
"
[ $# -gt 0 ] && TESTS="$*"

VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --track-fds=no)
BACKENDS=${VG_BACKENDS:-syscall}

have_valgrind() {
	command -v valgrind >/dev/null && return 0
	[ "${CI:-}" = true ] && { fail "valgrind not installed (CI=true: not skipping)"; return; }
	skip "valgrind not installed"
}

# vg [-n NS] OUT salvo-args...: salvo under valgrind in the foreground (90 s cap).
vg() {
	local ns=
	[ "$1" = -n ] && { ns=$2; shift 2; }
	local out=$1
	shift
	in_ns "$ns" timeout -s KILL 90 "${VG[@]}" "$SALVO" "$@" >"$out" 2>"$out.err"
}

# vg_bg [-n NS] OUT salvo-args...: in the background, pid in $VG_PID.
vg_bg() {
	local ns=
	[ "$1" = -n ] && { ns=$2; shift 2; }
	bg -n "$ns" "$1" "${VG[@]}" "$SALVO" "${@:2}"
	VG_PID=$BG_PID
}

# check_rc WHAT RC OUT [WANT]: a memcheck error (99) or an unexpected status fails.
check_rc() {
	local what=$1 rc=$2 out=$3 want=${4:-0}
	[ "$rc" -eq 99 ] && { show "$out.err"; fail "$what: memcheck errors"; return; }
	[ "$rc" -eq "$want" ] || { show "$out" "$out.err"; fail "$what: exit $rc (want $want)"; return; }
	# -q: valgrind prints nothing unless it found something
	grep -q "^==[0-9]*== [A-Z]" "$out.err" && { show "$out.err"; fail "$what: valgrind reported"; return; }
	return 0
}

test_backends_doctor() {
	have_valgrind || return
	vg "$TMP/b" backends
	check_rc backends $? "$TMP/b" || return
	vg "$TMP/bj" backends --json
	check_rc "backends --json" $? "$TMP/bj" || return
	vg "$TMP/d" doctor
	local rc=$?
	# doctor exits 1 when a check fails on this machine: still no memcheck error
	[ "$rc" -eq 1 ] && rc=0
	check_rc doctor "$rc" "$TMP/d" || return
	vg "$TMP/dj" doctor --json
	rc=$?
	[ "$rc" -eq 1 ] && rc=0
	check_rc "doctor --json" "$rc" "$TMP/dj"
}

test_udp_send_recv() {
	have_valgrind || return
	local b port rc
	for b in $BACKENDS; do
		port=$(random_port)
		vg_bg "$TMP/r.$b" udp recv "127.0.0.1:$port" -b "$b" -n 200 -d 20 --json
		local rpid=$VG_PID
		wait_udp_bound "$port" "" 30000 || { show "$TMP/r.$b.err"; fail "$b: receiver not bound"; return; }
		vg "$TMP/s.$b" udp send "127.0.0.1:$port" -b "$b" -n 200 --rate 2k --json
		check_rc "$b udp send" $? "$TMP/s.$b" || return
		wait_pid "$rpid" 60000
		check_rc "$b udp recv" $? "$TMP/r.$b" || return
		[ "$(json_get "$TMP/r.$b" rx.packets)" -gt 0 ] || { fail "$b: nothing received"; return; }
	done
}

test_udp_echo_ping() {
	have_valgrind || return
	local b port
	for b in $BACKENDS; do
		port=$(random_port)
		vg_bg "$TMP/e.$b" udp echo "127.0.0.1:$port" -b "$b" -d 20
		local epid=$VG_PID
		wait_udp_bound "$port" "" 30000 || { show "$TMP/e.$b.err"; fail "$b: echo not bound"; return; }
		vg "$TMP/p.$b" udp ping "127.0.0.1:$port" -b "$b" -n 20 --rate 100 --timeout 5s -q
		check_rc "$b udp ping" $? "$TMP/p.$b" || return
		kill -INT "$epid"
		wait_pid "$epid" 60000
		check_rc "$b udp echo" $? "$TMP/e.$b" || return
	done
}

test_tcp_send_sink() {
	have_valgrind || return
	local b port
	for b in $BACKENDS; do
		port=$(random_port)
		vg_bg "$TMP/k.$b" tcp sink "127.0.0.1:$port" -b "$b" --count 1 -d 30 --json
		local kpid=$VG_PID
		busywait 30000 sh -c "ss -Hltn 'sport = :$port' | grep -q ." ||
			{ show "$TMP/k.$b.err"; fail "$b: sink not listening"; return; }
		vg "$TMP/t.$b" tcp send "127.0.0.1:$port" -b "$b" --bytes 4M --json
		check_rc "$b tcp send" $? "$TMP/t.$b" || return
		wait_pid "$kpid" 60000
		check_rc "$b tcp sink" $? "$TMP/k.$b" || return
	done
}

packet_socket() { ip netns exec "$1" ss -H -0 2>/dev/null | grep -q .; }

test_raw_send_recv() {
	have_valgrind || return
	require_root || return
	setup_ns NA NB || return
	setup_veth "$NA" "$NB" 10.83.0.1/24 10.83.0.2/24 || return
	local mac
	mac=$(ip -n "$NB" -j link show dev veth-b | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	vg_bg -n "$NB" "$TMP/rr" raw recv --backend af_packet -I veth-b -d 20 -n 100 --json
	local rpid=$VG_PID
	busywait 30000 packet_socket "$NB" || { show "$TMP/rr.err"; fail "raw recv did not open"; return; }
	sleep 0.5	# the ring is set up right after the socket
	vg -n "$NA" "$TMP/rs" raw send --backend af_packet -I veth-a --dst 10.83.0.2 --dst-mac "$mac" \
		-n 300 --rate 1k --json
	check_rc "raw send" $? "$TMP/rs" || return
	wait_pid "$rpid" 60000
	check_rc "raw recv" $? "$TMP/rr" || return
	[ "$(json_get "$TMP/rr" rx.packets)" -gt 0 ] || fail "raw recv saw nothing"
}

# join and list under valgrind against a plain server; then the server under
# valgrind, joined and listed by plain clients.
test_registry() {
	have_valgrind || return
	local b port
	for b in $BACKENDS; do
		port=$(random_port)
		salvo_bg "$TMP/plain.$b" registry serve "127.0.0.1:$port" -b "$b" -d 60
		busywait 10000 sh -c "ss -Hltn 'sport = :$port' | grep -q ." ||
			{ fail "$b: plain server did not start"; return; }
		vg "$TMP/j.$b" registry join "$port" -n "vg-$b"
		check_rc "$b registry join" $? "$TMP/j.$b" || return
		vg "$TMP/l.$b" registry list "$port"
		check_rc "$b registry list" $? "$TMP/l.$b" || return
		grep -q "vg-$b" "$TMP/l.$b" || { show "$TMP/l.$b"; fail "$b: list lacks the join"; return; }
		port=$(random_port)
		vg_bg "$TMP/srv.$b" registry serve "127.0.0.1:$port" -b "$b" -d 30
		local spid=$VG_PID
		busywait 30000 sh -c "ss -Hltn 'sport = :$port' | grep -q ." ||
			{ show "$TMP/srv.$b" "$TMP/srv.$b.err"; fail "$b: server did not listen"; return; }
		timeout 10 "$SALVO" registry join "$port" -n "a-$b" --timeout 5s >/dev/null 2>&1
		timeout 10 "$SALVO" registry join "$port" -n "b-$b" --timeout 5s >/dev/null 2>&1
		timeout 10 "$SALVO" registry list "$port" --timeout 5s >"$TMP/l2.$b" 2>&1
		grep -q "b-$b" "$TMP/l2.$b" || { show "$TMP/l2.$b"; fail "$b: list from the server under valgrind lacks a join"; return; }
		kill -INT "$spid"
		wait_pid "$spid" 60000
		check_rc "$b registry serve" $? "$TMP/srv.$b" || return
		grep -q "3 accepted" "$TMP/srv.$b" || { show "$TMP/srv.$b"; fail "$b: server did not accept all three"; return; }
	done
}

for t in $TESTS; do run_test "$t"; done
exit "$RET"
