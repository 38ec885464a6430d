package cc

import "time"

// maxCwnd caps cwnd so that arithmetic on it never overflows.
const maxCwnd = 1 << 30

// minMSS is the default SMSS when none is given (RFC 9293 §3.7.1).
const minMSS = 536

// abcLimit is L, the slow start byte counting limit in segments
// (RFC 3465 §2.2: L = 2·SMSS).
const abcLimit = 2

// base is the state shared by every controller: the windows, the
// recovery logic of RFC 5681 and RFC 6582, and the initial and restart
// windows. The algorithms embed it and add their own increase and
// decrease rules.
type base struct {
	mss          int
	cwnd         int
	ssthresh     int
	initialSegs  int // 0: RFC 6928 formula
	bytesAcked   int // RFC 3465 §2.1 byte counter for congestion avoidance
	recovering   bool
	rtoSeries    bool // OnRTO called and no new data acknowledged since
	rtoSlowStart bool // in the slow start that follows a timeout
	seenAck      bool // an ACK of data has been processed
	perPacket    bool // Linux's per-segment slow start (Config.PerPacket)
	hs           hystart
}

func (b *base) init(cfg Config) {
	b.mss = cfg.MSS
	if b.mss < 1 {
		b.mss = minMSS
	}
	b.initialSegs = cfg.InitialSegments
	b.perPacket = cfg.PerPacket
	if b.initialSegs < 0 {
		b.initialSegs = 0
	}
	b.ssthresh = InfiniteSsthresh
	b.cwnd = b.initialWindow()
	b.hsInit(cfg.HyStart)
}

// initialWindow returns IW in bytes.
func (b *base) initialWindow() int {
	if b.initialSegs > 0 {
		return clampCwnd(b.initialSegs*b.mss, b.mss)
	}
	// RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
	return min(DefaultInitialSegments*b.mss, max(2*b.mss, 14600))
}

func clampCwnd(c, mss int) int {
	if c < mss {
		return mss
	}
	if c > maxCwnd {
		return maxCwnd
	}
	return c
}

// SetMSS implements [Controller].
func (b *base) SetMSS(mss int) {
	if mss < 1 {
		mss = minMSS
	}
	b.mss = mss
	if !b.seenAck && !b.rtoSeries && !b.recovering {
		b.cwnd = b.initialWindow()
		return
	}
	b.cwnd = clampCwnd(b.cwnd, b.mss)
}

// Cwnd implements [Controller].
func (b *base) Cwnd() int { return b.cwnd }

// Ssthresh implements [Controller].
func (b *base) Ssthresh() int { return b.ssthresh }

// InSlowStart implements [Controller].
func (b *base) InSlowStart() bool { return b.cwnd < b.ssthresh }

// InRecovery implements [Controller].
func (b *base) InRecovery() bool { return b.recovering }

// slowStart grows cwnd for an ACK of acked bytes and returns the bytes
// left over once cwnd reached ssthresh (to be used in congestion
// avoidance).
//
// RFC 5681 §3.1 with RFC 3465 §2.2 byte counting: cwnd += min(N, L·SMSS),
// L = 2.
//
// In the slow start that follows a retransmission timeout, L is one SMSS
// (RFC 3465 §2.3): a cumulative ACK may then cover data that arrived
// before the timeout, and a burst must not follow.
func (b *base) slowStart(acked int) int {
	limit := abcLimit * b.mss
	if b.rtoSlowStart {
		limit = b.mss
	}
	inc := min(acked, limit)
	if b.perPacket {
		inc = (acked + b.mss - 1) / b.mss * b.mss
	}
	if b.hs.div > 1 {
		inc /= b.hs.div // HyStart++ Conservative Slow Start (RFC 9406 §4.2)
	}
	room := b.ssthresh - b.cwnd
	if inc <= room {
		b.cwnd = clampCwnd(b.cwnd+inc, b.mss)
		return 0
	}
	b.rtoSlowStart = false
	b.cwnd = clampCwnd(b.ssthresh, b.mss)
	return min(acked, inc-room)
}

// ackCommon does the bookkeeping every controller needs on an ACK.
func (b *base) ackCommon() {
	b.seenAck = true
	b.rtoSeries = false
}

// lossWindow is the cwnd after a retransmission timeout: one segment
// (RFC 5681 §3.1, LW). Slow start with L = 1·SMSS follows.
func (b *base) lossWindow() int {
	b.hsEnd()
	b.hsRestart()
	b.rtoSlowStart = true
	return b.mss
}

// Inflate implements [Controller]. RFC 5681 §3.2 steps 3 and 4.
func (b *base) Inflate(n int) {
	if n <= 0 {
		return
	}
	b.cwnd = clampCwnd(b.cwnd+n, b.mss)
}

// Deflate implements [Controller]. RFC 6582 §3.2 step 3: deflate by the
// newly acknowledged data, add back one SMSS if at least SMSS was acked.
func (b *base) Deflate(acked int) {
	if acked <= 0 {
		return
	}
	c := b.cwnd - acked
	if acked >= b.mss {
		c += b.mss
	}
	b.cwnd = clampCwnd(c, b.mss)
}

// exitRecovery implements the window part of [Controller.ExitRecovery].
// RFC 6582 §3.2 step 4, first option: cwnd = min(ssthresh,
// max(FlightSize, SMSS) + SMSS).
func (b *base) exitRecovery(flightSize int) {
	b.recovering = false
	b.rtoSlowStart = false
	b.bytesAcked = 0
	b.cwnd = clampCwnd(min(b.ssthresh, max(flightSize, b.mss)+b.mss), b.mss)
	b.seenAck = true
	b.rtoSeries = false
}

// Undo implements [Controller].
func (b *base) Undo(priorCwnd, priorSsthresh int) {
	b.recovering = false
	b.rtoSlowStart = false
	b.rtoSeries = false
	b.cwnd = clampCwnd(max(b.cwnd, priorCwnd), b.mss)
	b.ssthresh = max(b.ssthresh, priorSsthresh)
}

// restart implements RFC 5681 §4.1: after an idle period longer than the
// RTO, cwnd = min(RW, cwnd) with RW = min(IW, cwnd).
func (b *base) restart() {
	b.cwnd = min(b.cwnd, b.initialWindow())
	b.bytesAcked = 0
}

// IdleRTORestarter is a [Controller] that restarts its window after
// idle as Linux's tcp_cwnd_restart does, which needs the RTO: the
// engine's linux profile calls OnIdleRTO in place of OnIdle.
type IdleRTORestarter interface {
	OnIdleRTO(now time.Time, idle, rto time.Duration)
}

// OnIdleRTO implements [IdleRTORestarter]: Linux's tcp_cwnd_restart.
// Out of a reduction, ssthresh becomes at least ¾ of cwnd
// (tcp_current_ssthresh), then cwnd halves for each RTO the idle time
// lasted past the first, down to the restart window min(IW, cwnd), all
// in whole packets. RFC 5681 §4.1 takes cwnd straight to the restart
// window, however short the idle past the RTO
// (slowstart/idle-restart-halves.pkt).
func (b *base) OnIdleRTO(now time.Time, idle, rto time.Duration) {
	mss := b.mss
	cw := b.cwnd / mss
	if !b.recovering {
		b.ssthresh = max(b.ssthresh, ((cw>>1)+(cw>>2))*mss)
	}
	restart := min(b.initialWindow()/mss, cw)
	if rto > 0 {
		for d := idle - rto; d > 0 && cw > restart; d -= rto {
			cw >>= 1
		}
	}
	b.cwnd = clampCwnd(max(cw, restart)*mss, mss)
	b.bytesAcked = 0
}

// renoSsthresh is RFC 5681 eq. (4): max(FlightSize/2, 2·SMSS).
func (b *base) renoSsthresh(flightSize int) int {
	return max(flightSize/2, 2*b.mss)
}
