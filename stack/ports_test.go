package stack

import (
	"errors"
	"net/netip"
	"stacklab/stack/tcp"
	"syscall"
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

// TestUDPPortsExhausted: bind(0) fills the whole ephemeral range (28,232
// ports, each handed out once), then fails with EADDRINUSE as Linux's
// udp_lib_get_port; closing a socket frees its port for the next
// bind(0), and a port two SO_REUSEADDR sockets share stays taken until
// both are closed. (Each bind(0) used to walk every bound socket per port
// tried: filling the range took minutes; now one map lookup per port.)
func TestUDPPortsExhausted(t *testing.T) {
	s := New(Options{Name: "h", MaxFDs: 40000})
	if _, err := s.AddNIC(NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24")}, LinkFunc(func(Packet) {})); err != nil {
		t.Fatal(err)
	}
	wild := netip.MustParseAddrPort("10.0.0.1:0")
	byPort := map[uint16]int{}
	for range tcp.DefaultPortLast - tcp.DefaultPortFirst + 1 {
		fd, _ := s.Socket(SockDgram)
		if err := s.Bind(fd, wild); err != nil {
			t.Fatalf("bind(0) #%d: %v", len(byPort), err)
		}
		a, _ := s.GetSockname(fd)
		if _, dup := byPort[a.Port()]; dup {
			t.Fatalf("port %d handed out twice", a.Port())
		}
		byPort[a.Port()] = fd
	}
	fd, _ := s.Socket(SockDgram)
	if err := s.Bind(fd, wild); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("bind(0) with the range full: %v, want EADDRINUSE", err)
	}
	// Two sockets share port 40001 (SO_REUSEADDR): free only when both go.
	s.Close(byPort[40001])
	var shared []int
	for range 2 {
		f, _ := s.Socket(SockDgram)
		if err := s.SetSockopt(f, SoReuseAddr, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Bind(f, netip.MustParseAddrPort("10.0.0.1:40001")); err != nil {
			t.Fatal(err)
		}
		shared = append(shared, f)
	}
	s.Close(shared[0])
	if err := s.Bind(fd, wild); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("bind(0) with 40001 still held by one socket: %v, want EADDRINUSE", err)
	}
	s.Close(shared[1])
	if err := s.Bind(fd, wild); err != nil {
		t.Fatalf("bind(0) after 40001 was freed: %v", err)
	}
	if a, _ := s.GetSockname(fd); a.Port() != 40001 {
		t.Fatalf("bind(0) took %d, want the freed 40001", a.Port())
	}
}

// TestTCPPortsExhausted: bind(0) and listen on an unbound socket fill
// the TCP ephemeral range (each port once), then fail with EADDRINUSE;
// a closed socket's port comes back; a port a connection left in
// TIME_WAIT without a descriptor holds is not handed out while it lasts.
// Each port tried is one lookup in the port index (s.tcpPorts) and
// tcp's per-port count, not a walk of every socket: the whole range
// fills in well under a second (it took minutes when each candidate
// walked the table, and 6.5 s when each bind walked it once).
func TestTCPPortsExhausted(t *testing.T) {
	s := New(Options{Name: "h", MaxFDs: 40000})
	if _, err := s.AddNIC(NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24")}, LinkFunc(func(Packet) {})); err != nil {
		t.Fatal(err)
	}
	wild := netip.MustParseAddrPort("10.0.0.1:0")
	byPort := map[uint16]int{}
	for i := range tcp.DefaultPortLast - tcp.DefaultPortFirst + 1 {
		fd, _ := s.Socket(SockStream)
		var err error
		if i%2 == 0 {
			err = s.Bind(fd, wild)
		} else {
			err = s.Listen(fd, 1)
		}
		if err != nil {
			t.Fatalf("port #%d: %v", len(byPort), err)
		}
		a, _ := s.GetSockname(fd)
		if _, dup := byPort[a.Port()]; dup {
			t.Fatalf("port %d handed out twice", a.Port())
		}
		byPort[a.Port()] = fd
	}
	fd, _ := s.Socket(SockStream)
	if err := s.Bind(fd, wild); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("bind(0) with the range full: %v, want EADDRINUSE", err)
	}
	if err := s.Listen(fd, 1); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("listen on an unbound socket with the range full: %v, want EADDRINUSE", err)
	}
	s.Close(byPort[40001])
	if err := s.Bind(fd, wild); err != nil {
		t.Fatalf("bind(0) after 40001 was freed: %v", err)
	}
	if a, _ := s.GetSockname(fd); a.Port() != 40001 {
		t.Fatalf("bind(0) took %d, want the freed 40001", a.Port())
	}
}

// TestLocalPortRange: Options.LocalPortRange bounds the ports of a TCP
// and a UDP bind(0) as it does connect's, and a bind(0) with the range
// used up fails with EADDRINUSE, as Linux's.
func TestLocalPortRange(t *testing.T) {
	s := New(Options{Name: "h", LocalPortRange: [2]uint16{40000, 40002}})
	if _, err := s.AddNIC(NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24")}, LinkFunc(func(Packet) {})); err != nil {
		t.Fatal(err)
	}
	wild := netip.MustParseAddrPort("10.0.0.1:0")
	for _, typ := range []SockType{SockStream, SockDgram} {
		seen := map[uint16]bool{}
		for i := range 3 {
			fd, _ := s.Socket(typ)
			if err := s.Bind(fd, wild); err != nil {
				t.Fatalf("%v bind(0) #%d: %v", typ, i, err)
			}
			a, _ := s.GetSockname(fd)
			if p := a.Port(); p < 40000 || p > 40002 || seen[p] {
				t.Fatalf("%v bind(0) #%d took %d", typ, i, p)
			}
			seen[a.Port()] = true
		}
		fd, _ := s.Socket(typ)
		if err := s.Bind(fd, wild); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("%v bind(0) with the range used up: %v, want EADDRINUSE", typ, err)
		}
	}
}
