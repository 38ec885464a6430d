package stack_test

import (
	"bytes"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/ipv4"
	"stacklab/stack/wire"
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

// TestFragmentFloodEvictsOldest: 300 first fragments that never complete
// (450 KB) used to fill the reassembly table and refuse every new
// fragmented datagram for 30 s; now the oldest incomplete datagram is
// evicted, counted, and a legitimate datagram that follows is delivered.
func TestFragmentFloodEvictsOldest(t *testing.T) {
	clock, nic, _ := rawStack(t)
	s := nic.Stack()
	fd, err := s.Socket(stack.SockDgram)
	must(t, err)
	must(t, s.Bind(fd, netip.MustParseAddrPort("0.0.0.0:9")))
	must(t, s.SetNonblock(fd, true))
	udp := func(id uint16, payload int) wire.IPv4 {
		b := make([]byte, 20+8+payload)
		ip := wire.IPv4(b)
		ip.Encode(&wire.IPv4Fields{TotalLen: uint16(len(b)), ID: id, TTL: 64, Protocol: wire.ProtoUDP,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
		u := wire.UDP(b[20:])
		u.Encode(&wire.UDPFields{SrcPort: 1000, DstPort: 9, Length: uint16(8 + payload)})
		u.SetChecksum(ip.Src(), ip.Dst())
		ip.SetChecksum()
		return ip
	}
	frags := func(pkt wire.IPv4) [][]byte {
		var out [][]byte
		must(t, ipv4.Fragment(pkt, 1500, nil, func(f wire.IPv4) { out = append(out, bytes.Clone(f)) }))
		return out
	}
	for id := range uint16(300) {
		nic.Deliver(stack.Packet{ID: uint64(id), Data: frags(udp(id+1000, 3000))[0]})
	}
	clock.RunFor(time.Second)
	for _, f := range frags(udp(7, 3000)) {
		nic.Deliver(stack.Packet{ID: 9999, Data: f})
	}
	buf := make([]byte, 4000)
	n, _, err := s.RecvFrom(fd, buf)
	if err != nil || n != 3000 {
		t.Fatalf("legitimate datagram: %d bytes, %v", n, err)
	}
	// 300 + 1 datagrams through a table of 256: 45 evicted.
	if got := counter(t, s, "ip.ReasmFails"); got != 45 {
		t.Fatalf("ip.ReasmFails %d, want 45 evictions", got)
	}
}
