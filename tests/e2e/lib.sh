# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# tests/e2e/lib.sh - shared helpers of the end-to-end tests and the demo.
# Source it, then call xe_init BUILD_DIR TESTNAME.
#
# Topology (docs/e2e.md has the picture): every name carries the shell's
# PID, so parallel runs and leftovers of a killed run never collide.
#
#   client ns "xeN-cli"   c0  192.0.2.2/26        2001:db8:1::2/64
#        |
#   router ns "xeN-rtr"   r-cli 192.0.2.1/26      2001:db8:1::1/64
#                         r-lb  192.0.2.65/26     2001:db8:2::1/64  (xdp_pass)
#                         br0   198.51.100.1/24   2001:db8:20::1/64
#                           ports r-b1 r-b2 r-b3
#        |                            |
#   LB ns "xeN-lb"  l0 192.0.2.66/26, 2001:db8:2::2/64; xlbd's XDP on l0
#   backend ns "xeN-bK" e0 198.51.100.1K/24, 2001:db8:20::1K/64;
#                        VIPs on lo; xlb-decap on e0; xlbsrv.py "bK"
#
# The router sends the VIPs (203.0.113.0/24, 2001:db8:10::/64) to the LB;
# the LB tunnels each packet to a backend through the router (XDP_TX on
# l0, which is why r-lb carries an XDP program); the backend decapsulates
# and answers the client directly through the router (DSR).
#
# Everything started is recorded and killed by the EXIT trap, which also
# stops xlbd, runs `xlbd --teardown` and deletes the namespaces; INT and
# TERM go through the same path.

XE_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XE_TOOLS=$XE_LIB_DIR/tools

# documentation addresses used everywhere
VIP4=203.0.113.10        # IPv4 VIP, IPv4 backends (IPv4-in-IPv4)
VIP46=203.0.113.11       # IPv4 VIP, IPv6 backends (IPv4-in-IPv6)
VIP6=2001:db8:10::10     # IPv6 VIP, IPv6 backends (IPv6-in-IPv6)
CLI4=192.0.2.2
CLI6=2001:db8:1::2
LB4=192.0.2.66
LB6=2001:db8:2::2
BE4=(198.51.100.11 198.51.100.12 198.51.100.13)
BE6=(2001:db8:20::11 2001:db8:20::12 2001:db8:20::13)
XE_LB_IF=l0

XE_FAILS=0
XE_PIDS=()
XE_XLBD_PID=
XE_QUIET=${XE_QUIET:-0}

# ---- reporting ----

xe_log() { [ "$XE_QUIET" = 1 ] || echo "# $*"; }
ok() { [ "$XE_QUIET" = 1 ] || echo "ok: $*"; }
fail() {
	echo "FAIL: $*"
	XE_FAILS=$((XE_FAILS + 1))
}
skip() {
	echo "SKIPPED: ${XE_NAME:-e2e}: $*"
	exit 77
}
# die MSG: a failure after which the test cannot go on
die() {
	fail "$*"
	xe_finish
}
# check DESC CMD...: ok when CMD succeeds, else a failure
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}
xe_finish() {
	if [ "$XE_FAILS" -eq 0 ]; then
		echo "PASS: $XE_NAME (${SECONDS}s)"
		exit 0
	fi
	if [ -s "${XE_T:-/nonexistent}/xlbd.log" ]; then
		echo "--- last lines of xlbd's log ---"
		tail -n 40 "$XE_T/xlbd.log"
	fi
	echo "FAIL: $XE_NAME: $XE_FAILS failure(s) (${SECONDS}s)"
	exit 1
}

# ---- time and waiting ----

now_ms() { echo $(($(date +%s%N) / 1000000)); }
now_s() { date +%s.%N; }
# past T: the wall clock is at or after T (seconds, fractional)
past() { awk -v t="$1" -v n="$(now_s)" 'BEGIN { exit !(n >= t) }'; }

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds or the
# deadline passes (status 1)
wait_until() {
	local limit=$1 end
	shift
	end=$(($(now_ms) + ${limit%.*} * 1000))
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# ---- JSON (python, so no jq is needed) ----

# jq_py EXPR [FILE]: evaluate a python expression over the JSON document d
# (from FILE or stdin) and print the result (JSON for lists and dicts)
jq_py() {
	"$XE_PY" -c '
import json, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
src = open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin
d = json.load(src)
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (list, dict, bool)) or r is None else r)
' "$@"
}

# ---- setup ----

# xe_init BUILD_DIR NAME: checks, names, the EXIT trap
xe_init() {
	XE_BUILD=${1:-}
	XE_NAME=$2
	SECONDS=0
	[ -n "$XE_BUILD" ] || {
		echo "usage: $0 BUILD_DIR"
		exit 2
	}
	XE_BUILD=$(cd "$XE_BUILD" 2>/dev/null && pwd) ||
		{ echo "FAIL: $XE_NAME: no build directory $1"; exit 1; }
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, XDP)"
	local c
	for c in ip nsenter ethtool; do
		command -v "$c" >/dev/null || skip "needs $c"
	done
	# the system's python3 (stdlib only) starts fastest; PYTHON overrides
	XE_PY=${PYTHON:-}
	[ -n "$XE_PY" ] || { [ -x /usr/bin/python3 ] && XE_PY=/usr/bin/python3; } ||
		XE_PY=$(command -v python3) || skip "needs python3"
	XLBD=$XE_BUILD/xlbd
	XLBCTL=$XE_BUILD/xlbctl
	XLBDECAP=$XE_BUILD/xlb-decap
	for c in "$XLBD" "$XLBCTL" "$XLBDECAP"; do
		[ -x "$c" ] || { echo "FAIL: $XE_NAME: $c not built"; exit 1; }
	done
	XE_ID=xe$$
	XE_T=/tmp/$XE_ID
	XE_BPFFS=/sys/fs/bpf/$XE_ID
	XE_SOCK=$XE_T/xlbd.sock
	NS_CLI=$XE_ID-cli
	NS_RTR=$XE_ID-rtr
	NS_LB=$XE_ID-lb
	NS_B=("$XE_ID-b1" "$XE_ID-b2" "$XE_ID-b3")
	trap xe_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	rm -rf "$XE_T"
	mkdir -p "$XE_T"
	# a freshly booted host has no BPF filesystem
	if ! mount | grep -q ' /sys/fs/bpf type bpf '; then
		mount -t bpf bpf /sys/fs/bpf || skip "cannot mount bpffs at /sys/fs/bpf"
	fi
	xe_log "$XE_NAME: work dir $XE_T, namespaces $XE_ID-*"
}

# xe_kill_all: stop every process this test started, by recorded PID
xe_kill_all() {
	local p i alive
	for p in "${XE_PIDS[@]}" $XE_XLBD_PID; do
		kill -TERM "$p" 2>/dev/null
	done
	for i in $(seq 40); do
		alive=0
		for p in "${XE_PIDS[@]}" $XE_XLBD_PID; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.05
	done
	for p in "${XE_PIDS[@]}" $XE_XLBD_PID; do
		kill -KILL "$p" 2>/dev/null
	done
	XE_PIDS=()
	XE_XLBD_PID=
}

# xe_topo_destroy: processes, xlbd's pinned state, namespaces
xe_topo_destroy() {
	local ns
	xe_kill_all
	if [ -n "${XE_BPFFS:-}" ] && [ -e "$XE_BPFFS" ]; then
		if [ -e "/run/netns/$NS_LB" ]; then
			nsenter --net="/run/netns/$NS_LB" -- "$XLBD" --teardown \
				--bpffs "$XE_BPFFS" >>"$XE_T/teardown.log" 2>&1
		else
			"$XLBD" --teardown --bpffs "$XE_BPFFS" >>"$XE_T/teardown.log" 2>&1
		fi
		rm -rf "$XE_BPFFS"
	fi
	for ns in "${NS_B[@]}" "$NS_LB" "$NS_RTR" "$NS_CLI"; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done
}

xe_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	xe_topo_destroy
	if [ "${XE_KEEP:-0}" = 1 ] || { [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ "${XE_KEEP_ON_FAIL:-0}" = 1 ]; }; then
		echo "# kept $XE_T"
	else
		[ -n "${XE_T:-}" ] && rm -rf "$XE_T"
	fi
	exit "$rc"
}

# nsx NS CMD...: run CMD in namespace NS. nsenter, not `ip netns exec`:
# that one remounts /sys and would hide the host's BPF filesystem.
nsx() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# bg NAME NS CMD...: start CMD in NS in the background, output in
# $XE_T/NAME.log; its PID is recorded for cleanup and left in $BG_PID
bg() {
	local name=$1 ns=$2
	shift 2
	nsenter --net="/run/netns/$ns" -- "$@" >"$XE_T/$name.log" 2>&1 &
	BG_PID=$!
	XE_PIDS+=("$BG_PID")
}

# stop_pid PID: SIGTERM and wait for it (it is our child)
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

xe_ns_add() {
	ip netns add "$1" || die "cannot create namespace $1"
	nsx "$1" ip link set lo up
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# xe_veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, up, with
# checksum offload off (XDP_TX/REDIRECT drops partial checksums) and GRO
# off (no aggregates reach an XDP program)
xe_veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" ||
		die "cannot create veth $1/$2 - $3/$4"
	local pair
	for pair in "$1 $2" "$3 $4"; do
		set -- $pair
		nsx "$1" ethtool -K "$2" tx off gro off gso off tso off >/dev/null 2>&1
		ip -n "$1" link set "$2" up
	done
}

addr() { ip -n "$1" addr add "$3" dev "$2" nodad 2>/dev/null || ip -n "$1" addr add "$3" dev "$2"; }

# a do-nothing XDP program for the router's LB-facing veth: frames that the
# LB sends with XDP_TX reach a veth peer only if the peer runs XDP
xe_xdp_pass_obj() {
	local o=$XE_T/xdp_pass.o
	command -v clang >/dev/null || return 1
	cat >"$XE_T/xdp_pass.c" <<'EOF'
#include <linux/bpf.h>
__attribute__((section("xdp.frags"), used))
int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] __attribute__((section("license"), used)) = "Dual BSD/GPL";
EOF
	clang -O2 -g -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu \
		-c "$XE_T/xdp_pass.c" -o "$o" 2>"$XE_T/xdp_pass.err" || return 1
	echo "$o"
}

# xe_topo_create: the namespaces, links, addresses, routes and the backend
# side (VIPs on lo, ARP/rp_filter settings, xlb-decap)
xe_topo_create() {
	local i ns
	for ns in "$NS_CLI" "$NS_RTR" "$NS_LB" "${NS_B[@]}"; do
		xe_ns_add "$ns"
	done
	nsx "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1

	xe_veth "$NS_CLI" c0 "$NS_RTR" r-cli
	addr "$NS_CLI" c0 $CLI4/26
	addr "$NS_CLI" c0 $CLI6/64
	addr "$NS_RTR" r-cli 192.0.2.1/26
	addr "$NS_RTR" r-cli 2001:db8:1::1/64
	ip -n "$NS_CLI" route add default via 192.0.2.1
	ip -n "$NS_CLI" -6 route add default via 2001:db8:1::1

	xe_veth "$NS_LB" $XE_LB_IF "$NS_RTR" r-lb
	addr "$NS_LB" $XE_LB_IF $LB4/26
	addr "$NS_LB" $XE_LB_IF $LB6/64
	addr "$NS_RTR" r-lb 192.0.2.65/26
	addr "$NS_RTR" r-lb 2001:db8:2::1/64
	ip -n "$NS_LB" route add default via 192.0.2.65
	# the data plane resolves next hops with bpf_fib_lookup, which answers
	# "forwarding disabled" unless forwarding is on (README, "LB host")
	nsx "$NS_LB" sysctl -qw net.ipv4.conf.$XE_LB_IF.forwarding=1 \
		net.ipv6.conf.all.forwarding=1
	ip -n "$NS_LB" -6 route add default via 2001:db8:2::1
	ip -n "$NS_RTR" route add 203.0.113.0/24 via $LB4
	ip -n "$NS_RTR" -6 route add 2001:db8:10::/64 via $LB6

	local obj
	if obj=$(xe_xdp_pass_obj); then
		ip -n "$NS_RTR" link set dev r-lb xdpdrv obj "$obj" sec xdp.frags ||
			die "cannot attach xdp_pass to the router's r-lb"
	else
		# no clang: xlb-decap passes everything that is not a tunnel to
		# one of its VIPs, and no tunnel here is for 192.0.2.127
		nsx "$NS_RTR" "$XLBDECAP" attach r-lb --vip 192.0.2.127 >/dev/null ||
			die "cannot attach an XDP program to the router's r-lb"
	fi

	ip -n "$NS_RTR" link add br0 type bridge stp_state 0 mcast_snooping 0 ||
		die "cannot create the router's bridge"
	ip -n "$NS_RTR" link set br0 up
	addr "$NS_RTR" br0 198.51.100.1/24
	addr "$NS_RTR" br0 2001:db8:20::1/64
	for i in 0 1 2; do
		ns=${NS_B[$i]}
		xe_veth "$ns" e0 "$NS_RTR" r-b$((i + 1))
		ip -n "$NS_RTR" link set r-b$((i + 1)) master br0
		addr "$ns" e0 ${BE4[$i]}/24
		addr "$ns" e0 ${BE6[$i]}/64
		ip -n "$ns" route add default via 198.51.100.1
		ip -n "$ns" -6 route add default via 2001:db8:20::1
		# the VIPs on lo; never answer ARP for them; the inner source
		# (the client) does not route back through e0's subnet
		addr "$ns" lo $VIP4/32
		addr "$ns" lo $VIP46/32
		addr "$ns" lo $VIP6/128
		nsx "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2 \
			net.ipv4.conf.e0.arp_ignore=1 net.ipv4.conf.e0.arp_announce=2 \
			net.ipv4.conf.e0.rp_filter=0
		nsx "$ns" "$XLBDECAP" attach e0 --vip $VIP4 --vip $VIP46 --vip $VIP6 \
			>"$XE_T/decap-b$((i + 1)).log" 2>&1 ||
			die "xlb-decap attach on b$((i + 1)): $(cat "$XE_T/decap-b$((i + 1)).log")"
	done
	for i in r-cli r-lb br0 r-b1 r-b2 r-b3; do
		nsx "$NS_RTR" sysctl -qw net.ipv4.conf.$i.rp_filter=0
	done
	xe_log "topology up: client, router, LB, 3 backends"
}

# ---- backend servers ----

# srv_start K: xlbsrv.py "bK" in backend K's namespace (K = 1..3)
srv_start() {
	local k=$1 ready=$XE_T/srv-b$1.ready
	rm -f "$ready"
	bg srv-b$k "${NS_B[$((k - 1))]}" "$XE_PY" "$XE_TOOLS/xlbsrv.py" \
		--name b$k --tcp-port 80 --udp $VIP4:53 --udp $VIP46:53 \
		--udp "[$VIP6]:53" --ready "$ready" --stats "$XE_T/srv-b$k.stats"
	eval "SRV_PID_$k=$BG_PID"
	wait_until 10 test -s "$ready" || die "server b$k did not start: $(cat "$XE_T/srv-b$k.log")"
}
# srv_stop K [SIGNAL]: stop server K (SIGTERM writes its counters)
srv_stop() {
	local pid
	eval "pid=\${SRV_PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "SRV_PID_$1="
}
# srv_start_all: the three servers, then a check of the plumbing before any
# VIP is involved: the client reaches each backend's own addresses
srv_start_all() {
	local i r
	srv_start 1
	srv_start 2
	srv_start 3
	for i in 0 1 2; do
		for r in ${BE4[$i]} ${BE6[$i]}; do
			wait_until 5 eval 'cli tcp $r 80 -n 1 --timeout 1 | grep -q "\"ok\": 1"' ||
				die "topology: the client cannot reach backend $r directly"
		done
	done
}

# ---- client ----

# cli MODE ARGS...: run xlbcli.py in the client namespace, JSON on stdout
cli() { nsx "$NS_CLI" "$XE_PY" "$XE_TOOLS/xlbcli.py" "$@"; }
# cli_bg NAME MODE ARGS...: the same in the background
cli_bg() {
	local name=$1
	shift
	bg "$name" "$NS_CLI" "$XE_PY" "$XE_TOOLS/xlbcli.py" "$@"
}

# ---- xlbd and xlbctl ----

ctl() { "$XLBCTL" -s "$XE_SOCK" "$@"; }

# xlbd_start CONFIG [ARGS...]: start xlbd in the LB namespace and wait for
# READY=1 on a NOTIFY_SOCKET of ours (at most 20 s)
xlbd_start() {
	local conf=$1 n=$XE_T/notify.sock
	shift
	rm -f "$n" "$XE_T/notify.out"
	"$XE_PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
t0 = time.time()
while True:
    m = s.recv(4096).decode(errors="replace")
    if "READY=1" in m.split("\n"):
        print("READY after %.3f s" % (time.time() - t0))
        sys.exit(0)
' "$n" >"$XE_T/notify.out" 2>&1 &
	local npid=$!
	XE_PIDS+=("$npid")
	wait_until 5 test -S "$n" || die "notify listener did not start"
	echo "=== xlbd $* (-c $conf) at $(date +%T.%N)" >>"$XE_T/xlbd.log"
	NOTIFY_SOCKET=$n nsenter --net="/run/netns/$NS_LB" -- "$XLBD" -c "$conf" \
		-i $XE_LB_IF --bpffs "$XE_BPFFS" -s "$XE_SOCK" "$@" \
		>>"$XE_T/xlbd.log" 2>&1 &
	XE_XLBD_PID=$!
	local end=$(($(now_ms) + 20000))
	while kill -0 "$npid" 2>/dev/null; do
		if ! kill -0 "$XE_XLBD_PID" 2>/dev/null; then
			wait "$XE_XLBD_PID"
			local rc=$?
			XE_XLBD_PID=
			kill "$npid" 2>/dev/null
			die "xlbd exited ($rc) before READY=1: $(tail -n 5 "$XE_T/xlbd.log")"
		fi
		[ "$(now_ms)" -ge "$end" ] && die "xlbd not ready within 20 s"
		sleep 0.02
	done
	wait "$npid" || die "no READY=1 from xlbd: $(cat "$XE_T/notify.out")"
	ctl status >/dev/null || die "xlbd sent READY=1 but its socket does not answer"
	xe_log "xlbd ready (pid $XE_XLBD_PID, $(cat "$XE_T/notify.out"))"
}

# xlbd_stop: SIGTERM, wait; fails unless it exits 0 (SPEC: SIGTERM exits 0)
xlbd_stop() {
	[ -n "$XE_XLBD_PID" ] || return 0
	kill -TERM "$XE_XLBD_PID"
	wait "$XE_XLBD_PID"
	local rc=$?
	XE_XLBD_PID=
	[ $rc -eq 0 ] || fail "xlbd exited $rc on SIGTERM (expected 0)"
}

# xlbd_teardown: the only thing that detaches
xlbd_teardown() {
	nsx "$NS_LB" "$XLBD" --teardown --bpffs "$XE_BPFFS" >>"$XE_T/teardown.log" 2>&1
}

# lb_xdp_prog_id: the id of the XDP program on the LB interface, or empty
lb_xdp_prog_id() {
	ip -n "$NS_LB" -d link show dev $XE_LB_IF | sed -n 's/.*prog\/xdp[a-z]* id \([0-9]*\).*/\1/p' | head -n1
}

# lb_xdp_prog_tag: the tag (hash of the instructions) of that program
lb_xdp_prog_tag() {
	ip -n "$NS_LB" -d link show dev $XE_LB_IF | sed -n 's/.*prog\/xdp[a-z]* id [0-9]* .*tag \([0-9a-f]*\).*/\1/p' | head -n1
}

# the standard health check of the tests: fast TCP connects to port 80
HC_TCP='{ "type": "tcp", "port": 80, "interval_ms": 200, "timeout_ms": 100, "rise": 2, "fall": 2 }'

# backends_json FAMILY W1 W2 W3: a backends array for the three backends
backends_json() {
	local fam=$1 i sep="" out="["
	shift
	local -a a
	if [ "$fam" = 4 ]; then a=("${BE4[@]}"); else a=("${BE6[@]}"); fi
	for i in 0 1 2; do
		out+="$sep{ \"address\": \"${a[$i]}\", \"weight\": ${1:-100} }"
		sep=", "
		shift
	done
	echo "$out]"
}

# vip_json ADDR PORT PROTO BACKENDS_JSON [HEALTHCHECK_JSON]
vip_json() {
	echo "{ \"address\": \"$1\", \"port\": $2, \"protocol\": \"$3\", \"table_size\": 65537, \"healthcheck\": ${5:-$HC_TCP}, \"backends\": $4 }"
}

# config_json VIP_JSON...: a whole config for the LB interface
config_json() {
	local v sep="" out
	out="{ \"interface\": \"$XE_LB_IF\", \"conntrack_size\": 65536, \"max_vips\": 32, \"max_backends\": 256, \"vips\": ["
	for v in "$@"; do
		out+="$sep
    $v"
		sep=","
	done
	echo "$out
] }"
}
