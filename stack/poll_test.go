package stack_test

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
)

// connected returns a non-blocking connection from p.a to p.b: the
// client's descriptor, the server's, and the listener's.
func connected(t *testing.T, p *pair) (c, s, l int) {
	t.Helper()
	return connectedWith(t, p, nil)
}

// connectedWith is connected with set run on the listener before the
// connection: options the accepted socket inherits.
func connectedWith(t *testing.T, p *pair, set func(l int)) (c, s, l int) {
	t.Helper()
	l, _ = p.b.Socket(stack.SockStream)
	if set != nil {
		set(l)
	}
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
	must(t, p.b.Listen(l, 8))
	must(t, p.b.SetNonblock(l, true))
	c, _ = p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c, true))
	if err := p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80)); !errors.Is(err, syscall.EINPROGRESS) {
		t.Fatalf("connect: %v", err)
	}
	p.clock.Run()
	s, _, err := p.b.Accept(l)
	must(t, err)
	must(t, p.b.SetNonblock(s, true))
	return c, s, l
}

func TestPollManyDescriptors(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, s, l := connected(t, p)
	u, _ := p.b.Socket(stack.SockDgram)
	fds := []stack.PollFD{
		{FD: s, Events: stack.PollIn | stack.PollRdHup},
		{FD: l, Events: stack.PollIn},
		{FD: -1, Events: stack.PollIn},
		{FD: 99, Events: stack.PollIn},
		{FD: u, Events: stack.PollOut},
	}
	n, err := p.b.PollFDs(fds, 0)
	must(t, err)
	want := []stack.PollEvents{0, 0, 0, stack.PollNval, stack.PollOut}
	for i, w := range want {
		if fds[i].Revents != w {
			t.Errorf("before data: fd %d revents %v, want %v", fds[i].FD, fds[i].Revents, w)
		}
	}
	if n != 2 {
		t.Errorf("poll returned %d, want 2", n)
	}
	_, err = p.a.Send(c, []byte("hello"))
	must(t, err)
	p.clock.Run()
	n, _ = p.b.PollFDs(fds, 0)
	if fds[0].Revents != stack.PollIn || n != 3 {
		t.Errorf("after data: revents %v, n %d; want POLLIN, 3", fds[0].Revents, n)
	}
	must(t, p.a.Shutdown(c, stack.ShutWR))
	p.clock.Run()
	p.b.PollFDs(fds, 0)
	if fds[0].Revents != stack.PollIn|stack.PollRdHup {
		t.Errorf("after the peer's FIN: revents %v, want POLLIN|POLLRDHUP", fds[0].Revents)
	}
	// POLLRDHUP is reported only when asked for; POLLHUP always.
	fds[0].Events = stack.PollOut
	must(t, p.b.Shutdown(s, stack.ShutWR))
	p.b.PollFDs(fds, 0)
	if fds[0].Revents != stack.PollOut|stack.PollHup {
		t.Errorf("both sides shut: revents %v, want POLLOUT|POLLHUP", fds[0].Revents)
	}
	must(t, p.b.Close(s))
	p.b.PollFDs(fds, 0)
	if fds[0].Revents != stack.PollNval {
		t.Errorf("closed descriptor: revents %v, want POLLNVAL", fds[0].Revents)
	}
	if ev := p.b.Poll(s); ev != stack.PollNval {
		t.Errorf("Poll of a closed descriptor: %v, want POLLNVAL", ev)
	}
}

func TestPollShutRDIsRdHup(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, _, _ := connected(t, p)
	must(t, p.a.Shutdown(c, stack.ShutRD))
	if ev := p.a.Poll(c); ev&(stack.PollIn|stack.PollRdHup) != stack.PollIn|stack.PollRdHup || ev&stack.PollHup != 0 {
		t.Errorf("after shutdown(SHUT_RD): %v, want POLLIN|POLLRDHUP without POLLHUP", ev)
	}
	must(t, p.a.Shutdown(c, stack.ShutWR))
	if ev := p.a.Poll(c); ev&stack.PollHup == 0 {
		t.Errorf("after shutdown of both sides: %v, want POLLHUP", ev)
	}
}

func TestPollBlocksUntilReadyOrTimeout(t *testing.T) {
	a, b := realPair(t)
	ln, err := b.ListenTCP(netip.AddrPortFrom(netip.Addr{}, 7), 0)
	must(t, err)
	defer ln.Close()
	fds := []stack.PollFD{{FD: ln.FD(), Events: stack.PollIn}}
	start := time.Now()
	n, err := b.PollFDs(fds, 50*time.Millisecond)
	if n != 0 || err != nil || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("poll of an idle listener = %d, %v after %v; want 0, nil after 50ms", n, err, time.Since(start))
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		c, err := a.DialTCP(context.Background(), netip.AddrPort{}, netip.MustParseAddrPort("10.0.0.2:7"))
		if err == nil {
			defer c.Close()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	n, err = b.PollFDs(fds, 5*time.Second)
	if n != 1 || err != nil || fds[0].Revents != stack.PollIn {
		t.Fatalf("poll while a client connects = %d, %v, %v; want 1, POLLIN", n, err, fds[0].Revents)
	}
}

func TestEpollLevelAndEdge(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	c, s, l := connected(t, p)
	ep, err := p.b.EpollCreate()
	must(t, err)
	must(t, p.b.EpollCtl(ep, stack.EpollAdd, s, stack.EpollEvent{Events: stack.PollIn, Data: 7}))
	must(t, p.b.EpollCtl(ep, stack.EpollAdd, l, stack.EpollEvent{Events: stack.PollIn | stack.EpollET}))
	if err := p.b.EpollCtl(ep, stack.EpollAdd, s, stack.EpollEvent{Events: stack.PollIn}); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("adding twice: %v, want EEXIST", err)
	}
	if err := p.b.EpollCtl(ep, stack.EpollMod, 42, stack.EpollEvent{}); !errors.Is(err, syscall.EBADF) {
		t.Errorf("modifying a closed descriptor: %v, want EBADF", err)
	}
	if err := p.b.EpollCtl(s, stack.EpollAdd, l, stack.EpollEvent{}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("a socket as the epoll descriptor: %v, want EINVAL", err)
	}
	if err := p.b.EpollCtl(ep, stack.EpollAdd, ep, stack.EpollEvent{}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("an epoll watching itself: %v, want EINVAL", err)
	}
	if err := p.b.Bind(ep, netip.AddrPort{}); !errors.Is(err, syscall.ENOTSOCK) {
		t.Errorf("bind on an epoll descriptor: %v, want ENOTSOCK", err)
	}
	evs := make([]stack.EpollEvent, 8)
	if n, err := p.b.EpollWait(ep, evs, 0); n != 0 || err != nil {
		t.Fatalf("nothing ready: %d, %v", n, err)
	}
	if p.b.Poll(ep) != 0 {
		t.Errorf("an epoll with nothing ready polls %v", p.b.Poll(ep))
	}
	notified := 0
	cancel := p.b.Notify(ep, func() { notified++ })
	defer cancel()
	_, err = p.a.Send(c, []byte("0123456789"))
	must(t, err)
	p.clock.Run()
	if notified == 0 || p.b.Poll(ep) != stack.PollIn {
		t.Errorf("data arrived: epoll notified %d times, polls %v; want notified, POLLIN", notified, p.b.Poll(ep))
	}
	// Level-triggered: reported while readable.
	for i := range 2 {
		n, _ := p.b.EpollWait(ep, evs, 0)
		if n != 1 || evs[0] != (stack.EpollEvent{Events: stack.PollIn, FD: s, Data: 7}) {
			t.Fatalf("level-triggered wait %d: %d %v", i, n, evs[:n])
		}
	}
	buf := make([]byte, 100)
	_, err = p.b.Recv(s, buf)
	must(t, err)
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 0 {
		t.Fatalf("drained: %d events %v", n, evs[:n])
	}
	// Edge-triggered: a second client connecting is one event, reported once
	// even though the connection stays in the accept queue.
	c2, _ := p.a.Socket(stack.SockStream)
	must(t, p.a.SetNonblock(c2, true))
	p.a.Connect(c2, netip.AddrPortFrom(p.bAddr, 80))
	p.clock.Run()
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 1 || evs[0].FD != l || evs[0].Events != stack.PollIn {
		t.Fatalf("edge on the listener: %d %v", n, evs[:n])
	}
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 0 {
		t.Fatalf("edge reported twice: %d %v", n, evs[:n])
	}
	// Switch the connection to edge-triggered: what is ready now is one
	// edge; new data is another; a partial read is none.
	_, err = p.a.Send(c, []byte("abc"))
	must(t, err)
	p.clock.Run()
	must(t, p.b.EpollCtl(ep, stack.EpollMod, s, stack.EpollEvent{Events: stack.PollIn | stack.EpollET, Data: 8}))
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 1 || evs[0].Data != 8 {
		t.Fatalf("modify to edge: %d %v", n, evs[:n])
	}
	p.b.Recv(s, buf[:1])
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 0 {
		t.Fatalf("partial read is no edge: %d %v", n, evs[:n])
	}
	p.a.Send(c, []byte("d"))
	p.clock.Run()
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 1 {
		t.Fatalf("new data is an edge: %d %v", n, evs[:n])
	}
	// One-shot: reported once, until re-armed.
	must(t, p.b.EpollCtl(ep, stack.EpollMod, s, stack.EpollEvent{Events: stack.PollIn | stack.EpollOneShot}))
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 1 {
		t.Fatalf("one-shot: %d", n)
	}
	p.a.Send(c, []byte("e"))
	p.clock.Run()
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 0 {
		t.Fatalf("one-shot fired twice: %d", n)
	}
	must(t, p.b.EpollCtl(ep, stack.EpollMod, s, stack.EpollEvent{Events: stack.PollIn | stack.PollRdHup}))
	// The peer's FIN: POLLRDHUP, asked for.
	must(t, p.a.Shutdown(c, stack.ShutWR))
	p.clock.Run()
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 1 || evs[0].Events != stack.PollIn|stack.PollRdHup {
		t.Fatalf("FIN: %d %v", n, evs[:n])
	}
	// Closing a registered descriptor removes it from the set.
	must(t, p.b.Close(s))
	if err := p.b.EpollCtl(ep, stack.EpollDel, s, stack.EpollEvent{}); !errors.Is(err, syscall.EBADF) {
		t.Errorf("deleting a closed descriptor: %v, want EBADF", err)
	}
	if n, _ := p.b.EpollWait(ep, evs, 0); n != 0 {
		t.Fatalf("closed descriptor still reported: %v", evs[:n])
	}
	must(t, p.b.EpollCtl(ep, stack.EpollDel, l, stack.EpollEvent{}))
	if err := p.b.EpollCtl(ep, stack.EpollDel, l, stack.EpollEvent{}); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("deleting twice: %v, want ENOENT", err)
	}
	must(t, p.b.Close(ep))
	if _, err := p.b.EpollWait(ep, evs, 0); !errors.Is(err, syscall.EBADF) {
		t.Errorf("wait on a closed epoll: %v, want EBADF", err)
	}
}

func TestEpollManyClientsAndNesting(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	l, _ := p.b.Socket(stack.SockStream)
	must(t, p.b.Bind(l, netip.AddrPortFrom(netip.Addr{}, 80)))
	must(t, p.b.Listen(l, 64))
	must(t, p.b.SetNonblock(l, true))
	ep, _ := p.b.EpollCreate()
	must(t, p.b.EpollCtl(ep, stack.EpollAdd, l, stack.EpollEvent{Events: stack.PollIn}))
	const clients = 20
	var cs []int
	for range clients {
		c, _ := p.a.Socket(stack.SockStream)
		p.a.SetNonblock(c, true)
		p.a.Connect(c, netip.AddrPortFrom(p.bAddr, 80))
		cs = append(cs, c)
	}
	p.clock.Run()
	for _, c := range cs {
		p.a.Send(c, []byte{byte(c)})
	}
	// An event loop: accept every client, echo what each sends.
	evs := make([]stack.EpollEvent, 4) // fewer than ready: the rest wait their turn
	echoed := 0
	for round := 0; round < 100 && echoed < clients; round++ {
		p.clock.Run()
		n, err := p.b.EpollWait(ep, evs, 0)
		must(t, err)
		for _, ev := range evs[:n] {
			if ev.FD == l {
				for {
					s, _, err := p.b.Accept(l)
					if err != nil {
						break
					}
					p.b.SetNonblock(s, true)
					must(t, p.b.EpollCtl(ep, stack.EpollAdd, s, stack.EpollEvent{Events: stack.PollIn}))
				}
				continue
			}
			buf := make([]byte, 10)
			if k, err := p.b.Recv(ev.FD, buf); err == nil && k > 0 {
				p.b.Send(ev.FD, buf[:k])
				echoed++
			}
		}
	}
	if echoed != clients {
		t.Fatalf("echoed %d of %d clients", echoed, clients)
	}
	p.clock.Run()
	for _, c := range cs {
		b := make([]byte, 10)
		if n, err := p.a.Recv(c, b); err != nil || n != 1 || b[0] != byte(c) {
			t.Errorf("client %d got %d %v %v", c, n, b[:n], err)
		}
	}
	// Nesting: an epoll inside another reports readiness; a loop is refused.
	outer, _ := p.b.EpollCreate()
	must(t, p.b.EpollCtl(outer, stack.EpollAdd, ep, stack.EpollEvent{Events: stack.PollIn}))
	if err := p.b.EpollCtl(ep, stack.EpollAdd, outer, stack.EpollEvent{Events: stack.PollIn}); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("epoll loop: %v, want ELOOP", err)
	}
	p.a.Send(cs[0], []byte("x"))
	p.clock.Run()
	if n, _ := p.b.EpollWait(outer, evs, 0); n != 1 || evs[0].FD != ep {
		t.Errorf("nested epoll: %d %v", n, evs[:n])
	}
}
