package tcp

import (
	"testing"
	"time"
)

// TestWindowUpdateOnlyWhenNeeded checks when a read sends a pure window
// update: not while the window offered is more than half the buffer
// (the next ACK of data carries the larger window, as Linux's
// tcp_cleanup_rbuf), but at once when it has fallen to half or less and
// the read at least doubles it; an ACK that also acknowledges new data
// is an ACK of data.
func TestWindowUpdateOnlyWhenNeeded(t *testing.T) {
	j := newInj(t, Config{Profile: ProfileRFC, NoTimestamps: true, NoWindowScale: true, RecvBuffer: 60_000})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
	buf := make([]byte, 60_000)
	seq := uint32(peerISN + 1)
	data := func() {
		j.send(segSpec{seq: seq, ack: iss + 1, flags: flagACK, wnd: 65535, payload: make([]byte, 1000)})
		seq += 1000
	}
	// Two segments: an ACK at once; the reader keeps up.
	data()
	data()
	if a := j.next(); a.why != whyAckOfData || uint32(a.ack) != seq || a.wnd != 58_000 {
		t.Fatalf("ACK of two segments: %v", a)
	}
	c.Read(buf)
	data()
	c.Read(buf)
	j.w.clk.advance(0)
	j.none() // 57,000 bytes of window left: no update for 3,000 more
	j.w.clk.advance(time.Second)
	if a := j.next(); a.why != whyDelayedAck || a.wnd != 60_000 {
		t.Fatalf("delayed ACK: %v", a)
	}
	// The reader stalls: 32 segments fill more than half the buffer.
	for i := 0; i < 32; i++ {
		data()
	}
	var last segView
	for len(j.h.out) > 0 {
		last = j.next()
	}
	if uint32(last.ack) != seq || last.wnd != 28_000 {
		t.Fatalf("last ACK %v", last)
	}
	// Reading it all doubles a window at half the buffer: announced.
	c.Read(buf)
	j.w.clk.advance(0)
	if a := j.next(); a.why != whyWindowUpdate || a.wnd != 60_000 {
		t.Fatalf("after the read: %v", a)
	}
	// Again, but a segment is still unacknowledged (its ACK delayed)
	// when the read opens the window: the ACK that goes out acknowledges
	// it, so it is an ACK of data, not a window update (as Wireshark
	// names only an ACK that changes nothing but the window one).
	for i := 0; i < 32; i++ {
		data()
	}
	for len(j.h.out) > 0 {
		j.next()
	}
	data()
	j.none()
	c.Read(buf)
	j.w.clk.advance(0)
	if a := j.next(); a.why != whyAckOfData || uint32(a.ack) != seq || a.wnd != 60_000 {
		t.Fatalf("ACK of a delayed segment after the read: %v", a)
	}
}
