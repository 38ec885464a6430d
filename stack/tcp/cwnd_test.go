package tcp

import (
	"bytes"
	"testing"
	"time"

	"stacklab/stack/tcp/cc"
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

// stubCC is a congestion controller with a fixed window that records
// the inflation it is asked for.
type stubCC struct {
	cwnd, ssthresh int
	recovering     bool
	inflated       []int
}

func (s *stubCC) Name() string                          { return "stub" }
func (s *stubCC) SetMSS(int)                            {}
func (s *stubCC) Cwnd() int                             { return s.cwnd }
func (s *stubCC) Ssthresh() int                         { return s.ssthresh }
func (s *stubCC) InSlowStart() bool                     { return false }
func (s *stubCC) InRecovery() bool                      { return s.recovering }
func (s *stubCC) OnAck(cc.Ack)                          {}
func (s *stubCC) EnterRecovery(time.Time, int)          { s.recovering = true }
func (s *stubCC) Inflate(n int)                         { s.inflated = append(s.inflated, n) }
func (s *stubCC) Deflate(int)                           {}
func (s *stubCC) ExitRecovery(time.Time, int)           { s.recovering = false }
func (s *stubCC) OnRTO(time.Time, int)                  { s.recovering = false }
func (s *stubCC) OnIdle(now time.Time, d time.Duration) {}
func (s *stubCC) Undo(int, int)                         {}

// TestSMSSIsSegmentSize checks that limited transmit (RFC 3042) and
// NewReno's window inflation (RFC 5681 §3.2) count in the size of the
// segments sent, the MSS less the timestamp option, not the MSS.
func TestSMSSIsSegmentSize(t *testing.T) {
	j := newInj(t, Config{NoSACK: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000, HasTS: true, TSVal: 1})
	const smss = 1000 - 12
	if c.sendMSS() != smss {
		t.Fatalf("segment size %d", c.sendMSS())
	}
	// A window 8 bytes short of 11 segments: 10 go out.
	stub := &stubCC{cwnd: 11*smss - 8, ssthresh: 1 << 30}
	c.cc = stub
	c.Write(make([]byte, 30_000))
	sent := 0
	for len(j.h.out) > 0 {
		j.next()
		sent++
	}
	if sent != 10 {
		t.Fatalf("sent %d segments, want 10", sent)
	}
	// RFC 3042: each of the first two duplicate ACKs lets one segment
	// out, and FlightSize stays within cwnd + 2·SMSS.
	dup := segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535}
	for i := 0; i < 2; i++ {
		j.send(dup)
		if s := j.next(); uint32(s.seq) != iss+1+uint32(10+i)*smss || len(s.payload) != smss {
			t.Fatalf("limited transmit %d: %v", i, s)
		}
		j.none()
	}
	if flight := int(c.sndUna.Size(c.sndMax)); flight > stub.cwnd+2*smss {
		t.Fatalf("flight %d > cwnd %d + 2·SMSS", flight, stub.cwnd)
	}
	// Fast retransmit inflates by 3·SMSS, each further dup ACK by SMSS.
	j.send(dup)
	if s := j.next(); uint32(s.seq) != iss+1 {
		t.Fatalf("fast retransmit: %v", s)
	}
	j.send(dup)
	if len(stub.inflated) != 2 || stub.inflated[0] != 3*smss || stub.inflated[1] != smss {
		t.Fatalf("inflated by %v, want [%d %d]", stub.inflated, 3*smss, smss)
	}
}
