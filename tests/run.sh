#!/usr/bin/env bash
# Runs every test suite and ends with one line: "N passed, N failed, N skipped".
#
# Suites (SUITES="unit integ ..." to pick):
#   unit        build/tests/test_*            cmocka, TAP output
#   unit-asan   build-asan/tests/test_*       the same under ASan+UBSan
#   unit-tsan   build-tsan/tests/test_*       the same under TSan (concurrent modules)
#   integ       tests/integ/test_*.sh         end to end, ./salvo (root: namespaces)
#   integ-asan  tests/integ/test_*.sh         the same against build-asan/salvo (ASAN=1 subset)
#   extra       tests/*/suite.sh              other suites (fuzz smoke, bench harness)
#
# Protocol for scripts: one line per test, "PASS: name", "FAIL: name [why]"
# or "SKIP: name [why]"; anything else is shown but not counted.  A script that
# exits non-zero without printing FAIL counts one failure, so a crash is never green.
set -u
cd "$(dirname "$0")/.."
top=$PWD
SUITES=${SUITES:-"unit unit-asan unit-tsan integ integ-asan extra"}
pass=0 fail=0 skip=0
failed_names=()
logdir=${LOGDIR:-$top/build/test-logs}
mkdir -p "$logdir"

count_lines() {	# suite log -> adds to totals
	local suite=$1 log=$2 rc=$3 p f s
	p=$(grep -cE '^PASS: ' "$log")
	f=$(grep -cE '^FAIL: ' "$log")
	s=$(grep -cE '^SKIP: ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL: $suite exited $rc without naming a failed test" >>"$log"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	while IFS= read -r l; do failed_names+=("$suite ${l#FAIL: }"); done < <(grep -E '^FAIL: ' "$log")
	printf '%-12s %s: %d passed, %d failed, %d skipped\n' "$suite" "$(name_of "$4")" "$p" "$f" "$s"
}

# tests/bench/suite.sh -> bench/suite.sh; build/tests/test_x -> test_x
name_of() {
	case $1 in
	*/suite.sh) echo "$(basename "$(dirname "$1")")/suite.sh" ;;
	*) basename "$1" ;;
	esac
}

# cmocka TAP -> PASS/FAIL/SKIP lines
run_cmocka() {	# suite binary
	local suite=$1 bin=$2 log rc
	log=$logdir/$suite-$(basename "$bin").log
	CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$bin" >"$log.raw" 2>&1
	rc=$?
	awk '/^ok [0-9]+ - .*# *SKIP/ { sub(/^ok [0-9]+ - /, ""); print "SKIP: " $0; next }
	     /^ok [0-9]+ - / { sub(/^ok [0-9]+ - /, ""); print "PASS: " $0; next }
	     /^not ok [0-9]+ - / { sub(/^not ok [0-9]+ - /, ""); print "FAIL: " $0; next }
	     { print }' "$log.raw" >"$log"
	count_lines "$suite" "$log" "$rc" "$bin"
	[ "$rc" -eq 0 ] || sed -n '1,60p' "$log.raw"
}

run_script() {	# suite script [env...]
	local suite=$1 script=$2 log rc
	shift 2
	log=$logdir/$suite-$(name_of "$script" | tr / -).log
	env "$@" timeout 600 bash "$script" >"$log" 2>&1 </dev/null
	rc=$?
	count_lines "$suite" "$log" "$rc" "$script"
	if grep -qE '^FAIL: ' "$log" || [ "$rc" -ne 0 ]; then tail -n 40 "$log"; fi
}

for suite in $SUITES; do
	case $suite in
	unit)		for b in build/tests/test_*; do [ -x "$b" ] && run_cmocka unit "$b"; done ;;
	unit-asan)	for b in build-asan/tests/test_*; do [ -x "$b" ] && \
				ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_cmocka unit-asan "$b"; done ;;
	unit-tsan)	for b in build-tsan/tests/test_*; do [ -x "$b" ] && grep -q "tsan" "tests/unit/$(basename "$b").c" 2>/dev/null && \
				TSAN_OPTIONS=halt_on_error=1 run_cmocka unit-tsan "$b"; done ;;
	integ)		for s in tests/integ/test_*.sh; do [ -f "$s" ] && run_script integ "$s" SALVO="$top/build/salvo"; done ;;
	integ-asan)	for s in tests/integ/test_*.sh; do [ -f "$s" ] && grep -q '^# asan: yes' "$s" && \
				run_script integ-asan "$s" SALVO="$top/build-asan/salvo" SALVO_ASAN=1 \
				ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1; done ;;
	extra)		for s in tests/*/suite.sh; do [ -f "$s" ] && run_script extra "$s"; done ;;
	*)		echo "unknown suite $suite"; fail=$((fail + 1)) ;;
	esac
done

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failed_names[@]}"
fi
if [ $((pass + fail)) -eq 0 ]; then
	echo "no test ran"
	fail=1
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
