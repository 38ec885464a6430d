package tcp

// SACK-based loss recovery (RFC 6675) hooks. Until the scoreboard is
// wired in, recovery is NewReno for every connection.

// sackRecovery reports whether loss recovery uses the SACK scoreboard.
func (c *Conn) sackRecovery() bool { return false }

// sackUpdate records the SACK blocks of an ACK.
func (c *Conn) sackUpdate(s *segment) {}

// sackLost reports whether the scoreboard deems SND.UNA lost.
func (c *Conn) sackLost() bool { return false }

// sackEnter starts SACK recovery.
func (c *Conn) sackEnter(why string) {}

// sackRetransmit sends what RFC 6675 NextSeg allows.
func (c *Conn) sackRetransmit() {}

// sackReset forgets the scoreboard (after an RTO).
func (c *Conn) sackReset() {}
