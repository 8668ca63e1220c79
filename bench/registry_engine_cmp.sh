#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# registry bench: the old load generator (own threads, io_uring loop) against
# the engine-based one (--engine uring, --engine syscall), side by side against
# ONE `salvo registry serve` on loopback, alternating old/new within each
# repetition so drift on a shared machine hits every variant alike.
#
#   bench/registry_engine_cmp.sh [-r REPS] [-d SECONDS] [-c CONNECTIONS] [-t THREADS] [-s SALVO]
#
# Defaults: 3 reps, 3 s each, 64 connections, 1 generator thread, ./build/salvo.
# With two or more CPUs the server is pinned to CPU 0 and the generator to
# CPU 1 (as bench/scenarios/registry.sh does for 1 thread).  Per run: joins/s,
# p50/p99 latency and the generator's CPU time per join (user+sys, from bash's
# `time`), then the median of each variant.  Every run is bounded (timeout).
set -u
REPS=3 DUR=3 CONNS=64 THREADS=1
SALVO=${SALVO:-$(cd "$(dirname "$0")/.." && pwd)/build/salvo}
while getopts "r:d:c:t:s:h" o; do
	case $o in
	r) REPS=$OPTARG ;; d) DUR=$OPTARG ;; c) CONNS=$OPTARG ;; t) THREADS=$OPTARG ;; s) SALVO=$OPTARG ;;
	*) sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
[ -x "$SALVO" ] || { echo "registry_engine_cmp: no salvo at $SALVO" >&2; exit 2; }
case "$REPS$DUR$CONNS$THREADS" in *[!0-9]*) echo "registry_engine_cmp: numbers only" >&2; exit 2 ;; esac

tmp=$(mktemp -d /tmp/salvo-regcmp-XXXXXX)
srv=""
cleanup() { [ -n "$srv" ] && kill -INT "$srv" 2>/dev/null && wait "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(nproc)" -ge 2 ]; then SRV_PIN=(taskset -c 0) GEN_PIN=(taskset -c 1); else SRV_PIN=() GEN_PIN=(); fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
variants=(old uring syscall)
total=$((REPS * ${#variants[@]} * (DUR + 5) + 30))
"${SRV_PIN[@]}" "$SALVO" registry serve "127.0.0.1:$port" -q -d "$total" >"$tmp/srv.out" 2>&1 &
srv=$!
for i in $(seq 100); do "$SALVO" registry list "$port" --timeout 1s >/dev/null 2>&1 && break; sleep 0.1; done
# Fill the list to --names (1000) first, so every variant reads the same ~75 KB reply.
timeout 60 "$SALVO" registry bench "127.0.0.1:$port" --count 1000 --names 1000 >/dev/null 2>&1

echo "# registry bench, old vs --engine: $REPS x ${DUR}s, $CONNS connections, $THREADS thread(s), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %4s %10s %10s %10s %12s\n' variant rep joins/s p50_us p99_us cpu_us/join
for rep in $(seq "$REPS"); do
	for v in "${variants[@]}"; do
		extra=()
		[ "$v" != old ] && extra=(--engine "$v")
		TIMEFORMAT='%U %S'
		{ time timeout $((DUR + 30)) "${GEN_PIN[@]}" "$SALVO" registry bench "127.0.0.1:$port" \
			-d "${DUR}s" -C "$CONNS" -t "$THREADS" --json "${extra[@]}" >"$tmp/$v.$rep.json" 2>"$tmp/$v.$rep.err"; } 2>"$tmp/$v.$rep.time"
		python3 - "$v" "$rep" "$tmp/$v.$rep.json" "$tmp/$v.$rep.time" "$tmp/$v.$rep.err" <<'PY' | tee -a "$tmp/rows"
import json, sys
v, rep, jf, tf, ef = sys.argv[1:]
try:
    d = json.load(open(jf))
    u, s = (float(x) for x in open(tf).read().split()[-2:])
    r = d["registry"]
    cpu = (u + s) / r["joins"] * 1e6 if r["joins"] else 0
    print("%-8s %4s %10.0f %10.1f %10.1f %12.1f" % (v, rep, r["joins_per_second"],
          d["latency_ns"]["p50"] / 1e3, d["latency_ns"]["p99"] / 1e3, cpu))
except Exception as e:
    print("%-8s %4s failed: %s %s" % (v, rep, e, open(ef).read().strip()[:200]))
PY
	done
done
echo "# medians"
python3 - "$tmp/rows" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 6:
        rows.setdefault(f[0], []).append([float(x) for x in f[2:]])
for v, r in rows.items():
    med = [statistics.median(c) for c in zip(*r)]
    print("%-8s %4s %10.0f %10.1f %10.1f %12.1f" % (v, "med", *med))
PY
