// Package gvisor holds the benchmarks of gVisor's netstack that stacklab's
// are compared with: two gVisor stacks joined by channel link endpoints
// (a goroutine per direction copying each packet across, the shape of
// stacklab's stack/linktest pipe), driven through gonet's blocking
// net.Conn. The benchmark names match stacklab's real-time ones in
// internal/perf (BulkPipe ↔ Bulk, ConnSetupDataPipe ↔ ConnSetupData,
// RoundTripPipe ↔ RoundTrip, BulkParallelPipe ↔ BulkParallel, IdleMemory).
// It lives in the bench module so the main module never depends on gVisor.
package gvisor
