package sack

import "stacklab/stack/tcp/seqnum"

// DupThresh is the number of duplicate ACKs, or of SACKed segments above
// a hole, that signals a loss (RFC 6675 §2, RFC 5681 §3.2).
const DupThresh = 3

// MaxRanges is how many disjoint SACKed ranges a [Scoreboard] keeps. Its
// table grows on demand up to this bound, which a large window with every
// other segment lost can reach. When a new range would exceed it, the
// highest range is forgotten: that only makes the sender retransmit more
// than needed, never less (RFC 2018 §8 lets a receiver renege anyway, so
// SACKed data is always kept until cumulatively acknowledged).
const MaxRanges = 4096

// Rule says which rule of NextSeg (RFC 6675 §4) chose a [Segment].
type Rule uint8

// The NextSeg rules (RFC 6675 §4) and the first retransmission of a
// recovery (RFC 6675 §5 step 4.3).
const (
	// RuleNone means no segment may be sent.
	RuleNone Rule = iota
	// RuleLost is rule (1): the lowest unSACKed segment above HighRxt
	// that IsLost.
	RuleLost
	// RuleNew is rule (2): new data starting at HighData.
	RuleNew
	// RuleUnSACKed is rule (3): the lowest unSACKed segment above HighRxt
	// below the highest SACKed octet, lost or not.
	RuleUnSACKed
	// RuleRescue is rule (4): the rescue retransmission, once per
	// recovery, of the segment holding the highest unSACKed octet.
	RuleRescue
	// RuleFirst is the retransmission of the segment at SND.UNA that
	// starts a recovery (RFC 6675 §5 step 4.3).
	RuleFirst
)

var ruleNames = [...]string{"none", "lost", "new data", "unSACKed", "rescue", "first"}

// String returns a short name for the rule, for traces.
func (r Rule) String() string {
	if int(r) < len(ruleNames) {
		return ruleNames[r]
	}
	return "rule?"
}

// Segment is what the sender should send next: the octets [Start, End)
// and the rule that chose them. For [RuleNew], End is Start + SMSS and the
// engine sends as much new data as it has and the windows allow.
type Segment struct {
	Start, End seqnum.Value
	Rule       Rule
}

// Len returns the segment's length in octets.
func (s Segment) Len() int { return Block{s.Start, s.End}.Len() }

// Scoreboard is the SACK sender state of one connection (RFC 6675): the
// SACKed ranges above SND.UNA, sorted, disjoint and never adjacent, and
// the recovery variables HighRxt, RescueRxt and RecoveryPoint. The
// engine keeps SND.UNA, SND.NXT (HighData), the duplicate ACK count and
// whether it is in recovery.
//
// Its zero value is ready to use with SND.UNA = 0 and SMSS = 536; call
// [Scoreboard.Init] when the connection is established. Methods allocate
// only when the SACKed ranges outnumber any seen before (the table grows
// by doubling, up to [MaxRanges]). A Scoreboard is not safe for
// concurrent use.
//
// The sender's loop, per RFC 6675 §5:
//
//	sb.Update(ack, sndNxt, blocks)             // every ACK; also advances SND.UNA
//	if !inRecovery && (dupAcks >= DupThresh || sb.IsLost(sndUna)) {
//		first := sb.StartRecovery(sndNxt)      // step 4: send first (if Len > 0), cwnd = ssthresh
//	}
//	pipe := sb.Pipe(sndNxt)                    // SetPipe
//	for cwnd-pipe >= mss {                     // step (C)
//		seg, ok := sb.NextSeg(sndNxt, haveNewData && rwndAllows)
//		if !ok { break }
//		... send (a prefix of) seg, then:
//		sb.Sent(sentSeg); pipe += sentSeg.Len()
//	}
//	on RTO: sb.Timeout(sndUna)                 // RFC 6675 §5.1: keep the SACKed ranges
//	on reneging: sb.Reset(sndUna)              // RFC 2018 §8
type Scoreboard struct {
	una      seqnum.Value // SND.UNA: HighACK + 1
	mss      int
	n        int
	r        []Block      // the table: r[:n] in use, grown on demand
	sacked   int          // octets in r
	lostEnd  seqnum.Value // unSACKed octets in [una, lostEnd) are lost
	highRxt  seqnum.Value // HighRxt + 1: end of the highest retransmission
	rescue   seqnum.Value // RescueRxt (inclusive, as in the RFC)
	rescueOK bool         // RescueRxt is defined
	recovery seqnum.Value // RecoveryPoint (inclusive)
}

// Init resets the scoreboard for a connection whose SND.UNA is una and
// whose SMSS is mss bytes.
func (s *Scoreboard) Init(una seqnum.Value, mss int) {
	*s = Scoreboard{r: s.r[:0]}
	s.SetMSS(mss)
	s.Reset(una)
}

// SetMSS sets SMSS, which IsLost and NextSeg use. Values below 1 mean 536.
func (s *Scoreboard) SetMSS(mss int) {
	if mss < 1 {
		mss = 536
	}
	s.mss = mss
	s.updateLost()
}

// MSS returns the SMSS in use.
func (s *Scoreboard) MSS() int {
	if s.mss < 1 {
		return 536
	}
	return s.mss
}

// Reset forgets every SACKed range and the recovery variables, and sets
// SND.UNA to una. The engine calls it when the receiver reneges on data
// it SACKed (RFC 2018 §8); after a plain retransmission timeout it calls
// [Scoreboard.Timeout], which keeps the ranges.
func (s *Scoreboard) Reset(una seqnum.Value) {
	s.una = una
	s.n = 0
	s.sacked = 0
	s.lostEnd = una
	s.highRxt = una
	s.rescue = 0
	s.rescueOK = false
	s.recovery = una - 1
}

// Timeout prepares the scoreboard for the go-back-N retransmission that
// follows a retransmission timeout, with SND.UNA = una: it keeps the
// SACKed ranges, so that only what the receiver has not SACKed is resent
// (RFC 6675 §5.1: Update goes on after the RTO and its information is
// used; Linux keeps its SACK tags too), and forgets the recovery
// variables (HighRxt, RescueRxt, RecoveryPoint), since the recovery, if
// any, is over. Call [Scoreboard.Reset] instead when the receiver is
// seen to renege (RFC 2018 §8).
func (s *Scoreboard) Timeout(una seqnum.Value) {
	if s.una.LessThan(una) {
		s.advance(una)
	}
	s.highRxt = s.una
	s.rescue = 0
	s.rescueOK = false
	s.recovery = s.una - 1
	s.updateLost()
}

// Una returns SND.UNA as the scoreboard knows it.
func (s *Scoreboard) Una() seqnum.Value { return s.una }

// Update processes one ACK: cumAck is its acknowledgment number and
// blocks its SACK blocks in option order; sndNxt is SND.NXT. It returns
// the number of octets newly SACKed by this ACK, which is how the engine
// tells a duplicate ACK in the sense of RFC 6675 §2 (it carries SACK
// information that SACKs new data).
//
// Blocks that are empty, wholly below cumAck (D-SACK, RFC 2883), or reach
// beyond sndNxt are ignored (RFC 2018 §3). A cumAck below the current
// SND.UNA does not move it back.
func (s *Scoreboard) Update(cumAck, sndNxt seqnum.Value, blocks []Block) int {
	if s.una.LessThan(cumAck) && cumAck.LessThanEq(sndNxt) {
		s.advance(cumAck)
	}
	added := 0
	for _, b := range blocks {
		if !b.Start.LessThan(b.End) || b.End.LessThanEq(s.una) || sndNxt.LessThan(b.End) {
			continue
		}
		if b.Start.LessThan(s.una) {
			b.Start = s.una
		}
		added += s.insert(b)
	}
	s.updateLost()
	return added
}

// advance moves SND.UNA to una, dropping what it covers.
func (s *Scoreboard) advance(una seqnum.Value) {
	s.una = una
	k := 0
	for k < s.n && s.r[k].End.LessThanEq(una) {
		s.sacked -= s.r[k].Len()
		k++
	}
	if k > 0 {
		copy(s.r[:], s.r[k:s.n])
		s.n -= k
	}
	if s.n > 0 && s.r[0].Start.LessThan(una) {
		s.sacked -= int(s.r[0].Start.Size(una))
		s.r[0].Start = una
	}
	if s.highRxt.LessThan(una) {
		s.highRxt = una
	}
}

// insert merges b (non-empty, within [una, sndNxt]) into the ranges and
// returns the number of octets it added.
func (s *Scoreboard) insert(b Block) int {
	// i: first range that ends at or after b.Start (overlapping or
	// adjacent from below); j: last range that starts at or before b.End.
	i := 0
	for i < s.n && s.r[i].End.LessThan(b.Start) {
		i++
	}
	j := i - 1
	for j+1 < s.n && s.r[j+1].Start.LessThanEq(b.End) {
		j++
	}
	if j < i {
		// Disjoint: insert at i.
		if s.n == MaxRanges {
			if i == s.n {
				return 0 // it would be the highest range: forget it
			}
			s.sacked -= s.r[s.n-1].Len()
			s.n--
		}
		if s.n == len(s.r) {
			s.r = append(s.r, Block{})
			s.r = s.r[:cap(s.r)]
		}
		copy(s.r[i+1:s.n+1], s.r[i:s.n])
		s.r[i] = b
		s.n++
		n := b.Len()
		s.sacked += n
		return n
	}
	m := Block{seqnum.Min(b.Start, s.r[i].Start), seqnum.Max(b.End, s.r[j].End)}
	old := 0
	for k := i; k <= j; k++ {
		old += s.r[k].Len()
	}
	s.r[i] = m
	if j > i {
		copy(s.r[i+1:], s.r[j+1:s.n])
		s.n -= j - i
	}
	added := m.Len() - old
	s.sacked += added
	return added
}

// updateLost recomputes lostEnd: the hole below range i is lost when the
// ranges from i upward hold at least DupThresh segments or more than
// (DupThresh−1)·SMSS octets (RFC 6675 §4, IsLost). Segments are counted
// as ⌈len/SMSS⌉ per range, since the scoreboard keeps octets, not the
// boundaries of the segments that carried them. IsLost is monotone in
// the sequence number, so one boundary describes it.
func (s *Scoreboard) updateLost() {
	s.lostEnd = s.una
	mss := s.MSS()
	bytes, segs := 0, 0
	for i := s.n - 1; i >= 0; i-- {
		l := s.r[i].Len()
		bytes += l
		segs += (l + mss - 1) / mss
		if segs >= DupThresh || bytes > (DupThresh-1)*mss {
			s.lostEnd = s.r[i].Start
			return
		}
	}
}

// Blocks returns the SACKed ranges, lowest first. The slice aliases the
// scoreboard: read it only, and only until the next call that changes it.
func (s *Scoreboard) Blocks() []Block { return s.r[:s.n] }

// SACKedBytes returns the number of octets SACKed above SND.UNA.
func (s *Scoreboard) SACKedBytes() int { return s.sacked }

// HighSACKed returns the end (exclusive) of the highest SACKed range, and
// false if nothing is SACKed.
func (s *Scoreboard) HighSACKed() (seqnum.Value, bool) {
	if s.n == 0 {
		return s.una, false
	}
	return s.r[s.n-1].End, true
}

// IsSACKed reports whether the octet seq has been SACKed.
func (s *Scoreboard) IsSACKed(seq seqnum.Value) bool {
	for i := 0; i < s.n; i++ {
		if seq.LessThan(s.r[i].Start) {
			return false
		}
		if seq.LessThan(s.r[i].End) {
			return true
		}
	}
	return false
}

// SACKed returns how many octets of [start, end) have been SACKed.
func (s *Scoreboard) SACKed(start, end seqnum.Value) int {
	if !start.LessThan(end) {
		return 0
	}
	n := 0
	for i := 0; i < s.n; i++ {
		r := s.r[i]
		if end.LessThanEq(r.Start) {
			break
		}
		a, b := seqnum.Max(start, r.Start), seqnum.Min(end, r.End)
		if a.LessThan(b) {
			n += int(a.Size(b))
		}
	}
	return n
}

// IsLost reports whether the octet seq is considered lost (RFC 6675 §4):
// it is at or above SND.UNA, not SACKed, and at least DupThresh SACKed
// segments, or more than (DupThresh−1)·SMSS SACKed octets, lie above it.
func (s *Scoreboard) IsLost(seq seqnum.Value) bool {
	return seq.InRange(s.una, s.lostEnd) && !s.IsSACKed(seq)
}

// LostEnd returns the boundary below which every unSACKed octet at or
// above SND.UNA is lost; it equals SND.UNA when nothing is.
func (s *Scoreboard) LostEnd() seqnum.Value { return s.lostEnd }

// Pipe returns the RFC 6675 §4 SetPipe estimate of the octets in flight,
// given HighData+1 = sndNxt: every unSACKed octet in [SND.UNA, sndNxt)
// counts once if it is not lost, and once more if it was retransmitted
// (at or below HighRxt).
func (s *Scoreboard) Pipe(sndNxt seqnum.Value) int {
	if !s.una.LessThan(sndNxt) {
		return 0
	}
	pipe := 0
	if lo := seqnum.Min(seqnum.Max(s.lostEnd, s.una), sndNxt); lo.LessThan(sndNxt) {
		pipe += int(lo.Size(sndNxt)) - s.SACKed(lo, sndNxt)
	}
	if hi := seqnum.Min(s.highRxt, sndNxt); s.una.LessThan(hi) {
		pipe += int(s.una.Size(hi)) - s.SACKed(s.una, hi)
	}
	return pipe
}

// HighRxt returns the end (exclusive) of the highest octet retransmitted
// in the current recovery (RFC 6675 HighRxt + 1).
func (s *Scoreboard) HighRxt() seqnum.Value { return s.highRxt }

// StartRecovery begins SACK loss recovery (RFC 6675 §5 step 4), with
// HighData+1 = sndNxt: RecoveryPoint = HighData, and it returns the first
// segment to retransmit, SMSS octets (or up to the first SACKed range)
// from SND.UNA (step 4.3). HighRxt and RescueRxt are set to its last
// octet, so the engine need not call Sent for it. The engine sets
// cwnd = ssthresh and its own recover point.
//
// One deviation from step 4.3: when a recovery starts right after another
// ended and the octet at SND.UNA was already retransmitted in it (HighRxt
// is above SND.UNA), that retransmission is still in flight and counted
// in pipe, so it is not sent again. StartRecovery then keeps HighRxt and
// returns an empty segment (Len 0, [RuleNone]); the engine goes on with
// NextSeg. This happens when new data sent during one recovery is lost
// and the ACK that ends it already SACKs beyond the new loss.
func (s *Scoreboard) StartRecovery(sndNxt seqnum.Value) Segment {
	s.recovery = sndNxt - 1
	if s.una.LessThan(s.highRxt) {
		s.rescue = s.highRxt - 1
		s.rescueOK = true
		return Segment{Start: s.una, End: s.una, Rule: RuleNone}
	}
	end := s.una.Add(seqnum.Size(s.MSS()))
	end = seqnum.Min(end, sndNxt)
	if s.n > 0 && s.una.LessThan(s.r[0].Start) {
		end = seqnum.Min(end, s.r[0].Start)
	}
	if !s.una.LessThan(end) {
		// Degenerate: nothing outstanding, or SND.UNA already SACKed
		// (a reneging receiver). Resend the octets at SND.UNA anyway.
		end = seqnum.Min(s.una.Add(seqnum.Size(s.MSS())), sndNxt)
	}
	s.highRxt = end
	s.rescue = end - 1
	s.rescueOK = true
	return Segment{Start: s.una, End: end, Rule: RuleFirst}
}

// NextSeg returns the next segment to send during recovery, per the four
// rules of RFC 6675 §4, with HighData+1 = sndNxt. newData reports whether
// the engine has unsent data and the receive window admits one more
// segment (rule 2). It returns false when no rule applies. NextSeg does
// not change the scoreboard; call [Scoreboard.Sent] for what was sent.
func (s *Scoreboard) NextSeg(sndNxt seqnum.Value, newData bool) (Segment, bool) {
	mss := seqnum.Size(s.MSS())
	// Rules (1) and (3): unSACKed holes above HighRxt, below the highest
	// SACKed octet. Holes are [prev end, r[k].Start).
	var rule3 Segment
	prev := s.una
	for k := 0; k < s.n; k++ {
		hole := Block{seqnum.Max(prev, s.highRxt), s.r[k].Start}
		prev = s.r[k].End
		if !hole.Start.LessThan(hole.End) {
			continue
		}
		seg := Segment{Start: hole.Start, End: seqnum.Min(hole.Start.Add(mss), hole.End)}
		if hole.Start.LessThan(s.lostEnd) {
			seg.Rule = RuleLost
			return seg, true
		}
		if rule3.Rule == RuleNone {
			seg.Rule = RuleUnSACKed
			rule3 = seg
		}
	}
	// Rule (2).
	if newData {
		return Segment{Start: sndNxt, End: sndNxt.Add(mss), Rule: RuleNew}, true
	}
	// Rule (3).
	if rule3.Rule != RuleNone {
		return rule3, true
	}
	// Rule (4): once per recovery, when HighACK > RescueRxt.
	if s.una.LessThan(sndNxt) && (!s.rescueOK || s.rescue.LessThan(s.una-1)) {
		// The highest outstanding unSACKed octet.
		end, start := sndNxt, s.una
		if s.n > 0 {
			top := s.r[s.n-1]
			if top.End.LessThan(sndNxt) {
				start = top.End
			} else {
				end = top.Start
				if s.n > 1 {
					start = s.r[s.n-2].End
				}
			}
		}
		if start.LessThan(end) {
			if start.Size(end) > mss {
				start = end - seqnum.Value(mss)
			}
			return Segment{Start: start, End: end, Rule: RuleRescue}, true
		}
	}
	return Segment{}, false
}

// Sent records that the engine sent seg, or a prefix of it, as chosen by
// NextSeg (RFC 6675 §5 steps C.2 and rule 4): a retransmission by rule 1
// or 3 raises HighRxt; a rescue retransmission sets RescueRxt =
// RecoveryPoint and leaves HighRxt alone; new data (rule 2) changes
// nothing here.
func (s *Scoreboard) Sent(seg Segment) {
	switch seg.Rule {
	case RuleLost, RuleUnSACKed, RuleFirst:
		if s.highRxt.LessThan(seg.End) {
			s.highRxt = seg.End
		}
	case RuleRescue:
		s.rescue = s.recovery
		s.rescueOK = true
	}
}
