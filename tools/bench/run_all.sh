#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# run_all.sh - run every project benchmark built in BUILD/bench and print
# their output, after the machine's details.
#
#   tools/bench/run_all.sh [-b BUILD_DIR] [--quick] [--write-doc]
#
# BUILD_DIR defaults to ./build.  Known benchmarks run first, in this order
# (xdp_bench, maglev_bench, hc_bench), then any other executable found in
# BUILD_DIR/bench.  --quick shortens the ones that can be shortened
# (smoke test; figures not comparable).  Most need root (network
# namespaces, BPF).  Exit status: 0 when every benchmark exited 0.
# --write-doc: also write the summary table (machine, one line per key
# figure) into docs/benchmarks.md, section "Summary".
set -u

build=build
quick=0
write_doc=0
while [ $# -gt 0 ]; do
	case "$1" in
	-b) build=${2:?-b needs a directory}; shift 2 ;;
	--quick) quick=1; shift ;;
	--write-doc) write_doc=1; shift ;;
	-h|--help) sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run_all.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
dir=$build/bench
if [ ! -d "$dir" ]; then
	echo "run_all.sh: no $dir (build first: cmake --build $build)" >&2
	exit 2
fi

# Arguments for one benchmark.
args_for() {
	case "$1:$quick" in
	xdp_bench:1) echo --quick ;;
	maglev_bench:1) echo -r 11 -t 5 ;;
	hc_bench:1) echo -d 10 ;;
	esac
}

log=$(mktemp /tmp/xlb-run-all.XXXXXX)
trap 'rm -f "$log"' EXIT
exec > >(tee "$log") 2>&1

echo "== machine"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "cpu:     $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "cores:   $(nproc) online ($(grep -c '^processor' /proc/cpuinfo) listed)"
echo "kernel:  $(uname -srm)"
echo "cmdline: $(cat /proc/cmdline)"
if [ -r /sys/devices/system/clocksource/clocksource0/current_clocksource ]; then
	echo "clock:   $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
fi
if [ -r /sys/devices/system/cpu/vulnerabilities/spectre_v2 ]; then
	echo "spectre_v2: $(cat /sys/devices/system/cpu/vulnerabilities/spectre_v2)"
fi
[ -r /sys/kernel/rcu_expedited ] &&
	echo "rcu_expedited: $(cat /sys/kernel/rcu_expedited)"
[ -r /proc/sys/net/core/bpf_jit_enable ] &&
	echo "bpf_jit_enable: $(cat /proc/sys/net/core/bpf_jit_enable)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$(id -u)" -eq 0 ] || echo "note: not root; benchmarks that need BPF or namespaces will fail"

order=()
for t in xdp_bench maglev_bench hc_bench; do
	[ -x "$dir/$t" ] && order+=("$t")
done
for f in "$dir"/*; do
	t=$(basename "$f")
	if [ ! -f "$f" ] || [ ! -x "$f" ]; then continue; fi
	case " ${order[*]} " in *" $t "*) continue ;; esac
	order+=("$t")
done
if [ ${#order[@]} -eq 0 ]; then
	echo "run_all.sh: no benchmark in $dir" >&2
	exit 2
fi

failed=()
for t in "${order[@]}"; do
	# shellcheck disable=SC2046 # args_for prints words to split
	set -- $(args_for "$t")
	echo
	echo "== $t $*"
	start=$(date +%s)
	"$dir/$t" "$@"
	rc=$?
	echo "-- $t: exit $rc, $(( $(date +%s) - start )) s"
	[ $rc -eq 0 ] || failed+=("$t")
done
# control-plane figures of a real xlbd (a script, not in BUILD_DIR/bench)
apply=$(dirname "$0")/apply_bench.sh
if [ -x "$apply" ]; then
	echo
	echo "== apply_bench.sh"
	if [ $quick = 1 ]; then "$apply" "$build" --vips 64; else "$apply" "$build"; fi ||
		failed+=(apply_bench.sh)
fi
# the end-to-end comparison with HAProxy is a script, not in BUILD_DIR/bench
e2e=$(dirname "$0")/e2e_bench.sh
if [ -x "$e2e" ]; then
	echo
	echo "== e2e_bench.sh"
	if [ $quick = 1 ]; then "$e2e" "$build" -d 3 -r 1; else "$e2e" "$build"; fi ||
		failed+=(e2e_bench.sh)
fi
echo
if [ $write_doc = 1 ]; then
	python3 "$(dirname "$0")/summary.py" "$log" "$(dirname "$0")/../../docs/benchmarks.md" ||
		failed+=(summary)
fi
if [ ${#failed[@]} -gt 0 ]; then
	echo "run_all.sh: failed: ${failed[*]}"
	exit 1
fi
echo "run_all.sh: all ${#order[@]} benchmarks exited 0"
