package spec

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"stacklab/sim/scenario/pattern"
)

// Flood is a stream of spoofed packets an event sends to a host: TCP
// SYNs to a port (a SYN flood, RFC 4987) or UDP datagrams of a given
// length, each from a random address of Spoof and a random port.
type Flood struct {
	Pattern *pattern.Pattern // "attacker > server:80 [S]" or "attacker > server:9 udp len 512"
	Count   int              // packets in all
	Every   time.Duration    // the gap between two
	Spoof   netip.Prefix     // the sources' addresses
}

// Bounds of a flood event, so that a scenario stays small and quick.
const (
	maxFloodCount = 100000
	maxFloodLen   = 1472
)

// DefaultSpoof is the sources' prefix when the event names none:
// 198.18.0.0/15, kept for benchmarking (RFC 2544) and never routed. An
// IPv6 prefix (IPv6's benchmarking one is 2001:2::/48, RFC 5180) makes
// the flood IPv6.
var DefaultSpoof = netip.MustParsePrefix("198.18.0.0/15")

const floodUsage = `flood with SRC > DST:PORT [S] (a SYN flood) or SRC > DST:PORT udp len N, e.g. {at: 1s, flood: "attacker > server:80 [S]", count: 2000, every: 1ms}`

// parseFlood reads a flood's pattern.
func parseFlood(s string, hosts []string) (*pattern.Pattern, error) {
	p, err := pattern.Parse(s, hosts)
	if err != nil {
		return nil, err
	}
	if p.Src.Host == "" || p.Dst.Host == "" || p.Dst.Port <= 0 {
		return nil, fmt.Errorf("%s", floodUsage)
	}
	switch {
	case p.Proto == "tcp" && p.Flags == "S" && p.Len == nil:
	case p.Proto == "udp" && p.Flags == "" && p.Len != nil:
		if *p.Len < 0 || *p.Len > maxFloodLen {
			return nil, fmt.Errorf("a UDP flood's len is 0 to %d bytes, not %d", maxFloodLen, *p.Len)
		}
	default:
		return nil, fmt.Errorf("%s", floodUsage)
	}
	return p, nil
}

// parseInject reads an injected segment: a pattern naming both hosts and
// TCP flags, with optional seq, ack, win and len.
func parseInject(s string, hosts []string) (*pattern.Pattern, error) {
	p, err := pattern.Parse(s, hosts)
	if err != nil {
		return nil, err
	}
	if p.Src.Host == "" || p.Dst.Host == "" || p.Proto != "tcp" || p.Flags == "" || strings.HasSuffix(p.Flags, "*") {
		return nil, fmt.Errorf(`inject a TCP segment as SRC > DST[:PORT] [FLAGS] [seq N] [ack N] [win N] [len N], e.g. "client > server:80 [R] seq 100"; it joins the latest connection between them`)
	}
	return p, nil
}
