package tcp

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestMutualZeroWindowLossy: both ends write more than the peer's
// receive buffer holds and never read, over a lossy wire. Both windows
// close; each end must keep probing the other for as long as the other
// answers (RFC 1122 §4.2.2.17), so after an hour both connections are
// still established, and once the applications read, every byte arrives.
//
// It used to end in ETIMEDOUT after about 800 s: with window scaling the
// receiver rounded its window up beyond the free buffer space and kept
// advertising those few bytes it could not take, so the sender never saw
// a zero window and retried them until the retry limit; an ACK whose
// sequence number lay below SND.WL1 (a retransmission filling a hole)
// advanced SND.UNA without updating SND.WND, so the sender also overran
// the window; and the pure ACKs that answered, carrying SND.MAX at or
// beyond the receiver's right edge, were all rejected as out of window.
func TestMutualZeroWindowLossy(t *testing.T) {
	for seed := range 6 {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(seed), 5))
			w, cl, sv := pair(Config{Profile: ProfileRFC})
			c, s, _ := dial(t, w, cl, sv, &SockOpts{RecvBuffer: 64 << 10, SendBuffer: 256 << 10})
			w.filter = func(h *host, seg []byte, why string) verdict {
				return verdict{drop: r.Float64() < 0.1}
			}
			a := &pumpEnd{c: c, out: pattern(200_000, byte(seed))}
			b := &pumpEnd{c: s, out: pattern(200_000, byte(seed+50))}
			for _, e := range []*pumpEnd{a, b} {
				n, err := e.c.Write(e.out)
				if err != nil {
					t.Fatal(err)
				}
				e.out = e.out[n:]
			}
			w.clk.advance(time.Hour)
			if c.State() != Established || s.State() != Established {
				t.Fatalf("after an hour: client %v (%v), server %v (%v)", c.State(), c.Err(), s.State(), s.Err())
			}
			if c.Buffered() < 64<<10 || s.Buffered() < 64<<10 {
				t.Fatalf("buffered %d and %d, want both receive buffers full", c.Buffered(), s.Buffered())
			}
			if cl.p.Counters().ZeroWindowProbes == 0 || sv.p.Counters().ZeroWindowProbes == 0 {
				t.Fatalf("zero-window probes %d and %d, want both > 0", cl.p.Counters().ZeroWindowProbes, sv.p.Counters().ZeroWindowProbes)
			}
			// The applications read: everything arrives.
			pump(t, w, a, b, true, 30*time.Minute)
			if !bytes.Equal(b.in.Bytes(), pattern(200_000, byte(seed))) || !bytes.Equal(a.in.Bytes(), pattern(200_000, byte(seed+50))) {
				t.Fatalf("got %d and %d bytes, states %v %v", b.in.Len(), a.in.Len(), c.State(), s.State())
			}
		})
	}
}

// TestInjectScaledWindowAccepted: with window scaling the receiver
// rounds its window up (RFC 7323 §2.4), so it may offer a few bytes more
// than its buffer holds; it must then take them. Under the linux profile
// the edge creeps further, as Linux's does: a window that would shrink
// is kept, rounded up again (tcp_select_window), a few bytes more at
// every segment of 999 bytes, until the free memory offers none
// (rmem.go). A sender that fills every window it is offered ends with a
// zero window and all its bytes accepted. The receiver used to keep
// offering one scale unit (8 bytes
// here) when full and drop whatever came into it, so the sender, never
// seeing a zero window, retransmitted into it until the retry limit
// instead of probing.
func TestInjectScaledWindowAccepted(t *testing.T) {
	const bufSize = 256 << 10
	j := newInj(t, Config{NoTimestamps: true, NoSACK: true, RecvBuffer: bufSize, NoDelayedAck: true})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000, HasWScale: true, WScale: 0})
	if !c.wsOK || c.rcvWScale != 3 {
		t.Fatalf("window scale %v %d, want 3", c.wsOK, c.rcvWScale)
	}
	seq, wnd := uint32(peerISN+1), 65535 // the handshake's unscaled window
	for i := 0; wnd > 0; i++ {
		if i == 400 {
			t.Fatalf("window still %d after %d segments, %d bytes buffered", wnd, i, c.Buffered())
		}
		n := min(999, wnd)
		before := c.Buffered()
		j.send(segSpec{seq: seq, ack: iss + 1, flags: flagACK, wnd: 65535, payload: make([]byte, n)})
		if got := c.Buffered() - before; got != n {
			t.Fatalf("segment %d: %d of %d bytes within the offered window accepted (%d buffered)", i, got, n, c.Buffered())
		}
		var last segView
		for len(j.h.out) > 0 {
			last = j.next()
		}
		seq += uint32(n)
		if uint32(last.ack) != seq {
			t.Fatalf("segment %d: %v, want ack %d", i, last, seq)
		}
		wnd = int(last.wnd) << 3
		// At most one scale unit (8 bytes) of creep per segment.
		if edge := c.Buffered() + wnd; edge > bufSize+8*(i+1) {
			t.Fatalf("segment %d: window %d with %d bytes buffered: offers more than the buffer and a scale unit a segment", i, wnd, c.Buffered())
		}
	}
	if c.Buffered() < bufSize {
		t.Fatalf("zero window with %d bytes buffered, want at least %d", c.Buffered(), bufSize)
	}
}
