package trace

import (
	"testing"
	"time"
)

// TestOutOfOrderThresholdIsHandshakeRTT checks the out-of-order rule's
// threshold, Wireshark's ts_first_rtt: from the SYN (not the SYN-ACK) to
// the first segment with ACK and without SYN. At the client both the
// SYN-ACK and its ACK are seen at one instant; counting from the SYN-ACK
// gave no threshold there, and a later ACK then set one that flagged as
// out of order a retransmission tshark calls a retransmission.
func TestOutOfOrderThresholdIsHandshakeRTT(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	var c anaConn
	seg := func(d int, s segment) Analysis {
		a, _, _, _ := c.analyze(d, &s)
		return a
	}
	// Direction 0 is the client's, 1 the server's; RTT 20 ms.
	seg(0, segment{seq: 0, syn: true, win: 1000, wscale: -1, now: 0})
	seg(1, segment{seq: 0, ack: 1, syn: true, ackf: true, win: 1000, wscale: -1, now: ms(20)})
	seg(0, segment{seq: 1, ack: 1, ackf: true, win: 1000, wscale: -1, now: ms(20)})
	if c.firstRTT != ms(20) {
		t.Fatalf("first RTT %v, want the SYN's 20ms", c.firstRTT)
	}
	// Three segments, the second lost; the highest seen sent at 41 ms.
	seg(0, segment{seq: 1, ack: 1, len: 100, ackf: true, win: 1000, now: ms(40)})
	seg(0, segment{seq: 101, ack: 1, len: 100, ackf: true, win: 1000, now: ms(40.5)})
	seg(0, segment{seq: 201, ack: 1, len: 100, ackf: true, win: 1000, now: ms(41)})
	// Resent 21 ms after the highest: past the first RTT, a
	// retransmission, not reordering.
	if a := seg(0, segment{seq: 101, ack: 1, len: 100, ackf: true, win: 1000, now: ms(62)}); a&Retransmission == 0 || a&OutOfOrder != 0 {
		t.Errorf("resent 21 ms after the highest segment: %v, want a retransmission", a)
	}
	// Within 20 ms of the highest: out of order.
	seg(0, segment{seq: 301, ack: 1, len: 100, ackf: true, win: 1000, now: ms(70)})
	if a := seg(0, segment{seq: 201, ack: 1, len: 100, ackf: true, win: 1000, now: ms(80)}); a&OutOfOrder == 0 {
		t.Errorf("10 ms after the highest segment: %v, want out of order", a)
	}
}
