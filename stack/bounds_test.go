package stack_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"stacklab/stack"
)

// TestDescriptorLimit: with Options.MaxFDs descriptors open, socket,
// epoll_create and accept fail with EMFILE, each refusal is counted, an
// unaccepted connection waits in the accept queue, and closing a
// descriptor frees the lowest number again.
func TestDescriptorLimit(t *testing.T) {
	p := newPairWith(t, stack.LinkEthernet, 1500, stack.Options{MaxFDs: 4})
	ln, err := p.b.Socket(stack.SockStream)
	must(t, err)
	must(t, p.b.Bind(ln, netip.MustParseAddrPort("0.0.0.0:80")))
	must(t, p.b.Listen(ln, 8))
	must(t, p.b.SetNonblock(ln, true))
	var fds []int
	for range 3 {
		fd, err := p.b.Socket(stack.SockDgram)
		must(t, err)
		fds = append(fds, fd)
	}
	if _, err := p.b.Socket(stack.SockStream); !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("fifth socket: %v, want EMFILE", err)
	}
	if _, err := p.b.EpollCreate(); !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("epoll_create: %v, want EMFILE", err)
	}
	c, err := p.a.Socket(stack.SockStream)
	must(t, err)
	must(t, p.a.SetNonblock(c, true))
	if err := p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80)); !errors.Is(err, syscall.EINPROGRESS) {
		t.Fatal(err)
	}
	p.clock.Run()
	if _, _, err := p.b.Accept(ln); !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("accept: %v, want EMFILE", err)
	}
	if n := counter(t, p.b, "sock.FDLimit"); n != 3 {
		t.Fatalf("sock.FDLimit %d, want 3", n)
	}
	must(t, p.b.Close(fds[0]))
	fd, _, err := p.b.Accept(ln)
	if err != nil || fd != fds[0] {
		t.Fatalf("accept after a close: fd %d, %v; want %d (the lowest free)", fd, err, fds[0])
	}
}

// TestPingIdentifiers: ping sockets bound to identifier 0 each get a
// free identifier; the old choice (a counter plus a random step, never
// retried) collided after about 51 sockets.
func TestPingIdentifiers(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	seen := map[uint16]bool{}
	for i := range 3000 {
		fd, err := p.a.Socket(stack.SockICMP)
		must(t, err)
		if err := p.a.Bind(fd, netip.AddrPort{}); err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		info, err := p.a.Info(fd)
		must(t, err)
		id := info.Local.Port()
		if seen[id] || id == 0 {
			t.Fatalf("socket %d: identifier %d again", i, id)
		}
		seen[id] = true
	}
}
