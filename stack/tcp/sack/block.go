package sack

import "stacklab/stack/tcp/seqnum"

// Block is a range of sequence space [Start, End), the form of a SACK
// option block (RFC 2018 §3: the left edge and the sequence number just
// past the right edge). The zero Block is empty.
type Block struct {
	Start, End seqnum.Value
}

// Len returns the number of octets in b, 0 if b is empty or inverted.
func (b Block) Len() int {
	if !b.Start.LessThan(b.End) {
		return 0
	}
	return int(b.Start.Size(b.End))
}

// Contains reports whether seq lies in b.
func (b Block) Contains(seq seqnum.Value) bool { return seq.InRange(b.Start, b.End) }
