#!/usr/bin/env bash
# End-to-end tests of `salvo registry` (serve, join, list, bench) against the
# Python 3 port of the seed (tests/seed/client_list.py) and against itself.
# Loopback only, random high ports, every server bounded by --duration.
# asan: yes
set -u
SALVO=${SALVO:-./build/salvo}
top=$(cd "$(dirname "$0")/../.." && pwd)
SEED="$top/tests/seed/client_list.py"
tmp=$(mktemp -d /tmp/salvo-registry-XXXXXX)
pids=()
failed=0

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 $2"; failed=1; }
skip() { echo "SKIP: $1 $2"; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

busywait() {	# timeout_ms cmd...
	local end=$((SECONDS * 1000 + $1)); shift
	while ! "$@" >/dev/null 2>&1; do
		[ $((SECONDS * 1000)) -gt "$end" ] && return 1
		sleep 0.05
	done
}

# start_server PORT [options...]: salvo registry serve in the background, ready when it lists.
start_server() {
	local port=$1; shift
	"$SALVO" registry serve "$port" --duration 120 "$@" >"$tmp/serve.$port.out" 2>&1 &
	srv_pid=$!
	pids+=("$srv_pid")
	busywait 30000 "$SALVO" registry list "$port" --timeout 1s
}

# stop_server: SIGINT, then the server must exit 0 within 10 s (its summary
# printed, nothing leaked under ASan); else SIGKILL and one FAIL line, so a
# server that broke while a test looked elsewhere is never green.
stop_server() {
	local i rc
	kill -INT "$srv_pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$srv_pid" 2>/dev/null; then
		kill -KILL "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
		fail server_stop "port ${port:-?}: did not stop within 10 s of SIGINT"
		return 1
	fi
	wait "$srv_pid" 2>/dev/null
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail server_stop "port ${port:-?}: exit $rc: $(tail -n 5 "$tmp/serve.${port:-}.out" 2>/dev/null | tr '\n' ' ' | head -c 400)"
		return 1
	fi
}

count_keys() {	# JSON on stdin -> number of top-level keys
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

test_seed_client_against_salvo() {
	local port out
	port=$(free_port)
	start_server "$port" || { fail seed_client_against_salvo "server did not start"; return; }
	head -n1 "$tmp/serve.$port.out" | grep -qx 'Starting server...' ||
		{ fail seed_client_against_salvo "no 'Starting server...' line"; stop_server; return; }
	out=$(python3 "$SEED" -c -n pyclient --port "$port" 2>&1)
	if echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
e = d["pyclient"]
assert set(e) == {"name", "address", "port"}, e
assert e["name"] == "pyclient" and e["address"] == "127.0.0.1" and 0 < e["port"] < 65536
'; then pass seed_client_against_salvo; else fail seed_client_against_salvo "output: $out"; fi
	stop_server
}

# Both stream backends serve the same protocol: join, then a list request (a
# connection that sends nothing and half-closes) answered on the half-closed socket.
test_every_backend() {
	local port b out
	for b in syscall uring; do
		port=$(free_port)
		start_server "$port" --backend "$b" ||
			{ fail every_backend "$b: server did not start"; return; }
		"$SALVO" registry join "$port" -n "via-$b" >/dev/null ||
			{ fail every_backend "$b: join failed"; stop_server; return; }
		out=$("$SALVO" registry list "$port" --raw 2>&1)
		stop_server
		echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert "via-'"$b"'" in d, d' 2>/dev/null ||
			{ fail every_backend "$b: list gave '$out'"; return; }
	done
	pass every_backend
}

test_salvo_join_against_seed_server() {
	local port out py
	port=$(free_port)
	python3 "$SEED" --port "$port" >"$tmp/seed.out" 2>&1 &
	py=$!
	pids+=("$py")
	# 15 s: a Python start-up on a loaded 2-core machine took over 5 s (twice in full runs).
	if ! busywait 15000 grep -q 'Starting server' "$tmp/seed.out"; then
		fail salvo_join_against_seed_server "seed server did not start: $(cat "$tmp/seed.out")"; return
	fi
	sleep 0.2
	"$SALVO" registry join "$port" -n first >/dev/null 2>&1
	out=$("$SALVO" registry join "$port" -n second 2>&1)
	if echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["second"]["name"] == "second" and d["first"]["address"] == "127.0.0.1", d
' && echo "$out" | grep -q '^    "second": {$'; then
		pass salvo_join_against_seed_server
	else
		fail salvo_join_against_seed_server "output: $out"
	fi
	kill "$py"; wait "$py" 2>/dev/null
}

# 20 clients with 40-character names: the list is ~2.4 kB, more than the seed's recv(1024).
test_twenty_long_names() {
	local port i out n seed_rc
	port=$(free_port)
	start_server "$port" || { fail twenty_long_names "server did not start"; return; }
	for i in $(seq 1 20); do
		out=$("$SALVO" registry join "$port" -n "$(printf 'client-%02d-%030d' "$i" 0)" 2>&1) ||
			{ fail twenty_long_names "join $i: $out"; stop_server; return; }
	done
	n=$(echo "$out" | count_keys)
	python3 "$SEED" -c -n "$(printf 'seed-client-%028d' 0)" --port "$port" >"$tmp/seed20.out" 2>&1
	seed_rc=$?
	if [ "$n" = 20 ] && [ "$seed_rc" != 0 ] && grep -q 'JSONDecodeError\|Unterminated' "$tmp/seed20.out"; then
		pass twenty_long_names
	else
		fail twenty_long_names "salvo printed $n entries, seed client rc=$seed_rc: $(tail -n1 "$tmp/seed20.out")"
	fi
	stop_server
}

test_hostile_names() {
	local port out
	port=$(free_port)
	start_server "$port" || { fail hostile_names "server did not start"; return; }
	out=$(python3 - "$port" <<'EOF' 2>&1
import json, socket, sys
port = int(sys.argv[1])
def ask(b):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b)
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    return json.loads(data.decode("ascii"))   # the reply is pure ASCII
names = ['q"uote', 'back\\slash', 'ctl\x01\x1f\n\t', 'caf\u00e9', '\U0001F600', '</script>', '{"error": 1}', 'x' * 255]
for n in names:
    d = ask(n.encode("utf-8"))
    assert d[n]["name"] == n, (n, d.get(n))
for bad, why in [(b"\xff\xfe", "UTF-8"), (b"a\x00b", "NUL"), (b"y" * 256, "too long")]:
    d = ask(bad)
    assert list(d) == ["error"] and why in d["error"], d
print("ok", len(ask("last".encode())))
EOF
)
	if [ "$out" = "ok 9" ]; then pass hostile_names; else fail hostile_names "$out"; fi
	stop_server
}

test_ten_thousand_joins() {
	local port out n
	port=$(free_port)
	start_server "$port" --threads 2 || { fail ten_thousand_joins "server did not start"; return; }
	out=$("$SALVO" registry bench "$port" --count 10000 --names 10000 --prefix u- \
		--connections 100 --threads 2 --timeout 20s --json 2>&1)
	n=$("$SALVO" registry list "$port" --raw --timeout 10s | count_keys)
	if echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d["registry"]
assert r["joins"] == 10000 and r["failed"] == 0 and r["error_replies"] == 0, d
' && [ "$n" = 10000 ]; then
		pass ten_thousand_joins
	else
		fail ten_thousand_joins "list has $n names; bench: $(echo "$out" | tr -d '\n' | head -c 300)"
	fi
	stop_server
}

test_kill9_keeps_acknowledged() {
	local port i acked=0 missing=0 bench list
	port=$(free_port)
	start_server "$port" --state "$tmp/state" --threads 2 ||
		{ fail kill9_keeps_acknowledged "server did not start"; return; }
	# Background load on the journal while acknowledged joins are recorded one by one.
	"$SALVO" registry bench "$port" --duration 10 --connections 16 --names 500 --prefix load- \
		--timeout 2s >/dev/null 2>&1 &
	bench=$!
	pids+=("$bench")
	: >"$tmp/acked"
	for i in $(seq 1 60); do
		if "$SALVO" registry join "$port" -n "k9-$i" --timeout 2s >/dev/null 2>&1; then
			echo "k9-$i" >>"$tmp/acked"
		fi
		[ "$i" = 40 ] && kill -9 "$srv_pid"
	done
	wait "$srv_pid" 2>/dev/null
	wait "$bench" 2>/dev/null
	acked=$(wc -l <"$tmp/acked")
	start_server "$port" --state "$tmp/state" ||
		{ fail kill9_keeps_acknowledged "restart failed: $(cat "$tmp/serve.$port.out")"; return; }
	list=$("$SALVO" registry list "$port" --raw)
	while read -r n; do
		echo "$list" | python3 -c 'import json,sys; sys.exit(0 if sys.argv[1] in json.load(sys.stdin) else 1)' "$n" ||
			missing=$((missing + 1))
	done <"$tmp/acked"
	if [ "$acked" -ge 40 ] && [ "$missing" = 0 ]; then
		pass kill9_keeps_acknowledged
	else
		fail kill9_keeps_acknowledged "$acked acknowledged, $missing missing after restart"
	fi
	stop_server
}

# A silent client and a trickling one are cut off by --timeout while others are served.
test_timeouts() {
	local port out
	port=$(free_port)
	start_server "$port" --timeout 1s || { fail timeouts "server did not start"; return; }
	out=$(python3 - "$port" "$SALVO" <<'EOF' 2>&1
import socket, subprocess, sys, threading, time
port, salvo = int(sys.argv[1]), sys.argv[2]
res = {}
def silent():
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic(); data = b""
    s.settimeout(5)
    while True:
        c = s.recv(4096)
        if not c:
            break
        data += c
    res["silent"] = (time.monotonic() - t0, data)
def trickle():
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic(); closed = None
    s.setblocking(False)
    for i in range(40):          # a byte every 100 ms for up to 4 s
        try:
            s.send(b"t")
        except OSError:
            closed = time.monotonic() - t0; break
        time.sleep(0.1)
        try:
            if s.recv(4096) == b"":
                closed = time.monotonic() - t0; break
        except BlockingIOError:
            pass
        except OSError:
            closed = time.monotonic() - t0; break
    res["trickle"] = closed
ts = [threading.Thread(target=f) for f in (silent, trickle)]
for t in ts: t.start()
time.sleep(0.2)
# The server must answer others while those two hold their connections: five
# joins from plain sockets (a process start under ASan alone takes ~0.5 s),
# each answered with the list holding its name long before the 1 s timeout.
others = 0.0
for i in range(5):
    t0 = time.monotonic()
    j = socket.create_connection(("127.0.0.1", port), timeout=5)
    j.sendall(b"other%d" % i)
    reply = b""
    while True:
        c = j.recv(65536)
        if not c:
            break
        reply += c
    j.close()
    assert b'"other%d"' % i in reply, reply[:200]
    others = max(others, time.monotonic() - t0)
for t in ts: t.join()
el, data = res["silent"]
assert 0.8 <= el <= 2.5 and b"timed out" in data, res["silent"]
assert res["trickle"] is not None and res["trickle"] <= 2.5, res["trickle"]
assert others < 0.5, others
print("ok silent %.2fs trickle %.2fs slowest other join %.3fs" % (el, res["trickle"], others))
EOF
)
	case $out in
	ok*) pass "timeouts ($out)" ;;
	*) fail timeouts "$out" ;;
	esac
	stop_server
}

test_limits() {
	local port out py
	port=$(free_port)
	start_server "$port" --max-clients 2 --max-conns 3 ||
		{ fail limits "server did not start"; return; }
	"$SALVO" registry join "$port" -n a >/dev/null && "$SALVO" registry join "$port" -n b >/dev/null ||
		{ fail limits "first joins failed"; stop_server; return; }
	out=$("$SALVO" registry join "$port" -n c 2>&1)
	if [ $? != 1 ] || ! echo "$out" | grep -q 'registry full'; then
		fail limits "third name: $out"; stop_server; return
	fi
	"$SALVO" registry join "$port" -n a >/dev/null || { fail limits "update refused"; stop_server; return; }
	out=$(python3 - "$port" <<'EOF' 2>&1
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for i in range(3)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"d")
data = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    data += c
print(data.decode())
EOF
)
	if echo "$out" | grep -q 'too many connections'; then pass limits; else fail limits "4th connection: $out"; fi
	stop_server
}

# ---- hostile clients, on every stream backend --------------------------------

# server_cpu PID: user+system ticks so far (a witness for a spinning worker).
server_cpu() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# A broken server may not stop on SIGINT (a worker spinning): stop_server
# kills it after 10 s and says so.
stop_server_bounded() { stop_server; }

# Clients that send their name and reset (SO_LINGER 0, close before reading).
# A reset used to free the connection while its reply was still being built
# in the same batch: a spinning worker, a double free at stop, and an idle
# client answered with another client's list.  After 90 of them the server
# must idle, answer a silent client "timed out", serve a join, and stop clean.
test_reset_after_name() {
	local b port out c0 c1
	for b in uring syscall; do
		port=$(free_port)
		start_server "$port" --backend "$b" --timeout 1s ||
			{ fail reset_after_name "$b: server did not start"; continue; }
		out=$(timeout 60 python3 - "$port" <<'EOF' 2>&1
import socket, struct, sys, time
port = int(sys.argv[1])
for r in range(3):
    ss = [socket.create_connection(("127.0.0.1", port)) for i in range(30)]
    for s in ss:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.2)
    for i, s in enumerate(ss):
        s.send(b"rst%d-%d" % (r, i))
        s.close()
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
t0 = time.monotonic(); data = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    data += c
el = time.monotonic() - t0
assert b"timed out" in data and el >= 0.8, "silent client got %r after %.2fs" % (data[:80], el)
print("ok")
EOF
)
		[ "$out" = ok ] || { fail reset_after_name "$b: $out"; stop_server_bounded; continue; }
		c0=$(server_cpu "$srv_pid"); sleep 1; c1=$(server_cpu "$srv_pid")
		# Idle: a 100 ms receive wait; a spinning worker burns ~100 ticks a second.
		[ $((c1 - c0)) -le 30 ] ||
			{ fail reset_after_name "$b: idle server used $((c1 - c0)) ticks in 1 s"; stop_server_bounded; continue; }
		out=$("$SALVO" registry join "$port" -n after --timeout 2s 2>&1)
		echo "$out" | grep -q '"after"' ||
			{ fail reset_after_name "$b: join after the resets: $out"; stop_server_bounded; continue; }
		kill -INT "$srv_pid"
		busywait 10000 eval '! kill -0 "$srv_pid"' ||
			{ fail reset_after_name "$b: does not stop on SIGINT"; stop_server_bounded; continue; }
		wait "$srv_pid"; c0=$?
		if [ "$c0" != 0 ] || grep -qiE 'double free|AddressSanitizer|corrupt' "$tmp/serve.$port.out"; then
			fail reset_after_name "$b: stop: exit $c0: $(tail -n 3 "$tmp/serve.$port.out")"
			continue
		fi
		pass "reset_after_name $b"
	done
}

# More clients that never read a large reply than the worker had stream tx
# descriptors (64): a normal join is still served at once, the non-readers
# are reset at --reply-timeout, and VmRSS comes back within 10% of what it
# was before they came (not checked under ASan, whose quarantine keeps freed
# memory).  The list is grown first (300 names of 255 bytes,
# control characters escaped to \u0001: about 0.9 MB) and --sndbuf keeps it
# from fitting in the socket buffers.
test_slow_readers() {
	local b port out
	for b in uring syscall; do
		port=$(free_port)
		start_server "$port" --backend "$b" --reply-timeout 3s --sndbuf 64k ||
			{ fail slow_readers "$b: server did not start"; continue; }
		out=$(timeout 90 python3 - "$port" "$srv_pid" "${SALVO_ASAN:-0}" <<'EOF' 2>&1
import socket, struct, sys, time
port, pid, asan = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
def rss():
    for l in open("/proc/%d/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
def name(i):
    return b"%04d" % i + b"\x01" * 251
def join(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(n)
    data = b""
    while True:
        c = s.recv(1 << 20)
        if not c:
            break
        data += c
    s.close()
    return data
for i in range(300):     # grow the list without reading it
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(name(i))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
for i in range(50):      # the resets' joins may still be in the server's queue
    size = len(join(name(0)))
    if size > 800000:
        break
    time.sleep(0.1)
assert size > 800000, size
time.sleep(0.5)
base = rss()
slow = []
for i in range(80):      # updates: the list keeps its size
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(name(i))
    slow.append(s)
time.sleep(0.5)
t0 = time.monotonic()
data = join(name(299))
el = time.monotonic() - t0
assert len(data) > 800000 and data.rstrip().endswith(b"}"), len(data)
assert el < 1.0, "normal join took %.3f s with 80 non-readers" % el
peak = rss()
time.sleep(3.5)          # past --reply-timeout
resets = 0
for s in slow:
    s.setblocking(False)
    try:
        while s.recv(1 << 20):
            pass
    except ConnectionResetError:
        resets += 1
    except BlockingIOError:
        pass
    s.close()
assert resets >= 70, "only %d of 80 non-readers were reset" % resets
end = time.monotonic() + 5
while rss() > base * 1.1 and time.monotonic() < end:
    time.sleep(0.1)
after = rss()
# ASan's allocator keeps freed memory in its quarantine (and ignores mallopt): not a witness there.
assert asan or after <= base * 1.1, "VmRSS %d kB before, %d kB with non-readers, %d kB after" % (base, peak, after)
print("ok list %d B, join %.3f s, %d resets, VmRSS %d -> %d -> %d kB" % (size, el, resets, base, peak, after))
EOF
)
		case $out in
		ok*) pass "slow_readers $b (${out#ok })" ;;
		*) fail slow_readers "$b: $out" ;;
		esac
		stop_server_bounded
	done
}

# Past the backend's connection table (RLIMIT_NOFILE 256: 192 slots) idle
# connections used to push every later one, joins included, out with zero
# bytes.  Now the worker refuses with the JSON error while slots remain.
test_table_full() {
	local b port out
	for b in uring syscall; do
		port=$(free_port)
		(ulimit -n 256; exec "$SALVO" registry serve "$port" --duration 120 --backend "$b" \
			--timeout 10s >"$tmp/serve.$port.out" 2>&1) &
		srv_pid=$!
		pids+=("$srv_pid")
		busywait 30000 "$SALVO" registry list "$port" --timeout 1s ||
			{ fail table_full "$b: server did not start"; continue; }
		out=$(timeout 60 python3 - "$port" <<'EOF' 2>&1
import select, socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(240):
    held.append(socket.create_connection(("127.0.0.1", port)))
time.sleep(1.0)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"legit")
data = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    data += c
assert b"too many connections" in data, "legit join got %r" % data
empty = refused = 0
for h in held:
    if select.select([h], [], [], 0)[0]:
        d = h.recv(4096)
        if not d:
            empty += 1
        elif b"too many connections" in d:
            refused += 1
assert empty == 0 and refused > 0, "%d closed without a word, %d refused" % (empty, refused)
print("ok %d refused" % refused)
EOF
)
		case $out in
		ok*) pass "table_full $b (${out#ok })" ;;
		*) fail table_full "$b: $out" ;;
		esac
		stop_server_bounded
	done
}

# Disk full and read-only journal: a tiny tmpfs in a private mount namespace.
test_journal_full_and_readonly() {
	local port
	if ! unshare -m true 2>/dev/null; then
		skip journal_full_and_readonly "needs unshare -m (root)"; return
	fi
	port=$(free_port)
	out=$(unshare -m --propagation private bash -s "$SALVO" "$port" "$tmp" <<'EOF' 2>&1
set -u
SALVO=$1 port=$2 tmp=$3 mnt=$tmp/mnt
mkdir -p "$mnt" && mount -t tmpfs -o size=64k tmpfs "$mnt" || { echo "mount failed"; exit 1; }
"$SALVO" registry serve "$port" --state "$mnt/state" --duration 60 >"$tmp/jserve.out" 2>&1 &
srv=$!
for i in $(seq 50); do "$SALVO" registry list "$port" --timeout 1s >/dev/null 2>&1 && break; sleep 0.1; done
"$SALVO" registry join "$port" -n before >/dev/null || { echo "first join failed"; exit 1; }
dd if=/dev/zero of="$mnt/fill" bs=1k count=1000 2>/dev/null
# Appends inside the journal's last page need no new block: join long names until one does.
: >"$tmp/full.acked"; refused=0
for i in $(seq 30); do
	n=$(printf 'full-%02d-%0240d' "$i" 0)
	if out=$("$SALVO" registry join "$port" -n "$n" 2>&1); then
		echo "$n" >>"$tmp/full.acked"
	else
		echo "$out" | grep -q 'No space left' || { echo "full: $out"; exit 1; }
		refused=$((refused + 1))
	fi
done
[ "$refused" -gt 0 ] || { echo "no join refused on a full disk"; exit 1; }
rm -f "$mnt/fill"
"$SALVO" registry join "$port" -n after-space >/dev/null || { echo "join after freeing space failed"; exit 1; }
kill -9 $srv; wait $srv 2>/dev/null
# The restart comes at once: a killed server's listener outlives it by the ring's
# deferred teardown, which the new server must wait out by itself.
# Read-only journal: serves what it holds, refuses joins.
mount -o remount,ro "$mnt" || { echo "remount ro failed"; exit 1; }
"$SALVO" registry serve "$port" --state "$mnt/state" --duration 60 >"$tmp/jserve2.out" 2>&1 &
srv=$!
for i in $(seq 50); do "$SALVO" registry list "$port" --timeout 1s >/dev/null 2>&1 && break; sleep 0.1; done
# Reported at start, before any join.
grep -q "state file $mnt/state is not writable (Read-only file system)" "$tmp/jserve2.out" ||
	{ echo "read-only not reported at start: $(cat "$tmp/jserve2.out")"; exit 1; }
out=$("$SALVO" registry join "$port" -n while-ro 2>&1) && { echo "join on a read-only journal acknowledged"; exit 1; }
echo "$out" | grep -q 'Read-only' || { echo "ro: $out"; exit 1; }
keys=$("$SALVO" registry list "$port" --raw | python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin))))')
kill $srv; wait $srv 2>/dev/null
umount "$mnt"
want=$( (echo after-space; echo before; cat "$tmp/full.acked") | sort)
[ "$keys" = "$want" ] || { echo "after restart: $(echo "$keys" | wc -l) names, want $(echo "$want" | wc -l)"; exit 1; }
echo ok
EOF
)
	if [ "$out" = ok ]; then pass journal_full_and_readonly; else fail journal_full_and_readonly "$out"; fi
}

# One flipped bit in the first record of a real journal: every other name survives the
# restart, the damaged file is kept aside (byte for byte) and reported on stderr.
test_journal_bitflip() {
	local port i before after out kept
	port=$(free_port)
	start_server "$port" --state "$tmp/flip" || { fail journal_bitflip "server did not start"; return; }
	for i in $(seq 1 40); do
		"$SALVO" registry join "$port" -n "flip-$i" >/dev/null 2>&1 ||
			{ fail journal_bitflip "join flip-$i failed"; stop_server; return; }
	done
	before=$("$SALVO" registry list "$port" --raw | python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin))))')
	stop_server
	# Header 16 bytes, then the first record: 16-byte header, name, host.  Flip a bit of its name.
	python3 - "$tmp/flip" <<'EOF2'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
assert b[:16] == b"salvo-registry1\n" and b[16:20] == b"SVRJ", b[:20]
b[16 + 16 + 2] ^= 0x04
open(p, "wb").write(b)
open(p + ".copy", "wb").write(b)
EOF2
	start_server "$port" --state "$tmp/flip" ||
		{ fail journal_bitflip "restart failed: $(cat "$tmp/serve.$port.out")"; return; }
	after=$("$SALVO" registry list "$port" --raw | python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin))))')
	stop_server
	out=$(cat "$tmp/serve.$port.out")
	kept=$(ls "$tmp"/flip.damaged-* 2>/dev/null | head -n 1)
	if [ "$(echo "$before" | wc -l)" != 40 ]; then
		fail journal_bitflip "40 joins, $(echo "$before" | wc -l) listed before the flip"
	elif [ "$(echo "$before" | grep -vx flip-1)" != "$after" ]; then
		fail journal_bitflip "after the flip $(echo "$after" | wc -l) names listed, want the 39 others"
	elif ! echo "$out" | grep -q "1 damaged span (31 bytes) skipped at offset 16 (31 bytes); 39 intact records recovered; the damaged file is kept as $tmp/flip.damaged-"; then
		fail journal_bitflip "stderr: $out"
	elif [ -z "$kept" ] || ! cmp -s "$kept" "$tmp/flip.copy"; then
		fail journal_bitflip "damaged file not kept as it was: '$kept'"
	elif echo "$out" | grep -q torn; then
		fail journal_bitflip "a flipped bit reported as a torn tail: $out"
	else
		# The rewritten journal is clean: a second restart reports nothing.
		start_server "$port" --state "$tmp/flip" || { fail journal_bitflip "second restart failed"; return; }
		stop_server
		if grep -q "damaged\|torn" "$tmp/serve.$port.out"; then
			fail journal_bitflip "rewritten journal not clean: $(cat "$tmp/serve.$port.out")"
		else
			pass journal_bitflip
		fi
	fi
}

# A hostile server: endless data is cut at --max-reply, a trickle at --timeout (the whole exchange).
test_client_hostile_server() {
	local port port2 hp out rc t0 el cmd
	port=$(free_port)
	port2=$(free_port)
	# On port: a join named t... or a list gets a byte every 0.5 s, any other join endless
	# data.  On port2: endless data for everyone (a list too).
	python3 - "$port" "$port2" <<'EOF2' >"$tmp/hostile.out" 2>&1 &
import socket, sys, threading, time
def serve(c, always_endless):
    try:
        first = c.recv(1, socket.MSG_PEEK)
        if not always_endless and first[:1] in (b"t", b""):
            for i in range(120):
                c.sendall(b"{")
                time.sleep(0.5)
        else:
            chunk = b"x" * 65536
            for i in range(1 << 16):      # 4 GiB at most
                c.sendall(chunk)
    except OSError:
        pass
    c.close()
def listen(port, always_endless):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    ls.settimeout(60)           # bounded: gone a minute after the last client
    while True:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            break
        threading.Thread(target=serve, args=(c, always_endless), daemon=True).start()
ts = [threading.Thread(target=listen, args=(int(sys.argv[1]), False)),
      threading.Thread(target=listen, args=(int(sys.argv[2]), True))]
for t in ts: t.start()
for t in ts: t.join()
EOF2
	hp=$!
	pids+=("$hp")
	busywait 30000 python3 -c 'import socket,sys; [socket.create_connection(("127.0.0.1", int(p)), 1).close() for p in sys.argv[1:]]' "$port" "$port2" ||
		{ fail client_hostile_server "python server did not start"; return; }
	out=$(timeout 60 "$SALVO" registry join "$port" -n endless --max-reply 1MiB 2>&1); rc=$?
	if [ $rc != 1 ] || [ "$out" != "salvo: registry join: the reply from 127.0.0.1:$port is over --max-reply 1048576 bytes; stopped reading" ]; then
		fail client_hostile_server "join, endless data: rc $rc: $out"; return
	fi
	out=$(timeout 60 "$SALVO" registry list "$port2" --max-reply 100k 2>&1); rc=$?
	if [ $rc != 1 ] || [ "$out" != "salvo: registry list: the reply from 127.0.0.1:$port2 is over --max-reply 102400 bytes; stopped reading" ]; then
		fail client_hostile_server "list, endless data: rc $rc: $out"; return
	fi
	# The default cap (64 MiB) ends it too.
	out=$(timeout 60 "$SALVO" registry join "$port" -n endless2 2>&1); rc=$?
	if [ $rc != 1 ] || ! echo "$out" | grep -q 'over --max-reply 67108864 bytes'; then
		fail client_hostile_server "join, endless data, default cap: rc $rc: $out"; return
	fi
	# A byte every 0.5 s: each read is quick, the whole reply never comes.
	for cmd in "join -n trickle" "list"; do
		t0=$(date +%s%N)
		out=$(timeout 30 "$SALVO" registry $cmd "$port" --timeout 2s 2>&1); rc=$?
		el=$(( ($(date +%s%N) - t0) / 1000000 ))
		if [ $rc != 1 ] || ! echo "$out" | grep -q 'no whole reply within --timeout 2000 ms' ||
			[ "$el" -lt 1900 ] || [ "$el" -gt 8000 ]; then
			fail client_hostile_server "$cmd, trickle: rc $rc after $el ms: $out"; return
		fi
	done
	for bad in 0 abc 2TiB -1; do
		"$SALVO" registry list "$port" --max-reply "$bad" >/dev/null 2>&1
		rc=$?
		[ $rc = 2 ] || { fail client_hostile_server "--max-reply $bad: exit $rc, want 2"; return; }
	done
	pass client_hostile_server
}

# The load generator on the engine (--engine BACKEND): every join it counts is
# one the server counted (the server's own "joins" in its JSON summary, and its
# list), exactly, on both stream backends and with 2 workers.
test_engine_bench() {
	local port b out n sj
	for b in uring syscall; do
		port=$(free_port)
		start_server "$port" --json || { fail engine_bench "$b: server did not start"; return; }
		out=$(timeout 120 "$SALVO" registry bench "$port" --engine "$b" --count 3000 --names 100000 \
			--prefix "e$b-" --connections 32 --threads 2 --timeout 20s --json 2>&1)
		n=$("$SALVO" registry list "$port" --raw --timeout 10s | count_keys)
		stop_server || return
		sj=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.JSONDecoder().raw_decode(t, t.index("{"))[0]["registry"]["joins"])' \
			"$tmp/serve.$port.out" 2>/dev/null)
		if ! echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d["registry"]
assert r["joins"] == 3000 and r["failed"] == 0 and r["error_replies"] == 0, d
assert d["latency_ns"]["count"] == 3000, d
' || [ "$n" != 3000 ] || [ "$sj" != 3000 ]; then
			fail engine_bench "$b: server joins $sj, list $n names; bench: $(echo "$out" | tr -d '\n' | head -c 300)"
			return
		fi
	done
	pass engine_bench
}

# The same against the seed's Python server: its list (which has no other
# counter) holds exactly the names the generator counted as joined.
test_engine_bench_seed() {
	local port b out py n
	port=$(free_port)
	python3 "$SEED" --port "$port" >"$tmp/seed-eb.out" 2>&1 &
	py=$!
	pids+=("$py")
	if ! busywait 15000 grep -q 'Starting server' "$tmp/seed-eb.out"; then
		fail engine_bench_seed "seed server did not start: $(cat "$tmp/seed-eb.out")"; return
	fi
	sleep 0.2
	for b in uring syscall; do
		# 4 connections: the seed listens with a backlog of 5.
		out=$(timeout 120 "$SALVO" registry bench "$port" --engine "$b" --count 300 --names 100000 \
			--prefix "s$b-" --connections 4 --timeout 20s --json 2>&1)
		n=$("$SALVO" registry join "$port" -n probe --raw --timeout 10s |
			python3 -c 'import json,sys; print(sum(k.startswith(sys.argv[1]) for k in json.load(sys.stdin)))' "s$b-")
		if ! echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d["registry"]
assert r["joins"] == 300 and r["failed"] == 0 and r["error_replies"] == 0, d
' || [ "$n" != 300 ]; then
			fail engine_bench_seed "$b: seed list has $n names; bench: $(echo "$out" | tr -d '\n' | head -c 300)"
			return
		fi
	done
	kill "$py" 2>/dev/null
	pass engine_bench_seed
}

# --duration bounds an engine run; joins cut off in flight are not counted, so
# the server has at most --connections more than the generator.
test_engine_bench_bounded() {
	local port b out t0 el bj sj rc
	for b in uring syscall; do
		port=$(free_port)
		start_server "$port" --json || { fail engine_bench_bounded "$b: server did not start"; return; }
		t0=$(date +%s%N)
		out=$(timeout 60 "$SALVO" registry bench "$port" --engine "$b" --duration 1s --connections 8 \
			--json 2>&1); rc=$?
		el=$(( ($(date +%s%N) - t0) / 1000000 ))
		stop_server || return
		bj=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["registry"]["joins"])' 2>/dev/null)
		sj=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.JSONDecoder().raw_decode(t, t.index("{"))[0]["registry"]["joins"])' \
			"$tmp/serve.$port.out" 2>/dev/null)
		if [ "$rc" != 0 ] || [ -z "$bj" ] || [ "$bj" -lt 1 ] || [ -z "$sj" ] || [ "$sj" -lt "$bj" ] ||
			[ "$sj" -gt $((bj + 8)) ] || [ "$el" -gt 15000 ]; then
			fail engine_bench_bounded "$b: rc $rc after $el ms, bench $bj joins, server $sj: $(echo "$out" | tr -d '\n' | head -c 300)"
			return
		fi
	done
	pass engine_bench_bounded
}

# Bad --engine values: one line, exit 2, before any connection.
test_engine_bench_bad_input() {
	local e out rc
	for e in nosuch af_packet null ""; do
		out=$("$SALVO" registry bench 127.0.0.1:9 --engine "$e" --count 1 2>&1); rc=$?
		if [ $rc != 2 ] || [ "$(echo "$out" | wc -l)" != 1 ] || ! echo "$out" | grep -q -- '--engine'; then
			fail engine_bench_bad_input "--engine '$e': exit $rc: $out"; return
		fi
	done
	"$SALVO" registry bench 127.0.0.1:9 --engine >/dev/null 2>&1; rc=$?
	[ $rc = 2 ] || { fail engine_bench_bad_input "--engine without a value: exit $rc"; return; }
	pass engine_bench_bad_input
}


# Under ASan (SALVO_ASAN=1) the tests below run in the plain build only: joins
# at volume, backends and the seed's programs the other tests already take,
# kill -9 recovery.  The hostile peers, limits, journal damage and resets run
# under ASan too: that is where memory goes wrong.
# The serve summary's figures against the clients' own count: 4 threads of
# seed-protocol clients (send a name, or half-close for a list; read to EOF)
# make 25 joins and 10 lists each.  The server's joins, lists, connections and
# reply bytes equal the clients' exactly; its active time lies within the
# clients' window (first connect to last EOF; the serve duration, which holds
# the second before them, would not) and each rate is its count over it.
test_serve_figures() {
	local port out opt rc
	port=$(free_port)
	# Interval lines could only count TCP chunks: refused, exit 2, one line.
	for opt in "-i 1" --json-stream; do
		"$SALVO" registry serve "$port" $opt -d 1 >"$tmp/iv.out" 2>&1
		rc=$?
		[ $rc = 2 ] && [ "$(wc -l <"$tmp/iv.out")" = 1 ] && grep -q "no interval reports" "$tmp/iv.out" ||
			{ fail serve_figures "registry serve $opt: exit $rc: $(cat "$tmp/iv.out")"; return; }
	done
	"$SALVO" registry serve "$port" --duration 120 --json >"$tmp/serve.$port.out" 2>"$tmp/serve.$port.err" &
	srv_pid=$!
	pids+=("$srv_pid")
	# Ready when it listens: no probe connection of our own to count.
	busywait 5000 sh -c "ss -Hltn 'sport = :$port' | grep -q ." || { fail serve_figures "server did not listen"; return; }
	sleep 1
	out=$(timeout 60 python3 - "$port" <<'EOF'
import socket, sys, threading, time
port, total, lock = int(sys.argv[1]), [0], threading.Lock()
def one(name):
    s = socket.create_connection(("127.0.0.1", port))
    if name:
        s.sendall(name.encode())
    else:
        s.shutdown(socket.SHUT_WR)
    n = 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        n += len(b)
    s.close()
    with lock:
        total[0] += n
def client(t):
    for i in range(25):
        one("fig-%d-%d" % (t, i))
        if i % 5 == 4:
            for _ in range(2):
                one(None)
t0 = time.monotonic()
th = [threading.Thread(target=client, args=(t,)) for t in range(4)]
for x in th: x.start()
for x in th: x.join()
print(total[0], time.monotonic() - t0)
EOF
) || { fail serve_figures "clients failed: $out"; stop_server; return; }
	stop_server || return
	if ! python3 - "$tmp/serve.$port.out" $out <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r, nbytes, window = d["registry"], int(sys.argv[2]), float(sys.argv[3])
want = {"joins": 100, "updates": 0, "lists": 40, "connections": 140, "reply_bytes": nbytes,
        "refused_connections": 0, "refused_joins": 0, "timeouts": 0, "connection_errors": 0, "names": 100}
got = {k: r[k] for k in want}
assert got == want, (got, want)
assert "tx" not in d and "rx" not in d, "packet sections count TCP chunks"
a = r["active_s"]
assert 0 < a <= window, (a, window)
for k, n in (("joins_per_second", 100), ("lists_per_second", 40), ("reply_bits_per_second", nbytes * 8)):
    assert abs(r[k] - n / a) <= 1e-6 * r[k], (k, r[k], n / a)
EOF
	then
		fail serve_figures "$(cat "$tmp/serve.$port.out" "$tmp/serve.$port.err" | tr '\n' ' ' | head -c 600) clients: $out"
		return
	fi
	pass serve_figures
}

plain_only() {
	if [ "${SALVO_ASAN:-0}" = 1 ]; then
		echo "# $1: plain build only"
		return 0
	fi
	"$1"
}

test_seed_client_against_salvo
plain_only test_every_backend
plain_only test_salvo_join_against_seed_server
plain_only test_twenty_long_names
test_hostile_names
plain_only test_ten_thousand_joins
plain_only test_kill9_keeps_acknowledged
test_timeouts
test_limits
test_journal_full_and_readonly
test_journal_bitflip
test_client_hostile_server
test_reset_after_name
test_slow_readers
test_table_full
test_engine_bench
test_serve_figures
plain_only test_engine_bench_seed
plain_only test_engine_bench_bounded
test_engine_bench_bad_input
exit $failed
