#!/usr/bin/env python3
"""Probes what the Linux kernel does when a listener's accept queue is full.

The lesson `stacklab run listen-backlog` shows stacklab doing it; this
shows the kernel doing the same, so that the lesson's claims are checked
on the kernel itself. Run as root; it creates two network namespaces
joined by a veth pair, and deletes them:

  sudo python3 testdata/probe/accept-overflow.py

A listener with backlog 1 (its accept queue holds two connections) never
accepts. The client side is this script, writing TCP segments on a veth
end that has no address, so that its kernel does not answer them. A and B
complete their handshakes and fill the queue; C's SYN was answered before
the queue filled, so its ACK (with a byte of data) finds the queue full:
the kernel drops it (ListenOverflows), keeps C half open (SYN-RECV) and
resends C's SYN-ACK at 1 s and 3 s, while C's client believes itself
connected. D's SYN, which comes while the queue is full, is dropped
unanswered. Once the listener accepts A, C's byte sent again completes C's
connection. Exit status 0 when the kernel does all of that.
"""
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time

SRC, DST = "10.9.0.1", "10.9.0.2"


def sh(*args, ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def segment(sport, seq, ack, flags, payload=b"", opts=b""):
    h = struct.pack("!HHIIBBHHH", sport, 80, seq, ack, (20 + len(opts)) // 4 << 4, flags, 65535, 0, 0) + opts
    pseudo = socket.inet_aton(SRC) + socket.inet_aton(DST) + struct.pack("!BBH", 0, 6, len(h) + len(payload))
    h = h[:16] + struct.pack("!H", csum(pseudo + h + payload)) + h[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(h) + len(payload), random.randint(0, 65535),
                     0x4000, 64, 6, 0, socket.inet_aton(SRC), socket.inet_aton(DST))
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + h + payload


def main():
    if os.geteuid() != 0:
        sys.exit("accept-overflow.py: needs root (it creates network namespaces)")
    for ns in ("sl-ovf-srv", "sl-ovf-cli"):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        sh("ip", "netns", "add", ns)
    try:
        return probe()
    finally:
        for ns in ("sl-ovf-srv", "sl-ovf-cli"):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def probe():
    srv, cli = "sl-ovf-srv", "sl-ovf-cli"
    sh("ip", "link", "add", "veth0", "netns", srv, "type", "veth", "peer", "name", "veth1", "netns", cli)
    sh("ip", "addr", "add", DST + "/24", "dev", "veth0", ns=srv)
    sh("ip", "link", "set", "veth0", "up", ns=srv)
    sh("ip", "link", "set", "veth1", "up", ns=cli)
    sh("sysctl", "-q", "net.ipv4.tcp_timestamps=0", ns=srv)
    mac = lambda ns, dev: sh("cat", "/sys/class/net/%s/address" % dev, ns=ns).strip()
    cmac, smac = mac(cli, "veth1"), mac(srv, "veth0")
    sh("ip", "neigh", "add", SRC, "lladdr", cmac, "dev", "veth0", ns=srv)
    listener = subprocess.Popen(["ip", "netns", "exec", srv, "python3", "-c",
                                 "import socket,time\nl=socket.socket()\nl.bind(('%s',80))\nl.listen(1)\ntime.sleep(2.5)\na=l.accept()\ntime.sleep(8)" % DST])
    time.sleep(0.5)
    # The client's side runs in its namespace: this script again, with -client.
    run = subprocess.Popen(["ip", "netns", "exec", cli, sys.executable, __file__, "-client", smac],
                           stdout=subprocess.PIPE, text=True)
    time.sleep(1.5)
    mid = sh("ss", "-tan", ns=srv)  # C's ACK and D's SYN are in
    stdout, _ = run.communicate(timeout=30)
    print(mid, end="")
    print(stdout, end="")
    ss = sh("ss", "-tan", ns=srv)
    nstat = sh("nstat", "-az", "TcpExtListenOverflows", ns=srv)
    listener.kill()
    print(ss, end="")
    print(nstat, end="")
    got = dict(line.split(" ", 1) for line in stdout.splitlines() if " " in line)
    ok = True

    def check(what, cond):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what)
        ok = ok and cond
    check("C half open (SYN-RECV) after its ACK", re.search(r"SYN-RECV .*10\.9\.0\.1:40003", mid) is not None)
    check("C's SYN-ACK resent about 1 s and 3 s after its SYN", got.get("C-resends", "") == "2")
    check("D's SYN unanswered", got.get("D-answers", "") == "0")
    check("C completed by its byte sent again once A is accepted", got.get("C-acked", "") == "1" and
          re.search(r"ESTAB +1 .*10\.9\.0\.1:40003", ss) is not None)
    check("ListenOverflows 2 (C's ACK, D's SYN)", any(l.split()[:2] == ["TcpExtListenOverflows", "2"] for l in nstat.splitlines()))
    return 0 if ok else 1


def client(smac):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind(("veth1", 0x0800))
    hdr = bytes.fromhex(smac.replace(":", "")) + s.getsockname()[4] + b"\x08\x00"
    t0 = time.time()

    def recv(dur):
        got, end = [], time.time() + dur
        s.settimeout(0.05)
        while time.time() < end:
            try:
                f = s.recv(2000)[14:]
            except socket.timeout:
                continue
            if f[9] != 6 or socket.inet_ntoa(f[12:16]) != DST:
                continue
            t = f[(f[0] & 15) * 4:]
            sp, dp, seq, ack, off, fl = struct.unpack("!HHIIBB", t[:14])
            got.append((time.time() - t0, dp, seq, fl))
        return got
    isn = {}
    mss = struct.pack("!BBH", 2, 4, 1460)

    def syn(p):
        s.send(hdr + segment(p, 1000, 0, 0x02, opts=mss))
        for _, dp, seq, fl in recv(0.1):
            if fl == 0x12:
                isn[dp] = seq
    syn(40001)
    s.send(hdr + segment(40001, 1001, isn[40001] + 1, 0x10))    # A: queue 1
    syn(40002)
    syn(40003)                                                   # B, C: half open
    s.send(hdr + segment(40002, 1001, isn[40002] + 1, 0x10))    # B: queue 2, full
    s.send(hdr + segment(40003, 1001, isn[40003] + 1, 0x18, b"C"))  # C: overflow
    d0 = time.time()
    s.send(hdr + segment(40004, 1000, 0, 0x02, opts=mss))       # D: dropped
    later = recv(3.6)
    print("C-resends", sum(1 for _, dp, _, fl in later if dp == 40003 and fl == 0x12))
    print("D-answers", sum(1 for _, dp, _, _ in later if dp == 40004))
    for at, dp, seq, fl in later:
        print("kernel: %.3f s after D's SYN, to port %d, flags 0x%02x" % (at - (d0 - t0), dp, fl))
    # The listener has accepted A by now: C's byte, sent again, finds room.
    s.send(hdr + segment(40003, 1001, isn[40003] + 1, 0x18, b"C"))
    print("C-acked", sum(1 for _, dp, _, fl in recv(0.3) if dp == 40003 and fl == 0x10))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "-client":
        client(sys.argv[2])
    else:
        sys.exit(main())
