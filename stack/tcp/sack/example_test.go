package sack_test

import (
	"fmt"

	"stacklab/stack/tcp/sack"
	"stacklab/stack/tcp/seqnum"
)

// A sender with ten 100-byte segments outstanding from sequence number
// 1000 loses the first and the third; the receiver SACKs the rest.
func ExampleScoreboard() {
	var sb sack.Scoreboard
	sb.Init(1000, 100)
	sndNxt := seqnum.Value(2000)
	newly := sb.Update(1000, sndNxt, []sack.Block{{Start: 1300, End: 2000}, {Start: 1100, End: 1200}})
	fmt.Println("newly SACKed", newly, "lost 1000:", sb.IsLost(1000), "lost 1200:", sb.IsLost(1200))
	fmt.Println("pipe", sb.Pipe(sndNxt))

	first := sb.StartRecovery(sndNxt)
	fmt.Println("retransmit", first.Start, first.End, first.Rule)
	for {
		seg, ok := sb.NextSeg(sndNxt, false)
		if !ok {
			break
		}
		fmt.Println("retransmit", seg.Start, seg.End, seg.Rule)
		sb.Sent(seg)
	}
	fmt.Println("pipe", sb.Pipe(sndNxt))
	// Output:
	// newly SACKed 800 lost 1000: true lost 1200: true
	// pipe 0
	// retransmit 1000 1100 first
	// retransmit 1200 1300 lost
	// pipe 200
}

// The receiver holds out-of-order data and reports the most recent block
// first (RFC 2018 §4).
func ExampleRecorder() {
	var r sack.Recorder
	rcvNxt := seqnum.Value(5000)
	r.Received(6000, 6500, rcvNxt)
	r.Received(7000, 7500, rcvNxt)
	r.Received(6500, 7000, rcvNxt) // fills the gap between them
	r.Received(8000, 8500, rcvNxt)
	var buf [sack.MaxOptionBlocks]sack.Block
	fmt.Println(r.AppendBlocks(buf[:0], 3))
	rcvNxt = 7500 // the missing 5000..6000 arrived: RCV.NXT jumps
	r.Advance(rcvNxt)
	fmt.Println(r.AppendBlocks(buf[:0], 3))
	// Output:
	// [{8000 8500} {6000 7500}]
	// [{8000 8500}]
}
