#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Client side of the end-to-end tests and the demo.

Every mode prints (or writes to --out) one JSON object. A backend is known
by the name its server puts in front of every answer (tools/xlbsrv.py).

  tcp ADDR PORT -n N [-c CONC]      N connections, one request each
  udp ADDR PORT -n N [-c CONC]      N requests, each from its own socket
  loop ADDR PORT --until FILE       connections back to back (CONC
                                    workers) until FILE exists; every
                                    attempt is recorded with its times
  hold ADDR PORT --until FILE       one long-lived TCP connection, a
                                    request every --period-ms
  udpflow ADDR PORT --until FILE    --flows sockets sending numbered
                                    datagrams at --rate per second in all

Every connection and socket gets its own ephemeral source port, so N
connections are N different 5-tuples for the load balancer.
"""

import argparse
import json
import signal
import os
import socket
import sys
import threading
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def emit(a, obj):
    if a.out:
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(obj, f)
        os.rename(tmp, a.out)
    else:
        json.dump(obj, sys.stdout)
        sys.stdout.write("\n")


def backend_of(answer):
    return answer.split(b" ", 1)[0].decode(errors="replace")


def tcp_once(addr, port, timeout, payload=b"hello\n"):
    """One connection, one request. Returns (lport, backend, error)."""
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.settimeout(timeout)
    lport = None
    try:
        s.connect((addr, port))
        lport = s.getsockname()[1]
        s.sendall(payload)
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(4096)
            if not d:
                raise OSError("connection closed before the answer")
            buf += d
        return lport, backend_of(buf), None
    except OSError as e:
        return lport, None, "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()


def udp_once(addr, port, timeout, i):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    lport = None
    try:
        s.connect((addr, port))
        lport = s.getsockname()[1]
        msg = b"req %d" % i
        s.send(msg)
        d = s.recv(65535)
        if not d.endswith(msg):
            raise OSError("unexpected answer %r" % d[:60])
        return lport, backend_of(d), None
    except OSError as e:
        return lport, None, "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()


def run_many(n, conc, fn):
    results = [None] * n
    nxt = [0]
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = nxt[0]
                if i >= n:
                    return
                nxt[0] += 1
            results[i] = fn(i)

    ts = [threading.Thread(target=worker) for _ in range(max(1, min(conc, n)))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results


def summarize(results):
    by = {}
    flows = []
    errors = []
    for lport, b, err in results:
        if err:
            errors.append([lport, err])
        else:
            by[b] = by.get(b, 0) + 1
            flows.append([lport, b])
    return {"ok": len(flows), "fail": len(errors), "by_backend": by,
            "flows": flows, "errors": errors[:50]}


def cmd_tcp(a):
    res = run_many(a.n, a.c, lambda i: tcp_once(a.addr, a.port, a.timeout))
    emit(a, summarize(res))


def cmd_udp(a):
    res = run_many(a.n, a.c, lambda i: udp_once(a.addr, a.port, a.timeout, i))
    emit(a, summarize(res))


def cmd_loop(a):
    events = []
    lock = threading.Lock()

    def worker():
        while not os.path.exists(a.until):
            t0 = time.time()
            lport, b, err = tcp_once(a.addr, a.port, a.timeout)
            t1 = time.time()
            with lock:
                events.append([t0, t1, lport, b, err])
                if a.ready and not err and not os.path.exists(a.ready):
                    open(a.ready, "w").close()
            if a.pause_ms:
                time.sleep(a.pause_ms / 1000.0)

    ts = [threading.Thread(target=worker) for _ in range(a.c)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    events.sort()
    emit(a, {"events": events,
             "ok": sum(1 for e in events if not e[4]),
             "fail": sum(1 for e in events if e[4])})


def cmd_hold(a):
    s = socket.socket(family(a.addr), socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = {"lport": None, "backends": {}, "exchanges": 0, "errors": []}
    try:
        s.connect((a.addr, a.port))
        out["lport"] = s.getsockname()[1]
        f = s.makefile("rb")
        i = 0
        while True:
            s.sendall(b"ping %d\n" % i)
            line = f.readline()
            if not line.endswith(b" ping %d\n" % i):
                raise OSError("bad or missing answer %r" % line[:60])
            b = backend_of(line)
            out["backends"][b] = out["backends"].get(b, 0) + 1
            out["exchanges"] += 1
            if i == 0 and a.ready:
                with open(a.ready + ".tmp", "w") as r:
                    json.dump({"lport": out["lport"], "backend": b}, r)
                os.rename(a.ready + ".tmp", a.ready)
            i += 1
            if os.path.exists(a.until):
                break
            time.sleep(a.period_ms / 1000.0)
    except OSError as e:
        out["errors"].append("%s: %s" % (type(e).__name__, e))
    finally:
        s.close()
    emit(a, out)


def cmd_udpflow(a):
    socks = []
    for _ in range(a.flows):
        s = socket.socket(family(a.addr), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.connect((a.addr, a.port))
        s.setblocking(False)
        socks.append(s)
    flows = [{"lport": s.getsockname()[1], "sent": 0, "recv": 0,
              "backends": {}, "seen": set()} for s in socks]
    import selectors
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)

    def drain(wait):
        for key, _ in sel.select(wait):
            fl = flows[key.data]
            while True:
                try:
                    d = key.fileobj.recv(2048)
                except BlockingIOError:
                    break
                except OSError:
                    break
                parts = d.split(b" ")
                # "NAME seq FLOW N"
                if len(parts) == 4 and parts[1] == b"seq":
                    if a.ready and not fl["recv"] and \
                            not os.path.exists(a.ready):
                        open(a.ready, "w").close()
                    fl["recv"] += 1
                    fl["seen"].add(int(parts[3]))
                    b = parts[0].decode(errors="replace")
                    fl["backends"][b] = fl["backends"].get(b, 0) + 1

    gap = 1.0 / a.rate
    start = time.time()
    k = 0
    while not os.path.exists(a.until):
        due = start + k * gap
        now = time.time()
        if now < due:
            drain(due - now)
            continue
        i = k % a.flows
        fl = flows[i]
        try:
            socks[i].send(b"seq %d %d" % (i, fl["sent"]))
        except OSError:
            pass
        fl["sent"] += 1
        k += 1
    end = time.time() + a.grace
    while time.time() < end:
        drain(max(0.0, end - time.time()))
    out = {"sent": 0, "recv": 0, "flows": [], "duration_s": time.time() - start}
    for fl in flows:
        missing = [n for n in range(fl["sent"]) if n not in fl["seen"]]
        out["sent"] += fl["sent"]
        out["recv"] += fl["recv"]
        out["flows"].append({"lport": fl["lport"], "sent": fl["sent"],
                             "recv": fl["recv"], "backends": fl["backends"],
                             "missing": missing[:20],
                             "missing_count": len(missing)})
    emit(a, out)


def main():
    # die of Ctrl-C like any command, so that the calling shell sees the
    # signal and runs its cleanup (bash ignores a SIGINT that a child
    # handled itself)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    ap = argparse.ArgumentParser(description="xlb e2e client")
    sub = ap.add_subparsers(dest="mode", required=True)
    for m in ("tcp", "udp", "loop", "hold", "udpflow"):
        p = sub.add_parser(m)
        p.add_argument("addr")
        p.add_argument("port", type=int)
        p.add_argument("--out")
        p.add_argument("--timeout", type=float, default=3.0)
        if m in ("tcp", "udp"):
            p.add_argument("-n", type=int, default=100)
            p.add_argument("-c", type=int, default=16)
        if m in ("loop", "hold", "udpflow"):
            p.add_argument("--until", required=True)
        if m == "loop":
            p.add_argument("-c", type=int, default=4)
            p.add_argument("--pause-ms", type=float, default=0)
            p.add_argument("--ready", help="created after the first answer")
        if m == "hold":
            p.add_argument("--period-ms", type=float, default=50)
            p.add_argument("--ready")
        if m == "udpflow":
            p.add_argument("--flows", type=int, default=8)
            p.add_argument("--rate", type=float, default=1000)
            p.add_argument("--grace", type=float, default=0.5)
            p.add_argument("--ready", help="created after the first answer")
    a = ap.parse_args()
    {"tcp": cmd_tcp, "udp": cmd_udp, "loop": cmd_loop, "hold": cmd_hold,
     "udpflow": cmd_udpflow}[a.mode](a)


if __name__ == "__main__":
    main()
