#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Smoke: one short UDP 64 B loopback run of salvo (syscall) and, when
# installed, iperf3, so tests/bench/suite.sh exercises the whole path (run,
# parse, record, report) in a few seconds.  Not part of `make bench`.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$BENCH_DIR/lib/udp.sh"
trap cleanup_common EXIT
trap 'exit 130' INT TERM

for rep in $(seq "$REPS"); do
	salvo_udp smoke "64 B" syscall "$rep" syscall 64 0
	if command -v iperf3 >/dev/null; then iperf3_udp smoke "64 B" "$rep" 64; else
		unavailable smoke "64 B" iperf3 iperf3 "iperf3 not installed"
	fi
done
