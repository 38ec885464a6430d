package ipv4

import (
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	r := NewRateLimiter(10, 3) // one token every 100 ms, 3 at once
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, true}, {0, true}, {0, false}, // the burst, then empty
		{50 * time.Millisecond, false},                                               // half a token
		{100 * time.Millisecond, true},                                               // one earned
		{100 * time.Millisecond, false},                                              //
		{250 * time.Millisecond, true},                                               // one more (and half)
		{300 * time.Millisecond, true},                                               // the half completed
		{300 * time.Millisecond, false},                                              //
		{10 * time.Second, true}, {10 * time.Second, true}, {10 * time.Second, true}, // refilled to the burst, no more
		{10 * time.Second, false},
		{5 * time.Second, false}, // time going back earns nothing
	}
	for i, s := range steps {
		if got := r.Allow(t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d at %v: Allow = %v, want %v", i, s.at, got, s.want)
		}
	}
	d := NewRateLimiter(0, 0)
	n := 0
	for d.Allow(t0) {
		n++
	}
	if n != 50 || d.per != time.Millisecond {
		t.Fatalf("defaults: burst %d per %v", n, d.per)
	}
	if a := testing.AllocsPerRun(100, func() { d.Allow(t0.Add(time.Second)) }); a != 0 {
		t.Fatalf("%v allocations", a)
	}
}
