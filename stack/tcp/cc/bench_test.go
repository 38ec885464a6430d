package cc

import (
	"testing"
	"time"
)

// BenchmarkOnAck measures the per-ACK cost of each controller in slow
// start, congestion avoidance, and through a loss every 1000 ACKs.
func BenchmarkOnAck(b *testing.B) {
	const mss = 1460
	for _, name := range Names() {
		b.Run(name+"/avoidance", func(b *testing.B) {
			c, _ := New(name, mss)
			c.EnterRecovery(t0, 200*mss)
			c.ExitRecovery(t0, 200*mss)
			now := t0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(10 * time.Microsecond)
				c.OnAck(Ack{Now: now, Acked: mss, RTT: 10 * time.Millisecond, Inflight: 100 * mss})
			}
		})
		b.Run(name+"/lossy", func(b *testing.B) {
			c, _ := New(name, mss)
			now := t0
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(10 * time.Microsecond)
				i++
				if i%1000 == 0 {
					c.EnterRecovery(now, c.Cwnd())
					c.Inflate(3 * mss)
					c.Deflate(2 * mss)
					c.ExitRecovery(now, c.Cwnd())
					continue
				}
				c.OnAck(Ack{Now: now, Acked: mss, RTT: 10 * time.Millisecond, Inflight: c.Cwnd()})
			}
		})
	}
}
