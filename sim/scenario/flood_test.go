package scenario

import (
	"strings"
	"testing"
)

// TestFlood: a flood event's packets reach the destination, each refusal
// is counted, and the run is deterministic. Without a route back to the
// spoofed sources the listener can answer none of the SYNs (Linux's
// tcp_conn_request drops them at route_req, counting ListenDrops); with a
// gateway the SYN queue fills and SYN cookies answer the rest. A UDP
// socket whose SO_RCVBUF was set before bind keeps that small buffer.
func TestFlood(t *testing.T) {
	const base = `seed: 3
hosts:
  attacker: {addr: 10.0.9.66/24}
  server: {addr: 10.0.9.2/24%s, tcp: {syn_backlog: 8}}
links:
  - {ends: [attacker, server], delay: 1ms}
events:
  - {at: 1s, flood: "attacker > server:80 [S]", count: 50, every: 2ms}
  - {at: 2s, flood: "attacker > server:9 udp len 1000", count: 100, every: 10us, spoof: 192.0.2.0/24}
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 4)
    u = socket(udp); setsockopt(u, rcvbuf, 4096); bind(u, :9)
    sleep 3s
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
