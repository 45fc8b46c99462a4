#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""summary.py LOG DOC - the key figures of a run_all.sh log as a table,
written into DOC's "## Summary" section (replaced if present, else put
after the introduction).  Figures not in the log are left out."""
import re
import sys

log = open(sys.argv[1], errors="replace").read()
doc_path = sys.argv[2]
rows = []


def add(what, value, meaning):
    rows.append("| %s | %s | %s |" % (what, value, meaning))


machine = []
m = re.search(r"== machine\n(.*?)\n\n", log, re.S)
if m:
    for line in m.group(1).splitlines():
        if line.split(":")[0] in ("date", "cpu", "cores", "kernel", "clock",
                                  "rcu_expedited", "load"):
            machine.append("- " + line.strip())

for case, meaning in (("tcp4-hit", "IPv4 TCP packet of a recorded flow"),
                      ("tcp4-new", "bare SYN: Maglev choice, nothing recorded"),
                      ("tcp4-ackmiss", "first non-SYN packet: Maglev + record"),
                      ("tcp6-hit", "IPv6 TCP packet of a recorded flow"),
                      ("pass4", "non-VIP packet passed to the kernel")):
    m = re.search(r"^%s\s+\S+\s+ok\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)"
                  % re.escape(case), log, re.M)
    if m:
        add("data plane %s" % case, "%s ns, %s Mpps" % (m.group(5), m.group(6)),
            meaning + " (xdp_bench, net iqm, one core)")
m = re.search(r"N=1000\s+equal\s+median\s+(\S+) us", log)
if m:
    add("Maglev build, M 65537, N 1000", "%.2f ms" % (float(m.group(1)) / 1000),
        "one VIP's table (maglev_bench, median)")
for mode in ("0", "1"):
    m = re.search(r"rcu_expedited=%s\s+1 table  per swap:\s+(\S+) ms" % mode, log)
    if m:
        add("table switch, rcu_expedited=%s" % mode, "%s ms" % m.group(1),
            "one VIP's new table made live (swap_bench, median)")
m = re.search(r"rcu_expedited=0: apply (\d+) ms; xlbd RSS (\d+) KiB", log)
if m:
    add("apply 512 VIPs x 100 backends", "%s ms" % m.group(1),
        "xlbctl apply from empty, normal RCU (apply_bench)")
    add("xlbd RSS after that apply", "%.1f MB" % (int(m.group(2)) / 1024),
        "user memory; tables are kernel memory")
m = re.search(r"cpu:\s+(\S+) % of one core.*?\nlateness:\s+p50 (\S+) ms, p99 (\S+) ms", log, re.S)
if m:
    add("health checks, 10,000 tcp at 1 s", "%s %% CPU, p99 late %s ms" % (m.group(1), m.group(3)),
        "xlbd's CPU incl. loopback handshakes charged to it (hc_bench)")
m = re.search(r"connections/s\s*\|\s*([\d,]+)[^|]*\|\s*([\d,]+)", log)
if m:
    add("connections/s through the VIP", "xlb %s, HAProxy %s" % (m.group(1), m.group(2)),
        "same topology and load on veth, 2 shared cores (e2e_bench)")

if not rows:
    sys.exit("summary.py: no figures found in %s" % sys.argv[1])
section = ["## Summary (tools/bench/run_all.sh --write-doc)", ""]
if machine:
    section += ["Machine:", ""] + machine + [""]
section += ["Key figures of one `run_all.sh` run (each benchmark's own section",
            "below has its method and may come from another run; compare",
            "figures only within one run).", "",
            "| figure | value | what it is |", "|---|---|---|"] + rows + [""]
text = "\n".join(section) + "\n"

doc = open(doc_path).read()
m = re.search(r"^## Summary \(tools/bench/run_all\.sh --write-doc\)\n.*?(?=^## )", doc, re.M | re.S)
if m:
    doc = doc[:m.start()] + text + doc[m.end():]
else:
    m = re.search(r"^## ", doc, re.M)
    pos = m.start() if m else len(doc)
    doc = doc[:pos] + text + "\n" + doc[pos:]
open(doc_path, "w").write(doc)
print("summary.py: %d figures written to %s" % (len(rows), doc_path))
