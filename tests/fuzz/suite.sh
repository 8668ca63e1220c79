#!/usr/bin/env bash
# Fuzz smoke test for `make check`: build every libFuzzer target and run each
# for a few seconds on its checked-in corpus, read-only (new inputs go to a
# temporary directory; only `make fuzz` grows tests/fuzz/corpus/).  One line
# per target: PASS/FAIL/SKIP.  Longer runs: `make fuzz FUZZ_SECONDS=600`
# (docs/hardening.md).
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SMOKE_SECONDS:-3}
out=${FUZZ_BUILD:-build-fuzz}
work=$(mktemp -d /tmp/salvo-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

targets=$(ls tests/fuzz/fuzz_*.c 2>/dev/null | sed 's|.*/fuzz_||; s|\.c$||')
# Without the tools each target is a SKIP on a developer's machine, but a FAIL
# under CI=true: CI installs them (tools/deps.sh), so missing means broken.
missing() {
	local verdict=SKIP t
	[ "${CI:-}" = true ] && verdict=FAIL
	for t in $targets; do echo "$verdict: fuzz_$t $*"; done
	[ "$verdict" = SKIP ]
	exit
}
cc=${CLANG:-clang}
command -v "$cc" >/dev/null 2>&1 || missing "$cc not installed"
# libFuzzer ships with clang's runtime, in the package of that clang's major
# version (libclang-rt-<major>-dev): probe the compiler the build uses, whatever
# its version, and name the package for that version.
major=$("$cc" -dumpversion 2>/dev/null | cut -d. -f1)
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}' |
	"$cc" -x c -fsanitize=fuzzer -o "$work/probe" - >"$work/probe.log" 2>&1; then
	head -n 3 "$work/probe.log"
	missing "libFuzzer runtime not found for $cc ${major:-?} (libclang-rt-${major:-N}-dev)"
fi
rc=0
# Build them all at once on every core; the per-target make below is then a
# no-op, or names the target that does not build.
make --no-print-directory -s -j"$(nproc 2>/dev/null || echo 1)" -k FUZZ_BUILD="$out" fuzz-bins \
	>"$work/build-all.log" 2>&1
for t in $targets; do
	if ! make --no-print-directory -s FUZZ_BUILD="$out" "$out/fuzz_$t" >"$work/build-$t.log" 2>&1; then
		tail -n 20 "$work/build-$t.log"
		echo "FAIL: fuzz_$t does not build"
		rc=1
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
		rc=1
	fi
done
exit "$rc"
