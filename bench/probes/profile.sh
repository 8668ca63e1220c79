#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where the time of one side of a 64 B UDP loopback pair goes: perf record
# (cpu-clock samples, kernel and user) on the CPU that side is pinned to,
# while the other side runs on the other CPU.  The wall-clock companion of
# ipp.sh (which counts user-space instructions only): this one sees the
# kernel's share too, which is where io_uring and sendmmsg differ.
#
#   bench/probes/profile.sh recv BACKEND|probe|probe_uring stamp|nostamp [SECONDS]
#   bench/probes/profile.sh send BACKEND|probe|probe_uring [SECONDS]
#
# recv: the profiled side is the receiver (salvo udp recv -b BACKEND with
#   default options, or the probe recv_count / recv_uring), pinned to CPU 1;
#   the offered load is a GSO salvo sender on CPU 0 (one sender thread
#   offers well above what one receiver takes).
# send: the profiled side is the sender (salvo udp send -b BACKEND
#   --no-stamp --no-gso, or the probe send_mmsg / send_uring, 64 per
#   submit), pinned to CPU 0, into recv_count on CPU 1.
#
# Prints each program's share by object (kernel, its own code, libraries),
# the samples' total, then the 25 hottest symbols with their share
# (perf report --sort sym, no children).  Run it on a quiet machine; the
# shares of a side sharing its CPU with other work mean little.  Loopback
# only, bounded by SECONDS (default 3).
set -u
side=${1:?recv or send} be=${2:?backend, probe or probe_uring}
case $side in
recv) mode=${3:?stamp or nostamp}; secs=${4:-3} ;;
send) mode=nostamp; secs=${3:-3} ;;
*) echo "profile.sh: side must be recv or send" >&2; exit 2 ;;
esac
case $mode in stamp|nostamp) ;; *) echo "profile.sh: mode must be stamp or nostamp" >&2; exit 2 ;; esac
case $secs in ''|*[!0-9]*) echo "profile.sh: SECONDS must be a whole number" >&2; exit 2 ;; esac
command -v perf >/dev/null || { echo "profile.sh: perf not found (tools/deps.sh installs linux-perf)" >&2; exit 1; }
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SALVO=${SALVO:-$TOP/build/salvo}
PROBES=${PROBES:-$TOP/build/probes}
port=$((20000 + RANDOM % 20000))
out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT

ns=""
[ "$mode" = nostamp ] && ns=--no-stamp
if [ "$side" = recv ]; then
	cpu=1
	case $be in
	probe) rx=("$PROBES/recv_count" 127.0.0.1:$port $((secs + 2))) ;;
	probe_uring) rx=("$PROBES/recv_uring" 127.0.0.1:$port $((secs + 2))) ;;
	*) rx=("$SALVO" udp recv -q -b "$be" -d $((secs + 2)) 127.0.0.1:$port) ;;
	esac
	tx=(taskset -c 0 "$SALVO" udp send -q -b syscall --gso $ns -d $((secs + 2)) 127.0.0.1:$port)
else
	cpu=0
	rx=("$PROBES/recv_count" 127.0.0.1:$port $((secs + 2)))
	case $be in
	probe) tx=(taskset -c 0 "$PROBES/send_mmsg" 127.0.0.1:$port $((secs + 2)) 64 64) ;;
	probe_uring) tx=(taskset -c 0 "$PROBES/send_uring" 127.0.0.1:$port $((secs + 2)) 64 64) ;;
	*) tx=(taskset -c 0 "$SALVO" udp send -q -b "$be" --no-stamp --no-gso -d $((secs + 2)) 127.0.0.1:$port) ;;
	esac
fi
taskset -c 1 "${rx[@]}" >"$out/rx" 2>&1 &
pids+=($!)
sleep 0.5
"${tx[@]}" >"$out/tx" 2>&1 &
pids+=($!)
sleep 0.5	# past start-up
perf record -q -C "$cpu" -e cpu-clock -o "$out/perf.data" -- sleep "$secs" >/dev/null 2>"$out/perf.err" ||
	{ echo "profile.sh: perf record failed:" >&2; cat "$out/perf.err" >&2; exit 1; }
# Kernel against user space first: what the program's own code can win at most.
echo "# share by object:"
perf report -i "$out/perf.data" --stdio --no-children --sort comm,dso -g none --percent-limit 0.5 2>/dev/null |
	awk '/^#/ || NF == 0 { next } { print "#  " $0 }'
perf report -i "$out/perf.data" --stdio --no-children --sort comm,dso,sym --percent-limit 0.5 2>/dev/null |
	awk '/^# Samples/ { print; next } /^#/ || NF == 0 { next } { print }' | head -26
