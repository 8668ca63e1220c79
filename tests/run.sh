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
# or "SKIP: name [why]"; anything else is shown but not counted.  What makes a
# suite fail although no line says FAIL, so that nothing can go green by silence:
#   - it exits non-zero (a crash, a timeout, an error before the first test);
#   - it ran no test at all, or a cmocka binary ran fewer tests than its plan;
#   - a sanitizer wrote a report: every salvo started under a suite, in the
#     foreground or the background, reports to $logdir/san/ (ASan, UBSan, LSan,
#     TSan log_path), so an abort in a process nobody waits for still counts;
#   - under CI=true, a SKIP that tests/skips.allow does not list with a reason.
# The summary names every failure and every skip.
set -u
cd "$(dirname "$0")/.."
top=$PWD
SUITES=${SUITES:-"unit unit-asan unit-tsan integ integ-asan extra"}
pass=0 fail=0 skip=0
failed_names=() skipped_names=()
logdir=${LOGDIR:-$top/build/test-logs}
mkdir -p "$logdir"
rm -rf "$logdir/san"

# skip_allowed SUITE "NAME [why]": under CI=true only the skips that
# tests/skips.allow lists (suite, an extended regex for the name, the reason)
# may stay skips; elsewhere a skip is a skip.
skip_allowed() {
	local suite=$1 line=$2 s re
	[ "${CI:-}" = true ] || return 0
	[ -f tests/skips.allow ] || return 1
	while read -r s re _; do
		case $s in ''|'#'*) continue ;; esac
		[ "$s" = "$suite" ] || [ "$s" = '*' ] || continue
		[[ ${line%% *} =~ ^($re)$ ]] && return 0
	done <tests/skips.allow
	return 1
}

# sanitizer_reports DIR LOG: one FAIL line per report a sanitizer left in DIR.
sanitizer_reports() {
	local dir=$1 log=$2 f
	for f in "$dir"/*; do
		[ -s "$f" ] || continue
		echo "FAIL: sanitizer report $(basename "$f") [$(grep -m1 -E 'ERROR|runtime error|WARNING' "$f" | head -c 200)]" >>"$log"
		sed -n '1,40p' "$f" >>"$log.san"
	done
}

count_lines() {	# suite log rc source [planned]
	local suite=$1 log=$2 rc=$3 planned=${5:-} p f s l
	# Unlisted skips under CI=true become failures before anything is counted.
	if grep -qE '^SKIP: ' "$log"; then
		while IFS= read -r l; do
			if [[ $l == 'SKIP: '* ]] && ! skip_allowed "$suite" "${l#SKIP: }"; then
				l="FAIL: ${l#SKIP: } (skipped, and CI=true allows only the skips tests/skips.allow lists)"
			fi
			printf '%s\n' "$l"
		done <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
	fi
	p=$(grep -cE '^PASS: ' "$log")
	f=$(grep -cE '^FAIL: ' "$log")
	s=$(grep -cE '^SKIP: ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL: $suite exited $rc without naming a failed test" >>"$log"
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		f=1
		echo "FAIL: $(name_of "$4") ran no test" >>"$log"
	elif [ -n "$planned" ] && [ $((p + f + s)) -lt "$planned" ]; then
		echo "FAIL: $(name_of "$4") ran $((p + f + s)) of the $planned tests it planned" >>"$log"
		f=$((f + 1))
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	while IFS= read -r l; do failed_names+=("$suite ${l#FAIL: }"); done < <(grep -E '^FAIL: ' "$log")
	while IFS= read -r l; do skipped_names+=("$suite ${l#SKIP: }"); done < <(grep -E '^SKIP: ' "$log")
	printf '%-12s %s: %d passed, %d failed, %d skipped\n' "$suite" "$(name_of "$4")" "$p" "$f" "$s"
}

# san_env DIR VAR=value...: the assignments for one suite run, one a line,
# with log_path=DIR/<tool> added to the sanitizers' options (the suite's, else
# the caller's environment's): reports go to files in a directory of their
# own, whichever process made them.
san_env() {
	local dir=$1 a v
	shift
	local -A opt=([ASAN_OPTIONS]=${ASAN_OPTIONS:-} [UBSAN_OPTIONS]=${UBSAN_OPTIONS:-} [TSAN_OPTIONS]=${TSAN_OPTIONS:-})
	mkdir -p "$dir"
	for a in "$@"; do
		v=${a%%=*}
		if [ -n "${opt[$v]+set}" ]; then opt[$v]=${a#*=}; else printf '%s\n' "$a"; fi
	done
	for v in ASAN UBSAN TSAN; do
		printf '%s_OPTIONS=%s\n' "$v" "${opt[${v}_OPTIONS]:+${opt[${v}_OPTIONS]}:}log_path=$dir/${v,,}"
	done
}

# tests/bench/suite.sh -> bench/suite.sh; build/tests/test_x -> test_x
name_of() {
	case $1 in
	*/suite.sh) echo "$(basename "$(dirname "$1")")/suite.sh" ;;
	*) basename "$1" ;;
	esac
}

# cmocka TAP -> PASS/FAIL/SKIP lines.  cmocka 1.1 prints "ok N - name",
# "not ok N - name" and, for a skip, "not ok N # SKIP name"; newer releases
# indent with a tab and may put the directive after the name.
tap_to_lines() {
	awk '{ l = $0; sub(/^[ \t]+/, "", l) }
	     l ~ /^1\.\.[0-9]+/ { print "# plan " substr(l, 4); next }
	     l ~ /^(not )?ok [0-9]+/ && toupper(l) ~ /# *SKIP/ {
		n = l; sub(/^(not )?ok [0-9]+ *(- *)?/, "", n); sub(/^# *[Ss][Kk][Ii][Pp] */, "", n)
		sub(/ *# *[Ss][Kk][Ii][Pp].*$/, "", n); print "SKIP: " n; next }
	     l ~ /^ok [0-9]+/ { sub(/^ok [0-9]+ *(- *)?/, "", l); print "PASS: " l; next }
	     l ~ /^not ok [0-9]+/ { sub(/^not ok [0-9]+ *(- *)?/, "", l); print "FAIL: " l; next }
	     { print }'
}

run_cmocka() {	# suite binary [VAR=value...]
	local suite=$1 bin=$2 log rc planned san envs
	shift 2
	log=$logdir/$suite-$(basename "$bin").log
	san=$logdir/san/$suite-$(basename "$bin")
	mapfile -t envs < <(san_env "$san" "$@")
	env "${envs[@]}" CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$bin" >"$log.raw" 2>&1
	rc=$?
	tap_to_lines <"$log.raw" >"$log"
	sanitizer_reports "$san" "$log"
	planned=$(sed -n 's/^# plan \([0-9]*\).*/\1/p' "$log" | head -n 1)
	count_lines "$suite" "$log" "$rc" "$bin" "${planned:-}"
	[ "$rc" -eq 0 ] || sed -n '1,60p' "$log.raw"
	[ -s "$log.san" ] && sed -n '1,60p' "$log.san"
	return 0
}

run_script() {	# suite script [env...]
	local suite=$1 script=$2 log rc
	shift 2
	local san envs
	log=$logdir/$suite-$(name_of "$script" | tr / -).log
	san=$logdir/san/$suite-$(name_of "$script" | tr / -)
	mapfile -t envs < <(san_env "$san" "$@")
	env "${envs[@]}" timeout 600 bash "$script" >"$log" 2>&1 </dev/null
	rc=$?
	sanitizer_reports "$san" "$log"
	count_lines "$suite" "$log" "$rc" "$script"
	if grep -qE '^FAIL: ' "$log" || [ "$rc" -ne 0 ]; then tail -n 40 "$log"; fi
	[ -s "$log.san" ] && sed -n '1,60p' "$log.san"
	return 0
}

for suite in $SUITES; do
	case $suite in
	unit)		for b in build/tests/test_*; do [ -x "$b" ] && run_cmocka unit "$b"; done ;;
	unit-asan)	for b in build-asan/tests/test_*; do [ -x "$b" ] && \
				run_cmocka unit-asan "$b" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1; done ;;
	unit-tsan)	for b in build-tsan/tests/test_*; do [ -x "$b" ] && grep -q "tsan" "tests/unit/$(basename "$b").c" 2>/dev/null && \
				run_cmocka unit-tsan "$b" TSAN_OPTIONS=halt_on_error=1; done ;;
	integ)		for s in tests/integ/test_*.sh; do [ -f "$s" ] && run_script integ "$s" SALVO="$top/build/salvo"; done ;;
	integ-asan)	for s in tests/integ/test_*.sh; do [ -f "$s" ] && grep -q '^# asan: yes' "$s" && \
				run_script integ-asan "$s" SALVO="$top/build-asan/salvo" SALVO_ASAN=1 \
				ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1; done ;;
	extra)		for s in tests/*/suite.sh; do [ -f "$s" ] && run_script extra "$s"; done ;;
	*)		echo "unknown suite $suite"; fail=$((fail + 1)) ;;
	esac
done

if [ ${#skipped_names[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${skipped_names[@]}"
fi
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
