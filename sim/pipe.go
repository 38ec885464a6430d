package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// PipeConfig configures a [Pipe].
type PipeConfig struct {
	// Clock times the pipe: a virtual *Clock or stack.RealClock.
	Clock core.Clock
	// Rand drives every random impairment. Nil means a fixed seed.
	Rand *rand.Rand
	// Impairments are the initial impairments.
	Impairments Impairments
	// Deliver receives each frame when it arrives at the far end, never
	// from inside [Pipe.Send]. It must not retain pkt.Data. Nil discards.
	Deliver func(pkt stack.Packet)
	// HeaderLen is the length of the link header that MTU does not count
	// and corruption skips: 14 for Ethernet, 0 for raw IP (see
	// [HeaderLen]).
	HeaderLen int
	// Name, From and To label the pipe's events: Name goes in
	// Event.Host ("client—server"), From and To name the sending and
	// receiving ends and go in Event.From and Event.To.
	Name, From, To string
	// Observer, if set, is told of every frame the pipe drops, corrupts,
	// duplicates or holds back.
	Observer core.Observer
	// PartialChecksums says that Deliver hands frames to a stack
	// (NIC.Deliver) or a Network's switch, which take a frame whose TCP
	// checksum the sender left to the link (stack.Packet.ChecksumPartial):
	// the pipe is then a stack.PartialChecksumLink. A Network's pipes
	// set it. Without it (a pipe to a TUN device) the sending stack
	// finishes every checksum before the pipe sees the frame.
	PartialChecksums bool
}

// HeaderLen returns the link header length for a link type: 14 for
// Ethernet II, 0 for raw IP.
func HeaderLen(t stack.LinkType) int {
	if t == stack.LinkRawIP {
		return 0
	}
	return 14
}

// Pipe is one direction of a link: the impairment engine. Frames given to
// [Pipe.Send] are copied into pooled buffers, delayed, shaped, lost,
// duplicated, reordered or corrupted as its [Impairments] say, and handed
// to the Deliver function on the clock's time. A Pipe implements
// stack.Link, so it can stand between a NIC and anything that delivers:
// another NIC, a TUN device, a router port.
//
// A Pipe starts no goroutine of its own and keeps one timer on its clock
// for all the frames in flight. In virtual time it is deterministic and
// allocates nothing per frame in steady state. With a real-time clock its
// timer callbacks run on the clock's goroutines; a Pipe is safe for
// concurrent use and still delivers frames one at a time, in arrival
// order.
type Pipe struct {
	mu    sync.Mutex
	clock core.Clock
	epoch time.Time
	// vclock is clock when it is a virtual *Clock, and vepoch its Elapsed
	// at epoch: now then reads the elapsed nanoseconds directly.
	vclock  *Clock
	vepoch  int64
	rng     *rand.Rand
	imp     Impairments
	deliver func(stack.Packet)
	hdr     int
	partial bool // PipeConfig.PartialChecksums
	name    string
	from    string
	to      string
	obs     core.Observer
	ev      core.Event
	filter  atomic.Pointer[Filter] // read without the lock, once per frame
	inspect func(stack.Packet) (bool, string)

	down   bool
	closed bool
	geBad  bool
	aqm    aqmState

	// The transmitter: frames not yet fully serialised, oldest first.
	busyUntil int64
	txq       []txEntry
	txHead    int
	txBytes   int

	// lastArrival keeps FIFO order among frames not held back.
	lastArrival int64

	// Frames in flight, in order of (at, seq): those sent in order of
	// arrival (every frame, without jitter or reordering) wait in the
	// FIFO fifo[fhead:], the others in the min-heap flight.
	flight     []flightEntry
	fifo       []flightEntry
	fhead      int
	seq        uint64
	timer      core.Timer
	armed      bool
	armedAt    int64
	delivering bool

	free [numClasses][][]byte // pooled buffers by size class
	ctr  Counters
}

type txEntry struct {
	end  int64
	size int
}

type flightEntry struct {
	at  int64
	seq uint64
	id  uint64
	buf []byte
	// csumOK is the frame's Packet.ChecksumOK as sent, cleared when the
	// pipe corrupted it or a middlebox saw it (it may rewrite it);
	// partial its Packet.ChecksumPartial, cleared when the pipe finished
	// the checksum (before a middlebox or a corruption).
	csumOK, partial bool
}

// Buffers are pooled in size classes, so that small frames (ACKs) do not
// hold 64 KiB buffers and large frames never find a pooled buffer too
// small.
const (
	maxFreeBuffers = 1024 // per class
	numClasses     = 3
)

var classCap = [numClasses]int{2048, 16 << 10, 65535 + 64}

// classSlab is how many buffers of a class one allocation makes when the
// free list is empty, so that a window growing in a bulk transfer costs a
// few allocations rather than one per frame in flight.
var classSlab = [numClasses]int{32, 4, 1}

func sizeClass(n int) int {
	for c, max := range classCap {
		if n <= max {
			return c
		}
	}
	return numClasses - 1
}

var _ stack.Link = (*Pipe)(nil)

// NewPipe returns a pipe on clock with the given impairments, delivering
// to deliver, for raw IP frames (no link header). Use [NewPipeConfig] for
// Ethernet frames, names and an observer.
func NewPipe(clock core.Clock, r *rand.Rand, imp Impairments, deliver func(stack.Packet)) *Pipe {
	return NewPipeConfig(PipeConfig{Clock: clock, Rand: r, Impairments: imp, Deliver: deliver})
}

// NewPipeConfig returns a pipe configured by cfg.
func NewPipeConfig(cfg PipeConfig) *Pipe {
	if cfg.Clock == nil {
		cfg.Clock = stack.RealClock{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(1, 2))
	}
	p := &Pipe{
		flight:  make([]flightEntry, 0, 64),
		fifo:    make([]flightEntry, 0, 64),
		clock:   cfg.Clock,
		epoch:   cfg.Clock.Now(),
		rng:     cfg.Rand,
		imp:     cfg.Impairments,
		deliver: cfg.Deliver,
		hdr:     cfg.HeaderLen,
		name:    cfg.Name,
		from:    cfg.From,
		to:      cfg.To,
		obs:     cfg.Observer,
		partial: cfg.PartialChecksums,
	}
	if vc, ok := cfg.Clock.(*Clock); ok {
		e := vc.Elapsed()
		p.vclock, p.vepoch, p.epoch = vc, int64(e), vc.start.Add(e)
	}
	for c := range p.free {
		p.free[c] = make([][]byte, 0, 64)
	}
	return p
}

// SetDeliver replaces the function that receives arriving frames.
func (p *Pipe) SetDeliver(deliver func(stack.Packet)) {
	p.mu.Lock()
	p.deliver = deliver
	p.mu.Unlock()
}

// Impairments returns the pipe's current impairments.
func (p *Pipe) Impairments() Impairments {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.imp
}

// SetImpairments changes the impairments for frames sent from now on;
// frames already in flight keep their schedule.
func (p *Pipe) SetImpairments(imp Impairments) error {
	if err := imp.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	p.imp = imp
	p.mu.Unlock()
	return nil
}

// SetFilter installs f, called for every frame sent before any
// impairment, with pkt.Data valid only during the call. Its [Verdict]
// applies on top of the impairments (a delayed frame may still be lost at
// random). f runs without the pipe's lock held. Nil removes the filter.
func (p *Pipe) SetFilter(f Filter) {
	if f == nil {
		p.filter.Store(nil)
		return
	}
	p.filter.Store(&f)
}

// SetInspect installs a middlebox stage (see [Middlebox]): f is called
// for every frame that survives the queue and loss, with the pipe's own
// copy of the frame, which it may rewrite in place (a NAT). A frame it
// rejects is dropped and counted in DropMiddlebox, with reason as the drop
// event's detail. f runs with the pipe's lock held and must not call back
// into the pipe. Nil removes the stage.
func (p *Pipe) SetInspect(f func(pkt stack.Packet) (pass bool, reason string)) {
	p.mu.Lock()
	p.inspect = f
	p.mu.Unlock()
}

// SetUp brings the pipe up or down. Going down drops every frame in
// flight or queued, and a down pipe drops every frame sent.
func (p *Pipe) SetUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if up == !p.down || p.closed {
		return // a closed pipe stays down
	}
	p.down = !up
	if up {
		return
	}
	p.purgeLocked(p.now())
}

// Up reports whether the pipe is up.
func (p *Pipe) Up() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.down
}

// Close takes the pipe down for good and stops its timer, so that no
// callback runs after Close returns (except one already running).
func (p *Pipe) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.down = true
	p.purgeLocked(p.now())
	if p.timer != nil {
		p.timer.Stop()
		p.armed = false
	}
}

// Counters returns what the pipe has done so far.
func (p *Pipe) Counters() Counters {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctr
}

// InFlight returns the number of frames sent but not yet delivered.
func (p *Pipe) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight()
}

func (p *Pipe) now() int64 {
	if p.vclock != nil {
		return int64(p.vclock.Elapsed()) - p.vepoch
	}
	return int64(p.clock.Now().Sub(p.epoch))
}

// Drop reasons (Event.Detail). Each drop event's Name is the part of its
// reason that names the cause ("random loss"), so that a trace or capture
// comment showing the detail says everything.

const (
	reasonDown   = "link: dropped, link down"
	reasonFilter = "link: dropped, filter"
	reasonMTU    = "link: dropped, mtu"
	reasonQueue  = "link: dropped, queue full"
	reasonBurst  = "link: dropped, burst loss"
	reasonLoss   = "link: dropped, random loss"
)

// middleboxName names a middlebox drop by its reason's prefix ("firewall"
// for "firewall: dropped, idle timeout").
func middleboxName(reason string) string {
	if i := strings.IndexByte(reason, ':'); i > 0 {
		return reason[:i]
	}
	return "middlebox"
}

// CarriesPartialChecksums implements [stack.PartialChecksumLink]: with
// PipeConfig.PartialChecksums, a frame sent with its TCP checksum left
// to the link keeps it so to the receiver, unless a middlebox is to see
// it or the link corrupts it (then the pipe finishes it first).
func (p *Pipe) CarriesPartialChecksums() bool { return p.partial }

// finish computes the TCP checksum of a frame sent without it.
func (p *Pipe) finish(buf []byte) { wire.FinishTCPChecksum(buf, p.hdr == wire.EthernetHeaderLen) }

// Send puts pkt on the link. It copies pkt.Data and never delivers
// synchronously.
func (p *Pipe) Send(pkt stack.Packet) {
	v := Pass
	if f := p.filter.Load(); f != nil {
		v = (*f)(pkt)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(pkt.Data)
	p.ctr.Sent++
	p.ctr.SentBytes += uint64(n)
	imp := &p.imp

	switch {
	case p.down:
		p.drop(&p.ctr.DropDown, "link down", reasonDown, pkt.ID)
		return
	case v.Action == ActDrop:
		p.drop(&p.ctr.DropFilter, "filter", reasonFilter, pkt.ID)
		return
	case imp.MTU > 0 && n > imp.MTU+p.hdr:
		p.drop(&p.ctr.DropMTU, "mtu", reasonMTU, pkt.ID)
		return
	}

	now := p.now()
	depart := now
	markAt := -1 // the IPv4 header to mark CE, if the AQM says so
	if imp.Rate > 0 {
		// The transmit queue, then serialisation.
		p.expireTx(now)
		if p.queueFull(n) {
			p.drop(&p.ctr.DropQueue, "queue full", reasonQueue, pkt.ID)
			return
		}
		start := max(now, p.busyUntil)
		depart = start + txTime(n, imp.Rate)
		if imp.AQM.Kind != "" {
			if why := p.aqmSignal(now, depart, n, p.txBytes, len(p.txq)-p.txHead); why != "" {
				if imp.AQM.ECN {
					markAt = ectOffset(pkt.Data, p.hdr)
				}
				if markAt < 0 {
					p.drop(&p.ctr.DropAQM, "aqm", "link: dropped, "+why, pkt.ID)
					return
				}
				p.ctr.MarkedCE++
				if p.obs != nil {
					p.note("ce", "link: marked CE, "+why, pkt.ID)
				}
			}
		}
		p.busyUntil = depart
		p.pushTx(txEntry{end: depart, size: n})
	}

	// Loss on the wire: the frame was sent, so it used the transmitter.
	if imp.Burst.Enabled() {
		if p.geBad {
			if p.rng.Float64() < imp.Burst.R {
				p.geBad = false
			}
		} else if imp.Burst.P > 0 && p.rng.Float64() < imp.Burst.P {
			p.geBad = true
		}
		loss := imp.Burst.LossGood
		if p.geBad {
			loss = imp.Burst.LossBad
		}
		if loss > 0 && p.rng.Float64() < loss {
			p.drop(&p.ctr.DropBurst, "burst loss", reasonBurst, pkt.ID)
			return
		}
	}
	if imp.Loss > 0 && p.rng.Float64() < imp.Loss {
		p.drop(&p.ctr.DropLoss, "random loss", reasonLoss, pkt.ID)
		return
	}

	buf := p.get(n)
	copy(buf, pkt.Data)
	if markAt >= 0 {
		markCE(buf, markAt)
	}
	partial := pkt.ChecksumPartial
	if p.inspect != nil {
		if partial {
			// The middlebox sees, and may rewrite, the frame as it
			// is on a wire: with its checksum.
			p.finish(buf)
			partial = false
		}
		if pass, why := p.inspect(stack.Packet{ID: pkt.ID, Data: buf}); !pass {
			p.put(buf)
			p.drop(&p.ctr.DropMiddlebox, middleboxName(why), why, pkt.ID)
			return
		}
	}

	// Propagation.
	d := imp.Delay
	if j := imp.Jitter; j > 0 {
		d += time.Duration(p.rng.Int64N(2*int64(j)+1)) - j
		d = max(d, 0)
	}
	arrive := depart + int64(d)
	var hold time.Duration
	if imp.Reorder > 0 && p.rng.Float64() < imp.Reorder {
		h := imp.ReorderDelay
		if h == 0 {
			h = DefaultReorderDelay
		}
		hold += h
		p.ctr.Reordered++
		if p.obs != nil {
			p.note("reorder", fmt.Sprintf("link: reordered, held back %v", h), pkt.ID)
		}
	}
	if v.Action == ActDelay && v.Delay > 0 {
		hold += v.Delay
		p.ctr.Delayed++
		if p.obs != nil {
			p.note("delay", fmt.Sprintf("link: delayed %v by filter", v.Delay), pkt.ID)
		}
	}
	if hold == 0 {
		arrive = max(arrive, p.lastArrival)
		p.lastArrival = arrive
	} else {
		arrive += int64(hold)
	}

	off := -1
	if v.Action == ActCorrupt {
		off = v.Offset
		if off < 0 || off >= n {
			off = p.randomOffset(n)
		}
	} else if imp.Corrupt > 0 && p.rng.Float64() < imp.Corrupt {
		off = p.randomOffset(n)
	}
	if off >= 0 {
		if partial {
			p.finish(buf) // the receiver is to find the damage
			partial = false
		}
		buf[off] ^= byte(1 + p.rng.IntN(255))
		p.ctr.Corrupted++
		if p.obs != nil {
			p.note("corrupt", fmt.Sprintf("link: corrupted byte %d", off), pkt.ID)
		}
	}

	csumOK := pkt.ChecksumOK && off < 0 && p.inspect == nil
	p.pushFlight(arrive, pkt.ID, buf, csumOK, partial)
	if v.Action == ActDuplicate || (imp.Duplicate > 0 && p.rng.Float64() < imp.Duplicate) {
		dup := p.get(n)
		copy(dup, buf)
		p.pushFlight(arrive, pkt.ID, dup, csumOK, partial)
		p.ctr.Duplicated++
		if p.obs != nil {
			p.note("duplicate", "link: duplicated", pkt.ID)
		}
	}
	p.arm(now)
}

// txTime returns the serialisation time of n bytes at rate bit/s,
// rounded up to the nanosecond.
func txTime(n int, rate uint64) int64 {
	bits := uint64(n) * 8 * uint64(time.Second)
	return int64((bits + rate - 1) / rate)
}

// randomOffset picks a byte past the link header, or any byte if the
// frame is no longer than its header; -1 for an empty frame.
func (p *Pipe) randomOffset(n int) int {
	if n == 0 {
		return -1
	}
	if n > p.hdr {
		return p.hdr + p.rng.IntN(n-p.hdr)
	}
	return p.rng.IntN(n)
}

func (p *Pipe) drop(ctr *uint64, name, reason string, id uint64) {
	*ctr++
	if p.obs != nil {
		p.observe(core.EventDrop, name, reason, id)
	}
}

func (p *Pipe) note(name, detail string, id uint64) {
	p.observe(core.EventNote, name, detail, id)
}

func (p *Pipe) observe(kind core.EventKind, name, detail string, id uint64) {
	p.ev = core.Event{
		Time:     p.clock.Now(),
		Host:     p.name,
		Kind:     kind,
		FD:       -1,
		From:     p.from,
		To:       p.to,
		Name:     name,
		Detail:   detail,
		PacketID: id,
	}
	p.obs.Observe(&p.ev)
}

// The transmit queue.

func (p *Pipe) expireTx(now int64) {
	for p.txHead < len(p.txq) && p.txq[p.txHead].end <= now {
		p.txBytes -= p.txq[p.txHead].size
		p.txHead++
	}
	if p.txHead == len(p.txq) {
		p.txq = p.txq[:0]
		p.txHead = 0
	}
}

func (p *Pipe) queueFull(n int) bool {
	count := len(p.txq) - p.txHead
	if count == 0 {
		return false // an idle transmitter takes any frame
	}
	qp, qb := p.imp.QueuePackets, p.imp.QueueBytes
	if qp == 0 && qb == 0 {
		qp = DefaultQueuePackets
	}
	return (qp > 0 && count+1 > qp) || (qb > 0 && p.txBytes+n > qb)
}

func (p *Pipe) pushTx(e txEntry) {
	if len(p.txq) == cap(p.txq) && p.txHead > 0 {
		k := copy(p.txq, p.txq[p.txHead:])
		p.txq = p.txq[:k]
		p.txHead = 0
	}
	p.txq = append(p.txq, e)
	p.txBytes += e.size
}

// Buffers.

func (p *Pipe) get(n int) []byte {
	c := sizeClass(n)
	free := p.free[c]
	if k := len(free); k > 0 {
		b := free[k-1]
		free[k-1] = nil
		p.free[c] = free[:k-1]
		if cap(b) >= n {
			return b[:n]
		}
	}
	size := classCap[c]
	if n > size || len(p.free[c])+classSlab[c] > maxFreeBuffers {
		return make([]byte, n, max(n, size))
	}
	// One slab: the first buffer is returned, the others go to the free
	// list. Each has its own capacity, so none can grow into the next.
	slab := make([]byte, size*classSlab[c])
	for i := classSlab[c] - 1; i > 0; i-- {
		p.free[c] = append(p.free[c], slab[i*size:i*size:(i+1)*size])
	}
	return slab[:n:size]
}

// put returns b to its free list. b is not cleared: get's callers
// overwrite every byte they hand out.
func (p *Pipe) put(b []byte) {
	c := sizeClass(cap(b))
	if cap(b) < classCap[c] && c > 0 {
		c-- // a buffer serves the largest class it fully covers
	}
	if len(p.free[c]) < maxFreeBuffers {
		p.free[c] = append(p.free[c], b[:0])
	}
}

// Frames in flight: a min-heap by arrival time, then send order.

func (p *Pipe) pushFlight(at int64, id uint64, buf []byte, csumOK, partial bool) {
	p.seq++
	e := flightEntry{at: at, seq: p.seq, id: id, buf: buf, csumOK: csumOK, partial: partial}
	if n := len(p.fifo); n == p.fhead || p.fifo[n-1].at <= at {
		// In order: seq grows, so the FIFO stays sorted by (at, seq).
		if p.fhead > 0 && n == cap(p.fifo) {
			k := copy(p.fifo, p.fifo[p.fhead:])
			clear(p.fifo[k:])
			p.fifo, p.fhead = p.fifo[:k], 0
		}
		p.fifo = append(p.fifo, e)
		return
	}
	p.flight = append(p.flight, e)
	h := p.flight
	i := len(h) - 1
	for i > 0 {
		j := (i - 1) / 2
		if !flightLess(&h[i], &h[j]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// inFlight returns the number of frames in flight.
func (p *Pipe) inFlight() int { return len(p.fifo) - p.fhead + len(p.flight) }

// nextFlight returns the earliest frame in flight; inFlight must be > 0.
func (p *Pipe) nextFlight() *flightEntry {
	if p.fhead == len(p.fifo) {
		return &p.flight[0]
	}
	f := &p.fifo[p.fhead]
	if len(p.flight) > 0 && flightLess(&p.flight[0], f) {
		return &p.flight[0]
	}
	return f
}

// popFlight removes and returns the earliest frame in flight.
func (p *Pipe) popFlight() flightEntry {
	if p.fhead < len(p.fifo) && (len(p.flight) == 0 || !flightLess(&p.flight[0], &p.fifo[p.fhead])) {
		e := p.fifo[p.fhead]
		p.fifo[p.fhead] = flightEntry{}
		p.fhead++
		if p.fhead == len(p.fifo) {
			p.fifo, p.fhead = p.fifo[:0], 0
		}
		return e
	}
	h := p.flight
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = flightEntry{}
	h = h[:last]
	p.flight = h
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && flightLess(&h[r], &h[l]) {
			m = r
		}
		if !flightLess(&h[m], &h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top
}

func flightLess(a, b *flightEntry) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (p *Pipe) purgeLocked(now int64) {
	for p.inFlight() > 0 {
		e := p.popFlight()
		p.drop(&p.ctr.DropDown, "link down", reasonDown, e.id)
		p.put(e.buf)
	}
	p.txq = p.txq[:0]
	p.txHead = 0
	p.txBytes = 0
	p.busyUntil = now
	p.lastArrival = now
}

// arm makes sure the timer fires for the earliest frame in flight.
func (p *Pipe) arm(now int64) {
	if p.inFlight() == 0 || p.delivering || p.closed {
		return // fire re-arms when it finishes
	}
	at := p.nextFlight().at
	if p.armed && p.armedAt <= at {
		return
	}
	d := time.Duration(max(at-now, 0))
	if p.timer == nil {
		p.timer = p.clock.AfterFunc(d, p.fire)
	} else {
		p.timer.Reset(d)
	}
	p.armed = true
	p.armedAt = at
}

// fire delivers every frame that has arrived, one at a time and without
// the lock held, then re-arms the timer.
func (p *Pipe) fire() {
	p.mu.Lock()
	p.armed = false
	if p.delivering {
		// Another callback is delivering (real time only); it re-checks
		// the heap before it returns.
		p.mu.Unlock()
		return
	}
	p.delivering = true
	for p.inFlight() > 0 && p.nextFlight().at <= p.now() {
		e := p.popFlight()
		p.ctr.Delivered++
		p.ctr.DeliveredBytes += uint64(len(e.buf))
		deliver := p.deliver
		p.mu.Unlock()
		if deliver != nil {
			deliver(stack.Packet{ID: e.id, Data: e.buf, ChecksumOK: e.csumOK, ChecksumPartial: e.partial})
		}
		p.mu.Lock()
		p.put(e.buf)
	}
	p.delivering = false
	p.armed = false
	p.arm(p.now())
	p.mu.Unlock()
}
