package stack_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/wire"
)

// frameLog is a Tap that keeps every frame.
type frameLog struct {
	frames []loggedFrame
}

type loggedFrame struct {
	nic  string
	dir  stack.Dir
	data []byte
	note string
}

func (l *frameLog) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	l.frames = append(l.frames, loggedFrame{nic.Name(), dir, append([]byte(nil), pkt.Data...), note})
}

// loneStack is one stack with one Ethernet NIC whose link goes nowhere.
func loneStack(t *testing.T) (*stack.Stack, *sim.Clock, *frameLog) {
	t.Helper()
	clock := sim.NewClock(time.Unix(0, 0))
	tap := &frameLog{}
	s := stack.New(stack.Options{Name: "h", Clock: clock, Rand: rand.New(rand.NewPCG(5, 6)), Tap: tap})
	_, err := s.AddNIC(stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24")}, stack.LinkFunc(func(stack.Packet) {
		t.Error("a frame to the stack itself left on eth0")
	}))
	must(t, err)
	return s, clock, tap
}

func TestLoopbackTCP(t *testing.T) {
	for _, dst := range []string{"127.0.0.1", "127.1.2.3", "10.0.0.1"} {
		t.Run(dst, func(t *testing.T) {
			s, clock, tap := loneStack(t)
			l, _ := s.Socket(stack.SockStream)
			must(t, s.Bind(l, netip.MustParseAddrPort("0.0.0.0:80")))
			must(t, s.Listen(l, 4))
			c, _ := s.Socket(stack.SockStream)
			must(t, s.SetNonblock(c, true))
			if err := s.Connect(c, netip.AddrPortFrom(netip.MustParseAddr(dst), 80)); !errors.Is(err, syscall.EINPROGRESS) {
				t.Fatalf("connect: %v", err)
			}
			clock.Run()
			must(t, s.SockError(c))
			must(t, s.SetNonblock(l, true))
			a, from, err := s.Accept(l)
			must(t, err)
			want := dst
			if dst != "10.0.0.1" {
				want = "127.0.0.1" // the source Linux picks for 127.0.0.0/8
			}
			if from.Addr().String() != want {
				t.Errorf("accepted from %v, want source %s", from, want)
			}
			msg := bytes.Repeat([]byte("x"), 200000)
			must(t, s.SetNonblock(a, true))
			var got []byte
			buf := make([]byte, 65536)
			for sent, i := 0, 0; len(got) < len(msg); i++ {
				if i > 1000 {
					t.Fatalf("sent %d, received %d of %d", sent, len(got), len(msg))
				}
				if sent < len(msg) {
					n, _ := s.Send(c, msg[sent:])
					sent += n
				}
				clock.RunFor(100 * time.Millisecond)
				n, err := s.Recv(a, buf)
				if err != nil && !errors.Is(err, syscall.EAGAIN) {
					t.Fatal(err)
				}
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, msg) {
				t.Fatal("data over lo corrupted")
			}
			info, _ := s.TCPInfo(c)
			if info.MSS < 65000 {
				t.Errorf("MSS over lo %d, want 65483 or so (IPv4 packets on lo stop at 65535, as on Linux)", info.MSS)
			}
			for _, f := range tap.frames {
				if f.nic != "lo" || f.dir != stack.DirIn {
					t.Fatalf("frame on %s %v, want each frame once, received on lo", f.nic, f.dir)
				}
				eth := wire.Ethernet(f.data)
				if eth.Src() != (wire.MAC{}) || eth.Dst() != (wire.MAC{}) {
					t.Fatalf("lo frame with MACs %v → %v, want zeros", eth.Src(), eth.Dst())
				}
			}
			if len(tap.frames) < 4 || tap.frames[0].note == "" {
				t.Errorf("captured %d frames, first note %q; want the handshake and data with their reasons", len(tap.frames), tap.frames[0].note)
			}
		})
	}
}

func TestLoopbackUDPAndPing(t *testing.T) {
	s, clock, _ := loneStack(t)
	u, _ := s.Socket(stack.SockDgram)
	must(t, s.Bind(u, netip.MustParseAddrPort("127.0.0.1:53")))
	must(t, s.SetNonblock(u, true))
	v, _ := s.Socket(stack.SockDgram)
	must(t, s.SetNonblock(v, true))
	_, err := s.SendTo(v, []byte("q"), netip.MustParseAddrPort("127.0.0.1:53"))
	must(t, err)
	clock.Run()
	buf := make([]byte, 10)
	n, from, err := s.RecvFrom(u, buf)
	if err != nil || string(buf[:n]) != "q" || from.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("UDP over lo: %q from %v, %v", buf[:n], from, err)
	}
	// A connected socket learns ECONNREFUSED from the port unreachable
	// that lo carries back, as on Linux.
	must(t, s.Connect(v, netip.MustParseAddrPort("10.0.0.1:9")))
	_, err = s.Send(v, []byte("x"))
	must(t, err)
	clock.Run()
	if _, err := s.Recv(v, buf); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("UDP to a closed local port: %v, want ECONNREFUSED", err)
	}
	p, _ := s.Socket(stack.SockICMP)
	must(t, s.SetNonblock(p, true))
	_, err = s.SendTo(p, []byte("ping"), netip.MustParseAddrPort("127.0.0.1:0"))
	must(t, err)
	clock.Run()
	if n, _, err := s.RecvFrom(p, buf); err != nil || n == 0 {
		t.Errorf("ping 127.0.0.1: %d, %v", n, err)
	}
	if v, _ := s.Counter("icmp.OutEchoReps"); v != 1 {
		t.Errorf("echo replies %d, want 1", v)
	}
}

func TestLoopbackNotFromTheNetwork(t *testing.T) {
	p := newPair(t, stack.LinkEthernet, 1500)
	u, _ := p.b.Socket(stack.SockDgram)
	must(t, p.b.Bind(u, netip.MustParseAddrPort("0.0.0.0:53")))
	// A datagram to 127.0.0.1 arriving on eth0 is a martian.
	raw := make([]byte, 14+28)
	eth := wire.Ethernet(raw)
	eth.Encode(&wire.EthernetFields{Dst: wire.MAC(p.bnic.MAC()), Src: wire.MAC(p.anic.MAC()), Type: wire.EtherTypeIPv4})
	ip := wire.IPv4(raw[14:])
	ip.Encode(&wire.IPv4Fields{TotalLen: 28, TTL: 64, Protocol: wire.ProtoUDP, Src: p.aAddr, Dst: netip.MustParseAddr("127.0.0.1")})
	ip.SetChecksum()
	wire.UDP(raw[34:]).Encode(&wire.UDPFields{SrcPort: 1, DstPort: 53, Length: 8})
	before := counter(t, p.b, "ip.InAddrErrors")
	p.bnic.Deliver(stack.Packet{ID: 1, Data: raw})
	if counter(t, p.b, "ip.InAddrErrors") != before+1 {
		t.Error("a datagram to 127.0.0.1 from the network was not dropped as a martian")
	}
}

func TestLoopbackRealTime(t *testing.T) {
	s := stack.New(stack.Options{Name: "h"})
	ln, err := s.ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), 0)
	must(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.DialContext(ctx, "tcp", ln.Addr().String())
	must(t, err)
	// A window that never reopens (an MSS of 65495 against a smaller
	// offered window) would hang here: fail at the deadline instead.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := bytes.Repeat([]byte("hello "), 50000)
	go func() { c.Write(msg); c.(*stack.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	must(t, err)
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo over lo returned %d bytes, want %d", len(got), len(msg))
	}
	c.Close()
}
