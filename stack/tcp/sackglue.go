package tcp

import (
	"stacklab/stack/tcp/sack"
	"stacklab/stack/tcp/seqnum"
)

// SACK-based loss recovery (RFC 6675) through the [sack.Scoreboard].
// The scoreboard is allocated on the first SACK block a connection
// receives, so connections that never see loss do not carry it.

// sackRecovery reports whether loss recovery uses the SACK scoreboard:
// SACK was negotiated and the connection's recovery mode uses it.
func (c *Conn) sackRecovery() bool { return c.sackOK && c.recMode == recoverySACK }

// sackUpdate records the cumulative ACK and SACK blocks of an ACK and
// returns the number of octets it newly SACKed. A D-SACK block
// (RFC 2883) goes to onDSACK; the others mark the retransmission queue
// (rack.go) as well as the scoreboard.
func (c *Conn) sackUpdate(s *segment) int {
	if !c.sackOK {
		return 0
	}
	first := 0
	if isDSACK(s) {
		first = 1
		c.onDSACK(seqnum.Value(s.opts.SACK[0].Left), seqnum.Value(s.opts.SACK[0].Right), c.sndUna)
	}
	if c.ls != nil {
		for i := first; i < s.opts.NSACK; i++ {
			l, r := seqnum.Value(s.opts.SACK[i].Left), seqnum.Value(s.opts.SACK[i].Right)
			if c.sndUna.LessThan(r) && r.LessThanEq(c.sndMax) && l.LessThan(r) {
				c.txSACK(s, seqnum.Max(l, c.sndUna), r)
			}
		}
	}
	if c.sb == nil {
		if s.opts.NSACK == 0 {
			return 0
		}
		c.sb = new(sack.Scoreboard)
		c.sb.Init(c.sndUna, c.sendMSS())
	}
	var blocks [maxSACKIn]sack.Block
	for i := 0; i < s.opts.NSACK; i++ {
		blocks[i] = sack.Block{Start: seqnum.Value(s.opts.SACK[i].Left), End: seqnum.Value(s.opts.SACK[i].Right)}
	}
	added := c.sb.Update(s.ack, c.sndMax, blocks[:s.opts.NSACK])
	if una := c.sb.Una(); c.sb.IsSACKed(una) {
		// The ACK stops at data the receiver SACKed before: it has
		// reneged (RFC 2018 §8), so its SACK information is not to be
		// trusted. Like Linux's tcp_check_sack_reneging.
		c.sb.Reset(una)
		return 0
	}
	return added
}

// sackPartialAck handles a partial ACK in SACK recovery that the
// scoreboard cannot explain: nothing is SACKed and the segment at the
// new SND.UNA was not retransmitted in this recovery. A receiver that
// negotiated SACK may still send no blocks (many stop after their FIN);
// NextSeg would then find no hole, so the segment at SND.UNA is resent
// as RFC 6582 §3.2 step 3 does, instead of waiting for the RTO. Only
// if it must be lost, though: a segment sent after it was delivered
// (RACK's test, rack.go), and a round trip has passed; otherwise the
// ACK is that of a late segment and SND.UNA is merely in flight.
func (c *Conn) sackPartialAck() {
	if c.sb == nil || c.sb.SACKedBytes() > 0 || c.sndUna.LessThan(c.sb.HighRxt()) {
		return
	}
	if !c.rackSaysLost(c.sndUna) {
		return
	}
	n := min(c.sendMSS(), int(c.sndUna.Size(c.sndMax)))
	c.retransmitAt(c.sndUna, n, whyPartialAck)
	c.sb.Sent(sack.Segment{Start: c.sndUna, End: c.sndUna.Add(uint32Size(n)), Rule: sack.RuleLost})
}

// sackLost reports whether the scoreboard deems SND.UNA lost
// (RFC 6675 §5: the loss trigger besides three duplicate ACKs).
func (c *Conn) sackLost() bool {
	return c.sb != nil && c.sb.IsLost(c.sndUna)
}

// sackEnter starts SACK recovery (RFC 6675 §5 step 4): retransmit the
// first segment, then whatever the pipe allows.
func (c *Conn) sackEnter(why string) {
	if c.sb == nil {
		c.sb = new(sack.Scoreboard)
		c.sb.Init(c.sndUna, c.sendMSS())
	}
	first := c.sb.StartRecovery(c.sndMax)
	c.retransmitAt(first.Start, first.Len(), why)
	c.sackRetransmit()
}

// sackRetransmit sends while pipe < cwnd, choosing each segment with
// NextSeg (RFC 6675 §5 step C).
func (c *Conn) sackRetransmit() {
	if c.sb == nil {
		return
	}
	mss := c.sendMSS()
	pipe := c.sb.Pipe(c.sndMax)
	cwnd := c.cc.Cwnd()
	for i := 0; cwnd-pipe >= mss && i < 64; i++ {
		newData := c.hasUnsent() && int(c.sndUna.Size(c.sndMax))+mss <= int(c.sndWnd)
		seg, ok := c.sb.NextSeg(c.sndMax, newData)
		if !ok {
			break
		}
		if seg.Rule == sack.RuleNew {
			before := c.sndMax
			if !c.sendSegment(whySend, false) {
				break
			}
			pipe += int(before.Size(c.sndMax))
			continue
		}
		if c.p.txFull(c) {
			break // wait for room, as sendSegment does (tsq.go): TxReady resumes here
		}
		n, ok := c.retransmitAt(seg.Start, min(seg.Len(), mss), whySACKRetransmit)
		if !ok {
			break // beyond the peer's window
		}
		c.sb.Sent(sack.Segment{Start: seg.Start, End: seg.Start.Add(uint32Size(n)), Rule: seg.Rule})
		pipe += n
	}
}

// sackTimeout ends SACK recovery after an RTO but keeps what the
// receiver SACKed (RFC 6675 §5.1), so that the go-back-N retransmission
// that follows skips it (see sackSkip).
func (c *Conn) sackTimeout() {
	if c.sb != nil {
		c.sb.Timeout(c.sndUna)
	}
}

// sackSkip moves SND.NXT past data the receiver has SACKed while the
// sender goes back after an RTO, and returns how many bytes from there
// may be resent before the next SACKed range, or -1 for no limit.
func (c *Conn) sackSkip() int {
	if c.sb == nil || !c.sndNxt.LessThan(c.sndMax) {
		return -1
	}
	for _, b := range c.sb.Blocks() {
		if c.sndNxt.LessThan(b.Start) {
			return int(c.sndNxt.Size(b.Start))
		}
		if c.sndNxt.LessThan(b.End) {
			c.sndNxt = b.End
		}
	}
	return -1
}
