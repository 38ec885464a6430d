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
// the listeners, the ISN secret (RFC 6528) and the counters. [Proto.Connect]
// and [Proto.Listen] create a [Conn] and a [Listener]; both are
// non-blocking and report readiness through a notify callback, like epoll.
//
// Implemented: the full state machine including simultaneous open and
// close, RST rules and RFC 5961 challenge ACKs, TIME_WAIT, listen backlog
// with bounded SYN and accept queues, MSS, window scale, timestamps with
// PAWS (RFC 7323), SACK (RFC 2018, RFC 6675 recovery), RTO per RFC 6298,
// fast retransmit and NewReno fast recovery (RFC 5681, RFC 6582), limited
// transmit (RFC 3042), delayed ACK, Nagle, SWS avoidance, zero-window
// probing, keepalive and bounded out-of-order reassembly.
//
// Not implemented: urgent data (URG is ignored), ECN, RACK-TLP, IPv6.
package tcp
