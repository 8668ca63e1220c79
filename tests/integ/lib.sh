# SPDX-License-Identifier: MIT
# Shared helpers for tests/integ/test_*.sh, after the kernel selftests' lib.sh.
#
# A script sources this file, defines test_* functions, lists them and hands
# each to run_test, then exits with $RET:
#
#	. "$(dirname "$0")/lib.sh"
#	test_foo() { ...; [ "$x" = 1 ] || { fail "x is $x"; return; }; }
#	TESTS="test_foo"
#	for t in $TESTS; do run_test "$t"; done
#	exit "$RET"
#
# A test function returns 0 (pass), $ksft_skip (skip) or anything else (fail);
# `fail WHY` / `skip WHY` set the reason and return 1 / $ksft_skip, so
# `cond || { fail "why"; return; }` ends a test with that reason.
#
# Everything a test starts is recorded and torn down after it (and on EXIT):
# namespaces from setup_ns, pids from salvo_bg / bg, files under $TMP.
#
# Environment: SALVO (binary, default build/salvo), SALVO_BACKEND (passed as
# -b to every traffic command when set), SALVO_ASAN=1 (ASan build: slower),
# CI=true (privileged tests fail instead of skipping when not root).

set -u

ksft_skip=4
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$LIB_DIR/../.." && pwd)
SEED=$TOP/tests/seed
SALVO=${SALVO:-$TOP/build/salvo}
SALVO_BACKEND=${SALVO_BACKEND:-}
SALVO_ASAN=${SALVO_ASAN:-0}
RET=0
TEST_MSG=
NS_LIST=()
BG_PIDS=()
declare -A SALVO_BG_OUT=() BG_JUDGED=()
TMP=$(mktemp -d /tmp/salvo-integ.XXXXXX)

# The one trap: anything a script or test started goes away with it.
cleanup() {
	cleanup_test
	rm -rf "$TMP"
}
trap cleanup EXIT

# Per test: stop what was started in the background, delete the namespaces.
# A salvo from salvo_bg that the test did not wait for itself must stop on
# SIGTERM within 5 s and exit 0 (it prints its summary and ends cleanly), one
# that ended before must have exited 0 unless the test judged its status with
# wait_pid, and its stderr must hold no sanitizer report; otherwise cleanup_test says why in
# BG_PROBLEM and returns 1, and run_test fails the test.  (The runner also
# fails any sanitizer report written to a file: tests/run.sh.)
BG_PROBLEM=
cleanup_test() {
	local p ns rc killed out
	local -A term=()
	BG_PROBLEM=
	for p in "${BG_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null
		term[$p]=1
	done
	for p in "${BG_PIDS[@]}"; do
		killed=
		if [ -n "${term[$p]:-}" ] && ! busywait 5000 pid_gone "$p"; then
			kill -KILL "$p" 2>/dev/null
			killed=1
		fi
		wait "$p" 2>/dev/null
		rc=$?
		out=${SALVO_BG_OUT[$p]:-}
		[ -n "$out" ] || continue
		if [ -n "$killed" ]; then
			BG_PROBLEM+="background salvo $p did not stop within 5 s of SIGTERM; "
		elif [ "$rc" -ne 0 ] && [ -z "${BG_JUDGED[$p]:-}" ]; then
			BG_PROBLEM+="background salvo $p exited $rc: $(head -c 300 "$out.err" 2>/dev/null | tr '\n' ' '); "
		fi
		if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer' "$out.err" 2>/dev/null; then
			BG_PROBLEM+="sanitizer report in the stderr of background salvo $p ($(grep -m1 -E 'ERROR|runtime error|WARNING' "$out.err" | head -c 200)); "
		fi
	done
	BG_PIDS=()
	SALVO_BG_OUT=()
	BG_JUDGED=()
	for ns in "${NS_LIST[@]}"; do ip netns del "$ns" 2>/dev/null; done
	NS_LIST=()
	[ -z "$BG_PROBLEM" ]
}

fail() { TEST_MSG="$*"; return 1; }
skip() { TEST_MSG="$*"; return "$ksft_skip"; }

# require_root: skip the test when not root, fail it when CI=true.
#	require_root || return
require_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	if [ "${CI:-}" = true ]; then
		fail "needs root (CI=true: not skipping)"
		return
	fi
	skip "needs root"
}

# run_test test_fn: runs it, prints PASS/FAIL/SKIP, tears down after it.
# The directory tests/run.sh gives the sanitizers for their reports (log_path),
# if any: a report that appears there during a test fails that test.
SAN_DIR=
[[ ${ASAN_OPTIONS:-} =~ log_path=([^:]*) ]] && SAN_DIR=$(dirname "${BASH_REMATCH[1]}")
san_reports() { [ -n "$SAN_DIR" ] && find "$SAN_DIR" -type f -size +0 2>/dev/null | sort; }

# A script that runs under ASan (# asan: yes) may name, in PLAIN_ONLY, the
# tests whose point is a rate, a timing or a count at speed and that reach no
# code the script's other tests do not: the ASan run leaves them out (a
# comment line says so; they are not counted), the plain run has them.
run_test() {
	local name=$1 rc san_before san_new
	if [ "$SALVO_ASAN" = 1 ] && [[ " ${PLAIN_ONLY:-} " == *" $name "* ]]; then
		echo "# $name: plain build only (PLAIN_ONLY)"
		return 0
	fi
	TEST_MSG=
	san_before=$(san_reports)
	TEST_T0=$(date +%s%3N)
	"$name"
	rc=$?
	if ! cleanup_test; then
		if [ "$rc" -eq 0 ] || [ "$rc" -eq "$ksft_skip" ]; then
			rc=1
			TEST_MSG=$BG_PROBLEM
		else
			TEST_MSG="${TEST_MSG:-exit $rc}; $BG_PROBLEM"
		fi
	fi
	san_new=$(comm -13 <(echo "$san_before") <(san_reports) | grep .)
	if [ -n "$san_new" ]; then
		rc=1
		TEST_MSG="sanitizer report $(echo "$san_new" | head -n 1): $(grep -m1 -hE 'ERROR|runtime error|WARNING' $san_new | head -c 200) ${TEST_MSG:-}"
	fi
	# How long each test took, for keeping make check short (not counted).
	echo "# $name: $(( ($(date +%s%3N) - TEST_T0) / 1000 )) s"
	case $rc in
	0)		echo "PASS: $name" ;;
	"$ksft_skip")	echo "SKIP: $name ${TEST_MSG:-}" ;;
	*)		echo "FAIL: $name ${TEST_MSG:-exit $rc}"; RET=1 ;;
	esac
}

# packet_bound PID NS IF: PID holds a packet socket that NS's /proc/net/packet
# shows bound to IF (its ifindex) and running.  af_packet sets up its rx ring
# before it binds, so from then on every frame lands in the ring: the
# receiver is ready.
packet_bound() {
	local pid=$1 ns=$2 ifc=$3 idx inodes
	idx=$(ip -n "$ns" -o link show dev "$ifc" | cut -d: -f1) || return 1
	inodes=$(ls -l "/proc/$pid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p')
	[ -n "$inodes" ] || return 1
	ip netns exec "$ns" cat /proc/net/packet | awk -v idx="$idx" -v inodes="$inodes" '
		BEGIN { n = split(inodes, a, "\n"); for (i = 1; i <= n; i++) mine[a[i]] = 1 }
		NR > 1 && $5 == idx && $6 == 1 && ($9 in mine) { found = 1 }
		END { exit !found }'
}

# busywait TIMEOUT_MS cmd...: retry cmd every 20 ms until it succeeds or the
# time is up; returns cmd's last status.
busywait() {
	local timeout_ms=$1 start now rc
	shift
	start=$(date +%s%3N)
	while :; do
		"$@" && return 0
		rc=$?
		now=$(date +%s%3N)
		[ $((now - start)) -ge "$timeout_ms" ] && return "$rc"
		sleep 0.02
	done
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# wait_pid PID TIMEOUT_MS: waits for a background child; returns its exit
# status, or 124 (and kills it) when it outlives the timeout.  The caller
# judges that status, so cleanup_test does not.
wait_pid() {
	local pid=$1 timeout_ms=$2
	BG_JUDGED[$pid]=1
	if ! busywait "$timeout_ms" pid_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid"
}

# random_port: a random port in 20000..59999 that nothing here listens on.
random_port() {
	local p i
	for i in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		ss -Hantu "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
	done
	echo "$p"
}

rand_suffix() { printf '%04x%04x' "$RANDOM" "$RANDOM"; }

# setup_ns VAR...: one namespace per name, "VAR-<random>", exported as $VAR,
# with lo up.  Recorded for cleanup.
setup_ns() {
	local var ns
	for var in "$@"; do
		ns="salvo-$var-$(rand_suffix)"
		ip netns add "$ns" || { fail "ip netns add $ns"; return; }
		NS_LIST+=("$ns")
		ip -n "$ns" link set lo up || { fail "lo up in $ns"; return; }
		eval "export $var=$ns"
	done
}

# setup_veth NS_A NS_B ADDR_A ADDR_B: a veth pair, "veth-a" in NS_A with
# ADDR_A and "veth-b" in NS_B with ADDR_B (CIDR, e.g. 10.1.2.1/24), both up,
# lo up in each.  IPv6 DAD is off so addresses are usable at once.
# quiet_pair NS_A NS_B IP_A IP_B: make a veth-a/veth-b pair from setup_veth
# silent, so the peer's counters see only what a test sends: IPv6 off (no
# ND/MLD frames) and permanent neighbour entries (no ARP). Sets MAC_A, MAC_B.
# sysctl_ns NS KEY=VALUE...: write /proc/sys/KEY in NS (keys with slashes);
# fails the test, naming the key, when a write fails.
sysctl_ns() {
	local ns=$1 kv
	shift
	for kv in "$@"; do
		in_ns "$ns" sh -c 'echo "$2" >"/proc/sys/$1"' sh "${kv%%=*}" "${kv#*=}" 2>/dev/null ||
			{ fail "cannot set ${kv%%=*} in ${ns:-this namespace}"; return 1; }
	done
}

mac_of() { ip -n "$1" -j link show dev "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }
quiet_pair() {
	local na=$1 nb=$2 ip_a=$3 ip_b=$4 ns
	# Written to /proc/sys directly, and checked: when this silently failed
	# (no sysctl on a fresh machine) the peers' ND/MLD frames were counted.
	sysctl_ns "$na" net/ipv6/conf/all/disable_ipv6=1 net/ipv6/conf/default/disable_ipv6=1 \
		net/ipv6/conf/veth-a/disable_ipv6=1 || return 1
	sysctl_ns "$nb" net/ipv6/conf/all/disable_ipv6=1 net/ipv6/conf/default/disable_ipv6=1 \
		net/ipv6/conf/veth-b/disable_ipv6=1 || return 1
	MAC_A=$(mac_of "$na" veth-a)
	MAC_B=$(mac_of "$nb" veth-b)
	ip -n "$na" neigh replace "$ip_b" lladdr "$MAC_B" dev veth-a nud permanent || { fail "neigh A"; return 1; }
	ip -n "$nb" neigh replace "$ip_a" lladdr "$MAC_A" dev veth-b nud permanent || { fail "neigh B"; return 1; }
}

setup_veth() {
	local a=$1 b=$2 addr_a=$3 addr_b=$4 ns
	# Created inside the namespaces: names in the root namespace could clash
	# with other tests running at the same time.
	ip -n "$a" link add veth-a type veth peer name veth-b netns "$b" || {
		fail "veth pair $a/$b"
		return
	}
	for ns in "$a" "$b"; do
		[ -e /proc/sys/net/ipv6 ] && { sysctl_ns "$ns" net/ipv6/conf/all/accept_dad=0 \
			net/ipv6/conf/default/accept_dad=0 || return 1; }
		ip -n "$ns" link set lo up
	done
	ip -n "$a" addr add "$addr_a" dev veth-a nodad 2>/dev/null || ip -n "$a" addr add "$addr_a" dev veth-a
	ip -n "$b" addr add "$addr_b" dev veth-b nodad 2>/dev/null || ip -n "$b" addr add "$addr_b" dev veth-b
	ip -n "$a" link set veth-a up && ip -n "$b" link set veth-b up || { fail "veth up"; return; }
	busywait 5000 veth_up "$a" veth-a && busywait 5000 veth_up "$b" veth-b || fail "veth not up"
}

veth_up() { ip -n "$1" -br link show dev "$2" | grep -qw UP; }

# in_ns NS cmd...: run cmd in NS ("" = this namespace).
in_ns() {
	local ns=$1
	shift
	if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi
}

# salvo_cmd ARGS...: the salvo command line for ARGS, with -b $SALVO_BACKEND
# after the subcommand when set ("udp send" -> "udp send -b B").
salvo_cmd() {
	SALVO_ARGV=("$SALVO")
	if [ $# -ge 2 ] && [ -n "$SALVO_BACKEND" ]; then
		SALVO_ARGV+=("$1" "$2" -b "$SALVO_BACKEND")
		shift 2
	fi
	SALVO_ARGV+=("$@")
}

# salvo_run [-n NS] OUT ARGS...: salvo in the foreground (60 s cap), stdout
# to OUT, stderr to OUT.err; returns salvo's status.
salvo_run() {
	local ns=
	[ "$1" = -n ] && { ns=$2; shift 2; }
	local out=$1
	shift
	salvo_cmd "$@"
	in_ns "$ns" timeout -s KILL 60 "${SALVO_ARGV[@]}" >"$out" 2>"$out.err"
}

# salvo_bg [-n NS] OUT ARGS...: salvo in the background, stdout to OUT,
# stderr to OUT.err; its pid in $SALVO_PID and recorded for cleanup.
salvo_bg() {
	local ns=
	[ "$1" = -n ] && { ns=$2; shift 2; }
	local out=$1
	shift
	salvo_cmd "$@"
	# A plain command with & (not a function, which would fork a subshell) and
	# ip netns exec, which execs in place: $! is salvo itself, so signals
	# reach it.  (Bash starts it with SIGINT ignored; salvo installs its own.)
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "${SALVO_ARGV[@]}" >"$out" 2>"$out.err" &
	else
		"${SALVO_ARGV[@]}" >"$out" 2>"$out.err" &
	fi
	SALVO_PID=$!
	BG_PIDS+=("$SALVO_PID")
	SALVO_BG_OUT[$SALVO_PID]=$out
}

# bg [-n NS] OUT cmd...: any command in the background, as salvo_bg; pid in $BG_PID.
bg() {
	local ns=
	[ "$1" = -n ] && { ns=$2; shift 2; }
	local out=$1
	shift
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$@" >"$out" 2>"$out.err" &
	else
		"$@" >"$out" 2>"$out.err" &
	fi
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# wait_udp_bound PORT [NS] [TIMEOUT_MS]: until a UDP socket is bound to PORT.
wait_udp_bound() {
	busywait "${3:-30000}" udp_bound "$1" "${2:-}"
}
udp_bound() { in_ns "${2:-}" ss -Hlun "sport = :$1" | grep -q .; }

# wait_unix_bound PATH [TIMEOUT_MS]: until the socket file exists.
wait_unix_bound() { busywait "${2:-10000}" test -S "$1"; }

# json_get FILE PATH: the value at a dotted PATH ("tx.packets") of the JSON
# document in FILE, printed as JSON (strings bare); fails if absent or not JSON.
json_get() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split('.'):
        v = v[int(k)] if isinstance(v, list) else v[k]
except Exception as e:
    sys.stderr.write("json_get %s %s: %r\n" % (sys.argv[1], sys.argv[2], e))
    sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# json_ok FILE: the file holds exactly one JSON document.
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; }

# snmp_udp FIELD [NS]: a Udp counter of /proc/net/snmp (InDatagrams,
# OutDatagrams, RcvbufErrors, NoPorts, ...) in NS.
snmp_udp() {
	in_ns "${2:-}" cat /proc/net/snmp | awk -v f="$1" '
		$1 == "Udp:" && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == "Udp:" && hdr { if (f in col) { print $(col[f]); found = 1 } exit }
		END { if (!found) exit 1 }'
}

# snmp6_udp FIELD [NS]: a Udp6 counter of /proc/net/snmp6 (Udp6InDatagrams ...).
snmp6_udp() { in_ns "${2:-}" awk -v f="$1" '$1 == f { print $2; found = 1 } END { exit !found }' /proc/net/snmp6; }

# link_stat IF STAT [NS]: a counter of `ip -s -j link`: rx_packets, tx_bytes,
# rx_dropped ... (direction_field of stats64).
link_stat() {
	in_ns "${3:-}" ip -s -j link show dev "$1" | python3 -c '
import json, sys
d, f = sys.argv[1].split("_", 1)
print(json.load(sys.stdin)[0]["stats64"][d][f])' "$2"
}

# py_cmp A OP B: compares two python expressions, e.g. py_cmp "abs($x - 1)" "<=" 0.01
py_cmp() { python3 -c "import sys; sys.exit(0 if ($1) $2 ($3) else 1)"; }

# py_eval EXPR: prints the value of a python expression.
py_eval() { python3 -c "print($1)"; }

# count_lines FILE: number of lines (0 for an empty file).
count_lines() { wc -l <"$1" | tr -d ' '; }

# show FILE...: the files, for a failure's context (into the log, not counted).
show() {
	local f
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f")"
		head -c 3000 "$f"
		echo
	done
}

# unix_probe PATH refused|bound: whether the kernel has a socket bound to the
# unix socket file PATH (a datagram connect: refused when none is; a live
# stream listener refuses the type instead, and sees no connection).
unix_probe() {
	python3 -c '
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.connect(sys.argv[1])
    e = 0
except OSError as x:
    e = x.errno
if sys.argv[2] == "refused":
    sys.exit(e != errno.ECONNREFUSED)
sys.exit(e not in (0, errno.EPROTOTYPE))' "$1" "$2"
}

# unix_path_rules BACKEND "RECV" "RECV_OPTS" "SEND" FIELD WANT: the one rule
# for a unix path a receiver binds (backends/sock.c), on one backend, with
# RECV ("udp recv", "tcp sink") and SEND (a sender command and its options):
#  - an ordinary file at the path is never removed: RECV exits non-zero with
#    one line saying it is not a socket, and the file keeps its content;
#  - a running receiver's path is never taken over: a second RECV exits
#    non-zero with one "in use" line, and the first (RECV_OPTS, which must
#    end it) still gets what SEND sends: its JSON FIELD equals WANT;
#  - a stale socket (its receiver killed with SIGKILL) is reused: a new
#    receiver binds it and gets what SEND sends.
unix_path_rules() {
	local b=$1 recv=($2) ropts=($3) send=($4) field=$5 want=$6 f p pid rc got
	f=$TMP/file-$b p=$TMP/path-$b.sock
	printf 'user data\n' >"$f"
	SALVO_BACKEND=$b salvo_run "$TMP/file.out" "${recv[@]}" "unix:$f" -d 1
	rc=$?
	[ "$rc" -ne 0 ] || { fail "$b: ${recv[*]} on an ordinary file exited 0"; return; }
	[ "$(cat "$f" 2>/dev/null)" = "user data" ] || { fail "$b: ${recv[*]} removed or changed $f"; return; }
	[ "$(count_lines "$TMP/file.out.err")" = 1 ] && grep -q "not a socket" "$TMP/file.out.err" ||
		{ show "$TMP/file.out.err"; fail "$b: not one 'not a socket' line"; return; }

	SALVO_BACKEND=$b salvo_bg "$TMP/first.json" "${recv[@]}" "unix:$p" "${ropts[@]}" --json -d 30
	pid=$SALVO_PID
	wait_unix_bound "$p" || { show "$TMP/first.json.err"; fail "$b: first receiver never bound"; return; }
	SALVO_BACKEND=$b salvo_run "$TMP/second.out" "${recv[@]}" "unix:$p" -d 1
	rc=$?
	[ "$rc" -ne 0 ] || { fail "$b: a second receiver on a running one's path exited 0"; return; }
	[ "$(count_lines "$TMP/second.out.err")" = 1 ] && grep -q "in use by a running receiver" "$TMP/second.out.err" ||
		{ show "$TMP/second.out.err"; fail "$b: not one 'in use' line"; return; }
	[ -S "$p" ] || { fail "$b: the second receiver removed the first one's socket"; return; }
	SALVO_BACKEND=$b salvo_run "$TMP/send.out" "${send[@]}" "unix:$p" ||
		{ show "$TMP/send.out.err"; fail "$b: send to the first receiver failed"; return; }
	wait_pid "$pid" 20000 || { show "$TMP/first.json.err"; fail "$b: first receiver exited $?"; return; }
	got=$(json_get "$TMP/first.json" "$field") || { fail "$b: first receiver's JSON unreadable"; return; }
	[ "$got" = "$want" ] || { fail "$b: first receiver's $field is $got, want $want"; return; }

	SALVO_BACKEND=$b salvo_bg "$TMP/killed.out" "${recv[@]}" "unix:$p" -d 30
	pid=$SALVO_PID
	wait_unix_bound "$p" || { fail "$b: receiver to kill never bound"; return; }
	kill -KILL "$pid"
	{ wait_pid "$pid" 5000; } 2>/dev/null
	[ -S "$p" ] || { fail "$b: no stale socket left after SIGKILL"; return; }
	# A receiver killed with its io_uring open holds the socket until the
	# kernel's deferred ring teardown: wait until nothing is bound to it.
	busywait 5000 unix_probe "$p" refused || { fail "$b: the killed receiver's socket still bound after 5 s"; return; }
	SALVO_BACKEND=$b salvo_bg "$TMP/third.json" "${recv[@]}" "unix:$p" "${ropts[@]}" --json -d 30
	pid=$SALVO_PID
	busywait 10000 unix_probe "$p" bound || { show "$TMP/third.json.err"; fail "$b: the stale socket was not reused"; return; }
	SALVO_BACKEND=$b salvo_run "$TMP/send.out" "${send[@]}" "unix:$p" ||
		{ show "$TMP/send.out.err"; fail "$b: send to the new receiver failed"; return; }
	wait_pid "$pid" 20000 || { show "$TMP/third.json.err"; fail "$b: new receiver exited $?"; return; }
	got=$(json_get "$TMP/third.json" "$field") || { fail "$b: new receiver's JSON unreadable"; return; }
	[ "$got" = "$want" ] || { fail "$b: new receiver's $field is $got, want $want"; return; }
	echo "  $b: file kept, running receiver kept ($field $want), stale socket reused"
}

# setup_dut [rate=X] [burst=B] [limit=L] [loss=P] [reorder=P] [delay=D]:
# a device under test made of namespaces, for `salvo rfc2544` (and bench):
#
#   TESTER: DUT_TX (t-tx, 10.201.0.1/24) --veth-- d-in  (10.201.0.2/24) :DUT
#           DUT_RX (t-rx, 10.202.0.1/24) --veth-- d-out (10.202.0.2/24)
#
# The DUT forwards (ip_forward=1). Frames from t-tx to DUT_MAC (d-in's MAC)
# for DUT_DST (10.202.0.100) are routed out of d-out to t-rx's MAC (a
# permanent neighbour entry, so no ARP), and t-rx's kernel drops them
# silently (not its address, no forwarding there). IPv6 is off everywhere,
# so the only frames t-rx sees are the ones the DUT forwards.
# On d-out's egress: rate= a tbf of that rate (tc syntax: 20mbit) with
# burst= bytes (default 4000) and limit= bytes queued (default 4000);
# loss= and reorder= (percent) a netem in front of it (reorder needs a delay:
# delay= default 1ms). Sets TESTER, DUT, DUT_TX, DUT_RX, DUT_DST, DUT_MAC,
# and DUT_EMU: netem, or u32 on a kernel without sch_netem, where loss= drops
# the frames whose salvo stamp sequence is 0 mod 2^k (2^k nearest 100/P:
# loss=1 drops 1 in 128), and reorder= sends 1 frame in 4 (sequence 0 mod 4)
# through a low-priority HTB class under a parent of the rate= (default
# 10mbit): when the offered rate exceeds it, those frames wait behind later
# ones. The u32 forms read IPv4/UDP frames with a stamp, untagged.
# tc in the DUT namespace; its warnings (HTB quantum) are not the test's business.
dut_tc() { tc -n "$DUT" "$@" 2>/dev/null; }
setup_dut() {
	local kv rate= burst=4000 limit=4000 loss= reorder= delay=1ms ns netem k
	for kv in "$@"; do
		case $kv in
		rate=*) rate=${kv#rate=} ;; burst=*) burst=${kv#burst=} ;;
		limit=*) limit=${kv#limit=} ;; loss=*) loss=${kv#loss=} ;;
		reorder=*) reorder=${kv#reorder=} ;; delay=*) delay=${kv#delay=} ;;
		*) fail "setup_dut: unknown $kv"; return 1 ;;
		esac
	done
	setup_ns TESTER DUT || return 1
	# One process per namespace for its sysctls and one `ip -batch` each:
	# every fork counts on a loaded machine.
	in_ns "$TESTER" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 &&
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' &&
		in_ns "$DUT" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 &&
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 && echo 1 >/proc/sys/net/ipv4/ip_forward' ||
		{ fail "setup_dut: sysctls (IPv6 off, ip_forward)"; return 1; }
	ip -n "$TESTER" -batch - <<-EOF || { fail "setup_dut: tester links"; return 1; }
		link add t-tx type veth peer name d-in netns $DUT
		link add t-rx type veth peer name d-out netns $DUT
		addr add 10.201.0.1/24 dev t-tx
		addr add 10.202.0.1/24 dev t-rx
		link set t-tx up
		link set t-rx up
	EOF
	ip -n "$DUT" -batch - <<-EOF || { fail "setup_dut: DUT links"; return 1; }
		addr add 10.201.0.2/24 dev d-in
		addr add 10.202.0.2/24 dev d-out
		link set d-in up
		link set d-out up
	EOF
	for kv in "$TESTER t-tx" "$TESTER t-rx" "$DUT d-in" "$DUT d-out"; do
		set -- $kv
		busywait 5000 veth_up "$1" "$2" || { fail "setup_dut: $2 not up"; return 1; }
	done
	DUT_TX=t-tx DUT_RX=t-rx DUT_DST=10.202.0.100
	# MACs from `ip -br` (python's start-up alone takes seconds on a loaded machine)
	DUT_MAC=$(ip -n "$DUT" -br link show dev d-in | awk '{ print $3 }')
	ip -n "$DUT" neigh replace "$DUT_DST" lladdr "$(ip -n "$TESTER" -br link show dev t-rx | awk '{ print $3 }')" \
		dev d-out nud permanent ||
		{ fail "setup_dut: neighbour $DUT_DST"; return 1; }
	netem=
	[ -n "$loss" ] && netem+=" loss $loss%"
	[ -n "$reorder" ] && netem+=" delay $delay reorder $reorder%"
	DUT_EMU=
	if [ -n "$netem" ] && dut_tc qdisc add dev d-out root handle 1: netem $netem ; then
		DUT_EMU=netem
		[ -z "$rate" ] || dut_tc qdisc add dev d-out parent 1:1 handle 10: tbf \
			rate "$rate" burst "$burst" limit "$limit" || { fail "setup_dut: tbf under netem"; return 1; }
	elif [ -n "$netem" ]; then
		# No sch_netem: HTB classes picked by u32 on the stamp's sequence,
		# whose last byte is at IP offset 20 + 8 + 11 = 39 (the word at 36).
		DUT_EMU=u32
		rate=${rate:-$([ -n "$reorder" ] && echo 10mbit || echo 10gbit)}
		dut_tc qdisc add dev d-out root handle 1: htb default 10 r2q 1000 &&
			dut_tc class add dev d-out parent 1: classid 1:1 htb rate "$rate" burst "$burst" &&
			dut_tc class add dev d-out parent 1:1 classid 1:10 htb rate "$rate" burst "$burst" prio 0 &&
			dut_tc qdisc add dev d-out parent 1:10 handle 10: bfifo limit "$limit" ||
			{ fail "setup_dut: htb (no sch_netem here)"; return 1; }
		if [ -n "$loss" ]; then
			k=$(awk -v p="$loss" 'BEGIN { printf "%d", log(100 / p) / log(2) + 0.5 }')
			dut_tc class add dev d-out parent 1: classid 1:20 htb rate 10gbit &&
				dut_tc qdisc add dev d-out parent 1:20 handle 20: bfifo limit 0 &&
				dut_tc filter add dev d-out parent 1: protocol ip prio 1 u32 \
					match u32 0 "$(printf 0x%x $(( (1 << k) - 1 )))" at 36 flowid 1:20 ||
				{ fail "setup_dut: u32 loss (no sch_netem here)"; return 1; }
		fi
		if [ -n "$reorder" ]; then
			dut_tc class add dev d-out parent 1:1 classid 1:30 htb rate 8kbit ceil "$rate" burst "$burst" prio 7 &&
				dut_tc qdisc add dev d-out parent 1:30 handle 30: pfifo limit 1000 &&
				dut_tc filter add dev d-out parent 1: protocol ip prio 2 u32 match u32 0 0x3 at 36 flowid 1:30 ||
				{ fail "setup_dut: u32 reorder (no sch_netem here)"; return 1; }
		fi
	elif [ -n "$rate" ]; then
		dut_tc qdisc add dev d-out root tbf rate "$rate" burst "$burst" limit "$limit" ||
			{ fail "setup_dut: tbf rate $rate"; return 1; }
	fi
	export DUT_TX DUT_RX DUT_DST DUT_MAC DUT_EMU
}

# setup_dut_l4 [rate=X] [burst=B] [limit=L] [loss=P]: a device under test
# between two hosts, for `salvo rfc2544 --server` (socket mode):
#
#   CLIENT: c-0 (10.203.0.1/24) --veth-- d-in  (10.203.0.2/24) :DUT
#   SERVER: s-0 (10.204.0.1/24) --veth-- d-out (10.204.0.2/24)
#
# The DUT forwards; each end routes the other's /24 through it. On d-out's
# egress (towards SERVER): rate= a tbf (burst=, limit= as setup_dut), loss=
# a netem loss, or on a kernel without sch_netem the u32 stand-in of
# setup_dut keyed on the stamp's sequence, restricted to UDP so that the
# control connection (TCP, same path) loses nothing. Sets CLIENT, DUT,
# SERVER, SRV_ADDR and DUT_EMU.
setup_dut_l4() {
	local kv rate= burst=4000 limit=4000 loss= k
	for kv in "$@"; do
		case $kv in
		rate=*) rate=${kv#rate=} ;; burst=*) burst=${kv#burst=} ;;
		limit=*) limit=${kv#limit=} ;; loss=*) loss=${kv#loss=} ;;
		*) fail "setup_dut_l4: unknown $kv"; return 1 ;;
		esac
	done
	setup_ns CLIENT DUT SERVER || return 1
	for kv in "$CLIENT" "$DUT" "$SERVER"; do
		in_ns "$kv" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 &&
			echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 && echo 1 >/proc/sys/net/ipv4/ip_forward' ||
			{ fail "setup_dut_l4: sysctls (IPv6 off, ip_forward)"; return 1; }
	done
	ip -n "$CLIENT" link add c-0 type veth peer name d-in netns "$DUT" &&
		ip -n "$SERVER" link add s-0 type veth peer name d-out netns "$DUT" ||
		{ fail "setup_dut_l4: veths"; return 1; }
	ip -n "$CLIENT" -batch - <<-EOF && ip -n "$SERVER" -batch - <<-EOF2 && ip -n "$DUT" -batch - <<-EOF3 ||
		addr add 10.203.0.1/24 dev c-0
		link set c-0 up
		route add 10.204.0.0/24 via 10.203.0.2
	EOF
		addr add 10.204.0.1/24 dev s-0
		link set s-0 up
		route add 10.203.0.0/24 via 10.204.0.2
	EOF2
		addr add 10.203.0.2/24 dev d-in
		addr add 10.204.0.2/24 dev d-out
		link set d-in up
		link set d-out up
	EOF3
		{ fail "setup_dut_l4: addresses and routes"; return 1; }
	SRV_ADDR=10.204.0.1
	DUT_EMU=
	if [ -n "$loss" ] && dut_tc qdisc add dev d-out root handle 1: netem loss "$loss%"; then
		DUT_EMU=netem
		[ -z "$rate" ] || dut_tc qdisc add dev d-out parent 1:1 handle 10: tbf \
			rate "$rate" burst "$burst" limit "$limit" || { fail "setup_dut_l4: tbf under netem"; return 1; }
	elif [ -n "$loss" ]; then
		DUT_EMU=u32
		k=$(awk -v p="$loss" 'BEGIN { printf "%d", log(100 / p) / log(2) + 0.5 }')
		dut_tc qdisc add dev d-out root handle 1: htb default 10 r2q 1000 &&
			dut_tc class add dev d-out parent 1: classid 1:10 htb rate "${rate:-10gbit}" burst "$burst" &&
			dut_tc qdisc add dev d-out parent 1:10 handle 10: bfifo limit "$limit" &&
			dut_tc class add dev d-out parent 1: classid 1:20 htb rate 10gbit &&
			dut_tc qdisc add dev d-out parent 1:20 handle 20: bfifo limit 0 &&
			dut_tc filter add dev d-out parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff \
				match u32 0 "$(printf 0x%x $(( (1 << k) - 1 )))" at 36 flowid 1:20 ||
			{ fail "setup_dut_l4: u32 loss (no sch_netem here)"; return 1; }
	elif [ -n "$rate" ]; then
		dut_tc qdisc add dev d-out root tbf rate "$rate" burst "$burst" limit "$limit" ||
			{ fail "setup_dut_l4: tbf rate $rate"; return 1; }
	fi
	for kv in "$CLIENT c-0" "$DUT d-in" "$DUT d-out" "$SERVER s-0"; do
		set -- $kv
		busywait 5000 veth_up "$1" "$2" || { fail "setup_dut_l4: $2 not up"; return 1; }
	done
	export CLIENT DUT SERVER SRV_ADDR DUT_EMU
}
