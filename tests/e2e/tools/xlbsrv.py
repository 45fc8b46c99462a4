#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""A backend server for the end-to-end tests and the demo.

It says which backend it is: every line received on a TCP connection is
answered with "NAME LINE", every UDP datagram with "NAME PAYLOAD".

  xlbsrv.py --name b1 --tcp-port 80 --udp 203.0.113.10:53 \
            --udp [2001:db8:10::10]:53 --ready FILE --stats FILE

TCP listens on [::]:PORT, dual stack, so it answers whatever address a
connection was made to: the VIP (direct server return) or the backend's
own address (health checks). UDP binds each ADDR:PORT given, because a
reply must leave from the address the request was sent to (the VIP), and
a socket bound to the wildcard would answer from the primary address.

UDP datagrams whose payload starts with "seq " are counted per client
(address, port); SIGUSR1 writes the counters to --stats, and so does
SIGTERM before exiting. --ready is written once every socket is bound.
"""

import argparse
import json
import os
import signal
import socket
import sys
import threading

lock = threading.Lock()
counters = {"tcp_connections": 0, "tcp_lines": 0, "udp_datagrams": 0,
            "seq": {}}


def parse_hostport(s):
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    return host, int(port)


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


def tcp_conn(conn, name):
    with lock:
        counters["tcp_connections"] += 1
    try:
        f = conn.makefile("rwb", buffering=0)
        while True:
            line = f.readline()
            if not line:
                break
            with lock:
                counters["tcp_lines"] += 1
            conn.sendall(name.encode() + b" " + line.rstrip(b"\r\n") + b"\n")
    except OSError:
        pass
    finally:
        conn.close()


def tcp_server(sock, name):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=tcp_conn, args=(conn, name),
                         daemon=True).start()


def udp_server(sock, name):
    prefix = name.encode() + b" "
    while True:
        try:
            data, peer = sock.recvfrom(65535)
        except OSError:
            return
        if data.startswith(b"seq "):
            key = "%s:%d" % (peer[0], peer[1])
            with lock:
                counters["seq"][key] = counters["seq"].get(key, 0) + 1
        with lock:
            counters["udp_datagrams"] += 1
        try:
            sock.sendto(prefix + data, peer)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--tcp-port", type=int)
    ap.add_argument("--udp", action="append", default=[],
                    help="ADDR:PORT or [V6]:PORT to answer UDP on")
    ap.add_argument("--ready")
    ap.add_argument("--stats")
    a = ap.parse_args()

    threads = []
    if a.tcp_port:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", a.tcp_port))
        s.listen(1024)
        threads.append(threading.Thread(target=tcp_server, args=(s, a.name),
                                        daemon=True))
    for hp in a.udp:
        host, port = parse_hostport(hp)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((host, port))
        threads.append(threading.Thread(target=udp_server, args=(s, a.name),
                                        daemon=True))
    for t in threads:
        t.start()

    def dump(*_):
        if a.stats:
            with lock:
                snap = json.loads(json.dumps(counters))
            snap["name"] = a.name
            write_json(a.stats, snap)

    def stop(*_):
        dump()
        os._exit(0)

    signal.signal(signal.SIGUSR1, dump)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if a.ready:
        write_json(a.ready, {"name": a.name, "pid": os.getpid()})
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
