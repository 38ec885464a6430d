package tcp

import (
	"fmt"

	"stacklab/stack/tcp/seqnum"
)

// F-RTO (RFC 5682 §3.1, the SACK-enhanced version), as Linux's
// tcp_enter_loss and tcp_process_loss run it (net.ipv4.tcp_frto=2, the
// default): the linux profile with RACK recovery.
//
// A retransmission timeout marks everything in flight lost and resends
// the first segment. When the next ACK advances SND.UNA without ending
// the episode, the sender does not resend the rest yet: it sends new data
// (step 2b). If an ACK then delivers a segment that was sent before the
// timeout and never resent, not everything was lost: the timeout was
// spurious (a delay, or lost ACKs), and its window reduction is undone
// (step 3b; TCPSpuriousRTOs). If it SACKs the new data or is a duplicate
// ACK instead, the loss was real (step 3a) and the lost segments go again
// as after any timeout. Without F-RTO those segments would all be resent
// at once, twice over when the timeout was spurious.
//
// Checked on Linux 6.18 by testdata/pkt/rto/frto-spurious.pkt and
// frto-real-loss.pkt.

// frtoAllowed reports whether a timeout may start F-RTO: Linux's
// tcp_frto sysctl is on by default, and its sender recovers with RACK.
func (c *Conn) frtoAllowed() bool {
	return c.linux() && c.rackOn() && c.sackOK && !c.p.cfg.NoFRTO
}

// frtoOnAck is tcp_process_loss's F-RTO part, on an ACK s acknowledging
// up to ack during an RTO's loss episode, after its segments were marked
// delivered and before SND.UNA moves (newAck) and the window grows:
// newSACKed says it SACKed new data, dup that it is a duplicate ACK.
// Linux's timestamp test comes first: an ACK that advances SND.UNA and
// echoes the original transmission is left to it (Eifel, newAck).
func (c *Conn) frtoOnAck(s *segment, ack seqnum.Value, newSACKed, dup bool) {
	ls := c.ls
	if !c.inLossEpisode() {
		ls.frto, ls.frtoNew = false, false
		return
	}
	advanced := c.sndUna.LessThan(ack)
	if advanced && ls.undoOn && ls.episode == "rto" && ls.retransTSSet && c.packetDelayed(s) {
		return
	}
	recovered := !ack.LessThan(c.lossHigh)
	switch {
	case ls.origAcked:
		// Step 3b: a segment sent before the timeout, never resent, was
		// delivered: not all was lost.
		c.frtoUndo()
	case c.lossHigh.LessThan(c.sndMax):
		// New data went out at step 2b. SACKed instead, or a duplicate
		// ACK: the loss was real (step 3a).
		if newSACKed || dup {
			ls.frto = false
			if c.p.net.Tracing() {
				c.lossEvent("frto", "F-RTO: the ACK after new data reports a hole → the timeout was real (RFC 5682 §3.1 step 3a): resend the lost segments")
			}
		}
	case advanced && !recovered:
		// Step 2b: new data instead of the next lost segments, if any
		// may go (rackSend); else the conventional recovery.
		c.lossHigh = c.sndMax
		if c.hasUnsent() && int(c.sndWnd)-int(ack.Size(c.sndNxt)) > 0 {
			ls.frtoNew = true
			return
		}
		ls.frto = false
	}
}

// frtoSend sends new data for step 2b while the window allows, before
// rackSend's lost segments; when none could go, F-RTO ends and the lost
// segments go as usual (Linux's tcp_xmit_recovery with REXMIT_NEW). It
// reports whether new data went.
func (c *Conn) frtoSend(why string) bool {
	ls := c.ls
	ls.frtoNew = false
	before := c.sndMax
	for i := 0; i < 1024 && c.pipe() < c.cwnd(); i++ {
		if !c.sendSegment(why, false) {
			break
		}
	}
	if !before.LessThan(c.sndMax) {
		ls.frto = false
		return false
	}
	if c.p.net.Tracing() {
		c.lossEvent("frto", fmt.Sprintf("F-RTO: SND.UNA advanced after the timeout → new data (%d bytes) instead of the lost segments, to tell a spurious timeout from a real one (RFC 5682 §3.1 step 2b)",
			before.Size(c.sndMax)))
	}
	// The segments deemed lost wait for the next ACK's verdict; until
	// then only new data goes (rackSend), as Linux resends lost
	// segments only from an ACK or a timer.
	ls.frtoWait = true
	return true
}

// frtoUndo ends the episode as spurious: the lost marks are cleared and
// the window from before the timeout restored (tcp_try_undo_loss with
// frto_undo: TCPLossUndo and TCPSpuriousRTOs).
func (c *Conn) frtoUndo() {
	ls := c.ls
	ls.frto, ls.frtoNew, ls.frtoWait = false, false, false
	ls.unmarkLost()
	c.p.counters.SpuriousRTOs++
	c.backoff = 0
	c.undo("F-RTO: an ACK delivers a segment sent before the timeout and never resent → the timeout was spurious (RFC 5682 §3.1 step 3b)")
}
