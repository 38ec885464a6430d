package tcp

import (
	"fmt"

	"stacklab/stack/core"
)

// The bounds on connections the application no longer holds, as Linux's
// "death row": at most Config.MaxTimeWait connections wait out TIME_WAIT
// (tcp_max_tw_buckets; an orphan in FIN_WAIT_2 takes a place too, being
// a timewait socket on Linux), and at most Config.MaxOrphans closed
// connections are still closing (tcp_max_orphans). Each Conn holds at
// most one place, released when it is destroyed (deathRowLeave).

// twTake takes a TIME_WAIT place for c, which is entering TIME_WAIT or,
// orphaned, FIN_WAIT_2. When none is left it counts the overflow and
// reports false: the caller closes c at once, as Linux's tcp_time_wait
// does when it may allocate no timewait socket.
func (c *Conn) twTake() bool {
	if c.twCounted {
		return true // an orphan in FIN_WAIT_2 going on to TIME_WAIT
	}
	p := c.p
	if p.timeWait >= p.cfg.MaxTimeWait {
		p.counters.TimeWaitOverflow++
		c.deathRowNote("time-wait-overflow", fmt.Sprintf("TIME_WAIT full (%d of %d, tcp_max_tw_buckets): closed without it",
			p.timeWait, max(p.cfg.MaxTimeWait, 0)))
		return false
	}
	if c.orphanCounted {
		c.orphanCounted = false
		p.orphans--
	}
	c.twCounted = true
	p.timeWait++
	return true
}

// orphanTake counts c, just closed by the application and still closing,
// among the orphans. Beyond Config.MaxOrphans it resets c, as Linux's
// tcp_close does when tcp_check_oom finds too many orphans: the FIN
// already sent, then a RST.
func (c *Conn) orphanTake() {
	if c.dead || c.orphanCounted || c.twCounted {
		return
	}
	p := c.p
	c.orphanCounted = true
	p.orphans++
	if p.orphans > p.cfg.MaxOrphans {
		p.counters.AbortOnMemory++
		c.deathRowNote("too-many-orphans", fmt.Sprintf("%d orphans (tcp_max_orphans %d): reset", p.orphans, max(p.cfg.MaxOrphans, 0)))
		c.reset(whyRSTOrphans)
	}
}

// deathRowLeave gives back the place c holds, when it is destroyed.
func (c *Conn) deathRowLeave() {
	if c.twCounted {
		c.twCounted = false
		c.p.timeWait--
	}
	if c.orphanCounted {
		c.orphanCounted = false
		c.p.orphans--
	}
}

func (c *Conn) deathRowNote(name, detail string) {
	if c.p.net.Tracing() {
		c.p.net.Observe(&core.Event{Kind: core.EventNote, FD: -1, Proto: "tcp", Conn: c.tuple, Name: name, Detail: detail})
	}
}
