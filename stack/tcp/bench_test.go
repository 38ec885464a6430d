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
	runtime.ReadMemStats(&m1)
	per := float64(m1.HeapAlloc-m0.HeapAlloc) / (2 * n)
	t.Logf("%.0f bytes per idle connection endpoint (Conn is %d bytes)", per, unsafe.Sizeof(Conn{}))
	if per > 2048 {
		t.Errorf("%.0f bytes per idle endpoint, want ≤ 2 KiB", per)
	}
	runtime.KeepAlive(keep)
}
