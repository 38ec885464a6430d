package sim

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/wire"
)

// TestPipeChecksumOK checks receive checksum offload across a pipe: a
// frame the sending stack vouches for (Packet.ChecksumOK) arrives with
// the mark unless the pipe corrupted it or a middlebox saw it, and a
// frame sent without the mark never gains it.
func TestPipeChecksumOK(t *testing.T) {
	cases := []struct {
		name    string
		sent    bool
		corrupt bool
		inspect bool
		want    bool
	}{
		{"vouched", true, false, false, true},
		{"not vouched", false, false, false, false},
		{"corrupted", true, true, false, false},
		{"middlebox", true, false, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := NewClock(time.Unix(0, 0))
			var got []stack.Packet
			imp := Impairments{}
			if c.corrupt {
				imp.Corrupt = 1
			}
			p := NewPipeConfig(PipeConfig{Clock: clock, Impairments: imp, HeaderLen: 14,
				Deliver: func(pkt stack.Packet) { got = append(got, pkt) }})
			if c.inspect {
				p.SetInspect(func(stack.Packet) (bool, string) { return true, "" })
			}
			p.Send(stack.Packet{ID: 1, Data: make([]byte, 64), ChecksumOK: c.sent})
			clock.Run()
			if len(got) != 1 {
				t.Fatalf("%d frames delivered, want 1", len(got))
			}
			if got[0].ChecksumOK != c.want {
				t.Errorf("ChecksumOK = %v, want %v", got[0].ChecksumOK, c.want)
			}
		})
	}
}

// tcpCheck reports whether an Ethernet frame holds an IPv4 TCP segment,
// and whether its checksum verifies.
func tcpCheck(frame []byte) (isTCP, valid bool) {
	eth := wire.Ethernet(frame)
	if len(frame) < wire.EthernetHeaderLen+wire.IPv4MinHeaderLen || eth.Type() != wire.EtherTypeIPv4 {
		return false, false
	}
	ip := wire.IPv4(eth.Payload())
	if ip.Protocol() != wire.ProtoTCP {
		return false, false
	}
	return true, wire.TCP(ip[ip.HeaderLen():ip.TotalLen()]).IsChecksumValid(ip.Src(), ip.Dst())
}

// partialTCPFrame returns an Ethernet frame holding a TCP segment sent
// with its checksum left to the link (the field zero), and the frame as
// it is once finished.
func partialTCPFrame() (partial, finished []byte) {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	seg := make([]byte, wire.TCPMinHeaderLen+100)
	wire.TCP(seg).Encode(&wire.TCPFields{SrcPort: 40000, DstPort: 80, Seq: 7, Ack: 9, Flags: wire.TCPFlagACK, Window: 100})
	for i := wire.TCPMinHeaderLen; i < len(seg); i++ {
		seg[i] = byte(i)
	}
	frame := make([]byte, wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+len(seg))
	wire.Ethernet(frame).Encode(&wire.EthernetFields{Type: wire.EtherTypeIPv4})
	ip := wire.IPv4(frame[wire.EthernetHeaderLen:])
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(ip)), TTL: 64, Protocol: wire.ProtoTCP, Src: src, Dst: dst, DF: true})
	ip.SetChecksum()
	copy(ip[wire.IPv4MinHeaderLen:], seg)
	finished = append([]byte(nil), frame...)
	wire.TCP(finished[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:]).SetChecksum(src, dst)
	return frame, finished
}

// TestPipePartialChecksum checks transmit checksum offload across a
// pipe that says it takes partial checksums (a Network's): a frame whose TCP checksum the sender left to the link arrives
// as it was sent, still partial, unless a middlebox is to see it (it
// sees, and the receiver gets, the finished frame) or the pipe corrupts
// it (the checksum is finished first, so that the receiver finds the
// damage: the frame differs from the finished one in one byte only).
func TestPipePartialChecksum(t *testing.T) {
	if NewPipeConfig(PipeConfig{}).CarriesPartialChecksums() {
		t.Error("a pipe not made by a Network (one to a TUN device) takes partial checksums")
	}
	for _, c := range []string{"plain", "middlebox", "corrupt"} {
		t.Run(c, func(t *testing.T) {
			partial, finished := partialTCPFrame()
			clock := NewClock(time.Unix(0, 0))
			var got []stack.Packet
			imp := Impairments{}
			if c == "corrupt" {
				imp.Corrupt = 1
			}
			p := NewPipeConfig(PipeConfig{Clock: clock, Impairments: imp, HeaderLen: wire.EthernetHeaderLen, PartialChecksums: true,
				Deliver: func(pkt stack.Packet) {
					pkt.Data = append([]byte(nil), pkt.Data...)
					got = append(got, pkt)
				}})
			seen := 0
			if c == "middlebox" {
				p.SetInspect(func(pkt stack.Packet) (bool, string) {
					if _, ok := tcpCheck(pkt.Data); !ok {
						t.Error("the middlebox saw a frame whose checksum does not verify")
					}
					seen++
					return true, ""
				})
			}
			p.Send(stack.Packet{ID: 1, Data: partial, ChecksumOK: true, ChecksumPartial: true})
			clock.Run()
			if len(got) != 1 {
				t.Fatalf("%d frames delivered, want 1", len(got))
			}
			g := got[0]
			switch c {
			case "plain":
				if !g.ChecksumPartial || !g.ChecksumOK || !bytes.Equal(g.Data, partial) {
					t.Errorf("delivered partial %v, ok %v, same bytes %v; want all true", g.ChecksumPartial, g.ChecksumOK, bytes.Equal(g.Data, partial))
				}
			case "middlebox":
				if g.ChecksumPartial || g.ChecksumOK || !bytes.Equal(g.Data, finished) || seen != 1 {
					t.Errorf("delivered partial %v, ok %v, finished %v, seen %d; want false, false, true, 1", g.ChecksumPartial, g.ChecksumOK, bytes.Equal(g.Data, finished), seen)
				}
			case "corrupt":
				diff := 0
				for i := range g.Data {
					if g.Data[i] != finished[i] {
						diff++
					}
				}
				if g.ChecksumPartial || g.ChecksumOK || diff != 1 {
					t.Errorf("delivered partial %v, ok %v, %d bytes unlike the finished frame; want false, false, 1", g.ChecksumPartial, g.ChecksumOK, diff)
				}
			}
		})
	}
}

// frameTap records whether each TCP frame it sees verifies; as a plain
// stack.Tap it wants checksums, and with wants set it answers
// stack.ChecksumTap's question.
type frameTap struct {
	frames, bad int
	partial     int
}

func (ft *frameTap) Frame(_ *stack.NIC, _ stack.Dir, pkt stack.Packet, _ string) {
	if isTCP, ok := tcpCheck(pkt.Data); isTCP {
		ft.frames++
		if !ok {
			ft.bad++
		}
	}
	if pkt.ChecksumPartial {
		ft.partial++
	}
}

// quietTap is a frameTap that says it needs no checksums.
type quietTap struct{ *frameTap }

func (quietTap) WantsChecksums() bool { return false }

// wireLog records, for the frames a pipe is given, how many are TCP,
// how many of those were left partial, and how many verify.
type wireLog struct{ tcp, partial, valid int }

func (w *wireLog) filter(pkt stack.Packet) Verdict {
	if isTCP, ok := tcpCheck(pkt.Data); isTCP {
		w.tcp++
		if pkt.ChecksumPartial {
			w.partial++
		}
		if ok {
			w.valid++
		}
	}
	return Verdict{}
}

// TestTransmitChecksumOffload checks when a stack leaves TCP checksums
// to the simulator's links and that whatever looks at the bytes sees
// them finished: with no Tap, or a Tap that says it needs none, every
// segment leaves partial; with NoChecksumOffload, or a Tap that shows
// the bytes, none does, and a Tap on the receiving side only sees the
// sender's partial segments finished. The data arrives intact in every
// case.
func TestTransmitChecksumOffload(t *testing.T) {
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i * 13)
	}
	cases := []struct {
		name        string
		noOffload   bool
		aTap, bTap  *frameTap
		quiet       bool // a's tap says it needs no checksums
		wantPartial bool // a's segments leave partial
	}{
		{name: "no tap", wantPartial: true},
		{name: "NoChecksumOffload", noOffload: true},
		{name: "tap on both", aTap: &frameTap{}, bTap: &frameTap{}},
		{name: "tap on the receiver", bTap: &frameTap{}, wantPartial: true},
		{name: "tap that needs no checksums", aTap: &frameTap{}, quiet: true, wantPartial: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := NewNetwork(NetworkOptions{})
			aOpts, bOpts := stack.Options{NoChecksumOffload: c.noOffload}, stack.Options{}
			switch {
			case c.quiet:
				aOpts.Tap = quietTap{c.aTap}
			case c.aTap != nil:
				aOpts.Tap = c.aTap
			}
			if c.bTap != nil {
				bOpts.Tap = c.bTap
			}
			a := n.AddHost("client", aOpts)
			b := n.AddHost("server", bOpts)
			l, err := n.Connect(a, nicCfg("10.0.0.1/24"), b, nicCfg("10.0.0.2/24"), Symmetric(Impairments{Delay: time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			var ab, ba wireLog
			l.Pipe(AtoB).SetFilter(ab.filter)
			l.Pipe(BtoA).SetFilter(ba.filter)
			if got := bulk(t, n, a, b, data, time.Minute); !bytes.Equal(got, data) {
				t.Fatalf("received %d bytes, want %d intact", len(got), len(data))
			}
			if ab.tcp == 0 || ba.tcp == 0 {
				t.Fatalf("no TCP frames seen (%d, %d)", ab.tcp, ba.tcp)
			}
			if c.wantPartial {
				// All but the SYN, which waited for ARP's answer and
				// was finished as it was queued.
				if ab.partial != ab.tcp-1 || ab.valid != 1 {
					t.Errorf("a's %d segments: %d partial, %d verify; want all but the SYN, and the SYN", ab.tcp, ab.partial, ab.valid)
				}
			} else if ab.partial != 0 || ab.valid != ab.tcp {
				t.Errorf("a's %d segments: %d partial, %d verify; want none and all", ab.tcp, ab.partial, ab.valid)
			}
			for name, ft := range map[string]*frameTap{"client": c.aTap, "server": c.bTap} {
				if ft == nil || c.quiet {
					continue
				}
				if ft.frames == 0 || ft.bad != 0 || ft.partial != 0 {
					t.Errorf("%s's tap: %d TCP frames, %d that do not verify, %d partial; want some, 0, 0", name, ft.frames, ft.bad, ft.partial)
				}
			}
		})
	}
}

// sendOver opens a TCP connection from a to b at dst, sends data and
// returns what b received, stepping n's clock.
func sendOver(t *testing.T, n *Network, a, b *stack.Stack, dst netip.AddrPort, data []byte) []byte {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f := stack.AFInet
	if dst.Addr().Is6() {
		f = stack.AFInet6
	}
	l, err := b.SocketFamily(f, stack.SockStream)
	must(err)
	must(b.Bind(l, dst))
	must(b.Listen(l, 4))
	must(b.SetNonblock(l, true))
	c, err := a.SocketFamily(f, stack.SockStream)
	must(err)
	must(a.SetNonblock(c, true))
	_ = a.Connect(c, dst)
	var got []byte
	buf := make([]byte, 4096)
	s, sent := -1, 0
	for end := n.Now().Add(time.Minute); len(got) < len(data) && n.Now().Before(end); {
		if s < 0 {
			if fd, _, err := b.Accept(l); err == nil {
				s = fd
				must(b.SetNonblock(s, true))
			}
		}
		if sent < len(data) {
			if k, err := a.Send(c, data[sent:]); err == nil {
				sent += k
			}
		}
		for s >= 0 {
			k, err := b.Recv(s, buf)
			if err != nil || k == 0 {
				break
			}
			got = append(got, buf[:k]...)
		}
		if !n.Step() {
			break
		}
	}
	return got
}

// TestChecksumOffloadRouterAndLoopback checks the places a partial
// segment must be finished on its way: a router finishes it before
// passing it on (the next link gets it with its checksum), and a
// connection over the loopback interface, which carries no partial
// checksums, works with offload on.
func TestChecksumOffloadRouterAndLoopback(t *testing.T) {
	data := bytes.Repeat([]byte("offload "), 4096)
	bTap := &frameTap{}
	n, a, b, l1, l2 := routed(t, NetworkOptions{}, stack.Options{Tap: bTap})
	var hop1, hop2 wireLog
	l1.Pipe(AtoB).SetFilter(hop1.filter)
	l2.Pipe(AtoB).SetFilter(hop2.filter)
	if got := sendOver(t, n, a, b, netip.MustParseAddrPort("10.0.2.1:80"), data); !bytes.Equal(got, data) {
		t.Fatalf("through the router: received %d bytes, want %d intact", len(got), len(data))
	}
	if hop1.partial == 0 {
		t.Errorf("no partial segment from the client (%d TCP frames)", hop1.tcp)
	}
	if hop2.tcp == 0 || hop2.partial != 0 || hop2.valid != hop2.tcp {
		t.Errorf("after the router: %d TCP frames, %d partial, %d verify; want some, none, all", hop2.tcp, hop2.partial, hop2.valid)
	}
	if bTap.frames == 0 || bTap.bad != 0 {
		t.Errorf("server's tap: %d TCP frames, %d that do not verify", bTap.frames, bTap.bad)
	}

	if got := sendOver(t, n, a, a, netip.MustParseAddrPort("127.0.0.1:81"), data); !bytes.Equal(got, data) {
		t.Fatalf("over lo: received %d bytes, want %d intact", len(got), len(data))
	}
	if got, ok := a.Counter("tcp.InCsumErrors"); !ok || got != 0 {
		t.Errorf("tcp.InCsumErrors %d (%v) over lo, want 0", got, ok)
	}
}

// TestChecksumOffloadThroughGate checks a NAT on a router's own
// interface (a Gate): the server's partial segments are finished before
// the NAT rewrites them on their way in, so the client takes them.
func TestChecksumOffloadThroughGate(t *testing.T) {
	n := NewNetwork(NetworkOptions{Seed: 1})
	cl := n.AddHost("client", stack.Options{})
	r := n.AddRouter("r1", stack.Options{})
	sv := n.AddHost("server", stack.Options{})
	imp := Symmetric(Impairments{Delay: time.Millisecond})
	l1, err := n.Connect(cl, nicCfg("192.168.1.10/24"), r, nicCfg("192.168.1.1/24"), imp)
	mustOK(t, err)
	nat, err := NewNAT(n.Clock(), NATConfig{Public: netip.MustParseAddr("10.0.0.1")})
	mustOK(t, err)
	cfg := imp
	cfg.GateA = &Gate{Box: nat}
	l2, err := n.Connect(r, nicCfg("10.0.0.1/24"), sv, nicCfg("10.0.0.2/24"), cfg)
	mustOK(t, err)
	cn, _ := l1.NICs()
	cl.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), NIC: cn})
	var back wireLog
	l2.Pipe(BtoA).SetFilter(back.filter)
	data := bytes.Repeat([]byte("gate "), 2000)
	if got := sendOver(t, n, cl, sv, netip.MustParseAddrPort("10.0.0.2:80"), data); !bytes.Equal(got, data) {
		t.Fatalf("through the NAT: received %d bytes, want %d intact", len(got), len(data))
	}
	if back.partial == 0 {
		t.Errorf("the server sent no partial segment (%d TCP frames)", back.tcp)
	}
	if got, _ := cl.Counter("tcp.InCsumErrors"); got != 0 {
		t.Errorf("client tcp.InCsumErrors %d, want 0", got)
	}
}

// TestChecksumOffloadFragments checks a TCP segment the stack cuts into
// IPv6 fragments (the path MTU a Packet Too Big lowered below the
// segment): no link can finish a checksum spread over fragments, so the
// sender finishes it first. A middlebox on the link makes the server
// verify every segment, so one left partial would be dropped there.
func TestChecksumOffloadFragments(t *testing.T) {
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	n := NewNetwork(NetworkOptions{})
	a := n.AddHost("client", stack.Options{})
	b := n.AddHost("server", stack.Options{})
	ca, cb := nicCfg("10.0.0.1/24"), nicCfg("10.0.0.2/24")
	ca.Addrs6, cb.Addrs6 = []netip.Prefix{netip.PrefixFrom(a6, 64)}, []netip.Prefix{netip.PrefixFrom(b6, 64)}
	l, err := n.Connect(a, ca, b, cb, Symmetric(Impairments{Delay: time.Millisecond}))
	mustOK(t, err)
	frags := 0
	l.Pipe(AtoB).SetFilter(func(pkt stack.Packet) Verdict {
		if eth := wire.Ethernet(pkt.Data); eth.Type() == wire.EtherTypeIPv6 && wire.IPv6(eth.Payload()).NextHeader() == wire.IPv6ExtFragment {
			frags++
		}
		return Verdict{}
	})
	l.Pipe(AtoB).SetInspect(func(stack.Packet) (bool, string) { return true, "" })

	// A Packet Too Big from the server about a datagram to it: the
	// client's path MTU to the server drops to 1280, its MSS does not.
	inner := make([]byte, wire.IPv6HeaderLen+wire.UDPHeaderLen)
	wire.IPv6(inner).Encode(&wire.IPv6Fields{PayloadLen: wire.UDPHeaderLen, NextHeader: wire.ProtoUDP, HopLimit: 64, Src: a6, Dst: b6})
	wire.UDP(inner[wire.IPv6HeaderLen:]).Encode(&wire.UDPFields{SrcPort: 40000, DstPort: 9, Length: wire.UDPHeaderLen})
	icmp := make([]byte, wire.ICMPv6HeaderLen+len(inner))
	wire.ICMPv6(icmp).Encode(&wire.ICMPv6Fields{Type: wire.ICMPv6PacketTooBig, Rest: 1280})
	copy(icmp[wire.ICMPv6HeaderLen:], inner)
	wire.ICMPv6(icmp).SetChecksum(b6, a6)
	na, nb := l.NICs()
	frame := make([]byte, wire.EthernetHeaderLen+wire.IPv6HeaderLen+len(icmp))
	wire.Ethernet(frame).Encode(&wire.EthernetFields{Dst: wire.MAC(na.MAC()), Src: wire.MAC(nb.MAC()), Type: wire.EtherTypeIPv6})
	wire.IPv6(frame[wire.EthernetHeaderLen:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(len(icmp)), NextHeader: wire.ProtoICMPv6, HopLimit: 64, Src: b6, Dst: a6})
	copy(frame[wire.EthernetHeaderLen+wire.IPv6HeaderLen:], icmp)
	na.Deliver(stack.Packet{ID: n.NextPacketID(), Data: frame})

	data := bytes.Repeat([]byte("fragmented "), 3000)
	if got := sendOver(t, n, a, b, netip.AddrPortFrom(b6, 80), data); !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, want %d intact (%d fragments sent)", len(got), len(data), frags)
	}
	if frags == 0 {
		t.Fatal("no segment was fragmented: the test did not reach fragment6")
	}
	if got, _ := b.Counter("tcp.InCsumErrors"); got != 0 {
		t.Errorf("server tcp.InCsumErrors %d, want 0", got)
	}
}

// TestChecksumOffloadSwitchTap checks a switch port's tap (a mirror):
// the hosts capture nothing and leave their checksums to the link, and
// the tap sees every TCP frame, both ways, with its checksum computed.
func TestChecksumOffloadSwitchTap(t *testing.T) {
	nw, sw, hs := lan(t, 2, SwitchConfig{Name: "sw"}, nil, nil)
	var in, out frameTap
	if !sw.SetTap("h2", func(dir stack.Dir, pkt stack.Packet) {
		if dir == stack.DirIn {
			in.Frame(nil, dir, pkt, "")
		} else {
			out.Frame(nil, dir, pkt, "")
		}
	}) {
		t.Fatal("no port to h2")
	}
	data := bytes.Repeat([]byte("mirror "), 3000)
	if got := sendOver(t, nw, hs[0], hs[1], netip.MustParseAddrPort("10.0.0.2:80"), data); !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, want %d intact", len(got), len(data))
	}
	for name, ft := range map[string]*frameTap{"in": &in, "out": &out} {
		if ft.frames == 0 || ft.bad != 0 || ft.partial != 0 {
			t.Errorf("tap %s: %d TCP frames, %d that do not verify, %d partial; want some, 0, 0", name, ft.frames, ft.bad, ft.partial)
		}
	}
}
