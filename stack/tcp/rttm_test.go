package tcp

import (
	"testing"
)

// TestSimultaneousOpenTSRecent checks that the SYN-ACK that completes a
// simultaneous open updates TS.Recent (RFC 7323 §4.3): the next segment
// echoes its TSval, not the one of the peer's SYN.
func TestSimultaneousOpenTSRecent(t *testing.T) {
	j := newInj(t, Config{})
	c, err := j.h.p.Connect(j.me, j.peer, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss := uint32(j.next().seq)
	j.send(segSpec{seq: 7000, flags: flagSYN, wnd: 1000,
		opts: options{HasMSS: true, MSS: 1000, HasTS: true, TSVal: 100}})
	if sa := j.expect(flagSYN|flagACK, iss, 7001); sa.opts.TSEcr != 100 {
		t.Fatalf("SYN-ACK echoes %d, want 100", sa.opts.TSEcr)
	}
	j.send(segSpec{seq: 7000, ack: iss + 1, flags: flagSYN | flagACK, wnd: 1000,
		opts: options{HasMSS: true, MSS: 1000, HasTS: true, TSVal: 150, TSEcr: 1}})
	if c.State() != Established {
		t.Fatal(c.State())
	}
	j.h.out = nil
	c.Write([]byte("x"))
	if s := j.expect(flagACK|flagPSH, iss+1, 7001); s.opts.TSEcr != 150 {
		t.Fatalf("first data segment echoes %d, want 150 (the SYN-ACK's TSval)", s.opts.TSEcr)
	}
	// A segment with a TSval older than the SYN-ACK's fails PAWS.
	j.send(segSpec{seq: 7001, ack: iss + 2, flags: flagACK, wnd: 1000,
		opts: options{HasTS: true, TSVal: 120}, payload: []byte("y")})
	if a := j.next(); a.why != whyPAWS {
		t.Fatalf("old TSval answered with %v", a)
	}
}
