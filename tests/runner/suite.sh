#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test runner's own checks (suite "extra"): tests/run.sh is run on small
# fake trees, and its closing line must count what really happened.  Each
# case is a way a broken test could otherwise go green.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/salvo-runner.XXXXXX)
trap 'rm -rf "$work"' EXIT

# tree NAME: a fresh fake checkout with the real runner and allow-list.
tree() {
	local d=$work/$1
	mkdir -p "$d/tests/integ" "$d/build/tests"
	cp "$top/tests/run.sh" "$d/tests/"
	printf 'integ  test_allowed  the reason\n' >"$d/tests/skips.allow"
	echo "$d"
}

# summary DIR [VAR=value...] -- SUITES: the runner's closing line.
summary() {
	local d=$1
	shift
	env -u CI "$@" LOGDIR="$d/logs" bash "$d/tests/run.sh" 2>&1 | tail -n 1
}

check() {	# name got want
	if [ "$2" = "$3" ]; then echo "PASS: $1"; else echo "FAIL: $1 [got '$2', want '$3']"; fi
}

# A cmocka-like binary printing TAP as given.
tap_bin() {	# dir name tap-text [exit]
	printf '#!/bin/sh\ncat <<"TAP"\n%s\nTAP\nexit %s\n' "$3" "${4:-0}" >"$1/build/tests/$2"
	chmod +x "$1/build/tests/$2"
}

d=$(tree cmocka11)
tap_bin "$d" test_a "$(printf '1..3\nok 1 - one\nnot ok 2 # SKIP two\nok 3 - three')"
check "cmocka 1.1 skip is counted" "$(summary "$d" SUITES=unit)" "2 passed, 0 failed, 1 skipped"
check "cmocka skip fails under CI=true" "$(summary "$d" SUITES=unit CI=true)" "2 passed, 1 failed, 0 skipped"

d=$(tree tabbed)
tap_bin "$d" test_a "$(printf '\t1..3\n\tok 1 - one\n\tok 2 - two # SKIP why\n\tnot ok 3 - three')" 1
check "tab-indented TAP is counted" "$(summary "$d" SUITES=unit)" "1 passed, 1 failed, 1 skipped"

d=$(tree short)
tap_bin "$d" test_a "$(printf '1..4\nok 1 - one\nok 2 - two')"
check "a binary that runs fewer tests than planned fails" "$(summary "$d" SUITES=unit)" "2 passed, 1 failed, 0 skipped"

d=$(tree empty)
tap_bin "$d" test_a "$(printf '1..1\nok 1 - one')"
tap_bin "$d" test_b ""
check "a binary that runs no test fails" "$(summary "$d" SUITES=unit)" "1 passed, 1 failed, 0 skipped"
printf 'echo PASS: x\n' >"$d/tests/integ/test_x.sh"
printf 'echo hello\n' >"$d/tests/integ/test_y.sh"
check "a script that runs no test fails" "$(summary "$d" SUITES=integ)" "1 passed, 1 failed, 0 skipped"

d=$(tree skips)
printf 'echo "SKIP: test_allowed why"; echo "SKIP: test_other why"; echo "PASS: t"\n' >"$d/tests/integ/test_s.sh"
check "script skips count as skips" "$(summary "$d" SUITES=integ)" "1 passed, 0 failed, 2 skipped"
check "under CI=true only listed skips stay skips" "$(summary "$d" SUITES=integ CI=true)" "1 passed, 1 failed, 1 skipped"
env -u CI CI=true SUITES=integ LOGDIR="$d/logs" bash "$d/tests/run.sh" >"$work/skips.out" 2>&1
check "the summary names every skip" "$(grep -c '^  integ test_allowed why' "$work/skips.out")" 1

d=$(tree crash)
printf 'echo PASS: before; kill -SEGV $$\n' >"$d/tests/integ/test_c.sh"
check "a script killed by a signal fails" "$(summary "$d" SUITES=integ)" "1 passed, 1 failed, 0 skipped"

# A real AddressSanitizer report from a process nobody waits for: the script
# passes, the report alone must fail it.
d=$(tree asan)
if printf 'int main(void){ volatile char b[4]; volatile int i = 4; return b[i]; }\n' |
	gcc -x c -O0 -fsanitize=address -o "$d/overflow" - 2>"$work/cc.err"; then
	printf '"%s" & wait; echo PASS: looks_fine\n' "$d/overflow" >"$d/tests/integ/test_a.sh"
	check "a sanitizer report from a background process fails the suite" \
		"$(summary "$d" SUITES=integ)" "1 passed, 1 failed, 0 skipped"
	printf '"%s" 2>/dev/null; [ $? -ne 0 ] && echo PASS: refused\n' "$d/overflow" >"$d/tests/integ/test_a.sh"
	check "an ASan abort does not pass a test that expects a non-zero exit" \
		"$(summary "$d" SUITES=integ)" "1 passed, 1 failed, 0 skipped"
else
	echo "FAIL: gcc -fsanitize=address does not build [$(head -c 200 "$work/cc.err")]"
fi
