package stack_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"stacklab/stack"
	"stacklab/stack/wire"
)

func TestReusePortSpreadsConnections(t *testing.T) {
	s, clock, _ := loneStack(t)
	var ls []int
	for range 2 {
		l, _ := s.Socket(stack.SockStream)
		must(t, s.SetSockopt(l, stack.SoReusePort, 1))
		must(t, s.Bind(l, netip.MustParseAddrPort("127.0.0.1:80")))
		must(t, s.Listen(l, 64))
		must(t, s.SetNonblock(l, true))
		ls = append(ls, l)
	}
	third, _ := s.Socket(stack.SockStream)
	if err := s.Bind(third, netip.MustParseAddrPort("127.0.0.1:80")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("bind without SO_REUSEPORT into a group: %v, want EADDRINUSE", err)
	}
	const n = 40
	for range n {
		c, _ := s.Socket(stack.SockStream)
		must(t, s.SetNonblock(c, true))
		s.Connect(c, netip.MustParseAddrPort("127.0.0.1:80"))
	}
	clock.Run()
	got := make([]int, len(ls))
	for i, l := range ls {
		for {
			if _, _, err := s.Accept(l); err != nil {
				break
			}
			got[i]++
		}
	}
	if got[0]+got[1] != n || got[0] < n/5 || got[1] < n/5 {
		t.Fatalf("connections per listener %v, want %d spread over both", got, n)
	}
	// Closing one listener leaves the group to the other.
	must(t, s.Close(ls[0]))
	for range 5 {
		c, _ := s.Socket(stack.SockStream)
		s.SetNonblock(c, true)
		s.Connect(c, netip.MustParseAddrPort("127.0.0.1:80"))
	}
	clock.Run()
	k := 0
	for {
		if _, _, err := s.Accept(ls[1]); err != nil {
			break
		}
		k++
	}
	if k != 5 {
		t.Fatalf("after closing one listener the other accepted %d of 5", k)
	}
}

func TestRecvFlagsAndTimeouts(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, s, _ := connected(t, p)
	must(t, p.b.SetNonblock(s, false))
	p.a.Send(c, []byte("abcdef"))
	p.clock.Run()
	buf := make([]byte, 4)
	if n, _, err := p.b.RecvMsg(s, buf, stack.MsgPeek); n != 4 || err != nil || string(buf) != "abcd" {
		t.Fatalf("MSG_PEEK: %d %q %v", n, buf[:n], err)
	}
	if n, _ := p.b.InQ(s); n != 6 {
		t.Fatalf("SIOCINQ after a peek %d, want 6", n)
	}
	big := make([]byte, 10)
	if n, _, err := p.b.RecvMsg(s, big, 0); n != 6 || err != nil {
		t.Fatalf("recv after peek: %d %v", n, err)
	}
	if _, _, err := p.b.RecvMsg(s, big, stack.MsgDontWait); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("MSG_DONTWAIT on a blocking socket: %v, want EAGAIN", err)
	}
	if _, _, err := p.b.RecvMsg(s, big, 0x8000000); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("an unknown flag: %v, want EOPNOTSUPP", err)
	}
	if err := p.b.SetSockopt(s, stack.SoRcvTimeo, -1); !errors.Is(err, syscall.EDOM) {
		t.Fatalf("negative SO_RCVTIMEO: %v, want EDOM", err)
	}
	if v, err := p.b.GetSockopt(s, stack.SoType); v != 1 || err != nil {
		t.Fatalf("SO_TYPE %d %v", v, err)
	}
	if a, err := p.b.GetPeername(s); err != nil || a.Addr() != p.aAddr {
		t.Fatalf("getpeername %v %v", a, err)
	}
}

func TestBroadcastAndTTL(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	var ttls []uint8
	p.filter = func(from *stack.NIC, frame []byte) bool {
		ttls = append(ttls, wire.IPv4(frame[14:]).TTL())
		return true
	}
	r, _ := p.b.Socket(stack.SockDgram)
	must(t, p.b.Bind(r, netip.MustParseAddrPort("0.0.0.0:9")))
	must(t, p.b.SetNonblock(r, true))
	u, _ := p.a.Socket(stack.SockDgram)
	bcast := netip.MustParseAddrPort("10.0.0.255:9")
	if _, err := p.a.SendTo(u, []byte("x"), bcast); !errors.Is(err, syscall.EACCES) {
		t.Fatalf("broadcast without SO_BROADCAST: %v, want EACCES", err)
	}
	if err := p.a.Connect(u, bcast); !errors.Is(err, syscall.EACCES) {
		t.Fatalf("connect to a broadcast without SO_BROADCAST: %v, want EACCES", err)
	}
	must(t, p.a.SetSockopt(u, stack.SoBroadcast, 1))
	must(t, p.a.SetSockopt(u, stack.IPTTL, 7))
	_, err := p.a.SendTo(u, []byte("hello all"), bcast)
	must(t, err)
	p.clock.Run()
	buf := make([]byte, 20)
	n, from, err := p.b.RecvFrom(r, buf)
	if err != nil || string(buf[:n]) != "hello all" || from.Addr() != p.aAddr {
		t.Fatalf("broadcast received %q from %v, %v", buf[:n], from, err)
	}
	if len(ttls) == 0 || ttls[len(ttls)-1] != 7 {
		t.Fatalf("TTLs on the wire %v, want the last 7 (IP_TTL)", ttls)
	}
	c, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetSockopt(c, stack.TCPUserTimeout, 1500))
	if v, _ := p.a.GetSockopt(c, stack.TCPUserTimeout); v != 1500 {
		t.Fatalf("TCP_USER_TIMEOUT reads %d, want 1500", v)
	}
}
