package stack

import (
	"net/netip"
	"time"

	"stacklab/stack/wire"
)

// ARP (RFC 826) on Ethernet interfaces: a cache, a bounded queue of
// packets waiting for resolution, and request retries.

const (
	arpEntryLifetime = 60 * time.Second // refreshed by traffic from the peer
	arpRetryInterval = time.Second
	arpMaxTries      = 3
	arpMaxPending    = 64 // packets queued per unresolved address
)

type arpEntry struct {
	mac     wire.MAC
	expires time.Time
}

type arpPending struct {
	frames [][]byte // IP packets awaiting the address
	whys   []string
	tries  int
	timer  Timer
}

type arpCache struct {
	entries map[netip.Addr]arpEntry
	pending map[netip.Addr]*arpPending
	now     func() time.Time
}

func (c *arpCache) init() {
	c.entries = make(map[netip.Addr]arpEntry)
	c.pending = make(map[netip.Addr]*arpPending)
}

func (c *arpCache) lookup(ip netip.Addr) (wire.MAC, bool) {
	e, ok := c.entries[ip]
	if !ok || (c.now != nil && c.now().After(e.expires)) {
		return wire.MAC{}, false
	}
	return e.mac, true
}

// arpResolve queues an IP packet for nextHop and asks for its address.
func (s *Stack) arpResolve(n *NIC, nextHop netip.Addr, ipPacket []byte, why string) {
	if n.arp.now == nil {
		n.arp.now = s.opts.Clock.Now
	}
	p := n.arp.pending[nextHop]
	if p != nil && len(p.frames) >= arpMaxPending {
		s.drop(&s.counters.ARP.PendingDrops, "arp.PendingDrops", "arp", "arp queue full for "+nextHop.String(), 0)
		return
	}
	// Copy the packet before sending the request: both use s.out.
	frame := append([]byte(nil), ipPacket...)
	if p == nil {
		p = &arpPending{tries: 1}
		n.arp.pending[nextHop] = p
		p.timer = s.afterFunc(arpRetryInterval, func() { s.arpRetry(n, nextHop) })
		s.arpRequest(n, nextHop, "arp: resolve "+nextHop.String()+" for: "+why)
	}
	p.frames = append(p.frames, frame)
	p.whys = append(p.whys, why)
}

// arpRetry runs when a request went unanswered.
func (s *Stack) arpRetry(n *NIC, ip netip.Addr) {
	p := n.arp.pending[ip]
	if p == nil {
		return
	}
	if p.tries >= arpMaxTries {
		delete(n.arp.pending, ip)
		for range p.frames {
			s.drop(&s.counters.ARP.PendingDrops, "arp.PendingDrops", "arp", "no ARP reply from "+ip.String(), 0)
		}
		return
	}
	p.tries++
	if s.opts.Observer != nil {
		s.observe(&Event{Kind: EventTimer, Proto: "arp", Name: "arp-retry", Detail: "no reply from " + ip.String()})
	}
	s.arpRequest(n, ip, "arp: retry")
	p.timer.Reset(arpRetryInterval)
}

func (s *Stack) arpRequest(n *NIC, target netip.Addr, why string) {
	s.counters.ARP.OutRequests++
	s.arpSend(n, wire.ARPRequest, broadcastMAC, wire.MAC{}, target, why)
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
	n.transmit(frame, why)
}

// arpInput handles an ARP packet (RFC 826 "Packet Reception").
func (s *Stack) arpInput(n *NIC, b []byte, pktID uint64) {
	a := wire.ARP(b)
	if !a.IsValid() {
		s.drop(&s.counters.ARP.InErrors, "arp.InErrors", "arp", "malformed ARP packet", pktID)
		return
	}
	if n.arp.now == nil {
		n.arp.now = s.opts.Clock.Now
	}
	sender, senderMAC := a.SenderIP(), a.SenderMAC()
	_, known := n.arp.entries[sender]
	forUs := a.TargetIP() == n.cfg.Addr.Addr()
	if known || forUs {
		n.arp.entries[sender] = arpEntry{mac: senderMAC, expires: s.opts.Clock.Now().Add(arpEntryLifetime)}
	}
	switch a.Op() {
	case wire.ARPRequest:
		s.counters.ARP.InRequests++
		if forUs {
			s.counters.ARP.OutReplies++
			s.arpSend(n, wire.ARPReply, senderMAC, senderMAC, sender, "arp: reply to "+sender.String())
		}
	case wire.ARPReply:
		s.counters.ARP.InReplies++
	}
	if p := n.arp.pending[sender]; p != nil && (known || forUs) {
		delete(n.arp.pending, sender)
		p.timer.Stop()
		hdr := wire.EthernetHeaderLen
		for i, pkt := range p.frames {
			frame := s.out[:hdr+len(pkt)]
			copy(frame[hdr:], pkt)
			n.sendIPFrame(frame, hdr, sender, p.whys[i])
		}
	}
}

// arpConfirm refreshes the cache entry of a peer that just sent us an IP
// packet from the MAC we know, so a busy neighbour is not re-resolved.
func (n *NIC) arpConfirm(ip netip.Addr, mac wire.MAC, now time.Time) {
	if e, ok := n.arp.entries[ip]; ok && e.mac == mac && e.expires.Sub(now) < arpEntryLifetime/2 {
		e.expires = now.Add(arpEntryLifetime)
		n.arp.entries[ip] = e
	}
}
