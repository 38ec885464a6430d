package tcp

import (
	"fmt"
	"syscall"
	"time"

	"stacklab/stack/tcp/cc"
	"stacklab/stack/tcp/seqnum"
)

// needAck asks for an immediate ACK, sent by output unless a data
// segment carries it first.
func (c *Conn) needAck(why string) {
	c.ackNow = true
	c.ackWhy = why
}

// linuxMinSndMSS is Linux's net.ipv4.tcp_min_snd_mss default
// (TCP_MIN_SND_MSS): the least MSS a peer's SYN can make it use.
const linuxMinSndMSS = 48

// negotiate records the options of the peer's SYN (RFC 9293 §3.7.1,
// RFC 7323 §1.3 and §3.2, RFC 2018 §2).
func (c *Conn) negotiate(s *segment) {
	cfg := &c.p.cfg
	mss := peerDefaultMSS(c.tuple.Local.Addr())
	if s.opts.HasMSS {
		mss = int(s.opts.MSS)
	}
	// A floor under the peer's MSS: Linux's tcp_min_snd_mss (48, before
	// the timestamp option's 12 bytes come off; mss/tiny-peer-mss.pkt),
	// stacklab's own 64 under the rfc profile (RFC 9293 sets none).
	floor := 64
	if c.linux() {
		floor = linuxMinSndMSS
	}
	c.mss = max(min(mss, c.rcvMSS), floor)
	c.wsOK = s.opts.HasWScale && !cfg.NoWindowScale
	if c.wsOK {
		c.sndWScale = min(s.opts.WScale, 14) // RFC 7323 §2.3
	} else {
		c.sndWScale, c.rcvWScale = 0, 0
	}
	c.tsOK = s.opts.HasTS && !cfg.NoTimestamps
	if c.tsOK {
		c.tsRecent = s.opts.TSVal
	}
	c.sackOK = s.opts.SACKPermitted && !cfg.NoSACK
	c.cc.SetMSS(c.sendMSS())
}

// established finishes the handshake.
func (c *Conn) established() {
	c.synced = true
	if c.finQueued {
		c.setState(FinWait1)
	} else {
		c.setState(Established)
	}
	c.cc.SetMSS(c.sendMSS())
	c.autotuneStart()
	if c.keepAlive {
		c.ka.arm(c.keepIdle)
	}
	// RFC 6298 §5.7: after a SYN timed out, start data with an RTO of
	// at least 3 s unless an RTT was measured.
	if c.rtos > 0 && c.srtt == 0 {
		c.rto = min(max(c.rto, 3*time.Second), c.p.cfg.RTOMax)
	}
}

// inputSynSent handles a segment in SYN_SENT (RFC 9293 §3.10.7.3).
func (c *Conn) inputSynSent(s *segment) {
	p := c.p
	ackOK := false
	if s.has(flagACK) {
		if s.ack.LessThanEq(c.iss) || c.sndMax.LessThan(s.ack) {
			p.counters.DropSynSent++
			p.drop(c, "DropSynSent", "unacceptable ACK in SYN_SENT", s.pktID)
			p.resetFor(c.tuple, s, whyRSTBadAck)
			return
		}
		ackOK = true
	}
	if s.has(flagRST) {
		if ackOK {
			c.fail(syscall.ECONNREFUSED)
			return
		}
		p.counters.DropSynSent++
		p.drop(c, "DropSynSent", "RST without ACK in SYN_SENT", s.pktID)
		return
	}
	if !s.has(flagSYN) {
		p.counters.DropSynSent++
		p.drop(c, "DropSynSent", "no SYN in SYN_SENT", s.pktID)
		return
	}
	c.irs = s.seq
	c.rcvNxt = s.seq.Add(1)
	c.lastAckSent = c.rcvNxt
	c.rcvAdv = c.rcvNxt.Add(seqnum.Size(c.synWindow()))
	c.rcvWndEdge = c.rcvNxt.Add(seqnum.Size(c.initialRcvWnd()))
	c.negotiate(s)
	if ackOK {
		c.ecnSynAckReceived(s)
	}
	c.lastRecv = p.net.Now()
	c.sndWnd = uint32(s.wnd) // a SYN's window is never scaled (RFC 7323 §2.2)
	c.maxSndWnd = c.sndWnd
	c.sndWl1 = s.seq
	if !ackOK {
		// Simultaneous open.
		c.setState(SynReceived)
		c.sendSYN(whySimOpen, false)
		return
	}
	c.sndUna, c.sndWl2 = s.ack, s.ack
	if c.rttTiming && c.rttSeq.LessThanEq(s.ack) {
		c.rttTiming = false
		c.updateRTO(p.net.Now().Sub(c.rttStart), 1)
	} else if r, ok := c.tsRTT(s); ok {
		c.updateRTO(r, 1) // the SYN was resent: its echo still times it
	}
	c.backoff = 0
	c.rtx.disarm()
	c.established()
	c.needAck(whyHandshakeAck)
	switch {
	case !(len(s.payload) > 0 || s.has(flagFIN)):
	case c.linux():
		// Linux (tcp_rcv_synsent_state_process, without Fast Open)
		// acknowledges the SYN alone and drops what came with it; the
		// peer sends it again (testdata/pkt/handshake/syn-ack-data.pkt).
		// RFC 9293 §3.10.7.3 queues it: the rfc profile does.
		p.drop(c, "DropSynSent", "data on the SYN-ACK: the SYN alone is taken", s.pktID)
	default:
		s.seq++
		s.flags &^= flagSYN
		c.receive(s)
	}
	c.output(whySend)
	c.wake()
}

// acceptable applies the segment acceptance test of RFC 9293 §3.10.7.4.
// ackOnly reports a segment whose text must be ignored (zero window)
// but whose ACK is still processed.
func (c *Conn) acceptable(s *segment) (ok, ackOnly bool) {
	l := s.seqLen()
	if c.linux() && s.seq.LessThan(c.rcvNxt) {
		// Linux's tcp_sequence looks at where a segment ends, from
		// rcv_wup, RCV.NXT as the last ACK sent gave it: one that ends
		// there or later is taken, though all of it be old (RFC 9293
		// wants a byte at or past RCV.NXT). Its ACK is processed, and
		// its data reported as a duplicate (receive): a copy of the
		// last segment that carries a new ACK, or a BSD keepalive's old
		// byte (testdata/pkt/sack/old-copy-acks.pkt).
		if end := s.seq.Add(l); !end.LessThan(c.lastAckSent) && end.LessThanEq(c.rcvNxt) {
			return true, false
		}
	}
	wnd := seqnum.Size(0)
	if d := int32(c.rcvAdv - c.rcvNxt); d > 0 {
		wnd = seqnum.Size(d)
	}
	switch {
	case l == 0 && wnd == 0:
		return s.seq == c.rcvNxt, false
	case l == 0:
		return s.seq.InWindow(c.rcvNxt, wnd), false
	case wnd == 0:
		return s.seq == c.rcvNxt, true
	}
	return s.seq.InWindow(c.rcvNxt, wnd) || s.seq.Add(l-1).InWindow(c.rcvNxt, wnd), false
}

// inputSynRecvLinux applies Linux's tcp_check_req to a segment for a
// passive open in SYN_RECEIVED, in its order, and reports whether it
// consumed the segment; an acceptable ACK goes on to input's steps. As
// checked on Linux 6.18 (testdata/pkt/robustness/synrecv-*.pkt):
//   - a retransmitted SYN (the peer's ISN, no ACK or RST) gets the SYN-ACK
//     again and restarts its timer, at most once per tcp_invalid_ratelimit;
//   - an ACK of anything but our SYN gets a RST, and the connection stays;
//   - a segment outside the window (or failing PAWS) gets an ACK, a SYN or
//     an empty segment at most once per tcp_invalid_ratelimit (shared with
//     the retransmitted SYN);
//   - a RST inside the window but not at RCV.NXT gets a challenge ACK
//     (RFC 5961 §3.2) under the same limit; one at RCV.NXT ends it;
//   - a new SYN inside the window ends it with a RST (RFC 9293 says to
//     return to LISTEN silently).
func (c *Conn) inputSynRecvLinux(s *segment) bool {
	p := c.p
	paws := c.tsOK && s.opts.HasTS && !s.has(flagRST) && c.pawsReject(s)
	if s.flags&(flagSYN|flagACK|flagRST) == flagSYN && s.seq == c.irs && !paws {
		if !c.oowAllowed() {
			p.counters.AckSkippedSynRecv++
			p.drop(c, "AckSkippedSynRecv", "retransmitted SYN within the rate limit", s.pktID)
			return true
		}
		c.rttTiming = false // Karn: the handshake's ACK may answer either SYN-ACK
		c.sendSYN(whySynAckDupSyn, true)
		c.rtx.arm(c.rto) // inet_rtx_syn_ack's caller restarts the timer
		return true
	}
	if s.has(flagACK) && s.ack != c.iss.Add(1) {
		// The listener answers an unacceptable ACK; the pending
		// connection is untouched.
		if !s.has(flagRST) {
			p.counters.DropAckTooNew++
			p.drop(c, "DropAckTooNew", "ACK of anything but our SYN", s.pktID)
			p.resetFor(c.tuple, s, whyRSTBadAck)
		}
		return true
	}
	if paws || !c.inWindowLinux(s) {
		if paws {
			p.counters.DropPAWS++
			p.drop(c, "DropPAWS", "old timestamp", s.pktID)
		} else {
			p.counters.DropOutOfWindow++
			p.drop(c, "DropOutOfWindow", "unacceptable sequence number", s.pktID)
		}
		if s.has(flagRST) {
			return true
		}
		// Linux's tcp_oow_rate_limited lets data and FINs through.
		if (s.has(flagSYN) || s.seqLen() == 0) && !c.oowAllowed() {
			p.counters.AckSkippedSynRecv++
			return true
		}
		c.sendAck(whyOutOfWindow)
		return true
	}
	switch {
	case s.has(flagRST) && s.seq != c.rcvNxt:
		c.challengeAck()
	case s.has(flagRST):
		p.counters.EmbryonicRsts++
		c.destroy()
	case s.has(flagSYN):
		p.counters.EmbryonicRsts++
		p.resetFor(c.tuple, s, whyRSTSynRecv)
		c.destroy()
	default:
		return false
	}
	return true
}

// inWindowLinux is Linux's tcp_in_window for SYN_RECEIVED: the segment
// starts at RCV.NXT, or overlaps the window, or is empty at its right edge.
func (c *Conn) inWindowLinux(s *segment) bool {
	end := s.seq.Add(s.seqLen())
	switch {
	case s.seq == c.rcvNxt:
		return true
	case c.rcvNxt.LessThan(end) && s.seq.LessThan(c.rcvAdv):
		return true
	}
	return s.seq == c.rcvAdv && s.seq == end
}

// input handles a segment for this connection (RFC 9293 §3.10.7.4).
func (c *Conn) input(s *segment) {
	p := c.p
	if c.state == SynSent {
		c.inputSynSent(s)
		return
	}
	if c.state == SynReceived && c.passive && c.linux() && c.inputSynRecvLinux(s) {
		return
	}
	now := p.net.Now()
	if c.state == SynReceived && s.has(flagSYN) {
		switch {
		case s.has(flagACK) && !c.passive && s.seq.Add(1) == c.rcvNxt && s.ack == c.sndNxt:
			// Simultaneous open: the peer's SYN-ACK (RFC 9293 §3.5
			// figure 8).
			c.sndUna, c.sndWl1, c.sndWl2 = s.ack, s.seq, s.ack
			c.sndWnd = uint32(s.wnd)
			if c.tsOK && s.opts.HasTS && int32(s.opts.TSVal-c.tsRecent) >= 0 {
				// RFC 7323 §4.3: the SYN-ACK's sequence number is below
				// Last.ACK.sent, so its TSval is the one to echo now.
				c.tsRecent = s.opts.TSVal
			}
			c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
			c.lastRecv = now
			c.rtx.disarm()
			c.established()
			c.output(whySend)
			c.wake()
			return
		case !s.has(flagACK) && s.seq == c.irs:
			c.sendSYN(whySynAckRetrans, true) // the SYN was retransmitted
			return
		}
	}
	// PAWS (RFC 7323 §5.3).
	if c.tsOK && s.opts.HasTS && !s.has(flagRST) && c.pawsReject(s) {
		p.counters.DropPAWS++
		p.drop(c, "DropPAWS", "old timestamp", s.pktID)
		switch {
		case s.has(flagSYN):
			// Linux's tcp_validate_incoming: a SYN goes to its
			// challenge ACK whatever its timestamp.
			c.synChallenge()
		case s.seqLen() == 0 && !c.oowAllowed():
			// A pure ACK is answered at most once per
			// tcp_invalid_ratelimit (TCPACKSkippedPAWS).
			p.counters.AckSkippedPAWS++
		default:
			c.dupAck(s, whyPAWS)
		}
		return
	}
	// Step 1: sequence number check.
	ok, ackOnly := c.acceptable(s)
	if !ok {
		if !s.has(flagRST) && s.seq == c.rcvNxt-1 && len(s.payload) <= 1 && !s.has(flagSYN|flagFIN) {
			// A keepalive or zero-window probe (RFC 1122 §4.2.3.6,
			// RFC 9293 §3.8.6.1): answer it; it is not a drop.
			c.sendAck(whyProbeAck)
			return
		}
		if s.has(flagSYN) && !s.has(flagRST) {
			// RFC 5961 §4.2: a SYN, whatever its sequence number, gets
			// a challenge ACK, rate-limited like every other (Linux's
			// tcp_validate_incoming goes to syn_challenge; checked on
			// Linux 6.18: testdata/pkt/robustness/oow-syn-challenge.pkt).
			p.counters.DropOutOfWindow++
			p.drop(c, "DropOutOfWindow", "unacceptable sequence number", s.pktID)
			c.synChallenge()
			return
		}
		if s.has(flagRST) && c.resetCheck(s) {
			c.resetBy()
			return
		}
		p.counters.DropOutOfWindow++
		p.drop(c, "DropOutOfWindow", "unacceptable sequence number", s.pktID)
		if s.has(flagRST) {
			return
		}
		if s.seqLen() > 0 && s.seq.LessThan(c.rcvNxt) {
			// Data or a FIN we already have (RFC 2883 §4: report it in
			// a D-SACK block, as Linux's tcp_send_dupack, for which a
			// FIN counts: checked on Linux 6.18 by
			// testdata/pkt/close/last-ack.pkt).
			if len(s.payload) == 0 {
				c.dupAck(s, whyDSACKFIN)
			} else {
				c.dupAck(s, whyDSACK)
			}
			return
		}
		if s.seqLen() == 0 {
			// Like Linux (tcp_invalid_ratelimit): answer unacceptable
			// pure ACKs at most every 500 ms, so that two ends cannot
			// ping-pong ACKs.
			if !c.oowAllowed() {
				p.counters.AckSkippedSeq++
				return
			}
		}
		c.sendAck(whyOutOfWindow)
		return
	}
	c.lastRecv = now
	c.probes = 0
	if s.has(flagACK) {
		c.zwpOut = 0 // the peer answers (Linux's tcp_ack clears icsk_probes_out)
	}
	// Step 2: RST (RFC 5961 §3.2: only an exact match resets).
	if s.has(flagRST) {
		if s.seq != c.rcvNxt && !c.resetCheck(s) {
			c.challengeAck()
			return
		}
		c.resetBy()
		return
	}
	// Step 4: SYN (RFC 5961 §4.2: challenge ACK).
	if s.has(flagSYN) {
		if c.state == SynReceived && c.passive {
			c.destroy()
			return
		}
		c.synChallenge()
		return
	}
	// Step 5: ACK.
	if !s.has(flagACK) {
		p.counters.DropNoACK++
		p.drop(c, "DropNoACK", "no ACK bit", s.pktID)
		return
	}
	// RFC 7323 §4.3: remember the timestamp to echo; as Linux, only from
	// a segment that got this far (tcp_replace_ts_recent in tcp_ack), not
	// from a RST or SYN answered by a challenge ACK, which echoes the one
	// before: an old SYN under a new timestamp now gets this far in the
	// linux profile (acceptable; testdata/pkt/robustness/syn-challenge-ts.pkt).
	if c.tsOK && s.opts.HasTS && s.seq.LessThanEq(c.lastAckSent) {
		c.tsRecent = s.opts.TSVal
	}
	if c.state == SynReceived {
		if !c.sndUna.LessThan(s.ack) || c.sndMax.LessThan(s.ack) {
			p.resetFor(c.tuple, s, whyRSTBadAck)
			return
		}
		if c.passive && int(c.backoff) < int(c.deferAccept) && s.seqLen() == 0 {
			// TCP_DEFER_ACCEPT (Linux's tcp_check_req): the handshake's
			// ACK without data leaves the connection half-open, the ACK
			// noted (acked), until data comes or the deferral's SYN-ACK
			// timeouts have passed (onRTX).
			c.deferAcked = true
			p.counters.DeferAcceptDrop++
			p.drop(c, "DeferAcceptDrop", "TCP_DEFER_ACCEPT: the handshake's ACK brings no data", s.pktID)
			return
		}
		if c.passive && c.listener != nil && !c.listener.established(c) {
			p.counters.DropListenOverflow++
			p.drop(c, "DropListenOverflow", "accept queue full", s.pktID)
			return
		}
		c.sndWnd = uint32(s.wnd) << c.sndWScale
		c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
		c.sndWl1, c.sndWl2 = s.seq, s.ack
		c.established()
	}
	c.ecnInput(s)
	dlvBefore := c.tiDelivered()
	if !c.processAck(s) || c.dead {
		return
	}
	c.tiAfterAck(s, dlvBefore)
	c.ecnAck(s)
	// Step 6: the URG bit (Linux's tcp_urg), before the data is queued.
	if !ackOnly {
		c.urgInput(s)
	}
	// Steps 7 and 8: text and FIN.
	if !ackOnly && (len(s.payload) > 0 || s.has(flagFIN)) {
		c.receive(s)
		if c.dead {
			return
		}
	} else if ackOnly {
		c.needAck(whyOutOfWindow)
	}
	c.output(whyAckOpened)
}

// mayUpdateWindow reports whether segment s, acknowledging up to s.ack,
// sets the send window to nwin. RFC 9293 §3.10.7.4: a segment newer than
// the one that set it (SND.WL1, SND.WL2) does. The linux profile follows
// tcp_may_update_window: an ACK below SND.UNA never does (tcp_ack's
// old_ack), one that advances it or comes with a later sequence number
// always does, and one with the same sequence number only to widen the
// window or close it: an old copy of a segment does not shrink the window
// its original opened (testdata/pkt/zerowin/old-copy-window.pkt).
func (c *Conn) mayUpdateWindow(s *segment, nwin uint32) bool {
	ack := s.ack
	if c.sndUna.LessThan(ack) || c.sndWl1.LessThan(s.seq) && !(c.linux() && ack.LessThan(c.sndUna)) {
		return true
	}
	if s.seq != c.sndWl1 {
		return false
	}
	if c.linux() {
		return !ack.LessThan(c.sndUna) && (nwin > c.sndWnd || nwin == 0)
	}
	return c.sndWl2.LessThanEq(ack)
}

// processAck handles the ACK field (RFC 9293 §3.10.7.4 step 5, RFC 5961
// §5.2). It reports false when the segment is to be dropped.
func (c *Conn) processAck(s *segment) bool {
	p := c.p
	ack := s.ack
	if c.sndMax.LessThan(ack) {
		p.counters.DropAckTooNew++
		p.drop(c, "DropAckTooNew", "ACK of unsent data", s.pktID)
		if c.linux() {
			// Linux's tcp_ack answers with a challenge ACK, rate-limited
			// like the others (checked with packetdrill on Linux 6.18:
			// testdata/pkt/robustness/ack-unsent.pkt).
			c.challengeAck()
		} else {
			// RFC 9293 §3.10.7.4 and RFC 5961 §5.2: send an ACK.
			c.sendAck(whyOutOfWindow)
		}
		return false
	}
	if ack.LessThan(c.sndUna - seqnum.Value(c.maxSndWnd)) {
		p.counters.DropAckTooOld++
		p.drop(c, "DropAckTooOld", "ACK too old", s.pktID)
		c.challengeAck()
		return false
	}
	oldWnd := c.sndWnd
	newWnd := uint32(s.wnd) << c.sndWScale
	// RFC 9293 §3.10.7.4: update the window from a segment newer than
	// the one that set it. An ACK that advances SND.UNA is newer whatever
	// its sequence number (a retransmission filling a hole in our receive
	// queue lies below SND.WL1); keeping the old SND.WND would move the
	// usable window's right edge, SND.UNA+SND.WND, past the one the peer
	// offered (Linux's tcp_may_update_window takes it too).
	if c.mayUpdateWindow(s, newWnd) {
		c.sndWnd = newWnd
		c.maxSndWnd = max(c.maxSndWnd, newWnd)
		c.sndWl1, c.sndWl2 = s.seq, ack
	}
	priorPipe, priorUna := c.pipe(), c.sndUna
	priorSACKed := 0
	if c.ls != nil {
		priorSACKed = c.ls.sacked
	}
	advanced := c.sndUna.LessThan(ack)
	if c.ls != nil {
		c.ls.ackRTTCum, c.ls.ackRTTSack = false, false
		c.ls.seqRTT, c.ls.sackRTT = -1, -1
		c.ls.origAcked, c.ls.frtoWait = false, false
	}
	if advanced {
		// The cumulative ACK first, then the SACK blocks: what it
		// covers was delivered before what they report (RACK's
		// reordering test, RFC 8985 §6.2 step 3).
		c.txAcked(s, ack)
	}
	newSACKed := c.sackUpdate(s)
	sample := time.Duration(-1) // the linux profile's RTT sample of this ACK
	if c.linux() && c.ls != nil {
		sample = c.linuxAckRTT(s, advanced)
	}
	// The change in SACKed bytes (RFC 6937), negative where the
	// cumulative ACK covered SACKed data; newAck changes no SACK state.
	sackedDelta := 0
	if c.ls != nil {
		sackedDelta = c.ls.sacked - priorSACKed
		c.ackReordering()
		if c.ls.frto {
			// Before the window grows on this ACK, as Linux's
			// tcp_fastretrans_alert runs before tcp_cong_control.
			dup := !advanced && ack == c.sndUna && len(s.payload) == 0 && !s.has(flagFIN) && newWnd == oldWnd
			c.frtoOnAck(s, ack, newSACKed > 0, dup)
		}
	}
	if c.cwrPRR() {
		c.ecnCWR(s, ack)
	}
	if advanced {
		c.newAck(s, sackedDelta, sample)
		if c.dead {
			return false
		}
	} else if sackedDelta > 0 && c.linux() && c.ls.reorderingPkts() > linuxReordering {
		c.reorderedGrowth(sackedDelta)
	}
	if c.rackOn() && c.ls != nil {
		// RFC 6937: DeliveredData = change in SND.UNA + change in SACKed.
		delivered := int(priorUna.Size(c.sndUna)) + sackedDelta
		c.tlpAck(ack, false, advanced)
		c.rackOnAck(max(delivered, 0), priorPipe, advanced)
		// The timer moves on an ACK of new data or when RACK waits out
		// its reordering window; a pending probe timeout or RTO stays
		// where it was on any other ACK (RFC 8985 §7.2; Linux's
		// FLAG_SET_XMIT_TIMER, set only when data is acknowledged).
		if c.sndUna != c.sndMax && (advanced || c.ls.reoArmed || c.rtxKind == rtxReo) {
			c.armLossTimer()
		}
	}
	switch {
	case c.sndUna == c.sndMax:
	case c.rackOn():
		// RACK detects losses from send times; duplicate ACKs are
		// not counted.
	case c.sackRecovery() && newSACKed > 0 && !advanced:
		// RFC 6675 §2: an ACK that SACKs new data is a duplicate ACK
		// even when it carries data or changes the window. (The RFC
		// counts one that moves the cumulative ACK too; here that ACK
		// only resets the count, as in RFC 5681, since right after a
		// recovery it would start another for a segment still in
		// flight.)
		c.onDupAck(s)
	case c.sackRecovery() && s.opts.NSACK > 0:
		// SACK information, none new: not a duplicate ACK in RFC 6675's
		// sense (an ACK answering a duplicate segment with a D-SACK must
		// not start a recovery that would resend more duplicates).
	case !advanced && ack == c.sndUna && len(s.payload) == 0 && !s.has(flagFIN) && newWnd == oldWnd:
		c.onDupAck(s) // RFC 5681 §2 "DUPLICATE ACKNOWLEDGMENT"
	}
	if c.sndWnd > 0 && c.persist {
		if c.windowTooSmall() && !(c.corked || c.more) {
			// Still too small for the next segment: the probe timer
			// starts again with its backoff, as Linux's tcp_ack_probe.
			c.armPersist()
		} else {
			c.persist = false
			c.rtx.disarm()
			c.zwpProbes, c.zwpOut, c.zwpStart = 0, 0, time.Time{}
		}
	}
	return true
}

// newAck handles an ACK that advances SND.UNA.
// sackedDelta is the ACK's change in SACKed bytes; sample is the RTT
// sample the linux profile took from it (linuxAckRTT), negative if none.
func (c *Conn) newAck(s *segment, sackedDelta int, sample time.Duration) {
	p := c.p
	now := p.net.Now()
	ack := s.ack
	priorUna := c.sndUna
	flight := int(c.sndUna.Size(c.sndMax))
	cwndBefore, ssBefore := c.cwnd(), c.cc.Ssthresh()
	dupsBefore, recoveryBefore := c.dupAcks, c.inRecovery
	// The window grows only while cwnd limits the sender, not the
	// receive window, the send buffer or the application (RFC 9438
	// §5.8, RFC 7661 §4.3).
	appLimited := !c.isCwndLimited()
	dataAcked := 0
	if c.sndBase.LessThan(ack) {
		dataAcked = min(int(c.sndBase.Size(ack)), c.sndBuf.n)
		if dataAcked > 0 {
			c.sndBuf.consume(dataAcked)
			c.sndBase = c.sndBase.Add(seqnum.Size(dataAcked))
			if c.sndBuf.n == 0 {
				c.sndBuf.release(p)
			}
		}
	}
	// RTT: the timed segment gives an exact sample once a round trip;
	// with timestamps every ACK that advances SND.UNA gives one
	// (RFC 7323 §4.2), retransmitted data included. The linux profile
	// took its sample in processAck, as Linux's does (rttm.go).
	var rtt time.Duration
	switch {
	case c.linux() && c.ls != nil:
		rtt = max(sample, 0) // taken in processAck (linuxAckRTT)
	case c.rttTiming && c.rttSeq.LessThanEq(ack):
		c.rttTiming = false
		rtt = now.Sub(c.rttStart)
		c.updateRTO(rtt, c.expectedSamples(flight))
	default:
		r, ok := c.tsRTT(s)
		if !ok {
			break
		}
		rtt = r
		c.updateRTO(rtt, c.expectedSamples(flight))
	}
	if c.backoff > 0 {
		c.backoff = 0
		if c.srtt > 0 {
			c.rto = c.computeRTO()
		}
	}
	c.sndUna = ack
	if c.sndNxt.LessThan(c.sndUna) {
		c.sndNxt = c.sndUna
	}
	c.bytesAcked += uint64(dataAcked)
	// Congestion control and loss recovery.
	grow := false // this ACK grows cwnd
	if c.inRecovery && c.rackOn() {
		if c.recover.LessThan(ack) {
			c.rackExitRecovery(s, cwndBefore, ssBefore)
			// Linux grows cwnd on the ACK that ends recovery too:
			// tcp_fastretrans_alert opens the state and sets cwnd to
			// ssthresh, then tcp_cong_control, out of the reduction,
			// gives the ACK's delivery to the controller
			// (cubic/after-recovery.pkt). RFC 6582 §3.2 step 4 sets
			// cwnd and stops there.
			grow = c.linux() && !c.inRecovery
		} else {
			c.rackUndoPartial(s, priorUna)
		}
	} else if c.inRecovery {
		if c.recover.LessThan(ack) {
			// Full ACK (RFC 6582 §3.2 step 4).
			c.inRecovery = false
			if c.undoByTimestamp(s) {
				goto timers
			}
			c.dupAcks = 0
			c.cc.ExitRecovery(now, int(c.sndUna.Size(c.sndMax)))
			c.ccEvent(cwndBefore, ssBefore, "recovery done")
		} else if c.sackRecovery() {
			c.sackPartialAck()
			c.sackRetransmit()
		} else {
			// Partial ACK (RFC 6582 §3.2 step 3).
			c.cc.Deflate(dataAcked)
			c.retransmitAt(c.sndUna, c.sendMSS(), whyPartialAck)
		}
	} else {
		c.dupAcks = 0
		if c.ls != nil && c.ls.undoOn && c.ls.episode == "rto" && c.ls.retransTSSet {
			switch {
			case c.recover.LessThan(ack):
				// The RTO's retransmissions are all acknowledged: undo
				// if the ACK echoes the original transmission (Eifel).
				c.undoByTimestamp(s)
				c.ls.retransTSSet = false
			case c.linux() && c.inLossEpisode():
				// Linux tries at every ACK that advances SND.UNA in
				// the loss episode (tcp_process_loss: tcp_try_undo_loss),
				// before F-RTO looks at it: a partial ACK that echoes
				// the original undoes at once, and the segments still
				// marked lost are not sent again.
				if c.packetDelayed(s) {
					c.ls.unmarkLost()
					c.undo("timestamps: an ACK in the timeout's loss episode echoes the original, not the retransmission (Eifel)")
				}
			}
		}
		grow = true
	}
	if grow && dataAcked > 0 && !c.ecn.prr {
		ccRTT := rtt
		if c.ls != nil && c.ls.ackRTT > 0 && (ccRTT == 0 || c.linux()) {
			// Without timestamps only one segment per round trip is
			// timed; the retransmission queue times every ACK, as
			// Linux's tcp_clean_rtx_queue does for its controllers.
			// Linux gives them that time (ca_rtt_us, from the last
			// segment the ACK covers) even with timestamps, whose
			// echo is the oldest segment's.
			ccRTT = c.ls.ackRTT
		}
		delivered := dataAcked
		if c.linux() {
			// Linux grows cwnd by what this ACK delivered
			// (tcp_cong_avoid's acked_sacked: newly SACKed, and newly
			// acknowledged that was not SACKed before). Data a
			// duplicate ACK SACKed grew nothing then, and grows nothing
			// when the cumulative ACK covers it
			// (fastretx/sacked-no-growth.pkt).
			delivered = max(dataAcked+sackedDelta, 0)
			if !c.sackOK && !recoveryBefore && dupsBefore > 0 {
				// Without SACK, Linux counts each duplicate ACK as a
				// segment delivered (tcp_add_reno_sack), so the ACK
				// that then moves SND.UNA delivers what it covers less
				// those, at least one segment (tcp_remove_reno_sacks):
				// two duplicates then an ACK of three segments grow
				// cwnd by one (limited transmit, fastretx/reno-dupacks-delivered.pkt).
				mss := c.sendMSS()
				sacked := min(dupsBefore, c.pcount(flight)-1) * mss
				delivered = max(delivered-sacked, min(delivered, mss))
			}
		}
		c.ccGrow(cc.Ack{Now: now, Acked: delivered, RTT: ccRTT, Inflight: flight, AppLimited: appLimited, Una: ack, Nxt: c.sndMax, SRTT: c.srtt, Jiffies: c.ccJiffies()}, cwndBefore, ssBefore)
	}
timers:
	// RFC 6298 §5.2–5.3.
	if c.sndUna == c.sndMax {
		c.rtx.disarm()
	} else {
		c.armRTO()
	}
	if c.finAcked() {
		switch c.state {
		case FinWait1:
			c.setState(FinWait2)
			if c.orphan {
				if !c.twTake() {
					c.destroy() // as Linux's tcp_time_wait(FIN_WAIT2) finding no room
					return
				}
				c.ka.arm(c.finWait2Timeout())
			}
		case Closing:
			c.enterTimeWait()
			if c.dead {
				return // closed without TIME_WAIT (MaxTimeWait)
			}
		case LastAck:
			c.destroy()
			return
		}
	}
	if dataAcked > 0 {
		c.pshAcked()
		c.checkSpace()
		c.wake()
	}
}

// reorderedGrowth grows cwnd on an ACK that SACKs new data without
// moving SND.UNA, once reordering beyond tcp_reordering (3) has been
// measured: Linux's tcp_may_raise_cwnd then takes any forward progress
// (FLAG_FORWARD_PROGRESS) where it otherwise takes only data
// acknowledged, and grows by what was newly SACKed, outside a cwnd
// reduction (Recovery or CWR: tcp_in_cwnd_reduction). The RFCs grow on
// new cumulative ACKs only (RFC 5681 §3.1).
// fastretx/reordering-grows-cwnd.pkt.
func (c *Conn) reorderedGrowth(sacked int) {
	if c.inRecovery || c.inCWR() {
		return
	}
	c.ccGrow(cc.Ack{Now: c.p.net.Now(), Acked: sacked, Inflight: int(c.sndUna.Size(c.sndMax)),
		AppLimited: !c.isCwndLimited(), Una: c.sndUna, Nxt: c.sndMax, SRTT: c.srtt, Jiffies: c.ccJiffies()}, c.cwnd(), c.cc.Ssthresh())
}

// ccGrow gives an ACK's delivery to the congestion controller, and
// traces what it changed: HyStart's state, the end of slow start.
// cwndBefore and ssBefore are cwnd and ssthresh before the ACK.
func (c *Conn) ccGrow(a cc.Ack, cwndBefore, ssBefore int) {
	inSS := c.cc.InSlowStart()
	hs, hsOK := c.cc.(cc.HyStarter)
	var hsBefore cc.HyStartState
	if hsOK {
		hsBefore = hs.HyStart()
	}
	c.cc.OnAck(a)
	if hsOK {
		c.hystartEvent(hsBefore, hs.HyStart())
	}
	if inSS && !c.cc.InSlowStart() {
		c.ccEvent(cwndBefore, ssBefore, "slow start → congestion avoidance")
	}
}

// onDupAck counts a duplicate ACK and starts fast retransmit on the
// third (RFC 5681 §3.2, RFC 6582 §3.2).
func (c *Conn) onDupAck(s *segment) {
	c.dupAcks++
	if c.inRecovery {
		if c.sackRecovery() {
			c.sackRetransmit()
		} else {
			c.cc.Inflate(c.sendMSS()) // RFC 5681 §3.2 step 4: SMSS, the size of the segments sent
		}
		return
	}
	if c.dupAcks < 3 && !(c.sackRecovery() && c.sackLost()) {
		return // limited transmit (RFC 3042) in output
	}
	if !c.recover.LessThan(c.sndUna) {
		// RFC 6582 §3.2 step 1: the ACK does not cover recover, the
		// highest sequence number sent when the last recovery or RTO
		// began; these duplicates may be that episode's.
		return
	}
	p := c.p
	now := p.net.Now()
	flight := int(c.sndUna.Size(c.sndMax))
	before, beforeSS := c.cc.Cwnd(), c.cc.Ssthresh()
	c.undoStart("recovery", before, beforeSS)
	c.recover = c.sndMax - 1 // RFC 6582 §3.2 step 2: the highest sequence number sent
	c.inRecovery = true
	c.cc.EnterRecovery(now, flight)
	p.counters.FastRetrans++
	c.fastRetrans++
	why := whyFastRetransmit
	if c.dupAcks < 3 {
		why = whySACKLoss // RFC 6675 §5: IsLost(SND.UNA) before three dup ACKs
	}
	if p.net.Tracing() {
		if c.dupAcks < 3 {
			why = fmt.Sprintf("%d dup ACK(s), SACKed data past SND.UNA → fast retransmit (RFC 6675), cwnd %d → %d", c.dupAcks, before/c.sendMSS(), c.cc.Cwnd()/c.sendMSS())
		} else {
			why = fmt.Sprintf("%d dup ACKs → fast retransmit, cwnd %d → %d", c.dupAcks, before/c.sendMSS(), c.cc.Cwnd()/c.sendMSS())
		}
	}
	c.ccEvent(before, beforeSS, "fast retransmit")
	if c.sackRecovery() {
		p.counters.SACKRecovery++
		c.sackEnter(why)
	} else {
		p.counters.RenoRecovery++
		c.cc.Inflate(3 * c.sendMSS()) // RFC 5681 §3.2 step 3
		c.retransmitAt(c.sndUna, c.sendMSS(), why)
	}
	c.armRTO()
}

// enterTimeWait moves to TIME_WAIT for 2·MSL (RFC 9293 §3.10.7.4),
// unless Config.MaxTimeWait connections are there already (twTake):
// then the connection ACKs the FIN that brought it here (if it has not
// yet) and closes at once.
func (c *Conn) enterTimeWait() {
	if !c.twTake() {
		if c.ackNow {
			c.sendAck(c.ackWhy)
		}
		c.destroy()
		return
	}
	c.setState(TimeWait)
	c.rtx.disarm()
	c.sndBuf.release(c.p)
	c.ka.arm(2 * c.p.cfg.MSL)
}

// bytesPastRcvNxt reports whether the segment's data goes past RCV.NXT
// (Linux's after(end_seq - fin, rcv_nxt)): new bytes, not a FIN alone.
func (c *Conn) bytesPastRcvNxt(s *segment) bool {
	return c.rcvNxt.LessThan(s.seq.Add(seqnum.Size(len(s.payload))))
}

// receive handles the segment text and FIN (RFC 9293 §3.10.7.4 steps 7
// and 8).
func (c *Conn) receive(s *segment) {
	p := c.p
	if l := s.seqLen(); l > 0 && s.seq.Add(l).LessThanEq(c.rcvNxt) {
		// All of it we have (the linux profile takes such a segment:
		// acceptable), in any state: Linux's tcp_data_queue, as
		// tcp_send_dupack for one outside the window (dupAck), but
		// looking at the flow label whatever SACK says.
		p.counters.DelayedACKLost++
		p.drop(c, "DelayedACKLost", "all of it already received", s.pktID)
		c.spuriousRetrans(s)
		c.setDSACK(s.seq, s.seq.Add(l))
		c.enterQuickAck()
		if len(s.payload) == 0 {
			c.needAck(whyDSACKFIN)
		} else {
			c.needAck(whyDSACK)
		}
		return
	}
	switch c.state {
	case Established, FinWait1, FinWait2:
	case CloseWait, Closing, LastAck:
		// After the peer's FIN: ignored (RFC 9293 §3.10.7.4 step 7), but
		// under the linux profile a segment that starts before RCV.NXT
		// and brings bytes past it, data after the peer's own FIN, resets
		// the connection (tcp_rcv_state_process, TCPAbortOnData).
		if c.linux() && s.seq.LessThan(c.rcvNxt) && c.bytesPastRcvNxt(s) {
			c.dataAfterFIN(s)
		}
		return
	default:
		return
	}
	if c.bytesPastRcvNxt(s) && (c.orphan || c.rdShutUser && c.linux() && c.state != Established) {
		// Like Linux (tcp_rcv_state_process, TCPAbortOnData): data for
		// a closed socket, or in FIN_WAIT for one shut down both ways
		// (RCV_SHUTDOWN), ends it with a RST made from the segment.
		c.abortOnData(s)
		return
	}
	seq, data, fin := s.seq, s.payload, s.has(flagFIN)
	if seq.LessThan(c.rcvNxt) {
		skip := int(seq.Size(c.rcvNxt))
		if len(data) > 0 {
			// Partly old: D-SACK the part we had (RFC 2883 §4.1).
			c.setDSACK(seq, seq.Add(seqnum.Size(min(skip, len(data)))))
			c.needAck(whyDSACK)
		}
		if skip > len(data) {
			fin = false // an old FIN
		}
		data = data[min(skip, len(data)):]
		seq = c.rcvNxt
	}
	free := c.rcvBufSize - c.rcvBuf.n
	if adv := int(int32(c.rcvAdv - c.rcvNxt)); adv > free {
		free = min(adv, c.rcvCap()-c.rcvBuf.n) // what rounding the window up offered
	}
	off := int(c.rcvNxt.Size(seq))
	if off+len(data) > free {
		data = data[:max(free-off, 0)]
		fin = false
		p.counters.DropRcvBufFull++
		p.drop(c, "DropRcvBufFull", "beyond the receive window", s.pktID)
		c.needAck(whyOutOfWindow)
	}
	if len(data) == 0 && !fin {
		c.needAck(whyOutOfWindow)
		return
	}
	if off > 0 {
		// Out of order: keep it within the window and ACK at once
		// (RFC 5681 §4.2) with SACK blocks.
		if len(data) > 0 && !c.rdShut {
			c.saveFlow(s) // tcp_data_queue_ofo
			if c.addOOO(seq, data) {
				c.tx().rcvOOOPack++ // tcp_data_queue_ofo
				if c.linux() {
					size, tailr := c.segTruesize(s, len(s.payload))
					c.measureRcvMSS(len(s.payload), size, int(s.hdrLen), s.flags)
					if c.sackOK {
						if c.growRcvWindow(len(s.payload), size) {
							c.quickAcks |= 1
						}
					}
					c.queueOfoSkb(seq, seq.Add(seqnum.Size(len(data))), size, tailr)
				}
			} else {
				p.counters.DropOFOQueueFull++
				p.drop(c, "DropOFOQueueFull", "too many out-of-order ranges", s.pktID)
			}
		}
		if fin {
			c.rcvFinPending = true
			c.rcvFinSeq = seq.Add(seqnum.Size(len(data)))
		}
		c.needAck(whyDupAck)
		return
	}
	if len(data) > 0 {
		grew := false // rcv_ssthresh grew (growRcvWindow)
		if c.linux() {
			c.rmem() // before RCV.NXT moves: it takes rcv_wnd from the edge offered
		}
		if !c.rdShut {
			c.rcvBuf.writeAt(p, c.rcvCap(), c.rcvBuf.n, data)
			c.rcvBuf.n += len(data)
		}
		c.rcvNxt = c.rcvNxt.Add(seqnum.Size(len(data)))
		c.bytesReceived += uint64(len(data))
		if c.linux() {
			// tcp_queue_rcv, then tcp_event_data_recv's measure and
			// window growth, then tcp_ofo_queue (rmem.go).
			size, tailr := c.segTruesize(s, len(s.payload))
			if !c.rdShut {
				c.queueRcvSkb(c.streamOffset(c.rcvNxt), len(data), size, tailr)
			}
			c.measureRcvMSS(len(s.payload), size, int(s.hdrLen), s.flags)
			grew = len(s.payload) >= 128 && c.growRcvWindow(len(s.payload), size)
		}
		if c.nooo > 0 {
			c.mergeOOO()
			if c.linux() {
				c.ofoMerged()
			}
			c.needAck(whyAckOfData) // a gap filled: ACK at once
		}
		if len(s.payload) >= c.rcvSegMax {
			c.rcvSegMax = min(len(s.payload), c.rcvMSS)
		}
		c.dataReceived()
		if grew {
			// tcp_grow_window's quick |= 1: while the window grows, the
			// ACKs that offer it go at once, and quick-ACK mode at the
			// start lasts as many ACKs longer
			// (delack/unread-no-second-segment-ack.pkt).
			c.quickAcks |= 1
		}
		c.saveFlow(s)
		c.rcvRTTSample(s, len(data))
		if (fin || c.rcvFinPending && c.rcvNxt == c.rcvFinSeq) && c.linux() && c.state == Established {
			// The FIN with it puts Linux in pingpong mode (tcp_fin)
			// before the ACK is decided (processFin): no quick ACK.
			c.pingpong = true
		}
		// RFC 1122 §4.2.3.2, RFC 5681 §4.2: at least every second
		// full-sized segment. Like Linux (__tcp_ack_snd_check), ACK as
		// soon as more than one full segment, the largest seen, is
		// unacknowledged: a full segment and a short tail are
		// acknowledged at once, since a Nagle sender may be holding its
		// next tail until then. The linux profile does so only while
		// the window offered would not shrink, or the application waits
		// for more than it has (SO_RCVLOWAT): data the application
		// leaves unread is acknowledged by the delayed-ACK timer, or by
		// the read that frees room (maybeWindowUpdate), as Linux's
		// "(tcp_recvmsg() will send ACK otherwise)"
		// (delack/unread-no-second-segment-ack.pkt). It is decided
		// first, as Linux does: the window's selection ends quick-ACK
		// mode once half the buffer is used.
		twoFull := int(c.lastAckSent.Size(c.rcvNxt)) > c.rcvSegMax &&
			(!c.linux() || c.rcvBuf.n < c.rcvTarget() || c.selectWindow() >= c.rcvWnd())
		switch {
		case c.quickAck || c.ackNow:
			c.needAck(whyAckOfData)
		case c.inQuickAck():
			c.needAck(whyQuickAck) // Linux: quick-ACK mode (profile.go)
		case twoFull:
			c.needAck(whyAckOfData)
		default:
			c.ackPending = true
			c.scheduleDelack()
		}
	}
	if fin || (c.rcvFinPending && c.rcvNxt == c.rcvFinSeq) {
		c.processFin()
	}
	c.wake()
}

// processFin consumes the peer's FIN (RFC 9293 §3.10.7.4 step 8).
func (c *Conn) processFin() {
	c.rcvFinPending = false
	c.rcvNxt++
	c.finRcvd = true
	// Linux's tcp_fin goes to CLOSE_WAIT in pingpong mode, which takes
	// the FIN as it takes data: unless an ACK was due anyway, the ACK
	// waits for the delayed-ACK timer, so that the answer and our own
	// FIN can carry it. Before any data (ato 0) the timer fires at once
	// (testdata/pkt/close/fin-ack-delayed.pkt; close/passive-close.pkt).
	finPingpong := c.linux() && c.state == Established
	if finPingpong {
		c.pingpong = true
	}
	if finPingpong && !c.ackNow && c.ato > 0 {
		c.ackPending = true
		c.scheduleDelack()
	} else {
		c.needAck(whyAckFIN)
	}
	switch c.state {
	case Established:
		c.setState(CloseWait)
	case FinWait1:
		c.setState(Closing)
	case FinWait2:
		c.enterTimeWait()
	}
	c.wake()
}

// addOOO stores out-of-order data at its place in the receive ring and
// records its range, merging it with the ranges it overlaps or touches.
// It reports false when the range table is full.
func (c *Conn) addOOO(seq seqnum.Value, data []byte) bool {
	l, r := seq, seq.Add(seqnum.Size(len(data)))
	// Ranges [i, j) overlap or touch [l, r); those before i end before
	// it, those from j on start after it.
	i := 0
	for i < c.nooo && c.ooo[i].Right.LessThan(l) {
		i++
	}
	if i < c.nooo {
		// Data we hold already out of order: D-SACK it (RFC 2883 §4.1).
		a, b := seqnum.Max(l, c.ooo[i].Left), seqnum.Min(r, c.ooo[i].Right)
		if a.LessThan(b) {
			c.setDSACK(a, b)
		}
	}
	j := i
	for j < c.nooo && !r.LessThan(c.ooo[j].Left) {
		j++
	}
	if i == j && c.nooo == maxOOO {
		return false
	}
	// Like Linux (tcp_data_queue_ofo), the bytes already held are kept:
	// only the parts of the new segment outside [i, j) are written, so
	// a segment overlapping held data with different bytes cannot
	// replace them (the first copy wins).
	at := c.rcvBuf.n + int(c.rcvNxt.Size(seq))
	from := seq
	for k := i; k < j; k++ {
		if from.LessThan(c.ooo[k].Left) {
			n := int(from.Size(c.ooo[k].Left))
			c.rcvBuf.writeAt(c.p, c.rcvCap(), at+int(seq.Size(from)), data[seq.Size(from):int(seq.Size(from))+n])
		}
		if from.LessThan(c.ooo[k].Right) {
			from = c.ooo[k].Right
		}
		l, r = seqnum.Min(l, c.ooo[k].Left), seqnum.Max(r, c.ooo[k].Right)
	}
	if end := seq.Add(seqnum.Size(len(data))); from.LessThan(end) {
		c.rcvBuf.writeAt(c.p, c.rcvCap(), at+int(seq.Size(from)), data[seq.Size(from):])
	}
	if i == j {
		if c.nooo == len(c.ooo) {
			c.ooo = append(c.ooo, oooRange{})
			c.ooo = c.ooo[:cap(c.ooo)]
		}
		copy(c.ooo[i+1:c.nooo+1], c.ooo[i:c.nooo])
		c.nooo++
	} else if j > i+1 {
		copy(c.ooo[i+1:], c.ooo[j:c.nooo])
		c.nooo -= j - i - 1
	}
	c.ooo[i] = oooRange{sackBlock{l, r}, c.oooStamp}
	c.oooStamp++
	return true
}

// mergeOOO moves out-of-order ranges that now start at or before RCV.NXT
// into the readable data.
func (c *Conn) mergeOOO() {
	k := 0
	for k < c.nooo && c.ooo[k].Left.LessThanEq(c.rcvNxt) {
		if r := c.ooo[k].Right; c.rcvNxt.LessThan(r) {
			add := int(c.rcvNxt.Size(r))
			c.rcvBuf.n += add
			c.bytesReceived += uint64(add)
			c.rcvNxt = r
		}
		k++
	}
	if k > 0 {
		c.nooo = copy(c.ooo, c.ooo[k:c.nooo])
	}
}

// dupAck answers at once a segment dropped before its data was looked
// at (outside the window, or failing PAWS), as Linux's tcp_send_dupack:
// data or a FIN we already have means our ACK of it was lost or the
// sender timed out, so the linux profile enters quick-ACK mode
// (tcp_enter_quickack_mode: the next data is acknowledged at once, not
// delayed), and the part we have goes in a D-SACK block. Checked on
// Linux 6.18 by testdata/pkt/delack/old-duplicate-quickack.pkt and
// testdata/pkt/sack/paws-dsack.pkt (receive does the same for a copy
// Linux takes in: delack/duplicate-quickack.pkt).
func (c *Conn) dupAck(s *segment, why string) {
	if s.seqLen() > 0 && s.seq.LessThan(c.rcvNxt) {
		end := s.seq.Add(s.seqLen())
		c.p.counters.DelayedACKLost++
		c.enterQuickAck()
		// Only with D-SACK: a segment Linux takes into tcp_data_queue
		// (receive) looks at the flow label whatever SACK says.
		if c.sackOK && !c.p.cfg.NoDSACK {
			c.spuriousRetrans(s)
		}
		c.setDSACK(s.seq, seqnum.Min(end, c.rcvNxt))
	}
	c.sendAck(why)
}

// setDSACK records a D-SACK block for the next ACK (RFC 2883 §4): the
// receiver got [start, end) twice.
func (c *Conn) setDSACK(start, end seqnum.Value) {
	if !c.sackOK || c.p.cfg.NoDSACK || !start.LessThan(end) {
		return
	}
	c.dsack, c.dsackSet = sackBlock{start, end}, true
	c.p.counters.DSACKSent++
}

// pawsReject is the PAWS test (RFC 7323 §5.3): a segment whose TSval is
// older than TS.Recent is a stale duplicate. The rfc profile rejects any
// older TSval. The linux profile does as tcp_paws_discard: a TSval one
// tick older is still accepted (TCP_PAWS_WINDOW), so a segment the
// network delayed behind a retransmission sent a millisecond later is
// kept rather than dropped and sent again; and a disordered pure
// duplicate ACK (tcp_disordered_ack: in sequence, acking SND.UNA, no
// window update) is accepted while its TSval is within the RTO, so a
// reordered ACK's SACK blocks are not lost.
func (c *Conn) pawsReject(s *segment) bool {
	d := int32(c.tsRecent - s.opts.TSVal)
	if d <= 0 {
		return false
	}
	if !c.linux() {
		return true
	}
	if d <= 1 {
		return false
	}
	if s.has(flagACK) && len(s.payload) == 0 && s.flags&(flagSYN|flagFIN) == 0 && s.seq == c.rcvNxt && s.ack == c.sndUna {
		nwin := uint32(s.wnd) << c.sndWScale
		update := c.sndWl1.LessThan(s.seq) || (s.seq == c.sndWl1 && (nwin > c.sndWnd || nwin == 0))
		if !update && int64(d) <= c.rto.Milliseconds() {
			return false
		}
	}
	return true
}

// resetCheck is Linux's tcp_reset_check: after the peer's FIN (CLOSE_WAIT,
// CLOSING, LAST_ACK), a RST that carries the FIN's own sequence number,
// RCV.NXT − 1, as some stacks send it, resets the connection too, inside
// the window or not (testdata/pkt/close/rst-at-fin-seq.pkt). The linux
// profile only: RFC 5961 §3.2 resets on RCV.NXT alone.
func (c *Conn) resetCheck(s *segment) bool {
	switch c.state {
	case CloseWait, Closing, LastAck:
		return c.linux() && s.seq == c.rcvNxt-1
	}
	return false
}

// resetBy ends the connection on an acceptable RST (RFC 9293
// §3.10.7.4), with the error its state gives, as Linux's tcp_reset.
func (c *Conn) resetBy() {
	p := c.p
	switch c.state {
	case SynReceived:
		if c.passive {
			c.destroy() // back to LISTEN: the listener stays
		} else {
			c.fail(syscall.ECONNREFUSED)
		}
	case Established:
		p.counters.EstabResets++
		c.fail(syscall.ECONNRESET)
	case CloseWait:
		// The peer had closed: writing is what failed (Linux's
		// tcp_reset gives EPIPE here).
		p.counters.EstabResets++
		c.fail(syscall.EPIPE)
	case FinWait1, FinWait2:
		c.fail(syscall.ECONNRESET)
	default:
		c.destroy()
	}
}
