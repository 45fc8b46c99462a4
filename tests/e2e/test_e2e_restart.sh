#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# test_e2e_restart.sh BUILD_DIR - hitless restart of xlbd under constant
# traffic (topology: tests/e2e/lib.sh).
#
# Two UDP flow generators (16 flows each, IPv4 VIP and IPv6 VIP, 1500
# datagrams/s each nominally, numbered) and one long-lived TCP connection run while
# xlbd is restarted twice: stopped with SIGTERM (a clean stop), then
# killed with SIGKILL (a crash), each time followed by a new xlbd on the
# same config. Proves: not one datagram lost (counted by the client and by
# the backends' servers), every flow and the TCP connection stay on their
# backend (the connection table is adopted), the same program stays
# attached, and the adopted state (`vip list`, `backend list`, health,
# `config dump`) is identical before and after.

. "$(dirname "$0")/lib.sh"
xe_init "${1:-}" test_e2e_restart
CHECK="$XE_PY $XE_TOOLS/e2echeck.py"

xe_topo_create
srv_start_all
config_json \
	"$(vip_json $VIP4 53 udp "$(backends_json 4 100 100 50)")" \
	"$(vip_json $VIP4 80 tcp "$(backends_json 4 100 100 50)")" \
	"$(vip_json $VIP6 53 udp "$(backends_json 6 100 100 50)")" \
	>"$XE_T/xlb.json"
xlbd_start "$XE_T/xlb.json"
wait_until 5 eval '[ "$(ctl --json vip list | jq_py "sum(v[\"up\"] for v in d)")" = 9 ]' ||
	die "backends not all up: $(ctl health)"

# snapshot NAME: what an adopting xlbd must reproduce. Health keeps only
# the columns that describe state, not the timing of the last check.
snapshot() {
	{
		ctl --json vip list
		for v in "$VIP4:53/udp" "$VIP4:80/tcp" "[$VIP6]:53/udp"; do
			ctl --json backend list "$v"
		done
		ctl --json health | jq_py '[(v["vip"], v["degraded"], [(b["address"], b["state"], b["health"]) for b in v["backends"]]) for v in d]'
		ctl --json config dump
	} >"$XE_T/$1.snap"
}

rm -f "$XE_T/stop"
cli_bg flow4 udpflow $VIP4 53 --flows 16 --rate 1500 --until "$XE_T/stop" \
	--ready "$XE_T/flow4.ready" --out "$XE_T/flow4.json"
P4=$BG_PID
cli_bg flow6 udpflow $VIP6 53 --flows 16 --rate 1500 --until "$XE_T/stop" \
	--ready "$XE_T/flow6.ready" --out "$XE_T/flow6.json"
P6=$BG_PID
cli_bg hold hold $VIP4 80 --period-ms 20 --until "$XE_T/stop" \
	--ready "$XE_T/hold.ready" --out "$XE_T/hold.json"
PH=$BG_PID
wait_until 10 eval 'test -e "$XE_T/flow4.ready" -a -e "$XE_T/flow6.ready" -a -s "$XE_T/hold.ready"' ||
	die "traffic did not start: $(cat "$XE_T"/flow4.log "$XE_T"/hold.log)"
HOLD_PORT=$(jq_py 'd["lport"]' "$XE_T/hold.ready")
HOLD_BE=$(jq_py 'd["backend"]' "$XE_T/hold.ready")
xe_log "traffic running: 2 x 16 UDP flows at a nominal 1500/s, one TCP connection on $HOLD_BE"

prog=$(lb_xdp_prog_id)
tag=$(lb_xdp_prog_tag)
[ -n "$tag" ] || die "no XDP program tag on $XE_LB_IF"
snapshot before
ctl --json explain "$VIP4:80/tcp" "$CLI4:$HOLD_PORT" >"$XE_T/explain0.json"

# restart HOW: stop xlbd (SIGTERM or SIGKILL), keep the traffic going for
# half a second with no xlbd at all, start a new one, compare
restart() {
	local how=$1 t0
	t0=$(now_s)
	if [ "$how" = TERM ]; then
		xlbd_stop
	else
		kill -KILL "$XE_XLBD_PID"
		wait "$XE_XLBD_PID" 2>/dev/null
		XE_XLBD_PID=
	fi
	check "SIG$how: the program ($prog) stays attached with no xlbd" test "$(lb_xdp_prog_id)" = "$prog"
	wait_until 5 past "$(awk "BEGIN{printf \"%.3f\", $t0 + 0.5}")"
	xlbd_start "$XE_T/xlb.json"
	local ms
	ms=$(awk "BEGIN{printf \"%.0f\", ($(now_s) - $t0) * 1000}")
	# xlbd may replace the program in place (a new id); it must be the
	# same code (tag), and it was never detached (no packet lost, below)
	local p2
	p2=$(lb_xdp_prog_id)
	check "SIG$how: a new xlbd is ready ${ms} ms after the old one stopped; program $prog -> $p2, same tag" \
		test -n "$p2" -a "$(lb_xdp_prog_tag)" = "$tag"
	prog=$p2
	grep -qi "adopt" "$XE_T/xlbd.log" || fail "SIG$how: xlbd's log does not mention adopting the pinned state"
	snapshot after-$how
	if cmp -s "$XE_T/before.snap" "$XE_T/after-$how.snap"; then
		ok "SIG$how: adopted state identical (vip list, backend lists, health, config dump)"
	else
		fail "SIG$how: adopted state differs: $(diff "$XE_T/before.snap" "$XE_T/after-$how.snap" | head -n 10)"
	fi
	ctl --json explain "$VIP4:80/tcp" "$CLI4:$HOLD_PORT" >"$XE_T/explain-$how.json"
	check "SIG$how: the TCP connection is still recorded on its backend (explain)" \
		test "$(jq_py '(d["recorded"], d["backend"], d["reason"])' "$XE_T/explain-$how.json")" = \
		"$(jq_py '(True, d["backend"], "connection table")' "$XE_T/explain0.json")"
}
restart TERM
restart KILL

# traffic for another half second with the new xlbd, then stop and count
wait_until 5 past "$(awk "BEGIN{printf \"%.3f\", $(now_s) + 0.5}")"
touch "$XE_T/stop"
wait $P4 $P6 $PH
for k in 1 2 3; do
	srv_stop $k TERM
done
SERVERS=$XE_T/srv-b1.stats,$XE_T/srv-b2.stats,$XE_T/srv-b3.stats
for f in 4 6; do
	if [ "$f" = 4 ]; then c=$CLI4; else c=$CLI6; fi
	if out=$($CHECK udpflow --servers "$SERVERS" --client "$c" "$XE_T/flow$f.json"); then
		ok "IPv$f UDP through two restarts, no datagram lost: ${out#ok: }"
	else
		fail "IPv$f UDP through two restarts: ${out#not ok: }"
	fi
done
r=$(jq_py '(d["backends"], d["errors"], d["exchanges"])' "$XE_T/hold.json")
if [ "$(jq_py 'list(d["backends"]) == ["'"$HOLD_BE"'"] and not d["errors"]' "$XE_T/hold.json")" = true ]; then
	ok "the TCP connection survived both restarts on $HOLD_BE: $r"
else
	fail "the TCP connection did not survive on $HOLD_BE: $r"
fi
drops=$(ctl --json stats | jq_py '{k: v for k, v in d["global"].items() if k.startswith("drop_") and v}')
check "no drop counter moved ($drops)" test "$drops" = "{}"
xe_finish
