#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# report.py - the table of tools/bench/e2e_bench.sh. Reads the results
# file and the run's details from XB_* environment variables (set by the
# script), prints the section, and with XB_WRITE=1 puts it into
# docs/benchmarks.md in place of the previous one (other sections kept).
import json
import os
import re
import textwrap
import time

HEADING = "## End to end: xlb vs HAProxy (tools/bench/e2e_bench.sh)"
env = os.environ


def parse(line):
    r = {}
    for tok in line.split():
        k, _, v = tok.partition("=")
        if k == "probe":
            try:
                r[k] = json.loads(v)
            except ValueError:
                r[k] = {}
        elif k in ("lb", "mode"):
            r[k] = v
        else:
            r[k] = int(v)
    return r


def figures(r):
    hz = float(env["XB_HZ"])
    wall = r["wall_ms"] / 1000.0
    secs = r["duration_us"] / 1e6
    n = r["requests"]
    f = {
        "rate": n / secs if secs else 0,
        "p50": r["p50_us"], "p99": r["p99_us"],
        "errors": r["err_connect"] + r["err_read"] + r["err_write"]
        + r["err_timeout"] + r["err_status"],
        "busy_cores": r["busy"] / hz / wall,
        "softirq_cores": r["softirq"] / hz / wall,
        "busy_us_per": r["busy"] / hz * 1e6 / n if n else 0,
        "probe": r.get("probe", {}),
    }
    if r["lb"] == "xlb":
        f["lb_cores"] = r["prog_ns"] / 1e9 / wall
        f["lb_us_per"] = r["prog_ns"] / 1e3 / n if n else 0
        f["ns_per_pkt"] = r["prog_ns"] / r["prog_cnt"] if r["prog_cnt"] else 0
        f["pkts_per"] = r["prog_cnt"] / n if n else 0
    else:
        f["lb_cores"] = r["proc"] / hz / wall
        f["lb_us_per"] = r["proc"] / hz * 1e6 / n if n else 0
    return f


def us(v):
    if v is None:
        return "n/a"
    return "%.0f µs" % v if v >= 100 else "%.1f µs" % v


def pct(cores):
    return "%.0f %%" % (cores * 100) if cores >= 0.1 else "%.1f %%" % (cores * 100)


def wrap(para):
    """wrap prose at 76 columns like the rest of the document; leave
    headings, tables and empty lines alone"""
    if not para or para.startswith(("#", "|")):
        return para
    if para.startswith("- "):
        return textwrap.fill(para, 76, subsequent_indent="  ",
                             break_long_words=False, break_on_hyphens=False)
    return textwrap.fill(para, 76, break_long_words=False, break_on_hyphens=False)


def rate_of(r):
    return r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0


def median_run(runs):
    """the run whose rate is the median (the lower middle one of an even count)"""
    s = sorted(runs, key=rate_of)
    return s[(len(s) - 1) // 2]


def table(allres, res, mode, unit):
    x, h = figures(res[("xlb", mode)]), figures(res[("haproxy", mode)])
    rows = []

    def row(name, a, b):
        rows.append("| %s | %s | %s |" % (name, a, b))

    rows.append("| | xlb | HAProxy |")
    rows.append("| --- | ---: | ---: |")
    row(unit, "{:,.0f}".format(x["rate"]), "{:,.0f}".format(h["rate"]))
    row("HAProxy / xlb", "", "%.2f×" % (h["rate"] / x["rate"]) if x["rate"] else "n/a")
    if len(allres[("xlb", mode)]) > 1:
        each = lambda lb: ", ".join("{:,.0f}".format(rate_of(r))
                                    for r in sorted(allres[(lb, mode)], key=lambda r: r["round"]))
        row("%s in each round" % unit, each("xlb"), each("haproxy"))
    row("wrk latency p50 / p99", "%s / %s" % (us(x["p50"]), us(x["p99"])),
        "%s / %s" % (us(h["p50"]), us(h["p99"])))
    if mode == "close":
        xp, hp = x["probe"], h["probe"]
        row("whole connection p50 / p99 (probe)",
            "%s / %s" % (us(xp.get("p50_us")), us(xp.get("p99_us"))),
            "%s / %s" % (us(hp.get("p50_us")), us(hp.get("p99_us"))))
    row("LB CPU, attributable", "%s of a core (XDP program)" % pct(x["lb_cores"]),
        "%s of a core (haproxy user+sys)" % pct(h["lb_cores"]))
    per = "connection" if mode == "close" else "request"
    row("LB CPU per %s, attributable" % per, "%.2f µs (%.0f ns × %.1f packets)"
        % (x["lb_us_per"], x["ns_per_pkt"], x["pkts_per"]), "%.1f µs" % h["lb_us_per"])
    row("machine CPU (all namespaces), of %s cores" % env["XB_NCPU"],
        "%s (softirq %s)" % (pct(x["busy_cores"]), pct(x["softirq_cores"])),
        "%s (softirq %s)" % (pct(h["busy_cores"]), pct(h["softirq_cores"])))
    row("machine CPU per %s" % per, "%.1f µs" % x["busy_us_per"], "%.1f µs" % h["busy_us_per"])
    errs = lambda f: "%d" % f["errors"] + (" (probe %d)" % f["probe"].get("fail", 0)
                                          if mode == "close" else "")
    row("errors (wrk)", errs(x), errs(h))
    return "\n".join(rows)


def spread(res):
    out = []
    for lb in ("xlb", "haproxy"):
        b = res[(lb, "close")].get("probe", {}).get("by_body", {})
        out.append("%s %s" % ("xlb" if lb == "xlb" else "HAProxy",
                              "/".join("%s %d" % (k, b[k]) for k in sorted(b)) or "none"))
    return "; ".join(out)


def main():
    allres = {}
    with open(env["XB_RESULTS"]) as fh:
        for line in fh:
            if line.strip():
                r = parse(line)
                allres.setdefault((r["lb"], r["mode"]), []).append(r)
    res = {k: median_run(v) for k, v in allres.items()}
    dur, thr, con, rate = env["XB_DUR"], env["XB_THREADS"], env["XB_CONNS"], env["XB_RATE"]
    s = []
    s.append(HEADING)
    s.append("")
    s.append("`sudo %s` (BUILD_DIR defaults to `build`), %s." % (
        env["XB_CMD"], time.strftime("%Y-%m-%d", time.gmtime())))
    s.append("")
    s.append("Machine: %s, %s cores, %s; HAProxy %s (%s threads), nginx %s on the "
             "backends, wrk %s; xlb's XDP program in %s mode on the LB's veth. Before "
             "the runs the machine was %s %% busy (of %d %%) without this benchmark, "
             "load average %s." % (
                 env["XB_CPU"], env["XB_NCPU"], env["XB_KERNEL"], env["XB_HAP"],
                 env["XB_HAPTHREADS"], env["XB_NGINX"], env["XB_WRK"], env["XB_XDPMODE"],
                 env["XB_IDLE"], int(env["XB_NCPU"]) * 100, env["XB_LOAD"]))
    s.append("")
    s.append("**Caveat: the client (wrk), the router, the LB (xlb's XDP program or "
             "HAProxy) and the three backends (nginx) all run in namespaces of this "
             "one machine and share its %s cores.** Every run saturates them, so a "
             "rate measures the whole path's CPU cost per connection, not what "
             "either load balancer could do on a host of its own; HAProxy's "
             "threads compete with wrk and nginx for the same cores." % env["XB_NCPU"])
    s.append("")
    s.append("Topology: client → router → LB (`l0`) → router bridge → 3 backends, "
             "veth everywhere (checksum offload, GRO/GSO/TSO off; an XDP pass program "
             "on the router's LB-facing veth so XDP_TX frames arrive). VIP "
             "203.0.113.10:80. xlb: xlbd with the VIP and the 3 backends, IPIP to "
             "the backends (xlb-decap, VIP on `lo`), replies straight to the client "
             "(DSR). HAProxy: xlbd torn down, the VIP on the LB's `lo`, `mode tcp`, "
             "`balance roundrobin`, servers = the backends' own addresses, replies "
             "back through HAProxy. Both health-check the backends once a second. "
             "Each backend: one nginx process returning a 3-byte body. Load: "
             "`wrk -t%s -c%s -d%ss` from the client; beside it a probe opens %s "
             "connections/s one at a time. %s rounds, each xlb then HAProxy, "
             "each of those a Connection: close run and a keep-alive run; the "
             "tables show, per column, the round with the median rate. "
             "kernel.bpf_stats_enabled is on in all runs (two clock reads per "
             "BPF program run, xlb-decap's and the pass program's included)." % (
                 thr, con, dur, rate, env["XB_ROUNDS"]))
    s.append("")
    s.append("### New connection per request (`-H \"Connection: close\"`)")
    s.append("")
    s.append(table(allres, res, "close", "connections/s"))
    s.append("")
    s.append("### Keep-alive (same %s connections, many requests each)" % con)
    s.append("")
    s.append(table(allres, res, "keepalive", "requests/s"))
    s.append("")
    s.append("Answers of the probe by backend (every backend served): %s." % spread(res))
    s.append("")
    s.append("Reading them:")
    s.append("- connections/s: wrk's completed requests per second, each on a new "
             "TCP connection (handshake, request, response, close) through the VIP.")
    s.append("- requests/s: the same with keep-alive, so the per-packet path "
             "dominates and the handshake and connection setup drop out.")
    s.append("- HAProxy / xlb: the ratio of the two rates in the same run.")
    s.append("- wrk latency: wrk's p50/p99 from writing the request to the end of "
             "the response; wrk starts the clock after connect, so the handshake "
             "is not in it.")
    s.append("- whole connection (probe): connect, request, response and close, "
             "timed by a Python probe at %s/s under the same load, so it includes "
             "the handshake; its absolute values carry Python's overhead and the "
             "scheduling delay of a saturated machine." % rate)
    s.append("- LB CPU, attributable, xlb: the XDP program's own run time "
             "(kernel.bpf_stats_enabled, run_time_ns) over the run; the veth "
             "driver's receive and XDP_TX work around it is softirq time on the "
             "same CPUs that /proc/stat cannot separate from the other namespaces'.")
    s.append("- LB CPU, attributable, HAProxy: the haproxy process's utime+stime "
             "(/proc/PID/stat, all threads); with tick-based accounting (no "
             "IRQ_TIME_ACCOUNTING) this includes softirq work that ran while "
             "haproxy was on the CPU, and misses softirq work (its packets' receive) "
             "run in other tasks' context or ksoftirqd.")
    s.append("- per connection / per request: that CPU time divided by the "
             "requests wrk completed; for xlb also ns per packet the program saw "
             "and packets per connection (client→server packets only: DSR replies "
             "skip the LB).")
    s.append("- ns per packet is above the data-plane benchmark's figures above: "
             "here the program's caches are shared with wrk, the router, nginx and "
             "the kernel's TCP work on the same 2 cores, most packets of a short "
             "connection are new or young flows, and bpf_stats adds its clock reads.")
    s.append("- machine CPU: busy time of all cores from /proc/stat (user, system, "
             "irq, softirq) over the run, in %% of one core (%s cores = %s %%); "
             "softirq is the part in softirq context, where the veth, routing, "
             "XDP and TCP receive work of every namespace runs." % (
                 env["XB_NCPU"], int(env["XB_NCPU"]) * 100))
    s.append("- machine CPU per connection / request: that busy time divided by "
             "the requests: the whole path's cost (client, router, LB, backends). "
             "Client and backends do the same work in both columns, so the "
             "difference is what HAProxy's path (a second TCP connection, "
             "proxying in user space, replies back through the LB) costs more than "
             "xlb's: the one comparison here that needs no attribution.")
    s.append("- errors: wrk's connect, read, write, timeout and non-2xx counts "
             "(and the probe's failed connections).")
    text = "\n".join(wrap(p) for p in s) + "\n"
    print(text)
    if env.get("XB_WRITE") == "1":
        doc = env["XB_DOC"]
        old = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
        lines = old.split("\n")
        start = next((i for i, l in enumerate(lines) if l.strip() == HEADING), None)
        if start is None:
            new = old.rstrip("\n") + "\n\n" + text
        else:
            end = next((j for j in range(start + 1, len(lines))
                        if re.match(r"## ", lines[j])), len(lines))
            before = "\n".join(lines[:start]).rstrip("\n")
            after = "\n".join(lines[end:]).lstrip("\n")
            new = (before + "\n\n" if before else "") + text + ("\n" + after if after else "")
        with open(doc, "w") as fh:
            fh.write(new)
        print("# wrote the section into %s" % doc)


if __name__ == "__main__":
    main()
