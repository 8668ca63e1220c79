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
# CHECK_JOBS=N runs N jobs (a test binary or a script) at once; the default is
# 2 on a machine with two cores or more, 1 otherwise.
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
# The programs the tests call are the ones tools/deps.sh installs (Debian's,
# in the standard directories), never a user's shims or builds earlier on
# PATH: a pyenv shim for python3 costs 0.4 s a start where /usr/bin/python3
# takes 0.04 s, and the tests start python3 hundreds of times.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
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

# Each test binary or script is one job: it runs (exec_job, in the
# background, up to CHECK_JOBS at once) and is counted afterwards (count_job,
# in the order of the list), so the summary reads the same whatever ran in
# parallel.  A job's log, its exit code and its sanitizer directory are its
# own; integration scripts make their own namespaces and random ports, so two
# can run side by side.  A script that reads a counter of the root namespace
# or wants a quiet machine says "# exclusive: yes" and runs alone, after the
# others.
jobs_list=()

# add_job SUITE PATH [VAR=value...]
add_job() {
	local IFS=$'\x1f'
	jobs_list+=("$*")
}

job_log() {	# suite path -> the job's log file
	case $2 in
	*.sh)	echo "$logdir/$1-$(name_of "$2" | tr / -).log" ;;
	*)	echo "$logdir/$1-$(basename "$2").log" ;;
	esac
}

exec_job() {	# suite path [VAR=value...]
	local suite=$1 path=$2 log san envs rc
	shift 2
	log=$(job_log "$suite" "$path")
	san=$logdir/san/$(basename "$log" .log)
	mapfile -t envs < <(san_env "$san" "$@")
	case $path in
	*.sh)	env "${envs[@]}" timeout 600 bash "$path" >"$log" 2>&1 </dev/null ;;
	*)	env "${envs[@]}" CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$path" >"$log.raw" 2>&1 </dev/null ;;
	esac
	rc=$?
	echo "$rc" >"$log.rc"
}

count_job() {	# suite path
	local suite=$1 path=$2 log san rc planned=
	log=$(job_log "$suite" "$path")
	san=$logdir/san/$(basename "$log" .log)
	rc=$(cat "$log.rc" 2>/dev/null || echo 127)
	case $path in
	*.sh)	;;
	*)	tap_to_lines <"$log.raw" >"$log"
		planned=$(sed -n 's/^# plan \([0-9]*\).*/\1/p' "$log" | head -n 1) ;;
	esac
	sanitizer_reports "$san" "$log"
	count_lines "$suite" "$log" "$rc" "$path" "$planned"
	case $path in
	*.sh)	if grep -qE '^FAIL: ' "$log" || [ "$rc" -ne 0 ]; then tail -n 40 "$log"; fi ;;
	*)	[ "$rc" -eq 0 ] || sed -n '1,60p' "$log.raw" ;;
	esac
	[ -s "$log.san" ] && sed -n '1,60p' "$log.san"
	return 0
}

exclusive() { case $1 in *.sh) grep -q '^# exclusive: yes' "$1" ;; *) return 1 ;; esac; }

for suite in $SUITES; do
	case $suite in
	unit)		for b in build/tests/test_*; do [ -x "$b" ] && add_job unit "$b"; done ;;
	unit-asan)	for b in build-asan/tests/test_*; do [ -x "$b" ] && \
				add_job unit-asan "$b" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1; done ;;
	unit-tsan)	for b in build-tsan/tests/test_*; do [ -x "$b" ] && grep -q "tsan" "tests/unit/$(basename "$b").c" 2>/dev/null && \
				add_job unit-tsan "$b" TSAN_OPTIONS=halt_on_error=1; done ;;
	integ)		for s in tests/integ/test_*.sh; do [ -f "$s" ] && add_job integ "$s" SALVO="$top/build/salvo"; done ;;
	integ-asan)	for s in tests/integ/test_*.sh; do [ -f "$s" ] && grep -q '^# asan: yes' "$s" && \
				add_job integ-asan "$s" SALVO="$top/build-asan/salvo" SALVO_ASAN=1 \
				ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1; done ;;
	extra)		for s in tests/*/suite.sh; do [ -f "$s" ] && add_job extra "$s"; done ;;
	*)		echo "unknown suite $suite"; fail=$((fail + 1)) ;;
	esac
done

# Two at once on two cores: the integration scripts spend most of their time
# waiting (on a rate, a timeout, a drain), so a second lane fills the gaps.
nproc_=$(nproc 2>/dev/null || echo 1)
CHECK_JOBS=${CHECK_JOBS:-$(( nproc_ < 2 ? 1 : 2 ))}
t0=$SECONDS
running=0
for j in "${jobs_list[@]}"; do
	IFS=$'\x1f' read -r -a a <<<"$j"
	exclusive "${a[1]}" && continue
	if [ "$running" -ge "$CHECK_JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	exec_job "${a[@]}" &
	running=$((running + 1))
done
wait
for j in "${jobs_list[@]}"; do
	IFS=$'\x1f' read -r -a a <<<"$j"
	exclusive "${a[1]}" && exec_job "${a[@]}"
done
for j in "${jobs_list[@]}"; do
	IFS=$'\x1f' read -r -a a <<<"$j"
	count_job "${a[0]}" "${a[1]}"
done
echo "# tests took $((SECONDS - t0)) s with $CHECK_JOBS jobs at once (CHECK_JOBS)"

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
