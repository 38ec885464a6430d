package stack

import (
	"net/netip"
	"testing"
)

// TestBindEphemeralPorts checks the ports bind(0), listen on an unbound
// socket and UDP's bind(0) and implicit bind take, against what Linux 6.x
// does with its default ip_local_port_range (checked on the kernel: TCP
// bind(0) and listen give odd ports in 32768–60999, UDP either parity):
// all in Linux's range, TCP's odd (connect keeps the even ones), UDP's of
// both parities, and no port handed out twice while held.
func TestBindEphemeralPorts(t *testing.T) {
	s := New(Options{Name: "h"})
	if _, err := s.AddNIC(NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24")}, LinkFunc(func(Packet) {})); err != nil {
		t.Fatal(err)
	}
	inRange := func(p uint16) bool { return p >= 32768 && p <= 60999 }
	seen := map[uint16]bool{}
	take := func(typ SockType, listen bool) uint16 {
		t.Helper()
		fd, err := s.Socket(typ)
		if err != nil {
			t.Fatal(err)
		}
		if listen {
			err = s.Listen(fd, 1)
		} else {
			err = s.Bind(fd, netip.MustParseAddrPort("10.0.0.1:0"))
		}
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.GetSockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		return a.Port()
	}
	for i := range 200 {
		for _, listen := range []bool{false, true} {
			p := take(SockStream, listen)
			if !inRange(p) || p%2 == 0 {
				t.Fatalf("TCP port %d (listen %v, #%d): want an odd port in 32768–60999", p, listen, i)
			}
			if seen[p] {
				t.Fatalf("TCP port %d handed out twice", p)
			}
			seen[p] = true
		}
	}
	odd := 0
	for i := range 200 {
		p := take(SockDgram, false)
		if !inRange(p) {
			t.Fatalf("UDP port %d (#%d): want 32768–60999", p, i)
		}
		odd += int(p % 2)
	}
	if odd == 0 || odd == 200 {
		t.Errorf("UDP ports: %d of 200 odd, want both parities (Linux's udp_lib_get_port has no preference)", odd)
	}
	// The implicit bind of a first send takes a UDP port the same way.
	fd, _ := s.Socket(SockDgram)
	if _, err := s.SendTo(fd, []byte("x"), netip.MustParseAddrPort("10.0.0.2:9")); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.GetSockname(fd); !inRange(a.Port()) {
		t.Errorf("implicit bind took port %d, want 32768–60999", a.Port())
	}
}
