package stack

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"syscall"

	"stacklab/stack/ipv4"
	"stacklab/stack/wire"
)

// AddRoute adds a route; the most specific prefix wins, and among equal
// prefixes the first added.
func (s *Stack) AddRoute(r Route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addRouteLocked(r)
}

func (s *Stack) addRouteLocked(r Route) {
	r.Dst = r.Dst.Masked()
	i, _ := slices.BinarySearchFunc(s.routes, r, func(a, b Route) int {
		if a.Dst.Bits() > b.Dst.Bits() {
			return -1
		}
		if a.Dst.Bits() < b.Dst.Bits() {
			return 1
		}
		return -1 // keep insertion order among equals: insert after
	})
	s.routes = slices.Insert(s.routes, i, r)
	s.addrsChanged()
}

// removeRoutesLocked removes the routes drop selects.
func (s *Stack) removeRoutesLocked(drop func(Route) bool) {
	s.routes = slices.DeleteFunc(s.routes, drop)
	s.addrsChanged()
}

// routeCache is the last route Stack.route found: a transfer sends to
// one destination. Whatever changes the routes or the addresses clears
// it (ok false).
type routeCache struct {
	ok       bool
	dst, hop netip.Addr
	nic      *NIC
}

// Routes returns the routing table, most specific first.
func (s *Stack) Routes() []Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Route(nil), s.routes...)
}

// route finds the interface and next hop for dst. 127.0.0.0/8 and the
// stack's own addresses go through lo, as Linux's local routing table
// sends them.
func (s *Stack) route(dst netip.Addr) (*NIC, netip.Addr, bool) {
	if s.rt.ok && dst == s.rt.dst {
		return s.rt.nic, s.rt.hop, true
	}
	n, hop, ok := s.routeSlow(dst)
	if ok {
		s.rt = routeCache{ok: true, dst: dst, hop: hop, nic: n}
	}
	return n, hop, ok
}

// addrsChanged clears what caches the stack's addresses and routes:
// the route cache and each interface's last good source and local
// destination. Whatever adds or removes an address or a route calls it.
func (s *Stack) addrsChanged() {
	s.rt.ok = false
	for _, n := range s.nics {
		n.forgetGood()
	}
	if s.lo != nil {
		s.lo.forgetGood()
	}
}

// forgetGood clears the interface's last good source and destination.
func (n *NIC) forgetGood() { n.goodSrc, n.goodDst = netip.Addr{}, netip.Addr{} }

// routeSlow is route without its cache.
func (s *Stack) routeSlow(dst netip.Addr) (*NIC, netip.Addr, bool) {
	dst = dst.WithZone("")
	if s.isLocal(dst) {
		return s.lo, dst, true
	}
	for i := range s.routes {
		r := &s.routes[i]
		if r.Dst.Contains(dst) {
			if r.Gateway.IsValid() {
				return r.NIC, r.Gateway, true
			}
			return r.NIC, dst, true
		}
	}
	return nil, netip.Addr{}, false
}

// isLocal reports whether a is an address of one of the stack's NICs or
// a loopback address (all of 127.0.0.0/8 is local, as in Linux).
func (s *Stack) isLocal(a netip.Addr) bool {
	if a.Is4() && a.IsLoopback() {
		return true
	}
	if a.Is6() {
		return s.isLocal6(a)
	}
	for _, n := range s.nics {
		if n.cfg.Addr.Addr() == a {
			return true
		}
	}
	return false
}

// groupAddr reports whether a is an address a socket may be bound to
// without being one of the stack's own: a multicast address, or an IPv4
// broadcast (the limited one, or an interface's subnet's). Linux's
// inet_bind and inet6_bind take them; the socket then sends from the
// address of the device its packets leave by (inet_saddr 0), and a TCP
// connect replaces the bound address with that one.
func (s *Stack) groupAddr(a netip.Addr) bool {
	if a.IsMulticast() {
		return true
	}
	if !a.Is4() {
		return false
	}
	if a.As4() == [4]byte{255, 255, 255, 255} {
		return true
	}
	for _, n := range s.nics {
		if n.bcast.IsValid() && n.bcast == a {
			return true
		}
	}
	return s.lo != nil && s.lo.bcast.IsValid() && s.lo.bcast == a // 127.255.255.255
}

// acceptsDst reports whether a packet to dst arriving on n is for this
// host: one of its addresses, or a broadcast.
func (s *Stack) acceptsDst(n *NIC, dst netip.Addr) bool {
	if dst == n.goodDst {
		return true
	}
	if s.isLocal(dst) {
		n.goodDst = dst
		return true
	}
	return dst.As4() == [4]byte{255, 255, 255, 255} || dst == n.bcast
}

// ipInput handles an IPv4 packet received on n (RFC 791 §3.2, RFC 1122 §3.2.1).
func (s *Stack) ipInput(n *NIC, b []byte, pktID uint64) {
	s.counters.IP.InReceives++
	ip, err := wire.ParseIPv4(b)
	if err != nil {
		s.drop(&s.counters.IP.InHdrErrors, "ip.InHdrErrors", "ip", err.Error(), pktID)
		if errors.Is(err, wire.ErrBadOption) {
			// Linux's ip_options_compile answers a malformed option with a
			// parameter problem pointing at it (RFC 792, RFC 1122
			// §3.2.2.5). The header and total length are sound here.
			bad := wire.IPv4(b[:wire.IPv4(b).TotalLen()])
			s.sendICMPError(bad, wire.ICMPParamProblem, 0, uint32(bad.BadOptionOffset())<<24, "bad IP option")
		}
		return
	}
	if src := ip.Src(); !n.loop && src != n.goodSrc {
		if ipv4.IsMartianSource(src, n.cfg.Addr) || s.isLocal(src) {
			// RFC 1122 §3.2.1.3: a broadcast, multicast, class E or
			// loopback source names no host, and our own address coming
			// back from the network is a loop or a spoof (Linux's
			// "martian source"); discard the datagram silently.
			s.drop(&s.counters.IP.InAddrErrors, "ip.InAddrErrors", "ip", "martian source "+src.String(), pktID)
			return
		}
		n.goodSrc = src
	}
	dst := ip.Dst()
	if !n.loop && dst.IsLoopback() {
		// RFC 1122 §3.2.1.3 (g): 127.0.0.0/8 never comes from a network.
		s.drop(&s.counters.IP.InAddrErrors, "ip.InAddrErrors", "ip", "martian destination "+dst.String(), pktID)
		return
	}
	if s.rxLinkBroadcast && s.isLocal(dst) {
		// RFC 1122 §3.3.6: a datagram for a unicast address that came in
		// a link-layer broadcast is discarded.
		s.drop(&s.counters.IP.InAddrErrors, "ip.InAddrErrors", "ip", "unicast datagram in a link-layer broadcast", pktID)
		return
	}
	if ip.HeaderLen() > wire.IPv4MinHeaderLen {
		// The options' contents, as Linux's ip_rcv_options: a bad
		// pointer or a repeated option gets a parameter problem pointing
		// at it; a source route is dropped (accept_source_route=0, the
		// default; RFC 1122 §3.3.5 asks hosts to honour it, RFC 7126
		// §4.3-4.4 to drop it).
		if off, srr := ip.IPv4OptionProblem(); off >= 0 {
			s.drop(&s.counters.IP.InHdrErrors, "ip.InHdrErrors", "ip", "bad IP option contents", pktID)
			s.sendICMPError(ip, wire.ICMPParamProblem, 0, uint32(off)<<24, "bad IP option")
			return
		} else if srr {
			s.drop(&s.counters.IP.InSrcRouteDrops, "ip.InSrcRouteDrops", "ip", "source-routed packet (accept_source_route=0)", pktID)
			return
		}
	}
	if !s.acceptsDst(n, dst) {
		if s.opts.Forwarding {
			s.forward(n, ip, pktID)
			return
		}
		s.drop(&s.counters.IP.InAddrErrors, "ip.InAddrErrors", "ip", "not for this host: "+dst.String(), pktID)
		return
	}
	payload := ip.Payload()
	if ip.More() || ip.FragmentOffset() != 0 {
		s.counters.IP.ReasmReqds++
		whole, ok := s.reassemble(ip, pktID)
		if !ok {
			return
		}
		ip = whole
		payload = ip.Payload()
	}
	s.counters.IP.InDelivers++
	switch ip.Protocol() {
	case wire.ProtoTCP:
		s.tcp.InputChecked(ip.Src(), dst, payload, pktID, ip.TOS()&3, s.rxChecksummed)
	case wire.ProtoUDP:
		s.udpInput(n, ip, ip.Src(), dst, payload, pktID)
	case wire.ProtoICMP:
		s.icmpInput(n, ip, payload, pktID)
	default:
		s.counters.IP.InDelivers--
		s.drop(&s.counters.IP.InUnknownProtos, "ip.InUnknownProtos", "ip", "no such protocol", pktID)
		s.sendUnreachable(ip, wire.ICMPCodeProtoUnreachable, 0, "protocol unreachable")
	}
}

// dfPolicy is what an IPv4 packet does with Don't Fragment and with a
// size past its route's MTU: Linux's IP_MTU_DISCOVER modes, as a
// socket's datagrams and segments take them (socket.dfPolicy).
type dfPolicy uint8

const (
	dfOff       dfPolicy = iota // no DF; fragmented when too big
	dfOn                        // DF; EMSGSIZE when too big
	dfIfFits                    // DF when it fits; fragmented, without DF, when not (IP_PMTUDISC_WANT's datagrams)
	dfOffNoFrag                 // no DF; EMSGSIZE when too big (IP_PMTUDISC_INTERFACE)
)

// ipSendTOS builds an IPv4 packet around payload and sends it toward
// dst with the TTL and type-of-service byte given (the TOS's low two bits
// are the ECN field, RFC 3168 §5). src may be invalid, meaning the
// address of the outgoing interface. df says what the packet does with
// Don't Fragment. why is the capture's note.
func (s *Stack) ipSendTOS(ttl, tos uint8, src, dst netip.Addr, proto uint8, payload []byte, df dfPolicy, why string) error {
	return s.ipSendOpts(ttl, tos, src, dst, proto, payload, nil, nil, df, why)
}

// ipSendChecksummed is ipSendTOS for a TCP or UDP segment whose checksum
// the caller computed: its frame leaves with Packet.ChecksumOK.
func (s *Stack) ipSendChecksummed(ttl, tos uint8, src, dst netip.Addr, proto uint8, payload []byte, df dfPolicy, why string) error {
	s.txChecksummed = true
	err := s.ipSendTOS(ttl, tos, src, dst, proto, payload, df, why)
	s.txChecksummed = false
	return err
}

// ipSendOpts is ipSendTOS with IPv4 options (a multiple of 4 bytes) after
// the fixed header; the entries rec keeps for this host are filled in
// once the source address is known (Linux's ip_options_build).
func (s *Stack) ipSendOpts(ttl, tos uint8, src, dst netip.Addr, proto uint8, payload, opts []byte, rec *wire.IPv4OptRecord, df dfPolicy, why string) error {
	if s.destroyed {
		return syscall.ENETDOWN
	}
	if dst.Is6() {
		return s.ip6Send(ttl, tos, src, dst, proto, payload, why)
	}
	n, hop, ok := s.route(dst)
	if !ok {
		s.counters.IP.OutNoRoutes++
		return syscall.ENETUNREACH
	}
	if !src.IsValid() {
		src = sourceFor(n, dst)
	}
	s.counters.IP.OutRequests++
	hdr := n.linkHeaderLen()
	hl := wire.IPv4MinHeaderLen + len(opts)
	total := hl + len(payload)
	fits := total <= n.cfg.MTU
	if !fits && (df == dfOn || df == dfOffNoFrag) {
		s.counters.IP.FragFails++
		return syscall.EMSGSIZE
	}
	frame := s.ipFrame(payload, hdr, hl, total)
	id := s.txID
	if !s.txIDSet {
		s.ipID++
		id = s.ipID
	}
	ip := wire.IPv4(frame[hdr:])
	ip.Encode(&wire.IPv4Fields{
		TOS:       tos,
		TotalLen:  uint16(total),
		ID:        id,
		TTL:       ttl,
		Protocol:  proto,
		Src:       src,
		Dst:       dst,
		DF:        df == dfOn || df == dfIfFits && fits,
		HeaderLen: uint8(hl),
	})
	copy(frame[hdr+wire.IPv4MinHeaderLen:], opts)
	if rec != nil {
		ip.BuildIPv4Options(*rec, src, wire.IPv4Timestamp(s.now()))
	}
	ip.SetChecksum()
	if fits {
		n.sendIPFrame(frame, hdr, hop, 0, why)
		return nil
	}
	return s.fragment(n, hop, ip, 0, why)
}

// fragment sends ip, too big for n's MTU, in fragments (RFC 791 §3.2,
// "Fragmentation"), built by package ipv4 in s.fragBuf after room for the
// link header. id is the packet id of the first fragment: a forwarded
// packet's (its later fragments are numbered as they are cut), or 0 for
// a datagram of this host's own (every fragment numbered as it leaves).
func (s *Stack) fragment(n *NIC, hop netip.Addr, ip wire.IPv4, id uint64, why string) error {
	if s.txPartial {
		// No link can finish a checksum spread over fragments.
		wire.FinishTCPChecksum(ip, false)
		s.txPartial = false
	}
	hdr := n.linkHeaderLen()
	if cap(s.fragBuf) < hdr+n.cfg.MTU {
		s.fragBuf = make([]byte, hdr+n.cfg.MTU)
	}
	buf := s.fragBuf[:hdr+n.cfg.MTU]
	forwarded, first := id != 0, true
	err := ipv4.Fragment(ip, n.cfg.MTU, buf[hdr:], func(frag wire.IPv4) {
		s.counters.IP.FragCreates++
		if !first && forwarded {
			// A router's fragments are new packets, numbered as cut.
			id = s.nextID()
		}
		first = false
		n.sendIPFrame(buf[:hdr+len(frag)], hdr, hop, id, why)
	})
	if err != nil {
		s.counters.IP.FragFails++
		return err
	}
	s.counters.IP.FragOKs++
	return nil
}

// forward routes a packet that is not for this host (RFC 1812 §5.2-5.3):
// decrement the TTL, answer time exceeded at 1, and send it on.
func (s *Stack) forward(in *NIC, ip wire.IPv4, pktID uint64) {
	if ip.TTL() <= 1 {
		s.drop(&s.counters.IP.InTTLExceeded, "ip.InTTLExceeded", "ip", "ttl exceeded in transit", pktID)
		s.sendICMPError(ip, wire.ICMPTimeExceeded, 0, 0, "ttl exceeded")
		return
	}
	if d := ip.Dst(); d.IsLoopback() || d.IsMulticast() || d.As4()[0] == 0 || d.As4()[0] >= 240 {
		// RFC 1812 §5.3.7: never forward to these.
		s.drop(&s.counters.IP.InAddrErrors, "ip.InAddrErrors", "ip", "not forwarded: martian destination "+d.String(), pktID)
		return
	}
	out, hop, ok := s.route(ip.Dst())
	if ok && ipv4.IsBroadcast(ip.Dst(), out.cfg.Addr) {
		// Directed broadcasts are not forwarded (RFC 2644).
		s.drop(&s.counters.IP.InAddrErrors, "ip.InAddrErrors", "ip", "not forwarded: directed broadcast "+ip.Dst().String(), pktID)
		return
	}
	if !ok {
		s.drop(&s.counters.IP.OutNoRoutes, "ip.OutNoRoutes", "ip", "no route to "+ip.Dst().String(), pktID)
		s.sendUnreachable(ip, wire.ICMPCodeNetUnreachable, 0, "no route")
		return
	}
	if len(ip) > out.cfg.MTU && ip.DF() {
		s.drop(&s.counters.IP.FragFails, "ip.FragFails", "ip", "too big with DF set", pktID)
		s.sendUnreachable(ip, wire.ICMPCodeFragNeeded, uint16(out.cfg.MTU), "fragmentation needed")
		return
	}
	s.counters.IP.ForwDatagrams++
	// Copy out of the received frame: the packet is changed (TTL) and
	// the receive buffer belongs to the link.
	if cap(s.fwdBuf) < len(ip) {
		s.fwdBuf = make([]byte, len(ip), maxFrame)
	}
	fwd := wire.IPv4(s.fwdBuf[:len(ip)])
	copy(fwd, ip)
	oldTTL := fwd.DecTTL() + 1
	if fwd.HeaderLen() > wire.IPv4MinHeaderLen {
		// Linux's ip_options_compile on arrival, then ip_forward_options:
		// a record route gets the outgoing interface's address, a
		// timestamp the time and the arriving interface's address.
		rec := fwd.RecordIPv4Options(in.cfg.Addr.Addr(), wire.IPv4Timestamp(s.now()), s.isLocal)
		fwd.ForwardIPv4Options(rec, out.cfg.Addr.Addr())
		fwd.SetChecksum()
	}
	why := ""
	if s.opts.Tap != nil {
		why = s.name + ": ttl " + strconv.Itoa(int(oldTTL)) + " → " + strconv.Itoa(int(oldTTL-1)) + " via " + out.cfg.Name
	}
	if len(fwd) <= out.cfg.MTU {
		// A forwarded packet keeps its id: every copy along the path shares it.
		hdr := out.linkHeaderLen()
		frame := s.out[:hdr+len(fwd)]
		copy(frame[hdr:], fwd)
		out.sendIPFrame(frame, hdr, hop, pktID, why)
		return
	}
	if err := s.fragment(out, hop, fwd, pktID, why+", fragmented"); err != nil && s.opts.Observer != nil {
		s.observe(&Event{Kind: EventDrop, Proto: "ip", Name: "ip.FragFails", Detail: "cannot fragment: " + err.Error(), PacketID: pktID})
	}
}

// sourceFor is the source address of a datagram to dst sent out of n:
// n's address, but through lo dst itself when it is one of the stack's
// own addresses, and 127.0.0.1 for the rest of 127.0.0.0/8 (Linux's
// local routes carry these preferred sources).
func sourceFor(n *NIC, dst netip.Addr) netip.Addr {
	if dst.Is6() {
		return n.source6(dst)
	}
	if n.loop && !dst.IsLoopback() {
		return dst
	}
	return n.cfg.Addr.Addr()
}
