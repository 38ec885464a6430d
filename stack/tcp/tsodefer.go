package tcp

import (
	"slices"
	"time"

	"stacklab/stack/tcp/seqnum"
)

// Linux's TSO deferral (tcp_tso_should_defer, "a kind of TSO Nagle
// test"): when an ACK (or a write's push) would let out only a few
// segments of a larger skb, the sender waits for more ACKs to send a
// bigger GSO packet, as long as it sent something less than 1 ms ago
// and the next ACK is due within min(SRTT/2, 1 ms) of now (SRTT as
// Linux smooths it: the linux profile's, rttm.go).
// It sends at once when it may send a whole tcp_tso_autosize packet, a
// third of the window (tcp_tso_win_divisor 3), or all of an skb that
// is not the send queue's last; in Recovery and Loss it never waits.
// Seen on Linux 6.18 with packetdrill (tso/*.pkt): at a 1 ms RTT two
// ACKs of one segment each at once, after the burst the first let out,
// send nothing; a third 0.3 ms later sends the six segments then
// allowed as one packet.
//
// Whether an skb is the queue's last and how long it is depends on how
// Linux cut the written bytes into skbs, so the linux profile keeps
// the ends of the unsent ones (lossState.skbEnds): a write fills the
// unsent tail skb up to the size goal (unless a record, MSG_EOR, ended
// it), then new skbs of the size goal (tcp_sendmsg_locked); before the
// test the head skb grows from the next to what cwnd allows
// (tcp_grow_skb, Linux 6.10 on). Config.NoTSODefer
// (stack.Options.TCP.NoTSODefer, scenario tcp: {tso_defer: false}) turns
// the deferral off, as a device without GSO has it; the rfc profile
// never defers.

// maxSkbEnds bounds the unsent skb ends a connection keeps; past it the
// last skb takes what more is written.
const maxSkbEnds = 64

// tsoWinDivisor is Linux's tcp_tso_win_divisor default: a third of the
// window is enough to send at once.
const tsoWinDivisor = 3

// skbPrune forgets the skbs sent whole: their ends are at or below
// SND.MAX.
func (ls *lossState) skbPrune(sndMax seqnum.Value) { ls.skbEnds = dropEnds(ls.skbEnds, sndMax) }

// skbQueued records the skbs Linux's tcp_sendmsg_locked builds for the
// bytes [start, end) just queued.
func (c *Conn) skbQueued(start, end seqnum.Value) {
	if !c.linux() || !start.LessThan(end) {
		return
	}
	ls := c.loss()
	ls.skbPrune(c.sndMax)
	goal := seqnum.Size(c.sizeGoal())
	pos := start
	if _, tail := c.tailSkb(start); tail > 0 && seqnum.Size(tail) < goal {
		// The bytes go into the unsent tail skb, and its PSH, which the
		// previous write's tcp_push set, goes (tcp_sendmsg_locked clears
		// it on the first skb a write copies into): that write's end no
		// longer ends a packet.
		c.pshUnmark(start)
		pos = start.Add(min(goal-seqnum.Size(tail), start.Size(end)))
		ls.skbEnds[len(ls.skbEnds)-1] = pos
	}
	for pos.LessThan(end) {
		next := pos.Add(min(goal, pos.Size(end)))
		if len(ls.skbEnds) == maxSkbEnds {
			ls.skbEnds[maxSkbEnds-1] = end
			return
		}
		ls.skbEnds = append(ls.skbEnds, next)
		pos = next
	}
}

// recordEndsAt reports whether a MSG_EOR record ends at seq.
func (c *Conn) recordEndsAt(seq seqnum.Value) bool { return slices.Contains(c.eorEnds, seq) }

// tsoDefer reports whether the linux profile holds the new data at
// SND.NXT, the start of a GSO packet, as Linux's tcp_tso_should_defer
// does. inflight is the pipe in bytes and cwnd the window it is
// measured against; a write's full skb at the head goes without the
// test (lossState.pushOne, tcp_push_one). It reports too whether the
// window that held it was cwnd (tcp_cwnd_validate's is_cwnd_limited).
func (c *Conn) tsoDefer(inflight, cwnd int) (hold, cwndLimited bool) {
	if !c.linux() || c.p.cfg.NoTSODefer || c.ls == nil || c.inRecovery || c.inLossEpisode() {
		return false, false
	}
	ls := c.ls
	// Only if the last transmission (data, or a pure ACK) was less than
	// 1 ms ago (tcp_wstamp_ns). Exactly 1 ms sends: a kernel under
	// packetdrill sends a little after the call that makes it and so
	// always finds a script's "+.001" ACK past the millisecond
	// (tso/one-ms-sends.pkt).
	sent := c.lastSend
	if ls.ackAt.After(sent) {
		sent = ls.ackAt
	}
	if sent.IsZero() || c.p.net.Now().Sub(sent) >= time.Millisecond || c.sndNxt != c.sndMax {
		return false, false
	}
	mss := c.sendMSS()
	cwndPkts := cwnd / mss
	inPkts := 0
	if inflight > 0 {
		inPkts = c.pcount(inflight)
	}
	if cwndPkts <= inPkts {
		return false, false
	}
	sendWin := int(c.sndWnd) - int(c.sndUna.Size(c.sndNxt))
	congWin := (cwndPkts - inPkts) * mss
	limit := min(sendWin, congWin)
	if limit >= min(int(c.sndWnd), cwndPkts*mss)/tsoWinDivisor {
		return false, false // a third of the window
	}
	// The next ACK: due a smoothed RTT (Linux's) after the oldest
	// unacknowledged segment was sent; if that is more than
	// min(SRTT/2, 1 ms) away, go.
	recs := ls.txRecs()
	if len(recs) == 0 {
		return false, false
	}
	if srtt := c.srtt; recs[0].xmit+srtt-c.since() > min(srtt/2, time.Millisecond) {
		return false, false
	}
	ls.skbPrune(c.sndMax)
	if len(ls.skbEnds) == 0 {
		return false, false
	}
	maxSegs := c.tsoAutosize(mss)
	// tcp_grow_skb: a head skb shorter than what cwnd lets out now takes
	// bytes from the next, unless a record ends it. (Linux grows it
	// before the test whatever its outcome; here only a hold needs the
	// bytes it took: a send takes the grown skb whole, which leaves the
	// same unsent ends as if it had not grown.)
	quota := min(max(cwndPkts/2, 1), cwndPkts-inPkts, maxSegs)
	skbLen := int(c.sndNxt.Size(ls.skbEnds[0]))
	if missing := quota*mss - skbLen; missing > 0 && len(ls.skbEnds) > 1 && !c.recordEndsAt(ls.skbEnds[0]) {
		nlen := min(missing, int(ls.skbEnds[0].Size(ls.skbEnds[1])))
		ls.skbEnds[0] = ls.skbEnds[0].Add(seqnum.Size(nlen))
		if ls.skbEnds[0] == ls.skbEnds[1] {
			ls.skbEnds = append(ls.skbEnds[:1], ls.skbEnds[2:]...)
		}
		skbLen += nlen
	}
	if skbLen <= mss {
		return false, false // one segment: Nagle's test, not this one
	}
	if ls.pushOne && skbLen >= c.sizeGoal() {
		return false, false // a write's full skb at the head: tcp_push_one
	}
	last := len(ls.skbEnds) == 1
	if limit >= maxSegs*mss {
		return false, false // a whole autosized packet
	}
	if !last && limit >= skbLen {
		return false, false // all of an skb that takes no more data
	}
	if congWin < sendWin {
		if congWin <= skbLen {
			return true, true
		}
	} else if sendWin <= skbLen {
		return true, false
	}
	// The data fits both windows: Linux waits for more unless the skb
	// ends a record or carries the FIN.
	if c.recordEndsAt(ls.skbEnds[0]) || last && c.finQueued {
		return false, false
	}
	return true, false
}
