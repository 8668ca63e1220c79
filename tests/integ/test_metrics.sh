#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# --metrics (docs/fleet.md, "Prometheus"): the real Prometheus server
# scrapes a receiver in a test namespace, and the counter it reads back
# through its HTTP API equals salvo's final JSON, the datagrams sent and the
# namespace's kernel count (/proc/net/snmp); the endpoint answers 404/405
# off its one path; a scraper that connects and never sends does not keep
# the command past its --duration; a bad address exits 2, a taken port 1.
#
#	sudo SALVO=build/salvo tests/integ/test_metrics.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves this out (lib.sh PLAIN_ONLY): the endpoint's code is the same
# under test_scrape, which runs under ASan; Prometheus itself adds seconds.
PLAIN_ONLY="test_prometheus"
TESTS="
	test_prometheus
	test_scrape
	test_profile
	test_silent_scraper
	test_bad_input
"

# http NS URL [METHOD]: "STATUS BODY" of one request from NS (python3, no proxy).
http() {
	in_ns "$1" python3 - "$2" "${3:-GET}" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], method=sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    r = opener.open(req, timeout=5)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
PY
}

# metric_value TEXT NAME: the value of NAME's first sample in an exposition text on stdin.
metric_value() { awk -v n="$1" 'index($0, n "{") == 1 { print $NF; exit }'; }

# A receiver with --metrics, N datagrams, Prometheus scraping it every second:
# salvo_rx_packets_total and salvo_latency_seconds_count read back through
# Prometheus's query API equal the receiver's final JSON, rx.packets equals N
# and the namespace's UDP InDatagrams.
test_prometheus() {
	local p mp pp n=2000 rpid prom q v lc in0 in1 rc
	require_root || return
	command -v prometheus >/dev/null || { skip "prometheus not installed (tools/deps.sh)"; return; }
	setup_ns NS || return
	p=$(random_port)
	mp=$(random_port)
	pp=$(random_port)
	in0=$(snmp_udp InDatagrams "$NS")
	salvo_bg -n "$NS" "$TMP/r.json" udp recv "127.0.0.1:$p" --metrics "127.0.0.1:$mp" -d 60 --json \
		--run-id itest --label role=recv
	rpid=$SALVO_PID
	wait_udp_bound "$p" "$NS" || { show "$TMP/r.json.err"; fail "receiver never bound"; return; }
	grep -q "metrics on 127.0.0.1:$mp\$" "$TMP/r.json.err" || { show "$TMP/r.json.err"; fail "no 'metrics on' line"; return; }
	prom=$(mktemp -d "$TMP/prom.XXXXXX")
	cat >"$prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: salvo
    static_configs:
      - targets: ['127.0.0.1:$mp']
EOF
	bg -n "$NS" "$prom/log" prometheus --config.file="$prom/prometheus.yml" --storage.tsdb.path="$prom/data" \
		--web.listen-address="127.0.0.1:$pp" --log.level=warn
	ready() { [ "$(http "$NS" "http://127.0.0.1:$pp/-/ready" 2>/dev/null | cut -d' ' -f1)" = 200 ]; }
	busywait 30000 ready || { show "$prom/log.err"; fail "prometheus not ready in 30 s"; return; }
	salvo_run -n "$NS" "$TMP/s.json" udp send "127.0.0.1:$p" -n "$n" --rate 20k --json ||
		{ rc=$?; show "$TMP/s.json.err"; fail "send exited $rc"; return; }
	# Prometheus's view: the counter, once a scrape after the last datagram landed.
	q() { in_ns "$NS" python3 - "http://127.0.0.1:$pp/api/v1/query?query=$1" <<'PY'
import json, sys, urllib.request
o = urllib.request.build_opener(urllib.request.ProxyHandler({}))
r = json.load(o.open(sys.argv[1], timeout=5))["data"]["result"]
print(r[0]["value"][1] if r else "none")
PY
	}
	counted() { [ "$(q salvo_rx_packets_total 2>/dev/null)" = "$n" ]; }
	busywait 20000 counted ||
		{ show "$prom/log.err"; fail "prometheus reads $(q salvo_rx_packets_total), want $n"; return; }
	v=$(q 'salvo_rx_packets_total%7Brun_id%3D%22itest%22%2Crole%3D%22recv%22%2Cjob%3D%22salvo%22%7D')
	lc=$(q salvo_latency_seconds_count)
	in1=$(snmp_udp InDatagrams "$NS")
	kill -INT "$rpid"
	wait_pid "$rpid" 10000 || { rc=$?; show "$TMP/r.json.err"; fail "receiver exit $rc"; return; }
	[ "$v" = "$n" ] || { fail "by its labels, prometheus reads $v"; return; }
	[ "$(json_get "$TMP/r.json" rx.packets)" = "$n" ] || { fail "JSON rx.packets $(json_get "$TMP/r.json" rx.packets), want $n"; return; }
	[ $((in1 - in0)) = "$n" ] || { fail "InDatagrams delta $((in1 - in0)), want $n"; return; }
	[ "$lc" = "$(json_get "$TMP/r.json" latency_ns.count)" ] ||
		{ fail "latency count: prometheus $lc, JSON $(json_get "$TMP/r.json" latency_ns.count)"; return; }
}

# The endpoint by hand: the counter equals what was sent, the histogram's
# +Inf bucket its count; another path 404, another method 405.
test_scrape() {
	local p mp n=300 out rc
	require_root || return
	setup_ns NS || return
	p=$(random_port)
	mp=$(random_port)
	salvo_bg -n "$NS" "$TMP/r.json" udp recv "127.0.0.1:$p" --metrics "$mp" -d 60 --json
	wait_udp_bound "$p" "$NS" || { show "$TMP/r.json.err"; fail "receiver never bound"; return; }
	salvo_run -n "$NS" "$TMP/s.json" udp send "127.0.0.1:$p" -n "$n" --json ||
		{ rc=$?; show "$TMP/s.json.err"; fail "send exited $rc"; return; }
	scraped() {
		out=$(http "$NS" "http://127.0.0.1:$mp/metrics")
		[ "${out%% *}" = 200 ] && [ "$(metric_value salvo_rx_packets_total <<<"$out")" = "$n" ]
	}
	busywait 10000 scraped || { fail "scrape: ${out:0:300}"; return; }
	grep -q '^# TYPE salvo_latency_seconds histogram$' <<<"$out" || { fail "no histogram TYPE line"; return; }
	[ "$(grep 'salvo_latency_seconds_bucket{.*le="+Inf"}' <<<"$out" | awk '{print $NF}')" = \
	  "$(metric_value salvo_latency_seconds_count <<<"$out")" ] || { fail "+Inf bucket != _count"; return; }
	out=$(http "$NS" "http://127.0.0.1:$mp/metric")
	[ "$out" = 404 ] || { fail "wrong path: $out, want 404"; return; }
	out=$(http "$NS" "http://127.0.0.1:$mp/metrics" POST)
	[ "$out" = 405 ] || { fail "POST: $out, want 405"; return; }
}

# salvo run: one series per stream, labelled with its name; a scrape during
# the run sees both streams sending, and no more than each one's summary.
test_profile() {
	local mp out rpid rc
	require_root || return
	setup_ns NS || return
	mp=$(random_port)
	cat >"$TMP/p.json" <<EOF
{ "duration": "3s", "streams": [
  { "name": "a", "iface": "lo", "dst": "127.0.0.1", "dport": 9000, "size": 100, "rate": "1000" },
  { "name": "b", "iface": "lo", "dst": "127.0.0.1", "dport": 9001, "size": 100, "rate": "500" } ] }
EOF
	salvo_bg -n "$NS" "$TMP/r.json" run "$TMP/p.json" --metrics "$mp" --run-id prof --json
	rpid=$SALVO_PID
	both() {
		out=$(http "$NS" "http://127.0.0.1:$mp/metrics" 2>/dev/null)
		grep -q '^salvo_tx_packets_total{host="[^"]*",run_id="prof",stream="a"} [1-9]' <<<"$out" &&
			grep -q '^salvo_tx_packets_total{host="[^"]*",run_id="prof",stream="b"} [1-9]' <<<"$out"
	}
	busywait 10000 both || { show "$TMP/r.json.err"; fail "no scrape with both streams: ${out:0:300}"; return; }
	wait_pid "$rpid" 15000 || { rc=$?; show "$TMP/r.json.err"; fail "run exit $rc"; return; }
	grep '^salvo_tx_packets_total{' <<<"$out" >"$TMP/scraped"
	python3 - "$TMP/r.json" "$TMP/scraped" <<'PY' || { show "$TMP/scraped"; fail "a scraped count above its summary"; return; }
import json, re, sys
d = {s["name"]: s["report"]["tx"]["packets"] for s in json.load(open(sys.argv[1]))["streams"]}
for name, v in re.findall(r'stream="(\w+)"\} (\d+)', open(sys.argv[2]).read()):
    if int(v) > d[name]:
        sys.exit("%s: scraped %s, summary %d" % (name, v, d[name]))
PY
}

# Scrapers that connect and never send (20 of them, past the connection
# limit): the command still ends at its --duration (3 s; 10 s allowed on a
# loaded machine) with exit 0 and its summary.
test_silent_scraper() {
	local p mp rpid t0 t1 rc
	require_root || return
	setup_ns NS || return
	p=$(random_port)
	mp=$(random_port)
	t0=$(date +%s%3N)
	salvo_bg -n "$NS" "$TMP/r.json" udp recv "127.0.0.1:$p" --metrics "127.0.0.1:$mp" -d 3 --json
	rpid=$SALVO_PID
	busywait 10000 grep -q "metrics on" "$TMP/r.json.err" || { fail "no 'metrics on' line"; return; }
	bg -n "$NS" "$TMP/silent" bash -c '
		for i in $(seq 3 22); do eval "exec $i<>/dev/tcp/127.0.0.1/$1"; done
		echo connected
		sleep 30' silent "$mp"
	busywait 10000 grep -q connected "$TMP/silent" || { show "$TMP/silent.err"; fail "the silent scraper never connected"; return; }
	pid_gone "$rpid" && { fail "salvo ended before the scraper connected: a loaded machine, nothing shown"; return; }
	wait_pid "$rpid" 12000 || { rc=$?; show "$TMP/r.json.err"; fail "receiver exit $rc"; return; }
	t1=$(date +%s%3N)
	[ $((t1 - t0)) -lt 10000 ] || { fail "took $((t1 - t0)) ms for -d 3"; return; }
	json_ok "$TMP/r.json" || { fail "no JSON summary"; return; }
}

# Bad address: exit 2 and one line; a port already taken: exit 1 and one line.
test_bad_input() {
	local p mp rc
	require_root || return
	setup_ns NS || return
	for a in nope:x 127.0.0.1:70000 unix:/tmp/m; do
		salvo_run -n "$NS" "$TMP/o" udp recv 127.0.0.1:5000 --metrics "$a" -d 1
		rc=$?
		[ "$rc" = 2 ] || { show "$TMP/o.err"; fail "--metrics $a: exit $rc, want 2"; return; }
		[ "$(count_lines "$TMP/o.err")" = 1 ] || { show "$TMP/o.err"; fail "--metrics $a: not one line"; return; }
	done
	p=$(random_port)
	mp=$(random_port)
	salvo_bg -n "$NS" "$TMP/r.json" udp recv "127.0.0.1:$p" --metrics "[::1]:$mp" -d 30
	busywait 10000 grep -q "metrics on \[::1\]:$mp\$" "$TMP/r.json.err" || { show "$TMP/r.json.err"; fail "no 'metrics on [::1]' line"; return; }
	salvo_run -n "$NS" "$TMP/o" udp send "127.0.0.1:$p" -n 1 --metrics "[::1]:$mp"
	rc=$?
	[ "$rc" = 1 ] || { show "$TMP/o.err"; fail "taken port: exit $rc, want 1"; return; }
	{ [ "$(count_lines "$TMP/o.err")" = 1 ] && grep -q "in use" "$TMP/o.err"; } ||
		{ show "$TMP/o.err"; fail "taken port: not one line saying so"; return; }
	[ "$(snmp_udp InDatagrams "$NS")" = 0 ] || { fail "the refused sender sent"; return; }
}

for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
