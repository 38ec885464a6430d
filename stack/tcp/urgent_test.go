package tcp

import (
	"syscall"
	"testing"
)

// TestUrgentPointerFar: a write with MSG_OOB of 70000 bytes puts the
// urgent point further than the 16-bit pointer reaches. As Linux's
// __tcp_transmit_skb, the segments sent before it carry URG with the
// farthest pointer, 0xFFFF, while the point is out of reach, then the
// exact distance; each packet is one segment (tcp_write_xmit's limit in
// urgent mode). The same under both profiles (RFC 9293 §3.8.5 points
// after the urgent data too, RFC 6093).
func TestUrgentPointerFar(t *testing.T) {
	for _, profile := range []string{ProfileLinux, ProfileRFC} {
		j := newInj(t, Config{Profile: profile, NoTimestamps: true, SendBuffer: 1 << 20})
		c, iss := j.handshake(options{HasMSS: true, MSS: 1000, HasWScale: true, WScale: 7})
		c.SetUrgent(true)
		n, err := c.Write(make([]byte, 70000))
		c.SetUrgent(false)
		if err != nil || n != 70000 {
			t.Fatalf("%s: write %d, %v", profile, n, err)
		}
		for k := 0; len(j.h.out) > 0; k++ {
			s := j.next()
			off := uint32(s.seq) - (iss + 1)
			want := uint16(0xFFFF)
			if d := 70000 - off; d < 0x10000 {
				want = uint16(d)
			}
			if !s.has(flagURG) || s.urg != want {
				t.Errorf("%s: segment %d at +%d: URG %v pointer %d, want URG pointer %d", profile, k, off, s.has(flagURG), s.urg, want)
			}
			if profile == ProfileLinux && s.has(flagPSH) {
				t.Errorf("%s: segment %d at +%d has PSH: in urgent mode a packet is one segment, and this write goes on", profile, k, off)
			}
		}
	}
}

// TestUrgentReceive: the urgent byte a pointer names leaves the stream
// (SO_OOBINLINE off): Read stops before it and skips it when it starts
// there, ReadOOB returns it once, AtMark and Inq see the mark.
func TestUrgentReceive(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK | flagPSH, wnd: 65535, payload: []byte("0123456789"), urg: 10})
	if !c.urgPending() || c.AtMark() || c.Inq() != 9 {
		t.Fatalf("after the segment: pending %v, at mark %v, inq %d; want true, false, 9", c.urgPending(), c.AtMark(), c.Inq())
	}
	b := make([]byte, 100)
	if n, _ := c.Read(b); string(b[:n]) != "012345678" {
		t.Fatalf("read %q, want \"012345678\"", b[:n])
	}
	if !c.AtMark() || c.Poll()&EventIn != 0 || c.Poll()&EventPri == 0 {
		t.Fatalf("at the mark, only the urgent byte left: AtMark %v, poll %v; want true, PRI without IN", c.AtMark(), c.Poll())
	}
	if n, err := c.ReadOOB(b, true); err != nil || n != 1 || b[0] != '9' {
		t.Fatalf("ReadOOB peek = %d %q, %v; want 1 \"9\"", n, b[:n], err)
	}
	if n, err := c.ReadOOB(b, false); err != nil || n != 1 || b[0] != '9' {
		t.Fatalf("ReadOOB = %d %q, %v; want 1 \"9\"", n, b[:n], err)
	}
	if _, err := c.ReadOOB(b, false); err != syscall.EINVAL {
		t.Fatalf("second ReadOOB: %v, want EINVAL", err)
	}
	if _, err := c.Read(b); err != syscall.EAGAIN {
		t.Fatalf("read with only the urgent byte: %v, want EAGAIN", err)
	}
	j.send(segSpec{seq: peerISN + 11, ack: iss + 1, flags: flagACK | flagPSH, wnd: 65535, payload: []byte("abc")})
	if n, _ := c.Read(b); string(b[:n]) != "abc" {
		t.Fatalf("read past the mark %q, want \"abc\"", b[:n])
	}
	if c.AtMark() || c.urg.state != urgNone {
		t.Fatalf("past the mark: AtMark %v, state %d", c.AtMark(), c.urg.state)
	}
}
