package tcp

import (
	"fmt"
	"math/bits"
	"time"

	"stacklab/stack/core"
)

// Buffer autotuning and receive window growth, as Linux does them in
// the linux profile (net/ipv4/tcp_input.c: tcp_grow_window,
// tcp_rcv_space_adjust, tcp_rcv_rtt_measure_ts; tcp_sndbuf_expand).
//
// The receiver offers no more window than rcv_ssthresh, which starts at
// the initial window (the buffer rounded down to the MSS; the SYN's
// 16-bit field may hold less) and grows by twice the payload of each
// in-order segment, up to the buffer. Once per receiver round trip, a read
// compares the bytes the application consumed in that round trip with
// the round trip before; when the rate grew, the buffer (and with it
// the window clamp) grows to twice the bytes consumed plus sixteen
// segments, plus twice the growth: dynamic right-sizing, so that the
// window stays ahead of a sender in slow start. The sender's buffer
// follows its congestion window: twice cwnd. A buffer the application
// sized (SO_RCVBUF, SO_SNDBUF, or the stack's setting) is not tuned.

// rcvSpace is the state of receive-buffer autotuning (Linux's
// rcvq_space and rcv_rtt_est).
type rcvSpace struct {
	space  int       // bytes read in the last round trip that grew the buffer
	seq    uint64    // bytesRead when this measurement began
	time   time.Time // when it began
	rtt    time.Duration
	lastTS uint32 // TSecr of the last sample
}

// autotuneQuantum rounds tuned buffer sizes, so that a stack's buffer
// pool holds few distinct sizes.
const autotuneQuantum = 64 << 10

func roundQuantum(n int) int {
	return (n + autotuneQuantum - 1) / autotuneQuantum * autotuneQuantum
}

// autotuneStart begins the first measurement when the connection is
// established (tcp_init_buffer_space).
func (c *Conn) autotuneStart() {
	if !c.linux() {
		return
	}
	c.rcvSsthresh = min(c.rcvSsthresh, c.windowClamp())
	c.rcvq.space = min(c.rcvSsthresh, 10*c.advMSS()) // TCP_INIT_CWND · advmss
	c.rcvq.seq = c.bytesRead
	c.rcvq.time = c.p.net.Now()
	c.sndBufExpand(false) // the initial size, not worth a trace line
}

// rcvRTTSample takes the receiver's RTT from the timestamp echoed by a
// full-sized in-order data segment (tcp_rcv_rtt_measure_ts): the time
// since we sent the TSval it echoes, smoothed with gain 1/8.
func (c *Conn) rcvRTTSample(s *segment, n int) {
	if !c.rcvAuto || !c.tsOK || !s.opts.HasTS || s.opts.TSEcr == 0 || n < c.rcvSegMax {
		return
	}
	if s.opts.TSEcr == c.rcvq.lastTS {
		return
	}
	c.rcvq.lastTS = s.opts.TSEcr
	d := int32(c.p.tsNow() + c.tsOffset - s.opts.TSEcr)
	if d < 0 {
		return
	}
	r := time.Duration(d) * time.Millisecond
	if r == 0 {
		if c.srtt == 0 {
			return
		}
		r = c.srtt // below the 1 ms clock: the sender-side estimate
	}
	if c.rcvq.rtt == 0 {
		c.rcvq.rtt = r
	} else {
		c.rcvq.rtt += (r - c.rcvq.rtt) / 8
	}
}

// rcvSpaceAdjust runs after the application read: once per receiver
// round trip it grows the receive buffer to what the application's rate
// needs (tcp_rcv_space_adjust).
func (c *Conn) rcvSpaceAdjust() {
	if !c.rcvAuto {
		return
	}
	now := c.p.net.Now()
	rtt := c.rcvq.rtt
	if rtt == 0 {
		rtt = c.srtt
	}
	if rtt == 0 || now.Sub(c.rcvq.time) < rtt {
		return
	}
	copied := int(c.bytesRead - c.rcvq.seq)
	if space := max(c.rcvq.space, 1); copied > space {
		win := 2*copied + 16*c.advMSS()
		grow := int(int64(win) * int64(copied-space) / int64(space))
		win += 2 * grow
		if c.rm != nil {
			// The memory that window takes at the measured ratio
			// (tcp_space_from_win), in the buffer's units, half of it.
			win = int(int64(win) * defaultScalingRatio / int64(c.rm.ratio))
		}
		win = min(win, c.p.rmemMax()/2, 65535<<c.rcvWScale)
		if win > c.rcvBufSize {
			old := c.rcvBufSize
			c.rcvBufSize = min(roundQuantum(win), c.p.rmemMax()/2, 65535<<c.rcvWScale)
			if c.rm != nil {
				c.rm.clamp = c.winFromSpace(c.rcvMemory())
			}
			c.autotuneEvent("rcvbuf", fmt.Sprintf("autotune: read %d B in %v (was %d) → receive buffer %d → %d B", copied, rtt.Round(100*time.Microsecond), c.rcvq.space, old, c.rcvBufSize))
		}
		c.rcvq.space = copied
	}
	c.rcvq.seq = c.bytesRead
	c.rcvq.time = now
}

// sndBufExpand grows the send buffer as Linux's tcp_sndbuf_expand: room
// for twice max(cwnd, the initial window, reordering+1) segments, each
// counted at the memory an skb of one MSS takes (per_mss: the MSS plus
// MAX_TCP_HEADER and skb_shared_info, rounded up to a power of two, plus
// the sk_buff): 2304 bytes for a 1460-byte MSS, so a 14600-byte initial
// window gets a 46080-byte buffer, and a 43800-byte write into it
// returns at once (testdata/pkt/slowstart/iw10.pkt). The buffer is
// charged as Linux charges it, each skb's payload and overhead
// (wmemQueued). With a distribution kernel's MAX_TCP_HEADER (320, see
// linuxMaxTCPHeader) a segment counts 4352 bytes and the buffer starts
// at 87040.
func (c *Conn) sndBufExpand(trace bool) {
	if !c.sndAuto {
		return
	}
	mss := c.sendMSS()
	segs := max(c.cc.Cwnd()/max(mss, 1), 10, linuxReordering+1)
	perMSS := 1<<bits.Len(uint(mss+linuxMaxTCPHeader+linuxSkbSharedInfo-1)) + linuxSkbSize
	want := 2 * segs * perMSS
	if want <= c.sndBufSize || c.sndBufSize >= linuxSndSpaceMax {
		return
	}
	old := c.sndBufSize
	c.sndBufSize = min(want, linuxSndSpaceMax)
	// The ring itself grows as the bytes written reach it (ringSize).
	if !trace || bits.Len(uint(old)) == bits.Len(uint(c.sndBufSize)) {
		return // a trace line when the size passes a power of two, not on every ACK
	}
	c.autotuneEvent("sndbuf", fmt.Sprintf("autotune: cwnd %d B → send buffer %d → %d B", c.cc.Cwnd(), old, c.sndBufSize))
}

// Sizes from Linux on x86-64 that tcp_sndbuf_expand counts per segment
// and an skb's truesize charges to the send buffer. MAX_TCP_HEADER is the
// kernel stacklab is checked against (6.18.44-fc here: SO_SNDBUF reads
// 46080 after accept up to a peer MSS of 1536 and 87040 from 1537, so
// MAX_TCP_HEADER and skb_shared_info take 512 bytes together); a
// distribution kernel's is 320 (MAX_HEADER 128 for tunnels), which makes
// 87040 the buffer to start with and 1280 bytes an skb's overhead.
const (
	linuxMaxTCPHeader  = 192 // MAX_TCP_HEADER, cache-line aligned
	linuxSkbSharedInfo = 320 // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
	linuxSkbSize       = 256 // SKB_DATA_ALIGN(sizeof(struct sk_buff))
)

// linuxSkbOverhead is what an skb of the send queue costs the send
// buffer besides its payload (tcp_stream_alloc_skb's truesize: its head,
// MAX_TCP_HEADER and skb_shared_info in a kmalloc block of a power of
// two, and the sk_buff): 768 bytes, as the kernel's write sizes show
// (testdata/pkt/buffers/*.pkt).
var linuxSkbOverhead = 1<<bits.Len(uint(linuxMaxTCPHeader+linuxSkbSharedInfo-1)) + linuxSkbSize

func (c *Conn) autotuneEvent(name, detail string) {
	if c.p.net.Tracing() {
		c.p.net.Observe(&core.Event{Kind: core.EventNote, FD: -1, Proto: "tcp", Conn: c.tuple, Name: name, Detail: detail})
	}
}
