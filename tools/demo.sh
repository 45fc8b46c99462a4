#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# tools/demo.sh - xlb in one command, on a fresh Debian 12 machine, as root.
#
# Installs what is missing (apt-get), builds into build/, then builds a
# small network out of namespaces on this machine -- a client, a router,
# the load balancer and three backends, with documentation addresses only
# -- starts xlbd with examples/demo.json, sends real connections through
# the virtual IP, shows where they went, takes one backend down and shows
# the traffic moving. Everything it created is removed when it ends,
# Ctrl-C included. Nothing outside its own namespaces is touched.
#
#   sudo tools/demo.sh            # the whole thing (about a minute)
#   sudo tools/demo.sh --no-build # use an existing build/ (or $XLB_BUILD_DIR)

set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${XLB_BUILD_DIR:-$SRC/build}
DO_BUILD=1
[ "${1:-}" = "--no-build" ] && DO_BUILD=0

if [ -t 1 ]; then
	B=$(printf '\033[1m') N=$(printf '\033[0m') G=$(printf '\033[32m') R=$(printf '\033[31m')
else
	B='' N='' G='' R=''
fi
head() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
say() { printf '%s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run me as root (namespaces, XDP): sudo $0"; exit 1; }

# ---- 1. packages ----
PKGS="cmake pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
libjansson-dev libmnl-dev libcunit1-dev iproute2 ethtool python3 make gcc"
if [ $DO_BUILD = 1 ]; then
	head "1. packages"
	missing=
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "installing:$missing"
		command -v apt-get >/dev/null || { echo "no apt-get: install$missing yourself"; exit 1; }
		DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null ||
			{ echo "apt-get failed"; exit 1; }
	else
		say "all present"
	fi

	# ---- 2. build ----
	head "2. build (cmake into build/)"
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$SRC/build.log" 2>&1 &&
		cmake --build "$BUILD" -j"$(nproc)" --target xlbd xlbctl xlb-decap >>"$SRC/build.log" 2>&1 ||
		{ tail -n 30 "$SRC/build.log"; echo "build failed (whole log: build.log)"; exit 1; }
	say "built xlbd, xlbctl and xlb-decap (log: build.log)"
fi

# ---- 3. the network ----
XE_QUIET=1 # read by lib.sh: no "ok:" lines in the demo
export XE_QUIET
# shellcheck source=../tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
xe_init "$BUILD" demo
trap 'echo; echo "cleaning up..."; exit 130' INT

head "3. a network in namespaces"
cat <<EOF
  client $CLI4 ──► router ──► load balancer (xlbd, XDP on its interface)
     ▲                              │ IP-in-IP tunnel to a backend
     │                              ▼
     └──── direct reply ◄──── backends b1 ${BE4[0]}, b2 ${BE4[1]}, b3 ${BE4[2]}
  The virtual IP $VIP4 (and $VIP6) lives on every backend's lo;
  the router sends it to the load balancer, which picks a backend per
  connection (Maglev hashing) and tunnels the packet there; the backend
  (xlb-decap) unwraps it and answers the client directly.
EOF
xe_topo_create
srv_start_all
say "namespaces $XE_ID-{cli,rtr,lb,b1,b2,b3} are up; each backend runs a tiny server that answers with its name"

head "4. start xlbd with examples/demo.json"
xlbd_start "$SRC/examples/demo.json"
say "xlbd is ready (it told systemd-style READY=1); it attached its XDP program to the LB's interface"
ctl vip list

# dist TITLE RESULT_JSON: a bar per backend
dist() {
	"$XE_PY" - "$2" "$1" <<'EOF'
import json, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
r = json.load(open(sys.argv[1]))
total = r["ok"] + r["fail"]
print("%s: %d connections, %d answered, %d failed" % (sys.argv[2], total, r["ok"], r["fail"]))
for b in ("b1", "b2", "b3"):
    n = r["by_backend"].get(b, 0)
    print("  %-3s %4d  %s" % (b, n, "#" * round(60 * n / max(1, total))))
EOF
}

head "5. real traffic through the VIP"
say "300 TCP connections from the client to $VIP4:80, each from its own source port."
say "Weights are 100/100/50, so expect about 120/120/60:"
cli tcp $VIP4 80 -n 300 >"$XE_T/r1.json"
dist "IPv4 VIP" "$XE_T/r1.json"
say
say "And 150 to the IPv6 VIP [$VIP6]:80 (equal weights):"
cli tcp $VIP6 80 -n 150 >"$XE_T/r6.json"
dist "IPv6 VIP" "$XE_T/r6.json"

head "6. what xlbd saw: xlbctl stats"
say "packets and new flows per VIP and per backend, counted by the XDP program itself:"
ctl stats "$VIP4:80/tcp"

head "7. health: xlbctl health"
say "xlbd connects to every backend's port 80 every 200 ms (two failures = down, two successes = up):"
ctl health "$VIP4:80/tcp"

head "8. where does one flow go? xlbctl explain"
port=$(jq_py 'd["flows"][0][0]' "$XE_T/r1.json")
who=$(jq_py 'd["flows"][0][1]' "$XE_T/r1.json")
say "connection from port $port was answered by $who; xlbd agrees:"
ctl explain "$VIP4:80/tcp" "$CLI4:$port"

head "9. failover: b2's server stops"
t0=$(now_ms)
srv_stop 2 KILL
if wait_until 10 eval '[ "$(ctl --json health "$VIP4:80/tcp" | jq_py "[b[\"health\"] for v in d for b in v[\"backends\"] if b[\"address\"] == \"${BE4[1]}\"][0]")" = down ]'; then
	say "${R}b2 marked down $(($(now_ms) - t0)) ms later${N}; xlbd rebuilt the table without it"
else
	say "b2 was not marked down within 10 s (unexpected)"
fi
ctl health "$VIP4:80/tcp"
say
say "300 new connections now:"
cli tcp $VIP4 80 -n 300 >"$XE_T/r2.json"
dist "IPv4 VIP, b2 down" "$XE_T/r2.json"

head "10. recovery: b2's server is back"
t0=$(now_ms)
srv_start 2
wait_until 10 eval '[ "$(ctl --json health "$VIP4:80/tcp" | jq_py "[b[\"health\"] for v in d for b in v[\"backends\"] if b[\"address\"] == \"${BE4[1]}\"][0]")" = up ]' &&
	say "${G}b2 up again $(($(now_ms) - t0)) ms later${N}"
cli tcp $VIP4 80 -n 300 >"$XE_T/r3.json"
dist "IPv4 VIP, b2 back" "$XE_T/r3.json"

head "done"
say "Everything created here (namespaces, xlbd, its pinned maps) is removed now."
say "Next: README.md (running xlb on real hosts), docs/e2e.md (the tests on this same topology)."
