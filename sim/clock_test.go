package sim

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestClockOrder(t *testing.T) {
	type sched struct {
		name string
		at   time.Duration
	}
	tests := []struct {
		name  string
		sched []sched
		want  []string
	}{
		{"empty", nil, nil},
		{"by time", []sched{{"c", 3}, {"a", 1}, {"b", 2}}, []string{"a", "b", "c"}},
		{"simultaneous keep schedule order", []sched{{"a", 5}, {"b", 5}, {"c", 5}, {"d", 5}}, []string{"a", "b", "c", "d"}},
		{"mixed", []sched{{"x", 2}, {"a", 1}, {"y", 2}, {"b", 1}, {"z", 2}, {"zero", 0}}, []string{"zero", "a", "b", "x", "y", "z"}},
		{"negative is now", []sched{{"a", 1}, {"neg", -5}}, []string{"neg", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock(t0)
			var got []string
			for _, s := range tt.sched {
				c.AfterFunc(s.at, func() { got = append(got, s.name) })
			}
			if n := c.Run(); n != len(tt.sched) {
				t.Errorf("Run() = %d, want %d", n, len(tt.sched))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestClockOrderLarge checks the heap against a sort over many events with
// colliding times.
func TestClockOrderLarge(t *testing.T) {
	c := NewClock(t0)
	type ev struct {
		at  time.Duration
		seq int
	}
	var want []ev
	var got []ev
	for i := range 1000 {
		e := ev{time.Duration((i * 7919) % 37), i}
		want = append(want, e)
		c.AfterFunc(e.at, func() {
			if c.Elapsed() != e.at {
				t.Errorf("event %d ran at %v, want %v", e.seq, c.Elapsed(), e.at)
			}
			got = append(got, e)
		})
	}
	slices.SortStableFunc(want, func(a, b ev) int { return int(a.at - b.at) })
	c.Run()
	if !slices.Equal(got, want) {
		t.Fatalf("heap order differs from a stable sort")
	}
}

func TestClockNowAdvances(t *testing.T) {
	c := NewClock(t0)
	var at []time.Time
	c.AfterFunc(10*time.Millisecond, func() {
		at = append(at, c.Now())
		// Scheduled from a callback: relative to the callback's time.
		c.AfterFunc(5*time.Millisecond, func() { at = append(at, c.Now()) })
	})
	if next, ok := c.Next(); !ok || !next.Equal(t0.Add(10*time.Millisecond)) {
		t.Fatalf("Next() = %v, %v", next, ok)
	}
	c.Run()
	want := []time.Time{t0.Add(10 * time.Millisecond), t0.Add(15 * time.Millisecond)}
	if !slices.EqualFunc(at, want, time.Time.Equal) {
		t.Fatalf("callbacks ran at %v, want %v", at, want)
	}
	if _, ok := c.Next(); ok {
		t.Fatal("Next() reports an event on an idle clock")
	}
	if c.Step() {
		t.Fatal("Step() on an idle clock returned true")
	}
	if !c.Now().Equal(t0.Add(15 * time.Millisecond)) {
		t.Fatalf("Now() = %v after run", c.Now())
	}
}

func TestClockRunUntil(t *testing.T) {
	c := NewClock(t0)
	var ran []int
	for i := 1; i <= 5; i++ {
		c.AfterFunc(time.Duration(i)*time.Second, func() { ran = append(ran, i) })
	}
	c.RunUntil(t0.Add(3 * time.Second))
	if !slices.Equal(ran, []int{1, 2, 3}) {
		t.Fatalf("RunUntil(3s) ran %v", ran)
	}
	if c.Elapsed() != 3*time.Second || c.Pending() != 2 {
		t.Fatalf("after RunUntil(3s): elapsed %v, pending %d", c.Elapsed(), c.Pending())
	}
	c.RunFor(1500 * time.Millisecond)
	if !slices.Equal(ran, []int{1, 2, 3, 4}) || c.Elapsed() != 4500*time.Millisecond {
		t.Fatalf("RunFor(1.5s): ran %v, elapsed %v", ran, c.Elapsed())
	}
	// The past: nothing runs, time does not go back.
	c.RunUntil(t0)
	if c.Elapsed() != 4500*time.Millisecond {
		t.Fatalf("RunUntil(past) moved the clock to %v", c.Elapsed())
	}
	// An idle clock still advances.
	c.Run()
	c.RunFor(time.Hour)
	if c.Elapsed() != 5*time.Second+time.Hour {
		t.Fatalf("elapsed %v", c.Elapsed())
	}
}

func TestClockRunSteps(t *testing.T) {
	c := NewClock(t0)
	var tick func()
	n := 0
	tick = func() { n++; c.AfterFunc(time.Second, tick) }
	c.AfterFunc(0, tick)
	if c.RunSteps(10) {
		t.Fatal("RunSteps reported idle for a self-rescheduling timer")
	}
	if n != 10 || c.Elapsed() != 9*time.Second {
		t.Fatalf("n = %d, elapsed %v", n, c.Elapsed())
	}
	c2 := NewClock(t0)
	c2.AfterFunc(1, func() {})
	if !c2.RunSteps(10) {
		t.Fatal("RunSteps did not report idle")
	}
}

func TestTimerStopReset(t *testing.T) {
	tests := []struct {
		name string
		// ops run at time 0 on timers a (1s), b (2s), c (3s).
		ops  func(t *testing.T, a, b, c *Timer)
		want []string // firing order with times
	}{
		{"none", func(*testing.T, *Timer, *Timer, *Timer) {}, []string{"a@1s", "b@2s", "c@3s"}},
		{"stop b", func(t *testing.T, a, b, c *Timer) {
			if !b.Stop() {
				t.Error("Stop of pending timer returned false")
			}
			if b.Stop() {
				t.Error("second Stop returned true")
			}
		}, []string{"a@1s", "c@3s"}},
		{"stop all", func(t *testing.T, a, b, c *Timer) { c.Stop(); a.Stop(); b.Stop() }, nil},
		{"reset a later", func(t *testing.T, a, b, c *Timer) {
			if !a.Reset(5 * time.Second) {
				t.Error("Reset of pending timer returned false")
			}
		}, []string{"b@2s", "c@3s", "a@5s"}},
		{"reset c earlier", func(t *testing.T, a, b, c *Timer) { c.Reset(0) }, []string{"c@0s", "a@1s", "b@2s"}},
		{"reset to same instant goes last", func(t *testing.T, a, b, c *Timer) { a.Reset(2 * time.Second) }, []string{"b@2s", "a@2s", "c@3s"}},
		{"stop then reset", func(t *testing.T, a, b, c *Timer) {
			b.Stop()
			if b.Reset(4 * time.Second) {
				t.Error("Reset of stopped timer returned true")
			}
		}, []string{"a@1s", "c@3s", "b@4s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock(t0)
			var got []string
			mk := func(name string, d time.Duration) *Timer {
				return c.NewTimer(d, func() { got = append(got, name+"@"+c.Elapsed().String()) })
			}
			a, b, cc := mk("a", time.Second), mk("b", 2*time.Second), mk("c", 3*time.Second)
			tt.ops(t, a, b, cc)
			c.Run()
			if !slices.Equal(got, tt.want) {
				t.Errorf("fired %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTimerResetAfterFire(t *testing.T) {
	c := NewClock(t0)
	n := 0
	tm := c.NewTimer(time.Second, func() { n++ })
	c.Run()
	if tm.Stop() {
		t.Error("Stop after firing returned true")
	}
	if _, ok := tm.When(); ok {
		t.Error("When reports a fired timer pending")
	}
	if tm.Reset(time.Second) {
		t.Error("Reset after firing returned true")
	}
	if w, ok := tm.When(); !ok || !w.Equal(t0.Add(2*time.Second)) {
		t.Errorf("When() = %v, %v", w, ok)
	}
	c.Run()
	if n != 2 || c.Elapsed() != 2*time.Second {
		t.Fatalf("n = %d, elapsed %v", n, c.Elapsed())
	}
}

// TestTimerResetFromOwnCallback is the retransmission-timer pattern.
func TestTimerResetFromOwnCallback(t *testing.T) {
	c := NewClock(t0)
	var tm *Timer
	var at []time.Duration
	tm = c.NewTimer(time.Second, func() {
		at = append(at, c.Elapsed())
		if len(at) < 4 {
			tm.Reset(time.Duration(len(at)) * time.Second)
		}
	})
	c.Run()
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 7 * time.Second}
	if !slices.Equal(at, want) {
		t.Fatalf("fired at %v, want %v", at, want)
	}
}

func TestTimerResetAllocs(t *testing.T) {
	c := NewClock(t0)
	tm := c.NewTimer(time.Second, func() {})
	others := make([]*Timer, 64)
	for i := range others {
		others[i] = c.NewTimer(time.Duration(i)*time.Millisecond, func() {})
	}
	allocs := testing.AllocsPerRun(1000, func() {
		tm.Reset(time.Millisecond)
		c.Step()
		others[0].Reset(2 * time.Millisecond)
	})
	if allocs != 0 {
		t.Fatalf("Reset + Step allocates %v times", allocs)
	}
}

func BenchmarkClockResetFire(b *testing.B) {
	c := NewClock(t0)
	// A realistic heap: a few hundred other pending timers.
	for i := range 256 {
		c.AfterFunc(time.Hour+time.Duration(i), func() {})
	}
	n := 0
	tm := c.NewTimer(time.Millisecond, func() { n++ })
	b.ReportAllocs()
	for b.Loop() {
		tm.Reset(time.Millisecond)
		c.Step()
	}
	if n == 0 {
		b.Fatal("timer never fired")
	}
}

func BenchmarkClockAfterFunc(b *testing.B) {
	c := NewClock(t0)
	f := func() {}
	b.ReportAllocs()
	for b.Loop() {
		c.AfterFunc(time.Millisecond, f)
		c.Step()
	}
}

func TestClockNilFunc(t *testing.T) {
	c := NewClock(t0)
	c.AfterFunc(time.Second, nil)
	if n := c.Run(); n != 1 || c.Elapsed() != time.Second {
		t.Fatalf("ran %d, elapsed %v", n, c.Elapsed())
	}
}

// TestClockRunUntilBeforeStart: a time before the clock's start runs
// nothing, rather than everything (a heartbeat would never stop).
func TestClockRunUntilBeforeStart(t *testing.T) {
	c := NewClock(t0)
	fired := 0
	var beat func()
	beat = func() {
		fired++
		if fired < 1000 {
			c.AfterFunc(time.Second, beat)
		}
	}
	c.AfterFunc(time.Second, beat)
	c.RunUntil(t0.Add(-time.Second))
	c.RunFor(-time.Minute)
	if fired != 0 || !c.Now().Equal(t0) {
		t.Fatalf("fired %d, now %v: ran callbacks due after the limit", fired, c.Now().Sub(t0))
	}
}
