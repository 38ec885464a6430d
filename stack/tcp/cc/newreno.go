package cc

import "time"

// NewReno is the standard TCP congestion control: slow start and
// congestion avoidance of RFC 5681 with appropriate byte counting
// (RFC 3465, L = 2), and the window arithmetic of fast recovery
// (RFC 5681 §3.2, RFC 6582). Create it with [NewNewReno] or [New].
type NewReno struct {
	base
}

var _ Controller = (*NewReno)(nil)

// NewNewReno returns a NewReno controller with cwnd = IW and ssthresh =
// [InfiniteSsthresh].
func NewNewReno(cfg Config) *NewReno {
	r := &NewReno{}
	r.init(cfg)
	return r
}

// Name implements [Controller].
func (r *NewReno) Name() string { return "newreno" }

// OnAck implements [Controller].
func (r *NewReno) OnAck(a Ack) {
	r.ackCommon()
	r.hsAck(a)
	if a.Acked <= 0 || r.recovering || a.AppLimited {
		return
	}
	acked := a.Acked
	if r.cwnd < r.ssthresh {
		// RFC 5681 §3.1, RFC 3465 §2.2.
		acked = r.slowStart(acked)
		if acked == 0 {
			return
		}
	}
	// RFC 5681 §3.1 congestion avoidance with byte counting
	// (RFC 3465 §2.1): one SMSS per cwnd bytes acknowledged.
	r.bytesAcked += acked
	if r.bytesAcked >= r.cwnd {
		r.bytesAcked -= r.cwnd
		r.cwnd = clampCwnd(r.cwnd+r.mss, r.mss)
	}
}

// EnterRecovery implements [Controller]. RFC 5681 §3.2 step 2, eq. (4):
// ssthresh = max(FlightSize/2, 2·SMSS); cwnd = ssthresh (the engine adds
// the 3·SMSS inflation with Inflate when it does NewReno recovery).
func (r *NewReno) EnterRecovery(now time.Time, flightSize int) {
	r.hsEnd()
	r.ssthresh = r.renoSsthresh(flightSize)
	r.cwnd = clampCwnd(r.ssthresh, r.mss)
	r.bytesAcked = 0
	r.recovering = true
	r.rtoSlowStart = false
}

// ExitRecovery implements [Controller].
func (r *NewReno) ExitRecovery(now time.Time, flightSize int) {
	r.exitRecovery(flightSize)
}

// OnRTO implements [Controller]. RFC 5681 §3.1: ssthresh per eq. (4) on
// the first timeout of a series (held constant on later ones), cwnd = LW
// = 1·SMSS.
func (r *NewReno) OnRTO(now time.Time, flightSize int) {
	if !r.rtoSeries {
		r.ssthresh = r.renoSsthresh(flightSize)
	}
	r.rtoSeries = true
	r.recovering = false
	r.bytesAcked = 0
	r.cwnd = r.lossWindow()
}

// OnIdle implements [Controller]. RFC 5681 §4.1.
func (r *NewReno) OnIdle(now time.Time, idle time.Duration) {
	r.restart()
}
