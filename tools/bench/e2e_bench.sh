#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# e2e_bench.sh - end-to-end connections/s through a VIP on veth: xlb
# (xlbd's XDP program, IPIP to the backends, direct server return)
# against HAProxy (TCP mode, round robin, replies back through HAProxy),
# same backends, same client load.
#
#   sudo tools/bench/e2e_bench.sh [BUILD_DIR] [-d SECONDS] [-r ROUNDS]
#                  [-t THREADS] [-c CONNECTIONS] [--write-doc]
#
# BUILD_DIR (default ./build) holds xlbd, xlbctl and xlb-decap; nothing is
# built. Missing Debian packages (haproxy, wrk, nginx-light, bpftool,
# ethtool, clang) are installed with apt-get, without starting their
# services. Topology, all in namespaces named xbPID-*, documentation
# addresses only:
#
#   client 192.0.2.2 -- router -- LB 192.0.2.66 (l0)
#                          |
#                          +-- bridge 198.51.100.0/24 -- b1 .11, b2 .12, b3 .13
#
# The router sends the VIP 203.0.113.10 to the LB. Backends run nginx
# (one process each, a fixed 3-byte body naming the backend) and
# xlb-decap, with the VIP on lo. Each of ROUNDS rounds (default 3): xlbd
# on l0; then xlbd torn down, the VIP on the LB's lo and HAProxy
# listening on it. Each of those: wrk -tTHREADS -cCONNECTIONS (default 2,
# 64) with "Connection: close" (one connection per request:
# connections/s) and with keep-alive (requests/s), SECONDS each (default
# 10), while a probe times whole connections (handshake included) at
# 100/s. The table shows the median round.
#
# CPU: bpf_stats (kernel.bpf_stats_enabled, restored on exit) gives the
# XDP program's own run time; /proc/PID/stat gives HAProxy's user+sys;
# /proc/stat gives the whole machine (client, router, LB and backends
# share its cores, so its softirq cannot be split by namespace).
#
# --write-doc replaces (or appends) the section "## End to end: xlb vs
# HAProxy (tools/bench/e2e_bench.sh)" of docs/benchmarks.md.
set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
cmdline="tools/bench/e2e_bench.sh${*:+ $*}"
HELP=$(dirname "$0")/e2e
build=build
dur=10
threads=2
conns=64
probe_rate=100
rounds=3
write_doc=0
while [ $# -gt 0 ]; do
	case $1 in
	-d) dur=${2:?-d needs seconds}; shift 2 ;;
	-t) threads=${2:?-t needs a number}; shift 2 ;;
	-c) conns=${2:?-c needs a number}; shift 2 ;;
	-r) rounds=${2:?-r needs a number}; shift 2 ;;
	--write-doc) write_doc=1; shift ;;
	-h | --help) sed -n '3,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "e2e_bench: unknown option $1" >&2; exit 2 ;;
	*) build=$1; shift ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "e2e_bench: needs root (namespaces, XDP)" >&2; exit 1; }
build=$(cd "$build" 2>/dev/null && pwd) || { echo "e2e_bench: no build directory" >&2; exit 2; }
XLBD=$build/xlbd
XLBCTL=$build/xlbctl
XLBDECAP=$build/xlb-decap
for f in "$XLBD" "$XLBCTL" "$XLBDECAP"; do
	[ -x "$f" ] || { echo "e2e_bench: $f not built" >&2; exit 2; }
done
HELP=$(cd "$HELP" && pwd)

log() { echo "# $*" >&2; }
die() { echo "e2e_bench: $*" >&2; exit 1; }

# ---- packages -------------------------------------------------------------

need_pkgs=()
command -v haproxy >/dev/null || need_pkgs+=(haproxy)
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v nginx >/dev/null || need_pkgs+=(nginx-light)
command -v bpftool >/dev/null || need_pkgs+=(bpftool)
command -v ethtool >/dev/null || need_pkgs+=(ethtool)
command -v clang >/dev/null || need_pkgs+=(clang)
command -v python3 >/dev/null || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing ${need_pkgs[*]}"
	# keep the packages' services (nginx, haproxy on port 80 of the host)
	# from starting: invoke-rc.d asks policy-rc.d first
	prc=/usr/sbin/policy-rc.d
	made_prc=0
	if [ ! -e $prc ]; then
		printf '#!/bin/sh\nexit 101\n' >$prc && chmod +x $prc && made_prc=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"; } >&2
	rc=$?
	[ $made_prc = 1 ] && rm -f $prc
	[ $rc -eq 0 ] || die "apt-get install ${need_pkgs[*]} failed"
fi
for c in haproxy wrk nginx bpftool ethtool python3 ip nsenter; do
	command -v $c >/dev/null || die "needs $c"
done

# ---- names, cleanup -------------------------------------------------------

ID=xb$$
T=/tmp/$ID
BPFFS=/sys/fs/bpf/$ID
SOCK=$T/xlbd.sock
NS_CLI=$ID-cli
NS_RTR=$ID-rtr
NS_LB=$ID-lb
NS_B=("$ID-b1" "$ID-b2" "$ID-b3")
VIP=203.0.113.10
CLI4=192.0.2.2
LB4=192.0.2.66
BE=(198.51.100.11 198.51.100.12 198.51.100.13)
PIDS=()
XLBD_PID=
HAP_PID=
STATS_FILE=/proc/sys/kernel/bpf_stats_enabled
stats_orig=$(cat $STATS_FILE 2>/dev/null || echo)

cleanup() {
	local rc=$? p ns
	set +e
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -e "$BPFFS" ]; then
		if [ -e "/run/netns/$NS_LB" ]; then
			nsenter --net="/run/netns/$NS_LB" -- "$XLBD" --teardown --bpffs "$BPFFS" >/dev/null 2>&1
		fi
		rm -rf "$BPFFS"
	fi
	for ns in "${NS_B[@]}" "$NS_LB" "$NS_RTR" "$NS_CLI"; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done
	[ -n "$stats_orig" ] && echo "$stats_orig" >$STATS_FILE 2>/dev/null
	if [ "${XB_KEEP:-0}" = 1 ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$T"
mkdir -p "$T"
if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts; then
	mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs"
fi

nsx() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }
# bgrun NAME NS CMD...: CMD in NS in the background, recorded for cleanup
bgrun() {
	local name=$1 ns=$2
	shift 2
	nsenter --net="/run/netns/$ns" -- "$@" >"$T/$name.log" 2>&1 &
	BG_PID=$!
	PIDS+=("$BG_PID")
}
# forget PID: drop a process that has been waited for from the cleanup
# list (its PID may be reused by an unrelated process later)
forget() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_until() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# ---- topology -------------------------------------------------------------

ns_add() {
	ip netns add "$1" || die "cannot create namespace $1"
	nsx "$1" ip link set lo up
	# the same TCP settings everywhere: wide port range, deep backlogs
	nsx "$1" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.ip_local_port_range="1024 65535" \
		net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192 \
		net.ipv4.tcp_max_syn_backlog=8192
}
# veth NS1 IF1 NS2 IF2: checksum offload off (XDP_TX/REDIRECT would send
# partial checksums) and GRO/GSO/TSO off, as the e2e tests do
veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" ||
		die "cannot create veth $1/$2"
	nsx "$1" ethtool -K "$2" tx off gro off gso off tso off >/dev/null 2>&1
	nsx "$3" ethtool -K "$4" tx off gro off gso off tso off >/dev/null 2>&1
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}
addr() { ip -n "$1" addr add "$3" dev "$2"; }

topo_create() {
	local i ns
	for ns in "$NS_CLI" "$NS_RTR" "$NS_LB" "${NS_B[@]}"; do ns_add "$ns"; done
	nsx "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1
	veth "$NS_CLI" c0 "$NS_RTR" r-cli
	addr "$NS_CLI" c0 $CLI4/26
	addr "$NS_RTR" r-cli 192.0.2.1/26
	ip -n "$NS_CLI" route add default via 192.0.2.1
	veth "$NS_LB" l0 "$NS_RTR" r-lb
	addr "$NS_LB" l0 $LB4/26
	addr "$NS_RTR" r-lb 192.0.2.65/26
	ip -n "$NS_LB" route add default via 192.0.2.65
	# bpf_fib_lookup answers "forwarding disabled" without this
	nsx "$NS_LB" sysctl -qw net.ipv4.conf.l0.forwarding=1
	ip -n "$NS_RTR" route add 203.0.113.0/24 via $LB4
	# XDP_TX frames from l0 reach r-lb only if r-lb runs XDP (PITFALLS)
	cat >"$T/xdp_pass.c" <<'EOF'
#include <linux/bpf.h>
__attribute__((section("xdp.frags"), used))
int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] __attribute__((section("license"), used)) = "Dual BSD/GPL";
EOF
	if clang -O2 -target bpf -I/usr/include/x86_64-linux-gnu -c "$T/xdp_pass.c" \
		-o "$T/xdp_pass.o" 2>"$T/clang.err"; then
		ip -n "$NS_RTR" link set dev r-lb xdpdrv obj "$T/xdp_pass.o" sec xdp.frags ||
			die "cannot attach the pass program to r-lb"
	else
		# xlb-decap passes everything that is not a tunnel to its VIP
		nsx "$NS_RTR" "$XLBDECAP" attach r-lb --vip 192.0.2.127 >/dev/null ||
			die "cannot attach an XDP program to r-lb"
	fi
	ip -n "$NS_RTR" link add br0 type bridge stp_state 0 mcast_snooping 0
	ip -n "$NS_RTR" link set br0 up
	addr "$NS_RTR" br0 198.51.100.1/24
	for i in 0 1 2; do
		ns=${NS_B[$i]}
		veth "$ns" e0 "$NS_RTR" r-b$((i + 1))
		ip -n "$NS_RTR" link set r-b$((i + 1)) master br0
		addr "$ns" e0 ${BE[$i]}/24
		ip -n "$ns" route add default via 198.51.100.1
		addr "$ns" lo $VIP/32
		nsx "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.e0.rp_filter=0
		nsx "$ns" "$XLBDECAP" attach e0 --vip $VIP >"$T/decap-b$((i + 1)).log" 2>&1 ||
			die "xlb-decap attach on b$((i + 1)): $(cat "$T/decap-b$((i + 1)).log")"
	done
	for i in r-cli r-lb br0 r-b1 r-b2 r-b3; do
		nsx "$NS_RTR" sysctl -qw net.ipv4.conf.$i.rp_filter=0
	done
}

# nginx_start K: one nginx process (no master) on backend K, port 80,
# answering every request with "bK\n" (no file I/O, no access log)
nginx_start() {
	local k=$1 d=$T/nginx-b$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 16384; multi_accept on; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	server {
		listen 80 backlog=8192 reuseport;
		location / { default_type text/plain; return 200 "b$k\n"; }
	}
}
EOF
	bgrun nginx-b$k "${NS_B[$((k - 1))]}" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf"
}

probe_once() { nsx "$NS_CLI" python3 "$HELP/connprobe.py" "$1" 80 0.2 10 >"$T/probe_once.json" 2>&1 &&
	grep -q '"samples": [1-9]' "$T/probe_once.json"; }

# ---- measurement ----------------------------------------------------------

# cpu_snap: "busy softirq total" jiffies of the whole machine
cpu_snap() { awk '/^cpu /{b=$2+$3+$4+$7+$8+$9; print b, $8, b+$5+$6}' /proc/stat; }
# proc_ticks PID: utime+stime of a process (all threads), in clock ticks
proc_ticks() { [ -n "${1:-}" ] && awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# prog_ns ID: "run_time_ns run_cnt" of a BPF program (bpf_stats)
prog_ns() {
	[ -n "${1:-}" ] || { echo "0 0"; return; }
	bpftool -j prog show id "$1" 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns",0), d.get("run_cnt",0))' 2>/dev/null ||
		echo "0 0"
}
lb_prog_id() {
	ip -n "$NS_LB" -d link show dev l0 | sed -n 's/.*prog\/xdp[a-z]* id \([0-9]*\).*/\1/p' | head -n1
}
HZ=$(getconf CLK_TCK)

# run LB MODE: wrk against the VIP for $dur s, with the probe beside it;
# appends one line of key=value results to $T/results
run() {
	local lb=$1 mode=$2 round=$3 tag=$1-$2-$3 hdr=() c0 c1 p0 p1 b0 b1 t0 t1 out
	[ "$mode" = close ] && hdr=(-H "Connection: close")
	local pid='' prog=''
	[ "$lb" = haproxy ] && pid=$HAP_PID
	[ "$lb" = xlb ] && prog=$(lb_prog_id)
	log "$tag: wrk -t$threads -c$conns -d${dur}s ${hdr[*]}"
	nsx "$NS_CLI" python3 "$HELP/connprobe.py" $VIP 80 "$dur" $probe_rate >"$T/$tag.probe" 2>&1 &
	local probe=$!
	PIDS+=("$probe")
	t0=$(now_ms); read -r c0 s0 a0 <<<"$(cpu_snap)"; p0=$(proc_ticks "$pid"); read -r b0 n0 <<<"$(prog_ns "$prog")"
	nsx "$NS_CLI" wrk -t"$threads" -c"$conns" -d"${dur}s" "${hdr[@]}" \
		-s "$HELP/wrk_report.lua" "http://$VIP/" >"$T/$tag.wrk" 2>&1
	t1=$(now_ms); read -r c1 s1 a1 <<<"$(cpu_snap)"; p1=$(proc_ticks "$pid"); read -r b1 n1 <<<"$(prog_ns "$prog")"
	wait "$probe"
	forget "$probe"
	out=$(grep '^XB_RESULT' "$T/$tag.wrk") || { cat "$T/$tag.wrk" >&2; die "$tag: wrk gave no result"; }
	echo "lb=$lb mode=$mode round=$round ${out#XB_RESULT } wall_ms=$((t1 - t0)) busy=$((c1 - c0)) softirq=$((s1 - s0)) all=$((a1 - a0)) proc=$((p1 - p0)) prog_ns=$((b1 - b0)) prog_cnt=$((n1 - n0)) probe=$(tr -d ' ' <"$T/$tag.probe")" >>"$T/results"
	log "$tag: $(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out") requests, probe $(cat "$T/$tag.probe")"
}

# ---- the run --------------------------------------------------------------

log "work dir $T, namespaces $ID-*"
[ -w $STATS_FILE ] && echo 1 >$STATS_FILE
topo_create
for k in 1 2 3; do nginx_start $k; done
for i in 0 1 2; do
	wait_until 10 probe_once "${BE[$i]}" ||
		die "the client cannot reach backend ${BE[$i]}: $(cat "$T/probe_once.json" "$T/nginx-b$((i + 1)).log")"
done
log "topology up, nginx answers on the 3 backends"

cat >"$T/xlb.json" <<EOF
{ "interface": "l0", "conntrack_size": 262144, "max_vips": 8, "max_backends": 64,
  "vips": [ { "address": "$VIP", "port": 80, "protocol": "tcp", "table_size": 65537,
    "healthcheck": { "type": "tcp", "port": 80, "interval_ms": 1000, "timeout_ms": 500, "rise": 1, "fall": 3 },
    "backends": [ { "address": "${BE[0]}" }, { "address": "${BE[1]}" }, { "address": "${BE[2]}" } ] } ] }
EOF
cat >"$T/haproxy.cfg" <<EOF
global
	log stderr format short local0 err
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend vip
	bind $VIP:80 backlog 8192
	default_backend web
backend web
	balance roundrobin
	default-server check inter 1s fall 3 rise 1
	server b1 ${BE[0]}:80
	server b2 ${BE[1]}:80
	server b3 ${BE[2]}:80
EOF
haproxy -c -f "$T/haproxy.cfg" >"$T/haproxy-check.log" 2>&1 || die "haproxy config: $(cat "$T/haproxy-check.log")"

# xlb: xlbd on l0; the VIP is not local on the LB
xlb_up() {
	nsenter --net="/run/netns/$NS_LB" -- "$XLBD" -c "$T/xlb.json" -i l0 --bpffs "$BPFFS" \
		-s "$SOCK" --log-level warn >>"$T/xlbd.log" 2>&1 &
	XLBD_PID=$!
	PIDS+=("$XLBD_PID")
	wait_until 20 "$XLBCTL" -s "$SOCK" status >/dev/null 2>&1 ||
		die "xlbd did not come up: $(tail -n 5 "$T/xlbd.log")"
	wait_until 20 probe_once $VIP || die "no answer through xlb's VIP: $(cat "$T/probe_once.json")"
	xlb_mode=$("$XLBCTL" -s "$SOCK" --json status |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("xdp_mode","?"))')
	log "xlbd up (XDP $xlb_mode, program $(lb_prog_id))"
}
xlb_down() {
	kill -TERM "$XLBD_PID"
	wait "$XLBD_PID" 2>/dev/null
	forget "$XLBD_PID"
	XLBD_PID=
	nsx "$NS_LB" "$XLBD" --teardown --bpffs "$BPFFS" >>"$T/xlbd.log" 2>&1
	rm -rf "$BPFFS"
	[ -z "$(lb_prog_id)" ] || die "xlbd --teardown left an XDP program on l0"
}
# HAProxy: on the LB host, the VIP local there (on lo)
hap_up() {
	addr "$NS_LB" lo $VIP/32
	bgrun haproxy "$NS_LB" haproxy -db -f "$T/haproxy.cfg"
	HAP_PID=$BG_PID
	wait_until 20 probe_once $VIP || die "no answer through HAProxy: $(cat "$T/probe_once.json" "$T/haproxy.log")"
	hap_threads=$(ls /proc/$HAP_PID/task | wc -l)
	log "haproxy up (pid $HAP_PID, $hap_threads threads)"
}
hap_down() {
	kill -TERM "$HAP_PID"
	wait "$HAP_PID" 2>/dev/null
	forget "$HAP_PID"
	HAP_PID=
	ip -n "$NS_LB" addr del $VIP/32 dev lo
}

# what the machine does without us: other work on it shows up in the
# machine-wide figures
read -r c0 _ a0 <<<"$(cpu_snap)"
sleep 2
read -r c1 _ a1 <<<"$(cpu_snap)"
idle_busy=$(awk -v b=$((c1 - c0)) -v a=$((a1 - a0)) -v n="$(nproc)" \
	'BEGIN { printf "%.0f", a ? 100 * n * b / a : 0 }')
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
log "before the runs: machine busy ${idle_busy} % (of $(($(nproc) * 100)) %), load $loadavg"

# rounds alternate, so drifting background load hits both alike
for r in $(seq "$rounds"); do
	log "round $r of $rounds"
	xlb_up
	run xlb close "$r"
	run xlb keepalive "$r"
	xlb_down
	hap_up
	run haproxy close "$r"
	run haproxy keepalive "$r"
	hap_down
done

# ---- report ---------------------------------------------------------------

hap_ver=$(haproxy -v 2>/dev/null | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p')
nginx_ver=$(nginx -v 2>&1 | sed 's/.*nginx\///')
wrk_ver=$(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
ncpu=$(nproc)
kernel=$(uname -srm)
export XB_RESULTS=$T/results XB_HZ=$HZ XB_DUR=$dur XB_THREADS=$threads XB_CONNS=$conns \
	XB_RATE=$probe_rate XB_CMD="$cmdline" XB_HAP="$hap_ver" XB_NGINX="$nginx_ver" \
	XB_WRK="$wrk_ver" XB_CPU="$cpu_model" XB_NCPU="$ncpu" XB_KERNEL="$kernel" \
	XB_XDPMODE="$xlb_mode" XB_HAPTHREADS="$hap_threads" XB_DOC="$SRC/docs/benchmarks.md" \
	XB_WRITE=$write_doc XB_ROUNDS=$rounds XB_IDLE="$idle_busy" XB_LOAD="$loadavg"
python3 "$HELP/report.py" || die "report failed"
