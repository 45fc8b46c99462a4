#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# test_xlbd_faults.sh BUILD_DIR - xlbd refuses what it cannot do, clearly,
# and never disturbs a running data plane doing so:
#  * --check-config: every error with its JSON path, exit 1; a valid file
#    exit 0 with a summary;
#  * a missing interface, a --bpffs outside a BPF filesystem: exit 1, the
#    message names the problem;
#  * another (non-xlb) XDP program on the interface: refused, left alone;
#  * a second xlbd on the same pinned state: refused, the first unharmed;
#  * --teardown while an xlbd serves the state: refused;
#  * a restart with another conntrack_size: refused with the fix, exit 1,
#    the running program and maps untouched;
#  * SIGTERM: exit 0, program still attached; --teardown then detaches,
#    and a second --teardown says there is nothing to do (exit 0).
# Runs in one namespace of its own with a veth pair; no traffic.

set -u
build=${1:?usage: test_xlbd_faults.sh BUILD_DIR}
build=$(cd "$build" && pwd)
XLBD=$build/xlbd
XLBCTL=$build/xlbctl
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIPPED: test_xlbd_faults: needs root (network namespaces, BPF)"
	exit 77
fi
ns=xf$$
tmp=$(mktemp -d /tmp/xlb-faults.XXXXXX)
bpffs=/sys/fs/bpf/xlb-faults-$$
fails=0
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	nsenter --net=/run/netns/$ns "$XLBD" --teardown --bpffs "$bpffs" >/dev/null 2>&1
	ip netns del $ns 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
inns() { nsenter --net=/run/netns/$ns "$@"; }

mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf
ip netns add $ns
ip -n $ns link add f0 type veth peer name f1
ip -n $ns link set f0 up
ip -n $ns link set f1 up
ip -n $ns addr add 192.0.2.1/24 dev f0

cat >"$tmp/good.json" <<EOF
{ "interface": "f0", "conntrack_size": 4096, "max_vips": 4, "max_backends": 16,
  "vips": [ { "address": "203.0.113.10", "port": 80, "protocol": "tcp",
              "table_size": 251, "backends": [ { "address": "198.51.100.11" } ] } ] }
EOF
cat >"$tmp/bad.json" <<EOF
{ "interface": "f0", "vips": [ { "address": "203.0.113.10", "port": 70000,
  "protocol": "tcp", "backends": [ { "address": "198.51.100.11", "weight": 1.5 },
  { "address": "2001:db8::1" } ] } ] }
EOF

# --check-config
out=$("$XLBD" --check-config -c "$tmp/bad.json" 2>&1); rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q 'vips\[0\].port' &&
   echo "$out" | grep -q 'vips\[0\].backends\[0\].weight'; then
	ok "--check-config reports every error with its path (exit 1)"
else
	fail "--check-config on a bad file: rc $rc: $out"
fi
out=$("$XLBD" --check-config -c "$tmp/good.json" 2>&1); rc=$?
[ $rc = 0 ] && ok "--check-config on a good file: $out" || fail "--check-config good: rc $rc: $out"

# a missing interface
out=$(inns "$XLBD" -c "$tmp/good.json" -i nosuch0 --bpffs "$bpffs" -s "$tmp/s.sock" 2>&1); rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "nosuch0.*no such interface"; then
	ok "missing interface refused: $(echo "$out" | tail -n 1)"
else
	fail "missing interface: rc $rc: $out"
fi
[ -e "$bpffs" ] && fail "a refused start left $bpffs behind"

# --bpffs not on a BPF filesystem
out=$(inns "$XLBD" -c "$tmp/good.json" --bpffs "$tmp/notbpf" -s "$tmp/s.sock" 2>&1); rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "not on a BPF filesystem"; then
	ok "--bpffs outside bpffs refused"
else
	fail "--bpffs outside bpffs: rc $rc: $out"
fi

# another XDP program on the interface
ip -n $ns link set f0 xdpgeneric obj "$build/skel/decap.bpf.o" sec xdp.frags 2>/dev/null ||
	ip -n $ns link set f0 xdpgeneric obj "$build/skel/decap.bpf.o" 2>/dev/null
if ip -n $ns link show f0 | grep -q xdp; then
	out=$(inns "$XLBD" -c "$tmp/good.json" --bpffs "$bpffs" -s "$tmp/s.sock" 2>&1); rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q "another XDP program"; then
		ok "another XDP program refused: $(echo "$out" | grep -o 'another XDP program[^;]*')"
	else
		fail "another XDP program: rc $rc: $out"
	fi
	ip -n $ns link show f0 | grep -q xdp || fail "the other program was detached"
	ip -n $ns link set f0 xdpgeneric off
else
	echo "note: could not attach a foreign program to test the refusal"
fi

# start for real
# (not through the inns function: its background subshell would get $!)
nsenter --net=/run/netns/$ns "$XLBD" -c "$tmp/good.json" --bpffs "$bpffs" \
	-s "$tmp/s.sock" 2>"$tmp/x1.log" &
x1=$!
pids+=("$x1")
for _ in $(seq 1 100); do "$XLBCTL" -s "$tmp/s.sock" status >/dev/null 2>&1 && break; sleep 0.05; done
"$XLBCTL" -s "$tmp/s.sock" status >/dev/null 2>&1 || { fail "xlbd did not start: $(cat "$tmp/x1.log")"; exit 1; }
id1=$(ip -n $ns -d link show f0 | grep -o 'prog/xdp id [0-9]*')
ok "xlbd up ($id1)"

# a second xlbd on the same pinned state
out=$(inns timeout 10 "$XLBD" -c "$tmp/good.json" --bpffs "$bpffs" -s "$tmp/s2.sock" 2>&1); rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "another xlbd already serves"; then
	ok "second xlbd on the same state refused"
else
	fail "second xlbd: rc $rc: $out"
fi
# teardown while served
out=$(inns "$XLBD" --teardown --bpffs "$bpffs" 2>&1); rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "still serves"; then
	ok "--teardown refused while xlbd runs"
else
	fail "--teardown while running: rc $rc: $out"
fi
"$XLBCTL" -s "$tmp/s.sock" status >/dev/null || fail "the first xlbd stopped answering"

# SIGTERM: exit 0, still attached
kill -TERM $x1
wait $x1; rc=$?
[ $rc = 0 ] && ok "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"
ip -n $ns -d link show f0 | grep -q "$id1" && ok "program still attached after xlbd stopped" ||
	fail "program gone after SIGTERM"

# restart with another conntrack_size: refused, data plane untouched
sed 's/"conntrack_size": 4096/"conntrack_size": 8192/' "$tmp/good.json" >"$tmp/resized.json"
out=$(inns "$XLBD" -c "$tmp/resized.json" --bpffs "$bpffs" -s "$tmp/s.sock" 2>&1); rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "conntrack_size" && echo "$out" | grep -q -- "--teardown"; then
	ok "restart with another conntrack_size refused, naming the fix"
else
	fail "resized restart: rc $rc: $out"
fi
ip -n $ns -d link show f0 | grep -q "$id1" && ok "the running program was left untouched" ||
	fail "the refused restart changed the attached program"
[ -e "$bpffs/ct4" ] && ok "the pinned maps were left in place" || fail "pins removed by a refused start"

# teardown, twice
out=$(inns "$XLBD" --teardown --bpffs "$bpffs" 2>&1); rc=$?
if [ $rc = 0 ] && ! ip -n $ns link show f0 | grep -q xdp && [ ! -e "$bpffs" ]; then
	ok "--teardown detached and removed the pins"
else
	fail "teardown: rc $rc: $out"
fi
out=$(inns "$XLBD" --teardown --bpffs "$bpffs" 2>&1); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "nothing to tear down" && ok "second --teardown: nothing to do, exit 0" ||
	fail "second teardown: rc $rc: $out"

if [ $fails -gt 0 ]; then
	echo "FAIL: test_xlbd_faults: $fails failure(s)"
	exit 1
fi
echo "PASS: test_xlbd_faults"
