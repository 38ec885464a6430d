package tcp

import (
	"testing"
	"time"
)

// TestInjectSmallWindow: the peer's window takes less than the next
// segment. The linux profile sends nothing until the probe timer (an
// RTO later), then what the window takes with PSH, as Linux's
// tcp_snd_wnd_test and tcp_write_wakeup
// (testdata/pkt/zerowin/small-window-waits.pkt); at a window of one and
// a half segments it sends the half with the whole one, as
// tcp_mss_split_point (zerowin/window-edge-partial.pkt). The rfc profile
// sends the partial segment at once when nothing is in flight, and holds
// the half behind a full segment, as sender SWS avoidance does.
func TestInjectSmallWindow(t *testing.T) {
	for _, profile := range []string{ProfileLinux, ProfileRFC} {
		t.Run(profile, func(t *testing.T) {
			linux := profile == ProfileLinux
			j := newInj(t, Config{Profile: profile})
			c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
			una := iss + 1
			ack := func(wnd uint16) {
				j.send(segSpec{seq: peerISN + 1, ack: una, flags: flagACK, wnd: wnd})
			}
			j.w.clk.advance(10 * time.Millisecond)
			c.Write(make([]byte, 1000))
			j.expect(flagACK|flagPSH, una, peerISN+1)
			j.w.clk.advance(10 * time.Millisecond)
			una += 1000
			ack(100)
			c.Write(make([]byte, 1000))
			if linux {
				j.none()
				j.w.clk.advance(150 * time.Millisecond)
				j.none()
				j.w.clk.advance(100 * time.Millisecond) // the probe timer: an RTO, 210 ms
				if s := j.expect(flagACK|flagPSH, una, peerISN+1); len(s.payload) != 100 {
					t.Fatalf("probe timer sent %d bytes, want the window's 100", len(s.payload))
				}
			} else if s := j.next(); len(s.payload) != 100 {
				t.Fatalf("sent %d bytes at once, want the window's 100", len(s.payload))
			}
			una += 100
			j.w.clk.advance(10 * time.Millisecond)
			ack(1500)
			if s := j.expect(flagACK|flagPSH, una, peerISN+1); len(s.payload) != 900 {
				t.Fatalf("sent %d bytes, want the write's last 900", len(s.payload))
			}
			una += 900
			j.w.clk.advance(10 * time.Millisecond)
			ack(1500)
			c.Write(make([]byte, 3000))
			if s := j.next(); len(s.payload) != 1000 {
				t.Fatalf("sent %d bytes, want a full segment", len(s.payload))
			}
			if linux {
				if s := j.next(); len(s.payload) != 500 || s.flags&flagPSH == 0 {
					t.Fatalf("then %v, want the window's last 500 with PSH", s)
				}
			}
			j.none()
		})
	}
}

// TestSmallPeerBuffer: a receiver whose buffer is smaller than two
// segments. The linux profile sends segments of half the largest window
// it has seen (tcp_bound_to_half_wnd), so whole segments keep flowing;
// without that bound every segment waited for the probe timer, since a
// full one never fits (100 kB took 42 s of simulated time, not 2).
func TestSmallPeerBuffer(t *testing.T) {
	for _, profile := range []string{ProfileLinux, ProfileRFC} {
		w, cl, sv := pair(Config{Profile: profile})
		c, s, _ := dial(t, w, cl, sv, &SockOpts{RecvBuffer: 700})
		msg := pattern(100_000, 3)
		var got []byte
		buf := make([]byte, 333)
		start, off := w.clk.now, 0
		for len(got) < len(msg) && w.clk.now.Sub(start) < time.Minute {
			if off < len(msg) {
				n, _ := c.Write(msg[off:])
				off += max(n, 0)
			}
			w.clk.advance(time.Millisecond)
			if n, err := s.Read(buf); err == nil {
				got = append(got, buf[:n]...)
			}
		}
		if took := w.clk.now.Sub(start); string(got) != string(msg) || took > 5*time.Second {
			t.Errorf("%s: %d of %d bytes in %v, want all within 5 s", profile, len(got), len(msg), took)
		}
	}
}
