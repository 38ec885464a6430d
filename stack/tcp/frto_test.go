package tcp

import (
	"testing"
	"time"

	wirefmt "stacklab/stack/wire"
)

// TestFRTO: after a timeout, the first ACK that advances SND.UNA sends
// new data, not the segments marked lost (RFC 5682 §3.1 step 2b); an ACK
// that then delivers a segment sent before the timeout and never resent
// undoes the timeout as spurious (step 3b), counted in SpuriousRTOs and
// Undos; one that SACKs the new data instead ends F-RTO (step 3a), and
// the lost segments go. With NoFRTO the first ACK sends lost segments.
// (The wire is checked on Linux 6.18 by testdata/pkt/rto/frto-*.pkt.)
func TestFRTO(t *testing.T) {
	const mss = 1000
	start := func(t *testing.T, cfg Config) (*inj, *Conn, uint32) {
		// TSO deferral would hold the new data after the undo: the ACK
		// comes at the instant of the last send (tsodefer.go).
		cfg.NoTimestamps, cfg.NoTLP, cfg.NoTSODefer = true, true, true
		j := newInj(t, cfg)
		c, iss := j.handshake(options{HasMSS: true, MSS: mss, SACKPermitted: true})
		c.Write(make([]byte, 30*mss))
		for len(j.h.out) > 0 {
			j.next() // the initial window: ten segments
		}
		for i := 0; i < 300 && len(j.h.out) == 0; i++ {
			j.w.clk.advance(10 * time.Millisecond) // up to the RTO
		}
		if r := j.next(); uint32(r.seq) != iss+1 || len(r.payload) != mss {
			t.Fatalf("RTO sent %v, want the first segment", r)
		}
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1 + mss, flags: flagACK, wnd: 65535})
		return j, c, iss
	}
	t.Run("spurious", func(t *testing.T) {
		j, c, iss := start(t, Config{})
		if r := j.next(); uint32(r.seq) != iss+1+10*mss {
			t.Fatalf("after the RTO's ACK: %v, want new data at %d", r, iss+1+10*mss)
		}
		for len(j.h.out) > 0 {
			j.next()
		}
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1 + 3*mss, flags: flagACK, wnd: 65535})
		got := j.h.p.Counters()
		if got.SpuriousRTOs != 1 || got.Undos != 1 || c.ls.lost != 0 || c.inLoss {
			t.Fatalf("SpuriousRTOs %d, Undos %d, lost %d, in loss %v; want 1, 1, 0, false", got.SpuriousRTOs, got.Undos, c.ls.lost, c.inLoss)
		}
		if r := j.next(); uint32(r.seq) < iss+1+10*mss {
			t.Errorf("after the undo: %v, want new data", r)
		}
	})
	t.Run("real", func(t *testing.T) {
		j, c, iss := start(t, Config{})
		n := j.next()
		for len(j.h.out) > 0 {
			j.next()
		}
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1 + mss, flags: flagACK, wnd: 65535, opts: options{NSACK: 1,
			SACK: [wirefmt.TCPMaxSACKBlocks]wirefmt.SACKBlock{{Left: uint32(n.seq), Right: uint32(n.seq) + mss}}}})
		if r := j.next(); uint32(r.seq) != iss+1+mss {
			t.Fatalf("after the SACK of new data: %v, want the lost %d again", r, iss+1+mss)
		}
		if got := j.h.p.Counters(); got.SpuriousRTOs != 0 || !c.inLoss {
			t.Fatalf("SpuriousRTOs %d, in loss %v; want 0, true", got.SpuriousRTOs, c.inLoss)
		}
	})
	t.Run("off", func(t *testing.T) {
		j, _, iss := start(t, Config{NoFRTO: true})
		if r := j.next(); uint32(r.seq) != iss+1+mss {
			t.Fatalf("after the RTO's ACK without F-RTO: %v, want the lost %d", r, iss+1+mss)
		}
	})
}
