#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# salvo doctor: the JSON parses, every check has a name, a status and a fix
# field, the text output has one line per check, and as root on this kind of
# machine the checks that root settles (capabilities, raw sockets, memlock)
# come out OK.  Without privileges (setpriv) the capability checks fail with
# a fix and the exit code says so.  With SALVO_URING_REFUSE playing a kernel
# that refuses a multishot flavour, `salvo backends` and `salvo doctor`
# (text and JSON) tell the same story about the io_uring path it stops, and
# a run on that path fails with the same reason.  The defaults `salvo
# backends` names per path are what runs without --backend use (a few
# datagrams, one TCP connection and a few raw frames in throw-away
# namespaces), and when the first of a path's order fails its probe the
# next one runs and the skip is said.
#
#	sudo SALVO=build/salvo tests/integ/test_doctor.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_json_shape
	test_text_matches_json
	test_root_oks
	test_unprivileged_fails
	test_uring_refused_recvmsg_multishot
	test_uring_refused_accept_multishot
	test_uring_refused_recv_multishot
	test_uring_all_paths_agree
	test_defaults_used
	test_defaults_fallback
	test_help
"

# uring_agree REFUSE PATH CHECK PATHNAME OTHER OTHERCHECK: with SALVO_URING_REFUSE=REFUSE,
# backends (--json and text) and doctor (--json and text) both say PATH (udp/tcp) is
# unavailable on uring for one and the same reason, and OTHER still works in both.
uring_agree() {
	local refuse=$1 path=$2 check=$3 pname=$4 other=$5 ocheck=$6 why d
	SALVO_URING_REFUSE=$refuse "$SALVO" backends --json >"$TMP/b.json" 2>"$TMP/b.err" ||
		{ show "$TMP/b.err"; fail "backends --json failed"; return 1; }
	SALVO_URING_REFUSE=$refuse "$SALVO" backends >"$TMP/b.txt" 2>&1 ||
		{ show "$TMP/b.txt"; fail "backends failed"; return 1; }
	SALVO_URING_REFUSE=$refuse "$SALVO" doctor --json >"$TMP/d.json" 2>"$TMP/d.err"
	[ $? = 1 ] || { show "$TMP/d.err"; fail "doctor does not exit 1 with $pname unavailable"; return 1; }
	SALVO_URING_REFUSE=$refuse "$SALVO" doctor >"$TMP/d.txt" 2>&1
	why=$(jq -r --arg p "$path" '.backends[] | select(.name == "uring") | .paths[] |
		select(.path == $p and .available == false) | .reason' "$TMP/b.json")
	[ -n "$why" ] || { show "$TMP/b.json"; fail "backends: uring $path not refused"; return 1; }
	jq -e '.backends[] | select(.name == "uring") | .available == false' "$TMP/b.json" >/dev/null ||
		{ fail "backends: uring available with $path refused"; return 1; }
	jq -e --arg p "$other" '.backends[] | select(.name == "uring") | .paths[] |
		select(.path == $p) | .available' "$TMP/b.json" >/dev/null ||
		{ show "$TMP/b.json"; fail "backends: uring $other refused too"; return 1; }
	d=$(jq -r --arg c "$check" '.checks[] | select(.name == $c and .status == "fail") | .detail' "$TMP/d.json")
	[ "$d" = "$pname unavailable: $why" ] ||
		{ fail "doctor $check says '$d', backends says '$why'"; return 1; }
	jq -e --arg c "$ocheck" 'any(.checks[]; .name == $c and .status == "ok")' "$TMP/d.json" >/dev/null ||
		{ show "$TMP/d.json"; fail "doctor: $ocheck not ok"; return 1; }
	jq -e --arg c "io_uring.$refuse" 'any(.checks[]; .name == $c and .status == "fail")' "$TMP/d.json" >/dev/null ||
		{ show "$TMP/d.json"; fail "doctor: io_uring.$refuse not failed"; return 1; }
	# The text forms carry the same reason.
	grep -E "^uring +some " "$TMP/b.txt" | grep -qF "$path: $why" ||
		{ show "$TMP/b.txt"; fail "backends text: no '$path: $why' on a 'some' uring line"; return 1; }
	grep -E "^fail +$check " "$TMP/d.txt" | grep -qF "$why" ||
		{ show "$TMP/d.txt"; fail "doctor text: no '$why' on the $check line"; return 1; }
	echo "$why" >"$TMP/why"
}

test_uring_refused_recvmsg_multishot() {
	uring_agree recvmsg_multishot udp io_uring.datagrams datagrams tcp io_uring.streams || return
	grep -q "multishot RECVMSG" "$TMP/why" || { fail "reason does not name multishot RECVMSG: $(cat "$TMP/why")"; return; }
	# And a run on the path says it too, before any traffic.
	SALVO_URING_REFUSE=recvmsg_multishot "$SALVO" udp send "127.0.0.1:$(random_port)" --backend uring \
		-n 1 >/dev/null 2>"$TMP/run.err"
	[ $? = 1 ] && grep -qF "$(cat "$TMP/why")" "$TMP/run.err" ||
		{ show "$TMP/run.err"; fail "udp send --backend uring does not fail with the reason"; return; }
}

test_uring_refused_accept_multishot() {
	uring_agree accept_multishot tcp io_uring.streams streams udp io_uring.datagrams || return
	grep -q "multishot ACCEPT" "$TMP/why" || { fail "reason does not name multishot ACCEPT: $(cat "$TMP/why")"; return; }
	SALVO_URING_REFUSE=accept_multishot "$SALVO" tcp sink "127.0.0.1:$(random_port)" --backend uring \
		-d 1 >/dev/null 2>"$TMP/run.err"
	[ $? = 1 ] && grep -qF "$(cat "$TMP/why")" "$TMP/run.err" ||
		{ show "$TMP/run.err"; fail "tcp sink --backend uring does not fail with the reason"; return; }
}

test_uring_refused_recv_multishot() {
	uring_agree recv_multishot tcp io_uring.streams streams udp io_uring.datagrams || return
	grep -q "multishot RECV (" "$TMP/why" || { fail "reason does not name multishot RECV: $(cat "$TMP/why")"; return; }
}

# Nothing refused: every path both commands know of agrees, whatever this kernel has.
test_uring_all_paths_agree() {
	local p c n why d
	"$SALVO" backends --json >"$TMP/b.json" 2>/dev/null || { fail "backends --json failed"; return; }
	"$SALVO" doctor --json >"$TMP/d.json" 2>/dev/null
	for p in udp:io_uring.datagrams:datagrams tcp:io_uring.streams:streams; do
		IFS=: read -r n c d <<<"$p"
		why=$(jq -r --arg p "$n" '.backends[] | select(.name == "uring") | .paths[] | select(.path == $p) |
			if .available then "" else .reason end' "$TMP/b.json")
		if [ -z "$why" ]; then
			jq -e --arg c "$c" 'any(.checks[]; .name == $c and .status == "ok")' "$TMP/d.json" >/dev/null ||
				{ fail "backends: uring $n works, doctor: $c not ok"; return; }
		else
			jq -e --arg c "$c" --arg w "$d unavailable: $why" \
				'any(.checks[]; .name == $c and .status == "fail" and .detail == $w)' "$TMP/d.json" >/dev/null ||
				{ fail "backends: uring $n '$why', doctor: $c differs"; return; }
		fi
	done
}

test_json_shape() {
	local out=$TMP/doctor.json rc
	"$SALVO" doctor --json >"$out" 2>"$TMP/err"
	rc=$?
	[ "$rc" -le 1 ] || { fail "exit $rc: $(head -c 300 "$TMP/err")"; return; }
	jq -e . "$out" >/dev/null || { fail "not JSON: $(head -c 300 "$out")"; return; }
	jq -e '.schema == 1 and (.checks | type == "array" and length >= 10)' "$out" >/dev/null ||
		{ fail "schema/checks missing"; return; }
	# Every check: name, status in ok/warn/fail, detail, needed_by and fix strings;
	# a fix whenever the status is not ok, none when it is.
	jq -e 'all(.checks[]; (.name | type == "string" and length > 0)
		and (.status | IN("ok", "warn", "fail"))
		and (.detail | type == "string" and length > 0)
		and (.needed_by | type == "string")
		and (.fix | type == "string")
		and ((.status == "ok") == (.fix == "")))' "$out" >/dev/null ||
		{ fail "a check lacks status/fix: $(jq -c '.checks[] | select(.status == null or .fix == null)' "$out")"; return; }
	# The totals add up, and the exit code is 1 exactly when something failed.
	jq -e '.ok + .warn + .fail == (.checks | length)
		and .ok == ([.checks[] | select(.status == "ok")] | length)
		and .fail == ([.checks[] | select(.status == "fail")] | length)' "$out" >/dev/null ||
		{ fail "totals do not add up"; return; }
	[ "$rc" -eq "$(jq '.fail > 0 | if . then 1 else 0 end' "$out")" ] ||
		{ fail "exit $rc with $(jq .fail "$out") failed checks"; return; }
	# Names are unique and cover what the backends need.
	[ "$(jq '[.checks[].name] | unique | length' "$out")" = "$(jq '.checks | length' "$out")" ] ||
		{ fail "duplicate check names"; return; }
	local n
	for n in io_uring.sysctl io_uring.setup io_uring.send_zc io_uring.recvmsg_multishot \
		io_uring.accept_multishot cap_net_raw cap_net_admin cap_bpf rlimit_memlock bpffs \
		packet_qdisc_bypass rmem_max wmem_max udp_gso udp_gro; do
		jq -e --arg n "$n" 'any(.checks[]; .name == $n)' "$out" >/dev/null ||
			{ fail "no check $n"; return; }
	done
}

test_text_matches_json() {
	local lines checks
	"$SALVO" doctor >"$TMP/doctor.txt" 2>&1
	"$SALVO" doctor --json >"$TMP/doctor.json" 2>&1
	checks=$(jq '.checks | length' "$TMP/doctor.json")
	lines=$(grep -cE '^(ok|warn|fail) ' "$TMP/doctor.txt")
	[ "$lines" = "$checks" ] || { fail "$lines text lines for $checks checks"; return; }
	# Every non-ok line carries its fix on the same line.
	if grep -E '^(warn|fail) ' "$TMP/doctor.txt" | grep -qv '; fix: '; then
		fail "a warning without a fix: $(grep -E '^(warn|fail) ' "$TMP/doctor.txt" | grep -v '; fix: ' | head -1)"
		return
	fi
	grep -qE '^[0-9]+ ok, [0-9]+ warnings, [0-9]+ failed$' "$TMP/doctor.txt" ||
		{ fail "no summary line"; return; }
}

test_root_oks() {
	require_root || return
	local out=$TMP/doctor.json n st
	"$SALVO" doctor --json >"$out" 2>/dev/null
	# Root holds every capability, so these cannot fail here.
	for n in cap_net_raw cap_net_admin cap_bpf rlimit_memlock; do
		st=$(jq -r --arg n "$n" '.checks[] | select(.name == $n) | .status' "$out")
		[ "$st" = ok ] || { fail "$n is '$st' as root"; return; }
	done
	# Kernel facilities, checked against an independent witness where one exists.
	if [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ]; then
		st=$(jq -r '.checks[] | select(.name == "io_uring.sysctl") | .status' "$out")
		[ "$st" = ok ] || { fail "io_uring.sysctl is '$st' with io_uring_disabled=0"; return; }
	fi
	if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ]; then
		st=ok
	else
		st=warn
	fi
	[ "$(jq -r '.checks[] | select(.name == "bpffs") | .status' "$out")" = "$st" ] ||
		{ fail "bpffs status does not match stat -f /sys/fs/bpf ($st)"; return; }
	local rmem
	rmem=$(cat /proc/sys/net/core/rmem_max)
	jq -e --arg v "$rmem" '.checks[] | select(.name == "rmem_max") | .detail | contains($v)' "$out" >/dev/null ||
		{ fail "rmem_max detail does not show $rmem"; return; }
	for n in packet_qdisc_bypass udp_gso udp_gro; do
		st=$(jq -r --arg n "$n" '.checks[] | select(.name == $n) | .status' "$out")
		[ "$st" = ok ] || { fail "$n is '$st' as root on kernel $(uname -r)"; return; }
	done
}

test_unprivileged_fails() {
	require_root || return
	command -v setpriv >/dev/null || { skip "setpriv not installed"; return; }
	local out=$TMP/doctor-nobody.json rc fix
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$SALVO" doctor --json >"$out" 2>"$TMP/err"
	rc=$?
	[ "$rc" = 1 ] || { fail "exit $rc without capabilities (want 1)"; return; }
	for n in cap_net_raw cap_net_admin cap_bpf packet_qdisc_bypass; do
		[ "$(jq -r --arg n "$n" '.checks[] | select(.name == $n) | .status' "$out")" = fail ] ||
			{ fail "$n does not fail without capabilities"; return; }
	done
	fix=$(jq -r '.checks[] | select(.name == "cap_net_raw") | .fix' "$out")
	case $fix in
	*setcap*cap_net_raw*) ;;
	*) fail "cap_net_raw fix is '$fix'"; return ;;
	esac
}

test_help() {
	"$SALVO" doctor --help >"$TMP/help" || { fail "--help exit $?"; return; }
	grep -q -- '--json' "$TMP/help" || { fail "--json not in the help"; return; }
	"$SALVO" doctor extra >/dev/null 2>&1
	[ $? = 2 ] || { fail "a positional argument is not a usage error"; return; }
}

# default_of FILE PATH: the backend `salvo backends --json` (in FILE) names for PATH.
default_of() { jq -r --arg p "$2" '.defaults[] | select(.path == $p) | .backend // ""' "$1"; }
tcp_listening() { in_ns "$2" ss -Hltn "sport = :$1" | grep -q .; }
has_xdp_prog() { ip -n "$1" -d link show dev "$2" | grep -q 'prog/xdp'; }

# What `salvo backends` says each path uses is what a run with no --backend
# reports it used: udp send/recv and tcp send/sink on a namespace's lo, raw
# send/recv over a veth pair (judged with --iface on each end).  The text
# lines say the same as the JSON.
test_defaults_used() {
	require_root || return
	local p f b be port rpid mac_b
	setup_ns NA NB || return
	setup_veth "$NA" "$NB" 10.79.0.1/24 10.79.0.2/24 || return
	mac_b=$(ip netns exec "$NB" cat /sys/class/net/veth-b/address) || { fail "no MAC for veth-b"; return; }
	ip netns exec "$NA" "$SALVO" backends --json -I veth-a >"$TMP/ba.json" 2>"$TMP/ba.err" ||
		{ show "$TMP/ba.err"; fail "backends --json failed"; return; }
	ip netns exec "$NA" "$SALVO" backends -I veth-a >"$TMP/ba.txt" 2>&1 || { fail "backends failed"; return; }
	ip netns exec "$NB" "$SALVO" backends --json -I veth-b >"$TMP/bb.json" 2>/dev/null || { fail "backends -I veth-b"; return; }
	jq -e '[.defaults[].path] == ["udp send", "udp recv", "tcp send", "tcp recv", "raw send", "raw recv"]
		and all(.defaults[]; (.backend | type == "string") and (.backend as $b | .order | any(. == $b))
		and (.why | length > 0))' "$TMP/ba.json" >/dev/null ||
		{ show "$TMP/ba.json"; fail "defaults[]: not one working backend per path, in its order, with a why"; return; }
	jq -r '.defaults[] | "\(.path): \(.backend) (default"' "$TMP/ba.json" >"$TMP/want.txt"
	grep -cF -f "$TMP/want.txt" "$TMP/ba.txt" | grep -qx 6 ||
		{ show "$TMP/ba.txt" "$TMP/want.txt"; fail "the text does not name the JSON's six defaults"; return; }
	# UDP: a receiver and a sender, neither naming a backend.
	port=$(random_port)
	SALVO_BACKEND= salvo_bg -n "$NA" "$TMP/ur.json" udp recv "127.0.0.1:$port" -n 20 --json -d 20
	rpid=$SALVO_PID
	busywait 10000 udp_bound "$port" "$NA" || { fail "udp recv not bound"; return; }
	SALVO_BACKEND= salvo_run -n "$NA" "$TMP/us.json" udp send "127.0.0.1:$port" -n 20 -r 10k --json ||
		{ show "$TMP/us.json.err"; fail "udp send"; return; }
	wait_pid "$rpid" 20000 || { show "$TMP/ur.json.err"; fail "udp recv did not end"; return; }
	# TCP: one connection to a sink.
	port=$(random_port)
	SALVO_BACKEND= salvo_bg -n "$NA" "$TMP/tr.json" tcp sink "127.0.0.1:$port" --count 1 --json -d 20
	rpid=$SALVO_PID
	busywait 10000 tcp_listening "$port" "$NA" || { fail "tcp sink not listening"; return; }
	SALVO_BACKEND= salvo_run -n "$NA" "$TMP/ts.json" tcp send "127.0.0.1:$port" --bytes 64k --json ||
		{ show "$TMP/ts.json.err"; fail "tcp send"; return; }
	wait_pid "$rpid" 20000 || { show "$TMP/tr.json.err"; fail "tcp sink did not end"; return; }
	# Raw frames A -> B: the receiver's default judged on veth-b, in B.
	SALVO_BACKEND= salvo_bg -n "$NB" "$TMP/rr.json" raw recv -I veth-b -n 10 --json -q -d 20
	rpid=$SALVO_PID
	busywait 15000 raw_ready "$rpid" "$NB" veth-b || { show "$TMP/rr.json.err"; fail "raw recv not ready"; return; }
	SALVO_BACKEND= salvo_run -n "$NA" "$TMP/rs.json" raw send -I veth-a --dst 10.79.0.2 --dst-mac "$mac_b" \
		-n 10 -r 1k --json || { show "$TMP/rs.json.err"; fail "raw send"; return; }
	wait_pid "$rpid" 20000 || { show "$TMP/rr.json.err"; fail "raw recv did not end"; return; }
	for p in "udp send:us:ba" "udp recv:ur:ba" "tcp send:ts:ba" "tcp recv:tr:ba" "raw send:rs:ba" "raw recv:rr:bb"; do
		IFS=: read -r p f b <<<"$p"
		be=$(default_of "$TMP/$b.json" "$p")
		[ "$(jq -r .backend "$TMP/$f.json")" = "$be" ] ||
			{ fail "$p ran on $(jq -r .backend "$TMP/$f.json"), salvo backends says $be"; return; }
	done
}
raw_ready() { packet_bound "$@" || has_xdp_prog "$2" "$3"; }

# The first of a path's order unavailable: the next one runs and says why,
# as `salvo backends` does.  Played with SALVO_BACKEND_REFUSE for udp send,
# and, while af_xdp is first for raw send, for real: af_xdp on lo, whose
# 64 KiB MTU does not fit a UMEM frame.
test_defaults_fallback() {
	require_root || return
	local first next port be
	setup_ns NA || return
	"$SALVO" backends --json >"$TMP/b.json" 2>/dev/null || { fail "backends --json"; return; }
	first=$(jq -r '.defaults[] | select(.path == "udp send") | .order[0]' "$TMP/b.json")
	next=$(jq -r '.defaults[] | select(.path == "udp send") | .order[1] // ""' "$TMP/b.json")
	[ -n "$next" ] || { skip "one backend for udp send: nothing to fall back to"; return; }
	SALVO_BACKEND_REFUSE=$first "$SALVO" backends --json >"$TMP/r.json" 2>/dev/null || { fail "backends (refused)"; return; }
	jq -e --arg f "$first" --arg n "$next" '.defaults[] | select(.path == "udp send") |
		.backend == $n and .skipped == $f and (.skip_reason | test("SALVO_BACKEND_REFUSE"))' "$TMP/r.json" >/dev/null ||
		{ show "$TMP/r.json"; fail "backends: udp send does not fall back from $first to $next"; return; }
	port=$(random_port)
	SALVO_BACKEND= SALVO_BACKEND_REFUSE=$first salvo_run -n "$NA" "$TMP/s.out" udp send "127.0.0.1:$port" -n 5 -r 1k
	grep -qF "salvo: backend $first unavailable (refused by SALVO_BACKEND_REFUSE" "$TMP/s.out.err" &&
		grep -qF "using $next" "$TMP/s.out.err" && grep -qE "^salvo udp send: $next backend" "$TMP/s.out" ||
		{ show "$TMP/s.out" "$TMP/s.out.err"; fail "udp send did not say it fell back from $first to $next"; return; }
	# raw send on lo: a probe that genuinely fails.
	ip netns exec "$NA" "$SALVO" backends --json -I lo >"$TMP/lo.json" 2>/dev/null || { fail "backends -I lo"; return; }
	# Only while af_xdp is first for raw send (docs/backends.md: not today).
	jq -e '.defaults[] | select(.path == "raw send") | .order[0] == "af_xdp"' "$TMP/lo.json" >/dev/null ||
		return 0
	jq -e '.defaults[] | select(.path == "raw send") | .backend == "af_packet" and .skipped == "af_xdp"
		and (.skip_reason | test("MTU 65536"))' "$TMP/lo.json" >/dev/null ||
		{ show "$TMP/lo.json"; fail "backends -I lo: raw send does not fall back to af_packet"; return; }
	SALVO_BACKEND= salvo_run -n "$NA" "$TMP/l.out" raw send -I lo --dst 127.0.0.1 --dst-mac 00:00:00:00:00:00 -n 5 ||
		{ show "$TMP/l.out.err"; fail "raw send on lo failed"; return; }
	grep -qF "salvo: backend af_xdp unavailable (af_xdp: lo: MTU 65536" "$TMP/l.out.err" &&
		grep -qE "^salvo raw send: af_packet backend" "$TMP/l.out" ||
		{ show "$TMP/l.out" "$TMP/l.out.err"; fail "raw send on lo did not fall back to af_packet, saying why"; return; }
}

for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
