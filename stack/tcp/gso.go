package tcp

import "stacklab/stack/tcp/seqnum"

// Linux hands the device GSO packets of several segments and forces PSH
// on every one of them (__tcp_transmit_skb: "if (tcp_skb_pcount(skb) > 1)
// tcb->tcp_flags |= TCPHDR_PSH", to flush GRO at the receiver); the
// segmentation (tcp_gso_segment, in software or in the NIC) leaves that
// PSH on the packet's last segment only. stacklab sends segments one by
// one, so the linux profile works out where Linux's GSO packets would end
// and marks those segments: a packet holds at most tcp_tso_autosize
// segments (about 1 ms at the pacing rate, at least 2), at most half the
// congestion window and what cwnd still allows (tcp_cwnd_test keeps two
// GSO packets in flight), and never crosses the end of a write (an skb
// boundary) or the usable window (tcp_mss_split_point). Seen on Linux
// 6.18 with packetdrill: a 14600-byte write into an initial window, at
// 100 ms RTT, leaves as five 2-segment packets each with PSH; at 1 ms RTT
// as two 5-segment packets. A packet of one segment gets no forced PSH.
// The rfc profile sets PSH only where the send buffer empties.

// gsoPacket is the GSO packet the segments being sent belong to.
type gsoPacket struct {
	next       seqnum.Value // where its next segment starts
	left, segs uint16       // segments still to send in it; its size
	at         int64        // when its first segment left (Unix ns): 16 bytes in all, for the idle Conn's size
}

// gsoMaxSize is a device's default GSO size limit (GSO_LEGACY_MAX_SIZE).
const gsoMaxSize = 65536

// gsoEnds reports whether a new-data segment of n bytes at sndNxt ends a
// GSO packet of two or more segments. avail is the unsent data from
// sndNxt, wnd the usable window (the smaller of the peer's window and
// what cwnd allows beyond what is in flight).
func (c *Conn) gsoEnds(n, avail, wnd int) bool {
	if !c.linux() {
		return false
	}
	// Kept in the loss state, allocated with the first data sent: in
	// Conn it would take an idle connection past its size class.
	g := &c.loss().gso
	now := c.p.net.Now().UnixNano()
	if g.left == 0 || g.next != c.sndNxt || g.at != now {
		g.segs = uint16(min(c.gsoSegs(avail, wnd), gsoMaxSize))
		g.left, g.at = g.segs, now
	}
	g.left--
	g.next = c.sndNxt.Add(seqnum.Size(n))
	return g.segs >= 2 && g.left == 0
}

// gsoSegs is the size in segments of the GSO packet Linux's
// tcp_write_xmit would build from sndNxt now.
func (c *Conn) gsoSegs(avail, wnd int) int {
	if c.urgMode() {
		return 1 // tcp_write_xmit sends one segment a packet in urgent mode
	}
	mss := c.sendMSS()
	cwndPkts := max(c.cwnd()/mss, 1)
	k := min(c.tsoAutosize(mss), max(cwndPkts/2, 1))
	// The packet ends at the end of the write (its skb).
	toEnd := avail
	for _, e := range c.pshEnds {
		if c.sndNxt.LessThan(e) {
			toEnd = min(toEnd, int(c.sndNxt.Size(e)))
			break
		}
	}
	limit := k * mss
	needed := min(toEnd, max(wnd, 0))
	if limit <= needed {
		return k
	}
	if needed == toEnd {
		return max((needed+mss-1)/mss, 1) // the skb's tail fits whole
	}
	if needed == c.peerRoom() && !c.corked && (c.noDelay || !c.smallInFlight()) && (!c.writing || c.sizeGoal() > mss) {
		// The peer's window cuts the skb: tcp_mss_split_point sends the
		// partial segment at the window's edge too, unless Nagle's check
		// (with Minshall's rule, as at the packet's start) holds it. An
		// skb must straddle the edge: one a write fills is pushed as it
		// fills (tcp_push_one), at most the size goal, and when that is a
		// single segment (half the peer's largest window) none does; on
		// an ACK the head skb first grows from those after it
		// (tcp_grow_skb, Linux 6.10 on). Seen on Linux 6.18
		// (zerowin/window-edge-burst.pkt).
		return max((needed+mss-1)/mss, 1)
	}
	return max(needed/mss, 1) // window-limited: whole segments only
}

// gsoContinues reports whether the segment at SND.NXT belongs to the GSO
// packet being sent now (gsoEnds), not a new one.
func (c *Conn) gsoContinues() bool {
	if c.ls == nil {
		return false
	}
	g := &c.ls.gso
	return g.left > 0 && g.next == c.sndNxt && g.at == c.p.net.Now().UnixNano()
}

// tsoAutosize is Linux's tcp_tso_autosize with its defaults
// (sk_pacing_shift 10, tcp_tso_rtt_log 9, tcp_min_tso_segs 2): the bytes
// the pacing rate sends in about 1 ms, plus a share of the GSO size that
// shrinks as the minimum RTT grows, in segments. The pacing rate is
// tcp_update_pacing_rate's: 200 % of cwnd·mss/srtt in slow start below
// half ssthresh, else 120 %.
func (c *Conn) tsoAutosize(mss int) int {
	bytes := int64(gsoMaxSize)
	cwnd := c.cc.Cwnd()
	if s8 := c.srttUs8(); s8 > 0 {
		ratio := int64(120)
		if cwnd < c.cc.Ssthresh()/2 {
			ratio = 200
		}
		pkts := int64(max(cwnd/mss, int(c.sndUna.Size(c.sndNxt))/mss, 1))
		rate := int64(mss) * 80_000 * ratio * pkts / s8 // bytes per second
		bytes = rate >> 10
	}
	minRTT := c.srtt
	if c.ls != nil && c.ls.minRTT > 0 {
		minRTT = c.ls.minRTT
	}
	if minRTT > 0 {
		if r := minRTT.Microseconds() >> 9; r < 32 {
			bytes += gsoMaxSize >> r
		}
	}
	bytes = min(bytes, gsoMaxSize)
	return max(int(bytes)/mss, 2)
}

// sizeGoal is the most a send-queue skb holds, Linux's
// tcp_xmit_size_goal: the GSO size limit, bounded to half the largest
// window the peer offered (tcp_bound_to_half_wnd), in whole segments.
func (c *Conn) sizeGoal() int {
	mss := c.sendMSS()
	return max(c.boundToHalfWnd(gsoMaxSize)/mss*mss, mss)
}

// writeSkbs queues what a write takes under the linux profile, as
// Linux's tcp_sendmsg_locked does. The bytes go into the unsent tail skb
// up to the size goal, then into new skbs of the size goal, and only
// before a new skb does Linux check that the socket may queue more: that
// the bytes queued are below the send buffer (sk_stream_memory_free) and,
// with TCP_NOTSENT_LOWAT, that the unsent ones are below the mark
// (tcp_stream_memory_free). So a write into a full buffer takes up to one
// skb past it. An skb that fills while it heads the unsent data goes out
// at once (tcp_push_one), which may leave a remainder that the write
// fills again; one that fills more than half the peer's largest window
// past the last push mark is marked (forced_push) and the queue pushed.
// So a non-blocking write of 60000 bytes with a low-water mark of 5000,
// an MSS of 1460 and a peer window of 32896 takes 30660: one skb of
// 16060, 14600 of it sent, the 1460 left filled to 16060 again
// (lowat/write-stops-at-skb.pkt); and with tcp_wmem's 50000, an MSS of
// 1000 and the same window a write of 59000 takes 58000: 10000 sent, its
// skb filled again, then two more of 16000 (buffers/write-past-limit.pkt).
func (c *Conn) writeSkbs(b []byte) int {
	ls := c.loss()
	goal := c.sizeGoal()
	total := 0
	for total < len(b) {
		end := c.sndBase.Add(seqnum.Size(c.sndBuf.n))
		start, tail := c.tailSkb(end)
		if tail == 0 || tail >= goal {
			if c.wmemQueued() >= c.sndBufSize || !c.notsentOK(false) {
				break
			}
			start, tail = end, 0
		}
		// The check above is the only limit, as Linux's: the skb begun
		// below the buffer's end fills whole, and so does the tail
		// refilled after a push (bounded by the window that let it go).
		chunk := b[total : total+min(goal-tail, len(b)-total)]
		m := c.sndBuf.write(c.p, c.sndBuf.n+len(chunk), chunk)
		c.skbQueued(end, end.Add(seqnum.Size(m)))
		if m == 0 {
			break
		}
		total += m
		if tail+m < goal || c.oob {
			continue // MSG_OOB: no push within the write
		}
		if e := end.Add(seqnum.Size(m)); c.forcedPush(e) {
			ls.markForced(e)
			c.output(whySend) // __tcp_push_pending_frames
		} else if !start.LessThan(c.sndNxt) {
			c.output(whySend) // tcp_push_one: the full skb heads the unsent data
		}
	}
	return total
}

// tailSkb returns where the unsent part of the send queue's tail skb
// starts and how long it is, for a write that appends at end; 0 when the
// queue's last skb is sent, ended by a record (MSG_EOR) or ends before end.
func (c *Conn) tailSkb(end seqnum.Value) (seqnum.Value, int) {
	ls := c.ls
	k := len(ls.skbEnds)
	if k == 0 || ls.skbEnds[k-1] != end || c.recordEndsAt(end) || !c.sndMax.LessThan(end) {
		return end, 0
	}
	from := c.sndMax // tso_fragment split off what was sent
	if k > 1 && from.LessThan(ls.skbEnds[k-2]) {
		from = ls.skbEnds[k-2]
	}
	return from, int(from.Size(end))
}

// forcedPush reports whether the bytes queued up to end reach past half
// the largest window the peer offered since the last push mark (Linux's
// forced_push: after(write_seq, pushed_seq + max_window/2)).
func (c *Conn) forcedPush(end seqnum.Value) bool {
	ls := c.loss()
	pushed := c.iss.Add(1)
	if ls.pushedSet {
		pushed = ls.pushed
	}
	return pushed.Add(seqnum.Size(c.maxSndWnd / 2)).LessThan(end)
}

// markPushed records a push mark at end (tcp_mark_push's pushed_seq).
func (ls *lossState) markPushed(end seqnum.Value) { ls.pushed, ls.pushedSet = end, true }

// markForced records forced_push's mark at end, an skb's end: the
// segment that ends there carries PSH when it leaves as a packet of its
// own (forcedPSH); inside a GSO packet the packet's own PSH covers it.
func (ls *lossState) markForced(end seqnum.Value) {
	ls.markPushed(end)
	if len(ls.forced) == maxForced {
		copy(ls.forced, ls.forced[1:])
		ls.forced = ls.forced[:maxForced-1]
	}
	ls.forced = append(ls.forced, end)
}

// maxForced bounds the forced push marks a connection keeps.
const maxForced = 16

// forcedPSH reports whether the new segment [seq, seq+n), sent as a
// packet of one segment, holds a forced push mark, and forgets the marks
// it passes.
func (c *Conn) forcedPSH(seq seqnum.Value, n int) bool {
	ls := c.ls
	if ls == nil || len(ls.forced) == 0 {
		return false
	}
	end := seq.Add(seqnum.Size(n))
	i := 0
	for i < len(ls.forced) && ls.forced[i].LessThanEq(end) {
		i++
	}
	hit := i > 0 && seq.LessThan(ls.forced[i-1])
	ls.forced = ls.forced[:copy(ls.forced, ls.forced[i:])]
	return hit
}
