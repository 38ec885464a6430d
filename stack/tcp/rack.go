package tcp

import (
	"fmt"
	"math"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/tcp/cc"
	"stacklab/stack/tcp/seqnum"
)

// Loss recovery as Linux does it today: RACK-TLP (RFC 8985) detects
// losses from the time segments were sent, the tail loss probe (TLP)
// turns a lost tail into a fast recovery instead of an RTO, Proportional
// Rate Reduction (PRR, RFC 6937) paces what recovery sends, and D-SACK
// (RFC 2883) reports tell the sender that a retransmission was
// spurious, so that the window cut it caused is undone (RFC 3708, as
// Linux's tcp_try_undo_*).
//
// The sender keeps one record per transmitted segment (the
// retransmission queue, like Linux's rtx queue of skbs): its sequence
// range, when it was last sent, and whether it is SACKed, deemed lost or
// retransmitted. The table is allocated with the first data segment and
// bounded by the send buffer (one record per segment in flight;
// [maxTxSegs] at most, beyond which records are merged).

// maxTxSegs bounds the retransmission queue. A segment sent when it is
// full extends the last record instead (loss detection then works on a
// coarser grain, never wrongly: a merged record is lost only when all of
// it was sent before a delivered segment).
const maxTxSegs = 8192

// Record flags.
const (
	txSACKed      uint8 = 1 << iota // SACKed by the receiver
	txLost                          // deemed lost and not retransmitted since
	txRetrans                       // a retransmission is in flight (Linux TCPCB_SACKED_RETRANS)
	txEverRetrans                   // retransmitted at least once (TCPCB_EVER_RETRANS)
	txPSH                           // sent with PSH: a retransmission ending where it ends keeps it
	txWasLost                       // retransmitted after being deemed lost: Linux keeps TCPCB_LOST (tcpi_lost)
	txAppLimited                    // sent while the sender was app-limited (tcp_rate.c)
	txSkbEnd                        // ended the packet it was sent in: Linux's skb in the retransmission queue ends here (linux profile)
)

// txSeg is one transmitted segment not yet cumulatively acknowledged.
type txSeg struct {
	start, end seqnum.Value
	xmit       time.Duration // when last sent, since the Proto's epoch
	order      uint64        // transmission order: which of two segments sent at one instant went first
	flags      uint8
	// skip, on a SACKed record, says that it and the skip-1 records after
	// it are all SACKed (0 counts as 1): a hint by which RACK's walk
	// crosses a run of SACKed records in one step (pastSACKed). SACKed is
	// never cleared, and a split copies the hint into a record inside the
	// same run, so a hint stays true as records are split or moved.
	skip  uint16
	dlv   int32         // packets delivered when it was sent (tcp_rate.c's tx.delivered)
	dlvAt time.Duration // when that count last grew, since the Proto's epoch
}

func (t *txSeg) len() int { return int(t.start.Size(t.end)) }

// lossState is a connection's sender-side loss-recovery state: the
// retransmission queue, RACK, TLP, PRR and undo. It is allocated with
// the first data segment sent (under the linux profile, with the first
// write, whose skbs it keeps).
type lossState struct {
	gso   gsoPacket // the GSO packet being sent (linux PSH; gso.go)
	q     []txSeg   // q[head:] in sequence order
	head  int
	sends uint64 // transmissions so far, for txSeg.order
	// skbs counts the records in q[head:] that end a packet (txSkbEnd):
	// Linux's skbs in the retransmission queue, each charged to the send
	// buffer with its overhead (wmemQueued).
	skbs int

	// Bytes of the records in q by flag: the RFC 6675 pipe is then
	// flight − sacked − lost + retrans, as Linux's tcp_packets_in_flight.
	sacked, lost, retrans int
	// lostRetrans: bytes of the retransmissions in flight of segments
	// deemed lost (txRetrans and txWasLost). Linux keeps such a segment
	// in lost_out as well as in retrans_out, so it is in flight once.
	lostRetrans int

	// RACK (RFC 8985 §6): the most recently sent segment delivered.
	rackXmit   time.Duration
	rackOrder  uint64
	rackEnd    seqnum.Value
	rackRTT    time.Duration
	rackSet    bool
	fack       seqnum.Value // highest sequence number delivered (RACK.fack)
	reordSeen  bool         // reordering observed (Linux tp->reord_seen)
	reordCount int          // times reordering was observed (tcpi_reord_seen)
	// reoLow is, within one ACK, the lowest start of a never-retransmitted
	// segment delivered below RACK.fack: [0] by the cumulative ACK, [1] by
	// SACK blocks. Linux measures reordering from it once per ACK and
	// part (tcp_clean_rtx_queue's and tcp_sacktag_write_queue's
	// tcp_check_sack_reordering), not once per segment.
	reoLow     [2]seqnum.Value
	reoLowSet  [2]bool
	reordering int // Linux's tp->reordering in packets once raised; 0: the default, 3
	delivered  int // packets delivered, cumulatively or by SACK (tcpi_delivered less the SYN)
	minRTT     time.Duration
	reoSteps   int          // reo_wnd multiplier, raised by D-SACKs (RFC 8985 §6.2 step 4)
	reoPersist int          // recoveries left before reoSteps falls back to 1
	dsackRound seqnum.Value // SND.NXT when reoSteps was last raised
	reoAt      time.Duration
	reoArmed   bool
	ptoArmed   time.Duration // the probe timeout last armed, for the trace
	ackRTT     time.Duration // RTT of the last segment the cumulative ACK covered, if never resent
	// The latest never-retransmitted segment the cumulative ACK being
	// processed newly delivers (rackUpdate's ambiguity test).
	ackOrigXmit  time.Duration
	ackOrigOrder uint64
	ackOrigSet   bool
	// Which sample of the ACK being processed set rackRTT (linux
	// profile, rackUpdate): one the cumulative ACK covers, or the
	// SACKed one highest in sequence.
	ackRTTCum     bool
	ackRTTSackEnd seqnum.Value
	ackRTTSack    bool
	// Linux's RTT samples of the ACK being processed (linux profile,
	// rttm.go), negative when it gives none: seq_rtt_us, from the oldest
	// segment the cumulative ACK newly delivers, none if it delivers one
	// ever resent; sack_rtt_us, from the lowest newly SACKed segment
	// never resent.
	seqRTT, sackRTT time.Duration
	sackFirst       seqnum.Value

	// TLP (RFC 8985 §7).
	tlpHigh    seqnum.Value // SND.NXT when the probe was sent
	tlpActive  bool
	tlpRetrans bool // the probe was a retransmission

	// PRR (RFC 6937 §3).
	prrDelivered, prrOut, recoverFS int
	prrCwnd                         int

	// Undo (RFC 3708 §3 with RFC 2883; Linux undo_marker/undo_retrans).
	undoOn        bool
	undoMarker    seqnum.Value // SND.UNA when the episode began
	undoRetrans   int          // retransmissions not yet shown spurious
	priorCwnd     int
	priorSsthresh int
	retransTS     uint32 // TSval of the episode's first retransmission
	tsSent        uint32 // TSval of the last data segment built (dataOptions)
	retransTSSet  bool
	episode       string // "recovery" or "rto", for the trace

	// F-RTO (RFC 5682 §3.1, as Linux's tcp_process_loss; frto.go).
	frto      bool // the RTO's loss episode may yet prove spurious (tp->frto)
	frtoNew   bool // the next send is new data, not the lost segments (REXMIT_NEW)
	frtoWait  bool // new data went at step 2b: lost segments wait for the next ACK
	origAcked bool // the ACK being processed delivered a never-resent segment sent before the RTO (FLAG_ORIG_SACK_ACKED)

	// The ends of the unsent skbs Linux would hold, in order, and when
	// the connection last sent a pure ACK (Conn.lastSend has its last
	// data), for TSO deferral (tsodefer.go); pushOne while a write's own
	// full skbs go as tcp_push_one sends them.
	skbEnds []seqnum.Value
	ackAt   time.Time
	pushOne bool
	// Linux's pushed_seq, the last push mark (markPushed), and the
	// forced_push marks not yet sent (markForced).
	pushed    seqnum.Value
	pushedSet bool
	forced    []seqnum.Value
}

// Timer kinds of the retransmission timer (Linux multiplexes them on one
// timer too: ICSK_TIME_RETRANS, _LOSS_PROBE, _REO_TIMEOUT).
const (
	rtxRTO uint8 = iota
	rtxTLP
	rtxReo
)

// rackOn reports whether RACK-TLP drives loss recovery: the mode is
// rack and SACK was negotiated (like Linux, RACK needs SACK; without it
// recovery is NewReno's).
func (c *Conn) rackOn() bool { return c.recMode == recoveryRACK && c.sackOK }

func (c *Conn) since() time.Duration { return c.p.sinceEpoch() }

func (c *Conn) loss() *lossState {
	if c.ls == nil {
		c.ls = &lossState{reoSteps: 1}
	}
	return c.ls
}

// txRecs returns the records in use.
func (ls *lossState) txRecs() []txSeg { return ls.q[ls.head:] }

// txSent records a first transmission of [start, end).
func (c *Conn) txSent(start, end seqnum.Value, psh bool) {
	if !start.LessThan(end) {
		return
	}
	ls := c.loss()
	now := c.since()
	ls.sends++
	skbEnd := c.linux() && (ls.gso.left == 0 || ls.gso.next != end) // the last of its GSO packet (gsoEnds), or a packet of its own
	if n := len(ls.q) - ls.head; n >= maxTxSegs {
		last := &ls.q[len(ls.q)-1]
		last.end, last.xmit, last.order = end, now, ls.sends
		if last.flags&txSkbEnd != 0 {
			ls.skbs--
		}
		if last.flags &^= txSkbEnd; skbEnd {
			last.flags |= txSkbEnd
			ls.skbs++
		}
		return
	}
	if ls.head > 0 && ls.head == len(ls.q) {
		ls.q, ls.head = ls.q[:0], 0
	} else if ls.head > 64 && ls.head*2 > len(ls.q) {
		n := copy(ls.q, ls.q[ls.head:])
		ls.q, ls.head = ls.q[:n], 0
	}
	var f uint8
	if psh {
		f = txPSH
	}
	if skbEnd {
		f |= txSkbEnd
		ls.skbs++
	}
	first := ls.head == len(ls.q)
	ls.q = append(ls.q, txSeg{start: start, end: end, xmit: now, order: ls.sends, flags: f})
	c.rateSent(&ls.q[len(ls.q)-1], first)
}

// txFind returns the index in txRecs of the first record that ends
// after seq, or len(txRecs()) if none does: the record holding seq, or
// the first one above it. The records are in sequence order and do not
// overlap, so it searches them in halves: a SACK block's edges are looked
// up on every ACK, among as many records as segments in flight (thousands
// at a gigabit), where walking them from the front made loss recovery
// quadratic (a 1 Gbit/s × 20 ms transfer spent two thirds of its time
// there after one overflow of the link's queue).
func (ls *lossState) txFind(seq seqnum.Value) int {
	recs := ls.txRecs()
	lo, hi := 0, len(recs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if seq.LessThan(recs[m].end) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// txSplit makes seq a record boundary and returns the index in q of the
// record that starts at seq, or len(q) if none does.
func (ls *lossState) txSplit(seq seqnum.Value) int {
	recs := ls.txRecs()
	i := ls.txFind(seq)
	if i == len(recs) {
		return len(ls.q)
	}
	r := &recs[i]
	if seq.LessThanEq(r.start) {
		return ls.head + i
	}
	if len(ls.q)-ls.head >= maxTxSegs {
		return ls.head + i + 1 // keep the bound: the record stays whole
	}
	return ls.txCut(ls.head+i, seq)
}

// txCut splits the record q[k] at seq, inside it, and returns the index
// of its second part, k+1.
func (ls *lossState) txCut(k int, seq seqnum.Value) int {
	r := &ls.q[k]
	tail := *r
	tail.start = seq
	r.end = seq
	r.flags &^= txPSH | txSkbEnd // the ends are the tail's
	k++
	ls.q = append(ls.q, txSeg{})
	copy(ls.q[k+1:], ls.q[k:])
	ls.q[k] = tail
	return k
}

// txRetransmitted records a retransmission of [start, end).
func (c *Conn) txRetransmitted(start, end seqnum.Value) {
	ls := c.ls
	if ls == nil || !start.LessThan(end) {
		return
	}
	now := c.since()
	ls.sends++
	i := ls.txSplit(start)
	j := ls.txSplit(end)
	for k := i; k < j; k++ {
		r := &ls.q[k]
		if r.flags&txSACKed != 0 {
			continue
		}
		r.order = ls.sends
		if r.flags&txLost != 0 {
			r.flags = r.flags&^txLost | txWasLost
			ls.lost -= r.len()
		}
		if r.flags&txRetrans == 0 {
			r.flags |= txRetrans
			ls.retrans += r.len()
			if r.flags&txWasLost != 0 {
				ls.lostRetrans += r.len()
			}
		}
		r.flags |= txEverRetrans
		r.xmit = now
	}
	if ls.undoOn {
		ls.undoRetrans++
		if !ls.retransTSSet && c.tsOK {
			// The TSval the retransmission carried, not the clock now:
			// in real time a millisecond may have passed since it was
			// built, and an echo of that very segment would then look
			// older than the retransmission (a false Eifel undo).
			ls.retransTS, ls.retransTSSet = ls.tsSent, true
		}
	}
}

// txDrop removes a record's bytes from the counters.
func (ls *lossState) txDrop(r *txSeg, n int) {
	if r.flags&txSACKed != 0 {
		ls.sacked -= n
	}
	if r.flags&txLost != 0 {
		ls.lost -= n
	}
	ls.uncountRetrans(r, n)
}

// uncountRetrans takes n bytes of r off the retransmission counters
// when r has a retransmission in flight; the caller clears the flag (or
// drops the record).
func (ls *lossState) uncountRetrans(r *txSeg, n int) {
	if r.flags&txRetrans == 0 {
		return
	}
	ls.retrans -= n
	if r.flags&txWasLost != 0 {
		ls.lostRetrans -= n
	}
}

// txAcked removes what the cumulative ACK ack covers and feeds RACK with
// the segments it delivered. It returns the bytes newly delivered that
// were not SACKed before.
func (c *Conn) txAcked(s *segment, ack seqnum.Value) {
	ls := c.ls
	if ls == nil {
		return
	}
	ls.ackRTT = 0
	now := c.since()
	// The latest never-retransmitted segment this ACK newly delivers:
	// a retransmission sent after it at the same instant is ambiguous
	// (see rackUpdate).
	ls.ackOrigSet = false
	for i := ls.head; i < len(ls.q); i++ {
		r := &ls.q[i]
		if !r.end.LessThanEq(ack) {
			break
		}
		if r.flags&(txSACKed|txEverRetrans) == 0 && (!ls.ackOrigSet || r.order > ls.ackOrigOrder) {
			ls.ackOrigXmit, ls.ackOrigOrder, ls.ackOrigSet = r.xmit, r.order, true
		}
	}
	defer func() { ls.ackOrigSet = false }()
	// Linux's seq_rtt_us (tcp_clean_rtx_queue): from the oldest segment
	// the ACK newly delivers that was neither SACKed nor ever resent;
	// none if it delivers a retransmission.
	first, resent := time.Duration(-1), false
	for ls.head < len(ls.q) {
		r := &ls.q[ls.head]
		if ack.LessThanEq(r.start) {
			break
		}
		if r.flags&txEverRetrans != 0 {
			resent = true
		} else if r.flags&txSACKed == 0 && first < 0 {
			first = r.xmit
		}
		if r.end.LessThanEq(ack) {
			if r.flags&txSACKed == 0 {
				ls.delivered += c.pcount(r.len())
				c.rateDelivered(r)
				c.rackUpdate(s, r, now, true)
				if r.flags&txEverRetrans == 0 {
					ls.ackRTT = now - r.xmit // Karn: never retransmitted
					ls.origAcked = ls.origAcked || r.end.LessThanEq(c.lossHigh)
				}
			}
			ls.txDrop(r, r.len())
			if r.flags&txSkbEnd != 0 {
				ls.skbs--
			}
			ls.head++
			continue
		}
		// Partly acknowledged (segmentation changed after an RTO or a
		// smaller MSS): trim.
		n := int(r.start.Size(ack))
		if r.flags&txSACKed == 0 {
			ls.delivered += c.pcount(n)
		}
		ls.txDrop(r, n)
		r.start = ack
		break
	}
	if ls.head == len(ls.q) {
		ls.q, ls.head = ls.q[:0], 0
	}
	if first >= 0 && !resent {
		ls.seqRTT = now - first
	}
}

// txSACK marks the records within the SACK block [start, end) SACKed and
// feeds RACK with them.
func (c *Conn) txSACK(s *segment, start, end seqnum.Value) {
	ls := c.ls
	if ls == nil || !start.LessThan(end) {
		return
	}
	if c.linux() {
		if start, end = ls.sackFit(start, end, c.sendMSS()); !start.LessThan(end) {
			return
		}
	}
	now := c.since()
	i := ls.txSplit(start)
	j := ls.txSplit(end)
	for k := i; k < j; k++ {
		r := &ls.q[k]
		if r.flags&txSACKed != 0 {
			continue
		}
		n := r.len()
		if r.flags&txLost != 0 {
			ls.lost -= n
		}
		ls.uncountRetrans(r, n)
		if r.flags&txEverRetrans == 0 && r.end.LessThanEq(c.lossHigh) {
			ls.origAcked = true
		}
		if r.flags&txEverRetrans == 0 && (ls.sackRTT < 0 || r.start.LessThan(ls.sackFirst)) {
			ls.sackRTT, ls.sackFirst = now-r.xmit, r.start
		}
		r.flags = r.flags&^(txLost|txRetrans) | txSACKed
		ls.sacked += n
		ls.delivered += c.pcount(n)
		c.rateDelivered(r)
		c.rackUpdate(s, r, now, false)
	}
}

// sackFit narrows a SACK block [start, end) to what Linux's
// tcp_match_skb_to_sack marks: a segment of one MSS or less only when
// the block covers it whole; a longer record (sent before the MSS fell)
// split only a whole number of MSS from its start, rounded so that the
// part left unSACKed is whole segments. A block covering the last byte of
// a segment SACKs nothing.
//
// Only the record holding start and the one holding end can narrow the
// block; both are found by txFind.
func (ls *lossState) sackFit(start, end seqnum.Value, mss int) (seqnum.Value, seqnum.Value) {
	recs := ls.txRecs()
	if i := ls.txFind(start); i < len(recs) && recs[i].start.LessThan(start) {
		start = recs[i].fitStart(start, mss)
	}
	if i := ls.txFind(end); i < len(recs) && recs[i].start.LessThan(end) {
		end = recs[i].fitEnd(end, mss)
	}
	return start, end
}

// fitStart is sackFit's new start for a block starting at start, inside
// r: a whole number of MSS from r's start, rounded up, or r's end.
func (r *txSeg) fitStart(start seqnum.Value, mss int) seqnum.Value {
	k := (max(int(r.start.Size(start)), mss) + mss - 1) / mss * mss
	if k >= r.len() {
		return r.end
	}
	return r.start.Add(seqnum.Size(k))
}

// fitEnd is sackFit's new end for a block ending at end, inside r: a
// whole number of MSS from r's start, rounded down.
func (r *txSeg) fitEnd(end seqnum.Value, mss int) seqnum.Value {
	return r.start.Add(seqnum.Size(int(r.start.Size(end)) / mss * mss))
}

// txDSACK handles a D-SACK block above SND.UNA: each retransmitted
// record it covers was delivered twice.
func (c *Conn) txDSACKAbove(start, end seqnum.Value) int {
	ls := c.ls
	if ls == nil {
		return 0
	}
	n := 0
	for _, r := range ls.txRecs() {
		if end.LessThanEq(r.start) {
			break
		}
		if start.LessThanEq(r.start) && r.end.LessThanEq(end) && r.flags&txEverRetrans != 0 {
			n++
		}
	}
	return n
}

// pipe returns the bytes in flight: the RFC 6675 pipe, as Linux's
// tcp_packets_in_flight counts it (SACKed and lost segments are not in
// flight; retransmissions are: a lost segment's once, any other's
// twice, the original and the copy).
func (c *Conn) pipe() int {
	flight := int(c.sndUna.Size(c.sndMax))
	if c.ls == nil {
		return flight
	}
	return max(flight-c.ls.sacked-c.ls.lost+c.ls.retrans-c.ls.lostRetrans, 0)
}

// rackUpdate is RFC 8985 §6.2 steps 2–3 for one delivered segment, which
// the cumulative ACK covers (cum) or a SACK block.
func (c *Conn) rackUpdate(s *segment, r *txSeg, now time.Duration, cum bool) {
	ls := c.ls
	rtt := now - r.xmit
	if r.flags&txEverRetrans != 0 {
		// Which transmission was delivered? If the ACK echoes a
		// timestamp older than the last transmission, or the sample is
		// shorter than any round trip seen, the original was
		// (RFC 8985 §6.2 step 2).
		if c.tsOK && s.opts.HasTS && s.opts.TSEcr != 0 &&
			int32(s.opts.TSEcr-(uint32(r.xmit/time.Millisecond)+c.tsOffset)) < 0 {
			return
		}
		if ls.minRTT > 0 && rtt < ls.minRTT {
			return
		}
		// In virtual time a burst shares one instant. When the same
		// cumulative ACK delivers a never-retransmitted segment sent at
		// this retransmission's instant but before it, the sample is
		// shorter than that segment's, which is at least min RTT: "less
		// than min RTT" at a finer clock than the instant. Linux's
		// microsecond clock separates the two sends and skips it; so do
		// we. Without this, an ACK for the original (its first ACK
		// lost) made RACK deem the whole burst sent before the
		// retransmission lost.
		if ls.ackOrigSet && ls.ackOrigXmit == r.xmit && ls.ackOrigOrder < r.order && rtt == ls.minRTT {
			return
		}
	} else if ls.rackSet && r.end.LessThan(ls.fack) {
		// Delivered below the highest delivered sequence number, never
		// retransmitted: the network reordered it (step 3).
		if !ls.reordSeen && c.p.net.Tracing() {
			c.lossEvent("rack", fmt.Sprintf("RACK: %d delivered after %d → reordering seen, reorder window min RTT/4", r.start, ls.fack))
		}
		ls.reordSeen = true
		k := 1
		if cum {
			k = 0
		}
		if !ls.reoLowSet[k] || r.start.LessThan(ls.reoLow[k]) {
			ls.reoLow[k], ls.reoLowSet[k] = r.start, true
		}
	}
	if ls.fack.LessThan(r.end) || !ls.rackSet {
		ls.fack = r.end
	}
	if ls.minRTT == 0 || rtt < ls.minRTT {
		ls.minRTT = max(rtt, time.Microsecond)
	}
	if !ls.rackSet || r.order > ls.rackOrder {
		ls.rackXmit, ls.rackOrder, ls.rackEnd, ls.rackSet = r.xmit, r.order, r.end, true
		if !c.linux() {
			// RFC 8985: RACK.rtt is the most recently sent segment's.
			ls.rackRTT = rtt
		}
	}
	if c.linux() {
		// Linux's tcp_rack_advance takes every sample for rack.rtt_us,
		// whichever segment was sent last: the last its ACK processing
		// reaches wins. That is the SACKed segments first, in sequence
		// order (tcp_sacktag_write_queue), then those the cumulative ACK
		// covers (tcp_clean_rtx_queue). stacklab takes the cumulative
		// ACK first, so a SACKed segment sets it only when the cumulative
		// ACK covered none that did.
		switch {
		case cum:
			ls.rackRTT, ls.ackRTTCum = rtt, true
		case !ls.ackRTTCum && (!ls.ackRTTSack || ls.ackRTTSackEnd.LessThan(r.end)):
			ls.rackRTT, ls.ackRTTSackEnd, ls.ackRTTSack = rtt, r.end, true
		}
	}
}

// reoWnd is RACK's reordering window (RFC 8985 §6.2 step 4, as Linux's
// tcp_rack_reo_wnd): none in recovery, or once three segments are
// SACKed, until reordering has been seen; then min RTT/4 times the
// D-SACK multiplier, at most SRTT.
func (c *Conn) reoWnd() time.Duration {
	ls := c.ls
	if !ls.reordSeen {
		if c.inRecovery || ls.sacked >= 3*c.sendMSS() {
			return 0
		}
	}
	return min(ls.minRTT/4*time.Duration(ls.reoSteps), c.srtt)
}

// rackDetect is RFC 8985 §6.2 step 5: every segment sent before the
// most recently sent delivered one, and not delivered itself, is lost
// once more than RACK.rtt + reo_wnd has passed since it was sent;
// otherwise the reordering timer waits for the earliest such moment.
// It returns the bytes newly deemed lost.
func (c *Conn) rackDetect() int {
	ls := c.ls
	if ls == nil || !ls.rackSet {
		return 0
	}
	now := c.since()
	wnd := c.reoWnd()
	lost, first := 0, seqnum.Value(0)
	var late, firstXmit time.Duration
	wait := ls.rackScan(now, wnd, func(r *txSeg, past time.Duration) {
		if lost == 0 {
			first, late, firstXmit = r.start, past, r.xmit
		}
		n := r.len()
		ls.uncountRetrans(r, n)
		r.flags = r.flags&^txRetrans | txLost // the retransmission is lost too
		ls.lost += n
		lost += n
	})
	if lost > 0 && c.p.net.Tracing() {
		c.lossEvent("rack", fmt.Sprintf("RACK: %d bytes from %d lost: sent %v before a delivered segment, %v past the reorder window %v",
			lost, first, (ls.rackXmit-firstXmit).Round(time.Microsecond), late.Round(time.Microsecond), wnd.Round(time.Microsecond)))
	}
	ls.reoArmed = wait > 0
	if ls.reoArmed {
		ls.reoAt = now + wait
		if c.linux() {
			// tcp_rack_mark_lost sets the timer 2 ms later
			// (TCP_TIMEOUT_MIN_US), as it does the probe timeout.
			ls.reoAt += 2 * time.Millisecond
		}
	}
	return lost
}

// rackScan walks the records RACK may deem lost (RFC 8985 §6.2 step 5):
// each one neither SACKed nor deemed lost, sent before the segment RACK
// knows was delivered. It calls lost with each whose reorder window had
// passed by now, and how long ago, and returns how long until the next
// one's passes (0: none waits).
//
// It stops at rackStop, and crosses each run of SACKed records in one
// step (pastSACKed): in a recovery at a large window the records from
// SND.UNA to the last one delivered are mostly SACKed, and walking them
// one by one on every ACK was the walk's whole cost (Linux takes SACKed
// segments off the list it walks). Crossing a SACKed record at which
// the walk could stop changes nothing: every record after it was sent
// after the segment RACK knows was delivered too, and so is either one
// to stop at or one the walk passes over.
func (ls *lossState) rackScan(now, wnd time.Duration, lost func(r *txSeg, past time.Duration)) (wait time.Duration) {
	for i := ls.head; i < len(ls.q); {
		r := &ls.q[i]
		if r.flags&txSACKed != 0 {
			i = ls.pastSACKed(i)
			continue
		}
		if ls.rackStop(r) {
			break
		}
		i++
		if r.flags&txLost != 0 || r.order >= ls.rackOrder {
			continue // deemed lost already, or sent after the segment RACK knows was delivered
		}
		left := r.xmit + ls.rackRTT + wnd - now
		if left > 0 {
			wait = max(wait, left)
			continue
		}
		lost(r, -left)
	}
	return wait
}

// pastSACKed returns the index of the first record after the SACKed
// record i that is not SACKed, or len(q), and notes the distance in
// q[i].skip so that the next walk crosses the run in one step.
func (ls *lossState) pastSACKed(i int) int {
	j := i
	for j < len(ls.q) && ls.q[j].flags&txSACKed != 0 {
		j += max(int(ls.q[j].skip), 1)
	}
	j = min(j, len(ls.q))
	ls.q[i].skip = uint16(min(j-i, math.MaxUint16))
	return j
}

// rackStop reports whether RACK's loss detection may stop at r: r was
// sent after the segment RACK knows was delivered, and so was every
// record after it. r has been sent once, so its order is its first
// transmission's; every later record was first sent later still (only
// the last record grows, and a split keeps its order), and a
// retransmission only raises a record's order. Linux's walk of its
// time-sorted queue stops likewise at the first skb sent after
// rack.mstamp; without the stop a bulk transfer walked its whole flight
// on every ACK (a third of the time of a 1 Gbit/s × 20 ms transfer).
func (ls *lossState) rackStop(r *txSeg) bool {
	return r.order >= ls.rackOrder && r.flags&txEverRetrans == 0
}

// lossEvent reports a loss-recovery step (tracing only).
func (c *Conn) lossEvent(name, detail string) {
	c.p.net.Observe(&core.Event{Kind: core.EventCongestion, FD: -1, Proto: "tcp", Conn: c.tuple, Name: name, Detail: detail})
}

// rackOnAck runs RACK after an ACK was processed: it detects losses,
// enters recovery, applies PRR and sends.
func (c *Conn) rackOnAck(delivered, priorPipe int, advanced bool) {
	ls := c.ls
	if ls == nil {
		return
	}
	newlyLost := c.rackDetect()
	// During an RTO's loss episode (Linux's TCP_CA_Loss) the lost
	// segments go again under the loss window's slow start; losses found
	// then start no fast recovery and no second reduction, as Linux's
	// tcp_process_loss keeps the Loss state until SND.UNA passes the
	// highest sequence sent at the timeout.
	if !c.inRecovery && ls.lost > 0 && !c.inLossEpisode() {
		c.rackEnterRecovery(priorPipe)
	}
	if c.inRecovery || c.ecn.prr {
		c.prrUpdate(delivered, advanced && newlyLost == 0)
	}
}

// rackEnterRecovery starts fast recovery on losses RACK found.
func (c *Conn) rackEnterRecovery(priorPipe int) {
	p := c.p
	ls := c.ls
	before, beforeSS := c.cc.Cwnd(), c.cc.Ssthresh()
	c.undoStart("recovery", before, beforeSS)
	c.recover = c.sndMax - 1
	c.inRecovery = true
	p.counters.FastRetrans++
	p.counters.RACKRecovery++
	c.fastRetrans++
	if c.ecn.prr {
		// A loss inside an ECN reduction: the reduction goes on, its
		// ssthresh and PRR count kept (tcp_enter_recovery skips
		// tcp_init_cwnd_reduction when tcp_in_cwnd_reduction).
		c.ecn.prr = false
	} else {
		c.cc.EnterRecovery(p.net.Now(), int(c.sndUna.Size(c.sndMax)))
		ls.recoverFS = max(priorPipe, 1)
		ls.prrDelivered, ls.prrOut = 0, 0
	}
	if ls.reoPersist > 0 {
		ls.reoPersist--
		if ls.reoPersist == 0 {
			ls.reoSteps = 1
		}
	}
	if p.net.Tracing() {
		c.lossEvent("recovery", fmt.Sprintf("RACK: %d bytes lost → fast recovery, ssthresh %s → %d, PRR from pipe %d",
			ls.lost, ssText(beforeSS), c.cc.Ssthresh(), priorPipe))
	}
	c.ccEvent(before, beforeSS, "rack recovery")
}

// prrUpdate is RFC 6937 §3 on one ACK in recovery: delivered bytes left
// the network; it sets how much may be in flight after this ACK.
// Like Linux (tcp_cwnd_reduction), the slow-start reduction bound
// (PRR-SSRB) applies only to ACKs that advance SND.UNA and mark no new
// loss; otherwise PRR-CRB, which Linux takes to be at least the ACK's
// delivery (fastretx/prr-crb-new-loss.pkt).
func (c *Conn) prrUpdate(delivered int, ssrb bool) {
	ls := c.ls
	mss := c.sendMSS()
	ls.prrDelivered += delivered
	pipe := c.pipe()
	ss := c.cc.Ssthresh()
	var sndcnt int
	rule := ""
	if pipe > ss {
		// Proportional: send ssthresh/RecoverFS of what was delivered.
		sndcnt = int((int64(ls.prrDelivered)*int64(ss)+int64(ls.recoverFS)-1)/int64(ls.recoverFS)) - ls.prrOut
		if c.linux() {
			// Linux counts in packets, rounding the share up to a
			// whole one (tcp_cwnd_reduction): 2 of 10 delivered with
			// ssthresh 7 send 2, where 1,400 bytes would send one.
			pk := func(n int) int64 { return int64((n + mss - 1) / mss) }
			rfs := max(pk(ls.recoverFS), 1)
			sndcnt = int((pk(ls.prrDelivered)*int64(ss/mss)+rfs-1)/rfs-pk(ls.prrOut)) * mss
		}
		rule = "proportional"
	} else {
		// PRR-CRB: what was delivered in recovery and not yet sent
		// again (RFC 6937 §3). Linux takes at least this ACK's
		// delivery too (tcp_cwnd_reduction, as RFC 6937bis).
		limit := ls.prrDelivered - ls.prrOut
		if c.linux() {
			limit = max(limit, delivered)
		}
		if ssrb {
			limit = max(ls.prrDelivered-ls.prrOut, delivered) + mss
		}
		sndcnt = min(ss-pipe, limit)
		rule = "slow start to ssthresh"
	}
	sndcnt = max(sndcnt, 0)
	if ls.prrOut == 0 && sndcnt < mss {
		sndcnt = mss // the first retransmission goes at once
	}
	ls.prrCwnd = pipe + sndcnt
	if c.p.net.Tracing() {
		c.lossEvent("prr", fmt.Sprintf("PRR: delivered %d (total %d), pipe %d, ssthresh %d → %s, may send %d",
			delivered, ls.prrDelivered, pipe, ss, rule, sndcnt))
	}
}

// cwnd returns the congestion window the sender applies now: PRR's
// in recovery under RACK, the controller's otherwise.
func (c *Conn) cwnd() int {
	if (c.inRecovery || c.ecn.prr) && c.rackOn() && c.ls != nil {
		return max(c.ls.prrCwnd, c.sendMSS())
	}
	return c.cc.Cwnd()
}

// rackSend sends under RACK: lost segments first, in sequence order,
// then new data, while the pipe is below the congestion window (PRR's
// in recovery).
func (c *Conn) rackSend(why string) {
	ls := c.ls
	mss := c.sendMSS()
	if ls != nil && ls.frtoNew && c.frtoSend(why) {
		return
	}
	if ls != nil && ls.frtoWait {
		for i := 0; i < 1024 && c.pipe() < c.cwnd() && c.sendSegment(why, false); i++ {
		}
		return
	}
	// The retransmitted packet being sent, in segments (rtxPacket): its
	// size and those left to send of it. It goes within one call.
	rtxSegs, rtxLeft := 0, 0
	for i := 0; i < 1024; i++ {
		cwnd := c.cwnd()
		pipe := c.pipe()
		if pipe >= cwnd {
			break
		}
		if ls != nil && ls.lost > 0 {
			r := c.firstLost()
			if r == nil {
				break
			}
			if c.p.txFull(c) {
				break // wait for room, as sendSegment does (tsq.go): TxReady resumes here
			}
			if c.linux() && rtxLeft == 0 {
				rtxSegs = c.rtxPacket(r, cwnd-pipe)
				rtxLeft = rtxSegs
			}
			n := min(r.len(), mss)
			if r.end == c.sndMax && c.finSent() && n == r.len() {
				n-- // the FIN's sequence number is not payload
			}
			start := r.start
			push := false
			if rtxLeft > 0 {
				rtxLeft--
				push = rtxLeft == 0 && rtxSegs >= 2
			}
			sent, ok := c.retransmitPush(start, n, whyRACKRetransmit, push)
			if !ok {
				break // beyond the peer's window (tcp_xmit_retransmit_queue stops)
			}
			c.prrSent(sent)
			continue
		}
		before := c.sndMax
		if !c.sendSegment(why, false) {
			break
		}
		c.prrSent(int(before.Size(c.sndMax)))
	}
}

// rtxPacket returns how many segments, from the lost record r on, Linux
// retransmits as one packet (tcp_xmit_retransmit_queue): the rest of
// r's skb in the retransmission queue (up to the record that ended the
// packet it was first sent in, txSkbEnd, or a write's end), at most what
// cwnd allows beyond the pipe (room, in bytes) and a tcp_tso_autosize
// packet (tcp_retransmit_skb's segs). __tcp_transmit_skb forces PSH on
// a packet of two or more, which its last segment carries
// (fastretx/rtx-gso-psh.pkt); stacklab's segment-by-segment
// retransmissions mark it (rackSend).
func (c *Conn) rtxPacket(r *txSeg, room int) int {
	ls := c.ls
	mss := c.sendMSS()
	limit := min(max(room/mss, 1), c.tsoAutosize(mss))
	recs := ls.txRecs()
	i := ls.txFind(r.start)
	segs, end := 0, r.start
	for ; i < len(recs) && segs < limit; i++ {
		q := &recs[i]
		if q.start != end || q.flags&txLost == 0 || q.flags&(txRetrans|txSACKed) != 0 {
			break
		}
		segs += c.pcount(q.len())
		end = q.end
		if q.flags&(txSkbEnd|txPSH) != 0 {
			break
		}
	}
	return max(min(segs, limit), 1)
}

// firstLost returns the lowest record deemed lost and not retransmitted.
func (c *Conn) firstLost() *txSeg {
	ls := c.ls
	for i := ls.head; i < len(ls.q); i++ {
		if ls.q[i].flags&txLost != 0 {
			return &ls.q[i]
		}
	}
	return nil
}

func (c *Conn) prrSent(n int) {
	if (c.inRecovery || c.ecn.prr) && c.ls != nil {
		c.ls.prrOut += n
	}
}

// rackExitRecovery ends recovery on the full ACK: cwnd = ssthresh
// (RFC 6937 §3), unless the episode is undone.
func (c *Conn) rackExitRecovery(s *segment, cwndBefore, ssBefore int) {
	c.inRecovery = false
	c.dupAcks = 0
	if c.undoByTimestamp(s) {
		return
	}
	ss := c.cc.Ssthresh()
	c.cc.ExitRecovery(c.p.net.Now(), ss) // min(ssthresh, ssthresh+MSS) = ssthresh
	if c.p.net.Tracing() {
		c.lossEvent("recovery done", fmt.Sprintf("full ACK → recovery done: cwnd %d → %d, ssthresh (RFC 6937 §3)", cwndBefore, c.cc.Cwnd()))
	}
}

// ---- the tail loss probe (RFC 8985 §7) ----

// tlpEligible reports whether a probe timeout may replace the RTO now:
// RACK on, data in flight, not in recovery nor after an RTO, no probe
// outstanding (Linux's tcp_schedule_loss_probe).
func (c *Conn) tlpEligible() bool {
	if !c.rackOn() || c.p.cfg.NoTLP || c.inRecovery || c.backoff > 0 || c.sndUna == c.sndMax || c.persist {
		return false
	}
	if c.ls == nil || c.ls.tlpActive || c.ls.lost > 0 {
		return false
	}
	switch c.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
		return true
	}
	return false
}

// pto returns the probe timeout (RFC 8985 §7.2, Linux's values): 2·SRTT,
// plus the worst-case delayed ACK (200 ms, TCP_RTO_MIN) when one segment
// is in flight, else plus 2 ms; 1 s without an RTT sample; never later
// than the RTO would fire.
func (c *Conn) pto() time.Duration {
	var d time.Duration
	if c.srtt > 0 {
		d = 2 * c.srtt
		if len(c.ls.txRecs()) == 1 {
			d += 200 * time.Millisecond
		} else {
			d += 2 * time.Millisecond
		}
	} else {
		d = time.Second
	}
	if recs := c.ls.txRecs(); len(recs) > 0 {
		left := c.rto - (c.since() - recs[0].xmit)
		if left > 0 {
			d = min(d, left)
		}
	}
	return c.p.ticksUp(d) // usecs_to_jiffies, as the timer counts it
}

// armLossTimer arms the retransmission timer for what RACK-TLP needs
// first: the reordering timer, the probe timeout, else the RTO.
func (c *Conn) armLossTimer() {
	if c.rackOn() && c.ls != nil {
		if c.ls.reoArmed {
			c.persist = false
			c.rtxKind = rtxReo
			c.rtx.arm(max(c.ls.reoAt-c.since(), 0))
			return
		}
		if c.tlpEligible() {
			c.persist = false
			c.rtxKind = rtxTLP
			c.ls.ptoArmed = c.pto()
			c.rtx.arm(c.ls.ptoArmed)
			return
		}
	}
	c.armRTO()
}

// onTLP sends the loss probe: a new segment if the windows allow one,
// else the last segment again.
func (c *Conn) onTLP() {
	ls := c.ls
	if ls == nil || c.sndUna == c.sndMax {
		return
	}
	p := c.p
	if p.net.Tracing() {
		c.timerEvent("tlp", fmt.Sprintf("probe timeout %v", ls.ptoArmed))
	}
	sent := false
	if c.hasUnsent() && c.sndNxt == c.sndMax && int(c.sndUna.Size(c.sndMax))+c.sendMSS() <= int(c.sndWnd) {
		c.probing = true
		sent = c.sendSegment(whyTLPNew, false)
		c.probing = false
		ls.tlpRetrans = false
	}
	if !sent {
		recs := ls.txRecs()
		if len(recs) == 0 {
			c.armRTO()
			return
		}
		r := recs[len(recs)-1]
		start := r.start
		n := r.len()
		if r.end == c.sndMax && c.finSent() {
			n-- // the FIN rides along in retransmitAt
		}
		if n > c.sendMSS() {
			start = r.start.Add(seqnum.Size(n - c.sendMSS()))
			n = c.sendMSS()
		}
		if _, ok := c.retransmitAt(start, n, whyTLP); !ok {
			// Beyond the window the peer shrank: no probe, and the RTO
			// runs from the head's transmission (tcp_send_loss_probe's
			// rearm_timer: tcp_rearm_rto).
			if p.net.Tracing() {
				c.lossEvent("tlp", "TLP: the last segment is beyond the peer's window, no probe")
			}
			c.armRTOFromHead()
			return
		}
		ls.tlpRetrans = true
	}
	ls.tlpHigh, ls.tlpActive = c.sndMax, true
	p.counters.LossProbes++
	if p.net.Tracing() {
		what := "new data"
		if ls.tlpRetrans {
			what = "the last segment again"
		}
		c.lossEvent("tlp", fmt.Sprintf("TLP probe: %s, tlp_high %d", what, c.sndMax))
	}
	c.armRTO()
}

// tlpAck is RFC 8985 §7.4.2 on an ACK: once the ACK reaches the probe,
// a D-SACK of the probe shows nothing was lost; an ACK beyond it without
// one shows the probe repaired a loss, and cwnd is reduced as for one
// loss (Linux: CWR).
func (c *Conn) tlpAck(ack seqnum.Value, dsackProbe, advanced bool) {
	ls := c.ls
	if ls == nil || !ls.tlpActive || ack.LessThan(ls.tlpHigh) {
		return
	}
	switch {
	case !ls.tlpRetrans:
		ls.tlpActive = false
	case dsackProbe:
		ls.tlpActive = false
		if c.p.net.Tracing() {
			c.lossEvent("tlp", "TLP: D-SACK of the probe → original and probe both arrived, no loss")
		}
	case ls.tlpHigh.LessThan(ack):
		ls.tlpActive = false
		p := c.p
		p.counters.LossProbeRecovery++
		before, beforeSS := c.cc.Cwnd(), c.cc.Ssthresh()
		flight := int(c.sndUna.Size(c.sndMax))
		c.cc.EnterRecovery(p.net.Now(), max(flight, before))
		c.cc.ExitRecovery(p.net.Now(), c.cc.Ssthresh())
		if p.net.Tracing() {
			c.lossEvent("tlp", fmt.Sprintf("TLP: the probe repaired a loss → cwnd %d → %d", before, c.cc.Cwnd()))
		}
		c.ccEvent(before, beforeSS, "tlp loss")
	case !advanced:
		ls.tlpActive = false // a duplicate: original and probe arrived
	}
}

// onReo runs when the RACK reordering timer expires (RFC 8985 §6.3).
func (c *Conn) onReo() {
	ls := c.ls
	if ls == nil || c.sndUna == c.sndMax {
		return
	}
	if c.p.net.Tracing() {
		c.timerEvent("rack", "reorder window elapsed")
	}
	c.p.counters.RACKReoTimeouts++
	prior := c.pipe()
	if c.rackDetect() > 0 {
		if !c.inRecovery {
			c.rackEnterRecovery(prior)
		}
		c.prrUpdate(0, false)
	}
	c.armLossTimer()
	c.output(whySend)
}

// ---- undo (RFC 3708, RFC 2883 §4, Linux tcp_try_undo_*) ----

// undoStart begins a loss episode whose window reduction may be undone.
func (c *Conn) undoStart(episode string, cwnd, ssthresh int) {
	ls := c.loss()
	if ls.undoOn && episode == "rto" && ls.episode == "rto" {
		return // a backed-off RTO continues the episode
	}
	ls.undoOn, ls.undoMarker, ls.undoRetrans = true, c.sndUna, 0
	ls.priorCwnd, ls.priorSsthresh = cwnd, ssthresh
	if ssthresh < 1<<30 {
		ls.priorSsthresh = max(ssthresh, cwnd*3/4) // Linux tcp_current_ssthresh
	}
	ls.retransTSSet = false
	ls.episode = episode
}

// undoEnd forgets the episode (its reduction stands). An episode that
// ends with its full ACK is kept until the next begins, as Linux keeps
// undo_marker: D-SACKs that arrive after the full ACK may still undo it.
func (c *Conn) undoEnd() {
	if c.ls != nil {
		c.ls.undoOn = false
	}
}

// onDSACK handles a D-SACK block [start, end) (RFC 2883 §4): the
// receiver got those bytes twice. Below SND.UNA each segment it covers
// counts as one spurious retransmission (Linux's tcp_check_dsack);
// above, each retransmitted record it covers does. When every
// retransmission of the episode proves spurious, the reduction is
// undone.
func (c *Conn) onDSACK(start, end, priorUna seqnum.Value) {
	p := c.p
	p.counters.DSACKRecv++
	c.tx().dsackDups += c.pcount(int(start.Size(end)))
	ls := c.loss()
	mss := c.sendMSS()
	// RFC 8985 §6.2 step 4: a D-SACK widens the reordering window, once
	// per round trip, for the next 16 recoveries.
	if !c.sndUna.LessThan(ls.dsackRound) || ls.reoSteps == 1 {
		ls.reoSteps = min(ls.reoSteps+1, 255)
		ls.dsackRound = c.sndMax
		ls.reoPersist = 16
	}
	ls.reordSeen = true
	if !ls.undoOn || ls.undoRetrans <= 0 {
		return
	}
	n := 0
	if end.LessThanEq(priorUna) {
		if ls.undoMarker.LessThan(end) {
			n = (int(start.Size(end)) + mss - 1) / mss
		}
	} else {
		n = c.txDSACKAbove(start, end)
	}
	if n == 0 {
		return
	}
	ls.undoRetrans = max(ls.undoRetrans-n, 0)
	if ls.undoRetrans == 0 {
		c.undo("D-SACK: spurious retransmission")
	}
}

// undoByTimestamp undoes the episode at its end when the ACK echoes a
// timestamp older than its first retransmission: the original segment
// was delivered (Eifel detection, RFC 3522; Linux's tcp_packet_delayed).
func (c *Conn) undoByTimestamp(s *segment) bool {
	if !c.packetDelayed(s) {
		return false
	}
	c.undo("timestamps: the ACK echoes the original, not the retransmission (Eifel)")
	return true
}

// packetDelayed reports whether s echoes a timestamp older than the
// episode's first retransmission (Linux's tcp_packet_delayed).
func (c *Conn) packetDelayed(s *segment) bool {
	ls := c.ls
	if ls == nil || !ls.undoOn || !ls.retransTSSet || !c.tsOK || !s.opts.HasTS || s.opts.TSEcr == 0 {
		return false
	}
	return int32(s.opts.TSEcr-ls.retransTS) < 0
}

// rackUndoPartial is Linux's tcp_try_undo_partial, on an ACK that
// advances SND.UNA in RACK recovery without ending it. When the ACK
// echoes a timestamp older than the first retransmission, the hole was
// filled by the delayed original: that is reordering, measured from the
// prior SND.UNA to the highest delivered sequence (tcp_check_sack_reordering
// with its timestamp flag, so tcpi_reordering and tcpi_reord_seen move);
// and once no retransmission is left unacknowledged the reduction is
// undone, the remaining loss marks are cleared and recovery ends, as
// tcp_undo_cwnd_reduction(sk, true) and tcp_try_keep_open.
func (c *Conn) rackUndoPartial(s *segment, priorUna seqnum.Value) {
	ls := c.ls
	if !c.packetDelayed(s) {
		return
	}
	ls.reordSeen = true
	c.noteReordering(priorUna)
	for i := ls.head; i < len(ls.q); i++ {
		if ls.q[i].flags&txRetrans != 0 {
			return
		}
	}
	ls.unmarkLost()
	c.undo("timestamps: a partial ACK echoes the original, not the retransmission (Eifel)")
}

// undo restores the window from before the episode and ends it.
func (c *Conn) undo(reason string) {
	ls := c.ls
	p := c.p
	before, beforeSS := c.cc.Cwnd(), c.cc.Ssthresh()
	c.cc.Undo(ls.priorCwnd, ls.priorSsthresh)
	ls.undoOn = false
	ls.frto, ls.frtoNew, ls.frtoWait = false, false, false
	c.inRecovery = false
	c.inLoss = false
	c.dupAcks = 0
	p.counters.Undos++
	if p.net.Tracing() {
		c.lossEvent("undo", fmt.Sprintf("%s → undo %s: cwnd %d → %d, ssthresh %s → %s", reason, ls.episode,
			before/c.sendMSS(), c.cc.Cwnd()/c.sendMSS(), ssText(beforeSS), ssText(c.cc.Ssthresh())))
	}
	c.ccEvent(before, beforeSS, "undo")
}

// isDSACK reports whether the first SACK block of s is a D-SACK
// (RFC 2883 §4): below the cumulative ACK, or within the second block.
func isDSACK(s *segment) bool {
	if s.opts.NSACK == 0 {
		return false
	}
	b0 := s.opts.SACK[0]
	l, r := seqnum.Value(b0.Left), seqnum.Value(b0.Right)
	if !l.LessThan(r) {
		return false
	}
	if r.LessThanEq(s.ack) {
		return true
	}
	if s.opts.NSACK > 1 {
		b1 := s.opts.SACK[1]
		return seqnum.Value(b1.Left).LessThanEq(l) && r.LessThanEq(seqnum.Value(b1.Right))
	}
	return false
}

// rtoMarkLost marks every record not SACKed lost after an RTO (Linux's
// tcp_enter_loss) and reports whether there is one.
func (c *Conn) rtoMarkLost() bool {
	ls := c.ls
	if ls == nil {
		return false
	}
	ls.tlpActive = false
	ls.reoArmed = false
	any := false
	for i := ls.head; i < len(ls.q); i++ {
		r := &ls.q[i]
		if r.flags&txSACKed != 0 {
			continue
		}
		n := r.len()
		ls.uncountRetrans(r, n)
		r.flags &^= txRetrans
		if r.flags&txLost == 0 {
			r.flags |= txLost
			ls.lost += n
		}
		any = true
	}
	return any
}

// txPSH reports whether the segment sent up to end carried PSH.
func (c *Conn) txPSH(end seqnum.Value) bool {
	if c.ls == nil {
		return false
	}
	for _, r := range c.ls.txRecs() {
		if r.end == end {
			return r.flags&txPSH != 0
		}
		if end.LessThan(r.end) {
			return false
		}
	}
	return false
}

// hystartEvent reports a HyStart transition (RFC 9406's, or Linux's
// HyStart's) and counts the slow starts it ended.
func (c *Conn) hystartEvent(before, after cc.HyStartState) {
	if before.Transitions == after.Transitions {
		return
	}
	ended := before.Phase != cc.HyStartDone && after.Phase == cc.HyStartDone && after.Exit != cc.HyStartNoExit && c.cc.Ssthresh() < cc.InfiniteSsthresh
	if ended && (after.Exit != cc.HyStartCSSExit || before.Phase == cc.HyStartCSS) {
		c.p.counters.HyStartExits++
		switch after.Exit {
		case cc.HyStartTrain:
			c.p.counters.HyStartTrain++
		case cc.HyStartDelay:
			c.p.counters.HyStartDelay++
		}
	} else {
		ended = false
	}
	if !c.p.net.Tracing() {
		return
	}
	var d string
	switch {
	case ended && after.Exit == cc.HyStartTrain:
		d = fmt.Sprintf("HyStart: ACK train %v > (min RTT %v + TSO allowance)/2 = %v → congestion avoidance, ssthresh = cwnd %d",
			after.Train, after.DelayMin, after.TrainLimit, after.Cwnd)
	case ended && after.Exit == cc.HyStartDelay:
		d = fmt.Sprintf("HyStart: round min RTT %v > min RTT %v + %v → congestion avoidance, ssthresh = cwnd %d",
			after.RoundMinRTT, after.DelayMin, after.Threshold, after.Cwnd)
	case after.Phase == cc.HyStartCSS:
		d = fmt.Sprintf("HyStart++: round min RTT %v ≥ %v + %v → conservative slow start, growth ÷4 (RFC 9406 §4.2)",
			after.RoundMinRTT, after.LastRoundMinRTT, after.Threshold)
	case before.Phase == cc.HyStartCSS && after.Phase == cc.HyStartSlowStart:
		d = fmt.Sprintf("HyStart++: round min RTT %v below the baseline %v → back to slow start", after.RoundMinRTT, before.Baseline)
	case ended && after.Exit == cc.HyStartCSSExit:
		d = fmt.Sprintf("HyStart++: %d rounds of conservative slow start → congestion avoidance, ssthresh = cwnd %d", after.CSSRounds, c.cc.Ssthresh())
	default:
		return
	}
	c.lossEvent("hystart", d)
}

// rackSaysLost reports whether the segment at seq was sent before the
// most recently sent segment known delivered, at least RACK.rtt ago.
func (c *Conn) rackSaysLost(seq seqnum.Value) bool {
	ls := c.ls
	if ls == nil || !ls.rackSet {
		return false
	}
	for _, r := range ls.txRecs() {
		if seq.LessThan(r.end) {
			return r.order < ls.rackOrder && c.since()-r.xmit >= ls.rackRTT
		}
	}
	return false
}

// inLossEpisode reports Linux's TCP_CA_Loss: an RTO's loss episode, until
// SND.UNA passes lossHigh (inLoss stays set after it, until the next
// timeout or an undo).
func (c *Conn) inLossEpisode() bool { return c.inLoss && c.sndUna.LessThan(c.lossHigh) }

// unmarkLost clears every lost mark: an undo finds nothing was lost
// (tcp_undo_cwnd_reduction with unmark_loss).
func (ls *lossState) unmarkLost() {
	for i := ls.head; i < len(ls.q); i++ {
		if r := &ls.q[i]; r.flags&txLost != 0 {
			r.flags &^= txLost
			ls.lost -= r.len()
		}
	}
}
