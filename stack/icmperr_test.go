package stack_test

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/wire"
)

func rawStack(t *testing.T) (*sim.Clock, *stack.NIC, *[][]byte) {
	clock := sim.NewClock(time.Unix(0, 0))
	s := stack.New(stack.Options{Name: "h", Clock: clock, Rand: rand.New(rand.NewPCG(1, 2))})
	var out [][]byte
	nic, err := s.AddNIC(stack.NICConfig{Name: "tun0", Type: stack.LinkRawIP, Addr: netip.MustParsePrefix("10.0.0.2/24")},
		stack.LinkFunc(func(p stack.Packet) { out = append(out, append([]byte(nil), p.Data...)) }))
	if err != nil {
		t.Fatal(err)
	}
	// A default route, so that no error is held back for want of one.
	s.AddRoute(stack.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"), NIC: nic})
	return clock, nic, &out
}

func udpPkt(src, dst string, frag uint16, mf bool) []byte {
	b := make([]byte, 20+8+4)
	ip := wire.IPv4(b)
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(b)), ID: 7, TTL: 64, Protocol: wire.ProtoUDP,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), MF: mf, FragmentOffset: frag})
	u := wire.UDP(b[20:])
	u.Encode(&wire.UDPFields{SrcPort: 1000, DstPort: 9, Length: 12})
	u.SetChecksum(ip.Src(), ip.Dst())
	ip.SetChecksum()
	return b
}

func protoPkt(src, dst string, proto uint8) []byte {
	b := make([]byte, 28)
	ip := wire.IPv4(b)
	ip.Encode(&wire.IPv4Fields{TotalLen: 28, ID: 7, TTL: 64, Protocol: proto,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst)})
	ip.SetChecksum()
	return b
}

// TestNoICMPErrorsToNonHosts: no ICMP error answers a datagram from an
// address that names no host, nor one sent to a broadcast address
// (RFC 1122 §3.2.1.3, §3.2.2; RFC 1812 §4.3.2.7); such datagrams are
// dropped and counted.
func TestNoICMPErrorsToNonHosts(t *testing.T) {
	cases := []struct {
		name string
		pkt  []byte
	}{
		{"udp closed port from broadcast src", udpPkt("255.255.255.255", "10.0.0.2", 0, false)},
		{"udp closed port from multicast src", udpPkt("224.0.0.1", "10.0.0.2", 0, false)},
		{"udp closed port from directed bcast src", udpPkt("10.0.0.255", "10.0.0.2", 0, false)},
		{"udp closed port from loopback src", udpPkt("127.0.0.1", "10.0.0.2", 0, false)},
		{"udp closed port from class E src", udpPkt("240.0.0.1", "10.0.0.2", 0, false)},
		{"proto 99 to directed broadcast", protoPkt("10.0.0.1", "10.0.0.255", 99)},
		{"proto 99 to limited broadcast", protoPkt("10.0.0.1", "255.255.255.255", 99)},
		{"proto 99 from own address", protoPkt("10.0.0.2", "10.0.0.2", 99)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock, nic, out := rawStack(t)
			nic.Deliver(stack.Packet{ID: 1, Data: c.pkt})
			clock.RunFor(time.Second)
			for _, o := range *out {
				t.Errorf("sent ICMP %x to %v", o[20:22], wire.IPv4(o).Dst())
			}
		})
	}
}

// TestICMPPortUnreachableFailsConnect: an ICMP port unreachable quoting
// our SYN is a hard error (RFC 1122 §4.2.3.9): connect fails with
// ECONNREFUSED at once instead of retrying until ETIMEDOUT.
func TestICMPPortUnreachableFailsConnect(t *testing.T) {
	clock, nic, out := rawStack(t)
	s := nic.Stack()
	fd, _ := s.Socket(stack.SockStream)
	if err := s.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	s.Connect(fd, netip.MustParseAddrPort("10.0.0.1:80"))
	if len(*out) != 1 {
		t.Fatalf("sent %d packets, want the SYN", len(*out))
	}
	syn := wire.IPv4((*out)[0])
	msg := make([]byte, 8+len(syn))
	m := wire.ICMPv4(msg)
	m.Encode(&wire.ICMPv4Fields{Type: wire.ICMPDestUnreachable, Code: wire.ICMPCodePortUnreachable})
	copy(msg[8:], syn)
	m.SetChecksum()
	b := make([]byte, 20+len(msg))
	ip := wire.IPv4(b)
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(b)), ID: 9, TTL: 64, Protocol: wire.ProtoICMP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
	copy(b[20:], msg)
	ip.SetChecksum()
	nic.Deliver(stack.Packet{ID: 2, Data: b})
	clock.RunFor(10 * time.Millisecond)
	if err := s.SockError(fd); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("SO_ERROR = %v, want ECONNREFUSED", err)
	}
}

// TestARPFailureIsHostUnreachable: when the next hop never answers ARP,
// the queued packets are dropped and their sockets learn EHOSTUNREACH
// (RFC 1122 §2.3.2.2) instead of waiting for their own timeouts.
func TestARPFailureIsHostUnreachable(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	ghost := netip.MustParseAddrPort("10.0.0.99:80")
	u, _ := p.a.Socket(stack.SockDgram)
	must(t, p.a.SetNonblock(u, true))
	must(t, p.a.Connect(u, ghost))
	_, err := p.a.Send(u, []byte("anyone?"))
	must(t, err)
	c, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c, true))
	p.a.Connect(c, ghost)
	p.clock.RunFor(10 * time.Second)
	buf := make([]byte, 16)
	if _, err := p.a.Recv(u, buf); !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Errorf("udp recv after ARP failed: %v, want EHOSTUNREACH", err)
	}
	if err := p.a.SockError(c); !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Errorf("tcp connect after ARP failed: %v, want EHOSTUNREACH", err)
	}
}

// TestICMPErrorQuotingWrongSequenceIgnored: a port unreachable that
// quotes the SYN with a sequence number other than the one sent (an
// off-path guess) does not abort the connect (RFC 5927 §4.1, as Linux's
// tcp_v4_err); it is counted, and the right one still does.
func TestICMPErrorQuotingWrongSequenceIgnored(t *testing.T) {
	clock, nic, out := rawStack(t)
	s := nic.Stack()
	fd, _ := s.Socket(stack.SockStream)
	must(t, s.SetNonblock(fd, true))
	s.Connect(fd, netip.MustParseAddrPort("10.0.0.1:80"))
	syn := append([]byte(nil), (*out)[0]...)
	unreach := func(quoted []byte) []byte {
		msg := make([]byte, 8+len(quoted))
		m := wire.ICMPv4(msg)
		m.Encode(&wire.ICMPv4Fields{Type: wire.ICMPDestUnreachable, Code: wire.ICMPCodePortUnreachable})
		copy(msg[8:], quoted)
		m.SetChecksum()
		b := make([]byte, 20+len(msg))
		ip := wire.IPv4(b)
		ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(b)), ID: 9, TTL: 64, Protocol: wire.ProtoICMP,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
		copy(b[20:], msg)
		ip.SetChecksum()
		return b
	}
	forged := append([]byte(nil), syn...)
	tcp := wire.TCP(forged[20:])
	tcp.SetSeq(tcp.Seq() + 100000)
	nic.Deliver(stack.Packet{ID: 2, Data: unreach(forged)})
	clock.RunFor(10 * time.Millisecond)
	if err := s.SockError(fd); err != nil {
		t.Fatalf("SO_ERROR = %v after a forged error", err)
	}
	if info, _ := s.Info(fd); info.State != "SYN_SENT" {
		t.Fatalf("state %s after a forged error", info.State)
	}
	if n := counter(t, s, "tcp.OutOfWindowICMPs"); n != 1 {
		t.Fatalf("tcp.OutOfWindowICMPs %d", n)
	}
	nic.Deliver(stack.Packet{ID: 3, Data: unreach(syn)})
	clock.RunFor(10 * time.Millisecond)
	if err := s.SockError(fd); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("SO_ERROR = %v, want ECONNREFUSED", err)
	}
}
