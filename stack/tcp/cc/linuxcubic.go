package cc

import (
	"math"
	"math/bits"
	"time"
)

// Linux's tcp_cubic in its own units: windows in packets, time in
// jiffies and in 1/1024 s (BICTCP_HZ), the cubic function's constant
// folded into integer scales, so that a window follows the kernel's
// packet for packet where the RFC's real arithmetic rounds elsewhere.
// After a reduction from 10 to 7 packets, for instance, the kernel's
// target a round trip later is 10 − ⌊2.57⌋ = 8 packets (the cubic
// term truncated below W_max), and one ACK of eight packets takes cwnd
// to 8; RFC 9438's W_cubic(t+RTT) is 7.43 and leaves it at 7
// (cubic/after-cwr.pkt).
const (
	lcBetaScale   = 1024 // BICTCP_BETA_SCALE
	lcBeta        = 717  // β = 717/1024
	lcHZShift     = 10   // BICTCP_HZ: the cubic function's time in 1/1024 s
	lcBicScale    = 41   // bic_scale: C = 41·10/1024 ≈ 0.4 for a 100 ms RTT
	lcCubeRTT     = lcBicScale * 10
	lcRateLimitHZ = 32 // bictcp_update recomputes cnt at most every HZ/32 unless cwnd moved
	// lcFriendlyScale is beta_scale: one packet of the Reno-friendly
	// estimate per cwnd·scale/8 packets acknowledged,
	// 8·(1024+β)/3/(1024−β) in integers.
	lcFriendlyScale = 8 * (lcBetaScale + lcBeta) / 3 / (lcBetaScale - lcBeta)
	lcSndCwndClamp  = 1<<32 - 1 // snd_cwnd_clamp's default, effectively none
)

// lcCubeFactor is cube_factor, 2^40 / cube_rtt_scale: K³ per packet of
// W_max − cwnd, in (1/1024 s)³.
const lcCubeFactor = uint64(1) << (10 + 3*lcHZShift) / lcCubeRTT

// LinuxCubic is Linux's tcp_cubic (with its classic HyStart): the
// linux profile's CUBIC. [Cubic] is RFC 9438's; the two grow the same
// curve in different arithmetic, and where they part the kernel's is
// this one. It keeps cwnd and ssthresh in whole packets (Cwnd and
// Ssthresh return them times the MSS) and needs [Ack.Jiffies] and
// [Config.HZ].
//
// One part is not the kernel's: its cube root (cubic_root) is a
// 64-entry table refined by hand and one Newton–Raphson step, 0.2 %
// off on average; this one is exact (⌊∛x⌋), so K may differ from the
// kernel's by a few 1/1024 s.
type LinuxCubic struct {
	base
	hz uint32

	cwndCnt      uint32 // snd_cwnd_cnt: packets acknowledged toward the next increase
	cnt          uint32 // packets to acknowledge per packet of increase
	lastMaxCwnd  uint32 // W_max, packets; 0 until a reduction (and after a timeout)
	lastCwnd     uint32
	lastTime     uint32 // jiffies of the last cnt computation
	originPoint  uint32
	bicK         uint32 // K, in 1/1024 s
	epochStart   uint32 // jiffies; valid while epoch
	epoch        bool   // an epoch runs (the kernel's epoch_start != 0)
	ackCnt       uint32 // packets acknowledged in the epoch, for the Reno-friendly estimate
	tcpCwnd      uint32 // the Reno-friendly estimate, packets
	epochStartAt time.Time
}

var _ Controller = (*LinuxCubic)(nil)

// NewLinuxCubic returns Linux's CUBIC with cwnd = IW.
func NewLinuxCubic(cfg Config) *LinuxCubic {
	c := &LinuxCubic{hz: uint32(cfg.HZ)}
	if c.hz == 0 {
		c.hz = 1000
	}
	cfg.PerPacket = true
	c.init(cfg)
	return c
}

// Name implements [Controller].
func (c *LinuxCubic) Name() string { return "cubic" }

// WMax returns W_max in bytes (last_max_cwnd), 0 before a reduction.
func (c *LinuxCubic) WMax() int { return int(c.lastMaxCwnd) * c.mss }

// K returns K in seconds (bic_K), from the start of the current epoch.
func (c *LinuxCubic) K() float64 { return float64(c.bicK) / (1 << lcHZShift) }

// segs is cwnd in packets.
func (c *LinuxCubic) segs() uint32 { return uint32(c.cwnd / c.mss) }

func (c *LinuxCubic) setSegs(n uint32) {
	n = max(n, 1)
	c.cwnd = clampCwnd(int(min(n, maxCwnd/uint32(c.mss)))*c.mss, c.mss)
}

// ssSegs is ssthresh in packets.
func (c *LinuxCubic) ssSegs() uint32 {
	if c.ssthresh >= InfiniteSsthresh {
		return InfiniteSsthresh
	}
	return uint32(c.ssthresh / c.mss)
}

// SetMSS implements [Controller]: the windows keep their packets.
func (c *LinuxCubic) SetMSS(mss int) {
	if mss < 1 {
		mss = minMSS
	}
	if !c.seenAck && !c.rtoSeries && !c.recovering {
		c.mss = mss
		c.cwnd = c.initialWindow()
		return
	}
	n, ss := c.segs(), c.ssSegs()
	c.mss = mss
	c.setSegs(n)
	if ss != InfiniteSsthresh {
		c.ssthresh = int(ss) * mss
	}
}

// OnAck implements [Controller]: cubictcp_acked (HyStart and the
// minimum delay) and cubictcp_cong_avoid.
func (c *LinuxCubic) OnAck(a Ack) {
	c.ackCommon()
	if c.epoch {
		c.hs.caEpoch = c.epochStartAt
	} else {
		c.hs.caEpoch = time.Time{}
	}
	c.hsAck(a)
	if a.Acked <= 0 || c.recovering || a.AppLimited {
		return
	}
	acked := uint32((a.Acked + c.mss - 1) / c.mss)
	if c.cwnd < c.ssthresh {
		// tcp_slow_start: cwnd grows by the packets acknowledged, up
		// to ssthresh; the rest grows it in congestion avoidance.
		cw, ss := c.segs(), c.ssSegs()
		n := min(cw+acked, ss)
		acked -= n - cw
		c.setSegs(n)
		if acked == 0 {
			return
		}
	}
	c.update(a, acked)
	c.avoidAI(c.cnt, acked)
}

// update is bictcp_update: the packets to acknowledge per packet of
// growth (cnt), from the cubic function a delay_min ahead and the
// Reno-friendly estimate.
func (c *LinuxCubic) update(a Ack, acked uint32) {
	cwnd := c.segs()
	now := a.Jiffies
	c.ackCnt += acked
	if c.lastCwnd == cwnd && int32(now-c.lastTime) <= int32(c.hz/lcRateLimitHZ) {
		return
	}
	if !(c.epoch && now == c.lastTime) {
		c.lastCwnd, c.lastTime = cwnd, now
		if !c.epoch {
			c.epoch, c.epochStart, c.epochStartAt = true, now, a.Now
			c.ackCnt = acked
			c.tcpCwnd = cwnd
			if c.lastMaxCwnd <= cwnd {
				c.bicK, c.originPoint = 0, cwnd
			} else {
				c.bicK = cubeRoot(lcCubeFactor * uint64(c.lastMaxCwnd-cwnd))
				c.originPoint = c.lastMaxCwnd
			}
		}
		// t − K in 1/1024 s, from the epoch's start plus the minimum
		// delay in jiffies (rounded up, usecs_to_jiffies).
		t := uint64(int64(int32(now-c.epochStart)) + int64(c.usecsToJiffies(c.delayMinUs())))
		t = (t << lcHZShift) / uint64(c.hz)
		var offs uint64
		below := t < uint64(c.bicK)
		if below {
			offs = uint64(c.bicK) - t
		} else {
			offs = t - uint64(c.bicK)
		}
		delta := uint32((lcCubeRTT * offs * offs * offs) >> (10 + 3*lcHZShift))
		var target uint32
		if below {
			target = c.originPoint - delta
		} else {
			target = c.originPoint + delta
		}
		if target > cwnd {
			c.cnt = cwnd / (target - cwnd)
		} else {
			c.cnt = 100 * cwnd // a very small increase
		}
		// Until a reduction sets W_max, at least 5 % a round trip.
		if c.lastMaxCwnd == 0 && c.cnt > 20 {
			c.cnt = 20
		}
	}
	// The Reno-friendly estimate: one packet per cwnd·scale/8 acked.
	if d := cwnd * lcFriendlyScale >> 3; d > 0 {
		for c.ackCnt > d {
			c.ackCnt -= d
			c.tcpCwnd++
		}
	}
	if c.tcpCwnd > cwnd {
		if maxCnt := cwnd / (c.tcpCwnd - cwnd); c.cnt > maxCnt {
			c.cnt = maxCnt
		}
	}
	// At most one packet per two acknowledged: 1.5× a round trip.
	c.cnt = max(c.cnt, 2)
}

// avoidAI is tcp_cong_avoid_ai: one packet of cwnd per w packets
// acknowledged, counted in snd_cwnd_cnt.
func (c *LinuxCubic) avoidAI(w, acked uint32) {
	cwnd := c.segs()
	if c.cwndCnt >= w {
		c.cwndCnt = 0
		cwnd++
	}
	c.cwndCnt += acked
	if c.cwndCnt >= w {
		delta := c.cwndCnt / w
		c.cwndCnt -= delta * w
		cwnd += delta
	}
	c.setSegs(min(cwnd, lcSndCwndClamp))
}

// delayMinUs is delay_min in microseconds, 0 before a sample.
func (c *LinuxCubic) delayMinUs() uint32 {
	us := c.hs.delayMin / time.Microsecond
	if c.hs.delayMin > 0 && us == 0 {
		us = 1
	}
	return uint32(min(us, math.MaxUint32))
}

// usecsToJiffies rounds up, as the kernel's for an HZ dividing 10⁶.
func (c *LinuxCubic) usecsToJiffies(us uint32) uint32 {
	per := uint64(1000000 / c.hz)
	return uint32((uint64(us) + per - 1) / per)
}

// cubeRoot returns ⌊∛a⌋.
func cubeRoot(a uint64) uint32 {
	if a == 0 {
		return 0
	}
	x := uint64(math.Cbrt(float64(a)))
	// Correct the float's rounding: the largest x with x³ ≤ a.
	for x > 0 && cubeOver(x, a) {
		x--
	}
	for !cubeOver(x+1, a) {
		x++
	}
	return uint32(x)
}

// cubeOver reports whether x³ > a, without overflow.
func cubeOver(x, a uint64) bool {
	hi, sq := bits.Mul64(x, x)
	if hi != 0 {
		return true
	}
	hi, cube := bits.Mul64(sq, x)
	return hi != 0 || cube > a
}

// recalcSsthresh is cubictcp_recalc_ssthresh: the epoch ends, W_max is
// the window (less by fast convergence if it had not regained the last
// one), and ssthresh is β of it, at least 2.
func (c *LinuxCubic) recalcSsthresh() int {
	cwnd := c.segs()
	c.epoch = false
	if cwnd < c.lastMaxCwnd {
		c.lastMaxCwnd = cwnd * (lcBetaScale + lcBeta) / (2 * lcBetaScale)
	} else {
		c.lastMaxCwnd = cwnd
	}
	c.cwndCnt = 0 // tcp_init_cwnd_reduction, tcp_enter_loss
	c.bytesAcked = 0
	return int(max(cwnd*lcBeta/lcBetaScale, 2)) * c.mss
}

// EnterRecovery implements [Controller].
func (c *LinuxCubic) EnterRecovery(now time.Time, flightSize int) {
	c.hsEnd()
	c.ssthresh = c.recalcSsthresh()
	c.cwnd = c.ssthresh
	c.recovering = true
	c.rtoSlowStart = false
}

// ExitRecovery implements [Controller]: cwnd is min(ssthresh,
// flightSize + one packet), in whole packets.
func (c *LinuxCubic) ExitRecovery(now time.Time, flightSize int) {
	c.exitRecovery(flightSize)
	c.setSegs(c.segs())
}

// Deflate implements [Controller], in whole packets.
func (c *LinuxCubic) Deflate(acked int) {
	c.base.Deflate(acked)
	c.setSegs(c.segs())
}

// OnRTO implements [Controller]: ssthresh on the first timeout of a
// series, then cubictcp_state's reset on entering Loss, which forgets
// W_max and the minimum delay too.
func (c *LinuxCubic) OnRTO(now time.Time, flightSize int) {
	if !c.rtoSeries {
		c.ssthresh = c.recalcSsthresh()
	}
	c.rtoSeries = true
	c.recovering = false
	c.reset()
	c.cwnd = c.lossWindow()
}

// reset is bictcp_reset.
func (c *LinuxCubic) reset() {
	*c = LinuxCubic{base: c.base, hz: c.hz}
}

// OnIdle implements [Controller]: the restart window after an idle
// longer than the RTO.
func (c *LinuxCubic) OnIdle(now time.Time, idle time.Duration) {
	c.restart()
	c.setSegs(c.segs())
}

// OnTxStart implements [TxStarter]: cubictcp_cwnd_event's
// CA_EVENT_TX_START. Sending with nothing in flight after idle jiffies
// moves the epoch's start as far, not past now, so that the curve
// does not count time the flow had nothing to send.
func (c *LinuxCubic) OnTxStart(now, idle uint32) {
	if c.epoch && int32(idle) > 0 {
		c.epochStart += idle
		if int32(c.epochStart-now) > 0 {
			c.epochStart = now
		}
		c.epochStartAt = c.epochStartAt.Add(time.Duration(idle) * time.Second / time.Duration(c.hz))
	}
}

// TxStarter is a [Controller] told when data is sent with nothing in
// flight (Linux's CA_EVENT_TX_START), now and idle (since the last data
// sent) in jiffies of [Config.HZ].
type TxStarter interface {
	OnTxStart(now, idle uint32)
}
