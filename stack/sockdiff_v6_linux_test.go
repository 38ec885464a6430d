//go:build linux

package stack_test

import "strings"

// The catalogue again over IPv6: every case, with AF_INET6 sockets and
// [::1] where it says e.at, named "v6/…". Left out are the cases written
// with IPv4 literal addresses (other loopback addresses, 0.0.0.0), which
// on an AF_INET6 socket ask another question (Linux refuses a sockaddr_in
// there with EINVAL; stacklab's facade takes an IPv4 netip address on an
// AF_INET6 socket as IPv4-mapped, as Go's net does).
var v6Skip = map[string]bool{
	"connect/port-0":                 true,
	"connect/other-loopback-address": true,
	"bind/port-0-ephemeral":          true,
	"bind/not-local":                 true,
	"bind/any-over-specific":         true,
	"bind/specific-over-any":         true,
	"bind/two-loopback-addresses":    true,
	"bind/udp-port-0":                true,
}

func init() {
	for _, c := range diffCases[:len(diffCases):len(diffCases)] {
		if !v6Skip[c.name] && !strings.HasPrefix(c.name, "v6/") {
			diffCases = append(diffCases, diffCase{"v6/" + c.name, c.run})
		}
	}
}
