package tcp

import (
	"net/netip"

	"stacklab/stack/tcp/seqnum"
)

// Per-socket options that shape what the connection sends: the IP
// header's TTL and TOS, TCP_CORK and MSG_MORE, TCP_NOTSENT_LOWAT.

// IPNet is an optional [Net] method: Output with the IP header's TTL
// (0: the stack's default) and TOS byte (ECN bits included).
type IPNet interface {
	OutputIP(local, remote netip.Addr, seg []byte, why string, ttl, tos uint8)
}

// xmit sends one segment of the connection with its IP header options.
func (c *Conn) xmit(seq, ack seqnum.Value, flags uint8, wnd uint16, o *options, d1, d2 []byte, why string) {
	c.p.ipTTL, c.p.ipTOS = c.ipTTL, c.ipTOS
	c.p.send(c.tuple, seq, ack, flags, wnd, o, d1, d2, why)
	c.p.ipTTL, c.p.ipTOS = 0, 0
}

// SetIPHeader sets the TTL (0: the stack's) and TOS byte of the
// connection's segments from now on (IP_TTL, IP_TOS).
func (c *Conn) SetIPHeader(ttl, tos uint8) { c.ipTTL, c.ipTOS = ttl, tos }

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
// (send's MSG_MORE): its partial last segment waits for the next
// write that does not set it, like TCP_CORK for one call.
func (c *Conn) SetMore(on bool) { c.more = on }

// holdPartial reports whether TCP_CORK or MSG_MORE holds back a
// partial segment; with nothing in flight it arms the timer that sends
// it after an RTO anyway, as Linux's probe timer does.
func (c *Conn) holdPartial(inflight int) bool {
	if !(c.corked || c.more) || c.corkFlush {
		return false
	}
	if inflight == 0 && !c.rtx.armed {
		c.armPersist()
	}
	return true
}

// SetNotSentLowat sets TCP_NOTSENT_LOWAT (0: no limit).
func (c *Conn) SetNotSentLowat(v uint32) {
	c.notsentLowat = v
	c.wake()
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
	if c.notsentLowat == 0 {
		return true
	}
	n := uint64(c.notSent())
	if poll {
		n <<= 1
	}
	return n < uint64(c.notsentLowat)
}

// InqHint returns TCP_CM_INQ's value: the bytes ready to read, or 1
// when none are but the peer's FIN has arrived (Linux's tcp_inq_hint).
func (c *Conn) InqHint() int {
	if c.rcvBuf.n == 0 && c.finRcvd {
		return 1
	}
	return c.rcvBuf.n
}
