package sim

import (
	"sync"
	"sync/atomic"
	"time"

	"stacklab/stack/core"
)

// Clock is a virtual clock: an event heap on simulated time. Time stands
// still until the owner advances it with [Clock.Step], [Clock.RunUntil],
// [Clock.RunFor] or [Clock.Run], which fire the due callbacks in order of
// their due time and, for callbacks due at the same instant, in the order
// they were scheduled (or last reset). Callbacks run on the goroutine that
// advances the clock, without the clock's lock held, so they may schedule,
// stop and reset timers freely.
//
// Clock implements core.Clock. Its methods are safe for concurrent use,
// but only one goroutine should advance it at a time.
type Clock struct {
	mu    sync.Mutex
	start time.Time
	// now is the time in nanoseconds since start. It changes only with
	// mu held, and is atomic so that Now and Elapsed read it without the
	// lock: the stacks read the time far more often than the clock moves.
	now  atomic.Int64
	seq  uint64
	heap []*Timer
}

var _ core.Clock = (*Clock)(nil)

// NewClock returns a virtual clock that reads start until it is advanced.
func NewClock(start time.Time) *Clock {
	return &Clock{start: start}
}

// setNow moves the clock to n nanoseconds since start; c.mu is held.
func (c *Clock) setNow(n int64) {
	c.now.Store(n)
}

// Now returns the current virtual time.
func (c *Clock) Now() time.Time {
	return c.start.Add(time.Duration(c.now.Load()))
}

// Elapsed returns the virtual time elapsed since the clock's start.
func (c *Clock) Elapsed() time.Duration {
	return time.Duration(c.now.Load())
}

// AfterFunc schedules f to run d from now (at once, on the next step, if d
// is zero or negative) and returns its timer. It implements core.Clock.
func (c *Clock) AfterFunc(d time.Duration, f func()) core.Timer {
	return c.NewTimer(d, f)
}

// NewTimer is [Clock.AfterFunc] returning the concrete *[Timer]. A nil f
// schedules nothing useful but is harmless.
func (c *Clock) NewTimer(d time.Duration, f func()) *Timer {
	if f == nil {
		f = func() {}
	}
	t := &Timer{c: c, f: f, idx: -1}
	c.mu.Lock()
	c.schedule(t, d)
	c.mu.Unlock()
	return t
}

// Pending returns the number of scheduled callbacks.
func (c *Clock) Pending() int {
	c.mu.Lock()
	n := len(c.heap)
	c.mu.Unlock()
	return n
}

// Next returns the due time of the earliest scheduled callback, and false
// if there is none.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.heap) == 0 {
		return time.Time{}, false
	}
	return c.start.Add(time.Duration(c.heap[0].when)), true
}

// Step advances the clock to the earliest scheduled callback and runs it.
// It reports false, leaving the clock unchanged, if nothing is scheduled.
func (c *Clock) Step() bool {
	c.mu.Lock()
	f := c.popLocked(-1)
	c.mu.Unlock()
	if f == nil {
		return false
	}
	f()
	return true
}

// RunUntil runs every callback due at or before t, in order, including
// those the callbacks themselves schedule, and then sets the clock to t
// (unless t is in the past, when the clock does not move back).
func (c *Clock) RunUntil(t time.Time) {
	limit := int64(t.Sub(c.start))
	if limit < 0 {
		return // before the clock began: nothing is due (and -1 means "any")
	}
	for {
		c.mu.Lock()
		f := c.popLocked(limit)
		if f == nil {
			if limit > c.now.Load() {
				c.setNow(limit)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		f()
	}
}

// RunUntilOr is [Clock.RunUntil] that also calls stop after every
// `every` callbacks and returns false, leaving the rest queued, as soon
// as stop reports true (a wall-time limit on a run, say); it returns
// true when the clock reached t.
func (c *Clock) RunUntilOr(t time.Time, every int, stop func() bool) bool {
	limit := int64(t.Sub(c.start))
	if limit < 0 {
		return true
	}
	for n := 1; ; n++ {
		if n%max(every, 1) == 0 && stop() {
			return false
		}
		c.mu.Lock()
		f := c.popLocked(limit)
		if f == nil {
			if limit > c.now.Load() {
				c.setNow(limit)
			}
			c.mu.Unlock()
			return true
		}
		c.mu.Unlock()
		f()
	}
}

// RunFor runs the clock for d of virtual time; see [Clock.RunUntil].
func (c *Clock) RunFor(d time.Duration) {
	c.RunUntil(c.Now().Add(d))
}

// Run runs callbacks until none is left and returns the number run. A
// callback that always reschedules itself (a heartbeat) keeps Run going
// forever: bound such runs with [Clock.RunUntil] or [Clock.RunSteps].
func (c *Clock) Run() int {
	n := 0
	for c.Step() {
		n++
	}
	return n
}

// RunSteps runs at most max callbacks and reports whether the heap ran
// empty (true) or the limit was reached first (false).
func (c *Clock) RunSteps(max int) bool {
	for range max {
		if !c.Step() {
			return true
		}
	}
	return c.Pending() == 0
}

// popLocked removes the earliest timer if it is due at or before limit
// (any time, if limit < 0), advances now to its due time and returns its
// callback; it returns nil if there is none.
func (c *Clock) popLocked(limit int64) func() {
	if len(c.heap) == 0 {
		return nil
	}
	t := c.heap[0]
	if limit >= 0 && t.when > limit {
		return nil
	}
	c.removeLocked(0)
	if t.when > c.now.Load() {
		c.setNow(t.when)
	}
	return t.f
}

func (c *Clock) schedule(t *Timer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	t.when = c.now.Load() + int64(d)
	c.seq++
	t.seq = c.seq
	if t.idx >= 0 {
		// Already scheduled: fix its place in the heap.
		if !c.up(t.idx) {
			c.down(t.idx)
		}
		return
	}
	t.idx = len(c.heap)
	c.heap = append(c.heap, t)
	c.up(t.idx)
}

// Timer is a callback scheduled on a virtual [Clock]. It implements
// core.Timer; Reset reuses the timer's place in the heap and allocates
// nothing.
type Timer struct {
	c    *Clock
	f    func()
	when int64
	seq  uint64
	idx  int // position in c.heap, -1 when not scheduled
}

// Stop unschedules the timer and reports whether it was pending.
func (t *Timer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.idx < 0 {
		return false
	}
	c.removeLocked(t.idx)
	return true
}

// Reset reschedules the timer to run d from now, whether or not it has
// run or been stopped, and reports whether it was pending. A reset timer
// runs after every callback already due at the same instant.
func (t *Timer) Reset(d time.Duration) bool {
	c := t.c
	c.mu.Lock()
	was := t.idx >= 0
	c.schedule(t, d)
	c.mu.Unlock()
	return was
}

// When returns the timer's due time, and false if it is not pending.
func (t *Timer) When() (time.Time, bool) {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.idx < 0 {
		return time.Time{}, false
	}
	return c.start.Add(time.Duration(t.when)), true
}

// The heap: a binary min-heap ordered by (when, seq), written out rather
// than through container/heap to keep Reset free of interface calls.

func (c *Clock) less(i, j int) bool {
	a, b := c.heap[i], c.heap[j]
	if a.when != b.when {
		return a.when < b.when
	}
	return a.seq < b.seq
}

func (c *Clock) swap(i, j int) {
	h := c.heap
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}

// up moves element i towards the root and reports whether it moved.
func (c *Clock) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if !c.less(i, p) {
			break
		}
		c.swap(i, p)
		i = p
		moved = true
	}
	return moved
}

func (c *Clock) down(i int) {
	n := len(c.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && c.less(r, l) {
			m = r
		}
		if !c.less(m, i) {
			return
		}
		c.swap(i, m)
		i = m
	}
}

func (c *Clock) removeLocked(i int) {
	h := c.heap
	last := len(h) - 1
	t := h[i]
	if i != last {
		c.swap(i, last)
	}
	h[last] = nil
	c.heap = h[:last]
	t.idx = -1
	if i != last {
		if !c.up(i) {
			c.down(i)
		}
	}
}
