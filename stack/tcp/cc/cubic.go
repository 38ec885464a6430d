package cc

import (
	"math"
	"time"
)

// CUBIC constants (RFC 9438 §4.1, §4.3).
const (
	// CubicBeta is β_cubic, the multiplicative decrease factor.
	CubicBeta = 0.7
	// CubicC is C, the scaling constant of the cubic function, in
	// segments per second³.
	CubicC = 0.4
	// cubicAlpha is α_cubic = 3(1−β)/(1+β), the additive increase of
	// the Reno-friendly estimate W_est before it reaches cwnd_prior.
	cubicAlpha = 3 * (1 - CubicBeta) / (1 + CubicBeta)
)

// Cubic is CUBIC congestion control (RFC 9438): standard slow start,
// then a window that follows W_cubic(t) = C·(t−K)³ + W_max, never below
// the Reno-friendly estimate W_est, with β = 0.7 and fast convergence.
// The initial slow start runs HyStart++ (RFC 9406) or Linux's HyStart
// ([Config.HyStart]). Window arithmetic inside the cubic
// function is in segments and seconds, as in the RFC; [Controller]
// methods use bytes. Create it with [NewCubic] or [New].
type Cubic struct {
	base

	wMax      float64   // W_max, segments
	cwndPrior float64   // cwnd_prior, segments, for the W_est α switch
	cwndEpoch float64   // cwnd_epoch, segments
	k         float64   // K, seconds
	wEst      float64   // W_est, segments
	tEpoch    time.Time // start of the current congestion avoidance stage; zero: not started
	afterRTO  bool      // the next congestion avoidance stage follows a timeout (RFC 9438 §4.8)
	srtt      time.Duration
	frac      float64 // fractional bytes of cwnd growth not yet added
	linux     bool    // Config.Linux
	noWMax    bool    // no loss has set W_max since the start or the last timeout (Linux's last_max_cwnd == 0)
}

var _ Controller = (*Cubic)(nil)

// NewCubic returns a CUBIC controller with cwnd = IW and ssthresh =
// [InfiniteSsthresh].
func NewCubic(cfg Config) *Cubic {
	c := &Cubic{linux: cfg.Linux, noWMax: true}
	c.init(cfg)
	return c
}

// Name implements [Controller].
func (c *Cubic) Name() string { return "cubic" }

// K returns the current K in seconds: the time the cubic function takes
// to grow back to W_max from the start of the congestion avoidance
// stage (RFC 9438 eq. 2). It is 0 before the first stage starts.
func (c *Cubic) K() float64 { return c.k }

// WMax returns W_max in bytes: the window just before the last window
// reduction, after fast convergence (RFC 9438 §4.7).
func (c *Cubic) WMax() int { return int(c.wMax * float64(c.mss)) }

// cubicK is RFC 9438 eq. (2): K = ∛((W_max − cwnd_epoch)/C).
func cubicK(wMax, cwndEpoch float64) float64 {
	return math.Cbrt((wMax - cwndEpoch) / CubicC)
}

// wCubic is RFC 9438 eq. (1): W_cubic(t) = C·(t−K)³ + W_max, in segments.
func wCubic(t, k, wMax float64) float64 {
	d := t - k
	return CubicC*d*d*d + wMax
}

// OnAck implements [Controller].
func (c *Cubic) OnAck(a Ack) {
	c.ackCommon()
	c.hs.caEpoch = c.tEpoch
	c.hsAck(a)
	if a.RTT > 0 {
		if c.srtt == 0 {
			c.srtt = a.RTT
		} else {
			c.srtt += (a.RTT - c.srtt) / 8
		}
	}
	if a.Acked <= 0 || c.recovering || a.AppLimited {
		return
	}
	acked := a.Acked
	if c.cwnd < c.ssthresh {
		acked = c.slowStart(acked)
		if acked == 0 {
			return
		}
	}
	c.congestionAvoidance(a.Now, acked)
}

// startEpoch begins a congestion avoidance stage (RFC 9438 §4.2, §4.8).
func (c *Cubic) startEpoch(now time.Time) {
	c.tEpoch = now
	mss := float64(c.mss)
	c.cwndEpoch = float64(c.cwnd) / mss
	c.wEst = c.cwndEpoch
	if c.afterRTO || c.wMax < c.cwndEpoch {
		// RFC 9438 §4.8: after a timeout, K = 0 and W_max = the window at
		// the start of the stage. The same holds when no loss has set
		// W_max yet (ssthresh given from outside) or the window already
		// exceeds it.
		c.wMax = c.cwndEpoch
		c.k = 0
		c.afterRTO = false
		return
	}
	c.k = cubicK(c.wMax, c.cwndEpoch)
}

// congestionAvoidance grows cwnd for acked bytes in congestion
// avoidance (RFC 9438 §4.2–§4.5).
func (c *Cubic) congestionAvoidance(now time.Time, acked int) {
	if c.tEpoch.IsZero() {
		c.startEpoch(now)
	}
	mss := float64(c.mss)
	cwnd := float64(c.cwnd) / mss
	t := now.Sub(c.tEpoch).Seconds()
	if t < 0 {
		t = 0
	}
	segs := float64(acked) / mss

	// RFC 9438 §4.3: W_est += α·segments_acked/cwnd, with α = 1 once
	// W_est has reached cwnd_prior.
	alpha := cubicAlpha
	if c.wEst >= c.cwndPrior {
		alpha = 1
	}
	c.wEst += alpha * segs / cwnd

	// Linux: until a loss sets W_max, at least one segment per 20
	// acknowledged, 5 % per round trip.
	floor := 0.0
	if c.linux && c.noWMax {
		floor = float64(acked) / 20
	}
	wc := wCubic(t, c.k, c.wMax)
	var target float64
	if wc < c.wEst {
		// RFC 9438 §4.3: Reno-friendly region, cwnd = W_est.
		target = c.wEst
		before := c.cwnd
		c.growTo(target)
		if grown := float64(c.cwnd - before); grown < floor {
			c.addFrac(floor - grown)
		}
		return
	}
	// RFC 9438 §4.4, §4.5: concave and convex regions; the target is
	// W_cubic(t + RTT), bounded to [cwnd, 1.5·cwnd], and cwnd grows by
	// (target − cwnd)/cwnd per acknowledged segment.
	rtt := c.srtt
	if rtt <= 0 {
		rtt = 100 * time.Millisecond
	}
	target = wCubic(t+rtt.Seconds(), c.k, c.wMax)
	if target < cwnd {
		target = cwnd
	} else if target > 1.5*cwnd {
		target = 1.5 * cwnd
	}
	c.addFrac(max((target-cwnd)/cwnd*float64(acked), floor))
}

// addFrac adds inc bytes to cwnd, keeping the fraction for later.
func (c *Cubic) addFrac(inc float64) {
	c.frac += inc
	if c.frac >= 1 {
		n := int(c.frac)
		c.frac -= float64(n)
		c.cwnd = clampCwnd(c.cwnd+n, c.mss)
	}
}

// growTo sets cwnd to w segments if that is larger.
func (c *Cubic) growTo(w float64) {
	b := w * float64(c.mss)
	if b > float64(maxCwnd) {
		b = maxCwnd
	}
	if nb := int(b); nb > c.cwnd {
		c.cwnd = nb
		c.frac = 0
	}
}

// reduce applies RFC 9438 §4.6 and §4.7 and returns the new ssthresh in
// bytes.
func (c *Cubic) reduce() int {
	mss := float64(c.mss)
	cwnd := float64(c.cwnd) / mss
	// RFC 9438 §4.7 fast convergence.
	if cwnd < c.wMax {
		c.wMax = cwnd * (1 + CubicBeta) / 2
	} else {
		c.wMax = cwnd
	}
	// RFC 9438 §4.6: ssthresh = cwnd·β, cwnd_prior = cwnd.
	c.cwndPrior = cwnd
	ss := int(math.Round(float64(c.cwnd) * CubicBeta))
	c.noWMax = false
	c.tEpoch = time.Time{}
	c.frac = 0
	c.bytesAcked = 0
	return max(ss, 2*c.mss)
}

// EnterRecovery implements [Controller]. RFC 9438 §4.6: ssthresh =
// cwnd·β_cubic (from cwnd as the RFC writes it; flightSize is ignored,
// and cwnd does not grow while the flow is application-limited, see
// [Ack.AppLimited]), cwnd = max(ssthresh, 2·SMSS).
func (c *Cubic) EnterRecovery(now time.Time, flightSize int) {
	c.hsEnd()
	c.ssthresh = c.reduce()
	c.cwnd = clampCwnd(c.ssthresh, c.mss)
	c.recovering = true
	c.rtoSlowStart = false
}

// ExitRecovery implements [Controller].
func (c *Cubic) ExitRecovery(now time.Time, flightSize int) {
	c.exitRecovery(flightSize)
}

// OnRTO implements [Controller]. RFC 9438 §4.8: ssthresh as in §4.6 on
// the first timeout of a series, cwnd = 1·SMSS; the next congestion
// avoidance stage starts with K = 0.
func (c *Cubic) OnRTO(now time.Time, flightSize int) {
	if !c.rtoSeries {
		c.ssthresh = c.reduce()
	}
	c.rtoSeries = true
	c.recovering = false
	c.afterRTO = true
	c.noWMax = true // tcp_cubic forgets last_max_cwnd in the Loss state
	c.tEpoch = time.Time{}
	c.cwnd = c.lossWindow()
}

// OnIdle implements [Controller]. RFC 5681 §4.1 restart window; the
// cubic epoch starts again when congestion avoidance resumes, so the idle
// time does not count as growth time (RFC 9438 §5.8).
func (c *Cubic) OnIdle(now time.Time, idle time.Duration) {
	c.restart()
	if !c.tEpoch.IsZero() {
		c.tEpoch = c.tEpoch.Add(idle)
	}
}

// OnIdleRTO implements [IdleRTORestarter]: Linux's restart window, and
// the epoch moved on by the idle time as in OnIdle.
func (c *Cubic) OnIdleRTO(now time.Time, idle, rto time.Duration) {
	c.base.OnIdleRTO(now, idle, rto)
	if !c.tEpoch.IsZero() {
		c.tEpoch = c.tEpoch.Add(idle)
	}
}
