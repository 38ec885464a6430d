package stack

import (
	"net/netip"
	"syscall"
	"time"

	"stacklab/stack/arp"
	"stacklab/stack/wire"
)

// ARP (RFC 826) on Ethernet interfaces. The neighbour cache, its pending
// queues and its timing live in package arp, which does no I/O; this file
// sends what it asks for and keeps one timer per NIC at its next deadline.

// nicARP is an Ethernet NIC's ARP state.
type nicARP struct {
	cache *arp.Cache
	cacheTimer
	// last is the neighbour looked up last, for the next packet to the
	// same address; reachable is the cache's ReachableTime.
	last      lastNeighbour
	reachable time.Duration
	frame     [wire.EthernetHeaderLen + wire.ARPLen]byte // an ARP frame being built
}

// lastNeighbour remembers one reachable cache entry so that a packet to
// the neighbour of the previous one skips the table. It is usable before
// until, a time when the entry is known to be still reachable: a lookup
// then changes nothing in the table (no aging, no probe), so skipping it
// is exact. until is set when a frame from the neighbour confirms it
// (RFC 1122 §2.3.2.1), which sets the entry's reachable time to now; the
// remembered entry is forgotten whenever the table may change otherwise
// (ARP input, a packet queued, the timer).
//
// A confirmation of the remembered neighbour is kept here (confirm) and
// given to the table only before the table is next used (syncARP): the
// entry is then the same as if each confirmation had gone in at once,
// since only the last one's time remains, and a frame received costs no
// table lookup.
type lastNeighbour struct {
	ok      bool
	ip      netip.Addr
	mac     wire.MAC
	until   time.Time
	confirm time.Time // a confirmation the table has not had; zero if none
}

func (n *NIC) initARP() {
	n.arp.cache = arp.New(arp.Config{})
	n.arp.fire = n.arpTimer
	n.arp.reachable = n.arp.cache.Config().ReachableTime
}

// lookup returns the hardware address of ip, if known.
func (n *NIC) lookup(ip netip.Addr) (wire.MAC, bool) {
	now := n.stack.now()
	if mac, ok := n.arp.last.get(ip, now); ok {
		return mac, true
	}
	n.syncARP()
	mac, ok := n.arp.cache.Lookup(ip, now)
	n.armARP(now)
	n.arp.last.remember(n.arp.cache, ip, mac, ok, now)
	return mac, ok
}

// get returns the remembered neighbour's MAC if it is ip's and still
// known reachable at now.
func (l *lastNeighbour) get(ip netip.Addr, now time.Time) (wire.MAC, bool) {
	if l.ok && l.ip == ip && now.Before(l.until) {
		return l.mac, true
	}
	return wire.MAC{}, false
}

// remember makes ip's entry the remembered one after a table lookup
// that found mac (ok), if the entry is reachable; it is usable once a
// frame from ip confirms it (confirmed).
func (l *lastNeighbour) remember(c *arp.Cache, ip netip.Addr, mac wire.MAC, ok bool, now time.Time) {
	if ok && c.State(ip, now) == arp.StateReachable {
		*l = lastNeighbour{ok: true, ip: ip, mac: mac}
	}
}

// confirmed records that a frame from ip, sent from mac, arrived at now,
// which makes its cache entry reachable until now + ReachableTime if the
// entry holds that MAC.
func (n *NIC) confirmed(ip netip.Addr, mac wire.MAC, now time.Time) {
	n.arp.last.confirmed(n.arp.cache, n.arp.reachable, ip, mac, now)
}

// confirmed is NIC.confirmed for the cache c whose remembered neighbour
// l is, with c's reachable time.
func (l *lastNeighbour) confirmed(c *arp.Cache, reachable time.Duration, ip netip.Addr, mac wire.MAC, now time.Time) {
	if l.ok && l.ip == ip {
		if l.mac == mac {
			l.confirm, l.until = now, now.Add(reachable)
		}
		return
	}
	c.ConfirmFrom(ip, mac, now)
}

// syncARP gives the table the confirmation it has not had yet; every use
// of the table other than Confirm comes after it.
func (n *NIC) syncARP() { n.arp.last.sync(n.arp.cache) }

// sync gives c the confirmation of the remembered neighbour it has not
// had yet.
func (l *lastNeighbour) sync(c *arp.Cache) {
	if l.ok && !l.confirm.IsZero() {
		c.Confirm(l.ip, l.confirm)
		l.confirm = time.Time{}
	}
}

// forgetLast forgets the remembered neighbour: the table may change.
func (n *NIC) forgetLast() {
	n.syncARP()
	n.arp.last = lastNeighbour{}
}

// armARP makes sure the NIC's timer fires no later than the cache's next
// deadline. A timer that fires early finds nothing to do and re-arms.
func (n *NIC) armARP(now time.Time) {
	n.syncARP()
	n.arp.arm(n.stack, n.arp.cache, now)
}

// cacheTimer is the one timer a NIC keeps for a neighbour cache (ARP's,
// NDP's), at the cache's next deadline.
type cacheTimer struct {
	timer Timer
	armed time.Time // when timer fires; zero when not armed
	fire  func()    // what it runs, set once with the cache
}

// arm makes sure the timer runs fire no later than the cache's next
// deadline. A timer that fires early finds nothing to do and re-arms.
func (t *cacheTimer) arm(s *Stack, cache *arp.Cache, now time.Time) {
	next, ok := cache.NextDeadline()
	if !ok || (!t.armed.IsZero() && !next.Before(t.armed)) {
		return
	}
	d := max(next.Sub(now), 0)
	t.armed = now.Add(d)
	if t.timer == nil {
		t.timer = s.afterFunc(d, t.fire)
	} else {
		t.timer.Reset(d)
	}
}

// arpTimer sends the requests that are due and drops the packets whose
// address could not be resolved.
func (n *NIC) arpTimer() {
	s := n.stack
	now := s.now()
	n.arp.armed = time.Time{}
	n.forgetLast()
	n.arp.cache.Expired(now, func(ip netip.Addr, mac wire.MAC, unicast bool) {
		if s.opts.Observer != nil {
			s.observe(&Event{Kind: EventTimer, Proto: "arp", Name: "arp-retry", Detail: "no reply yet from " + ip.String()})
		}
		dst, why := broadcastMAC, "arp: retry "+ip.String()
		if unicast {
			dst, why = mac, "arp: probe stale entry "+ip.String()
		}
		s.arpRequest(n, dst, ip, why)
	}, func(ip netip.Addr, p arp.Packet) {
		s.drop(&s.counters.ARP.PendingDrops, "arp.PendingDrops", "arp", "no ARP reply from "+ip.String(), p.ID)
		s.hostUnreachable(p.Data)
	})
	n.armARP(now)
}

// hostUnreachable tells the socket that sent ipPacket that its next hop
// did not answer ARP (RFC 1122 §2.3.2.2): a connected UDP socket's next
// call fails with EHOSTUNREACH, and so does a TCP connect in progress.
// Packets this stack only forwarded are not its to report on.
func (s *Stack) hostUnreachable(ipPacket []byte) {
	ip, err := wire.ParseIPv4Quoted(ipPacket)
	if err != nil || !s.isLocal(ip.Src()) || ip.FragmentOffset() != 0 || len(ip.Payload()) < 8 {
		return
	}
	p := ip.Payload()
	switch ip.Protocol() {
	case wire.ProtoUDP:
		u := wire.UDP(p)
		local, remote := netip.AddrPortFrom(ip.Src(), u.SrcPort()), netip.AddrPortFrom(ip.Dst(), u.DstPort())
		if e := s.udp.lookup(local); e != nil && e.remote == remote {
			e.err = syscall.EHOSTUNREACH
			e.sock.notify()
		}
	case wire.ProtoTCP:
		t := wire.TCP(p)
		s.tcp.HardError(netip.AddrPortFrom(ip.Src(), t.SrcPort()), netip.AddrPortFrom(ip.Dst(), t.DstPort()), t.Seq(), syscall.EHOSTUNREACH, true)
	}
}

// arpResolve queues an IP packet for nextHop and, the first time, asks
// for its address.
func (s *Stack) arpResolve(n *NIC, nextHop netip.Addr, ipPacket []byte, id uint64, why string) {
	now := s.now()
	n.forgetLast()
	p := arp.Packet{Data: append([]byte(nil), ipPacket...), ID: id, Note: why, ChecksumOK: s.txChecksummed}
	if s.txPartial {
		// It leaves later, when nothing says it is partial: finished now.
		wire.FinishTCPChecksum(p.Data, false)
	}
	send, err := n.arp.cache.Enqueue(nextHop, p, now, func(p arp.Packet) {
		s.drop(&s.counters.ARP.PendingDrops, "arp.PendingDrops", "arp", "arp queue full for "+nextHop.String(), p.ID)
	})
	if err != nil {
		s.drop(&s.counters.ARP.PendingDrops, "arp.PendingDrops", "arp", err.Error(), id)
		return
	}
	if send {
		s.arpRequest(n, broadcastMAC, nextHop, "arp: resolve "+nextHop.String()+" for: "+why)
	}
	n.armARP(now)
}

func (s *Stack) arpRequest(n *NIC, dst wire.MAC, target netip.Addr, why string) {
	s.counters.ARP.OutRequests++
	s.arpSend(n, wire.ARPRequest, dst, wire.MAC{}, target, why)
}

func (s *Stack) arpSend(n *NIC, op uint16, ethDst, targetMAC wire.MAC, targetIP netip.Addr, why string) {
	// ARP frames have a buffer of their own: a request may go out while
	// s.out holds a datagram being fragmented.
	frame := n.arp.frame[:]
	eth := wire.Ethernet(frame)
	eth.Encode(&wire.EthernetFields{Dst: ethDst, Src: n.mac, Type: wire.EtherTypeARP})
	wire.ARP(frame[wire.EthernetHeaderLen:]).Encode(&wire.ARPFields{
		Op:        op,
		SenderMAC: n.mac,
		SenderIP:  n.cfg.Addr.Addr(),
		TargetMAC: targetMAC,
		TargetIP:  targetIP,
	})
	n.transmit(frame, s.nextID(), why, false)
}

// arpInput handles a received ARP packet.
func (s *Stack) arpInput(n *NIC, b []byte, pktID uint64) {
	a, err := wire.ParseARP(b)
	if err != nil {
		s.drop(&s.counters.ARP.InErrors, "arp.InErrors", "arp", "malformed ARP packet: "+err.Error(), pktID)
		return
	}
	switch a.Op() {
	case wire.ARPRequest:
		s.counters.ARP.InRequests++
	case wire.ARPReply:
		s.counters.ARP.InReplies++
	}
	now := s.now()
	n.forgetLast()
	var flushed []arp.Packet
	reply := n.arp.cache.Input(a, n.cfg.Addr.Addr(), now, func(_ wire.MAC, p arp.Packet) {
		flushed = append(flushed, p)
	})
	sender, senderMAC := a.SenderIP(), a.SenderMAC()
	if reply {
		s.counters.ARP.OutReplies++
		s.arpSend(n, wire.ARPReply, senderMAC, senderMAC, sender, "arp: reply to "+sender.String())
	}
	// Send what waited for this address, in the order it was queued.
	hdr := wire.EthernetHeaderLen
	for _, p := range flushed {
		frame := s.out[:hdr+len(p.Data)]
		copy(frame[hdr:], p.Data)
		wire.Ethernet(frame).Encode(&wire.EthernetFields{Dst: senderMAC, Src: n.mac, Type: wire.EtherTypeIPv4})
		n.transmit(frame, n.idOr(p.ID), p.Note, p.ChecksumOK)
	}
	n.armARP(now)
}
