#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# deploy/ansible/site.yml for real (docs/fleet.md): Ansible drives three
# hosts over ssh, each a network namespace running its own sshd, on a bridge
# in the controller's namespace (10.213.0.0/24 exists only on these
# namespaces' interfaces).  One sink (udp recv), two senders (udp send), one
# --start-at; the playbook copies the salvo under test to each host
# (salvo_bin: a per-host prefix under $TMP, since the namespaces share one
# filesystem), runs them, fetches their JSON and merges it.  Checked against
# the hosts' own records and each namespace's kernel (/proc/net/snmp): merged
# tx = the senders' sum = their kernels' OutDatagrams, the receiver's count =
# the senders' total = its kernel's InDatagrams, one start instant and run
# id in every record, a host= label group per host.
#
# Not exercised here: salvo_deb and salvo_src (a package build or a make
# install in this tree would take minutes or race the other suites'
# builds); test_install.sh covers make install and the package themselves.
#
#	sudo SALVO=build/salvo tests/integ/test_deploy.sh
. "$(dirname "$0")/lib.sh"

TESTS="test_ansible_fleet"
PLAYBOOK=$TOP/deploy/ansible
NET=10.213.0
COUNT=1500	# per sender, at 1000/s: 1.5 s of a 3 s run, far below any loss

# The programs this needs (tools/deps.sh installs them); a machine without
# them skips, saying which.
deploy_missing() {
	local p
	for p in ansible-playbook ssh ssh-keygen /usr/sbin/sshd setsid; do
		command -v "$p" >/dev/null || { echo "$p"; return; }
	done
}

# Three host namespaces on a bridge in the controller's; sshd in each, with
# a host key and root's authorized key made here.
deploy_hosts() {
	local i ns
	setup_ns CTL H1 H2 H3 || return
	HOSTS=("$H1" "$H2" "$H3")
	ip -n "$CTL" link add br0 type bridge &&
		ip -n "$CTL" addr add "$NET.1/24" dev br0 &&
		ip -n "$CTL" link set br0 up || { fail "bridge in $CTL"; return; }
	for i in 1 2 3; do
		ns=${HOSTS[i - 1]}
		ip -n "$CTL" link add "v$i" type veth peer name eth0 netns "$ns" &&
			ip -n "$CTL" link set "v$i" master br0 up &&
			ip -n "$ns" addr add "$NET.1$i/24" dev eth0 &&
			ip -n "$ns" link set eth0 up || { fail "veth of h$i"; return; }
	done
	ssh-keygen -q -t ed25519 -N '' -C salvo-test -f "$TMP/hostkey" &&
		ssh-keygen -q -t ed25519 -N '' -C salvo-test -f "$TMP/id" || { fail "ssh-keygen"; return; }
	# sshd's privilege separation directory (the package makes it at boot).
	mkdir -p /run/sshd
	for i in 1 2 3; do
		cat >"$TMP/sshd$i.conf" <<-EOF
			ListenAddress $NET.1$i
			HostKey $TMP/hostkey
			PidFile $TMP/sshd$i.pid
			AuthorizedKeysFile $TMP/id.pub
			PermitRootLogin prohibit-password
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			UsePAM no
			StrictModes no
			Subsystem sftp internal-sftp
			LogLevel ERROR
		EOF
		bg -n "${HOSTS[i - 1]}" "$TMP/sshd$i.log" /usr/sbin/sshd -D -e -f "$TMP/sshd$i.conf"
	done
	for i in 1 2 3; do
		busywait 10000 sshd_listening "${HOSTS[i - 1]}" ||
			{ show "$TMP/sshd$i.log.err"; fail "sshd of h$i not listening"; return; }
	done
}
sshd_listening() { ss -N "$1" -Htln 'sport = :22' | grep -q .; }

# Whatever is still running in the test's namespaces (sshd's per-connection
# processes, ssh control masters, a salvo of a run that failed) ends with
# them; their pids, not names, so nothing else is touched.
deploy_teardown() {
	local ns pids
	for ns in ${CTL:-} "${HOSTS[@]}"; do
		# sshd's listeners are left to lib.sh's cleanup (bg): it waits for them.
		pids=$(ip netns pids "$ns" 2>/dev/null | grep -vxF -f <(printf '%s\n' "${BG_PIDS[@]}"))
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	done
	return 0
}

deploy_run() {
	local i rc res udp0 udp1
	cat >"$TMP/inventory.ini" <<-EOF
		[sinks]
		h1 ansible_host=$NET.11
		[senders]
		h2 ansible_host=$NET.12
		h3 ansible_host=$NET.13
		[all:vars]
		ansible_user=root
		ansible_ssh_private_key_file=$TMP/id
		ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes'
		ansible_python_interpreter=/usr/bin/python3
		salvo_prefix=$TMP/hosts/{{ inventory_hostname }}
		salvo_outdir=$TMP/hosts/{{ inventory_hostname }}/out
	EOF
	mkdir -p "$TMP/home" "$TMP/atmp" "$TMP/cp"
	# The kernels' UDP counters before: each host's namespace is its own.
	for i in 1 2 3; do
		udp0[i]=$(snmp_udp "$([ $i = 1 ] && echo InDatagrams || echo OutDatagrams)" "${HOSTS[i - 1]}")
	done
	res=$TMP/results
	# Everything Ansible writes stays under $TMP (HOME too: ~/.ansible).
	ip netns exec "$CTL" env HOME="$TMP/home" ANSIBLE_CONFIG="$PLAYBOOK/ansible.cfg" \
		ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_LOCAL_TEMP="$TMP/atmp" \
		ANSIBLE_REMOTE_TEMP="$TMP/atmp" ANSIBLE_SSH_CONTROL_PATH_DIR="$TMP/cp" \
		ANSIBLE_NOCOLOR=1 ANSIBLE_DEPRECATION_WARNINGS=False \
		timeout -s KILL 240 ansible-playbook -i "$TMP/inventory.ini" "$PLAYBOOK/site.yml" \
		-e "salvo_bin=$SALVO salvo_results_dir=$res salvo_run_id=deploy$$" \
		-e "salvo_count=$COUNT salvo_rate=1000 salvo_duration=3 salvo_grace_s=1 salvo_lead_s=3" >"$TMP/ansible.log" 2>&1
	rc=$?
	[ "$rc" = 0 ] || { tail -n 40 "$TMP/ansible.log"; fail "ansible-playbook exited $rc"; return; }
	for i in 1 2 3; do
		udp1[i]=$(snmp_udp "$([ $i = 1 ] && echo InDatagrams || echo OutDatagrams)" "${HOSTS[i - 1]}")
		cmp -s "$SALVO" "$TMP/hosts/h$i/bin/salvo" || { fail "h$i: salvo not installed under its prefix"; return; }
	done
	# (The heredoc's body starts on the line after the command: what to do
	# when it fails comes after its end.)
	if ! python3 - "$res/deploy$$" "$((udp1[1] - udp0[1]))" "$((udp1[2] - udp0[2]))" \
		"$((udp1[3] - udp0[3]))" "$COUNT" 2>"$TMP/why" <<-'PY'
		import json, sys
		d = sys.argv[1]
		k_in, k_out2, k_out3, count = map(int, sys.argv[2:6])
		h = {n: json.load(open("%s/%s.json" % (d, n))) for n in ("h1", "h2", "h3")}
		m = json.load(open(d + "/merged.json"))
		def die(msg): sys.exit(msg)
		at = {r["start_at_unix_ns"] for r in h.values()}
		if len(at) != 1 or {r["run_id"] for r in h.values()} != {sys.argv[1].rsplit("/", 1)[1]}:
		    die("not one start instant and run id: %s" % at)
		for n, r in h.items():
		    if r.get("labels", {}).get("host") != n:
		        die("%s labelled %s" % (n, r["labels"]))
		tx2, tx3 = h["h2"]["tx"]["packets"], h["h3"]["tx"]["packets"]
		if (tx2, tx3) != (count, count) or (tx2, tx3) != (k_out2, k_out3):
		    die("senders counted %d, %d; their kernels sent %d, %d" % (tx2, tx3, k_out2, k_out3))
		t = m["total"]
		if t["tx"]["packets"] != tx2 + tx3 or t["tx"]["bytes"] != h["h2"]["tx"]["bytes"] + h["h3"]["tx"]["bytes"]:
		    die("merged tx %s, senders %d + %d" % (t["tx"], tx2, tx3))
		rx = h["h1"]["rx"]["packets"]
		if t["rx"]["packets"] != rx or rx != tx2 + tx3 or rx != k_in or h["h1"]["rx"]["lost"] != 0:
		    die("receiver %d (merged %d, lost %d), senders %d, its kernel %d"
		        % (rx, t["rx"]["packets"], h["h1"]["rx"]["lost"], tx2 + tx3, k_in))
		g = {x["label"]["host"]: x for x in m["groups"] if "host" in (x.get("label") or {})}
		if g["h2"]["tx"]["packets"] != tx2 or g["h3"]["tx"]["packets"] != tx3 or g["h1"]["rx"]["packets"] != rx:
		    die("per-host groups")
	PY
	then
		show "$res/deploy$$/merged.json"
		fail "the run does not add up: $(tail -n 1 "$TMP/why")"
		return
	fi
	grep -q "total: 3 records" "$res/deploy$$/merged.txt" || { show "$res/deploy$$/merged.txt"; fail "merged.txt"; }
}

test_ansible_fleet() {
	local missing rc
	require_root || return
	missing=$(deploy_missing)
	[ -z "$missing" ] || { skip "no $missing (tools/deps.sh installs ansible-core and openssh-server)"; return; }
	HOSTS=()
	deploy_hosts && deploy_run
	rc=$?
	deploy_teardown
	return "$rc"
}

[ -x "$SALVO" ] || { echo "FAIL: setup no salvo binary at $SALVO"; exit 1; }
for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
