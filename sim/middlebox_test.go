package sim

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// ipPacket builds a minimal IPv4 packet carrying a TCP header with flags,
// a UDP header, or (proto 1) an ICMP echo.
func ipPacket(proto uint8, src, dst string, flags wire.TCPFlags) []byte {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	l4 := 20
	if proto != wire.ProtoTCP {
		l4 = 8
	}
	b := make([]byte, 20+l4)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64
	b[9] = proto
	a4 := s.Addr().As4()
	copy(b[12:], a4[:])
	a4 = d.Addr().As4()
	copy(b[16:], a4[:])
	binary.BigEndian.PutUint16(b[20:], s.Port())
	binary.BigEndian.PutUint16(b[22:], d.Port())
	if proto == wire.ProtoTCP {
		b[32] = 5 << 4
		b[33] = byte(flags)
	} else if proto == wire.ProtoUDP {
		binary.BigEndian.PutUint16(b[24:], uint16(l4))
	} else {
		b[20], b[21] = 8, 0
	}
	return b
}

const (
	cli = "10.0.0.1:40000"
	srv = "10.0.0.2:80"
)

// ip6Packet is ipPacket over IPv6 (proto 1 an ICMPv6 echo), between the
// IPv6 twins of src and dst (2001:db8:: and their last byte).
func ip6Packet(proto uint8, src, dst string, flags wire.TCPFlags) []byte {
	v4 := ipPacket(proto, src, dst, flags)
	l4 := v4[20:]
	b := make([]byte, 40+len(l4))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(l4)))
	b[6], b[7] = proto, 64
	if proto == wire.ProtoICMP {
		b[6] = wire.ProtoICMPv6
	}
	for i, a := range []string{src, dst} {
		ap := netip.MustParseAddrPort(a).Addr().As4()
		copy(b[8+16*i:], []byte{0x20, 0x01, 0x0d, 0xb8})
		b[8+16*i+15] = ap[3]
	}
	copy(b[40:], l4)
	return b
}

func TestFirewall(t *testing.T) {
	S, SA, A, R := wire.TCPFlagSYN, wire.TCPFlagSYN|wire.TCPFlagACK, wire.TCPFlagACK, wire.TCPFlagRST|wire.TCPFlagACK
	type step struct {
		after  time.Duration // clock advance before the packet
		dir    Direction
		proto  uint8
		flags  wire.TCPFlags
		pass   bool
		reason string
	}
	out := func(after time.Duration, f wire.TCPFlags, pass bool, reason string) step {
		return step{after, AtoB, wire.ProtoTCP, f, pass, reason}
	}
	in := func(after time.Duration, f wire.TCPFlags, pass bool, reason string) step {
		return step{after, BtoA, wire.ProtoTCP, f, pass, reason}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"handshake", []step{out(0, S, true, ""), in(0, SA, true, ""), out(0, A, true, "")}},
		{"unsolicited inbound", []step{in(0, S, false, fwNoState), in(0, A, false, fwNoState)}},
		{"outbound without SYN", []step{out(0, A, false, fwNoState)}},
		{"idle timeout both ways", []step{
			out(0, S, true, ""), in(0, SA, true, ""),
			out(time.Minute, A, true, ""), in(5*time.Minute, A, true, ""), // just within
			in(5*time.Minute+time.Second, A, false, fwIdle), out(0, A, false, fwIdle),
			out(0, S, true, ""), in(0, SA, true, ""), // a new connection reopens
		}},
		{"kept alive", []step{
			out(0, S, true, ""), in(0, SA, true, ""),
			out(4*time.Minute, A, true, ""), in(0, A, true, ""),
			out(4*time.Minute, A, true, ""), in(0, A, true, ""),
			out(4*time.Minute, A, true, ""), in(0, A, true, ""),
		}},
		{"reset ends the flow", []step{out(0, S, true, ""), in(0, R, true, ""), in(0, A, false, fwNoState)}},
		{"udp", []step{
			{0, BtoA, wire.ProtoUDP, 0, false, fwNoState},
			{0, AtoB, wire.ProtoUDP, 0, true, ""}, {time.Second, BtoA, wire.ProtoUDP, 0, true, ""},
			{31 * time.Second, BtoA, wire.ProtoUDP, 0, false, fwIdle},
		}},
		{"icmp passes", []step{{0, BtoA, wire.ProtoICMP, 0, true, ""}}},
	}
	for _, tt := range tests {
		for _, v6 := range []bool{false, true} {
			t.Run(map[bool]string{false: "ipv4/", true: "ipv6/"}[v6]+tt.name, func(t *testing.T) {
				c := NewClock(t0)
				fw := NewFirewall(c, FirewallConfig{})
				for i, s := range tt.steps {
					c.RunFor(s.after)
					src, dst := cli, srv
					if s.dir == BtoA {
						src, dst = srv, cli
					}
					var pass bool
					var reason string
					if v6 {
						// Through the link's dispatch, as SetMiddlebox installs it.
						pass, reason = inspectBox(0, fw, s.dir)(stack.Packet{Data: ip6Packet(s.proto, src, dst, s.flags)})
					} else {
						pass, reason = fw.Inspect(s.dir, ipPacket(s.proto, src, dst, s.flags))
					}
					if pass != s.pass || reason != s.reason {
						t.Fatalf("step %d (%v %v): pass %v %q, want %v %q", i, s.dir, s.flags, pass, reason, s.pass, s.reason)
					}
				}
			})
		}
	}
}

func TestFirewallInsideBtoA(t *testing.T) {
	c := NewClock(t0)
	fw := NewFirewall(c, FirewallConfig{Inside: BtoA, TCPIdle: time.Second})
	if ok, _ := fw.Inspect(AtoB, ipPacket(wire.ProtoTCP, cli, srv, wire.TCPFlagSYN)); ok {
		t.Error("a SYN from the outside opened a flow")
	}
	if ok, _ := fw.Inspect(BtoA, ipPacket(wire.ProtoTCP, srv, cli, wire.TCPFlagSYN)); !ok {
		t.Error("a SYN from the inside was rejected")
	}
	if fw.Flows() != 1 {
		t.Errorf("flows %d", fw.Flows())
	}
	c.RunFor(2 * time.Second)
	if fw.Flows() != 0 || fw.Stats().Expired != 1 {
		t.Errorf("after the timeout: flows %d, stats %+v", fw.Flows(), fw.Stats())
	}
}

func TestFirewallOnPipe(t *testing.T) {
	c, p, s := newTestPipe(1, Impairments{})
	obs := &events{}
	p.obs = obs
	fw := NewFirewall(c, FirewallConfig{})
	p.SetInspect(InspectIP(14, func(ip []byte) (bool, string) { return fw.Inspect(BtoA, ip) }))
	eth := func(typ uint16, payload []byte) []byte {
		f := make([]byte, 14, 14+len(payload))
		binary.BigEndian.PutUint16(f[12:], typ)
		return append(f, payload...)
	}
	p.Send(stack.Packet{ID: 1, Data: eth(wire.EtherTypeARP, make([]byte, 28))})
	p.Send(stack.Packet{ID: 2, Data: eth(wire.EtherTypeIPv4, ipPacket(wire.ProtoTCP, srv, cli, wire.TCPFlagSYN))})
	c.Run()
	if len(s.got) != 1 || s.got[0].id != 1 {
		t.Fatalf("delivered %v, want only the ARP frame", s.ids())
	}
	if p.Counters().DropMiddlebox != 1 {
		t.Errorf("counters %+v", p.Counters())
	}
	if len(obs.evs) != 1 || obs.evs[0].Kind != core.EventDrop || obs.evs[0].Detail != fwNoState || obs.evs[0].Name != "firewall" || obs.evs[0].PacketID != 2 {
		t.Errorf("events %+v", obs.evs)
	}
}

func TestFirewallSweep(t *testing.T) {
	c := NewClock(t0)
	fw := NewFirewall(c, FirewallConfig{UDPIdle: time.Second, TCPIdle: time.Second})
	for i := range 5000 {
		src := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(1000+i)).String()
		fw.Inspect(AtoB, ipPacket(wire.ProtoUDP, src, srv, 0))
		c.RunFor(100 * time.Millisecond)
	}
	if n := len(fw.flows); n > 2048 {
		t.Fatalf("table holds %d flows; dead ones are not swept", n)
	}
}

func FuzzFirewall(f *testing.F) {
	f.Add(ipPacket(wire.ProtoTCP, cli, srv, wire.TCPFlagSYN), false)
	f.Add(ipPacket(wire.ProtoUDP, cli, srv, 0), true)
	f.Add([]byte{0x45, 0, 0, 20}, false)
	f.Fuzz(func(t *testing.T, b []byte, inbound bool) {
		fw := NewFirewall(NewClock(t0), FirewallConfig{})
		dir := AtoB
		if inbound {
			dir = BtoA
		}
		fw.Inspect(dir, b)
		InspectIP(14, func(ip []byte) (bool, string) { return fw.Inspect(dir, ip) })(stack.Packet{Data: b})
	})
}

// TestFirewallTinyFragments: an outside host splits a SYN so that the
// first fragment holds only the ports and the flags come later, or sends
// an ACK and then a fragment at offset 8 that overwrites its flags with
// SYN (RFC 1858 §3). Both are dropped; ordinary fragments still pass.
func TestFirewallTinyFragments(t *testing.T) {
	frag := func(b []byte, off uint16, mf bool, keep int) []byte {
		ip := wire.IPv4(b[:20+keep])
		ip.SetTotalLen(uint16(20 + keep))
		ip.SetFlagsFragment(false, mf, off)
		return ip
	}
	tests := []struct {
		name   string
		pkt    []byte
		pass   bool
		reason string
	}{
		{"tcp first fragment with ports only", frag(ipPacket(wire.ProtoTCP, srv, cli, wire.TCPFlagSYN), 0, true, 8), false, fwTiny},
		{"tcp first fragment with the flags, short of 20", frag(ipPacket(wire.ProtoTCP, srv, cli, wire.TCPFlagSYN), 0, true, 16), false, fwTiny},
		{"tcp fragment at offset 8", frag(ipPacket(wire.ProtoTCP, srv, cli, wire.TCPFlagSYN), 8, false, 12), false, fwTiny},
		{"udp first fragment short of its header", frag(ipPacket(wire.ProtoUDP, srv, cli, 0), 0, true, 0), false, fwTiny},
		{"tcp first fragment with the whole header", frag(ipPacket(wire.ProtoTCP, cli, srv, wire.TCPFlagSYN), 0, true, 16+4), true, ""},
		{"tcp later fragment", frag(ipPacket(wire.ProtoTCP, srv, cli, 0), 16, false, 8), true, ""},
		{"udp later fragment at offset 8", frag(ipPacket(wire.ProtoUDP, srv, cli, 0), 8, false, 8), true, ""},
	}
	for _, tt := range tests {
		fw := NewFirewall(NewClock(t0), FirewallConfig{})
		dir := BtoA
		if wire.IPv4(tt.pkt).Src().String()+":40000" == cli {
			dir = AtoB
		}
		if pass, reason := fw.Inspect(dir, tt.pkt); pass != tt.pass || reason != tt.reason {
			t.Errorf("%s: pass %v %q, want %v %q", tt.name, pass, reason, tt.pass, tt.reason)
		}
	}
}

// TestFirewallIPv6OnEthernet: on an Ethernet link the firewall sees
// IPv6 frames too: an unsolicited inbound SYN is dropped, neighbour
// discovery passes, and a first fragment that stops inside the TCP
// header is dropped (RFC 7112).
func TestFirewallIPv6OnEthernet(t *testing.T) {
	fw := NewFirewall(NewClock(t0), FirewallConfig{})
	frame := func(ip []byte) stack.Packet {
		b := make([]byte, wire.EthernetHeaderLen+len(ip))
		binary.BigEndian.PutUint16(b[12:], wire.EtherTypeIPv6)
		copy(b[wire.EthernetHeaderLen:], ip)
		return stack.Packet{Data: b}
	}
	in := inspectBox(wire.EthernetHeaderLen, fw, BtoA)
	if pass, why := in(frame(ip6Packet(wire.ProtoTCP, srv, cli, wire.TCPFlagSYN))); pass || why != fwNoState {
		t.Errorf("unsolicited IPv6 SYN: pass %v %q", pass, why)
	}
	ns := ip6Packet(wire.ProtoICMP, srv, cli, 0)
	ns[40] = wire.ICMPv6NeighborSolicit
	if pass, _ := in(frame(ns)); !pass {
		t.Error("a neighbour solicitation was dropped")
	}
	// A first fragment carrying 8 bytes of TCP header.
	syn := ip6Packet(wire.ProtoTCP, srv, cli, wire.TCPFlagSYN)
	frag := make([]byte, 40+8+8)
	copy(frag, syn[:40])
	binary.BigEndian.PutUint16(frag[4:], 16)
	frag[6] = wire.IPv6ExtFragment
	frag[40] = wire.ProtoTCP
	binary.BigEndian.PutUint16(frag[42:], 1) // offset 0, more fragments
	copy(frag[48:], syn[40:48])
	if pass, why := in(frame(frag)); pass || why != fwTiny {
		t.Errorf("tiny first fragment: pass %v %q, want dropped as %q", pass, why, fwTiny)
	}
	if s := fw.Stats(); s.Rejected != 2 || s.Passed != 1 {
		t.Errorf("stats %+v, want 2 rejected, 1 passed", s)
	}
}
