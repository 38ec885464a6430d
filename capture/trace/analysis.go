package trace

import (
	"strings"
	"time"
)

// Analysis is what the trace infers about a TCP segment from the
// segments before it in the same connection, as Wireshark's TCP
// analysis does (its tcp.analysis.* fields): one bit each.
type Analysis uint16

// The analysis flags, named as Wireshark's Info column names them.
const (
	Retransmission         Analysis = 1 << iota // data (or SYN/FIN) below the highest sent
	FastRetransmission                          // a retransmission of what ≥ 2 dup ACKs asked for, < 20 ms after the last
	SpuriousRetransmission                      // a retransmission of data already acknowledged
	OutOfOrder                                  // below the highest sent, soon after it: reordered, not resent
	LostSegment                                 // above the next expected sequence number: a segment before it was not seen
	AckedUnseen                                 // acknowledges data not seen
	DupAck                                      // the same ACK and window again, no data
	ZeroWindow                                  // a window of 0
	ZeroWindowProbe                             // one byte at the next sequence number into a zero window
	ZeroWindowProbeAck                          // the answer to a zero-window probe
	KeepAlive                                   // 0 or 1 byte one below the next sequence number
	KeepAliveAck                                // the answer to a keep-alive
	WindowUpdate                                // no data, only the window changed
	WindowFull                                  // the segment fills the peer's window exactly
)

var analysisNames = []struct {
	flag       Analysis
	text, json string
}{
	{Retransmission, "TCP Retransmission", "retransmission"},
	{FastRetransmission, "TCP Fast Retransmission", "fast_retransmission"},
	{SpuriousRetransmission, "TCP Spurious Retransmission", "spurious_retransmission"},
	{OutOfOrder, "TCP Out-Of-Order", "out_of_order"},
	{LostSegment, "TCP Previous segment not captured", "lost_segment"},
	{AckedUnseen, "TCP ACKed unseen segment", "ack_lost_segment"},
	{DupAck, "TCP Dup ACK", "duplicate_ack"},
	{ZeroWindow, "TCP ZeroWindow", "zero_window"},
	{ZeroWindowProbe, "TCP ZeroWindowProbe", "zero_window_probe"},
	{ZeroWindowProbeAck, "TCP ZeroWindowProbeAck", "zero_window_probe_ack"},
	{KeepAlive, "TCP Keep-Alive", "keep_alive"},
	{KeepAliveAck, "TCP Keep-Alive ACK", "keep_alive_ack"},
	{WindowUpdate, "TCP Window Update", "window_update"},
	{WindowFull, "TCP Window Full", "window_full"},
}

// Names returns the flags as Wireshark's tcp.analysis field names
// ("retransmission", "duplicate_ack", …); a fast or spurious
// retransmission is a retransmission too, as in Wireshark.
func (a Analysis) Names() []string {
	var out []string
	for _, n := range analysisNames {
		if a&n.flag != 0 {
			out = append(out, n.json)
		}
	}
	return out
}

func (a Analysis) String() string { return strings.Join(a.Names(), ",") }

// Texts returns the flags as Wireshark's Info column words them ("TCP
// Retransmission", "TCP Dup ACK"); a fast or spurious retransmission is
// not called a retransmission twice.
func (a Analysis) Texts() []string {
	if a&(FastRetransmission|SpuriousRetransmission) != 0 {
		a &^= Retransmission
	}
	var out []string
	for _, n := range analysisNames {
		if a&n.flag != 0 {
			out = append(out, n.text)
		}
	}
	return out
}

// anaDir is one direction's analysis state, raw sequence numbers.
type anaDir struct {
	started     bool // nextSeq is known
	nextSeq     uint32
	nextSeqTime time.Duration
	maxToAck    uint32 // highest sequence number that may be acknowledged
	hasAck      bool
	lastAck     uint32
	lastAckTime time.Duration
	hasWin      bool
	win         uint64 // scaled, as last advertised
	synSeen     bool   // its SYN was seen, and with it
	hasWS       bool   // a window scale option
	ws          uint8
	dupAcks     int
	lastNonDup  uint64 // packet id of the last ACK that was not a duplicate
	lastFlags   Analysis
}

// anaConn is a connection's analysis state.
type anaConn struct {
	dir      [2]anaDir
	synTime  time.Duration // the most recent SYN without ACK (Wireshark's ts_mru_syn)
	hasSyn   bool
	firstRTT time.Duration // the last SYN to the first ACK after it, as Wireshark's ts_first_rtt
	rtt      rttState
	side     [2]sideState // inferred TCP states, for foreign captures
}

// scale returns the window scale that applies to direction d's
// windows: -1 when the handshake was not seen or a SYN lacked the
// option (the windows are then taken as they are).
func (c *anaConn) scale(d int) int {
	x, y := &c.dir[d], &c.dir[1-d]
	if !x.synSeen || !y.synSeen || !x.hasWS || !y.hasWS {
		return -1
	}
	return int(x.ws)
}

func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }

// segment is what the analysis reads of a TCP segment.
type segment struct {
	seq, ack  uint32
	len       uint32
	win       uint16
	syn, fin  bool
	rst, ackf bool
	wscale    int8 // the SYN's window scale option, -1 none
	id        uint64
	now       time.Duration
}

// analyze classifies segment s of direction d, as Wireshark's
// tcp_analyze_sequence_number does (Wireshark 4.0, whose rules its
// user's guide lists under "TCP Analysis"), and learns from it. It
// returns the flags, for a duplicate ACK the id of the ACK it repeats
// and its count, and the window scaled (-1 when the scale is unknown).
func (c *anaConn) analyze(d int, s *segment) (a Analysis, dupOf uint64, dupN int, scaledWin int64) {
	fwd, rev := &c.dir[d], &c.dir[1-d]
	if s.syn {
		fwd.synSeen, fwd.hasWS, fwd.ws = true, s.wscale >= 0, uint8(max(s.wscale, 0))
	}
	win := uint64(s.win)
	scaledWin = -1
	if !s.syn {
		if sc := c.scale(d); sc >= 0 {
			win <<= sc
			scaledWin = int64(win)
		}
	}
	sfr := s.syn || s.fin || s.rst
	nseq := s.seq + s.len
	if s.syn || s.fin {
		nseq++
	}
	// A zero-window probe: one byte at the next sequence number into a
	// window the peer closed.
	if s.len == 1 && fwd.started && s.seq == fwd.nextSeq && rev.hasWin && rev.win == 0 {
		a |= ZeroWindowProbe
		goto acks
	}
	if win == 0 && !sfr {
		a |= ZeroWindow
	}
	if fwd.started && seqGT(s.seq, fwd.nextSeq) && !s.rst {
		a |= LostSegment
	}
	if s.len <= 1 && !sfr && fwd.started && s.seq == fwd.nextSeq-1 {
		a |= KeepAlive
	}
	if s.len == 0 && win != 0 && fwd.hasWin && win != fwd.win && fwd.started && s.seq == fwd.nextSeq &&
		fwd.hasAck && s.ack == fwd.lastAck && !sfr {
		a |= WindowUpdate
	}
	if s.len > 0 && rev.hasWin && rev.hasAck && !sfr && fwd.synSeen && rev.synSeen && s.seq+s.len == rev.lastAck+uint32(rev.win) {
		a |= WindowFull
	}
	if s.len == 0 && win != 0 && fwd.hasWin && win == fwd.win && fwd.started && s.seq == fwd.nextSeq &&
		fwd.hasAck && s.ack == fwd.lastAck && rev.lastFlags&KeepAlive != 0 && !sfr {
		a |= KeepAliveAck
		goto acks
	}
	if s.len == 0 && win == 0 && fwd.hasWin && win == fwd.win && fwd.started && s.seq == fwd.nextSeq &&
		fwd.hasAck && (s.ack == fwd.lastAck || s.ack == fwd.lastAck+1) && rev.lastFlags&ZeroWindowProbe != 0 && !sfr {
		a |= ZeroWindowProbeAck
		goto acks
	}
	if s.len == 0 && win != 0 && fwd.hasWin && win == fwd.win && fwd.started && s.seq == fwd.nextSeq &&
		fwd.hasAck && s.ack == fwd.lastAck && !sfr {
		fwd.dupAcks++
		a |= DupAck
		dupOf, dupN = fwd.lastNonDup, fwd.dupAcks
	}
acks:
	if a&DupAck == 0 {
		fwd.dupAcks = 0
		fwd.lastNonDup = s.id
	}
	if s.ackf && rev.started && seqGT(s.ack, rev.maxToAck) {
		a |= AckedUnseen
	}
	if (s.len > 0 || s.syn || s.fin) && fwd.started && seqLT(s.seq, fwd.nextSeq) && a&KeepAlive == 0 {
		ooo := c.firstRTT
		if ooo == 0 {
			ooo = 3 * time.Millisecond
		}
		switch {
		case rev.dupAcks >= 2 && rev.hasAck && rev.lastAck == s.seq && s.now-rev.lastAckTime < 20*time.Millisecond:
			a |= FastRetransmission | Retransmission
		case s.now-fwd.nextSeqTime < ooo && fwd.nextSeq != nseq:
			a |= OutOfOrder
		case s.len > 0 && rev.hasAck && !seqGT(s.seq+s.len, rev.lastAck):
			a |= SpuriousRetransmission | Retransmission
		default:
			a |= Retransmission
		}
	}
	// Learn.
	if a&ZeroWindowProbe == 0 && (!fwd.started || seqGT(nseq, fwd.nextSeq)) {
		fwd.nextSeq, fwd.nextSeqTime, fwd.started = nseq, s.now, true
		if !seqGT(fwd.maxToAck, nseq) {
			fwd.maxToAck = nseq
		}
	}
	if s.syn && !s.ackf {
		c.synTime, c.hasSyn = s.now, true
	} else if !s.syn && s.ackf && c.hasSyn && c.firstRTT == 0 {
		c.firstRTT = s.now - c.synTime
	}
	if s.ackf {
		fwd.lastAck, fwd.hasAck, fwd.lastAckTime = s.ack, true, s.now
	}
	fwd.win, fwd.hasWin = win, true
	fwd.lastFlags = a
	return a, dupOf, dupN, scaledWin
}

// maxUnacked bounds the segments a direction keeps for RTT matching, as
// Wireshark's TCP_MAX_UNACKED_SEGMENTS does: past it, new segments are
// not remembered (their ACKs get no RTT) until ACKs free room.
const maxUnacked = 10000

// unacked is a segment sent and not yet acknowledged, for ack_rtt.
type unacked struct {
	seq, next uint32
	at        time.Duration
	id        uint64
}

// rttState is what RTT-per-ACK matching keeps per connection: each
// direction's unacknowledged segments, oldest first, and in a simulation
// the host that sent them (an ACK is matched where it reaches that host).
type rttState struct {
	segs   [2][]unacked
	sender [2]string
}

// ackRTT is the RTT an ACK measured: Wireshark's tcp.analysis.ack_rtt
// and tcp.analysis.acks_frame.
type ackRTT struct {
	rtt   time.Duration
	acked uint64 // id of the segment it acknowledges
	ok    bool
}

// track learns segment s of direction d for RTT matching and, when it
// is an ACK, measures the RTT of the segment it acknowledges. Like
// Wireshark: every segment with data, SYN or FIN is remembered; an ACK
// equal to a remembered segment's end acknowledges it (the oldest such,
// so a retransmitted segment's RTT counts from its first sending);
// segments it covers are forgotten, one it cuts is shortened. In a
// capture of one place (host ""), every segment is both sent and
// received there. In a simulation a segment is remembered where its
// sender sent it (send true) and an ACK is matched where it reaches
// that sender (send false), so the RTT is the one the sender sees.
func (r *rttState) track(d int, s *segment, host string, send bool) (res ackRTT) {
	if (host == "" || send) && (s.len > 0 || s.syn || s.fin) && len(r.segs[d]) < maxUnacked {
		next := s.seq + s.len
		if s.syn || s.fin {
			next++
		}
		r.segs[d] = append(r.segs[d], unacked{s.seq, next, s.now, s.id})
		r.sender[d] = host
	}
	if !s.ackf || (host != "" && (send || host != r.sender[1-d])) {
		return res
	}
	segs := r.segs[1-d]
	keep := segs[:0]
	for _, u := range segs {
		switch {
		case u.next == s.ack:
			if !res.ok {
				res = ackRTT{s.now - u.at, u.id, true}
			}
			continue
		case seqGT(s.ack, u.seq) && seqLT(s.ack, u.next):
			u.seq = s.ack
		case !seqGT(u.next, s.ack):
			continue // covered
		}
		keep = append(keep, u)
	}
	clear(segs[len(keep):])
	r.segs[1-d] = keep
	return res
}

// tcpState is a TCP state (RFC 9293 §3.3.2) inferred from the packets.
type tcpState uint8

const (
	stUnknown tcpState = iota
	stClosed
	stListen
	stSynSent
	stSynReceived
	stEstablished
	stFinWait1
	stFinWait2
	stCloseWait
	stClosing
	stLastAck
	stTimeWait
)

// The names the stack's own state events use.
var stateNames = [...]string{"?", "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
	"FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"}

func (s tcpState) String() string { return stateNames[s] }

// stateChange is one end's inferred transition: side 0 sends the
// connection's direction 0.
type stateChange struct {
	side     int
	from, to tcpState
}

// sideState is what state inference keeps of one end.
type sideState struct {
	st      tcpState
	synEnd  uint32 // its SYN's sequence number + 1
	hasSyn  bool
	finEnd  uint32 // its FIN's sequence number + 1
	hasFin  bool
	gotFin  bool // it has received the other end's FIN
	gotSyn  bool // and its SYN
	changes int  // transitions inferred, bounded by maxStateChanges
}

// maxStateChanges bounds the transitions reported per end: a
// connection's life has at most a dozen; a capture of a reused port
// pair keeps its lines bounded.
const maxStateChanges = 64

// infer works out the TCP state of each end of the connection from
// segment s, sent by side d and seen at the capture point: what the
// sender's sending it and the receiver's receiving it change, as if
// both happened where the capture was made. An end first seen in the
// middle of a connection is taken to be ESTABLISHED (no line for it).
// It appends the transitions to out.
func (c *anaConn) infer(d int, s *segment, out []stateChange) []stateChange {
	x, y := &c.side[d], &c.side[1-d]
	set := func(side int, e *sideState, to tcpState) {
		if e.st == to {
			return
		}
		if e.changes < maxStateChanges {
			out = append(out, stateChange{side, e.st, to})
			e.changes++
		}
		e.st = to
	}
	if x.st == stUnknown {
		switch {
		case s.rst:
			x.st = stClosed // a refusal: no connection was there
		case s.syn && !s.ackf:
			x.st = stClosed
		case s.syn:
			x.st = stListen
		default:
			x.st = stEstablished
		}
	}
	if y.st == stUnknown && !s.syn {
		y.st = stEstablished
	}
	if s.rst {
		// A reset ends the connection at both ends (the capture cannot
		// tell an unacceptable one apart; stacks rarely send those).
		if x.st != stClosed && x.st != stListen {
			set(d, x, stClosed)
		}
		if y.st != stUnknown && y.st != stClosed {
			set(1-d, y, stClosed)
		}
		return out
	}
	// An end receives the other's SYN at the latest when a later segment
	// of the other end reaches it: in SYN_SENT, the SYNs crossed (a
	// simultaneous open).
	if x.hasSyn && !y.gotSyn {
		y.gotSyn = true
		if y.st == stSynSent {
			set(1-d, y, stSynReceived)
		}
	}
	if s.syn {
		x.synEnd, x.hasSyn = s.seq+1, true
		switch {
		case !s.ackf && x.st == stClosed:
			set(d, x, stSynSent)
		case s.ackf && (x.st == stListen || x.st == stSynSent):
			set(d, x, stSynReceived)
		}
	}
	// An end receives the other's FIN at the latest when it acknowledges
	// it, or when a later segment of the other end reaches it (in
	// order); until then its own segments show it had not.
	gotFin := func(side int, e, other *sideState) {
		if e.gotFin || !other.hasFin {
			return
		}
		e.gotFin = true
		switch e.st {
		case stSynReceived, stEstablished:
			set(side, e, stCloseWait)
		case stFinWait1:
			set(side, e, stClosing)
		case stFinWait2:
			set(side, e, stTimeWait)
		}
	}
	gotFin(1-d, y, x)
	if s.ackf {
		// What this ACK acknowledges of the other end's SYN and FIN.
		if y.hasSyn && s.ack == y.synEnd && (y.st == stSynSent || y.st == stSynReceived) {
			set(1-d, y, stEstablished)
		}
		if y.hasFin && !seqLT(s.ack, y.finEnd) {
			gotFin(d, x, y)
			switch y.st {
			case stFinWait1:
				set(1-d, y, stFinWait2)
			case stClosing:
				set(1-d, y, stTimeWait)
			case stLastAck:
				set(1-d, y, stClosed)
			}
		}
	}
	if s.fin && !x.hasFin {
		x.finEnd, x.hasFin = s.seq+s.len+1, true
		if s.syn {
			x.finEnd++
		}
		switch x.st {
		case stSynReceived, stEstablished:
			set(d, x, stFinWait1)
		case stCloseWait:
			set(d, x, stLastAck)
		}
	}
	return out
}
