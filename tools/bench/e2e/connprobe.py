#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# connprobe.py ADDR PORT SECONDS RATE - time whole HTTP connections
#
# Opens one connection at a time, at most RATE per second, for SECONDS:
# connect, "GET / HTTP/1.1" with "Connection: close", read until the
# server closes. Each sample is the time from before connect() to the
# end of the response (handshake included, which wrk does not time).
# Prints one JSON object: samples, failures, p50/p99/max in microseconds
# and the answers counted by body (each backend names itself).
import json
import socket
import sys
import time


def pct(sorted_v, p):
    if not sorted_v:
        return None
    i = min(len(sorted_v) - 1, max(0, int(round(p / 100.0 * len(sorted_v) + 0.5)) - 1))
    return sorted_v[i]


def main():
    addr, port, dur, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    req = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    lat = []
    fails = 0
    errors = {}
    bodies = {}
    start = time.monotonic()
    end = start + dur
    nxt = start
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now < nxt:
            time.sleep(nxt - now)
        nxt += 1.0 / rate
        t0 = time.perf_counter_ns()
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect((addr, port))
            s.sendall(req)
            buf = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                buf += b
            t1 = time.perf_counter_ns()
            lat.append((t1 - t0) / 1000.0)
            body = buf.split(b"\r\n\r\n", 1)[-1].strip().decode(errors="replace")
            bodies[body] = bodies.get(body, 0) + 1
        except OSError as e:
            fails += 1
            k = type(e).__name__
            errors[k] = errors.get(k, 0) + 1
        finally:
            s.close()
    lat.sort()
    print(json.dumps({
        "samples": len(lat), "fail": fails, "errors": errors,
        "p50_us": pct(lat, 50), "p99_us": pct(lat, 99),
        "max_us": lat[-1] if lat else None, "by_body": bodies,
    }))


if __name__ == "__main__":
    main()
