#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# test_e2e_basic.sh BUILD_DIR - real traffic from a client through xlbd's
# XDP program to three backends and back by direct server return
# (topology: tests/e2e/lib.sh, docs/e2e.md).
#
# Proves: many TCP connections (each its own source port) and UDP
# request/response through an IPv4 VIP (IPv4-in-IPv4), an IPv6 VIP
# (IPv6-in-IPv6) and an IPv4 VIP with IPv6 backends (IPv4-in-IPv6) are
# all answered; the answers spread over the backends as the weights
# 100/100/50 say (chi-square); `xlbctl stats` counts exactly the packets
# and flows that were sent, per backend; `xlbctl explain` names the
# backend that actually answered a given client port; stopping xlbd
# leaves traffic flowing; `xlbd --teardown` leaves no XDP program, no pin;
# and no namespace is left behind.

. "$(dirname "$0")/lib.sh"
xe_init "${1:-}" test_e2e_basic
CHECK="$XE_PY $XE_TOOLS/e2echeck.py"

xe_topo_create
srv_start_all

W="100 100 50"
# shellcheck disable=SC2086
config_json \
	"$(vip_json $VIP4 80 tcp "$(backends_json 4 $W)")" \
	"$(vip_json $VIP4 53 udp "$(backends_json 4 $W)")" \
	"$(vip_json $VIP6 80 tcp "$(backends_json 6 $W)")" \
	"$(vip_json $VIP6 53 udp "$(backends_json 6 $W)")" \
	"$(vip_json $VIP46 80 tcp "$(backends_json 6 $W)")" \
	"$(vip_json $VIP46 53 udp "$(backends_json 6 $W)")" \
	>"$XE_T/xlb.json"
xlbd_start "$XE_T/xlb.json"

prog=$(lb_xdp_prog_id)
[ -n "$prog" ] || die "no XDP program on the LB interface after READY=1"
mode=$(ctl --json status | jq_py 'd["xdp_mode"]')
check "XDP program $prog attached on $XE_LB_IF, mode $mode (native expected on veth)" \
	test "$mode" = native
check "status: 6 VIPs, none degraded" \
	test "$(ctl --json status | jq_py '(d["vips"], d["degraded_vips"])')" = "(6, 0)"

MAP4="b1=${BE4[0]},b2=${BE4[1]},b3=${BE4[2]}"
MAP6="b1=${BE6[0]},b2=${BE6[1]},b3=${BE6[2]}"

# run_vip NAME ADDR PORT PROTO N MAP: traffic, then its checks
run_vip() {
	local name=$1 addr=$2 port=$3 proto=$4 n=$5 map=$6 vip
	case $addr in
	*:*) vip="[$addr]:$port/$proto" ;;
	*) vip="$addr:$port/$proto" ;;
	esac
	ctl --json stats >"$XE_T/$name.s0" || fail "$vip: xlbctl stats failed"
	cli "$proto" "$addr" "$port" -n "$n" -c 16 >"$XE_T/$name.res" ||
		{ fail "$vip: client failed"; return; }
	ctl --json stats >"$XE_T/$name.s1" || fail "$vip: xlbctl stats failed"
	local okn failn
	okn=$(jq_py 'd["ok"]' "$XE_T/$name.res")
	failn=$(jq_py 'd["fail"]' "$XE_T/$name.res")
	if [ "$okn" = "$n" ] && [ "$failn" = 0 ]; then
		ok "$vip: $n/$n $proto requests answered $(jq_py 'd["by_backend"]' "$XE_T/$name.res")"
	else
		fail "$vip: $okn of $n answered, $failn failed: $(jq_py 'd["errors"][:3]' "$XE_T/$name.res")"
	fi
	local out
	if out=$($CHECK stats --before "$XE_T/$name.s0" --after "$XE_T/$name.s1" \
		--vip "$vip" --proto "$proto" --map "$map" "$XE_T/$name.res"); then
		ok "stats ${out#ok: }"
	else
		fail "stats ${out#not ok: }"
	fi
	# explain agrees with the backend that answered, for a sample of flows
	local lport be i=0 bad=0
	while read -r lport be; do
		ctl --json explain "$vip" "$(fmt_client "$addr" "$lport")" >"$XE_T/explain.json" ||
			{ fail "xlbctl explain $vip port $lport failed"; bad=1; break; }
		if ! out=$($CHECK explain --map "$map" "$XE_T/explain.json" "$be"); then
			fail "$vip: $out"
			bad=1
		fi
		i=$((i + 1))
	done < <(jq_py '"\n".join("%d %s" % (p, b) for p, b in d["flows"][:12])' "$XE_T/$name.res")
	[ $bad = 0 ] && ok "$vip: xlbctl explain names the answering backend for $i client ports"
}
# the client's address as explain wants it, in the VIP's family
fmt_client() {
	case $1 in
	*:*) echo "[$CLI6]:$2" ;;
	*) echo "$CLI4:$2" ;;
	esac
}

run_vip tcp4 $VIP4 80 tcp 300 "$MAP4"
run_vip udp4 $VIP4 53 udp 200 "$MAP4"
run_vip tcp6 $VIP6 80 tcp 200 "$MAP6"
run_vip udp6 $VIP6 53 udp 200 "$MAP6"
run_vip tcp46 $VIP46 80 tcp 200 "$MAP6"
run_vip udp46 $VIP46 53 udp 200 "$MAP6"

# The spread. Each connection has a fresh ephemeral port, so its backend is
# an independent draw with probabilities weight/sum (Maglev's weighted
# table matches the weights within 1 %, tests/unit/test_maglev.c).
# Pearson's statistic has 2 degrees of freedom; 18.4 is its 1e-4 quantile,
# so a correct xlb fails this once in 10,000 runs, while equal shares
# (weights ignored) would give about 55 over the 700 TCP connections and 50
# over the 600 UDP requests.
WN="b1=100,b2=100,b3=50"
for proto in tcp udp; do
	if out=$($CHECK spread --weights $WN --max-chi2 18.4 \
		"$XE_T/${proto}4.res" "$XE_T/${proto}6.res" "$XE_T/${proto}46.res"); then
		ok "$proto spread over weights 100/100/50: ${out#ok: }"
	else
		fail "$proto spread over weights 100/100/50: $out"
	fi
done

# nothing was dropped anywhere
drops=$(ctl --json stats | jq_py '{k: v for k, v in d["global"].items() if k.startswith("drop_") and v}')
check "no global drop counter moved ($drops)" test "$drops" = "{}"

# Stopping xlbd leaves the program attached and forwarding.
xlbd_stop
check "the program stays attached after xlbd stops" test "$(lb_xdp_prog_id)" = "$prog"
cli tcp $VIP4 80 -n 30 >"$XE_T/after-stop.res"
check "30/30 connections answered with xlbd stopped" \
	test "$(jq_py 'd["ok"]' "$XE_T/after-stop.res")" = 30

# Teardown: no program on the interface, no pin, and the program is gone
# from the kernel once nothing holds it.
if xlbd_teardown; then ok "xlbd --teardown exits 0"; else fail "xlbd --teardown failed: $(tail -n 3 "$XE_T/teardown.log")"; fi
check "no XDP program on $XE_LB_IF after teardown" test -z "$(lb_xdp_prog_id)"
check "pinned state $XE_BPFFS removed" test ! -e "$XE_BPFFS"
if command -v bpftool >/dev/null; then
	check "program $prog freed by the kernel" \
		wait_until 5 eval "! bpftool prog show id $prog >/dev/null 2>&1"
fi
if xlbd_teardown && grep -qi "nothing to tear down" "$XE_T/teardown.log"; then
	ok "a second teardown says there is nothing to tear down and exits 0"
else
	fail "second teardown: $(tail -n 2 "$XE_T/teardown.log")"
fi

xe_topo_destroy
left=$(ip netns list | grep -c "^$XE_ID-")
check "no namespace left ($left)" test "$left" = 0
xe_finish
