package tcp

import (
	"slices"
	"testing"

	"stacklab/stack/tcp/seqnum"
)

// TestSkbQueued: the linux profile keeps the ends of the skbs Linux's
// tcp_sendmsg_locked would build, which TSO deferral reads: a write is
// cut into skbs of the size goal (half the peer's largest window in
// whole segments, here 32 of 1000 bytes), the first of which goes out as
// soon as it fills (tcp_push_one: the initial window, 10000 bytes) and
// is filled again from there, a later write first fills the unsent tail
// skb up to it, and a record's end (MSG_EOR) starts a new one. The wire of the deferral itself is checked on Linux 6.18 by
// testdata/pkt/tso/*.pkt.
func TestSkbQueued(t *testing.T) {
	j := newInj(t, Config{WmemDefault: 1 << 20})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
	at := func(n int) seqnum.Value { return seqnum.Value(iss + 1 + uint32(n)) }
	check := func(what string, want ...seqnum.Value) {
		t.Helper()
		if got := c.ls.skbEnds; !slices.Equal(got, want) {
			t.Fatalf("%s: skb ends %v, want %v", what, got, want)
		}
	}
	if n, err := c.Write(make([]byte, 100000)); n != 100000 || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	check("100000 bytes", at(42000), at(74000), at(100000))
	c.Write(make([]byte, 5000))
	check("5000 more", at(42000), at(74000), at(105000))
	c.MarkEOR()
	c.Write(make([]byte, 1000))
	check("after a record", at(42000), at(74000), at(105000), at(106000))
	c.Write(make([]byte, 1000))
	check("1000 more", at(42000), at(74000), at(105000), at(107000))
}

// TestForcedPush: a write marks a push wherever more than half the
// peer's largest window was written since the last mark, at the end of
// the skb that crosses it (Linux's forced_push in tcp_sendmsg_locked),
// and the segment there carries PSH when it leaves alone. A peer window
// of 1200: segments and skbs of 600, each sent as it fills
// (tcp_push_one); the second crosses 600 past the start, so 601:1201
// carries PSH and 1:601 does not, as the kernel's capture of
// testdata/pkt/zerowin/half-window-mss.pkt with CUBIC shows. Without
// the mark both go without, and packetdrill's merged line fails.
func TestForcedPush(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	l, err := j.h.p.Listen(j.me, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	j.send(segSpec{seq: peerISN, flags: flagSYN, wnd: 1200, opts: options{HasMSS: true, MSS: 1000, SACKPermitted: true}})
	iss := uint32(j.next().seq)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 1200})
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Write(make([]byte, 2000)); n != 2000 || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	for _, want := range []struct {
		seq uint32
		psh bool
	}{{0, false}, {600, true}} {
		s := j.next()
		if off := uint32(s.seq) - iss - 1; off != want.seq || len(s.payload) != 600 || s.has(flagPSH) != want.psh {
			t.Fatalf("segment at +%d, %d bytes, PSH %v; want +%d, 600, PSH %v", off, len(s.payload), s.has(flagPSH), want.seq, want.psh)
		}
	}
	j.none()
}
