package scenario

import (
	"strings"
	"testing"
)

// TestFlood: a flood event's packets reach the destination, each refusal
// is counted, and the run is deterministic. Without a route back to the
// spoofed sources the listener can answer none of the SYNs (Linux's
// tcp_conn_request drops them at route_req, counting ListenDrops); with a
// gateway the SYN queue fills (8 with listen(l, 7): the backlog plus
// one, as Linux's) and SYN cookies answer the rest. A UDP
// socket whose SO_RCVBUF was set before bind keeps that small buffer.
func TestFlood(t *testing.T) {
	const base = `seed: 3
hosts:
  attacker: {addr: 10.0.9.66/24}
  server: {addr: 10.0.9.2/24%s}
links:
  - {ends: [attacker, server], delay: 1ms}
events:
  - {at: 1s, flood: "attacker > server:80 [S]", count: 50, every: 2ms}
  - {at: 2s, flood: "attacker > server:9 udp len 1000", count: 100, every: 10us, spoof: 192.0.2.0/24}
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 7)
    u = socket(udp); setsockopt(u, rcvbuf, 4096); bind(u, :9)
    sleep 3s
    # the 8 the queue kept, counted in InDatagrams as they are read
    repeat 8 { recv(u, any) }
expect:
%s`
	for _, tc := range []struct{ gateway, expect string }{
		{"", "  - server tcp.DropSynNoRoute == 50\n  - server tcp.SyncookiesSent == 0\n  - server udp.InDatagrams == 8\n  - server udp.RcvbufErrors == 92\n"},
		{", gateway: 10.0.9.66", "  - server tcp.DropSynNoRoute == 0\n  - server tcp.PassiveOpens == 8\n  - server tcp.SyncookiesSent == 42\n  - on attacker: count server > * [S.] >= 50\n  - attacker ip.InAddrErrors >= 50\n"},
	} {
		src := strings.Replace(strings.Replace(base, "%s", tc.gateway, 1), "%s", tc.expect, 1)
		res, trace := runSrc(t, src)
		reportFailures(t, res)
		if !strings.Contains(trace, "flood: 50 × attacker > server:80 [S] from 198.18.0.0/15, one every 2ms") {
			t.Errorf("the trace does not note the flood")
		}
		_, again := runSrc(t, src)
		if again != trace {
			t.Errorf("two runs of the same flood differ")
		}
	}
}

// TestFlood6: a flood with an IPv6 spoof prefix goes over IPv6 to the
// destination's global IPv6 address. Without a route back the listener
// drops each SYN; with a gateway the SYN queue fills, SYN cookies answer
// the rest, and a client connecting over IPv6 in the middle of the flood
// is answered at once.
func TestFlood6(t *testing.T) {
	const base = `seed: 5
hosts:
  client:
    addr: [10.0.1.1/24, 2001:db8:1::1/64]
  attacker:
    addr: [10.0.9.66/24, 2001:db8:9::66/64]
  server:
    addrs: [[10.0.1.2/24, 2001:db8:1::2/64], [10.0.9.2/24, 2001:db8:9::2/64]]
%slinks:
  - {ends: [client, server], delay: 5ms}
  - {ends: [attacker, server], delay: 1ms}
events:
  - {at: 1s, flood: "attacker > server:80 [S]", count: 200, every: 1ms, spoof: "2001:2::/48"}
  - {at: 2s, flood: "attacker > server:9 udp len 1000", count: 100, every: 10us, spoof: "2001:db8:bad::/48"}
programs:
  server: |
    l = socket(tcp6); bind(l, :80); listen(l, 7)
    u = socket(udp6); setsockopt(u, rcvbuf, 4096); bind(u, :9)
    c = accept(l)
    recv(c, 5) == "hello"
    sleep 2s
    repeat 8 { recv(u, any) }
  client: |
    sleep 1100ms
    s = socket(tcp6); connect(s, server:80)
    send(s, "hello")
    sleep 2s
expect:
  - server udp6.InDatagrams == 8
  - server udp6.RcvbufErrors == 92
  - server udp.InDatagrams == 0
  - at 1121ms: client fd s state == ESTABLISHED
  - server ip.InReceives < 50
%s`
	for _, tc := range []struct{ name, gateway, expect string }{
		{"no route", "", "  - server tcp.DropSynNoRoute == 200\n  - server tcp.SyncookiesSent == 0\n  - server tcp.PassiveOpens == 1\n"},
		{"gateway", "    gateway: [10.0.9.66, 2001:db8:9::66]\n", "  - server tcp.DropSynNoRoute == 0\n  - server tcp.PassiveOpens == 9\n  - server tcp.SyncookiesRecv == 1\n  - server tcp.SyncookiesSent >= 190\n  - on attacker: count server > * [S.] >= 200\n  - attacker ip6.InAddrErrors >= 200\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(strings.Replace(base, "%s", tc.gateway, 1), "%s", tc.expect, 1)
			res, trace := runSrc(t, src)
			reportFailures(t, res)
			if !strings.Contains(trace, "flood: 200 × attacker > server:80 [S] from 2001:2::/48") {
				t.Errorf("the trace does not note the flood")
			}
			_, again := runSrc(t, src)
			if again != trace {
				t.Errorf("two runs of the same flood differ")
			}
		})
	}
}

// TestFlood6NoAddress: an IPv6 flood to an interface without an IPv6
// address fails the run, naming the event, the host and the fix.
func TestFlood6NoAddress(t *testing.T) {
	res, _ := runSrc(t, `hosts:
  attacker: {addr: 10.0.9.66/24}
  server: {addr: 10.0.9.2/24}
links:
  - {ends: [attacker, server]}
events:
  - {at: 1s, flood: "attacker > server:80 [S]", count: 5, spoof: "2001:2::/48"}
`)
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].String(), "t.yaml:7:") ||
		!strings.Contains(res.Failures[0].String(), "server's interface toward attacker has no IPv6 address to flood") {
		t.Fatalf("failures %v", res.Failures)
	}
}
