package tcp

import (
	"net/netip"
	"syscall"
	"time"

	"stacklab/stack/tcp/seqnum"
)

// Per-socket options that shape what the connection sends: the IP
// header's TTL and TOS, TCP_CORK and MSG_MORE, TCP_NOTSENT_LOWAT.

// IPHeader is what a segment asks of its IPv4 header.
type IPHeader struct {
	TTL uint8 // 0: the stack's
	TOS uint8 // ECN bits included
	DF  bool  // Don't Fragment
	// ID is the identification of a segment with DF: its connection's
	// own counter, or 0 for what Linux sends from a request or timewait
	// socket or from none (a SYN-ACK, a RST or ACK made from the
	// segment it answers). A segment without DF takes the stack's.
	ID uint16
	// Flow is the IPv6 flow label (its low 20 bits): the connection's,
	// from its txhash as Linux's auto_flowlabels make it, or 0 for the
	// stack's own, a hash of the addresses and ports.
	Flow uint32
}

// IPNet is an optional [Net] method: Output with the IP header a
// segment asks for.
type IPNet interface {
	OutputIP(local, remote netip.Addr, seg []byte, why string, h IPHeader)
}

// xmit sends one segment of the connection with its IP header options.
func (c *Conn) xmit(seq, ack seqnum.Value, flags uint8, wnd uint16, o *options, d1, d2 []byte, why string) {
	c.ipHeader()
	c.urgField(seq)
	c.tiXmit(flags, len(d1)+len(d2))
	c.p.send(c.tuple, seq, ack, flags, wnd, o, d1, d2, why)
}

// ipNext is what the next segment asks of its IP header; its zero
// value (the stack's TTL, TOS 0, DF with identification 0, the stack's
// flow label) is a reply no connection makes, as a RST for no socket.
type ipNext struct {
	ttl, tos uint8
	noDF     bool
	id       uint16
	flow     uint32
}

// ipHeader sets the Proto's IP header for the connection's next segment:
// its IP_TTL and IP_TOS, the IPv6 flow label of its transmit hash, and
// DF with the identification Linux gives. What Linux answers from a
// request sock (SYN_RECEIVED: the SYN-ACK and its ACKs) or a timewait
// sock (Proto.twReply) goes through its TCP control socket, whose
// IP_PMTUDISC_DO "enforce[s] IP_DF and IPID==0" whatever the
// listener's or the connection's IP_MTU_DISCOVER. Otherwise a segment
// leaves without DF under IP_MTU_DISCOVER other than WANT and DO, and
// with DF numbered by the connection's own counter (inet_id), one a
// segment, from a value its ISN makes (Linux's is random). The ACK of
// the FIN that brings the connection into TIME_WAIT is the full
// socket's (tcp_fin sends it before tcp_time_wait), so it counts on.
func (c *Conn) ipHeader() {
	p := c.p
	if c.txhash == 0 {
		c.txhash = txHash(uint32(c.iss))
	}
	p.ipHdr = ipNext{ttl: c.ipTTL, tos: c.ipTOS, flow: c.txhash & 0xfffff}
	switch {
	case c.passive && c.state == SynReceived || p.twReply:
		return
	case c.ipNoDF:
		p.ipHdr.noDF = true
		return
	}
	if !c.ipIDSet {
		c.ipID, c.ipIDSet = uint16(c.iss>>16)^uint16(c.iss), true
	}
	p.ipHdr.id = c.ipID
	c.ipID++
}

// txHash mixes x into a connection's transmit hash, never 0 (Linux's
// sk_txhash, which is random: this one comes from the ISN, for
// determinism). Its low 20 bits are the connection's IPv6 flow label.
func txHash(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return max(x, 1)
}

// rethinkTxHash draws the connection a new transmit hash, and so a new
// flow label, as Linux's sk_rethink_txhash does at every retransmission
// timeout (tcp_write_timeout; net.core.txrehash=1): a path that lost the
// flow may not carry the new one (ECMP). tcpi_rehash counts them.
func (c *Conn) rethinkTxHash() {
	c.newTxHash()
	if !(c.passive && c.state == SynReceived) {
		c.rehash++ // a SYN-ACK's is the request sock's, which counts none
	}
}

// newTxHash draws the connection's next transmit hash.
func (c *Conn) newTxHash() {
	if c.txhash == 0 {
		c.txhash = txHash(uint32(c.iss))
	}
	c.txhash = txHash(c.txhash + 0x9e3779b9)
}

// saveFlow remembers the flow label of data received over IPv6 (Linux's
// tcp_save_lrcv_flowlabel, on data taken in order or out of order).
func (c *Conn) saveFlow(s *segment) {
	if s.v6 {
		c.lrcvFlow = s.flow
	}
}

// spuriousRetrans looks at the flow label of data received again, as
// Linux's tcp_rcv_spurious_retrans: a label not the last one received
// says the sender drew a new one, as it does at a retransmission
// timeout; its copy arrived, so it is our ACKs that are not reaching it,
// and unless our own timeouts are repathing us already (Loss), we draw a
// new transmit hash too (net.core.txrehash=1), and with it a new flow
// label for our ACKs. tcpi_rehash does not count these (Linux's
// TCPDuplicateDataRehash does: Counters.DupDataRehash). Checked on
// Linux 6.18 by testdata/pkt/rto/duplicate-data-rehash-v6.pkt.
func (c *Conn) spuriousRetrans(s *segment) {
	if !s.v6 {
		return
	}
	if !c.inLossEpisode() && s.flow != c.lrcvFlow {
		c.newTxHash()
		c.p.counters.DupDataRehash++
	}
	c.lrcvFlow = s.flow
}

// SetIPHeader sets the TTL (0: the stack's) and TOS byte of the
// connection's segments from now on (IP_TTL, IP_TOS), and whether they
// leave without Don't Fragment (IP_MTU_DISCOVER: SockOpts.NoDF).
func (c *Conn) SetIPHeader(ttl, tos uint8, noDF bool) { c.ipTTL, c.ipTOS, c.ipNoDF = ttl, tos, noDF }

// SetCork sets TCP_CORK. Removing the cork sends what it held, as
// Linux's tcp_push_pending_frames.
func (c *Conn) SetCork(on bool) {
	was := c.corked
	c.corked = on
	if was && !on && c.state.synchronized() {
		c.output(whySend)
	}
}

// SetMore says whether the next Write is followed by more data
// (send's MSG_MORE): that write's push holds its partial last segment,
// like TCP_CORK for one call. As Linux's, the hold lasts until the next
// push: a write without it, an ACK or a window update (with Nagle on,
// Nagle's rule applies then), or the cork's timer with nothing in
// flight.
func (c *Conn) SetMore(on bool) { c.more = on }

// holdPartial reports whether TCP_CORK or MSG_MORE holds back a
// partial segment; with nothing in flight it arms the timer that sends
// it after an RTO anyway, as Linux's probe timer does.
func (c *Conn) holdPartial(inflight int) bool {
	if !(c.corked || c.moreNow) || c.corkFlush {
		return false
	}
	if inflight == 0 && !c.rtx.armed {
		c.armPersist()
	}
	return true
}

// SetNotSentLowat sets TCP_NOTSENT_LOWAT (0: the stack's
// Config.NotSentLowat, as Linux's 0 takes tcp_notsent_lowat).
func (c *Conn) SetNotSentLowat(v uint32) {
	c.notsentLowat = v
	c.wake()
}

// SetRcvLowat sets SO_RCVLOWAT to v bytes, which the caller has clamped
// as Linux's tcp_set_rcvlowat does (at most half of tcp_rmem[2], or of
// SO_RCVBUF when that was set; 0 is 1). EventIn then waits for that
// many bytes, unless the buffer is nearly full or the window offered
// is down to a segment (dataReady), and so does a blocking read once it
// has copied what was there. Under the linux profile an autotuned
// receive buffer grows to hold v bytes, as Linux raises sk_rcvbuf to
// tcp_space_from_win(v) and window_clamp to v: the window may then
// grow to v, segment by segment as it always grows.
func (c *Conn) SetRcvLowat(v int) {
	c.rcvLowat = int32(v)
	if c.linux() && c.rcvAuto && v > c.rcvBufSize {
		if c.state <= SynSent {
			c.rcvBufSize = v // the window scale is not chosen yet
		} else {
			c.rcvBufSize = min(v, 65535<<c.rcvWScale)
		}
	}
	c.wake() // Linux's tcp_data_ready: a lower mark may make the data ready
}

// RcvLowat returns SO_RCVLOWAT, at least 1.
func (c *Conn) RcvLowat() int { return c.rcvTarget() }

// rcvTarget is the bytes a reader waits for, Linux's sk_rcvlowat.
func (c *Conn) rcvTarget() int { return max(int(c.rcvLowat), 1) }

// dataReady reports whether the bytes waiting make the socket readable,
// Linux's tcp_epollin_ready: as many as SO_RCVLOWAT asks, or the buffer
// nearly full (tcp_rmem_pressure: more than 7/8 of it), or the window
// offered down to a segment, when waiting for more would wait forever.
func (c *Conn) dataReady() bool {
	n := c.rcvBuf.n
	if n <= 0 || c.rdShut {
		return false
	}
	target := c.rcvTarget()
	if c.atMarkBlocks() {
		target++ // the urgent byte is not the reader's (tcp_poll)
	}
	if n >= target {
		return true
	}
	return n > c.rcvBufSize-c.rcvBufSize/8 || int32(c.rcvAdv-c.rcvNxt) <= int32(c.rcvSegMax)
}

// ReadReady reports whether a blocked read should look again (Linux
// wakes it through tcp_data_ready only then): the data is ready
// (dataReady), or the stream has ended or failed.
func (c *Conn) ReadReady() bool { return c.dataReady() || !c.MoreToRead() }

// ReadyMark counts the bytes received up to the last time the data was
// ready (dataReady): an edge-triggered epoll sees new data only when it
// changes, as Linux's reader is woken only then.
func (c *Conn) ReadyMark() uint64 {
	if c.rcvLowat <= 1 || c.ReadReady() {
		c.rxReady = c.BytesReceived()
	}
	return c.rxReady
}

// WriteWakes counts the times an ACK made the socket writeable again
// after a write had found its buffer full, when Linux's
// sk_stream_write_space wakes the writer: an edge-triggered epoll sees
// EPOLLOUT anew at each, as Linux's does, though POLLOUT was never seen
// cleared in between.
func (c *Conn) WriteWakes() uint32 {
	if c.ti.x == nil {
		return 0
	}
	return c.ti.x.spaceWakes
}

// lowat is the low-water mark in force, Linux's tcp_notsent_lowat(): the
// socket's own, else the stack's; 0 is none.
func (c *Conn) lowat() uint32 {
	if c.notsentLowat != 0 {
		return c.notsentLowat
	}
	return c.p.cfg.NotSentLowat
}

// notSent returns the bytes queued and never sent (tcpi_notsent_bytes).
func (c *Conn) notSent() int {
	off := int(c.sndBase.Size(c.sndMax))
	if off < 0 {
		off = 0
	}
	return max(c.sndBuf.n-off, 0)
}

// notsentOK applies TCP_NOTSENT_LOWAT: a write goes on while fewer than
// lowat bytes are unsent; poll reports writable below half of it, as
// Linux's tcp_stream_memory_free with wake set.
func (c *Conn) notsentOK(poll bool) bool {
	lowat := c.lowat()
	if lowat == 0 {
		return true
	}
	n := uint64(c.notSent())
	if poll {
		n <<= 1
	}
	return n < uint64(lowat)
}

// InqHint returns TCP_CM_INQ's value: the bytes ready to read, or 1
// when none are but the peer's FIN has arrived (Linux's tcp_inq_hint).
func (c *Conn) InqHint() int {
	if c.rcvBuf.n == 0 && c.finRcvd {
		return 1
	}
	return c.Inq()
}

// Close aborts every connection (ECONNABORTED, nothing sent) and
// closes every listener, stopping all their timers: the stack is being
// torn down.
func (p *Proto) Close() {
	for _, l := range p.listens {
		l.Close()
	}
	for _, c := range p.conns {
		c.fail(syscall.ECONNABORTED)
	}
	for _, c := range p.twAll() {
		c.fail(syscall.ECONNABORTED)
	}
	if p.twTimer != nil {
		p.twTimer.Stop()
		p.twArmed = false
	}
}

// pcount is the number of MSS-sized packets n bytes make, at least one
// (Linux's tcp_skb_pcount).
func (c *Conn) pcount(n int) int {
	mss := max(c.sendMSS(), 1)
	return max((n+mss-1)/mss, 1)
}

// ackReordering measures the reordering an ACK showed, once for what its
// cumulative part delivered and once for its SACK blocks, as Linux's
// tcp_clean_rtx_queue and tcp_sacktag_write_queue each call
// tcp_check_sack_reordering: the distance is from the lowest
// never-retransmitted segment delivered late to the highest delivered
// sequence once the ACK is taken in (for a cumulative ACK past every
// SACKed segment, the ACK itself: fastretx/reordering-grows-cwnd.pkt).
func (c *Conn) ackReordering() {
	ls := c.ls
	for k, set := range ls.reoLowSet {
		if set {
			c.noteReordering(ls.reoLow[k])
			ls.reoLowSet[k] = false
		}
	}
}

// noteReordering raises Linux's tp->reordering when start was delivered
// below the highest delivered sequence number, as tcp_check_sack_reordering.
func (c *Conn) noteReordering(start seqnum.Value) {
	ls := c.ls
	ls.reordCount++
	mss := max(c.sendMSS(), 1)
	metric := int(start.Size(ls.fack))
	if metric > ls.reorderingPkts()*mss {
		ls.reordering = min((metric+mss-1)/mss, linuxMaxReordering)
	}
}

// Linux's defaults of net.ipv4.tcp_reordering and tcp_max_reordering.
const (
	linuxReordering    = 3
	linuxMaxReordering = 300
)

func (ls *lossState) reorderingPkts() int {
	if ls.reordering == 0 {
		return linuxReordering
	}
	return ls.reordering
}

// linuxInfo computes the tcp_info fields of [LinuxInfo].
func (c *Conn) linuxInfo() LinuxInfo {
	li := LinuxInfo{
		Backoff:      uint8(min(c.backoff, 255)),
		Probes:       uint8(min(max(c.zwpOut, c.probes), 255)),
		SndMSS:       c.sendMSS(),
		Reordering:   linuxReordering,
		SndCwnd:      c.cwnd() / max(c.sendMSS(), 1),
		SndSsthresh:  0x7fffffff,
		RTT:          int(c.srtt / time.Microsecond),
		RTTVar:       int(c.rttDev() / time.Microsecond),
		RTO:          int(c.rto / time.Microsecond),
		NotsentBytes: c.notSent(),
		TotalRetrans: int(c.retrans),
		ECN:          c.ecn.ok,
	}
	if c.backoff > 0 && c.sndUna != c.sndMax {
		li.Retransmits = li.Backoff
	}
	if c.state == SynSent {
		// icsk_retransmits counts the SYN's linear timeouts, which the
		// backoff does not.
		li.Retransmits = uint8(min(c.rtos, 255))
	}
	if ss := c.cc.Ssthresh(); ss < 1<<30 {
		li.SndSsthresh = ss / max(c.sendMSS(), 1)
	}
	if c.srtt == 0 {
		li.RTTVar = 250000 // Linux's mdev_us before a sample: TCP_TIMEOUT_INIT/4
	}
	li.BytesAcked = c.bytesAcked
	if c.synced {
		li.Delivered = 1 // the SYN or SYN-ACK, as Linux counts it
		if !c.passive {
			li.BytesAcked++
		}
	}
	if c.state == SynSent || c.state == SynReceived {
		li.Unacked = 1 // the SYN in flight
	}
	if ls := c.ls; ls != nil {
		for _, r := range ls.txRecs() {
			n := c.pcount(r.len())
			li.Unacked += n
			switch {
			case r.flags&txSACKed != 0:
				li.Sacked += n
			case r.flags&(txLost|txWasLost) != 0:
				li.Lost += n
			}
			if r.flags&txRetrans != 0 {
				li.Retrans += n
			}
		}
		li.Reordering = ls.reorderingPkts()
		li.ReordSeen = ls.reordCount
		li.Delivered += ls.delivered
	}
	if !c.sackOK && c.dupAcks > 0 {
		li.Sacked = min(c.dupAcks, max(li.Unacked-1, 0)) // Linux's tcp_add_reno_sack
	}
	switch {
	case c.inLossEpisode():
		li.CAState = 4
	case c.inRecovery:
		li.CAState = 3
	case c.inCWR():
		li.CAState = 2
	case li.Sacked > 0 || li.Lost > 0 || li.Retrans > 0:
		li.CAState = 1
	}
	c.linuxInfoMore(&li)
	return li
}

// maxEORMarks bounds the record ends a connection keeps (MSG_EOR):
// while that many records wait unsent, a write with MSG_EOR waits as if
// the send buffer were full ([Conn.EORFull]).
const maxEORMarks = 1024

// EORFull reports whether a write with MSG_EOR must wait: maxEORMarks
// records are queued and not yet sent.
func (c *Conn) EORFull() bool {
	c.eorLimit(0)
	return len(c.eorEnds) >= maxEORMarks
}

// MarkEOR ends a record at the end of the data written so far (send's
// MSG_EOR): later data never shares a segment with it, as Linux's
// TCP_SKB_CB(skb)->eor keeps tcp_sendmsg from appending to that skb.
func (c *Conn) MarkEOR() {
	end := c.sndBase.Add(seqnum.Size(c.sndBuf.n))
	if !c.sndNxt.LessThan(end) {
		return // all sent: nothing can join it
	}
	if k := len(c.eorEnds); (k > 0 && c.eorEnds[k-1] == end) || k >= maxEORMarks {
		return // already marked; or full, which EORFull made the writer wait for
	}
	c.eorEnds = append(c.eorEnds, end)
}

// eorLimit cuts a new-data segment of n bytes from SND.NXT at the first
// record end after SND.NXT, dropping the ends already passed.
func (c *Conn) eorLimit(n int) int {
	for len(c.eorEnds) > 0 && !c.sndNxt.LessThan(c.eorEnds[0]) {
		c.eorEnds = c.eorEnds[1:]
	}
	if len(c.eorEnds) == 0 {
		c.eorEnds = nil
		return n
	}
	return min(n, int(c.sndNxt.Size(c.eorEnds[0])))
}

// DeferAcceptTimeouts converts TCP_DEFER_ACCEPT's seconds to the SYN-ACK
// timeouts that cover them, as Linux's secs_to_retrans does: the first
// after 1 s (TCP_TIMEOUT_INIT), each next twice the one before, at most
// 120 s (TCP_RTO_MAX); 0 or less is off.
func DeferAcceptTimeouts(seconds int) int {
	if seconds <= 0 {
		return 0
	}
	n, timeout, period := 1, 1, 1
	for seconds > period && n < 255 {
		n++
		timeout = min(timeout*2, 120)
		period += timeout
	}
	return n
}

// DeferAcceptSeconds converts timeouts back to the seconds they take, as
// Linux's retrans_to_secs does for getsockopt: 2 s asked reads 3.
func DeferAcceptSeconds(timeouts int) int {
	if timeouts <= 0 {
		return 0
	}
	timeout, period := 1, 1
	for range timeouts - 1 {
		timeout = min(timeout*2, 120)
		period += timeout
	}
	return period
}
