package tcp

import (
	"time"

	"stacklab/stack/tcp/seqnum"
)

// Counters and clocks kept only for Linux's tcp_info (LinuxInfo): the
// segment counts of tcp_transmit_skb and tcp_segs_in, the chrono
// accounting of busy and limited time (tcp_chrono_start/stop), RTO
// episodes (tcpi_total_rto_*), and the delivery-rate sample of
// tcp_rate.c. They change nothing the connection does.

// The chrono kinds, in Linux's order: a later one overrides an earlier.
const (
	chronoNone = iota
	chronoBusy
	chronoRwnd
	chronoSndbuf
)

// tcpiBase is what every connection keeps inline (an idle connection
// must stay small: TestIdleConnFootprint; Conn with its malloc header
// fills a 1408-byte size class); the rest is allocated with the first
// data or RTO.
type tcpiBase struct {
	segsOut, segsIn int32
	pmtu            int32  // the path MTU (icsk_pmtu_cookie)
	minRTT          uint32 // µs, the least RTT sample; 0: none yet
	x               *tcpiStats
}

type tcpiStats struct {
	dataSegsOut, dataSegsIn int
	bytesRetrans            uint64
	rcvOOOPack              int // out-of-order segments queued
	dsackDups               int // D-SACK blocks received
	deliveredCE             int // packets delivered by ACKs with ECE
	rtoRecoveries           int // RTO episodes begun
	rtoTime                 time.Duration
	rtoStart                time.Time // the current RTO episode's start; zero: none
	lastDataSent            time.Time
	lastDataRecv            time.Time
	lastAckRecv             time.Time

	chrono      int
	chronoStart time.Duration    // jiffiesNow
	chronoStat  [3]time.Duration // busy, rwnd-limited, sndbuf-limited
	noSpace     bool             // a write found the send buffer full (SOCK_NOSPACE)
	spaceWakes  uint32           // times an ACK made the socket writeable with noSpace set (WriteWakes)

	// Delivery rate (tcp_rate.c): the delivery state when each segment
	// was sent is in its txSeg; the latest sample is kept here.
	dlvAt         time.Time // when the delivered count last grew (delivered_mstamp)
	appLimited    int       // delivered count until which samples are app-limited; 0: not
	priorDlv      int       // the sampled segment's delivered count at its send, -1: no sample
	priorAt       time.Time
	priorAppLtd   bool
	rateDelivered int
	rateInterval  time.Duration
	rateAppLtd    bool
}

// tx returns the connection's tcpiStats, allocating them.
func (c *Conn) tx() *tcpiStats {
	if c.ti.x == nil {
		x := &tcpiStats{priorDlv: -1, rateAppLtd: true}
		if c.synced {
			// Linux starts these clocks at the handshake; the last
			// segment received is the nearest stacklab keeps.
			x.lastDataSent, x.lastDataRecv, x.lastAckRecv = c.lastRecv, c.lastRecv, c.lastRecv
		}
		c.ti.x = x
	}
	return c.ti.x
}

// tiXmit counts a segment sent with n payload bytes. A passive
// opener's SYN-ACK is not counted: Linux sends it from the request
// socket, whose counts the child does not inherit.
func (c *Conn) tiXmit(flags uint8, n int) {
	if flags&flagSYN != 0 && c.passive {
		return
	}
	k := 1
	if n > 0 {
		k = c.pcount(n)
		x := c.tx()
		x.dataSegsOut += k
		x.lastDataSent = c.p.net.Now()
	}
	c.ti.segsOut += int32(k)
}

// tiIn counts a segment received.
func (c *Conn) tiIn(s *segment) {
	c.ti.segsIn++
	if len(s.payload) > 0 {
		x := c.tx()
		x.dataSegsIn++
		x.lastDataRecv = c.p.net.Now()
	}
}

// tiRTT takes an RTT sample for tcpi_min_rtt (a running minimum; Linux's
// is windowed over tcp_min_rtt_wlen, 5 minutes).
func (c *Conn) tiRTT(r time.Duration) {
	us := uint32(min(max(r/time.Microsecond, 1), 0xfffffffe))
	if c.ti.minRTT == 0 || us < c.ti.minRTT {
		c.ti.minRTT = us
	}
}

// tiDelivered returns the packets delivered so far.
func (c *Conn) tiDelivered() int {
	if c.ls == nil {
		return 0
	}
	return c.ls.delivered
}

// tiAfterAck runs after an ACK was processed; before is tiDelivered's
// value from before it.
func (c *Conn) tiAfterAck(s *segment, before int) {
	now := c.p.net.Now()
	if !s.has(flagACK) || c.ti.x == nil && c.ls == nil {
		return // nothing sent yet but the handshake: no data clocks to keep
	}
	x := c.tx()
	x.lastAckRecv = now
	d := c.tiDelivered() - before
	if d > 0 && s.has(flagECE) && c.ecn.ok {
		x.deliveredCE += d // tcp_count_delivered with an ECE ACK
	}
	c.rateGen(d, now)
	if c.sndUna == c.sndMax && !c.hasUnsent() {
		c.chronoSet(chronoNone) // tcp_clean_rtx_queue: both queues empty
	}
	if !x.rtoStart.IsZero() && !c.inLossEpisode() {
		x.rtoTime += now.Sub(x.rtoStart)
		x.rtoStart = time.Time{}
	}
}

// tiRTO notes an RTO of data: a new episode unless one is on.
func (c *Conn) tiRTO() {
	if x := c.tx(); x.rtoStart.IsZero() {
		x.rtoRecoveries++
		x.rtoStart = c.p.net.Now()
	}
}

// chronoSet switches the chrono to kind, adding the time spent in the
// one that ends (tcp_chrono_set).
func (c *Conn) chronoSet(kind int) {
	now := c.p.jiffiesNow() // tcp_jiffies32, in whole ticks
	x := c.tx()
	if x.chrono != chronoNone {
		x.chronoStat[x.chrono-1] += now - x.chronoStart
	}
	x.chrono, x.chronoStart = kind, now
}

func (c *Conn) chronoStart(kind int) {
	if kind > c.tx().chrono {
		c.chronoSet(kind)
	}
}

func (c *Conn) chronoStop(kind int) {
	if c.ti.x == nil {
		return // never started
	}
	switch {
	case c.sndUna == c.sndMax && !c.hasUnsent():
		c.chronoSet(chronoNone)
	case kind == c.ti.x.chrono:
		c.chronoSet(chronoBusy)
	}
}

// checkSpace runs when an ACK freed send buffer space (Linux's
// tcp_check_space), and does something only when a write or a poll found
// the socket unwriteable (SOCK_NOSPACE): then the buffer grows with cwnd
// unless cwnd is full (tcp_new_space, tcp_should_expand_sndbuf), and
// once the socket is writeable again, not at any room,
// sk_stream_write_space clears SOCK_NOSPACE and wakes the writer, which
// ends the send-buffer-limited clock.
func (c *Conn) checkSpace() {
	x := c.ti.x
	if x == nil || !x.noSpace {
		return
	}
	if c.pipe() < c.cc.Cwnd() {
		c.sndBufExpand(true)
	}
	if c.writeable() {
		x.noSpace = false
		x.spaceWakes++
		c.chronoStop(chronoSndbuf)
	}
}

// NoteUnwriteable is what a poll does besides reporting (Linux's
// tcp_poll): a connected socket it finds unwriteable is marked
// SOCK_NOSPACE, so that the ACK that makes it writeable wakes its
// poller, as a write that found the buffer full does.
func (c *Conn) NoteUnwriteable() {
	if (c.state == Established || c.state == CloseWait) && !c.wrShut && !c.dead && !c.writeable() {
		c.tx().noSpace = true
	}
}

// tiWrote runs after a write queued n bytes (of want): the busy chrono
// starts with data queued on empty queues, and a short write marks the
// buffer full.
func (c *Conn) tiWrote(wasEmpty bool, n, want int) {
	if wasEmpty && n > 0 {
		c.chronoStart(chronoBusy)
	}
	if n < want {
		c.tx().noSpace = true
	}
}

// rateCheckAppLimited runs as a write begins: the sender is
// app-limited when it has less than a segment unsent, room in cwnd and
// nothing lost to resend (tcp_rate_check_app_limited); samples stay
// app-limited until what is in flight now is delivered.
func (c *Conn) rateCheckAppLimited() {
	if c.notSent() < c.sendMSS() && !c.cwndFull() && (c.ls == nil || c.ls.lost == 0) {
		inflight := 0
		if c.sndUna != c.sndMax {
			inflight = c.pcount(int(c.sndUna.Size(c.sndMax)))
		}
		c.tx().appLimited = max(c.tiDelivered()+inflight, 1)
	}
}

// tiOutput runs after output sent what it could (sent: new data went):
// the receive window or the send buffer may be what limits the sender
// (tcp_write_xmit, tcp_cwnd_validate). The send buffer is, as Linux
// decides it, when new data just went, none is left unsent, cwnd is not
// what limits (tcp_is_cwnd_limited: in slow start, a flight of more than
// half of cwnd counts as limited) and a write found the buffer full
// (SOCK_NOSPACE, held until the socket is writeable again).
func (c *Conn) tiOutput(sent bool) {
	if !c.state.synchronized() || c.dead {
		return
	}
	unsent := c.notSent()
	room := int(int32(c.sndNxt.Size(c.sndUna.Add(seqnum.Size(c.sndWnd)))))
	if unsent > 0 && room < min(unsent, c.sendMSS()) {
		c.chronoStart(chronoRwnd)
	} else {
		c.chronoStop(chronoRwnd)
	}
	if sent && unsent == 0 && c.ti.x != nil && c.ti.x.noSpace && !c.isCwndLimited() && (c.state == Established || c.state == CloseWait) {
		c.chronoStart(chronoSndbuf)
	}
}

// rateSent stamps a new record with the delivery state (tcp_rate_skb_sent).
func (c *Conn) rateSent(r *txSeg, first bool) {
	now := c.p.net.Now()
	x := c.tx()
	if first || x.dlvAt.IsZero() {
		x.dlvAt = now // nothing in flight: the interval starts now
	}
	r.dlv = int32(c.tiDelivered())
	r.dlvAt = x.dlvAt.Sub(c.p.epoch)
	if x.appLimited != 0 {
		r.flags |= txAppLimited
	}
}

// rateDelivered notes a record delivered: the sample follows the one
// sent last (tcp_rate_skb_delivered).
func (c *Conn) rateDelivered(r *txSeg) {
	x := c.tx()
	if int(r.dlv) >= x.priorDlv {
		x.priorDlv = int(r.dlv)
		x.priorAt = c.p.epoch.Add(r.dlvAt)
		x.priorAppLtd = r.flags&txAppLimited != 0
	}
}

// rateGen makes the ACK's delivery-rate sample (tcp_rate_gen): packets
// delivered since the sampled segment was sent over the time since the
// delivery before it. An app-limited sample replaces the kept one only
// when it is faster.
func (c *Conn) rateGen(delivered int, now time.Time) {
	ti := c.tx()
	total := c.tiDelivered()
	if ti.appLimited != 0 && total > ti.appLimited {
		ti.appLimited = 0
	}
	if delivered > 0 {
		ti.dlvAt = now
	}
	if ti.priorDlv < 0 || delivered == 0 {
		ti.priorDlv = -1
		return
	}
	n := total - ti.priorDlv
	iv := now.Sub(ti.priorAt)
	appLtd := ti.priorAppLtd
	ti.priorDlv = -1
	if iv <= 0 || iv < time.Duration(c.ti.minRTT)*time.Microsecond {
		return // Linux drops a sample shorter than min_rtt (ACK compression)
	}
	if !appLtd || int64(n)*int64(ti.rateInterval) >= int64(ti.rateDelivered)*int64(iv) {
		ti.rateDelivered, ti.rateInterval, ti.rateAppLtd = n, iv, appLtd
	}
}

// linuxInfoMore fills the tcp_info fields kept in tcpiStats and those
// Linux derives on the fly (tcp_get_info).
func (c *Conn) linuxInfoMore(li *LinuxInfo) {
	now := c.p.net.Now()
	mss := c.sendMSS()
	li.RcvMSS = c.rcvSegMax
	li.PMTU = int(c.ti.pmtu)
	li.RcvSsthresh = c.rcvSsthresh
	li.RcvSpace = c.rcvq.space
	li.RcvRTT = int(c.rcvq.rtt / time.Microsecond)
	li.SegsOut, li.SegsIn = int(c.ti.segsOut), int(c.ti.segsIn)
	if c.synced {
		li.AdvMSS = c.advMSS()
		if w := c.rcvAdv - c.lastAckSent; int32(w) > 0 {
			li.RcvWnd = int(w)
		}
		if c.linux() {
			li.RcvWnd = c.rcvWnd() // rcv_wnd, which a SYN's field may not hold whole
		}
	}
	li.MinRTT = 0xffffffff
	if c.ti.minRTT > 0 {
		li.MinRTT = int(c.ti.minRTT)
	}
	li.PacingRate = ^uint64(0)
	if c.srtt > 0 {
		// tcp_update_pacing_rate: 200 % of cwnd per srtt in slow start
		// (below half ssthresh), 120 % after.
		ratio := uint64(120)
		if li.SndCwnd < li.SndSsthresh/2 {
			ratio = 200
		}
		li.PacingRate = uint64(mss) * 80000 * ratio * uint64(max(li.SndCwnd, li.Unacked, 1)) / uint64(max(c.srttUs8(), 1))
	}
	li.TotalRTO = int(c.rtos)
	li.Rehash = int(c.rehash)
	li.DeliveryRateAppLimited = true
	since := func(t time.Time) uint64 {
		if t.IsZero() {
			if !c.synced {
				return 0
			}
			t = c.lastRecv // the handshake, as near as stacklab keeps it (see tx)
		}
		// In whole jiffies under the linux profile, as Linux's
		// jiffies_to_msecs(now - lsndtime, lrcvtime or rcv_tstamp).
		return uint64(c.p.jiffiesSince(t, now) / time.Millisecond)
	}
	x := c.ti.x
	if x == nil {
		li.LastDataSent, li.LastDataRecv, li.LastAckRecv = since(time.Time{}), since(time.Time{}), since(time.Time{})
		return
	}
	if x.dataSegsIn > 0 {
		li.ATO = int(c.ato / time.Microsecond)
	}
	if x.rateInterval > 0 {
		li.DeliveryRate = uint64(x.rateDelivered) * uint64(mss) * uint64(time.Second) / uint64(x.rateInterval)
	}
	li.DeliveryRateAppLimited = x.rateAppLtd
	li.DataSegsOut, li.DataSegsIn = x.dataSegsOut, x.dataSegsIn
	li.BytesRetrans, li.DSACKDups, li.RcvOOOPack = x.bytesRetrans, x.dsackDups, x.rcvOOOPack
	li.DeliveredCE = x.deliveredCE
	stat := x.chronoStat
	if x.chrono != chronoNone {
		stat[x.chrono-1] += c.p.jiffiesNow() - x.chronoStart
	}
	li.BusyTime = uint64((stat[0] + stat[1] + stat[2]) / time.Microsecond)
	li.RwndLimited = uint64(stat[1] / time.Microsecond)
	li.SndbufLimited = uint64(stat[2] / time.Microsecond)
	li.LastDataSent, li.LastDataRecv, li.LastAckRecv = since(x.lastDataSent), since(x.lastDataRecv), since(x.lastAckRecv)
	li.TotalRTORecoveries = x.rtoRecoveries
	li.TotalRTOTime = uint64(x.rtoTime / time.Millisecond)
	if !x.rtoStart.IsZero() {
		li.TotalRTOTime += uint64(now.Sub(x.rtoStart) / time.Millisecond)
	}
}
