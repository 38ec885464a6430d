// Package tcp is stacklab's TCP engine (RFC 9293): a sans-IO state machine
// that sits beneath the socket API of package stack and above IPv4.
//
// The engine never starts goroutines and never reads the wall clock. All
// I/O, time and randomness come through the [Net] interface that the stack
// implements; an inbound segment is a call to [Proto.Input] and a timer
// firing is a callback the stack runs with its lock held. The same engine
// therefore runs in virtual time (the simulator) and in real time (TUN).
//
// One [Proto] is the TCP layer of one stack. It owns the connection table,
// the listeners, the ISN secret (RFC 6528) and the [Counters].
// [Proto.Connect] and [Proto.Listen] create a [Conn] and a [Listener];
// both are non-blocking and report readiness through a notify callback
// and [Conn.Poll], like epoll. Errors are plain syscall.Errno values
// (EAGAIN, ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, EADDRINUSE…).
//
// # Files
//
//   - proto.go: the layer: demultiplexing, RST for no socket, ISN, ports.
//   - listener.go: LISTEN, the bounded SYN and accept queues.
//   - conn.go: the socket-side API of a connection.
//   - input.go: segment arrival (RFC 9293 §3.10.7), ACK processing, loss
//     detection, reassembly.
//   - output.go: what to send: windows, Nagle, SWS avoidance, options.
//   - timers.go: retransmission, persist, delayed ACK, keepalive,
//     FIN_WAIT_2 and TIME_WAIT timers.
//   - sackglue.go: SACK recovery through [stacklab/stack/tcp/sack].
//   - header.go: segment parsing and building with [stacklab/stack/wire].
//
// # Implemented
//
// All eleven states, including simultaneous open and close and half-close;
// the RST rules of RFC 9293 with RFC 5961 challenge ACKs (rate-limited to
// 1000 a second per stack) and ACK acceptance checks; TIME_WAIT for 2·MSL
// answering segments as Linux's tcp_timewait_state_process, packed while
// no descriptor holds it (timewait.go), with SYNs that may recycle it
// (RFC 6191) and connects that may take its 4-tuple over as Linux's
// tcp_twsk_unique (at once from a bound port, in the ephemeral search
// as tcp_tw_reuse allows; timestamps only), the successor starting at
// the old SND.NXT + 65537; a listen backlog with bounded SYN and accept queues; ISNs
// per RFC 6528 and sequence arithmetic modulo 2³²; MSS (RFC 6691), window
// scale and timestamps with PAWS (RFC 7323), the timestamp offset a keyed
// hash of the address pair (as Linux), SACK (RFC 2018) negotiated
// per connection; RTO per RFC 6298 with Karn's rule, backoff and retry
// limits ending in ETIMEDOUT; fast retransmit and NewReno fast recovery
// (RFC 5681, RFC 6582), SACK recovery (RFC 6675), limited transmit
// (RFC 3042), the SACK scoreboard kept across an RTO (RFC 6675 §5.1)
// unless the receiver reneges; congestion control from
// [stacklab/stack/tcp/cc] (NewReno, CUBIC); delayed ACKs (an ACK as soon
// as more than one full segment is unacknowledged, a timer otherwise) and
// Nagle with Minshall's rule, both switchable; SWS avoidance on both
// sides; zero-window probes with backoff; keepalive; out-of-order
// reassembly within the receive window (up to 4096 ranges).
//
// # Not implemented
//
// Urgent data (URG is ignored), ECN, RACK-TLP, PRR, D-SACK, TCP Fast Open,
// path MTU discovery beyond the interface MTU, IPv6. Without timestamps
// RTT samples come from timing one segment per round trip; with them,
// from every ACK that advances SND.UNA (RFC 7323 §4, rttm.go).
//
// # Performance
//
// A bulk transfer allocates nothing per segment: segments are built in one
// scratch buffer per Proto, send and receive data live in ring buffers
// taken from a per-Proto pool when data arrives and returned when they
// empty, and each connection creates its timers once and then re-arms
// them. An idle established connection holds no buffers (about 1.3 KB in
// all). See BenchmarkBulk and BenchmarkConnSetup.
//
// # Tests
//
// The tests join two Protos through a fake [Net] with a virtual clock and
// a programmable wire (drop, duplicate, delay, corrupt), and inject
// hand-built segments into a single Proto to check what it answers. The
// property test moves data both ways over random impairments for many
// seeds; set the number with -tcp.seeds.
package tcp
