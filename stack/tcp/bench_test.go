package tcp

import (
	"testing"
	"time"
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
