package tcp

import (
	"fmt"
	"net/netip"

	"stacklab/stack/core"
	"stacklab/stack/tcp/seqnum"
	"stacklab/stack/wire"
)

// Explicit Congestion Notification (RFC 3168). A connection uses ECN
// when the active side asks with ECE and CWR on its SYN and the passive
// side agrees with ECE on its SYN-ACK (§6.1.1). Its new data then leaves
// with ECT(0) in the IP header; pure ACKs, SYNs and retransmissions
// leave Not-ECT (§6.1.4, §6.1.5, as Linux's tcp_ecn_send). A router or
// link queue that would drop an ECT packet marks it CE instead. The
// receiver of a CE mark sets ECE on every segment it sends until a
// segment with CWR arrives (§6.1.3); the sender reacts to ECE as to a
// loss, at most once per round trip (§6.1.2: ssthresh and cwnd reduced
// as by the congestion controller on a fast retransmit, but nothing is
// resent) and sets CWR on its next new data segment.

// ECN settings ([Config.ECN]), as Linux's net.ipv4.tcp_ecn.
const (
	ECNOff     = "off"     // never: tcp_ecn=0
	ECNPassive = "passive" // accept when the peer asks, do not ask: tcp_ecn=2, Linux's default
	ECNOn      = "on"      // ask on connect, accept when asked: tcp_ecn=1
)

// ECNNames lists the values [Config.ECN] accepts, the default first.
var ECNNames = []string{ECNPassive, ECNOn, ECNOff}

// IP ECN codepoints (RFC 3168 §5).
const (
	ECNNotECT = 0
	ECNECT1   = 1
	ECNECT0   = 2
	ECNCE     = 3
)

const (
	flagECE = uint8(wire.TCPFlagECE)
	flagCWR = uint8(wire.TCPFlagCWR)
)

// ECNNet is implemented by a [Net] that can set the ECN field of the IP
// header it builds. Without it, segments leave Not-ECT.
type ECNNet interface {
	// OutputECN is Net.Output with the ECN codepoint to send.
	OutputECN(local, remote netip.Addr, seg []byte, why string, ecn uint8)
}

// ecnState is a connection's ECN state.
type ecnState struct {
	ok         bool         // negotiated
	demandCWR  bool         // receiver: CE seen, ECE until CWR arrives
	queueCWR   bool         // sender: set CWR on the next new data segment
	reduceSeq  seqnum.Value // sender: no further reduction until SND.UNA passes it
	reduced    bool         // reduceSeq is set
	reductions uint64
	prr        bool // linux profile: in CWR, the window brought down by PRR (cwrPRR)
}

// synECNFlags returns the ECN flags of our SYN or SYN-ACK.
func (c *Conn) synECNFlags() uint8 {
	switch {
	case c.state == SynSent && c.p.cfg.ECN == ECNOn:
		return flagECE | flagCWR // RFC 3168 §6.1.1: an ECN-setup SYN
	case c.state == SynReceived && c.ecn.ok:
		return flagECE // an ECN-setup SYN-ACK
	}
	return 0
}

// ecnSynReceived records whether the peer's SYN asks for ECN.
func (c *Conn) ecnSynReceived(s *segment) {
	c.ecn.ok = c.p.cfg.ECN != ECNOff && s.has(flagECE) && s.has(flagCWR)
}

// ecnSynAckReceived records whether the peer's SYN-ACK agrees to ECN.
func (c *Conn) ecnSynAckReceived(s *segment) {
	c.ecn.ok = c.p.cfg.ECN == ECNOn && s.has(flagECE) && !s.has(flagCWR)
}

// ecnFlags returns the ECN flags of a segment the connection sends:
// ECE while the receiver owes the sender notice of a CE mark, CWR on the
// first new data segment after a reduction.
func (c *Conn) ecnFlags(newData bool) uint8 {
	if !c.ecn.ok {
		return 0
	}
	var f uint8
	if c.ecn.demandCWR {
		f |= flagECE
	}
	if newData && c.ecn.queueCWR {
		c.ecn.queueCWR = false
		f |= flagCWR
	}
	return f
}

// ecnInput handles the ECN side of an acceptable segment: a CE mark on
// data asks the sender to slow down (ECE until CWR), and CWR says it has.
func (c *Conn) ecnInput(s *segment) {
	if !c.ecn.ok {
		return
	}
	if s.has(flagCWR) {
		c.ecn.demandCWR = false
	}
	// CE on data we already have is not looked at (Linux checks it on
	// new data only, tcp_data_ecn_check): the linux profile takes a
	// copy of old data ending at rcv_wup (acceptable), and its mark
	// says nothing of the path now (testdata/pkt/ecn/old-data-ce.pkt).
	if s.ecn == ECNCE && len(s.payload) > 0 && c.rcvNxt.LessThan(s.seq.Add(s.seqLen())) {
		c.p.counters.InCEMarks++
		if !c.ecn.demandCWR {
			c.ecn.demandCWR = true
			// Linux: do not delay the ACK that carries ECE; the sender
			// may have a small window.
			c.needAck(whyECE)
			c.ecnEvent("ce", fmt.Sprintf("CE mark on %d bytes at %d → ECE until CWR (RFC 3168 §6.1.3)", len(s.payload), uint32(s.seq-c.irs)))
		}
	}
}

// inCWR reports Linux's CWR state: an ECN reduction whose window
// SND.UNA has not yet passed (tcp_end_cwnd_reduction ends it there).
func (c *Conn) inCWR() bool {
	return c.ecn.prr || !c.cwrPRR() && c.ecn.reduced && c.sndUna.LessThan(c.ecn.reduceSeq)
}

// cwrPRR reports whether an ECN reduction goes as Linux's CWR state: the
// linux profile with RACK recovery. Linux's tcp_enter_cwr sets ssthresh
// from the window before the ECE's ACK grows it, and then brings cwnd
// down by PRR (tcp_cwnd_reduction), as a fast recovery does, not at
// once; the state ends, cwnd at ssthresh, once SND.UNA passes what was
// sent when it began (testdata/pkt/ecn/cwr-prr.pkt). RFC 3168 §6.1.2
// halves the window at once: the rfc profile does.
func (c *Conn) cwrPRR() bool { return c.linux() && c.rackOn() }

// ecnCWR is cwrPRR's part of an ACK up to ack, before the window grows
// on it (tcp_fastretrans_alert, ahead of tcp_cong_control): the CWR state
// ends once ack passes its start's SND.NXT, and an ECE outside a
// reduction starts one.
func (c *Conn) ecnCWR(s *segment, ack seqnum.Value) {
	if c.ecn.prr && c.ecn.reduceSeq.LessThan(ack) {
		c.ecn.prr = false
		prrCwnd := c.cwnd()
		c.cc.ExitRecovery(c.p.net.Now(), c.cc.Ssthresh())
		if c.p.net.Tracing() {
			c.lossEvent("cwr done", fmt.Sprintf("the data sent before the ECE is acknowledged → CWR done: cwnd %d → ssthresh %d", prrCwnd, c.cc.Cwnd()))
		}
	}
	if !c.ecn.ok || !s.has(flagECE) || c.ecn.prr || c.inRecovery || c.inLossEpisode() {
		return
	}
	ls := c.loss()
	before, beforeSS := c.cc.Cwnd(), c.cc.Ssthresh()
	c.cc.EnterRecovery(c.p.net.Now(), int(c.sndUna.Size(c.sndMax)))
	ls.recoverFS = max(before, 1)
	ls.prrDelivered, ls.prrOut, ls.prrCwnd = 0, 0, before
	c.ecn.prr = true
	c.ecn.reduceSeq, c.ecn.reduced = c.sndMax, true
	c.ecn.queueCWR = true
	c.ecn.reductions++
	c.p.counters.ECNReductions++
	c.ccEvent(before, beforeSS, "ecn: CWR")
}

// ecnAck reacts to an ACK with ECE: once per window of data, the
// congestion window is reduced as for a loss (RFC 3168 §6.1.2), and CWR
// goes out on the next new data.
func (c *Conn) ecnAck(s *segment) {
	if !c.ecn.ok || !s.has(flagECE) || s.has(flagSYN) || c.cwrPRR() {
		return
	}
	if c.inRecovery || (c.ecn.reduced && !c.ecn.reduceSeq.LessThan(c.sndUna)) {
		// A loss recovery reduces already, or this ACK is for data sent
		// before the last reduction: its ECE is for the same window.
		return
	}
	now := c.p.net.Now()
	flight := int(c.sndUna.Size(c.sndMax))
	before, beforeSS := c.cc.Cwnd(), c.cc.Ssthresh()
	c.cc.EnterRecovery(now, flight)
	c.cc.ExitRecovery(now, flight)
	c.ecn.reduceSeq, c.ecn.reduced = c.sndMax, true
	c.ecn.queueCWR = true
	c.ecn.reductions++
	c.p.counters.ECNReductions++
	c.ccEvent(before, beforeSS, "ecn")
}

func (c *Conn) ecnEvent(name, detail string) {
	if c.p.net.Tracing() {
		c.p.net.Observe(&core.Event{Kind: core.EventCongestion, FD: -1, Proto: "tcp", Conn: c.tuple, Name: name, Detail: detail})
	}
}
