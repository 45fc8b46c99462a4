#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# apply_bench.sh - control-plane figures of a real xlbd:
#   * `xlbctl apply` of 512 VIPs x 100 backends (table 65537) from empty,
#     with normal RCU (rcu_expedited=0) and expedited RCU;
#   * xlbd's resident memory after that apply (BPF maps are kernel memory);
#   * one VIP's table swap (`xlbctl backend set ... --weight`), median of 20.
# Runs inside a network namespace of its own; removes everything on exit.
# Usage: sudo tools/bench/apply_bench.sh [BUILD_DIR] [--vips N] [--backends N]
set -euo pipefail
build=${1:-build}
shift || true
nvips=512
nbe=100
while [ $# -gt 0 ]; do
	case $1 in
	--vips) nvips=$2; shift 2 ;;
	--backends) nbe=$2; shift 2 ;;
	*) echo "usage: $0 [BUILD_DIR] [--vips N] [--backends N]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "apply_bench: needs root" >&2; exit 1; }
build=$(cd "$build" && pwd)
ns=xab$$
tmp=$(mktemp -d /tmp/xlb-apply-bench.XXXXXX)
bpffs=/sys/fs/bpf/xlb-apply-bench-$$
rcu_file=/sys/kernel/rcu_expedited
rcu_orig=$(cat $rcu_file 2>/dev/null || echo "")
xpid=""

cleanup() {
	[ -n "$xpid" ] && kill "$xpid" 2>/dev/null && wait "$xpid" 2>/dev/null
	nsenter --net=/run/netns/$ns "$build/xlbd" --teardown --bpffs "$bpffs" \
		>/dev/null 2>&1 || true
	ip netns del $ns 2>/dev/null || true
	[ -n "$rcu_orig" ] && echo "$rcu_orig" > $rcu_file 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf
ip netns add $ns
ip -n $ns link add xab0 type veth peer name xab1
ip -n $ns link set xab0 up
ip -n $ns link set xab1 up
ip -n $ns addr add 198.18.0.1/24 dev xab0
ip -n $ns route add 198.51.100.0/24 via 198.18.0.254
ip -n $ns route add 198.19.0.0/16 via 198.18.0.254
ip -n $ns neigh replace 198.18.0.254 dev xab0 lladdr 02:00:00:00:00:01 nud permanent

python3 - "$tmp" "$nvips" "$nbe" <<'EOF'
import json, sys
tmp, nv, nb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = {"interface": "xab0", "max_vips": max(nv, 1), "max_backends": max(nv * nb, 1),
        "conntrack_size": 65536, "vips": []}
json.dump(base, open(tmp + "/empty.json", "w"))
vips = []
for v in range(nv):
    bes = [{"address": "198.19.%d.%d" % (b // 250, b % 250 + 1)} for b in range(nb)]
    vips.append({"address": "203.0.113.%d" % (v % 250 + 1), "port": 1000 + v // 250,
                 "protocol": "tcp", "table_size": 65537, "backends": bes})
base["vips"] = vips
json.dump(base, open(tmp + "/big.json", "w"))
EOF

x="$build/xlbctl -s $tmp/xlbd.sock"
start_xlbd() {
	nsenter --net=/run/netns/$ns "$build/xlbd" -c "$tmp/empty.json" \
		--bpffs "$bpffs" -s "$tmp/xlbd.sock" --log-level warn \
		2>>"$tmp/xlbd.log" &
	xpid=$!
	for _ in $(seq 1 100); do
		$x status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "apply_bench: xlbd did not start:" >&2
	cat "$tmp/xlbd.log" >&2
	exit 1
}
stop_xlbd() {
	kill "$xpid"; wait "$xpid" || true; xpid=""
	nsenter --net=/run/netns/$ns "$build/xlbd" --teardown --bpffs "$bpffs" \
		>/dev/null 2>&1
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "apply_bench: $nvips VIPs x $nbe backends, table 65537, $(nproc) CPUs, $(uname -r)"
for rcu in 0 1; do
	[ -w $rcu_file ] && echo $rcu > $rcu_file
	start_xlbd
	t0=$(ms)
	$x apply "$tmp/big.json" >"$tmp/apply.out" || { cat "$tmp/apply.out" "$tmp/xlbd.log" >&2; exit 1; }
	t1=$(ms)
	rss=$(awk '/VmRSS/ {print $2}' /proc/$xpid/status)
	hwm=$(awk '/VmHWM/ {print $2}' /proc/$xpid/status)
	swaps=()
	for i in $(seq 1 20); do
		s0=$(date +%s%N)
		$x backend set 203.0.113.1:1000/tcp 198.19.0.1 --weight $((50 + i)) >/dev/null
		s1=$(date +%s%N)
		swaps+=($(( (s1 - s0) / 1000 )))
	done
	med=$(printf '%s\n' "${swaps[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf 'rcu_expedited=%s: apply %d ms; xlbd RSS %d KiB (peak %d KiB); one-VIP change (xlbctl round trip incl. table swap) median %d us\n' \
		"$rcu" $((t1 - t0)) "$rss" "$hwm" "$med"
	stop_xlbd
done
