#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# deploy/k8s (docs/fleet.md), without a cluster (none is reachable here):
# `kubectl kustomize` renders the base and the hostnetwork overlay, python3
# parses the YAML and checks the structure a cluster would act on (an
# Indexed Job whose pods get JOB_COMPLETION_INDEX and run gen.sh, a
# Deployment of sinks behind a headless Service that selects them, the
# generated ConfigMaps referenced by their hashed names, the capabilities,
# hostNetwork only in the overlay).  Then the two entry scripts, taken from
# the rendered ConfigMaps, run as a pod would run them (/bin/sh, the
# ConfigMap as environment) with this salvo, on loopback: generator 2 sends
# from source port SPORT_BASE + 2 (a plain python socket receives and is
# the witness), the sink counts what arrives and writes its summary on
# SIGTERM.
#
# KUBECTL=/path/to/kubectl picks another kubectl (Debian 12's 1.20, whose
# kustomize is 2.0.3, renders these too).
#
#	sudo SALVO=build/salvo tests/integ/test_k8s.sh
. "$(dirname "$0")/lib.sh"

TESTS="test_render test_entry_scripts"
K8S=$TOP/deploy/k8s
KUBECTL=${KUBECTL:-kubectl}

# render: the base and the overlay, rendered once for the script's tests.
render() {
	[ -s "$TMP/base.yaml" ] && [ -s "$TMP/hostnet.yaml" ] && return
	command -v "$KUBECTL" >/dev/null || { skip "no kubectl (tools/deps.sh installs kubernetes-client)"; return; }
	python3 -c 'import yaml' 2>/dev/null || { skip "no python3-yaml"; return; }
	"$KUBECTL" kustomize "$K8S/base" >"$TMP/base.yaml" 2>"$TMP/base.err" ||
		{ show "$TMP/base.err"; fail "kubectl kustomize base"; return; }
	"$KUBECTL" kustomize "$K8S/hostnetwork" >"$TMP/hostnet.yaml" 2>"$TMP/hostnet.err" ||
		{ show "$TMP/hostnet.err"; fail "kubectl kustomize hostnetwork"; return; }
}

test_render() {
	render || return
	python3 - "$TMP/base.yaml" "$TMP/hostnet.yaml" 2>"$TMP/why" <<'PY' || fail "rendered manifests: $(tail -n 1 "$TMP/why")"
import copy, sys, yaml

def load(path):
    objs = {}
    for d in yaml.safe_load_all(open(path)):
        if d:
            objs[(d["kind"], d["metadata"]["name"].rsplit("-", 1)[0] if d["kind"] == "ConfigMap" else d["metadata"]["name"])] = d
    return objs

def die(msg):
    sys.exit(msg)

base, host = load(sys.argv[1]), load(sys.argv[2])
want = {("ConfigMap", "salvo-args"), ("ConfigMap", "salvo-entry"), ("Deployment", "salvo-sink"),
        ("Service", "salvo-sink"), ("Job", "salvo-gen")}
if set(base) != want or set(host) != want:
    die("objects: base %s, overlay %s" % (sorted(base), sorted(host)))
args, entry = base["ConfigMap", "salvo-args"], base["ConfigMap", "salvo-entry"]
dep, svc, job = base["Deployment", "salvo-sink"], base["Service", "salvo-sink"], base["Job", "salvo-gen"]

def pod_checks(what, spec, script):
    c = spec["containers"][0]
    if c["command"] != ["/bin/sh", "/etc/salvo/" + script]:
        die("%s: command %s" % (what, c["command"]))
    vols = {v["name"]: v for v in spec["volumes"]}
    mount = [m for m in c["volumeMounts"] if m["mountPath"] == "/etc/salvo"]
    if len(mount) != 1 or vols[mount[0]["name"]]["configMap"]["name"] != entry["metadata"]["name"]:
        die("%s: /etc/salvo is not the generated %s" % (what, entry["metadata"]["name"]))
    if [e["configMapRef"]["name"] for e in c["envFrom"]] != [args["metadata"]["name"]]:
        die("%s: envFrom is not the generated %s" % (what, args["metadata"]["name"]))
    caps = set(c["securityContext"]["capabilities"]["add"])
    if not {"NET_RAW", "NET_ADMIN", "IPC_LOCK"} <= caps:
        die("%s: capabilities %s" % (what, caps))
    if c["image"] != "salvo:latest":
        die("%s: image %s" % (what, c["image"]))
    return c

# The Indexed Job: every pod knows its index, and gen.sh uses it.
js = job["spec"]
if js.get("completionMode") != "Indexed" or js["completions"] != js["parallelism"] or js["completions"] < 2:
    die("job: %s" % {k: js.get(k) for k in ("completionMode", "completions", "parallelism")})
if js["template"]["spec"]["restartPolicy"] != "Never" or js["backoffLimit"] != 0 or js["activeDeadlineSeconds"] <= 0:
    die("job: restarts or deadline")
c = pod_checks("job", js["template"]["spec"], "gen.sh")
env = {e["name"]: e for e in c["env"]}
if env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] != \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']":
    die("job: JOB_COMPLETION_INDEX does not come from the completion index")
if "$((SPORT_BASE + i))" not in entry["data"]["gen.sh"] or "i=${JOB_COMPLETION_INDEX" not in entry["data"]["gen.sh"]:
    die("gen.sh does not pick its port by JOB_COMPLETION_INDEX")

# The sinks: a Deployment whose pods the headless Service selects, on the
# port the generators send to.
ds = dep["spec"]
pod_labels = ds["template"]["metadata"]["labels"]
c = pod_checks("deployment", ds["template"]["spec"], "sink.sh")
ss = svc["spec"]
if ss.get("clusterIP") != "None":
    die("service is not headless: clusterIP %s" % ss.get("clusterIP"))
if ss["selector"] != ds["selector"]["matchLabels"] or any(pod_labels.get(k) != v for k, v in ss["selector"].items()):
    die("service selector %s, deployment selector %s, pod labels %s" % (ss["selector"], ds["selector"]["matchLabels"], pod_labels))
if [(p["port"], p["protocol"]) for p in ss["ports"]] != [(int(args["data"]["PORT"]), "UDP")] or \
        [(p["containerPort"], p["protocol"]) for p in c["ports"]] != [(int(args["data"]["PORT"]), "UDP")]:
    die("ports: service %s, container %s, PORT %s" % (ss["ports"], c["ports"], args["data"]["PORT"]))
if args["data"]["SINK"] != svc["metadata"]["name"]:
    die("generators send to %s, the service is %s" % (args["data"]["SINK"], svc["metadata"]["name"]))

# hostNetwork: only in the overlay, on both pod templates, and nothing else differs.
for what, o in (("deployment", dep), ("job", job)):
    if "hostNetwork" in o["spec"]["template"]["spec"]:
        die("base %s has hostNetwork" % what)
for key in want:
    b, h = copy.deepcopy(base[key]), copy.deepcopy(host[key])
    if key[0] in ("Deployment", "Job"):
        spec = h["spec"]["template"]["spec"]
        if spec.pop("hostNetwork", None) is not True or spec.pop("dnsPolicy", None) != "ClusterFirstWithHostNet":
            die("overlay %s: no hostNetwork / ClusterFirstWithHostNet" % key[0])
    for o in (b, h):
        o["metadata"]["name"] = key[1]
        for spec in [o.get("spec", {}).get("template", {}).get("spec", {})]:
            for c in spec.get("containers", []):
                for e in c.get("envFrom", []):
                    e["configMapRef"]["name"] = "x"
            for v in spec.get("volumes", []):
                v["configMap"]["name"] = "x"
    if b != h:
        die("overlay %s differs from the base beyond hostNetwork" % (key,))
PY
}

# The rendered ConfigMaps' data as files: the scripts, and the arguments as
# a file of NAME=value lines for env(1).
entry_files() {
	python3 - "$TMP/base.yaml" "$TMP" <<'PY'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap":
        if d["metadata"]["name"].startswith("salvo-entry-"):
            for k, v in d["data"].items():
                open("%s/%s" % (sys.argv[2], k), "w").write(v)
        elif d["metadata"]["name"].startswith("salvo-args-"):
            open(sys.argv[2] + "/args.env", "w").write("".join("%s=%s\n" % kv for kv in d["data"].items()))
PY
}

# rx.py PORTFILE OUT N: a plain UDP socket on 127.0.0.1, its port in
# PORTFILE; the source ports of the first N datagrams (10 s at most) in OUT.
write_rx() {
	cat >"$TMP/rx.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(10)
ports = []
try:
    while len(ports) < int(sys.argv[3]):
        ports.append(s.recvfrom(65536)[1][1])
except socket.timeout:
    pass
open(sys.argv[2], "w").write(" ".join(map(str, ports)))
PY
}

# interval_sum FILE N: the interval records of an NDJSON file count N received.
interval_sum() {
	python3 -c '
import json, sys
n = sum(json.loads(l)["rx"]["packets"] for l in open(sys.argv[1]) if l.strip() and json.loads(l)["type"] == "interval")
sys.exit(n != int(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

test_entry_scripts() {
	local ns= sport rport pid rc env_args pre=()
	render || return
	entry_files || { fail "ConfigMap data"; return; }
	# In a namespace of its own when root; on this namespace's loopback otherwise.
	if [ "$(id -u)" = 0 ]; then setup_ns NS || return; ns=$NS; pre=(ip netns exec "$ns"); fi
	write_rx
	# salvo on PATH as a pod's image has it
	mkdir -p "$TMP/bin" && ln -sf "$SALVO" "$TMP/bin/salvo"
	mapfile -t env_args <"$TMP/args.env"
	sport=$(random_port)
	bg -n "$ns" "$TMP/rx" python3 "$TMP/rx.py" "$TMP/rport" "$TMP/sports" 3
	busywait 10000 test -s "$TMP/rport" || { fail "receiver"; return; }
	rport=$(cat "$TMP/rport")
	# Generator 2 of the Job, with the ConfigMap's environment and a few
	# values overridden for loopback and a short run.
	in_ns "$ns" env -i "${env_args[@]}" PATH="$TMP/bin:/usr/bin:/bin" JOB_COMPLETION_INDEX=2 NODE_NAME=n1 \
		SINK=127.0.0.1 PORT="$rport" SPORT_BASE="$sport" COUNT=3 RATE=100 DURATION=5 RUN_ID=k8s-test \
		timeout -s KILL 30 /bin/sh "$TMP/gen.sh" >"$TMP/gen.json" 2>"$TMP/gen.err" ||
		{ rc=$?; show "$TMP/gen.err"; fail "gen.sh exited $rc"; return; }
	busywait 10000 test -e "$TMP/sports" || { fail "receiver never finished"; return; }
	[ "$(cat "$TMP/sports")" = "$((sport + 2)) $((sport + 2)) $((sport + 2))" ] ||
		{ fail "source ports '$(cat "$TMP/sports")', want 3 x $((sport + 2)) (SPORT_BASE + index 2)"; return; }
	python3 - "$TMP/gen.json" 2>"$TMP/why" <<'PY' || { show "$TMP/gen.json"; fail "generator's record: $(tail -n 1 "$TMP/why")"; return; }
import json, sys
d = json.load(open(sys.argv[1]))
if d["tx"]["packets"] != 3 or d["labels"] != {"index": "2", "node": "n1"} or d["run_id"] != "k8s-test":
    sys.exit("tx %s labels %s run_id %s" % (d["tx"]["packets"], d["labels"], d["run_id"]))
PY
	# A sink pod: counts until SIGTERM, then its summary (NDJSON).
	rport=$(random_port)
	# ip netns exec, env and the script's sh all exec: $! is salvo itself.
	"${pre[@]}" env -i "${env_args[@]}" PATH="$TMP/bin:/usr/bin:/bin" POD_NAME=p1 NODE_NAME=n1 PORT="$rport" \
		/bin/sh "$TMP/sink.sh" >"$TMP/sink.json" 2>"$TMP/sink.err" &
	pid=$!
	BG_PIDS+=("$pid")
	wait_udp_bound "$rport" "$ns" 10000 || { show "$TMP/sink.err"; fail "sink.sh never bound"; return; }
	salvo_run -n "$ns" "$TMP/s.json" udp send "127.0.0.1:$rport" -n 5 --json || { fail "send to the sink"; return; }
	# Every datagram counted (the interval records say so) before the SIGTERM.
	busywait 10000 interval_sum "$TMP/sink.json" 5 || { show "$TMP/sink.json"; fail "sink's intervals do not reach 5"; return; }
	kill -TERM "$pid"
	wait_pid "$pid" 10000 || { rc=$?; show "$TMP/sink.err"; fail "sink.sh exit $rc after SIGTERM"; return; }
	python3 - "$TMP/sink.json" 2>"$TMP/why" <<'PY' || { show "$TMP/sink.json"; fail "sink's records: $(tail -n 1 "$TMP/why")"; return; }
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = [r for r in recs if r["type"] == "summary"]
if len(s) != 1 or s[0]["rx"]["packets"] != 5 or s[0]["labels"] != {"pod": "p1", "node": "n1"}:
    sys.exit("summary %s" % s)
PY
}

[ -x "$SALVO" ] || { echo "FAIL: setup no salvo binary at $SALVO"; exit 1; }
for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
