package tcp

import (
	"bytes"
	"testing"
)

// TestInjectOverlapFirstCopyWins: out-of-order segments that overlap
// data already held, with different bytes, do not replace it: the first
// copy wins, as in Linux (tcp_data_queue_ofo drops a segment whose
// bytes it holds and trims a partial overlap).
func TestInjectOverlapFirstCopyWins(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{SACKPermitted: true})
	base := uint32(peerISN + 1)
	fill := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	send := func(off uint32, data []byte) {
		j.send(segSpec{seq: base + off, ack: iss + 1, flags: flagACK, payload: data, wnd: 1000})
	}
	send(100, fill('A', 100)) // [100, 200)
	send(100, fill('B', 100)) // the same range again
	send(150, fill('C', 100)) // [150, 250): only [200, 250) is new
	send(300, fill('D', 50))  // [300, 350)
	send(260, fill('E', 100)) // [260, 360): [260, 300) and [350, 360) are new
	send(0, fill('F', 100))   // fills the first hole
	send(250, fill('G', 10))  // and the second
	got := make([]byte, 1000)
	n, err := c.Read(got)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Join([][]byte{fill('F', 100), fill('A', 100), fill('C', 50), fill('G', 10),
		fill('E', 40), fill('D', 50), fill('E', 10)}, nil)
	if !bytes.Equal(got[:n], want) {
		t.Fatalf("read %q\nwant %q", got[:n], want)
	}
}

// TestInjectICMPValidated: an ICMP error about a TCP connection counts
// only when the segment it quotes carries a sequence number the
// connection has sent and not had acknowledged (RFC 5927 §4.1, Linux's
// tcp_v4_err); and a quoted MTU below 552 is taken as 552 (Linux's
// min_pmtu), so a forged error cannot shrink segments to a few bytes.
func TestInjectICMPValidated(t *testing.T) {
	j := newInj(t, Config{NoTimestamps: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1460})
	if _, err := c.Write(make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	j.h.out = nil
	mss := c.mss
	j.h.p.PathMTU(j.me, j.peer, iss+1+1<<30, 576)
	if c.mss != mss || len(j.h.out) != 0 {
		t.Fatalf("forged error (sequence 2^30 out of window): MSS %d → %d, %d segments resent", mss, c.mss, len(j.h.out))
	}
	j.h.p.HardError(j.me, j.peer, iss+1+1<<30, nil)
	if c.State() != Established {
		t.Fatal(c.State())
	}
	if n := j.h.p.Counters().OutOfWindowICMPs; n != 2 {
		t.Fatalf("OutOfWindowICMPs %d, want 2", n)
	}
	j.h.p.PathMTU(j.me, j.peer, iss+1, 68)
	if c.mss != 552-40 {
		t.Fatalf("MSS %d after a quoted MTU of 68, want %d", c.mss, 552-40)
	}
	for _, l := range j.h.out {
		if s := parseOut(t, l); len(s.payload) > 512 {
			t.Fatalf("resent %d bytes", len(s.payload))
		}
	}
}
