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
		ctl, _ := NewConfig("newreno", Config{MSS: 1000, NoHyStart: true})
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
