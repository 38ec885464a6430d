package linktest

import (
	"bytes"
	"errors"
	"net/netip"
	"runtime"
	"sync"
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
