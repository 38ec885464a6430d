package stack

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"syscall"

	"stacklab/stack/wire"
)

// IPv6 (RFC 8200) beside IPv4: addresses per interface, input with the
// extension header chain, output, forwarding with the hop limit, and the
// loopback address ::1. Neighbour discovery is in ndp.go, ICMPv6 in
// icmp6.go.

var (
	ip6Loopback   = netip.IPv6Loopback()
	ip6AllNodes   = netip.MustParseAddr("ff02::1")
	ip6AllRouters = netip.MustParseAddr("ff02::2")
)

// setAddrs6 checks cfg's IPv6 addresses and gives n its own: on
// Ethernet, first the link-local address derived from the MAC (modified
// EUI-64, RFC 4291 §2.5.1, RFC 4862 §5.3), then the configured ones.
func (n *NIC) setAddrs6(cfg *NICConfig) error {
	for _, p := range cfg.Addrs6 {
		a := p.Addr()
		if !p.IsValid() || !a.Is6() || a.Is4In6() || a.IsMulticast() || a.IsUnspecified() || a.IsLoopback() || a.Zone() != "" {
			return fmt.Errorf("stack: AddNIC %s: address %v is not a unicast IPv6 prefix like 2001:db8::1/64", cfg.Name, p)
		}
	}
	if cfg.Type == LinkEthernet && (len(cfg.Addrs6) > 0 || cfg.LinkLocal || cfg.SLAAC) {
		ll := wire.LinkLocalFromMAC(n.mac)
		n.addrs6 = append(n.addrs6, netip.PrefixFrom(ll, 64))
	}
	n.addrs6 = append(n.addrs6, cfg.Addrs6...)
	if len(n.addrs6) > 0 && cfg.MTU < wire.IPv6MinMTU {
		return fmt.Errorf("stack: AddNIC %s: MTU %d is below IPv6's minimum of %d (RFC 8200 §5); raise it or give the interface no IPv6 address", cfg.Name, cfg.MTU, wire.IPv6MinMTU)
	}
	return nil
}

// Addrs6 returns the interface's IPv6 addresses with their prefixes: the
// link-local one first (on Ethernet), then the configured ones.
func (n *NIC) Addrs6() []netip.Prefix { return append([]netip.Prefix(nil), n.addrs6...) }

// hasAddr6 reports whether a is one of n's IPv6 addresses.
func (n *NIC) hasAddr6(a netip.Addr) bool {
	if a.Zone() != "" {
		a = a.WithZone("") // only when there is one: it runs per packet received
	}
	for _, p := range n.addrs6 {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// source6 picks n's source address for a packet to dst (a reduced RFC
// 6724 §5): the link-local address for a link-local or multicast
// destination, else a global address, preferring one whose prefix holds
// dst; through lo, dst itself (one of our own addresses) or ::1.
func (n *NIC) source6(dst netip.Addr) netip.Addr {
	if n.loop {
		if dst.IsLoopback() {
			return ip6Loopback
		}
		return dst.WithZone("")
	}
	// RFC 6724 §5 in short: the destination's scope, then a preferred
	// address over a deprecated one (rule 3), then one on the
	// destination's prefix, then the first.
	var ll, global, old netip.Addr
	for _, p := range n.addrs6 {
		a := p.Addr()
		switch {
		case a.IsLinkLocalUnicast():
			if !ll.IsValid() {
				ll = a
			}
		case len(n.slaac.auto) > 0 && n.deprecated6(a):
			if !old.IsValid() || p.Contains(dst.WithZone("")) {
				old = a
			}
		case p.Contains(dst.WithZone("")):
			return a // preferred and on the destination's prefix: the best there is
		case !global.IsValid():
			global = a
		}
	}
	switch {
	case dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() || !global.IsValid() && !old.IsValid():
		return ll
	case global.IsValid():
		return global
	}
	return old
}

// isLocal6 reports whether a is ::1 or an IPv6 address of one of the
// stack's interfaces.
func (s *Stack) isLocal6(a netip.Addr) bool {
	a = a.WithZone("")
	if a == ip6Loopback {
		return true
	}
	for _, n := range s.nics {
		if n.hasAddr6(a) {
			return true
		}
	}
	return false
}

// accepts6 reports whether a packet to dst arriving on n is for this
// host: one of its addresses, or a multicast group n is in (all-nodes,
// all-routers when forwarding, the solicited-node group of each of its
// addresses).
func (s *Stack) accepts6(n *NIC, dst netip.Addr) bool {
	if dst.IsMulticast() {
		if dst == ip6AllNodes || dst == netip.MustParseAddr("ff01::1") || dst == ip6AllRouters && s.opts.Forwarding {
			return true
		}
		for _, p := range n.addrs6 {
			if wire.SolicitedNodeAddr(p.Addr()) == dst {
				return true
			}
		}
		for _, t := range n.slaac.tentative {
			if wire.SolicitedNodeAddr(t.addr.Addr()) == dst {
				return true // RFC 4862 §5.4.2: joined before DAD
			}
		}
		return false
	}
	if dst == n.goodDst {
		return true
	}
	// Linux accepts a packet for any of its addresses on any interface
	// (the weak host model), for IPv6 as for IPv4 (and lo for its own).
	if s.isLocal6(dst) {
		n.goodDst = dst
		return true
	}
	return false
}

// ip6Input handles an IPv6 packet received on n (RFC 8200).
func (s *Stack) ip6Input(n *NIC, b []byte, pktID uint64) {
	c := &s.counters.IP6
	c.InReceives++
	if len(n.addrs6) == 0 {
		s.drop(&c.InDiscards, "ip6.InDiscards", "ipv6", "IPv6 is not enabled on "+n.cfg.Name, pktID)
		return
	}
	ip, err := wire.ParseIPv6(b)
	if err != nil {
		s.drop(&c.InHdrErrors, "ip6.InHdrErrors", "ipv6", err.Error(), pktID)
		return
	}
	src, dst := ip.Src(), ip.Dst()
	if src != n.goodSrc && (src.IsMulticast() || !n.loop && (src.IsLoopback() || s.isLocal6(src) && !src.IsUnspecified())) ||
		!n.loop && dst.IsLoopback() {
		// RFC 4291 §2.5.3, §2.7: a multicast source names no node, and
		// ::1 never comes from a link; our own address coming back is a
		// loop or a spoof.
		s.drop(&c.InAddrErrors, "ip6.InAddrErrors", "ipv6", "martian source or destination "+src.String()+" → "+dst.String(), pktID)
		return
	}
	n.goodSrc = src
	if !s.accepts6(n, dst) {
		if s.opts.Forwarding && !dst.IsMulticast() {
			s.forward6(n, ip, pktID)
			return
		}
		s.drop(&c.InAddrErrors, "ip6.InAddrErrors", "ipv6", "not for this host: "+dst.String(), pktID)
		return
	}
	// A packet with no extension headers (nearly every one) goes
	// straight to its upper layer; the others walk the header chain.
	proto, off, protoOff := ip.NextHeader(), wire.IPv6HeaderLen, wire.IPv6NextHeaderOffset
	if wire.IsIPv6ExtHeader(proto) {
		var ok bool
		if ip, proto, off, protoOff, ok = s.ip6ExtHeaders(n, ip, pktID); !ok {
			return
		}
	}
	payload := ip[off:]
	c.InDelivers++
	switch proto {
	case wire.ProtoTCP:
		s.tcp.InputIPv6(src, dst, payload, pktID, ip.TrafficClass()&3, s.rxChecksummed, ip.FlowLabel())
	case wire.ProtoUDP:
		s.udpInput(n, ip, src, dst, payload, pktID)
	case wire.ProtoICMPv6:
		s.icmp6Input(n, ip, payload, pktID)
	case wire.IPv6NoNextHeader:
	default:
		c.InDelivers--
		s.drop(&c.InUnknownProtos, "ip6.InUnknownProtos", "ipv6", "no such protocol "+strconv.Itoa(int(proto)), pktID)
		s.sendICMP6Error(n, ip, wire.ICMPv6ParamProblem, wire.ICMPv6CodeUnknownNextHdr, uint32(protoOff), "parameter problem: unknown next header")
	}
}

// ip6ExtHeaders walks the extension header chain of ip (RFC 8200 §4),
// applies its options and reassembles a fragment. It returns the packet
// to deliver (the whole one after reassembly), its upper-layer protocol,
// where that header starts, and the offset of the Next Header byte that
// named it; ok is false when the packet went no further (dropped,
// answered, or a fragment kept for later).
func (s *Stack) ip6ExtHeaders(n *NIC, ip wire.IPv6, pktID uint64) (_ wire.IPv6, proto uint8, off, protoOff int, ok bool) {
	c := &s.counters.IP6
	ch, err := ip.Chain()
	if err != nil {
		if err == wire.ErrBadExtension {
			s.drop(&c.InHdrErrors, "ip6.InHdrErrors", "ipv6", err.Error(), pktID)
			s.sendICMP6Error(n, ip, wire.ICMPv6ParamProblem, wire.ICMPv6CodeUnknownNextHdr, uint32(ch.ProtoOffset), "parameter problem: "+err.Error())
			return nil, 0, 0, 0, false
		}
		s.drop(&c.InTruncatedPkts, "ip6.InTruncatedPkts", "ipv6", err.Error(), pktID)
		return nil, 0, 0, 0, false
	}
	if !s.ip6ChainOptions(n, ip, ch, pktID) {
		return nil, 0, 0, 0, false
	}
	if ch.Fragment != nil && !ch.Fragment.IsAtomic() {
		whole, ok := s.reassemble6(n, ip, ch, pktID)
		if !ok {
			return nil, 0, 0, 0, false
		}
		// The whole packet: its headers after the fragment header, if
		// any, are read now (those before it again, to no effect).
		ip = whole
		if ch, err = ip.Chain(); err != nil {
			s.drop(&c.InHdrErrors, "ip6.InHdrErrors", "ipv6", "reassembled: "+err.Error(), pktID)
			return nil, 0, 0, 0, false
		}
		if !s.ip6ChainOptions(n, ip, ch, pktID) {
			return nil, 0, 0, 0, false
		}
	}
	return ip, ch.Proto, ch.Offset, ch.ProtoOffset, true
}

// ip6ChainOptions applies ip6Options to the hop-by-hop and destination
// options headers of ch; it reports whether the packet goes on.
func (s *Stack) ip6ChainOptions(n *NIC, ip wire.IPv6, ch wire.IPv6Chain, pktID uint64) bool {
	for _, h := range [2]wire.IPv6Options{ch.HopByHop, ch.DestOpts} {
		if h != nil && !s.ip6Options(n, ip, h, pktID) {
			return false
		}
	}
	return true
}

// ip6Options applies RFC 8200 §4.2 to the options of a hop-by-hop or
// destination options header: unknown ones are skipped, or discard the
// packet, with a Parameter Problem unless their type says not to (or the
// destination is multicast). It reports whether the packet goes on.
func (s *Stack) ip6Options(n *NIC, ip wire.IPv6, h wire.IPv6Options, pktID uint64) bool {
	base := cap(ip) - cap(h) // h's offset in ip (a slice of it), for the pointer
	for off := 0; ; {
		typ, _, next, ok, err := h.NextOption(off)
		if err != nil {
			s.drop(&s.counters.IP6.InHdrErrors, "ip6.InHdrErrors", "ipv6", "bad option: "+err.Error(), pktID)
			return false
		}
		if !ok {
			return true
		}
		switch typ {
		case wire.IPv6OptPad1, wire.IPv6OptPadN, wire.IPv6OptRouterAlert:
		default:
			act := wire.IPv6OptionAction(typ)
			if act == 0 {
				break
			}
			s.drop(&s.counters.IP6.InHdrErrors, "ip6.InHdrErrors", "ipv6", "unknown option type "+strconv.Itoa(int(typ)), pktID)
			if act == 2 || act == 3 && !ip.Dst().IsMulticast() {
				s.sendICMP6Error(n, ip, wire.ICMPv6ParamProblem, wire.ICMPv6CodeUnknownOption, uint32(base+2+off), "parameter problem: unknown option")
			}
			return false
		}
		off = next
	}
}

// ip6Send builds an IPv6 packet around payload and sends it toward dst
// with hop limit hl and traffic class tc. An invalid src means the
// outgoing interface's address for dst. IPv6 routers never fragment; a
// host fragments its own packets larger than the interface MTU (RFC 8200
// §4.5), as Linux does for UDP, ICMPv6 and raw sockets; TCP sizes its
// segments to fit and never needs it.
func (s *Stack) ip6Send(hl, tc uint8, src, dst netip.Addr, proto uint8, payload []byte, why string) error {
	n, hop, ok := s.route(dst)
	if !ok {
		s.counters.IP6.OutNoRoutes++
		return syscall.ENETUNREACH
	}
	if !src.IsValid() || src.IsUnspecified() {
		src = n.source6(dst)
		if !src.IsValid() {
			s.counters.IP6.OutNoRoutes++
			return syscall.EADDRNOTAVAIL
		}
	}
	return s.ip6SendVia(n, hop, hl, tc, src, dst, proto, payload, why)
}

// ip6SendVia sends an IPv6 packet out of n toward the next hop hop.
func (s *Stack) ip6SendVia(n *NIC, hop netip.Addr, hl, tc uint8, src, dst netip.Addr, proto uint8, payload []byte, why string) error {
	s.counters.IP6.OutRequests++
	hdr := n.linkHeaderLen()
	total := wire.IPv6HeaderLen + len(payload)
	if len(payload) > wire.IPv6MaxPayloadLen || total > n.MTU6() && proto == wire.ProtoTCP {
		s.counters.IP6.FragFails++
		return syscall.EMSGSIZE
	}
	flow := s.txFlow
	if !s.txFlowSet {
		flow = s.autoFlowLabel(src, dst, proto, payload)
	}
	if mtu := s.pathMTU6(n, dst); total > mtu {
		f := wire.IPv6Fields{
			TrafficClass: tc,
			FlowLabel:    flow,
			PayloadLen:   uint16(len(payload)),
			NextHeader:   proto,
			HopLimit:     hl,
			Src:          src.WithZone(""),
			Dst:          dst.WithZone(""),
		}
		s.fragment6(n, hop, mtu, &f, payload, why)
		return nil
	}
	frame := s.ipFrame(payload, hdr, wire.IPv6HeaderLen, total)
	// The fixed header field by field, as Encode writes it: every
	// segment sent comes here, and a fields struct with two addresses
	// costs more to fill than the header does.
	wire.IPv6(frame[hdr:]).Put(tc, flow, uint16(len(payload)), proto, hl, src, dst)
	if hop.Zone() != "" {
		hop = hop.WithZone("")
	}
	n.sendIPFrame(frame, hdr, hop, 0, why)
	return nil
}

// autoFlowLabel is the flow label of a packet no connection labels (UDP,
// ICMPv6, a TCP RST for no connection), as Linux's auto_flowlabels make
// it: a hash of the flow, its addresses, protocol and ports (ICMPv6's
// type and code), keyed per stack, so that one flow keeps one label.
// Never 0, which would say the packet has none. (Neighbour discovery's
// messages carry 0, as Linux's ndisc does; they are built elsewhere.)
func (s *Stack) autoFlowLabel(src, dst netip.Addr, proto uint8, payload []byte) uint32 {
	mix := func(h uint64) uint64 { // splitmix64's finaliser
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		return h ^ h>>31
	}
	a, b := src.As16(), dst.As16()
	be := binary.BigEndian
	h := s.flowKey
	for _, w := range [4]uint64{be.Uint64(a[:8]), be.Uint64(a[8:]), be.Uint64(b[:8]), be.Uint64(b[8:])} {
		h = mix(h ^ w)
	}
	var ports uint64
	switch {
	case (proto == wire.ProtoTCP || proto == wire.ProtoUDP) && len(payload) >= 4:
		ports = uint64(binary.BigEndian.Uint32(payload))
	case proto == wire.ProtoICMPv6 && len(payload) >= 2:
		ports = uint64(binary.BigEndian.Uint16(payload))
	}
	return max(uint32(mix(h^uint64(proto)<<32^ports))&0xfffff, 1)
}

// fragment6 sends payload in fragments that fit mtu (RFC 8200 §4.5):
// each an IPv6 header, a fragment header with one identification for
// all, and a multiple of 8 bytes of the payload but the last.
func (s *Stack) fragment6(n *NIC, hop netip.Addr, mtu int, f *wire.IPv6Fields, payload []byte, why string) {
	if s.txPartial {
		// No link can finish a checksum spread over fragments.
		wire.TCP(payload).SetChecksum(f.Src, f.Dst)
		s.txPartial = false
	}
	hdr := n.linkHeaderLen()
	chunk := (mtu - wire.IPv6HeaderLen - wire.IPv6FragmentHeaderLen) &^ 7
	id := s.opts.Rand.Uint32() // Linux: a hash of the addresses with a secret, per datagram
	proto := f.NextHeader
	f.NextHeader = wire.IPv6ExtFragment
	for off := 0; off < len(payload); off += chunk {
		part := payload[off:min(off+chunk, len(payload))]
		more := off+len(part) < len(payload)
		frame := s.out[:hdr+wire.IPv6HeaderLen+wire.IPv6FragmentHeaderLen+len(part)]
		f.PayloadLen = uint16(wire.IPv6FragmentHeaderLen + len(part))
		wire.IPv6(frame[hdr:]).Encode(f)
		wire.IPv6FragmentHeader(frame[hdr+wire.IPv6HeaderLen:]).Encode(&wire.IPv6FragmentFields{NextHeader: proto, Offset: uint16(off), More: more, ID: id})
		copy(frame[hdr+wire.IPv6HeaderLen+wire.IPv6FragmentHeaderLen:], part)
		s.counters.IP6.FragCreates++
		n.sendIPFrame(frame, hdr, hop.WithZone(""), 0, why)
	}
	s.counters.IP6.FragOKs++
}

// forward6 routes a packet that is not for this host (RFC 8200 §3, RFC
// 4443): decrement the hop limit, answer Time Exceeded at 1 and Packet
// Too Big when the next link is too small (routers never fragment).
func (s *Stack) forward6(in *NIC, ip wire.IPv6, pktID uint64) {
	c := &s.counters.IP6
	src, dst := ip.Src(), ip.Dst()
	if src.IsUnspecified() || src.IsLinkLocalUnicast() || dst.IsLinkLocalUnicast() {
		// RFC 4291 §2.5.6: link-local packets never leave their link.
		s.drop(&c.InAddrErrors, "ip6.InAddrErrors", "ipv6", "not forwarded: link-local "+src.String()+" → "+dst.String(), pktID)
		if dst.IsLinkLocalUnicast() || src.IsLinkLocalUnicast() {
			s.sendICMP6Error(in, ip, wire.ICMPv6DestUnreachable, wire.ICMPv6CodeBeyondScope, 0, "beyond scope of source address")
		}
		return
	}
	if ip.HopLimit() <= 1 {
		s.drop(&c.InHopLimitExceeded, "ip6.InHopLimitExceeded", "ipv6", "hop limit exceeded in transit", pktID)
		s.sendICMP6Error(in, ip, wire.ICMPv6TimeExceeded, wire.ICMPv6CodeHopLimitExceeded, 0, "hop limit exceeded")
		return
	}
	out, hop, ok := s.route(dst)
	if !ok || out.loop {
		s.drop(&c.OutNoRoutes, "ip6.OutNoRoutes", "ipv6", "no route to "+dst.String(), pktID)
		s.sendICMP6Error(in, ip, wire.ICMPv6DestUnreachable, wire.ICMPv6CodeNoRoute, 0, "no route")
		return
	}
	if mtu := out.MTU6(); len(ip) > mtu {
		s.drop(&c.InTooBigErrors, "ip6.InTooBigErrors", "ipv6", "too big for "+out.cfg.Name+" (MTU "+strconv.Itoa(mtu)+")", pktID)
		s.sendICMP6Error(in, ip, wire.ICMPv6PacketTooBig, 0, uint32(mtu), "packet too big")
		return
	}
	c.OutForwDatagrams++
	hdr := out.linkHeaderLen()
	frame := s.out[:hdr+len(ip)]
	copy(frame[hdr:], ip)
	fwd := wire.IPv6(frame[hdr:])
	fwd.SetHopLimit(ip.HopLimit() - 1)
	why := ""
	if s.opts.Tap != nil {
		why = s.name + ": hop limit " + strconv.Itoa(int(ip.HopLimit())) + " → " + strconv.Itoa(int(ip.HopLimit()-1)) + " via " + out.cfg.Name
	}
	out.sendIPFrame(frame, hdr, hop, pktID, why)
}

// sendIP6Frame is sendIPFrame for an IPv6 packet: the next hop's
// Ethernet address is a multicast mapping, or comes from neighbour
// discovery.
func (n *NIC) sendIP6Frame(frame []byte, hdr int, nextHop netip.Addr, id uint64, why string) {
	var dst wire.MAC
	switch {
	case n.loop:
	case nextHop.IsMulticast():
		dst = wire.IPv6MulticastMAC(nextHop)
	default:
		mac, ok := n.lookup6(nextHop)
		if !ok {
			n.stack.ndpResolve(n, nextHop, frame[hdr:], id, why)
			return
		}
		dst = mac
	}
	eth := wire.Ethernet(frame[hdr-wire.EthernetHeaderLen:])
	eth.Encode(&wire.EthernetFields{Dst: dst, Src: n.mac, Type: wire.EtherTypeIPv6})
	n.transmit(frame[hdr-wire.EthernetHeaderLen:], n.idOr(id), why, n.stack.txChecksummed)
}
