// Package perf holds stacklab's performance benchmarks: the workloads of
// the performance table in DESIGN.md, measured on stacklab's own stack so
// that bench/run.sh can print them beside the peer measured in the same
// run (see stacklab/bench).
//
// The benchmarks are:
//
//   - BenchmarkBulkSim: bulk TCP over one connection between two stacks
//     joined by an in-memory sim link with no delay, in virtual time, at
//     MTU 1500 and 65535, capture off and on (pcapng files and a text
//     trace written under b.TempDir). Reports MB/s of wall time,
//     allocations per data segment ("allocs/seg") and per MB.
//   - BenchmarkBulkPipe: the same in real time, the stacks on the wall
//     clock joined by a stack/linktest pipe, with blocking net.Conn calls.
//   - BenchmarkConnSetup: dial, accept and close, one connection at a time,
//     in virtual time; each connection is run to its end, TIME_WAIT
//     included. Reports "conns/s" of wall time. BenchmarkConnSetupPipe does
//     the same in real time with DialTCP and Accept, and counts dials
//     slower than 100 ms ("slow-dials").
//   - BenchmarkCaptureOverhead: simulated networks without capture and
//     with each capture setup take turns moving 2 MiB (each turn ending
//     with Recorder.Flush); reports the CPU time each setup adds, and
//     the wall time ("wall-" units): pcapng per vantage point and a text
//     trace ("overhead-%"), pcapng alone ("pcapng-overhead-%"), pcapng
//     and a JSON trace ("json-overhead-%"), and the first two written on
//     the stacks' goroutine ("sync-").
//   - BenchmarkIdleMemory: the heap growth per endpoint with 10 000 idle
//     established connections ("B/endpoint"). Run it with -benchtime 1x.
//   - BenchmarkSimRate: 10 simulated seconds of bulk TCP over a 1 Gbit/s
//     link with 10 ms of delay each way; reports the simulated packets per
//     wall second ("pkts/s"). Run it with -benchtime 1x.
//   - BenchmarkFillPipe: 10 simulated seconds of bulk TCP over 1 Gbit/s
//     with a 20 ms round trip; reports the goodput after slow start
//     ("Mbit/s") and the link's use ("link-%") for the linux profile
//     (buffers autotuned) and the rfc profile (fixed 256 KiB buffers).
//     Run it with -benchtime 1x.
//
// The package has no code outside its tests; it exists so that these
// benchmarks, which need the stack, the simulator and the capture at once,
// have a home that imports them all without any of them importing it.
package perf
