// Package seqnum is TCP sequence-number arithmetic modulo 2³²
// (RFC 9293 §3.4): comparisons that stay correct across wraparound.
//
// A [Value] is a sequence number and a [Size] a distance between two;
// v.LessThan(w) holds when v comes before w within half the number
// space, so 0xffffff00 comes before 0x10.
package seqnum
