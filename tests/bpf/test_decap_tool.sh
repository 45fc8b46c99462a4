#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# test_decap_tool.sh - xlb-decap in throwaway network namespaces: attach,
# status (text and JSON), real tunnelled traffic (IPv4-in-IPv4, IPv6-in-IPv6,
# IPv4-in-IPv6) reaching a UDP socket on the VIP, check (failing, then
# passing after the fixes it names), re-attach (counters kept, local
# addresses re-read), refusal of a foreign XDP program, detach.
#
# Usage: bash tests/bpf/test_decap_tool.sh BUILD_DIR
# Prints PASS/FAIL per step; exit 0, 1, or 77 (SKIPPED) when not root.
set -u

build=${1:?usage: test_decap_tool.sh BUILD_DIR}
tool=$build/xlb-decap

skip() { echo "SKIPPED: test_decap_tool: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, XDP)"
command -v ip >/dev/null || skip "needs iproute2"
[ -x "$tool" ] || { echo "FAIL: $tool not built"; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || skip "needs python3"

id=$$-$RANDOM
BE=xdt-be-$id
LB=xdt-lb-$id
tmp=$(mktemp -d /tmp/xdt.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	ip netns del "$BE" 2>/dev/null
	ip netns del "$LB" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

be() { ip netns exec "$BE" "$@"; }
lb() { ip netns exec "$LB" "$@"; }

# run NAME WANT_RC CMD...: run in the backend namespace, keep the output in
# $out, check the exit code.
run() {
	local name=$1 want=$2 rc
	shift 2
	out=$(be "$tool" "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		pass "$name (exit $rc)"
	else
		fail "$name: exit $rc, expected $want; output:"
		echo "$out" | sed 's/^/    /'
	fi
}
has() { # has NAME PATTERN: the last output contains PATTERN
	if grep -qE -- "$2" <<<"$out"; then
		pass "$1"
	else
		fail "$1: no '$2' in:"
		echo "$out" | sed 's/^/    /'
	fi
}
json() { # json NAME PYTHON-EXPR: evaluate on the last output, as d
	if $py -c "import json,sys; d=json.loads(sys.stdin.read()); sys.exit(0 if ($2) else 1)" <<<"$out"; then
		pass "$1"
	else
		fail "$1: JSON does not satisfy '$2':"
		echo "$out" | sed 's/^/    /'
	fi
}

# ---- topology: LB --veth-- backend; VIPs on the backend's lo ----
VIP4=203.0.113.10
VIP6=2001:db8::10
ip netns add "$BE" && ip netns add "$LB" || { echo "FAIL: netns"; exit 1; }
ip -n "$BE" link add xdbe type veth peer name xdlb netns "$LB" ||
	{ echo "FAIL: veth"; exit 1; }
ip -n "$BE" link set lo up
ip -n "$LB" link set lo up
ip -n "$BE" addr add 198.51.100.11/24 dev xdbe
ip -n "$BE" addr add 2001:db8:2::11/64 dev xdbe nodad
ip -n "$LB" addr add 198.51.100.1/24 dev xdlb
ip -n "$LB" addr add 2001:db8:2::1/64 dev xdlb nodad
ip -n "$BE" link set xdbe up
ip -n "$LB" link set xdlb up
ip -n "$BE" addr add $VIP4/32 dev lo
ip -n "$BE" addr add $VIP6/128 dev lo nodad
ip -n "$BE" route add default via 198.51.100.1
ip -n "$BE" -6 route add default via 2001:db8:2::1
be_mac=$(be cat /sys/class/net/xdbe/address)
lb_mac=$(lb cat /sys/class/net/xdlb/address)

# ---- before attach ----
run "status, nothing attached" 0 status
has "status says nothing attached" "not attached to any interface"
run "status IFNAME, nothing attached" 1 status xdbe
run "check before attach fails" 1 check xdbe --vip $VIP4
has "check names the missing attachment" "^FAIL +attached .*fix: xlb-decap attach xdbe"
run "attach to a missing interface" 1 attach nosuch0
has "error names interface and cause" "nosuch0: no such interface"
run "bad --vip is a usage error" 2 attach xdbe --vip 203.0.113.300
run "unknown command is a usage error" 2 frobnicate
run "--help" 0 --help
has "--help lists every command" "attach IFNAME.*"
run "detach when nothing attached" 0 detach xdbe
has "detach says nothing to do" "nothing to do"

# ---- a foreign XDP program is refused, never replaced ----
if command -v clang >/dev/null; then
	cat >"$tmp/other.c" <<'EOC'
#include <linux/bpf.h>
__attribute__((section("xdp"), used)) int other_prog(struct xdp_md *c)
{
	return XDP_PASS;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
EOC
	if clang -O2 -target bpf -I/usr/include/x86_64-linux-gnu \
		-c "$tmp/other.c" -o "$tmp/other.o" 2>/dev/null &&
	   ip -n "$BE" link set dev xdbe xdpgeneric obj "$tmp/other.o" sec xdp; then
		run "attach over a foreign program is refused" 1 attach xdbe
		has "refusal names the other program" "another XDP program, 'other_prog'"
		run "detach leaves a foreign program" 1 detach xdbe
		run "check names the foreign program" 1 check xdbe
		has "check finding for the foreign program" "FAIL +attached .*other_prog"
		ip -n "$BE" link set dev xdbe xdpgeneric off
	else
		echo "NOTE: could not build/attach a foreign XDP program; refusal not tested"
	fi
fi

# ---- attach with VIPs ----
run "attach --vip" 0 attach xdbe --vip $VIP4 --vip $VIP6
has "attach reports mode and VIP count" "xdbe: xlb-decap attached, native mode.*1 IPv4, 1 IPv6"
run "status" 0 status
has "status shows the interface" "^xdbe: xlb-decap attached, native, program id [0-9]+"
has "status shows the VIPs" "VIPs: +2: .*$VIP4"
has "status shows counter groups" "decapsulated: +0 \(v4in4 0, v6in6 0, v4in6 0\)"
run "status --json" 0 status xdbe --json
json "status JSON fields" "d['interfaces'][0]['interface']=='xdbe' and d['interfaces'][0]['mode']=='native' and d['interfaces'][0]['vip_source']=='configured' and sorted(d['interfaces'][0]['vips'])==sorted(['$VIP4','$VIP6']) and d['interfaces'][0]['counters']['decap_v4in4']==0"
# The attachment outlives the tool: the tool has exited, the program stays.
if ip -n "$BE" link show xdbe | grep -q "prog/xdp id"; then
	pass "program stays attached after the tool exits"
else
	fail "no XDP program on xdbe after attach"
fi

# ---- real traffic: tunnelled UDP reaches a socket bound to the VIP ----
cat >"$tmp/recv.py" <<'EOP'
import socket, sys
out, ready = sys.argv[1], sys.argv[2]
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.bind(("203.0.113.10", 7777))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.bind(("2001:db8::10", 7777))
open(ready, "w").close()
import select
got = []
while len(got) < 3:
    r, _, _ = select.select([s4, s6], [], [], 5)
    if not r:
        break
    for s in r:
        got.append(s.recv(2048).decode())
open(out, "w").write("\n".join(got) + "\n")
EOP
cat >"$tmp/send.py" <<'EOP'
import socket, struct, sys
ifname, dmac, smac = sys.argv[1], sys.argv[2], sys.argv[3]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000,
                    64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
def ip6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload
def udp4(src, dst, data):
    u = struct.pack("!HHHH", 40000, 7777, 8 + len(data), 0) + data
    return ip4(src, dst, 17, u)
def udp6(src, dst, data):
    u = struct.pack("!HHHH", 40000, 7777, 8 + len(data), 0) + data
    ph = (socket.inet_pton(socket.AF_INET6, src) +
          socket.inet_pton(socket.AF_INET6, dst) +
          struct.pack("!IxxxB", len(u), 17))
    c = csum(ph + u) or 0xffff
    return ip6(src, dst, 17, u[:6] + struct.pack("!H", c) + u[8:])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
eth = lambda t: mac(dmac) + mac(smac) + struct.pack("!H", t)
s.send(eth(0x0800) + ip4("198.51.100.1", "198.51.100.11", 4,
       udp4("192.0.2.77", "203.0.113.10", b"v4in4")))
s.send(eth(0x86dd) + ip6("2001:db8:2::1", "2001:db8:2::11", 41,
       udp6("2001:db8:c::77", "2001:db8::10", b"v6in6")))
s.send(eth(0x86dd) + ip6("2001:db8:2::1", "2001:db8:2::11", 4,
       udp4("192.0.2.77", "203.0.113.10", b"v4in6")))
EOP
be "$py" "$tmp/recv.py" "$tmp/got" "$tmp/ready" &
pids+=($!)
for _ in $(seq 50); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
lb "$py" "$tmp/send.py" xdlb "$be_mac" "$lb_mac" || fail "sending tunnelled packets"
wait "${pids[-1]}" 2>/dev/null
for w in v4in4 v6in6 v4in6; do
	if grep -qx "$w" "$tmp/got" 2>/dev/null; then
		pass "$w packet reached the VIP's socket"
	else
		fail "$w packet did not reach the VIP's socket (got: $(tr '\n' ' ' <"$tmp/got" 2>/dev/null))"
	fi
done
run "status --json after traffic" 0 status xdbe --json
json "counters count the three tunnels" "d['interfaces'][0]['counters']['decap_v4in4']==1 and d['interfaces'][0]['counters']['decap_v6in6']==1 and d['interfaces'][0]['counters']['decap_v4in6']==1 and d['interfaces'][0]['decapsulated']==3 and d['interfaces'][0]['dropped']==0"

# ---- check: fails on a fresh namespace, passes after the named fixes ----
run "check, host not prepared" 1 check xdbe --vip $VIP4
has "check: arp_ignore finding with fix" "^FAIL +arp_ignore .*fix: sysctl -w net.ipv4.conf.all.arp_ignore=1"
has "check: arp_announce finding with fix" "^FAIL +arp_announce .*fix: sysctl -w net.ipv4.conf.all.arp_announce=2"
has "check: MTU finding names the MSS" "^FAIL +mtu .*MTU of xdbe is 1500, below 1540.*MSS .* 1420 \(IPv4\) / 1400 \(IPv6\)"
has "check: VIP on lo passes" "^ok +vip +VIP $VIP4 is on lo"
has "check: attached passes" "^ok +attached "
be sysctl -qw net.ipv4.conf.all.rp_filter=1
run "check, strict rp_filter" 1 check xdbe --vip $VIP4
has "check: rp_filter finding with fix" "^FAIL +rp_filter .*fix: sysctl -w net.ipv4.conf.all.rp_filter=2"
be sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.xdbe.rp_filter=0
be sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
ip -n "$LB" link set xdlb mtu 1540
ip -n "$BE" link set xdbe mtu 1540
run "check, host prepared" 0 check xdbe --vip $VIP4 --vip $VIP6
has "no failing finding" "^ok +mtu "
run "check --json" 0 check --json --vip $VIP4
json "check JSON" "d['ok'] is True and all(f['status']=='ok' for f in d['findings']) and any(f['check']=='arp_ignore' for f in d['findings'])"
run "check of a VIP missing from the host" 1 check xdbe --vip 203.0.113.99
has "missing VIP: fix names lo" "FAIL +vip .*fix: ip addr add 203.0.113.99/32 dev lo"
has "missing VIP: not in the map either" "FAIL +vip_map .*203.0.113.99"

# ---- attach again: local addresses, counters kept, no detach ----
run "attach again, local addresses" 0 attach xdbe
has "second attach replaces" "xlb-decap replaced, native mode.*local addresses"
run "status --json after re-attach" 0 status xdbe --json
json "counters kept, local VIPs" "d['interfaces'][0]['counters']['decap_v4in4']==1 and d['interfaces'][0]['vip_source']=='local' and '198.51.100.11' in d['interfaces'][0]['vips'] and '$VIP4' in d['interfaces'][0]['vips']"
ip -n "$BE" addr add 203.0.113.20/32 dev lo
run "address added after attach is reported" 1 check xdbe --vip 203.0.113.20
has "finding says re-attach" "FAIL +vip_map .*added after attach; fix: xlb-decap attach xdbe"
run "attach re-reads local addresses" 0 attach xdbe
run "check after re-attach" 0 check xdbe --vip 203.0.113.20

# ---- modes ----
run "attach --xdp-mode generic" 0 attach xdbe --xdp-mode generic
run "status generic" 0 status xdbe --json
json "mode generic" "d['interfaces'][0]['mode']=='generic'"
run "attach --xdp-mode native" 0 attach xdbe --xdp-mode native
run "status native" 0 status xdbe --json
json "mode native, counters still kept" "d['interfaces'][0]['mode']=='native' and d['interfaces'][0]['counters']['decap_v4in4']==1"

# ---- detach ----
run "detach" 0 detach xdbe
has "detach reports" "xdbe: xlb-decap detached"
if ip -n "$BE" link show xdbe | grep -q "prog/xdp"; then
	fail "an XDP program is still on xdbe"
else
	pass "no XDP program left on xdbe"
fi
run "status after detach" 1 status xdbe
has "status says not attached" "xdbe: xlb-decap not attached"
run "detach twice is harmless" 0 detach xdbe

if [ "$fails" -ne 0 ]; then
	echo "test_decap_tool: $fails FAILED"
	exit 1
fi
echo "test_decap_tool: all passed"
exit 0
