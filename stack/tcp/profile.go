package tcp

import (
	"cmp"
	"math/bits"
	"slices"
	"time"

	"stacklab/stack/tcp/seqnum"
)

// Profiles. Where Linux and the RFC text differ, [ProfileLinux] (the
// default) does what Linux 6.x does and [ProfileRFC] what the RFC says;
// the README lists each difference. What neither leaves open (the state
// machine, the option layout of a SYN, SACK, timestamps) is the same in
// both.
const (
	ProfileLinux = "linux"
	ProfileRFC   = "rfc"
)

// ProfileNames lists the profiles [Config.Profile] accepts, the default
// first.
var ProfileNames = []string{ProfileLinux, ProfileRFC}

// Linux 6.18's defaults, as net.ipv4.tcp_rmem, tcp_wmem and the
// constants of include/net/tcp.h give them.
const (
	// LinuxRmem and LinuxWmem are tcp_rmem and tcp_wmem: the minimum,
	// default and maximum receive and send buffer, in bytes of memory.
	linuxRmemDefault = 131072
	linuxRmemMax     = 33554432
	linuxWmemDefault = 16384
	linuxWmemMax     = 4194304
	// linuxMaxQuickAcks is TCP_MAX_QUICKACKS: the most segments
	// acknowledged at once in quick-ACK mode.
	linuxMaxQuickAcks = 16
	// linuxATOMin and linuxDelackMax bound the delayed-ACK timeout
	// (TCP_ATO_MIN, TCP_DELACK_MAX).
	linuxATOMin    = 40 * time.Millisecond
	linuxDelackMax = 200 * time.Millisecond
	// DefaultSynAckRetries is tcp_synack_retries.
	DefaultSynAckRetries = 5
	// DefaultRTOMinRFC is RFC 6298 §2.4's lower bound on the RTO.
	DefaultRTOMinRFC = time.Second
)

// Buffers are counted in bytes of payload. Linux counts the memory the
// buffers take, packet overhead included, and offers half of it as
// window (tcp_adv_win_scale 1, the default scaling ratio of 6.x), so
// the linux profile's payload buffers are half the sysctl values: a new
// connection may buffer 64 KiB, an autotuned one up to 16 MiB.
const (
	linuxRcvSpaceMax = linuxRmemMax / 2
	linuxSndSpaceMax = linuxWmemMax
)

// BufferDefaults returns tcp_rmem[1] and tcp_wmem[1] (Config.RmemDefault
// and WmemDefault, Linux's 131072 and 16384 when zero): the memory a new
// connection's buffers start with, and what an autotuned socket's
// SO_RCVBUF and SO_SNDBUF read before it connects.
func (p *Proto) BufferDefaults() (rmem, wmem int) {
	return cmp.Or(p.cfg.RmemDefault, linuxRmemDefault), cmp.Or(p.cfg.WmemDefault, linuxWmemDefault)
}

// rcvSpaceDefault is the payload of a new connection's receive buffer:
// half of tcp_rmem[1].
func (p *Proto) rcvSpaceDefault() int {
	rmem, _ := p.BufferDefaults()
	return rmem / 2
}

// RmemMax returns tcp_rmem[2], the most an autotuned receive buffer
// grows to, in bytes of memory.
func (p *Proto) RmemMax() int { return p.rmemMax() }

// Linux reports whether the stack follows the linux profile.
func (p *Proto) Linux() bool { return p.linux }

// rcvSpaceOf is the window's space in a receive buffer of mem bytes set
// by SO_RCVBUF (the doubled value, Linux's sk_rcvbuf): half of it in the
// linux profile, tcp_full_space at the default scaling ratio (Linux
// moves that ratio with the memory its packets take on the device; this
// model keeps it at half), all of it in the rfc profile.
func (p *Proto) rcvSpaceOf(mem int) int {
	if p.linux {
		return mem / 2
	}
	return mem
}

// sndSpaceDefault is a new connection's send buffer: tcp_wmem[1].
func (p *Proto) sndSpaceDefault() int {
	_, wmem := p.BufferDefaults()
	return wmem
}

// rmemMax is tcp_rmem[2] (Config.RmemMax, Linux's default when 0).
func (p *Proto) rmemMax() int {
	if p.cfg.RmemMax > 0 {
		return p.cfg.RmemMax
	}
	return linuxRmemMax
}

// linux reports whether the connection follows the linux profile.
func (c *Conn) linux() bool { return c.p.linux }

// wscaleFor returns the window scale that lets a window of space bytes
// be advertised: as Linux's tcp_select_initial_window, ilog2(space)−15,
// between 0 and 14 (RFC 7323 §2.3).
func wscaleFor(space int) uint8 {
	if space <= 65535 {
		return 0
	}
	return uint8(min(bits.Len(uint(space))-1-15, 14))
}

// initRcvWScale sets the window scale we offer. Linux derives it from
// the largest buffer autotuning may reach (tcp_rmem[2]) unless the
// socket's buffer was set (SO_RCVBUF locks it); the rfc profile from the
// buffer itself.
func (c *Conn) initRcvWScale() {
	c.rcvWScale = 0
	if c.p.cfg.NoWindowScale {
		return
	}
	space := c.rcvBufSize
	if c.rcvAuto {
		space = c.p.rmemMax()
	}
	c.rcvWScale = wscaleFor(space)
}

// synWindow returns the window of our SYN or SYN-ACK (never scaled,
// RFC 7323 §2.2). Linux offers the buffer rounded down to a multiple of
// the MSS it expects (tcp_select_initial_window): on a SYN-ACK after
// timestamps were agreed, and on the SYN of a connect that took over a
// timewait socket's 4-tuple and its TS.Recent (tcp_connect_init), the
// MSS less the option; 64240 for an MSS of 1460, 65160 for 1448, and
// 65535 for a buffer above 64 KiB (tcp_rmem[1] above 131072). The rfc
// profile offers the buffer, up to 65535.
func (c *Conn) synWindow() int {
	// The initial window capped to the field (tcp_transmit_skb's
	// min(rcv_wnd, 65535)): a buffer above 64 KiB offers 65535.
	return min(c.initialRcvWnd(), 65535)
}

// initialRcvWnd is the window a new connection may offer at first, its
// rcv_ssthresh: Linux's tcp_select_initial_window rounds the buffer down
// to a multiple of the MSS it expects, and the first ACK after the
// handshake offers all of it (268800 for upstream packetdrill's
// tcp_rmem[1] of 540000), though the SYN's field holds at most 65535.
// The rfc profile offers the buffer, up to 65535.
func (c *Conn) initialRcvWnd() int {
	if !c.linux() {
		return min(c.rcvBufSize, 65535)
	}
	mss := c.rcvMSS
	if c.state == SynReceived && c.tsOK || c.state == SynSent && c.tsInherited {
		mss -= 12
	}
	w := c.rcvBufSize
	if w > mss {
		w -= w % mss
	}
	return w
}

// pshEnd records the end of one write: Linux marks the last segment of
// each write with PSH (tcp_push after tcp_sendmsg). The queue is
// bounded; when full, the newest end moves forward, as Linux merges a
// write into the unsent tail of the previous one.
func (c *Conn) pshEnd(end seqnum.Value) {
	if !c.linux() {
		return
	}
	// In order: the probe timer's segment ends before the write's end.
	i := len(c.pshEnds)
	for i > 0 && end.LessThan(c.pshEnds[i-1]) {
		i--
	}
	if i > 0 && c.pshEnds[i-1] == end {
		return
	}
	if len(c.pshEnds) == maxPshEnds {
		if i == len(c.pshEnds) {
			c.pshEnds[i-1] = end
			return
		}
		c.pshEnds = c.pshEnds[:len(c.pshEnds)-1]
	}
	c.pshEnds = slices.Insert(c.pshEnds, i, end)
}

// pshUnmark forgets the write end at end, if it is the last one
// recorded: the next write's bytes joined its skb.
func (c *Conn) pshUnmark(end seqnum.Value) {
	if k := len(c.pshEnds); k > 0 && c.pshEnds[k-1] == end {
		c.pshEnds = c.pshEnds[:k-1]
	}
}

// maxPshEnds bounds the write ends a connection remembers.
const maxPshEnds = 64

// pshAcked forgets the write ends that SND.UNA has passed.
func (c *Conn) pshAcked() {
	if c.pshEnds = dropEnds(c.pshEnds, c.sndUna); len(c.pshEnds) == 0 {
		c.pshEnds = nil
	}
}

// dropEnds removes from the ordered ends those at or below seq, in
// place.
func dropEnds(ends []seqnum.Value, seq seqnum.Value) []seqnum.Value {
	k := 0
	for k < len(ends) && ends[k].LessThanEq(seq) {
		k++
	}
	if k == 0 {
		return ends
	}
	return ends[:copy(ends, ends[k:])]
}

// psh reports whether a segment of n bytes at seq carries PSH. Linux:
// it holds the end of a write. rfc: it empties the send buffer
// (RFC 9293 §3.9.1 leaves the push to the sender; this is BSD's rule).
func (c *Conn) psh(seq seqnum.Value, n, avail int) bool {
	if n <= 0 {
		return false
	}
	if !c.linux() {
		return n == avail
	}
	end := seq.Add(seqnum.Size(n))
	for _, e := range c.pshEnds {
		if end.LessThan(e) {
			return false // the ends grow along the list: none further is in the segment
		}
		if seq.LessThan(e) {
			return true
		}
	}
	return false
}

// computeRTO returns the RTO for the current SRTT and RTTVAR. Linux
// floors the variance term, not the sum, at rto_min (tcp_set_rto:
// rttvar_us is at least tcp_rto_min), so the RTO is SRTT + 200 ms at
// least; RFC 6298 §2.3 adds max(G, 4·RTTVAR) and §2.4 bounds the sum
// below by 1 s.
func (c *Conn) computeRTO() time.Duration {
	cfg := &c.p.cfg
	var rto time.Duration
	if c.linux() {
		// In whole ticks, as Linux's icsk_rto (__tcp_set_rto): rttvar
		// is Linux's, at least RTOMin (rttm.go).
		rto = c.p.ticksUp(c.srtt + max(c.rttvar, cfg.RTOMin))
	} else {
		rto = max(c.srtt+max(time.Millisecond, 4*c.rttvar), cfg.RTOMin)
	}
	return min(rto, cfg.RTOMax)
}

// Quick-ACK mode and the delayed-ACK timeout, as Linux's
// tcp_event_data_recv, tcp_incr_quickack, tcp_dec_quickack_mode and
// tcp_send_delayed_ack. The rfc profile acknowledges every second full
// segment from the start and delays the others by DelayedAckTime
// (RFC 1122 §4.2.3.2, RFC 5681 §4.2).

// dataReceived updates the ACK timing state for in-order data arriving
// now (tcp_event_data_recv): the first data, and data after an idle
// period longer than the RTO, enter quick-ACK mode; the gaps between
// segments tune ato.
func (c *Conn) dataReceived() {
	if !c.linux() {
		return
	}
	p := c.p
	now := p.jiffiesNow()
	if c.ato == 0 {
		c.incrQuickAck()
		c.ato = linuxATOMin
	} else {
		// In ticks: Linux's ato and lrcvtime are jiffies.
		m := now - c.lrcv
		switch {
		case m <= linuxATOMin/2:
			c.ato = p.halfTicks(c.ato) + linuxATOMin/2
		case m < c.ato:
			c.ato = min(p.halfTicks(c.ato)+m, c.rto)
		case m > c.rto:
			c.incrQuickAck()
		}
	}
	c.lrcv = now
}

// incrQuickAck allows up to half the receive window's segments, at most
// 16, to be acknowledged at once (tcp_incr_quickack).
func (c *Conn) incrQuickAck() {
	wnd := 0
	if d := int32(c.rcvAdv - c.rcvNxt); d > 0 {
		wnd = int(d)
	}
	q := wnd / (2 * max(c.rcvSegMax, 1))
	if q == 0 {
		q = 2
	}
	q = min(q, linuxMaxQuickAcks)
	if q > c.quickAcks {
		c.quickAcks = q
	}
}

// enterQuickAck puts the linux profile in quick-ACK mode, out of
// pingpong, with the shortest ato (tcp_enter_quickack_mode with
// TCP_MAX_QUICKACKS): what it receives next is acknowledged at once.
func (c *Conn) enterQuickAck() {
	if !c.linux() {
		return
	}
	c.incrQuickAck()
	c.pingpong = false
	c.ato = linuxATOMin
}

// inQuickAck reports whether received data is acknowledged at once.
func (c *Conn) inQuickAck() bool { return c.linux() && c.quickAcks > 0 && !c.pingpong }

// ackSentLinux counts an ACK of new data against quick-ACK mode
// (tcp_dec_quickack_mode).
func (c *Conn) ackSentLinux() {
	if c.quickAcks == 0 || !(c.ackPending || c.ackNow) {
		return
	}
	c.quickAcks--
	if c.quickAcks == 0 {
		c.ato = linuxATOMin
	}
}

// dataSent notes new data sent: a reply within ato of the last data
// received makes the connection interactive (pingpong), where ACKs are
// delayed to ride on replies (tcp_event_data_sent).
func (c *Conn) dataSent() {
	if p := c.p; c.linux() && c.ato > 0 && p.jiffiesNow()-c.lrcv < c.ato {
		c.pingpong = true
	}
}

// delackTimeout returns how long an ACK may wait.
func (c *Conn) delackTimeout() time.Duration {
	if !c.linux() || c.p.delackFixed {
		return c.p.cfg.DelayedAckTime
	}
	ato := max(c.ato, linuxATOMin)
	if ato > linuxATOMin {
		maxATO := 500 * time.Millisecond
		if c.pingpong || c.rm != nil && c.rm.pushed&1 != 0 {
			maxATO = linuxDelackMax
		}
		if c.srtt > 0 {
			maxATO = min(maxATO, max(c.p.ticksUp(c.srtt), linuxATOMin))
		}
		ato = min(ato, maxATO)
	}
	return ato
}

// scheduleDelack arms the delayed-ACK timer for data that waits for it,
// as Linux's tcp_send_delayed_ack: a timer already armed keeps its
// expiry unless the new one is earlier, and one due within a quarter of
// ato sends the ACK now (an ACK is due anyway; the segment that finds
// it so near goes with it). The rfc profile keeps the first expiry.
func (c *Conn) scheduleDelack() {
	ato := c.delackTimeout()
	if !c.linux() || !c.delack.armed {
		c.delack.armIfIdle(ato)
		return
	}
	p := c.p
	now := p.jiffiesNow()
	if p.ticksDown(c.delack.deadline) <= now+p.ticksDown(ato/4) {
		c.needAck(whyAckOfData)
		return
	}
	if p.sinceEpoch()+ato < c.delack.deadline {
		c.delack.arm(ato)
	}
}

// delackFired adapts ato when the delayed-ACK timer had to send the ACK:
// a bulk receiver waits longer next time, an interactive one leaves
// pingpong mode (tcp_delack_timer_handler).
func (c *Conn) delackFired() {
	if !c.linux() {
		return
	}
	if c.pingpong {
		c.pingpong = false
		c.ato = linuxATOMin
	} else {
		c.ato = min(c.ato*2, c.rto)
	}
}
