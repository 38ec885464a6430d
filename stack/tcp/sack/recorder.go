package sack

import "stacklab/stack/tcp/seqnum"

// MaxOptionBlocks is the most SACK blocks a TCP header can carry: four
// without timestamps, three with them (RFC 2018 §3).
const MaxOptionBlocks = 4

// RecorderBlocks is how many out-of-order ranges a [Recorder] remembers.
// Beyond it the least recently received range is forgotten (it is then
// not reported, which RFC 2018 allows: SACK is advisory).
const RecorderBlocks = 8

// Recorder is the receiver side of SACK: it remembers the out-of-order
// ranges the receiver holds above RCV.NXT, most recently received first,
// and produces the blocks of an outgoing ACK (RFC 2018 §4): the first
// block holds the segment that triggered the ACK, the rest are the most
// recently reported other ranges.
//
// The engine calls Received for each out-of-order segment it queued,
// Advance when RCV.NXT moves, and AppendBlocks when it builds an ACK. It
// must call Received only for data it keeps: a receiver that drops queued
// data must call Reset (reneging, RFC 2018 §8).
//
// The zero value is empty and ready to use. Methods never allocate.
type Recorder struct {
	n int
	b [RecorderBlocks]Block // b[0] is the most recent
}

// Reset forgets every range.
func (r *Recorder) Reset() { r.n = 0 }

// Len returns the number of ranges remembered.
func (r *Recorder) Len() int { return r.n }

// Received records that the octets [start, end) arrived out of order and
// were queued; rcvNxt is RCV.NXT. The range is merged with every
// remembered range it overlaps or touches, and the result becomes the
// first block.
func (r *Recorder) Received(start, end, rcvNxt seqnum.Value) {
	if start.LessThan(rcvNxt) {
		start = rcvNxt
	}
	if !start.LessThan(end) {
		return
	}
	m := Block{start, end}
	// Absorb every overlapping or adjacent block, keeping the others in
	// their order of recency.
	k := 0
	for i := 0; i < r.n; i++ {
		b := r.b[i]
		if b.End.LessThan(m.Start) || m.End.LessThan(b.Start) {
			r.b[k] = b
			k++
			continue
		}
		m.Start = seqnum.Min(m.Start, b.Start)
		m.End = seqnum.Max(m.End, b.End)
	}
	if k == RecorderBlocks {
		k-- // forget the least recent
	}
	copy(r.b[1:k+1], r.b[:k])
	r.b[0] = m
	r.n = k + 1
}

// Advance records that RCV.NXT moved to rcvNxt: ranges below it are
// dropped and a range it reaches into is trimmed.
func (r *Recorder) Advance(rcvNxt seqnum.Value) {
	k := 0
	for i := 0; i < r.n; i++ {
		b := r.b[i]
		if b.End.LessThanEq(rcvNxt) {
			continue
		}
		if b.Start.LessThan(rcvNxt) {
			b.Start = rcvNxt
		}
		r.b[k] = b
		k++
	}
	r.n = k
}

// AppendBlocks appends at most max blocks (max ≤ [MaxOptionBlocks] is
// the caller's business: 4 without timestamps, 3 with) to dst, the most
// recently received first, and returns the extended slice. Pass a slice
// with capacity to avoid allocation, e.g. arr[:0].
func (r *Recorder) AppendBlocks(dst []Block, max int) []Block {
	for i := 0; i < r.n && i < max; i++ {
		dst = append(dst, r.b[i])
	}
	return dst
}
