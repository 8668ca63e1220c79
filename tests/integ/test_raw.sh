#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# salvo raw send / raw recv (af_packet) end to end over a veth pair between
# two throw-away namespaces, each count checked against an independent
# witness: a plain UDP socket receiver and the peer's `ip -s link` counters,
# tcpdump decoding a capture of salvo's frames, the exact bytes of a
# --frame-hex frame in a capture, and raw recv's own stamp accounting.
#
#	sudo SALVO=build/salvo tests/integ/test_raw.sh [test_name...]
. "$(dirname "$0")/lib.sh"

# ASan leaves these out (lib.sh PLAIN_ONLY): counts at rate against witnesses; frame building, VLAN restore, hex frames, pcap and refusals stay under ASan.
PLAIN_ONLY="test_send_udp_socket test_jumbo_frames test_raw_recv_counts test_profile_two_rates test_kernel_ring_drops test_default_frame_measures test_qdisc_flag"
TESTS="
	test_send_udp_socket
	test_jumbo_frames
	test_tcpdump_decodes
	test_raw_recv_counts
	test_default_frame_measures
	test_vlan_tag_restored
	test_send_on_lo
	test_kernel_ring_drops
	test_frame_hex_exact
	test_profile_two_rates
	test_needs_cap_net_raw
	test_refuses_without_destination
	test_neighbour_unresolved
	test_pcap_gaps_bounded
	test_pcap_cut_record
	test_pcap_error_names_file
	test_qdisc_flag
"
[ $# -gt 0 ] && TESTS="$*"

N=20000
RATE=20k	# a loaded 2-core machine (or ASan) keeps up with this

# Two namespaces A (10.77.0.1, veth-a) and B (10.77.0.2, veth-b), quiet:
# IPv6 off (no ND/MLD frames), permanent neighbour entries (no ARP), so the
# peer's counters see only what a test sends.
setup_pair() {
	setup_ns NA NB || return
	setup_veth "$NA" "$NB" 10.77.0.1/24 10.77.0.2/24 || return
	quiet_pair "$NA" "$NB" 10.77.0.1 10.77.0.2 || return
}


# The peer's received-frame counter.
rx_b() { link_stat veth-b rx_packets "$NB"; }

# tcpdump in the background in NS on IF into FILE; returns once it listens.
start_tcpdump() {
	local ns=$1 ifc=$2 file=$3
	command -v tcpdump >/dev/null || { fail "tcpdump not installed"; return; }
	bg -n "$ns" "$TMP/tcpdump.out" tcpdump -i "$ifc" -Q in --immediate-mode -U -n -s 0 -B 16384 -w "$file"
	TCPDUMP_PID=$BG_PID
	TCPDUMP_FILE=$file
	TCPDUMP_NS=$ns TCPDUMP_IF=$ifc
	busywait 10000 grep -q "listening on" "$TMP/tcpdump.out.err" || { fail "tcpdump did not start"; return; }
	TCPDUMP_RX0=$(link_stat "$ifc" rx_packets "$ns")
}

# pcap_count FILE: complete frame records in a pcap being written (-U).
pcap_count() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
if len(d) < 24:
    print(0); sys.exit()
e = '<' if struct.unpack('<I', d[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else '>'
off = n = 0
off = 24
while off + 16 <= len(d):
    incl = struct.unpack(e + 'I', d[off + 8:off + 12])[0]
    if off + 16 + incl > len(d):
        break
    off += 16 + incl; n += 1
print(n)
PY
}
# capture_caught_up: the capture holds every frame the interface received
# since start_tcpdump (the pairs are quiet: those are the test's frames).
capture_caught_up() {
	[ "$(pcap_count "$TCPDUMP_FILE")" -ge $(($(link_stat "$TCPDUMP_IF" rx_packets "$TCPDUMP_NS") - TCPDUMP_RX0)) ]
}

stop_tcpdump() {
	# Until tcpdump has written what arrived (not a fixed sleep); if it never
	# does, the caller's count says how many are missing.
	busywait 10000 capture_caught_up
	kill -INT "$TCPDUMP_PID" 2>/dev/null
	wait_pid "$TCPDUMP_PID" 10000 >/dev/null 2>&1
	return 0
}

test_send_udp_socket() {
	require_root || return
	setup_pair || return
	local port before after rx tx seen
	port=$(random_port)
	before=$(rx_b)
	salvo_bg -n "$NB" "$TMP/recv.json" udp recv "10.77.0.2:$port" --count "$N" --json -q -d 30
	local rpid=$SALVO_PID
	wait_udp_bound "$port" "$NB" || { fail "receiver not bound"; return; }
	salvo_run -n "$NA" "$TMP/send.json" raw send -I veth-a --dst 10.77.0.2 --dport "$port" \
		--size 128 --flows 4 -n "$N" --rate "$RATE" --json ||
		{ show "$TMP/send.json.err"; fail "raw send exit $?"; return; }
	wait_pid "$rpid" 20000 || { show "$TMP/recv.json.err"; fail "udp recv did not finish"; return; }
	after=$(rx_b)
	tx=$(json_get "$TMP/send.json" tx.packets)
	rx=$(json_get "$TMP/recv.json" rx.packets)
	seen=$((after - before))
	[ "$tx" -eq "$N" ] || { fail "sender counted $tx, not $N"; return; }
	[ "$seen" -eq "$N" ] || { fail "peer's ip -s link counted $seen frames, sender $N"; return; }
	[ "$rx" -eq "$seen" ] || { fail "UDP socket received $rx of the $seen frames the peer counted"; return; }
	[ "$(json_get "$TMP/recv.json" rx.lost)" -eq 0 ] || { fail "stamps report loss"; return; }
	[ "$(json_get "$TMP/recv.json" rx.flows)" -eq 4 ] || { fail "expected 4 stamped flows"; return; }
}

# Frames from 60 B to 9000 B (MTU 9000): up to 2048 bytes the kernel copies
# them whole into the skb (the virtio_net_hdr's hdr_len), past that the rest
# stays zero-copy ring fragments.  A UDP socket checks every checksum and the
# stamps, the peer's counters the bytes.
test_jumbo_frames() {
	require_root || return
	setup_pair || return
	local port before rx tx bytes
	ip -n "$NA" link set veth-a mtu 9000 && ip -n "$NB" link set veth-b mtu 9000 || { fail "mtu 9000"; return; }
	port=$(random_port)
	before=$(link_stat veth-b rx_bytes "$NB")
	salvo_bg -n "$NB" "$TMP/jrecv.json" udp recv "10.77.0.2:$port" --count 3000 --json -q -d 30
	local rpid=$SALVO_PID
	wait_udp_bound "$port" "$NB" || { fail "receiver not bound"; return; }
	salvo_run -n "$NA" "$TMP/jsend.json" raw send -I veth-a --dst 10.77.0.2 --dport "$port" \
		--size 60-9000 -n 3000 --rate 10k --json -v ||
		{ show "$TMP/jsend.json.err"; fail "raw send exit $?"; return; }
	# This kernel takes PACKET_VNET_HDR: the faster path must be the one in use.
	grep -q "linear copy" "$TMP/jsend.json.err" ||
		{ show "$TMP/jsend.json.err"; fail "af_packet did not report its linear-copy tx path"; return; }
	wait_pid "$rpid" 20000 || { show "$TMP/jrecv.json.err"; fail "udp recv did not finish"; return; }
	tx=$(json_get "$TMP/jsend.json" tx.packets)
	bytes=$(json_get "$TMP/jsend.json" tx.bytes)
	rx=$(json_get "$TMP/jrecv.json" rx.packets)
	[ "$tx" -eq 3000 ] || { fail "sender counted $tx, not 3000"; return; }
	[ "$rx" -eq 3000 ] || { fail "UDP socket received $rx of 3000 frames of 60-9000 B"; return; }
	[ "$(json_get "$TMP/jrecv.json" rx.lost)" -eq 0 ] || { fail "stamps report loss"; return; }
	[ "$(($(link_stat veth-b rx_bytes "$NB") - before))" -eq "$bytes" ] ||
		{ fail "peer counted $(($(link_stat veth-b rx_bytes "$NB") - before)) bytes, sender $bytes"; return; }
}

test_tcpdump_decodes() {
	require_root || return
	setup_pair || return
	local cap=$TMP/raw.pcap n=0 total bad
	# 2k frames/s: tcpdump writing every frame at once (-U) must not drop any
	start_tcpdump "$NB" veth-b "$cap" || return
	# IPv4 UDP, imix, varying addresses and ports
	salvo_run -n "$NA" "$TMP/s1" raw send -I veth-a --dst 10.77.0.2 --src 10.77.0.1-10.77.0.50 \
		--sport rand:1024-65535 --dport 7,9,11 --size imix -n 600 --rate 2k -q || { fail "send 1"; return; }
	# IPv6 UDP with a VLAN tag, random sizes
	salvo_run -n "$NA" "$TMP/s2" raw send -I veth-a --dst fd00::2 --src fd00::1-fd00::ff \
		--dst-mac "$MAC_B" --vlan 42 --vlan-prio 3 --size 100-1200 -n 300 --rate 2k -q ||
		{ show "$TMP/s2.err"; fail "send 2"; return; }
	# IPv4 TCP SYNs
	salvo_run -n "$NA" "$TMP/s3" raw send -I veth-a --dst 10.77.0.2 --tcp-syn --dport 80 --flows 16 \
		--size 60 -n 300 --rate 2k -q || { fail "send 3"; return; }
	stop_tcpdump
	tcpdump -r "$cap" -n -vv -e >"$TMP/decoded" 2>"$TMP/decoded.err" || { show "$TMP/decoded.err"; fail "tcpdump -r failed"; return; }
	total=$(grep -cE '^[0-9]{2}:' "$TMP/decoded")
	[ "$total" -eq 1200 ] || { show "$TMP/tcpdump.out.err"; grep -c vlan "$TMP/decoded"; grep -c "Flags \[S\]" "$TMP/decoded"; fail "tcpdump decoded $total frames, sent 1200"; return; }
	bad=$(grep -ciE 'bad (udp |tcp )?cksum|incorrect|malformed|truncated|\[\|' "$TMP/decoded")
	[ "$bad" -eq 0 ] || { grep -iE 'bad|incorrect|malformed|truncated|\[\|' "$TMP/decoded" | head; fail "$bad malformed/bad-checksum lines"; return; }
	n=$(grep -c 'vlan 42, p 3' "$TMP/decoded")
	[ "$n" -eq 300 ] || { fail "$n frames tagged vlan 42 p 3, expected 300"; return; }
	n=$(grep -cE 'Flags \[S\]' "$TMP/decoded")
	[ "$n" -eq 300 ] || { fail "$n TCP SYNs decoded, expected 300"; return; }
	n=$(grep -cE 'length 1500\)|length 1486\)' "$TMP/decoded")
	[ "$n" -gt 0 ] || { fail "no 1500-byte imix frame decoded"; return; }
}

test_raw_recv_counts() {
	require_root || return
	setup_pair || return
	salvo_bg -n "$NB" "$TMP/rrecv.json" raw recv -I veth-b --count "$N" --json -q -d 30
	local rpid=$SALVO_PID before rx tx drops
	busywait 10000 packet_bound "$rpid" "$NB" veth-b || { show "$TMP/rrecv.json.err"; fail "raw recv never bound veth-b"; return; }
	before=$(rx_b)
	salvo_run -n "$NA" "$TMP/send.json" raw send -I veth-a --dst 10.77.0.2 --size 200 --flows 8 \
		-n "$N" --rate "$RATE" --json || { fail "raw send"; return; }
	finish_recv "$rpid" "$TMP/rrecv.json" || return
	tx=$(json_get "$TMP/send.json" tx.packets)
	rx=$(json_get "$TMP/rrecv.json" rx.packets)
	# A receiver starved on a loaded machine loses frames to its ring: the
	# kernel counts each (kernel.ring_drops), so the sum stays exact.
	drops=$(json_get "$TMP/rrecv.json" kernel.ring_drops) || { fail "no kernel.ring_drops"; return; }
	[ "$tx" -eq "$N" ] && [ $((rx + drops)) -eq "$tx" ] || { fail "raw recv counted $rx + ring drops $drops, sender $tx"; return; }
	[ "$(($(rx_b) - before))" -eq "$N" ] || { fail "peer link counted $(($(rx_b) - before))"; return; }
	[ "$(json_get "$TMP/rrecv.json" rx.unstamped)" -eq 0 ] || { fail "unstamped frames"; return; }
	# It said where it listens: the interface (it has no address to name).
	grep -qx 'salvo: raw recv: listening on veth-b' "$TMP/rrecv.json.err" ||
		{ show "$TMP/rrecv.json.err"; fail "no 'listening on veth-b' line"; return; }
	[ "$(json_get "$TMP/rrecv.json" rx.lost)" -le "$drops" ] || { fail "stamps report loss beyond the kernel's drops"; return; }
	[ "$(json_get "$TMP/rrecv.json" rx.flows)" -eq 8 ] || { fail "expected 8 flows"; return; }
	[ "$(json_get "$TMP/rrecv.json" rx.bytes)" -eq $((rx * 200)) ] || { fail "byte count"; return; }
	# --print: one decoded line per frame
	salvo_bg -n "$NB" "$TMP/print.out" raw recv -I veth-b --count 5 --print -d 20
	rpid=$SALVO_PID
	busywait 10000 packet_bound "$rpid" "$NB" veth-b || { show "$TMP/print.out.err"; fail "raw recv --print never bound veth-b"; return; }
	salvo_run -n "$NA" "$TMP/s" raw send -I veth-a --dst 10.77.0.2 --sport 1234 --dport 5678 --size 100 -n 5 -q ||
		{ fail "send for --print"; return; }
	wait_pid "$rpid" 10000 || { fail "raw recv --print did not finish"; return; }
	[ "$(grep -c "IPv4 10.77.0.1:1234 > 10.77.0.2:5678 UDP len 58 ttl 64 stamp flow 0 seq" "$TMP/print.out")" -eq 5 ] ||
		{ show "$TMP/print.out"; fail "--print lines"; return; }
}

# finish_recv PID OUT: a raw recv --count N that got all N ends by itself; one
# that did not (its ring dropped frames while a loaded machine starved it:
# kernel.ring_drops says how many) gets SIGINT after 15 s and still writes
# its summary.  Fails only if it does not end at all.
finish_recv() {
	busywait 15000 pid_gone "$1" || kill -INT "$1" 2>/dev/null
	wait_pid "$1" 10000 || { show "$2.err"; fail "raw recv did not finish"; return 1; }
}

# The stamp's size, from the header that defines it (another change may move it).
stamp_size() { sed -n 's/^#define SALVO_STAMP_SIZE \([0-9]*\).*/\1/p' "$(dirname "$0")/../../include/salvo/stamp.h"; }

# No --size: the frames carry a whole stamp, so a default run measures loss
# and latency.  Witness for the size: the peer's ip -s link byte counter
# (Ethernet 14 + IPv4 20 + UDP 8 + the stamp, the FCS not counted).
test_default_frame_measures() {
	require_root || return
	setup_pair || return
	local n=2000 ss want before rx drops
	ss=$(stamp_size)
	[ -n "$ss" ] || { fail "no SALVO_STAMP_SIZE in include/salvo/stamp.h"; return; }
	want=$((14 + 20 + 8 + ss))
	[ "$want" -ge 60 ] || want=60
	salvo_bg -n "$NB" "$TMP/drecv.json" raw recv -I veth-b --count "$n" --json -q -d 30
	local rpid=$SALVO_PID
	busywait 10000 packet_bound "$rpid" "$NB" veth-b || { show "$TMP/drecv.json.err"; fail "raw recv never bound veth-b"; return; }
	before=$(link_stat veth-b rx_bytes "$NB")
	salvo_run -n "$NA" "$TMP/dsend.json" raw send -I veth-a --dst 10.77.0.2 -n "$n" --rate 10k --json ||
		{ show "$TMP/dsend.json.err"; fail "raw send exit"; return; }
	finish_recv "$rpid" "$TMP/drecv.json" || return
	[ "$(($(link_stat veth-b rx_bytes "$NB") - before))" -eq $((n * want)) ] ||
		{ fail "peer counted $(($(link_stat veth-b rx_bytes "$NB") - before)) bytes, expected $n x $want"; return; }
	rx=$(json_get "$TMP/drecv.json" rx.packets)
	drops=$(json_get "$TMP/drecv.json" kernel.ring_drops) || { fail "no kernel.ring_drops"; return; }
	# Every frame is received or a drop the kernel counted; the stamps see
	# no loss beyond those drops (none at all when there were none).
	[ $((rx + drops)) -eq "$n" ] || { fail "raw recv counted $rx + ring drops $drops of $n"; return; }
	[ "$(json_get "$TMP/drecv.json" rx.unstamped)" -eq 0 ] || { fail "default frames carry no stamp"; return; }
	[ "$(json_get "$TMP/drecv.json" rx.lost)" -le "$drops" ] ||
		{ fail "stamps report loss $(json_get "$TMP/drecv.json" rx.lost), the kernel dropped $drops"; return; }
	[ "$(json_get "$TMP/drecv.json" latency_ns.count)" -eq "$rx" ] ||
		{ show "$TMP/drecv.json"; fail "latency samples $(json_get "$TMP/drecv.json" latency_ns.count), frames $rx"; return; }
}

# veth takes an 802.1Q tag off into the skb (VLAN offload); raw recv puts it
# back.  Witnesses: the sender's frame sizes (each 100 bytes, tag included)
# and tcpdump's decoding of the same frames on the peer.
test_vlan_tag_restored() {
	require_root || return
	setup_pair || return
	local n=500 rx drops
	start_tcpdump "$NB" veth-b "$TMP/vlan.pcap" || return
	salvo_bg -n "$NB" "$TMP/vrecv.json" raw recv -I veth-b --count "$n" --json -q -d 30
	local rpid=$SALVO_PID
	busywait 10000 packet_bound "$rpid" "$NB" veth-b || { show "$TMP/vrecv.json.err"; fail "raw recv never bound veth-b"; return; }
	salvo_run -n "$NA" "$TMP/vsend" raw send -I veth-a --dst 10.77.0.2 --vlan 42 --vlan-prio 3 --size 100 \
		-n "$n" --rate 5k -q || { show "$TMP/vsend.err"; fail "raw send exit"; return; }
	finish_recv "$rpid" "$TMP/vrecv.json" || return
	stop_tcpdump
	[ "$(tcpdump -r "$TMP/vlan.pcap" -n -e 2>/dev/null | grep -c 'vlan 42, p 3')" -eq "$n" ] ||
		{ fail "tcpdump does not see $n frames tagged vlan 42"; return; }
	rx=$(json_get "$TMP/vrecv.json" rx.packets)
	drops=$(json_get "$TMP/vrecv.json" kernel.ring_drops) || { fail "no kernel.ring_drops"; return; }
	[ $((rx + drops)) -eq "$n" ] || { fail "raw recv counted $rx + ring drops $drops of $n"; return; }
	[ "$rx" -gt 0 ] && [ "$(json_get "$TMP/vrecv.json" rx.bytes)" -eq $((rx * 100)) ] ||
		{ fail "raw recv counted $(json_get "$TMP/vrecv.json" rx.bytes) bytes for $rx frames of 100 (tag lost?)"; return; }
	[ "$(json_get "$TMP/vrecv.json" rx.unstamped)" -eq 0 ] || { fail "stamps not found behind the tag"; return; }
	salvo_bg -n "$NB" "$TMP/vprint.out" raw recv -I veth-b --count 3 --print -d 20
	rpid=$SALVO_PID
	busywait 10000 packet_bound "$rpid" "$NB" veth-b || { fail "raw recv --print never bound veth-b"; return; }
	salvo_run -n "$NA" "$TMP/vs2" raw send -I veth-a --dst 10.77.0.2 --vlan 42 --vlan-prio 3 --size 100 -n 3 -q ||
		{ fail "send for --print"; return; }
	finish_recv "$rpid" "$TMP/vprint.out" || return
	[ "$(grep -c " vlan 42 p 3 IPv4 10.77.0.1:" "$TMP/vprint.out")" -eq 3 ] ||
		{ show "$TMP/vprint.out"; fail "--print does not show the tag"; return; }
}

# lo: no neighbour table, a 64 KiB MTU.  Witnesses: lo's own frame counter
# and a plain UDP socket on 127.0.0.1 in a throw-away namespace.  IPv4 takes
# a frame for 127/8 that did not come from its own output path only with
# route_localnet, and one whose source is a local address with accept_local.
test_send_on_lo() {
	require_root || return
	setup_ns NL || return
	sysctl_ns "$NL" net/ipv4/conf/lo/route_localnet=1 net/ipv4/conf/lo/accept_local=1 || return
	local n=1000 port rx before rc
	port=$(random_port)
	salvo_bg -n "$NL" "$TMP/lrecv.json" udp recv -b syscall "127.0.0.1:$port" --count "$n" --json -q -d 30
	local rpid=$SALVO_PID
	wait_udp_bound "$port" "$NL" || { show "$TMP/lrecv.json.err"; fail "receiver not bound"; return; }
	before=$(link_stat lo rx_packets "$NL")
	salvo_run -n "$NL" "$TMP/lsend.json" raw send -I lo --dst 127.0.0.1 --dport "$port" -n "$n" --rate 10k --json ||
		{ rc=$?; show "$TMP/lsend.json.err"; fail "raw send -I lo exit $rc"; return; }
	wait_pid "$rpid" 20000 || { show "$TMP/lrecv.json.err"; fail "udp recv did not finish"; return; }
	[ "$(($(link_stat lo rx_packets "$NL") - before))" -eq "$n" ] ||
		{ fail "lo counted $(($(link_stat lo rx_packets "$NL") - before)) frames, sent $n"; return; }
	rx=$(json_get "$TMP/lrecv.json" rx.packets)
	[ "$rx" -eq "$n" ] || { fail "UDP socket on lo received $rx of $n"; return; }
	[ "$(json_get "$TMP/lrecv.json" rx.lost)" -eq 0 ] || { fail "stamps report loss"; return; }
}

# Overload with a witness: raw recv is stopped (SIGSTOP) while 40000 frames
# of 1400 bytes arrive, more than its 16 MiB ring holds, so the kernel drops
# the rest (PACKET_STATISTICS).  The quiet peer's rx_packets counts every
# frame: it must equal what salvo received plus the drops its "kernel"
# section reports.  Resumed, it reads what the ring holds, then SIGINT ends it.
test_kernel_ring_drops() {
	require_root || return
	setup_pair || return
	local n=40000 before seen rx drops
	salvo_bg -n "$NB" "$TMP/krecv.json" raw recv -I veth-b --json -q -d 60
	local rpid=$SALVO_PID
	busywait 10000 packet_bound "$rpid" "$NB" veth-b || { show "$TMP/krecv.json.err"; fail "raw recv never bound veth-b"; return; }
	kill -STOP "$rpid"
	before=$(rx_b)
	salvo_run -n "$NA" "$TMP/ksend" raw send -I veth-a --dst 10.77.0.2 --size 1400 -n "$n" -q
	seen=$(($(rx_b) - before))
	kill -CONT "$rpid"
	# It reads what the ring holds in milliseconds; 3 s is a generous bound for that.
	sleep 3
	kill -INT "$rpid"
	wait_pid "$rpid" 30000 || { show "$TMP/krecv.json.err"; fail "raw recv did not finish"; return; }
	rx=$(json_get "$TMP/krecv.json" rx.packets)
	drops=$(json_get "$TMP/krecv.json" kernel.ring_drops) || { show "$TMP/krecv.json"; fail "no kernel.ring_drops"; return; }
	[ "$drops" -gt 0 ] || { fail "no ring drops: the overload did not happen ($rx received)"; return; }
	[ $((rx + drops)) -eq "$seen" ] || { fail "received $rx + ring drops $drops != $seen frames the peer counted"; return; }
	json_get "$TMP/krecv.json" kernel.ring_freezes >/dev/null || { fail "no kernel.ring_freezes"; return; }
}

test_frame_hex_exact() {
	require_root || return
	setup_pair || return
	local cap=$TMP/hex.pcap hex
	# to B's MAC, local experimental ethertype 0x88b5, a text payload, 64 bytes in all
	hex="${MAC_B//:/}${MAC_A//:/}88b5$(printf 'salvo --frame-hex test, exact bytes please!!!!!!!!' | od -An -tx1 | tr -d ' \n')"
	start_tcpdump "$NB" veth-b "$cap" || return
	salvo_run -n "$NA" "$TMP/s" raw send -I veth-a --frame-hex "$hex" -n 3 -q || { show "$TMP/s.err"; fail "send"; return; }
	stop_tcpdump
	python3 - "$cap" "$hex" <<'EOF' || { fail "captured frames differ from --frame-hex"; return; }
import struct, sys
data = open(sys.argv[1], 'rb').read()
want = bytes.fromhex(sys.argv[2])
magic = struct.unpack('<I', data[:4])[0]
end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
off, frames = 24, []
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(end + 'IIII', data[off:off + 16])
    frames.append(data[off + 16:off + 16 + incl])
    off += 16 + incl
got = [f for f in frames if f[12:14] == b'\x88\xb5']
if len(got) != 3 or any(f != want for f in got):
    sys.stderr.write("got %d frames: %r\n" % (len(got), got[:1]))
    sys.exit(1)
EOF
}

test_profile_two_rates() {
	require_root || return
	setup_pair || return
	local port=$(random_port) prof=$TMP/two.json n1 n2
	cat >"$prof" <<EOF
{
  "duration": "3s",
  "streams": [
    { "name": "slow", "type": "raw", "iface": "veth-a", "dst": "10.77.0.2", "dport": $port,
      "sport": 1000, "size": 100, "rate": "2000" },
    { "name": "fast", "type": "raw", "iface": "veth-a", "dst": "10.77.0.2", "dport": $port,
      "sport": 2000, "size": 300, "rate": "6000" }
  ]
}
EOF
	start_tcpdump "$NB" veth-b "$TMP/prof.pcap" || return
	salvo_run -n "$NA" "$TMP/run.json" run "$prof" --json || { show "$TMP/run.json" "$TMP/run.json.err"; fail "salvo run exit"; return; }
	stop_tcpdump
	n1=$(tcpdump -r "$TMP/prof.pcap" -n "udp src port 1000" 2>/dev/null | wc -l)
	n2=$(tcpdump -r "$TMP/prof.pcap" -n "udp src port 2000" 2>/dev/null | wc -l)
	# 3 s at 2000/s and 6000/s, within 2%
	py_cmp "abs($n1 - 6000)" "<=" "6000 * 0.02" || { fail "slow stream delivered $n1 frames in 3 s, expected 6000 +-2%"; return; }
	py_cmp "abs($n2 - 18000)" "<=" "18000 * 0.02" || { fail "fast stream delivered $n2 frames in 3 s, expected 18000 +-2%"; return; }
	[ "$(json_get "$TMP/run.json" streams.0.name)" = slow ] || { fail "report names the streams"; return; }
	[ "$(json_get "$TMP/run.json" streams.1.report.tx.packets)" -eq "$n2" ] ||
		{ fail "fast stream's report counts $(json_get "$TMP/run.json" streams.1.report.tx.packets), capture $n2"; return; }
}

test_needs_cap_net_raw() {
	require_root || return
	setup_pair || return
	command -v capsh >/dev/null || { fail "capsh (libcap2-bin) not installed"; return; }
	ip netns exec "$NA" capsh --drop=cap_net_raw -- -c \
		"exec $SALVO raw send -I veth-a --dst 10.77.0.2 -n 1" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	[ "$rc" -ne 0 ] || { fail "succeeded without CAP_NET_RAW"; return; }
	[ "$(count_lines "$TMP/err")" -eq 1 ] || { show "$TMP/err"; fail "expected one line on stderr"; return; }
	grep -q "CAP_NET_RAW" "$TMP/err" || { show "$TMP/err"; fail "the line does not name CAP_NET_RAW"; return; }
}

test_refuses_without_destination() {
	require_root || return
	setup_pair || return
	local before
	before=$(rx_b)
	salvo_run -n "$NA" "$TMP/o" raw send -I veth-a -n 10 && { fail "ran without --dst"; return; }
	grep -q -- "--dst" "$TMP/o.err" || { show "$TMP/o.err"; fail "error does not say --dst"; return; }
	salvo_run -n "$NA" "$TMP/o" raw send --dst 10.77.0.2 -n 10 && { fail "ran without --iface"; return; }
	grep -q -- "--iface" "$TMP/o.err" || { show "$TMP/o.err"; fail "error does not say --iface"; return; }
	[ "$(rx_b)" -eq "$before" ] || { fail "frames went out"; return; }
}

test_neighbour_unresolved() {
	require_root || return
	setup_pair || return
	salvo_run -n "$NA" "$TMP/o" raw send -I veth-a --dst 10.77.0.99 -n 10 && { fail "ran without a MAC"; return; }
	grep -q "no neighbour entry for 10.77.0.99 on veth-a" "$TMP/o.err" && grep -q -- "--dst-mac" "$TMP/o.err" ||
		{ show "$TMP/o.err"; fail "error does not say how to fix it"; return; }
}

# write_pcap FILE PORT SPEC: a microsecond pcap of UDP frames A -> B (10.77.0.1
# -> 10.77.0.2:PORT, the quiet pair's MACs). SPEC: "sec.usec,sec.usec,...",
# one frame per timestamp; CUT=1 cuts the last record in half, as a killed
# tcpdump leaves it.
write_pcap() {
	MAC_A=$MAC_A MAC_B=$MAC_B python3 - "$@" <<'PY'
import os, socket, struct, sys
path, port, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
def frame(i):
    payload = b"salvo-pcap-%04d" % i + bytes(30)
    udp = struct.pack("!HHHH", 1000, port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                     socket.inet_aton("10.77.0.1"), socket.inet_aton("10.77.0.2"))
    s = sum(struct.unpack("!10H", ip))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
    return mac(os.environ["MAC_B"]) + mac(os.environ["MAC_A"]) + b"\x08\x00" + ip + udp
out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
for i, ts in enumerate(spec.split(",")):
    sec, usec = ts.split(".")
    f = frame(i)
    out += struct.pack("<IIII", int(sec), int(usec), len(f), len(f)) + f
if os.environ.get("CUT") == "1":
    out = out[:-(len(f) // 2)]
open(path, "wb").write(out)
PY
}

# Capture timing with a 2e9 s step back and a one-hour gap: the frames before
# the gap go out (the backwards one right after its predecessor), the wait
# for the gap ends at --duration with a summary, and the peer's counter (the
# witness) saw exactly those frames.
test_pcap_gaps_bounded() {
	require_root || return
	setup_pair || return
	local cap=$TMP/gaps.pcap before after t0 t1 tx rc
	# 0, +1 ms, back 2e9 s, +1 ms, +1 hour
	write_pcap "$cap" 9 "2000000100.000000,2000000100.001000,100.000000,100.001000,3700.001000" || return
	before=$(rx_b)
	t0=$(date +%s%3N)
	salvo_run -n "$NA" "$TMP/send.json" raw send -I veth-a --pcap "$cap" --pcap-timing -d 2s --json
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/send.json.err"; fail "raw send exit $rc"; return; }
	t1=$(date +%s%3N)
	[ $((t1 - t0)) -lt 10000 ] || { fail "-d 2s with a 1-hour gap took $((t1 - t0)) ms"; return; }
	tx=$(json_get "$TMP/send.json" tx.packets) || { fail "no JSON summary"; return; }
	sleep 0.3
	after=$(rx_b)
	[ "$tx" -eq 4 ] || { fail "sent $tx frames, want the 4 before the gap"; return; }
	[ $((after - before)) -eq 4 ] || fail "peer received $((after - before)) frames, want 4"
}

# A capture whose last record is cut (its writer killed mid-write): the
# complete frames are replayed, and stderr says a cut record was left out.
test_pcap_cut_record() {
	require_root || return
	setup_pair || return
	local cap=$TMP/cut.pcap before after tx rc
	CUT=1 write_pcap "$cap" 9 "1.000000,1.000010,1.000020,1.000030,1.000040" || return
	before=$(rx_b)
	salvo_run -n "$NA" "$TMP/send.json" raw send -I veth-a --pcap "$cap" -n 8 --json
	rc=$?
	[ "$rc" -eq 0 ] || { show "$TMP/send.json.err"; fail "raw send exit $rc on a capture with a cut last record"; return; }
	grep -q "cut short" "$TMP/send.json.err" || { show "$TMP/send.json.err"; fail "no word of the cut record"; return; }
	tx=$(json_get "$TMP/send.json" tx.packets) || { fail "no JSON summary"; return; }
	sleep 0.3
	after=$(rx_b)
	[ "$tx" -eq 8 ] || { fail "sent $tx, want 8 (two loops of the 4 complete frames)"; return; }
	[ $((after - before)) -eq 8 ] || fail "peer received $((after - before)) frames, want 8"
}

# libpcap's own errors name the file the user gave.
test_pcap_error_names_file() {
	require_root || return
	setup_pair || return
	local bad=$TMP/not-a-capture.pcap
	printf 'this is not a capture file at all\n' >"$bad"
	salvo_run -n "$NA" "$TMP/send.txt" raw send -I veth-a --pcap "$bad" -n 1
	[ $? -ne 0 ] || { fail "a non-capture was accepted"; return; }
	[ "$(wc -l <"$TMP/send.txt.err")" -eq 1 ] || { show "$TMP/send.txt.err"; fail "not one line"; return; }
	grep -qF "$bad" "$TMP/send.txt.err" || { show "$TMP/send.txt.err"; fail "error does not name the file"; }
}

# --qdisc (and a profile's "qdisc": true) sends through the interface's
# qdisc, the default bypasses it.  Witness: the sent-packets counter of a
# pfifo qdisc put on veth-a for the test (veth has none by default).
qdisc_sent() { tc -n "$NA" -s -j qdisc show dev veth-a | python3 -c '
import json, sys
print(sum(q.get("packets", 0) for q in json.load(sys.stdin) if q.get("kind") == "pfifo"))'; }

test_qdisc_flag() {
	require_root || return
	setup_pair || return
	local port=$(random_port) n=500 q0 q1 q2 q3 prof=$TMP/q.json
	tc -n "$NA" qdisc add dev veth-a root pfifo limit 10000 || { fail "tc qdisc add"; return; }
	q0=$(qdisc_sent)
	salvo_run -n "$NA" "$TMP/s1.json" raw send -I veth-a --dst 10.77.0.2 --dport "$port" \
		-n "$n" --rate 10k --json || { show "$TMP/s1.json.err"; fail "raw send exit"; return; }
	q1=$(qdisc_sent)
	[ "$((q1 - q0))" -eq 0 ] || { fail "default send went through the qdisc ($((q1 - q0)) packets)"; return; }
	salvo_run -n "$NA" "$TMP/s2.json" raw send -I veth-a --dst 10.77.0.2 --dport "$port" \
		-n "$n" --rate 10k --qdisc --json || { show "$TMP/s2.json.err"; fail "raw send --qdisc exit"; return; }
	q2=$(qdisc_sent)
	[ "$((q2 - q1))" -eq "$n" ] || { fail "--qdisc: the qdisc sent $((q2 - q1)) of $n"; return; }
	cat >"$prof" <<EOF
{ "streams": [ { "type": "raw", "iface": "veth-a", "dst": "10.77.0.2", "dport": $port,
  "count": $n, "rate": "10k", "qdisc": true } ] }
EOF
	salvo_run -n "$NA" "$TMP/run.json" run "$prof" --json || { show "$TMP/run.json.err"; fail "salvo run exit"; return; }
	q3=$(qdisc_sent)
	[ "$((q3 - q2))" -eq "$n" ] || { fail "profile qdisc: the qdisc sent $((q3 - q2)) of $n"; return; }
}

for t in $TESTS; do run_test "$t"; done
exit "$RET"
