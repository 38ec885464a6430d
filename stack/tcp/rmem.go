package tcp

import (
	"math/bits"
	"slices"

	"stacklab/stack/tcp/seqnum"
)

// The receive window as Linux offers it (linux profile): from the memory
// the received packets take, not from the bytes they carry.
//
// Linux charges every skb it queues to the socket at its truesize (the
// kmalloc block holding the packet, its skb_shared_info and the
// sk_buff), and offers as window only the part of the free memory that
// payload is expected to fill: tcp_win_from_space scales the memory by
// scaling_ratio/256, the ratio of payload to truesize that
// tcp_measure_rcv_mss last measured on a full-sized segment (128, a
// half, until then). So a window depends on the size of the packets
// received: a 1460-byte segment on a TUN device takes 2304 bytes, a
// ratio of 162, and the window then grows past half the buffer; a
// 1000-byte one takes 2304 too, a ratio of 111, and the window shrinks
// towards 111/256 of it, never retracting what it offered
// (tcp_select_window). rcv_ssthresh grows by two segments per segment
// received while the truesize is as expected (tcp_grow_window), and
// window_clamp follows the ratio. A small segment is copied into the
// room left at the end of the previous skb still queued (skb_try_coalesce
// into its tailroom) and costs no more memory. Checked on Linux 6.18
// with packetdrill: testdata/pkt/buffers/rwnd-ratio-grows.pkt (548 after
// two segments, where half the buffer gave 480), rwnd-ratio-shrinks.pkt,
// rwnd-small-segments.pkt, and testdata/pkt/wire-diff.py, which finds
// every window of every script the kernel's.
//
// The truesize is that of a TUN device's skbs, which packetdrill's
// packets are (tun_alloc_skb: the packet and NET_SKB_PAD in one linear
// kmalloc block below a page); stacklab uses it for every link.

// rcvMem is the receive side's memory accounting, allocated with the
// first data received (an idle connection does without).
type rcvMem struct {
	ratio  int    // scaling_ratio, of 256
	clamp  int    // window_clamp
	ackMSS int    // icsk_ack.rcv_mss: the segment size the ratio was measured at
	alloc  int    // sk_rmem_alloc: the truesize of the skbs held
	wnd    int    // rcv_wnd: the window selected last
	q      []rskb // in-order skbs not yet read whole, oldest first from qh
	qh     int
	ofo    []oskb // out-of-order skbs, in arrival order
	last   int    // index in ofo of ooo_last_skb, or -1
	// lastSeg is icsk_ack.last_seg_size: the size of the last short
	// segment that may be the peer's MSS; pushed is ICSK_ACK_PUSHED (1)
	// and PUSHED2 (2): short segments arrived since the last ACK, which
	// a read that empties the queue acknowledges at once
	// (maybeWindowUpdate).
	lastSeg int32
	pushed  uint8
}

// rskb is an in-order skb: where it ends in the stream, its truesize and
// the tailroom a small segment after it may be copied into.
type rskb struct {
	end         uint64
	size, tailr int32
}

// oskb is an out-of-order skb.
type oskb struct {
	left, right seqnum.Value
	size, tailr int32
}

// Linux's constants for the truesize of a received skb (x86-64).
const (
	defaultScalingRatio = 128 // TCP_DEFAULT_SCALING_RATIO: half
	netSkbPad           = 64  // NET_SKB_PAD, the headroom tun reserves
	pageSize            = 4096
	maxRcvSkbs          = 1 << 16 // bound on the in-order skbs tracked; past it the last takes the bytes
	maxOfoSkbs          = 512     // bound on the out-of-order skbs tracked; past it one is not charged
)

// rxTruesize returns the truesize and tailroom of the skb a TUN device
// builds for an IP packet of n bytes: one kmalloc block of a power of
// two for the headroom, the packet and skb_shared_info, plus the
// sk_buff (SKB_TRUESIZE). Packets past a page go in page fragments.
func rxTruesize(n int) (size, tailroom int) {
	data := (netSkbPad + n + 63) &^ 63
	if netSkbPad+n >= pageSize {
		// A paged skb: its bytes in whole pages, a small head.
		pages := (n + pageSize - 1) / pageSize * pageSize
		return pages + 1<<bits.Len(uint(netSkbPad+linuxSkbSharedInfo-1)) + linuxSkbSize, 0
	}
	block := 1 << bits.Len(uint(data+linuxSkbSharedInfo-1))
	return block + linuxSkbSize, block - linuxSkbSharedInfo - netSkbPad - n
}

// segTruesize returns rxTruesize for a received segment with n bytes of
// payload.
func (c *Conn) segTruesize(s *segment, n int) (int, int) {
	hdr := 20 + 20
	if s.v6 {
		hdr = 40 + 20
	}
	if s.opts.HasTS {
		hdr += 12
	}
	if s.opts.NSACK > 0 {
		hdr += 4 + 8*s.opts.NSACK
	}
	return rxTruesize(hdr + n)
}

// rmem returns the receive memory state, allocating it.
func (c *Conn) rmem() *rcvMem {
	if c.rm == nil {
		c.rm = &rcvMem{
			ratio:  defaultScalingRatio,
			ackMSS: c.ackMSSNow(), // tcp_initialize_rcv_mss's guess
			last:   -1,
			wnd:    c.rcvWindowNow(),
		}
		c.rm.clamp = c.initClamp()
	}
	return c.rm
}

// tcpHeaderLen is Linux's tp->tcp_header_len: the header of a segment
// with the options every segment carries (timestamps, if agreed).
func (c *Conn) tcpHeaderLen() int {
	if c.tsOK {
		return 20 + 12
	}
	return 20
}

// advMSS is Linux's advmss: the MSS we announced, less the timestamp
// option once timestamps are agreed (tcp_info's tcpi_advmss).
func (c *Conn) advMSS() int { return c.rcvMSS - (c.tcpHeaderLen() - 20) }

// initClamp is window_clamp as tcp_init_buffer_space sets it when the
// connection is established: the window the whole buffer holds, less a
// segment (tcp_app_win's "reservation of one segment").
func (c *Conn) initClamp() int {
	maxwin := c.winFromSpace(c.rcvMemory())
	clamp := maxwin
	if adv := c.advMSS(); clamp > 2*adv && clamp+adv > maxwin {
		clamp = max(2*adv, maxwin-adv)
	}
	return clamp
}

// rcvMemory is sk_rcvbuf: the receive buffer in bytes of memory. An
// autotuned buffer and one SO_RCVBUF set are memory, twice the window's
// space at the default ratio; a size the stack's or socket's options
// gave as the window's space (Config.RecvBuffer) keeps that window at
// any ratio.
func (c *Conn) rcvMemory() int {
	if c.rcvAuto || c.rcvLocked || c.rm == nil {
		return 2 * c.rcvBufSize
	}
	return (c.rcvBufSize<<8 + c.rm.ratio - 1) / c.rm.ratio
}

// winFromSpace is tcp_win_from_space: the window that space bytes of
// memory are expected to hold.
func (c *Conn) winFromSpace(space int) int {
	r := defaultScalingRatio
	if c.rm != nil {
		r = c.rm.ratio
	}
	return int(int64(space) * int64(r) >> 8)
}

// rcvAlloc is sk_rmem_alloc.
func (c *Conn) rcvAlloc() int {
	if c.rm == nil {
		return 0
	}
	return c.rm.alloc
}

// tcpSpace is tcp_space: the window the free receive memory holds.
func (c *Conn) tcpSpace() int { return c.winFromSpace(c.rcvMemory() - c.rcvAlloc()) }

// windowClamp is window_clamp.
func (c *Conn) windowClamp() int {
	if c.rm == nil {
		return c.initClamp()
	}
	return c.rm.clamp
}

// measureRcvMSS is tcp_measure_rcv_mss, for a segment of n payload
// bytes whose TCP header took hdrLen. One at least as large as rcv_mss,
// and not the same size, sets the scaling ratio from its payload and
// truesize, and window_clamp (and rcv_ssthresh under it) follow. A
// shorter one is the peer's segment size when the one before had its
// size, else it is pushed (rcvMem.pushed).
func (c *Conn) measureRcvMSS(n, truesize, hdrLen int, flags uint8) {
	rm := c.rmem()
	lss := rm.lastSeg
	rm.lastSeg = 0
	if n < rm.ackMSS {
		// A short segment. Two in a row of one size, past TCP_MIN_MSS
		// with no PSH, FIN, URG or SYN (or past 536 bytes), are the
		// peer's MSS; any other is pushed (ICSK_ACK_PUSHED, then
		// PUSHED2).
		const remnant = flagFIN | flagURG | flagSYN | flagPSH
		if l := n + max(hdrLen, 20); l >= defaultMSS+20 || l >= 88+20 && flags&remnant == 0 {
			l -= c.tcpHeaderLen()
			rm.lastSeg = int32(l)
			if l == int(lss) {
				rm.ackMSS = l
				c.rcvSegMax = l // the same rcv_mss decides when to ACK
				return
			}
		}
		if rm.pushed&1 != 0 {
			rm.pushed |= 2
		}
		rm.pushed |= 1
		return
	}
	if n != rm.ackMSS {
		old := rm.ratio
		rm.ratio = max(n<<8/truesize, 1)
		if rm.ratio != old {
			c.setWindowClamp(c.winFromSpace(c.rcvMemory()))
		}
	}
	rm.ackMSS = min(n, c.rcvMSS)
}

// setWindowClamp is tcp_set_window_clamp: rcv_ssthresh falls with a
// smaller clamp, and with a larger one rises to the window selected
// last if the clamp allows it.
func (c *Conn) setWindowClamp(clamp int) {
	rm := c.rmem()
	if clamp == rm.clamp {
		return
	}
	grow := clamp > rm.clamp
	rm.clamp = clamp
	c.rcvq.space = min(c.rcvq.space, clamp)
	if grow {
		c.rcvSsthresh = max(c.rcvSsthresh, min(rm.wnd, clamp))
	} else {
		c.rcvSsthresh = min(c.rcvSsthresh, clamp)
	}
}

// rcvWnd is rcv_wnd: the window selected last, before the window
// field's limit (tcp_info's tcpi_rcv_wnd).
func (c *Conn) rcvWnd() int {
	if c.rm != nil {
		return c.rm.wnd
	}
	return max(int(int32(c.rcvWndEdge-c.lastAckSent)), 0)
}

// rcvWindowNow is tcp_receive_window: what is left of the window
// selected last.
func (c *Conn) rcvWindowNow() int { return max(int(int32(c.rcvWndEdge-c.rcvNxt)), 0) }

// growRcvWindow is tcp_grow_window: rcv_ssthresh grows by two segments
// for a segment whose truesize the ratio expects, up to what the free
// memory and window_clamp allow. It reports whether it grew, which
// makes the next ACK a quick one (the caller's quickAcks |= 1, after
// quick-ACK mode is entered at the first data: tcp_event_data_recv's
// order).
func (c *Conn) growRcvWindow(n, truesize int) bool {
	room := min(c.windowClamp(), c.tcpSpace()) - c.rcvSsthresh
	if room <= 0 {
		return false
	}
	var incr int
	if c.winFromSpace(truesize) <= n {
		incr = 2 * c.advMSS()
	} else {
		// __tcp_grow_window: a segment whose truesize is large for its
		// payload grows the window only while rcv_ssthresh is small.
		t := c.winFromSpace(truesize) >> 1
		w := c.winFromSpace(c.p.rmemMax()) >> 1
		for c.rcvSsthresh <= w {
			if t <= n {
				incr = 2 * c.rmem().ackMSS
				break
			}
			t >>= 1
			w >>= 1
		}
	}
	if incr > 0 {
		incr = max(incr, 2*n)
		c.rcvSsthresh += min(room, incr)
	}
	return incr > 0
}

// queueRcvSkb charges the n in-order bytes ending at stream offset end
// (streamOffset) just added to the receive queue: copied into the tail
// skb's tailroom when they fit, else a new skb of truesize size.
func (c *Conn) queueRcvSkb(end uint64, n, size, tailr int) {
	rm := c.rmem()
	if len(rm.q) > rm.qh {
		if t := &rm.q[len(rm.q)-1]; n <= int(t.tailr) || len(rm.q)-rm.qh >= maxRcvSkbs {
			if n <= int(t.tailr) {
				t.tailr -= int32(n)
			}
			t.end = end
			return
		}
	}
	if rm.qh > 0 && len(rm.q) == cap(rm.q) {
		k := copy(rm.q, rm.q[rm.qh:])
		rm.q, rm.qh = rm.q[:k], 0
	}
	rm.q = append(rm.q, rskb{end: end, size: int32(size), tailr: int32(max(tailr, 0))})
	rm.alloc += size
}

// streamOffset is the offset in the stream of seq, at or below RCV.NXT:
// what the application read, plus what the ring holds, less what lies
// between seq and RCV.NXT.
func (c *Conn) streamOffset(seq seqnum.Value) uint64 {
	return c.bytesRead + uint64(c.rcvBuf.n) - uint64(seq.Size(c.rcvNxt))
}

// rcvConsumed releases the skbs the application has read whole.
func (c *Conn) rcvConsumed() {
	rm := c.rm
	if rm == nil {
		return
	}
	for rm.qh < len(rm.q) && rm.q[rm.qh].end <= c.bytesRead {
		rm.alloc -= int(rm.q[rm.qh].size)
		rm.qh++
	}
	if rm.qh == len(rm.q) {
		rm.q, rm.qh = rm.q[:0], 0
	}
}

// queueOfoSkb charges an out-of-order segment [left, right): nothing if
// held already whole, copied into the tailroom of the out-of-order skb
// queued last when it follows it, else a new skb.
func (c *Conn) queueOfoSkb(left, right seqnum.Value, size, tailr int) {
	rm := c.rmem()
	for _, o := range rm.ofo {
		if o.left.LessThanEq(left) && right.LessThanEq(o.right) {
			return // all the bits are present: dropped
		}
	}
	if rm.last >= 0 {
		if o := &rm.ofo[rm.last]; o.right == left && int(right-left) <= int(o.tailr) {
			o.tailr -= int32(right - left)
			o.right = right
			return
		}
	}
	if len(rm.ofo) >= maxOfoSkbs {
		return
	}
	rm.ofo = append(rm.ofo, oskb{left: left, right: right, size: int32(size), tailr: int32(max(tailr, 0))})
	rm.last = len(rm.ofo) - 1
	rm.alloc += size
}

// ofoMerged moves the out-of-order skbs now below RCV.NXT to the
// receive queue, in order, each copied into the tail skb when it fits
// its tailroom (its own memory freed), as tcp_ofo_queue does. Sorted by
// where they start, they come first: those left are past the next hole.
func (c *Conn) ofoMerged() {
	rm := c.rm
	if rm == nil || !slices.ContainsFunc(rm.ofo, func(o oskb) bool { return o.right.LessThanEq(c.rcvNxt) }) {
		return // none moves: ooo_last_skb stays
	}
	slices.SortFunc(rm.ofo, func(a, b oskb) int { return int(int32(a.left - b.left)) })
	k := 0
	for ; k < len(rm.ofo) && rm.ofo[k].right.LessThanEq(c.rcvNxt); k++ {
		o := rm.ofo[k]
		rm.alloc -= int(o.size)
		c.queueRcvSkb(c.streamOffset(o.right), int(o.left.Size(o.right)), int(o.size), int(o.tailr))
	}
	rm.ofo, rm.last = rm.ofo[:copy(rm.ofo, rm.ofo[k:])], -1
}

// ackMSSNow is icsk_ack.rcv_mss, without allocating the state: before
// data, tcp_initialize_rcv_mss's guess (the smaller MSS, at most half
// the window and 536, at least 88).
func (c *Conn) ackMSSNow() int {
	if c.rm != nil {
		return c.rm.ackMSS
	}
	return max(min(c.rcvMSS, c.sendMSS(), max(c.initialRcvWnd()/2, 1), defaultMSS), 88)
}

// selectWindow is __tcp_select_window: the window the free receive
// memory offers, at most rcv_ssthresh; none once less than a segment,
// or a sixteenth of the buffer, is free and the memory is half used.
// Without window scaling it keeps the window it offered while that is
// within a segment of the free space, else offers whole segments.
func (c *Conn) selectWindow() int {
	sh := c.rcvShift()
	mss := c.ackMSSNow()
	free := c.tcpSpace()
	allowed := c.winFromSpace(c.rcvMemory())
	full := min(c.windowClamp(), allowed)
	if mss > full {
		if mss = full; mss <= 0 {
			return 0
		}
	}
	if free < full>>1 {
		// Half the buffer used: quick-ACK mode ends, here as at every
		// call (the ACK check, a read, each ACK sent).
		c.quickAcks = 0
		free &^= 1<<sh - 1
		if free < allowed>>4 || free < mss {
			return 0
		}
	}
	free = min(free, c.rcvSsthresh)
	if sh > 0 {
		return (free + 1<<sh - 1) &^ (1<<sh - 1)
	}
	w := c.rcvWindowNow()
	if c.rm != nil {
		w = c.rm.wnd
	}
	if w <= free-mss || w > free {
		w = free / mss * mss
	} else if mss == full && free > w+full>>1 {
		w = free
	}
	return w
}

// linuxWindowField is tcp_select_window: the window selectWindow
// offers, or the one offered before if that would shrink it, in the
// window field's units.
func (c *Conn) linuxWindowField() uint16 {
	sh := c.rcvShift()
	cur := c.rcvWindowNow()
	if (c.state == TimeWait || c.state == FinWait2 && c.orphan) && c.lastAckSent == c.rcvNxt {
		// A timewait socket's window (tw_rcv_wnd): what was left of the
		// last one selected, not selected again. The ACK of the FIN
		// that ended FIN_WAIT_2 selects one still: Linux's full socket
		// sends it before it becomes a timewait socket (tcp_fin).
		return uint16(min(cur, 65535<<sh) >> sh)
	}
	w := c.selectWindow()
	if w < cur {
		w = (cur + 1<<sh - 1) &^ (1<<sh - 1) // never shrink the offered window
	}
	if c.rm != nil {
		c.rm.wnd = w
	}
	c.rcvWndEdge = c.rcvNxt.Add(seqnum.Size(w))
	field := min(w, 65535<<sh) >> sh
	if edge := c.rcvNxt.Add(seqnum.Size(field << sh)); c.rcvAdv.LessThan(edge) {
		c.rcvAdv = edge
	}
	return uint16(field)
}
