#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: no (it checks docs; every path it runs is under ASan in the other scripts)
#
# docs/json.md covers every key of every command's JSON: each command runs
# briefly with --json (with -i where it has intervals; --json-stream prints
# the same objects one per line), and json_doc_keys.py walks every key path
# of every document and fails on one json.md does not document (its
# parsable form: json.md's introduction and the script's docstring).
#
#	sudo SALVO=build/salvo tests/integ/test_json_doc.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_every_key_documented
"
DOC=$(dirname "$0")/../../docs/json.md
KEYS=$(dirname "$0")/json_doc_keys.py

# stop PID NAME: SIGINT a background server and wait for its summary.
stop() { kill -INT "$1"; wait_pid "$1" 10000 || { fail "$2 did not stop"; return 1; }; }

# Loopback commands in the test's own namespace: udp, tcp, registry, serve.
loopback_docs() {
	local ns=$1 o=$TMP/j p
	mkdir -p "$o"
	p=$(random_port)
	salvo_bg -n "$ns" "$o/udp_recv" udp recv "127.0.0.1:$p" --count 200 --json -i 50ms -d 20
	wait_udp_bound "$p" "$ns" || { fail "udp recv not bound"; return; }
	salvo_run -n "$ns" "$o/udp_send" udp send "127.0.0.1:$p" -n 200 -r 2k --json -i 50ms || { fail "udp send"; return; }
	wait_pid "$SALVO_PID" 10000 || { fail "udp recv did not end"; return; }

	p=$(random_port)
	salvo_bg -n "$ns" "$o/udp_echo" udp echo "127.0.0.1:$p" --json -d 20
	local echo=$SALVO_PID
	wait_udp_bound "$p" "$ns" || { fail "udp echo not bound"; return; }
	salvo_run -n "$ns" "$o/udp_ping" udp ping "127.0.0.1:$p" -n 20 --json || { fail "udp ping"; return; }
	salvo_run -n "$ns" "$o/udp_request" udp send "127.0.0.1:$p" --message hi --expect-reply --json ||
		{ fail "udp send --expect-reply"; return; }
	stop "$echo" "udp echo" || return

	p=$(random_port)
	salvo_bg -n "$ns" "$o/tcp_sink" tcp sink "127.0.0.1:$p" --json -d 20
	local sink=$SALVO_PID
	busywait 10000 sh -c "ip netns exec $ns ss -Hltn 'sport = :$p' | grep -q ." || { fail "tcp sink not listening"; return; }
	salvo_run -n "$ns" "$o/tcp_send" tcp send "127.0.0.1:$p" --bytes 1M --json -i 50ms || { fail "tcp send"; return; }
	salvo_run -n "$ns" "$o/tcp_message" tcp send "127.0.0.1:$p" --message hi --json || { fail "tcp send --message"; return; }
	# tx.session is the session in this run's stamps: a --message run has none.
	! grep -q '"session":' "$o/tcp_message" || { fail "tcp send --message reports a stamp session"; return; }
	stop "$sink" "tcp sink" || return
	# The discarding sink and the spliced sender add keys of their own (tcp.discard, tcp.splice).
	p=$(random_port)
	salvo_bg -n "$ns" "$o/tcp_sink_discard" tcp sink "127.0.0.1:$p" --discard --count 1 --json -d 20
	busywait 10000 sh -c "ip netns exec $ns ss -Hltn 'sport = :$p' | grep -q ." || { fail "tcp sink --discard not listening"; return; }
	salvo_run -n "$ns" "$o/tcp_send_splice" tcp send "127.0.0.1:$p" --splice --bytes 1M --json || { fail "tcp send --splice"; return; }
	wait_pid "$SALVO_PID" 10000 || { fail "tcp sink --discard did not end"; return; }

	p=$(random_port)
	salvo_bg -n "$ns" "$o/registry_serve" registry serve "127.0.0.1:$p" --json -d 20
	local reg=$SALVO_PID
	busywait 10000 sh -c "ip netns exec $ns ss -Hltn 'sport = :$p' | grep -q ." || { fail "registry not listening"; return; }
	in_ns "$ns" timeout 30 "$SALVO" registry bench "127.0.0.1:$p" -n 50 -C 2 --json >"$o/registry_bench" 2>&1 ||
		{ show "$o/registry_bench"; fail "registry bench"; return; }
	stop "$reg" "registry serve" || return

	p=$(random_port)
	salvo_bg -n "$ns" "$o/serve" serve "127.0.0.1:$p" --json
	local srv=$SALVO_PID
	busywait 10000 sh -c "ip netns exec $ns ss -Hltn 'sport = :$p' | grep -q ." || { fail "serve not listening"; return; }
	salvo_run -n "$ns" "$o/udp_send_server" udp send --server "127.0.0.1:$p" -n 100 --json || { fail "udp send --server"; return; }
	salvo_run -n "$ns" "$o/udp_send_server_r" udp send --server "127.0.0.1:$p" -n 100 -R --json ||
		{ fail "udp send --server -R"; return; }
	salvo_run -n "$ns" "$o/tcp_send_server" tcp send --server "127.0.0.1:$p" --bytes 100k --json ||
		{ fail "tcp send --server"; return; }
	salvo_run -n "$ns" "$o/udp_send_server_bidir" udp send --server "127.0.0.1:$p" -n 100 --bidir --json ||
		{ fail "udp send --server --bidir"; return; }
	salvo_run -n "$ns" "$o/tcp_send_server_bidir" tcp send --server "127.0.0.1:$p" --bytes 100k --bidir --json ||
		{ fail "tcp send --server --bidir"; return; }
	stop "$srv" "serve" || return

	salvo_run "$o/backends" backends --json || { fail "backends"; return; }
	salvo_run "$o/doctor" doctor --json
}

# Raw frames over a veth pair: raw recv, raw send, a profile (salvo run).
raw_docs() {
	local o=$TMP/j prof=$TMP/prof.json rpid
	setup_ns NA NB || return
	setup_veth "$NA" "$NB" 10.77.9.1/24 10.77.9.2/24 || return
	quiet_pair "$NA" "$NB" 10.77.9.1 10.77.9.2 || return
	salvo_bg -n "$NB" "$o/raw_recv" raw recv -I veth-b --count 100 --json -q -d 20
	rpid=$SALVO_PID
	busywait 10000 packet_bound "$rpid" "$NB" veth-b || { show "$o/raw_recv.err"; fail "raw recv never bound"; return; }
	salvo_run -n "$NA" "$o/raw_send" raw send -I veth-a --dst 10.77.9.2 -n 100 -r 10k --json ||
		{ show "$o/raw_send.err"; fail "raw send"; return; }
	busywait 10000 pid_gone "$rpid" || kill -INT "$rpid"
	wait_pid "$rpid" 10000 || { fail "raw recv did not end"; return; }
	cat >"$prof" <<PROF
{ "streams": [ { "name": "a", "type": "raw", "iface": "veth-a", "dst": "10.77.9.2", "count": 50, "rate": "10k" } ] }
PROF
	salvo_run -n "$NA" "$o/run" run "$prof" --json || { show "$o/run.err"; fail "salvo run"; return; }
}

test_every_key_documented() {
	local out f files=()
	require_root || return
	setup_ns NL || return
	loopback_docs "$NL" || return
	[ -z "$TEST_MSG" ] || return 1
	raw_docs || return
	[ -z "$TEST_MSG" ] || return 1
	for f in "$TMP"/j/*; do [[ $f == *.err ]] || files+=("$f"); done
	out=$(python3 "$KEYS" "$DOC" "${files[@]}") ||
		{ fail "not in docs/json.md: $(echo "$out" | head -n 20 | tr '\n' ' ')"; return; }
	echo "  ${#files[@]} outputs, every key documented"
}

[ -x "$SALVO" ] || { echo "FAIL: setup no salvo binary at $SALVO"; exit 1; }
ulimit -c 0
for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
