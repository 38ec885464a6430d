package tcp

import (
	"time"

	"stacklab/stack/tcp/cc"
	"stacklab/stack/tcp/seqnum"
)

// finSeq returns the sequence number of our FIN (valid when finQueued).
func (c *Conn) finSeq() seqnum.Value { return c.sndBase.Add(seqnum.Size(c.sndBuf.n)) }

// finSent reports whether our FIN has been sent (and not rewound by an
// RTO).
func (c *Conn) finSent() bool { return c.finQueued && c.finSeq().LessThan(c.sndNxt) }

// finAcked reports whether our FIN has been acknowledged.
func (c *Conn) finAcked() bool { return c.finQueued && c.finSeq().LessThan(c.sndUna) }

// hasUnsent reports whether data or a FIN waits to be sent.
func (c *Conn) hasUnsent() bool {
	off := int(c.sndBase.Size(c.sndNxt))
	return off < c.sndBuf.n || (c.finQueued && !c.finSent())
}

// sendMSS returns the payload size of a full segment: the MSS less the
// timestamp option (RFC 6691).
func (c *Conn) sendMSS() int {
	m := c.mss
	if c.tsOK {
		m -= 12
	}
	if c.linux() {
		// As Linux's tcp_sync_mss, run again whenever the largest window
		// the peer offered grows: a segment is at most half that window,
		// so a peer whose buffer is smaller than two segments still gets
		// whole ones, and nothing waits on a window that a full segment
		// can never fit (zerowin/half-window-mss.pkt).
		m = c.boundToHalfWnd(m)
	}
	return m
}

// boundToHalfWnd is Linux's tcp_bound_to_half_wnd: n bytes, at most half
// the largest window the peer has offered (all of it up to 536 bytes,
// TCP_MSS_DEFAULT), but not below 68 bytes less the TCP header.
func (c *Conn) boundToHalfWnd(n int) int {
	cutoff := int(c.maxSndWnd)
	if cutoff > 536 {
		cutoff /= 2
	}
	if cutoff == 0 || n <= cutoff {
		return n
	}
	hdr := 20
	if c.tsOK {
		hdr += 12
	}
	return max(cutoff, 68-hdr)
}

// rcvWindowField returns the window field for an outgoing segment and
// records the advertised right edge. It applies receiver-side SWS
// avoidance (RFC 9293 §3.8.6.2.2) and never shrinks the window
// (RFC 7323 §2.4). A scaled window is rounded up, as Linux does, so
// that scaling does not retract it; the right edge may then lie up to
// 2^Rcv.Wind.Shift−1 bytes beyond the buffer, and the receive ring has
// room for them ([Conn.rcvCap]). The receiver must take every byte it
// offers: rounding never goes past that room, so a full buffer
// advertises a zero window, which the sender probes (RFC 9293
// §3.8.6.1), rather than a few bytes it would drop.
func (c *Conn) rcvWindowField() uint16 {
	if c.linux() {
		return c.linuxWindowField()
	}
	free := c.rcvBufSize - c.rcvBuf.n
	if c.rdShut {
		free = c.rcvBufSize
	}
	cur := 0
	if d := int32(c.rcvAdv - c.rcvNxt); d > 0 {
		cur = int(d)
	}
	offer := free
	if c.linux() {
		offer = min(offer, c.rcvSsthresh) // Linux's rcv_ssthresh (autotune.go)
	}
	wnd := offer
	if offer-cur < c.swsThreshold() {
		wnd = cur
	}
	if wnd < cur {
		wnd = cur
	}
	sh := c.rcvShift()
	room := free + (1<<sh - 1)         // what the ring can still take
	field := (wnd + (1<<sh - 1)) >> sh // round up: never shrink below cur
	if field<<sh > room {
		field = max(min(wnd, room), 0) >> sh
	}
	if field > 65535 {
		field = 65535
	}
	edge := c.rcvNxt.Add(seqnum.Size(field << sh))
	if c.rcvAdv.LessThan(edge) {
		c.rcvAdv = edge
	}
	return uint16(field)
}

// swsThreshold is the least a window may grow by before it is offered
// (receiver SWS avoidance, RFC 9293 §3.8.6.2.2): min(buffer/2, MSS), but
// never more than half the most the window may offer (Linux's
// rcv_ssthresh), as Linux caps the MSS at the space it can offer. Else an
// MSS larger than the window offered (65495 over lo, against an initial
// 64240) would keep a closed window closed for good.
func (c *Conn) swsThreshold() int {
	t := min(c.rcvBufSize/2, c.mss)
	if c.linux() {
		t = min(t, max(c.rcvSsthresh/2, 1))
	}
	return t
}

// rcvCap returns the capacity of the receive ring: the receive buffer
// and the bytes by which rounding a scaled window up may offer more
// (see rcvWindowField).
func (c *Conn) rcvCap() int {
	if c.linux() {
		// The window offers what the memory is expected to hold, and
		// the memory takes one more skb (up to 64 KiB) while it is not
		// past the buffer (rmem.go).
		return c.rcvMemory() + gsoMaxSize + 1<<c.rcvShift() - 1
	}
	return c.rcvBufSize + 1<<c.rcvShift() - 1
}

// rcvShift is the shift of the window we advertise: Rcv.Wind.Shift when
// window scaling was agreed, else 0.
func (c *Conn) rcvShift() uint {
	if c.wsOK {
		return uint(c.rcvWScale)
	}
	return 0
}

// dataOptions fills the options for a non-SYN segment: timestamps
// (RFC 7323 §3) and SACK blocks (RFC 2018 §4). It returns the options
// length.
func (c *Conn) dataOptions(o *options) int {
	*o = options{}
	n := 0
	if c.tsOK {
		o.HasTS = true
		o.TSVal = c.p.tsNow() + c.tsOffset
		o.TSEcr = c.tsRecent
		n += 12
		if c.ls != nil {
			c.ls.tsSent = o.TSVal
		}
	}
	if c.sackOK && (c.nooo > 0 || c.dsackSet) {
		max := 4
		if c.tsOK {
			max = 3
		}
		if c.dsackSet {
			// The D-SACK block goes first (RFC 2883 §4), once.
			o.SACK[0] = toWire(c.dsack)
			o.NSACK = 1
		}
		c.sackBlocks(o, max)
		n += 4 + 8*o.NSACK
	}
	return n
}

// sackBlocks fills up to max SACK blocks, the most recently changed first
// (RFC 2018 §4), after the o.NSACK blocks already there.
func (c *Conn) sackBlocks(o *options, max int) {
	var last uint32 // stamp of the block chosen last; each next one is older
	first := o.NSACK
	for o.NSACK < max && o.NSACK-first < c.nooo {
		best := -1
		for i := 0; i < c.nooo; i++ {
			st := c.ooo[i].stamp
			if o.NSACK > first && int32(st-last) >= 0 {
				continue
			}
			if best < 0 || int32(st-c.ooo[best].stamp) > 0 {
				best = i
			}
		}
		if best < 0 {
			break
		}
		last = c.ooo[best].stamp
		b := c.ooo[best].sackBlock
		if c.rcvFinPending && b.Right == c.rcvFinSeq && c.linux() {
			// The FIN that came with the block's last data: Linux's
			// block ends at the segment's end_seq, which counts it
			// (testdata/pkt/sack/ofo-fin-block.pkt).
			b.Right++
		}
		o.SACK[o.NSACK] = toWire(b)
		o.NSACK++
	}
}

// sendSYN sends (or resends) our SYN or SYN-ACK with its options.
func (c *Conn) sendSYN(why string, retrans bool) {
	p := c.p
	o := options{HasMSS: true, MSS: uint16(c.rcvMSS)}
	if c.state == SynSent {
		// Active open: offer everything the stack allows.
		o.HasWScale = !p.cfg.NoWindowScale
		o.WScale = c.rcvWScale
		o.SACKPermitted = !p.cfg.NoSACK
		if !p.cfg.NoTimestamps {
			o.HasTS = true
			o.TSVal = p.tsNow() + c.tsOffset
			o.TSEcr = c.tsRecent // zero unless inherited (heir), as Linux's tcp_syn_options
		}
	} else {
		// SYN-ACK: answer only what the peer offered (RFC 7323 §1.3,
		// RFC 2018 §2).
		o.HasWScale = c.wsOK
		o.WScale = c.rcvWScale
		o.SACKPermitted = c.sackOK
		if c.tsOK {
			o.HasTS = true
			o.TSVal = p.tsNow() + c.tsOffset
			o.TSEcr = c.tsRecent
		}
	}
	flags := uint8(flagSYN)
	ack := seqnum.Value(0)
	if c.state == SynReceived {
		flags |= flagACK
		ack = c.rcvNxt
		c.lastAckSent = c.rcvNxt
	}
	wnd := uint16(c.synWindow())
	c.rcvSsthresh = c.initialRcvWnd()
	flags |= c.synECNFlags()
	c.xmit(c.iss, ack, flags, wnd, &o, nil, nil, why)
	c.rcvAdv = c.rcvNxt.Add(seqnum.Size(wnd))
	c.rcvWndEdge = c.rcvNxt.Add(seqnum.Size(c.initialRcvWnd()))
	if retrans {
		p.counters.OutSegs--
		p.counters.RetransSegs++
		c.retrans++
	} else {
		c.rttTiming, c.rttSeq, c.rttStart = true, c.iss.Add(1), p.net.Now()
	}
	c.sndNxt = c.iss.Add(1)
	c.sndMax = c.sndNxt
	c.rtx.armIfIdle(c.rto)
}

// output sends what the windows, Nagle and SWS avoidance allow, then a
// pure ACK if one is owed and nothing carried it.
func (c *Conn) output(why string) {
	if c.dead {
		return
	}
	sndMax := c.sndMax
	switch c.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
		if c.inRecovery && c.sackRecovery() {
			c.sackRetransmit()
			break
		}
		if c.rackOn() && c.ls != nil && (c.inRecovery || c.ls.lost > 0 || c.ecn.prr) {
			c.rackSend(why)
			break
		}
		for c.sendSegment(why, false) {
		}
		if c.cwndFull() {
			c.cwndValidate() // blocked by cwnd with nothing sent
		}
	}
	if c.ackNow && c.state.synchronized() {
		c.sendAck(c.ackWhy)
	}
	if c.state.synchronized() && c.state != TimeWait {
		c.checkPersist()
	}
	c.tiOutput(sndMax != c.sndMax)
}

// checkPersist starts the persist timer when the peer's window is zero,
// something waits to be sent and nothing is in flight to elicit an ACK.
func (c *Conn) checkPersist() {
	if c.sndUna == c.sndMax && (c.sndWnd == 0 || c.windowTooSmall()) && c.hasUnsent() {
		if !c.rtx.armed {
			c.armPersist()
		}
	}
}

// peerRoom is what the peer's window takes beyond SND.NXT.
func (c *Conn) peerRoom() int {
	return int(c.sndWnd) - int(c.sndUna.Size(c.sndNxt))
}

// windowCuts reports, under the linux profile, whether the peer's open
// window cannot take a new segment of whole bytes at SND.NXT (Linux's
// tcp_snd_wnd_test fails for the send queue's head): Linux then sends
// nothing, and with nothing in flight its probe timer sends what fits
// after an RTO (tcp_write_wakeup), where stacklab's rfc profile sends a
// partial segment at once.
func (c *Conn) windowCuts(whole int) bool {
	return c.linux() && c.sndWnd > 0 && c.peerRoom() < whole
}

// windowTooSmall is windowCuts for the next new segment.
func (c *Conn) windowTooSmall() bool {
	off := int(c.sndBase.Size(c.sndNxt))
	if !c.linux() || off < 0 || off >= c.sndBuf.n {
		return false
	}
	return c.windowCuts(c.eorLimit(min(c.sndBuf.n-off, c.sendMSS())))
}

// smallInFlight reports whether a segment smaller than the MSS that we
// sent is still unacknowledged: Nagle's algorithm (RFC 896, RFC 1122
// §4.2.3.4, RFC 9293 §3.7.4) with Minshall's modification, as Linux's
// tcp_minshall_check. Holding a partial segment only behind another
// partial one, not behind any unacknowledged data, keeps a write that is
// not a multiple of the MSS from waiting for the ACK of its full
// segments, which a receiver may delay (RFC 1122 §4.2.3.2); small writes
// still coalesce to one segment per round trip.
func (c *Conn) smallInFlight() bool {
	return c.sndUna.LessThan(c.sndSml) && c.sndSml.LessThanEq(c.sndMax)
}

// sendSegment sends one segment of new or rewound data and/or the FIN
// from sndNxt. force sends even past the congestion window and Nagle (an
// RTO retransmission). It reports whether it sent anything.
func (c *Conn) sendSegment(why string, force bool) bool {
	// After an RTO, resend only what the receiver has not SACKed.
	sackLimit := c.sackSkip()
	off := int(c.sndBase.Size(c.sndNxt))
	if int32(c.sndBase.Size(c.sndNxt)) < 0 {
		off = 0
	}
	avail := c.sndBuf.n - off
	if avail < 0 {
		avail = 0
	}
	finPending := c.finQueued && !c.finSent()
	if avail == 0 && !finPending {
		return false
	}
	retrans := c.sndNxt.LessThan(c.sndMax)
	mss := c.sendMSS()
	inflight := int(c.sndUna.Size(c.sndNxt))
	if retrans && c.sb != nil {
		inflight -= c.sb.SACKed(c.sndUna, c.sndNxt) // skipped, not in flight
	} else if !retrans && c.rackOn() {
		inflight = c.pipe() // SACKed and lost data is not in flight
	}
	if !retrans && inflight == 0 && avail > 0 && c.sndWnd > 0 && !c.lastSend.IsZero() && !c.p.cfg.NoIdleRestart {
		if idle := c.p.net.Now().Sub(c.lastSend); idle > c.rto {
			before, beforeSS := c.cc.Cwnd(), c.cc.Ssthresh()
			if r, ok := c.cc.(cc.IdleRTORestarter); ok && c.linux() {
				r.OnIdleRTO(c.p.net.Now(), idle, c.rto) // tcp_cwnd_restart
			} else {
				c.cc.OnIdle(c.p.net.Now(), idle) // RFC 5681 §4.1
			}
			c.ccEvent(before, beforeSS, "idle restart")
		}
	}
	cwnd := c.cwnd()
	if c.probing {
		cwnd = inflight + mss // the probe goes whatever cwnd says (RFC 8985 §7.3)
	}
	if c.inRecovery && c.sackRecovery() {
		cwnd = int(c.sndWnd) // the pipe loop in sackRetransmit applies cwnd
	}
	if !c.inRecovery && c.dupAcks > 0 && c.dupAcks < 3 && !retrans {
		cwnd += c.dupAcks * mss // RFC 3042 limited transmit: SMSS, the size of the segments sent
	}
	// The usable window: what cwnd allows beyond what is in flight, and
	// what the peer's window allows beyond SND.NXT. SACKed data leaves
	// the pipe (RFC 6675) but still fills the receiver's buffer: the
	// segment must end within SND.UNA+SND.WND (RFC 9293 §3.8.6.2.1), as
	// Linux's tcp_snd_wnd_test.
	wnd := min(int(c.sndWnd)-int(c.sndUna.Size(c.sndNxt)), cwnd-inflight)
	n := min(avail, mss)
	// recEnd: a partial segment that ends a record (MSG_EOR) with data
	// behind it. Linux's record is an skb that is not the send queue's
	// last, which tcp_write_xmit sends with TCP_NAGLE_PUSH: neither Nagle
	// nor the sender's SWS rule holds it, only the window
	// (eor/no-coalesce-*.pkt). The rfc profile holds it as RFC 9293
	// §3.8.6.2.1 does any partial segment that is not the last.
	recEnd := 0
	if !retrans {
		if m := c.eorLimit(n); m < n {
			n = m
			if c.linux() {
				recEnd = m
			}
		}
	}
	if sackLimit >= 0 {
		n = min(n, sackLimit)
	}
	whole := n // the segment, before the windows cut it
	if !force {
		n = min(n, max(wnd, 0))
	} else if c.linux() {
		// A forced segment goes from SND.UNA (an RTO's, a path MTU's
		// resend): as any retransmission, what the window takes, whole
		// into a closed one (rtxRoom; rto/rto-zero-window-nosack.pkt).
		room, ok := c.rtxRoom(c.sndNxt)
		if !ok {
			room = 0
		}
		n = min(n, room)
	} else if int(c.sndWnd) < n {
		// An RTO into a window smaller than the segment sends what it
		// takes; into a closed one, one byte (RFC 9293 §3.8.6.1).
		n = max(int(c.sndWnd), min(n, 1))
	}
	if !force && !retrans && !c.probing && !c.wakeup && n > 0 && c.linux() && !c.gsoContinues() {
		if hold, limited := c.tsoDefer(inflight, cwnd); hold {
			c.p.counters.TSODeferred++
			if limited {
				c.cwndHeld() // tcp_tso_should_defer's is_cwnd_limited
			}
			return false
		}
	}
	// fits: under the linux profile, a segment the peer's window cuts
	// goes only as the tail of a GSO packet Linux's tcp_mss_split_point
	// sized to the window (gsoSegs), or as the probe timer's
	// window-sized segment (onPersist); never as a packet's first,
	// which tcp_snd_wnd_test holds.
	fits := false
	if !force && !retrans && n > 0 && c.windowCuts(whole) {
		if !c.wakeup && !c.gsoContinues() {
			return false
		}
		fits = true
	}
	if n < avail && n < mss && !force && !retrans && !fits {
		// Sender SWS avoidance (RFC 9293 §3.8.6.2.1): a partial
		// segment only if it is at least half the largest window seen.
		// With nothing in flight a partial segment may go at once, as
		// Linux does; otherwise a window that is not a multiple of the
		// MSS could never be filled.
		if n == 0 || (uint32(n) < c.maxSndWnd/2 && inflight > 0 && n != recEnd) {
			return false
		}
	}
	if n == avail && n < mss && n > 0 && !force && !retrans && !c.noDelay && !c.probing && c.smallInFlight() && !c.finQueued && !c.urgMode() {
		return false // Nagle with Minshall's rule; a close pushes the tail out
	}
	if n == avail && n < mss && n > 0 && !force && !retrans && !c.probing && !c.finQueued && c.holdPartial(inflight) {
		return false // TCP_CORK or MSG_MORE: wait for a full segment; a close pushes the tail out
	}
	small := n < mss
	fin := finPending && n == avail
	if n == 0 && !fin {
		return false
	}
	if !force && c.p.txFull(c) {
		// The interface's queue is full: wait for TxReady (tsq.go).
		// Retransmissions wait too, as Linux's __tcp_retransmit_skb
		// refuses one while too much is queued below TCP (-EBUSY): a
		// go-back-N after an RTO would otherwise pour the window into a
		// full queue. Only a forced segment (the RTO's own, a probe)
		// goes regardless.
		return false
	}
	p := c.p
	var o options
	optLen := c.dataOptions(&o)
	if n > 0 && n+optLen > c.mss {
		n = c.mss - optLen // options take payload room (RFC 6691)
		fin = finPending && n == avail
	}
	flags := uint8(flagACK)
	writeEnd := c.psh(c.sndNxt, n, avail)
	if writeEnd {
		flags |= flagPSH
	}
	if !retrans && !force && n > 0 && c.gsoEnds(n, avail, wnd) {
		flags |= flagPSH // the last segment of a GSO packet (gso.go); not kept for a retransmission
	}
	if !retrans && n > 0 && c.linux() && c.forcedPSH(c.sndNxt, n) && c.ls.gso.segs <= 1 {
		flags |= flagPSH // a forced_push mark in a packet of one segment (writeSkbs)
	}
	if fin {
		flags |= flagFIN
	}
	if retrans && !force {
		if why != whyPMTUResend {
			why = whyAfterRTO
		}
		c.retransEvent(why)
	} else if !retrans && c.dupAcks > 0 && !c.inRecovery && inflight+n > c.cc.Cwnd() {
		why = whyLimitedTransmit // only the dup ACKs let it out (RFC 3042)
	}
	d1, d2 := c.sndBuf.peek(off, n)
	newData := !retrans && n > 0
	flags |= c.ecnFlags(newData)
	p.ect = c.ecn.ok && newData // RFC 3168 §6.1.5: not on retransmissions
	if n > 0 && inflight == 0 {
		c.txStart()
	}
	c.xmit(c.sndNxt, c.rcvNxt, flags, c.rcvWindowField(), &o, d1, d2, why)
	if end := c.sndNxt.Add(seqnum.Size(n)); fin {
		c.txSend(retrans, c.sndNxt, end+1, writeEnd)
	} else {
		c.txSend(retrans, c.sndNxt, end, writeEnd)
	}
	if retrans {
		p.counters.OutSegs--
		p.counters.RetransSegs++
		c.retrans++
		c.tx().bytesRetrans += uint64(n)
		c.rttTiming = false // Karn (RFC 6298 §3)
	} else {
		if !c.rttTiming && n > 0 {
			c.rttTiming, c.rttSeq, c.rttStart = true, c.sndNxt.Add(seqnum.Size(n)), p.net.Now()
		}
		c.dataSent()
	}
	c.ackSent()
	c.sndNxt = c.sndNxt.Add(seqnum.Size(n))
	if fin {
		c.sndNxt++
	}
	if small && !retrans && n > 0 {
		c.sndSml = c.sndNxt
	}
	if c.sndMax.LessThan(c.sndNxt) {
		c.sndMax = c.sndNxt
	}
	c.bytesSent += uint64(n)
	c.lastSend = p.net.Now()
	if !c.rtx.armed || c.persist {
		c.armRTO()
	}
	if !retrans && c.rackOn() && (c.rtxKind == rtxTLP || c.rtxKind == rtxRTO && c.rtx.armed && !c.probing) {
		c.armLossTimer() // the probe timeout runs from the last new segment
	}
	c.cwndValidate()
	return true
}

// rtxRoom is how much of a retransmission from seq the peer's window,
// which it may have shrunk since, takes under the linux profile, as
// Linux's __tcp_retransmit_skb: up to its right edge; nothing (ok
// false) from beyond it, but at SND.UNA, which goes as a whole segment
// into a closed window, the probe.
func (c *Conn) rtxRoom(seq seqnum.Value) (room int, ok bool) {
	room = int(int32(c.sndUna.Add(seqnum.Size(c.sndWnd)) - seq))
	if room <= 0 {
		if seq != c.sndUna {
			return 0, false
		}
		room = c.sendMSS()
	}
	return room, true
}

// retransmitAt resends one segment starting at seq (at most n bytes,
// and the FIN if it falls in it) without moving sndNxt: fast retransmit
// and SACK recovery. It reports whether it sent anything, and how many
// bytes of data.
func (c *Conn) retransmitAt(seq seqnum.Value, n int, why string) (int, bool) {
	return c.retransmitPush(seq, n, why, false)
}

// retransmitPush is retransmitAt; push marks the segment PSH, as the last
// of a retransmitted GSO packet (rtxPacket).
func (c *Conn) retransmitPush(seq seqnum.Value, n int, why string, push bool) (int, bool) {
	off := int(c.sndBase.Size(seq))
	if int32(c.sndBase.Size(seq)) < 0 {
		return 0, false
	}
	avail := c.sndBuf.n - off
	if avail < 0 {
		avail = 0
	}
	n = min(n, avail, c.sendMSS())
	if c.linux() {
		room, ok := c.rtxRoom(seq)
		if !ok {
			return 0, false
		}
		if n > room {
			avail = 0 // the FIN, beyond, stays
			n = room
		}
	}
	fin := c.finQueued && n == avail && c.finSeq().LessThan(c.sndMax)
	if n <= 0 && !fin {
		return 0, false
	}
	p := c.p
	var o options
	optLen := c.dataOptions(&o)
	if n > 0 && n+optLen > c.mss {
		n = c.mss - optLen
		fin = false
	}
	flags := uint8(flagACK)
	if n > 0 && (n == avail || c.txPSH(seq.Add(seqnum.Size(n)))) {
		flags |= flagPSH // as the original had it
	}
	if fin {
		flags |= flagFIN
	}
	if c.linux() && c.psh(seq, n, avail) {
		flags |= flagPSH // a retransmission keeps its PSH, as Linux's skb
	}
	if push && n > 0 {
		flags |= flagPSH
	}
	d1, d2 := c.sndBuf.peek(off, n)
	flags |= c.ecnFlags(false)
	c.xmit(seq, c.rcvNxt, flags, c.rcvWindowField(), &o, d1, d2, why)
	if fin {
		c.txRetransmitted(seq, seq.Add(seqnum.Size(n+1)))
	} else {
		c.txRetransmitted(seq, seq.Add(seqnum.Size(n)))
	}
	p.counters.OutSegs--
	p.counters.RetransSegs++
	c.retrans++
	c.tx().bytesRetrans += uint64(n)
	c.rttTiming = false
	c.ackSent()
	c.bytesSent += uint64(n)
	c.lastSend = p.net.Now()
	c.retransEvent(why)
	return n, true
}

// txStart tells a congestion controller that data goes out with
// nothing in flight, and how long since data last went (Linux's
// CA_EVENT_TX_START, from tcp_event_data_sent).
func (c *Conn) txStart() {
	if t, ok := c.cc.(cc.TxStarter); ok && !c.lastSend.IsZero() {
		now := c.p.jiffies32()
		t.OnTxStart(now, now-c.p.toJiffies32(c.lastSend.Sub(c.p.epoch)))
	}
}

// sendAck sends a pure ACK.
func (c *Conn) sendAck(why string) {
	var o options
	c.dataOptions(&o)
	// After an RTO sndNxt is rewound; a pure ACK carries the next new
	// sequence number so that the peer finds it in its window.
	c.xmit(c.sndMax, c.rcvNxt, flagACK|c.ecnFlags(false), c.rcvWindowField(), &o, nil, nil, why)
	c.ackSent()
	if c.ls != nil {
		c.ls.ackAt = c.p.net.Now() // a transmission too, for TSO deferral
	}
}

// sendProbe sends a keepalive or zero-window probe: an ACK with the
// sequence number SND.UNA−1, which the peer must answer with an ACK
// (RFC 1122 §4.2.3.6).
func (c *Conn) sendProbe(why string) {
	var o options
	c.dataOptions(&o)
	c.xmit(c.sndUna-1, c.rcvNxt, flagACK|c.ecnFlags(false), c.rcvWindowField(), &o, nil, nil, why)
	c.ackSent()
}

// challengeAck sends an RFC 5961 challenge ACK, rate-limited (§7) as
// Linux's tcp_send_challenge_ack does: first per connection, at most one
// per Config.InvalidRateLimit (tcp_invalid_ratelimit, 500 ms), sharing
// that budget with the ACKs to out-of-window pure ACKs; then host-wide
// only when Config.ChallengeACKLimit is set (tcp_challenge_ack_limit,
// unlimited by default since Linux 6.0: an exhausted global budget tells
// an off-path attacker whether a guessed 4-tuple is in use,
// CVE-2016-5696).
func (c *Conn) challengeAck() {
	p := c.p
	if !c.oowAllowed() {
		p.counters.DropChallengeLimit++
		p.drop(c, "DropChallengeLimit", "challenge ACK rate limit", 0)
		return
	}
	if !p.challengeBudget() {
		p.counters.DropChallengeGlobal++
		p.drop(c, "DropChallengeGlobal", "host-wide challenge ACK limit", 0)
		return
	}
	p.counters.ChallengeACKs++
	c.sendAck(whyChallengeAck)
}

// synChallenge answers a SYN on a synchronized connection with a
// challenge ACK (RFC 5961 §4.2; Linux's TCPSYNChallenge counts them).
func (c *Conn) synChallenge() {
	c.p.counters.SynChallenges++
	c.challengeAck()
}

// challengeBudget takes one challenge ACK from the host-wide budget of
// Config.ChallengeACKLimit per second. As Linux's, each second's budget is
// drawn at random from [limit/2, limit·3/2) so that its exhaustion cannot
// be timed exactly.
func (p *Proto) challengeBudget() bool {
	limit := p.cfg.ChallengeACKLimit
	if limit <= 0 {
		return true
	}
	sec := int64(p.net.Now().Sub(p.epoch) / time.Second)
	if !p.challenge.valid || sec != p.challenge.sec {
		half := (limit + 1) / 2
		p.challenge.sec, p.challenge.valid = sec, true
		p.challenge.left = half + p.net.Rand().IntN(limit)
	}
	if p.challenge.left == 0 {
		return false
	}
	p.challenge.left--
	return true
}

// oowAllowed reports whether an ACK to an unacceptable segment may go
// now (Linux's __tcp_oow_rate_limited), and if so charges it.
func (c *Conn) oowAllowed() bool {
	lim := c.p.cfg.InvalidRateLimit
	if lim < 0 {
		return true
	}
	now := c.p.net.Now()
	if d := now.Sub(c.lastOOWAck); d >= 0 && d < lim && !c.lastOOWAck.IsZero() {
		return false
	}
	c.lastOOWAck = now
	return true
}

// ackSent records that an ACK for rcvNxt went out.
func (c *Conn) ackSent() {
	if c.linux() {
		c.ackSentLinux()
	}
	c.ackNow = false
	c.ackPending = false
	c.wndUpdate = false
	c.dsackSet = false
	c.lastAckSent = c.rcvNxt
	c.delack.disarm()
	if c.rm != nil {
		c.rm.pushed = 0 // icsk_ack.pending cleared with the timer
	}
}

// pushedRead reports whether a read that emptied the receive queue owes
// the ACK of short segments at once (tcp_cleanup_rbuf): one pushed
// segment, unless the connection is interactive (pingpong), where a
// reply is coming to carry it; two in any case.
func (c *Conn) pushedRead() bool {
	rm := c.rm
	return rm != nil && rm.alloc == 0 && (rm.pushed&2 != 0 || rm.pushed&1 != 0 && !c.pingpong)
}

// maybeWindowUpdate sends a window update after the application read
// enough to open the window noticeably. Receiver SWS avoidance
// (RFC 9293 §3.8.6.2.2, RFC 1122 §4.2.3.3) opens the window only by
// min(RCV.BUFF/2, MSS) or more; and like Linux (tcp_cleanup_rbuf) a pure
// update goes out only when the window offered has fallen to half the
// buffer or less and would at least double. Otherwise the sender still
// has half a buffer of window to use, and the next ACK of data carries
// the larger window: a bulk transfer then sends one ACK per two
// segments, not a window update after every read besides.
func (c *Conn) maybeWindowUpdate() {
	switch c.state {
	case Established, FinWait1, FinWait2:
	default:
		return
	}
	if c.finRcvd {
		return
	}
	if c.linux() {
		// tcp_cleanup_rbuf: the ACK of more than one segment that the
		// arrival held back because the window would not have grown
		// (input.go), or a read that lets the window at least double.
		if c.ackPending && (int(c.lastAckSent.Size(c.rcvNxt)) > c.rcvSegMax || c.pushedRead()) {
			// Sent by the read, not by the delayed-ACK timer: its
			// handler's changes to ato and pingpong do not apply
			// (onDelack).
			c.wndUpdate = true
			c.delack.arm(0)
			return
		}
		cur := c.rcvWindowNow()
		if 2*cur <= c.windowClamp() {
			if w := c.selectWindow(); w > 0 && w >= 2*cur {
				c.wndUpdate = true
				c.ackPending = true
				c.delack.arm(0)
			}
		}
		return
	}
	cur := 0
	if d := int32(c.rcvAdv - c.rcvNxt); d > 0 {
		cur = int(d)
	}
	free := c.rcvBufSize - c.rcvBuf.n
	// No more than the window field can carry: without window scaling a
	// window already at 65535 has nothing to update (Linux's window_clamp).
	free = min(free, 65535<<c.rcvShift())
	if free-cur >= c.swsThreshold() && 2*cur <= c.rcvBufSize && free >= 2*cur {
		// Sent from a zero-delay timer, so that a reply the application
		// writes right after this read carries the update instead.
		c.wndUpdate = true
		c.ackPending = true
		c.delack.arm(0)
	}
}

func uint32Size(n int) seqnum.Size { return seqnum.Size(n) }

// txSend records a segment in the retransmission queue (rack.go).
func (c *Conn) txSend(retrans bool, start, end seqnum.Value, psh bool) {
	if retrans {
		c.txRetransmitted(start, end)
	} else {
		c.txSent(start, end, psh)
	}
}
