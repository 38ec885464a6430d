package linktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"stacklab/stack"
)

// checkNoLeak fails the test if goroutines started during it are still
// running at its end.
func checkNoLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutines leaked: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

type collector struct {
	mu   sync.Mutex
	got  []stack.Packet
	want int
	done chan struct{}
}

func newCollector(want int) *collector { return &collector{want: want, done: make(chan struct{})} }

func (c *collector) deliver(pkt stack.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, stack.Packet{ID: pkt.ID, Data: bytes.Clone(pkt.Data)})
	if len(c.got) == c.want {
		close(c.done)
	}
}

func (c *collector) wait(t *testing.T) []stack.Packet {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("received %d of %d frames", len(c.got), c.want)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got
}

func TestPipeBothWays(t *testing.T) {
	checkNoLeak(t)
	a, b := Pipe()
	defer a.Close()
	const n = 500
	atB, atA := newCollector(n), newCollector(n)
	b.Attach(atB.deliver)
	a.Attach(atA.deliver)
	for i := range n {
		data := []byte{byte(i), byte(i >> 8), 1, 2, 3}
		a.Send(stack.Packet{ID: uint64(i), Data: data})
		clear(data) // the pipe must have copied it
		b.Send(stack.Packet{ID: uint64(1000 + i), Data: []byte{byte(i), byte(i >> 8)}})
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // stay below QueueLen
		}
	}
	for i, p := range atB.wait(t) {
		if p.ID != uint64(i) || p.Data[0] != byte(i) || p.Data[1] != byte(i>>8) || len(p.Data) != 5 || p.Data[4] != 3 {
			t.Fatalf("b received #%d: %+v", i, p)
		}
	}
	for i, p := range atA.wait(t) {
		if p.ID != uint64(1000+i) {
			t.Fatalf("a received #%d: id %d", i, p.ID)
		}
	}
	if a.Sent() != n || a.Dropped() != 0 || b.Sent() != n {
		t.Errorf("sent %d/%d, dropped %d", a.Sent(), b.Sent(), a.Dropped())
	}
}

func TestPipeNotSynchronous(t *testing.T) {
	checkNoLeak(t)
	a, b := Pipe()
	defer b.Close()
	inSend := true
	var mu sync.Mutex
	c := newCollector(1)
	b.Attach(func(pkt stack.Packet) {
		mu.Lock()
		if inSend {
			t.Error("delivered from inside Send")
		}
		mu.Unlock()
		c.deliver(pkt)
	})
	mu.Lock()
	a.Send(stack.Packet{ID: 1, Data: []byte{1}})
	inSend = false
	mu.Unlock()
	c.wait(t)
}

func TestPipeCloseDropsAndStops(t *testing.T) {
	checkNoLeak(t)
	a, b := Pipe()
	b.Attach(func(stack.Packet) {})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	a.Close() // idempotent, from the other end
	a.Send(stack.Packet{ID: 1, Data: []byte{1}})
	if a.Dropped() != 1 {
		t.Errorf("send after close: dropped %d", a.Dropped())
	}
}

func TestPipeFullQueueDrops(t *testing.T) {
	checkNoLeak(t)
	a, b := Pipe()
	defer a.Close()
	release := make(chan struct{})
	var once sync.Once
	b.Attach(func(stack.Packet) { once.Do(func() { <-release }) })
	for i := range QueueLen + 10 {
		a.Send(stack.Packet{ID: uint64(i), Data: []byte{1}})
	}
	if a.Dropped() == 0 {
		t.Error("a full queue did not drop")
	}
	close(release)
}

func TestConnect(t *testing.T) {
	checkNoLeak(t)
	a := stack.New(stack.Options{Name: "a"})
	b := stack.New(stack.Options{Name: "b"})
	closer, err := Connect(a, stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24")},
		b, stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.2/24")})
	if errors.Is(err, syscall.ENOSYS) {
		t.Skip("stack not implemented yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	srv, err := b.Socket(stack.SockDgram)
	if errors.Is(err, syscall.ENOSYS) {
		t.Skip("stack not implemented yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	b.SetNonblock(srv, true)
	if err := b.Bind(srv, netip.MustParseAddrPort("10.0.0.2:9")); err != nil {
		t.Fatal(err)
	}
	cli, _ := a.Socket(stack.SockDgram)
	buf := make([]byte, 100)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		// The first datagram may wait on ARP; keep sending until one lands.
		a.SendTo(cli, []byte("ping"), netip.MustParseAddrPort("10.0.0.2:9"))
		time.Sleep(5 * time.Millisecond)
		if n, from, err := b.RecvFrom(srv, buf); err == nil {
			if string(buf[:n]) != "ping" || from.Addr() != netip.MustParseAddr("10.0.0.1") {
				t.Fatalf("received %q from %v", buf[:n], from)
			}
			return
		}
	}
	t.Fatal("no datagram crossed the pipe")
}

func BenchmarkPipe(b *testing.B) {
	x, y := Pipe()
	defer x.Close()
	var got sync.WaitGroup
	y.Attach(func(stack.Packet) { got.Done() })
	data := make([]byte, 1500)
	b.SetBytes(1500)
	b.ReportAllocs()
	for b.Loop() {
		got.Add(1)
		x.Send(stack.Packet{ID: 1, Data: data})
		got.Wait()
	}
}

// TestPipeCloseCountsQueued closes a pipe with frames still queued behind
// a blocked receiver: they are not delivered, and each is counted as
// dropped, so Sent = delivered + Dropped.
func TestPipeCloseCountsQueued(t *testing.T) {
	checkNoLeak(t)
	a, b := Pipe()
	entered, release := make(chan struct{}), make(chan struct{})
	var delivered int
	b.Attach(func(stack.Packet) {
		delivered++
		if delivered == 1 {
			close(entered)
			<-release
		}
	})
	for i := range 5 {
		a.Send(stack.Packet{ID: uint64(i + 1), Data: []byte{1}})
	}
	<-entered
	closed := make(chan struct{})
	go func() { a.Close(); close(closed) }()
	for !a.p.closed.Load() {
		time.Sleep(time.Millisecond)
	}
	close(release)
	<-closed
	if a.Sent() != 5 || delivered != 1 || a.Dropped() != 4 {
		t.Fatalf("sent %d, delivered %d, dropped %d; want 5, 1, 4", a.Sent(), delivered, a.Dropped())
	}
}

// TestPipeTxFullAndReady fills a queue behind a blocked receiver: TxFull
// says full from its high watermark on, and once the receiver drains the
// queue to half the function given to SetTxReady runs, once.
func TestPipeTxFullAndReady(t *testing.T) {
	checkNoLeak(t)
	a, b := Pipe()
	defer a.Close()
	var ready atomic.Int32
	readyCh := make(chan struct{}, 4)
	a.SetTxReady(func() { ready.Add(1); readyCh <- struct{}{} })
	release := make(chan struct{})
	var once sync.Once
	b.Attach(func(stack.Packet) { once.Do(func() { <-release }) })
	sent := 0
	for !a.TxFull() {
		if sent > QueueLen {
			t.Fatalf("TxFull never reported full after %d frames", sent)
		}
		a.Send(stack.Packet{ID: uint64(sent), Data: []byte{1}})
		sent++
	}
	// One frame is with the blocked receiver, the rest are queued.
	if high := QueueLen - 64; sent < high || sent > high+1 {
		t.Errorf("full after %d frames, want %d or %d", sent, high, high+1)
	}
	if a.Dropped() != 0 || a.Fulls() != 1 {
		t.Errorf("dropped %d, fulls %d; want 0, 1", a.Dropped(), a.Fulls())
	}
	if ready.Load() != 0 {
		t.Error("ready called while the queue is full")
	}
	close(release)
	select {
	case <-readyCh:
	case <-time.After(5 * time.Second):
		t.Fatal("ready not called after the queue drained")
	}
	time.Sleep(10 * time.Millisecond)
	if n := ready.Load(); n != 1 {
		t.Errorf("ready called %d times, want 1", n)
	}
	if a.TxFull() {
		t.Error("still full after draining")
	}
}

// TestParallelBulkNoOwnDrops runs 8 bulk connections at once from one
// stack to another over a pipe: their windows together grow past the
// queue, and the senders must wait for room (tcp.TxQueueNet) instead of
// the pipe dropping their segments. Without the backpressure the client's
// direction drops thousands of frames and the connections spend their
// time in loss recovery.
func TestParallelBulkNoOwnDrops(t *testing.T) {
	checkNoLeak(t)
	const conns, per = 8, 1 << 20
	// Fixed 4 MiB buffers, so the windows are open from the start as
	// autotuned ones are later in a longer transfer, and a 256-frame
	// queue, which slow start overruns.
	opts := stack.TCPOptions{SendBuffer: 4 << 20, RecvBuffer: 4 << 20}
	cli := stack.New(stack.Options{Name: "client", TCP: opts})
	srv := stack.New(stack.Options{Name: "server", TCP: opts})
	up, down := PipeLen(256)
	defer up.Close()
	cnic, err := cli.AddNIC(stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.1/24")}, up)
	if err != nil {
		t.Fatal(err)
	}
	snic, err := srv.AddNIC(stack.NICConfig{Name: "eth0", Addr: netip.MustParsePrefix("10.0.0.2/24")}, down)
	if err != nil {
		t.Fatal(err)
	}
	up.Attach(cnic.Deliver)
	// Until the senders first find the queue full, the server takes a
	// frame only once the queue is nearly full or 2 ms have passed: a
	// receiver slower than the senders, whatever the goroutines' speed
	// (under the race detector the sending stack is often the slower).
	q := up.out
	down.Attach(func(pkt stack.Packet) {
		for deadline := time.Now().Add(2 * time.Millisecond); q.fulls.Load() == 0 && len(q.ch) < q.high-1 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Microsecond)
		}
		snic.Deliver(pkt)
	})
	ln, err := srv.ListenTCP(netip.MustParseAddrPort("10.0.0.2:5001"), conns)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errs := make(chan error, 2*conns)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for range conns {
		go func() {
			c, err := ln.Accept()
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			n, err := io.Copy(io.Discard, c)
			if err == nil && n != per {
				err = fmt.Errorf("received %d bytes, want %d", n, per)
			}
			errs <- err
		}()
		go func() {
			c, err := cli.DialTCP(ctx, netip.AddrPort{}, netip.MustParseAddrPort("10.0.0.2:5001"))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			_, err = c.Write(make([]byte, per))
			errs <- err
		}()
	}
	for range 2 * conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	tc := map[string]uint64{}
	for _, c := range cli.Counters() {
		tc[c.Name] = c.Value
	}
	t.Logf("client: %d segments, %d retransmitted, %d waits for room; pipe: %d frames dropped, %d times full",
		tc["tcp.OutSegs"], tc["tcp.RetransSegs"], tc["tcp.TxQueueFull"], up.Dropped(), up.Fulls())
	if up.Dropped() != 0 {
		t.Errorf("the client's direction dropped %d frames; senders should wait for room", up.Dropped())
	}
	if tc["tcp.TxQueueFull"] == 0 || up.Fulls() == 0 {
		t.Errorf("the queue never filled (TxQueueFull %d, Fulls %d): the test does not exercise backpressure", tc["tcp.TxQueueFull"], up.Fulls())
	}
}
