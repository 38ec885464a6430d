package stack_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
)

// pair is two stacks on one Ethernet segment, in virtual time.
type pair struct {
	clock      *sim.Clock
	a, b       *stack.Stack
	anic, bnic *stack.NIC
	aAddr      netip.Addr
	bAddr      netip.Addr
	filter     func(from *stack.NIC, data []byte) bool // false drops
	// mangle, if set, sees each frame that passes, a copy it may change
	// (data, checksum mark), before it is delivered.
	mangle func(from *stack.NIC, pkt *stack.Packet)
}

func newPair(t testing.TB, typ stack.LinkType, mtu int) *pair {
	t.Helper()
	return newPairWith(t, typ, mtu, stack.Options{})
}

// newPairWith is newPair with o's settings for both stacks (their name,
// clock, randomness and packet ids are the pair's own).
func newPairWith(t testing.TB, typ stack.LinkType, mtu int, o stack.Options) *pair {
	t.Helper()
	p := &pair{clock: sim.NewClock(time.Unix(0, 0))}
	var id uint64
	pid := func() uint64 { id++; return id }
	oa, ob := o, o
	oa.Name, oa.Clock, oa.Rand, oa.PacketID = "a", p.clock, rand.New(rand.NewPCG(1, 2)), pid
	ob.Name, ob.Clock, ob.Rand, ob.PacketID = "b", p.clock, rand.New(rand.NewPCG(3, 4)), pid
	p.a = stack.New(oa)
	p.b = stack.New(ob)
	link := func(from **stack.NIC, to **stack.NIC) stack.Link {
		return stack.LinkFunc(func(pkt stack.Packet) {
			if p.filter != nil && !p.filter(*from, pkt.Data) {
				return
			}
			out := stack.Packet{ID: pkt.ID, Data: append([]byte(nil), pkt.Data...), ChecksumOK: pkt.ChecksumOK}
			if p.mangle != nil {
				p.mangle(*from, &out)
			}
			p.clock.AfterFunc(time.Millisecond, func() { (*to).Deliver(out) })
		})
	}
	var err error
	p.aAddr, p.bAddr = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	p.anic, err = p.a.AddNIC(stack.NICConfig{Name: "eth0", Type: typ, Addr: netip.PrefixFrom(p.aAddr, 24), MTU: mtu}, link(&p.anic, &p.bnic))
	if err != nil {
		t.Fatal(err)
	}
	p.bnic, err = p.b.AddNIC(stack.NICConfig{Name: "eth0", Type: typ, Addr: netip.PrefixFrom(p.bAddr, 24), MTU: mtu}, link(&p.bnic, &p.anic))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func counter(t testing.TB, s *stack.Stack, name string) uint64 {
	t.Helper()
	v, ok := s.Counter(name)
	if !ok {
		t.Fatalf("no counter %s", name)
	}
	return v
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPing(t *testing.T) {
	for _, typ := range []stack.LinkType{stack.LinkEthernet, stack.LinkRawIP} {
		t.Run(typ.String(), func(t *testing.T) {
			p := newPair(t, typ, 1500)
			fd, err := p.a.Socket(stack.SockICMP)
			must(t, err)
			must(t, p.a.SetNonblock(fd, true))
			_, err = p.a.SendTo(fd, []byte("abcdefgh"), netip.AddrPortFrom(p.bAddr, 0))
			must(t, err)
			p.clock.Run()
			buf := make([]byte, 100)
			n, from, err := p.a.RecvFrom(fd, buf)
			must(t, err)
			if from.Addr() != p.bAddr {
				t.Errorf("reply from %v, want %v", from, p.bAddr)
			}
			// The reply is the whole ICMP message, header included.
			if n != 16 || !bytes.Equal(buf[8:n], []byte("abcdefgh")) || buf[0] != 0 {
				t.Errorf("reply %x", buf[:n])
			}
			if got := counter(t, p.b, "icmp.OutEchoReps"); got != 1 {
				t.Errorf("b icmp.OutEchoReps = %d", got)
			}
			if typ == stack.LinkEthernet && counter(t, p.a, "arp.OutRequests") != 1 {
				t.Errorf("a sent %d ARP requests, want 1", counter(t, p.a, "arp.OutRequests"))
			}
		})
	}
}

func TestUDPEchoAndRefused(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	srv, _ := p.b.Socket(stack.SockDgram)
	must(t, p.b.Bind(srv, netip.AddrPortFrom(netip.Addr{}, 7)))
	must(t, p.b.SetNonblock(srv, true))
	cli, _ := p.a.Socket(stack.SockDgram)
	must(t, p.a.SetNonblock(cli, true))
	must(t, p.a.Connect(cli, netip.AddrPortFrom(p.bAddr, 7)))
	_, err := p.a.Send(cli, []byte("hello"))
	must(t, err)
	p.clock.Run()
	buf := make([]byte, 64)
	n, from, err := p.b.RecvFrom(srv, buf)
	must(t, err)
	if string(buf[:n]) != "hello" || from.Addr() != p.aAddr {
		t.Fatalf("server got %q from %v", buf[:n], from)
	}
	_, err = p.b.SendTo(srv, buf[:n], from)
	must(t, err)
	p.clock.Run()
	n, err = p.a.Recv(cli, buf)
	must(t, err)
	if string(buf[:n]) != "hello" {
		t.Fatalf("client got %q", buf[:n])
	}

	// Now to a closed port: the ICMP port unreachable turns into
	// ECONNREFUSED on the connected socket.
	must(t, p.a.Connect(cli, netip.AddrPortFrom(p.bAddr, 9)))
	_, err = p.a.Send(cli, []byte("anyone?"))
	must(t, err)
	p.clock.Run()
	if _, err := p.a.Recv(cli, buf); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("recv after port unreachable: %v, want ECONNREFUSED", err)
	}
	if counter(t, p.b, "udp.NoPorts") != 1 || counter(t, p.b, "icmp.OutDestUnreachs") != 1 {
		t.Errorf("b counters: NoPorts %d OutDestUnreachs %d", counter(t, p.b, "udp.NoPorts"), counter(t, p.b, "icmp.OutDestUnreachs"))
	}
}

func TestFragmentation(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 576)
	srv, _ := p.b.Socket(stack.SockDgram)
	must(t, p.b.Bind(srv, netip.AddrPortFrom(netip.Addr{}, 9000)))
	must(t, p.b.SetNonblock(srv, true))
	cli, _ := p.a.Socket(stack.SockDgram)
	big := make([]byte, 4000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	_, err := p.a.SendTo(cli, big, netip.AddrPortFrom(p.bAddr, 9000))
	must(t, err)
	p.clock.Run()
	buf := make([]byte, 8000)
	n, _, err := p.b.RecvFrom(srv, buf)
	must(t, err)
	if !bytes.Equal(buf[:n], big) {
		t.Fatalf("reassembled %d bytes, differ from the %d sent", n, len(big))
	}
	if f := counter(t, p.a, "ip.FragCreates"); f < 8 {
		t.Errorf("FragCreates = %d, want ≥ 8", f)
	}
	if counter(t, p.b, "ip.ReasmOKs") != 1 {
		t.Errorf("ReasmOKs = %d", counter(t, p.b, "ip.ReasmOKs"))
	}
}

func TestFragmentTimeout(t *testing.T) {
	p := newPair(t, stack.LinkRawIP, 576)
	dropped := 0
	p.filter = func(from *stack.NIC, data []byte) bool {
		// Drop the second fragment (offset != 0 and MF set).
		if len(data) > 20 && data[9] == 17 && data[6]&0x20 != 0 && (data[6]&0x1f != 0 || data[7] != 0) && dropped == 0 {
			dropped++
			return false
		}
		return true
	}
	srv, _ := p.b.Socket(stack.SockDgram)
	must(t, p.b.Bind(srv, netip.AddrPortFrom(netip.Addr{}, 9000)))
	cli, _ := p.a.Socket(stack.SockDgram)
	_, err := p.a.SendTo(cli, make([]byte, 2000), netip.AddrPortFrom(p.bAddr, 9000))
	must(t, err)
	p.clock.Run()
	if counter(t, p.b, "ip.ReasmFails") != 1 || counter(t, p.b, "icmp.OutTimeExcds") != 1 {
		t.Errorf("ReasmFails %d OutTimeExcds %d", counter(t, p.b, "ip.ReasmFails"), counter(t, p.b, "icmp.OutTimeExcds"))
	}
	if counter(t, p.a, "icmp.InTimeExcds") != 1 {
		t.Errorf("a did not get the time exceeded")
	}
}

func TestMalformedFramesAreCounted(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	frames := [][]byte{
		{},
		{1, 2, 3},
		append(bytes.Repeat([]byte{0xff}, 12), 0x08, 0x00), // IPv4 EtherType, no header
		append(append(bytes.Repeat([]byte{0xff}, 12), 0x08, 0x00), 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0xde, 0xad, 10, 0, 0, 1, 10, 0, 0, 2), // bad checksum
		append(append(bytes.Repeat([]byte{0xff}, 12), 0x08, 0x06), 0, 1),                                                                    // short ARP
	}
	for i, f := range frames {
		p.bnic.Deliver(stack.Packet{ID: uint64(100 + i), Data: f})
	}
	if got := counter(t, p.b, "link.InTruncated"); got != 2 {
		t.Errorf("InTruncated = %d, want 2", got)
	}
	if got := counter(t, p.b, "ip.InHdrErrors"); got != 2 {
		t.Errorf("InHdrErrors = %d, want 2", got)
	}
	if got := counter(t, p.b, "arp.InErrors"); got != 1 {
		t.Errorf("arp.InErrors = %d, want 1", got)
	}
}

func FuzzDeliver(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 10, 0, 0, 1, 8, 0, 0x45, 0, 0, 28, 0, 1, 0x20, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
	f.Add([]byte{0x45, 0, 0, 20})
	// A TCP segment and a UDP datagram to the open ports below.
	f.Add([]byte{0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0xc0, 0, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{0x45, 0, 0, 30, 0, 1, 0x20, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0xc0, 0, 0, 7, 0, 10, 0, 0, 'h', 'i'})
	f.Fuzz(func(t *testing.T, data []byte) {
		// The bytes as an Ethernet frame and as a raw IP packet, to a
		// host with open sockets, so that inputs reach TCP, UDP and
		// fragment reassembly rather than only the "no socket" paths.
		for _, typ := range []stack.LinkType{stack.LinkEthernet, stack.LinkRawIP} {
			p := newPair(t, typ, 1500)
			l, _ := p.b.Socket(stack.SockStream)
			p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80))
			p.b.Listen(l, 8)
			u, _ := p.b.Socket(stack.SockDgram)
			p.b.Bind(u, netip.AddrPortFrom(netip.Addr{}, 7))
			p.bnic.Deliver(stack.Packet{ID: 1, Data: data})
			p.clock.RunFor(time.Minute)
		}
	})
}
