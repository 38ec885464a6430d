package tcp

import (
	"io"
	"syscall"
	"time"

	"stacklab/stack/core"
	"stacklab/stack/tcp/cc"
	"stacklab/stack/tcp/sack"
	"stacklab/stack/tcp/seqnum"
)

// maxOOO bounds the number of out-of-order ranges a connection keeps; a
// segment that would need more is dropped. The data itself lives in the
// receive ring, within the window; the table only describes it, and
// grows as needed up to this bound, which a window of 256 KiB or more
// can reach when every other segment of a flight is lost (Linux bounds
// its out-of-order queue by the receive buffer alone).
const maxOOO = 4096

// oooRange is a range of out-of-order data held past RCV.NXT.
type oooRange struct {
	sackBlock
	stamp uint32 // insertion order, for the most recent SACK block first
}

// Conn is one TCP connection. Its methods must be called with the
// stack's lock held; none blocks.
type Conn struct {
	p        *Proto
	tuple    core.Tuple
	state    State
	passive  bool
	listener *Listener // while unaccepted
	notify   func()

	// Settings.
	sndBufSize, rcvBufSize int
	sndAuto, rcvAuto       bool // buffers autotuned (linux profile, size not set)
	rcvLocked              bool // the receive buffer set by SO_RCVBUF (SOCK_RCVBUF_LOCK)
	noDelay, quickAck      bool
	reuseAddr              bool // SO_REUSEADDR of its socket: a TIME_WAIT left behind keeps it (Linux's tw_reuse)
	keepAlive              bool
	keepIdle, keepIntvl    time.Duration
	keepCnt                int
	linger                 bool
	lingerSec              int

	// Send sequence space (RFC 9293 §3.3.1). sndMax is the highest
	// sequence number sent; sndNxt goes back to sndUna after an RTO.
	iss, sndUna, sndNxt, sndMax seqnum.Value
	sndBase                     seqnum.Value // sequence number of sndBuf's first byte
	sndWnd, maxSndWnd           uint32
	sndWl1, sndWl2              seqnum.Value
	sndBuf                      ring
	finQueued                   bool           // a FIN follows sndBuf
	sndSml                      seqnum.Value   // end of the last small segment sent (Minshall)
	pshEnds                     []seqnum.Value // ends of writes not yet acknowledged (linux PSH)

	// Receive sequence space. rcvAdv is the right edge advertised;
	// rcvWndEdge the right edge of the window last selected, which the
	// linux profile does not retract (rcv_wup + rcv_wnd: a SYN offers
	// at most 65535 but selects the whole initial window).
	irs, rcvNxt, rcvAdv, rcvWndEdge seqnum.Value
	rcvBuf                          ring
	ooo                             []oooRange // grown on demand from the first out-of-order segment
	nooo                            int        // ranges in use in ooo
	oooStamp                        uint32
	finRcvd                         bool // FIN processed
	rcvFinPending                   bool // FIN received out of order at rcvFinSeq
	rcvFinSeq                       seqnum.Value
	lastAckSent                     seqnum.Value
	rcvSegMax                       int // estimate of the peer's full segment size (Linux's rcv_mss)
	ackNow                          bool
	ackPending                      bool // data received and not yet acknowledged
	wndUpdate                       bool // the pending ACK is a window update
	ackWhy                          string
	dsack                           sackBlock // D-SACK block for the next ACK (RFC 2883)
	dsackSet                        bool
	lastOOWAck                      time.Time // rate limit of ACKs to unacceptable pure ACKs

	// Linux's ACK timing (profile.go): quick-ACK mode, ato, pingpong.
	quickAcks int
	ato       time.Duration
	lrcv      time.Duration // the last data received, Proto.jiffiesNow (Linux's lrcvtime)
	pingpong  bool

	ecn ecnState // RFC 3168 (ecn.go)

	// Receive window growth and buffer autotuning (autotune.go).
	rcvSsthresh int // Linux's rcv_ssthresh: the most window offered
	rcvq        rcvSpace
	rm          *rcvMem // the linux profile's receive memory (rmem.go), from the first data
	bytesRead   uint64

	// Negotiated options.
	mss, rcvMSS          int
	sndWScale, rcvWScale uint8
	wsOK, tsOK, sackOK   bool
	tsInherited          bool // tsRecent came from the timewait socket a connect took over (heir)
	tsRecent             uint32
	tsOffset             uint32

	// RTT and RTO (RFC 6298).
	srtt, rttvar, rto time.Duration
	rttTiming         bool
	rttSeq            seqnum.Value
	rttStart          time.Time
	backoff           int
	rtoTS             uint32 // our TSval when the RTO last fired (rttm.go)
	rtoTSSet          bool
	// Linux's estimator (linux profile, rttm.go): its mdev_us and
	// mdev_max_us in µs, and rtt_seq. rttvar is then its rttvar_us.
	mdev, mdevMax uint32
	rttSeqL       seqnum.Value

	// Congestion control and loss recovery.
	cc         cc.Controller
	sb         *sack.Scoreboard // allocated on the first SACK block
	ls         *lossState       // RACK-TLP, PRR and undo (rack.go); allocated with the first data sent
	recMode    recoveryMode
	rtxKind    uint8 // what the rtx timer runs as: rtxRTO, rtxTLP, rtxReo
	probing    bool  // sending a tail loss probe: cwnd does not apply
	dupAcks    int
	inRecovery bool
	recover    seqnum.Value
	lastSend   time.Time

	// Whether cwnd limits the sender, per window of data (Linux's
	// tcp_cwnd_validate): see cwndlimit.go.
	cwndLimited  bool
	maxFlight    int          // most bytes in flight in the current window
	cwndUsageSeq seqnum.Value // SND.NXT when that window began

	// Timers.
	rtx, delack, ka ctimer
	persist         bool           // rtx runs as the persist timer
	probes          int            // keepalive probes unanswered
	zwpProbes       int            // zero-window probes sent since the window closed (the backoff)
	zwpOut          int            // zero-window probes sent since the last ACK (Linux's icsk_probes_out)
	zwpStart        time.Time      // first probe into the current closed window (icsk_probes_tstamp)
	rtxStart        time.Time      // when SND.UNA's segment was last sent before the first RTO
	userTimeout     time.Duration  // TCP_USER_TIMEOUT; zero: retry counts alone
	userMSS         int            // TCP_MAXSEG; zero: the MTU alone
	synRetries      int            // TCP_SYNCNT; zero: Config.SynRetries
	ipTTL, ipTOS    uint8          // IP_TTL, IP_TOS of the segments; zero: the stack's
	ipNoDF          bool           // segments leave without DF (IP_MTU_DISCOVER)
	ipIDSet         bool           // ipID is drawn
	ipID            uint16         // the next IPv4 identification of a segment with DF (Linux's inet_id)
	txhash          uint32         // Linux's sk_txhash, whose low 20 bits are the IPv6 flow label; 0 until drawn
	rehash          uint32         // times it was drawn again on a timeout (tcpi_rehash)
	lrcvFlow        uint32         // the IPv6 flow label of the last data received (Linux's icsk_ack.lrcv_flowlabel)
	corked          bool           // TCP_CORK: hold partial segments
	more            bool           // the last write had MSG_MORE: the cork timer sends its partial tail
	moreNow         bool           // that write's own push: MSG_MORE holds the partial tail
	corkFlush       bool           // the cork's timer fired: send the partial segment
	wakeup          bool           // the probe timer fired into a window smaller than a segment: send what fits (linux)
	writing         bool           // the output is a write's own push (Linux's tcp_push_one per skb as it fills)
	notsentLowat    uint32         // TCP_NOTSENT_LOWAT; zero: the stack's (lowat)
	rcvLowat        int32          // SO_RCVLOWAT; 0 or 1: a byte (rcvTarget)
	rxReady         uint64         // bytes received when the data last woke readers (ReadyMark)
	urg             *urgent        // urgent data sent or received, SO_OOBINLINE (urgent.go); nil for most
	oob             bool           // the next Write is sent with MSG_OOB (SetUrgent)
	deferAccept     uint8          // TCP_DEFER_ACCEPT, in SYN-ACK timeouts (a passive open's)
	deferAcked      bool           // the handshake's bare ACK came and was dropped (deferAccept)
	eorEnds         []seqnum.Value // MSG_EOR: ends of records not yet sent, in order; new data never joins a segment across one
	inLoss          bool           // an RTO's loss episode began and was not undone; inLossEpisode says whether it goes on
	lossHigh        seqnum.Value
	lastRecv        time.Time

	// Socket state.
	err            error // pending SO_ERROR
	dead           bool  // the connection is gone (CLOSED)
	txWait         bool  // in Proto.txWaiters: new data waits for room in the interface's queue
	rdShut, wrShut bool
	rdShutUser     bool // shutdown(SHUT_RD): reads end at EOF, data still kept
	synced         bool // the handshake completed, at some time
	orphan         bool // Close was called
	// twCounted: the connection holds one of Config.MaxTimeWait's
	// places (TIME_WAIT, or an orphan in FIN_WAIT_2); orphanCounted: one
	// of Config.MaxOrphans' (deathrow.go).
	twCounted, orphanCounted bool

	lastVars *core.TCPVars // the variables last reported (series.go), while tracing

	// packed: the twSock this connection was packed into in TIME_WAIT
	// (timewait.go), for a caller that still holds it; fromTW: the one
	// it was revived from, which packing it again reuses.
	packed, fromTW *twSock

	retrans, rtos, fastRetrans           uint64
	bytesSent, bytesAcked, bytesReceived uint64

	ti tcpiBase // for Linux's tcp_info only (tcpistats.go)
}

func (p *Proto) newConn(t core.Tuple, o *SockOpts, mtu int) *Conn {
	cfg := &p.cfg
	c := &Conn{
		p:          p,
		tuple:      t,
		sndBufSize: cfg.SendBuffer,
		rcvBufSize: cfg.RecvBuffer,
		noDelay:    cfg.NoDelay,
		quickAck:   cfg.NoDelayedAck,
		keepIdle:   cfg.KeepIdle,
		keepIntvl:  cfg.KeepInterval,
		keepCnt:    cfg.KeepCount,
		rto:        cfg.RTOInitial,
		lastRecv:   p.net.Now(),
		recMode:    p.recMode,
	}
	name := ""
	if o != nil {
		if o.SendBuffer > 0 {
			c.sndBufSize = o.SendBuffer
		}
		if o.RecvBuffer > 0 {
			c.rcvBufSize = o.RecvBuffer
			if o.RecvBufferSet {
				c.rcvBufSize, c.rcvLocked = p.rcvSpaceOf(o.RecvBuffer), true
			}
		}
		c.noDelay = c.noDelay || o.NoDelay
		c.quickAck = c.quickAck || o.QuickAck
		c.reuseAddr = o.ReuseAddr
		c.keepAlive = o.KeepAlive
		if o.KeepIdle > 0 {
			c.keepIdle = o.KeepIdle
		}
		if o.KeepInterval > 0 {
			c.keepIntvl = o.KeepInterval
		}
		if o.KeepCount > 0 {
			c.keepCnt = o.KeepCount
		}
		c.linger, c.lingerSec = o.Linger, o.LingerSec
		c.userTimeout = max(o.UserTimeout, 0)
		c.userMSS, c.synRetries = max(o.MaxSeg, 0), max(o.SynCount, 0)
		c.ipTTL, c.ipTOS, c.ipNoDF = o.TTL, o.TOS, o.NoDF
		c.corked, c.notsentLowat = o.Cork, o.NotSentLowat
		c.rcvLowat = int32(o.RcvLowat)
		c.deferAccept = uint8(min(max(o.DeferAccept, 0), 255))
		if o.OOBInline {
			c.urgent().inline = true
		}
		name = o.Congestion
		if m, ok := parseRecovery(o.Recovery); ok && o.Recovery != "" {
			c.recMode = m
		}
	}
	if mtu <= 0 {
		mtu = 1500
	}
	if p.linux {
		// Autotuning unless the size was set (SO_RCVBUF/SO_SNDBUF lock
		// it in Linux).
		if c.rcvBufSize == 0 {
			c.rcvBufSize, c.rcvAuto = p.rcvSpaceDefault(), true
		}
		if c.sndBufSize == 0 {
			c.sndBufSize, c.sndAuto = p.sndSpaceDefault(), true
		}
	}
	if o != nil && c.rcvAuto && o.RcvLowatSpace > c.rcvBufSize {
		// SO_RCVLOWAT grew the socket's buffer before it connected (or
		// the listener's, which its children inherit).
		c.rcvBufSize = o.RcvLowatSpace
	}
	mtu = min(mtu, maxPacket(t.Local.Addr()))
	c.rcvMSS = mtu - ipTCPHeaderLen(t.Local.Addr())
	if c.userMSS > 0 {
		c.rcvMSS = min(c.rcvMSS, c.userMSS)
	}
	c.mss = c.rcvMSS
	c.rcvSegMax = min(c.rcvMSS, defaultMSS)
	c.cc = p.newController(name, c.mss)
	c.initRcvWScale()
	if !cfg.NoTimestamps {
		c.tsOffset = p.tsOffset(t.Local.Addr(), t.Remote.Addr())
	}
	c.ti.pmtu = int32(mtu)
	c.rtx.init(c, (*Conn).onRTX)
	c.delack.init(c, (*Conn).onDelack)
	c.ka.init(c, (*Conn).onKA)
	return c
}

// Read copies received bytes into b. It returns syscall.EAGAIN when no
// data is available yet, io.EOF after the peer's FIN once drained, and
// ECONNRESET, ETIMEDOUT or ECONNREFUSED (once) when the connection
// failed.
func (c *Conn) Read(b []byte) (int, error) {
	if c.rcvBuf.n > 0 && !c.rdShut {
		if len(b) == 0 {
			return 0, nil
		}
		// The urgent mark (urgent.go): a read stops before the urgent
		// byte, and one that starts at it skips it unless inline.
		skip, most := c.urgLimit(len(b))
		if skip > 0 {
			c.rcvBuf.consume(skip)
			c.bytesRead += uint64(skip)
		}
		n := 0
		if c.rcvBuf.n > 0 {
			n = c.rcvBuf.read(b[:most])
		}
		if c.rcvBuf.n == 0 && c.nooo == 0 {
			c.rcvBuf.release(c.p)
		}
		c.bytesRead += uint64(n)
		c.rcvConsumed()
		c.urgPassed()
		c.rcvSpaceAdjust()
		c.maybeWindowUpdate()
		c.series()
		if n > 0 {
			return n, nil
		}
		// Only the urgent byte was there: as if none had been.
	}
	if c.finRcvd {
		// The peer's FIN ends the stream before any error that came
		// after it (a RST in CLOSE_WAIT): Linux's tcp_recvmsg returns 0
		// on SOCK_DONE, which tcp_fin set, before it looks at sk_err.
		return 0, io.EOF
	}
	if c.err != nil {
		err := c.err
		c.err = nil
		return 0, err
	}
	if c.dead || c.rdShut || c.rdShutUser {
		return 0, io.EOF
	}
	return 0, syscall.EAGAIN
}

// ReadMore is Read for a call that has read bytes already (MSG_WAITALL
// going on): an error stops it as it does Read, but stays for the next
// call, as Linux's tcp_recvmsg breaks on sk_err without taking it once
// it has copied something.
func (c *Conn) ReadMore(b []byte) (int, error) {
	if c.err != nil && !(c.rcvBuf.n > 0 && !c.rdShut) && !c.finRcvd {
		return 0, c.err
	}
	return c.Read(b)
}

// Peek copies received bytes into b without consuming them (MSG_PEEK);
// it returns what Read would, except that the bytes stay.
func (c *Conn) Peek(b []byte) (int, error) {
	if c.rcvBuf.n > 0 && !c.rdShut {
		skip, most := c.urgLimit(len(b))
		if avail := c.rcvBuf.n - skip; avail > 0 {
			x, y := c.rcvBuf.peek(skip, min(most, avail))
			k := copy(b, x)
			return k + copy(b[k:], y), nil
		}
	}
	if c.finRcvd {
		return 0, io.EOF // as Read
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.dead || c.rdShut || c.rdShutUser {
		return 0, io.EOF
	}
	return 0, syscall.EAGAIN
}

// MoreToRead reports whether more bytes may still come to read: no FIN
// from the peer, no error, the receiving side not shut.
func (c *Conn) MoreToRead() bool {
	return !c.finRcvd && c.err == nil && !c.dead && !c.rdShut && !c.rdShutUser
}

// Synchronized reports whether the handshake ever completed: a
// connection that failed before it (refused, timed out) did not, and its
// socket may connect again.
func (c *Conn) Synchronized() bool { return c.synced }

// Inq returns SIOCINQ's answer, Linux's tcp_inq: the bytes ready to
// Read, but only those before an urgent byte that is not inline.
func (c *Conn) Inq() int {
	if n, ok := c.urgInq(); ok {
		return n
	}
	return c.rcvBuf.n
}

// Buffered returns the number of bytes ready to Read.
func (c *Conn) Buffered() int { return c.rcvBuf.n }

// Write queues bytes from b for sending and returns how many it took; it
// may be fewer than len(b). It returns syscall.EAGAIN when the send
// buffer is full or the connection is not yet established, and EPIPE
// after CloseWrite or a reset (ECONNRESET once, first, after a reset).
func (c *Conn) Write(b []byte) (int, error) {
	if c.dead {
		if c.err != nil {
			err := c.err
			c.err = nil
			return 0, err
		}
		return 0, syscall.EPIPE
	}
	if c.wrShut {
		return 0, syscall.EPIPE
	}
	switch c.state {
	case SynSent, SynReceived:
		return 0, syscall.EAGAIN
	case Established, CloseWait:
	default:
		return 0, syscall.EPIPE
	}
	if len(b) == 0 {
		return 0, nil
	}
	if !c.notsentOK(false) {
		return 0, syscall.EAGAIN
	}
	wasEmpty := c.sndUna == c.sndMax && !c.hasUnsent()
	c.rateCheckAppLimited()
	var n int
	if c.linux() {
		n = c.writeSkbs(b)
	} else {
		start := c.sndBase.Add(seqnum.Size(c.sndBuf.n))
		n = c.sndBuf.write(c.p, c.sndBufSize, b)
		c.skbQueued(start, start.Add(seqnum.Size(n)))
	}
	if n == 0 {
		c.tiWrote(false, 0, len(b))
		return 0, syscall.EAGAIN
	}
	if c.oob {
		c.markUrgent() // tcp_push's tcp_mark_urg
	}
	if end := c.sndBase.Add(seqnum.Size(c.sndBuf.n)); !c.more {
		// Linux's tcp_push marks the end of a write for PSH unless the
		// write says more follows (MSG_MORE) and less than half the
		// peer's largest window went since the last mark (forced_push).
		c.pshEnd(end)
		if c.linux() {
			c.ls.markPushed(end)
		}
	} else if c.linux() && c.forcedPush(end) {
		c.ls.markForced(end)
	}
	c.tiWrote(wasEmpty, n, len(b))
	// MSG_MORE holds the partial tail at this write's push only, as
	// Linux's tcp_push with TCP_NAGLE_CORK: a later push, from an ACK or
	// a window update, follows the socket's Nagle setting and sends it.
	c.moreNow, c.writing = c.more, true
	if c.ls != nil && c.linux() {
		c.ls.pushOne = !c.sndMax.LessThan(c.sndBase.Add(seqnum.Size(c.sndBuf.n - n))) // nothing unsent before it
	}
	c.output(whySend)
	c.moreNow, c.writing = false, false
	if c.ls != nil {
		c.ls.pushOne = false
	}
	c.series()
	return n, nil
}

// CloseWrite shuts down the sending direction: a FIN follows the queued
// data (shutdown(SHUT_WR)).
func (c *Conn) CloseWrite() error {
	if c.dead {
		return syscall.ENOTCONN
	}
	if c.wrShut {
		return nil
	}
	switch c.state {
	case SynSent:
		return syscall.ENOTCONN
	case SynReceived:
		// The FIN goes out once the handshake completes (RFC 9293
		// §3.10.4); established() moves to FIN_WAIT_1.
	case Established:
		c.setState(FinWait1)
	case CloseWait:
		c.setState(LastAck)
	default:
		return nil
	}
	c.wrShut = true
	c.finQueued = true
	c.output(whyClose)
	return nil
}

// CloseRead shuts down the receiving direction (shutdown(SHUT_RD)). As
// in Linux, data already buffered or arriving later can still be read;
// once none is buffered, Read returns io.EOF instead of waiting.
func (c *Conn) CloseRead() error {
	if c.dead {
		return syscall.ENOTCONN
	}
	c.rdShutUser = true
	c.wake()
	return nil
}

func (c *Conn) discardRecv() {
	if c.rcvBuf.n > 0 {
		c.rcvBuf.consume(c.rcvBuf.n)
	}
	c.purgeRcvQueue()
	if c.nooo == 0 {
		c.rcvBuf.release(c.p)
	}
}

// purgeRcvQueue frees the memory the in-order data takes (rmem.go), as
// Linux's __tcp_close frees the receive queue's skbs before it sends
// the RST for unread data, whose window field offers the room freed.
func (c *Conn) purgeRcvQueue() {
	if rm := c.rm; rm != nil {
		for _, k := range rm.q[rm.qh:] {
			rm.alloc -= int(k.size)
		}
		rm.q, rm.qh = rm.q[:0], 0
	}
}

// Close closes the connection in an orderly way (FIN). Like Linux it
// sends a RST instead when unread data remains or linger is on with 0
// seconds. The connection stays in the Proto's table until it reaches
// CLOSED (after TIME_WAIT when it closed first).
func (c *Conn) Close() {
	if c.dead || c.orphan {
		c.orphan = true
		c.rcvBuf.release(c.p)
		return
	}
	c.orphan = true
	switch c.state {
	case SynSent:
		// Linux's __tcp_close: to CLOSE without tcp_done's AttemptFails,
		// and with a linger of 0 counted as TCPAbortOnData, as
		// tcp_disconnect's branch counts it in any state.
		if c.linger && c.lingerSec == 0 {
			c.p.counters.AbortOnData++
		}
		c.end(false)
		return
	}
	// A connection already in TIME_WAIT is a timewait socket of its own
	// in Linux, the descriptor's socket CLOSE: __tcp_close sends nothing
	// and counts nothing, unread data or a linger of 0 notwithstanding,
	// and the TIME_WAIT goes on.
	if c.state != TimeWait && ((c.rcvBuf.n > 0 && !c.rdShut) || (c.linger && c.lingerSec == 0)) {
		// Linux's __tcp_close counts the two apart: unread data as
		// TCPAbortOnClose, a linger of 0 as TCPAbortOnData.
		why := whyRSTAbort
		if c.rcvBuf.n > 0 {
			why = whyRSTUnread
			c.p.counters.AbortOnClose++
			c.purgeRcvQueue()
		} else {
			c.p.counters.AbortOnData++
		}
		c.reset(why)
		return
	}
	c.rdShut = true
	c.discardRecv()
	if !c.wrShut {
		c.CloseWrite()
	}
	if c.dead {
		return
	}
	if c.state == FinWait2 {
		if !c.twTake() {
			c.destroy() // as Linux's tcp_time_wait(FIN_WAIT2) finding no room
			return
		}
		c.ka.arm(c.finWait2Timeout())
		c.p.twPack(c)
		return
	}
	c.orphanTake()
	c.p.twPack(c)
}

// Abort resets the connection at once (RST).
func (c *Conn) Abort() {
	if c.dead {
		return
	}
	c.reset(whyRSTAbort)
}

// reset sends a RST (in states where the peer may hold state) and
// destroys the connection.
func (c *Conn) reset(why string) {
	switch c.state {
	case SynReceived, Established, FinWait1, FinWait2, CloseWait, Closing, LastAck:
		o := c.rstOptions()
		c.xmit(c.sndMax, c.rcvNxt, flagRST|flagACK, c.rstWindow(), &o, nil, nil, why)
		c.p.counters.OutRsts++
	}
	if c.state == Established || c.state == CloseWait {
		c.p.counters.EstabResets++
	}
	c.destroy()
}

// rstWindow is the window field of a RST the connection sends itself:
// Linux's tcp_send_active_reset goes through tcp_transmit_skb, which
// writes the window as on any segment (502 for a fresh connection, where
// a RST answering a segment with no socket carries 0); the rfc profile
// writes 0, the field meaning nothing on a RST.
func (c *Conn) rstWindow() uint16 {
	if !c.linux() {
		return 0
	}
	return c.rcvWindowField()
}

// rstOptions are the options of a RST the connection sends itself: in
// the linux profile those of any of its segments (tcp_transmit_skb's
// tcp_established_options: timestamps, and SACK blocks if any are due),
// none in the rfc profile.
func (c *Conn) rstOptions() options {
	if !c.linux() {
		return options{}
	}
	var o options
	c.dataOptions(&o)
	return o
}

// Poll returns the connection's readiness.
func (c *Conn) Poll() Events {
	var e Events
	if c.err != nil {
		e |= EventErr | EventIn
	}
	if c.dataReady() || c.finRcvd || c.dead || c.rdShut || c.rdShutUser {
		e |= EventIn
	}
	if c.urgPending() {
		e |= EventPri
	}
	switch {
	case c.dead || c.wrShut:
		e |= EventOut
	case c.state == Established || c.state == CloseWait:
		if c.writeable() {
			e |= EventOut
		}
	}
	if c.dead || ((c.finRcvd || c.rdShut || c.rdShutUser) && c.wrShut) {
		e |= EventHup
	}
	if c.finRcvd || c.dead || c.rdShut || c.rdShutUser {
		e |= EventRdHup
	}
	return e
}

// writeable reports whether a write may go on (EventOut). The linux
// profile asks what Linux's sk_stream_is_writeable does: that the bytes
// queued are below the send buffer, that the room left is at least half
// of them (sk_stream_min_wspace), and, with TCP_NOTSENT_LOWAT, that fewer
// than half the mark are unsent. So a writer that filled the buffer is
// woken, and poll reports it writable, once no more than two thirds of
// the buffer are queued, not at the first byte acknowledged; the rfc
// profile reports any room.
func (c *Conn) writeable() bool {
	if !c.notsentOK(true) {
		return false
	}
	if c.linux() {
		q := c.wmemQueued()
		return q < c.sndBufSize && c.sndBufSize-q >= q/2
	}
	return c.sndBuf.free(c.sndBufSize) > 0
}

// wmemQueued is what the send queue costs the send buffer, as Linux's
// sk_wmem_queued counts it in the linux profile: the bytes queued and,
// for each skb, its overhead (linuxSkbOverhead) — one skb per packet
// sent and not yet acknowledged whole (tso_fragment cuts the skb a
// packet leaves from) and one per unsent skb (tcp_sendmsg_locked's).
// With skbs of a few segments the overhead decides: SO_SNDBUF 2000 (a
// 4608-byte buffer) takes two skbs of 2000 bytes, not three
// (buffers/write-truesize.pkt). The rfc profile counts the bytes.
func (c *Conn) wmemQueued() int {
	n := c.sndBuf.n
	ls := c.ls
	if !c.linux() || ls == nil {
		return n
	}
	skbs := ls.skbs
	for i := len(ls.skbEnds) - 1; i >= 0 && c.sndMax.LessThan(ls.skbEnds[i]); i-- {
		skbs++
	}
	return n + skbs*linuxSkbOverhead
}

// Err returns and clears the pending socket error (SO_ERROR).
func (c *Conn) Err() error {
	err := c.err
	c.err = nil
	return err
}

// SetNotify sets the function called (lock held) whenever the
// connection's readiness may have changed.
func (c *Conn) SetNotify(f func()) { c.notify = f }

func (c *Conn) wake() {
	if c.notify != nil {
		c.notify()
	}
}

// State returns the connection's TCP state.
func (c *Conn) State() State {
	if c.packed != nil {
		return c.packedState()
	}
	return c.state
}

// SetReuseAddr records its socket's SO_REUSEADDR, which the connection
// keeps once the descriptor is gone (in TIME_WAIT), as Linux's
// timewait socket keeps the closed socket's sk_reuse.
func (c *Conn) SetReuseAddr(v bool) { c.reuseAddr = v }

// ReuseAddr reports the SO_REUSEADDR its socket had: a new socket may
// bind over this connection, left without a descriptor, only when both
// set it.
func (c *Conn) ReuseAddr() bool { return c.reuseAddr }

// Tuple returns the connection's addresses, local first.
func (c *Conn) Tuple() core.Tuple { return c.tuple }

// BytesReceived returns the payload bytes received in order so far.
func (c *Conn) BytesReceived() uint64 { return c.bytesReceived }

// Info returns a snapshot of the connection's internals.
func (c *Conn) Info() Info {
	in := Info{
		State:           c.state,
		SRTT:            c.srtt,
		RTTVar:          c.rttDev(),
		RTO:             c.rto,
		Cwnd:            c.cwnd(),
		Ssthresh:        c.cc.Ssthresh(),
		MSS:             c.mss,
		RcvMSS:          c.rcvMSS,
		SndWnd:          int(c.sndWnd),
		SndWScale:       -1,
		RcvWScale:       -1,
		SACK:            c.sackOK,
		Timestamps:      c.tsOK,
		Retransmits:     c.retrans,
		RTOs:            c.rtos,
		FastRetransmits: c.fastRetrans,
		BytesSent:       c.bytesSent,
		BytesAcked:      c.bytesAcked,
		BytesReceived:   c.bytesReceived,
		Unacked:         int(c.sndUna.Size(c.sndMax)),
		Congestion:      c.cc.Name(),
		Recovery:        c.recMode.String(),
		Linux:           c.linuxInfo(),
	}
	if w := c.rcvAdv - c.rcvNxt; int32(w) > 0 {
		in.RcvWnd = int(w)
	}
	if c.wsOK {
		in.SndWScale, in.RcvWScale = int(c.sndWScale), int(c.rcvWScale)
	}
	return in
}

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(on bool) {
	c.noDelay = on
	if on && !c.dead {
		// Linux's __tcp_sock_set_nodelay pushes what is queued even past
		// TCP_CORK or MSG_MORE (TCP_NAGLE_PUSH); later writes are held
		// again while the cork stays.
		c.corkFlush = c.state.synchronized()
		c.output(whySend)
		c.corkFlush = false
	}
}

// SetQuickAck turns delayed ACKs off (true) or on. Under the linux
// profile, turning them on also ends quick-ACK mode, as Linux's
// TCP_QUICKACK 0 does (inet_csk_enter_pingpong_mode): data is then
// acknowledged after the delayed-ACK timeout or with a reply.
func (c *Conn) SetQuickAck(on bool) {
	c.quickAck = on
	if c.linux() {
		c.pingpong = !on
	}
}

// SetKeepAlive configures keepalive probes (RFC 1122 §4.2.3.6); zero
// durations and count keep the current values.
func (c *Conn) SetKeepAlive(on bool, idle, intvl time.Duration, cnt int) {
	c.keepAlive = on
	if idle > 0 {
		c.keepIdle = idle
	}
	if intvl > 0 {
		c.keepIntvl = intvl
	}
	if cnt > 0 {
		c.keepCnt = cnt
	}
	if on && (c.state == Established || c.state == CloseWait) {
		c.ka.arm(c.keepIdle)
	}
}

// SetUserTimeout sets TCP_USER_TIMEOUT (RFC 5482), as Linux applies
// it: d is how long transmitted data may stay unacknowledged, counted
// from the send before the first retransmission, before the connection
// is aborted with ETIMEDOUT; it then replaces the retry counts
// ([Config.Retries], [Config.SynRetries]) for the retransmission timer.
// It also bounds how long zero-window probes go on while the window
// stays closed, even when the peer answers them, and how long keepalive
// probes go unanswered. Zero (the default) turns it off; a negative d
// is EINVAL.
func (c *Conn) SetUserTimeout(d time.Duration) error {
	if d < 0 {
		return syscall.EINVAL
	}
	c.userTimeout = d
	return nil
}

// UserTimeout returns the TCP_USER_TIMEOUT in effect (zero: off).
func (c *Conn) UserTimeout() time.Duration { return c.userTimeout }

// MSS returns the payload size of a full segment, as Linux's mss_cache
// (TCP_MAXSEG's getsockopt value): the send MSS less the timestamp option.
func (c *Conn) MSS() int { return c.sendMSS() }

// SetLinger sets SO_LINGER. With on and sec 0, Close sends a RST.
func (c *Conn) SetLinger(on bool, sec int) { c.linger, c.lingerSec = on, sec }

// SetCongestion selects the congestion controller by name ("newreno",
// "cubic"). Changing it resets the congestion state.
func (c *Conn) SetCongestion(name string) error {
	ctl, err := cc.NewConfig(name, c.p.ccConfig(name, c.sendMSS()))
	if err != nil {
		return syscall.ENOENT
	}
	c.cc = ctl
	c.inRecovery = false
	return nil
}

// SetSendBuffer sets the send buffer size in bytes. It cannot shrink
// below the bytes already queued.
func (c *Conn) SetSendBuffer(n int) {
	if n > 0 && c.sndBuf.buf == nil {
		c.sndBufSize = n
		c.sndAuto = false
	}
}

// SetRecvBuffer sets the receive buffer as SO_RCVBUF does, n bytes of
// memory (the doubled value): the linux profile offers half of it as
// window, as Linux does (tcp_full_space), the rfc profile all of it.
// The window scale is fixed at the handshake, so set it before
// connecting for windows above 64 KiB.
func (c *Conn) SetRecvBuffer(n int) {
	if n > 0 && c.rcvBuf.buf == nil {
		c.rcvAuto, c.rcvLocked = false, true
		space := c.p.rcvSpaceOf(n)
		if c.state <= SynSent {
			c.rcvBufSize = space
			c.initRcvWScale()
		}
		c.rcvBufSize = min(space, 65535<<c.rcvWScale)
	}
}

// SendBufferSize and RecvBufferSize return the buffer sizes in bytes.
func (c *Conn) SendBufferSize() int { return c.sndBufSize }

// RecvBufferSize returns the receive buffer size in bytes.
func (c *Conn) RecvBufferSize() int { return c.rcvBufSize }

// RecvLocked reports whether SO_RCVBUF set the receive buffer (Linux's
// SOCK_RCVBUF_LOCK): autotuning leaves it alone.
func (c *Conn) RecvLocked() bool { return c.rcvLocked }

// RecvBufferMemory returns the receive buffer as Linux's SO_RCVBUF reads
// it, memory, twice the window's space: tcp_rmem[1], 131072, for a new
// autotuned connection; the doubled value it asked for for a size the
// application set. The rfc profile's set size is all window, and reads
// as it was set.
func (c *Conn) RecvBufferMemory() int {
	if c.rcvAuto || c.rcvLocked && c.linux() {
		return 2 * c.rcvBufSize
	}
	return c.rcvBufSize
}

// setState moves to state s and reports the transition.
func (c *Conn) setState(s State) {
	old := c.state
	if old == s {
		return
	}
	wasEst := old == Established || old == CloseWait
	isEst := s == Established || s == CloseWait
	if wasEst && !isEst {
		c.p.counters.CurrEstab--
	} else if isEst && !wasEst {
		c.p.counters.CurrEstab++
	}
	c.state = s
	if c.p.net.Tracing() {
		c.p.net.Observe(&core.Event{Kind: core.EventState, FD: -1, Proto: "tcp", Conn: c.tuple,
			From: old.String(), To: s.String()})
	}
}

// fail ends the connection with err (no segment sent).
func (c *Conn) fail(err error) {
	c.err = err
	c.destroy()
}

// destroy moves the connection to CLOSED and removes it from the table,
// counting an attempt that failed, as Linux's tcp_done.
func (c *Conn) destroy() { c.end(true) }

// end is destroy; attempt says whether a connection in SYN_SENT or
// SYN_RECEIVED counts as an attempt that failed (not when its
// application closes it).
func (c *Conn) end(attempt bool) {
	if c.dead {
		return
	}
	if attempt && (c.state == SynSent || c.state == SynReceived) {
		c.p.counters.AttemptFails++
	}
	c.setState(Closed)
	c.dead = true
	c.deathRowLeave()
	if c.p.conns[c.tuple] == c {
		c.p.removeConn(c)
		c.p.gone++
	}
	if c.listener != nil && !c.listener.childGone(c) {
		c.listener = nil
	}
	c.rtx.stop()
	c.delack.stop()
	c.ka.stop()
	c.sndBuf.release(c.p)
	c.nooo = 0
	if c.rcvBuf.n == 0 || c.orphan {
		c.rcvBuf.release(c.p)
	}
	c.p.flushSpares()
	c.wake()
}

func (c *Conn) finWait2Timeout() time.Duration { return 2 * c.p.cfg.MSL }

// SendQueued returns the bytes written and not yet acknowledged: what
// ss shows as a connection's Send-Q.
func (c *Conn) SendQueued() int { return c.sndBuf.n }

// OutQ returns SIOCOUTQ's and SIOCOUTQNSD's answers, as Linux's
// tcp_ioctl: the bytes written and not yet acknowledged, and those not
// yet sent, from write_seq, which counts the FIN once it is queued; 0
// before the handshake completes. A send that returned has only put its
// bytes here: they are the peer's once unacked reaches 0.
func (c *Conn) OutQ() (unacked, notSent int) {
	if c.state == SynSent || c.state == SynReceived || c.state == Closed && !c.synced {
		return 0, 0
	}
	write := c.sndBase.Add(seqnum.Size(c.sndBuf.n))
	if c.finQueued {
		write++
	}
	return max(int(int32(write-c.sndUna)), 0), max(int(int32(write-c.sndMax)), 0)
}
