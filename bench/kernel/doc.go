// Package kernel holds the peer benchmarks that stacklab is compared
// against when gVisor's netstack cannot be had: the Linux kernel's own
// TCP over the loopback interface, driven through Go's net package.
//
// The workloads mirror stacklab's benchmarks in stacklab/internal/perf:
// bulk transfer over one connection (MSS clamped to 1460 bytes for the
// "MTU 1500" case, the loopback MTU otherwise), connection setup (dial,
// accept, close) per second, and memory per idle established endpoint.
//
// The comparison is not like for like, and the figures say so: the kernel
// moves segments with GSO over loopback (one 64 KiB super-packet is one
// trip through the stack whatever the MSS), and each byte crosses the
// user/kernel boundary twice. Memory per endpoint counts the kernel's
// socket slabs (TCP, sock_inode_cache, eventpoll) plus the Go heap.
//
// Run with:
//
//	go test -run '^$' -bench . -benchtime 1s ./kernel
package kernel
