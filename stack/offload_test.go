package stack_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// offloadPair is two stacks joined by a link that records each frame's
// Packet.ChecksumOK and, when flip is set, flips a byte at the end of
// every IPv4 TCP or UDP frame (its payload) before delivering it with
// the mark the test chooses (mark), or the sender's (mark nil).
type offloadPair struct {
	clock *sim.Clock
	a, b  *stack.Stack
	bAddr netip.Addr
	marks map[uint8][]bool // by IP protocol (0 for non-IP), as sent
	flip  bool
	mark  *bool
}

func newOffloadPair(t *testing.T) *offloadPair {
	t.Helper()
	p := &offloadPair{clock: sim.NewClock(time.Unix(0, 0)), marks: map[uint8][]bool{}}
	var id uint64
	pid := func() uint64 { id++; return id }
	p.a = stack.New(stack.Options{Name: "a", Clock: p.clock, Rand: rand.New(rand.NewPCG(1, 2)), PacketID: pid})
	p.b = stack.New(stack.Options{Name: "b", Clock: p.clock, Rand: rand.New(rand.NewPCG(3, 4)), PacketID: pid})
	var anic, bnic *stack.NIC
	link := func(to **stack.NIC) stack.Link {
		return stack.LinkFunc(func(pkt stack.Packet) {
			data := append([]byte(nil), pkt.Data...)
			eth := wire.Ethernet(data)
			proto := uint8(0)
			if eth.Type() == wire.EtherTypeIPv4 {
				proto = wire.IPv4(eth.Payload()).Protocol()
			}
			p.marks[proto] = append(p.marks[proto], pkt.ChecksumOK)
			ok := pkt.ChecksumOK
			if proto == wire.ProtoTCP || proto == wire.ProtoUDP {
				if p.flip {
					data[len(data)-1] ^= 0x5a
				}
				if p.mark != nil {
					ok = *p.mark
				}
			}
			pkt = stack.Packet{ID: pkt.ID, Data: data, ChecksumOK: ok}
			p.clock.AfterFunc(time.Millisecond, func() { (*to).Deliver(pkt) })
		})
	}
	aAddr := netip.MustParseAddr("10.0.0.1")
	p.bAddr = netip.MustParseAddr("10.0.0.2")
	var err error
	anic, err = p.a.AddNIC(stack.NICConfig{Name: "eth0", Addr: netip.PrefixFrom(aAddr, 24)}, link(&bnic))
	must(t, err)
	bnic, err = p.b.AddNIC(stack.NICConfig{Name: "eth0", Addr: netip.PrefixFrom(p.bAddr, 24)}, link(&anic))
	must(t, err)
	_ = anic
	return p
}

// TestChecksumOffloadMarks checks which frames a stack vouches for: the
// TCP and UDP segments it builds, not ARP or ICMP (whose checksums an
// ICMP socket's user may write).
func TestChecksumOffloadMarks(t *testing.T) {
	p := newOffloadPair(t)
	u, _ := p.a.Socket(stack.SockDgram)
	must(t, p.a.SetNonblock(u, true))
	_, err := p.a.SendTo(u, []byte("x"), netip.AddrPortFrom(p.bAddr, 9))
	must(t, err)
	c, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c, true))
	_ = p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
	ping, _ := p.a.Socket(stack.SockICMP)
	must(t, p.a.SetNonblock(ping, true))
	_, err = p.a.SendTo(ping, []byte("abcdefgh"), netip.AddrPortFrom(p.bAddr, 0))
	must(t, err)
	p.clock.RunFor(time.Second)
	for proto, want := range map[uint8]bool{0: false, wire.ProtoICMP: false, wire.ProtoUDP: true, wire.ProtoTCP: true} {
		marks := p.marks[proto]
		if len(marks) == 0 {
			t.Errorf("no frame of protocol %d sent", proto)
		}
		for i, m := range marks {
			if m != want {
				t.Errorf("protocol %d frame %d: ChecksumOK %v, want %v", proto, i, m, want)
			}
		}
	}
}

// TestChecksumOffloadSkipsVerify checks the receiving side: a UDP
// datagram and a TCP segment whose checksum no longer verifies are
// dropped and counted when the link does not vouch for them, and taken
// as they are when it does (as Linux takes a CHECKSUM_UNNECESSARY skb).
func TestChecksumOffloadSkipsVerify(t *testing.T) {
	for _, vouch := range []bool{false, true} {
		p := newOffloadPair(t)
		p.flip, p.mark = true, &vouch
		srv, _ := p.b.Socket(stack.SockDgram)
		must(t, p.b.Bind(srv, netip.AddrPortFrom(netip.Addr{}, 7)))
		must(t, p.b.SetNonblock(srv, true))
		cli, _ := p.a.Socket(stack.SockDgram)
		must(t, p.a.SetNonblock(cli, true))
		_, err := p.a.SendTo(cli, []byte("hello"), netip.AddrPortFrom(p.bAddr, 7))
		must(t, err)
		l, _ := p.b.Socket(stack.SockStream)
		must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
		must(t, p.b.Listen(l, 8))
		c, _ := p.a.Socket(stack.SockStream)
		must(t, p.a.SetNonblock(c, true))
		_ = p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
		p.clock.RunFor(100 * time.Millisecond)

		buf := make([]byte, 16)
		n, _, err := p.b.RecvFrom(srv, buf)
		udpErrs := counter(t, p.b, "udp.InErrors")
		synAcks := len(p.marks[wire.ProtoTCP]) - 1 // the SYN was a's
		if vouch {
			if err != nil || n != 5 {
				t.Errorf("vouched: datagram not received (%d, %v)", n, err)
			}
			if udpErrs != 0 || synAcks < 1 {
				t.Errorf("vouched: udp.InErrors %d, %d TCP replies to the SYN; want 0 and at least 1", udpErrs, synAcks)
			}
		} else {
			if err == nil {
				t.Errorf("not vouched: a datagram with a bad checksum was received (%q)", buf[:n])
			}
			if udpErrs != 1 || synAcks != 0 {
				t.Errorf("not vouched: udp.InErrors %d, %d TCP replies to the SYN; want 1 and 0", udpErrs, synAcks)
			}
		}
	}
}

// TestMartianSourceAfterNewAddress checks the cache of the last good
// IPv4 source (NIC.goodSrc): a source taken once is refused as martian
// after the stack gains that address on another interface, as it is
// then the stack's own address coming back from the network.
func TestMartianSourceAfterNewAddress(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	srv, _ := p.b.Socket(stack.SockDgram)
	must(t, p.b.Bind(srv, netip.AddrPortFrom(netip.Addr{}, 7)))
	must(t, p.b.SetNonblock(srv, true))
	cli, _ := p.a.Socket(stack.SockDgram)
	must(t, p.a.SetNonblock(cli, true))
	send := func() {
		t.Helper()
		_, err := p.a.SendTo(cli, []byte("x"), netip.AddrPortFrom(p.bAddr, 7))
		must(t, err)
		p.clock.RunFor(time.Second)
	}
	send()
	if _, _, err := p.b.RecvFrom(srv, make([]byte, 8)); err != nil {
		t.Fatalf("first datagram: %v", err)
	}
	before := counter(t, p.b, "ip.InAddrErrors")
	_, err := p.b.AddNIC(stack.NICConfig{Name: "eth1", Addr: netip.PrefixFrom(p.aAddr, 32)}, stack.LinkFunc(func(stack.Packet) {}))
	must(t, err)
	send()
	if _, _, err := p.b.RecvFrom(srv, make([]byte, 8)); err == nil {
		t.Errorf("a datagram from the stack's own new address was received")
	}
	if got := counter(t, p.b, "ip.InAddrErrors"); got != before+1 {
		t.Errorf("ip.InAddrErrors %d, want %d (martian source)", got, before+1)
	}
}

// TestMartianSource6AfterNewAddress is TestMartianSourceAfterNewAddress
// over IPv6: the cache of the last good source is cleared when the stack
// gains that address.
func TestMartianSource6AfterNewAddress(t *testing.T) {
	p := newPair6(t)
	srv, _ := p.b.SocketFamily(stack.AFInet6, stack.SockDgram)
	must(t, p.b.Bind(srv, netip.AddrPortFrom(netip.IPv6Unspecified(), 7)))
	must(t, p.b.SetNonblock(srv, true))
	cli, _ := p.a.SocketFamily(stack.AFInet6, stack.SockDgram)
	must(t, p.a.SetNonblock(cli, true))
	send := func() {
		t.Helper()
		_, err := p.a.SendTo(cli, []byte("x"), netip.AddrPortFrom(b6, 7))
		must(t, err)
		p.clock.RunFor(time.Second)
	}
	send()
	if _, _, err := p.b.RecvFrom(srv, make([]byte, 8)); err != nil {
		t.Fatalf("first datagram: %v", err)
	}
	before := counter(t, p.b, "ip6.InAddrErrors")
	_, err := p.b.AddNIC(stack.NICConfig{Name: "eth1", Addr: netip.MustParsePrefix("192.0.2.1/32"),
		Addrs6: []netip.Prefix{netip.PrefixFrom(a6, 128)}}, stack.LinkFunc(func(stack.Packet) {}))
	must(t, err)
	send()
	if _, _, err := p.b.RecvFrom(srv, make([]byte, 8)); err == nil {
		t.Errorf("a datagram from the stack's own new address was received")
	}
	if got := counter(t, p.b, "ip6.InAddrErrors"); got != before+1 {
		t.Errorf("ip6.InAddrErrors %d, want %d (martian source)", got, before+1)
	}
}
