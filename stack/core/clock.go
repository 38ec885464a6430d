package core

import "time"

// Clock is a stack's only source of time. The simulator supplies a
// virtual clock driven by an event heap; real-time users supply
// stack.RealClock. Timer callbacks are invoked without the stack's lock held;
// the stack wraps them to take it.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc arranges for f to be called once, d from now. Callbacks
	// due at the same instant run in the order they were scheduled.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending callback created by [Clock.AfterFunc].
type Timer interface {
	// Stop prevents the callback from running. It reports whether the
	// timer was pending.
	Stop() bool
	// Reset reschedules the callback to run d from now, whether or not it
	// already ran. It reports whether the timer was pending.
	Reset(d time.Duration) bool
}
