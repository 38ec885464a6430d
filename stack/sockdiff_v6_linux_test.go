//go:build linux

package stack_test

import (
	"net/netip"
	"strings"

	"stacklab/stack"
)

// The catalogue again over IPv6: every case, with AF_INET6 sockets and
// [::1] where it says e.at, named "v6/…". Left out are the cases written
// with IPv4 literal addresses (other loopback addresses, 0.0.0.0), which
// on an AF_INET6 socket ask another question (Linux refuses a sockaddr_in
// there with EINVAL; stacklab's facade takes an IPv4 netip address on an
// AF_INET6 socket as IPv4-mapped, as Go's net does).
var v6Skip = map[string]bool{
	"connect/port-0":                    true,
	"connect/other-loopback-address":    true,
	"bind/port-0-ephemeral":             true,
	"bind/not-local":                    true,
	"bind/any-over-specific":            true,
	"bind/specific-over-any":            true,
	"bind/two-loopback-addresses":       true,
	"bind/udp-port-0":                   true,
	"bind/tcp-multicast-address":        true,
	"bind/tcp-broadcast-address":        true,
	"connect/tcp-multicast":             true,
	"connect/tcp-broadcast":             true,
	"bind/tcp-multicast-then-connect":   true,
	"bind/tcp-multicast-then-listen":    true,
	"bind/tcp-multicast-port-conflicts": true,
	"bind/udp-multicast-then-send":      true,
	"udp/connect-port-0":                true,
	"bind/udp-any-then-specific":        true,
	"udp/broadcast-delivery":            true,
	"udp/connected-to-broadcast":        true,
}

func init() {
	for _, c := range diffCases[:len(diffCases):len(diffCases)] {
		if !v6Skip[c.name] && !strings.HasPrefix(c.name, "v6/") {
			diffCases = append(diffCases, diffCase{"v6/" + c.name, c.run})
		}
	}
}

// Dual-stack cases, run once: an AF_INET6 socket meeting IPv4.
var dualCases = []diffCase{
	{"v6/multicast/bind", func(e *denv) {
		// inet6_bind takes a multicast address; one of link-local
		// (or interface-local) scope needs an interface: EINVAL.
		c := e.socket(tcp)
		e.bind(c, netip.AddrPortFrom(netip.MustParseAddr("ff0e::1"), e.port("P")))
		e.sockname(c)
		u := e.socket(udp)
		e.bind(u, netip.AddrPortFrom(netip.MustParseAddr("ff0e::1"), e.port("U1")))
		e.sockname(u)
		d := e.socket(tcp)
		e.bind(d, netip.AddrPortFrom(netip.MustParseAddr("ff02::1"), e.port("Q")))
		f := e.socket(udp)
		e.bind(f, netip.AddrPortFrom(netip.MustParseAddr("ff01::1"), e.port("U2")))
	}},
	{"v6/dual/listener-takes-ipv4", func(e *denv) {
		// A listener on [::] takes IPv4 connections; their peer is an
		// IPv4-mapped address.
		l := e.socket(tcp)
		e.bind(l, netip.AddrPortFrom(netip.IPv6Unspecified(), e.port("P")))
		e.listen(l, 4)
		c, _ := e.api.SocketFamily(stack.AFInet, tcp)
		e.open[c] = true
		e.connect(c, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), e.port("P")))
		s := e.accept(l)
		e.sockname(s)
		e.peername(s)
		e.getopt(l, stack.IPv6V6Only)
	}},
	{"v6/dual/v6only-refuses-ipv4", func(e *denv) {
		l := e.socket(tcp)
		e.setopt(l, stack.IPv6V6Only, 1)
		e.bind(l, netip.AddrPortFrom(netip.IPv6Unspecified(), e.port("P")))
		e.listen(l, 4)
		c, _ := e.api.SocketFamily(stack.AFInet, tcp)
		e.open[c] = true
		e.connect(c, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), e.port("P")))
		// An IPv4 listener may share the port with it.
		l4, _ := e.api.SocketFamily(stack.AFInet, tcp)
		e.open[l4] = true
		e.bind(l4, netip.AddrPortFrom(netip.IPv4Unspecified(), e.port("P")))
	}},
	{"v6/dual/any-blocks-ipv4-bind", func(e *denv) {
		// Without V6ONLY, [::]:P holds 0.0.0.0:P too.
		l := e.socket(tcp)
		e.bind(l, netip.AddrPortFrom(netip.IPv6Unspecified(), e.port("P")))
		e.listen(l, 4)
		l4, _ := e.api.SocketFamily(stack.AFInet, tcp)
		e.open[l4] = true
		e.bind(l4, netip.AddrPortFrom(netip.IPv4Unspecified(), e.port("P")))
		e.bind(l4, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), e.port("P")))
	}},
	{"v6/dual/udp-mapped", func(e *denv) {
		// An AF_INET6 UDP socket on [::] receives from IPv4; the source
		// is IPv4-mapped, and a reply to it goes back over IPv4.
		u := e.socket(udp)
		e.bind(u, netip.AddrPortFrom(netip.IPv6Unspecified(), e.port("U1")))
		u4, _ := e.api.SocketFamily(stack.AFInet, udp)
		e.open[u4] = true
		e.bind(u4, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), e.port("U2")))
		e.sendto(u4, "hi", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), e.port("U1")))
		e.settle()
		e.recvfrom(u, 10)
		e.sendto(u, "back", netip.AddrPortFrom(netip.AddrFrom16(netip.MustParseAddr("127.0.0.1").As16()), e.port("U2")))
		e.settle()
		e.recvfrom(u4, 10)
	}},
}

func init() { diffCases = append(diffCases, dualCases...) }
