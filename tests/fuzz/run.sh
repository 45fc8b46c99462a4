#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Build the config parser's libFuzzer target and run it.
#   tests/fuzz/run.sh [SECONDS]        (default 150)
# Needs clang and libjansson-dev.  Crashes are written to $WORK/crash-*;
# add each one as a case in tests/unit/test_config.c (fuzz_cases).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_TO_RUN=${1:-150}
WORK=${WORK:-${TMPDIR:-/tmp}/xlb-fuzz-config}
CLANG=${CLANG:-$(command -v clang || command -v clang-14)}
mkdir -p "$WORK/corpus"

"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined \
	-I"$SRC/user" -I"$SRC/common" \
	"$SRC/tests/fuzz/fuzz_config.c" "$SRC/user/config.c" "$SRC/user/addr.c" \
	$(pkg-config --cflags --libs jansson) -o "$WORK/fuzz_config"

# Seeds: the examples, plus small documents for the corners.
cp "$SRC"/examples/*.json "$WORK/corpus/" 2>/dev/null || true
printf '{}' > "$WORK/corpus/empty"
printf '[{"address":"198.51.100.1","weight":5}]' > "$WORK/corpus/list"
printf '203.0.113.10:80/tcp' > "$WORK/corpus/vip4"
printf '[2001:db8::10]:443/udp' > "$WORK/corpus/vip6"
printf '{"vips":[{"address":"2001:db8::1","port":1,"protocol":"udp","table_size":7,"backends":[{"address":"2001:db8::2","healthcheck":{"type":"udp","payload":"\\u0000x","timeout_ms":5,"interval_ms":10}}]}],"encap_source":{"ipv4":"192.0.2.0/28"}}' \
	> "$WORK/corpus/small"

cd "$WORK"
./fuzz_config -max_total_time="$SECONDS_TO_RUN" -max_len=65536 \
	-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus 2>&1 | tail -40
