package perf

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/linktest"
)

// realNet is two stacks on the wall clock joined by an in-memory link
// with no delay (a stack/linktest pipe: one goroutine and a channel per
// direction), for the blocking net.Conn API.
type realNet struct {
	client, server *stack.Stack
	up, down       *linktest.End // the client's end, the server's end
}

func newRealNet(tb testing.TB, mtu int, tcp stack.TCPOptions) *realNet {
	tb.Helper()
	n := &realNet{
		client: stack.New(stack.Options{Name: "client", TCP: tcp}),
		server: stack.New(stack.Options{Name: "server", TCP: tcp}),
	}
	n.up, n.down = linktest.Pipe()
	tb.Cleanup(func() { n.up.Close() })
	cnic, err := n.client.AddNIC(stack.NICConfig{Name: "eth0", Type: stack.LinkEthernet, Addr: clientAddr, MTU: mtu}, n.up)
	if err != nil {
		tb.Fatal(err)
	}
	snic, err := n.server.AddNIC(stack.NICConfig{Name: "eth0", Type: stack.LinkEthernet, Addr: serverAddr, MTU: mtu}, n.down)
	if err != nil {
		tb.Fatal(err)
	}
	n.up.Attach(cnic.Deliver)
	n.down.Attach(snic.Deliver)
	return n
}

// dial returns both ends of a new connection, the server's accepted by ln.
func (n *realNet) dial(tb testing.TB, ln net.Listener) (c, s net.Conn) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	c, err := n.client.DialTCP(ctx, netip.AddrPort{}, ln.Addr().(*net.TCPAddr).AddrPort())
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	a := <-ch
	if a.err != nil {
		tb.Fatalf("accept: %v", a.err)
	}
	return c, a.c
}

// BenchmarkBulkPipe moves b.N·64 KiB over one connection between two
// stacks on the wall clock, with blocking Read and Write, and reports
// throughput and allocations per data segment.
func BenchmarkBulkPipe(b *testing.B) {
	for _, m := range mtus {
		b.Run(m.name, func(b *testing.B) { benchBulkPipe(b, m.mtu) })
	}
}

func benchBulkPipe(b *testing.B, mtu int) {
	n := newRealNet(b, mtu, stack.TCPOptions{})
	ln, err := n.server.ListenTCP(netip.AddrPortFrom(serverAddr.Addr(), 5001), 8)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, s := n.dial(b, ln)
	defer c.Close()
	total := int64(b.N) * chunk
	done := make(chan error, 1)
	go func() {
		defer s.Close()
		buf := make([]byte, 256<<10)
		var got int64
		for got < total {
			k, err := s.Read(buf)
			got += int64(k)
			if err != nil {
				if errors.Is(err, io.EOF) && got == total {
					break
				}
				done <- err
				return
			}
		}
		done <- nil
	}()
	wbuf := make([]byte, chunk)
	segs0 := n.up.Sent()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(wbuf); err != nil {
			b.Fatalf("write: %v", err)
		}
	}
	if err := <-done; err != nil {
		b.Fatalf("read: %v", err)
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	segs := n.up.Sent() - segs0
	allocs := float64(ms1.Mallocs - ms0.Mallocs)
	b.ReportMetric(allocs/float64(segs), "allocs/seg")
	b.ReportMetric(allocs/(float64(total)/1e6), "allocs/MB")
}

// BenchmarkConnSetupPipe is BenchmarkConnSetup on the wall clock, with the
// blocking API: DialTCP, Accept, Close, with default TCP options. Besides
// connections per second it reports "slow-dials": dials that took longer
// than 100 ms (on an in-memory link with no delay, each is a lost SYN
// waiting out the initial RTO).
func BenchmarkConnSetupPipe(b *testing.B) {
	n := newRealNet(b, 1500, stack.TCPOptions{})
	ln, err := n.server.ListenTCP(netip.AddrPortFrom(serverAddr.Addr(), 80), 128)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				accepted <- err
				return
			}
			c.Close()
			accepted <- nil
		}
	}()
	raddr := ln.Addr().(*net.TCPAddr).AddrPort()
	ctx := b.Context()
	slow := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		c, err := n.client.DialTCP(ctx, netip.AddrPort{}, raddr)
		if err != nil {
			b.Fatalf("dial #%d: %v", i, err)
		}
		if time.Since(t0) > 100*time.Millisecond {
			slow++
		}
		if err := <-accepted; err != nil {
			b.Fatalf("accept #%d: %v", i, err)
		}
		c.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
	b.ReportMetric(float64(slow), "slow-dials")
}

// BenchmarkConnSetupDataPipe opens a connection on the wall clock, sends
// 100 bytes each way and closes both ends, one connection at a time
// (bench/gvisor: ConnSetupData). Each connection is a new 4-tuple whose
// predecessor from the same client may still be in TIME_WAIT on either
// side, so it exercises the ephemeral port choice and the ISN clock.
// Besides connections per wall second it reports "slow-conns": those
// that took longer than 100 ms (on a link with no delay, each is a SYN
// refused or lost, waiting out the initial RTO).
func BenchmarkConnSetupDataPipe(b *testing.B) {
	n := newRealNet(b, 1500, stack.TCPOptions{})
	ln, err := n.server.ListenTCP(netip.AddrPortFrom(serverAddr.Addr(), 80), 128)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		buf := make([]byte, 100)
		for {
			c, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			_, err = io.ReadFull(c, buf)
			if err == nil {
				_, err = c.Write(buf)
			}
			c.Close()
			served <- err
		}
	}()
	raddr := ln.Addr().(*net.TCPAddr).AddrPort()
	ctx := b.Context()
	msg := make([]byte, 100)
	reply := make([]byte, 100)
	slow := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		c, err := n.client.DialTCP(ctx, netip.AddrPort{}, raddr)
		if err != nil {
			b.Fatalf("dial #%d: %v", i, err)
		}
		if _, err := c.Write(msg); err != nil {
			b.Fatalf("write #%d: %v", i, err)
		}
		if _, err := io.ReadFull(c, reply); err != nil {
			b.Fatalf("read #%d: %v", i, err)
		}
		if err := <-served; err != nil {
			b.Fatalf("server #%d: %v", i, err)
		}
		c.Close()
		if time.Since(t0) > 100*time.Millisecond {
			slow++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
	b.ReportMetric(float64(slow), "slow-conns")
}

// BenchmarkRoundTripPipe sends 100 bytes and waits for 100 bytes back over
// one established connection on the wall clock; ns/op is the round trip
// (bench/gvisor: RoundTrip).
func BenchmarkRoundTripPipe(b *testing.B) {
	n := newRealNet(b, 1500, stack.TCPOptions{})
	ln, err := n.server.ListenTCP(netip.AddrPortFrom(serverAddr.Addr(), 7), 8)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, s := n.dial(b, ln)
	defer c.Close()
	go func() {
		defer s.Close()
		buf := make([]byte, 100)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				return
			}
			if _, err := s.Write(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatalf("write #%d: %v", i, err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatalf("read #%d: %v", i, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/rtt")
}

// BenchmarkBulkParallelPipe moves b.N·64 KiB spread over 8 connections at
// once through one pair of stacks on the wall clock, MTU 1500, and
// reports the aggregate rate (bench/gvisor: BulkParallel, same
// GOMAXPROCS).
func BenchmarkBulkParallelPipe(b *testing.B) {
	const conns = 8
	n := newRealNet(b, 1500, stack.TCPOptions{})
	ln, err := n.server.ListenTCP(netip.AddrPortFrom(serverAddr.Addr(), 5001), conns)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	type pair struct{ c, s net.Conn }
	ps := make([]pair, conns)
	for i := range ps {
		ps[i].c, ps[i].s = n.dial(b, ln)
	}
	per := make([]int64, conns)
	for i := range b.N {
		per[i%conns]++
	}
	errs := make(chan error, 2*conns)
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	for i, p := range ps {
		total := per[i] * chunk
		go func() {
			defer p.s.Close()
			buf := make([]byte, 256<<10)
			var got int64
			for got < total {
				k, err := p.s.Read(buf)
				got += int64(k)
				if err != nil {
					if errors.Is(err, io.EOF) && got == total {
						break
					}
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		go func() {
			wbuf := make([]byte, chunk)
			for range per[i] {
				if _, err := p.c.Write(wbuf); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 * conns {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// Frames the link dropped (a full queue): each costs a loss recovery.
	b.ReportMetric(float64(n.up.Dropped()+n.down.Dropped()), "link-drops")
	// Times a sender held data back at a full queue instead (tcp.TxQueueNet).
	b.ReportMetric(float64(n.up.Fulls()+n.down.Fulls()), "queue-fulls")
	for _, p := range ps {
		p.c.Close()
	}
}
