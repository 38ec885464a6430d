package tcp

import (
	"fmt"
	"syscall"

	"stacklab/stack/core"

	"stacklab/stack/tcp/seqnum"
)

// Urgent data (RFC 9293 §3.8.5, RFC 6093), as Linux has it: send with
// MSG_OOB makes the end of the data written the urgent point (SND.UP),
// and every segment sent before it carries URG and the urgent pointer,
// until the peer acknowledges it. Linux, as BSD (tcp_stdurg=0), points
// the pointer after the urgent byte: the byte is the last one written.
// A receiver takes that one byte out of the stream: read stops at it,
// recv with MSG_OOB returns it, and a read that starts at it skips it;
// with SO_OOBINLINE it stays in the stream, and read stops before it.
// SIOCATMARK says whether the next byte read is the mark, and poll says
// POLLPRI while the byte waits. Checked against Linux 6.18 with
// testdata/pkt/urgent/*.pkt.

// urgent is a connection's urgent-data state, allocated by the first
// urgent byte sent or pointed at, or by SO_OOBINLINE: few connections
// ever see one, and Conn stays small.
type urgent struct {
	// Sending: SND.UP, Linux's snd_up, while sending is set (a send
	// with MSG_OOB): the segments sent before it carry URG.
	sndUp   seqnum.Value
	sending bool
	// Receiving, Linux's urg_seq and urg_data: the urgent byte's
	// sequence number and what is known of it.
	seq   seqnum.Value
	state uint8 // urgNone, urgNotYet, urgValid, urgRead
	b     byte  // the byte, once urgValid
	// inline is SO_OOBINLINE: the byte stays in the stream.
	inline bool
}

// The receiving side's urgent states (Linux's TCP_URG_NOTYET, _VALID and
// _READ).
const (
	urgNone   = iota
	urgNotYet // the pointer came; the byte has not
	urgValid  // the byte is held, for recv with MSG_OOB
	urgRead   // recv with MSG_OOB took it
)

func (c *Conn) urgent() *urgent {
	if c.urg == nil {
		c.urg = new(urgent)
	}
	return c.urg
}

// SetUrgent says whether the next Write is sent with MSG_OOB: its last
// byte is urgent (Linux's tcp_mark_urg).
func (c *Conn) SetUrgent(on bool) { c.oob = on }

// markUrgent moves SND.UP to the end of the data queued.
func (c *Conn) markUrgent() {
	u := c.urgent()
	u.sndUp, u.sending = c.sndBase.Add(seqnum.Size(c.sndBuf.n)), true
}

// urgMode reports whether SND.UP is ahead of SND.UNA (Linux's
// tcp_urg_mode): segments go one by one, past Nagle, and those before
// SND.UP carry URG.
func (c *Conn) urgMode() bool {
	u := c.urg
	if u == nil || !u.sending {
		return false
	}
	if !c.sndUna.LessThan(u.sndUp) {
		u.sending = false // acknowledged: out of urgent mode
		return false
	}
	return true
}

// urgField sets the URG flag and urgent pointer of the segment about to
// be sent from seq, as Linux's __tcp_transmit_skb: SND.UP − seq when it
// is within reach of the field; 0xFFFF, the farthest it reaches, when
// the urgent point is further and the segment is near SND.NXT.
func (c *Conn) urgField(seq seqnum.Value) {
	if !c.urgMode() {
		return
	}
	up := c.urg.sndUp
	if !seq.LessThan(up) {
		return
	}
	if d := seq.Size(up); d < 0x10000 {
		c.p.urgPtr, c.p.urgOn = uint16(d), true
	} else if c.sndNxt.LessThan(seq.Add(0xFFFF)) {
		c.p.urgPtr, c.p.urgOn = 0xFFFF, true
	}
}

// copiedSeq is the sequence number of the next byte a read returns
// (Linux's copied_seq): before the unread bytes, and before the peer's
// FIN once RCV.NXT has taken it.
func (c *Conn) copiedSeq() seqnum.Value {
	n := seqnum.Size(c.rcvBuf.n)
	if c.finRcvd {
		n++
	}
	return c.rcvNxt.Add(-n)
}

// urgInput looks at an acceptable segment's urgent pointer before its
// data is queued, as Linux's tcp_urg: a new pointer, then the urgent
// byte if this segment brings it.
func (c *Conn) urgInput(s *segment) {
	if s.has(flagURG) {
		c.checkUrg(s)
	}
	u := c.urg
	if u == nil || u.state != urgNotYet {
		return
	}
	start := s.seq
	if s.has(flagSYN) {
		start++
	}
	if off := int64(int32(u.seq - start)); off >= 0 && off < int64(len(s.payload)) {
		u.b, u.state = s.payload[off], urgValid
		c.wake()
	}
}

// checkUrg takes a segment's urgent pointer, as Linux's tcp_check_urg
// with tcp_stdurg=0: it points after the urgent byte. An old pointer, one
// to data already received, or one no later than the pending one is
// ignored. A new one while the reader stands at the old, unread byte
// (not inline) skips that byte: it stays neither urgent nor data.
func (c *Conn) checkUrg(s *segment) {
	ptr := uint32(s.urg)
	if ptr != 0 {
		ptr--
	}
	seq := s.seq.Add(seqnum.Size(ptr))
	if seq.LessThan(c.rcvNxt) {
		return // read already, or received: not replayed
	}
	u := c.urg
	if u != nil && u.state != urgNone && !u.seq.LessThan(seq) {
		return
	}
	u = c.urgent()
	if copied := c.copiedSeq(); u.state != urgNone && u.seq == copied && !u.inline && copied != c.rcvNxt {
		c.rcvBuf.consume(1)
		c.bytesRead++
	}
	u.state, u.seq = urgNotYet, seq
	c.urgEvent(seq)
}

// urgEvent notes the urgent pointer in the trace (Linux sends SIGURG to
// the socket's owner; stacklab has no signals).
func (c *Conn) urgEvent(seq seqnum.Value) {
	if c.p.net.Tracing() {
		c.p.net.Observe(&core.Event{Kind: core.EventNote, FD: -1, Proto: "tcp", Conn: c.tuple, Name: "urgent",
			Detail: fmt.Sprintf("urgent pointer: byte %d of the stream is urgent (SIGURG to the socket's owner)", c.irs.Size(seq)-1)})
	}
}

// urgLimit applies the urgent mark to a read of up to max bytes from the
// next unread byte (tcp_recvmsg): a read that starts at the mark skips
// the urgent byte unless it is inline (skip 1); one that starts before
// it stops there. It returns the bytes to skip and the most to copy.
func (c *Conn) urgLimit(max int) (skip, n int) {
	u := c.urg
	if u == nil || u.state == urgNone {
		return 0, max
	}
	off := int64(int32(u.seq - c.copiedSeq()))
	switch {
	case off < 0 || off >= int64(c.rcvBuf.n):
		return 0, max
	case off == 0 && !u.inline:
		return 1, max
	case off > 0:
		return 0, min(max, int(off))
	}
	return 0, max
}

// urgPassed ends the urgent state once the reader is past the byte.
func (c *Conn) urgPassed() {
	if u := c.urg; u != nil && u.state != urgNone && u.seq.LessThan(c.copiedSeq()) {
		u.state = urgNone
	}
}

// atMarkBlocks reports whether the next unread byte is the urgent one,
// not inline: poll then needs one byte more to say POLLIN (tcp_poll).
func (c *Conn) atMarkBlocks() bool {
	u := c.urg
	return u != nil && u.state != urgNone && !u.inline && u.seq == c.copiedSeq()
}

// AtMark reports SIOCATMARK: whether the next byte read is the urgent
// mark.
func (c *Conn) AtMark() bool {
	u := c.urg
	return u != nil && u.state != urgNone && u.seq == c.copiedSeq()
}

// ReadOOB reads the urgent byte, as recv with MSG_OOB (Linux's
// tcp_recv_urg): EINVAL when there is none, it was read, or it is
// inline; EAGAIN while it has not arrived (never blocking); 0 at the end
// of the stream. peek leaves it to read again.
func (c *Conn) ReadOOB(b []byte, peek bool) (int, error) {
	u := c.urg
	if u == nil || u.inline || u.state == urgNone || u.state == urgRead {
		return 0, syscall.EINVAL
	}
	if c.dead && !c.finRcvd {
		return 0, syscall.ENOTCONN
	}
	if u.state == urgValid {
		if !peek {
			u.state = urgRead
		}
		if len(b) == 0 {
			return 0, nil
		}
		b[0] = u.b
		return 1, nil
	}
	if c.dead || c.finRcvd || c.rdShut || c.rdShutUser {
		return 0, nil
	}
	return 0, syscall.EAGAIN
}

// urgPending reports whether the urgent byte waits to be read with
// MSG_OOB: POLLPRI.
func (c *Conn) urgPending() bool { return c.urg != nil && c.urg.state == urgValid }

// urgInq is SIOCINQ's answer while an urgent byte, not inline, lies
// ahead in the stream: the bytes before it (Linux's tcp_inq); ok false
// otherwise.
func (c *Conn) urgInq() (n int, ok bool) {
	u := c.urg
	if u == nil || u.inline || u.state == urgNone {
		return 0, false
	}
	copied := c.copiedSeq()
	if u.seq.LessThan(copied) || !u.seq.LessThan(c.rcvNxt) {
		return 0, false
	}
	return int(copied.Size(u.seq)), true
}

// SetOOBInline sets SO_OOBINLINE: the urgent byte stays in the stream.
func (c *Conn) SetOOBInline(on bool) {
	if on {
		c.urgent().inline = true
	} else if c.urg != nil {
		c.urg.inline = false
	}
	c.wake()
}
