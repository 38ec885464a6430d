package tcp

import (
	"time"

	"stacklab/stack/tcp/cc"
)

// Linux counts TCP's timeouts in jiffies, ticks of 1/HZ s: a timeout
// in microseconds becomes whole ticks, rounded up (usecs_to_jiffies). So
// do stacklab's under the linux profile (Config.HZ, 250 by default):
// the RTO is a whole number of ticks, and tcpi_rto reads it so (SRTT
// 10.3 ms: 212000 µs at 250 Hz, not 210300); the probe timeout of two
// SRTTs and 2 ms is 24 ms, not 22.6; ato moves in whole ticks, and the
// time between segments it is tuned by is counted in ticks from the
// stack's creation. A timer fires when its ticks have passed. Linux's
// timer wheel fires it later, at the next tick (its phase is the
// machine's) or, for a timer of 63 ticks or more, at the end of a
// bucket of 8, 64, … ticks (kernel/time/timer.c); packetdrill's
// tolerance, 12.5 % of the time waited, is that slack's, and stacklab
// does not add it. rto/rto-in-ticks.pkt checks the values against
// the kernel.

// tick returns a jiffy under cfg, or zero for exact timers.
func (cfg *Config) tick() time.Duration {
	if cfg.Profile == ProfileRFC || cfg.HZ <= 0 {
		return 0
	}
	return time.Second / time.Duration(cfg.HZ)
}

// ticksUp rounds d up to whole ticks, as jiffies_to_usecs(
// usecs_to_jiffies(d)); d unchanged without ticks.
func (p *Proto) ticksUp(d time.Duration) time.Duration {
	if p.tick == 0 || d <= 0 {
		return d
	}
	return (d + p.tick - 1) / p.tick * p.tick
}

// ticksDown rounds d down to whole ticks; d unchanged without ticks.
func (p *Proto) ticksDown(d time.Duration) time.Duration {
	if p.tick == 0 {
		return d
	}
	return d - d%p.tick
}

// jiffiesSince returns the ticks from then to now as a duration, as
// Linux's differences of tcp_jiffies32; now − then without ticks.
func (p *Proto) jiffiesSince(then, now time.Time) time.Duration {
	return p.ticksDown(now.Sub(p.epoch)) - p.ticksDown(then.Sub(p.epoch))
}

// jiffiesNow returns the clock's time since the Proto's epoch in whole
// ticks, as a duration (Linux's tcp_jiffies32); exact without ticks. It
// costs no division past the first call at a clock reading, so that
// what is stamped per segment (lrcvtime, the chrono) is kept this way.
func (p *Proto) jiffiesNow() time.Duration {
	p.sinceEpoch()
	return p.lastJiffy
}

// halfTicks is d/2 in whole ticks, rounded down, as Linux's ato >> 1.
func (p *Proto) halfTicks(d time.Duration) time.Duration { return p.ticksDown(d / 2) }

// ccHZ is the rate of jiffies32: HZ under ticks, 1000 without.
func (p *Proto) ccHZ() int {
	if p.tick == 0 {
		return 1000
	}
	return int(time.Second / p.tick)
}

// jiffies32 is Linux's tcp_jiffies32 for the congestion controller:
// the ticks (of ccHZ) from the Proto's epoch to now.
func (p *Proto) jiffies32() uint32 { return p.toJiffies32(p.sinceEpoch()) }

// toJiffies32 converts a time since the epoch to jiffies32.
func (p *Proto) toJiffies32(d time.Duration) uint32 {
	if p.tick == 0 {
		return uint32(d / time.Millisecond)
	}
	return uint32(d / p.tick)
}

// ccJiffies is jiffies32 for an ACK's cc.Ack.Jiffies, which only
// cc.LinuxCubic reads: for the others the division is left out of the
// ACK's path.
func (c *Conn) ccJiffies() uint32 {
	if _, ok := c.cc.(*cc.LinuxCubic); !ok {
		return 0
	}
	return c.p.jiffies32()
}
