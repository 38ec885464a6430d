// Package ipv4 holds the sans-IO parts of IPv4 that keep state or loop:
// fragment reassembly ([Reassembler], RFC 791 §3.2 and RFC 815) and
// fragmentation ([Fragment], RFC 791 §3.2 and §2.3 "Fragmentation"),
// and the address rules applied before a datagram is accepted or answered
// with an ICMP error ([IsMartianSource], [MayAnswerWithError],
// RFC 1122 §3.2.1.3 and §3.2.2, RFC 1812 §4.3.2.7), with a token bucket
// for the errors themselves ([RateLimiter], RFC 1812 §4.3.2.8).
//
// Nothing here reads a clock, starts a timer or sends a packet: the
// caller passes the current time, asks [Reassembler.NextDeadline] when to
// call [Reassembler.Expire], and sends what it is handed. Nothing is safe
// for concurrent use; the stack calls it with its lock held.
//
// Neither function allocates for a packet that is not fragmented.
package ipv4
