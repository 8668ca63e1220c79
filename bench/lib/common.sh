# shellcheck shell=bash disable=SC2034
# SPDX-License-Identifier: MIT
# Shell library for bench/run.sh and bench/scenarios/*.sh (sourced).
#
# Environment (run.sh exports it; defaults let a scenario run on its own):
#   SALVO     the binary under test          OUT      results directory
#   RECORDS   records.jsonl to append to     WORK     scratch directory
#   DUR       seconds per run (integer)      REPS     interleaved repetitions
#   QUICK     1 in --quick mode              RX_CPU / TX_CPU  pinning for every tool
#   TOOLS     "salvo iperf3 ..." to restrict the tools (default: all)

BENCH_DIR=${BENCH_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
TOP=${TOP:-$(cd "$BENCH_DIR/.." && pwd)}
if [ -z "${SALVO:-}" ]; then
	if [ -x "$TOP/salvo" ]; then SALVO=$TOP/salvo; else SALVO=$TOP/build/salvo; fi
fi
DUR=${DUR:-2}
REPS=${REPS:-1}
QUICK=${QUICK:-1}
RX_CPU=${RX_CPU:-0}
TX_CPU=${TX_CPU:-1}
OUT=${OUT:-$(mktemp -d /tmp/salvo-bench.XXXXXX)}
RECORDS=${RECORDS:-$OUT/records.jsonl}
WORK=${WORK:-$OUT/raw}
TOOLS=${TOOLS:-}
mkdir -p "$WORK"
: "${BENCH_PORT:=$((20000 + RANDOM % 20000))}"
PY=${PY:-python3}

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

want_tool() {	# tool -> true when TOOLS is empty or names it
	[ -z "$TOOLS" ] && return 0
	case " $TOOLS " in *" $1 "*) return 0 ;; esac
	return 1
}

port_next() { BENCH_PORT=$((BENCH_PORT + 1)); [ "$BENCH_PORT" -lt 60000 ] || BENCH_PORT=20001; }

# --- what exists at run time ---------------------------------------------------
salvo_backends_json() {
	[ -f "$WORK/backends.json" ] || "$SALVO" backends --json >"$WORK/backends.json" 2>/dev/null || echo '{}' >"$WORK/backends.json"
	cat "$WORK/backends.json"
}

# backend_state NAME -> "ok", or "not available: <reason>"
backend_state() {
	local b=$1
	salvo_backends_json | "$PY" -c '
import json, sys
name = sys.argv[1]
try:
    d = json.load(sys.stdin)
except ValueError:
    print("not available: salvo backends --json gave no JSON"); sys.exit()
for b in d.get("backends", []):
    if b.get("name") == name:
        if b.get("available"):
            print("ok")
        else:
            print("not available: " + (b.get("reason") or "probe failed"))
        sys.exit()
print("not available: this salvo build has no %s backend" % name)' "$b"
}

# salvo_has "udp ping" -> true when `salvo --help` lists the command
salvo_has() {
	[ -f "$WORK/help.txt" ] || "$SALVO" --help >"$WORK/help.txt" 2>&1 || true
	grep -qE "^ +$1 " "$WORK/help.txt"
}

tool_state() {	# binary -> "ok" or "not available: <binary> not installed"
	if command -v "$1" >/dev/null 2>&1; then echo ok; else echo "not available: $1 not installed"; fi
}

# --- processes ------------------------------------------------------------------
# Background tools run under TO_BG: timeout makes its own process group and
# forwards SIGINT to the whole group, so forking tools (trafgen, testpmd) stop
# too; stop() falls back to SIGKILL on that group.  Foreground runs use TO_FG,
# which stays in the terminal's group so Ctrl-C reaches the tool at once.
TO_BG="timeout -s INT -k 3"
TO_FG="timeout --foreground -s INT -k 3"
# Every background process is listed in $WORK/pids, so the EXIT trap (here
# and in run.sh) can stop what is still running after a failure or Ctrl-C.
bg() {	# name cmd... -> starts cmd in the background, stdout/err to $WORK/name.{out,err}; sets BG_PID
	local name=$1
	shift
	"$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
	BG_PID=$!
	echo "$BG_PID" >>"$WORK/pids"
}

stop() {	# pid [signal] -> signal, wait up to 3 s, then SIGKILL
	local pid=$1 sig=${2:-INT} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -"$sig" "$pid" 2>/dev/null
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

wait_listen() {	# udp|tcp port [netns] -> true once something listens (3 s at most)
	local proto=$1 port=$2 ns=${3:-} flag i
	[ "$proto" = udp ] && flag=-Hlun || flag=-Hltn
	for i in $(seq 60); do
		if [ -n "$ns" ]; then
			ip netns exec "$ns" ss $flag "sport = :$port" 2>/dev/null | grep -q . && return 0
		else
			ss $flag "sport = :$port" 2>/dev/null | grep -q . && return 0
		fi
		sleep 0.05
	done
	return 1
}

cleanup_common() {
	local pid
	if [ -f "$WORK/pids" ]; then
		while read -r pid; do
			kill -0 "$pid" 2>/dev/null && kill -INT "$pid" 2>/dev/null
		done <"$WORK/pids"
		sleep 0.3
		while read -r pid; do
			kill -KILL -- "-$pid" 2>/dev/null
			kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		done <"$WORK/pids"
		: >"$WORK/pids"
	fi
	netns_cleanup
}

# --- namespaces for raw-frame scenarios -------------------------------------------
# Names carry a random suffix and are listed in $WORK/netns so cleanup removes
# them even after Ctrl-C.  Deleting a namespace deletes its veth end, and with
# it the pair.
netns_create() {	# -> sets NS_A NS_B VETH_A VETH_B MAC_A MAC_B IP_A IP_B
	local sfx
	sfx=$(printf '%04x%04x' $RANDOM $RANDOM)
	NS_A=sbench-a-$sfx NS_B=sbench-b-$sfx
	VETH_A=sba$sfx VETH_B=sbb$sfx
	IP_A=192.0.2.1 IP_B=192.0.2.2
	echo "$NS_A" >>"$WORK/netns"
	echo "$NS_B" >>"$WORK/netns"
	ip netns add "$NS_A" && ip netns add "$NS_B" &&
		ip link add "$VETH_A" numtxqueues 2 numrxqueues 2 netns "$NS_A" type veth \
			peer name "$VETH_B" numtxqueues 2 numrxqueues 2 netns "$NS_B" &&
		ip -n "$NS_A" addr add "$IP_A/24" dev "$VETH_A" &&
		ip -n "$NS_B" addr add "$IP_B/24" dev "$VETH_B" &&
		ip -n "$NS_A" link set "$VETH_A" up && ip -n "$NS_B" link set "$VETH_B" up &&
		ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up || return 1
	MAC_A=$(ip -n "$NS_A" -j link show dev "$VETH_A" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	MAC_B=$(ip -n "$NS_B" -j link show dev "$VETH_B" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$VETH_A"
	ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$VETH_B"
	return 0
}

netns_cleanup() {
	local ns
	[ -f "$WORK/netns" ] || return 0
	while read -r ns; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done <"$WORK/netns"
	: >"$WORK/netns"
}

rx_count() {	# netns dev -> prints "t_seconds rx_packets" (no fork but ip: sampling under load)
	local j t re='"rx":[{]"bytes":[0-9]+,"packets":([0-9]+)'
	j=$(ip -n "$1" -s -j link show dev "$2")
	t=$EPOCHREALTIME
	[[ $j =~ $re ]] || return 1
	printf '%s %s\n' "$t" "${BASH_REMATCH[1]}"
}

# --- records ----------------------------------------------------------------------
record() {	# bench.py record arguments
	"$PY" "$BENCH_DIR/lib/bench.py" record --out "$RECORDS" "$@"
}

# unavailable scenario case tool variant reason [reps]: one record per repetition,
# so the row shows 0/N with the reason
unavailable() {
	local s=$1 c=$2 t=$3 v=$4 why=$5 r
	for r in $(seq "$REPS"); do
		record --scenario "$s" --case "$c" --tool "$t" --variant "$v" --rep "$r" \
			--status unavailable --reason "${why#not available: }" 2>/dev/null
	done
	log "$s $c $t $v: not available: ${why#not available: }"
}

q() { printf '%q ' "$@"; }	# a command line as one string, for the record
