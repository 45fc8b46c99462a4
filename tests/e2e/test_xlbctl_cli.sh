#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# test_xlbctl_cli.sh BUILD_DIR - xlbctl's command line without xlbd:
# usage errors exit 2 (with {"error"} on stdout under --json), no daemon
# exits 3, bad input files exit 1, --help is there for every command, and
# against a scripted fake daemon (python3): refusals exit 1, results are
# printed as tables or passed through as JSON.

B=${1:?usage: test_xlbctl_cli.sh BUILD_DIR}
X=$B/xlbctl
if [ ! -x "$X" ]; then
	echo "FAIL: $X not built"
	exit 1
fi

T=$(mktemp -d /tmp/xlbctl-cli.XXXXXX)
FAKE_PID=
cleanup() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

fails=0
pass=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
ok() {
	pass=$((pass + 1))
}

NOSOCK=$T/none/xlbd.sock
VIP=203.0.113.10:80/tcp

# expect CODE ARGS...: xlbctl exits with CODE
expect() {
	local want=$1
	shift
	"$X" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" != "$want" ]; then
		fail "xlbctl $* exited $rc, expected $want; stderr: $(head -c 300 "$T/err")"
		return 1
	fi
	ok
	return 0
}

# expect_err CODE PATTERN ARGS...: exit code and a stderr message
expect_err() {
	local want=$1 pat=$2
	shift 2
	expect "$want" "$@" || return
	if ! grep -q -- "$pat" "$T/err"; then
		fail "xlbctl $*: stderr lacks \"$pat\": $(head -c 300 "$T/err")"
	fi
}

# ---- usage errors: exit 2 ----
expect_err 2 "missing command"
expect_err 2 'unknown command "frob"' frob
expect_err 2 'unknown subcommand "frob"; one of: list, show, add, del' vip frob
expect_err 2 "missing subcommand" backend
expect_err 2 "missing VIP" vip show
expect_err 2 "vip 203.0.113.10:80: invalid" vip show 203.0.113.10:80
expect_err 2 "invalid" vip show 203.0.113.10/tcp
expect_err 2 "invalid" vip show 203.0.113.10:80/sctp
expect_err 2 "invalid" vip show 203.0.113.10:0/tcp
expect_err 2 "invalid" vip show 203.0.113.10:65536/tcp
expect_err 2 "invalid" vip show 2001:db8::1:80/tcp
expect_err 2 "invalid" vip del "[203.0.113.10]:80/tcp"
expect_err 2 "table size 65536: must be a prime" vip add $VIP --table-size 65536
expect_err 2 "table size 5: must be a prime" vip add $VIP --table-size 5
expect_err 2 "table size 1048583" vip add $VIP --table-size 1048583
expect_err 2 "table size abc: not a" vip add $VIP --table-size abc
expect_err 2 "needs a value" vip add $VIP --table-size
expect_err 2 "hash md5: must be 5tuple|src_ip" vip add $VIP --hash md5
expect_err 2 "unknown option --weight" vip add $VIP --weight 3
expect_err 2 "missing ADDR" backend add $VIP
expect_err 2 "backend address foo: not an IPv4" backend add $VIP foo
expect_err 2 "backend address 198.51.100.1/24" backend del $VIP 198.51.100.1/24
expect_err 2 "backend weight 70000: must be 0..65535" backend add $VIP 198.51.100.11 --weight 70000
expect_err 2 "backend weight 1.5: not a" backend set $VIP 198.51.100.11 --weight 1.5
expect_err 2 "backend weight -1: not a non-negative integer" backend set $VIP 198.51.100.11 --weight -1
expect_err 2 "backend state up: must be" backend set $VIP 198.51.100.11 --state up
expect_err 2 "nothing to set" backend set $VIP 198.51.100.11
expect_err 2 "missing FILE" backend replace $VIP
expect_err 2 "missing FILE" apply
expect_err 2 "exclude each other" apply "$T/x.json" --dry-run --save
expect_err 2 "takes no value" apply "$T/x.json" --dry-run=yes
expect_err 2 'unexpected argument "extra"' status extra
expect_err 2 'unexpected argument' config dump now
expect_err 2 "watch interval 0: must be 1..86400" stats --watch 0
expect_err 2 "watch interval x" stats $VIP --watch x
expect_err 2 "invalid" stats 203.0.113.10
expect_err 2 "invalid" health 203.0.113.10:80
expect_err 2 "missing CLIENT" explain $VIP
expect_err 2 "client 192.0.2.1:70000" explain $VIP 192.0.2.1:70000
expect_err 2 "client host:80" explain $VIP host:80
expect_err 2 "needs a socket path" -s
expect_err 2 "unknown option --frob" --frob status
# the usage error comes before any attempt to reach a daemon
expect_err 2 "backend weight" -s "$NOSOCK" backend add $VIP 198.51.100.11 --weight 65536

# --json: the error on stdout as {"error": ...} too
if expect 2 --json backend add $VIP 198.51.100.11 --weight 70000; then
	if ! python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "weight 70000" in d["error"], d' "$T/out" 2>/dev/null; then
		fail "--json usage error: stdout is not {\"error\": ...}: $(cat "$T/out")"
	fi
fi

# ---- no daemon: exit 3, for every command ----
while read -r line; do
	# shellcheck disable=SC2086
	expect_err 3 "cannot reach xlbd at $NOSOCK" -s "$NOSOCK" $line
done <<EOF
status
vip list
vip show $VIP
vip add $VIP --table-size 251 --hash src_ip
vip del $VIP
backend list $VIP
backend add $VIP 198.51.100.11 --weight 0
backend del $VIP 2001:db8::1
backend set $VIP 198.51.100.11 --weight 5 --state draining
config dump
config save
stats
stats $VIP
health
health [2001:db8::10]:443/udp
explain $VIP 192.0.2.77:40000
explain [2001:db8::10]:443/tcp [2001:db8::77]:5
EOF
expect_err 3 "cannot reach" --socket="$NOSOCK" --json status
grep -q '"error"' "$T/out" || fail "--json, no daemon: no {\"error\"} on stdout"

# a stale socket file (nobody listening): also 3
if command -v python3 >/dev/null; then
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/stale.sock"
	expect_err 3 "Connection refused" -s "$T/stale.sock" status
fi

# ---- input files: unreadable or invalid is 1, before the daemon ----
echo '{"interface": "eth0", "vips": [' >"$T/bad.json"
echo '{"interface": "eth0", "interface": "eth1"}' >"$T/dup.json"
echo '[1, 2]' >"$T/array.json"
echo '{"backends": 5}' >"$T/badlist.json"
echo '{"interface": "eth0"}' >"$T/good.json"
echo '[{"address": "198.51.100.11"}]' >"$T/list.json"
expect_err 1 "$T/missing.json: No such file" -s "$NOSOCK" apply "$T/missing.json"
expect_err 1 "$T/bad.json: line" -s "$NOSOCK" apply "$T/bad.json"
expect_err 1 "duplicate" -s "$NOSOCK" apply "$T/dup.json"
expect_err 1 "JSON object" -s "$NOSOCK" apply "$T/array.json"
expect_err 1 "standard input: line" -s "$NOSOCK" apply - <"$T/bad.json"
expect_err 1 "$T/badlist.json" -s "$NOSOCK" backend replace $VIP "$T/badlist.json"
expect_err 1 "No such file" -s "$NOSOCK" backend replace $VIP "$T/missing.json"
# valid files get as far as the daemon
expect 3 -s "$NOSOCK" apply "$T/good.json" --dry-run
expect 3 -s "$NOSOCK" apply - --save <"$T/good.json"
expect 3 -s "$NOSOCK" backend replace $VIP - <"$T/list.json"

# ---- help: exit 0, every command, every option ----
expect 0 --help
for c in "status" "vip list" "vip show VIP" "vip add VIP [--table-size N] [--hash 5tuple|src_ip]" \
	"vip del VIP" "backend list VIP" "backend add VIP ADDR [--weight W]" \
	"backend del VIP ADDR" \
	"backend set VIP ADDR [--weight W] [--state enabled|draining|disabled]" \
	"backend replace VIP FILE|-" "apply FILE|- [--dry-run] [--save]" \
	"config dump" "config save" "stats [VIP] [--watch SECONDS]" \
	"health [VIP]" "explain VIP CLIENT"; do
	grep -qF -- "  $c" "$T/out" || fail "xlbctl --help lacks \"$c\""
done
grep -q "exit codes" "$T/out" || fail "xlbctl --help lacks the exit codes"
while read -r words opts; do
	# shellcheck disable=SC2086
	expect 0 $words --help || continue
	grep -q "^usage: xlbctl .*$words" "$T/out" || fail "xlbctl $words --help: no usage line"
	for o in $opts; do
		grep -q -- "$o" "$T/out" || fail "xlbctl $words --help lacks $o"
	done
done <<EOF
status
vip list
vip show VIP
vip add VIP --table-size --hash
vip del VIP
backend list VIP
backend add ADDR --weight
backend del ADDR
backend set --weight --state
backend replace FILE
apply --dry-run --save
config dump
config save
stats --watch
health VIP
explain CLIENT
EOF
expect 0 vip --help
grep -q "vip add" "$T/out" || fail "xlbctl vip --help lacks vip add"
expect 0 -h backend
grep -q "backend replace" "$T/out" || fail "xlbctl -h backend lacks replace"
# help wins over a bad value, without touching the socket
expect 0 -s "$NOSOCK" backend set $VIP foo --weight 99999 --help

# ---- a scripted daemon: refusals exit 1, results printed ----
if ! command -v python3 >/dev/null; then
	echo "SKIPPED (part): no python3 for the fake daemon"
else
	SOCK=$T/fake.sock
	cat >"$T/fake.py" <<'PY'
import json, os, socket, sys, time
row = {"address": "198.51.100.11", "weight": 100, "state": "enabled",
       "health": "up", "takes_new_flows": True, "slots": 65537}
ans = {
  "status": {"version": "0.1.0", "interface": "eth0", "vips": 1},
  "vip list": [{"vip": "203.0.113.10:80/tcp", "table_size": 65537,
                "hash": "5tuple", "backends": 1, "up": 1, "degraded": True}],
  "vip show": {"vip": "203.0.113.10:80/tcp", "table_size": 65537,
               "hash": "5tuple", "degraded": False,
               "healthcheck": {"type": "tcp"}, "backends": [row]},
  "backend list": [row],
  "health": [{"vip": "203.0.113.10:80/tcp", "degraded": True,
              "backends": [{"address": "198.51.100.11", "state": "draining",
                            "health": "down", "check": "tcp", "port": 80,
                            "last_result": "connect refused",
                            "latency_ms": 0.4, "last_check_ms": 0,
                            "last_change_ms": 0, "rise": 0, "fall": 3}]}],
  "explain": {"vip": "203.0.113.10:80/tcp", "client": "192.0.2.77:40000",
              "hash": 123456, "slot": 4242, "table_backend": "198.51.100.12",
              "recorded": True, "recorded_backend": "198.51.100.11",
              "recorded_usable": False, "backend": "198.51.100.12",
              "reason": "maglev table", "state": "enabled", "health": "up",
              "weight": 100, "takes_new_flows": True},
  "apply": {"diff": {"changed": True, "settings": [],
                     "vips_added": ["203.0.113.11:80/tcp"], "vips_removed": [],
                     "vips_changed": [{"vip": "203.0.113.10:80/tcp", "settings": [],
                        "backends_added": [], "backends_removed": ["198.51.100.13"],
                        "backends_changed": [{"address": "198.51.100.12",
                           "settings": [{"key": "weight", "from": 50, "to": 100}]}]}]},
            "warnings": ["vips[0].table_size: 7 is below 100 x backends"],
            "applied": False, "saved": False},
  "config dump": {"interface": "eth0", "vips": []},
}
n = [0]
def stats():
    n[0] += 1
    return {"timestamp_ms": int(time.time() * 1000),
            "global": {"passed": n[0] * 10, "drop_fragment": 0},
            "vips": [{"vip": "203.0.113.10:80/tcp", "packets": n[0] * 100,
                      "bytes": n[0] * 1000, "new_flows_syn": n[0],
                      "new_flows_nonsyn": 0, "dropped": 0,
                      "backends": [{"address": "198.51.100.11",
                                    "packets": n[0] * 100, "bytes": n[0] * 1000}]}]}
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept()
    f = c.makefile("rwb")
    for line in f:
        req = json.loads(line)
        cmd = req["cmd"]
        if req.get("vip") == "203.0.113.99:80/tcp":
            resp = {"ok": False, "error": "vip 203.0.113.99:80/tcp: no such VIP"}
        elif cmd == "stats":
            resp = {"ok": True, "result": stats()}
        elif cmd in ans:
            resp = {"ok": True, "result": ans[cmd]}
        else:
            resp = {"ok": True, "result": {"diff": {"changed": True}, "warnings": []}}
        f.write((json.dumps(resp) + "\n").encode()); f.flush()
        if cmd == "stats" and req.get("watch"):
            for i in range(2):
                time.sleep(req["watch"])
                f.write((json.dumps({"ok": True, "result": stats()}) + "\n").encode()); f.flush()
            break
    try:
        f.close(); c.close()
    except OSError:
        pass
PY
	python3 "$T/fake.py" "$SOCK" &
	FAKE_PID=$!
	for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done

	expect_err 1 "^xlbctl: vip 203.0.113.99:80/tcp: no such VIP$" -s "$SOCK" vip show 203.0.113.99:80/tcp
	expect 1 -s "$SOCK" --json backend del 203.0.113.99:80/tcp 198.51.100.1
	grep -q '{"error":"vip 203.0.113.99:80/tcp: no such VIP"}' "$T/out" ||
		fail "--json refusal: stdout is $(cat "$T/out")"

	expect 0 -s "$SOCK" backend list $VIP
	head -1 "$T/out" | grep -q "ADDRESS.*WEIGHT.*STATE.*HEALTH" ||
		fail "backend list: no state and health columns: $(head -1 "$T/out")"
	expect 0 -s "$SOCK" vip show $VIP
	grep -q "STATE *HEALTH" "$T/out" || fail "vip show: no state/health columns"
	grep -q "degraded" "$T/out" || fail "vip show: no degraded line"
	expect 0 -s "$SOCK" vip list
	grep -q "DEGRADED" "$T/out" || fail "vip list: no DEGRADED column"
	expect 0 -s "$SOCK" health
	grep -q "DEGRADED" "$T/out" || fail "health: degraded VIP not marked"
	grep -q "draining *down" "$T/out" || fail "health: state and health not both shown"
	expect 0 -s "$SOCK" explain $VIP 192.0.2.77:40000
	grep -q "198.51.100.11 (can no longer serve it" "$T/out" || fail "explain: recorded backend not named unusable"
	grep -q "goes to 198.51.100.12" "$T/out" || fail "explain: no answer line"
	expect 0 -s "$SOCK" apply "$T/good.json" --dry-run
	grep -q "dry run" "$T/out" || fail "apply --dry-run: not said"
	grep -q "+ vip 203.0.113.11:80/tcp" "$T/out" || fail "apply --dry-run: added VIP not shown"
	grep -q "weight: 50 -> 100" "$T/out" || fail "apply --dry-run: changed weight not shown"
	grep -q "warning: vips\[0\]" "$T/err" || fail "apply: warnings not shown"
	expect 0 -s "$SOCK" --json status
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["interface"]=="eth0"' "$T/out" ||
		fail "--json status: $(cat "$T/out")"
	expect 0 -s "$SOCK" config dump
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" || fail "config dump: not JSON"
	expect 0 -s "$SOCK" backend set $VIP 198.51.100.11 --weight 0

	# stats: rates from two samples ~1 s apart (100 packets between them)
	expect 0 -s "$SOCK" --json stats
	python3 -c '
import json,sys
d = json.load(open(sys.argv[1]))
r = d["rates"]["vips"][0]
assert 50 < r["packets_per_s"] < 150, r
assert 0.5 < d["rates"]["interval_ms"] / 1000 < 2
' "$T/out" || fail "stats --json: rates wrong: $(cat "$T/out")"
	expect 0 -s "$SOCK" stats
	grep -q "PER-SEC" "$T/out" && grep -q "SHARE" "$T/out" || fail "stats: no rates or split"
	# --watch --json: one object per line per sample, until the stream ends
	timeout 10 "$X" -s "$SOCK" --json stats --watch 1 >"$T/out" 2>"$T/err"
	# three samples, then the error: the fake daemon closes the stream
	[ "$(wc -l <"$T/out")" = 4 ] || fail "stats --watch --json: $(wc -l <"$T/out") lines, expected 4"
	python3 -c '
import json,sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert "closed" in lines[3]["error"]
assert lines[0]["rates"] is None
assert lines[2]["rates"]["vips"][0]["packets_per_s"] > 0
' "$T/out" || fail "stats --watch --json: bad samples"
	grep -q "xlbd closed the connection" "$T/err" || fail "stats --watch: end of stream not reported"
	# Ctrl-C ends a watch with exit 0
	"$X" -s "$SOCK" stats --watch 1 >"$T/out" 2>"$T/err" &
	wp=$!
	sleep 1.5
	kill -INT $wp
	wait $wp
	rc=$?
	[ $rc = 0 ] || fail "stats --watch interrupted: exit $rc"
	grep -q "xlb stats every 1s" "$T/out" || fail "stats --watch: no header"
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
fi

echo "$pass checks passed, $fails failed"
if [ $fails -gt 0 ]; then
	echo "FAIL: test_xlbctl_cli"
	exit 1
fi
echo "PASS: test_xlbctl_cli"
