package tcp

import (
	"fmt"
	"syscall"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/tcp/seqnum"
)

// ctimer is one of a connection's timers. The underlying core.Timer is
// created once and reused; arming it again for a later deadline does not
// touch the clock's queue (the callback re-arms itself for the rest), so
// restarting the RTO on every ACK costs nothing.
type ctimer struct {
	c         *Conn
	fn        func(*Conn)
	fire      func() // tm.run, bound once
	t         core.Timer
	at        time.Duration // when t fires, while scheduled (since the Proto's epoch)
	scheduled bool
	deadline  time.Duration // when the timer expires (since the Proto's epoch)
	armed     bool
}

func (tm *ctimer) init(c *Conn, fn func(*Conn)) {
	tm.c, tm.fn = c, fn
}

// arm sets the timer to expire d from now, replacing any earlier setting.
func (tm *ctimer) arm(d time.Duration) {
	now := tm.c.since()
	tm.deadline = now + tm.c.p.ticksUp(d) // in whole ticks under the linux profile (jiffies.go)
	tm.armed = true
	if tm.scheduled && tm.at <= tm.deadline {
		return // run will re-arm for the remainder
	}
	tm.schedule(now, tm.deadline-now)
}

// armIfIdle arms the timer only if it is not armed already.
func (tm *ctimer) armIfIdle(d time.Duration) {
	if !tm.armed {
		tm.arm(d)
	}
}

func (tm *ctimer) schedule(now, d time.Duration) {
	tm.at = now + d
	tm.scheduled = true
	if tm.t == nil {
		if tm.fire == nil {
			tm.fire = tm.run
		}
		tm.t = tm.c.p.net.AfterFunc(d, tm.fire)
	} else {
		tm.t.Reset(d)
	}
}

// disarm cancels the expiry; the underlying timer may still fire once
// and then does nothing.
func (tm *ctimer) disarm() { tm.armed = false }

// stop cancels the timer for good (the connection is gone).
func (tm *ctimer) stop() {
	tm.armed = false
	if tm.t != nil && tm.scheduled {
		tm.t.Stop()
	}
	tm.scheduled = false
}

// release stops the timer and lets go of the clock's timer behind it,
// which schedule makes again if the timer is ever armed after.
func (tm *ctimer) release() {
	tm.stop()
	tm.t, tm.fire = nil, nil
}

func (tm *ctimer) run() {
	tm.scheduled = false
	if !tm.armed || tm.c.dead {
		return
	}
	now := tm.c.since()
	if now < tm.deadline {
		tm.schedule(now, tm.deadline-now)
		return
	}
	tm.armed = false
	tm.fn(tm.c)
	tm.c.series()
	if c := tm.c; c.orphan {
		c.p.twPack(c) // an orphan in FIN_WAIT_2 whose last ACK went out, say
	}
}

// timerEvent reports a timer firing.
func (c *Conn) timerEvent(name, detail string) {
	if c.p.net.Tracing() {
		c.p.net.Observe(&core.Event{Kind: core.EventTimer, FD: -1, Proto: "tcp", Conn: c.tuple, Name: name, Detail: detail})
	}
}

// armRTO (re)starts the retransmission timer with the current RTO
// (RFC 6298 §5.1, §5.3).
func (c *Conn) armRTO() { c.armRTOIn(c.rto) }

// armRTOFromHead arms the retransmission timer to expire an RTO after
// the oldest unacknowledged segment was last sent, a tick from now at
// the soonest (Linux's tcp_rearm_rto with packets out).
func (c *Conn) armRTOFromHead() {
	d := c.rto
	if c.ls != nil {
		if recs := c.ls.txRecs(); len(recs) > 0 {
			d = max(recs[0].xmit+c.rto-c.since(), c.p.tick, time.Nanosecond)
		}
	}
	c.armRTOIn(d)
}

// armRTOIn arms the retransmission timer, as the RTO, to expire in d.
func (c *Conn) armRTOIn(d time.Duration) {
	c.persist = false
	c.rtxKind = rtxRTO
	c.rtx.arm(d)
}

// onRTX runs when the retransmission or persist timer expires.
func (c *Conn) onRTX() {
	if c.persist {
		c.onPersist()
		return
	}
	if c.sndUna == c.sndMax {
		return
	}
	switch c.rtxKind {
	case rtxTLP:
		c.rtxKind = rtxRTO
		c.onTLP()
		return
	case rtxReo:
		c.rtxKind = rtxRTO
		c.onReo()
		return
	}
	now := c.p.net.Now()
	if c.backoff == 0 && (c.state != SynSent || c.rtos == 0) {
		// Linux's retrans_stamp: when the head segment was last sent,
		// the start of TCP_USER_TIMEOUT's count.
		c.rtxStart = now.Add(-c.rto)
	}
	if c.rtxTimedOut(now) {
		c.timerEvent("rto", "retries exhausted → ETIMEDOUT")
		c.p.counters.AbortOnTimeout++
		c.fail(syscall.ETIMEDOUT)
		return
	}
	// RFC 6298 §5.5–5.6: back off and retransmit the earliest segment;
	// but a SYN keeps the initial RTO while the connection has taken at
	// most SynLinearTimeouts timeouts, this one counted (Linux 6.4+'s
	// tcp_syn_linear_timeouts: total_rto against it).
	c.rtos++
	c.rethinkTxHash()
	if c.state != SynSent || int(c.rtos) > c.p.cfg.SynLinearTimeouts {
		c.backoff++
		c.rto = min(c.rto*2, c.p.cfg.RTOMax)
	}
	c.p.counters.Timeouts++
	c.rttTiming = false // Karn
	c.rtoTS, c.rtoTSSet = c.p.tsNow()+c.tsOffset, c.tsOK
	tracing := c.p.net.Tracing()
	why := whyRTO
	if tracing {
		why = fmt.Sprintf("rto, backoff %d", c.backoff)
		c.timerEvent("rto", why)
	}
	switch c.state {
	case SynSent, SynReceived:
		if c.deferAcked && int(c.backoff) < int(c.deferAccept) {
			// TCP_DEFER_ACCEPT with the bare ACK in: no SYN-ACK until
			// the deferral's last timeout, which gives the peer a last
			// chance to send data or an ACK (syn_ack_recalc's resend).
			c.rtx.arm(c.rto)
			return
		}
		c.retransEvent(why)
		c.sendSYN(why, true)
		c.clampToUserTimeout(now)
		return
	}
	c.tiRTO()
	// F-RTO (RFC 5682 §3.1 step 1, Linux's tcp_enter_loss): a timeout
	// outside a recovery, or one more on the same SND.UNA, may yet
	// prove spurious (frto.go).
	frto := c.frtoAllowed() && (!c.inRecovery && !c.inLossEpisode() || c.backoff > 1)
	flight := int(c.sndUna.Size(c.sndMax))
	before, beforeSS := c.cwnd(), c.cc.Ssthresh()
	if c.inRecovery {
		c.undoEnd() // the recovery failed: its reduction stands
	}
	c.undoStart("rto", before, beforeSS)
	c.cc.OnRTO(c.p.net.Now(), flight)
	c.ccEvent(before, beforeSS, "rto")
	c.inRecovery = false
	c.ecn.prr = false
	c.dupAcks = 0
	c.sackTimeout()
	c.recover = c.sndMax - 1              // RFC 6582 §4: the highest sequence number sent
	c.lossHigh, c.inLoss = c.sndMax, true // Linux's TCP_CA_Loss until SND.UNA passes it
	if c.ls != nil {
		c.ls.frto, c.ls.frtoNew = frto, false
	}
	if c.rackOn() && (c.sndWnd > 0 || c.linux()) && c.rtoMarkLost() {
		// Like Linux (tcp_enter_loss): everything not SACKed is lost;
		// the lost segments go again in order as the window allows,
		// starting with the first now; with the window closed, the
		// first whole, as the probe (tcp_retransmit_timer's zero-window
		// case, rto/rto-zero-window.pkt).
		r := c.firstLost()
		n := min(r.len(), c.sendMSS())
		if r.end == c.sndMax && c.finSent() && n == r.len() {
			n--
		}
		c.retransmitAt(r.start, n, why)
	} else {
		c.retransEvent(why)
		c.sndNxt = c.sndUna
		c.sendSegment(why, true)
	}
	c.armRTO()
	c.clampToUserTimeout(now)
}

// rtxTimedOut reports whether the retransmission timer, firing at now,
// ends the connection. Like Linux's tcp_write_timeout: TCP_USER_TIMEOUT
// when set, else the retries of the state ([Config.SynRetries] and the
// linear timeouts in SYN_SENT, [Config.SynAckRetries] in SYN_RECEIVED,
// [Config.OrphanRetries] once the application has closed,
// [Config.Retries] otherwise), which the linux profile takes as a time
// (retransmits_timed_out) and the rfc profile as a count; into a zero
// window the retransmissions are probes, and a peer that keeps answering
// does not time a connection out unless it is an orphan.
func (c *Conn) rtxTimedOut(now time.Time) bool {
	rtxDelta := now.Sub(c.rtxStart)
	if c.sndWnd == 0 && c.state.synchronized() && !c.orphan {
		// Linux's tcp_rtx_probe0_timed_out: the peer must have been
		// silent, and the data unacknowledged, for twice RTOMax (or
		// TCP_USER_TIMEOUT if shorter).
		timeout := 2 * c.p.cfg.RTOMax
		if c.userTimeout > 0 {
			if rtxDelta > c.userTimeout {
				return true
			}
			timeout = min(timeout, c.userTimeout)
		}
		return now.Sub(c.lastRecv) > timeout && rtxDelta > timeout
	}
	if c.userTimeout > 0 {
		return c.backoff > 0 && rtxDelta >= c.userTimeout
	}
	limit := c.p.cfg.Retries
	switch {
	case c.state == SynSent:
		limit = c.p.cfg.SynRetries
		if c.synRetries > 0 {
			limit = c.synRetries
		}
		// Linux's tcp_write_timeout: the linear timeouts come on top of
		// tcp_syn_retries (or TCP_SYNCNT), counted as retransmissions
		// (icsk_retransmits), which the backoff no longer is; and the
		// SYN also gives up once the time that many exponential
		// timeouts take has passed since the first
		// (retransmits_timed_out), which comes first unless the linear
		// ones are none.
		if c.rtos == 0 {
			return false
		}
		if int(c.rtos) >= limit+c.p.cfg.SynLinearTimeouts {
			return true
		}
		return c.linux() && now.Sub(c.rtxStart) >= c.modelTimeout(limit, c.p.cfg.RTOInitial)
	case c.state == SynReceived:
		// Under TCP_DEFER_ACCEPT, a connection whose bare ACK came lives
		// on until the deferral's timeouts have passed too (Linux's
		// syn_ack_recalc).
		return int(c.backoff) >= c.p.cfg.SynAckRetries && (!c.deferAcked || c.backoff >= int(c.deferAccept))
	case c.orphan:
		alive := c.rto < c.p.cfg.RTOMax
		limit = c.orphanRetries(alive)
	}
	if c.linux() {
		// Linux's retransmits_timed_out: the retries are a time, that
		// many exponential timeouts from TCP_RTO_MIN, since the head
		// segment was first sent, not a count: tcp_retries2 15 is
		// 924.6 s whatever the RTO. A connection whose RTO is above
		// 200 ms gives up after fewer retransmissions (rto/retries2-time.pkt).
		return c.backoff > 0 && rtxDelta >= c.modelTimeout(limit, DefaultRTOMin)
	}
	return c.backoff >= limit
}

// modelTimeout is Linux's tcp_model_timeout: the time boundary
// timeouts take backing off from base, doubling up to RTOMax.
func (c *Conn) modelTimeout(boundary int, base time.Duration) time.Duration {
	thresh := 0
	for base<<(thresh+1) <= c.p.cfg.RTOMax {
		thresh++ // ilog2(RTOMax / base)
	}
	if boundary <= thresh {
		return time.Duration(2<<boundary-1) * base
	}
	return time.Duration(2<<thresh-1)*base + time.Duration(boundary-thresh)*c.p.cfg.RTOMax
}

// orphanRetries is Linux's tcp_orphan_retries: the configured count, or
// 8 while the connection is alive (its backed-off RTO below the maximum)
// and none once it is not.
func (c *Conn) orphanRetries(alive bool) int {
	n := c.p.cfg.OrphanRetries
	if n == 0 && alive {
		n = 8
	}
	return n
}

// clampToUserTimeout shortens the armed retransmission timer so that it
// fires when TCP_USER_TIMEOUT runs out (Linux's
// tcp_clamp_rto_to_user_timeout).
func (c *Conn) clampToUserTimeout(now time.Time) {
	if c.userTimeout <= 0 || !c.rtx.armed {
		return
	}
	left := c.rtxStart.Add(c.userTimeout).Sub(now)
	if left <= 0 {
		left = time.Millisecond
	}
	if c.rtx.deadline-now.Sub(c.p.epoch) > left {
		c.rtx.arm(left)
	}
}

// onPersist sends a zero-window probe (RFC 9293 §3.8.6.1) and backs the
// timer off. Like Linux's tcp_probe_timer, the probes go on for as long
// as the peer answers them (RFC 1122 §4.2.2.17), but end the connection
// with ETIMEDOUT after [Config.Retries] probes in a row go unanswered,
// after [Config.OrphanRetries] once the application has closed (an
// orphan is also ended, answered or not, once its backed-off interval
// reaches RTOMax), and when TCP_USER_TIMEOUT has passed since the first
// probe into a window that never opened.
func (c *Conn) onPersist() {
	c.persist = false
	if !c.dead && c.sndWnd != 0 && (c.corked || c.more) && c.sndUna == c.sndMax && c.hasUnsent() {
		// The cork's time is up (Linux's probe timer): the partial
		// segment goes.
		c.timerEvent("persist", "cork timeout")
		// Linux's tcp_write_wakeup marks the segment it sends with PSH.
		c.pshEnd(c.sndBase.Add(seqnum.Size(c.sndBuf.n)))
		c.corkFlush = true
		c.output(whySend)
		c.corkFlush = false
		return
	}
	if !c.dead && c.sndUna == c.sndMax && c.windowTooSmall() {
		// The window is open but smaller than the next segment: Linux's
		// probe timer sends what fits, with PSH (tcp_write_wakeup), and
		// counts it as a window probe.
		c.timerEvent("persist", "window smaller than a segment")
		c.p.counters.ZeroWindowProbes++
		c.zwpOut, c.zwpStart = 0, time.Time{}
		c.pshEnd(c.sndNxt.Add(seqnum.Size(c.peerRoom())))
		c.wakeup = true
		c.output(whyWindowProbe)
		c.wakeup = false
		return
	}
	if c.dead || c.sndWnd != 0 || !c.hasUnsent() {
		c.zwpOut, c.zwpStart = 0, time.Time{}
		c.output(whyAckOpened)
		return
	}
	now := c.p.net.Now()
	if c.zwpStart.IsZero() {
		c.zwpStart = now
	} else if c.userTimeout > 0 && now.Sub(c.zwpStart) >= c.userTimeout {
		c.probeAbort("TCP_USER_TIMEOUT")
		return
	}
	limit := c.p.cfg.Retries
	if c.orphan {
		alive := c.persistInterval(c.zwpProbes) < c.p.cfg.RTOMax
		limit = c.orphanRetries(alive)
		if !alive && c.zwpProbes >= limit {
			c.probeAbort("orphan")
			return
		}
	}
	if c.zwpOut >= limit {
		c.probeAbort(fmt.Sprintf("%d probes unanswered", c.zwpOut))
		return
	}
	c.timerEvent("persist", "zero window")
	c.zwpProbes = min(c.zwpProbes+1, c.p.cfg.Retries)
	c.zwpOut++
	c.p.counters.ZeroWindowProbes++
	c.sendProbe(whyZeroWindowProbe)
	c.armPersist()
}

// probeAbort ends a connection whose zero-window probes timed out.
func (c *Conn) probeAbort(why string) {
	c.timerEvent("persist", why+" → ETIMEDOUT")
	c.p.counters.AbortOnTimeout++
	c.fail(syscall.ETIMEDOUT)
}

// persistInterval is the persist timer's interval after n probes:
// the RTO backed off n times, within [RTOMin, RTOMax].
func (c *Conn) persistInterval(n int) time.Duration {
	d := c.rto << min(n, 10)
	return min(max(d, c.p.cfg.RTOMin), c.p.cfg.RTOMax)
}

// armPersist starts the persist timer with backoff.
func (c *Conn) armPersist() {
	d := c.persistInterval(c.zwpProbes)
	if c.userTimeout > 0 && !c.zwpStart.IsZero() {
		// Linux's tcp_clamp_probe0_to_user_timeout.
		left := c.zwpStart.Add(c.userTimeout).Sub(c.p.net.Now())
		d = min(d, max(left, time.Millisecond))
	}
	c.persist = true
	c.rtx.arm(d)
}

// onDelack sends a delayed ACK.
func (c *Conn) onDelack() {
	if !c.ackPending || !c.state.synchronized() {
		return
	}
	if c.wndUpdate {
		// A read opened the window; an ACK that also acknowledges data
		// not yet acknowledged is that first (Wireshark calls only an
		// ACK that changes nothing but the window an update).
		why := whyWindowUpdate
		if c.lastAckSent != c.rcvNxt {
			why = whyAckOfData
		}
		c.sendAck(why)
		return
	}
	c.timerEvent("delack", "")
	c.delackFired()
	c.p.counters.DelayedACKs++
	c.sendAck(whyDelayedAck)
}

// onKA runs the keepalive, FIN_WAIT_2 and TIME_WAIT timer.
func (c *Conn) onKA() {
	switch c.state {
	case TimeWait:
		c.timerEvent("time-wait", "2·MSL elapsed")
		c.destroy()
		return
	case FinWait2:
		if c.orphan {
			c.timerEvent("fin-wait-2", "orphan timeout")
			c.destroy()
			return
		}
	}
	if !c.keepAlive || !(c.state == Established || c.state == CloseWait || c.state == FinWait2) {
		return
	}
	now := c.p.net.Now()
	if c.sndUna != c.sndMax || c.sndBuf.n > 0 {
		c.ka.arm(c.keepIdle) // the RTO watches a connection with data in flight
		return
	}
	idle := now.Sub(c.lastRecv)
	if c.probes == 0 && idle < c.keepIdle {
		c.ka.arm(c.keepIdle - idle)
		return
	}
	// Like Linux's tcp_keepalive_timer, TCP_USER_TIMEOUT replaces the
	// probe count once a probe has gone out.
	if (c.userTimeout > 0 && c.probes > 0 && idle >= c.userTimeout) || (c.userTimeout == 0 && c.probes >= c.keepCnt) {
		c.timerEvent("keepalive", "no answer → ETIMEDOUT")
		c.p.counters.EstabResets++
		c.p.counters.AbortOnTimeout++
		if c.linux() {
			// Linux's tcp_keepalive_timer resets the connection
			// (tcp_send_active_reset) before reporting the error; RFC 1122
			// §4.2.3.6 says nothing of a RST.
			o := c.rstOptions()
			c.ipHeader() // tcp_send_active_reset: the socket's own header
			c.p.send(c.tuple, c.sndMax, c.rcvNxt, flagRST|flagACK, c.rstWindow(), &o, nil, nil, whyRSTKeepAlive)
			c.p.counters.OutRsts++
		}
		c.fail(syscall.ETIMEDOUT)
		return
	}
	c.probes++
	c.p.counters.KeepAliveProbes++
	if c.p.net.Tracing() {
		c.timerEvent("keepalive", fmt.Sprintf("probe %d of %d", c.probes, c.keepCnt))
	}
	c.sendProbe(whyKeepAlive)
	c.ka.arm(c.keepIntvl)
}

func (c *Conn) retransEvent(why string) {
	if c.p.net.Tracing() {
		c.p.net.Observe(&core.Event{Kind: core.EventRetransmit, FD: -1, Proto: "tcp", Conn: c.tuple, Detail: why})
	}
}

// ccEvent reports a change of cwnd or ssthresh.
func (c *Conn) ccEvent(cwnd, ssthresh int, cause string) {
	if !c.p.net.Tracing() {
		return
	}
	nc, ns := c.cc.Cwnd(), c.cc.Ssthresh()
	if nc == cwnd && ns == ssthresh {
		return
	}
	c.p.net.Observe(&core.Event{Kind: core.EventCongestion, FD: -1, Proto: "tcp", Conn: c.tuple, Name: cause,
		Detail: fmt.Sprintf("%s: cwnd %d → %d, ssthresh %s → %s", c.ccCause(cause), cwnd, nc, ssText(ssthresh), ssText(ns))})
}

// ccCause explains a congestion event named name (tracing only).
func (c *Conn) ccCause(name string) string {
	switch name {
	case "fast retransmit":
		if c.dupAcks < 3 {
			return fmt.Sprintf("%d dup ACK(s), SACKed data past SND.UNA → SACK recovery (RFC 6675 §5)", c.dupAcks)
		}
		if c.sackRecovery() {
			return fmt.Sprintf("%d dup ACKs → SACK recovery (RFC 6675 §5)", c.dupAcks)
		}
		return fmt.Sprintf("%d dup ACKs → fast retransmit (RFC 5681 §3.2)", c.dupAcks)
	case "rto":
		return fmt.Sprintf("rto, backoff %d → loss window (RFC 5681 §3.1)", c.backoff)
	case "idle restart":
		return fmt.Sprintf("idle %v > rto %v → restart window (RFC 5681 §4.1)", c.p.net.Now().Sub(c.lastSend), c.rto)
	case "rack recovery":
		return "RACK loss → fast recovery (RFC 8985), PRR (RFC 6937)"
	case "tlp loss":
		return "the tail loss probe repaired a loss → cwnd reduced (RFC 8985 §7.4)"
	case "undo":
		return "spurious retransmission → undo (RFC 3708, RFC 2883)"
	case "ecn":
		return "ECE → cwnd reduced, once per window of data, CWR on the next data (RFC 3168 §6.1.2)"
	case "recovery done":
		return "full ACK → recovery done (RFC 6582 §3.2)"
	case "slow start → congestion avoidance":
		return "cwnd ≥ ssthresh → congestion avoidance (RFC 5681 §3.1)"
	}
	return name
}

func ssText(v int) string {
	if v >= 1<<30 {
		return "inf"
	}
	return fmt.Sprint(v)
}
