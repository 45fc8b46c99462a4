#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# test_e2e_apply.sh BUILD_DIR - configuration changes under load
# (topology: tests/e2e/lib.sh).
#
# A client makes TCP connections back to back through the VIP the whole
# time. Proves, with not one failed connection:
#  * `xlbctl backend replace VIP -` (a JSON array on stdin, as service
#    discovery emits it) adds a backend and changes a weight; the new
#    backend takes connections once its first health check passes;
#  * `xlbctl apply` of a whole document changes weights;
#  * drain, then remove: a backend set to draining by `backend replace`,
#    then left out of the list, takes no connection afterwards;
#  * `apply --dry-run` prints the diff and changes nothing;
#  * `config dump` -> `apply` -> `config dump` is identical (and the apply
#    reports no change);
#  * SIGHUP with a broken config file changes nothing and says why; SIGHUP
#    with a good one applies it;
#  * an apply changing an immutable key (max_backends), or needing more
#    backend slots than the maps hold, is refused and changes nothing.

. "$(dirname "$0")/lib.sh"
xe_init "${1:-}" test_e2e_apply

xe_topo_create
srv_start_all
VIP=$VIP4:80/tcp
be() { echo "{ \"address\": \"${BE4[$(($1 - 1))]}\", \"weight\": $2${3:+, \"state\": \"$3\"} }"; }
config_json "$(vip_json $VIP4 80 tcp "[ $(be 1 100), $(be 2 100) ]")" >"$XE_T/xlb.json"
xlbd_start "$XE_T/xlb.json"

health_is() {
	[ "$(ctl --json health "$VIP" |
		jq_py "[b['health'] for v in d for b in v['backends'] if b['address'] == '$1'][0]" 2>/dev/null)" = "$2" ]
}
wait_until 5 eval 'health_is ${BE4[0]} up && health_is ${BE4[1]} up' || die "backends not up: $(ctl health)"

rm -f "$XE_T/stop"
cli_bg loop loop $VIP4 80 -c 4 --pause-ms 5 --timeout 2 --until "$XE_T/stop" \
	--ready "$XE_T/loop.ready" --out "$XE_T/loop.json"
LOOP=$BG_PID
wait_until 10 test -e "$XE_T/loop.ready" || die "the client loop got no answer"

# 1. backend replace from stdin: add b3 (weight 50), b1's weight 100 -> 60
if echo "[ $(be 1 60), $(be 2 100), $(be 3 50) ]" | ctl backend replace "$VIP" - >"$XE_T/replace.out" 2>&1; then
	ok "backend replace $VIP - (b3 added, b1 weight 60)"
else
	fail "backend replace: $(cat "$XE_T/replace.out")"
fi
t_added=$(now_s)
rows=$(ctl --json backend list "$VIP" | jq_py '[(b["address"], b["weight"]) for b in d]')
check "backend list after replace: $rows" \
	test "$rows" = "[[\"${BE4[0]}\", 60], [\"${BE4[1]}\", 100], [\"${BE4[2]}\", 50]]"
wait_until 5 health_is "${BE4[2]}" up || fail "b3 not up within 5 s of being added: $(ctl health)"

# 2. apply of a whole document: b3's weight 50 -> 100
ctl --json config dump >"$XE_T/dump0.json" || fail "config dump failed"
jq_py 'd' "$XE_T/dump0.json" >/dev/null || die "config dump is not JSON"
"$XE_PY" - "$XE_T/dump0.json" "$XE_T/apply1.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for b in d["vips"][0]["backends"]:
    if b["address"] == "198.51.100.13":
        b["weight"] = 100
json.dump(d, open(sys.argv[2], "w"), indent=1)
EOF
if ctl apply "$XE_T/apply1.json" >"$XE_T/apply1.out" 2>&1; then
	ok "apply of a whole document (b3 weight 50 -> 100): $(tr -s ' \n' ' ' <"$XE_T/apply1.out")"
else
	fail "apply: $(cat "$XE_T/apply1.out")"
fi
check "b3 has weight 100 now" test "$(ctl --json backend list "$VIP" | jq_py '[b["weight"] for b in d if b["address"] == "198.51.100.13"]')" = "[100]"

# 3. drain b1, let its connections finish, then remove it
echo "{\"backends\": [ $(be 1 60 draining), $(be 2 100), $(be 3 100) ]}" |
	ctl backend replace "$VIP" - >"$XE_T/drain.out" 2>&1 || fail "backend replace (drain b1): $(cat "$XE_T/drain.out")"
t_drained=$(now_s)
# short connections last a few ms; half a second is plenty to finish them
wait_until 5 past "$(awk "BEGIN{printf \"%.3f\", $t_drained + 0.5}")"
b1_packets=$(ctl --json stats "$VIP" |
	jq_py '[b["packets"] for b in d["vips"][0]["backends"] if b["address"] == "198.51.100.11"][0]')
echo "[ $(be 2 100), $(be 3 100) ]" | ctl backend replace "$VIP" - >"$XE_T/remove.out" 2>&1 ||
	fail "backend replace (remove b1): $(cat "$XE_T/remove.out")"
t_removed=$(now_s)
check "b1 removed from the backend list" \
	test "$(ctl --json backend list "$VIP" | jq_py 'len(d)')" = 2
# one sample: the VIP's total is its backends' sum plus what b1 carried
gone=$(ctl --json stats "$VIP" |
	jq_py 'd["vips"][0]["packets"] - sum(b["packets"] for b in d["vips"][0]["backends"])')
check "the VIP's packet count keeps what the removed b1 carried (b1 had $b1_packets, the total holds $gone beyond the current backends)" \
	test "$b1_packets" -gt 0 -a "$gone" -ge "$b1_packets"

# 4. dry run: the diff, and nothing changes
ctl --json config dump >"$XE_T/dump1.json"
"$XE_PY" - "$XE_T/dump1.json" "$XE_T/dry.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["vips"][0]["backends"][0]["weight"] = 7
d["vips"][0]["backends"].append({"address": "198.51.100.11", "weight": 5})
json.dump(d, open(sys.argv[2], "w"))
EOF
if ctl apply "$XE_T/dry.json" --dry-run >"$XE_T/dry.out" 2>&1; then
	if grep -q "weight: 100 -> 7" "$XE_T/dry.out" && grep -q "+ backend 198.51.100.11" "$XE_T/dry.out"; then
		ok "apply --dry-run shows the diff: $(tr -s ' \n' ' ' <"$XE_T/dry.out")"
	else
		fail "apply --dry-run output lacks the changes: $(cat "$XE_T/dry.out")"
	fi
else
	fail "apply --dry-run: $(cat "$XE_T/dry.out")"
fi
ctl --json apply "$XE_T/dry.json" --dry-run >"$XE_T/dry.jout" 2>&1
check "apply --dry-run --json: applied false, changed true" \
	test "$(jq_py '(d["applied"], d["diff"]["changed"])' "$XE_T/dry.jout")" = "(False, True)"
ctl --json config dump >"$XE_T/dump2.json"
check "apply --dry-run changed nothing (config dump identical)" cmp -s "$XE_T/dump1.json" "$XE_T/dump2.json"

# 5. dump -> apply -> dump
ctl --json apply "$XE_T/dump2.json" >"$XE_T/rt.out" 2>&1 || fail "apply of config dump output: $(cat "$XE_T/rt.out")"
check "applying the dump changes nothing (diff.changed false)" \
	test "$(jq_py 'd["diff"]["changed"]' "$XE_T/rt.out")" = false
ctl --json config dump >"$XE_T/dump3.json"
check "config dump -> apply -> config dump identical" cmp -s "$XE_T/dump2.json" "$XE_T/dump3.json"

# 6. SIGHUP with a broken file changes nothing
printf '{ "interface": "l0", "vips": [ { "address": "203.0.113.10", ' >"$XE_T/xlb.json"
lines=$(wc -l <"$XE_T/xlbd.log")
kill -HUP "$XE_XLBD_PID"
if wait_until 5 eval 'tail -n +$((lines + 1)) "$XE_T/xlbd.log" | grep -q "not reloading"'; then
	ok "SIGHUP with a broken file: $(tail -n +$((lines + 1)) "$XE_T/xlbd.log" | grep -i error | head -n 2 | tr '\n' ' ')"
else
	fail "SIGHUP with a broken file: no \"not reloading\" in the log: $(tail -n +$((lines + 1)) "$XE_T/xlbd.log")"
fi
ctl --json config dump >"$XE_T/dump4.json"
check "after SIGHUP with a broken file, config dump identical" cmp -s "$XE_T/dump3.json" "$XE_T/dump4.json"
check "xlbd still running and answering" ctl status

# 7. SIGHUP with a good file applies it: b2's weight 100 -> 80
"$XE_PY" - "$XE_T/dump4.json" "$XE_T/xlb.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for b in d["vips"][0]["backends"]:
    if b["address"] == "198.51.100.12":
        b["weight"] = 80
json.dump(d, open(sys.argv[2], "w"))
EOF
kill -HUP "$XE_XLBD_PID"
check "SIGHUP with a good file: b2's weight becomes 80" \
	wait_until 5 eval '[ "$(ctl --json backend list "$VIP" | jq_py "[b[\"weight\"] for b in d if b[\"address\"] == \"198.51.100.12\"]")" = "[80]" ]'

# 8. changes the running data plane cannot take are refused whole
ctl --json config dump >"$XE_T/dump5.json"
"$XE_PY" - "$XE_T/dump5.json" "$XE_T/immut.json" "$XE_T/full.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["max_backends"] = 512          # maps are sized at load
json.dump(d, open(sys.argv[2], "w"))
d = json.load(open(sys.argv[1]))
# 256 new backends fit max_backends (256) alone, but not while the two
# running ones still hold their slots: the plan fails before any write
d["vips"][0]["backends"] = [{"address": "198.18.%d.%d" % (i // 200, i % 200 + 1)}
                            for i in range(256)]
d["vips"][0]["table_size"] = 65537
json.dump(d, open(sys.argv[3], "w"))
EOF
if ctl apply "$XE_T/immut.json" >"$XE_T/immut.out" 2>&1; then
	fail "apply changing max_backends was accepted"
else
	check "apply changing max_backends refused naming the key: $(head -c 200 "$XE_T/immut.out")" \
		grep -q max_backends "$XE_T/immut.out"
fi
if ctl apply "$XE_T/full.json" >"$XE_T/full.out" 2>&1; then
	fail "apply needing more backend slots than exist was accepted"
else
	ok "apply needing 258 slots of 256 refused: $(head -c 200 "$XE_T/full.out")"
fi
ctl --json config dump >"$XE_T/dump6.json"
check "after the refused applies, config dump identical" cmp -s "$XE_T/dump5.json" "$XE_T/dump6.json"

# the load: not one failed connection; b3 served after it came; b1 none
# after its removal
touch "$XE_T/stop"
wait "$LOOP"
"$XE_PY" - "$XE_T/loop.json" "$t_added" "$t_removed" >"$XE_T/loop.check" <<'EOF'
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
added, removed = float(sys.argv[2]), float(sys.argv[3])
fails = [e for e in ev if e[4]]
b3 = sum(1 for e in ev if e[3] == "b3" and e[0] >= added)
b1_late = sum(1 for e in ev if e[3] == "b1" and e[0] >= removed)
print("%d connections, %d failed, %d by b3 after it was added, %d by b1 "
      "after its removal" % (len(ev), len(fails), b3, b1_late))
for e in fails[:5]:
    print("  failed: start %.3f port %s: %s" % (e[0], e[2], e[4]))
sys.exit(0 if not fails and b3 > 0 and not b1_late and len(ev) > 200 else 1)
EOF
if [ $? = 0 ]; then
	ok "under load through all of it: $(head -n 1 "$XE_T/loop.check")"
else
	fail "under load: $(cat "$XE_T/loop.check")"
fi
xe_finish
