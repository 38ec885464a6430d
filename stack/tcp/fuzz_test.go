package tcp

import (
	"testing"
	"time"
)

// FuzzInput feeds arbitrary segments (checksum fixed up or not) to a
// Proto that has a listener and an established connection: it must never
// panic, and the connection's invariants must hold afterwards.
func FuzzInput(f *testing.F) {
	f.Add(build(segSpec{src: ap("10.0.0.1:40000"), dst: ap("10.0.0.2:80"), seq: 5, flags: flagSYN, opts: options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTS: true, HasWScale: true, WScale: 7}}), true)
	f.Add(build(segSpec{src: ap("10.0.0.1:40000"), dst: ap("10.0.0.2:80"), seq: peerISN + 1, ack: 1, flags: flagACK | flagPSH, payload: []byte("hello")}), true)
	f.Add(build(segSpec{src: ap("10.0.0.1:40000"), dst: ap("10.0.0.2:80"), seq: peerISN + 1, flags: flagRST}), true)
	f.Add(build(segSpec{src: ap("10.0.0.1:40000"), dst: ap("10.0.0.2:80"), seq: peerISN + 1, flags: flagACK | flagFIN, rawOptions: []byte{5, 10, 0, 0, 0, 1, 0, 0, 0, 2}}), true)
	f.Add([]byte{0, 80, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0, 0, 0, 0, 0, 0, 0}, false)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		j := newInj(t, Config{})
		j.h.tracing = true
		c, iss := j.handshake(options{SACKPermitted: true, HasTS: true, TSVal: 1})
		_ = iss
		if fix && len(b) >= headerLen {
			b = append([]byte(nil), b...)
			b[0], b[1], b[2], b[3] = 0x9c, 0x40, 0, 80 // 40000 → 80
			b[16], b[17] = 0, 0
			ck := checksumFix(j.peer.Addr(), j.me.Addr(), b)
			b[16], b[17] = byte(ck>>8), byte(ck)
		}
		j.h.p.Input(j.peer.Addr(), j.me.Addr(), b, 1)
		j.w.clk.advance(time.Minute)
		if !c.dead {
			if c.sndUna.LessThan(c.iss) || c.sndMax.LessThan(c.sndUna) || c.rcvBuf.n > c.rcvBufSize {
				t.Fatalf("broken invariants: %+v", c.Info())
			}
		}
		c.Write([]byte("x"))
		c.Read(make([]byte, 10))
		c.Close()
		j.w.clk.advance(10 * time.Minute)
	})
}

// FuzzParseSegment checks the parser against arbitrary bytes.
func FuzzParseSegment(f *testing.F) {
	f.Add(build(segSpec{src: ap("1.1.1.1:1"), dst: ap("2.2.2.2:2"), flags: flagSYN, opts: options{HasMSS: true, MSS: 1460, HasTS: true}}))
	f.Add([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x60, 2, 0, 0, 0, 0, 0, 0, 2, 4, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s segment
		if parseSegment(b, &s) {
			if len(s.payload) > len(b)-headerLen || s.opts.NSACK > maxSACKIn {
				t.Fatalf("bad parse %+v", s)
			}
		}
	})
}
