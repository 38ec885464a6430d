package stack_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/linktest"
)

func TestTCPFacadeHandshakeDataClose(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	l, _ := p.b.Socket(stack.SockStream)
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
	must(t, p.b.Listen(l, 8))
	must(t, p.b.SetNonblock(l, true))
	if _, _, err := p.b.Accept(l); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("accept on an empty queue: %v, want EAGAIN", err)
	}
	c, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c, true))
	if err := p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80)); !errors.Is(err, syscall.EINPROGRESS) {
		t.Fatalf("non-blocking connect: %v, want EINPROGRESS", err)
	}
	p.clock.Run()
	if ev := p.a.Poll(c); ev&stack.PollOut == 0 {
		t.Fatalf("connected socket polls %b, want PollOut", ev)
	}
	must(t, p.a.SockError(c))
	if ev := p.b.Poll(l); ev&stack.PollIn == 0 {
		t.Fatalf("listener polls %b, want PollIn", ev)
	}
	s, remote, err := p.b.Accept(l)
	must(t, err)
	if remote.Addr() != p.aAddr {
		t.Errorf("accepted from %v", remote)
	}
	must(t, p.b.SetNonblock(s, true))
	msg := bytes.Repeat([]byte("0123456789"), 10000) // 100 kB
	sent := 0
	var got []byte
	buf := make([]byte, 8192)
	for i := 0; i < 10000 && len(got) < len(msg); i++ {
		if sent < len(msg) {
			n, err := p.a.Send(c, msg[sent:])
			if err != nil && !errors.Is(err, syscall.EAGAIN) {
				t.Fatal(err)
			}
			sent += n
		}
		p.clock.RunFor(10 * time.Millisecond)
		for {
			n, err := p.b.Recv(s, buf)
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			must(t, err)
			got = append(got, buf[:n]...)
		}
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("received %d bytes, want %d intact", len(got), len(msg))
	}
	must(t, p.a.Close(c))
	p.clock.RunFor(time.Second)
	if n, err := p.b.Recv(s, buf); n != 0 || err != nil {
		t.Fatalf("recv after FIN = %d, %v; want 0, nil (EOF)", n, err)
	}
	in, _ := p.b.Info(s)
	if in.State != "CLOSE_WAIT" {
		t.Errorf("server state %s, want CLOSE_WAIT", in.State)
	}
	must(t, p.b.Close(s))
	p.clock.Run()
	if v := counter(t, p.a, "tcp.ActiveOpens"); v != 1 {
		t.Errorf("tcp.ActiveOpens = %d", v)
	}
}

func TestTCPRefused(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c, true))
	p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 81))
	p.clock.Run()
	err := p.a.SockError(c)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("SO_ERROR after RST = %v, want ECONNREFUSED", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %T is not a *net.OpError", err)
	}
}

// realPair is two stacks in real time joined by a channel link.
func realPair(t testing.TB) (a, b *stack.Stack) {
	t.Helper()
	a = stack.New(stack.Options{Name: "a"})
	b = stack.New(stack.Options{Name: "b"})
	closer, err := linktest.Connect(
		a, stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24"), Addrs6: []netip.Prefix{netip.MustParsePrefix("2001:db8::1/64")}},
		b, stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.2/24"), Addrs6: []netip.Prefix{netip.MustParsePrefix("2001:db8::2/64")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closer() })
	return a, b
}

func TestTCPRealTimeDialListen(t *testing.T) {
	a, b := realPair(t)
	ln, err := b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:7"), 0)
	must(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.DialContext(ctx, "tcp", "10.0.0.2:7")
	must(t, err)
	msg := bytes.Repeat([]byte("abc"), 200000)
	go func() { c.Write(msg); c.(*stack.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	must(t, err)
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo returned %d bytes, want %d", len(got), len(msg))
	}
	c.Close()
	c, err = a.DialContext(ctx, "tcp", "10.0.0.2:9")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a closed port: %v, want ECONNREFUSED", err)
	}
	if c != nil {
		t.Fatalf("failed dial returned a non-nil net.Conn %#v", c)
	}
}

// TestNetConn runs x/net/nettest's TestConn over TCP between two stacks
// in real time, over IPv4 and over IPv6.
func TestNetConn(t *testing.T) {
	for _, f := range []struct{ any, peer string }{{"0.0.0.0", "10.0.0.2"}, {"::", "2001:db8::2"}} {
		t.Run(f.peer, func(t *testing.T) { netConn(t, netip.MustParseAddr(f.any), netip.MustParseAddr(f.peer)) })
	}
}

func netConn(t *testing.T, any, peer netip.Addr) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		a, b := realPair(t)
		ln, err := b.ListenTCP(netip.AddrPortFrom(any, 0), 0)
		if err != nil {
			return nil, nil, nil, err
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}()
		port := ln.Addr().(*net.TCPAddr).Port
		c1, err = a.DialTCP(context.Background(), netip.AddrPort{}, netip.AddrPortFrom(peer, uint16(port)))
		if err != nil {
			return nil, nil, nil, err
		}
		c2 = <-accepted
		if c2 == nil {
			return nil, nil, nil, errors.New("accept failed")
		}
		stop = func() {
			c1.Close()
			c2.Close()
			ln.Close()
		}
		return c1, c2, stop, nil
	})
	_ = runtime.NumGoroutine
}

func TestSetCongestionChecksTheName(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	fd, _ := p.a.Socket(stack.SockStream)
	if err := p.a.SetCongestion(fd, "cubic"); err != nil {
		t.Fatalf("cubic: %v", err)
	}
	if err := p.a.SetCongestion(fd, "vegas"); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("unknown controller: %v, want ENOENT", err)
	}
}

func TestEAGAINDoesNotAllocate(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	l, _ := p.b.Socket(stack.SockStream)
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
	must(t, p.b.Listen(l, 8))
	must(t, p.b.SetNonblock(l, true))
	buf := make([]byte, 10)
	p.b.Accept(l)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := p.b.Accept(l); !errors.Is(err, syscall.EAGAIN) {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("accept → EAGAIN allocates %.1f times", allocs)
	}
	c, _ := p.a.Socket(stack.SockDgram)
	must(t, p.a.Bind(c, netip.AddrPortFrom(netip.Addr{}, 9)))
	must(t, p.a.SetNonblock(c, true))
	p.a.Recv(c, buf)
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := p.a.Recv(c, buf); !errors.Is(err, syscall.EAGAIN) {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("recv → EAGAIN allocates %.1f times", allocs)
	}
}

// TestTCPSegmentsSentInPlace checks that TCP builds its segments where
// the network layer sends them from (tcpNet.SegmentBuffer), over IPv4 on
// Ethernet and raw IP links at both MTUs and over IPv6, and that the
// frames are whole: the links clear ChecksumOK, so the receiver verifies
// every checksum.
func TestTCPSegmentsSentInPlace(t *testing.T) {
	for _, tc := range []struct {
		typ stack.LinkType
		mtu int
	}{{stack.LinkEthernet, 1500}, {stack.LinkRawIP, 1500}, {stack.LinkEthernet, 65535}} {
		p := newPair(t, tc.typ, tc.mtu)
		p.mangle = func(_ *stack.NIC, pkt *stack.Packet) { pkt.ChecksumOK = false }
		sendInPlace(t, fmt.Sprintf("%v MTU %d", tc.typ, tc.mtu), p.clock, p.a, p.b, p.bAddr)
	}
	p := newPair6(t)
	sendInPlace(t, "IPv6", p.clock, p.a, p.b, b6)
}

// sendInPlace moves 360 kB from a to b's port 80 at dst and checks it
// arrives whole and every segment a sent was sent in place.
func sendInPlace(t *testing.T, name string, clock *sim.Clock, a, b *stack.Stack, dst netip.Addr) {
	t.Helper()
	fam, any := stack.AFInet, netip.IPv4Unspecified()
	if dst.Is6() {
		fam, any = stack.AFInet6, netip.IPv6Unspecified()
	}
	l, _ := b.SocketFamily(fam, stack.SockStream)
	must(t, b.Bind(l, netip.AddrPortFrom(any, 80)))
	must(t, b.Listen(l, 8))
	must(t, b.SetNonblock(l, true))
	c, _ := a.SocketFamily(fam, stack.SockStream)
	must(t, a.SetNonblock(c, true))
	a.Connect(c, netip.AddrPortFrom(dst, 80))
	clock.RunFor(time.Second)
	s, _, err := b.Accept(l)
	if err != nil {
		t.Fatalf("%s: accept: %v", name, err)
	}
	must(t, b.SetNonblock(s, true))
	msg := bytes.Repeat([]byte("in place "), 40000)
	var got []byte
	buf := make([]byte, 64<<10)
	for sent, i := 0, 0; i < 10000 && len(got) < len(msg); i++ {
		if sent < len(msg) {
			n, _ := a.Send(c, msg[sent:])
			sent += n
		}
		clock.RunFor(10 * time.Millisecond)
		for {
			n, err := b.Recv(s, buf)
			if err != nil {
				break
			}
			got = append(got, buf[:n]...)
		}
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("%s: received %d bytes, want %d intact", name, len(got), len(msg))
	}
	if bad := counter(t, b, "tcp.InCsumErrors"); bad != 0 {
		t.Errorf("%s: %d bad checksums", name, bad)
	}
	segs := counter(t, a, "tcp.OutSegs")
	if inPlace := a.TxInPlace(); inPlace != segs || segs == 0 {
		t.Errorf("%s: %d of %d segments sent in place", name, inPlace, segs)
	}
}
