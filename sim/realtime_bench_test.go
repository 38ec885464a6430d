package sim

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"stacklab/stack"
)

// BenchmarkPipeRealClock measures a pipe on the wall clock with no
// impairments, the TUN mode's default: frames per second through the
// timer-driven delivery.
func BenchmarkPipeRealClock(b *testing.B) {
	for _, bc := range []struct {
		name string
		imp  Impairments
	}{
		{"none", Impairments{}},
		{"delay1ms", Impairments{Delay: time.Millisecond}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var got atomic.Int64
			p := NewPipe(stack.RealClock{}, rand.New(rand.NewPCG(1, 2)), bc.imp, func(stack.Packet) { got.Add(1) })
			defer p.Close()
			f := frame(1, 1400)
			b.SetBytes(1400)
			b.ReportAllocs()
			n := int64(0)
			for b.Loop() {
				p.Send(f)
				n++
				for n-got.Load() > 512 { // bounded in flight, like a real sender
					time.Sleep(10 * time.Microsecond)
				}
			}
			for got.Load() < n {
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
}
