package cc

import (
	"testing"
	"time"
)

// linuxCubicAfter returns Linux's CUBIC that has just reduced from a
// window of w packets (ssthresh and cwnd ⌊w·717/1024⌋) and left the
// reduction, at HZ 250 with a 100 ms minimum delay seen.
func linuxCubicAfter(t *testing.T, w int) *LinuxCubic {
	t.Helper()
	const mss = 1000
	c := NewLinuxCubic(Config{MSS: mss, InitialSegments: w, Linux: true, HZ: 250, HyStart: HyStartClassic})
	c.OnAck(Ack{Now: t0, Acked: 0, RTT: 100 * time.Millisecond, Jiffies: 1000})
	c.EnterRecovery(t0, w*mss)
	c.ExitRecovery(t0, c.Ssthresh())
	return c
}

// One ACK per round trip covering the whole window, 100 ms apart, after
// a reduction from 10 packets: the windows Linux 6.18 read in
// cubic/after-cwr.pkt (tcpi_snd_cwnd after each ACK). RFC 9438's
// arithmetic ([Cubic]) stays at 7 after the first ACK: W_cubic a round
// trip ahead is 7.43 there, where the kernel's truncated cubic term
// gives 8.
func TestLinuxCubicRounds(t *testing.T) {
	c := linuxCubicAfter(t, 10)
	if c.Cwnd() != 7000 || c.Ssthresh() != 7000 || c.WMax() != 10000 {
		t.Fatalf("after the reduction: cwnd %d ssthresh %d W_max %d, want 7000 7000 10000", c.Cwnd(), c.Ssthresh(), c.WMax())
	}
	want := []int{8, 8, 8, 10, 10, 10, 10, 12, 12, 12, 12, 14, 14, 14, 16, 16, 16, 16, 18, 18}
	// The first ACK covers the 10 packets in flight at the reduction,
	// each later one the cwnd packets the ACK before let out.
	now, jiffies, acked := t0, uint32(1000), 10000
	for i, w := range want {
		now, jiffies = now.Add(100*time.Millisecond), jiffies+25
		c.OnAck(Ack{Now: now, Acked: acked, RTT: 100 * time.Millisecond, Jiffies: jiffies})
		acked = c.Cwnd()
		if got := c.Cwnd() / 1000; got != w {
			t.Fatalf("round %d: cwnd %d packets, want %d (Linux); want so far %v", i, got, w, want[:i+1])
		}
	}

	r := NewCubic(Config{MSS: 1000, InitialSegments: 10})
	r.EnterRecovery(t0, 10000)
	r.ExitRecovery(t0, r.Ssthresh())
	r.OnAck(Ack{Now: t0, Acked: 1000, RTT: 100 * time.Millisecond})
	r.OnAck(Ack{Now: t0.Add(100 * time.Millisecond), Acked: 7000, RTT: 100 * time.Millisecond})
	if r.Cwnd() >= 8000 {
		t.Errorf("RFC 9438's CUBIC reached %d bytes: the rounds above no longer tell the two apart", r.Cwnd())
	}
}

// The windows are whole packets, and ssthresh is ⌊cwnd·717/1024⌋ with
// fast convergence: W_max below the last one is (1 + β)/2 of cwnd.
func TestLinuxCubicReduction(t *testing.T) {
	for _, tc := range []struct{ w, ss, wmax int }{
		{10, 7, 10}, {20, 14, 20}, {56, 39, 56}, {110, 77, 110}, {2, 2, 2}, {3, 2, 3},
	} {
		c := linuxCubicAfter(t, tc.w)
		if c.Ssthresh() != tc.ss*1000 || c.Cwnd() != tc.ss*1000 || c.WMax() != tc.wmax*1000 {
			t.Errorf("from %d packets: ssthresh %d cwnd %d W_max %d, want %d, %d, %d packets", tc.w, c.Ssthresh(), c.Cwnd(), c.WMax(), tc.ss, tc.ss, tc.wmax)
		}
	}
	c := linuxCubicAfter(t, 100) // W_max 100, cwnd 70
	c.EnterRecovery(t0, 70000)   // below W_max: fast convergence
	if c.WMax() != 70*(1024+717)/2048*1000 || c.Ssthresh() != 49000 {
		t.Errorf("second reduction from 70 under W_max 100: W_max %d ssthresh %d, want %d and 49000", c.WMax(), c.Ssthresh(), 70*(1024+717)/2048*1000)
	}
	c.SetMSS(500)
	if c.Cwnd() != 49*500 || c.Ssthresh() != 49*500 {
		t.Errorf("after the MSS halves: cwnd %d ssthresh %d, want the same 49 packets", c.Cwnd(), c.Ssthresh())
	}
}

// A timeout forgets W_max (bictcp_reset on entering Loss): the next
// epoch's cnt is at most 20, 5 % a round trip, as before any loss.
func TestLinuxCubicAfterRTO(t *testing.T) {
	c := linuxCubicAfter(t, 40)
	c.OnRTO(t0, 28000)
	if c.WMax() != 0 || c.Cwnd() != 1000 || c.Ssthresh() != 28000*717/1024/1000*1000 {
		t.Fatalf("after the timeout: W_max %d cwnd %d ssthresh %d", c.WMax(), c.Cwnd(), c.Ssthresh())
	}
	now, j := t0, uint32(2000)
	for c.InSlowStart() {
		now, j = now.Add(100*time.Millisecond), j+25
		c.OnAck(Ack{Now: now, Acked: c.Cwnd(), RTT: 100 * time.Millisecond, Jiffies: j})
	}
	// The ACK that reached ssthresh (19) left 13 packets for congestion
	// avoidance: the cubic target sits on cwnd (K = 0), which alone
	// would make cnt 100·cwnd; the cap makes it 20.
	if c.cnt != 20 {
		t.Errorf("cnt %d after the timeout, want 20 (the cap while W_max is 0)", c.cnt)
	}
}

// CA_EVENT_TX_START: data sent with nothing in flight after an idle
// moves the epoch's start as far, never past now.
func TestLinuxCubicTxStart(t *testing.T) {
	c := linuxCubicAfter(t, 10)
	c.OnAck(Ack{Now: t0.Add(100 * time.Millisecond), Acked: 7000, RTT: 100 * time.Millisecond, Jiffies: 1025})
	if !c.epoch || c.epochStart != 1025 {
		t.Fatalf("epoch %v from %d, want one from jiffy 1025", c.epoch, c.epochStart)
	}
	c.OnTxStart(1100, 50)
	if c.epochStart != 1075 {
		t.Errorf("after 50 idle jiffies the epoch starts at %d, want 1075", c.epochStart)
	}
	c.OnTxStart(1200, 500)
	if c.epochStart != 1200 {
		t.Errorf("after a longer idle than the epoch the epoch starts at %d, want now (1200)", c.epochStart)
	}
}

// cubeRoot is ⌊∛a⌋ over the range bictcp_update uses, and at the
// cubes' edges.
func TestCubeRoot(t *testing.T) {
	for x := uint64(0); x < 3000; x++ {
		for _, a := range []uint64{x * x * x, x*x*x + x, (x+1)*(x+1)*(x+1) - 1} {
			if got := cubeRoot(a); uint64(got) != x {
				t.Fatalf("cubeRoot(%d) = %d, want %d", a, got, x)
			}
		}
	}
	// K for W_max − cwnd = 3: ∛(3·⌊2⁴⁰/410⌋) = 2003.7 (1.957 s); the
	// kernel's cubic_root gives 2002.
	if got := cubeRoot(lcCubeFactor * 3); got != 2003 {
		t.Errorf("K for W_max − cwnd = 3: %d/1024 s, want 2003", got)
	}
	if got := cubeRoot(1<<64 - 1); got != 2642245 {
		t.Errorf("cubeRoot(2⁶⁴−1) = %d, want 2642245", got)
	}
}

// Linux's tcp_cwnd_restart: cwnd halves for each RTO the idle lasted
// past the first, down to min(IW, cwnd), and ssthresh becomes at least
// ¾ of cwnd; RFC 5681 §4.1 (OnIdle) goes straight to the restart window.
func TestIdleRTORestart(t *testing.T) {
	const rto = 300 * time.Millisecond
	for _, tc := range []struct {
		cwnd int
		idle time.Duration
		want int
	}{
		{36, 450 * time.Millisecond, 18}, // one halving
		{36, 650 * time.Millisecond, 10}, // 18, 9, then the restart window
		{36, 2 * time.Second, 10},
		{40, 301 * time.Millisecond, 20},
		{8, time.Second, 8}, // below IW: the restart window is cwnd
	} {
		for _, name := range []string{"cubic", "newreno"} {
			ctl, _ := NewConfig(name, Config{MSS: 1000, Linux: true, HZ: 250, HyStart: HyStartClassic})
			ctl.EnterRecovery(t0, 10000) // a finite ssthresh (IW 10: 7 or 5)
			ctl.ExitRecovery(t0, ctl.Ssthresh())
			ctl.Undo(tc.cwnd*1000, 0) // cwnd tc.cwnd, ssthresh kept
			ss := ctl.Ssthresh()
			ctl.(IdleRTORestarter).OnIdleRTO(t0, tc.idle, rto)
			if got := ctl.Cwnd() / 1000; got != tc.want {
				t.Errorf("%s: cwnd %d idle %v: cwnd %d, want %d", name, tc.cwnd, tc.idle, got, tc.want)
			}
			if want := max(ss, (tc.cwnd/2+tc.cwnd/4)*1000); ctl.Ssthresh() != want {
				t.Errorf("%s: cwnd %d: ssthresh %d, want %d", name, tc.cwnd, ctl.Ssthresh(), want)
			}
		}
	}
	r := NewCubic(Config{MSS: 1000})
	r.Undo(36000, 0)
	r.OnIdle(t0, 450*time.Millisecond)
	if r.Cwnd() != 10000 {
		t.Errorf("RFC 5681 restart: cwnd %d, want 10000", r.Cwnd())
	}
}
