#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# salvo doctor: the JSON parses, every check has a name, a status and a fix
# field, the text output has one line per check, and as root on this kind of
# machine the checks that root settles (capabilities, raw sockets, memlock)
# come out OK.  Without privileges (setpriv) the capability checks fail with
# a fix and the exit code says so.  Sends no traffic.
#
#	sudo SALVO=build/salvo tests/integ/test_doctor.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_json_shape
	test_text_matches_json
	test_root_oks
	test_unprivileged_fails
	test_help
"

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

for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
