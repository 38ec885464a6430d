package stack_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stacklab/stack"
)

// TestDialContextCancelAfterSYN dials a host that never answers and
// cancels after the SYN is out: the dial must end at once, not after the
// SYN retry schedule.
func TestDialContextCancelAfterSYN(t *testing.T) {
	a := stack.New(stack.Options{Name: "a"})
	var syns atomic.Int32
	// A raw-IP link into the void: the SYN leaves and nothing answers.
	_, err := a.AddNIC(stack.NICConfig{Name: "tun0", Type: stack.LinkRawIP, Addr: netip.MustParsePrefix("10.0.0.1/24")},
		stack.LinkFunc(func(stack.Packet) { syns.Add(1) }))
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	c, err := a.DialContext(ctx, "tcp", "10.0.0.3:80")
	if c != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled dial = %v, %v; want nil, context.Canceled", c, err)
	}
	if d := time.Since(start); d > 2*time.Second || syns.Load() == 0 {
		t.Fatalf("cancelled dial took %v, %d SYNs sent; want an end at the cancel, after the SYN", d, syns.Load())
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := a.DialContext(ctx, "tcp", "10.0.0.3:80"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial past its deadline: %v, want context.DeadlineExceeded", err)
	}
}

func TestGoNetParity(t *testing.T) {
	s := stack.New(stack.Options{Name: "h"})
	ctrlCalls := 0
	lc := &stack.ListenConfig{Stack: s, Control: func(network, address string, fd int) error {
		ctrlCalls++
		if network == "udp4" { // the resolved network, as net.ListenConfig's
			return nil
		}
		return s.SetSockopt(fd, stack.TCPNoDelay, 1) // inherited by accepted sockets
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	accepted := make(chan *stack.TCPConn, 1)
	go func() {
		c, err := ln.(*stack.TCPListener).AcceptTCP()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	d := &stack.Dialer{Stack: s, Control: func(network, address string, fd int) error {
		ctrlCalls++
		// Before the SYN: the buffer the handshake's window is built on.
		return s.SetSockopt(fd, stack.SoRcvBuf, 8192)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	must(t, err)
	defer nc.Close()
	c := nc.(*stack.TCPConn)
	srv := <-accepted
	if srv == nil {
		t.Fatal("AcceptTCP failed")
	}
	defer srv.Close()
	if ctrlCalls != 2 {
		t.Errorf("Control hooks ran %d times, want 2", ctrlCalls)
	}
	if v, _ := s.GetSockopt(c.FD(), stack.SoRcvBuf); v != 16384 {
		t.Errorf("SO_RCVBUF set in Control reads %d, want 16384", v)
	}
	if v, _ := s.GetSockopt(srv.FD(), stack.TCPNoDelay); v != 1 {
		t.Errorf("accepted socket's TCP_NODELAY %d, want 1 (from the listener's Control)", v)
	}
	must(t, c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 4}))
	for opt, want := range map[stack.SockOpt]int{stack.SoKeepAlive: 1, stack.TCPKeepIdle: 30, stack.TCPKeepIntvl: 5, stack.TCPKeepCnt: 4} {
		if v, _ := s.GetSockopt(c.FD(), opt); v != want {
			t.Errorf("after SetKeepAliveConfig option %d = %d, want %d", opt, v, want)
		}
	}
	must(t, c.SetKeepAlivePeriod(1500*time.Millisecond))
	if v, _ := s.GetSockopt(c.FD(), stack.TCPKeepIdle); v != 2 {
		t.Errorf("SetKeepAlivePeriod(1.5s): idle %d s, want 2", v)
	}
	must(t, c.SetLinger(0))
	must(t, c.SetWriteBuffer(10000))
	if v, _ := s.GetSockopt(c.FD(), stack.SoLinger); v != 0 {
		t.Errorf("SetLinger(0) reads %d", v)
	}
	// io.ReaderFrom and io.WriterTo.
	go func() { c.ReadFrom(strings.NewReader("through ReadFrom")); c.CloseWrite() }()
	var got strings.Builder
	if _, err := srv.WriteTo(&got); err != nil || got.String() != "through ReadFrom" {
		t.Errorf("WriteTo got %q, %v", got.String(), err)
	}
	info := c.Info()
	if !info.SACK || !info.Timestamps || info.SndWScale < 0 || info.SndCwnd < 1 {
		t.Errorf("TCPInfo negotiated options: %+v", info)
	}
	// A descriptor becomes a net.Conn again.
	fc, err := s.FileConn(c.FD())
	if err != nil || fc.RemoteAddr().String() != ln.Addr().String() {
		t.Errorf("FileConn: %v, %v", fc, err)
	}

	// UDP: WriteTo on a connected socket, the AddrPort methods, ReadMsgUDP.
	pc, err := lc.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
	must(t, err)
	defer pc.Close()
	u := pc.(*stack.UDPConn)
	uap := netip.MustParseAddrPort(u.LocalAddr().String())
	dc, err := d.DialContext(ctx, "udp", uap.String())
	must(t, err)
	defer dc.Close()
	dc2 := dc.(*stack.UDPConn)
	if _, err := dc2.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(uap)); !errors.Is(err, net.ErrWriteToConnected) {
		t.Errorf("WriteTo on a connected UDPConn: %v, want net.ErrWriteToConnected", err)
	}
	if _, err := dc2.Write([]byte("one")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	n, from, err := u.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "one" || from.String() != dc2.LocalAddr().String() {
		t.Fatalf("ReadFromUDPAddrPort: %q from %v, %v", buf[:n], from, err)
	}
	if _, err := u.WriteToUDPAddrPort([]byte("two"), from); err != nil {
		t.Fatal(err)
	}
	n, oobn, flags, addr, err := dc2.ReadMsgUDP(buf, nil)
	if err != nil || string(buf[:n]) != "two" || oobn != 0 || flags != 0 || addr.AddrPort() != uap {
		t.Fatalf("ReadMsgUDP: %q %d %d %v %v", buf[:n], oobn, flags, addr, err)
	}
}

// TestUDPConnFD: a UDPConn's descriptor reaches the options and calls
// net.PacketConn lacks — SO_BROADCAST, SIOCINQ — and they act on it.
func TestUDPConnFD(t *testing.T) {
	s := stack.New(stack.Options{Name: "h"})
	defer s.Destroy()
	a, err := s.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	must(t, err)
	defer a.Close()
	b, err := s.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	must(t, err)
	defer b.Close()
	must(t, s.SetSockopt(a.FD(), stack.SoBroadcast, 1))
	if v, err := s.GetSockopt(a.FD(), stack.SoBroadcast); err != nil || v != 1 {
		t.Errorf("SO_BROADCAST via FD: %d, %v; want 1", v, err)
	}
	if _, err := a.WriteTo([]byte("hello"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := s.InQ(b.FD())
		must(t, err)
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIOCINQ via FD: %d, want the 5-byte datagram", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDialUnspecifiedReachesThisHost: a dial to the unspecified address
// reaches this host, as Linux routes INADDR_ANY to 127.0.0.1 and :: to
// ::1, which Go's Dial("tcp", ":80") relies on; the connection's peer is
// that address.
func TestDialUnspecifiedReachesThisHost(t *testing.T) {
	s := stack.New(stack.Options{Name: "h"})
	for _, tc := range []struct{ listen, dial, peer string }{
		{"127.0.0.1:80", "0.0.0.0:80", "127.0.0.1:80"},
		{"127.0.0.1:82", ":82", "127.0.0.1:82"},
		{"[::1]:81", "[::]:81", "[::1]:81"},
	} {
		ln, err := s.ListenTCP(netip.MustParseAddrPort(tc.listen), 4)
		must(t, err)
		c, err := s.DialContext(context.Background(), "tcp", tc.dial)
		if err != nil {
			t.Fatalf("dial %s: %v", tc.dial, err)
		}
		if got := c.RemoteAddr().String(); got != tc.peer {
			t.Errorf("dial %s: peer %s, want %s", tc.dial, got, tc.peer)
		}
		c.Close()
		ln.Close()
	}
	// UDP too: the connected socket's peer is this host.
	u, err := s.DialContext(context.Background(), "udp", ":83")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.RemoteAddr().String(); got != "127.0.0.1:83" {
		t.Errorf("dial udp :83: peer %s, want 127.0.0.1:83", got)
	}
	u.Close()
}
