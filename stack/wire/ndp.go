package wire

import (
	"encoding/binary"
	"net/netip"
)

// Neighbour discovery (RFC 4861 §4): messages are ICMPv6 messages whose
// body holds fixed fields and then options. The accessors below are
// methods of [ICMPv6]; [ICMPv6.ValidateNDP] checks a received one first.

// NDP flag bits in the header's second word.
const (
	NDPRouterFlag    = 0x80000000 // NA: R, the sender is a router
	NDPSolicitedFlag = 0x40000000 // NA: S, an answer to a solicitation
	NDPOverrideFlag  = 0x20000000 // NA: O, replace a cached link address
	NDPManagedFlag   = 0x00800000 // RA: M, addresses from DHCPv6
	NDPOtherFlag     = 0x00400000 // RA: O, other configuration from DHCPv6
)

// NDP option types (RFC 4861 §4.6).
const (
	NDPOptSourceLinkAddr = 1
	NDPOptTargetLinkAddr = 2
	NDPOptPrefixInfo     = 3
	NDPOptRedirected     = 4
	NDPOptMTU            = 5
)

// NDP message lengths without options (RFC 4861 §4.1-4.5), and the hop
// limit every received NDP message must carry (§6.1.1, §7.1.1).
const (
	NDPRouterSolicitLen   = 8
	NDPRouterAdvertLen    = 16
	NDPNeighborSolicitLen = 24
	NDPNeighborAdvertLen  = 24
	NDPRedirectLen        = 40
	NDPHopLimit           = 255
	// NDPPrefixInfoLen is the length of a prefix information option.
	NDPPrefixInfoLen = 32
	// NDPLinkAddrOptLen is the length of a link-layer address option
	// carrying an Ethernet address.
	NDPLinkAddrOptLen = 8
	// NDPMTUOptLen is the length of an MTU option.
	NDPMTUOptLen = 8
)

// ndpFixedLen returns the fixed length of an NDP message type, 0 for
// other types.
func ndpFixedLen(t uint8) int {
	switch t {
	case ICMPv6RouterSolicit:
		return NDPRouterSolicitLen
	case ICMPv6RouterAdvert:
		return NDPRouterAdvertLen
	case ICMPv6NeighborSolicit:
		return NDPNeighborSolicitLen
	case ICMPv6NeighborAdvert:
		return NDPNeighborAdvertLen
	case ICMPv6Redirect:
		return NDPRedirectLen
	}
	return 0
}

// IsNDP reports whether the message is one of the five NDP messages.
func (b ICMPv6) IsNDP() bool { return ndpFixedLen(b.Type()) != 0 }

// ValidateNDP applies the validity checks every NDP receiver makes
// (RFC 4861 §6.1, §7.1, §8.1) to a message whose checksum has already
// verified: the IP hop limit is 255 (so it came from the link), the code
// is 0, the message is at least its fixed length, every option has a
// nonzero length within the message, and a neighbour solicitation or
// advertisement does not target a multicast address. It returns
// [ErrBadNDP] otherwise.
func (b ICMPv6) ValidateNDP(hopLimit uint8) error {
	n := ndpFixedLen(b.Type())
	if n == 0 || hopLimit != NDPHopLimit || b.Code() != 0 || len(b) < n {
		return ErrBadNDP
	}
	if t := b.Type(); (t == ICMPv6NeighborSolicit || t == ICMPv6NeighborAdvert) && b.NDPTarget().IsMulticast() {
		return ErrBadNDP
	}
	for opts := b.NDPOptions(); len(opts) > 0; {
		var err error
		if _, _, opts, err = NextNDPOption(opts); err != nil {
			return ErrBadNDP
		}
	}
	return nil
}

// NDPTarget returns the target address of a neighbour solicitation,
// advertisement or redirect; the zero Addr for a message too short to
// have one (a router advertisement is 16 bytes).
func (b ICMPv6) NDPTarget() netip.Addr {
	if len(b) < 24 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(b[8:24]))
}

// NDPRedirectDst returns the destination address of a redirect; the
// zero Addr for a message too short to have one.
func (b ICMPv6) NDPRedirectDst() netip.Addr {
	if len(b) < 40 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(b[24:40]))
}

// NDPFlags returns the flag bits of a neighbour or router advertisement
// (the NDP...Flag constants).
func (b ICMPv6) NDPFlags() uint32 { return b.Rest() }

// RACurHopLimit returns a router advertisement's hop limit for hosts to
// use (0: unspecified).
func (b ICMPv6) RACurHopLimit() uint8 { return b[4] }

// RARouterLifetime returns a router advertisement's router lifetime in
// seconds (0: not a default router).
func (b ICMPv6) RARouterLifetime() uint16 { return binary.BigEndian.Uint16(b[6:]) }

// RAReachableTime returns a router advertisement's reachable time in
// milliseconds (0: unspecified).
func (b ICMPv6) RAReachableTime() uint32 { return binary.BigEndian.Uint32(b[8:]) }

// RARetransTimer returns a router advertisement's retransmission timer in
// milliseconds (0: unspecified).
func (b ICMPv6) RARetransTimer() uint32 { return binary.BigEndian.Uint32(b[12:]) }

// NDPOptions returns the options of an NDP message: the bytes after its
// fixed part (empty for a message that is not NDP or too short).
func (b ICMPv6) NDPOptions() []byte {
	n := ndpFixedLen(b.Type())
	if n == 0 || len(b) < n {
		return nil
	}
	return b[n:]
}

// NDPFields are the fixed fields of an NDP message, for [EncodeNDP].
type NDPFields struct {
	Type  uint8  // ICMPv6RouterSolicit … ICMPv6Redirect
	Flags uint32 // NDP...Flag bits; for an RA also its hop limit<<24
	// Target is the target of an NS, NA or redirect.
	Target netip.Addr
	// RedirectDst is the destination of a redirect.
	RedirectDst netip.Addr
	// RouterLifetime (s), ReachableTime and RetransTimer (ms) are an RA's.
	RouterLifetime              uint16
	ReachableTime, RetransTimer uint32
}

// EncodeNDP writes the ICMPv6 header and the fixed part of an NDP
// message into b and returns its length; options go after it, then
// [ICMPv6.SetChecksum] over the whole message.
func EncodeNDP(b []byte, f *NDPFields) int {
	n := ndpFixedLen(f.Type)
	_ = b[n-1]
	clear(b[:n])
	m := ICMPv6(b)
	m.Encode(&ICMPv6Fields{Type: f.Type, Rest: f.Flags})
	switch f.Type {
	case ICMPv6RouterAdvert:
		binary.BigEndian.PutUint16(b[6:], f.RouterLifetime)
		binary.BigEndian.PutUint32(b[8:], f.ReachableTime)
		binary.BigEndian.PutUint32(b[12:], f.RetransTimer)
	case ICMPv6NeighborSolicit, ICMPv6NeighborAdvert:
		putAddr16(b[8:], f.Target)
	case ICMPv6Redirect:
		putAddr16(b[8:], f.Target)
		putAddr16(b[24:], f.RedirectDst)
	}
	return n
}

// NextNDPOption reads the first option of opts and returns its type, its
// body (after the type and length bytes) and the options after it. An
// option of length 0 or one running past opts is [ErrBadNDP] (RFC 4861
// §4.6: the receiver must discard the message).
func NextNDPOption(opts []byte) (typ uint8, body, rest []byte, err error) {
	if len(opts) < 2 {
		return 0, nil, nil, ErrBadNDP
	}
	n := int(opts[1]) * 8
	if n == 0 || n > len(opts) {
		return 0, nil, nil, ErrBadNDP
	}
	return opts[0], opts[2:n], opts[n:], nil
}

// FindNDPOption returns the body of the first option of type typ in
// opts, or nil; a malformed option list ends the search.
func FindNDPOption(opts []byte, typ uint8) []byte {
	for len(opts) > 0 {
		t, body, rest, err := NextNDPOption(opts)
		if err != nil {
			return nil
		}
		if t == typ {
			return body
		}
		opts = rest
	}
	return nil
}

// NDPLinkAddr returns the Ethernet address in the body of a source or
// target link-layer address option.
func NDPLinkAddr(body []byte) (MAC, bool) {
	if len(body) < 6 {
		return MAC{}, false
	}
	return MAC(body[:6]), true
}

// EncodeNDPLinkAddr writes a source or target link-layer address option
// for an Ethernet address into b and returns its length.
func EncodeNDPLinkAddr(b []byte, typ uint8, mac MAC) int {
	_ = b[NDPLinkAddrOptLen-1]
	b[0], b[1] = typ, 1
	copy(b[2:8], mac[:])
	return NDPLinkAddrOptLen
}

// NDPMTU returns the MTU in the body of an MTU option.
func NDPMTU(body []byte) (uint32, bool) {
	if len(body) < 6 {
		return 0, false
	}
	return binary.BigEndian.Uint32(body[2:]), true
}

// EncodeNDPMTU writes an MTU option into b and returns its length.
func EncodeNDPMTU(b []byte, mtu uint32) int {
	_ = b[NDPMTUOptLen-1]
	b[0], b[1], b[2], b[3] = NDPOptMTU, 1, 0, 0
	binary.BigEndian.PutUint32(b[4:], mtu)
	return NDPMTUOptLen
}

// NDPPrefix is a prefix information option (RFC 4861 §4.6.2) as SLAAC
// reads it (RFC 4862 §5.5.3).
type NDPPrefix struct {
	Prefix            netip.Prefix
	OnLink            bool   // L: the prefix is on this link
	Autonomous        bool   // A: hosts may form addresses in it
	ValidLifetime     uint32 // seconds; 0xffffffff is infinity
	PreferredLifetime uint32 // seconds
}

// ParseNDPPrefix reads the body of a prefix information option; ok is
// false when it is too short or its prefix length exceeds 128.
func ParseNDPPrefix(body []byte) (p NDPPrefix, ok bool) {
	if len(body) < NDPPrefixInfoLen-2 || body[0] > 128 {
		return p, false
	}
	addr := netip.AddrFrom16([16]byte(body[14:30]))
	return NDPPrefix{
		Prefix:            netip.PrefixFrom(addr, int(body[0])).Masked(),
		OnLink:            body[1]&0x80 != 0,
		Autonomous:        body[1]&0x40 != 0,
		ValidLifetime:     binary.BigEndian.Uint32(body[2:]),
		PreferredLifetime: binary.BigEndian.Uint32(body[6:]),
	}, true
}

// EncodeNDPPrefix writes a prefix information option into b and returns
// its length.
func EncodeNDPPrefix(b []byte, p *NDPPrefix) int {
	_ = b[NDPPrefixInfoLen-1]
	clear(b[:NDPPrefixInfoLen])
	b[0], b[1], b[2] = NDPOptPrefixInfo, NDPPrefixInfoLen/8, uint8(p.Prefix.Bits())
	if p.OnLink {
		b[3] |= 0x80
	}
	if p.Autonomous {
		b[3] |= 0x40
	}
	binary.BigEndian.PutUint32(b[4:], p.ValidLifetime)
	binary.BigEndian.PutUint32(b[8:], p.PreferredLifetime)
	putAddr16(b[16:], p.Prefix.Masked().Addr())
	return NDPPrefixInfoLen
}

// SolicitedNodeAddr returns the solicited-node multicast address of a
// (RFC 4291 §2.7.1): ff02::1:ff followed by its low 24 bits, where a
// neighbour solicitation for a is sent.
func SolicitedNodeAddr(a netip.Addr) netip.Addr {
	v := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: v[13], 14: v[14], 15: v[15]})
}

// IPv6MulticastMAC returns the Ethernet address an IPv6 multicast address
// maps to: 33:33 and its low 32 bits (RFC 2464 §7).
func IPv6MulticastMAC(a netip.Addr) MAC {
	v := a.As16()
	return MAC{0x33, 0x33, v[12], v[13], v[14], v[15]}
}

// LinkLocalFromMAC returns the link-local address fe80::/64 with the
// modified EUI-64 interface identifier of an Ethernet address (RFC 4291
// §2.5.1 and appendix A, RFC 2464 §4): ff:fe in the middle and the
// universal/local bit inverted.
func LinkLocalFromMAC(mac MAC) netip.Addr {
	return netip.AddrFrom16([16]byte{0xfe, 0x80, 8: mac[0] ^ 0x02, 9: mac[1], 10: mac[2], 11: 0xff, 12: 0xfe, 13: mac[3], 14: mac[4], 15: mac[5]})
}
