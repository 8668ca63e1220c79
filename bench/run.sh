#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# salvo's comparative benchmarks: salvo against iperf3, sockperf, trafgen and
# DPDK testpmd, each scenario bounded in time, repetitions interleaved across
# tools, the same CPU pinning for every tool.  Writes
# bench/results/<date>/{results.json, results.md, *.svg}.  docs/benchmarks.md
# says how to read them.
#
#   bench/run.sh [--quick] [--reps N] [--duration S] [--only "udp64 tcp ..."]
#                [--tools "salvo iperf3 ..."] [--out DIR] [--no-install]
#
# Traffic goes only to loopback or between two network namespaces this script
# creates (random names, deleted on exit, Ctrl-C included).
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
BENCH_DIR=$TOP/bench
ALL="udp64 udp_sweep tcp ping pacing raw_veth raw_rx registry rfc2544 fastpath"

QUICK=0 REPS="" DUR="" ONLY="" TOOLS="" OUT="" INSTALL=1
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--tools) TOOLS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--no-install) INSTALL=0 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench/run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then REPS=${REPS:-1} DUR=${DUR:-2}; else REPS=${REPS:-3} DUR=${DUR:-5}; fi
case $REPS$DUR in *[!0-9]*) echo "bench/run.sh: --reps and --duration take whole numbers" >&2; exit 2 ;; esac
ONLY=${ONLY:-$ALL}
for s in $ONLY; do
	[ -f "$BENCH_DIR/scenarios/$s.sh" ] || { echo "bench/run.sh: no scenario $s (have: $ALL)" >&2; exit 2; }
done

STAMP=$(date +%Y-%m-%dT%H%M%S)
OUT=${OUT:-$BENCH_DIR/results/$STAMP}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$OUT/raw	# every tool's own output, kept for checking (git-ignored)
rm -rf "$WORK"
mkdir -p "$WORK"
RECORDS=$OUT/records.jsonl
: >"$RECORDS"
if [ -z "${SALVO:-}" ]; then
	if [ -x "$TOP/salvo" ]; then SALVO=$TOP/salvo; else SALVO=$TOP/build/salvo; fi
fi
export TOP BENCH_DIR SALVO OUT WORK RECORDS REPS DUR QUICK TOOLS
export RX_CPU=${RX_CPU:-0} TX_CPU=${TX_CPU:-1}
. "$BENCH_DIR/lib/common.sh"

trap cleanup_common EXIT
trap 'log "interrupted: stopping what runs and removing the namespaces"; exit 130' INT TERM

[ -x "$SALVO" ] || { log "no salvo binary at $SALVO (run make first)"; exit 1; }
setup=()

# --- what salvo is compared with -------------------------------------------------
# Required: iperf3, sockperf, netsniff-ng (trafgen), gnuplot-nox.  Optional:
# DPDK testpmd (dpdk-dev) and its af_packet / af_xdp drivers.  Only missing
# packages are installed; a failure is recorded and the rows say why.
pkg_missing() {
	local p m=
	for p; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || m="$m $p"; done
	echo "$m"
}
apt_install() {	# packages -> 0 on success
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y -qq --no-install-recommends "$@" \
		>>"$WORK/apt.log" 2>&1 && return 0
	DEBIAN_FRONTEND=noninteractive timeout 300 $sudo apt-get update -qq >>"$WORK/apt.log" 2>&1
	DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y -qq --no-install-recommends "$@" \
		>>"$WORK/apt.log" 2>&1
}
REQ="iperf3 sockperf netsniff-ng gnuplot-nox"
OPT="dpdk-dev librte-net-af-packet23 librte-net-af-xdp23 librte-mempool-ring23"
if [ "$INSTALL" = 1 ] && command -v dpkg-query >/dev/null; then
	m=$(pkg_missing $REQ)
	if [ -n "$m" ]; then
		log "installing:$m"
		apt_install $m && setup+=("installed:$m") || setup+=("could not install:$m (see raw/apt.log)")
	fi
	m=$(pkg_missing $OPT)
	if [ -n "$m" ]; then
		log "installing (optional):$m"
		if apt_install $m; then setup+=("installed (optional):$m"); else
			# one by one, so what is installable still is
			for p in $m; do apt_install "$p" || setup+=("optional package unavailable: $p"); done
		fi
	fi
else
	setup+=("no install step (--no-install)")
fi

ver() { "$@" 2>&1 | grep -m1 -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n 1; }
tools=(--tool "salvo=$("$SALVO" --version 2>/dev/null | awk '{print $2}') ($(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)$(git -C "$TOP" diff --quiet HEAD -- 2>/dev/null || echo +uncommitted))")
command -v iperf3 >/dev/null && tools+=(--tool "iperf3=$(ver iperf3 --version)")
command -v sockperf >/dev/null && tools+=(--tool "sockperf=$(ver sockperf --version)")
command -v trafgen >/dev/null && tools+=(--tool "trafgen=$(ver trafgen -v)")
command -v dpdk-testpmd >/dev/null && tools+=(--tool "dpdk-testpmd=$(dpkg-query -W -f='${Version}' dpdk-dev 2>/dev/null)")
command -v gnuplot >/dev/null && tools+=(--tool "gnuplot=$(ver gnuplot --version)")
# A loaded machine is said so next to its numbers.
note=${BENCH_NOTE:-}
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l >= n / 2) }'; then
	note="${note:+$note; }load average $load on $(nproc) CPUs when the run started: other work shared the machine, figures are noisy"
fi
"$PY" "$BENCH_DIR/lib/bench.py" machine "${tools[@]}" --note "$note" >"$WORK/machine.json"

setup+=("pinning: receivers/servers on CPU $RX_CPU, senders/clients on CPU $TX_CPU (taskset, every tool); raw-frame senders on CPU 0 (1 thread) or 0-1 (2), as trafgen pins itself")
setup+=("$REPS repetition(s), interleaved: every tool of a scenario runs once before any runs again; ratios are taken repetition by repetition")
setup+=("scenarios: $ONLY")
[ -n "$TOOLS" ] && setup+=("tools restricted to: $TOOLS")

# --- the scenarios -----------------------------------------------------------------
t0=$SECONDS
log "salvo: $SALVO; results: $OUT; mode: $([ "$QUICK" = 1 ] && echo quick || echo full), $REPS rep(s) x ${DUR}s"
for s in $ONLY; do
	log "scenario $s"
	bound=$((REPS * DUR * 40 + 120))
	# --foreground: Ctrl-C reaches the scenario, whose trap stops its tools
	timeout --foreground -s INT -k 10 "$bound" bash "$BENCH_DIR/scenarios/$s.sh"
	rc=$?
	[ "$rc" -eq 0 ] || { log "scenario $s exited $rc"; setup+=("scenario $s exited $rc"); }
	[ "$rc" -eq 130 ] && exit 130
done
elapsed=$((SECONDS - t0))
log "scenarios took ${elapsed}s"

"$PY" - "$WORK/machine.json" "$OUT/meta.json" "$STAMP" "$QUICK" "$REPS" "$DUR" "$elapsed" "${setup[@]}" <<'EOF'
import json, sys
machine, out, stamp, quick, reps, dur, elapsed = sys.argv[1:8]
with open(machine) as f:
    m = json.load(f)
doc = {"schema": 1, "date": stamp, "mode": "quick" if quick == "1" else "full",
       "reps": int(reps), "duration_s": int(dur), "elapsed_s": int(elapsed),
       "machine": m, "setup": sys.argv[8:]}
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
EOF
"$PY" "$BENCH_DIR/lib/bench.py" report --records "$RECORDS" --outdir "$OUT" --meta "$OUT/meta.json"
rm -f "$OUT/meta.json"
log "done: $OUT/results.md"
