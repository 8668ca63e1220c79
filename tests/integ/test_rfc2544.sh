#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# salvo rfc2544 against a device under test made of namespaces (lib.sh
# setup_dut): a forwarding namespace whose egress is shaped by tbf (a known
# capacity) or netem (known loss, reordering).  The witnesses are the DUT's
# own configuration and counters: the tbf rate and bucket, netem's loss, and
# `tc -s qdisc` drops.  Trials are short (0.4-0.5 s) and searches coarse, so
# the suite stays within seconds per test.
#
#	sudo SALVO=build/salvo tests/integ/test_rfc2544.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves these out: rates found by searches, against the tbf's rate; the report, latency,
# reordering and refusal tests take the same code paths under ASan.
PLAIN_ONLY="test_ndr_two_rates test_loss_no_ndr_pdr_found test_b2b_bounded_by_tbf"
TESTS="
	test_ndr_two_rates
	test_loss_no_ndr_pdr_found
	test_b2b_bounded_by_tbf
	test_latency_percentiles
	test_reorder_reported
	test_bad_input
"
[ $# -gt 0 ] && TESTS="$*"

FRAME=1518	# with FCS: 1514 bytes on the veth, what tbf counts
QUICK=(--trial 0.5 --warmup 0.05 --settle 0.02 --drain 0.05 --sizes $FRAME)

# rfc OUT ARGS...: salvo rfc2544 in the tester namespace, towards the DUT.
rfc() {
	local out=$1
	shift
	salvo_run -n "$TESTER" "$out" rfc2544 --tx "$DUT_TX" --rx "$DUT_RX" --dst "$DUT_DST" \
		--dst-mac "$DUT_MAC" "${QUICK[@]}" "$@"
}

# tbf_dropped: packets the DUT's tbf (or netem) dropped so far.
qdisc_dropped() {
	tc -n "$DUT" -s qdisc show dev d-out | sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

# The NDR found is within 5% of the tbf's rate, for two rates.  The bucket and
# queue (12000 bytes each) let a 0.8 s trial exceed the rate by at most 3% at
# 8 Mbit/s (1.5% at 16), and absorb 12-24 ms of the tester's own pacing
# jitter on a loaded machine: a stalled sender catches up in one burst; a
# failed trial is run again twice (--retries) before its rate fails.
test_ndr_two_rates() {
	require_root || return
	local mbit want got
	for mbit in 8 16; do
		setup_dut rate=${mbit}mbit burst=12000 limit=12000 || return
		want=$(py_eval "$mbit * 1e6 / (8 * ($FRAME - 4))")
		rfc "$TMP/ndr$mbit.json" throughput --pdr 0 --resolution 3% --json --trial 0.8 --retries 2 \
			--max-rate "$(py_eval "int(1.1 * $want)")" ||
			{ show "$TMP/ndr$mbit.json.err"; fail "rfc2544 at $mbit Mbit/s exited $?"; return; }
		got=$(json_get "$TMP/ndr$mbit.json" sizes.0.ndr.rate_fps) || { fail "no NDR in the JSON"; return; }
		py_cmp "abs($got - $want) / $want" "<=" 0.05 ||
			{ fail "tbf $mbit Mbit/s = $want frames/s, NDR found $got (more than 5% off)"; return; }
		[ "$(qdisc_dropped)" -gt 0 ] || { fail "$mbit Mbit/s: the tbf never dropped: no trial went above its rate"; return; }
		printf '  tbf %s Mbit/s: %.0f frames/s, NDR %.0f\n' "$mbit" "$want" "$got"
	done
}

# netem loses 1% at every rate: no zero-loss rate above the floor, but a
# PDR of 2% passes at the maximum rate, with a loss near netem's 1%.
test_loss_no_ndr_pdr_found() {
	require_root || return
	local o=$TMP/loss.json ratio
	setup_dut loss=1 || return
	rfc "$o" throughput --pdr 2% --resolution 5% --max-rate 4k --min-rate 1k --json ||
		{ show "$o.err"; fail "rfc2544 exited $?"; return; }
	[ "$(json_get "$o" sizes.0.ndr.found)" = false ] ||
		{ fail "an NDR was found ($(json_get "$o" sizes.0.ndr.rate_fps) frames/s) through 1% loss"; return; }
	[ "$(json_get "$o" sizes.0.pdr.found)" = true ] || { fail "no PDR at 2% through 1% loss"; return; }
	[ "$(json_get "$o" sizes.0.pdr.at_max)" = true ] || { fail "the PDR is not the maximum rate"; return; }
	ratio=$(json_get "$o" sizes.0.pdr.trial.loss_ratio) || return
	py_cmp "0.002 <= $ratio" and "$ratio <= 0.02" ||
		{ fail "PDR trial lost $ratio of its frames, netem 1%"; return; }
	[ "$(qdisc_dropped)" -gt 0 ] || { fail "netem dropped nothing"; return; }
	echo "  NDR none above 1k frames/s; PDR(2%) at 4k frames/s, loss $ratio ($DUT_EMU)"
}

# The longest loss-free burst fits in the tbf's bucket plus its queue
# (3000 + 30000 bytes: at most 21 frames of 1514 bytes plus one in flight),
# and fills the queue: at 1 Mbit/s the queued frames leave the DUT over
# 240 ms after the burst, and count only because the counters are read
# after --drain (0.5 s).
test_b2b_bounded_by_tbf() {
	require_root || return
	local o=$TMP/b2b.json lo hi
	setup_dut rate=1mbit burst=3000 limit=30000 || return
	rfc "$o" b2b --repeat 2 --b2b-max 500 --drain 0.5 --json || { show "$o.err"; fail "rfc2544 exited $?"; return; }
	lo=$(json_get "$o" sizes.0.b2b.min) && hi=$(json_get "$o" sizes.0.b2b.max) || return
	[ "$(json_get "$o" sizes.0.b2b.capped)" = false ] || { fail "a 500-frame burst passed a 33000-byte tbf"; return; }
	py_cmp "$hi * ($FRAME - 4)" "<=" "3000 + 30000 + ($FRAME - 4)" ||
		{ fail "back-to-back up to $hi frames of $((FRAME - 4)) bytes against a 33000-byte bucket+queue"; return; }
	py_cmp "$lo * ($FRAME - 4)" ">=" "30000 - ($FRAME - 4)" ||
		{ fail "back-to-back $lo frames: the queued frames were not waited for"; return; }
	[ "$(json_get "$o" sizes.0.b2b.frames.1)" -ge 1 ] || { fail "no second repetition"; return; }
	echo "  back-to-back $lo..$hi frames (tbf bucket+queue 33000 bytes)"
}

# Latency at the NDR: the full percentile set, ordered, from as many samples
# as frames came back.  A DUT without shaping: the NDR is the maximum rate.
test_latency_percentiles() {
	require_root || return
	local o=$TMP/lat.json
	setup_dut || return
	rfc "$o" latency --pdr 0 --max-rate 2k --json --sizes 128,$FRAME --trial 0.3 ||
		{ show "$o.err"; fail "rfc2544 exited $?"; return; }
	python3 - "$o" <<'PY' || { show "$o"; fail "latency section wrong"; return; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["type"] == "rfc2544", d
for s in d["sizes"]:
    assert s["ndr"]["found"], s
    t = s["latency"]
    l = t["latency_ns"]
    keys = ["min", "p50", "p90", "p99", "p999", "p9999", "max"]
    v = [l[k] for k in keys]
    assert v == sorted(v) and v[0] > 0, l
    assert l["count"] == t["rx"] and t["rx"] == t["tx"] > 0, t
    assert abs(t["offered_fps"] - s["ndr"]["rate_fps"]) < 1e-6, (t, s["ndr"])
PY
	echo "  latency at NDR for 128 and $FRAME bytes: percentiles ordered, one sample per frame"
}

# A DUT that reorders (netem reorder) is reported as such: in the JSON, in
# the text table, and the report directory holds the Markdown and the plots.
test_reorder_reported() {
	require_root || return
	local o=$TMP/reo.json d=$TMP/report
	setup_dut reorder=25 || return
	rfc "$o" throughput --pdr 0 --max-rate 1500 --resolution 10% --json --report "$d" ||
		{ show "$o.err"; fail "rfc2544 exited $?"; return; }
	[ "$(json_get "$o" sizes.0.ndr.reordered_trials)" -ge 1 ] ||
		{ fail "no trial reported reordering through a DUT that reorders ($DUT_EMU)"; return; }
	# netem reorders at every rate, so the NDR trial too; the u32 stand-in only above its rate.
	[ "$DUT_EMU" != netem ] || [ "$(json_get "$o" sizes.0.ndr.trial.reordered)" -gt 0 ] ||
		{ fail "the NDR trial counts no reordering"; return; }
	grep -q "REORDERED in" "$d/report.md" || { show "$d/report.md"; fail "the text table does not say REORDERED"; return; }
	grep -q "<svg" "$d/throughput.svg" || { show "$o.err"; fail "no throughput.svg plot"; return; }
	echo "  reordering reported ($DUT_EMU): $(json_get "$o" sizes.0.ndr.reordered_trials) trials"
}

# Bad input: one line on stderr, exit 2, before any port opens.
test_bad_input() {
	local args rc i=0
	while IFS= read -r args; do
		i=$((i + 1))
		eval "set -- $args"
		"$SALVO" rfc2544 "$@" >"$TMP/bad$i.out" 2>"$TMP/bad$i.err"
		rc=$?
		[ "$rc" = 2 ] || { show "$TMP/bad$i.err"; fail "'$args' exited $rc, want 2"; return; }
		[ "$(count_lines "$TMP/bad$i.err")" = 1 ] || { show "$TMP/bad$i.err"; fail "'$args': not one line"; return; }
		[ ! -s "$TMP/bad$i.out" ] || { fail "'$args' printed on stdout"; return; }
	done <<'EOF2'
--rx b --dst 10.0.0.1
--tx a --rx a --dst 10.0.0.1
--tx a --rx b
--tx a --rx b --dst 10.0.0.1 --sizes 63
--tx a --rx b --dst 10.0.0.1 --sizes 64,jumbo
--tx a --rx b --dst 10.0.0.1 --pdr 150%
--tx a --rx b --dst 10.0.0.1 --resolution 0
--tx a --rx b --dst 10.0.0.1 speed
--tx a --rx b --dst 10.0.0.1 --line-rate 100k
--tx a --rx b --dst 10.0.0.1 --repeat 0
--tx a --rx b --dst 10.0.0.1 --backend nosuch
EOF2
}

for t in $TESTS; do run_test "$t"; done
exit "$RET"
