package tcp

import "testing"

// TestRcvMemAccounting follows the receive memory (rmem.go) through a
// hole and its fill: each segment's skb is charged at the TUN truesize
// (2304 bytes for 1460), a small segment after an out-of-order one is
// copied into its tailroom at no cost, the out-of-order skbs move to the
// receive queue when the hole fills, and a read of everything releases
// all of it.
func TestRcvMemAccounting(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasWScale: true, WScale: 7})
	seg := func(from, n uint32) {
		j.send(segSpec{seq: peerISN + 1 + from, ack: iss + 1, flags: flagACK, wnd: 1000, payload: make([]byte, n)})
		for len(j.h.out) > 0 {
			j.next()
		}
	}
	if size, tail := rxTruesize(40 + 1460); size != 2304 || tail != 164 {
		t.Fatalf("truesize of a 1460-byte segment %d, tailroom %d; want 2304, 164", size, tail)
	}
	seg(1460, 1460) // out of order
	seg(2920, 100)  // follows it, fits its tailroom
	if c.rcvAlloc() != 2304 || len(c.rm.ofo) != 1 {
		t.Fatalf("after an out-of-order segment and a small one after it: %d bytes charged, %d skbs; want 2304, 1", c.rcvAlloc(), len(c.rm.ofo))
	}
	seg(0, 1460) // fills the hole
	if c.rcvAlloc() != 2*2304 || len(c.rm.ofo) != 0 || len(c.rm.q)-c.rm.qh != 2 || c.Buffered() != 3020 {
		t.Fatalf("after the fill: %d bytes charged, %d out of order, %d queued skbs, %d bytes; want 4608, 0, 2, 3020",
			c.rcvAlloc(), len(c.rm.ofo), len(c.rm.q)-c.rm.qh, c.Buffered())
	}
	buf := make([]byte, 2000)
	if n, _ := c.Read(buf); n != 2000 || c.rcvAlloc() != 2304 {
		t.Fatalf("a read of %d bytes leaves %d charged; want the first skb's 2304 released", n, c.rcvAlloc())
	}
	if n, _ := c.Read(buf); n != 1020 || c.rcvAlloc() != 0 {
		t.Fatalf("reading the rest (%d bytes) leaves %d charged, want 0", n, c.rcvAlloc())
	}
}
