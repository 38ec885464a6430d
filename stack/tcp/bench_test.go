package tcp

import (
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// bulk moves n bytes client → server through the fake net and returns
// the bytes received.
func bulk(tb testing.TB, w *fnet, c, s *Conn, n int, chunk []byte, rbuf []byte) int {
	sent, got := 0, 0
	for got < n {
		for sent < n {
			m, err := c.Write(chunk[:min(len(chunk), n-sent)])
			if err != nil {
				break
			}
			sent += m
		}
		for {
			m, err := s.Read(rbuf)
			if err != nil {
				break
			}
			got += m
		}
		if got >= n {
			break
		}
		if !w.clk.step(w.clk.now.Add(time.Hour)) {
			tb.Fatalf("stalled at %d of %d bytes", got, n)
		}
	}
	return got
}

func BenchmarkBulk(b *testing.B) {
	for _, mtu := range []int{1500, 65535} {
		b.Run(map[int]string{1500: "mtu1500", 65535: "mtu65535"}[mtu], func(b *testing.B) {
			w, cl, sv := pair(Config{SendBuffer: 1 << 20, RecvBuffer: 1 << 20})
			cl.mtu, sv.mtu = mtu, mtu
			w.delay = 50 * time.Microsecond
			c, s, _ := dial(b, w, cl, sv, nil)
			chunk := make([]byte, 64<<10)
			rbuf := make([]byte, 64<<10)
			const per = 1 << 20
			bulk(b, w, c, s, per, chunk, rbuf) // warm up pools
			b.SetBytes(per)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bulk(b, w, c, s, per, chunk, rbuf)
			}
			b.StopTimer()
			segs := cl.p.Counters().OutSegs
			b.ReportMetric(float64(segs)/float64(b.N+1), "segs/op")
		})
	}
}

func TestBulkAllocs(t *testing.T) {
	w, cl, sv := pair(Config{SendBuffer: 1 << 20, RecvBuffer: 1 << 20})
	w.delay = 50 * time.Microsecond
	c, s, _ := dial(t, w, cl, sv, nil)
	chunk := make([]byte, 64<<10)
	rbuf := make([]byte, 64<<10)
	bulk(t, w, c, s, 4<<20, chunk, rbuf)
	before := cl.p.Counters().OutSegs
	allocs := testing.AllocsPerRun(5, func() { bulk(t, w, c, s, 1<<20, chunk, rbuf) })
	segs := float64(cl.p.Counters().OutSegs-before) / 6
	if allocs > 2 {
		t.Fatalf("%.1f allocations per MiB (%.0f segments)", allocs, segs)
	}
}

// BenchmarkConnSetup measures dial + accept + close (both ends until
// CLOSED, TIME_WAIT included) through the fake net.
func BenchmarkConnSetup(b *testing.B) {
	w, cl, sv := pair(Config{MSL: time.Millisecond})
	w.delay = 10 * time.Microsecond
	l, _ := sv.p.Listen(ap("0.0.0.0:80"), 128, nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c, err := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
		if err != nil {
			b.Fatal(err)
		}
		w.clk.advance(30 * time.Microsecond)
		s, err := l.Accept()
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
		s.Close()
		w.clk.advance(time.Millisecond)
	}
	b.StopTimer()
	w.clk.advance(time.Second)
	if cl.p.NumConns() != 0 || sv.p.NumConns() != 0 {
		b.Fatalf("left %d %d", cl.p.NumConns(), sv.p.NumConns())
	}
}

// TestIdleConnFootprint measures the heap held by idle established
// connections (both ends of each, divided by two).
func TestIdleConnFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 2000 connections")
	}
	w, cl, sv := pair(Config{SynBacklog: 4096})
	l, _ := sv.p.Listen(ap("0.0.0.0:80"), 4096, nil)
	var keep []*Conn
	var m0, m1 runtime.MemStats
	// Twice: pooled free buffers (buffer.go) go at the second.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m0)
	const n = 1000
	for i := 0; i < n; i++ {
		c, _ := cl.p.Connect(netip0(), ap("10.0.0.2:80"), nil)
		keep = append(keep, c)
	}
	w.clk.advance(time.Second)
	for i := 0; i < n; i++ {
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		keep = append(keep, s)
	}
	w.free = nil
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	per := float64(m1.HeapAlloc-m0.HeapAlloc) / (2 * n)
	t.Logf("%.0f bytes per idle connection endpoint (Conn is %d bytes)", per, unsafe.Sizeof(Conn{}))
	if per > 2048 {
		t.Errorf("%.0f bytes per idle endpoint, want ≤ 2 KiB", per)
	}
	runtime.KeepAlive(keep)
}

// TestBufClasses checks the ring storage pools: a buffer comes cut to
// the size asked for with its class's capacity, a Proto's freed buffer
// serves its next request of the same class (the spare), whatever the
// exact size, and one too large for any class is exactly its size.
func TestBufClasses(t *testing.T) {
	p := &Proto{}
	b := p.getBuf(300_000)
	if len(b) != 300_000 || cap(b) != 1<<19 {
		t.Fatalf("getBuf(300000): len %d cap %d, want 300000 and %d", len(b), cap(b), 1<<19)
	}
	b[0] = 0x5a
	p.putBuf(b)
	c := p.getBuf(400_000)
	if len(c) != 400_000 || cap(c) != 1<<19 || c[0] != 0x5a {
		t.Errorf("getBuf(400000) after freeing a 512 KiB buffer: len %d cap %d first byte %#x, want the spare back", len(c), cap(c), c[0])
	}
	if n := testing.AllocsPerRun(100, func() { p.putBuf(c); c = p.getBuf(350_000) }); n != 0 {
		t.Errorf("%v allocations per release and reuse, want 0", n)
	}
	big := p.getBuf(1<<maxBufClass + 1)
	if len(big) != 1<<maxBufClass+1 || cap(big) != len(big) {
		t.Errorf("a buffer past the largest class: len %d cap %d", len(big), cap(big))
	}
	if k := bufClass(1); k != minBufClass {
		t.Errorf("bufClass(1) = %d, want %d", k, minBufClass)
	}
}

// TestBufReserve checks the process-wide reserve: a large buffer freed
// by one Proto (which is then dropped, as a finished run's stack is)
// serves another after two garbage collections, which empty the
// sync.Pools, and the reserve never holds more than reserveBytes.
func TestBufReserve(t *testing.T) {
	const size = 4 << 20 // a send ring at tcp_wmem's autotuned 4 MB
	p := &Proto{}
	b := p.getBuf(size)
	b[0] = 0xa5
	p.putBuf(b) // large: straight to the reserve, not the Proto's spares
	if p.spare[0] != nil || p.spare[1] != nil {
		t.Fatalf("a %d-byte buffer kept as the Proto's spare", size)
	}
	runtime.GC()
	runtime.GC()
	c := (&Proto{}).getBuf(size)
	if &c[0] != &b[0] || c[0] != 0xa5 { // a new buffer, even at the same address, is zeroed
		t.Errorf("after two collections, another Proto's %d-byte buffer is a new one, not the one freed", size)
	}
	var held [][]byte
	for range 2 * reserveBytes / size {
		held = append(held, (&Proto{}).getBuf(size))
	}
	for _, h := range held {
		poolPut(h)
	}
	reserve.mu.Lock()
	n := reserve.bytes
	reserve.mu.Unlock()
	if n > reserveBytes || n < reserveBytes-size {
		t.Errorf("the reserve holds %d bytes after %d buffers of %d were freed, want at most %d and near it", n, len(held), size, reserveBytes)
	}
}
