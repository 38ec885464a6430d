package capture

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"

	"stacklab/capture/ladder"
	"stacklab/capture/pcapng"
	"stacklab/capture/trace"
	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// Options configure a [Recorder]. The zero value records nothing to disk
// and writes no trace; it still tracks summaries if KeepSummaries is set.
type Options struct {
	// Dir receives one pcapng file per vantage point,
	// DIR/HOST-IFNAME.pcapng, created at the NIC's first frame. Empty
	// writes none. The directory is created if needed.
	Dir string
	// Combined, if not empty, is the path of one more pcapng file holding
	// every frame at every vantage point (one interface each).
	Combined string
	// Trace receives the layered trace in Format; nil writes none.
	Trace  io.Writer
	Format Format
	// Scenario, Seed and Version go into each file's comment.
	Scenario string
	Seed     uint64
	Version  string
	// Start is the time shown as 0 in the trace; zero means the first
	// frame's or event's time.
	Start time.Time
	// Names maps addresses to host names, for the trace ("client →
	// server") and the files' name resolution blocks.
	Names map[netip.Addr]string
	// KeepSummaries keeps a [Summary] of every frame at every vantage
	// point, for [Recorder.Summaries], and the state changes and socket
	// calls, for [Recorder.Notes]: the first MaxKept of each, for a
	// short run or a test; [Recorder.SummariesLeftOut] counts the rest.
	// A run's ladder is drawn from Ladder, which keeps both ends of any
	// run.
	KeepSummaries bool
	// Ladder, if set, is given the summary of every frame at every
	// vantage point but a switch port's mirror, and the state changes
	// and socket calls, as they are written: read it once Flush or
	// Close has returned.
	Ladder *ladder.Collector
	// OnSummary, if set, is called with each frame's summary, in order,
	// with the Recorder's lock held; it must not call the Recorder or a
	// stack. The Summary is valid only during the call.
	OnSummary func(*Summary)
	// SnapLen, if positive, keeps only the first SnapLen bytes of each
	// frame in the capture files (as tcpdump -s does), to cut the cost of
	// capturing bulk transfers; the trace still decodes whole frames.
	// Wireshark then cannot verify TCP and UDP checksums or follow
	// streams' contents.
	SnapLen int
	// Page, if set, receives a second trace, JSON lines with each frame's
	// bytes (up to PageBytes, default 2048), for the HTML page
	// (capture/view).
	Page      io.Writer
	PageBytes int
	// VerifyChecksums marks bad checksums in the trace. The stack already
	// reports the packets it drops for a bad checksum, so it is off by
	// default.
	VerifyChecksums bool
	// Sync writes on the stacks' goroutines, inside Frame and Observe,
	// rather than beside them (see [Recorder]): for a process that
	// already keeps every CPU busy, where writing beside the stacks only
	// adds the hand-offs and a copy of each frame. It is also the mode
	// whenever GOMAXPROCS is 1 or OnSummary is set, and from the first
	// frame of a NIC whose MTU exceeds 9000 (64 KiB frames, whose copy
	// costs more than writing them beside the stacks saves).
	Sync bool
	// Async writes beside the stacks where it can (see Sync for where
	// it cannot) even for the pcapng files alone, which are written on
	// their goroutines otherwise: for a machine where handing frames to
	// another CPU costs little (see [Recorder]). Sync wins over it.
	Async bool
	// Serial promises that no two calls of the Recorder's methods
	// overlap: its stacks take turns on one goroutine at a time, as a
	// simulation in virtual time runs them (sim/scenario sets it). Frame
	// and Observe then take no lock, but when a batch is handed to the
	// writer, and the writer leaves the batch being filled to the stacks
	// (it writes full ones, and Flush the rest). A lock and its release
	// a frame were a tenth of what a trace costs the stacks at MTU 1500.
	// The race detector checks the promise.
	Serial bool
}

// Recorder is a [stack.Tap] and [core.Observer] that writes pcapng files
// and the trace. It is safe for use by several stacks at once, unless
// [Options.Serial] says they take turns.
//
// A frame is held until the Recorder's next call, so that a drop reported
// right after it (a stack rejecting an inbound frame, a link losing an
// outbound one) annotates the frame in the trace and in the capture
// comment. Files and trace keep the order in which frames and events were
// reported.
//
// With more than one CPU (GOMAXPROCS > 1), the Recorder can work beside
// the stacks, as tcpdump does beside the kernel: Frame and Observe copy
// the frame or event into a batch and return, and another goroutine
// decodes, traces and writes the batch while the stacks go on. The
// output is the same byte for byte: one goroutine at a time handles the
// batches, in order. At most eight batches exist (one filling, the rest
// queued or being written), so a stack that outruns the writing waits
// for it. Every
// other method first finishes what is queued. It does so when it
// decodes every frame (a trace, the page, summaries); for the pcapng
// files alone, a copy of each frame, handing the frames over costs the
// stacks more than writing them does, unless cache lines move between
// CPUs cheaply (see [Options.Sync] and [Options.Async]).
type Recorder struct {
	// idle: the options ask for nothing (no file, trace, page or
	// summaries), so frames and events are dropped at once rather than
	// copied and held. Set by New; read first by every Frame and
	// Observe.
	idle bool

	// The queue side, under qmu: what Frame and Observe touch. A serial
	// Recorder's Frame and Observe touch it without, but for the queue,
	// free and busy when they hand a batch over: the writer then never
	// reads fill, and reads a batch only once it is handed over.
	qmu      sync.Mutex
	qcond    sync.Cond // signalled when a batch is written
	fill     *batch    // frames and events being queued
	queue    []*batch  // full batches, oldest first, for the writer
	free     []*batch  // written batches, the one written longest ago first
	nbatch   int       // batches the Recorder has: fill, queue, free and the one being written
	busy     bool      // the writer goroutine is at work, or lingering for more
	draining int       // callers waiting in drain
	async    bool      // batches are written beside the stacks
	serial   bool      // Options.Serial: Frame and Observe take qmu only to hand a batch over
	qclosed  bool
	mirrors  map[string]bool // vantage points that are switch port mirrors
	vant     map[*stack.NIC]*vantage
	lastV    *vantage // the vantage of the previous frame
	prevV    *vantage // ... and of the one before, if another: a transfer alternates two
	descs    map[string]string
	sent     [256]sentCopy // recent frames sent, by packet id

	// kicks is bumped when a lingering writer has work: a batch queued,
	// a drain. The writer reads it in a loop while it lingers, so it has
	// a cache line of its own: one the stacks wrote at every frame would
	// be taken from the writer's CPU at every frame.
	_     cacheLinePad
	kicks atomic.Uint32

	// The writer goroutine writes the fields below at every frame (the
	// held frame, its comments, the trace's frame): kept off the cache
	// lines the stacks read at every frame above, which a line shared
	// with them would move from the writer's CPU to the stacks' and back
	// at each one (a third of Frame's time with the text trace).
	_ cacheLinePad

	// The writing side, under mu; or under qmu alone while the Recorder
	// writes on the stacks' goroutines (!async), when no writer
	// goroutine runs: every method that reads or closes what was
	// written holds both (settle), so one lock a frame is enough there,
	// and none when the Recorder is serial.
	mu       sync.Mutex
	opts     Options
	tr       *trace.Tracer
	page     *trace.Tracer // nil without Options.Page
	names    []pcapng.NameRecord
	combined *output
	outputs  []*output // every file opened, in order
	pend     pending
	sums     []Summary
	notes    []ladder.Note // state changes and socket calls, with KeepSummaries
	keptOut  int           // summaries and notes KeepSummaries left out past MaxKept
	sum      Summary
	frame    trace.Frame // reused for each frame traced
	comments [2]string
	errs     []error
	closed   bool
}

// cacheLinePad separates fields that two CPUs write: two lines, as the
// adjacent-line prefetcher of x86 CPUs moves lines in pairs.
type cacheLinePad [128]byte

// A batch holds frames and events queued for writing, in order.
type batch struct {
	recs []record
	data []byte         // the frames' bytes
	evs  []core.Event   // the events
	vars []core.TCPVars // the events' Vars, copied
	gen  uint32         // incremented by reset: which contents a sentCopy saw
	// The stacks write the slices' lengths at every frame, and the writer
	// reads another batch's at every frame: two batches allocated side
	// by side are kept off each other's cache lines.
	_ cacheLinePad
}

// A batch is handed to the writer at handFrames records or handBytes of
// frames, and the stacks go on in the next; a writer that finds nothing
// queued when it is done takes the filling batch if it holds takeFrames
// records or takeBytes. Handing at 256 rather than at 1,024 keeps what
// is queued small, which a Flush or Close waits for at the end: in
// BenchmarkCaptureOverhead (2 MiB turns, each flushed), wall time added
// by pcapng + text went from 33-34 % to 23-28 %, by pcapng + JSON from
// 85-88 % to 69-71 %, pcapng alone unchanged (21-24 %); at 128 or 64,
// the wake-ups cost pcapng alone more than the shorter queue saves.
//
// A Recorder has at most maxBatches batches. The next one filled is the
// one written longest ago, whose memory the writer's CPU has had time to
// let go of: copying a frame into lines that CPU read last costs the
// stacks most of a capture's time on a machine whose CPUs pass cache
// lines slowly. With two batches (one filling, one written) the stacks
// refilled the batch the writer had just read; with eight, in four
// interleaved runs of BenchmarkCaptureOverhead (40 rounds each), wall
// time added by pcapng + text went from 59-118 % to 53-56 %, pcapng +
// JSON from 77-174 % to 68-82 %, pcapng beside the stacks from 52-78 %
// to 47-51 %. Once every batch is in use (or a Flush is draining), the
// stacks fill theirs up to batchFrames or batchBytes and then wait.
const (
	maxBatches  = 8
	batchFrames = 1024
	batchBytes  = 1 << 20
	takeFrames  = 16
	takeBytes   = 64 << 10
	handFrames  = 256
	handBytes   = 256 << 10
)

func (b *batch) reset() {
	b.gen++
	b.recs, b.data = b.recs[:0], b.data[:0]
	clear(b.evs) // drop the strings
	b.evs, b.vars = b.evs[:0], b.vars[:0]
}

// record is one frame or event in a batch.
type record struct {
	v        *vantage // a frame's vantage; nil for an event
	dir      stack.Dir
	id       uint64
	time     time.Time
	note     string
	off, end int // the frame's bytes in batch.data; off is an event's index in batch.evs
	vars     int // an event's Vars: one more than its index in batch.vars, or 0
	// partial: the frame's TCP checksum was left to the link
	// (stack.Packet.ChecksumPartial); the writer finishes it in the
	// batch's copy, beside the stacks.
	partial bool
}

// vantage is one NIC as the capture sees it.
type vantage struct {
	nic    *stack.NIC
	name   string // "host:ifname"
	host   string
	ifname string
	link   stack.LinkType
	intf   pcapng.Interface // its description in pcapng files
	mirror bool             // a switch port's mirror: its file and the trace only
	// The writing side's: its file, opened at its first frame written.
	opened  bool
	file    *output
	combIdx int // interface index in the combined file, -1 until added
}

// output is one pcapng file.
type output struct {
	path string
	f    *os.File
	w    *pcapng.Writer
	dead bool // a write failed: the error is recorded, later frames skipped
}

// pending is the frame held until the next call.
type pending struct {
	ok   bool
	v    *vantage
	dir  stack.Dir
	id   uint64
	time time.Time
	note string
	drop string
	data []byte // the frame: in a batch, own, or begun (a view into the file's buffer)
	own  []byte // the buffer data uses when it is neither
	// begun says the frame is already in its vantage file's buffer,
	// waiting for its comments (pcapng.Writer.Begin).
	begun bool
}

// New returns a Recorder. It creates Dir if needed.
func New(opts Options) (*Recorder, error) {
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("capture: cannot create the capture directory: %w", err)
		}
	}
	r := &Recorder{
		opts:   opts,
		vant:   make(map[*stack.NIC]*vantage),
		descs:  make(map[string]string),
		fill:   new(batch),
		serial: opts.Serial,
	}
	// OnSummary is called in order with the stacks' frames: it is kept
	// on their goroutines.
	canAsync := !opts.Sync && runtime.GOMAXPROCS(0) > 1 && opts.OnSummary == nil
	// Beside the stacks when every frame is decoded (a trace, the page,
	// summaries), on their goroutine for the pcapng files alone (see
	// way.go).
	if canAsync && (opts.Async || opts.Trace != nil || opts.Page != nil || opts.KeepSummaries || opts.Ladder != nil) {
		r.fill, r.nbatch, r.async = takeBatch(), 1, true
	}
	r.qcond.L = &r.qmu
	r.idle = opts.Dir == "" && opts.Combined == "" && opts.Trace == nil && opts.Page == nil &&
		!opts.KeepSummaries && opts.Ladder == nil && opts.OnSummary == nil
	if r.idle {
		// Nothing is written: no Tracer (its caches are 200 KB, garbage
		// in every run of a sweep, which captures nothing).
		return r, nil
	}
	r.tr = trace.New(opts.Trace, trace.Options{
		Format: opts.Format, Start: opts.Start, Names: opts.Names, Checksums: opts.VerifyChecksums,
	})
	if opts.Page != nil {
		r.page = trace.New(opts.Page, trace.Options{
			Format: trace.JSON, Start: opts.Start, Names: opts.Names, Bytes: cmp.Or(opts.PageBytes, 2048),
		})
	}
	r.names = nameRecords(opts.Names)
	r.pend.own = make([]byte, 0, 2048)
	return r, nil
}

// nameRecords sorts the name table by address, for deterministic files.
func nameRecords(names map[netip.Addr]string) []pcapng.NameRecord {
	recs := make([]pcapng.NameRecord, 0, len(names))
	for a, n := range names {
		if a.Is4() && n != "" {
			recs = append(recs, pcapng.NameRecord{Addr: a, Names: []string{n}})
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Addr.Less(recs[j].Addr) })
	return recs
}

// Mirror marks the vantage point "switch:peer" as a mirror of a switch
// port: its frames go to its pcapng file and the trace, but not to the
// HTML page or the ladder diagrams, whose lifelines are hosts. It must be
// called before the vantage point's first frame.
func (r *Recorder) Mirror(vantage string) {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if r.mirrors == nil {
		r.mirrors = map[string]bool{}
	}
	r.mirrors[vantage] = true
}

// Describe sets the pcapng interface description of the vantage point
// "host:ifname" (the link parameters: "10 ms, 100 Mbit/s, loss 2%"). It
// must be called before the NIC's first frame; later calls are ignored.
func (r *Recorder) Describe(vantage, desc string) {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	r.descs[vantage] = desc
}

// Frame records a frame; it implements [stack.Tap].
func (r *Recorder) Frame(nic *stack.NIC, dir stack.Dir, pkt stack.Packet, note string) {
	if r.idle {
		return
	}
	now := nic.Stack().Clock().Now()
	if !r.serial {
		r.qmu.Lock()
		defer r.qmu.Unlock()
	}
	if r.qclosed {
		return
	}
	v := r.lastV
	if v == nil || v.nic != nic {
		if pv := r.prevV; pv != nil && pv.nic == nic {
			v = pv
		} else if v = r.vant[nic]; v == nil {
			v = r.addVantage(nic)
		}
		r.prevV, r.lastV = r.lastV, v
	}
	if !r.async {
		if pkt.ChecksumPartial {
			// Sent before the Recorder went synchronous (a jumbo
			// interface): finished in the frame lent, as a stack would.
			wire.FinishTCPChecksum(pkt.Data, v.link == stack.LinkEthernet)
		}
		if !r.closed {
			r.writeFrame(v, dir, pkt.ID, now, note, pkt.Data)
			r.keep() // pkt.Data is the stack's
		}
		return
	}
	// The record is written where it is kept, field by field: a record
	// built aside and copied in is read back 16 bytes at a time over
	// the narrower stores that built it, which the CPU cannot forward
	// to the loads (a stall that took a third of Frame's time).
	b := r.fill
	b.recs = append(b.recs, record{})
	rec := &b.recs[len(b.recs)-1]
	rec.v, rec.dir, rec.id, rec.time, rec.note = v, dir, pkt.ID, now, note
	if s := &r.sent[pkt.ID%uint64(len(r.sent))]; dir == stack.DirIn && pkt.ID != 0 && s.id == pkt.ID &&
		s.b == b && s.gen == b.gen && int(s.end) <= len(b.data) && bytes.Equal(b.data[s.off:s.end], pkt.Data) {
		// The frame as it was sent, still in this batch: shared, not
		// copied again.
		// The frame sent finishes the copy, if it was partial.
		rec.off, rec.end = int(s.off), int(s.end)
	} else {
		rec.partial = pkt.ChecksumPartial
		rec.off = len(b.data)
		b.data = append(b.data, pkt.Data...)
		rec.end = len(b.data)
		if dir == stack.DirOut {
			// Field by field, as the record: a struct built aside and
			// copied in stalls on the narrower stores that built it.
			s.id, s.b, s.gen, s.off, s.end = pkt.ID, b, b.gen, uint32(rec.off), uint32(rec.end)
		}
	}
	if b.ready() {
		r.handOver()
	}
}

// sentCopy is where a frame sent is in the filling batch: a frame
// received with the same packet id and the same bytes (the copy at the
// far end of a link) points there instead of being copied again, which
// halves the bytes the stacks write and the writer reads. In memory
// the writer's CPU read last, a copy costs the stacks more than the
// comparison.
type sentCopy struct {
	id       uint64
	b        *batch // the batch it was copied into
	gen      uint32 // b.gen then: the batch has not been reset since if it still is
	off, end uint32 // checked against the batch: gen comes round again after 2³² resets
}

// Observe records a stack event; it implements [core.Observer].
func (r *Recorder) Observe(ev *core.Event) {
	if r.idle {
		return
	}
	if !r.serial {
		r.qmu.Lock()
		defer r.qmu.Unlock()
	}
	if r.qclosed {
		return
	}
	if !r.async {
		if !r.closed {
			r.writeEvent(ev)
		}
		return
	}
	b := r.fill
	b.recs = append(b.recs, record{}) // filled in place, as Frame's
	rec := &b.recs[len(b.recs)-1]
	rec.off = len(b.evs)
	b.evs = append(b.evs, *ev)
	if ev.Vars != nil {
		// Vars is valid only during Observe: copied, and pointed to when
		// written (b.vars may move as it grows).
		b.vars = append(b.vars, *ev.Vars)
		b.evs[rec.off].Vars, rec.vars = nil, len(b.vars)
	}
	if b.ready() {
		r.handOver()
	}
}

// handOver is handOff for Frame and Observe, which hold qmu unless
// the Recorder is serial: then it takes qmu itself.
func (r *Recorder) handOver() {
	if r.serial {
		r.qmu.Lock()
		defer r.qmu.Unlock()
	}
	r.handOff()
}

// handOff queues the filling batch for the writer goroutine, and starts
// it if idle. The next batch filled is the one written longest ago, so
// that its memory has left the writer's CPU's cache. With every batch in
// use, or a drain under way, the stacks go on filling until the batch is
// full, then wait. qmu is held.
func (r *Recorder) handOff() {
	for r.draining > 0 || len(r.free) == 0 && r.nbatch >= maxBatches {
		if !r.fill.full() {
			return
		}
		r.qcond.Wait()
	}
	if !r.fill.ready() {
		return // the writer took it
	}
	r.queue = append(r.queue, r.fill)
	r.fill = r.nextBatch()
	if !r.busy {
		r.busy = true
		go r.writer()
		return
	}
	r.kicks.Add(1) // a lingering writer takes it
}

// nextBatch returns the batch written longest ago, or a new one. qmu is
// held, and a batch is free or the Recorder has fewer than maxBatches.
func (r *Recorder) nextBatch() *batch {
	if len(r.free) == 0 {
		r.nbatch++
		return takeBatch()
	}
	return popFront(&r.free)
}

// popFront removes and returns the first of a non-empty list of
// batches, keeping the list's storage (at most maxBatches long).
func popFront(l *[]*batch) *batch {
	s := *l
	b := s[0]
	copy(s, s[1:])
	s[len(s)-1] = nil
	*l = s[:len(s)-1]
	return b
}

// full reports whether a batch can take no more.
func (b *batch) full() bool { return len(b.recs) >= batchFrames || len(b.data) >= batchBytes }

// ready reports whether a batch is to be handed on.
func (b *batch) ready() bool {
	return len(b.recs) >= handFrames || len(b.data) >= handBytes
}

// writer writes batches beside the stacks, oldest first, then the filling
// one while it holds enough, so that a writer kept busy goes on without
// waiting to be woken.
func (r *Recorder) writer() {
	r.qmu.Lock()
	lingered := false
	for {
		var b *batch
		if len(r.queue) > 0 {
			b = popFront(&r.queue)
		} else if f := r.fill; !r.serial && (len(f.recs) >= takeFrames || len(f.data) >= takeBytes) && r.draining == 0 && (len(r.free) > 0 || r.nbatch < maxBatches) {
			b, r.fill = f, r.nextBatch()
		} else if !lingered && r.draining == 0 && !r.qclosed {
			lingered = true
			seen := r.kicks.Load()
			r.qmu.Unlock()
			r.linger(seen)
			r.qmu.Lock()
			continue
		} else {
			r.busy = false
			r.qcond.Broadcast()
			r.qmu.Unlock()
			return
		}
		lingered = false
		r.qmu.Unlock()
		r.mu.Lock()
		r.write(b)
		r.mu.Unlock()
		b.reset()
		r.qmu.Lock()
		r.free = append(r.free, b)
		r.qcond.Broadcast() // a stack waiting for room has it
	}
}

// writerLinger is how long the writer goroutine, its batches written,
// waits for the next one before it ends. A batch handed to a writer that
// is still there costs the stacks an atomic add; one that must start a
// writer costs them a goroutine and, with the writer's CPU idle by then,
// the system call that wakes a thread to run it: in a bulk transfer that
// hands a batch over every 90 µs or so, the stacks spent 7 % of their
// time there.
const writerLinger = 200 * time.Microsecond

// linger waits, yielding its CPU to any goroutine that wants it, until
// kicks moves past seen or writerLinger has passed.
func (r *Recorder) linger(seen uint32) {
	deadline := time.Now().Add(writerLinger)
	for r.kicks.Load() == seen && time.Now().Before(deadline) {
		runtime.Gosched()
	}
}

// settle writes everything queued and locks both sides, for a method
// that reads or closes what was written; it returns their unlock.
func (r *Recorder) settle() (unlock func()) {
	r.qmu.Lock()
	r.drain()
	r.mu.Lock()
	return r.unlockBoth
}

func (r *Recorder) unlockBoth() {
	r.mu.Unlock()
	r.qmu.Unlock()
}

// drain writes everything queued before returning; qmu is held, and is
// still held after. mu is not.
func (r *Recorder) drain() {
	// The writer stops taking batches, so that stacks that keep sending
	// cannot keep it busy: the rest is written here.
	r.draining++
	r.kicks.Add(1) // a lingering writer ends now
	for r.busy {
		r.qcond.Wait()
	}
	r.draining--
	r.qcond.Broadcast() // stacks waiting for the drain to end
	if b := r.fill; len(b.recs) > 0 {
		r.mu.Lock()
		r.write(b)
		r.mu.Unlock()
		b.reset()
	}
}

// write writes a batch's frames and events, in order. mu is held.
func (r *Recorder) write(b *batch) {
	if r.closed {
		return
	}
	for i := range b.recs {
		rec := &b.recs[i]
		if rec.v != nil {
			data := b.data[rec.off:rec.end]
			if rec.partial {
				wire.FinishTCPChecksum(data, rec.v.link == stack.LinkEthernet)
			}
			r.writeFrame(rec.v, rec.dir, rec.id, rec.time, rec.note, data)
			continue
		}
		ev := &b.evs[rec.off]
		if rec.vars > 0 {
			ev.Vars = &b.vars[rec.vars-1]
		}
		r.writeEvent(ev)
	}
	r.keep()
}

// writeFrame holds a frame, after writing the one held before.
func (r *Recorder) writeFrame(v *vantage, dir stack.Dir, id uint64, t time.Time, note string, data []byte) {
	r.release()
	if !v.opened {
		v.opened = true
		r.openVantage(v)
	}
	p := &r.pend
	p.ok, p.v, p.dir, p.id, p.time, p.note, p.drop = true, v, dir, id, t, note, ""
	p.begun = false
	if o := v.file; o != nil && !o.dead && (r.opts.SnapLen <= 0 || len(data) <= r.opts.SnapLen) {
		// One copy, straight into the file's buffer; the comments follow
		// at release.
		inFile, err := o.w.Begin(&pcapng.Packet{Time: t, Data: data, ID: id, Dir: pcapDir(dir)})
		if err == nil {
			p.data, p.begun = inFile, true
			return
		}
		r.fail(o, err)
	}
	p.data = data // a view into the batch, until keep
}

// keep copies the held frame's bytes out of the batch about to be
// reused, unless they are in its file's buffer already.
func (r *Recorder) keep() {
	if p := &r.pend; p.ok && !p.begun {
		p.own = append(p.own[:0], p.data...)
		p.data = p.own
	}
}

func pcapDir(d stack.Dir) pcapng.Direction {
	if d == stack.DirOut {
		return pcapng.DirOutbound
	}
	return pcapng.DirInbound
}

// fail records a write error on o; later frames skip the file.
func (r *Recorder) fail(o *output, err error) {
	o.dead = true
	r.errs = append(r.errs, fmt.Errorf("capture: writing %s: %w", o.path, err))
}

// writeEvent writes a stack event, after the frame held (annotated with
// the drop when the event is its drop).
func (r *Recorder) writeEvent(ev *core.Event) {
	if ev.Kind == core.EventDrop && r.pend.ok && ev.PacketID != 0 && ev.PacketID == r.pend.id {
		r.pend.drop = trace.DropReason(ev)
		r.release()
		if r.opts.Format == Text {
			// The packet block already ends with the drop.
			return
		}
	} else {
		r.release()
	}
	if r.page != nil {
		r.page.Event(ev)
	}
	r.tr.Event(ev)
	if r.opts.KeepSummaries || r.opts.Ladder != nil {
		start, _ := r.tr.Start()
		if n, ok := ladder.EventNote(ev, ev.Time.Sub(start)); ok {
			if r.opts.KeepSummaries {
				if len(r.notes) < maxKept {
					r.notes = append(r.notes, n)
				} else {
					r.keptOut++
				}
			}
			if c := r.opts.Ladder; c != nil {
				c.AddNote(n)
			}
		}
	}
}

// Ladder returns Options.Ladder, once everything queued is written.
func (r *Recorder) Ladder() *ladder.Collector {
	defer r.settle()()
	return r.opts.Ladder
}

// Notes returns the TCP state changes and socket calls seen so far (with
// KeepSummaries), for the ladder diagrams, in order.
func (r *Recorder) Notes() []ladder.Note {
	defer r.settle()()
	return append([]ladder.Note(nil), r.notes...)
}

// WantsChecksums reports whether the Recorder needs the stacks to
// compute the TCP checksums of the frames it sees (it implements
// stack.ChecksumTap): unless it records nothing. It finishes any frame
// that comes with its checksum left to the link all the same (from a
// Tap in front of it that says it needs none): on the writer's
// goroutine, in the batch's copy, when it writes beside the stacks.
//
// Computing them on the writer's goroutine for every frame, so that the
// stacks leave them all, measured no faster in wall time at MTU 1500
// (BenchmarkCaptureOverhead, three interleaved runs each: pcapng alone
// +85-112 % before, +96-113 % after), so the stacks compute them, as TCP
// does it with less work than a capture can.
func (r *Recorder) WantsChecksums() bool { return !r.idle }

// WantsSeries reports whether the Recorder uses the stacks' EventSeries
// (it implements core.SeriesFilter): the JSON trace and the page show
// them; the text trace and the pcapng files do not, so stacks need not
// compute them.
func (r *Recorder) WantsSeries() bool {
	return r.opts.Trace != nil && r.opts.Format == JSON || r.opts.Page != nil
}

// release writes the held frame.
func (r *Recorder) release() {
	p := &r.pend
	if !p.ok {
		return
	}
	p.ok = false
	v := p.v
	var sp *Summary
	if r.opts.KeepSummaries || r.opts.Ladder != nil || r.opts.OnSummary != nil {
		sp = &r.sum
	}
	if r.opts.Trace != nil || sp != nil || r.page != nil {
		f := &r.frame
		f.Time, f.Host, f.Vantage, f.ID, f.Data = p.time, v.host, v.name, p.id, p.data
		f.Note, f.Drop, f.Link, f.Dir = p.note, p.drop, trace.LinkEthernet, trace.DirIn
		if v.link == stack.LinkRawIP {
			f.Link = trace.LinkRawIP
		}
		if p.dir == stack.DirOut {
			f.Dir = trace.DirOut
		}
		r.tr.Frame(f, sp)
		if r.page != nil && !v.mirror {
			r.page.Frame(f, nil)
		}
		f.Data = nil
	}
	if sp != nil {
		if r.opts.KeepSummaries && !v.mirror {
			if len(r.sums) < maxKept {
				r.sums = append(r.sums, *sp)
			} else {
				r.keptOut++
			}
		}
		if c := r.opts.Ladder; c != nil && !v.mirror {
			c.Add(sp)
		}
		if r.opts.OnSummary != nil {
			r.opts.OnSummary(sp)
		}
	}
	if v.file == nil && r.combined == nil && r.opts.Combined == "" {
		return
	}
	r.comments[0], r.comments[1] = p.note, ""
	if p.drop != "" {
		r.comments[1] = "dropped: " + p.drop
	}
	if p.begun {
		if err := v.file.w.Commit(r.comments[:]); err != nil && !v.file.dead {
			r.fail(v.file, err)
		}
		if r.opts.Combined == "" {
			return
		}
	}
	pkt := pcapng.Packet{Time: p.time, Data: p.data, ID: p.id, Dir: pcapDir(p.dir), Comments: r.comments[:]}
	if snap := r.opts.SnapLen; snap > 0 && len(p.data) > snap {
		pkt.Data, pkt.OrigLen = p.data[:snap], len(p.data)
	}
	if !p.begun && v.file != nil {
		r.writePacket(v.file, &pkt)
	}
	if r.opts.Combined != "" {
		r.writeCombined(v, &pkt)
	}
}

func (r *Recorder) writePacket(o *output, pkt *pcapng.Packet) {
	if o.dead {
		return
	}
	if err := o.w.WritePacket(pkt); err != nil {
		r.fail(o, err)
	}
}

// addVantage registers a NIC at its first frame. It runs on the stack's
// goroutine, with qmu held, so that it reads the NIC's name and addresses
// while they cannot change.
func (r *Recorder) addVantage(nic *stack.NIC) *vantage {
	host := nic.Stack().Name()
	ifname := nic.Name()
	v := &vantage{nic: nic, name: host + ":" + ifname, host: host, ifname: ifname, link: nic.Type(), combIdx: -1}
	v.mirror = r.mirrors[v.name]
	v.intf = pcapng.Interface{Name: v.name, LinkType: layers.LinkTypeEthernet}
	if v.link == stack.LinkRawIP {
		v.intf.LinkType = layers.LinkTypeRaw
	}
	if d, ok := r.descs[v.name]; ok {
		v.intf.Description = d
	} else {
		v.intf.Description = defaultDescription(nic)
	}
	r.vant[nic] = v
	if r.async && nic.MTU() > jumboMTU {
		// Frames up to 64 KiB: the batch's copy of each costs as much as
		// the stacks' own work, more than the trace's work per frame,
		// and the writer's second copy beside them slows them more than
		// writing here does.
		r.drain()
		r.async = false
	}
	return v
}

// jumboMTU is the largest MTU at which a Recorder works beside the
// stacks. Measured in wall time added, beside them and on their
// goroutine: at MTU 1500, pcapng alone 21-30 % and 34-52 %, pcapng and
// the text trace 27-46 % and 127-155 %; at 65535, pcapng alone 53-60 %
// and 41-51 %, with the text trace 59-76 % and 55-68 %.
const jumboMTU = 9000

// openVantage opens a vantage point's file, at its first frame written.
func (r *Recorder) openVantage(v *vantage) {
	if r.opts.Dir == "" {
		return
	}
	path := filepath.Join(r.opts.Dir, fileName(v.host)+"-"+fileName(v.ifname)+".pcapng")
	comment := r.fileComment() + "; vantage point " + v.name
	v.file = r.open(path, comment, v.intf)
}

// fileName makes a host or interface name safe as part of a file name.
func fileName(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			return c
		}
		return '_'
	}, s)
}

func (r *Recorder) fileComment() string {
	var b strings.Builder
	b.WriteString("stacklab")
	if r.opts.Version != "" {
		b.WriteString(" " + r.opts.Version)
	}
	if r.opts.Scenario != "" {
		b.WriteString(", scenario " + r.opts.Scenario)
	}
	fmt.Fprintf(&b, ", seed %d", r.opts.Seed)
	return b.String()
}

func (r *Recorder) application() string {
	if r.opts.Version != "" {
		return "stacklab " + r.opts.Version
	}
	return "stacklab"
}

// defaultDescription describes a NIC when no link parameters were given.
func defaultDescription(nic *stack.NIC) string {
	d := fmt.Sprintf("%s, %s, mtu %d", nic.Type(), nic.Addr(), nic.MTU())
	if mac := nic.MAC(); len(mac) == 6 {
		d += ", mac " + mac.String()
	}
	return d
}

// open creates a pcapng file with one interface and the name table. On
// failure it records the error and returns nil: the run goes on, and
// Close reports it.
func (r *Recorder) open(path, comment string, intf pcapng.Interface) *output {
	f, err := os.Create(path)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("capture: %w", err))
		return nil
	}
	w, err := pcapng.NewWriter(f, pcapng.Section{Application: r.application(), Comment: comment}, intf)
	if err == nil {
		err = w.WriteNames(r.names)
	}
	o := &output{path: path, f: f, w: w}
	r.outputs = append(r.outputs, o)
	if err != nil {
		o.dead = true
		r.errs = append(r.errs, fmt.Errorf("capture: writing %s: %w", path, err))
	}
	return o
}

// writeCombined writes pkt to the combined file, adding v's interface
// (and opening the file) on first use.
func (r *Recorder) writeCombined(v *vantage, pkt *pcapng.Packet) {
	if r.combined == nil {
		if r.opts.Combined == "" {
			return
		}
		comment := r.fileComment() + "; combined capture: every frame at every vantage point, " +
			"so Wireshark marks later copies of a segment as retransmissions; open the per-vantage files to analyse TCP"
		r.combined = r.open(r.opts.Combined, comment, v.intf)
		if r.combined == nil {
			r.opts.Combined = "" // already reported
			return
		}
		v.combIdx = 0
	}
	o := r.combined
	if o.dead {
		return
	}
	if v.combIdx < 0 {
		idx, err := o.w.AddInterface(v.intf)
		if err != nil {
			o.dead = true
			r.errs = append(r.errs, fmt.Errorf("capture: writing %s: %w", o.path, err))
			return
		}
		v.combIdx = idx
	}
	pkt.Interface = v.combIdx
	r.writePacket(o, pkt)
	pkt.Interface = 0
}

// MaxKept is how many summaries, and how many notes, KeepSummaries
// keeps: some 75 MB of summaries at most.
const MaxKept = 1 << 18

// maxKept is MaxKept, lowered by tests.
var maxKept = MaxKept

// SummariesLeftOut returns how many summaries and notes KeepSummaries
// left out once it held MaxKept of them.
func (r *Recorder) SummariesLeftOut() int {
	defer r.settle()()
	r.release()
	return r.keptOut
}

// Summaries returns a copy of the summaries kept so far (with
// KeepSummaries), in the order the frames were captured.
func (r *Recorder) Summaries() []Summary {
	defer r.settle()()
	r.release()
	return append([]Summary(nil), r.sums...)
}

// Files returns the paths of the capture files opened so far, sorted.
func (r *Recorder) Files() []string {
	defer r.settle()()
	var paths []string
	for _, o := range r.outputs {
		paths = append(paths, o.path)
	}
	sort.Strings(paths)
	return paths
}

// Flush writes out the held frame, the trace and the files' buffers, for
// a live run (TUN mode). It reports the first error so far.
func (r *Recorder) Flush() error {
	defer r.settle()()
	if r.closed {
		return errors.Join(r.errs...)
	}
	r.release()
	if r.tr != nil { // nil when idle
		if err := r.tr.Flush(); err != nil {
			r.errs = append(r.errs, fmt.Errorf("capture: writing the trace: %w", err))
		}
	}
	if r.page != nil {
		if err := r.page.Flush(); err != nil {
			r.errs = append(r.errs, fmt.Errorf("capture: writing the page data: %w", err))
		}
	}
	for _, o := range r.outputs {
		if !o.dead {
			if err := o.w.Flush(); err != nil {
				o.dead = true
				r.errs = append(r.errs, fmt.Errorf("capture: writing %s: %w", o.path, err))
			}
		}
	}
	return r.firstErrs()
}

func (r *Recorder) firstErrs() error {
	return errors.Join(r.errs...)
}

// Close writes out everything held or buffered, closes the files and
// reports every error met since New. It flushes every file even after an
// error elsewhere, so nothing already recorded is lost. Frames and events
// after Close are ignored.
func (r *Recorder) Close() error {
	defer r.settle()()
	if r.closed {
		return r.firstErrs()
	}
	r.release()
	r.closed, r.qclosed = true, true
	// Drained, the writer done: the batches go to the next Recorder.
	giveBatch(r.fill)
	for _, b := range r.free {
		giveBatch(b)
	}
	r.fill, r.free, r.nbatch = new(batch), nil, 0
	if r.tr != nil { // nil when idle
		if err := r.tr.Flush(); err != nil {
			r.errs = append(r.errs, fmt.Errorf("capture: writing the trace: %w", err))
		}
	}
	if r.page != nil {
		if err := r.page.Flush(); err != nil {
			r.errs = append(r.errs, fmt.Errorf("capture: writing the page data: %w", err))
		}
	}
	for _, o := range r.outputs {
		var err error
		if o.w != nil {
			err = o.w.Close()
		}
		if cerr := o.f.Close(); err == nil {
			err = cerr
		}
		if err != nil && !o.dead {
			r.errs = append(r.errs, fmt.Errorf("capture: writing %s: %w", o.path, err))
		}
	}
	return r.firstErrs()
}
