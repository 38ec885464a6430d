package cc

import (
	"testing"
	"time"

	"stacklab/stack/tcp/seqnum"
)

// runRounds feeds a controller whole rounds of ACKs, one per MSS of
// cwnd, each with the RTT rtt(round), and returns the cwnd at each
// round's start.
func runRounds(t *testing.T, ctl Controller, rounds int, rtt func(int) time.Duration) []int {
	t.Helper()
	const mss = 1000
	now := time.Unix(0, 0)
	una, nxt := seqnum.Value(1), seqnum.Value(1)
	var cw []int
	for r := 0; r < rounds && ctl.InSlowStart(); r++ {
		cw = append(cw, ctl.Cwnd())
		end := una.Add(seqnum.Size(ctl.Cwnd())) // the round's last segment
		nxt = end
		for una.LessThan(end) {
			una = una.Add(mss)
			nxt = nxt.Add(2 * mss) // each ACK lets two new segments go
			now = now.Add(time.Millisecond)
			ctl.OnAck(Ack{Now: now, Acked: mss, RTT: rtt(r), Una: una, Nxt: nxt})
			if !ctl.InSlowStart() {
				break
			}
		}
	}
	return cw
}

// TestHyStartPP raises the RTT by 10 ms in round 4: HyStart++ (RFC 9406)
// moves to Conservative Slow Start, growing a quarter as fast, and after
// five rounds of it ends slow start with ssthresh = cwnd, no loss needed.
func TestHyStartPP(t *testing.T) {
	for _, name := range []string{"newreno", "cubic"} {
		t.Run(name, func(t *testing.T) {
			ctl, _ := NewConfig(name, Config{MSS: 1000})
			rtt := func(r int) time.Duration {
				if r >= 4 {
					return 60 * time.Millisecond
				}
				return 50 * time.Millisecond
			}
			cw := runRounds(t, ctl, 30, rtt)
			hs := ctl.(HyStarter).HyStart()
			if ctl.InSlowStart() || hs.Phase != HyStartDone || hs.CSSRounds != hsCSSRounds {
				t.Fatalf("still in slow start after %d rounds: cwnd %v, %+v", len(cw), cw, hs)
			}
			if d := ctl.Cwnd() - ctl.Ssthresh(); d < 0 || d > 1000 {
				t.Fatalf("ssthresh %d, cwnd %d", ctl.Ssthresh(), ctl.Cwnd())
			}
			// Rounds 0–3 double; from round 4 on, growth is a quarter:
			// ×1.25 per round.
			if cw[3] != 2*cw[2] {
				t.Fatalf("slow start did not double: %v", cw)
			}
			if g := float64(cw[6]) / float64(cw[5]); g < 1.2 || g > 1.3 {
				t.Fatalf("CSS growth %.2f per round, want 1.25: %v", g, cw)
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		ctl, _ := NewConfig("newreno", Config{MSS: 1000, HyStart: HyStartOff})
		cw := runRounds(t, ctl, 12, func(r int) time.Duration { return time.Duration(50+10*r) * time.Millisecond })
		if !ctl.InSlowStart() || cw[len(cw)-1] != 2*cw[len(cw)-2] {
			t.Fatalf("HyStart++ off: %v", cw)
		}
	})
	t.Run("rtt falls back", func(t *testing.T) {
		ctl, _ := NewConfig("newreno", Config{MSS: 1000})
		rtt := func(r int) time.Duration {
			if r == 4 {
				return 60 * time.Millisecond
			}
			return 50 * time.Millisecond
		}
		cw := runRounds(t, ctl, 8, rtt)
		if hs := ctl.(HyStarter).HyStart(); hs.Phase != HyStartSlowStart || hs.Transitions != 2 || !ctl.InSlowStart() {
			t.Fatalf("want CSS then back to slow start: %+v, cwnd %v", hs, cw)
		}
	})
}

// runTrain feeds a controller rounds of ACKs, one per MSS of the cwnd
// at the round's start, gap apart, each with the RTT rtt(round), the
// rounds rtt(round) apart; it stops when slow start ends and returns the
// cwnd at each round's start.
func runTrain(ctl Controller, rounds int, gap time.Duration, rtt func(int) time.Duration) []int {
	const mss = 1000
	now := time.Unix(0, 0)
	una, nxt := seqnum.Value(1), seqnum.Value(1)
	var cw []int
	for r := 0; r < rounds && ctl.InSlowStart(); r++ {
		cw = append(cw, ctl.Cwnd())
		end := una.Add(seqnum.Size(ctl.Cwnd()))
		start := now
		for una.LessThan(end) && ctl.InSlowStart() {
			una = una.Add(mss)
			nxt = una.Add(seqnum.Size(ctl.Cwnd() + mss)) // a full window out
			now = now.Add(gap)
			ctl.OnAck(Ack{Now: now, Acked: mss, RTT: rtt(r), Una: una, Nxt: nxt, SRTT: rtt(r)})
		}
		now = start.Add(rtt(r))
	}
	return cw
}

// TestHyStartClassic checks Linux's HyStart (tcp_cubic's hystart=1):
// slow start ends at once, ssthresh = cwnd, on a train of close ACKs
// longer than half the minimum RTT, or on a round whose minimum RTT is
// 4 ms (at least) above the connection's; never below 16 segments.
func TestHyStartClassic(t *testing.T) {
	flat := func(int) time.Duration { return 50 * time.Millisecond }
	t.Run("ack train", func(t *testing.T) {
		// ACKs 200 µs apart: a round of n ACKs lasts n·0.2 ms; the limit,
		// half of the 50 ms RTT and the TSO allowance (4·64 KiB at
		// 2·cwnd/SRTT, capped at 1 ms), 25.5 ms, is passed in the round
		// that starts at 160 segments, 129 ACKs after HyStart's round
		// began (when SND.UNA passed the SND.NXT of its last start: 29
		// ACKs into this one).
		ctl, _ := NewConfig("cubic", Config{MSS: 1000, HyStart: HyStartClassic})
		cw := runTrain(ctl, 20, 200*time.Microsecond, flat)
		hs := ctl.(HyStarter).HyStart()
		if ctl.InSlowStart() || hs.Exit != HyStartTrain || hs.Phase != HyStartDone {
			t.Fatalf("slow start not ended by the ACK train: cwnd %v, %+v", cw, hs)
		}
		if ctl.Ssthresh() != hs.Cwnd {
			t.Fatalf("ssthresh %d, exit cwnd %d", ctl.Ssthresh(), hs.Cwnd)
		}
		if hs.Train != 25600*time.Microsecond || hs.TrainLimit != 25500*time.Microsecond {
			t.Fatalf("train %v, limit %v", hs.Train, hs.TrainLimit)
		}
		if len(cw) != 5 || hs.Cwnd != 160_000+29_000+129_000 {
			t.Fatalf("exit at cwnd %d in round %d: %v", hs.Cwnd, len(cw)-1, cw)
		}
	})
	t.Run("delay", func(t *testing.T) {
		// ACKs 3 ms apart never make a train; the RTT rises 8 ms in
		// round 5, more than clamp(50/8 ms, 4 ms, 16 ms) = 6.25 ms.
		rtt := func(r int) time.Duration {
			if r >= 5 {
				return 58 * time.Millisecond
			}
			return 50 * time.Millisecond
		}
		ctl, _ := NewConfig("cubic", Config{MSS: 1000, HyStart: HyStartClassic})
		cw := runTrain(ctl, 20, 3*time.Millisecond, rtt)
		hs := ctl.(HyStarter).HyStart()
		if ctl.InSlowStart() || hs.Exit != HyStartDelay {
			t.Fatalf("slow start not ended by the delay: cwnd %v, %+v", cw, hs)
		}
		if hs.DelayMin != 50*time.Millisecond || hs.RoundMinRTT != 58*time.Millisecond || hs.Threshold != 6250*time.Microsecond {
			t.Fatalf("delay min %v, round %v, threshold %v", hs.DelayMin, hs.RoundMinRTT, hs.Threshold)
		}
		// the 9th sample of HyStart's round, which began 61 ACKs into
		// this one, decides
		if len(cw) != 6 || hs.Cwnd != cw[5]+61_000+9000 {
			t.Fatalf("exit at cwnd %d in round %d, rounds %v", hs.Cwnd, len(cw)-1, cw)
		}
	})
	t.Run("below 16 segments", func(t *testing.T) {
		// cwnd 10, RTT up 20 ms from round 1: HyStart waits for 16
		// segments, then the rise it sees is the round's.
		ctl, _ := NewConfig("cubic", Config{MSS: 1000, HyStart: HyStartClassic})
		rtt := func(r int) time.Duration { return time.Duration(50+20*r) * time.Millisecond }
		cw := runTrain(ctl, 20, 3*time.Millisecond, rtt)
		if len(cw) < 2 || cw[1] != 20_000 {
			t.Fatalf("slow start ended before 16 segments: %v", cw)
		}
	})
	t.Run("after a timeout", func(t *testing.T) {
		ctl, _ := NewConfig("cubic", Config{MSS: 1000, HyStart: HyStartClassic})
		runTrain(ctl, 20, 200*time.Microsecond, flat)
		ctl.OnRTO(time.Unix(100, 0), ctl.Cwnd())
		if hs := ctl.(HyStarter).HyStart(); hs.Phase != HyStartSlowStart {
			t.Fatalf("HyStart not watching the slow start after the RTO: %+v", hs)
		}
	})
	t.Run("not after a loss", func(t *testing.T) {
		// A fast recovery leaves cwnd = ssthresh: no slow start to
		// watch, and RFC 9406's rule (HyStart++ ends for good) does not
		// apply to Linux's.
		ctl, _ := NewConfig("cubic", Config{MSS: 1000, HyStart: HyStartClassic})
		runTrain(ctl, 3, 3*time.Millisecond, flat)
		ctl.EnterRecovery(time.Unix(10, 0), ctl.Cwnd())
		if hs := ctl.(HyStarter).HyStart(); hs.Phase != HyStartSlowStart || hs.Exit != HyStartNoExit {
			t.Fatalf("%+v", hs)
		}
	})
}

// TestCubicLinuxGrowth checks tcp_cubic's growth before the first loss:
// after HyStart set ssthresh = cwnd, at least 5 % per round trip; the
// RFC's cubic function, W_max at that window, is almost flat.
func TestCubicLinuxGrowth(t *testing.T) {
	grow := func(linux bool) float64 {
		c := NewCubic(Config{MSS: 1000, Linux: linux, HyStart: HyStartOff})
		c.ssthresh = 100_000
		c.cwnd = 100_000
		now := time.Unix(0, 0)
		for r := 0; r < 10; r++ {
			n := c.Cwnd() / 1000
			for i := 0; i < n; i++ {
				now = now.Add(50 * time.Millisecond / time.Duration(n))
				c.OnAck(Ack{Now: now, Acked: 1000, RTT: 50 * time.Millisecond})
			}
		}
		return float64(c.Cwnd()) / 100_000
	}
	if g := grow(true); g < 1.6 || g > 1.65 {
		t.Fatalf("linux: ×%.3f in 10 round trips, want 1.05¹⁰ ≈ 1.63", g)
	}
	if g := grow(false); g > 1.1 {
		t.Fatalf("RFC 9438: ×%.3f in 10 round trips, want nearly flat", g)
	}
}

// TestHyStartClassicPauseAfterEpoch: as tcp_cubic's cubictcp_acked,
// classic HyStart ignores RTT samples for a second after a
// congestion-avoidance epoch began (after a fast recovery): a smaller
// RTT then does not lower delay_min; a second later it does.
func TestHyStartClassicPauseAfterEpoch(t *testing.T) {
	ctl, _ := NewConfig("cubic", Config{MSS: 1000, HyStart: HyStartClassic})
	c := ctl.(*Cubic)
	now := time.Unix(100, 0)
	una, nxt := seqnum.Value(1000), seqnum.Value(50_000)
	c.OnAck(Ack{Now: now, Acked: 1000, RTT: 50 * time.Millisecond, Una: una, Nxt: nxt})
	if c.hs.delayMin != 50*time.Millisecond {
		t.Fatalf("delay_min %v after the first sample", c.hs.delayMin)
	}
	c.EnterRecovery(now, 40_000)
	c.ExitRecovery(now.Add(60*time.Millisecond), 20_000)
	// The first ACK in congestion avoidance starts the epoch.
	now = now.Add(100 * time.Millisecond)
	una = una.Add(1000)
	c.OnAck(Ack{Now: now, Acked: 1000, RTT: 60 * time.Millisecond, Una: una, Nxt: nxt})
	if c.tEpoch.IsZero() {
		t.Fatal("no congestion-avoidance epoch started")
	}
	now = now.Add(500 * time.Millisecond)
	una = una.Add(1000)
	c.OnAck(Ack{Now: now, Acked: 1000, RTT: 30 * time.Millisecond, Una: una, Nxt: nxt})
	if c.hs.delayMin != 50*time.Millisecond {
		t.Fatalf("delay_min %v: a sample 0.5 s into the epoch was used", c.hs.delayMin)
	}
	now = now.Add(600 * time.Millisecond)
	una = una.Add(1000)
	c.OnAck(Ack{Now: now, Acked: 1000, RTT: 30 * time.Millisecond, Una: una, Nxt: nxt})
	if c.hs.delayMin != 30*time.Millisecond {
		t.Fatalf("delay_min %v: a sample 1.1 s into the epoch was not used", c.hs.delayMin)
	}
}
