package tcp

// Whether the sender is cwnd-limited. RFC 9438 §5.8 and RFC 7661 §4.3:
// the congestion window must not grow while the sender does not use it,
// whether the receive window, the send buffer or the application holds
// it back; otherwise cwnd runs far past anything the path has shown it
// can carry. Like Linux (tcp_cwnd_validate, tcp_is_cwnd_limited), the
// answer is kept per window of data: the sender counts as cwnd-limited
// when, at some send since SND.UNA passed the start of the current
// window, cwnd left no room for another full segment; in slow start it
// may also grow while cwnd is below twice the most it had in flight.

// cwndFull reports whether cwnd leaves no room for a full segment.
func (c *Conn) cwndFull() bool {
	return c.cc.Cwnd()-int(c.sndUna.Size(c.sndNxt)) < c.sendMSS()
}

// cwndValidate records the sender's use of cwnd after a send, or after
// cwnd stopped a send.
func (c *Conn) cwndValidate() { c.validateCwnd(c.cwndFull()) }

// cwndHeld records that cwnd held new data back though it had room for
// a segment: Linux's TSO deferral waiting for more room (tsodefer.go).
func (c *Conn) cwndHeld() { c.validateCwnd(true) }

func (c *Conn) validateCwnd(full bool) {
	flight := int(c.sndUna.Size(c.sndNxt))
	if c.cwndUsageSeq.LessThanEq(c.sndUna) || full || flight > c.maxFlight {
		c.maxFlight = flight
		c.cwndUsageSeq = c.sndNxt
		c.cwndLimited = full
	}
}

// isCwndLimited reports whether an ACK may grow cwnd.
func (c *Conn) isCwndLimited() bool {
	if c.cwndLimited {
		return true
	}
	return c.cc.InSlowStart() && c.cc.Cwnd() < 2*c.maxFlight
}
