#!/usr/bin/env bash
# make-captures.sh rebuilds the reference captures of the Linux kernel's own
# TCP/IP in this folder: two network namespaces joined by a veth pair
# (10.0.0.1 client, 10.0.0.2 server, MTU 1500, offloads off, IPv6 off),
# tcpdump on the client side. Run as root from anywhere:
#
#     sudo testdata/linux/make-captures.sh
#
# Needs ip (iproute2), tcpdump, ethtool, socat, curl, python3 and ping.
# Traffic stays inside the two namespaces, which are removed at exit.
# Timestamps, ports, ISNs and MACs differ on every run, so the golden traces
# in capture/trace/testdata change with them (go test ./capture/trace -update).
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
cli=stacklab_cap_cli srv=stacklab_cap_srv
work=$(mktemp -d)
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$cli" 2>/dev/null || true
	ip netns del "$srv" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

for tool in ip tcpdump ethtool socat curl python3 ping; do
	command -v "$tool" >/dev/null || { echo "make-captures.sh: $tool is missing (apt-get install it)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "make-captures.sh: run as root (it creates network namespaces)" >&2; exit 2; }

# The two hosts.
cleanup_ns() { ip netns del "$cli" 2>/dev/null || true; ip netns del "$srv" 2>/dev/null || true; }
cleanup_ns
ip netns add "$cli"
ip netns add "$srv"
ip link add veth-c netns "$cli" type veth peer name veth-s netns "$srv"
setup() { # ns dev addr
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$1" link set lo up
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$1" link set "$2" up
	ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
}
setup "$cli" veth-c 10.0.0.1/24
setup "$srv" veth-s 10.0.0.2/24
C() { ip netns exec "$cli" "$@"; }
S() { ip netns exec "$srv" "$@"; }

# background runs a server in the server namespace and remembers it.
background() { S "$@" >/dev/null 2>&1 & pids+=($!); sleep 0.5; }

# capture NAME CMD...: tcpdump on the client's veth while CMD runs.
capture() {
	local name=$1; shift
	C tcpdump -i veth-c -U -s 0 -w "$out/$name.pcap" >/dev/null 2>&1 &
	local td=$!
	sleep 0.5
	"$@" >/dev/null 2>&1 || true
	sleep 0.5
	kill "$td"; wait "$td" 2>/dev/null || true
	echo "wrote $out/$name.pcap ($(stat -c %s "$out/$name.pcap") bytes)"
}

cd "$work"

# HTTP/1.1 GET: curl against python's http.server (~27 KB page).
mkdir www && head -c 20000 /dev/urandom | base64 > www/page.txt
background python3 -m http.server 8080 --bind 10.0.0.2 --directory www
capture linux-http-get C curl -s -o /dev/null http://10.0.0.2:8080/page.txt

# A SYN to a closed port, answered with RST+ACK.
capture linux-refused C curl -s -o /dev/null --max-time 2 http://10.0.0.2:9/

# Three ICMP echoes.
capture linux-ping C ping -c 3 -i 0.2 10.0.0.2

# A UDP request and reply, then UDP to a closed port (ICMP port unreachable).
background socat UDP4-RECVFROM:7007,fork EXEC:cat
udp() {
	echo hello | C socat -t 1 - UDP4:10.0.0.2:7007
	echo nobody | C socat -t 1 - UDP4:10.0.0.2:5999
}
capture linux-udp udp

# An idle connection kept alive by keepalive probes (1 s idle, 1 s interval).
background socat TCP4-LISTEN:7000,reuseaddr EXEC:cat
keepalive() { (echo hi; sleep 4.5) | C socat -t 1 - TCP4:10.0.0.2:7000,keepalive,keepidle=1,keepintvl=1,keepcnt=3; }
capture linux-keepalive keepalive

# Half-close: the client shuts down its write side; the server answers after the FIN.
background socat TCP4-LISTEN:7001,reuseaddr SYSTEM:'cat >/dev/null; echo done'
halfclose() { echo request | C socat -t 2 - TCP4:10.0.0.2:7001; }
capture linux-half-close halfclose

# Bulk, one way: 256 KiB (slow start, window growth, teardown), small enough for a fixture.
head -c 262144 /dev/urandom > bulk.bin
background socat -u TCP4-LISTEN:7002,reuseaddr OPEN:/dev/null
capture linux-bulk C socat -u OPEN:bulk.bin TCP4:10.0.0.2:7002

# IPv6 on the same veth pair: neighbour discovery, ping (one echo cut into
# fragments), a TCP GET, and UDP to a closed port (ICMPv6 port unreachable).
v6() { # ns dev addr
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
		"net.ipv6.conf.$2.disable_ipv6=0" "net.ipv6.conf.$2.accept_ra=0" "net.ipv6.conf.$2.router_solicitations=0"
	ip -n "$1" addr add "$3" dev "$2" nodad
}
v6 "$cli" veth-c 2001:db8::1/64
v6 "$srv" veth-s 2001:db8::2/64
sleep 2 # let link-local addresses settle, so the capture holds only what follows
background python3 -m http.server 8081 --bind 2001:db8::2 --directory www
ipv6() {
	C ping -6 -c 2 -i 0.2 2001:db8::2
	C ping -6 -c 1 -s 3000 2001:db8::2
	C curl -s -o /dev/null "http://[2001:db8::2]:8081/page.txt"
	echo nobody | C socat -t 1 - UDP6:[2001:db8::2]:5999
}
capture linux-ipv6 ipv6
