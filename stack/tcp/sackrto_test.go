package tcp

import (
	"bytes"
	"testing"
	"time"

	"stacklab/stack/tcp/seqnum"
)

// dropTwice drops the n-th (1-based) data segments the named host sends
// and the first retransmission of each.
func dropTwice(name string, n ...int) func(h *host, seg []byte, why string) verdict {
	count := 0
	drops := map[seqnum.Value]int{}
	return func(h *host, seg []byte, why string) verdict {
		var s segment
		parseSegment(seg, &s)
		if h.name != name || len(s.payload) == 0 {
			return verdict{}
		}
		count++
		for _, x := range n {
			if x == count {
				drops[s.seq] = 0
			}
		}
		if d, ok := drops[s.seq]; ok && d < 2 {
			drops[s.seq] = d + 1
			return verdict{drop: true}
		}
		return verdict{}
	}
}

// TestSACKKeptAcrossRTO loses four segments of one window and their
// retransmissions, so that the retransmission timer fires while the
// receiver holds, and has SACKed, everything sent around the holes. The sender keeps its SACK
// scoreboard across the timeout (RFC 6675 §5.1, as Linux does) and
// resends only the hole, not the window of data already SACKed.
func TestSACKKeptAcrossRTO(t *testing.T) {
	w, cl, sv := pair(Config{Recovery: "sack"})
	c, s, _ := dial(t, w, cl, sv, nil)
	w.filter = dropTwice("client", 30, 40, 50, 60)
	msg := pattern(400_000, 9)
	a := &pumpEnd{c: c, out: msg}
	b := &pumpEnd{c: s}
	pump(t, w, a, b, true, time.Minute)
	if !bytes.Equal(b.in.Bytes(), msg) {
		t.Fatalf("got %d bytes", b.in.Len())
	}
	in := c.Info()
	if in.FastRetransmits != 1 || in.RTOs != 1 {
		t.Fatalf("want one fast retransmit and one RTO: %+v", in)
	}
	// Each hole twice (the lost retransmission, then after the RTO);
	// nothing that was SACKed.
	t.Logf("%d retransmissions", in.Retransmits)
	if in.Retransmits > 8 {
		t.Fatalf("%d segments retransmitted for four holes: %+v", in.Retransmits, in)
	}
}

// TestManyHoles loses every other segment of a long stretch of one
// flight: 60 holes, more than a small out-of-order table or scoreboard
// holds. The receiver keeps every out-of-order segment (as Linux does,
// within its buffer) and the sender remembers every SACKed range, so
// each lost segment is resent once and nothing that arrived is resent.
// The receive buffer is fixed at 256 KiB so that the whole stretch is
// one flight sent before the first retransmission: the drops count
// segments, and an autotuned window would let later drops fall on
// retransmissions.
func TestManyHoles(t *testing.T) {
	w, cl, sv := pair(Config{RecvBuffer: 256 << 10})
	c, s, _ := dial(t, w, cl, sv, nil)
	var drop []int
	for i := 0; i < 60; i++ {
		drop = append(drop, 60+2*i)
	}
	w.filter = dropNth("client", drop...)
	msg := pattern(1_000_000, 4)
	a := &pumpEnd{c: c, out: msg}
	b := &pumpEnd{c: s}
	pump(t, w, a, b, true, time.Minute)
	if !bytes.Equal(b.in.Bytes(), msg) {
		t.Fatalf("got %d bytes", b.in.Len())
	}
	in, ctr := c.Info(), sv.p.Counters()
	if in.Retransmits != 60 || ctr.DropOFOQueueFull != 0 || ctr.DropOutOfWindow != 0 {
		t.Fatalf("%d retransmissions for 60 holes; receiver dropped %d out-of-order and %d duplicate segments; %+v",
			in.Retransmits, ctr.DropOFOQueueFull, ctr.DropOutOfWindow, in)
	}
}

// TestInjectSACKReneging checks that an ACK stopping at data the
// receiver SACKed earlier (it reneged, RFC 2018 §8) clears the sender's
// scoreboard, so that the data is retransmitted rather than skipped.
func TestInjectSACKReneging(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000, SACKPermitted: true})
	c.Write(make([]byte, 5000))
	for range 5 {
		j.next()
	}
	base := iss + 1
	sackOf := func(l, r uint32) options {
		o := options{NSACK: 1}
		o.SACK[0] = toWire(sackBlock{seqnum.Value(l), seqnum.Value(r)})
		return o
	}
	j.send(segSpec{seq: peerISN + 1, ack: base, flags: flagACK, wnd: 65535, opts: sackOf(base+2000, base+4000)})
	if c.sb == nil || len(c.sb.Blocks()) != 1 {
		t.Fatal("SACK block not recorded")
	}
	// The cumulative ACK reaches the SACKed range but not beyond.
	j.send(segSpec{seq: peerISN + 1, ack: base + 2000, flags: flagACK, wnd: 65535})
	if n := len(c.sb.Blocks()); n != 0 {
		t.Fatalf("%d SACKed ranges kept after the receiver reneged", n)
	}
}
