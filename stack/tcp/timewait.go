package tcp

import (
	"container/heap"
	"math"
	"syscall"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/tcp/seqnum"
)

// A connection in TIME_WAIT that no descriptor holds is kept small, as
// Linux swaps such a socket (2,368 bytes on this kernel) for a timewait
// socket (256): a twSock holds what TIME_WAIT reads, in the Proto's tw
// table, and a heap of them runs one timer for all their 2·MSL ends.
// An orphan in FIN_WAIT_2 (closed by the application, its FIN
// acknowledged) is packed the same way, as Linux's tcp_time_wait makes
// it a timewait socket in its FIN_WAIT2 substate: its end is then its
// FIN_WAIT_2 timeout, and the peer's FIN takes it on into TIME_WAIT.
//
// Anything that happens to one (a segment, its end, a connect taking
// its 4-tuple, the stack torn down) first revives it: a Conn is made
// again from the twSock, enters the connection table in its place, and
// the code every connection runs handles it; a connection still in
// TIME_WAIT afterwards is packed again (Proto.twPack). (One exception:
// a SYN that ends a TIME_WAIT for a listener, on a stack nothing
// traces, is handled on the twSock itself, Proto.twSYN.) So TIME_WAIT
// behaves as it did for a whole Conn; TestTimeWaitPackedSame sends the
// same segments to a packed and to a whole connection and compares what
// they answer. Calls that only look at connections (ss, a bind's check
// for ports in use) see a Conn made for the look and thrown away.

// twSock is a packed connection in TIME_WAIT (or an orphan in
// FIN_WAIT_2: flag twFinWait2).
type twSock struct {
	tuple    core.Tuple
	deadline time.Duration // the end of TIME_WAIT, since the Proto's epoch
	seq      uint64        // order of packing: the heap's tie-break
	idx      int           // in the heap

	iss, sndUna, sndNxt, sndMax, sndBase seqnum.Value
	sndWl1, sndWl2, sndSml, recover      seqnum.Value
	lossHigh                             seqnum.Value
	irs, rcvNxt, rcvAdv, lastAckSent     seqnum.Value
	rcvWndEdge                           seqnum.Value
	sndWnd, maxSndWnd                    uint32
	tsRecent, tsOffset                   uint32
	rcvBufSize, rcvSsthresh, rcvSegMax   int32
	mss, rcvMSS, userMSS                 int32
	quickAcks, dupAcks, backoff          int32
	cwnd, ssthresh                       int32
	ccName                               string
	srtt, rttvar, rto, ato, lrcv         time.Duration
	txhash, mdev                         uint32
	lastOOWAck                           twTime
	lastRecv, lastSend                   twTime
	ecn                                  ecnState
	lastVars                             *core.TCPVars
	recMode                              recoveryMode
	sndWScale, rcvWScale, ipTTL, ipTOS   uint8
	flags                                twFlags
}

// twTime is a time packed as its offset from the Proto's epoch (8 bytes,
// not time.Time's 24); twZero is the zero time.
type twTime int64

const twZero = twTime(math.MinInt64)

func (p *Proto) twTime(t time.Time) twTime {
	if t.IsZero() {
		return twZero
	}
	return twTime(t.Sub(p.epoch))
}

func (p *Proto) twTimeOf(t twTime) time.Time {
	if t == twZero {
		return time.Time{}
	}
	return p.epoch.Add(time.Duration(t))
}

// twFlags are a packed connection's booleans.
type twFlags uint32

const (
	twPassive twFlags = 1 << iota
	twWSOK
	twTSOK
	twSACKOK
	twRcvAuto
	twQuickAck
	twReuseAddr
	twPingpong
	twFinQueued
	twFinRcvd
	twRdShut
	twWrShut
	twRdShutUser
	twInRecovery
	twInLoss
	twSynced
	twSlowStart
	twCounted
	twFinWait2 // an orphan in FIN_WAIT_2, not in TIME_WAIT
)

func (f *twFlags) set(b twFlags, on bool) {
	if on {
		*f |= b
	}
}

func (f twFlags) has(b twFlags) bool { return f&b != 0 }

// twPack packs c, an orphan in TIME_WAIT or FIN_WAIT_2, into a twSock:
// c leaves the connection table (its port stays counted), its timers
// stop, and the twSock waits in the tw table and heap until its
// deadline. c itself is then garbage. Any other connection is left as
// it is.
func (p *Proto) twPack(c *Conn) {
	if !c.packable() || p.conns[c.tuple] != c || p.noPack {
		return
	}
	tw := c.fromTW
	if tw == nil {
		tw = new(twSock)
	}
	*tw = twSock{
		tuple: c.tuple, deadline: c.ka.deadline,
		iss: c.iss, sndUna: c.sndUna, sndNxt: c.sndNxt, sndMax: c.sndMax, sndBase: c.sndBase,
		sndWl1: c.sndWl1, sndWl2: c.sndWl2, sndSml: c.sndSml, recover: c.recover, lossHigh: c.lossHigh,
		irs: c.irs, rcvNxt: c.rcvNxt, rcvAdv: c.rcvAdv, lastAckSent: c.lastAckSent, rcvWndEdge: c.rcvWndEdge,
		sndWnd: c.sndWnd, maxSndWnd: c.maxSndWnd, tsRecent: c.tsRecent, tsOffset: c.tsOffset,
		rcvBufSize: int32(c.rcvBufSize), rcvSsthresh: int32(c.rcvSsthresh), rcvSegMax: int32(c.rcvSegMax),
		mss: int32(c.mss), rcvMSS: int32(c.rcvMSS), userMSS: int32(c.userMSS),
		quickAcks: int32(c.quickAcks), dupAcks: int32(c.dupAcks), backoff: int32(c.backoff),
		srtt: c.srtt, rttvar: c.rttvar, mdev: c.mdev, rto: c.rto, ato: c.ato, txhash: c.txhash,
		lastOOWAck: p.twTime(c.lastOOWAck), lrcv: c.lrcv,
		lastRecv: p.twTime(c.lastRecv), lastSend: p.twTime(c.lastSend),
		ecn: c.ecn, lastVars: c.lastVars, recMode: c.recMode,
		sndWScale: c.sndWScale, rcvWScale: c.rcvWScale, ipTTL: c.ipTTL, ipTOS: c.ipTOS,
	}
	if c.cc != nil {
		tw.ccName, tw.cwnd, tw.ssthresh = c.cc.Name(), int32(c.cc.Cwnd()), int32(c.cc.Ssthresh())
		tw.flags.set(twSlowStart, c.cc.InSlowStart())
	}
	f := &tw.flags
	f.set(twPassive, c.passive)
	f.set(twWSOK, c.wsOK)
	f.set(twTSOK, c.tsOK)
	f.set(twSACKOK, c.sackOK)
	f.set(twRcvAuto, c.rcvAuto)
	f.set(twQuickAck, c.quickAck)
	f.set(twReuseAddr, c.reuseAddr)
	f.set(twPingpong, c.pingpong)
	f.set(twFinQueued, c.finQueued)
	f.set(twFinRcvd, c.finRcvd)
	f.set(twRdShut, c.rdShut)
	f.set(twWrShut, c.wrShut)
	f.set(twRdShutUser, c.rdShutUser)
	f.set(twInRecovery, c.inRecovery)
	f.set(twInLoss, c.inLoss)
	f.set(twSynced, c.synced)
	f.set(twCounted, c.twCounted)
	f.set(twFinWait2, c.state == FinWait2)
	c.rtx.release()
	c.delack.release()
	c.ka.release()
	c.sndBuf.release(p)
	c.rcvBuf.release(p)
	delete(p.conns, c.tuple) // the port stays counted: the twSock holds it
	if p.lastConn == c {
		p.lastConn = nil
	}
	if p.tw == nil {
		p.tw = map[core.Tuple]*twSock{}
	}
	p.twSeq++
	tw.seq = p.twSeq
	p.tw[tw.tuple] = tw
	heap.Push(&p.twHeap, tw)
	p.twSchedule()
	c.packed, c.fromTW = tw, nil
}

// packable reports whether c may be packed: an orphan in TIME_WAIT, or
// in FIN_WAIT_2 with only its timeout to wait for (its place among the
// TIME_WAITs taken, as Linux's tcp_time_wait takes one, everything it
// sent acknowledged, no ACK owed, no data held).
func (c *Conn) packable() bool {
	if !c.orphan || c.dead {
		return false
	}
	if c.state == FinWait2 {
		return c.timewaitSock() && c.ka.armed && c.sndUna == c.sndMax && !c.ackPending && !c.rtx.armed &&
			c.sndBuf.n == 0 && c.rcvBuf.n == 0 && c.nooo == 0
	}
	return c.state == TimeWait
}

// timewaitSock reports whether c is what Linux keeps as a timewait
// socket: a connection in TIME_WAIT, or an orphan in FIN_WAIT_2 that
// took its place among them (Conn.twTake, where Linux's tcp_time_wait
// makes one), packed or not.
func (c *Conn) timewaitSock() bool {
	return c.state == TimeWait || c.state == FinWait2 && c.orphan && c.twCounted
}

// packedState is the state of a connection packed into tw, for a caller
// that still holds the Conn: TIME_WAIT (or FIN_WAIT_2) while tw (packed
// again after each revival) is in the tw table, CLOSED once it is gone.
func (c *Conn) packedState() State {
	if c.p.tw[c.tuple] == c.packed {
		return c.packed.state()
	}
	return Closed
}

// state is the state of the connection packed into tw.
func (tw *twSock) state() State {
	if tw.flags.has(twFinWait2) {
		return FinWait2
	}
	return TimeWait
}

// twConn makes a Conn again from tw, not in any table: for a look, or
// for twRevive.
func (p *Proto) twConn(tw *twSock) *Conn {
	c := &Conn{
		p: p, tuple: tw.tuple, state: tw.state(), orphan: true,
		iss: tw.iss, sndUna: tw.sndUna, sndNxt: tw.sndNxt, sndMax: tw.sndMax, sndBase: tw.sndBase,
		sndWl1: tw.sndWl1, sndWl2: tw.sndWl2, sndSml: tw.sndSml, recover: tw.recover, lossHigh: tw.lossHigh,
		irs: tw.irs, rcvNxt: tw.rcvNxt, rcvAdv: tw.rcvAdv, lastAckSent: tw.lastAckSent, rcvWndEdge: tw.rcvWndEdge,
		sndWnd: tw.sndWnd, maxSndWnd: tw.maxSndWnd, tsRecent: tw.tsRecent, tsOffset: tw.tsOffset,
		rcvBufSize: int(tw.rcvBufSize), rcvSsthresh: int(tw.rcvSsthresh), rcvSegMax: int(tw.rcvSegMax),
		mss: int(tw.mss), rcvMSS: int(tw.rcvMSS), userMSS: int(tw.userMSS),
		quickAcks: int(tw.quickAcks), dupAcks: int(tw.dupAcks), backoff: int(tw.backoff),
		srtt: tw.srtt, rttvar: tw.rttvar, mdev: tw.mdev, rto: tw.rto, ato: tw.ato, txhash: tw.txhash,
		lastOOWAck: p.twTimeOf(tw.lastOOWAck), lrcv: tw.lrcv,
		lastRecv: p.twTimeOf(tw.lastRecv), lastSend: p.twTimeOf(tw.lastSend),
		ecn: tw.ecn, lastVars: tw.lastVars, recMode: tw.recMode,
		sndWScale: tw.sndWScale, rcvWScale: tw.rcvWScale, ipTTL: tw.ipTTL, ipTOS: tw.ipTOS,
	}
	f := tw.flags
	c.passive, c.wsOK, c.tsOK, c.sackOK = f.has(twPassive), f.has(twWSOK), f.has(twTSOK), f.has(twSACKOK)
	c.rcvAuto, c.quickAck, c.reuseAddr, c.pingpong = f.has(twRcvAuto), f.has(twQuickAck), f.has(twReuseAddr), f.has(twPingpong)
	c.finQueued, c.finRcvd = f.has(twFinQueued), f.has(twFinRcvd)
	c.rdShut, c.wrShut, c.rdShutUser = f.has(twRdShut), f.has(twWrShut), f.has(twRdShutUser)
	c.inRecovery, c.inLoss, c.synced, c.twCounted = f.has(twInRecovery), f.has(twInLoss), f.has(twSynced), f.has(twCounted)
	c.cc = &frozenCC{name: tw.ccName, cwnd: int(tw.cwnd), ssthresh: int(tw.ssthresh), inSlowStart: f.has(twSlowStart)}
	c.rtx.init(c, (*Conn).onRTX)
	c.delack.init(c, (*Conn).onDelack)
	c.ka.init(c, (*Conn).onKA)
	// TIME_WAIT's (or FIN_WAIT_2's) timer, armed at its deadline: the
	// twSock's heap runs it while packed, a timer of the Conn's own if
	// it stays whole.
	c.ka.armed, c.ka.deadline = true, tw.deadline
	c.fromTW = tw
	return c
}

// twRevive takes tw out of the tw table and heap and puts the Conn made
// from it in the connection table in its place. Its TIME_WAIT timer is
// armed but has no clock timer behind it: every caller packs it again
// or ends it before it lets go of the stack (Proto.InputChecked, the
// connects that take a TIME_WAIT over, Proto.Close).
func (p *Proto) twRevive(tw *twSock) *Conn {
	p.revives++
	c := p.twConn(tw)
	delete(p.tw, tw.tuple)
	heap.Remove(&p.twHeap, tw.idx)
	p.conns[c.tuple] = c // the port is counted already
	return c
}

// twSchedule sets the heap's timer for its earliest deadline.
func (p *Proto) twSchedule() {
	if len(p.twHeap) == 0 {
		return
	}
	at := p.twHeap[0].deadline
	if p.twArmed && p.twAt <= at {
		return // it fires first and sets itself again
	}
	d := max(at-p.sinceEpoch(), 0)
	if p.twTimer == nil {
		p.twTimer = p.net.AfterFunc(d, p.twExpire)
	} else {
		p.twTimer.Reset(d)
	}
	p.twArmed, p.twAt = true, at
}

// twExpire ends the packed connections whose TIME_WAIT (or FIN_WAIT_2)
// is over, in the order of their deadlines, as their own timers did:
// what Conn.onKA and Conn.destroy do for a connection in TIME_WAIT or an
// orphan in FIN_WAIT_2, without making the Conn again (the trace's
// variables, when it shows them, are taken from one).
func (p *Proto) twExpire() {
	p.twArmed = false
	now := p.sinceEpoch()
	tracing := p.net.Tracing()
	for len(p.twHeap) > 0 && p.twHeap[0].deadline <= now {
		tw := heap.Pop(&p.twHeap).(*twSock)
		delete(p.tw, tw.tuple)
		var c *Conn
		if tracing {
			c = p.twConn(tw)
			if c.state == FinWait2 {
				c.timerEvent("fin-wait-2", "orphan timeout")
			} else {
				c.timerEvent("time-wait", "2·MSL elapsed")
			}
			c.setState(Closed)
		}
		p.twGone(tw)
		if c != nil {
			c.dead = true
			c.series()
		}
	}
	p.twSchedule()
}

// twGone gives back what tw, out of the tw table and heap, held: its
// place among the TIME_WAITs and its port (what Conn.destroy gives back
// for a whole connection).
func (p *Proto) twGone(tw *twSock) {
	if tw.flags.has(twCounted) {
		p.timeWait--
	}
	port := tw.tuple.Local.Port()
	if p.portConns[port]--; p.portConns[port] <= 0 {
		delete(p.portConns, port)
		if p.OnPortFree != nil {
			p.OnPortFree(port)
		}
	}
	p.gone++
	p.flushSpares()
}

// twSYN takes a SYN for the packed TIME_WAIT tw to the listener without
// reviving tw, when nothing traces the stack: one that Conn.inputTimeWait
// would hand on (Linux's TCP_TW_SYN: no ACK, no RST, not failing PAWS,
// above RCV.NXT or with a newer timestamp) and that a listener takes
// ends tw in place, as Proto.twTakeOver ends a revived one, and starts
// the new connection at the ISN it would (successorISN). It reports
// whether it did; every other segment revives tw (so does this one when
// the stack is traced, for the events a whole connection reports). A
// server whose clients come back on the 4-tuples of its TIME_WAITs, as
// fast clients do once their ports wrap, makes no Conn for each.
func (p *Proto) twSYN(tw *twSock, t core.Tuple, s *segment) bool {
	if p.net.Tracing() || tw.flags.has(twFinWait2) {
		return false
	}
	if !twSYNOpens(s, tw.rcvNxt, tw.flags.has(twTSOK), tw.tsRecent) {
		return false // answered by a revived Conn
	}
	l := p.listenerFor(t)
	if l == nil {
		return false // answered with an ACK, by a revived Conn
	}
	p.counters.TimeWaitRecycled++
	isn := successorISN(tw.sndNxt)
	delete(p.tw, tw.tuple)
	heap.Remove(&p.twHeap, tw.idx)
	p.twGone(tw)
	l.inputISN(t, s, isn)
	return true
}

// twAll revives every packed connection (the stack torn down).
func (p *Proto) twAll() []*Conn {
	var cs []*Conn
	for len(p.twHeap) > 0 {
		cs = append(cs, p.twRevive(p.twHeap[0]))
	}
	return cs
}

// twHeap orders packed connections by deadline, then packing order.
type twHeap []*twSock

func (h twHeap) Len() int { return len(h) }
func (h twHeap) Less(i, j int) bool {
	return h[i].deadline < h[j].deadline || h[i].deadline == h[j].deadline && h[i].seq < h[j].seq
}
func (h twHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *twHeap) Push(x any)   { tw := x.(*twSock); tw.idx = len(*h); *h = append(*h, tw) }
func (h *twHeap) Pop() any {
	old := *h
	tw := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	tw.idx = -1
	return tw
}

// inputTimeWait handles a segment for a connection in TIME_WAIT as
// Linux's tcp_timewait_state_process (net.ipv4.tcp_rfc1337 0): a bare
// ACK at RCV.NXT restarts the 2·MSL timer and is not answered, a RST
// there ends TIME_WAIT (the assassination RFC 1337 warns of, which Linux
// allows by default), a RST elsewhere is ignored; a SYN without ACK
// above RCV.NXT, or with a newer timestamp, may open a new connection
// (syn; Linux's TCP_TW_SYN), which Proto.twTakeOver starts at the ISN
// Linux derives from the old one (successorISN); anything else gets an
// ACK (twAck), and restarts the timer if it has the ACK bit or fails
// PAWS. Checked against Linux 6.18 by testdata/pkt/close/time-wait-*.pkt.
func (c *Conn) inputTimeWait(s *segment) (syn bool) {
	p := c.p
	rst := s.has(flagRST)
	paws := twPAWS(s, c.tsOK, c.tsRecent)
	if !paws && s.seq == c.rcvNxt && (s.seqLen() == 0 || rst) {
		if rst {
			c.destroy()
			return false
		}
		c.ka.arm(2 * p.cfg.MSL)
		if c.tsOK && s.opts.HasTS {
			c.tsRecent = s.opts.TSVal
		}
		return false
	}
	if twSYNOpens(s, c.rcvNxt, c.tsOK, c.tsRecent) {
		return true
	}
	if paws {
		p.counters.DropPAWS++
		p.drop(c, "DropPAWS", "old timestamp", s.pktID)
	}
	if rst {
		return false
	}
	if paws || s.has(flagACK) {
		c.ka.arm(2 * p.cfg.MSL)
	}
	// Linux's tcp_oow_rate_limited: data and FINs always get their ACK,
	// a pure ACK or a SYN at most one per Config.InvalidRateLimit.
	if (s.seqLen() == 0 || s.has(flagSYN)) && !c.oowAllowed() {
		p.counters.AckSkippedTimeWait++
		return false
	}
	c.twAck(s)
	return false
}

// twPAWS reports whether s fails PAWS against a TIME_WAIT's last
// timestamp (tsRecent, when tsOK: timestamps were in use).
func twPAWS(s *segment, tsOK bool, tsRecent uint32) bool {
	return tsOK && s.opts.HasTS && tsRecent != 0 && int32(tsRecent-s.opts.TSVal) > 0
}

// twSYNOpens is Linux's TCP_TW_SYN test, for a TIME_WAIT at rcvNxt
// (Conn.inputTimeWait, and Proto.twSYN on a packed one): a SYN without
// ACK or RST that passes PAWS and is above RCV.NXT or carries a newer
// timestamp may open a new connection on the 4-tuple.
func twSYNOpens(s *segment, rcvNxt seqnum.Value, tsOK bool, tsRecent uint32) bool {
	return s.has(flagSYN) && !s.has(flagRST) && !s.has(flagACK) && !twPAWS(s, tsOK, tsRecent) &&
		(rcvNxt.LessThan(s.seq) || tsOK && s.opts.HasTS && int32(tsRecent-s.opts.TSVal) < 0)
}

// successorISN is the ISN Linux gives a connection that ends this one's
// TIME_WAIT, on either side (tcp_timewait_state_process's tw_isn,
// tcp_twsk_unique's write_seq): SND.NXT + 65535 + 2, never zero.
func (c *Conn) successorISN() seqnum.Value { return successorISN(c.sndNxt) }

// successorISN is Conn.successorISN for a connection whose SND.NXT is
// sndNxt.
func successorISN(sndNxt seqnum.Value) seqnum.Value {
	isn := sndNxt.Add(65535 + 2)
	if isn == 0 {
		isn++
	}
	return isn
}

// twAck sends the ACK TIME_WAIT answers a segment with (Linux's
// tcp_v4_timewait_ack and tcp_v6_timewait_ack).
func (c *Conn) twAck(s *segment) {
	why := whyOutOfWindow
	switch {
	case s.has(flagFIN):
		why = whyTimeWaitAck
	case c.tsOK && s.opts.HasTS && int32(c.tsRecent-s.opts.TSVal) > 0:
		why = whyPAWS
	}
	c.p.twReply = true
	c.sendAck(why)
	c.p.twReply = false
}

// inputOrphanFinWait2 handles a segment for an orphan in FIN_WAIT_2
// (closed by the application, its FIN acknowledged) as Linux does: such
// a socket is a timewait socket there, in its FIN_WAIT2 substate, and
// tcp_timewait_state_process answers a segment outside the window, or
// failing PAWS, with an ACK (a pure ACK or a SYN at most one per
// Config.InvalidRateLimit); ends the connection on any RST in the
// window; answers a SYN in the window, or new data, with a RST made from
// the segment and ends it; ignores a duplicate ACK; and takes the peer's
// FIN into TIME_WAIT. Checked against Linux 6.18 by
// testdata/pkt/close/fin-wait-2-orphan-*.pkt.
func (c *Conn) inputOrphanFinWait2(s *segment) {
	p := c.p
	if c.twCounted {
		p.twReply = true // what it sends, it sends as a timewait sock
		defer func() { p.twReply = false }()
	}
	rst := s.has(flagRST)
	paws := c.tsOK && s.opts.HasTS && !rst && c.tsRecent != 0 && int32(c.tsRecent-s.opts.TSVal) > 0
	end := s.seq.Add(s.seqLen())
	wnd := seqnum.Size(0)
	if d := int32(c.rcvAdv - c.rcvNxt); d > 0 {
		wnd = seqnum.Size(d)
	}
	right := c.rcvNxt.Add(wnd)
	inWindow := s.seq == c.rcvNxt || c.rcvNxt.LessThan(end) && s.seq.LessThan(right) || s.seq == right && s.seq == end
	if paws || !inWindow {
		if paws {
			p.counters.DropPAWS++
			p.drop(c, "DropPAWS", "old timestamp", s.pktID)
		}
		if rst {
			return
		}
		if (s.seqLen() == 0 || s.has(flagSYN)) && !c.oowAllowed() {
			p.counters.AckSkippedFinWait2++
			return
		}
		c.twAck(s)
		return
	}
	switch {
	case rst:
		c.destroy()
	case s.has(flagSYN) && !s.seq.LessThan(c.rcvNxt):
		p.resetFor(c.tuple, s, whyRSTSynFinWait2)
		c.destroy()
	case !s.has(flagACK) || !c.rcvNxt.LessThan(end) || s.seqLen() == 0:
		// A duplicate: nothing to do.
	case !s.has(flagFIN) || end != c.rcvNxt.Add(1):
		// New data after the close: a RST (tcp_timewait_state_process's
		// TCP_TW_RST), which Linux does not count as TCPAbortOnData, as
		// it does data that reaches the full socket (6.18's nstat: +0).
		p.resetFor(c.tuple, s, whyRSTData)
		c.destroy()
	default:
		c.input(s) // the FIN: into TIME_WAIT, ACKed
	}
}

// dataAfterFIN ends a connection that, after the peer's FIN, receives
// data past it: a RST made from the segment, and the error Linux's
// tcp_reset gives (EPIPE in CLOSE_WAIT, ECONNRESET after this side's
// FIN).
func (c *Conn) dataAfterFIN(s *segment) {
	c.p.counters.AbortOnData++
	c.p.resetFor(c.tuple, s, whyRSTDataAfterFIN)
	switch {
	case c.state == CloseWait:
		c.p.counters.EstabResets++
		c.fail(syscall.EPIPE)
	case c.orphan:
		c.destroy()
	default:
		c.fail(syscall.ECONNRESET)
	}
}

// abortOnData ends a connection the application closed, or shut down
// both ways, that receives new data, with a RST made from the segment
// (Linux's TCPAbortOnData); a socket still open is left ECONNRESET.
func (c *Conn) abortOnData(s *segment) {
	c.p.counters.AbortOnData++
	c.p.resetFor(c.tuple, s, whyRSTData)
	if c.orphan {
		c.destroy()
		return
	}
	c.fail(syscall.ECONNRESET)
}
