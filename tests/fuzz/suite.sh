#!/usr/bin/env bash
# Fuzz smoke test for `make check`: build every libFuzzer target and run each
# for a few seconds on its checked-in corpus.  One line per target:
# PASS/FAIL/SKIP.  Longer runs: `make fuzz FUZZ_SECONDS=600` (docs/hardening.md).
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SMOKE_SECONDS:-5}
out=${FUZZ_BUILD:-build-fuzz}
work=$(mktemp -d /tmp/salvo-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

targets=$(ls tests/fuzz/fuzz_*.c 2>/dev/null | sed 's|.*/fuzz_||; s|\.c$||')
if ! command -v "${CLANG:-clang}" >/dev/null 2>&1; then
	for t in $targets; do echo "SKIP: fuzz_$t clang not installed"; done
	exit 0
fi
# libFuzzer ships with clang's runtime (libclang-rt-*-dev): probe once.
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}' |
	"${CLANG:-clang}" -x c -fsanitize=fuzzer -o "$work/probe" - >/dev/null 2>&1; then
	for t in $targets; do echo "SKIP: fuzz_$t libFuzzer runtime not installed"; done
	exit 0
fi
for t in $targets; do
	if ! make --no-print-directory -s FUZZ_BUILD="$out" "$out/fuzz_$t" >"$work/build-$t.log" 2>&1; then
		tail -n 20 "$work/build-$t.log"
		echo "FAIL: fuzz_$t does not build"
		continue
	fi
	mkdir -p "$work/corpus-$t"
	if "$out/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/crash-$t-" "$work/corpus-$t" "tests/fuzz/corpus/$t" \
		>"$work/run-$t.log" 2>&1; then
		echo "PASS: fuzz_$t ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/run-$t.log" |
			awk '{print $2}') runs in ${secs}s)"
	else
		grep -E -A 12 'ERROR|runtime error|deadly signal' "$work/run-$t.log" | head -n 30
		mkdir -p "$out/crashes"
		cp "$work"/crash-"$t"-* "$out/crashes/" 2>/dev/null
		echo "FAIL: fuzz_$t found a crash (reproducer in $out/crashes/, run: $out/fuzz_$t FILE)"
	fi
done
