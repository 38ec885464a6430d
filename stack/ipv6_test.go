package stack_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// pair6 is two dual-stack stacks on one Ethernet segment in virtual
// time: a is 10.0.0.1 and 2001:db8::1, b 10.0.0.2 and 2001:db8::2.
type pair6 struct {
	clock      *sim.Clock
	a, b       *stack.Stack
	anic, bnic *stack.NIC
	frames     []string // summaries of the frames sent, "a>b type" for NDP
	filter     func(from *stack.NIC, data []byte) bool
}

var (
	a6 = netip.MustParseAddr("2001:db8::1")
	b6 = netip.MustParseAddr("2001:db8::2")
)

func newPair6(t testing.TB) *pair6 {
	t.Helper()
	p := &pair6{clock: sim.NewClock(time.Unix(0, 0))}
	var id uint64
	pid := func() uint64 { id++; return id }
	p.a = stack.New(stack.Options{Name: "a", Clock: p.clock, Rand: rand.New(rand.NewPCG(1, 2)), PacketID: pid})
	p.b = stack.New(stack.Options{Name: "b", Clock: p.clock, Rand: rand.New(rand.NewPCG(3, 4)), PacketID: pid})
	link := func(from, to **stack.NIC) stack.Link {
		return stack.LinkFunc(func(pkt stack.Packet) {
			p.record(*from, pkt.Data)
			if p.filter != nil && !p.filter(*from, pkt.Data) {
				return
			}
			data := append([]byte(nil), pkt.Data...)
			pid := pkt.ID
			p.clock.AfterFunc(time.Millisecond, func() { (*to).Deliver(stack.Packet{ID: pid, Data: data}) })
		})
	}
	var err error
	p.anic, err = p.a.AddNIC(stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24"),
		Addrs6: []netip.Prefix{netip.PrefixFrom(a6, 64)}}, link(&p.anic, &p.bnic))
	must(t, err)
	p.bnic, err = p.b.AddNIC(stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.2/24"),
		Addrs6: []netip.Prefix{netip.PrefixFrom(b6, 64)}}, link(&p.bnic, &p.anic))
	must(t, err)
	return p
}

// record notes the NDP and ICMPv6 messages on the wire.
func (p *pair6) record(from *stack.NIC, b []byte) {
	eth := wire.Ethernet(b)
	if eth.Type() != wire.EtherTypeIPv6 {
		return
	}
	ip, err := wire.ParseIPv6(eth.Payload())
	if err != nil || ip.NextHeader() != wire.ProtoICMPv6 {
		return
	}
	m, err := wire.ParseICMPv6(ip.Payload(), ip.Src(), ip.Dst())
	if err != nil {
		p.frames = append(p.frames, from.Stack().Name()+" bad-icmpv6")
		return
	}
	name := map[uint8]string{wire.ICMPv6NeighborSolicit: "NS", wire.ICMPv6NeighborAdvert: "NA",
		wire.ICMPv6EchoRequest: "echo", wire.ICMPv6EchoReply: "echo-reply", wire.ICMPv6DestUnreachable: "unreach",
		wire.ICMPv6ParamProblem: "param-problem"}[m.Type()]
	p.frames = append(p.frames, from.Stack().Name()+" "+name+" "+ip.Dst().String())
}

func TestIPv6AddressesAndValidation(t *testing.T) {
	p := newPair6(t)
	got := p.anic.Addrs6()
	ll := wire.LinkLocalFromMAC(wire.MAC(p.anic.MAC()))
	if len(got) != 2 || got[0].Addr() != ll || got[0].Bits() != 64 || got[1].Addr() != a6 {
		t.Fatalf("Addrs6 = %v, want [%v/64 %v/64]", got, ll, a6)
	}
	s := stack.New(stack.Options{})
	for _, bad := range []string{"10.0.0.9/24", "ff02::1/64", "::/0", "::1/128"} {
		_, err := s.AddNIC(stack.NICConfig{Name: "x" + bad, Addr: netip.MustParsePrefix("10.0.0.1/24"),
			Addrs6: []netip.Prefix{netip.MustParsePrefix(bad)}}, stack.LinkFunc(func(stack.Packet) {}))
		if err == nil {
			t.Errorf("Addrs6 %s accepted", bad)
		}
	}
	_, err := s.AddNIC(stack.NICConfig{Name: "small", Addr: netip.MustParsePrefix("10.0.1.1/24"), MTU: 1000,
		Addrs6: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")}}, stack.LinkFunc(func(stack.Packet) {}))
	if err == nil {
		t.Errorf("IPv6 on an MTU-1000 link accepted")
	}
}

// exchange sends msg from client fd c to accepted fd s and returns what
// arrived.
func exchange(t *testing.T, clock *sim.Clock, from, to *stack.Stack, c, s int, msg []byte) []byte {
	t.Helper()
	sent := 0
	var got []byte
	buf := make([]byte, 8192)
	for i := 0; i < 1000 && len(got) < len(msg); i++ {
		if sent < len(msg) {
			n, err := from.Send(c, msg[sent:])
			if err != nil && !errors.Is(err, syscall.EAGAIN) {
				t.Fatal(err)
			}
			sent += n
		}
		clock.RunFor(10 * time.Millisecond)
		for {
			n, err := to.Recv(s, buf)
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			must(t, err)
			got = append(got, buf[:n]...)
		}
	}
	return got
}

// TestTCPOverIPv6 opens a connection between global addresses: the first
// SYN waits for neighbour discovery (one NS to b's solicited-node group,
// one solicited NA back), the MSS is the IPv6 MTU less 60 bytes, and
// 100 kB cross intact.
func TestTCPOverIPv6(t *testing.T) {
	p := newPair6(t)
	l, err := p.b.SocketFamily(stack.AFInet6, stack.SockStream)
	must(t, err)
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.IPv6Unspecified(), 80)))
	must(t, p.b.Listen(l, 8))
	must(t, p.b.SetNonblock(l, true))
	c, err := p.a.SocketFamily(stack.AFInet6, stack.SockStream)
	must(t, err)
	must(t, p.a.SetNonblock(c, true))
	if err := p.a.Connect(c, netip.AddrPortFrom(b6, 80)); !errors.Is(err, syscall.EINPROGRESS) {
		t.Fatalf("connect: %v", err)
	}
	p.clock.RunFor(time.Second)
	must(t, p.a.SockError(c))
	s, remote, err := p.b.Accept(l)
	must(t, err)
	if remote.Addr() != a6 {
		t.Errorf("accepted from %v, want %v", remote, a6)
	}
	if want := []string{"a NS " + wire.SolicitedNodeAddr(b6).String(), "b NA " + a6.String()}; len(p.frames) < 2 || p.frames[0] != want[0] || p.frames[1] != want[1] {
		t.Errorf("NDP exchange %v, want %v first", p.frames, want)
	}
	if st := p.anic.NeighborState(b6); st != "reachable" {
		t.Errorf("a's entry for b is %s, want reachable", st)
	}
	info, err := p.a.TCPInfo(c)
	must(t, err)
	if info.RcvMSS > 1440 || info.MSS > 1440 || info.MSS < 1400 {
		t.Errorf("MSS %d/%d, want ≤ 1440 (1500 − 40 − 20)", info.MSS, info.RcvMSS)
	}
	must(t, p.b.SetNonblock(s, true))
	msg := bytes.Repeat([]byte("ipv6 "), 20000)
	if got := exchange(t, p.clock, p.a, p.b, c, s, msg); !bytes.Equal(got, msg) {
		t.Fatalf("received %d bytes, want %d intact", len(got), len(msg))
	}
	for _, name := range []string{"ip6.InReceives", "ip6.OutRequests", "icmp6.OutNeighborSolicits", "icmp6.InNeighborAdvertisements"} {
		if counter(t, p.a, name) == 0 {
			t.Errorf("%s = 0", name)
		}
	}
	// Connecting an AF_INET socket to an IPv6 address is refused.
	c4, _ := p.a.Socket(stack.SockStream)
	if err := p.a.Connect(c4, netip.AddrPortFrom(b6, 80)); !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("AF_INET connect to IPv6: %v, want EAFNOSUPPORT", err)
	}
}

// TestIPv6DualStack: a listener on [::] takes an IPv4 connection and
// reports its peer IPv4-mapped; with IPV6_V6ONLY it does not, and the
// IPv4 port is free for an AF_INET socket.
func TestIPv6DualStack(t *testing.T) {
	p := newPair6(t)
	l, _ := p.b.SocketFamily(stack.AFInet6, stack.SockStream)
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.IPv6Unspecified(), 80)))
	must(t, p.b.Listen(l, 8))
	must(t, p.b.SetNonblock(l, true))
	l4, _ := p.b.Socket(stack.SockStream)
	if err := p.b.Bind(l4, netip.MustParseAddrPort("0.0.0.0:80")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("AF_INET bind beside a dual-stack [::]:80: %v, want EADDRINUSE", err)
	}
	c, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c, true))
	p.a.Connect(c, netip.MustParseAddrPort("10.0.0.2:80"))
	p.clock.RunFor(time.Second)
	must(t, p.a.SockError(c))
	_, remote, err := p.b.Accept(l)
	must(t, err)
	if want := netip.MustParseAddr("::ffff:10.0.0.1"); remote.Addr() != want {
		t.Errorf("peer %v, want %v", remote.Addr(), want)
	}
	// A dual-stack client reaches an IPv4 server through a mapped address.
	c6, _ := p.a.SocketFamily(stack.AFInet6, stack.SockStream)
	must(t, p.a.SetNonblock(c6, true))
	p.a.Connect(c6, netip.MustParseAddrPort("[::ffff:10.0.0.2]:80"))
	p.clock.RunFor(time.Second)
	must(t, p.a.SockError(c6))
	if name, _ := p.a.GetSockname(c6); name.Addr() != netip.MustParseAddr("::ffff:10.0.0.1") {
		t.Errorf("getsockname %v, want ::ffff:10.0.0.1", name)
	}

	l6, _ := p.b.SocketFamily(stack.AFInet6, stack.SockStream)
	must(t, p.b.SetSockopt(l6, stack.IPv6V6Only, 1))
	must(t, p.b.Bind(l6, netip.AddrPortFrom(netip.IPv6Unspecified(), 81)))
	must(t, p.b.Listen(l6, 8))
	l4b, _ := p.b.Socket(stack.SockStream)
	must(t, p.b.Bind(l4b, netip.MustParseAddrPort("0.0.0.0:81"))) // V6ONLY leaves the IPv4 port free
	c2, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c2, true))
	p.a.Connect(c2, netip.MustParseAddrPort("10.0.0.2:81"))
	p.clock.RunFor(time.Second)
	if err := p.a.SockError(c2); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("IPv4 connect to an IPV6_V6ONLY listener: %v, want ECONNREFUSED", err)
	}
	if v, err := p.b.GetSockopt(l6, stack.IPv6V6Only); err != nil || v != 1 {
		t.Errorf("getsockopt IPV6_V6ONLY = %d, %v", v, err)
	}
	if err := p.b.SetSockopt(l4b, stack.IPv6V6Only, 1); !errors.Is(err, syscall.ENOPROTOOPT) {
		t.Errorf("IPV6_V6ONLY on AF_INET: %v, want ENOPROTOOPT", err)
	}
}

// TestUDPOverIPv6 sends datagrams both ways and gets ECONNREFUSED from
// an ICMPv6 port unreachable on a connected socket.
func TestUDPOverIPv6(t *testing.T) {
	p := newPair6(t)
	srv, err := p.b.ListenUDP(netip.AddrPortFrom(netip.IPv6Unspecified(), 53))
	must(t, err)
	cl, err := p.a.DialUDP(netip.AddrPort{}, netip.AddrPortFrom(b6, 53))
	must(t, err)
	if _, err := cl.Write([]byte("query")); err != nil {
		t.Fatal(err)
	}
	p.clock.RunFor(time.Second)
	buf := make([]byte, 100)
	must(t, srv.SetReadDeadline(time.Now().Add(time.Second)))
	n, from, err := srv.ReadFromUDPAddrPort(buf)
	must(t, err)
	if string(buf[:n]) != "query" || from.Addr() != a6 {
		t.Fatalf("got %q from %v", buf[:n], from)
	}
	if counter(t, p.b, "udp6.InDatagrams") != 1 || counter(t, p.a, "udp6.OutDatagrams") != 1 {
		t.Errorf("udp6 counters not counted")
	}
	bad, err := p.a.DialUDP(netip.AddrPort{}, netip.AddrPortFrom(b6, 54))
	must(t, err)
	bad.Write([]byte("x"))
	p.clock.RunFor(time.Second)
	if counter(t, p.b, "icmp6.OutDestUnreachs") != 1 || counter(t, p.b, "udp6.NoPorts") != 1 {
		t.Errorf("no port unreachable sent")
	}
	must(t, bad.SetWriteDeadline(time.Now().Add(time.Second)))
	if _, err := bad.Write([]byte("y")); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("write after port unreachable: %v, want ECONNREFUSED", err)
	}
}

// echoRequest builds an Ethernet frame with an ICMPv6 echo request.
func echoRequest(srcMAC, dstMAC wire.MAC, src, dst netip.Addr, hop uint8, next uint8) []byte {
	b := make([]byte, wire.EthernetHeaderLen+wire.IPv6HeaderLen+wire.ICMPv6HeaderLen+4)
	wire.Ethernet(b).Encode(&wire.EthernetFields{Dst: dstMAC, Src: srcMAC, Type: wire.EtherTypeIPv6})
	ip := b[wire.EthernetHeaderLen:]
	wire.IPv6(ip).Encode(&wire.IPv6Fields{PayloadLen: wire.ICMPv6HeaderLen + 4, NextHeader: next, HopLimit: hop, Src: src, Dst: dst})
	m := wire.ICMPv6(ip[wire.IPv6HeaderLen:])
	m.Encode(&wire.ICMPv6Fields{Type: wire.ICMPv6EchoRequest, ID: 7, Seq: 1})
	copy(m[wire.ICMPv6HeaderLen:], "ping")
	m.SetChecksum(src, dst)
	return b
}

// TestICMPv6Echo: b answers an echo request, first resolving a's address
// by neighbour discovery; an unknown next header is a Parameter Problem.
func TestICMPv6Echo(t *testing.T) {
	p := newPair6(t)
	amac, bmac := wire.MAC(p.anic.MAC()), wire.MAC(p.bnic.MAC())
	p.bnic.Deliver(stack.Packet{ID: 1, Data: echoRequest(amac, bmac, a6, b6, 64, wire.ProtoICMPv6)})
	p.clock.RunFor(time.Second)
	want := []string{"b NS " + wire.SolicitedNodeAddr(a6).String(), "a NA " + b6.String(), "b echo-reply " + a6.String()}
	if len(p.frames) != 3 || p.frames[0] != want[0] || p.frames[1] != want[1] || p.frames[2] != want[2] {
		t.Fatalf("frames %v, want %v", p.frames, want)
	}
	if counter(t, p.b, "icmp6.InEchos") != 1 || counter(t, p.b, "icmp6.OutEchoReplies") != 1 {
		t.Errorf("echo counters")
	}
	// Protocol 200 is unknown: Parameter Problem code 1.
	bad := echoRequest(amac, bmac, a6, b6, 64, 200)
	p.bnic.Deliver(stack.Packet{ID: 2, Data: bad})
	p.clock.RunFor(time.Second)
	if last := p.frames[len(p.frames)-1]; last != "b param-problem "+a6.String() || counter(t, p.b, "ip6.InUnknownProtos") != 1 {
		t.Errorf("unknown next header: %v", p.frames)
	}
	// A multicast source is martian.
	p.bnic.Deliver(stack.Packet{ID: 3, Data: echoRequest(amac, bmac, netip.MustParseAddr("ff02::1"), b6, 64, wire.ProtoICMPv6)})
	if counter(t, p.b, "ip6.InAddrErrors") != 1 {
		t.Errorf("multicast source accepted")
	}
}

// TestNDPUnreachability walks a's entry for b through NUD: reachable
// after resolution, stale after 30 s idle, DELAY when used, PROBE after
// 5 s without a confirmation (b never answers the UDP), reachable again
// when b answers the unicast probe.
func TestNDPUnreachability(t *testing.T) {
	p := newPair6(t)
	srv, err := p.b.ListenUDP(netip.AddrPortFrom(netip.IPv6Unspecified(), 9))
	must(t, err)
	defer srv.Close()
	cl, err := p.a.DialUDP(netip.AddrPort{}, netip.AddrPortFrom(b6, 9))
	must(t, err)
	cl.Write([]byte("1"))
	p.clock.RunFor(time.Second)
	if st := p.anic.NeighborState(b6); st != "reachable" {
		t.Fatalf("after resolution: %s", st)
	}
	p.clock.RunFor(40 * time.Second)
	if st := p.anic.NeighborState(b6); st != "stale" {
		t.Fatalf("after 40 s idle: %s", st)
	}
	p.frames = nil
	cl.Write([]byte("2"))
	if st := p.anic.NeighborState(b6); st != "delay" {
		t.Fatalf("used while stale: %s", st)
	}
	p.clock.RunFor(5*time.Second + 500*time.Microsecond)
	if st := p.anic.NeighborState(b6); st != "probe" {
		t.Fatalf("5 s after: %s (frames %v)", st, p.frames)
	}
	p.clock.RunFor(time.Second)
	if st := p.anic.NeighborState(b6); st != "reachable" {
		t.Fatalf("after the probe: %s", st)
	}
	if len(p.frames) != 2 || p.frames[0] != "a NS "+b6.String() || p.frames[1] != "b NA "+a6.String() {
		t.Errorf("probe exchange %v, want a unicast NS and its NA", p.frames)
	}
	// No answer at all: the queued datagram is dropped and counted.
	p.filter = func(*stack.NIC, []byte) bool { return false }
	c2, err := p.a.DialUDP(netip.AddrPort{}, netip.MustParseAddrPort("[2001:db8::99]:9"))
	must(t, err)
	c2.Write([]byte("lost"))
	p.clock.RunFor(10 * time.Second)
	if counter(t, p.a, "ndp.PendingDrops") != 1 || p.anic.NeighborState(netip.MustParseAddr("2001:db8::99")) != "none" {
		t.Errorf("unresolved: PendingDrops %d, state %s", counter(t, p.a, "ndp.PendingDrops"), p.anic.NeighborState(netip.MustParseAddr("2001:db8::99")))
	}
}

// TestIPv6Loopback connects over ::1 and to the host's own address.
func TestIPv6Loopback(t *testing.T) {
	p := newPair6(t)
	for _, dst := range []netip.Addr{netip.IPv6Loopback(), a6} {
		l, _ := p.a.SocketFamily(stack.AFInet6, stack.SockStream)
		must(t, p.a.Bind(l, netip.AddrPortFrom(netip.IPv6Unspecified(), 0)))
		must(t, p.a.Listen(l, 8))
		must(t, p.a.SetNonblock(l, true))
		port, _ := p.a.GetSockname(l)
		c, _ := p.a.SocketFamily(stack.AFInet6, stack.SockStream)
		must(t, p.a.SetNonblock(c, true))
		p.a.Connect(c, netip.AddrPortFrom(dst, port.Port()))
		p.clock.RunFor(time.Second)
		must(t, p.a.SockError(c))
		s, remote, err := p.a.Accept(l)
		must(t, err)
		if remote.Addr() != dst {
			t.Errorf("over lo to %v: peer %v", dst, remote)
		}
		must(t, p.a.SetNonblock(s, true))
		msg := bytes.Repeat([]byte("lo6 "), 50000)
		if got := exchange(t, p.clock, p.a, p.a, c, s, msg); !bytes.Equal(got, msg) {
			t.Fatalf("over lo to %v: %d bytes of %d", dst, len(got), len(msg))
		}
		info, _ := p.a.TCPInfo(c)
		// lo's MTU is 65536, as Linux's; IPv6 can use all of it.
		if info.RcvMSS != 65536-60 {
			t.Errorf("lo MSS %d, want %d", info.RcvMSS, 65536-60)
		}
	}
	if len(p.frames) != 0 {
		t.Errorf("loopback traffic left the host: %v", p.frames)
	}
}

// slaacPair is a SLAAC host a and an advertising router r on one link;
// rAddrs are r's IPv6 addresses.
func slaacPair(t *testing.T, rAddrs ...string) (*sim.Clock, *stack.Stack, *stack.NIC, *stack.Stack) {
	t.Helper()
	return slaacPairMTU(t, 0, rAddrs...)
}

// slaacPairMTU is slaacPair with the router's interface MTU set.
func slaacPairMTU(t *testing.T, rMTU int, rAddrs ...string) (*sim.Clock, *stack.Stack, *stack.NIC, *stack.Stack) {
	t.Helper()
	return slaacPairOpts(t, rMTU, stack.Options{}, rAddrs...)
}

// slaacPairOpts is slaacPairMTU with the router's prefix lifetimes
// taken from ro.
func slaacPairOpts(t *testing.T, rMTU int, ro stack.Options, rAddrs ...string) (*sim.Clock, *stack.Stack, *stack.NIC, *stack.Stack) {
	t.Helper()
	clock := sim.NewClock(time.Unix(0, 0))
	var id uint64
	pid := func() uint64 { id++; return id }
	a := stack.New(stack.Options{Name: "a", Clock: clock, Rand: rand.New(rand.NewPCG(1, 2)), PacketID: pid})
	r := stack.New(stack.Options{Name: "r", Clock: clock, Rand: rand.New(rand.NewPCG(3, 4)), PacketID: pid, Forwarding: true, RouterAdvertisements: true,
		RAValidLifetime: ro.RAValidLifetime, RAPreferredLifetime: ro.RAPreferredLifetime})
	var an, rn *stack.NIC
	link := func(to **stack.NIC) stack.Link {
		return stack.LinkFunc(func(pkt stack.Packet) {
			data := append([]byte(nil), pkt.Data...)
			pid := pkt.ID
			clock.AfterFunc(time.Millisecond, func() { (*to).Deliver(stack.Packet{ID: pid, Data: data}) })
		})
	}
	var p6 []netip.Prefix
	for _, s := range rAddrs {
		p6 = append(p6, netip.MustParsePrefix(s))
	}
	var err error
	an, err = a.AddNIC(stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24"), MAC: []byte{2, 0, 0, 0, 0, 1}, SLAAC: true}, link(&rn))
	must(t, err)
	rn, err = r.AddNIC(stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.254/24"), MAC: []byte{2, 0, 0, 0, 0, 0xfe}, Addrs6: p6, MTU: rMTU}, link(&an))
	must(t, err)
	return clock, a, an, r
}

// TestSLAAC: the host solicits, the router advertises its /64, the host
// forms prefix+EUI-64, tests it with DAD and assigns it a second later,
// with the router as its default route; it then reaches an address
// beyond the router.
func TestSLAAC(t *testing.T) {
	clock, a, an, r := slaacPair(t, "2001:db8:1::fe/64", "2001:db8:9::fe/64")
	want := netip.MustParseAddr("2001:db8:1::ff:fe00:1")
	clock.RunFor(900 * time.Millisecond)
	for _, p := range an.Addrs6() {
		if p.Addr() == want {
			t.Fatalf("address assigned before DAD ended")
		}
	}
	clock.RunFor(2 * time.Second)
	got := map[netip.Addr]bool{}
	for _, p := range an.Addrs6() {
		got[p.Addr()] = true
	}
	if !got[want] || !got[netip.MustParseAddr("2001:db8:9::ff:fe00:1")] {
		t.Fatalf("addresses %v, want %v and its 2001:db8:9:: twin", an.Addrs6(), want)
	}
	if counter(t, a, "icmp6.OutRouterSolicits") != 1 || counter(t, r, "icmp6.OutRouterAdvertisements") < 1 {
		t.Errorf("RS/RA counters: %d/%d", counter(t, a, "icmp6.OutRouterSolicits"), counter(t, r, "icmp6.OutRouterAdvertisements"))
	}
	var def bool
	for _, rt := range a.Routes() {
		if rt.Dst.Bits() == 0 && rt.Dst.Addr().Is6() && rt.Gateway.IsLinkLocalUnicast() {
			def = true
		}
	}
	if !def {
		t.Errorf("no IPv6 default route via the router: %v", a.Routes())
	}
	// The router's own other address is reached through the default route.
	c, _ := a.SocketFamily(stack.AFInet6, stack.SockStream)
	must(t, a.SetNonblock(c, true))
	a.Connect(c, netip.MustParseAddrPort("[2001:db8:9::fe]:80"))
	clock.RunFor(time.Second)
	if err := a.SockError(c); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect through the learnt router: %v, want ECONNREFUSED (RST from it)", err)
	}
}

// TestSLAACDuplicate: the router already has the address the host would
// form; it defends it, and the host does not assign it.
func TestSLAACDuplicate(t *testing.T) {
	clock, a, an, _ := slaacPair(t, "2001:db8:1::fe/64", "2001:db8:1::ff:fe00:1/64")
	clock.RunFor(3 * time.Second)
	for _, p := range an.Addrs6() {
		if p.Addr() == netip.MustParseAddr("2001:db8:1::ff:fe00:1") {
			t.Fatalf("duplicate address assigned")
		}
	}
	if counter(t, a, "ndp.DADFailures") != 1 {
		t.Errorf("ndp.DADFailures = %d, want 1", counter(t, a, "ndp.DADFailures"))
	}
}

// TestICMPv6EchoSocket: an AF_INET6 echo socket pings b and ::1 and
// reads the replies, header included, with its id and the payload.
func TestICMPv6EchoSocket(t *testing.T) {
	p := newPair6(t)
	for _, dst := range []netip.Addr{b6, netip.IPv6Loopback()} {
		fd, err := p.a.SocketFamily(stack.AFInet6, stack.SockICMP)
		must(t, err)
		must(t, p.a.SetNonblock(fd, true))
		must(t, p.a.Connect(fd, netip.AddrPortFrom(dst, 0)))
		if _, err := p.a.Send(fd, []byte("ping6")); err != nil {
			t.Fatal(err)
		}
		p.clock.RunFor(time.Second)
		buf := make([]byte, 100)
		n, from, err := p.a.RecvFrom(fd, buf)
		must(t, err)
		m := wire.ICMPv6(buf[:n])
		if from.Addr() != dst || n != wire.ICMPv6HeaderLen+5 || m.Type() != wire.ICMPv6EchoReply || string(m.Body()) != "ping6" {
			t.Fatalf("ping %v: %d bytes from %v: % x", dst, n, from, buf[:n])
		}
		must(t, p.a.Close(fd))
	}
	if counter(t, p.a, "icmp6.OutEchos") != 2 || counter(t, p.a, "icmp6.InEchoReplies") != 2 {
		t.Errorf("echo counters: out %d, replies %d", counter(t, p.a, "icmp6.OutEchos"), counter(t, p.a, "icmp6.InEchoReplies"))
	}
}

// TestSLAACPrefixLifetimes: an autoconfigured address lives by its
// prefix's lifetimes (RFC 4862 §5.5.3–5.5.4): renewed by each
// advertisement (at 0, 16 and 32 s, then not before 232 s), deprecated
// when the preferred one ends — still on the interface and, with no
// other global address, still the source of new traffic — and removed,
// with its prefix route, when the valid one ends.
func TestSLAACPrefixLifetimes(t *testing.T) {
	clock, a, an, _ := slaacPairOpts(t, 0, stack.Options{RAValidLifetime: 60 * time.Second, RAPreferredLifetime: 40 * time.Second}, "2001:db8:1::fe/64")
	addr := netip.MustParseAddr("2001:db8:1::ff:fe00:1")
	has := func() bool {
		for _, p := range an.Addrs6() {
			if p.Addr() == addr {
				return true
			}
		}
		return false
	}
	onLink := func() bool {
		for _, rt := range a.Routes() {
			if rt.Dst == netip.MustParsePrefix("2001:db8:1::/64") {
				return true
			}
		}
		return false
	}
	clock.RunFor(3 * time.Second)
	if !has() || !onLink() {
		t.Fatalf("address %v, routes %v after the first advertisement", an.Addrs6(), a.Routes())
	}
	_, _, dep, _ := an.AutoAddrLifetimes(addr)
	clock.RunFor(69 * time.Second) // 72 s: the renewal at 32 s gave preferred to 72, valid to 92
	if !has() || dep || counter(t, a, "ndp.AddrDeprecated") != 0 {
		t.Fatalf("at 72 s: present %v, deprecated %v/%d", has(), dep, counter(t, a, "ndp.AddrDeprecated"))
	}
	clock.RunFor(3 * time.Second)
	if _, _, dep, ok := an.AutoAddrLifetimes(addr); !ok || !dep || counter(t, a, "ndp.AddrDeprecated") != 1 {
		t.Fatalf("at 75 s: present %v, deprecated %v, counter %d; want a deprecated address", ok, dep, counter(t, a, "ndp.AddrDeprecated"))
	}
	u, err := a.DialUDP(netip.AddrPort{}, netip.MustParseAddrPort("[2001:db8:1::fe]:9"))
	must(t, err)
	if l := u.LocalAddr().(*net.UDPAddr); l.IP.String() != addr.String() {
		t.Errorf("source %v with the only global address deprecated, want it still: %v", l, addr)
	}
	u.Close()
	clock.RunFor(20 * time.Second)
	if has() || onLink() || counter(t, a, "ndp.AddrExpired") != 1 {
		t.Fatalf("at 95 s: address %v, prefix route %v, ndp.AddrExpired %d; want it removed", an.Addrs6(), onLink(), counter(t, a, "ndp.AddrExpired"))
	}
}

// TestSLAACTwoHourRule: an advertisement sets the preferred lifetime as
// it says, and the valid one as it says only when that is more than two
// hours or more than what remains; otherwise what remains, cut to two
// hours at most (RFC 4862 §5.5.3 (e), Linux's MIN_VALID_LIFETIME), so a
// spoofed advertisement cannot end an address at once. 0xffffffff is
// infinite.
func TestSLAACTwoHourRule(t *testing.T) {
	clock, a, an, r := slaacPairOpts(t, 0, stack.Options{RAValidLifetime: 3 * time.Hour, RAPreferredLifetime: time.Hour}, "2001:db8:1::fe/64")
	addr := netip.MustParseAddr("2001:db8:1::ff:fe00:1")
	clock.RunFor(3 * time.Second)
	r.Destroy() // no more advertisements: only those given below
	check := func(what string, valid, pref time.Duration) {
		t.Helper()
		v, p, _, ok := an.AutoAddrLifetimes(addr)
		now := clock.Now()
		if !ok {
			t.Fatalf("%s: no address", what)
		}
		if got := v.Sub(now); v.IsZero() && valid != 0 || !v.IsZero() && got != valid {
			t.Errorf("%s: valid for %v more (zero time %v), want %v", what, got, v.IsZero(), valid)
		}
		if got := p.Sub(now); p.IsZero() && pref != 0 || !p.IsZero() && got != pref {
			t.Errorf("%s: preferred for %v more, want %v", what, got, pref)
		}
	}
	a.RenewAddr(an, addr, 60, 30) // 3 h remain: cut to 2 h, not to 60 s
	check("60 s advertised, 3 h left", 2*time.Hour, 30*time.Second)
	clock.RunFor(time.Hour)
	a.RenewAddr(an, addr, 60, 30) // 1 h remains (≤ 2 h): kept
	check("60 s advertised, 1 h left", time.Hour, 30*time.Second)
	a.RenewAddr(an, addr, 5400, 60) // 90 min > the 1 h left: taken
	check("90 min advertised", 90*time.Minute, time.Minute)
	a.RenewAddr(an, addr, 0xffffffff, 0xffffffff)
	check("infinite", 0, 0)
	a.RenewAddr(an, addr, 60, 30) // an infinite lifetime remains: cut to 2 h (Linux: max(60, min(∞, 2 h)))
	check("60 s advertised, infinite left", 2*time.Hour, 30*time.Second)
	a.RenewAddr(an, addr, 10800, 20000) // preferred above valid: valid's
	check("3 h, preferred above it", 3*time.Hour, 3*time.Hour)
}

// TestSLAACRouterLifetime: the default router learnt from an
// advertisement is the default for its router lifetime (1800 s here),
// renewed by each advertisement, and forgotten when they stop (RFC 4861
// §6.3.4).
func TestSLAACRouterLifetime(t *testing.T) {
	clock, a, _, r := slaacPair(t, "2001:db8:1::fe/64")
	hasDefault := func() bool {
		for _, rt := range a.Routes() {
			if rt.Dst.Bits() == 0 && rt.Dst.Addr().Is6() {
				return true
			}
		}
		return false
	}
	clock.RunFor(3 * time.Second)
	if !hasDefault() {
		t.Fatal("no default route from the advertisement")
	}
	clock.RunFor(2000 * time.Second) // advertisements keep coming: renewed
	if !hasDefault() {
		t.Fatal("the default route expired while the router kept advertising")
	}
	r.Destroy() // its last advertisement was at most 600 s ago (MaxRtrAdvInterval)
	clock.RunFor(1100 * time.Second)
	if !hasDefault() {
		t.Fatal("the default route went before its lifetime")
	}
	clock.RunFor(800 * time.Second)
	if hasDefault() {
		t.Fatalf("the default route outlived its router's lifetime: %v", a.Routes())
	}
}

// TestSLAACMTU: the advertisement's MTU option sets the host's IPv6 MTU
// on that link (its IPv4 MTU stays), and what the host sends over IPv6 is
// sized to it: a 1,400-byte datagram leaves in fragments.
func TestSLAACMTU(t *testing.T) {
	clock, a, an, _ := slaacPairMTU(t, 1380, "2001:db8:1::fe/64")
	clock.RunFor(3 * time.Second)
	if an.MTU6() != 1380 || an.MTU() != 1500 {
		t.Fatalf("MTU6 %d, MTU %d; want 1380 and 1500", an.MTU6(), an.MTU())
	}
	u, err := a.DialUDP(netip.AddrPort{}, netip.MustParseAddrPort("[2001:db8:1::fe]:9"))
	must(t, err)
	if _, err := u.Write(make([]byte, 1400)); err != nil {
		t.Fatal(err)
	}
	clock.RunFor(time.Second)
	if got := counter(t, a, "ip6.FragCreates"); got != 2 {
		t.Errorf("ip6.FragCreates = %d, want 2", got)
	}
}
