package tcp

import (
	"bytes"
	"testing"
	"time"
)

// TestCwndNotGrowingWhenWindowLimited checks that cwnd stops growing
// once the receive window, not cwnd, limits the sender (RFC 9438 §4.6,
// RFC 7661): in slow start it may reach twice the data in flight, as
// Linux's tcp_is_cwnd_limited allows, and in congestion avoidance it
// does not grow at all.
func TestCwndNotGrowingWhenWindowLimited(t *testing.T) {
	const rcvBuf = 256 << 10
	for _, name := range []string{"newreno", "cubic"} {
		t.Run(name, func(t *testing.T) {
			w, cl, sv := pair(Config{RecvBuffer: rcvBuf})
			c, s, _ := dial(t, w, cl, sv, &SockOpts{Congestion: name})
			msg := pattern(16<<20, 5)
			a := &pumpEnd{c: c, out: msg}
			b := &pumpEnd{c: s}
			pump(t, w, a, b, false, time.Minute)
			if !bytes.Equal(b.in.Bytes(), msg) {
				t.Fatalf("got %d bytes", b.in.Len())
			}
			// One ACK may add up to 2·SMSS (RFC 3465) past the limit.
			if cwnd := c.Info().Cwnd; cwnd > 2*rcvBuf+2*c.sendMSS() {
				t.Fatalf("slow start: cwnd %d against a %d-byte receive window", cwnd, rcvBuf)
			}
			// Congestion avoidance: one loss halves the window; cwnd then
			// grows by about one segment a round trip until it reaches
			// the receive window, and stops there.
			w.filter = dropNth("client", 3)
			msg = pattern(64<<20, 6)
			a.out, b.in = msg, bytes.Buffer{}
			pump(t, w, a, b, false, 5*time.Minute)
			if !bytes.Equal(b.in.Bytes(), msg) {
				t.Fatalf("got %d bytes", b.in.Len())
			}
			in := c.Info()
			if in.FastRetransmits != 1 || in.RTOs != 0 || in.Ssthresh >= 2*rcvBuf {
				t.Fatalf("after the loss: %+v", in)
			}
			// Slow start may refill cwnd up to ssthresh (CUBIC's 0.7·cwnd
			// can exceed the receive window); congestion avoidance then
			// adds nothing once the receive window limits.
			if in.Cwnd > max(in.Ssthresh, rcvBuf)+2*c.sendMSS() {
				t.Fatalf("congestion avoidance: cwnd %d, ssthresh %d, with a %d-byte receive window", in.Cwnd, in.Ssthresh, rcvBuf)
			}
		})
	}
}
