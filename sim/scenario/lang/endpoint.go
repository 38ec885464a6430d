package lang

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"stacklab/sim/scenario/diag"
)

// Endpoint is an address as a program writes it: ":80", "*:80",
// "10.0.0.1:80" or "server:80". Host is set for a host name, Addr for a
// literal address; both are empty for "any".
type Endpoint struct {
	Host string
	Addr netip.Addr
	Port uint16
}

// ParseEndpoint reads an Endpoint. needHost requires a host or address
// (connect, sendto); hosts are the valid names.
func ParseEndpoint(s string, hosts []string, needHost bool) (Endpoint, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Endpoint{}, fmt.Errorf("%q needs a port, e.g. %s:80", s, exampleHost(s, needHost))
	}
	host, port := s[:i], s[i+1:]
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%q has a bad port %q; use 0 to 65535", s, port)
	}
	ep := Endpoint{Port: uint16(n)}
	switch {
	case host == "" || host == "*":
		if needHost {
			return Endpoint{}, fmt.Errorf("%q needs a host, e.g. server:%d", s, n)
		}
	default:
		if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err == nil {
			if a.Is6() && !strings.HasPrefix(host, "[") {
				return Endpoint{}, fmt.Errorf("%q: write an IPv6 address in brackets, e.g. [%s]:%d", s, a, n)
			}
			ep.Addr = a
		} else if slices.Contains(hosts, host) {
			ep.Host = host
		} else {
			return Endpoint{}, fmt.Errorf("unknown host %q in %q%s", host, s, diag.DidYouMean(host, hosts))
		}
	}
	return ep, nil
}

func exampleHost(s string, needHost bool) string {
	if needHost {
		return s
	}
	return ""
}

// String writes the Endpoint back as written.
func (e Endpoint) String() string {
	switch {
	case e.Host != "":
		return fmt.Sprintf("%s:%d", e.Host, e.Port)
	case e.Addr.IsValid():
		return netip.AddrPortFrom(e.Addr, e.Port).String()
	}
	return fmt.Sprintf(":%d", e.Port)
}
