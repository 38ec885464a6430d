package perf

import (
	"runtime"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkCrossCPU measures the machine rather than stacklab: the round
// trip of one cache line between two goroutines, each locked to a thread
// pinned to its own CPU, passing a counter back and forth. It is the
// least that any hand-off between goroutines on two CPUs costs (a link
// goroutine delivering to a stack, the capture's writer taking a batch),
// and it differs several-fold between machines of the same kind, so
// bench/run.sh prints it beside the figures that depend on it.
func BenchmarkCrossCPU(b *testing.B) {
	var cpus unix.CPUSet
	if err := unix.SchedGetaffinity(0, &cpus); err != nil || cpus.Count() < 2 || runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs two CPUs and GOMAXPROCS ≥ 2")
	}
	var first, second = -1, -1
	for c := 0; c < 1024 && second < 0; c++ {
		if cpus.IsSet(c) {
			if first < 0 {
				first = c
			} else {
				second = c
			}
		}
	}
	// pin locks the calling goroutine to its thread and that thread to
	// cpu; the returned func undoes both.
	pin := func(cpu int) func() {
		runtime.LockOSThread()
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			b.Errorf("pinning to CPU %d: %v", cpu, err)
		}
		return func() {
			unix.SchedSetaffinity(0, &cpus)
			runtime.UnlockOSThread()
		}
	}
	// The counter alone on its cache line.
	var line struct {
		_ [64]byte
		n atomic.Int64
		_ [64]byte
	}
	rounds := int64(b.N)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer pin(second)()
		for i := int64(1); i < 2*rounds; i += 2 {
			for line.n.Load() != i {
			}
			line.n.Store(i + 1)
		}
	}()
	defer pin(first)()
	b.ResetTimer()
	for i := int64(0); i < 2*rounds; i += 2 {
		for line.n.Load() != i {
		}
		line.n.Store(i + 1)
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rounds), "ns/rtt")
}
