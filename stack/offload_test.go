package stack_test

import (
	"net/netip"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// offloadPair is a pair whose link records each frame's
// Packet.ChecksumOK by IP protocol (0 for non-IP), as sent, and, when
// flip is set, flips the last byte of every IPv4 TCP or UDP frame (its
// payload) and delivers it with the mark the test chooses (mark), or
// the sender's (mark nil).
type offloadPair struct {
	*pair
	marks map[uint8][]bool
	flip  bool
	mark  *bool
}

func newOffloadPair(t *testing.T) *offloadPair {
	t.Helper()
	p := &offloadPair{pair: newPair(t, stack.LinkEthernet, 1500), marks: map[uint8][]bool{}}
	p.mangle = func(_ *stack.NIC, pkt *stack.Packet) {
		proto := uint8(0)
		if eth := wire.Ethernet(pkt.Data); eth.Type() == wire.EtherTypeIPv4 {
			proto = wire.IPv4(eth.Payload()).Protocol()
		}
		p.marks[proto] = append(p.marks[proto], pkt.ChecksumOK)
		if proto != wire.ProtoTCP && proto != wire.ProtoUDP {
			return
		}
		if p.flip {
			pkt.Data[len(pkt.Data)-1] ^= 0x5a
		}
		if p.mark != nil {
			pkt.ChecksumOK = *p.mark
		}
	}
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
// source (NIC.goodSrc), over IPv4 and IPv6: a source taken once is
// refused as martian after the stack gains that address on another
// interface, as it is then the stack's own address coming back from the
// network.
func TestMartianSourceAfterNewAddress(t *testing.T) {
	t.Run("ipv4", func(t *testing.T) {
		p := newPair(t, stack.LinkEthernet, 1500)
		checkMartianAfterNewAddress(t, p.clock, p.a, p.b, stack.AFInet, netip.AddrPortFrom(p.bAddr, 7), "ip.InAddrErrors",
			stack.NICConfig{Name: "eth1", Addr: netip.PrefixFrom(p.aAddr, 32)})
	})
	t.Run("ipv6", func(t *testing.T) {
		p := newPair6(t)
		checkMartianAfterNewAddress(t, p.clock, p.a, p.b, stack.AFInet6, netip.AddrPortFrom(b6, 7), "ip6.InAddrErrors",
			stack.NICConfig{Name: "eth1", Addr: netip.MustParsePrefix("192.0.2.1/32"), Addrs6: []netip.Prefix{netip.PrefixFrom(a6, 128)}})
	})
}

// checkMartianAfterNewAddress sends a datagram from a to b's dst, has b
// take a's address on a new interface (cfg), sends again, and checks
// that the second is refused and counted in counterName.
func checkMartianAfterNewAddress(t *testing.T, clock *sim.Clock, a, b *stack.Stack, f stack.Family, dst netip.AddrPort, counterName string, cfg stack.NICConfig) {
	t.Helper()
	srv, _ := b.SocketFamily(f, stack.SockDgram)
	must(t, b.Bind(srv, netip.AddrPortFrom(netip.Addr{}, dst.Port())))
	must(t, b.SetNonblock(srv, true))
	cli, _ := a.SocketFamily(f, stack.SockDgram)
	must(t, a.SetNonblock(cli, true))
	send := func() {
		t.Helper()
		_, err := a.SendTo(cli, []byte("x"), dst)
		must(t, err)
		clock.RunFor(time.Second)
	}
	send()
	if _, _, err := b.RecvFrom(srv, make([]byte, 8)); err != nil {
		t.Fatalf("first datagram: %v", err)
	}
	before := counter(t, b, counterName)
	_, err := b.AddNIC(cfg, stack.LinkFunc(func(stack.Packet) {}))
	must(t, err)
	send()
	if _, _, err := b.RecvFrom(srv, make([]byte, 8)); err == nil {
		t.Errorf("a datagram from the stack's own new address was received")
	}
	if got := counter(t, b, counterName); got != before+1 {
		t.Errorf("%s %d, want %d (martian source)", counterName, got, before+1)
	}
}
