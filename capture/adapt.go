package capture

import (
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
// clock, the network), not work, and are left out. Then the way with
// the smaller sum is kept for the next steadyRecords, twice as many
// after each trial that keeps the way, up to
// maxSteadyRecords (a trial then costs about 1 % of the time at most).
// The switch itself (writing out what is queued before going back to
// the stacks' goroutine) is not measured. The files and the trace are
// the same byte for byte either way, so only the time depends on the
// choice.
//
// The first trial begins after firstTrialRecords, written beside the
// stacks: earlier, a connection is in slow start and its rings and
// windows grow, and the stacks' goroutine measured four times dearer
// than later, so that a trial at the thousandth record of
// BenchmarkRunnerCost's 16 MiB transfer kept the slower way for the
// rest of the run (65-78 ms against 53-64 on the stacks' goroutine and
// 58-65 beside them); from the eight thousandth, it keeps the faster.
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
	// done (Recorder.ticks, 0 for none yet), spent the trial's time per
	// record summed: [0] on the stacks' goroutine, [1] beside them.
	timing atomic.Bool
	last   atomic.Int64
	spent  [2]atomic.Int64
	chosen [2]int // trials won: [0] on the stacks' goroutine, [1] beside them
	was    bool   // the way before this trial
	steady int    // records until the next trial, doubling while the way holds
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
	switch {
	case a.window == 0: // a trial begins, with the way not in use
		a.was = r.async
		a.spent[0].Store(0)
		a.spent[1].Store(0)
		a.window, a.left = 1, a.windowLen
		r.setAsync(!r.async)
	case a.window < trialWindows:
		a.window, a.left = a.window+1, a.windowLen
		r.setAsync(!r.async)
	default: // the trial is over
		beside := a.spent[1].Load() < a.spent[0].Load()
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
// order. qmu is held (drain may wait on it).
func (r *Recorder) setAsync(async bool) {
	if r.async && !async {
		r.drain()
	}
	r.async = async
}

// monotonicNs returns a clock of ns since it was made, never going back.
func monotonicNs() func() int64 {
	start := time.Now()
	return func() int64 { return int64(time.Since(start)) }
}
