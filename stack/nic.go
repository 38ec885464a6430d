package stack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"stacklab/stack/ipv4"
	"stacklab/stack/wire"
)

var broadcastMAC = wire.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// AddNIC adds a network interface attached to link and returns it. The
// interface's subnet becomes a directly connected route.
func (s *Stack) AddNIC(cfg NICConfig, link Link) (*NIC, error) {
	if cfg.Name == "" {
		return nil, errors.New("stack: AddNIC: the interface needs a name, e.g. eth0")
	}
	if !cfg.Addr.IsValid() || !cfg.Addr.Addr().Is4() {
		return nil, fmt.Errorf("stack: AddNIC %s: address %v is not an IPv4 prefix like 10.0.0.1/24", cfg.Name, cfg.Addr)
	}
	if cfg.Type == 0 {
		cfg.Type = LinkEthernet
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.MTU < 68 || cfg.MTU > 65535 {
		return nil, fmt.Errorf("stack: AddNIC %s: MTU %d out of range 68..65535", cfg.Name, cfg.MTU)
	}
	n := &NIC{stack: s, link: link}
	cfg.Addrs6 = append([]netip.Prefix(nil), cfg.Addrs6...)
	if cfg.Type == LinkEthernet {
		if cfg.MAC == nil {
			a := cfg.Addr.Addr().As4()
			cfg.MAC = net.HardwareAddr{0x02, 0x00, a[0], a[1], a[2], a[3]}
		}
		if len(cfg.MAC) != 6 {
			return nil, fmt.Errorf("stack: AddNIC %s: MAC %v is not 6 bytes", cfg.Name, cfg.MAC)
		}
		copy(n.mac[:], cfg.MAC)
	}
	if err := n.setAddrs6(&cfg); err != nil {
		return nil, err
	}
	n.cfg = cfg
	n.bcast = ipv4.DirectedBroadcast(cfg.Addr)
	if cfg.Type == LinkEthernet {
		n.initARP()
		if len(n.addrs6) > 0 {
			n.initNDP()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range append(s.nics, s.lo) {
		if o.cfg.Name == cfg.Name {
			return nil, fmt.Errorf("stack: AddNIC: %s already has an interface named %s", s.name, cfg.Name)
		}
	}
	n.index = len(s.nics)
	s.nics = append(s.nics, n)
	s.tapWants = s.tapWantsChecksums()
	if pl, ok := link.(PartialChecksumLink); ok && pl.CarriesPartialChecksums() {
		n.partialOK = true
		s.setChecksumOffload(s.tapWants)
	}
	if q, ok := link.(QueueLink); ok {
		n.qlink = q
		s.qlinks++
		q.SetTxReady(s.txReady)
	}
	s.addRouteLocked(Route{Dst: cfg.Addr.Masked(), NIC: n}) // and addrsChanged: the new addresses
	for _, p := range n.addrs6 {
		s.addRouteLocked(Route{Dst: p.Masked(), NIC: n})
	}
	s.startIPv6(n)
	return n, nil
}

// NICs returns the stack's interfaces in the order they were added.
func (s *Stack) NICs() []*NIC {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*NIC(nil), s.nics...)
}

// Deliver hands the stack a frame received on the interface. pkt.Data is
// only used during the call, and only read, but for the TCP checksum of
// a frame with Packet.ChecksumPartial, which the stack may compute in
// place (for its Tap, or to forward the frame).
func (n *NIC) Deliver(pkt Packet) {
	s := n.stack
	s.mu.Lock()
	if s.destroyed {
		s.mu.Unlock()
		return // the stack is gone (Destroy)
	}
	if pkt.ChecksumPartial && (!pkt.ChecksumOK || s.tapWants || s.opts.Forwarding) {
		// The Tap shows the bytes, a router passes them on: the
		// checksum is finished first, in the frame lent to us.
		finishChecksum(pkt.Data, n.cfg.Type)
		pkt.ChecksumPartial = false
	}
	s.rxChecksummed, s.rxPartial = pkt.ChecksumOK, pkt.ChecksumPartial
	s.deliverLocked(n, pkt, "")
	s.rxChecksummed, s.rxPartial = false, false
	s.mu.Unlock()
}

// finishChecksum computes the TCP checksum a sender left to the link
// (Packet.ChecksumPartial) in frame, on a link of type t.
func finishChecksum(frame []byte, t LinkType) {
	wire.FinishTCPChecksum(frame, t == LinkEthernet)
}

// tapWantsChecksums reports whether the stack's Tap needs the frames'
// checksums computed: a Tap that is not a ChecksumTap does.
func (s *Stack) tapWantsChecksums() bool {
	if s.opts.Tap == nil {
		return false
	}
	ct, ok := s.opts.Tap.(ChecksumTap)
	return !ok || ct.WantsChecksums()
}

// setChecksumOffload turns TCP's transmit checksum offload on when
// nothing on this side of the links needs the checksums; mu is held.
func (s *Stack) setChecksumOffload(tapWants bool) {
	s.txOffload = !tapWants && !s.opts.NoChecksumOffload
	s.tcp.SetChecksumOffload(s.txOffload)
}

// deliverLocked handles a frame received on n, with the lock held; note
// is the capture's note (a looped-back frame keeps the reason it was sent).
func (s *Stack) deliverLocked(n *NIC, pkt Packet, note string) {
	if s.opts.Tap != nil {
		s.opts.Tap.Frame(n, DirIn, pkt, note)
	}
	s.counters.Link.InFrames++
	if n.cfg.Type == LinkRawIP {
		if len(pkt.Data) > 0 && pkt.Data[0]>>4 == 6 {
			s.ip6Input(n, pkt.Data, pkt.ID)
			return
		}
		s.ipInput(n, pkt.Data, pkt.ID)
		return
	}
	eth := wire.Ethernet(pkt.Data)
	if len(eth) < wire.EthernetHeaderLen {
		s.drop(&s.counters.Link.InTruncated, "link.InTruncated", "eth", "frame shorter than an Ethernet header", pkt.ID)
		return
	}
	dst := eth.Dst()
	if dst != n.mac && dst != broadcastMAC && dst[0]&1 == 0 {
		s.drop(&s.counters.Link.InNotForUs, "link.InNotForUs", "eth", "frame for another MAC", pkt.ID)
		return
	}
	switch eth.Type() {
	case wire.EtherTypeIPv4:
		if p := eth.Payload(); len(p) >= wire.IPv4MinHeaderLen && !n.loop {
			// Traffic from a neighbour confirms it is reachable
			// (RFC 1122 §2.3.2.1), so a busy peer is not re-probed.
			n.confirmed(wire.IPv4(p).Src(), eth.Src(), s.now())
		}
		s.rxLinkBroadcast = dst[0]&1 != 0 // broadcast or multicast
		s.ipInput(n, eth.Payload(), pkt.ID)
		s.rxLinkBroadcast = false
	case wire.EtherTypeIPv6:
		if p := eth.Payload(); len(p) >= wire.IPv6HeaderLen && !n.loop && n.ndp.cache != nil {
			// As for ARP: traffic from a neighbour confirms it.
			n.confirmed6(wire.IPv6(p).Src(), eth.Src(), s.now())
		}
		s.ip6Input(n, eth.Payload(), pkt.ID)
	case wire.EtherTypeARP:
		s.arpInput(n, eth.Payload(), pkt.ID)
	default:
		s.drop(&s.counters.Link.InUnknownType, "link.InUnknownType", "eth", "unknown EtherType", pkt.ID)
	}
}

// transmit sends a finished frame out of n, telling the tap why.
func (n *NIC) transmit(frame []byte, id uint64, why string, csumOK bool) {
	s := n.stack
	pkt := Packet{ID: id, Data: frame, ChecksumOK: csumOK}
	if csumOK && s.txPartial {
		// TCP left the checksum to the link; a link that does not
		// carry partial checksums (lo, a TUN device) gets it finished,
		// as skb_checksum_help does for a device without the feature.
		if n.partialOK {
			pkt.ChecksumPartial = true
		} else {
			finishChecksum(frame, n.cfg.Type)
		}
	}
	s.counters.Link.OutFrames++
	if n.loop {
		// Captured once, as it comes back in (Linux's lo shows each
		// packet once, received).
		s.loopbackSend(pkt, why)
		return
	}
	if s.opts.Tap != nil {
		s.opts.Tap.Frame(n, DirOut, pkt, why)
	}
	n.link.Send(pkt)
}

// sendIPFrame sends the IPv4 packet in frame[hdr:] toward nextHop. On an
// Ethernet NIC, frame[:hdr] is room for the Ethernet header (hdr is 14);
// on a raw IP NIC hdr is 0. id is the packet's id: a forwarded packet
// keeps the one it came with, so every copy along its path shares it;
// 0 means a new one, given when the packet leaves (after any ARP
// exchange, so that ids follow the order on the wire).
func (n *NIC) sendIPFrame(frame []byte, hdr int, nextHop netip.Addr, id uint64, why string) {
	if n.cfg.Type == LinkRawIP {
		n.transmit(frame[hdr:], n.idOr(id), why, n.stack.txChecksummed)
		return
	}
	if frame[hdr]>>4 == 6 {
		n.sendIP6Frame(frame, hdr, nextHop, id, why)
		return
	}
	var dst wire.MAC
	switch {
	case n.loop:
		// lo's frames carry zero addresses both ways.
	case nextHop == netip.IPv4Unspecified() || nextHop.As4() == [4]byte{255, 255, 255, 255} || nextHop == n.bcast:
		dst = broadcastMAC
	default:
		mac, ok := n.lookup(nextHop)
		if !ok {
			n.stack.arpResolve(n, nextHop, frame[hdr:], id, why)
			return
		}
		dst = mac
	}
	eth := wire.Ethernet(frame[hdr-wire.EthernetHeaderLen:])
	eth.Encode(&wire.EthernetFields{Dst: dst, Src: n.mac, Type: wire.EtherTypeIPv4})
	n.transmit(frame[hdr-wire.EthernetHeaderLen:], n.idOr(id), why, n.stack.txChecksummed)
}

// idOr returns id, or a new packet id if id is 0.
func (n *NIC) idOr(id uint64) uint64 {
	if id == 0 {
		return n.stack.nextID()
	}
	return id
}

// linkHeaderLen is the room a frame on n needs before the IP header.
func (n *NIC) linkHeaderLen() int {
	if n.cfg.Type == LinkEthernet {
		return wire.EthernetHeaderLen
	}
	return 0
}
