#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# test_e2e_failover.sh BUILD_DIR - health checks, draining and weight
# changes seen from a real client (topology: tests/e2e/lib.sh).
#
# Health check: tcp to port 80 every 200 ms, timeout 100 ms, fall 2,
# rise 2. Proves:
#  * failover: while a client makes connections back to back, one of three
#    backends' server is killed; connections to the two others keep being
#    answered, and every connection that starts later than
#    fall x interval + timeout + 100 ms (600 ms) after the kill is
#    answered by a live backend (the detection time is measured and
#    printed); `xlbctl health` shows it down, the others up;
#  * recovery: after its server restarts, the backend is up again within
#    (rise + 1) x interval + timeout + 300 ms of the restart, and new
#    connections reach it;
#  * draining: a long-lived TCP connection to the drained backend keeps
#    being answered by it, while new connections avoid it;
#  * weight change: long-lived connections stay on their backend after the
#    weights change so that the table sends their hash elsewhere
#    (`xlbctl explain` shows the new table choice and the recorded flow).

. "$(dirname "$0")/lib.sh"
xe_init "${1:-}" test_e2e_failover
CHECK="$XE_PY $XE_TOOLS/e2echeck.py"

INTERVAL=200
TIMEOUT=100
RISE=2
FALL=2
HC="{ \"type\": \"tcp\", \"port\": 80, \"interval_ms\": $INTERVAL, \"timeout_ms\": $TIMEOUT, \"rise\": $RISE, \"fall\": $FALL }"
VIP=$VIP4:80/tcp

xe_topo_create
srv_start_all
config_json "$(vip_json $VIP4 80 tcp "$(backends_json 4 100 100 100)" "$HC")" \
	>"$XE_T/xlb.json"
xlbd_start "$XE_T/xlb.json"

# health_of ADDR: the measured health of a backend of $VIP
health_of() {
	ctl --json health "$VIP" |
		jq_py "[b['health'] for v in d for b in v['backends'] if b['address'] == '$1'][0]"
}
health_is() { [ "$(health_of "$1")" = "$2" ]; }
addr_of() { echo "${BE4[$((${1#b} - 1))]}"; }

wait_until 5 eval 'health_is ${BE4[0]} up && health_is ${BE4[1]} up && health_is ${BE4[2]} up' ||
	die "backends not all up at start: $(ctl health)"

# ---- failover ----
BOUND_MS=$((FALL * INTERVAL + TIMEOUT + 100))
rm -f "$XE_T/loop.stop"
cli_bg loop loop $VIP4 80 -c 4 --pause-ms 5 --timeout 2 --until "$XE_T/loop.stop" \
	--ready "$XE_T/loop.ready" --out "$XE_T/loop.json"
LOOP_PID=$BG_PID
wait_until 10 test -e "$XE_T/loop.ready" || die "the client loop got no answer"
t0=$(now_s)
srv_stop 3 KILL
if wait_until 5 health_is "${BE4[2]}" down; then
	t_down=$(now_s)
	ok "xlbctl health shows b3 down $(awk "BEGIN{printf \"%.0f\", ($t_down - $t0) * 1000}") ms after its server died"
else
	fail "b3 not down within 5 s: $(ctl health)"
fi
check "b1 and b2 still up" eval 'health_is ${BE4[0]} up && health_is ${BE4[1]} up'
# an observation window: traffic goes on for 1 s past the bound
wait_until 10 past "$(awk "BEGIN{printf \"%.3f\", $t0 + $BOUND_MS / 1000 + 1}")" ||
	fail "the observation window did not end"
touch "$XE_T/loop.stop"
wait "$LOOP_PID"
[ -s "$XE_T/loop.json" ] || die "the client loop wrote no result: $(cat "$XE_T/loop.log")"
if out=$($CHECK failover --t0 "$t0" --bound "$(awk "BEGIN{print $BOUND_MS / 1000}")" \
	--dead b3 "$XE_T/loop.json"); then
	ok "failover within $BOUND_MS ms: $(echo "$out" | sed -n 's/^ok: //p')"
else
	fail "failover within $BOUND_MS ms: ${out#not ok: }"
fi

# ---- recovery ----
t1=$(now_s)
srv_start 3
# The restart can land just after a check went out: up to one interval
# until the next check, then rise successes one interval apart; plus the
# same 100 ms margin and 200 ms for a loaded 2-core CI machine.
RISE_MS=$(((RISE + 1) * INTERVAL + TIMEOUT + 300))
if wait_until 5 health_is "${BE4[2]}" up; then
	up_ms=$(awk "BEGIN{printf \"%.0f\", ($(now_s) - $t1) * 1000}")
	if [ "$up_ms" -le "$RISE_MS" ]; then
		ok "b3 up again $up_ms ms after its server restarted (bound $RISE_MS ms)"
	else
		fail "b3 up again only $up_ms ms after its server restarted (bound $RISE_MS ms)"
	fi
else
	fail "b3 not up within 5 s of its restart: $(ctl health)"
fi
cli tcp $VIP4 80 -n 150 >"$XE_T/recovered.json"
n3=$(jq_py 'd["by_backend"].get("b3", 0)' "$XE_T/recovered.json")
nok=$(jq_py 'd["ok"]' "$XE_T/recovered.json")
check "after recovery 150/150 answered ($nok) and b3 takes new connections again ($n3)" \
	test "$nok" = 150 -a "$n3" -gt 20

# ---- draining ----
# hold NAME: a long-lived connection, its backend's name in $HELD
hold() {
	rm -f "$XE_T/$1.stop" "$XE_T/$1.ready"
	cli_bg "$1" hold $VIP4 80 --period-ms 20 --until "$XE_T/$1.stop" \
		--ready "$XE_T/$1.ready" --out "$XE_T/$1.json"
	eval "PID_$1=$BG_PID"
	wait_until 5 test -s "$XE_T/$1.ready" || die "long-lived connection $1 got no answer"
	HELD=$(jq_py 'd["backend"]' "$XE_T/$1.ready")
	HELD_PORT=$(jq_py 'd["lport"]' "$XE_T/$1.ready")
}
# unhold NAME BACKEND: end it; it must have kept talking to BACKEND only
unhold() {
	local pid
	touch "$XE_T/$1.stop"
	eval "pid=\$PID_$1"
	wait "$pid"
	local r
	r=$(jq_py '(d["backends"], d["errors"], d["exchanges"])' "$XE_T/$1.json")
	if [ "$(jq_py 'list(d["backends"]) == ["'"$2"'"] and not d["errors"]' "$XE_T/$1.json")" = true ]; then
		ok "long-lived connection $1 answered only by $2 throughout: $r"
	else
		fail "long-lived connection $1 should stay on $2: $r"
	fi
}

hold drain
D=$HELD
DA=$(addr_of "$D")
ctl backend set "$VIP" "$DA" --state draining >/dev/null ||
	fail "xlbctl backend set --state draining failed"
ctl --json explain "$VIP" "$CLI4:$HELD_PORT" >"$XE_T/explain-drain.json"
check "explain: the held flow stays on draining $D (recorded, usable)" \
	test "$(jq_py '(d["backend"], d["reason"], d["recorded_usable"])' "$XE_T/explain-drain.json")" = "('$DA', 'connection table', True)"
cli tcp $VIP4 80 -n 150 >"$XE_T/drain.json"
nd=$(jq_py "d['by_backend'].get('$D', 0)" "$XE_T/drain.json")
nok=$(jq_py 'd["ok"]' "$XE_T/drain.json")
check "while $D drains, 150/150 new connections answered ($nok), none by $D ($nd)" \
	test "$nok" = 150 -a "$nd" = 0
# the held connection still works after all that
unhold drain "$D"
ctl backend set "$VIP" "$DA" --state enabled >/dev/null ||
	fail "xlbctl backend set --state enabled failed"

# ---- weight change ----
# Two long-lived connections; then the first one's backend drops to weight
# 1 of 201, so its slot almost surely moves to another backend (the
# explain output says whether it did); the flows must not move.
hold w1
W1=$HELD
W1PORT=$HELD_PORT
hold w2
W2=$HELD
W2PORT=$HELD_PORT
ctl backend set "$VIP" "$(addr_of "$W1")" --weight 1 >/dev/null ||
	fail "xlbctl backend set --weight 1 failed"
other=b1
[ "$W1" = b1 ] && other=b2
ctl backend set "$VIP" "$(addr_of "$other")" --weight 200 >/dev/null ||
	fail "xlbctl backend set --weight 200 failed"
moved=0
for pair in "$W1PORT $W1" "$W2PORT $W2"; do
	set -- $pair
	ctl --json explain "$VIP" "$CLI4:$1" >"$XE_T/explain-w.json"
	r=$(jq_py '(d["backend"], d["table_backend"], d["reason"])' "$XE_T/explain-w.json")
	case $r in
	"('$(addr_of "$2")', '$(addr_of "$2")', 'connection table')") ;;
	"('$(addr_of "$2")', "*", 'connection table')") moved=$((moved + 1)) ;;
	*) fail "explain port $1 after the weight change: $r, expected $2 from the connection table" ;;
	esac
done
check "the weight change moved the table choice of at least one held flow ($moved)" \
	test "$moved" -ge 1
cli tcp $VIP4 80 -n 150 >"$XE_T/weights.json"
check "after the weight change 150/150 new connections answered" \
	test "$(jq_py 'd["ok"]' "$XE_T/weights.json")" = 150
unhold w1 "$W1"
unhold w2 "$W2"

xe_finish
