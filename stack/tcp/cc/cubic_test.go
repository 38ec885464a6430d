package cc

import (
	"math"
	"testing"
	"time"
)

// RFC 9438 eq. (1) and (2) at known points.
func TestCubicFormula(t *testing.T) {
	for _, tc := range []struct {
		wMax, epoch, wantK float64
	}{
		{100, 70, 4.217163326508746}, // ∛(30/0.4) = ∛75
		{10, 7, 1.9574338205844317},  // ∛7.5
		{100, 100, 0},
		{1000, 700, 9.085602964160698}, // ∛750
	} {
		k := cubicK(tc.wMax, tc.epoch)
		if math.Abs(k-tc.wantK) > 1e-9 {
			t.Errorf("K(%v, %v) = %v, want %v", tc.wMax, tc.epoch, k, tc.wantK)
		}
		if w := wCubic(0, k, tc.wMax); math.Abs(w-tc.epoch) > 1e-9 {
			t.Errorf("W_cubic(0) = %v, want cwnd_epoch %v", w, tc.epoch)
		}
		if w := wCubic(k, k, tc.wMax); w != tc.wMax {
			t.Errorf("W_cubic(K) = %v, want W_max %v", w, tc.wMax)
		}
		if w, want := wCubic(2*k, k, tc.wMax), tc.wMax+CubicC*k*k*k; math.Abs(w-want) > 1e-9 {
			t.Errorf("W_cubic(2K) = %v, want %v", w, want)
		}
	}
	if math.Abs(cubicAlpha-0.5294117647058824) > 1e-12 {
		t.Errorf("α_cubic = %v, want 3(1−0.7)/(1+0.7)", cubicAlpha)
	}
}

// cubicAfterLoss returns a CUBIC controller that has just reduced from a
// window of w segments, left recovery, and started its congestion
// avoidance epoch at the returned time.
func cubicAfterLoss(t *testing.T, mss, w int) (*Cubic, time.Time) {
	t.Helper()
	c := NewCubic(Config{MSS: mss, InitialSegments: w})
	c.EnterRecovery(t0, w*mss)
	c.ExitRecovery(t0, w*mss)
	return c, t0
}

// RFC 9438 §4.6: ssthresh = cwnd·0.7, cwnd = ssthresh; §4.2: K from
// W_max and cwnd_epoch at the start of congestion avoidance.
func TestCubicReductionAndK(t *testing.T) {
	const mss = 1000
	c, now := cubicAfterLoss(t, mss, 100)
	if c.Ssthresh() != 70*mss || c.Cwnd() != 70*mss || c.InSlowStart() {
		t.Fatalf("after loss at 100 segments: ssthresh %d cwnd %d", c.Ssthresh(), c.Cwnd())
	}
	if c.WMax() != 100*mss {
		t.Fatalf("W_max %d, want %d", c.WMax(), 100*mss)
	}
	c.OnAck(Ack{Now: now, Acked: mss, RTT: 100 * time.Millisecond})
	if math.Abs(c.K()-4.217163326508746) > 1e-9 {
		t.Fatalf("K = %v, want ∛75", c.K())
	}
	// Tiny windows: ssthresh never below 2·SMSS.
	c2 := NewCubic(Config{MSS: mss, InitialSegments: 2})
	c2.EnterRecovery(t0, 2*mss)
	if c2.Ssthresh() != 2*mss || c2.Cwnd() != 2*mss {
		t.Fatalf("loss at 2 segments: ssthresh %d cwnd %d, want 2 segments", c2.Ssthresh(), c2.Cwnd())
	}
}

// RFC 9438 §4.4/§4.5: with a long RTT (cubic region), cwnd follows
// W_cubic(t) = C(t−K)³ + W_max.
func TestCubicFollowsWCubic(t *testing.T) {
	const mss = 1000
	const rtt = 100 * time.Millisecond
	c, now := cubicAfterLoss(t, mss, 100)
	epoch := now
	k := cubicK(100, 70)
	for _, at := range []float64{0.5, 1, 2, 3, k, 4.5} {
		for now.Sub(epoch).Seconds() < at-1e-9 {
			now = round(c, mss, 1, now, rtt)
		}
		tt := now.Sub(epoch).Seconds()
		want := wCubic(tt, k, 100)
		got := float64(c.Cwnd()) / mss
		if math.Abs(got-want) > 2 {
			t.Errorf("t=%.2fs: cwnd %.1f segments, W_cubic %.1f", tt, got, want)
		}
	}
}

// RFC 9438 §4.3: with a short RTT, the Reno-friendly estimate W_est
// (α = 0.53 per RTT up to cwnd_prior, then 1) exceeds W_cubic and sets
// cwnd.
func TestCubicRenoFriendlyRegion(t *testing.T) {
	const mss = 1000
	const rtt = time.Millisecond
	c, now := cubicAfterLoss(t, mss, 10) // W_max 10, cwnd 7
	const rounds = 100
	for i := 0; i < rounds; i++ {
		now = round(c, mss, 1, now, rtt)
	}
	// 7 → 10 at α_cubic per RTT takes 3/α RTTs, then +1 per RTT.
	want := 10 + (rounds - 3/cubicAlpha)
	got := float64(c.Cwnd()) / mss
	wc := wCubic(now.Sub(t0).Seconds(), cubicK(10, 7), 10)
	if math.Abs(got-want) > 3 {
		t.Errorf("cwnd %.1f segments after %d RTTs, want W_est ≈ %.1f (W_cubic %.1f)", got, rounds, want, wc)
	}
	if got < wc+50 {
		t.Errorf("cwnd %.1f not in the Reno-friendly region (W_cubic %.1f)", got, wc)
	}
}

// RFC 9438 §4.7: fast convergence lowers W_max when a loss comes before
// the window regained the previous W_max.
func TestCubicFastConvergence(t *testing.T) {
	const mss = 1000
	for _, tc := range []struct {
		lossAt   int
		wantWMax float64
		wantSS   int
	}{
		{90, 90 * (1 + CubicBeta) / 2, 63 * mss},
		{120, 120, 84 * mss},
		{100, 100, 70 * mss},
	} {
		c, _ := cubicAfterLoss(t, mss, 100)
		c.cwnd = tc.lossAt * mss
		c.EnterRecovery(t0.Add(time.Second), tc.lossAt*mss)
		if math.Abs(c.wMax-tc.wantWMax) > 1e-9 || c.Ssthresh() != tc.wantSS {
			t.Errorf("loss at %d: W_max %v ssthresh %d, want %v %d", tc.lossAt, c.wMax, c.Ssthresh(), tc.wantWMax, tc.wantSS)
		}
	}
}

// RFC 9438 §4.8: after a timeout, slow start to ssthresh, then a
// congestion avoidance epoch with K = 0 and W_max = cwnd at its start.
func TestCubicAfterRTO(t *testing.T) {
	const mss = 1000
	c := NewCubic(Config{MSS: mss, InitialSegments: 100})
	c.OnRTO(t0, 100*mss)
	if c.Cwnd() != mss || c.Ssthresh() != 70*mss {
		t.Fatalf("after RTO: cwnd %d ssthresh %d", c.Cwnd(), c.Ssthresh())
	}
	now := t0.Add(time.Second)
	for c.InSlowStart() {
		now = round(c, mss, 1, now, 50*time.Millisecond)
	}
	if c.Cwnd() < 70*mss || c.Cwnd() > 71*mss {
		t.Fatalf("slow start ended at %d, want about ssthresh %d", c.Cwnd(), 70*mss)
	}
	c.OnAck(Ack{Now: now, Acked: mss, RTT: 50 * time.Millisecond})
	if c.K() != 0 || c.WMax() < 70*mss || c.WMax() > 71*mss {
		t.Errorf("first epoch after RTO: K %v W_max %d, want 0 and about %d", c.K(), c.WMax(), 70*mss)
	}
	before := c.Cwnd()
	for i := 0; i < 20; i++ {
		now = round(c, mss, 1, now, 50*time.Millisecond)
	}
	if c.Cwnd() <= before {
		t.Errorf("cwnd did not grow after the RTO epoch started: %d → %d", before, c.Cwnd())
	}
}

// The cubic epoch does not count idle time (RFC 9438 §5.8, RFC 5681 §4.1).
func TestCubicIdleShiftsEpoch(t *testing.T) {
	const mss = 1000
	c, now := cubicAfterLoss(t, mss, 100)
	c.OnAck(Ack{Now: now, Acked: mss, RTT: 100 * time.Millisecond})
	epoch := c.tEpoch
	before := c.Cwnd()
	c.OnIdle(now.Add(time.Second), 10*time.Second)
	if got := c.tEpoch.Sub(epoch); got != 10*time.Second {
		t.Errorf("epoch moved by %v, want 10s", got)
	}
	if c.Cwnd() != before { // IW is 100 segments here, above cwnd
		t.Errorf("cwnd after idle %d, want min(IW, cwnd) = %d", c.Cwnd(), before)
	}
}
