package perf

import (
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"stacklab/capture"
	"stacklab/stack"
)

// chunk is the size of each write in the bulk benchmarks, as in the
// peer's (bench/kernel).
const chunk = 64 << 10

// mtus are the link MTUs of the bulk benchmarks.
var mtus = []struct {
	name string
	mtu  int
}{
	{"mtu=1500", 1500},
	{"mtu=65535", 65535},
}

// BenchmarkBulkSim moves b.N·64 KiB over one connection through an
// in-memory sim link with no delay and no rate limit, in virtual time,
// and reports wall-clock throughput and allocations per data segment.
func BenchmarkBulkSim(b *testing.B) {
	for _, m := range mtus {
		for _, capture := range []bool{false, true} {
			name := m.name + "/capture=off"
			if capture {
				name = m.name + "/capture=on"
			}
			b.Run(name, func(b *testing.B) { benchBulkSim(b, m.mtu, capture) })
		}
	}
}

func benchBulkSim(b *testing.B, mtu int, capture bool) {
	cfg := simConfig{mtu: mtu}
	if capture {
		rec, _ := newRecorder(b, discardTrace(b), true)
		cfg.tap, cfg.obs = rec, rec
	}
	n := newSimNet(b, cfg)
	const port = 5001
	lfd := n.listen(b, port, 8)
	cfd, sfd := n.connect(b, lfd, port)
	wbuf := make([]byte, chunk)
	for i := range wbuf {
		wbuf[i] = byte(i)
	}
	rbuf := make([]byte, 256<<10)
	// Warm up: the first window grows buffers and pools.
	n.transfer(b, cfd, sfd, 4*chunk, time.Time{}, wbuf, rbuf)

	total := int64(b.N) * chunk
	segs0 := n.up.Counters().Sent
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	got := n.transfer(b, cfd, sfd, total, time.Time{}, wbuf, rbuf)
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	if got != total {
		b.Fatalf("server read %d bytes, want %d", got, total)
	}
	segs := n.up.Counters().Sent - segs0
	allocs := float64(ms1.Mallocs - ms0.Mallocs)
	b.ReportMetric(allocs/float64(segs), "allocs/seg")
	b.ReportMetric(allocs/(float64(total)/1e6), "allocs/MB")
	b.ReportMetric(float64(total)/float64(segs), "B/seg")
	n.closePair(b, cfd, sfd, time.Second)
}

// TestBulkSimDelivers checks the bulk harness itself: the bytes arrive
// and the segments are as large as the MTU allows.
func TestBulkSimDelivers(t *testing.T) {
	for _, m := range mtus {
		t.Run(m.name, func(t *testing.T) {
			n := newSimNet(t, simConfig{mtu: m.mtu})
			lfd := n.listen(t, 80, 8)
			cfd, sfd := n.connect(t, lfd, 80)
			wbuf, rbuf := make([]byte, chunk), make([]byte, chunk)
			const total = 1 << 20
			if got := n.transfer(t, cfd, sfd, total, time.Time{}, wbuf, rbuf); got != total {
				t.Fatalf("server read %d bytes, want %d", got, total)
			}
			info, err := n.client.TCPInfo(cfd)
			if err != nil {
				t.Fatal(err)
			}
			if want := m.mtu - 40; info.MSS > want || info.MSS < want-40 {
				t.Errorf("MSS %d, want about %d for MTU %d", info.MSS, want, m.mtu)
			}
			n.closePair(t, cfd, sfd, 2*time.Minute)
		})
	}
}

// BenchmarkCaptureOverhead measures what capture costs in a bulk
// transfer: simulated networks, one without capture and one per capture
// setup, move 2 MiB each in turn (in a rotating order, so that all see
// the same machine load; each turn on a freshly collected heap, so that
// it pays for its own garbage), and it reports the extra time of each
// setup over the one without capture, the median over rounds of each
// round's ratio, in two measures. The process's CPU time (user and
// system, all threads: the garbage collector, the write system calls and
// the Recorder's writer goroutine count) is the plain unit; the wall
// time, which a Recorder writing beside the stacks on a second CPU
// shortens, is the same unit prefixed "wall-". Each turn's time includes
// flushing the capture (Recorder.Flush), so that every byte is paid for:
//
//   - "overhead-%": pcapng per vantage point and a text trace, as a
//     scenario run writes them;
//   - "pcapng-overhead-%": pcapng files only;
//   - "json-overhead-%": pcapng and a JSON lines trace;
//   - "sync-overhead-%", "sync-pcapng-overhead-%": the first two written
//     on the stacks' goroutine (capture.Options.Sync), and
//     "async-pcapng-overhead-%", pcapng written beside them
//     (capture.Options.Async), for comparison: by default a Recorder
//     writes pcapng alone on the stacks' goroutine and a trace beside
//     them;
//   - "floor-tap-overhead-%" and "floor-copy-overhead-%": no Recorder,
//     the least any capture costs here (floorTap): a Tap that has the
//     stacks compute every checksum and does nothing else, and one that
//     also keeps each frame's bytes, appended to a buffer per interface
//     written to /dev/null when full, as the pcapng files' are. What
//     pcapng adds above the second is the Recorder's own work.
func BenchmarkCaptureOverhead(b *testing.B) {
	for _, m := range mtus {
		b.Run(m.name, func(b *testing.B) {
			type side struct {
				unit     string
				n        *simNet
				cfd, sfd int
				rounds   []time.Duration // each iteration's turn, CPU time
				walls    []time.Duration // the same in wall time
			}
			rec := func(o capture.Options) *capture.Recorder {
				r, _ := newRecorderOpts(b, true, o)
				return r
			}
			locked := func(o capture.Options) *capture.Recorder {
				r, _ := newRecorderAs(b, true, o)
				return r
			}
			tr := discardTrace(b)
			setups := []struct {
				unit  string
				rec   *capture.Recorder
				floor *floorTap
			}{
				{"", nil, nil},
				{"overhead-%", rec(capture.Options{Trace: tr, Format: capture.Text}), nil},
				{"pcapng-overhead-%", rec(capture.Options{}), nil},
				{"json-overhead-%", rec(capture.Options{Trace: tr, Format: capture.JSON}), nil},
				{"sync-overhead-%", rec(capture.Options{Trace: tr, Format: capture.Text, Sync: true}), nil},
				{"sync-pcapng-overhead-%", rec(capture.Options{Sync: true}), nil},
				{"async-pcapng-overhead-%", rec(capture.Options{Async: true}), nil},
				{"locked-overhead-%", locked(capture.Options{Trace: tr, Format: capture.Text}), nil},
				{"locked-pcapng-overhead-%", locked(capture.Options{}), nil},
				{"floor-tap-overhead-%", nil, &floorTap{}},
				{"floor-copy-overhead-%", nil, newFloorTap(b)},
			}
			var sides []*side
			for _, st := range setups {
				cfg := simConfig{mtu: m.mtu}
				if st.rec != nil {
					cfg.tap, cfg.obs = st.rec, st.rec
				}
				if st.floor != nil {
					cfg.tap = st.floor
				}
				sides = append(sides, &side{unit: st.unit, n: newSimNet(b, cfg)})
			}
			wbuf, rbuf := make([]byte, chunk), make([]byte, 256<<10)
			for _, s := range sides {
				lfd := s.n.listen(b, 5001, 8)
				s.cfd, s.sfd = s.n.connect(b, lfd, 5001)
				s.n.transfer(b, s.cfd, s.sfd, 4*chunk, time.Time{}, wbuf, rbuf)
			}
			const turn = 32 * chunk
			for _, s := range sides {
				s.rounds = make([]time.Duration, 0, b.N)
				s.walls = make([]time.Duration, 0, b.N)
			}
			b.SetBytes(int64(len(sides)) * turn)
			b.ResetTimer()
			for i := range b.N {
				for j := range sides {
					k := (i + j) % len(sides) // rotate which goes first
					s := sides[k]
					// Each turn starts on a collected heap, so that it
					// pays for its own garbage, not the turn before's.
					runtime.GC()
					t0, c0 := time.Now(), processCPU(b)
					if got := s.n.transfer(b, s.cfd, s.sfd, turn, time.Time{}, wbuf, rbuf); got != turn {
						b.Fatalf("server read %d bytes, want %d", got, turn)
					}
					if r := setups[k].rec; r != nil {
						if err := r.Flush(); err != nil {
							b.Fatal(err)
						}
					}
					if f := setups[k].floor; f != nil {
						f.flush(b)
					}
					s.rounds = append(s.rounds, processCPU(b)-c0)
					s.walls = append(s.walls, time.Since(t0))
				}
			}
			b.StopTimer()
			// The median of each round's ratio to the round without
			// capture: a burst of load from elsewhere on the machine
			// spoils a round or two, not the figure.
			median := func(on, off []time.Duration) float64 {
				ratios := make([]float64, len(off))
				for i := range off {
					ratios[i] = float64(on[i]-off[i]) / float64(max(off[i], 1)) * 100
				}
				slices.Sort(ratios)
				return ratios[len(ratios)/2]
			}
			for _, s := range sides[1:] {
				b.ReportMetric(median(s.rounds, sides[0].rounds), s.unit)
				b.ReportMetric(median(s.walls, sides[0].walls), "wall-"+s.unit)
			}
		})
	}
}

// floorTap is the least a capture can do, for BenchmarkCaptureOverhead's
// floor rows: it has the stacks compute every TCP checksum, as a capture
// needs (WantsChecksums), and, with out set, keeps each frame's bytes in
// a buffer per interface, written to out when the next frame would not
// fit (pcapng's busy-file buffer, 256 KiB) and at flush: no format, no
// timestamps, no comments, no locks.
type floorTap struct {
	out  *os.File
	bufs map[*stack.NIC][]byte
}

func newFloorTap(tb testing.TB) *floorTap {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return &floorTap{out: f, bufs: map[*stack.NIC][]byte{}}
}

func (f *floorTap) Frame(nic *stack.NIC, _ stack.Dir, pkt stack.Packet, _ string) {
	if f.out == nil {
		return
	}
	b := f.bufs[nic]
	if len(b)+len(pkt.Data) > cap(b) {
		if len(b) > 0 {
			f.out.Write(b)
		}
		if cap(b) < len(pkt.Data) {
			b = make([]byte, 0, max(256<<10, len(pkt.Data)))
		}
		b = b[:0]
	}
	f.bufs[nic] = append(b, pkt.Data...)
}

func (f *floorTap) WantsChecksums() bool { return true }

func (f *floorTap) flush(tb testing.TB) {
	for nic, b := range f.bufs {
		if _, err := f.out.Write(b); err != nil {
			tb.Fatal(err)
		}
		f.bufs[nic] = b[:0]
	}
}

// processCPU returns the CPU time the process has used, user and
// system, all threads.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBulkSimAllocations guards the zero-allocation data path: a bulk
// transfer in virtual time, capture off, must allocate (almost) nothing
// per segment once the connection is warm. A few allocations in a whole
// run are tolerated (the runtime's own, a pool growing once).
func TestBulkSimAllocations(t *testing.T) {
	for _, m := range mtus {
		t.Run(m.name, func(t *testing.T) {
			n := newSimNet(t, simConfig{mtu: m.mtu})
			lfd := n.listen(t, 80, 8)
			cfd, sfd := n.connect(t, lfd, 80)
			wbuf, rbuf := make([]byte, chunk), make([]byte, 256<<10)
			n.transfer(t, cfd, sfd, 256*chunk, time.Time{}, wbuf, rbuf) // until the window and the pools stop growing
			const total = 8 << 20
			segs0 := n.up.Counters().Sent
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			got := n.transfer(t, cfd, sfd, total, time.Time{}, wbuf, rbuf)
			runtime.ReadMemStats(&ms1)
			if got != total {
				t.Fatalf("server read %d bytes, want %d", got, total)
			}
			segs := n.up.Counters().Sent - segs0
			allocs := ms1.Mallocs - ms0.Mallocs
			// At MTU 65535 a run is only ~150 segments, so a pool growing
			// once would look like a per-segment cost: allow a handful per
			// run, and catch any real per-segment allocation (≥ segs).
			const slack = 16
			if perSeg := float64(allocs) / float64(segs); allocs > slack && perSeg > 0.01 {
				t.Errorf("%d allocations for %d segments (%.3f per segment), want none per segment", allocs, segs, perSeg)
			}
		})
	}
}
