package capture

import (
	"sync"
	"sync/atomic"
	"time"
)

// Whether writing beside the stacks pays depends on the machine more
// than on the work: beside them, each frame is copied into memory that
// the writer's CPU reads next, and the stacks pay for every cache line
// the other CPU holds when they fill the batch again. Where a cache line
// crosses between CPUs in about 130 ns, pcapng alone at MTU 1500 added
// 21-30 % of wall time written beside the stacks and 34-52 % on their
// goroutine; on a machine where it takes 400-490 ns, 122-128 % beside
// them and 60-69 % on their goroutine, while a text or JSON trace, whose
// decoding costs more than the copy, still gained from the second CPU.
// So unless Options.Sync or Options.Async fixes it, a Recorder measures
// both ways on the work it is given and keeps the faster.
//
// A trial is trialWindows windows of windowRecords frames and events,
// written each way in turn, starting with the way not in use until
// then. Only the second half of each window is measured: written beside
// the stacks, a batch costs its full price only once the writer's CPU
// has read it, and the first batches after a spell on the stacks'
// goroutine are still in their CPU's cache (measured from their first
// record, trials chose wrong about one time in eight). What is summed
// for each way is the time from each record measured to the next, the
// stacks' own work between them included: a trace's decoding on the
// stacks' goroutine costs them more than its time in Frame, as it
// leaves their caches cold (measured in Frame and Observe alone, JSON
// was kept there at 5.1-5.2 ms a turn where beside them took 4.3-4.4).
// Gaps over idleGap are the stacks waiting for something else (a real
// clock, the network), not work, and are left out. Each way's measure
// is the least of its windows' sums: a garbage collection running in
// one window slows it by a millisecond or two (in BenchmarkRunnerCost,
// where each turn starts with one, the first window on the stacks'
// goroutine read 2.6-2.8 ms in three trials of five, against 0.5-0.7
// for the others, and the sums kept the slower way). The other way
// takes over only if its measure is more than 20 % below the way's in
// use: the measure misses some of what writing beside the stacks costs
// them (the second CPU is also the garbage collector's, whose cycles
// then last longer), and where the two ways measured within 20 % of
// each other, trials that went by the smaller measure chose to write
// beside the stacks one time in three, for runs that took 56-66 ms
// that way against 44 ms on their goroutine. Then the way chosen is
// kept for the next steadyRecords, twice as many
// after each trial that keeps the way, up to
// maxSteadyRecords (a trial then costs about 1 % of the time at most).
// The switch itself (writing out what is queued before going back to
// the stacks' goroutine) is not measured. The files and the trace are
// the same byte for byte either way, so only the time depends on the
// choice.
//
// The first trial begins after firstTrialRecords: earlier, a
// connection is in slow start and its rings and windows grow, and the
// stacks' goroutine measured four times dearer than later, so that a
// trial at the thousandth record of BenchmarkRunnerCost's 16 MiB
// transfer kept the slower way for the rest of the run (65-78 ms against
// 53-64 on the stacks' goroutine and 58-65 beside them); from the eight
// thousandth, it keeps the faster. Until then a Recorder writes the way
// that its work suggests: beside the stacks when it decodes every frame
// (a trace, the page, summaries), whose cost a second CPU takes; on the
// stacks' goroutine for the pcapng files alone, a copy per frame, which
// costs the stacks about what handing it over does. A run of 35 k
// frames spends a quarter of them before its first trial ends, so the
// first way matters: in BenchmarkRunnerCost, the runner writing pcapng
// took 44 ms a run on the stacks' goroutine, 56-66 ms beside them, and
// 49-62 ms starting beside them and choosing.
const (
	firstTrialRecords = 8 * windowRecords
	idleGap           = int64(50 * time.Microsecond)
	windowRecords     = 1024
	trialWindows      = 4
	steadyRecords     = 1 << 15
	maxSteadyRecords  = 1 << 19
)

// adapter is the Recorder's choice between its two ways; under qmu.
type adapter struct {
	on     bool // choosing by measuring; false: the way is fixed
	left   int  // records until the next window or trial
	window int  // which window of a trial, 1-based; 0 between trials
	// timing, last and spent are atomic: read and added to after qmu
	// is released, so that releasing it, which waits for the stores
	// into a batch, counts. last is when the last record measured was
	// done (Recorder.ticks, 0 for none yet), spent the window's time per
	// record summed: [0] on the stacks' goroutine, [1] beside them.
	timing atomic.Bool
	last   atomic.Int64
	spent  [2]atomic.Int64
	best   [2]int64 // the least of the trial's windows each way, -1 for none yet
	chosen [2]int   // trials won: [0] on the stacks' goroutine, [1] beside them
	was    bool     // the way before this trial
	steady int      // records until the next trial, doubling while the way holds
	// windowLen and steadyLen are windowRecords and steadyRecords; a
	// test's shorter ones.
	windowLen, steadyLen int
}

func way(async bool) int {
	if async {
		return 1
	}
	return 0
}

// tick counts a frame or event written or queued, and moves to the next
// window or trial when this one is done. qmu is held.
func (r *Recorder) tick() {
	a := &r.adapt
	a.left--
	if a.window > 0 && a.left == a.windowLen/2 {
		a.last.Store(0)
		a.timing.Store(true) // the window's second half
	}
	if a.left > 0 {
		return
	}
	a.timing.Store(false)
	if a.window > 0 {
		// The window's measure: the least of its way's windows.
		w := way(r.async)
		if t := a.spent[w].Swap(0); a.best[w] < 0 || t < a.best[w] {
			a.best[w] = t
		}
	}
	switch {
	case a.window == 0: // a trial begins, with the way not in use
		a.was = r.async
		a.spent[0].Store(0)
		a.spent[1].Store(0)
		a.best = [2]int64{-1, -1}
		a.window, a.left = 1, a.windowLen
		r.setAsync(!r.async)
	case a.window < trialWindows:
		a.window, a.left = a.window+1, a.windowLen
		r.setAsync(!r.async)
	default: // the trial is over
		beside := a.was
		if in := way(a.was); a.best[1-in]*5 < a.best[in]*4 {
			beside = !a.was // the other way is more than 20 % faster
		}
		a.chosen[way(beside)]++
		if beside == a.was {
			a.steady = min(2*a.steady, maxSteadyRecords)
		} else {
			a.steady = a.steadyLen
		}
		a.window, a.left = 0, a.steady
		r.setAsync(beside)
	}
}

// mark adds the time since the record measured before this one, done
// the way w, unless the stacks were idle in between.
func (r *Recorder) mark(w int) {
	a := &r.adapt
	t := r.ticks()
	if prev := a.last.Swap(t); prev != 0 && t-prev < idleGap {
		a.spent[w].Add(t - prev)
	}
}

// setAsync switches between writing beside the stacks and on their
// goroutine; going back to theirs first writes out what is queued, in
// order. Going beside them the first time takes batches a closed
// Recorder left. qmu is held (drain may wait on it).
func (r *Recorder) setAsync(async bool) {
	if r.async && !async {
		r.drain()
	}
	if async && !r.async && cap(r.fill.data) == 0 && r.spare != nil && !r.busy {
		r.fill, r.spare = takeBatch(), takeBatch()
	}
	r.async = async
}

// freeBatches holds the batches of closed Recorders, at most
// maxFreeBatches (a few MiB), for the next: each run of a sweep or of a
// benchmark has a Recorder of its own, and without them grew its two
// batches anew, to 1 MiB each, copying and zeroing and faulting in
// memory, a few ms a run. A Recorder on the stacks' goroutine takes
// none.
var freeBatches struct {
	mu   sync.Mutex
	list []*batch
}

const maxFreeBatches = 4

// takeBatch returns a freed batch, or a new one.
func takeBatch() *batch {
	freeBatches.mu.Lock()
	defer freeBatches.mu.Unlock()
	n := len(freeBatches.list)
	if n == 0 {
		return new(batch)
	}
	b := freeBatches.list[n-1]
	freeBatches.list[n-1] = nil
	freeBatches.list = freeBatches.list[:n-1]
	return b
}

// giveBatch keeps b for a later Recorder, if it grew and there is room.
func giveBatch(b *batch) {
	if b == nil || cap(b.data) == 0 {
		return
	}
	b.reset()
	clear(b.recs[:cap(b.recs)]) // the vantages, and through them the stacks, of a finished run
	freeBatches.mu.Lock()
	defer freeBatches.mu.Unlock()
	if len(freeBatches.list) < maxFreeBatches {
		freeBatches.list = append(freeBatches.list, b)
	}
}

// monotonicNs returns a clock of ns since it was made, never going back.
func monotonicNs() func() int64 {
	start := time.Now()
	return func() int64 { return int64(time.Since(start)) }
}
