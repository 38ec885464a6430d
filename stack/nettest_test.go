package stack_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"stacklab/stack"
)

// Checks in the manner of golang.org/x/net/nettest (which has TestConn
// only) for net.Listener and net.PacketConn: what Go's own net tests ask
// of a listener and a datagram socket.

func loStack(t *testing.T) *stack.Stack {
	s := stack.New(stack.Options{Name: "h"})
	t.Cleanup(s.Destroy)
	return s
}

func TestNetListenerContract(t *testing.T) {
	s := loStack(t)
	ln, err := s.ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), 32)
	must(t, err)
	var l net.Listener = ln
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok || addr.Port == 0 || !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("Addr() = %#v", l.Addr())
	}

	// Concurrent dials, each accepted once, each echoing its own data.
	const n = 20
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.DialContext(t.Context(), "tcp", addr.String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := []byte(fmt.Sprintf("client %d", i))
			c.Write(msg)
			c.(*stack.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("client %d: %q, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A deadline makes Accept time out as Go's does.
	ln2, err := s.ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), 4)
	must(t, err)
	must(t, ln2.SetDeadline(time.Now().Add(20*time.Millisecond)))
	_, err = ln2.Accept()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Accept past the deadline: %v, want a timeout (os.ErrDeadlineExceeded)", err)
	}

	// Close unblocks a blocked Accept; Accept and Close after it fail
	// with net.ErrClosed.
	must(t, ln2.SetDeadline(time.Time{}))
	done := make(chan error, 1)
	go func() { _, err := ln2.Accept(); done <- err }()
	time.Sleep(20 * time.Millisecond)
	must(t, ln2.Close())
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Accept")
	}
	if _, err := ln2.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if err := ln2.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}
	must(t, ln.Close())
}

func TestNetPacketConnContract(t *testing.T) {
	s := loStack(t)
	a, err := s.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	must(t, err)
	b, err := s.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	must(t, err)
	var pa, pb net.PacketConn = a, b
	if la, ok := pa.LocalAddr().(*net.UDPAddr); !ok || la.Port == 0 {
		t.Fatalf("LocalAddr() = %#v", pa.LocalAddr())
	}

	// Datagrams keep their boundaries and their source.
	for _, msg := range []string{"one", "two two", ""} {
		if n, err := pa.WriteTo([]byte(msg), pb.LocalAddr()); err != nil || n != len(msg) {
			t.Fatalf("WriteTo(%q) = %d, %v", msg, n, err)
		}
	}
	buf := make([]byte, 100)
	must(t, pb.SetReadDeadline(time.Now().Add(5*time.Second)))
	for _, want := range []string{"one", "two two", ""} {
		n, from, err := pb.ReadFrom(buf)
		if err != nil || string(buf[:n]) != want || from.String() != pa.LocalAddr().String() {
			t.Fatalf("ReadFrom = %q from %v, %v; want %q from %v", buf[:n], from, err, want, pa.LocalAddr())
		}
	}
	// A short buffer takes the head of the datagram; the rest is gone.
	pa.WriteTo([]byte("0123456789"), pb.LocalAddr())
	pa.WriteTo([]byte("next"), pb.LocalAddr())
	if n, _, err := pb.ReadFrom(buf[:4]); err != nil || string(buf[:n]) != "0123" {
		t.Fatalf("short ReadFrom = %q, %v; want 0123", buf[:n], err)
	}
	if n, _, err := pb.ReadFrom(buf); err != nil || string(buf[:n]) != "next" {
		t.Fatalf("ReadFrom after a truncated datagram = %q, %v; want next", buf[:n], err)
	}

	// Deadlines: a past one times out at once, as Go's.
	must(t, pb.SetReadDeadline(time.Now().Add(-time.Second)))
	_, _, err = pb.ReadFrom(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFrom past the deadline: %v, want a timeout", err)
	}

	// Close unblocks a blocked ReadFrom; calls after it fail with
	// net.ErrClosed.
	must(t, pb.SetReadDeadline(time.Time{}))
	done := make(chan error, 1)
	go func() { _, _, err := pb.ReadFrom(buf); done <- err }()
	time.Sleep(20 * time.Millisecond)
	must(t, pb.Close())
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked ReadFrom after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadFrom")
	}
	if _, err := pb.WriteTo([]byte("x"), pa.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo after Close: %v, want net.ErrClosed", err)
	}
	if err := pb.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}
	must(t, pa.Close())
}

// TestUDPInDatagramsCountedWhenRead: a datagram counts in InDatagrams
// when it is read, not when it arrives or is peeked at, as Linux's
// udp_recvmsg counts it (6.18's nstat: two in, one peeked, one read:
// +1; the differential test's counters, -diffcounters).
func TestUDPInDatagramsCountedWhenRead(t *testing.T) {
	s := loStack(t)
	for _, addr := range []string{"127.0.0.1", "::1"} {
		name := "udp.InDatagrams"
		if addr == "::1" {
			name = "udp6.InDatagrams"
		}
		ip := netip.MustParseAddr(addr)
		a, _ := s.Socket(stack.SockDgram)
		if ip.Is6() {
			a, _ = s.SocketFamily(stack.AFInet6, stack.SockDgram)
		}
		must(t, s.Bind(a, netip.AddrPortFrom(ip, 9000)))
		b, _ := s.Socket(stack.SockDgram)
		if ip.Is6() {
			b, _ = s.SocketFamily(stack.AFInet6, stack.SockDgram)
		}
		before := counter(t, s, name)
		for _, m := range []string{"x", "y"} {
			if _, err := s.SendTo(b, []byte(m), netip.AddrPortFrom(ip, 9000)); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, 10)
		if got := counter(t, s, name) - before; got != 0 {
			t.Errorf("%s: %s +%d with two datagrams queued, want +0", addr, name, got)
		}
		if _, _, err := s.RecvMsg(a, buf, stack.MsgPeek); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.RecvMsg(a, buf, 0); err != nil {
			t.Fatal(err)
		}
		if got := counter(t, s, name) - before; got != 1 {
			t.Errorf("%s: %s +%d after a peek and a read, want +1", addr, name, got)
		}
	}
}
