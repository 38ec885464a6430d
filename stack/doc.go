// Package stack is stacklab's userspace TCP/UDP/IP stack, IPv4 and IPv6.
//
// A [Stack] owns network interfaces ([NIC]), a routing table, and the
// sockets of one host. It is event-driven and has no goroutines of its own:
// an inbound frame ([NIC.Deliver]) and a timer firing are plain function
// calls, all time comes from the injected [Clock], and all randomness
// (initial sequence numbers, ephemeral ports) from the injected seeded
// source. The same code therefore runs in virtual time under the simulator
// (deterministic, as fast as the CPU allows) and in real time on a TUN
// device or inside a Go program.
//
// Every entry point (frame delivery, timer, socket call) takes the stack's
// single lock. Callbacks the stack makes outward ([Observer], [Tap],
// readiness callbacks) run with that lock held and must not call back into
// the stack; they record, signal a channel, or schedule work on the clock.
// A [Link] must likewise never deliver a frame synchronously back into the
// sending stack from inside [Link.Send].
package stack
