package tcp

import (
	"net/netip"
	"testing"
	"time"
)

// TestTimeWaitReuseTimestamps reconnects, from the same local port, to a
// server that still holds the previous connection in TIME_WAIT. The
// timestamp clock of an address pair runs on across connections (its
// offset is a keyed hash of the two addresses, as Linux does since 4.10),
// so the new SYN's TSval exceeds the old connection's and the server
// recycles TIME_WAIT at once (RFC 6191) instead of dropping the SYN by
// PAWS (RFC 7323 §5) and leaving the client to retransmit it after 1 s.
func TestTimeWaitReuseTimestamps(t *testing.T) {
	w, cl, sv := pair(Config{})
	l, err := sv.p.Listen(ap("0.0.0.0:80"), 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 16
	for i := range rounds {
		local := netip.AddrPortFrom(cl.addr, uint16(40000+i))
		var prev *Conn
		for round := range 2 {
			c, err := cl.p.Connect(local, ap("10.0.0.2:80"), nil)
			if err != nil {
				t.Fatalf("port %d round %d: %v", local.Port(), round, err)
			}
			w.clk.advance(100 * time.Millisecond)
			s, err := l.Accept()
			if err != nil || c.State() != Established {
				t.Fatalf("port %d round %d: client %v, accept %v (server DropPAWS %d)",
					local.Port(), round, c.State(), err, sv.p.Counters().DropPAWS)
			}
			if prev != nil && prev.State() != Closed {
				t.Fatalf("previous server end %v", prev.State())
			}
			// The server closes first and keeps TIME_WAIT.
			s.Close()
			w.clk.advance(100 * time.Millisecond)
			c.Close()
			w.clk.advance(100 * time.Millisecond)
			if s.State() != TimeWait || c.State() != Closed {
				t.Fatalf("server %v, client %v", s.State(), c.State())
			}
			prev = s
			w.clk.advance(time.Duration(i) * time.Millisecond)
		}
	}
	cs, ss := cl.p.Counters(), sv.p.Counters()
	if ss.DropPAWS != 0 || cs.RetransSegs != 0 || ss.TimeWaitRecycled != rounds {
		t.Fatalf("DropPAWS %d, client retransmissions %d, TIME_WAIT recycled %d of %d",
			ss.DropPAWS, cs.RetransSegs, ss.TimeWaitRecycled, rounds)
	}
}

// TestTimestampOffsetPerAddressPair checks that the timestamp offset
// depends on the address pair only: the same for every port, different
// for another peer, and fixed by the stack's seed.
func TestTimestampOffsetPerAddressPair(t *testing.T) {
	_, cl, _ := pair(Config{})
	c1, _ := cl.p.Connect(ap("10.0.0.1:1000"), ap("10.0.0.2:80"), nil)
	c2, _ := cl.p.Connect(ap("10.0.0.1:1001"), ap("10.0.0.2:443"), nil)
	c3, _ := cl.p.Connect(ap("10.0.0.1:1000"), ap("10.0.0.3:80"), nil)
	if c1.tsOffset != c2.tsOffset {
		t.Errorf("offsets differ for one address pair: %#x %#x", c1.tsOffset, c2.tsOffset)
	}
	if c1.tsOffset == c3.tsOffset {
		t.Errorf("same offset %#x for two peers", c1.tsOffset)
	}
	_, again, _ := pair(Config{})
	if c4, _ := again.p.Connect(ap("10.0.0.1:1000"), ap("10.0.0.2:80"), nil); c4.tsOffset != c1.tsOffset {
		t.Errorf("offset not deterministic: %#x vs %#x", c4.tsOffset, c1.tsOffset)
	}
}

// TestInjectTimeWaitReuseEqualTimestamp checks RFC 6191 §2's second
// rule: a SYN whose timestamp equals the last one seen in TIME_WAIT but
// whose sequence number is higher recycles the connection; an older
// timestamp does not.
func TestInjectTimeWaitReuseEqualTimestamp(t *testing.T) {
	for _, tc := range []struct {
		tsval uint32
		reuse bool
	}{{5001, true}, {5002, true}, {5000, false}} {
		j := newInj(t, Config{MSL: time.Second})
		c, iss := j.handshake(options{HasTS: true, TSVal: 5000})
		c.Close()
		j.next()
		j.send(segSpec{seq: peerISN + 1, ack: iss + 2, flags: flagFIN | flagACK, wnd: 1000,
			opts: options{HasTS: true, TSVal: 5001}})
		j.next()
		if c.State() != TimeWait {
			t.Fatal(c.State())
		}
		j.send(segSpec{seq: peerISN + 100000, flags: flagSYN, wnd: 1000,
			opts: options{HasTS: true, TSVal: tc.tsval}})
		s := j.next()
		if got := s.flags == flagSYN|flagACK; got != tc.reuse {
			t.Errorf("TSval %d: answered %v, want reuse %v", tc.tsval, s, tc.reuse)
		}
	}
}
