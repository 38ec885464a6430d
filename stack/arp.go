package stack

import (
	"net/netip"
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
	timer Timer
	armed time.Time // when timer fires; zero when not armed
}

func (n *NIC) initARP() {
	n.arp.cache = arp.New(arp.Config{})
}

// lookup returns the hardware address of ip, if known.
func (n *NIC) lookup(ip netip.Addr) (wire.MAC, bool) {
	now := n.stack.opts.Clock.Now()
	mac, ok := n.arp.cache.Lookup(ip, now)
	n.armARP(now)
	return mac, ok
}

// armARP makes sure the NIC's timer fires no later than the cache's next
// deadline. A timer that fires early finds nothing to do and re-arms.
func (n *NIC) armARP(now time.Time) {
	next, ok := n.arp.cache.NextDeadline()
	if !ok || (!n.arp.armed.IsZero() && !next.Before(n.arp.armed)) {
		return
	}
	d := max(next.Sub(now), 0)
	n.arp.armed = now.Add(d)
	if n.arp.timer == nil {
		n.arp.timer = n.stack.afterFunc(d, n.arpTimer)
	} else {
		n.arp.timer.Reset(d)
	}
}

// arpTimer sends the requests that are due and drops the packets whose
// address could not be resolved.
func (n *NIC) arpTimer() {
	s := n.stack
	now := s.opts.Clock.Now()
	n.arp.armed = time.Time{}
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
	})
	n.armARP(now)
}

// arpResolve queues an IP packet for nextHop and, the first time, asks
// for its address.
func (s *Stack) arpResolve(n *NIC, nextHop netip.Addr, ipPacket []byte, id uint64, why string) {
	now := s.opts.Clock.Now()
	p := arp.Packet{Data: append([]byte(nil), ipPacket...), ID: id, Note: why}
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
	frame := s.out[:wire.EthernetHeaderLen+wire.ARPLen]
	eth := wire.Ethernet(frame)
	eth.Encode(&wire.EthernetFields{Dst: ethDst, Src: n.mac, Type: wire.EtherTypeARP})
	wire.ARP(frame[wire.EthernetHeaderLen:]).Encode(&wire.ARPFields{
		Op:        op,
		SenderMAC: n.mac,
		SenderIP:  n.cfg.Addr.Addr(),
		TargetMAC: targetMAC,
		TargetIP:  targetIP,
	})
	n.transmit(frame, s.nextID(), why)
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
	now := s.opts.Clock.Now()
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
		id := p.ID
		if id == 0 {
			id = s.nextID()
		}
		n.transmit(frame, id, p.Note)
	}
	n.armARP(now)
}
