#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# The io_uring backend's own paths: capability probe and fallback when
# io_uring_setup is refused (a seccomp filter, as a container runtime
# would install), --zerocopy returning every buffer, GSO/GRO counts, and
# receiver counts equal to sender counts across a veth pair; the counts
# of skipped-success sends (IOSQE_CQE_SKIP_SUCCESS) when sends fail.
#
#	sudo SALVO=build/salvo tests/integ/test_uring.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_backends_lists_uring
	test_seccomp_fallback
	test_zerocopy
	test_gso_gro
	test_peer_per_datagram
	test_veth_counts
	test_skip_refused_counts
	test_skip_eagain_counts
"

# noring CMD...: run CMD with io_uring_setup failing EPERM (seccomp, no new privileges).
noring() {
	python3 - "$@" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
NR_IO_URING_SETUP, EPERM = 425, 1
def ins(code, jt, jf, k): return struct.pack("HBBI", code, jt, jf, k)
prog = b"".join([
    ins(0x20, 0, 0, 0),                              # ld [nr]
    ins(0x15, 0, 1, NR_IO_URING_SETUP),              # jeq io_uring_setup
    ins(0x06, 0, 0, 0x00050000 | EPERM),             # ret ERRNO(EPERM)
    ins(0x06, 0, 0, 0x7fff0000),                     # ret ALLOW
])
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fp = Fprog(len(prog) // 8, ctypes.addressof(buf))
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fp), 0, 0):
    sys.exit("seccomp: errno %d" % ctypes.get_errno())
os.execvp(sys.argv[1], sys.argv[1:])
PY
}

test_backends_lists_uring() {
	"$SALVO" backends >"$TMP/b.txt" 2>&1 || { fail "salvo backends failed"; return; }
	grep -qE "^uring +yes" "$TMP/b.txt" || { show "$TMP/b.txt"; fail "uring not usable here"; return; }
}

test_seccomp_fallback() {
	local p
	[ "$(uname -m)" = x86_64 ] || { skip "syscall number is x86_64's"; return; }
	noring "$SALVO" backends >"$TMP/b.txt" 2>&1 || { show "$TMP/b.txt"; fail "salvo backends failed"; return; }
	grep -E "^uring +no" "$TMP/b.txt" | grep -q "io_uring_setup failed: Operation not permitted" ||
		{ show "$TMP/b.txt"; fail "no reason line for uring"; return; }
	p=$(random_port)
	noring "$SALVO" udp send "127.0.0.1:$p" --backend uring -n 10 >"$TMP/f.txt" 2>"$TMP/f.err" && { fail "--backend uring ran"; return; }
	[ "$(count_lines "$TMP/f.err")" = 1 ] && grep -q "Operation not permitted" "$TMP/f.err" ||
		{ show "$TMP/f.err"; fail "--backend uring: not one reason line"; return; }
	# Someone listening: datagrams all refused would be exit 1 (docs/commands.md, Exit codes).
	salvo_bg "$TMP/r.txt" udp recv "127.0.0.1:$p" -d 60 -q
	wait_udp_bound "$p" || { fail "receiver"; return; }
	# The default for udp send is syscall (docs/backends.md): io_uring forbidden
	# changes nothing there, and nothing is said about uring.
	noring "$SALVO" udp send "127.0.0.1:$p" -n 10 >"$TMP/d.txt" 2>"$TMP/d.err" || { show "$TMP/d.err"; fail "default run failed"; return; }
	[ "$(grep -c "backend uring unavailable" "$TMP/d.err")" = 0 ] && grep -q "syscall backend" "$TMP/d.txt" ||
		{ show "$TMP/d.txt" "$TMP/d.err"; fail "default did not run on syscall, silently"; return; }
	# With syscall refused too, the automatic choice reaches uring, skips it and says why.
	SALVO_BACKEND_REFUSE=syscall noring "$SALVO" udp send "127.0.0.1:$p" -n 10 >"$TMP/n.txt" 2>"$TMP/n.err" &&
		{ fail "ran with both backends refused"; return; }
	[ "$(count_lines "$TMP/n.err")" = 1 ] && grep -q "no backend can run this here" "$TMP/n.err" ||
		{ show "$TMP/n.err"; fail "both refused: not one line"; return; }
}

# Every zero-copy send completes (notification CQE) before exit: drain would
# report "sends still in flight" otherwise; the receiver gets every datagram.
# -v must say the ring sends zero-copy (the line comes from the port's own
# flag, which picks SEND_ZC), so a silently ignored --zerocopy fails.
test_zerocopy() {
	local p rpid tx rx
	p=$(random_port)
	salvo_bg "$TMP/r.json" udp recv "127.0.0.1:$p" -b uring --count 50000 --json -d 30
	rpid=$SALVO_PID
	wait_udp_bound "$p" || { fail "receiver"; return; }
	salvo_run "$TMP/s.json" udp send "127.0.0.1:$p" -b uring --zerocopy --count 50000 --rate 50k --json -v ||
		{ show "$TMP/s.json.err"; fail "zerocopy send failed"; return; }
	grep -qE "^salvo: worker 0: ring: .*, zerocopy$" "$TMP/s.json.err" ||
		{ show "$TMP/s.json.err"; fail "-v does not say the ring sends zero-copy"; return; }
	grep -q "in flight" "$TMP/s.json.err" && { fail "buffers not returned"; return; }
	wait_pid "$rpid" 20000 || { fail "receiver did not reach its count"; return; }
	tx=$(json_get "$TMP/s.json" tx.packets); rx=$(json_get "$TMP/r.json" rx.packets)
	[ "$tx" = 50000 ] && [ "$rx" = 50000 ] || { fail "tx $tx rx $rx"; return; }
}

test_gso_gro() {
	local p rpid tx rx lost
	p=$(random_port)
	salvo_bg "$TMP/r.json" udp recv "127.0.0.1:$p" -b uring --gro --count 100000 --json -d 30
	rpid=$SALVO_PID
	wait_udp_bound "$p" || { fail "receiver"; return; }
	salvo_run "$TMP/s.json" udp send "127.0.0.1:$p" -b uring --gso --size 1200 --count 100000 --rate 100k --json ||
		{ show "$TMP/s.json.err"; fail "gso send failed"; return; }
	wait_pid "$rpid" 20000 || { fail "receiver did not reach its count"; return; }
	tx=$(json_get "$TMP/s.json" tx.packets); rx=$(json_get "$TMP/r.json" rx.packets); lost=$(json_get "$TMP/r.json" rx.lost)
	[ "$tx" = 100000 ] && [ "$rx" = 100000 ] && [ "$lost" = 0 ] || { fail "tx $tx rx $rx lost $lost"; return; }
	[ "$(json_get "$TMP/r.json" rx.bytes)" = $((100000 * 1200)) ] || { fail "byte count"; return; }
}

# Each datagram's source, on the uring receiver: the peer is copied from the
# kernel's name for every datagram into a descriptor that is reused per
# buffer, so a stale or short copy shows as a datagram attributed to the
# other sender.  Two sockets (127.0.0.2 and 127.0.0.3) send in turn, each
# payload naming its own source (the witness); --print must say the same.
test_peer_per_datagram() {
	local p rpid good
	p=$(random_port)
	salvo_bg "$TMP/pr.out" udp recv -b uring --print "127.0.0.1:$p" --count 400 -d 30
	rpid=$SALVO_PID
	wait_udp_bound "$p" || { fail "receiver never bound"; return; }
	python3 - "$p" <<'PY' || { fail "python sender failed"; return; }
import socket, sys
port = int(sys.argv[1])
socks = []
for a in ("127.0.0.2", "127.0.0.3"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a, 0))
    socks.append(s)
for _ in range(200):
    for s in socks:
        h, q = s.getsockname()
        s.sendto(f"{h}:{q}".encode(), ("127.0.0.1", port))
PY
	wait_pid "$rpid" 20000 || { show "$TMP/pr.out.err"; fail "receiver did not reach its count"; return; }
	good=$(awk '/^Got message from / { a = $4; sub(/:$/, "", a); if (a == $5) n++ } END { print n + 0 }' "$TMP/pr.out")
	[ "$good" -eq 400 ] || { head -n 4 "$TMP/pr.out"; fail "$good of 400 datagrams printed with the source they name"; return; }
}

test_veth_counts() {
	require_root || return
	setup_ns A B || return
	setup_veth "$A" "$B" 10.77.3.1/24 10.77.3.2/24 || return
	local p rpid tx rx in0 in1
	p=$(random_port)
	in0=$(snmp_udp InDatagrams "$B")
	salvo_bg -n "$B" "$TMP/r.json" udp recv "10.77.3.2:$p" -b uring --count 50000 --json -d 30
	rpid=$SALVO_PID
	wait_udp_bound "$p" "$B" || { fail "receiver"; return; }
	salvo_run -n "$A" "$TMP/s.json" udp send "10.77.3.2:$p" -b uring --count 50000 --rate 50k --json ||
		{ fail "send failed"; return; }
	wait_pid "$rpid" 20000 || { fail "receiver did not reach its count"; return; }
	in1=$(snmp_udp InDatagrams "$B")
	tx=$(json_get "$TMP/s.json" tx.packets); rx=$(json_get "$TMP/r.json" rx.packets)
	[ "$tx" = 50000 ] && [ "$rx" = 50000 ] || { fail "tx $tx rx $rx"; return; }
	# B is a fresh namespace: only this run's datagrams move its counter.
	[ $((in1 - in0)) -eq 50000 ] || { fail "kernel counted $((in1 - in0)) datagrams in, sent 50000"; return; }
}

# Skipped-success sends post a CQE only when they fail, so the failures
# are all the sender learns.  A connected socket to a port nobody has:
# every ICMP port unreachable fails the next send (ECONNREFUSED).  In a
# fresh namespace the kernel's Udp OutDatagrams counts the sends that went
# (the witness), with CQE skip on and (SALVO_URING_REFUSE=cqe_skip) off.
# --no-gso: skip mode is for one datagram per send, and unpaced sends use
# GSO by default (docs/backends.md).
test_skip_refused_counts() {
	require_root || return
	setup_ns A || return
	local mode out0 out1 tx ref
	for mode in skip noskip; do
		out0=$(snmp_udp OutDatagrams "$A")
		if [ $mode = skip ]; then
			salvo_run -n "$A" "$TMP/s.json" udp send 127.0.0.1:9 -b uring -n 4000 --no-gso --json -v
		else
			SALVO_URING_REFUSE=cqe_skip salvo_run -n "$A" "$TMP/s.json" udp send 127.0.0.1:9 \
				-b uring -n 4000 --no-gso --json -v
		fi
		out1=$(snmp_udp OutDatagrams "$A")
		if [ $mode = skip ]; then
			grep -q "ring: .*, cqe skip" "$TMP/s.json.err" || { show "$TMP/s.json.err"; fail "-v: no cqe skip"; return; }
		else
			grep -q "cqe skip" "$TMP/s.json.err" && { show "$TMP/s.json.err"; fail "cqe_skip refused, still on"; return; }
		fi
		tx=$(json_get "$TMP/s.json" tx.packets); ref=$(json_get "$TMP/s.json" tx.refused)
		[ "$ref" -gt 0 ] || { fail "$mode: no send was refused"; return; }
		[ "$tx" -eq $((out1 - out0)) ] || { fail "$mode: tx.packets $tx, kernel sent $((out1 - out0))"; return; }
		[ $((tx + ref)) -eq 4000 ] || { fail "$mode: tx $tx + refused $ref != 4000 sends"; return; }
		[ "$(json_get "$TMP/s.json" tx.errors)" = "$ref" ] || { fail "$mode: errors != refused"; return; }
	done
}

# A socket buffer that fills (--sndbuf 4096 behind a 2 Mbit/s tbf): a
# skipped send fails with EAGAIN, goes again as an ordinary send and skip
# mode ends.  Nothing is lost or sent twice: sent = received = the
# kernel's count, no errors.
test_skip_eagain_counts() {
	require_root || return
	setup_ns A B || return
	setup_veth "$A" "$B" 10.77.4.1/24 10.77.4.2/24 || return
	tc -n "$A" qdisc add dev veth-a root tbf rate 2mbit burst 4k limit 1m ||
		{ skip "no tbf qdisc"; return; }
	local p rpid out0 out1 tx rx
	p=$(random_port)
	salvo_bg -n "$B" "$TMP/r.json" udp recv "10.77.4.2:$p" -b syscall --count 3000 --json -d 30
	rpid=$SALVO_PID
	wait_udp_bound "$p" "$B" || { fail "receiver"; return; }
	out0=$(snmp_udp OutDatagrams "$A")
	salvo_run -n "$A" "$TMP/s.json" udp send "10.77.4.2:$p" -b uring -n 3000 --no-gso --sndbuf 4096 --json ||
		{ show "$TMP/s.json.err"; fail "send failed"; return; }
	out1=$(snmp_udp OutDatagrams "$A")
	wait_pid "$rpid" 20000 || { fail "receiver did not reach its count"; return; }
	tx=$(json_get "$TMP/s.json" tx.packets); rx=$(json_get "$TMP/r.json" rx.packets)
	[ "$tx" = 3000 ] && [ "$rx" = 3000 ] && [ $((out1 - out0)) = 3000 ] ||
		{ fail "tx $tx rx $rx kernel sent $((out1 - out0))"; return; }
	[ "$(json_get "$TMP/s.json" tx.errors)" = 0 ] || { fail "errors: $(json_get "$TMP/s.json" tx.errors)"; return; }
}

[ $# -gt 0 ] && TESTS="$*"
for t in $TESTS; do run_test "$t"; done
exit "$RET"
