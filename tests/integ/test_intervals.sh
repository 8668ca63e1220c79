#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# Interval reports (-i, --json-stream, --json -i): every interval is
# reported, the last partial one too, start/end times are contiguous, and
# every counter is a delta, so the intervals add up exactly to the summary
# and to the kernel's own count (/proc/net/snmp in a fresh namespace).  The
# receiver's intervals carry the latency of exactly their own stamped packets.
#
#	sudo SALVO=build/salvo tests/integ/test_intervals.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves these out (lib.sh PLAIN_ONLY): the interval hand-off on more backends and thread counts; JSON and TCP intervals stay under ASan.
PLAIN_ONLY="test_stream_syscall test_stream_threads test_text_intervals"
TESTS="
	test_stream_uring
	test_stream_syscall
	test_stream_threads
	test_json_intervals
	test_text_intervals
	test_tcp_intervals
	test_session_intervals
"

N=10000		# packets per transfer: 2.5 s at 4k pps, five 0.5 s intervals and a partial one
RATE=4k

# check_ivs FILE FORMAT DIR...: the intervals in FILE (FORMAT: stream =
# NDJSON, doc = one --json document with "intervals") against its summary,
# for each direction DIR (tx, rx).  Prints "DIR packets bytes" per direction.
check_ivs() {
	python3 - "$@" <<'EOF'
import json, sys
path, fmt, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
def die(msg):
    sys.stderr.write("%s: %s\n" % (path, msg)); sys.exit(1)
if fmt == "stream":
    objs = []
    for i, line in enumerate(open(path)):
        try:
            o = json.loads(line)          # one whole object per line
        except ValueError as e:
            die("line %d is not one JSON object: %r (%s)" % (i + 1, line[:80], e))
        if not isinstance(o, dict):
            die("line %d is not an object" % (i + 1))
        objs.append(o)
    if not objs:
        die("empty")
    summ, ivs = objs[-1], objs[:-1]
    if "intervals" in summ:
        die("--json-stream summary repeats the intervals")
else:
    summ = json.load(open(path))
    ivs = summ.get("intervals")
    if not isinstance(ivs, list):
        die("--json -i document has no intervals array")
if summ.get("type") != "summary":
    die("last object is %r, not the summary" % summ.get("type"))
if len(ivs) < 4:
    die("only %d intervals for a run of %.2f s at -i 0.5" % (len(ivs), summ["duration_s"]))
t = 0.0
for k, o in enumerate(ivs):
    if o.get("type") != "interval":
        die("interval %d has type %r" % (k, o.get("type")))
    if abs(o["start_s"] - t) > 1e-6:
        die("interval %d starts at %.9f, the previous one ended at %.9f" % (k, o["start_s"], t))
    if o["duration_s"] <= 0 and k != len(ivs) - 1:
        die("interval %d lasts %r s" % (k, o["duration_s"]))
    t = o["start_s"] + o["duration_s"]
if abs(t - summ["duration_s"]) > 1e-6:
    die("intervals end at %.9f s, the run lasted %.9f s (last partial interval missing?)" % (t, summ["duration_s"]))
for d in dirs:
    for f in ["packets", "bytes"] + (["submissions", "errors"] if d == "tx" else ["unstamped"]):
        s = sum(o[d][f] for o in ivs)
        if s != summ[d][f]:
            die("%s.%s: intervals sum to %d, summary says %d (%s)" %
                (d, f, s, summ[d][f], [o[d][f] for o in ivs]))
    if d == "tx" and summ["tx"]["submissions"] > 0:
        # Deltas: a cumulative count would make a later interval hold at least the earlier ones.
        if any(o["tx"]["submissions"] > o["tx"]["packets"] for o in ivs):
            die("tx.submissions above the interval's packets: %s" % [o["tx"]["submissions"] for o in ivs])
    if d == "rx":
        lat = 0
        for k, o in enumerate(ivs):
            stamped = o["rx"]["packets"] - o["rx"]["unstamped"]
            c = o.get("latency_ns", {}).get("count", 0)
            if c != stamped:
                die("interval %d: latency count %d, stamped packets %d" % (k, c, stamped))
            if c and not (0 < o["latency_ns"]["p50"] <= o["latency_ns"]["max"]):
                die("interval %d: latency %r" % (k, o["latency_ns"]))
            lat += c
        if lat != summ["latency_ns"]["count"]:
            die("interval latency counts sum to %d, summary %d" % (lat, summ["latency_ns"]["count"]))
    # The traffic is paced over the run: spread over the intervals, not
    # handed over in one piece at the end.
    busy = [o[d]["packets"] for o in ivs if o[d]["packets"]]
    if len(busy) < 3 or max(busy) > summ[d]["packets"] * 0.4:
        die("%s packets per interval %s: not spread over the run" % (d, [o[d]["packets"] for o in ivs]))
    print(d, summ[d]["packets"], summ[d]["bytes"])
EOF
}

# udp_pair NS BACKEND MODE: udp recv and udp send --count $N --rate $RATE
# -i 0.5 in NS, both with MODE's output options, into $TMP/recv.out and
# $TMP/send.out.  Checks both exit 0 and the kernel's Udp In/OutDatagrams
# deltas equal $N.
udp_pair() {
	local ns=$1 b=$2 p rpid rc in0 out0 in1 out1
	shift 2
	p=$(random_port)
	in0=$(snmp_udp InDatagrams "$ns") out0=$(snmp_udp OutDatagrams "$ns")
	SALVO_BACKEND=$b salvo_bg -n "$ns" "$TMP/recv.out" udp recv "127.0.0.1:$p" --count "$N" -i 0.5 "$@"
	rpid=$SALVO_PID
	wait_udp_bound "$p" "$ns" || { show "$TMP/recv.out.err"; fail "$b: receiver never bound"; return; }
	SALVO_BACKEND=$b salvo_run -n "$ns" "$TMP/send.out" udp send "127.0.0.1:$p" --count "$N" \
		--rate "$RATE" -i 0.5 "$@"
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/send.out" "$TMP/send.out.err"; fail "$b: udp send exited $rc"; return; }
	wait_pid "$rpid" 15000
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/recv.out" "$TMP/recv.out.err"; fail "$b: udp recv exited $rc"; return; }
	in1=$(snmp_udp InDatagrams "$ns") out1=$(snmp_udp OutDatagrams "$ns")
	KIN=$((in1 - in0)) KOUT=$((out1 - out0))
	[ "$KOUT" -eq "$N" ] && [ "$KIN" -eq "$N" ] ||
		fail "$b: kernel OutDatagrams +$KOUT, InDatagrams +$KIN, sent $N"
}

# NDJSON on BACKEND: both ends' intervals against their summaries and the kernel.
stream_on() {
	local b=$1 tx rx
	shift
	require_root || return
	setup_ns NS || return
	udp_pair "$NS" "$b" --json-stream "$@" || return
	tx=$(check_ivs "$TMP/send.out" stream tx) || { show "$TMP/send.out"; fail "$b: sender's intervals"; return; }
	rx=$(check_ivs "$TMP/recv.out" stream rx) || { show "$TMP/recv.out"; fail "$b: receiver's intervals"; return; }
	[ "$tx" = "tx $N $((N * 64))" ] || { fail "$b: sender's summary: $tx, kernel sent $KOUT"; return; }
	[ "$rx" = "rx $KIN $((KIN * 64))" ] || { fail "$b: receiver's summary: $rx, kernel delivered $KIN"; return; }
	echo "  $b: $(($(count_lines "$TMP/recv.out") - 1)) receiver intervals, $(($(count_lines "$TMP/send.out") - 1)) sender intervals sum to $N = kernel"
}
test_stream_uring() { stream_on uring; }
test_stream_syscall() { stream_on syscall; }
# Two workers at each end (SO_REUSEPORT on the receiver; the kernel's hash
# decides which gets each sender's flow): the snapshot collects every
# worker's boundary and the sums still hold exactly.
test_stream_threads() { stream_on uring --threads 2; }

# --json -i: one document, its "intervals" array holds what --json-stream would print.
test_json_intervals() {
	require_root || return
	setup_ns NS || return
	udp_pair "$NS" syscall --json || return
	json_ok "$TMP/send.out" && json_ok "$TMP/recv.out" ||
		{ show "$TMP/send.out" "$TMP/recv.out"; fail "--json -i is not one JSON document"; return; }
	check_ivs "$TMP/send.out" doc tx >/dev/null || { fail "sender's intervals array"; return; }
	check_ivs "$TMP/recv.out" doc rx >/dev/null || fail "receiver's intervals array"
}

# Text -i: the "[a-b s] ... tx|rx N pkts" lines add up to the summary's count
# (and to the kernel's), and their times are contiguous up to the run's end.
test_text_intervals() {
	require_root || return
	setup_ns NS || return
	udp_pair "$NS" syscall || return
	local f d
	for f in send:tx recv:rx; do
		python3 - "$TMP/${f%%:*}.out" "${f#*:}" "$N" <<'EOF' || { show "$TMP/${f%%:*}.out"; fail "${f%%:*}: text intervals"; return; }
import re, sys
path, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(path).read()
lines = re.findall(r"^\[\s*([0-9.]+)-\s*([0-9.]+) s\].* %s (\d+) pkts" % d, text, re.M)
total = re.search(r"^  %s: (\d+) packets" % d, text, re.M)
dur = re.search(r"^salvo .*, ([0-9.]+) s", text, re.M)
if not lines or not total or not dur:
    sys.exit("no interval lines or no summary")
t = "0.00"
for a, b, _ in lines:
    if a != t:
        sys.exit("interval starts at %s, the previous one ended at %s" % (a, t))
    t = b
if t != dur.group(1):
    sys.exit("intervals end at %s s, the run lasted %s s" % (t, dur.group(1)))
s = sum(int(x) for _, _, x in lines)
if s != int(total.group(1)) or s != n:
    sys.exit("%d interval lines sum to %d, summary %s, sent %d" % (len(lines), s, total.group(1), n))
EOF
	done
}

tcp_listening() { in_ns "${2:-}" ss -Hltn "sport = :$1" | grep -q .; }

# tcp send -d 1 -i 0.25 into tcp sink -i 0.25: each end's interval bytes sum
# exactly to its total, and the two totals agree.
test_tcp_intervals() {
	local b p rpid tx rx
	for b in uring syscall; do
		p=$(random_port)
		SALVO_BACKEND=$b salvo_bg "$TMP/sink.out" tcp sink "127.0.0.1:$p" --count 1 -i 0.25 --json-stream -d 30
		rpid=$SALVO_PID
		busywait 10000 tcp_listening "$p" || { fail "$b: sink not listening"; return; }
		SALVO_BACKEND=$b salvo_run "$TMP/tsend.out" tcp send "127.0.0.1:$p" -d 1 -i 0.25 --json-stream ||
			{ show "$TMP/tsend.out" "$TMP/tsend.out.err"; fail "$b: send failed"; return; }
		wait_pid "$rpid" 20000 || { show "$TMP/sink.out.err"; fail "$b: sink exited $?"; return; }
		python3 - "$TMP/tsend.out" tx "$TMP/sink.out" rx <<'EOF' || { show "$TMP/tsend.out" "$TMP/sink.out"; fail "$b: TCP intervals"; return; }
import json, sys
tot = []
for path, d in zip(sys.argv[1::2], sys.argv[2::2]):
    objs = [json.loads(l) for l in open(path)]
    ivs, summ = objs[:-1], objs[-1]
    s = sum(o[d]["bytes"] for o in ivs if d in o)
    if summ["type"] != "summary" or len(ivs) < 3 or s != summ[d]["bytes"]:
        sys.exit("%s: %d intervals sum to %d bytes, summary %d" % (path, len(ivs), s, summ[d]["bytes"]))
    tot.append(s)
if tot[0] != tot[1] or not tot[0]:
    sys.exit("sent %d bytes, the sink read %d" % tuple(tot))
print("  bytes: %d, intervals sum exactly at both ends" % tot[0])
EOF
	done
}

# Two senders into one receiver with -i: every interval (--json -i, and the
# text lines) carries one row per session, and each session's interval rows
# sum exactly to its row in the summary; each interval's rows sum to its
# stamped packets.
test_session_intervals() {
	local p rpid spid
	p=$(random_port)
	salvo_bg "$TMP/r.json" udp recv "127.0.0.1:$p" --count 6000 -i 0.25 --json
	rpid=$SALVO_PID
	wait_udp_bound "$p" || { fail "receiver never bound"; return; }
	salvo_bg "$TMP/s1" udp send "127.0.0.1:$p" --count 3000 --rate 4k -q
	spid=$SALVO_PID
	salvo_run "$TMP/s2" udp send "127.0.0.1:$p" --count 3000 --rate 3k -q ||
		{ show "$TMP/s2.err"; fail "second sender exit $?"; return; }
	wait_pid "$rpid" 15000 || { show "$TMP/r.json.err"; fail "receiver exit $?"; return; }
	# The background sender too: its datagrams are all in, but under ASan its
	# exit (the leak check) can outlast the receiver's.
	wait_pid "$spid" 15000 || { show "$TMP/s1.err"; fail "first sender exit $?"; return; }
	TEST_MSG=$(python3 - "$TMP/r.json" 2>&1 <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ivs, tot = d["intervals"], {s["session"]: s for s in d["rx"]["sessions"]}
if len(tot) != 2 or d["rx"]["session_count"] != 2 or len(ivs) < 3:
    sys.exit("sessions %s, %d intervals" % (list(tot), len(ivs)))
for k, o in enumerate(ivs):
    rows = o["rx"]["sessions"]
    if {s["session"] for s in rows} - set(tot) or o["rx"]["session_count"] > 2:
        sys.exit("interval %d: sessions %s" % (k, rows))
    if sum(s["packets"] for s in rows) != o["rx"]["packets"] - o["rx"]["unstamped"]:
        sys.exit("interval %d: rows %s, stamped %d" % (k, rows, o["rx"]["packets"] - o["rx"]["unstamped"]))
for sid, t in tot.items():
    for f in ("packets", "lost", "reordered", "duplicates"):
        s = sum(r[f] for o in ivs for r in o["rx"]["sessions"] if r["session"] == sid)
        if s != t[f]:
            sys.exit("session %d %s: intervals sum to %d, summary %d" % (sid, f, s, t[f]))
    if t["packets"] != 3000:
        sys.exit("session %d: %d packets, sent 3000" % (sid, t["packets"]))
EOF
	) || return
	# Text: the interval lines carry their session rows too.
	p=$(random_port)
	salvo_bg "$TMP/r.txt" udp recv "127.0.0.1:$p" --count 2000 -i 0.25
	rpid=$SALVO_PID
	wait_udp_bound "$p" || { fail "text receiver never bound"; return; }
	salvo_bg "$TMP/t1" udp send "127.0.0.1:$p" --count 1000 --rate 4k -q
	spid=$SALVO_PID
	salvo_run "$TMP/t2" udp send "127.0.0.1:$p" --count 1000 --rate 4k -q || { fail "text sender exit $?"; return; }
	wait_pid "$rpid" 15000 || { show "$TMP/r.txt.err"; fail "text receiver exit $?"; return; }
	wait_pid "$spid" 15000 || { show "$TMP/t1.err"; fail "first text sender exit $?"; return; }
	awk '/^\[/ { iv = 1; next } iv && /^    session [0-9a-f]+: / { rows++; next } /^  sessions / { next } { iv = 0 } END { exit rows < 2 }' "$TMP/r.txt" ||
		{ show "$TMP/r.txt"; fail "no session rows after the interval lines"; }
}

[ -x "$SALVO" ] || { echo "FAIL: setup no salvo binary at $SALVO"; exit 1; }
ulimit -c 0
for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
