#!/usr/bin/env bash
# Registry benchmark: joins/s of `salvo registry serve` (--threads 1 and 2)
# against the Python 3 port of the seed's server (tests/seed/client_list.py),
# all loaded by the same generator (`salvo registry bench`): C concurrent
# short connections, each one join, names cycling over 1,000.
#
#   bench/registry.sh [--duration S] [--connections C] [--salvo PATH]
#
# Loopback only, random high ports, every server and load run bounded.
# Prints one line per server and the ratios; writes JSON results to
# ${OUT:-build/bench}/registry.json.  Reports, never asserts.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
SALVO=${SALVO:-$top/build/salvo}
dur=5
conns=64
while [ $# -gt 0 ]; do
	case $1 in
	--duration) dur=$2; shift 2 ;;
	--connections) conns=$2; shift 2 ;;
	--salvo) SALVO=$2; shift 2 ;;
	*) echo "usage: $0 [--duration S] [--connections C] [--salvo PATH]" >&2; exit 2 ;;
	esac
done
out=${OUT:-$top/build/bench}
mkdir -p "$out"
tmp=$(mktemp -d /tmp/salvo-regbench-XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {	# port: until it accepts (at most 5 s)
	local i
	for i in $(seq 100); do
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),timeout=0.2).close()' "$1" \
			2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# run LABEL -- server command...: start the server, warm it with the 1,000 names, measure.
run() {
	local label=$1 port json
	shift 2
	port=$(free_port)
	"$@" "$port" >"$tmp/$label.server" 2>&1 &
	srv=$!
	if ! wait_port "$port"; then
		echo "$label: server did not start: $(tail -n 2 "$tmp/$label.server")"
		kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=
		return
	fi
	# Warm-up: every name once, so the measured run sees a 1,000-name list throughout.
	timeout 120 "$SALVO" registry bench "$port" --count 1000 --connections 4 --timeout 10s >/dev/null 2>&1
	timeout $((dur + 30)) "$SALVO" registry bench "$port" --duration "$dur" --connections "$conns" \
		--timeout 10s --json >"$tmp/$label.json" 2>"$tmp/$label.err"
	# TERM, not INT: a background job of a script starts with SIGINT ignored.
	kill -TERM "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	srv=
	python3 - "$tmp/$label.json" "$label" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("%-18s no result (%s)" % (sys.argv[2], e)); sys.exit(0)
l = d["latency_ns"]
print("%-18s %9.0f joins/s  p50 %8.2f ms  p99 %8.2f ms  (%d joins, %d failed, %.1f MB of replies)" % (
    sys.argv[2], d["joins_per_second"], l["p50"] / 1e6, l["p99"] / 1e6, d["joins"], d["failed"],
    d["reply_bytes"] / 1e6))
EOF
}

echo "registry bench: $conns connections, ${dur}s each, names cycling over 1000 ($(nproc) CPUs)"
run python-seed -- python3 "$top/tests/seed/client_list.py" --port
run salvo-threads1 -- "$SALVO" registry serve --threads 1 --duration $((dur + 60))
run salvo-threads2 -- "$SALVO" registry serve --threads 2 --duration $((dur + 60))

python3 - "$tmp" "$out/registry.json" <<'EOF'
import json, os, sys
tmp, dst = sys.argv[1], sys.argv[2]
res = {}
for k in ("python-seed", "salvo-threads1", "salvo-threads2"):
    try:
        res[k] = json.load(open(os.path.join(tmp, k + ".json")))
    except Exception:
        pass
def rate(k):
    return res[k]["joins_per_second"] if k in res else 0.0
py, t1, t2 = rate("python-seed"), rate("salvo-threads1"), rate("salvo-threads2")
if py > 0 and t1 > 0:
    print("salvo --threads 1 / python seed: %.1fx" % (t1 / py))
if py > 0 and t2 > 0:
    print("salvo --threads 2 / python seed: %.1fx" % (t2 / py))
if t1 > 0 and t2 > 0:
    print("salvo --threads 2 / --threads 1: %.2fx" % (t2 / t1))
json.dump(res, open(dst, "w"), indent=2)
print("results: " + dst)
EOF
