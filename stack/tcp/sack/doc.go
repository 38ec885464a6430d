// Package sack is selective acknowledgment for the TCP engine: the
// sender's scoreboard and loss recovery rules of RFC 6675 ([Scoreboard]),
// and the receiver's choice of SACK blocks for outgoing ACKs, most recent
// first, per RFC 2018 §4 ([Recorder]).
//
// Both keep their state in small fixed arrays: no method allocates. All
// sequence numbers are [seqnum.Value] and every comparison is modulo 2³²,
// so the scoreboard works across wraparound as long as the outstanding
// data stays below 2³¹ bytes (RFC 7323 §2.3 guarantees it).
package sack
