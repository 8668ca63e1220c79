#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The include rule of docs/architecture.md, checked over every #include line
# of the source rooms.  Includes point one way only:
#
#   cli/ -> apps/, frames/, registry/ -> engine/ -> include/salvo/
#   backends/ -> engine/ only
#
# "room/x.h" names another room's header, <salvo/x.h> the core's public
# API (include/salvo/), "x.h" a header beside the includer.  Prints one line
# per include that breaks the rule and exits 1; exits 0 when there is none.
#
#   tools/check-includes.sh [TOP]
set -u
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 2

# What each room may include, besides itself.
allowed() {
	case $1 in
	include)	echo "" ;;
	engine)		echo "include" ;;
	backends)	echo "engine include" ;;
	apps|frames|registry) echo "engine include" ;;
	cli)		echo "apps frames registry engine include" ;;
	*)		return 1 ;;
	esac
}

bad=0
rooms="include engine backends apps frames registry cli"
for room in $rooms; do
	dir=$room
	[ "$room" = include ] && dir=include/salvo
	[ -d "$dir" ] || continue
	ok=" $room $(allowed "$room") "
	while IFS= read -r hit; do
		file=${hit%%:*}
		rest=${hit#*:}
		line=${rest%%:*}
		inc=${rest#*:}
		target=""
		case $inc in
		*'<salvo/'*)	target=include ;;
		*'"'*)
			name=${inc#*\"}
			name=${name%%\"*}
			case $name in
			*/*)	target=${name%%/*}
				case " $rooms " in
				*" $target "*) ;;
				*) target="?$name" ;;
				esac ;;
			*)	if [ -f "$(dirname "$file")/$name" ]; then
					target=$room
				else
					target="?$name"
				fi ;;
			esac ;;
		*)	continue ;;	# <system.h>
		esac
		case $target in
		'?'*)	echo "$file:$line: $inc: not a header of any room (write \"room/x.h\" or <salvo/x.h>)"
			bad=1 ;;
		*)	case $ok in
			*" $target "*) ;;
			*)	echo "$file:$line: $inc: $room/ may not include $target/ (docs/architecture.md)"
				bad=1 ;;
			esac ;;
		esac
	done < <(grep -Hn '^[[:space:]]*#[[:space:]]*include' "$dir"/*.[ch] 2>/dev/null)
done
exit $bad
