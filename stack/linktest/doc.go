// Package linktest provides a channel-backed link for tests and
// benchmarks that run stacks in real time: [Pipe] returns two connected
// stack.Link ends, each direction driven by one goroutine reading a
// channel, and [Connect] joins two stacks with it in one call.
//
// It is a test double, like wireguard-go's tuntest: the simulator's links
// (package sim) are what scenarios use. Every goroutine the package
// starts stops when the pipe is closed, and Close waits for them, so
// tests can check that none leak.
package linktest
