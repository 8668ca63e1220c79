#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# Runs on many hosts (docs/fleet.md), on one: --start-at holds the traffic
# until the instant (the wall clock around the process is the witness) and
# a signal ends the wait; bad times, run ids and labels exit 2; salvo merge
# of two labelled senders and their receiver adds up to the senders' own
# counts and to the kernel's (/proc/net/snmp of a fresh namespace).
#
#	sudo SALVO=build/salvo tests/integ/test_fleet.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves this out (lib.sh PLAIN_ONLY): its merge of real records runs under ASan in
# the unit test test_merge, the start-at wait in test_start_at, the file errors in test_merge_bad_files.
PLAIN_ONLY="test_merge_two_senders"
TESTS="
	test_start_at
	test_start_at_signal
	test_bad_input
	test_merge_two_senders
	test_merge_bad_files
"

now_ns() { date +%s%N; }
# How far ahead --start-at is set: the commands must be set up by then, on a
# loaded machine, under ASan too (an instant already past is refused).
LEAD_MS=3000
[ "$SALVO_ASAN" = 1 ] && LEAD_MS=6000

# --start-at LEAD_MS ahead, receiver and sender: the sender sends 50 packets
# (0.05 s of work) and must not have finished before the instant; both
# records start at or after the instant, and not later than 1.5 s after it
# (a loaded machine).
test_start_at() {
	local p t0 at at_ns t1 rpid rc
	setup_ns NS || return
	p=$(random_port)
	t0=$(now_ns)
	at_ns=$((t0 + LEAD_MS * 1000000))
	at=$(printf '%d.%09d' $((at_ns / 1000000000)) $((at_ns % 1000000000)))
	salvo_bg -n "$NS" "$TMP/r.json" udp recv "127.0.0.1:$p" -n 50 --json --start-at "$at"
	rpid=$SALVO_PID
	wait_udp_bound "$p" "$NS" || { fail "receiver never bound"; return; }
	salvo_run -n "$NS" "$TMP/s.json" udp send "127.0.0.1:$p" -n 50 --json --start-at "$at" \
		--run-id t1 --label role=send || { rc=$?; show "$TMP/s.json.err"; fail "send exited $rc"; return; }
	t1=$(now_ns)
	wait_pid "$rpid" 10000 || { rc=$?; show "$TMP/r.json.err"; fail "receiver exit $rc"; return; }
	[ "$t1" -ge "$at_ns" ] || { fail "finished $(( (at_ns - t1) / 1000000 )) ms before --start-at"; return; }
	# One python for every field (each start of python costs a lot on a loaded machine).
	python3 - "$TMP/s.json" "$TMP/r.json" "$at_ns" <<'PY' || { show "$TMP/s.json" "$TMP/r.json"; fail "records"; return; }
import json, sys
s, r = (json.load(open(f)) for f in sys.argv[1:3])
at = int(sys.argv[3])
for name, d in (("send", s), ("recv", r)):
    if not at <= d["start_unix_ns"] <= at + 1500000000:
        sys.exit("%s started at %d, --start-at was %d" % (name, d["start_unix_ns"], at))
    if d["start_at_unix_ns"] != at or not isinstance(d["clock"]["synchronized"], bool):
        sys.exit("%s: start_at_unix_ns or clock" % name)
if s["run_id"] != "t1" or s["labels"] != {"role": "send"} or "labels" in r:
    sys.exit("run_id/labels")
if r["rx"]["packets"] != 50:
    sys.exit("received %d, not 50" % r["rx"]["packets"])
PY
}

# Waiting for an instant 60 s away, bound and ready: SIGINT ends it at once,
# with an interrupted summary and nothing counted.
test_start_at_signal() {
	local p at pid rc
	setup_ns NS || return
	p=$(random_port)
	at=$(( $(date +%s) + 60 ))
	salvo_bg -n "$NS" "$TMP/r.json" udp recv "127.0.0.1:$p" --json --start-at "$at"
	pid=$SALVO_PID
	wait_udp_bound "$p" "$NS" || { fail "receiver never bound"; return; }
	kill -INT "$pid"
	wait_pid "$pid" 3000
	rc=$?
	[ "$rc" = 0 ] || { show "$TMP/r.json.err"; fail "exit $rc (124: still waiting) 3 s after SIGINT during the wait"; return; }
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["interrupted"] and d["rx"]["packets"] == 0))' "$TMP/r.json" ||
		fail "not an interrupted summary with nothing counted: $(cat "$TMP/r.json")"
}

# expect2 WHAT ARGS...: salvo ARGS exits 2 with one line on stderr.
expect2() {
	local what=$1 rc
	shift
	"$SALVO" "$@" >"$TMP/o" 2>"$TMP/e"
	rc=$?
	[ "$rc" = 2 ] || { fail "$what: exit $rc, not 2"; return 1; }
	[ "$(count_lines "$TMP/e")" = 1 ] || { fail "$what: stderr is not one line: $(cat "$TMP/e")"; return 1; }
}

test_bad_input() {
	local past=$(( $(date +%s) - 10 )) d="127.0.0.1:9"
	expect2 "past time" udp send "$d" -n 1 --start-at "$past" || return
	grep -q "in the past" "$TMP/e" || { fail "past: $(cat "$TMP/e")"; return; }
	expect2 "garbage" udp send "$d" -n 1 --start-at soon || return
	expect2 "no zone" udp send "$d" -n 1 --start-at 2099-01-01T00:00:00 || return
	expect2 "no such date" udp send "$d" -n 1 --start-at 2099-02-30T00:00:00Z || return
	expect2 "ten fraction digits" udp send "$d" -n 1 --start-at 4000000000.1234567890 || return
	expect2 "label without =" udp send "$d" -n 1 --label foo || return
	expect2 "label key" udp send "$d" -n 1 --label 1x=y || return
	expect2 "label twice" udp send "$d" -n 1 --label a=1 --label a=2 || return
	expect2 "17 labels" udp send "$d" -n 1 $(for i in $(seq 17); do echo --label "k$i=v"; done) || return
	expect2 "run id" udp send "$d" -n 1 --run-id "a b" || return
	expect2 "run past" run /nonexistent.json --start-at "$past" || return
	# RFC 3339 with an offset, in the future, is accepted (the run is refused later for its profile).
	"$SALVO" udp send "$d" -n 1 --start-at 2099-01-01T00:00:00.5+02:00 --help >/dev/null ||
		fail "--help with a good --start-at"
}

# Two labelled senders into one receiver, the senders started at one instant; the
# merge of the three --json files: tx = the senders' own sum, per label
# their own count, and the receiver's count (it stops at 5000, or at 8 s
# with loss) = merged tx - loss = the
# namespace kernel's InDatagrams.
test_merge_two_senders() {
	local p at rpid in0 in1 rc
	setup_ns NS || return
	p=$(random_port)
	in0=$(snmp_udp InDatagrams "$NS")
	salvo_bg -n "$NS" "$TMP/r.json" udp recv "127.0.0.1:$p" -n 5000 -d 8 --json --run-id m --label role=rx
	rpid=$SALVO_PID
	wait_udp_bound "$p" "$NS" || { fail "receiver never bound"; return; }
	at=$(( $(date +%s%N) / 1000000 + LEAD_MS ))
	at=$((at / 1000)).$(printf '%03d' $((at % 1000)))
	salvo_bg -n "$NS" "$TMP/a.json" udp send "127.0.0.1:$p" -n 3000 --rate 5k --json -i 0.5 --start-at "$at" --run-id m --label role=a
	salvo_bg -n "$NS" "$TMP/b.json" udp send "127.0.0.1:$p" -n 2000 --rate 5k --json -i 0.5 --start-at "$at" --run-id m --label role=b
	wait_pid "$rpid" 20000 || { rc=$?; show "$TMP/r.json.err"; fail "receiver exit $rc"; return; }
	in1=$(snmp_udp InDatagrams "$NS")
	"$SALVO" merge --json "$TMP/a.json" "$TMP/b.json" "$TMP/r.json" >"$TMP/m.json" 2>"$TMP/m.err" ||
		{ rc=$?; show "$TMP/m.err"; fail "merge exit $rc"; return; }
	"$SALVO" merge "$TMP/a.json" "$TMP/b.json" "$TMP/r.json" >"$TMP/m.txt" 2>&1 || { fail "text merge"; return; }
	grep -q "label role=a: 1 record, tx 3000 packets" "$TMP/m.txt" || { show "$TMP/m.txt"; fail "text report"; return; }
	python3 - "$TMP/m.json" "$TMP/a.json" "$TMP/b.json" "$TMP/r.json" "$((in1 - in0))" <<'PY' || { show "$TMP/m.json"; fail "merge does not add up"; return; }
import json, sys
m, a, b, r = (json.load(open(f)) for f in sys.argv[1:5])
kernel = int(sys.argv[5])
t = m["total"]
def die(msg): sys.exit(msg)
if t["tx"]["packets"] != a["tx"]["packets"] + b["tx"]["packets"] or t["tx"]["packets"] != 5000:
    die("merged tx %d, senders %d + %d" % (t["tx"]["packets"], a["tx"]["packets"], b["tx"]["packets"]))
if t["tx"]["bytes"] != a["tx"]["bytes"] + b["tx"]["bytes"]:
    die("merged tx bytes")
rx, lost = r["rx"]["packets"], r["rx"]["lost"]
if t["rx"]["packets"] != rx or rx != t["tx"]["packets"] - lost or rx != kernel:
    die("receiver %d, merged tx %d - lost %d, kernel %d" % (rx, t["tx"]["packets"], lost, kernel))
g = {json.dumps(x.get("label") or x.get("host")): x for x in m["groups"]}
if g['{"role": "a"}']["tx"]["packets"] != 3000 or g['{"role": "b"}']["tx"]["packets"] != 2000:
    die("per-label tx")
if t["latency_ns"]["count"] != r["latency_ns"]["count"] or t["latency_ns"]["p99"] != r["latency_ns"]["p99"]:
    die("one receiver's latency is not the merge's")
if sum(s["tx"]["packets"] for s in m["intervals"] if "tx" in s) != 5000 or m["hosts"] != 1 or not m["latency_valid"]:
    die("timeline or hosts")
PY
}

test_merge_bad_files() {
	printf '{"type":"summary","duration_s":1}\n{"type":"summary",\n' >"$TMP/cut.json"
	: >"$TMP/empty.json"
	echo '{"schema":1,"type":"summary","duration_s":1,"tx":{"packets":"1","bytes":0}}' >"$TMP/str.json"
	expect2 "cut" merge "$TMP/cut.json" || return
	grep -q "cut.json: line 3: .*end of file" "$TMP/e" || { fail "cut: $(cat "$TMP/e")"; return; }
	expect2 "empty" merge "$TMP/empty.json" || return
	grep -q "empty.json" "$TMP/e" || { fail "empty: $(cat "$TMP/e")"; return; }
	expect2 "string counter" merge "$TMP/str.json" || return
	grep -q "packets" "$TMP/e" || { fail "str: $(cat "$TMP/e")"; return; }
	expect2 "missing" merge "$TMP/nope.json" || return
	printf '{"type":"summary","duration_s":1,"tx":{"packets":2,"bytes":0}}' | "$SALVO" merge - >"$TMP/o" ||
		{ fail "stdin"; return; }
	grep -q "total: 1 record, tx 2 packets" "$TMP/o" || fail "stdin record: $(cat "$TMP/o")"
}

[ -x "$SALVO" ] || { echo "FAIL: setup no salvo binary at $SALVO"; exit 1; }
ulimit -c 0
for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
