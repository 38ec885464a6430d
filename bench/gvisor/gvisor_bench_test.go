package gvisor

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// chunk is the size of each write in the bulk benchmarks, as in
// stacklab's internal/perf and bench/kernel.
const chunk = 64 << 10

var (
	clientAddr = tcpip.AddrFrom4([4]byte{10, 0, 0, 1})
	serverAddr = tcpip.AddrFrom4([4]byte{10, 0, 0, 2})
)

// gnet is two gVisor stacks joined by channel link endpoints, one
// goroutine per direction moving each packet from one endpoint's
// outbound queue into the other's inbound path: the same shape as
// stacklab's stack/linktest pipe.
type gnet struct {
	client, server *stack.Stack
	cep, sep       *channel.Endpoint
	cancel         context.CancelFunc
	wg             sync.WaitGroup
}

func newStack(tb testing.TB, addr tcpip.Address, ep *channel.Endpoint) *stack.Stack {
	tb.Helper()
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	sack := tcpip.TCPSACKEnabled(true) // as Linux and stacklab
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		tb.Fatalf("gvisor: enable SACK: %v", err)
	}
	if err := s.CreateNIC(1, ep); err != nil {
		tb.Fatalf("gvisor: create NIC: %v", err)
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: addr.WithPrefix()}
	if err := s.AddProtocolAddress(1, pa, stack.AddressProperties{}); err != nil {
		tb.Fatalf("gvisor: add address: %v", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: 1}})
	return s
}

// newGNet builds the two stacks with link MTU mtu; offload marks both
// endpoints as offloading checksums (no computation on send, no
// verification on receive).
func newGNet(tb testing.TB, mtu uint32, offload bool) *gnet {
	tb.Helper()
	n := &gnet{
		cep: channel.New(1024, mtu, ""),
		sep: channel.New(1024, mtu, ""),
	}
	if offload {
		caps := stack.CapabilityTXChecksumOffload | stack.CapabilityRXChecksumOffload
		n.cep.LinkEPCapabilities |= caps
		n.sep.LinkEPCapabilities |= caps
	}
	n.client = newStack(tb, clientAddr, n.cep)
	n.server = newStack(tb, serverAddr, n.sep)
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.wg.Add(2)
	go n.forward(ctx, n.cep, n.sep)
	go n.forward(ctx, n.sep, n.cep)
	tb.Cleanup(n.close)
	return n
}

// forward moves packets sent on from into to's receive path until ctx
// ends. Each packet is copied into a fresh buffer, as a wire would.
func (n *gnet) forward(ctx context.Context, from, to *channel.Endpoint) {
	defer n.wg.Done()
	for {
		pkt := from.ReadContext(ctx)
		if pkt == nil {
			return
		}
		v := pkt.ToView()
		pkt.DecRef()
		in := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithView(v)})
		to.InjectInbound(ipv4.ProtocolNumber, in)
		in.DecRef()
	}
}

func (n *gnet) close() {
	n.cancel()
	n.wg.Wait()
	n.client.Close()
	n.server.Close()
	n.client.Wait()
	n.server.Wait()
}

func (n *gnet) listen(tb testing.TB, port uint16) *gonet.TCPListener {
	tb.Helper()
	ln, err := gonet.ListenTCP(n.server, tcpip.FullAddress{NIC: 1, Addr: serverAddr, Port: port}, ipv4.ProtocolNumber)
	if err != nil {
		tb.Fatalf("gvisor: listen: %v", err)
	}
	return ln
}

func (n *gnet) dialConn(ctx context.Context, port uint16) (net.Conn, error) {
	return gonet.DialContextTCP(ctx, n.client, tcpip.FullAddress{NIC: 1, Addr: serverAddr, Port: port}, ipv4.ProtocolNumber)
}

// dial returns both ends of a new connection.
func (n *gnet) dial(tb testing.TB, ln *gonet.TCPListener, port uint16) (c, s net.Conn) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
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
	c, err := n.dialConn(ctx, port)
	if err != nil {
		tb.Fatalf("gvisor: dial: %v", err)
	}
	a := <-ch
	if a.err != nil {
		tb.Fatalf("gvisor: accept: %v", a.err)
	}
	return c, a.c
}

// BenchmarkBulk moves b.N·64 KiB over one connection between the two
// stacks with blocking Read and Write (stacklab: BulkPipe).
func BenchmarkBulk(b *testing.B) {
	for _, tc := range []struct {
		name    string
		mtu     uint32
		offload bool
	}{
		{"mtu=1500/offload=off", 1500, false},
		{"mtu=65535/offload=off", 65535, false},
		{"mtu=65535/offload=on", 65535, true},
	} {
		b.Run(tc.name, func(b *testing.B) { benchBulk(b, tc.mtu, tc.offload, 1) })
	}
}

// BenchmarkBulkParallel moves the same amount over 8 connections at once
// through one pair of stacks and reports the aggregate rate
// (stacklab: BulkParallelPipe).
func BenchmarkBulkParallel(b *testing.B) {
	benchBulk(b, 1500, false, 8)
}

func benchBulk(b *testing.B, mtu uint32, offload bool, conns int) {
	n := newGNet(b, mtu, offload)
	const port = 5001
	ln := n.listen(b, port)
	defer ln.Close()
	type pair struct{ c, s net.Conn }
	ps := make([]pair, conns)
	for i := range ps {
		ps[i].c, ps[i].s = n.dial(b, ln, port)
	}
	// Spread b.N chunks over the connections.
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
			b.Fatalf("gvisor: %v", err)
		}
	}
	b.StopTimer()
	for _, p := range ps {
		p.c.Close()
	}
}

// BenchmarkConnSetupData opens a connection, sends 100 bytes each way and
// closes both ends, one connection at a time, and reports connections
// per wall second (stacklab: ConnSetupDataPipe).
func BenchmarkConnSetupData(b *testing.B) {
	n := newGNet(b, 1500, false)
	const port = 80
	ln := n.listen(b, port)
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
	msg := make([]byte, 100)
	reply := make([]byte, 100)
	ctx := context.Background()
	slow := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		c, err := n.dialConn(ctx, port)
		if err != nil {
			b.Fatalf("gvisor: dial #%d: %v", i, err)
		}
		if _, err := c.Write(msg); err != nil {
			b.Fatalf("gvisor: write #%d: %v", i, err)
		}
		if _, err := io.ReadFull(c, reply); err != nil {
			b.Fatalf("gvisor: read #%d: %v", i, err)
		}
		if err := <-served; err != nil {
			b.Fatalf("gvisor: server #%d: %v", i, err)
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

// BenchmarkRoundTrip sends 100 bytes and waits for 100 bytes back over one
// established connection; ns/op is the round trip (stacklab:
// RoundTripPipe).
func BenchmarkRoundTrip(b *testing.B) {
	n := newGNet(b, 1500, false)
	const port = 7
	ln := n.listen(b, port)
	defer ln.Close()
	c, s := n.dial(b, ln, port)
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
			b.Fatalf("gvisor: write #%d: %v", i, err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatalf("gvisor: read #%d: %v", i, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/rtt")
}

// idleConns is the number of connections BenchmarkIdleMemory holds open,
// as in stacklab's.
const idleConns = 10000

// BenchmarkIdleMemory establishes idleConns connections, lets them go
// idle, and reports the Go heap growth per endpoint (two per
// connection). Run it with -benchtime 1x.
func BenchmarkIdleMemory(b *testing.B) {
	for range b.N {
		b.ReportMetric(idleMemory(b, idleConns), "B/endpoint")
	}
	b.ReportMetric(idleConns, "conns")
}

func idleMemory(tb testing.TB, conns int) float64 {
	n := newGNet(tb, 1500, false)
	const port = 80
	ln := n.listen(tb, port)
	defer ln.Close()
	keep := make([]net.Conn, 0, 2*conns+2)
	c0, s0 := n.dial(tb, ln, port)
	keep = append(keep, c0, s0)
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for range conns {
		c, s := n.dial(tb, ln, port)
		keep = append(keep, c, s)
	}
	time.Sleep(time.Second) // delayed ACKs settle
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	// The slice of conns is the harness's, not the stack's.
	harness := float64(cap(keep)) * 16
	per := (float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc)) - harness) / float64(2*conns)
	for _, c := range keep {
		c.Close()
	}
	return per
}

// TestHarness checks the link, a connection, an exchange and the idle
// measurement on a few connections, so `go test` runs the harness.
func TestHarness(t *testing.T) {
	n := newGNet(t, 1500, false)
	ln := n.listen(t, 9)
	defer ln.Close()
	c, s := n.dial(t, ln, 9)
	msg := []byte("hello over gvisor")
	go func() { c.Write(msg); c.Close() }()
	got, err := io.ReadAll(s)
	if err != nil || string(got) != string(msg) {
		t.Fatalf("read %q, %v; want %q", got, err, msg)
	}
	s.Close()
	if per := timeWaitMemory(t, 50); per <= 0 {
		t.Errorf("memory per TIME_WAIT connection %v B: the heap did not grow", per)
	}
	if per := idleMemory(t, 50); per <= 0 {
		t.Errorf("idle memory per endpoint %v B: the heap did not grow", per)
	}
}

// BenchmarkTimeWaitMemory leaves idleConns connections in TIME_WAIT on
// the client (it closes first; the server reads the EOF and closes too)
// and reports the heap growth per connection in TIME_WAIT
// (internal/perf: TimeWaitMemory).
func BenchmarkTimeWaitMemory(b *testing.B) {
	for range b.N {
		b.ReportMetric(timeWaitMemory(b, idleConns), "B/time-wait")
	}
}

func timeWaitMemory(tb testing.TB, conns int) float64 {
	n := newGNet(tb, 1500, false)
	const port = 80
	ln := n.listen(tb, port)
	defer ln.Close()
	buf := make([]byte, 1)
	closeOne := func() {
		c, s := n.dial(tb, ln, port)
		c.Close()
		if _, err := s.Read(buf); err != io.EOF {
			tb.Fatalf("gvisor: server read %v, want EOF", err)
		}
		s.Close()
	}
	closeOne()
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for range conns {
		closeOne()
	}
	time.Sleep(time.Second) // the last ACKs; well within TIME_WAIT's 60 s
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	inTW := 0
	for _, e := range n.client.RegisteredEndpoints() {
		if ep, ok := e.(*tcp.Endpoint); ok && tcp.EndpointState(ep.State()) == tcp.StateTimeWait {
			inTW++
		}
	}
	if inTW < conns {
		tb.Fatalf("gvisor: %d connections in TIME_WAIT on the client, want %d", inTW, conns+1)
	}
	return float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc)) / float64(conns)
}
