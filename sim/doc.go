// Package sim is stacklab's simulated network: a virtual [Clock] driven by
// an event heap, a [Network] of hosts (each a *stack.Stack) joined by
// point-to-point [Link]s, and the impairment engine ([Pipe]) those links
// are made of: delay, jitter, rate with a bounded queue, random and bursty
// loss, duplication, reordering, corruption and MTU.
//
// Nothing in this package starts a goroutine. In virtual time, a run is a
// sequence of plain function calls made by [Clock.Step] and its helpers, so
// the same seed gives the same run, packet for packet. A [Pipe] works on
// any core.Clock, including stack.RealClock, so the same impairments can
// sit between a TUN device and a stack in real time.
package sim
