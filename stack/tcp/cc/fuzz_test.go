package cc

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzController drives each controller with random calls and checks
// that the windows stay sane: cwnd within [SMSS, maxCwnd], ssthresh at
// least 2·SMSS once set, CUBIC's state finite, InRecovery as documented;
// under Config.Linux too (Linux's CUBIC, the idle restart with the RTO).
func FuzzController(f *testing.F) {
	f.Add([]byte{0, 5, 0, 0, 1, 0, 10, 0, 2, 0, 3, 4, 0, 0, 5, 0, 0, 6, 0, 0})
	f.Add([]byte{1, 200, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 255, 255, 4, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 7, 0, 0, 4, 255, 255, 0, 0, 100, 3, 0, 0, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		name := Names()[int(data[0])%len(Names())]
		linux := int(data[0])/len(Names())%2 == 1
		mss := 1 + int(data[1])*40
		data = data[2:]
		cfg := Config{MSS: mss, InitialSegments: len(data) % 5}
		if linux {
			cfg.Linux, cfg.PerPacket, cfg.HZ, cfg.HyStart = true, true, 250, HyStartClassic
		}
		c, err := NewConfig(name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Unix(1000, 0)
		now := start
		lossMSS := 0 // SMSS at the last congestion event
		for steps := 0; len(data) >= 3 && steps < 500; steps++ {
			op := data[0] % 9
			v := int(binary.BigEndian.Uint16(data[1:3]))
			data = data[3:]
			now = now.Add(time.Duration(v%1000) * time.Millisecond)
			switch op {
			case 0, 1, 2:
				c.OnAck(Ack{Now: now, Acked: v * (1 + int(op)), RTT: time.Duration(v%500) * time.Millisecond, Inflight: v * 10, AppLimited: op == 2 && v%2 == 0,
					Jiffies: uint32(now.Sub(start) / (4 * time.Millisecond))})
			case 3:
				c.EnterRecovery(now, v*100)
				lossMSS = mss
				if !c.InRecovery() {
					t.Fatal("not in recovery after EnterRecovery")
				}
			case 4:
				c.Inflate(v)
			case 5:
				c.Deflate(v)
			case 6:
				c.ExitRecovery(now, v*50)
				if c.InRecovery() {
					t.Fatal("in recovery after ExitRecovery")
				}
			case 7:
				c.OnRTO(now, v*100)
				if lossMSS == 0 {
					lossMSS = mss
				}
				if c.Cwnd() != mss || c.InRecovery() {
					t.Fatalf("after RTO: cwnd %d, recovery %v", c.Cwnd(), c.InRecovery())
				}
			case 8:
				if v%4 == 0 {
					mss = 1 + v%9000
					c.SetMSS(mss)
					lossMSS = min(lossMSS, mss)
				} else if r, ok := c.(IdleRTORestarter); ok && linux {
					r.OnIdleRTO(now, time.Duration(v)*time.Millisecond, time.Duration(v%7)*100*time.Millisecond)
				} else {
					c.OnIdle(now, time.Duration(v)*time.Millisecond)
				}
				if t, ok := c.(TxStarter); ok && v%3 == 0 {
					j := uint32(now.Sub(start) / (4 * time.Millisecond))
					t.OnTxStart(j, uint32(v%300))
				}
			}
			if c.Cwnd() < mss || c.Cwnd() > maxCwnd {
				t.Fatalf("%s step %d op %d: cwnd %d outside [%d, %d]", name, steps, op, c.Cwnd(), mss, maxCwnd)
			}
			if lossMSS > 0 && c.Ssthresh() < 2*lossMSS {
				t.Fatalf("%s: ssthresh %d below 2·SMSS", name, c.Ssthresh())
			}
			if c.InSlowStart() != (c.Cwnd() < c.Ssthresh()) {
				t.Fatal("InSlowStart disagrees with cwnd < ssthresh")
			}
			if cu, ok := c.(*Cubic); ok {
				for _, x := range []float64{cu.wMax, cu.k, cu.wEst, cu.cwndEpoch, cu.frac} {
					if math.IsNaN(x) || math.IsInf(x, 0) {
						t.Fatalf("cubic state not finite: %+v", cu)
					}
				}
			}
		}
	})
}
