#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Run xlb's whole test suite: installs what is missing (Debian 12), builds,
# runs every test with ctest.  Tests that need root/BPF print
# "SKIPPED: <reason>" when the machine does not allow them.
# Usage: sudo tests/run.sh [ctest args...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${XLB_BUILD_DIR:-$top/build}

need=()
for p in cmake pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev \
	 libjansson-dev libmnl-dev libcunit1-dev iproute2 ethtool python3; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "tests/run.sh: missing packages: ${need[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "tests/run.sh: installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The BPF filesystem is not mounted on a freshly booted machine.
if [ "$(id -u)" -eq 0 ] && ! mount | grep -q ' /sys/fs/bpf type bpf'; then
	mount -t bpf bpf /sys/fs/bpf
fi

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure "$@"
