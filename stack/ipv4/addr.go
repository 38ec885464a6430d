package ipv4

import (
	"net/netip"

	"stacklab/stack/wire"
)

// The address rules a host or router applies before it accepts a
// datagram or answers one with an ICMP error.

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// IsBroadcast reports whether a is the limited broadcast address
// 255.255.255.255 or the directed broadcast address of subnet (all host
// bits set; a /31 or /32 has none, RFC 3021).
func IsBroadcast(a netip.Addr, subnet netip.Prefix) bool {
	if a == limitedBroadcast {
		return true
	}
	if !subnet.Contains(a) {
		return false
	}
	return a == DirectedBroadcast(subnet)
}

// DirectedBroadcast returns the directed broadcast address of subnet: its
// address with every host bit set (RFC 919, RFC 922). A /31 or /32 has
// none (RFC 3021); the result is then the zero Addr.
func DirectedBroadcast(p netip.Prefix) netip.Addr {
	if !p.IsValid() || !p.Addr().Is4() || p.Bits() >= 31 {
		return netip.Addr{}
	}
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= ^uint32(0) >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// IsMartianSource reports whether src cannot be the source of a datagram
// received on an interface with the given subnet, so the datagram must be
// discarded silently (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7): a broadcast
// (limited, or the subnet's directed broadcast), a multicast address, a
// class E address (240.0.0.0/4), or a loopback address (127.0.0.0/8),
// which never arrives from a network. 0.0.0.0 is allowed: a host that is
// still learning its address sends from it (RFC 1122 §3.2.1.3 (a), DHCP).
func IsMartianSource(src netip.Addr, subnet netip.Prefix) bool {
	if !src.Is4() {
		return true
	}
	if src.IsUnspecified() {
		return false
	}
	return IsBroadcast(src, subnet) || src.IsMulticast() || src.IsLoopback() || isClassE(src)
}

func isClassE(a netip.Addr) bool { return a.As4()[0] >= 240 }

// MayAnswerWithError reports whether an ICMP error may be sent about
// orig, a datagram received on an interface with the given subnet
// (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7). It may not when orig is
//
//   - itself an ICMP error (any ICMP type but the queries: echo, router
//     advertisement and solicitation, timestamp, information and address
//     mask request and reply), or an ICMP message too short to tell;
//   - a fragment other than the first;
//   - addressed to a broadcast or multicast address;
//   - from an address that does not name one host: 0.0.0.0, a broadcast,
//     a multicast, a class E or a loopback address.
//
// The caller must also hold back errors about a datagram that arrived
// as a link-layer broadcast or multicast, which it alone knows, and
// should rate-limit the rest (RFC 1812 §4.3.2.8).
func MayAnswerWithError(orig wire.IPv4, subnet netip.Prefix) bool {
	if len(orig) < wire.IPv4MinHeaderLen || orig.FragmentOffset() != 0 {
		return false
	}
	src, dst := orig.Src(), orig.Dst()
	if src.IsUnspecified() || IsMartianSource(src, subnet) {
		return false
	}
	if IsBroadcast(dst, subnet) || dst.IsMulticast() || isClassE(dst) {
		return false
	}
	if orig.Protocol() == wire.ProtoICMP {
		p := orig.Payload()
		if len(p) < 1 || !isICMPQuery(p[0]) {
			return false
		}
	}
	return true
}

// MayAnswerOnLoopback is [MayAnswerWithError] for a datagram that came
// over the loopback interface, where loopback sources are the rule, not
// martians: it may not answer an ICMP error, a later fragment, or a
// datagram to a broadcast, multicast or class E address.
func MayAnswerOnLoopback(orig wire.IPv4) bool {
	if len(orig) < wire.IPv4MinHeaderLen || orig.FragmentOffset() != 0 {
		return false
	}
	if dst := orig.Dst(); dst.As4() == [4]byte{255, 255, 255, 255} || dst.IsMulticast() || isClassE(dst) {
		return false
	}
	if orig.Protocol() == wire.ProtoICMP {
		p := orig.Payload()
		if len(p) < 1 || !isICMPQuery(p[0]) {
			return false
		}
	}
	return true
}

// isICMPQuery reports whether an ICMP type is a query or its reply, about
// which errors may be sent; every other type, known or not, is treated as
// an error message (RFC 1122 §3.2.2, as Linux does for unknown types).
func isICMPQuery(typ uint8) bool {
	switch typ {
	case 0, 8, // echo reply, echo (RFC 792)
		9, 10, // router advertisement, solicitation (RFC 1256)
		13, 14, // timestamp, timestamp reply
		15, 16, // information request, reply
		17, 18: // address mask request, reply (RFC 950)
		return true
	}
	return false
}
