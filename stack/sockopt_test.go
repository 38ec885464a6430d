package stack_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"stacklab/stack"
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
