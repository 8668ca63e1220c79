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
# Socket mode's NDR and loss searches take the paths test_sock_all_tests does.
PLAIN_ONLY="test_ndr_two_rates test_loss_no_ndr_pdr_found test_frame_loss_rate test_b2b_bounded_by_tbf"
PLAIN_ONLY+=" test_sock_ndr test_sock_loss_no_ndr"
TESTS="
	test_ndr_two_rates
	test_loss_no_ndr_pdr_found
	test_frame_loss_rate
	test_b2b_bounded_by_tbf
	test_latency_percentiles
	test_reorder_reported
	test_bad_input
	test_zero_durations
	test_sock_ndr
	test_sock_loss_no_ndr
	test_sock_all_tests
"
[ $# -gt 0 ] && TESTS="$*"

FRAME=1518	# with FCS: 1514 bytes on the veth, what tbf counts
QUICK=(--trial 0.5 --warmup 0.05 --settle 0.02 --drain 0.05 --sizes $FRAME)

# rfc OUT ARGS...: salvo rfc2544 in the tester namespace, towards the DUT
# (2 min cap), stdout to OUT, stderr to OUT.err.  Not salvo_run: its -b goes
# after the second word, which here is an option (--tx).
rfc() {
	local out=$1 b=()
	shift
	[ -n "$SALVO_BACKEND" ] && b=(-b "$SALVO_BACKEND")
	in_ns "$TESTER" timeout -s KILL 120 "$SALVO" rfc2544 "${b[@]}" --tx "$DUT_TX" --rx "$DUT_RX" \
		--dst "$DUT_DST" --dst-mac "$DUT_MAC" "${QUICK[@]}" "$@" >"$out" 2>"$out.err" || return
	# a JSON document: every key of it is in docs/json.md
	[[ " $* " != *" --json "* ]] || python3 "$(dirname "$0")/json_doc_keys.py" "$(dirname "$0")/../../docs/json.md" "$out" >"$out.keys" ||
		{ echo "undocumented keys: $(tr '\n' ' ' <"$out.keys")" >>"$out.err"; return 1; }
}

# Socket mode (--server): the client in $CLIENT, `salvo serve` in $SERVER on
# its own address (setup_dut_l4), a token since that address is not loopback.
start_serve() {
	SPORT=$(random_port)
	salvo_bg -n "$SERVER" "$TMP/serve.out" serve "$SRV_ADDR:$SPORT" --token rfc2544
	busywait 10000 in_ns "$SERVER" sh -c "ss -Hltn 'sport = :$SPORT' | grep -q ." ||
		{ fail "salvo serve not listening"; return 1; }
}

# rfc_sock OUT ARGS...: rfc(), in socket mode from $CLIENT to the server.
rfc_sock() {
	local out=$1 b=()
	shift
	[ -n "$SALVO_BACKEND" ] && b=(-b "$SALVO_BACKEND")
	in_ns "$CLIENT" timeout -s KILL 120 "$SALVO" rfc2544 "${b[@]}" --server "$SRV_ADDR:$SPORT" --token rfc2544 \
		"${QUICK[@]}" "$@" >"$out" 2>"$out.err" || return
	[[ " $* " != *" --json "* ]] || python3 "$(dirname "$0")/json_doc_keys.py" "$(dirname "$0")/../../docs/json.md" "$out" >"$out.keys" ||
		{ echo "undocumented keys: $(tr '\n' ' ' <"$out.keys")" >>"$out.err"; return 1; }
}

# check FILE PYTHON...: run the python statements with d = the JSON document
# in FILE; an AssertionError's message becomes the test's failure reason, a
# print() its line in the log.  One python per run: its start-up takes
# seconds on a loaded machine.
check() {
	local f=$1 msg
	shift
	msg=$(python3 - "$f" "$@" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
try:
    exec("\n".join(sys.argv[2:]))
except AssertionError as e:
    print("FAIL", e)
    sys.exit(1)
PY
) || { fail "${msg#FAIL }"; return 1; }
	[ -z "$msg" ] || echo "  $msg"
}

# qdisc_dropped: packets the DUT's qdiscs dropped so far (tc -s: the witness).
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
	local mbit want
	for mbit in 8 16; do
		setup_dut rate=${mbit}mbit burst=12000 limit=12000 || return
		want=$(awk -v m="$mbit" -v f="$FRAME" 'BEGIN { printf "%.3f", m * 1e6 / (8 * (f - 4)) }')
		rfc "$TMP/ndr$mbit.json" throughput --pdr 0 --resolution 3% --json --trial 0.8 --retries 2 \
			--max-rate "$(awk -v w="$want" 'BEGIN { printf "%d", 1.1 * w }')" ||
			{ show "$TMP/ndr$mbit.json.err"; fail "rfc2544 at $mbit Mbit/s exited $?"; return; }
		check "$TMP/ndr$mbit.json" "want = $want; got = d['sizes'][0]['ndr']['rate_fps']" \
			"assert abs(got - want) / want <= 0.05, 'tbf $mbit Mbit/s = %.0f frames/s, NDR found %.0f (more than 5%% off)' % (want, got)" \
			"print('tbf $mbit Mbit/s: %.0f frames/s, NDR %.0f' % (want, got))" || return
		[ "$(qdisc_dropped)" -gt 0 ] || { fail "$mbit Mbit/s: the tbf never dropped: no trial went above its rate"; return; }
	done
}

# A DUT that loses 1% (netem, or 1 in 128 frames with the u32 stand-in) at
# every rate: no zero-loss rate above the floor, but a PDR of 2% passes at the
# maximum rate, with about that loss.
test_loss_no_ndr_pdr_found() {
	require_root || return
	local o=$TMP/loss.json
	setup_dut loss=1 || return
	rfc "$o" throughput --pdr 2% --resolution 5% --max-rate 4k --min-rate 1k --json ||
		{ show "$o.err"; fail "rfc2544 exited $?"; return; }
	check "$o" "s = d['sizes'][0]" \
		"assert not s['ndr']['found'], 'an NDR was found (%s frames/s) through 1%% loss' % s['ndr']['rate_fps']" \
		"assert s['pdr']['found'] and s['pdr']['at_max'], 'no PDR at 2%% at the maximum rate: %s' % s['pdr']" \
		"r = s['pdr']['trial']['loss_ratio']" \
		"assert 0.002 <= r <= 0.02, 'the PDR trial lost %s of its frames through 1%% loss' % r" \
		"print('NDR none above 1k frames/s; PDR(2%%) at 4k frames/s, loss %.4f ($DUT_EMU)' % r)" || return
	[ "$(qdisc_dropped)" -gt 0 ] || { fail "the DUT dropped nothing"; return; }
}

# Frame loss rate (RFC 2544 26.3): trials from 100% of the maximum down in
# steps of 10% until two in a row lose nothing.  Through an 8 Mbit/s tbf
# (661 frames/s of 1518 bytes) from a maximum of 1000 frames/s: the 100%
# trial loses about a third, and the run ends with two loss-free trials.
test_frame_loss_rate() {
	require_root || return
	local o=$TMP/flr.json
	setup_dut rate=8mbit burst=12000 limit=12000 || return
	rfc "$o" loss --max-rate 1000 --json || { show "$o.err"; fail "rfc2544 exited $?"; return; }
	check "$o" "t = d['sizes'][0]['loss']" \
		"p = [x['percent_of_max'] for x in t]" \
		"assert p == [100 - 10 * i for i in range(len(p))], 'steps %s' % p" \
		"assert len(t) >= 3 and t[0]['lost'] > 0, 'the 100%% trial (1000 frames/s into 661) lost nothing: %s' % t[0]" \
		"assert t[-1]['lost'] == 0 and t[-2]['lost'] == 0, 'did not end on two loss-free trials: %s' % [x['lost'] for x in t]" \
		"assert all(x['lost'] > 0 or y['lost'] > 0 for x, y in zip(t[:-2], t[1:-1])), 'went on past two loss-free trials: %s' % [x['lost'] for x in t]" \
		"assert all(x['lost'] == x['tx'] - x['rx'] and abs(x['loss_ratio'] - x['lost'] / x['tx']) < 1e-9 for x in t), t" \
		"print('frame loss rate: %s' % ', '.join('%d%%: %.3f' % (x['percent_of_max'], x['loss_ratio']) for x in t))"
}

# The longest loss-free burst fits in the tbf's bucket plus its queue
# (3000 + 30000 bytes: at most 21 frames of 1514 bytes plus one in flight),
# and fills the queue: at 1 Mbit/s the queued frames leave the DUT over
# 240 ms after the burst, and count only because the counters are read
# after --drain (0.5 s).
test_b2b_bounded_by_tbf() {
	require_root || return
	local o=$TMP/b2b.json
	setup_dut rate=1mbit burst=3000 limit=30000 || return
	rfc "$o" b2b --repeat 2 --b2b-max 500 --drain 0.5 --json || { show "$o.err"; fail "rfc2544 exited $?"; return; }
	check "$o" "b = d['sizes'][0]['b2b']; n = $FRAME - 4" \
		"assert not b['capped'], 'a 500-frame burst passed a 33000-byte tbf'" \
		"assert len(b['frames']) == 2, b" \
		"assert b['max'] * n <= 3000 + 30000 + n, 'back-to-back up to %d frames of %d bytes against a 33000-byte bucket+queue' % (b['max'], n)" \
		"assert b['min'] * n >= 30000 - n, 'back-to-back %d frames: the queued frames were not waited for' % b['min']" \
		"assert b['min'] <= b['mean'] <= b['max'] and b['stddev'] >= 0, b" \
		"print('back-to-back %d..%d frames (tbf bucket+queue 33000 bytes)' % (b['min'], b['max']))"
}

# Latency at the NDR, repeated (--latency-trials): the full percentile set,
# ordered, from the merged histogram of every trial, so as many samples as
# stamped frames came back in all of them (all at 128 B, 5 in 12 of imix);
# the trials' p50 within its min and max.  A DUT without shaping: the NDR is the maximum rate.
test_latency_percentiles() {
	require_root || return
	local o=$TMP/lat.json
	setup_dut || return
	rfc "$o" latency --pdr 0 --max-rate 2k --json --sizes 128,imix --trial 0.2 --latency-trials 3 ||
		{ show "$o.err"; fail "rfc2544 exited $?"; return; }
	check "$o" "assert d['schema'] == 1 and d['type'] == 'rfc2544', d" \
		"assert [s['size'] for s in d['sizes']] == ['128', 'imix'], d['sizes']" \
		"for s in d['sizes']:
    assert s['ndr']['found'], s
    t = s['latency']; l = t.get('latency_ns')
    assert l, '%s: no latency at NDR: %s' % (s['size'], t)
    v = [l[k] for k in ('min', 'p50', 'p90', 'p99', 'p999', 'p9999', 'max')]
    assert v == sorted(v) and v[0] > 0, l
    assert t['rx'] == t['tx'] > 0 and t['trials'] == t['latency_trials'] == 3 and t['merged'], t
    assert t['p50_min_ns'] <= t['p50_mean_ns'] <= t['p50_max_ns'] and l['min'] <= t['p50_min_ns'] and t['p50_max_ns'] <= l['max'], t
    assert abs(t['offered_fps'] - s['ndr']['rate_fps']) < 1e-6, (t, s['ndr'])
    # every sample of the 3 trials; imix (64:7, 576:4, 1500:1): only the 576 and 1500 B frames hold a stamp, 5 in 12
    want = t['rx'] if s['size'] == '128' else t['tx'] * 5 / 12
    assert abs(l['count'] - want) <= 6, '%s: %d samples, want %d' % (s['size'], l['count'], want)
    assert s['stamped'] == (s['size'] == '128') and s['partly_stamped'] == (s['size'] == 'imix'), s" \
		"print('latency at NDR, 3 trials, for 128 bytes (one sample per frame) and imix (its stamped 5 in 12)')"
}

# A DUT that reorders is reported as such: in the JSON, in the text table,
# and the report directory holds the Markdown and the plots.
test_reorder_reported() {
	require_root || return
	local o=$TMP/reo.json d=$TMP/report
	setup_dut reorder=25 || return
	rfc "$o" throughput --pdr 0 --max-rate 1500 --resolution 10% --json --report "$d" ||
		{ show "$o.err"; fail "rfc2544 exited $?"; return; }
	# netem reorders at every rate, so the NDR trial too; the u32 stand-in only above its rate.
	check "$o" "n = d['sizes'][0]['ndr']" \
		"assert n['reordered_trials'] >= 1, 'no trial reported reordering through a DUT that reorders ($DUT_EMU)'" \
		"assert '$DUT_EMU' != 'netem' or n['trial']['reordered'] > 0, 'the NDR trial counts no reordering'" \
		"print('reordering reported ($DUT_EMU): %d trials' % n['reordered_trials'])" || return
	grep -q "REORDERED in" "$d/report.md" || { show "$d/report.md"; fail "the text table does not say REORDERED"; return; }
	grep -q "<svg" "$d/throughput.svg" || { show "$o.err"; fail "no throughput.svg plot"; return; }
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
--dst 10.0.0.1
--server 127.0.0.1 --tx a --rx b
--server 127.0.0.1 --dst 10.0.0.1
--server 127.0.0.1 --sizes 64
--server [::1]:5201 --sizes 97
--server 127.0.0.1 --sizes imix
--tx a --rx b --dst 10.0.0.1 --token x
EOF2
}

# --warmup 0 and --settle 0 mean none, as their help says (the option parser
# took no 0 for a duration); --drain 0 stays refused: counters read while the
# last frames are in flight are what gives other tools wrong NDRs.
test_zero_durations() {
	local e=$TMP/zero.err
	"$SALVO" rfc2544 --tx a --rx b --dst 10.0.0.1 --warmup 0 --settle 0 --sizes 63 >/dev/null 2>"$e"
	[ $? = 2 ] && grep -q "63" "$e" && ! grep -q duration "$e" ||
		{ show "$e"; fail "--warmup 0 --settle 0 were not taken"; return; }
	"$SALVO" rfc2544 --tx a --rx b --dst 10.0.0.1 --drain 0 >/dev/null 2>"$e"
	[ $? = 2 ] && grep -q "drain.*duration\|duration.*drain\|'0'" "$e" ||
		{ show "$e"; fail "--drain 0 was not refused"; return; }
}

# Socket mode: the NDR through a tbf of 8 Mbit/s, in datagrams of a
# 1518-byte frame (1472 bytes of UDP payload: the tbf counts 1514 bytes,
# Ethernet header, IP, UDP and payload), is within 5% of its rate; the
# server's counts, not the client's, say what got through.
test_sock_ndr() {
	require_root || return
	local o=$TMP/sndr.json want
	setup_dut_l4 rate=8mbit burst=12000 limit=12000 || return
	start_serve || return
	want=$(awk -v f="$FRAME" 'BEGIN { printf "%.3f", 8e6 / (8 * (f - 4)) }')
	rfc_sock "$o" throughput --pdr 0 --resolution 3% --json --trial 0.8 --retries 2 \
		--max-rate "$(awk -v w="$want" 'BEGIN { printf "%d", 1.1 * w }')" ||
		{ show "$o.err"; fail "rfc2544 --server exited $?"; return; }
	check "$o" "assert d['mode'] == 'socket', d['mode']" \
		"want = $want; s = d['sizes'][0]; got = s['ndr']['rate_fps']" \
		"assert abs(got - want) / want <= 0.05, 'tbf 8 Mbit/s = %.0f frames/s, NDR found %.0f (more than 5%% off)' % (want, got)" \
		"t = s['ndr']['trial']; assert t['lost'] == 0 and t['rx'] == t['tx'] > 0, t" \
		"print('socket mode, tbf 8 Mbit/s: %.0f frames/s, NDR %.0f' % (want, got))" || return
	[ "$(qdisc_dropped)" -gt 0 ] || { fail "the tbf never dropped: no trial went above its rate"; return; }
}

# Socket mode through a DUT that loses 1%: no NDR above the floor; the PDR
# at 2% passes at the maximum, with the server's count of the loss.
test_sock_loss_no_ndr() {
	require_root || return
	local o=$TMP/sloss.json
	setup_dut_l4 loss=1 || return
	start_serve || return
	rfc_sock "$o" throughput --pdr 2% --resolution 5% --max-rate 4k --min-rate 1k --json ||
		{ show "$o.err"; fail "rfc2544 --server exited $?"; return; }
	check "$o" "s = d['sizes'][0]" \
		"assert not s['ndr']['found'], 'an NDR was found (%s frames/s) through 1%% loss' % s['ndr']['rate_fps']" \
		"assert s['pdr']['found'] and s['pdr']['at_max'], 'no PDR at 2%% at the maximum rate: %s' % s['pdr']" \
		"r = s['pdr']['trial']['loss_ratio']" \
		"assert 0.002 <= r <= 0.02, 'the PDR trial lost %s of its frames through 1%% loss' % r" \
		"print('socket mode: NDR none above 1k frames/s; PDR(2%%) at 4k frames/s, loss %.4f ($DUT_EMU)' % r)" || return
	[ "$(qdisc_dropped)" -gt 0 ] || { fail "the DUT dropped nothing"; return; }
}

# Socket mode runs all four tests through the same searches: an unshaped DUT
# passes at the maximum, latency comes from the server's stamps (one sample
# per datagram), the frame loss rate stops after two clean steps, and
# back-to-back reaches its cap; the text names the server.  128-byte frames:
# 82 bytes of UDP payload over IPv4, enough for the stamp.
test_sock_all_tests() {
	require_root || return
	local o=$TMP/sall.json
	setup_dut_l4 || return
	start_serve || return
	rfc_sock "$o" --json --pdr 0 --max-rate 2k --trial 0.3 --sizes 128 --repeat 1 --b2b-max 4 --latency-trials 2 ||
		{ show "$o.err"; fail "rfc2544 --server exited $?"; return; }
	check "$o" "assert d['mode'] == 'socket' and d['server'].startswith('$SRV_ADDR:') and d['tx_iface'] is None, d" \
		"assert [s['size'] for s in d['sizes']] == ['128'], d['sizes']" \
		"for s in d['sizes']:
    assert s['stamped'] and s['ndr']['found'] and s['ndr']['at_max'], s['ndr']
    t = s['latency']; l = t['latency_ns']
    v = [l[k] for k in ('min', 'p50', 'p90', 'p99', 'p999', 'p9999', 'max')]
    assert v == sorted(v) and v[0] > 0 and l['count'] == t['rx'] == t['tx'] > 0, t
    assert t['trials'] == 2 and not t['merged'] and l['min'] <= t['p50_min_ns'] <= t['p50_max_ns'] <= l['max'], t
    assert [x['percent_of_max'] for x in s['loss']] == [100, 90] and all(x['lost'] == 0 for x in s['loss']), s['loss']
    assert s['b2b']['capped'] and s['b2b']['frames'] == [4], s['b2b']" \
		"print('socket mode: throughput, latency, loss and b2b at 128 bytes')" || return
	rfc_sock "$TMP/sall.txt" latency --pdr 0 --max-rate 1k --trial 0.1 --latency-trials 1 ||
		{ show "$TMP/sall.txt.err"; fail "rfc2544 --server (text) exited $?"; return; }
	grep -q "salvo serve $SRV_ADDR:$SPORT (socket mode)" "$TMP/sall.txt" ||
		{ show "$TMP/sall.txt"; fail "the text does not name the server"; return; }
}

for t in $TESTS; do run_test "$t"; done
exit "$RET"
