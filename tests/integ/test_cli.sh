#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: no: its parsers run under ASan+UBSan+LSan in the fuzz targets (fuzz_opt, fuzz_units, fuzz_addr, fuzz_profile), which keeps make check under 15 minutes
#
# The command line's refusals, pinned: every bad input exits 2 and every
# runtime failure exits 1, each with exactly one line on stderr that names
# the offending thing (so an ASan abort, 134, or an LSan exit, 23, never
# passes for a refusal).  Tables per command family (udp, tcp, echo/ping,
# raw, registry, profiles), the shared options (--count 0, --cpu, --backend,
# --json with --json-stream), command groups ("salvo udp"), absurdly long
# or multi-line arguments, and runtime refusals: nobody answering
# --expect-reply, a refused connect, a port in use, io_uring forbidden, no
# CAP_NET_RAW, no neighbour entry, an interface that has an XDP program.
#
#	sudo SALVO=build/salvo tests/integ/test_cli.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_groups
	test_count_zero
	test_shared_options
	test_long_input
	test_udp_bad_input
	test_tcp_bad_input
	test_echo_ping_bad_input
	test_raw_bad_input
	test_registry_bad_input
	test_profile_refusals
	test_expect_reply_no_server
	test_runtime_refusals
	test_uring_forbidden
	test_raw_runtime_refusals
"

# refuse RC NEEDLE ARGS...: `salvo ARGS` exits RC with exactly one line on
# stderr, under 400 bytes, holding NEEDLE (a fixed string); for RC 2 also
# nothing on stdout.  A mismatch is described and counted in ERRS.
ERRS=0
refuse() {
	local want=$1 needle=$2 rc lines bytes
	shift 2
	in_ns "${REFUSE_NS:-}" timeout -s KILL 30 "$SALVO" "$@" >"$TMP/r.out" 2>"$TMP/r.err" </dev/null
	rc=$?
	lines=$(count_lines "$TMP/r.err")
	bytes=$(wc -c <"$TMP/r.err")
	if [ "$rc" -ne "$want" ] || [ "$lines" -ne 1 ] || [ "$bytes" -gt 400 ] ||
		! grep -qF -- "$needle" "$TMP/r.err" || { [ "$want" -eq 2 ] && [ -s "$TMP/r.out" ]; }; then
		printf 'salvo %.100s: exit %d (want %d), %d stderr lines, %d bytes, stdout %d bytes, want "%s" in:\n' \
			"$*" "$rc" "$want" "$lines" "$bytes" "$(wc -c <"$TMP/r.out")" "$needle"
		head -c 600 "$TMP/r.err"
		echo
		ERRS=$((ERRS + 1))
	fi
}
verdict() { [ "$ERRS" -eq 0 ] || fail "$ERRS case(s) misbehaved (listed above)"; }

# "salvo udp" names a group: its commands on one line, exit 2; with --help on stdout, exit 0.
test_groups() {
	ERRS=0
	refuse 2 "echo, ping, recv, send" udp
	refuse 2 "send, sink" tcp
	refuse 2 "recv, send" raw
	refuse 2 "bench, join, list, serve" registry
	refuse 2 "unknown command 'udp bogus'" udp bogus
	refuse 2 "echo, ping, recv, send" udp --bogus
	refuse 2 "unknown command 'bogus'" bogus
	"$SALVO" udp --help >"$TMP/h.out" 2>"$TMP/h.err" || { echo "udp --help exited $?"; ERRS=$((ERRS + 1)); }
	[ ! -s "$TMP/h.err" ] && grep -q "^  udp send " "$TMP/h.out" && grep -q "^  udp recv " "$TMP/h.out" ||
		{ show "$TMP/h.out" "$TMP/h.err"; echo "udp --help does not list udp send/recv on stdout"; ERRS=$((ERRS + 1)); }
	verdict
}

# --count 0 is refused by every command that has a --count: leaving it out means no limit.
test_count_zero() {
	local p
	ERRS=0
	p=$(random_port)
	refuse 2 "--count: 0" udp send "127.0.0.1:$p" --count 0
	refuse 2 "--count: 0" udp recv "$p" --count 0
	refuse 2 "--count: 0" udp echo "$p" --count 0
	refuse 2 "--count: 0" udp ping "127.0.0.1:$p" --count 0
	refuse 2 "--count: 0" tcp sink "$p" --count 0
	refuse 2 "--count: 0" raw send -I lo --dst 127.0.0.1 --count 0
	refuse 2 "--count: 0" raw recv -I lo -n 0
	refuse 2 "--count: 0" registry bench "127.0.0.1:$p" --count 0
	refuse 2 "--count: 0" udp send "127.0.0.1:$p" --count 0k
	verdict
}

# --json with --json-stream, an unknown --backend (naming the known ones), --cpu
# beyond the CPUs this process may use (naming them); the boundary CPU runs.
test_shared_options() {
	local p bad first
	ERRS=0
	p=$(random_port)
	bad=$(python3 -c 'import os; s = os.sched_getaffinity(0); print(next(i for i in range(1 << 16) if i not in s))')
	first=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
	refuse 2 "--json-stream" udp send "127.0.0.1:$p" -n 1 --json --json-stream
	refuse 2 "--json-stream" tcp sink "$p" --json --json-stream
	refuse 2 "--json-stream" udp recv "$p" -J --json-stream
	refuse 2 "unknown backend 'foo'; known: " udp send "127.0.0.1:$p" -n 1 --backend foo
	refuse 2 "syscall" tcp send "127.0.0.1:$p" -b foo
	refuse 2 "unknown backend 'foo'" udp recv "$p" -b foo
	refuse 2 "unknown backend 'foo'" raw send -I lo --dst 127.0.0.1 -n 1 -b foo
	refuse 2 "--cpu $bad: CPU $bad is not available (CPUs here: " udp send "127.0.0.1:$p" -n 1 --cpu "$bad"
	refuse 2 "--cpu 4000" udp recv "$p" --cpu 4000
	# Workers pin to CPU N+i: two threads from the last usable CPU need one more.
	refuse 2 "CPU $bad is not available" udp send "127.0.0.1:$p" -n 1 --cpu $((bad - 1)) -t 2
	# A receiver: a send to nobody is refused, exit 1 (docs/commands.md, Exit codes).
	timeout -s KILL 30 "$SALVO" udp recv "$p" -d 200ms --cpu "$first" -q >"$TMP/ok.out" 2>"$TMP/ok.err" ||
		{ show "$TMP/ok.err"; echo "--cpu $first (usable) refused"; ERRS=$((ERRS + 1)); }
	verdict
}

# A 100 kB argument comes back as its first 64 bytes and "…", never a
# multi-kilobyte line; a newline in an argument does not make two lines.
test_long_input() {
	local long p
	ERRS=0
	p=$(random_port)
	long=$(head -c 100000 /dev/zero | tr '\0' 9)
	refuse 2 "port '9999999999999999" udp send "127.0.0.1:$long" -n 1
	refuse 2 "…" udp send "127.0.0.1:$long" -n 1
	refuse 2 "unknown option '--xxxx" udp send "127.0.0.1:$p" "--${long//9/x}"
	refuse 2 "…" udp send "127.0.0.1:$p" "--${long//9/x}"
	refuse 2 "unexpected argument '9999" udp send "127.0.0.1:$p" "$long"
	refuse 2 "unknown backend '9999" udp send "127.0.0.1:$p" -n 1 -b "$long"
	refuse 2 "…" tcp send "$long:$p"
	refuse 2 "…" run "$TMP/$(head -c 200 /dev/zero | tr '\0' p)"
	refuse 2 "…" registry serve "${long}"
	refuse 2 "port '1\\n2'" udp send "127.0.0.1:1
2" -n 1
	refuse 2 "unknown command 'a\\x01b'" "a$(printf '\001')b"
	verdict
}

test_udp_bad_input() {
	local p
	ERRS=0
	p=$(random_port)
	refuse 2 "port 'notaport'" udp send 127.0.0.1:notaport -n 1
	refuse 2 "missing DEST" udp send
	refuse 2 "--size" udp send "127.0.0.1:$p" -n 1 --size 65508
	refuse 2 "--rate" udp send "127.0.0.1:$p" -n 1 --rate 0
	refuse 2 "--threads" udp recv "$p" --threads 0
	refuse 2 "--duration" udp recv "$p" -d 0
	refuse 2 "--clock" udp send "127.0.0.1:$p" -n 1 --clock sundial
	refuse 2 "'--json'" udp send "127.0.0.1:$p" -n 1 --json=yes
	verdict
}

test_tcp_bad_input() {
	local p
	ERRS=0
	p=$(random_port)
	refuse 2 "port '0'" tcp send 127.0.0.1:0
	refuse 2 "port '65536'" tcp sink 65536
	refuse 2 "'[::1:$p'" tcp send "[::1:$p"
	refuse 2 "--streams" tcp send "127.0.0.1:$p" --streams 0
	refuse 2 "--streams (1) must be at least --threads (2)" tcp send "127.0.0.1:$p" --threads 2
	refuse 2 "--bytes" tcp send "127.0.0.1:$p" --bytes 1x
	refuse 2 "--bogus" tcp sink "$p" --bogus
	refuse 2 "missing DEST" tcp send
	refuse 2 "unexpected argument 'extra'" tcp sink "$p" extra
	refuse 2 "--message excludes" tcp send "127.0.0.1:$p" --message hi --bytes 1M
	refuse 2 "unix path" tcp sink "unix:/$(head -c 120 /dev/zero | tr '\0' u)"
	verdict
}

test_echo_ping_bad_input() {
	local p
	ERRS=0
	p=$(random_port)
	refuse 2 "port '65536'" udp echo 65536
	refuse 2 "'--reply' needs a value" udp echo "$p" --reply
	refuse 2 "unexpected argument 'extra'" udp echo "$p" extra
	refuse 2 "port '0'" udp ping 127.0.0.1:0
	refuse 2 "--rate" udp ping "127.0.0.1:$p" --rate 0
	refuse 2 "missing DEST" udp ping
	refuse 2 "--timeout" udp ping "127.0.0.1:$p" --timeout soon
	refuse 2 "--size" udp ping "127.0.0.1:$p" --size 65508
	verdict
}

# Parsing comes before any privilege or interface check, so these need no root.
test_raw_bad_input() {
	ERRS=0
	refuse 2 "--iface" raw send --dst 10.0.0.1 -n 1
	refuse 2 "--dst" raw send -I lo -n 1
	refuse 2 "--vlan" raw send -I lo --dst 10.0.0.1 --vlan 5000 -n 1
	refuse 2 "'300.1.1.1'" raw send -I lo --dst 300.1.1.1 -n 1
	refuse 2 "'70000'" raw send -I lo --dst 10.0.0.1 --dport 70000 -n 1
	refuse 2 "frame size 10" raw send -I lo --dst 10.0.0.1 --dst-mac 02:00:00:00:00:01 --size 10 -n 1
	refuse 2 "--bogus" raw recv -I lo --bogus
	verdict
}

test_registry_bad_input() {
	local p
	ERRS=0
	p=$(random_port)
	# port 0 is a free port the kernel picks (test_listen.sh)
	refuse 2 "port '65536'" registry serve 65536
	refuse 2 "--connections" registry bench "127.0.0.1:$p" --connections 0
	refuse 2 "--bogus" registry list --bogus
	refuse 2 "--json-stream" registry serve "$p" --json --json-stream
	verdict
}

# profile NAME TEXT: write $TMP/NAME.json.
profile() { printf '%s' "$2" >"$TMP/$1.json"; }

test_profile_refusals() {
	local p u i many
	ERRS=0
	p=$(random_port)
	u="\"type\": \"udp\", \"dst\": \"127.0.0.1:$p\""
	profile dup "{\"streams\": [ { $u,
  \"count\": 1, \"count\": 2 } ] }"
	refuse 2 "dup.json:2:21: duplicate object key near '\"count\"'" run "$TMP/dup.json"
	profile dup2 "{\"streams\": [ { $u, \"count\": 1 } ], \"streams\": [] }"
	refuse 2 "duplicate object key near '\"streams\"'" run "$TMP/dup2.json"
	mkdir "$TMP/dir.json"
	refuse 2 "dir.json is a directory" run "$TMP/dir.json"
	refuse 2 "nope.json" run "$TMP/nope.json"
	profile syntax "{\"streams\": [ { $u, \"count\": 1 } ]"
	refuse 2 "syntax.json:1:" run "$TMP/syntax.json"
	profile empty '{"streams": []}'
	refuse 2 "\"streams\": [ 1..64" run "$TMP/empty.json"
	many=$(for i in $(seq 65); do printf '{ %s, "count": 1 },' "$u"; done)
	profile many "{\"streams\": [ ${many%,} ] }"
	refuse 2 "\"streams\": [ 1..64" run "$TMP/many.json"
	profile count0 "{\"streams\": [ { $u, \"count\": 0 } ] }"
	refuse 2 "\"count\": 0" run "$TMP/count0.json"
	profile unbounded "{\"streams\": [ { $u } ] }"
	refuse 2 "no \"count\" or \"duration\"" run "$TMP/unbounded.json"
	profile key "{\"streams\": [ { $u, \"count\": 1, \"rtae\": 5 } ] }"
	refuse 2 "unknown key \"rtae\"" run "$TMP/key.json"
	profile null "{\"streams\": [ { $u, \"count\": 1, \"size\": null } ] }"
	refuse 2 "\"size\": null is not a value" run "$TMP/null.json"
	profile backend "{\"streams\": [ { $u, \"count\": 1, \"backend\": \"foo\" } ] }"
	refuse 2 "unknown backend 'foo'" run "$TMP/backend.json"
	profile type "{\"streams\": [ { \"type\": \"sctp\", \"count\": 1 } ] }"
	refuse 2 "\"sctp\"" run "$TMP/type.json"
	profile nodst '{"streams": [ { "type": "udp", "count": 1 } ] }'
	refuse 2 "needs \"dst\"" run "$TMP/nodst.json"
	profile threads "{\"streams\": [ { $u, \"count\": 1, \"threads\": \"two\" } ] }"
	refuse 2 "\"threads\"" run "$TMP/threads.json"
	profile burst0 "{\"streams\": [ { $u, \"count\": 1, \"burst\": 0 } ] }"
	refuse 2 "\"burst\" must be an integer 1..1024" run "$TMP/burst0.json"
	profile dur "{\"duration\": 5, \"streams\": [ { $u } ] }"
	refuse 2 "\"duration\"" run "$TMP/dur.json"
	# Found by tests/fuzz/fuzz_profile.c: a 4 GiB + 64 size sent 64-byte
	# payloads (cut to 32 bits); a number where a name goes passed as absent;
	# a name with a newline split the report's heading line in two.
	profile size4g "{\"streams\": [ { $u, \"count\": 1, \"size\": 4294967360 } ] }"
	refuse 2 "4294967360 bytes exceeds the maximum of 65507" run "$TMP/size4g.json"
	profile typenum "{\"streams\": [ { \"type\": 5, \"dst\": \"127.0.0.1:$p\", \"count\": 1 } ] }"
	refuse 2 "\"type\" must be a string" run "$TMP/typenum.json"
	profile namenl "{\"streams\": [ { $u, \"count\": 1, \"name\": \"a\\nb\" } ] }"
	refuse 2 "\"name\" must not hold control characters" run "$TMP/namenl.json"
	# A seed that is not a whole number was read as 0 (strtoull).
	profile seed '{"streams": [ { "iface": "lo", "dst": "127.0.0.1", "count": 1, "seed": "x" } ] }'
	refuse 2 "\"seed\" must be a whole number" run "$TMP/seed.json"
	profile seedneg '{"streams": [ { "iface": "lo", "dst": "127.0.0.1", "count": 1, "seed": -1 } ] }'
	refuse 2 "\"seed\" must be a whole number" run "$TMP/seedneg.json"
	# A stream that cannot start is a runtime failure.
	profile nif '{"streams": [ { "iface": "nosuchif0", "dst": "10.0.0.1", "count": 1 } ] }'
	refuse 1 "nosuchif0" run "$TMP/nif.json"
	# The boundary: the same udp stream, bounded, runs.
	profile ok "{\"streams\": [ { $u, \"count\": 1 } ] }"
	timeout -s KILL 30 "$SALVO" run "$TMP/ok.json" >"$TMP/ok.out" 2>"$TMP/ok.err" ||
		{ show "$TMP/ok.err"; echo "a valid profile failed"; ERRS=$((ERRS + 1)); }
	verdict
}

# --expect-reply with nobody there (refused) or a silent listener (timeout):
# exit 1, one line saying no reply, within a bound.
test_expect_reply_no_server() {
	local p t0 t1
	ERRS=0
	p=$(random_port)
	refuse 1 "no reply" udp send "127.0.0.1:$p" --message hi --expect-reply --timeout 2s
	bg "$TMP/py.txt" timeout 40 python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); time.sleep(35)' "$p"
	wait_udp_bound "$p" "" 30000 || { show "$TMP/py.txt.err"; fail "python listener never bound"; return; }
	t0=$(date +%s%3N)
	refuse 1 "no reply" udp send "127.0.0.1:$p" --message hi --expect-reply --timeout 500ms
	t1=$(date +%s%3N)
	[ $((t1 - t0)) -lt 10000 ] || { echo "a 500 ms --timeout took $((t1 - t0)) ms"; ERRS=$((ERRS + 1)); }
	verdict
}

# Runtime failures exit 1 with one line: a refused connect, a port in use.
test_runtime_refusals() {
	local b p
	ERRS=0
	for b in uring syscall; do
		p=$(random_port)
		refuse 1 "Connection refused" tcp send "127.0.0.1:$p" --bytes 1M --timeout 2s -b "$b"
		bg "$TMP/py.txt" timeout 40 python3 -c 'import socket,sys,time; u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(("127.0.0.1",int(sys.argv[1]))); t=socket.socket(); t.bind(("127.0.0.1",int(sys.argv[1]))); t.listen(); time.sleep(35)' "$p"
		busywait 30000 udp_bound "$p" || { show "$TMP/py.txt.err"; fail "python listener never bound"; return; }
		refuse 1 "Address already in use" udp echo "127.0.0.1:$p" -d 2 -b "$b"
		refuse 1 "Address already in use" udp recv "127.0.0.1:$p" -d 2 -b "$b"
		refuse 1 "Address already in use" tcp sink "127.0.0.1:$p" -d 2 -b "$b"
		cleanup_test
	done
	refuse 1 "nosuchif0" raw send -I nosuchif0 --dst 10.0.0.1 -n 1
	refuse 1 "nosuchif0" raw recv -I nosuchif0 -n 1
	refuse 1 "Connection refused" registry list "127.0.0.1:$(random_port)"
	verdict
}

# io_uring_setup forbidden (seccomp, as some container runtimes do):
# --backend uring is a runtime failure, one line with the reason.
test_uring_forbidden() {
	[ "$(uname -m)" = x86_64 ] || { skip "the syscall number is x86_64's"; return; }
	local p rc
	p=$(random_port)
	python3 - "$SALVO" udp send "127.0.0.1:$p" --backend uring -n 10 >"$TMP/f.out" 2>"$TMP/f.err" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def ins(code, jt, jf, k): return struct.pack("HBBI", code, jt, jf, k)
prog = b"".join([ins(0x20, 0, 0, 0), ins(0x15, 0, 1, 425),   # io_uring_setup
                 ins(0x06, 0, 0, 0x00050001), ins(0x06, 0, 0, 0x7fff0000)])  # EPERM / allow
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fp = Fprog(len(prog) // 8, ctypes.addressof(buf))
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fp), 0, 0):
    sys.exit("seccomp: errno %d" % ctypes.get_errno())
os.execv(sys.argv[1], sys.argv[1:])
PY
	rc=$?
	[ "$rc" -eq 1 ] && [ "$(count_lines "$TMP/f.err")" -eq 1 ] && grep -q "Operation not permitted" "$TMP/f.err" ||
		{ show "$TMP/f.err"; fail "--backend uring without io_uring: exit $rc (want 1), not one reason line"; }
}

# refuse_in NS RC NEEDLE ARGS...: refuse, with salvo run inside namespace NS.
refuse_in() {
	local ns=$1
	shift
	REFUSE_NS=$ns refuse "$@"
}

# Raw and AF_XDP refusals on a veth pair, exit codes pinned: no CAP_NET_RAW,
# no neighbour entry, an interface that already has an XDP program.
test_raw_runtime_refusals() {
	require_root || return
	command -v capsh >/dev/null || { fail "capsh (libcap2-bin) not installed"; return; }
	setup_ns NA NB || return
	setup_veth "$NA" "$NB" 10.78.0.1/24 10.78.0.2/24 || return
	ERRS=0
	ip netns exec "$NA" capsh --drop=cap_net_raw -- -c \
		"exec $SALVO raw send -I veth-a --dst 10.78.0.2 --dst-mac 02:00:00:00:00:02 -n 1" >"$TMP/c.out" 2>"$TMP/c.err"
	local rc=$?
	[ "$rc" -eq 1 ] && [ "$(count_lines "$TMP/c.err")" -eq 1 ] && grep -q CAP_NET_RAW "$TMP/c.err" ||
		{ show "$TMP/c.err"; echo "without CAP_NET_RAW: exit $rc (want 1)"; ERRS=$((ERRS + 1)); }
	refuse_in "$NA" 1 "no neighbour entry for 10.78.0.99 on veth-a" raw send -I veth-a --dst 10.78.0.99 -n 1
	if "$SALVO" backends 2>/dev/null | grep -qE '^af_xdp +yes'; then
		salvo_bg -n "$NB" "$TMP/x.out" raw recv --backend af_xdp -I veth-b -d 30 -q
		busywait 15000 has_xdp_prog "$NB" veth-b || { show "$TMP/x.out.err"; fail "no XDP program attached to veth-b"; return; }
		refuse_in "$NB" 1 "already has an XDP program" raw recv --backend af_xdp -I veth-b -d 2 -q
	fi
	verdict
}
has_xdp_prog() { ip -n "$1" -d link show dev "$2" | grep -q 'prog/xdp'; }

[ $# -gt 0 ] && TESTS="$*"
for t in $TESTS; do run_test "$t"; done
exit "$RET"
