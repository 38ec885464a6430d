package stack_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
)

// Destroy ends everything a real-time stack runs: an HTTP server and a
// keep-alive client, goroutines blocked in Accept and Read, TCP timers;
// afterwards no goroutine of the test's is left and no timer pending.
func TestDestroyLeavesNoGoroutinesOrTimers(t *testing.T) {
	before := runtime.NumGoroutine()
	s := stack.New(stack.Options{Name: "h"})
	ln, err := s.ListenTCP(netip.MustParseAddrPort("127.0.0.1:80"), 16)
	must(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tr := &http.Transport{DialContext: s.DialContext}
	cl := &http.Client{Transport: tr}
	resp, err := cl.Get("http://127.0.0.1/")
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hi" {
		t.Fatalf("body %q", b)
	}
	// A raw connection whose reader blocks, with keepalive timers armed.
	ln2, err := s.ListenTCP(netip.MustParseAddrPort("127.0.0.1:81"), 4)
	must(t, err)
	c, err := s.DialTCP(context.Background(), netip.AddrPort{}, netip.MustParseAddrPort("127.0.0.1:81"))
	must(t, err)
	must(t, c.SetKeepAlive(true))
	readErr := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 10)); readErr <- err }()
	acc, err := ln2.Accept()
	must(t, err)
	_ = acc
	acceptErr := make(chan error, 1)
	go func() { _, err := ln2.Accept(); acceptErr <- err }()
	time.Sleep(20 * time.Millisecond)
	if s.PendingTimers() == 0 {
		t.Fatal("no timers pending before Destroy: the test checks nothing")
	}

	s.Destroy()
	s.Destroy() // idempotent
	for name, ch := range map[string]chan error{"Serve": served, "Read": readErr, "Accept": acceptErr} {
		select {
		case err := <-ch:
			if err == nil {
				t.Errorf("%s returned nil after Destroy", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s still blocked after Destroy", name)
		}
	}
	tr.CloseIdleConnections()
	if n := s.PendingTimers(); n != 0 {
		t.Fatalf("%d timers pending after Destroy", n)
	}
	if _, err := s.Socket(stack.SockStream); !errors.Is(err, syscall.ENETDOWN) {
		t.Fatalf("socket after Destroy: %v, want ENETDOWN", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left (had %d):\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// In virtual time: Destroy aborts connections mid-transfer and in
// TIME_WAIT without a frame sent, and no timer of the stack runs after.
func TestDestroyVirtualTime(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, s, _ := connected(t, p)
	c2, s2, _ := func() (int, int, int) {
		l, _ := p.b.Socket(stack.SockStream)
		must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 81)))
		must(t, p.b.Listen(l, 8))
		c, _ := p.a.Socket(stack.SockStream)
		p.a.SetNonblock(c, true)
		p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 81))
		p.clock.RunFor(time.Second)
		s, _, err := p.b.Accept(l)
		must(t, err)
		return c, s, l
	}()
	must(t, p.a.Close(c2)) // a's side goes to TIME_WAIT
	must(t, p.b.Close(s2))
	p.clock.RunFor(time.Second)
	p.a.Send(c, make([]byte, 100000))
	p.clock.RunFor(5 * time.Millisecond)
	if p.a.PendingTimers() == 0 {
		t.Fatal("nothing pending: the test checks nothing")
	}
	sent := 0
	p.filter = func(from *stack.NIC, data []byte) bool {
		if from == p.anic {
			sent++
		}
		return true
	}
	p.a.Destroy()
	if n := p.a.PendingTimers(); n != 0 {
		t.Fatalf("%d timers pending after Destroy", n)
	}
	p.clock.RunFor(time.Hour)
	if sent != 0 {
		t.Fatalf("%d frames sent after Destroy", sent)
	}
	if _, err := p.a.Send(c, []byte("x")); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("send on a destroyed stack's descriptor: %v, want EBADF", err)
	}
	_ = s
}
