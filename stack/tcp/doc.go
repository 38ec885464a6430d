// Package tcp is stacklab's TCP engine (RFC 9293): a sans-IO state machine
// that sits beneath the socket API of package stack and above IPv4 and
// IPv6.
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
//   - proto.go: the layer: demultiplexing, RST for no socket, ISN, ports
//     (RFC 6056's keyed hash and counter), TIME_WAIT reuse on connect.
//   - listener.go: LISTEN, the bounded SYN and accept queues;
//     syncookie.go: SYN cookies while a SYN queue is full.
//   - conn.go: the socket-side API of a connection.
//   - input.go: segment arrival (RFC 9293 §3.10.7), ACK processing,
//     reassembly; output.go: what to send: windows, Nagle, SWS
//     avoidance, options; header.go: segments parsed and built.
//   - timers.go: retransmission, persist, delayed ACK, keepalive,
//     FIN_WAIT_2 and TIME_WAIT timers; rttm.go: RTT samples and the RTO.
//   - rack.go, recovery.go, sackglue.go: loss recovery (RACK-TLP, PRR,
//     RFC 6675 SACK recovery, NewReno) and its undo from D-SACK and
//     timestamps; ecn.go: ECN; cwndlimit.go, hystart.go: when the window
//     may grow; autotune.go: buffer autotuning and window growth as
//     Linux's; gso.go, tsq.go: Linux's segment sizing and its transmit
//     queue limit.
//   - timewait.go, frozencc.go: TIME_WAIT and orphans in FIN_WAIT_2
//     packed as Linux's timewait sockets; deathrow.go: the bounds on
//     connections no descriptor holds (tcp_max_tw_buckets,
//     tcp_max_orphans).
//   - profile.go: the linux and rfc profiles; sockopts.go: per-socket
//     options; pmtu.go: ICMP errors and path MTU; counters.go,
//     tcpistats.go, series.go, why.go: what the trace, nstat and
//     tcp_info show.
//
// # Implemented
//
// All eleven states, including simultaneous open and close and half-close,
// over IPv4 and IPv6; the RST rules of RFC 9293 with RFC 5961 challenge
// ACKs (rate-limited as Linux's) and ACK acceptance checks; TIME_WAIT for
// 2·MSL answering segments as Linux's tcp_timewait_state_process, packed
// while no descriptor holds it (timewait.go), as is an orphan in
// FIN_WAIT_2, Linux's timewait socket in its FIN_WAIT2 substate; SYNs
// that may recycle a TIME_WAIT (RFC 6191) and connects that may take its
// 4-tuple over as Linux's tcp_twsk_unique (at once from a bound port, in
// the ephemeral search as tcp_tw_reuse allows; timestamps only), the
// successor starting at the old SND.NXT + 65537; a listen backlog with
// bounded SYN and accept queues and SYN cookies; ISNs per RFC 6528 and
// sequence arithmetic modulo 2³²; MSS (RFC 6691), window scale and
// timestamps with PAWS (RFC 7323), the timestamp offset a keyed hash of
// the address pair (as Linux), SACK (RFC 2018) and D-SACK (RFC 2883)
// negotiated per connection; RTO per RFC 6298 with Karn's rule, backoff
// and retry limits ending in ETIMEDOUT; RACK-TLP (RFC 8985) with PRR
// (RFC 6937) by default, SACK recovery (RFC 6675) and NewReno (RFC 5681,
// RFC 6582) as settings, limited transmit (RFC 3042), spurious
// retransmissions undone (RFC 3708, Eifel); ECN (RFC 3168); congestion
// control from [stacklab/stack/tcp/cc] (CUBIC with Linux's HyStart, or
// HyStart++, RFC 9406; NewReno);
// delayed ACKs, quick ACKs and Nagle as Linux's, switchable; SWS
// avoidance on both sides; buffer autotuning; zero-window probes with
// backoff; keepalive; path MTU from ICMP errors; out-of-order
// reassembly within the receive window (up to 4096 ranges); urgent data
// as Linux's (urgent.go). Where Linux and an RFC differ, the linux
// profile (the default) does what Linux does (profile.go).
//
// # Not implemented
//
// TCP Fast Open, AccECN, MPTCP, TCP-AO and MD5 signatures. Without
// timestamps RTT samples come from timing one segment per round trip;
// with them, from every ACK that advances SND.UNA (RFC 7323 §4, rttm.go).
//
// # Performance
//
// A bulk transfer allocates nothing per segment: segments are built in one
// scratch buffer per Proto, send and receive data live in ring buffers
// taken from a per-Proto pool when data arrives and returned when they
// empty, and each connection creates its timers once and then re-arms
// them. An idle established connection holds no buffers (its Conn is
// about 1.3 KB). See BenchmarkBulk and BenchmarkConnSetup.
//
// # Tests
//
// The tests join two Protos through a fake [Net] with a virtual clock and
// a programmable wire (drop, duplicate, delay, corrupt), and inject
// hand-built segments into a single Proto to check what it answers. The
// property test moves data both ways over random impairments for many
// seeds; set the number with -tcp.seeds.
package tcp
