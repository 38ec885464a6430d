package capture

import "sync"

// Which way a Recorder writes (beside the stacks, or on their goroutine
// inside Frame and Observe) is set by its work, unless Options.Sync or
// Options.Async fixes it: beside them when it decodes every frame (a
// trace, the page, summaries), on their goroutine for the pcapng files
// alone.
//
// Beside the stacks, each frame is copied into a batch that the
// writer's CPU reads next, and the stacks pay for every cache line that
// CPU holds when they fill the batch again; for a trace, the decoding
// the second CPU takes on costs more than that. On this machine, where
// a cache line takes 400-490 ns between the two vCPUs
// (BenchmarkCrossCPU), at MTU 1500 (BenchmarkCaptureOverhead, wall time
// added): pcapng alone 122-146 % beside the stacks and 60-77 % on their
// goroutine; with the text trace 122-179 % beside them and 190-218 % on
// their goroutine. BenchmarkRunnerCost's runner writing pcapng took
// 44 ms a run on the stacks' goroutine and 56-66 ms beside them. On the
// machine before, where a cache line crossed in about 130 ns, pcapng
// alone was cheaper beside the stacks (21-30 % against 34-52 %):
// Options.Async is for such a machine.
//
// A Recorder that chose by measuring both ways on its own frames now
// and then was tried and not kept: the time the stacks spent from one
// frame to the next came within 20 % either way where whole runs
// differed by half (writing beside the stacks also slows the garbage
// collector, whose second CPU the writer takes), and its trials, a few
// thousand frames each way, cost a short run more than they could save.

// freeBatches holds the batches of closed Recorders, at most
// maxFreeBatches (a few MiB), for the next: each run of a sweep or of a
// benchmark has a Recorder of its own, and without them grew its
// batches anew, to 256 KiB or 1 MiB each, copying and zeroing and faulting in
// memory, a few ms a run. A Recorder on the stacks' goroutine takes
// none.
var freeBatches struct {
	mu   sync.Mutex
	list []*batch
}

const maxFreeBatches = maxBatches

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
