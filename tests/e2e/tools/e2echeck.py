#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Checks of the end-to-end tests over the JSON of xlbcli.py and xlbctl.

Each subcommand prints what it checked, one line, and exits 0 when it
holds, 1 otherwise (with the reason).

  spread --weights b1=100,b2=100,b3=50 --max-chi2 X RESULT...
      the answers of every RESULT (xlbcli.py tcp/udp output) together,
      against the weights: Pearson's chi-square statistic <= X, and every
      backend with a weight answered at least once.
  stats --before S0 --after S1 --vip VIP --proto tcp|udp
        --map b1=ADDR,... RESULT
      the counters of `xlbctl --json stats` moved as the traffic of RESULT
      says they must (see each check below).
  failover --t0 T --bound S --dead NAME LOOP_JSON
      xlbcli.py loop events around a backend failure at time T: before T
      every connection was answered; from T + S on every connection was
      answered and none by NAME. Prints when the last connection that
      still reached NAME (or failed) started, relative to T.
  udpflow --servers S1,S2,S3 --client ADDR FLOW_JSON
      xlbcli.py udpflow output: every datagram of every flow reached a
      backend (the servers' counters, xlbsrv.py --stats) and came back;
      each flow stayed on one backend.
  explain --map b1=ADDR,... EXPLAIN_JSON BACKEND_NAME
      `xlbctl --json explain` names the backend that answered, from the
      connection table.
"""

import argparse
import json
import signal
import sys


def load(p):
    with open(p) as f:
        return json.load(f)


def kv(s):
    out = {}
    for part in s.split(","):
        k, _, v = part.partition("=")
        out[k] = v
    return out


def bad(msg):
    print("not ok: " + msg)
    sys.exit(1)


def cmd_spread(a):
    weights = {k: float(v) for k, v in kv(a.weights).items()}
    counts = {k: 0 for k in weights}
    total = 0
    for p in a.results:
        r = load(p)
        for b, n in r["by_backend"].items():
            if b not in counts:
                bad("answer from %s, which has no weight" % b)
            counts[b] += n
            total += n
    wsum = sum(weights.values())
    chi2 = 0.0
    parts = []
    for b, w in sorted(weights.items()):
        exp = total * w / wsum
        if exp > 0:
            chi2 += (counts[b] - exp) ** 2 / exp
        elif counts[b]:
            bad("%s has weight 0 but answered %d" % (b, counts[b]))
        parts.append("%s %d (expected %.1f)" % (b, counts[b], exp))
        if w > 0 and counts[b] == 0:
            bad("%s never answered: %s" % (b, ", ".join(parts)))
    msg = "%d answers: %s; chi2 %.2f (limit %.2f)" % (
        total, ", ".join(parts), chi2, a.max_chi2)
    if chi2 > a.max_chi2:
        bad(msg)
    print("ok: " + msg)


def vip_stats(doc, vip):
    for v in doc["vips"]:
        if v["vip"] == vip:
            return v
    bad("no stats for %s" % vip)


def cmd_stats(a):
    s0 = vip_stats(load(a.before), a.vip)
    s1 = vip_stats(load(a.after), a.vip)
    r = load(a.result)
    names = kv(a.map)
    d = {k: s1[k] - s0[k] for k in ("packets", "bytes", "new_flows_syn",
                                    "new_flows_nonsyn", "dropped")}
    be0 = {b["address"]: b for b in s0["backends"]}
    be1 = {b["address"]: b for b in s1["backends"]}
    dbe = {a_: be1[a_]["packets"] - be0.get(a_, {"packets": 0})["packets"]
           for a_ in be1}
    n = r["ok"] + r["fail"]
    ports = {lp for lp, _ in r["flows"]}
    problems = []
    if d["dropped"]:
        problems.append("%d packets dropped" % d["dropped"])
    if sum(dbe.values()) != d["packets"]:
        problems.append("backend packets %d != VIP packets %d" %
                        (sum(dbe.values()), d["packets"]))
    if a.proto == "udp":
        # one datagram per request, all from distinct sockets; a port the
        # kernel handed out twice is one flow
        if d["packets"] != n:
            problems.append("VIP packets %d, requests %d" % (d["packets"], n))
        if d["new_flows_nonsyn"] != len(ports) or d["new_flows_syn"]:
            problems.append("new flows %d/%d (syn/other), expected 0/%d" % (
                d["new_flows_syn"], d["new_flows_nonsyn"], len(ports)))
        for name, addr in names.items():
            want = r["by_backend"].get(name, 0)
            if dbe.get(addr, 0) != want:
                problems.append("%s (%s): %d packets, %d answers" % (
                    name, addr, dbe.get(addr, 0), want))
    else:
        # one SYN per connection (no retransmission on a clean path) and
        # one recorded flow per connection (its first packet after the SYN)
        if d["new_flows_syn"] != n or d["new_flows_nonsyn"] != n:
            problems.append("new flows %d/%d (syn/other), expected %d/%d" % (
                d["new_flows_syn"], d["new_flows_nonsyn"], n, n))
        # a short connection is SYN, ACK, request, FIN, ACK and maybe an
        # extra ACK: 4..8 packets from the client, all to one backend
        for name, addr in names.items():
            c = r["by_backend"].get(name, 0)
            p = dbe.get(addr, 0)
            if not (4 * c <= p <= 8 * c):
                problems.append("%s (%s): %d packets for %d connections" % (
                    name, addr, p, c))
    summary = "%s: %d packets, new flows %d/%d, per backend %s" % (
        a.vip, d["packets"], d["new_flows_syn"], d["new_flows_nonsyn"],
        ", ".join("%s %d" % (k, dbe.get(v, 0)) for k, v in names.items()))
    if problems:
        bad(summary + ": " + "; ".join(problems))
    print("ok: " + summary)


def cmd_explain(a):
    names = kv(a.map)
    e = load(a.explain)
    want = names[a.backend]
    if e.get("backend") != want or e.get("reason") != "connection table" \
            or e.get("recorded_backend") not in (None, want) \
            or not e.get("recorded"):
        bad("explain %s: %s, but %s (%s) answered" % (
            e.get("client"), json.dumps(e), a.backend, want))
    print("ok: explain %s -> %s (%s)" % (e["client"], want, e["reason"]))


def cmd_failover(a):
    ev = load(a.events)["events"]
    before = [e for e in ev if e[0] < a.t0]
    after = [e for e in ev if e[0] >= a.t0 + a.bound]
    window = [e for e in ev if a.t0 <= e[0] < a.t0 + a.bound]
    problems = []
    bad_before = [e for e in before if e[4] and e[1] < a.t0]
    if bad_before:
        problems.append("%d failures before the backend died, e.g. %s" % (
            len(bad_before), bad_before[0]))
    bad_after = [e for e in after if e[4] or e[3] == a.dead]
    if bad_after:
        problems.append("%d connections after T+%.3f s failed or reached %s,"
                        " e.g. %s" % (len(bad_after), a.bound, a.dead,
                                      bad_after[0]))
    if len(after) < 20:
        problems.append("only %d connections after T+%.3f s" % (
            len(after), a.bound))
    last_dead = [e[0] - a.t0 for e in ev if e[0] >= a.t0 and
                 (e[4] or e[3] == a.dead)]
    detect = max(last_dead) if last_dead else 0.0
    fails = sum(1 for e in ev if e[4])
    win_ok = sum(1 for e in window if not e[4])
    summary = ("%d connections: %d before, %d in the %.0f ms window (%d "
               "answered, %d failed), %d after (all by live backends: %s); "
               "last connection to the dead backend started %.0f ms after "
               "it died" % (len(ev), len(before), len(window),
                            a.bound * 1000, win_ok, fails, len(after),
                            "yes" if not bad_after else "no", detect * 1000))
    if problems:
        bad(summary + ": " + "; ".join(problems))
    print("ok: " + summary)
    print("detect_ms %.0f" % (detect * 1000))


def cmd_udpflow(a):
    r = load(a.flow)
    seen = {}
    for p in a.servers.split(","):
        st = load(p)
        for key, n in st["seq"].items():
            addr, _, port = key.rpartition(":")
            if addr == a.client:
                seen[int(port)] = seen.get(int(port), 0) + n
    problems = []
    for fl in r["flows"]:
        got = seen.get(fl["lport"], 0)
        if got != fl["sent"]:
            problems.append("flow %d: %d sent, %d reached the backends" % (
                fl["lport"], fl["sent"], got))
        if fl["recv"] != fl["sent"] or fl["missing_count"]:
            problems.append("flow %d: %d sent, %d answers, missing %s" % (
                fl["lport"], fl["sent"], fl["recv"], fl["missing"]))
        if len(fl["backends"]) != 1:
            problems.append("flow %d answered by %s" % (fl["lport"],
                                                         fl["backends"]))
    summary = "%d flows over %.1f s: %d datagrams sent, %d reached the " \
        "backends, %d answered" % (len(r["flows"]), r["duration_s"],
                                   r["sent"], sum(seen.get(f["lport"], 0)
                                                  for f in r["flows"]),
                                   r["recv"])
    if problems:
        bad(summary + ": " + "; ".join(problems[:8]))
    print("ok: " + summary)


def main():
    # die of Ctrl-C like any command, so that the calling shell sees the
    # signal and runs its cleanup (bash ignores a SIGINT that a child
    # handled itself)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("spread")
    p.add_argument("--weights", required=True)
    p.add_argument("--max-chi2", type=float, required=True)
    p.add_argument("results", nargs="+")
    p = sub.add_parser("stats")
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--vip", required=True)
    p.add_argument("--proto", required=True, choices=("tcp", "udp"))
    p.add_argument("--map", required=True)
    p.add_argument("result")
    p = sub.add_parser("failover")
    p.add_argument("--t0", type=float, required=True)
    p.add_argument("--bound", type=float, required=True)
    p.add_argument("--dead", required=True)
    p.add_argument("events")
    p = sub.add_parser("udpflow")
    p.add_argument("--servers", required=True)
    p.add_argument("--client", required=True)
    p.add_argument("flow")
    p = sub.add_parser("explain")
    p.add_argument("--map", required=True)
    p.add_argument("explain")
    p.add_argument("backend")
    a = ap.parse_args()
    {"spread": cmd_spread, "stats": cmd_stats, "explain": cmd_explain,
     "failover": cmd_failover, "udpflow": cmd_udpflow}[a.cmd](a)


if __name__ == "__main__":
    main()
