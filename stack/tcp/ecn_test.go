package tcp

import (
	"testing"
	"time"
)

// TestECNNegotiation checks RFC 3168 §6.1.1's handshake under each
// setting: a passive stack (Linux's tcp_ecn=2, the default) agrees with
// ECE on its SYN-ACK when the SYN asks with ECE and CWR, an "off" stack
// does not, and an "on" stack asks.
func TestECNNegotiation(t *testing.T) {
	for _, tt := range []struct {
		ecn     string
		synAck  uint8 // ECN flags of the SYN-ACK to an ECN-setup SYN
		synSent uint8 // ECN flags of the stack's own SYN
	}{
		{"", flagECE, 0},
		{ECNPassive, flagECE, 0},
		{ECNOn, flagECE, flagECE | flagCWR},
		{ECNOff, 0, 0},
	} {
		j := newInj(t, Config{ECN: tt.ecn})
		if _, err := j.h.p.Listen(j.me, 4, nil); err != nil {
			t.Fatal(err)
		}
		j.send(segSpec{seq: peerISN, flags: flagSYN | flagECE | flagCWR, wnd: 65535, opts: options{HasMSS: true, MSS: 1000}})
		if f := j.next().flags & (flagECE | flagCWR); f != tt.synAck {
			t.Errorf("ecn %q: SYN-ACK ECN flags %#x, want %#x", tt.ecn, f, tt.synAck)
		}
		j2 := newInj(t, Config{ECN: tt.ecn})
		if f := j2.dutSYN().flags & (flagECE | flagCWR); f != tt.synSent {
			t.Errorf("ecn %q: SYN ECN flags %#x, want %#x", tt.ecn, f, tt.synSent)
		}
	}
}

// ecnPassive opens a connection with ECN from the injector to the DUT.
func ecnPassive(t *testing.T, j *inj) (*Conn, uint32) {
	l, _ := j.h.p.Listen(j.me, 4, nil)
	j.send(segSpec{seq: peerISN, flags: flagSYN | flagECE | flagCWR, wnd: 65535, opts: options{HasMSS: true, MSS: 1000}})
	iss := uint32(j.next().seq)
	j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535})
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c, iss
}

// TestECNReceiver: a CE mark on data is answered at once with ECE, and
// ECE stays on every ACK until a segment with CWR arrives (RFC 3168
// §6.1.3).
func TestECNReceiver(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	_, iss := ecnPassive(t, j)
	data := func(seq uint32, ecn uint8, flags uint8) {
		b := build(segSpec{src: j.peer, dst: j.me, seq: seq, ack: iss + 1, flags: flagACK | flags, wnd: 65535, payload: make([]byte, 1000)})
		j.h.p.InputECN(j.peer.Addr(), j.me.Addr(), b, 0, ecn)
	}
	data(peerISN+1, ECNECT0, 0)
	if a := j.next(); a.flags&flagECE != 0 {
		t.Fatalf("ACK of unmarked data has ECE: %v", a)
	}
	data(peerISN+1001, ECNCE, 0)
	if a := j.next(); a.flags&flagECE == 0 || a.ack != peerISN+2001 {
		t.Fatalf("CE not answered at once with ECE: %v", a)
	}
	for len(j.h.out) > 0 {
		j.next()
	}
	data(peerISN+2001, ECNECT0, 0)
	data(peerISN+3001, ECNECT0, 0)
	for len(j.h.out) > 0 {
		if a := j.next(); a.flags&flagECE == 0 {
			t.Fatalf("ECE dropped before CWR: %v", a)
		}
	}
	data(peerISN+4001, ECNECT0, flagCWR)
	data(peerISN+5001, ECNECT0, 0)
	j.w.clk.advance(time.Second)
	var last segView
	for len(j.h.out) > 0 {
		last = j.next()
	}
	if last.flags&flagECE != 0 || last.ack != peerISN+6001 {
		t.Fatalf("ECE after CWR: %v", last)
	}
	if n := j.h.p.Counters().InCEMarks; n != 1 {
		t.Fatalf("InCEMarks %d, want 1", n)
	}
}

// TestECNSender: ECE on an ACK reduces cwnd as the congestion
// controller does for a loss, once per window of data; the next new
// data segment carries CWR and nothing is retransmitted (RFC 3168
// §6.1.2).
func TestECNSender(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true, Congestion: "newreno"})
	c, iss := ecnPassive(t, j)
	c.Write(make([]byte, 20000))
	var segs []segView
	for len(j.h.out) > 0 {
		segs = append(segs, j.next())
	}
	if len(segs) != 10 {
		t.Fatalf("initial window: %d segments", len(segs))
	}
	ack := func(n uint32, flags uint8) {
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1 + n, flags: flagACK | flags, wnd: 65535})
	}
	ack(2000, flagECE)
	if cw, ss := c.cc.Cwnd(), c.cc.Ssthresh(); cw != 4000 || ss != 4000 {
		t.Fatalf("after ECE: cwnd %d ssthresh %d, want 4000 (half the 8 segments still in flight)", cw, ss)
	}
	var cwr int
	for len(j.h.out) > 0 {
		if s := j.next(); s.flags&flagCWR != 0 {
			cwr++
		}
	}
	ack(4000, flagECE) // the same window: no second reduction
	if cw := c.cc.Cwnd(); cw < 4000 {
		t.Fatalf("second ECE in the same window reduced cwnd to %d", cw)
	}
	for len(j.h.out) > 0 {
		if s := j.next(); s.flags&flagCWR != 0 {
			cwr++
		}
	}
	ack(8000, 0) // the window opens: new data, the first with CWR
	ack(10000, 0)
	for len(j.h.out) > 0 {
		if s := j.next(); s.flags&flagCWR != 0 {
			cwr++
		}
	}
	if cwr != 1 || c.Info().Retransmits != 0 || j.h.p.Counters().ECNReductions != 1 {
		t.Fatalf("%d segments with CWR (want 1), %d retransmissions, %d reductions", cwr, c.Info().Retransmits, j.h.p.Counters().ECNReductions)
	}
}
