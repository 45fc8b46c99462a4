#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# test_e2e_nexthop.sh BUILD_DIR - the next-hop cache follows the kernel
# (topology: tests/e2e/lib.sh).
#
# The data plane caches each backend's next hop (egress, MACs, MTU) and
# xlbd invalidates every cache when netlink reports a route or neighbour
# change (SPEC: within one second). Proves:
#  * after the LB's neighbour entry for its gateway (the router) changes to
#    a wrong MAC, tunnelled packets stop reaching the router within 1 s
#    (new connections through the VIP fail), although the cached next hop
#    still held the right MAC;
#  * after the entry is restored, connections succeed again within 1 s;
#  * xlbd left the operator's PERMANENT entry alone (it manages only the
#    others);
#  * when the gateway's entry is deleted, xlbd re-creates it as a managed
#    entry and traffic resumes.
# Health checks are off here: the LB's own checks would use the same
# broken neighbour entry and mark the backends down, hiding the point.

. "$(dirname "$0")/lib.sh"
xe_init "${1:-}" test_e2e_nexthop

xe_topo_create
srv_start_all
config_json "$(vip_json $VIP4 80 tcp "$(backends_json 4 100 100 100)" '{ "type": "none" }')" \
	>"$XE_T/xlb.json"
xlbd_start "$XE_T/xlb.json"

GW=192.0.2.65
gw_mac=$(ip -n "$NS_RTR" -o link show r-lb | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
[ -n "$gw_mac" ] || die "cannot read the router's MAC"

# conn_ok: one connection through the VIP succeeds within 300 ms
conn_ok() {
	cli tcp $VIP4 80 -n 1 --timeout 0.3 | jq_py 'd["ok"]' 2>/dev/null | grep -qx 1
}
conn_fails() { ! conn_ok; }

res=$(cli tcp $VIP4 80 -n 30 --timeout 2)
check "baseline: 30 connections through the VIP answered: $res" \
	test "$(echo "$res" | jq_py 'd["ok"]')" = 30

# 1. the gateway's MAC changes under the cached next hop
ip -n "$NS_LB" neigh replace $GW dev $XE_LB_IF lladdr 02:00:00:00:de:ad nud permanent
t0=$(now_ms)
if wait_until 3 conn_fails; then
	dt=$(($(now_ms) - t0))
	if [ "$dt" -le 1300 ]; then
		ok "wrong gateway MAC reached the data plane after <= $dt ms (connections fail)"
	else
		fail "wrong gateway MAC reached the data plane only after $dt ms (bound 1000 ms + one 300 ms probe)"
	fi
else
	fail "connections still succeed 3 s after the gateway's MAC changed: the next-hop cache was not invalidated"
fi
check "xlbd left the operator's PERMANENT entry alone" \
	eval "ip -n '$NS_LB' neigh show $GW dev $XE_LB_IF | grep -q '02:00:00:00:de:ad.*PERMANENT'"

# 2. back to the right MAC
ip -n "$NS_LB" neigh replace $GW dev $XE_LB_IF lladdr "$gw_mac" nud permanent
t0=$(now_ms)
if wait_until 3 conn_ok; then
	dt=$(($(now_ms) - t0))
	if [ "$dt" -le 1300 ]; then
		ok "right gateway MAC back in the data plane after <= $dt ms"
	else
		fail "right gateway MAC back only after $dt ms (bound 1000 ms + one probe)"
	fi
else
	fail "connections still fail 3 s after the gateway's MAC was restored"
fi
res=$(cli tcp $VIP4 80 -n 30 --timeout 2)
check "afterwards: 30 connections answered: $res" \
	test "$(echo "$res" | jq_py 'd["ok"]')" = 30

# 3. the neighbour entry disappears (not the operator's any more): xlbd
# hears the deletion and resolves the gateway again (managed entry), and a
# packet that finds no entry meanwhile is dropped, counted and reported
ip -n "$NS_LB" neigh del $GW dev $XE_LB_IF
t0=$(now_ms)
if wait_until 5 conn_ok; then
	ok "gateway entry deleted: connections succeed again after <= $(($(now_ms) - t0)) ms"
else
	fail "connections still fail 5 s after the gateway's entry was deleted"
fi
check "xlbd keeps the gateway's entry as a managed one: $(ip -n "$NS_LB" -d neigh show $GW dev $XE_LB_IF)" \
	eval "ip -n '$NS_LB' -d neigh show $GW dev $XE_LB_IF | grep -q managed"
res=$(cli tcp $VIP4 80 -n 30 --timeout 2)
check "afterwards: 30 connections answered" \
	test "$(echo "$res" | jq_py 'd["ok"]')" = 30
xe_finish
