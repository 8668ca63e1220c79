#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The man pages and shell completion tools/gen-docs.py generates from the
# binary's option tables: every page passes `mandoc -T lint` and
# `groff -ww -z` without a warning; every option that `salvo CMD --help`
# lists (the parser's own help, the witness) is in that command's OPTIONS
# section of its page; bash completion, driven through COMP_WORDS /
# COMP_CWORD and the completion function `complete -p` names, offers the
# commands, options, enumerated choices, backends and interfaces; the zsh
# file passes `zsh -n` and, with zsh's completion functions stubbed, offers
# the same commands, options and values.  Sends no traffic.
#
#	SALVO=build/salvo tests/integ/test_man.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_man_lint
	test_man_has_every_option
	test_bash_completion
	test_zsh_completion
"

gen() {
	[ -s "$TMP/gen/man/salvo.1" ] && return 0
	python3 "$TOP/tools/gen-docs.py" --salvo "$SALVO" --man "$TMP/gen/man" \
		--completion "$TMP/gen/completion" 2>"$TMP/gen.err"
}

test_man_lint() {
	local f out n=0
	gen || { fail "gen-docs.py: $(head -c 300 "$TMP/gen.err")"; return; }
	for f in "$TMP"/gen/man/*.1; do
		out=$(mandoc -T lint -W warning "$f" 2>&1) || { fail "mandoc: $out"; return; }
		[ -z "$out" ] || { fail "mandoc: $out"; return; }
		out=$(groff -ww -z -man "$f" 2>&1)
		[ -z "$out" ] || { fail "groff: $(basename "$f"): $out"; return; }
		n=$((n + 1))
	done
	# salvo(1) and one page per command word main dispatches.
	for f in salvo salvo-udp salvo-tcp salvo-raw salvo-registry salvo-run salvo-serve salvo-backends salvo-doctor; do
		[ -s "$TMP/gen/man/$f.1" ] || { fail "no $f.1"; return; }
	done
	grep -q 'SALVO_TOKEN' "$TMP/gen/man/salvo.1" || { fail "salvo.1 has no ENVIRONMENT SALVO_TOKEN"; return; }
	grep -q '^\.SH EXIT STATUS' "$TMP/gen/man/salvo.1" || { fail "salvo.1 has no EXIT STATUS"; return; }
	grep -q '^\.SH EXAMPLES' "$TMP/gen/man/salvo-udp.1" || { fail "salvo-udp.1 has no EXAMPLES from docs/"; return; }
}

# The roff of command CMD's options: its .SS block under .SH OPTIONS (the
# whole section on a one-command page).
options_of() {	# page cmd
	awk -v cmd="$2" '
		/^\.SH / { inopt = ($0 == ".SH OPTIONS"); on = inopt; next }
		inopt && /^\.SS / { on = ($0 == ".SS \"salvo " cmd "\"") ; next }
		on { print }' "$1"
}

test_man_has_every_option() {
	local cmd page opt n=0
	gen || { fail "gen-docs.py: $(head -c 300 "$TMP/gen.err")"; return; }
	"$SALVO" __options | jq -r '.commands[].name' >"$TMP/cmds" || { fail "__options"; return; }
	[ "$(count_lines "$TMP/cmds")" -ge 16 ] || { fail "only $(count_lines "$TMP/cmds") commands"; return; }
	while IFS= read -r cmd; do
		page=$TMP/gen/man/salvo-${cmd%% *}.1
		options_of "$page" "$cmd" >"$TMP/opts.roff"
		# shellcheck disable=SC2086
		"$SALVO" $cmd --help >"$TMP/help" || { fail "$cmd --help"; return; }
		grep -oE '^ +(-[A-Za-z], )?--[a-z0-9-]+' "$TMP/help" | grep -oE -- '--[a-z0-9-]+' >"$TMP/want"
		[ -s "$TMP/want" ] || { fail "$cmd --help lists no option"; return; }
		# The page's options, roff's '\-' read back as '-'.
		grep -oE '\\fB\\-\\-[a-z0-9\\-]+\\fR' "$TMP/opts.roff" | sed 's/\\fB//; s/\\fR//; s/\\-/-/g' |
			sort -u >"$TMP/have"
		opt=$(sort -u "$TMP/want" | comm -23 - "$TMP/have" | head -n 1)
		[ -z "$opt" ] || { fail "$opt of 'salvo $cmd' is not in $(basename "$page")'s OPTIONS for $cmd"; return; }
		n=$((n + $(count_lines "$TMP/want")))
	done <"$TMP/cmds"
	[ "$n" -ge 100 ] || { fail "only $n options checked"; return; }
}

# complete_words WORD... : COMPREPLY for the last word, one per line.
complete_words() {
	bash -c '
		source "$1"; shift
		fn=$(complete -p salvo | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		[ -n "$fn" ] || exit 3
		COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		"$fn" salvo "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TMP/gen/completion/salvo.bash" "$@"
}

expect_completion() {	# "want1 want2..." word...
	local want=$1 got w
	shift
	got=$(complete_words "$@" | sort | tr '\n' ' ')
	for w in $want; do
		[[ " $got " == *" $w "* ]] || { TEST_MSG="'$*' completes to '$got', not $w"; return 1; }
	done
}

test_bash_completion() {
	local ifs backends
	gen || { fail "gen-docs.py: $(head -c 300 "$TMP/gen.err")"; return; }
	bash -n "$TMP/gen/completion/salvo.bash" || { fail "bash -n"; return; }
	expect_completion "udp tcp raw registry run serve backends doctor" salvo "" || return
	expect_completion "send recv echo ping" salvo udp "" || return
	[ "$(complete_words salvo udp send --ra)" = "--rate" ] || { fail "--ra: $(complete_words salvo udp send --ra)"; return; }
	expect_completion "--gso --size --server --json" salvo udp send -- || return
	expect_completion "auto native skb" salvo raw recv --xdp-mode "" || return
	expect_completion "monotonic realtime" salvo tcp sink --clock "" || return
	[ -z "$(complete_words salvo tcp sink --gs)" ] || { fail "tcp sink offers --gs*, which only udp send has"; return; }
	# Backends: those `salvo backends --json` lists; interfaces: those the kernel has.
	backends=$("$SALVO" backends --json | jq -r '.backends[].name' | tr '\n' ' ')
	expect_completion "$backends" salvo udp send --backend "" || return
	expect_completion "$backends" salvo raw send -b "" || return
	ifs=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | tr '\n' ' ')
	expect_completion "$ifs" salvo raw send --iface "" || return
	expect_completion "lo" salvo raw recv -I l || return
}

# zsh: the file parses (zsh -n), and its function, with zsh's completion
# system played by stubs that print what they are given (compadd: the
# words; _arguments: the option specs), offers the commands, a group's
# commands, and for a command the specs of its options with their values.
zsh_offers() {	# CURRENT word...
	local cur=$1
	shift
	zsh -f -c '
		compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }
		_arguments() { print -l -- "$@"; }
		eval "$(sed "/^_salvo \"\$@\"\$/d" "$1")"
		shift; CURRENT=$1; shift; words=("$@")
		_salvo' _ "$TMP/gen/completion/_salvo" "$cur" "$@"
}

test_zsh_completion() {
	local out
	gen || { fail "gen-docs.py: $(head -c 300 "$TMP/gen.err")"; return; }
	command -v zsh >/dev/null || { skip "no zsh"; return; }
	zsh -n "$TMP/gen/completion/_salvo" || { fail "zsh -n"; return; }
	head -n 1 "$TMP/gen/completion/_salvo" | grep -qx '#compdef salvo' || { fail "no #compdef line"; return; }
	out=$(zsh_offers 2 salvo "" | tr '\n' ' ')
	[[ " $out" == *" udp "* && " $out" == *" serve "* && " $out" == *" registry "* ]] || { fail "commands: $out"; return; }
	out=$(zsh_offers 3 salvo registry "" | tr '\n' ' ')
	[ "$out" = "bench join list serve --help " ] || { fail "registry commands: $out"; return; }
	out=$(zsh_offers 5 salvo udp send --backend "")
	grep -qF -- "--backend[" <<<"$out" && grep -qF ":($("$SALVO" backends --json | jq -r '[.backends[].name] | join(" ")'))" <<<"$out" ||
		{ fail "udp send: no --backend spec with the backends: $(grep -F -- '--backend' <<<"$out")"; return; }
	out=$(zsh_offers 5 salvo raw recv --xdp-mode "")
	grep -qF -- "--xdp-mode[" <<<"$out" && grep -qF ":CHOICE:(auto native skb)" <<<"$out" ||
		{ fail "raw recv: no --xdp-mode choices"; return; }
	grep -qF -- "--iface[" <<<"$out" && grep -qF "_net_interfaces" <<<"$out" || { fail "raw recv: --iface not completed with interfaces"; return; }
	out=$(zsh_offers 3 salvo serve --j)
	grep -qF -- "--json[" <<<"$out" && ! grep -qF -- "--gso[" <<<"$out" || { fail "serve: its options are not udp send's"; return; }
}

for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
