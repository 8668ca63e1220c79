#!/bin/sh
# A sink: counts until stopped (a Deployment restarts what exits, so no
# --duration), one NDJSON record a second and the summary on SIGTERM
# (kubectl scale --replicas=0 or delete), all to stdout (kubectl logs).
set -eu
# $SINK_ARGS unquoted on purpose: it holds any number of options.
exec salvo udp recv "0.0.0.0:$PORT" --json-stream -i 1 --quiet \
	--run-id "$RUN_ID" --label pod="${POD_NAME:-unknown}" --label node="${NODE_NAME:-unknown}" $SINK_ARGS
