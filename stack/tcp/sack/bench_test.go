package sack

import (
	"testing"

	"stacklab/stack/tcp/seqnum"
)

// BenchmarkScoreboardACK measures one ACK with three SACK blocks during
// recovery: Update, SetPipe and one NextSeg, with a dozen holes.
func BenchmarkScoreboardACK(b *testing.B) {
	const mss = 1460
	var sb Scoreboard
	una := seqnum.Value(0xfffff000)
	sndNxt := una.Add(100 * mss)
	sb.Init(una, mss)
	for i := 1; i < 24; i += 2 {
		s := una.Add(seqnum.Size(i * mss))
		sb.Update(una, sndNxt, []Block{{s, s.Add(mss)}})
	}
	sb.StartRecovery(sndNxt)
	blocks := []Block{{una.Add(30 * mss), una.Add(31 * mss)}, {una.Add(21 * mss), una.Add(22 * mss)}, {una.Add(19 * mss), una.Add(20 * mss)}}
	b.ReportAllocs()
	for b.Loop() {
		sb.Update(una, sndNxt, blocks)
		_ = sb.Pipe(sndNxt)
		if seg, ok := sb.NextSeg(sndNxt, false); ok {
			_ = seg
		}
	}
}

// BenchmarkRecorder measures the receiver's work for one out-of-order
// segment and the ACK that reports it.
func BenchmarkRecorder(b *testing.B) {
	var r Recorder
	var buf [MaxOptionBlocks]Block
	seq := seqnum.Value(0)
	b.ReportAllocs()
	for b.Loop() {
		r.Received(seq+2000, seq+3000, seq)
		_ = r.AppendBlocks(buf[:0], 3)
		seq += 1000
		r.Advance(seq)
	}
}
