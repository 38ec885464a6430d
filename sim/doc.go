// Package sim is stacklab's simulated network: a virtual [Clock] driven by
// an event heap, a [Network] of hosts and routers (each a *stack.Stack)
// joined by point-to-point [Link]s, the impairment engine ([Pipe]) those
// links are made of — delay, jitter, rate with a bounded queue, random
// and bursty (Gilbert–Elliott) loss, duplication, reordering, corruption,
// MTU, link down, and targeted faults through a [Filter] — and
// middleboxes that sit on a link: a stateful [Firewall] and a [NAT], both
// with idle timeouts.
//
// Nothing in this package starts a goroutine. In virtual time, a run is a
// sequence of plain function calls made by [Clock.Step] and its helpers, so
// the same seed gives the same run, packet for packet: every host and
// every link direction draws from its own random source, derived from the
// seed and its name. A [Pipe] works on any core.Clock, including
// stack.RealClock, so the same impairments can sit between a TUN device
// and a stack in real time.
//
// Every frame a link drops, corrupts, duplicates or holds back is counted
// ([Counters]) and reported to the network's Observer as a core.Event
// whose Host is the link's name ("client—server"), From and To the
// sending and receiving hosts, Name the counter and Detail the reason
// ("link: dropped, random loss").
//
// Parsers for the quantities scenario files use ([ParseRate],
// [ParseDuration], [ParseSize], [ParseProbability]) live here too.
package sim
