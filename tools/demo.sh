#!/usr/bin/env bash
# make demo: a 5-second loopback UDP throughput run, receiver and sender,
# with the receiver's count as the figure that counts.
set -eu
cd "$(dirname "$0")/.."
SALVO=${SALVO:-./salvo}
port=$(( 20000 + RANDOM % 20000 ))
rx_json=$(mktemp)
trap 'kill $rx 2>/dev/null || true; rm -f "$rx_json"' EXIT

echo "== salvo demo: 64-byte UDP datagrams over loopback (127.0.0.1:$port) for 5 s"
"$SALVO" backends
echo
"$SALVO" udp recv "127.0.0.1:$port" --duration 8 --json >"$rx_json" &
rx=$!
sleep 0.5
echo "-- sender (one line per second):"
"$SALVO" udp send "127.0.0.1:$port" --size 64 --duration 5 -i 1
# The receiver stops by itself; give it a moment past the sender, then end it.
sleep 0.5
kill -INT $rx 2>/dev/null || true
wait $rx || true
echo
echo "-- receiver:"
python3 - "$rx_json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rx = d["rx"]
lat = d.get("latency_ns", {})
exp = rx["packets"] - rx["unstamped"] - rx["duplicates"] + rx["lost"]
print(f"  received {rx['packets']} datagrams ({rx['bytes']} bytes) on the {d['backend']} backend")
print(f"  {rx['pps']/1e3:.1f}k pps, {rx['bits_per_second']/1e9:.3f} Gbit/s over {rx['active_s']:.2f} s")
print(f"  lost {rx['lost']} ({100.0*rx['lost']/exp if exp else 0:.3f}%), reordered {rx['reordered']}, duplicates {rx['duplicates']}")
if lat:
    print(f"  one-way latency p50 {lat['p50']/1e3:.1f} us, p99 {lat['p99']/1e3:.1f} us, max {lat['max']/1e3:.1f} us")
PY
