#!/bin/sh
# Generator i of the Indexed Job (JOB_COMPLETION_INDEX): sends from source
# port SPORT_BASE + i, so every pod is its own flow (its own 5-tuple for
# ECMP and RSS), labelled with its index and node; the JSON summary goes to
# stdout (kubectl logs), for salvo merge.
set -eu
# $SEND_ARGS unquoted on purpose: it holds any number of options.
i=${JOB_COMPLETION_INDEX:?not set: run as an Indexed Job}
exec salvo udp send "$SINK:$PORT" --bind "0.0.0.0:$((SPORT_BASE + i))" \
	-n "$COUNT" -r "$RATE" -d "$DURATION" --json --quiet \
	${START_AT:+--start-at "$START_AT"} --run-id "$RUN_ID" \
	--label index="$i" --label node="${NODE_NAME:-unknown}" $SEND_ARGS
