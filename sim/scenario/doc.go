// Package scenario reads stacklab scenario files and runs them. The file
// format is described in FORMAT.md beside this file.
//
// A scenario is a YAML file naming hosts, the links between them with
// their impairments, a small program (or built-in apps) per host, timeline
// events, targeted faults and expectations. [Load] parses it, keeping the
// line and column of every value, so that each error reads
// `file:line:col: field.path: message`, with a "did you mean" for a
// misspelt key or name. [Scenario.Run] builds the simulated network, runs
// every program in virtual time, records captures and the trace, and
// checks the expectations.
//
// Programs are state machines, not goroutines: each has a program counter
// and at most one pending blocking call. A blocking call (accept, connect,
// recv, send with a full buffer, poll) puts the descriptor in non-blocking
// mode inside the stack and resumes when [stack.Stack.Notify] reports a
// change of readiness; the resumption is scheduled on the virtual clock,
// never run from inside the notification. A program that makes a socket
// non-blocking itself sees EAGAIN and EINPROGRESS as a C program would.
// Each call is reported to the trace through [stack.Stack.Emit], so the
// trace shows `connect(3, 10.0.0.2:80) → blocks` and later
// `connect(3) → 0`.
package scenario
