#!/usr/bin/env python3
"""Compares every segment the kernel and stacklab send in packetdrill scripts.

A script checks only the fields it writes; this compares all of them. Each
script runs on the Linux kernel (packetdrill --verbose, in a fresh network
namespace: root) and on stacklab (`stacklab pkt -o DIR`, read back with
tshark), and the outbound TCP segments of both are listed side by side:
flags, sequence number from our ISN (a new connect's SYN starts it again),
length, ack, window field and options with the TS val left out (it is a
clock). Both sides' data segments are joined into the packets a GSO
device carries (see join), since the kernel's TUN device hands packetdrill
GSO packets and stacklab sends segments one by one. Segments sent after the script's last line show only on stacklab's
side (packetdrill stops watching there).

The kernel runs each script with CUBIC set on its first TCP socket
(unless the script sets a congestion control), as stacklab's linux
profile has it: a network namespace keeps the machine's default, which
may be BBR, whose pacing cuts GSO packets elsewhere. --bbr leaves the
namespace's default.

Usage (root; tshark on PATH):
  PACKETDRILL=/path/to/packetdrill STACKLAB=/path/to/stacklab \\
      testdata/pkt/wire-diff.py [--ipv6] [--bbr] FILE.pkt|DIR...

Prints SAME or DIFF per script with the segments that differ; exit status 1
if any differs.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

PD = os.environ.get("PACKETDRILL", "")
SL = os.environ.get("STACKLAB", "stacklab")
V6 = "--ipv6" in sys.argv[1:]
CUBIC = "--bbr" not in sys.argv[1:]
MODE = ["--ip_version=ipv6", "--mtu=1520"] if V6 else ["--ip_version=ipv4"]
LOCAL = "fd3d:fa7b:d17d::1" if V6 else "192.168.0.1"


def opts_from_hex(h):
    """Options from a tshark hex dump, in packetdrill's words, TS val left out."""
    b = bytes.fromhex(h) if h else b""
    out, i = [], 0
    while i < len(b):
        k = b[i]
        if k == 0:
            out.append("eol")
            break
        if k == 1:
            out.append("nop")
            i += 1
            continue
        n = b[i + 1] if i + 1 < len(b) else 0
        if n < 2:
            out.append("bad-length")
            break
        v = b[i + 2:i + n]
        if k == 2:
            out.append("mss %d" % int.from_bytes(v, "big"))
        elif k == 3:
            out.append("wscale %d" % v[0])
        elif k == 4:
            out.append("sackOK")
        elif k == 8:
            out.append("TS ecr %d" % int.from_bytes(v[4:8], "big"))
        elif k == 5:
            blocks = ["%d:%d" % (int.from_bytes(v[j:j + 4], "big"), int.from_bytes(v[j + 4:j + 8], "big"))
                      for j in range(0, len(v) - 7, 8)]
            out.append("sack " + " ".join(blocks))
        else:
            out.append("opt-%d" % k)
        i += n
    return ",".join(out)


def opts_from_text(t):
    """Options as packetdrill prints them, TS val left out."""
    out = []
    for o in t.split(","):
        o = o.strip()
        m = re.match(r"TS val \d+ ecr (\d+)", o)
        out.append("TS ecr " + m.group(1) if m else o)
    return ",".join(out)


def join(segs):
    """Joins each side's segments into the packets a GSO device would have
    carried: consecutive data segments sent at one instant (within 1 ms:
    packetdrill timestamps the kernel's as it reads them) with the same
    ack, window and options, a packet ending at a PSH or a FIN; the
    packet keeps its first segment's CWR and its last one's PSH and FIN."""
    out = []
    for s in segs:
        if out:
            t, f, seq, n, ack, win, op = out[-1]
            t2, g, seq2, n2, ack2, win2, op2 = s
            if (n > 0 and n2 > 0 and seq2 == (seq + n) % 2**32 and (ack, win, op) == (ack2, win2, op2)
                    and abs(t2 - t) < 0.001 and not set("SFP") & set(f)
                    and f.replace("W", "") == g.replace("P", "").replace("F", "") and "W" not in g):
                out[-1] = (t, g + ("W" if "W" in f else ""), seq, n + n2, ack, win, op)
                continue
        out.append(s)
    return out


def lines(segs):
    res, isn = [], None
    for _, f, seq, n, ack, win, op in join(segs):
        f = "".join(sorted(f))  # the two tools order the letters differently
        if "S" in f and (isn is None or ("." not in f and seq != isn)):
            isn = seq
        rel = (seq - isn) % 2**32 if isn is not None else seq
        res.append("%s %d(%d) ack %s win %d <%s>" % (f, rel, n, ack, win, op))
    return res


def with_cubic(text):
    """The script with CUBIC set on its first TCP socket, unless it sets
    a congestion control itself: stacklab models CUBIC, and a network
    namespace keeps the machine's default (BBR on some), which no sysctl
    there may change, while a socket may (TCP_CONGESTION)."""
    if "TCP_CONGESTION" in text:
        return text
    out, done = [], False
    for ln in text.splitlines(keepends=True):
        out.append(ln)
        m = re.search(r"socket\(\.\.\., SOCK_STREAM, IPPROTO_TCP\) = (\d+)", ln)
        if m and not done:
            out.append('+0 setsockopt(%s, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5) = 0\n' % m.group(1))
            done = True
    return "".join(out)


def kernel(path):
    # Line-buffered: packetdrill's stdout is a pipe, and a script's
    # Python assertions write to it too; fully buffered, a flush could
    # cut a packet's line in two around their output.
    d = os.path.dirname(os.path.abspath(path))
    run = os.path.basename(path)
    tmp = None
    if CUBIC:
        with open(path) as f:
            text = f.read()
        cubic = with_cubic(text)
        if cubic != text:
            # Beside the script, for its relative paths.
            fd, tmp = tempfile.mkstemp(prefix=".wire-diff-", suffix=".pkt", dir=d)
            with os.fdopen(fd, "w") as f:
                f.write(cubic)
            run = os.path.basename(tmp)
    try:
        r = subprocess.run(["unshare", "-n", "stdbuf", "-oL", "-eL", PD] + MODE + ["--tolerance_usecs=20000", "--verbose", run],
                           cwd=d, capture_output=True, text=True, timeout=120)
    finally:
        if tmp:
            os.unlink(tmp)
    segs = []
    for ln in (r.stdout + r.stderr).splitlines():
        m = re.match(r"outbound sniffed packet:\s+([\d.]+) (\S+) (\d+):\d+\((\d+)\)(?: ack (\d+))? win (\d+)(?: <(.*)>)?", ln)
        if m:
            segs.append((float(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4)), m.group(5) or "-",
                         int(m.group(6)), opts_from_text(m.group(7) or "")))
    return r.returncode, segs


def stacklab(path):
    with tempfile.TemporaryDirectory() as d:
        # The kernel's tolerance too: a script whose blocking call the
        # kernel finishes a little late (upstream's "+.01...0.011
        # connect") would otherwise stop stacklab's run early, and the
        # comparison is of the segments, not of their times.
        subprocess.run([SL, "pkt", "-o", d, "--tolerance_usecs=20000"] + MODE + [path], capture_output=True, text=True, timeout=120)
        files = glob.glob(d + "/**/*.pcapng", recursive=True)
        if not files:
            return []
        src = ("ipv6.src==" if V6 else "ip.src==") + LOCAL
        r = subprocess.run(["tshark", "-r", files[0], "-Y", src + " && tcp", "-T", "fields", "-e", "frame.time_relative", "-e", "tcp.flags.str",
                            "-e", "tcp.seq_raw", "-e", "tcp.len", "-e", "tcp.ack_raw", "-e", "tcp.window_size_value",
                            "-e", "tcp.options", "-e", "tcp.flags.ack"], capture_output=True, text=True)
    segs = []
    for ln in r.stdout.splitlines():
        t, *p = ln.split("\t")
        if len(p) < 7 or not p[1]:
            continue
        # tshark's flag letters: C (CWR) is packetdrill's W.
        f = "".join(c for c in "SFRPU" if c in p[0]) + ("." if "A" in p[0] else "")
        f += ("E" if "E" in p[0] else "") + ("W" if "C" in p[0] else "")
        segs.append((float(t), f or ".", int(p[1]), int(p[2]), p[3] if p[6] == "1" else "-", int(p[4]),
                     opts_from_hex(p[5])))
    return segs


def main():
    if not PD or not os.access(PD, os.X_OK):
        sys.exit("wire-diff.py: set PACKETDRILL to the packetdrill binary")
    paths = []
    for a in sys.argv[1:]:
        if a in ("--ipv6", "--bbr"):
            continue
        paths += sorted(glob.glob(a + "/**/*.pkt", recursive=True)) if os.path.isdir(a) else [a]
    differ = 0
    for path in paths:
        if path.endswith("v4.pkt" if V6 else "v6.pkt"):
            continue
        rc, k = kernel(path)
        a, b = lines(k), lines(stacklab(path))
        if a == b or rc == 0 and b[:len(a)] == a:
            # stacklab's capture goes on after the script's last line;
            # packetdrill stops watching there.
            more = " (stacklab: %d more after the script's end)" % (len(b) - len(a)) if b != a else ""
            print("SAME", path, len(a), more)
            continue
        differ += 1
        print("DIFF", path, "" if rc == 0 else "(packetdrill failed on the kernel)")
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else "(none)"
            y = b[i] if i < len(b) else "(none)"
            if x != y:
                print("   #%d kernel:   %s\n   #%d stacklab: %s" % (i, x, i, y))
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
