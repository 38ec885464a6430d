package tcp

import (
	"slices"
	"testing"

	"stacklab/stack/tcp/seqnum"
)

// TestSkbQueued: the linux profile keeps the ends of the skbs Linux's
// tcp_sendmsg_locked would build, which TSO deferral reads: a write is
// cut into skbs of the size goal (half the peer's largest window in
// whole segments, here 32 of 1000 bytes), a later write first fills the
// unsent tail skb up to it, and a record's end (MSG_EOR) starts a new
// one. The wire of the deferral itself is checked on Linux 6.18 by
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
	check("100000 bytes", at(32000), at(64000), at(96000), at(100000))
	c.Write(make([]byte, 5000))
	check("5000 more", at(32000), at(64000), at(96000), at(105000))
	c.MarkEOR()
	c.Write(make([]byte, 1000))
	check("after a record", at(32000), at(64000), at(96000), at(105000), at(106000))
	c.Write(make([]byte, 1000))
	check("1000 more", at(32000), at(64000), at(96000), at(105000), at(107000))
}
