package scenario

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"stacklab/sim/scenario/spec"
	"strconv"

	"stacklab/sim/scenario/pattern"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// flood sends ev's packets, one every ev.Flood.Every, into the
// destination's interface as if they came over its link from the source.
func (r *runner) flood(ev *TimedEvent, index int) {
	f := ev.Flood
	p := f.Pattern
	dst := r.sc.Host(p.Dst.Host)
	hr := r.hosts[dst.Name]
	var nic, peer *stack.NIC
	for _, lk := range r.sc.LinksOf(dst.Name) {
		if lk.Switch {
			continue
		}
		a, b := r.net.Link(lk.Name()).NICs()
		a, b = r.cur(a), r.cur(b)
		if a.Stack() == hr.st {
			a, b = b, a
		}
		if nic == nil || lk.Ends[0] == p.Src.Host || lk.Ends[1] == p.Src.Host {
			nic, peer = b, a
		}
	}
	if nic == nil {
		r.failAt(ev.Pos, "flood "+p.Text, dst.Name+" has no link to flood", nil)
		return
	}
	spoof := f.Spoof
	if !spoof.IsValid() {
		spoof = spec.DefaultSpoof
	}
	dstIP := nic.Addr().Addr()
	if spoof.Addr().Is6() {
		dstIP = floodAddr6(nic)
	}
	if !dstIP.IsValid() || !dstIP.Is4() && spoof.Addr().Is4() {
		fam, fix := "IPv4", "give it an IPv4 address"
		if spoof.Addr().Is6() {
			fam, fix = "IPv6", "give it an IPv6 address or spoof an IPv4 prefix"
		}
		r.failAt(ev.Pos, "flood "+p.Text, fmt.Sprintf("%s's interface toward %s has no %s address to flood: %s", dst.Name, p.Src.Host, fam, fix), nil)
		return
	}
	rng := r.net.Rand("flood " + strconv.Itoa(index))
	r.event(dst.Name, fmt.Sprintf("flood: %d × %s from %s, one every %v", f.Count, p.Text, spoof, f.Every))
	sent := 0
	var next func()
	next = func() {
		if hr.st != nic.Stack() {
			return // the host was restarted: the flood hits the old stack no more
		}
		nic.Deliver(stack.Packet{ID: r.net.NextPacketID(), Data: floodFrame(rng, f.Pattern, spoof, dstIP, nic, peer)})
		if sent++; sent < f.Count {
			r.clock.AfterFunc(f.Every, next)
		}
	}
	next()
}

// floodAddr6 is the address an IPv6 flood goes to: the interface's first
// global address, else its link-local one.
func floodAddr6(nic *stack.NIC) netip.Addr {
	var ll netip.Addr
	for _, a := range nic.Addrs6() {
		if !a.Addr().IsLinkLocalUnicast() {
			return a.Addr()
		}
		if !ll.IsValid() {
			ll = a.Addr()
		}
	}
	return ll
}

// spoofAddr draws a random address of prefix.
func spoofAddr(rng *rand.Rand, prefix netip.Prefix) netip.Addr {
	if prefix.Addr().Is4() {
		base := prefix.Masked().Addr().As4()
		host := rng.Uint32() & (1<<(32-prefix.Bits()) - 1)
		if prefix.Bits() == 0 {
			host = rng.Uint32()
		}
		for i := range base {
			base[i] |= byte(host >> (24 - 8*i))
		}
		return netip.AddrFrom4(base)
	}
	a := prefix.Masked().Addr().As16()
	var r [16]byte
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			r[i+j] = byte(v >> (56 - 8*j))
		}
	}
	for i := range a {
		keep := 0
		if b := prefix.Bits() - 8*i; b >= 8 {
			keep = 0xff
		} else if b > 0 {
			keep = 0xff << (8 - b) & 0xff
		}
		a[i] = a[i]&byte(keep) | r[i]&^byte(keep)
	}
	return netip.AddrFrom16(a)
}

// floodFrame builds one flood packet to dstIP from a random source of
// spoof, over IPv6 when spoof is an IPv6 prefix.
func floodFrame(rng *rand.Rand, p *pattern.Pattern, spoof netip.Prefix, dstIP netip.Addr, nic, peer *stack.NIC) []byte {
	src := spoofAddr(rng, spoof)
	sport := uint16(1024 + rng.IntN(65536-1024))
	var l4 int
	if p.Proto == "udp" {
		l4 = 8 + *p.Len
	} else {
		l4 = 24 // a SYN with an MSS option
	}
	ipLen, etype := 20, uint16(wire.EtherTypeIPv4)
	if src.Is6() {
		ipLen, etype = wire.IPv6HeaderLen, wire.EtherTypeIPv6
	}
	frame := make([]byte, wire.EthernetHeaderLen+ipLen+l4)
	var dmac, smac wire.MAC
	copy(dmac[:], nic.MAC())
	copy(smac[:], peer.MAC())
	wire.Ethernet(frame).Encode(&wire.EthernetFields{Dst: dmac, Src: smac, Type: etype})
	proto := uint8(wire.ProtoTCP)
	if p.Proto == "udp" {
		proto = wire.ProtoUDP
	}
	if src.Is6() {
		wire.IPv6(frame[wire.EthernetHeaderLen:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(l4), NextHeader: proto, HopLimit: 64, Src: src, Dst: dstIP})
	} else {
		ip := wire.IPv4(frame[wire.EthernetHeaderLen:])
		ip.Encode(&wire.IPv4Fields{TotalLen: uint16(20 + l4), ID: uint16(rng.Uint32()), TTL: 64, DF: true, Protocol: proto, Src: src, Dst: dstIP})
		ip.SetChecksum()
	}
	body := frame[wire.EthernetHeaderLen+ipLen:]
	if p.Proto == "udp" {
		u := wire.UDP(body)
		u.Encode(&wire.UDPFields{SrcPort: sport, DstPort: uint16(p.Dst.Port), Length: uint16(l4)})
		for i := 8; i < l4; i++ {
			body[i] = patternByte(int64(i - 8))
		}
		u.SetChecksum(src, dstIP)
		return frame
	}
	t := wire.TCP(body)
	t.Encode(&wire.TCPFields{SrcPort: sport, DstPort: uint16(p.Dst.Port), Seq: rng.Uint32(), DataOffset: 24, Flags: wire.TCPFlags(pattern.ParseTCPFlags("S")), Window: 64240})
	copy(body[20:], []byte{2, 4, 0x05, 0xb4}) // MSS 1460
	t.SetChecksum(src, dstIP)
	return frame
}
