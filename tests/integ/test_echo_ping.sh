#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# salvo udp echo / udp ping on both datagram backends (uring, syscall):
# every ping answered over IPv4, IPv6, unix datagram and a veth pair; the
# seed's UDP server answers `udp send --expect-reply`; `udp echo --reply`
# answers a Python client like the seed's server; pings with nobody
# listening time out without hanging; a datagram echo cannot answer (source
# port 0, a broadcast source, an unbound unix client) is counted and the
# next ones are answered.  Echo's rates are over the traffic, not the wait for it.
# --busy-poll: every ping answered with either side spinning, the mode in
# both JSON documents, the spin ends at --duration and on SIGINT, a spinning
# echo with no traffic exits at its -d (and did spin: its CPU time), bad
# values exit 2, a refused SO_PREFER_BUSY_POLL is reported, not fatal.
#
#	sudo SALVO=build/salvo tests/integ/test_echo_ping.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves these out (lib.sh PLAIN_ONLY): the same ping loop over other families and a veth, and timing; ping v4/unix and every echo path stay under ASan.
# Of --busy-poll, ASan keeps the option and refusal tests (a spinning echo's open, empty receives and report); the spinning ping loops and timing are plain only (a spinner on a loaded 2-core machine is slow).
PLAIN_ONLY="test_ping_v6 test_ping_veth test_ping_timeouts test_restart_same_port test_busy_poll_ping test_busy_poll_v6 test_busy_poll_ends test_busy_poll_idle_echo_exits"
TESTS="
	test_ping_v4
	test_ping_v6
	test_ping_unix
	test_ping_veth
	test_echo_reply_python_client
	test_expect_reply_seed_server
	test_echo_print
	test_ping_timeouts
	test_echo_port_in_use
	test_echo_survives_unanswerable
	test_echo_survives_unanswerable_unix
	test_restart_same_port
	test_echo_rates_over_traffic
	test_busy_poll_ping
	test_busy_poll_v6
	test_busy_poll_ends
	test_busy_poll_idle_echo_exits
	test_busy_poll_bad_values
	test_busy_poll_refusal_reported
"
BACKENDS=${BACKENDS:-"uring syscall"}
N=2000
# Extra options for ping_pair's echo and ping (the --busy-poll tests).
EOPTS=()
POPTS=()

# udp_in_out NS FAMILY: "InDatagrams OutDatagrams" of the kernel's UDP (4) or
# UDP6 (6) counters in NS.
udp_in_out() {
	if [ "$2" = 6 ]; then
		echo "$(snmp6_udp Udp6InDatagrams "$1") $(snmp6_udp Udp6OutDatagrams "$1")"
	else
		echo "$(snmp_udp InDatagrams "$1") $(snmp_udp OutDatagrams "$1")"
	fi
}

# ping_pair NS ECHO_ARG WAIT DEST BACKEND [FAMILY]: echo in the background, N
# pings, all answered.  With FAMILY (4 or 6; NS then a namespace of the
# test's own, quiet but for the pair) the kernel is the witness: exactly N
# requests and N replies, each sent once and received once.
ping_pair() {
	local ns=$1 earg=$2 wait_for=$3 dest=$4 b=$5 fam=${6:-} sent ok tmo ercv k0 k1 want
	[ -n "$fam" ] && k0=$(udp_in_out "$ns" "$fam")
	SALVO_BACKEND=$b salvo_bg -n "$ns" "$TMP/echo.json" udp echo "$earg" "${EOPTS[@]}" --json -d 30
	case $wait_for in
	/*) wait_unix_bound "$wait_for" ;;
	*) wait_udp_bound "$wait_for" "$ns" ;;
	esac || { fail "$b: echo not bound"; return; }
	SALVO_BACKEND=$b salvo_run -n "$ns" "$TMP/ping.json" udp ping "$dest" "${POPTS[@]}" --count $N --json --timeout 2s ||
		{ show "$TMP/ping.json.err"; fail "$b: ping failed"; return; }
	sent=$(json_get "$TMP/ping.json" ping.sent) && ok=$(json_get "$TMP/ping.json" ping.answered) &&
		tmo=$(json_get "$TMP/ping.json" ping.timeouts) || { fail "$b: no ping counts"; return; }
	[ "$sent" = $N ] && [ "$ok" = $N ] && [ "$tmo" = 0 ] || { fail "$b: sent $sent answered $ok timeouts $tmo"; return; }
	json_get "$TMP/ping.json" latency_ns.p99 >/dev/null || { fail "$b: no RTT percentiles"; return; }
	kill -INT "$SALVO_PID"
	wait_pid "$SALVO_PID" 10000 || { fail "$b: echo did not stop"; return; }
	ercv=$(json_get "$TMP/echo.json" rx.packets)
	[ "$ercv" = $N ] || { fail "$b: echo counted $ercv requests"; return; }
	[ "$(json_get "$TMP/echo.json" tx.packets)" = $N ] || { fail "$b: echo sent a different count"; return; }
	if [ -n "$fam" ]; then
		k1=$(udp_in_out "$ns" "$fam")
		want="$((2 * N)) $((2 * N))"
		set -- $k0 $k1
		[ "$(($3 - $1)) $(($4 - $2))" = "$want" ] ||
			{ fail "$b: kernel UDP$fam in/out +$(($3 - $1))/+$(($4 - $2)), want $want"; return; }
	fi
	echo "  $b: $N/$N answered, p50 $(json_get "$TMP/ping.json" latency_ns.p50) ns"
}

test_ping_v4() {
	local b p
	require_root || return
	for b in $BACKENDS; do
		setup_ns NP || return
		p=$(random_port)
		ping_pair "$NP" "127.0.0.1:$p" "$p" "127.0.0.1:$p" "$b" 4 || return
		cleanup_test
	done
}

# v6_each PAIR [ARGS...]: PAIR NS [::1]:P P [::1]:P BACKEND 6 ARGS for each
# backend, in a fresh namespace once its ::1 is up.
v6_each() {
	local b p pair=$1
	shift
	for b in $BACKENDS; do
		setup_ns NP || return
		busywait 5000 sh -c "ip -n $NP -6 addr show dev lo | grep -q '::1'" || { fail "no ::1 in $NP"; return; }
		p=$(random_port)
		"$pair" "$NP" "[::1]:$p" "$p" "[::1]:$p" "$b" 6 "$@" || return
		cleanup_test
	done
}

test_ping_v6() {
	require_root || return
	v6_each ping_pair
}

test_ping_unix() {
	local b
	for b in $BACKENDS; do ping_pair "" "unix:$TMP/e-$b.sock" "$TMP/e-$b.sock" "unix:$TMP/e-$b.sock" "$b" || return; done
}

test_ping_veth() {
	require_root || return
	setup_ns A B || return
	setup_veth "$A" "$B" 10.77.2.1/24 10.77.2.2/24 || return
	ip -n "$A" addr add fd77:2::1/64 dev veth-a nodad && ip -n "$B" addr add fd77:2::2/64 dev veth-b nodad || { fail "v6 addresses"; return; }
	local b p pid
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg -n "$B" "$TMP/echo.json" udp echo "10.77.2.2:$p" --json -d 30
		pid=$SALVO_PID
		wait_udp_bound "$p" "$B" || { fail "$b: echo"; return; }
		SALVO_BACKEND=$b salvo_run -n "$A" "$TMP/ping.json" udp ping "10.77.2.2:$p" --count $N --json ||
			{ fail "$b: v4 ping failed"; return; }
		[ "$(json_get "$TMP/ping.json" ping.answered)" = $N ] || { fail "$b: v4 not all answered"; return; }
		kill -INT "$pid"; wait_pid "$pid" 10000
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg -n "$B" "$TMP/echo.json" udp echo "[fd77:2::2]:$p" --json -d 30
		wait_udp_bound "$p" "$B" || { fail "$b: echo v6"; return; }
		SALVO_BACKEND=$b salvo_run -n "$A" "$TMP/ping.json" udp ping "[fd77:2::2]:$p" --count $N --json ||
			{ fail "$b: v6 ping failed"; return; }
		[ "$(json_get "$TMP/ping.json" ping.answered)" = $N ] || { fail "$b: v6 not all answered"; return; }
		cleanup_test
		setup_ns A B && setup_veth "$A" "$B" 10.77.2.1/24 10.77.2.2/24 || return
		ip -n "$A" addr add fd77:2::1/64 dev veth-a nodad && ip -n "$B" addr add fd77:2::2/64 dev veth-b nodad
	done
}

test_echo_reply_python_client() {
	local b p
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/echo.txt" udp echo "127.0.0.1:$p" --reply "Got your message!" -d 20
		wait_udp_bound "$p" || { fail "$b: echo"; return; }
		timeout 30 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(20)
s.sendto("Hello you there!".encode("utf-8"), ("localhost", int(sys.argv[1])))
print(s.recvfrom(8192)[0].decode())' "$p" >"$TMP/py.txt" || { fail "$b: no reply"; return; }
		grep -qx "Got your message!" "$TMP/py.txt" || { show "$TMP/py.txt"; fail "$b: wrong reply"; return; }
		cleanup_test
	done
}

test_expect_reply_seed_server() {
	local b p
	for b in $BACKENDS; do
		p=$(random_port)
		bg "$TMP/srv.txt" timeout 20 python3 "$SEED/udp_server.py" --host 127.0.0.1 --port "$p" --count 1
		wait_udp_bound "$p" || { fail "$b: seed server"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/out.txt" udp send "127.0.0.1:$p" --message "Hello" --expect-reply ||
			{ show "$TMP/out.txt.err"; fail "$b: no reply"; return; }
		grep -qx "Got your message!" "$TMP/out.txt" || { show "$TMP/out.txt"; fail "$b: reply text"; return; }
		wait_pid "$BG_PID" 5000
		grep -qx "It said: Hello" "$TMP/srv.txt" || { show "$TMP/srv.txt"; fail "$b: server output"; return; }
	done
}

test_echo_print() {
	local b p
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/echo.txt" udp echo "127.0.0.1:$p" --print --count 1 -d 20
		wait_udp_bound "$p" || { fail "$b: echo"; return; }
		python3 "$SEED/udp_sender.py" --host 127.0.0.1 --port "$p" >/dev/null 2>&1 ||
			python3 -c 'import socket,sys; socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b"Hello you there!",("127.0.0.1",int(sys.argv[1])))' "$p"
		wait_pid "$SALVO_PID" 10000 || { fail "$b: echo did not end after --count 1"; return; }
		grep -q "^Got connection from: 127.0.0.1:" "$TMP/echo.txt" && grep -q "^It said: Hello you there!" "$TMP/echo.txt" ||
			{ show "$TMP/echo.txt"; fail "$b: print format"; return; }
		# The summary in the server's words: one request received, one answered.
		grep -qE "^  echo: 1 requests received at .* pps, 1 answered at .* pps$" "$TMP/echo.txt" ||
			{ show "$TMP/echo.txt"; fail "$b: no echo summary line"; return; }
	done
}

test_ping_timeouts() {
	local b p start end rc
	for b in $BACKENDS; do
		p=$(random_port)
		start=$(date +%s)
		SALVO_BACKEND=$b salvo_run "$TMP/ping.json" udp ping "127.0.0.1:$p" --count 5 --timeout 200ms --json
		rc=$?
		# Nothing answered is a failure (docs/commands.md, Exit codes), with its summary.
		[ "$rc" -eq 1 ] || { show "$TMP/ping.json.err"; fail "$b: ping exit $rc, want 1"; return; }
		end=$(date +%s)
		[ "$(json_get "$TMP/ping.json" ping.timeouts)" = 5 ] || { fail "$b: timeouts != 5"; return; }
		[ "$(json_get "$TMP/ping.json" ping.answered)" = 0 ] || { fail "$b: answered"; return; }
		[ $((end - start)) -le 5 ] || { fail "$b: took $((end - start)) s"; return; }
	done
}

test_echo_port_in_use() {
	local b p rc
	for b in $BACKENDS; do
		p=$(random_port)
		bg "$TMP/py.txt" timeout 120 python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); time.sleep(110)' "$p"
		wait_udp_bound "$p" || { fail "$b: python socket"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/e.txt" udp echo "127.0.0.1:$p" -d 2
		rc=$?
		# exit 1 exactly: a crash (ASan 134, LSan 23) is no refusal
		[ "$rc" -eq 1 ] || { show "$TMP/e.txt.err"; fail "$b: exit $rc on a used port, want 1"; return; }
		[ "$(count_lines "$TMP/e.txt.err")" = 1 ] && grep -q "Address already in use" "$TMP/e.txt.err" ||
			{ show "$TMP/e.txt.err"; fail "$b: not one 'in use' line"; return; }
		cleanup_test
	done
}

# unanswerable MODE TARGET: a plain Python client sends what echo cannot
# answer (udp: source port 0 and a broadcast source, by raw socket; unix: an
# unbound socket), then 10 ordinary requests; prints "BAD ANSWERED".
unanswerable() {
	timeout 30 python3 - "$@" <<'PY'
import socket, struct, sys, time
mode, target = sys.argv[1], sys.argv[2]
def raw_udp(src, sport, dport, payload):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton("127.0.0.1"))
    s.sendto(ip + udp, ("127.0.0.1", 0))
if mode == "udp":
    port = int(target)
    raw_udp("127.0.0.1", 0, port, b"from port 0")
    raw_udp("127.255.255.255", 4242, port, b"from a broadcast address")
    bad = 2
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dest = ("127.0.0.1", port)
else:
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"from nowhere", target)
    bad = 1
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.bind(target + ".client")
    dest = target
time.sleep(0.2)   # the bad ones are handled first
c.settimeout(1.5)
ok = 0
for i in range(10):
    msg = b"request %d" % i
    try:
        c.sendto(msg, dest)
        ok += c.recvfrom(2048)[0] == msg
    except OSError:   # a timeout, or the server is gone
        pass
print(bad, ok)
PY
}

# check_unanswerable B: after `unanswerable`, echo (SALVO_PID, JSON in
# $TMP/echo.json) answered all 10, counted each failed reply in tx.errors,
# and ends on SIGINT with exit 0.
check_unanswerable() {
	local b=$1 bad=$2 ok=$3 rx errs
	kill -INT "$SALVO_PID"
	wait_pid "$SALVO_PID" 10000 || { show "$TMP/echo.json.err"; fail "$b: echo exit"; return; }
	[ "$ok" = 10 ] || { fail "$b: $ok of 10 requests answered after $bad unanswerable datagrams"; return; }
	rx=$(json_get "$TMP/echo.json" rx.packets) && errs=$(json_get "$TMP/echo.json" tx.errors) ||
		{ fail "$b: no echo summary"; return; }
	[ "$rx" = $((bad + 10)) ] || { fail "$b: echo received $rx, want $((bad + 10))"; return; }
	[ "$errs" = "$bad" ] || fail "$b: tx.errors $errs, want $bad (one per unanswerable datagram)"
}

test_echo_survives_unanswerable() {
	require_root || return	# raw socket for the forged sources
	local b p out
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/echo.json" udp echo "127.0.0.1:$p" --json -d 60
		wait_udp_bound "$p" || { fail "$b: echo"; return; }
		out=$(unanswerable udp "$p") || { fail "$b: client failed"; return; }
		check_unanswerable "$b" $out || return
		cleanup_test
	done
}

test_echo_survives_unanswerable_unix() {
	local b s out
	for b in $BACKENDS; do
		s=$TMP/u-$b.sock
		SALVO_BACKEND=$b salvo_bg "$TMP/echo.json" udp echo "unix:$s" --json -d 60
		wait_unix_bound "$s" || { fail "$b: echo"; return; }
		out=$(unanswerable unix "$s") || { fail "$b: client failed"; return; }
		check_unanswerable "$b" $out || return
		cleanup_test
	done
}

# Stop and restart on one port, 8 times per backend: the moment salvo has
# exited, a plain socket binds the port (no retry), and so does the next
# salvo.  uring used to hold its sockets for 10-60 ms after exit (the ring's
# deferred teardown) and failed 8 of 8.  A Python driver, so nothing (a
# shell's fork and exec) pads the gap.
test_restart_same_port() {
	local b out
	for b in $BACKENDS; do
		salvo_cmd udp echo -b "$b" "127.0.0.1:$(random_port)" -d 0.2 -q
		out=$(timeout 60 python3 - "${SALVO_ARGV[@]}" <<'PY'
import socket, subprocess, sys
argv = sys.argv[1:]
port = int([a for a in argv if a.startswith("127.0.0.1:")][0].rsplit(":", 1)[1])
bind_fail = run_fail = 0
for i in range(8):
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        run_fail += 1
        sys.stderr.write(r.stderr.decode())
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        bind_fail += 1
    s.close()
print(run_fail, bind_fail)
PY
) || { fail "$b: driver failed"; return; }
		[ "$out" = "0 0" ] || { fail "$b: of 8 restarts on one port: $out (salvo failed, plain bind failed)"; return; }
	done
}

[ $# -gt 0 ] && TESTS="$*"
# A Python sender paced at 5k pps for 1000 datagrams, a second after the echo
# started: the echo's received and answered counts are exact, and both rates
# are within 30% of the rate the sender measured on its own clock (first to
# last send).  Over the whole run (the old tx rate) they would be < 1/5 of it.
# One backend: the active times are the engine's, the same for every backend.
test_echo_rates_over_traffic() {
	local b p offered msg
	for b in ${BACKENDS%% *}; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/echo.json" udp echo "127.0.0.1:$p" --count 1000 --json -d 30
		wait_udp_bound "$p" || { fail "$b: echo not bound"; return; }
		sleep 1
		offered=$(timeout 20 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
dest, n, gap = ("127.0.0.1", int(sys.argv[1])), 1000, 1 / 5000
t0 = time.monotonic()
for i in range(n):
    while time.monotonic() < t0 + i * gap:
        pass
    t = time.monotonic()
    s.sendto(b"x" * 64, dest)
print((n - 1) / (t - t0))' "$p") || { fail "$b: sender failed"; return; }
		wait_pid "$SALVO_PID" 20000 || { fail "$b: echo did not end after 1000 requests"; return; }
		# One Python for every check: each start-up costs a second on a loaded machine.
		msg=$(python3 - "$TMP/echo.json" "$offered" <<'EOF'
import json, sys
d, off = json.load(open(sys.argv[1])), float(sys.argv[2])
rx, tx = d["rx"], d["tx"]
if "session" in tx:
    print("echo reports a stamp session %d for replies it does not stamp" % tx["session"]); sys.exit(1)
if (rx["packets"], tx["packets"]) != (1000, 1000):
    print("echo counts %d/%d, want 1000/1000" % (rx["packets"], tx["packets"])); sys.exit(1)
for k, v in (("rx", rx), ("tx", tx)):
    if abs(v["pps"] - off) > 0.3 * off or abs(v["pps"] - v["packets"] / v["active_s"]) > 1e-6 * v["pps"]:
        print("echo %s %.0f pps over %.3f s; sender offered %.0f pps" % (k, v["pps"], v["active_s"], off)); sys.exit(1)
print("offered %.0f pps; echo rx %.0f, tx %.0f pps" % (off, rx["pps"], tx["pps"]))
EOF
) || { fail "$b: $msg"; return; }
		echo "  $b: $msg"
	done
}

# busy_pair NS ECHO_ARG PORT DEST BACKEND FAMILY EWAIT: ping_pair with a
# --busy-poll ping, 50 pings (each side may spin a core), and
# both documents naming how they waited: the ping busy-poll, the echo EWAIT.
busy_pair() {
	local ns=$1 earg=$2 p=$3 dest=$4 b=$5 fam=$6 ewait=$7 N=50 w
	POPTS=(--busy-poll)
	EOPTS=()
	[ "$ewait" = busy-poll ] && EOPTS=(--busy-poll --busy-poll-usec 20)
	ping_pair "$ns" "$earg" "$p" "$dest" "$b" "$fam" || return
	# One python for every key (each start costs on a loaded machine).
	w=$(python3 - "$TMP/ping.json" "$TMP/echo.json" "$ewait" <<'EOF'
import json, sys
p, e = (json.load(open(f)) for f in sys.argv[1:3])
want = sys.argv[3]
got = (p["ping"]["wait"], p["ping"]["busy_poll_us"], p["ping"]["lost"], e["echo"]["wait"])
if got != ("busy-poll", 50, 0, want):
    print("ping wait/busy_poll_us/lost, echo wait: %r, want %r" % (got, ("busy-poll", 50, 0, want)))
# Root may raise SO_BUSY_POLL (CAP_NET_ADMIN): the run says the kernel took it.
elif want == "busy-poll" and (e["echo"]["busy_poll_us"], e["echo"]["so_busy_poll"]) != (20, True):
    print("echo busy_poll_us/so_busy_poll: %r" % ((e["echo"]["busy_poll_us"], e["echo"]["so_busy_poll"]),))
EOF
) || { fail "$b: JSON unreadable"; return 1; }
	[ -z "$w" ] || { fail "$b: $w"; return 1; }
}

# A --busy-poll ping against a --busy-poll echo and against a sleeping one,
# counts exact (the kernel's UDP counters the witness), on both backends.
test_busy_poll_ping() {
	local b p ew
	require_root || return
	for b in $BACKENDS; do
		setup_ns NP || return
		for ew in busy-poll sleep; do
			p=$(random_port)
			busy_pair "$NP" "127.0.0.1:$p" "$p" "127.0.0.1:$p" "$b" 4 "$ew" || return
		done
		cleanup_test
	done
}

test_busy_poll_v6() {
	require_root || return
	v6_each busy_pair busy-poll
}

# ms_since T0: milliseconds since T0 (date +%s%3N).
ms_since() { echo $(( $(date +%s%3N) - $1 )); }

# A spinning ping ends at its --duration, and a spinning ping and echo end
# on SIGINT, each within a generous bound and with its summary: the spin
# checks the run's deadline and stop flag, it does not outlive them.
test_busy_poll_ends() {
	local b p t0 ms epid ppid sent ok lost
	for b in $BACKENDS; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/echo.json" udp echo "127.0.0.1:$p" --busy-poll --json -d 60
		epid=$SALVO_PID
		wait_udp_bound "$p" || { fail "$b: echo not bound"; return; }
		t0=$(date +%s%3N)
		SALVO_BACKEND=$b salvo_run "$TMP/ping.json" udp ping "127.0.0.1:$p" --busy-poll -d 1 --timeout 1s --json ||
			{ show "$TMP/ping.json.err"; fail "$b: ping -d 1 failed"; return; }
		ms=$(ms_since "$t0")
		# 1 s of pings, the one in flight gets its 1 s --timeout at most, and start-up.
		[ "$ms" -lt 5000 ] || { fail "$b: ping -d 1 took $ms ms"; return; }
		[ "$(json_get "$TMP/ping.json" interrupted)" = false ] || { fail "$b: ping -d 1 says interrupted"; return; }
		sent=$(json_get "$TMP/ping.json" ping.sent) && ok=$(json_get "$TMP/ping.json" ping.answered) || return
		[ "$sent" -gt 0 ] && [ "$ok" = "$sent" ] || { fail "$b: ping -d 1: $sent sent, $ok answered"; return; }

		# SIGINT to a spinning ping mid-run: it stops at once, every request answered or lost.
		SALVO_BACKEND=$b salvo_bg "$TMP/ping2.json" udp ping "127.0.0.1:$p" --busy-poll -d 30 --json
		ppid=$SALVO_PID
		sleep 0.3
		t0=$(date +%s%3N)
		kill -INT "$ppid"
		wait_pid "$ppid" 5000 || { fail "$b: busy ping did not stop on SIGINT"; return; }
		ms=$(ms_since "$t0")
		[ "$(json_get "$TMP/ping2.json" interrupted)" = true ] || { fail "$b: ping not interrupted"; return; }
		sent=$(json_get "$TMP/ping2.json" ping.sent) && ok=$(json_get "$TMP/ping2.json" ping.answered) &&
			lost=$(json_get "$TMP/ping2.json" ping.lost) || return
		[ $((ok + lost)) = "$sent" ] && [ "$lost" -le 1 ] || { fail "$b: after SIGINT $sent sent, $ok answered, $lost lost"; return; }

		t0=$(date +%s%3N)
		kill -INT "$epid"
		wait_pid "$epid" 5000 || { fail "$b: busy echo did not stop on SIGINT"; return; }
		[ "$(json_get "$TMP/echo.json" interrupted)" = true ] || { fail "$b: echo not interrupted"; return; }
		[ "$(json_get "$TMP/echo.json" echo.wait)" = busy-poll ] || { fail "$b: echo.wait"; return; }
		echo "  $b: ping -d 1 + SIGINT ping ($ms ms) + SIGINT echo ($(ms_since "$t0") ms)"
		cleanup_test
	done
}

# A spinning echo nobody talks to exits when its -d ends, and it did spin:
# the kernel's count of its CPU time (bash's time) is well above a sleeping
# echo's over the same -d (ring and buffer set-up included in both).  The
# wait is a loop that checks the stop flag, not a sleep that ignores it.
test_busy_poll_idle_echo_exits() {
	local b p cpu slept real u s TIMEFORMAT='%R %U %S'
	for b in $BACKENDS; do
		p=$(random_port)
		{ time SALVO_BACKEND=$b salvo_run "$TMP/sleep.json" udp echo "127.0.0.1:$p" -d 1 --json ; } 2>"$TMP/time" ||
			{ show "$TMP/sleep.json.err"; fail "$b: echo -d 1 failed"; return; }
		read -r real u s <"$TMP/time"
		slept=$(py_eval "$u + $s")
		{ time SALVO_BACKEND=$b salvo_run "$TMP/idle.json" udp echo "127.0.0.1:$p" --busy-poll -d 1 --json ; } 2>"$TMP/time" ||
			{ show "$TMP/idle.json.err"; fail "$b: busy echo -d 1 failed"; return; }
		read -r real u s <"$TMP/time"
		cpu=$(py_eval "$u + $s")
		py_cmp "$real" "<" 5 || { fail "$b: busy echo -d 1 lasted $real s"; return; }
		[ "$(json_get "$TMP/idle.json" echo.wait)" = busy-poll ] || { fail "$b: echo.wait"; return; }
		# Even on a loaded 2-core machine a spinning second gets a good share of a core.
		py_cmp "$cpu" ">=" "max(2 * $slept, $slept + 0.05)" ||
			{ fail "$b: busy echo used $cpu s of CPU in $real s, a sleeping one $slept s: it slept"; return; }
		echo "  $b: idle echo -d 1: busy-poll $real s, $cpu s CPU; sleeping $slept s CPU"
	done
}

test_busy_poll_bad_values() {
	local a rc
	for a in "udp ping 127.0.0.1:9 --busy-poll-usec 10" "udp echo --busy-poll --busy-poll-usec 0" \
		 "udp echo --busy-poll --busy-poll-usec 1000001" "udp ping 127.0.0.1:9 --busy-poll --busy-poll-usec x" \
		 "udp ping 127.0.0.1:9 --busy-poll=5"; do
		# shellcheck disable=SC2086 # a is the argument list
		timeout 10 "$SALVO" $a >"$TMP/bad.out" 2>"$TMP/bad.err"
		rc=$?
		[ "$rc" = 2 ] || { fail "'$a' exited $rc, want 2"; return; }
		[ "$(count_lines "$TMP/bad.err")" = 1 ] || { show "$TMP/bad.err"; fail "'$a': not one line on stderr"; return; }
		[ ! -s "$TMP/bad.out" ] || { fail "'$a' printed on stdout"; return; }
	done
}

# Without CAP_NET_ADMIN the kernel refuses SO_PREFER_BUSY_POLL: the run goes
# on spinning (exit 0) and says so in JSON and in its wait: line.
test_busy_poll_refusal_reported() {
	local b p
	require_root || return
	command -v setpriv >/dev/null || { skip "setpriv not installed"; return; }
	for b in $BACKENDS; do
		p=$(random_port)
		timeout 30 setpriv --bounding-set=-net_admin "$SALVO" udp echo -b "$b" "127.0.0.1:$p" --busy-poll -d 0.3 --json \
			>"$TMP/ref.json" 2>"$TMP/ref.err" || { show "$TMP/ref.err"; fail "$b: echo without CAP_NET_ADMIN failed"; return; }
		[ "$(json_get "$TMP/ref.json" echo.wait)" = busy-poll ] || { fail "$b: echo.wait"; return; }
		[ "$(json_get "$TMP/ref.json" echo.so_prefer_busy_poll)" = false ] ||
			{ fail "$b: SO_PREFER_BUSY_POLL reported accepted without CAP_NET_ADMIN"; return; }
		timeout 30 setpriv --bounding-set=-net_admin "$SALVO" udp echo -b "$b" "127.0.0.1:$p" --busy-poll -d 0.3 \
			>"$TMP/ref.txt" 2>/dev/null || { fail "$b: text run failed"; return; }
		grep -q "SO_PREFER_BUSY_POLL: refused (Operation not permitted)" "$TMP/ref.txt" ||
			{ show "$TMP/ref.txt"; fail "$b: no refusal in the wait: line"; return; }
	done
}

for t in $TESTS; do run_test "$t"; done
exit "$RET"
