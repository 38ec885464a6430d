package stack_test

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// fragOf returns the fragment header of an IPv6 frame, or nil.
func fragOf(frame []byte) wire.IPv6FragmentHeader {
	eth := wire.Ethernet(frame)
	if eth.Type() != wire.EtherTypeIPv6 {
		return nil
	}
	ip, err := wire.ParseIPv6(eth.Payload())
	if err != nil {
		return nil
	}
	ch, err := ip.Chain()
	if err != nil {
		return nil
	}
	return ch.Fragment
}

// udp6Pair is a pair6 with a UDP socket on b's port 9 and one on a
// dialled to it.
func udp6Pair(t *testing.T) (*pair6, *stack.UDPConn, *stack.UDPConn) {
	p := newPair6(t)
	srv, err := p.b.ListenUDP(netip.AddrPortFrom(netip.IPv6Unspecified(), 9))
	must(t, err)
	cl, err := p.a.DialUDP(netip.AddrPort{}, netip.AddrPortFrom(b6, 9))
	must(t, err)
	return p, srv, cl
}

// TestIPv6FragmentAndReassemble: a 4,000-byte UDP datagram over a
// 1,500-byte MTU leaves in three fragments of one identification, each a
// multiple of 8 bytes but the last, and arrives whole.
func TestIPv6FragmentAndReassemble(t *testing.T) {
	p, srv, cl := udp6Pair(t)
	var frags []wire.IPv6FragmentFields
	p.filter = func(from *stack.NIC, data []byte) bool {
		if fh := fragOf(data); fh != nil {
			if len(data) > wire.EthernetHeaderLen+1500 {
				t.Errorf("a fragment of %d bytes is larger than the MTU", len(data)-wire.EthernetHeaderLen)
			}
			frags = append(frags, fh.Fields())
		}
		return true
	}
	msg := bytes.Repeat([]byte("0123456789abcdef"), 250)
	if _, err := cl.Write(msg); err != nil {
		t.Fatal(err)
	}
	p.clock.RunFor(time.Second)
	buf := make([]byte, 8000)
	must(t, srv.SetReadDeadline(time.Now().Add(time.Second)))
	n, from, err := srv.ReadFromUDPAddrPort(buf)
	must(t, err)
	if !bytes.Equal(buf[:n], msg) || from.Addr() != a6 {
		t.Fatalf("got %d bytes from %v, want the %d sent from %v", n, from, len(msg), a6)
	}
	if len(frags) != 3 {
		t.Fatalf("%d fragments, want 3: %+v", len(frags), frags)
	}
	for i, f := range frags {
		if f.ID != frags[0].ID || f.NextHeader != wire.ProtoUDP || f.More != (i < 2) || f.Offset != uint16(i*1448) {
			t.Errorf("fragment %d: %+v", i, f)
		}
	}
	for name, want := range map[string]uint64{"ip6.FragCreates": 3, "ip6.FragOKs": 1} {
		if got := counter(t, p.a, name); got != want {
			t.Errorf("a: %s = %d, want %d", name, got, want)
		}
	}
	for name, want := range map[string]uint64{"ip6.ReasmReqds": 3, "ip6.ReasmOKs": 1, "ip6.ReasmFails": 0, "udp6.InDatagrams": 1} {
		if got := counter(t, p.b, name); got != want {
			t.Errorf("b: %s = %d, want %d", name, got, want)
		}
	}
}

// TestIPv6ReassemblyTimeout: with its last fragment lost, a datagram is
// discarded after 60 s (Linux's ip6frag_time) and the sender gets a Time
// Exceeded, code 1, quoting the first fragment (RFC 8200 §4.5).
func TestIPv6ReassemblyTimeout(t *testing.T) {
	p, _, cl := udp6Pair(t)
	p.filter = func(from *stack.NIC, data []byte) bool {
		fh := fragOf(data)
		return fh == nil || fh.More()
	}
	if _, err := cl.Write(make([]byte, 3000)); err != nil {
		t.Fatal(err)
	}
	p.clock.RunFor(59 * time.Second)
	if got := counter(t, p.b, "ip6.ReasmTimeout"); got != 0 {
		t.Fatalf("timed out after 59 s")
	}
	p.clock.RunFor(2 * time.Second)
	if counter(t, p.b, "ip6.ReasmTimeout") != 1 || counter(t, p.b, "ip6.ReasmOKs") != 0 {
		t.Fatalf("no reassembly timeout after 61 s")
	}
	if counter(t, p.b, "icmp6.OutTimeExcds") != 1 || counter(t, p.a, "icmp6.InTimeExcds") != 1 {
		t.Errorf("no Time Exceeded sent back")
	}
}

// TestIPv6FragmentErrors: fragments that break RFC 8200 §4.5 get a
// Parameter Problem; an overlap discards the datagram (RFC 5722).
func TestIPv6FragmentErrors(t *testing.T) {
	p, _, _ := udp6Pair(t)
	nh := uint8(wire.ProtoUDP) // what follows the fragment header
	send := func(off uint16, more bool, id uint32, data []byte) {
		frame := make([]byte, wire.EthernetHeaderLen+wire.IPv6HeaderLen+wire.IPv6FragmentHeaderLen+len(data))
		wire.Ethernet(frame).Encode(&wire.EthernetFields{Dst: wire.MAC(p.bnic.MAC()), Src: wire.MAC(p.anic.MAC()), Type: wire.EtherTypeIPv6})
		ip := wire.IPv6(frame[wire.EthernetHeaderLen:])
		ip.Encode(&wire.IPv6Fields{PayloadLen: uint16(wire.IPv6FragmentHeaderLen + len(data)), NextHeader: wire.IPv6ExtFragment, HopLimit: 64, Src: a6, Dst: b6})
		wire.IPv6FragmentHeader(ip[wire.IPv6HeaderLen:]).Encode(&wire.IPv6FragmentFields{NextHeader: nh, Offset: off, More: more, ID: id})
		copy(ip[wire.IPv6HeaderLen+wire.IPv6FragmentHeaderLen:], data)
		p.bnic.Deliver(stack.Packet{Data: frame})
		p.clock.RunFor(10 * time.Millisecond)
	}
	send(0, true, 1, make([]byte, 13)) // not a multiple of 8, more to follow
	if counter(t, p.b, "icmp6.OutParmProblems") != 1 {
		t.Errorf("no Parameter Problem for a 13-byte fragment with M set")
	}
	send(65528, false, 2, make([]byte, 16)) // past 65535
	if counter(t, p.b, "icmp6.OutParmProblems") != 2 {
		t.Errorf("no Parameter Problem for a fragment past 65535 bytes")
	}
	send(0, true, 3, make([]byte, 16))
	send(8, false, 3, make([]byte, 16)) // overlaps [0,16)
	send(16, false, 3, make([]byte, 8))
	if counter(t, p.b, "ip6.ReasmOKs") != 0 || counter(t, p.b, "ip6.ReasmFails") != 3 {
		t.Errorf("overlap: ReasmOKs %d, ReasmFails %d; want 0 and 3", counter(t, p.b, "ip6.ReasmOKs"), counter(t, p.b, "ip6.ReasmFails"))
	}
	// A first fragment of a UDP datagram that stops inside a
	// destination options header: Parameter Problem code 3 (RFC 7112).
	before := counter(t, p.b, "icmp6.OutParmProblems")
	frag := make([]byte, 8)
	frag[0], frag[1] = wire.ProtoUDP, 1 // a 16-byte destination options header, cut at 8
	nh = wire.IPv6ExtDestOpts
	send(0, true, 4, frag)
	if counter(t, p.b, "icmp6.OutParmProblems") != before+1 || counter(t, p.b, "ip6.ReasmFails") != 4 {
		t.Errorf("an incomplete header chain was not refused")
	}
}

// ptb6 is a Packet Too Big from b to a about a UDP packet from a6:sport
// to dst:9.
func ptb6(p *pair6, sport uint16, dst netip.Addr, mtu uint32) []byte {
	inner := make([]byte, wire.IPv6HeaderLen+wire.UDPHeaderLen)
	wire.IPv6(inner).Encode(&wire.IPv6Fields{PayloadLen: wire.UDPHeaderLen, NextHeader: wire.ProtoUDP, HopLimit: 64, Src: a6, Dst: dst})
	wire.UDP(inner[wire.IPv6HeaderLen:]).Encode(&wire.UDPFields{SrcPort: sport, DstPort: 9, Length: wire.UDPHeaderLen})
	icmp := make([]byte, wire.ICMPv6HeaderLen+len(inner))
	wire.ICMPv6(icmp).Encode(&wire.ICMPv6Fields{Type: wire.ICMPv6PacketTooBig, Rest: mtu})
	copy(icmp[wire.ICMPv6HeaderLen:], inner)
	wire.ICMPv6(icmp).SetChecksum(b6, a6)
	frame := make([]byte, wire.EthernetHeaderLen+wire.IPv6HeaderLen+len(icmp))
	wire.Ethernet(frame).Encode(&wire.EthernetFields{Dst: wire.MAC(p.anic.MAC()), Src: wire.MAC(p.bnic.MAC()), Type: wire.EtherTypeIPv6})
	wire.IPv6(frame[wire.EthernetHeaderLen:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(len(icmp)), NextHeader: wire.ProtoICMPv6, HopLimit: 64, Src: b6, Dst: a6})
	copy(frame[wire.EthernetHeaderLen+wire.IPv6HeaderLen:], icmp)
	return frame
}

// TestIPv6PathMTU: a Packet Too Big makes the host fragment to the path
// MTU, never below 1280 (as Linux), and the cache of path MTUs is
// bounded, each entry forgotten to make room counted.
func TestIPv6PathMTU(t *testing.T) {
	p, _, cl := udp6Pair(t)
	var sizes []int
	p.filter = func(from *stack.NIC, data []byte) bool {
		if from == p.anic && fragOf(data) != nil {
			sizes = append(sizes, len(data)-wire.EthernetHeaderLen)
		}
		return true
	}
	sport := cl.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	p.anic.Deliver(stack.Packet{Data: ptb6(p, sport, b6, 600)}) // below IPv6's minimum: taken as 1280
	p.clock.RunFor(10 * time.Millisecond)
	if _, err := cl.Write(make([]byte, 1400)); err == nil {
		t.Fatal("a connected socket's first call after a Packet Too Big succeeded; Linux fails it with EMSGSIZE")
	}
	if _, err := cl.Write(make([]byte, 1400)); err != nil {
		t.Fatal(err)
	}
	p.clock.RunFor(10 * time.Millisecond)
	if len(sizes) != 2 || sizes[0] != 1280 {
		t.Fatalf("fragments of %v bytes, want 2 with the first 1280", sizes)
	}
	for i := range 1100 {
		dst := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(i >> 8), 15: byte(i)})
		p.anic.Deliver(stack.Packet{Data: ptb6(p, sport, dst, 1300)})
	}
	p.clock.RunFor(10 * time.Millisecond)
	if got := counter(t, p.a, "ip6.PMTUEvictions"); got != 1101-1024 {
		t.Errorf("ip6.PMTUEvictions = %d, want %d (1,101 destinations, 1,024 kept)", got, 1101-1024)
	}
}
