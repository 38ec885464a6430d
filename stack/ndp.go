package stack

import (
	"net/netip"
	"syscall"
	"time"

	"stacklab/stack/arp"
	"stacklab/stack/wire"
)

// Neighbour discovery (RFC 4861) on Ethernet interfaces: address
// resolution with neighbour solicitations and advertisements, and
// neighbour unreachability detection. The cache is package arp's, in its
// IPv6 mode with the DELAY state (RFC 4861 §7.3.2: INCOMPLETE,
// REACHABLE, STALE, DELAY, PROBE) and the same bounded queue of packets
// waiting for an address.

// ndpDelayFirstProbe is DELAY_FIRST_PROBE_TIME (RFC 4861 §10), as Linux's
// delay_first_probe_time.
const ndpDelayFirstProbe = 5 * time.Second

// nicNDP is an Ethernet NIC's neighbour discovery state.
type nicNDP struct {
	cache *arp.Cache
	cacheTimer
	// last and reachable are as in nicARP: the neighbour looked up last,
	// so that a segment to the same next hop skips the table, and its
	// confirmations wait in last until the table is next used.
	last      lastNeighbour
	reachable time.Duration
	// frame is an NDP message being built: Ethernet, IPv6, the message
	// and its options.
	frame []byte
}

// ndpOpt is an option of an NDP message to send: a link-layer address
// option carries the NIC's MAC, an MTU option mtu, a prefix information
// option prefix.
type ndpOpt struct {
	typ    uint8
	mtu    uint32
	prefix wire.NDPPrefix
}

func (n *NIC) initNDP() {
	n.ndp.cache = arp.New(arp.Config{IPv6: true, DelayFirstProbe: ndpDelayFirstProbe})
	n.ndp.fire = n.ndpTimer
	n.ndp.reachable = n.ndp.cache.Config().ReachableTime
}

// NeighborState returns the state of ip's entry in n's neighbour cache
// ("reachable", "stale", "delay", …; "none" without one): the ARP cache
// for an IPv4 address, the neighbour discovery cache for IPv6.
func (n *NIC) NeighborState(ip netip.Addr) string {
	s := n.stack
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch {
	case ip.Is4() && n.arp.cache != nil:
		n.syncARP()
		return n.arp.cache.State(ip, now).String()
	case ip.Is6() && n.ndp.cache != nil:
		n.syncNDP()
		return n.ndp.cache.State(ip.WithZone(""), now).String()
	}
	return arp.StateNone.String()
}

// lookup6 returns the Ethernet address of the IPv6 neighbour ip, if known.
func (n *NIC) lookup6(ip netip.Addr) (wire.MAC, bool) {
	now := n.stack.now()
	if mac, ok := n.ndp.last.get(ip, now); ok {
		return mac, true
	}
	n.syncNDP()
	mac, ok := n.ndp.cache.Lookup(ip, now)
	n.armNDP(now)
	n.ndp.last.remember(n.ndp.cache, ip, mac, ok, now)
	return mac, ok
}

// confirmed6 records that a frame from the IPv6 neighbour ip, sent from
// mac, arrived at now (NUD's upper-layer confirmation, as any frame
// confirms an ARP entry here).
func (n *NIC) confirmed6(ip netip.Addr, mac wire.MAC, now time.Time) {
	n.ndp.last.confirmed(n.ndp.cache, n.ndp.reachable, ip, mac, now)
}

// syncNDP gives the table the confirmation it has not had yet.
func (n *NIC) syncNDP() { n.ndp.last.sync(n.ndp.cache) }

// forgetLast6 forgets the remembered IPv6 neighbour: the table may change.
func (n *NIC) forgetLast6() {
	n.syncNDP()
	n.ndp.last = lastNeighbour{}
}

// armNDP makes sure the NIC's NDP timer fires no later than the cache's
// next deadline.
func (n *NIC) armNDP(now time.Time) {
	n.syncNDP()
	n.ndp.arm(n.stack, n.ndp.cache, now)
}

// ndpTimer sends the solicitations that are due (retries, NUD probes)
// and drops the packets whose next hop did not answer.
func (n *NIC) ndpTimer() {
	s := n.stack
	now := s.now()
	n.ndp.armed = time.Time{}
	n.forgetLast6()
	n.ndp.cache.Expired(now, func(ip netip.Addr, mac wire.MAC, unicast bool) {
		why := "ndp: retry " + ip.String()
		if unicast {
			why = "ndp: probe " + ip.String() + " (no confirmation in delay)"
		}
		if s.opts.Observer != nil {
			s.observe(&Event{Kind: EventTimer, Proto: "ndp", Name: "ndp-retry", Detail: why})
		}
		s.ndpSolicit(n, ip, mac, unicast, why)
	}, func(ip netip.Addr, p arp.Packet) {
		s.drop(&s.counters.NDP.PendingDrops, "ndp.PendingDrops", "ndp", "no neighbour advertisement from "+ip.String(), p.ID)
		s.addrUnreachable6(n, p.Data)
	})
	n.armNDP(now)
}

// addrUnreachable6 reports a packet whose next hop did not answer: a
// socket of this host learns EHOSTUNREACH (as hostUnreachable does for
// ARP); a forwarded packet's source gets an ICMPv6 address unreachable
// (RFC 4861 §7.2.2).
func (s *Stack) addrUnreachable6(n *NIC, pkt []byte) {
	ip, err := wire.ParseIPv6Quoted(pkt)
	if err != nil {
		return
	}
	if !s.isLocal6(ip.Src()) {
		s.sendICMP6Error(n, ip, wire.ICMPv6DestUnreachable, wire.ICMPv6CodeAddrUnreachable, 0, "address unreachable")
		return
	}
	if ch, err := ip.Chain(); err == nil && ch.Offset <= len(ip) {
		s.quotedError(ip.Src(), ip.Dst(), ch.Proto, ip[ch.Offset:], syscall.EHOSTUNREACH, true)
	}
}

// ndpResolve queues an IPv6 packet for nextHop and, the first time,
// sends a neighbour solicitation for it.
func (s *Stack) ndpResolve(n *NIC, nextHop netip.Addr, ipPacket []byte, id uint64, why string) {
	now := s.now()
	n.forgetLast6()
	p := arp.Packet{Data: append([]byte(nil), ipPacket...), ID: id, Note: why, ChecksumOK: s.txChecksummed}
	if s.txPartial {
		// It leaves later, when nothing says it is partial: finished now.
		wire.FinishTCPChecksum(p.Data, false)
	}
	send, err := n.ndp.cache.Enqueue(nextHop, p, now, func(p arp.Packet) {
		s.drop(&s.counters.NDP.PendingDrops, "ndp.PendingDrops", "ndp", "ndp queue full for "+nextHop.String(), p.ID)
	})
	if err != nil {
		s.drop(&s.counters.NDP.PendingDrops, "ndp.PendingDrops", "ndp", err.Error(), id)
		return
	}
	if send {
		s.ndpSolicit(n, nextHop, wire.MAC{}, false, "ndp: resolve "+nextHop.String()+" for: "+why)
	}
	n.armNDP(now)
}

// ndpSolicit sends a neighbour solicitation for target: to its
// solicited-node group, or with unicast to mac (a NUD probe).
func (s *Stack) ndpSolicit(n *NIC, target netip.Addr, mac wire.MAC, unicast bool, why string) {
	dst, ethDst := wire.SolicitedNodeAddr(target), wire.MAC{}
	ethDst = wire.IPv6MulticastMAC(dst)
	if unicast {
		dst, ethDst = target, mac
	}
	s.counters.ICMP6.OutNeighborSolicits++
	s.ndpSend(n, ethDst, n.source6(target), dst, &wire.NDPFields{Type: wire.ICMPv6NeighborSolicit, Target: target}, []ndpOpt{{typ: wire.NDPOptSourceLinkAddr}}, why)
}

// ndpSend sends an NDP message with options opts, from its own buffer:
// a solicitation may go out while s.out holds a packet being sent.
func (s *Stack) ndpSend(n *NIC, ethDst wire.MAC, src, dst netip.Addr, f *wire.NDPFields, opts []ndpOpt, why string) {
	const off = wire.EthernetHeaderLen + wire.IPv6HeaderLen
	if need := off + wire.NDPRedirectLen + (len(opts)+1)*wire.NDPPrefixInfoLen; len(n.ndp.frame) < need {
		n.ndp.frame = make([]byte, need)
	}
	frame := n.ndp.frame
	m := frame[off:]
	k := wire.EncodeNDP(m, f)
	for _, o := range opts {
		switch o.typ {
		case wire.NDPOptSourceLinkAddr, wire.NDPOptTargetLinkAddr:
			k += wire.EncodeNDPLinkAddr(m[k:], o.typ, n.mac)
		case wire.NDPOptMTU:
			k += wire.EncodeNDPMTU(m[k:], o.mtu)
		case wire.NDPOptPrefixInfo:
			k += wire.EncodeNDPPrefix(m[k:], &o.prefix)
		}
	}
	m = m[:k]
	wire.ICMPv6(m).SetChecksum(src, dst)
	wire.IPv6(frame[wire.EthernetHeaderLen:]).Encode(&wire.IPv6Fields{
		PayloadLen: uint16(k), NextHeader: wire.ProtoICMPv6, HopLimit: wire.NDPHopLimit, Src: src, Dst: dst,
	})
	wire.Ethernet(frame).Encode(&wire.EthernetFields{Dst: ethDst, Src: n.mac, Type: wire.EtherTypeIPv6})
	s.counters.ICMP6.OutMsgs++
	s.counters.IP6.OutRequests++
	n.transmit(frame[:off+k], s.nextID(), why, false)
}

// ndpInput handles a received NDP message (already checksummed).
func (s *Stack) ndpInput(n *NIC, ip wire.IPv6, m wire.ICMPv6, pktID uint64) {
	c := &s.counters.ICMP6
	if err := m.ValidateNDP(ip.HopLimit()); err != nil || n.cfg.Type != LinkEthernet || n.loop {
		s.drop(&c.InErrors, "icmp6.InErrors", "ndp", "invalid NDP message (RFC 4861 §7.1): hop limit, code, length or options", pktID)
		return
	}
	now := s.now()
	src := ip.Src()
	n.forgetLast6() // solicitations, advertisements and RAs change the table
	switch m.Type() {
	case wire.ICMPv6NeighborSolicit:
		c.InNeighborSolicits++
		target := m.NDPTarget()
		if n.isTentative(target) {
			if src.IsUnspecified() {
				// Another node tests the same address (RFC 4862 §5.4.3).
				s.dadConflict(n, target, pktID)
			}
			return
		}
		if !n.hasAddr6(target) {
			s.drop(&c.InIgnored, "icmp6.InIgnored", "ndp", "solicitation for "+target.String()+", not ours", pktID)
			return
		}
		slla, hasSLLA := wire.NDPLinkAddr(wire.FindNDPOption(m.NDPOptions(), wire.NDPOptSourceLinkAddr))
		if src.IsUnspecified() {
			// Duplicate address detection by another node (RFC 4862
			// §5.4.3): defend the address to all nodes.
			if hasSLLA {
				s.drop(&c.InErrors, "icmp6.InErrors", "ndp", "DAD solicitation with a source link-layer address (RFC 4861 §7.1.1)", pktID)
				return
			}
			s.ndpAdvertise(n, target, ip6AllNodes, wire.IPv6MulticastMAC(ip6AllNodes), false, "ndp: defend "+target.String())
			return
		}
		if hasSLLA {
			n.ndp.cache.SetStale(src, slla, now, func(mac wire.MAC, p arp.Packet) { s.ndpFlush(n, mac, p) })
		}
		mac, ok := n.lookup6(src)
		if !ok {
			// A unicast solicitation from a neighbour we do not know
			// and that did not say its address: resolve it first.
			s.drop(&c.InIgnored, "icmp6.InIgnored", "ndp", "solicitation without a source link-layer address from an unknown neighbour", pktID)
			return
		}
		s.ndpAdvertise(n, target, src, mac, true, "ndp: advertise "+target.String()+" to "+src.String())
	case wire.ICMPv6NeighborAdvert:
		c.InNeighborAdvertisements++
		target := m.NDPTarget()
		flags := m.NDPFlags()
		if flags&wire.NDPSolicitedFlag != 0 && ip.Dst().IsMulticast() {
			s.drop(&c.InErrors, "icmp6.InErrors", "ndp", "solicited advertisement to a multicast address (RFC 4861 §7.1.2)", pktID)
			return
		}
		if n.isTentative(target) {
			s.dadConflict(n, target, pktID) // RFC 4862 §5.4.4
			return
		}
		if n.hasAddr6(target) {
			s.drop(&c.InIgnored, "icmp6.InIgnored", "ndp", "another node advertises our address "+target.String()+": duplicate address", pktID)
			return
		}
		tlla, hasTLLA := wire.NDPLinkAddr(wire.FindNDPOption(m.NDPOptions(), wire.NDPOptTargetLinkAddr))
		n.ndp.cache.Advert(target, tlla, hasTLLA, flags&wire.NDPSolicitedFlag != 0, flags&wire.NDPOverrideFlag != 0, now,
			func(mac wire.MAC, p arp.Packet) { s.ndpFlush(n, mac, p) })
		n.armNDP(now)
	case wire.ICMPv6RouterSolicit:
		c.InRouterSolicits++
		s.routerSolicitInput(n, ip, m, pktID)
	case wire.ICMPv6RouterAdvert:
		c.InRouterAdvertisements++
		s.routerAdvertInput(n, ip, m, pktID)
	case wire.ICMPv6Redirect:
		c.InRedirects++
		s.drop(&c.InIgnored, "icmp6.InIgnored", "ndp", "redirect: not followed", pktID)
	}
}

// ndpAdvertise sends a neighbour advertisement for our address target.
func (s *Stack) ndpAdvertise(n *NIC, target, dst netip.Addr, ethDst wire.MAC, solicited bool, why string) {
	flags := uint32(wire.NDPOverrideFlag)
	if solicited {
		flags |= wire.NDPSolicitedFlag
	}
	if s.opts.Forwarding {
		flags |= wire.NDPRouterFlag
	}
	s.counters.ICMP6.OutNeighborAdvertisements++
	s.ndpSend(n, ethDst, target, dst, &wire.NDPFields{Type: wire.ICMPv6NeighborAdvert, Flags: flags, Target: target}, []ndpOpt{{typ: wire.NDPOptTargetLinkAddr}}, why)
}

// ndpFlush sends a packet that waited for its next hop's address.
func (s *Stack) ndpFlush(n *NIC, mac wire.MAC, p arp.Packet) {
	hdr := wire.EthernetHeaderLen
	frame := s.out[:hdr+len(p.Data)]
	copy(frame[hdr:], p.Data)
	wire.Ethernet(frame).Encode(&wire.EthernetFields{Dst: mac, Src: n.mac, Type: wire.EtherTypeIPv6})
	n.transmit(frame, n.idOr(p.ID), p.Note, p.ChecksumOK)
}
