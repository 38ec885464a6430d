package tcp

import (
	"testing"
	"time"

	"stacklab/stack/wire"
)

// TestReorderedSACKGrowth: once reordering of five segments has been
// measured, a duplicate ACK that SACKs one new segment lets two out
// under the linux profile, which grows cwnd by it (tcp_may_raise_cwnd's
// FLAG_FORWARD_PROGRESS, fastretx/reordering-grows-cwnd.pkt), and one
// under the rfc profile, which grows cwnd on new cumulative ACKs only
// (RFC 5681 §3.1). Reordering is measured once per ACK, as Linux's
// tcp_check_sack_reordering: four segments delivered late make one
// event, not four.
func TestReorderedSACKGrowth(t *testing.T) {
	for _, profile := range []string{ProfileLinux, ProfileRFC} {
		t.Run(profile, func(t *testing.T) {
			j := newInj(t, Config{Profile: profile, Congestion: "cubic"})
			c, iss := j.handshake(options{HasMSS: true, MSS: 1000, SACKPermitted: true})
			una := iss + 1
			sack := func(ack uint32, l, r uint32) {
				s := segSpec{seq: peerISN + 1, ack: ack, flags: flagACK, wnd: 65535}
				if r > l {
					s.opts = options{NSACK: 1, SACK: [4]wire.SACKBlock{{Left: l, Right: r}}}
				}
				j.send(s)
			}
			count := func() (n int) {
				for len(j.h.out) > 0 {
					n += len(j.next().payload) / 1000
				}
				return n
			}
			// A first round trip of 100 ms: RACK's reordering window is
			// a quarter of the least.
			c.Write(make([]byte, 1000))
			count()
			j.w.clk.advance(100 * time.Millisecond)
			una += 1000
			sack(una, 0, 0)
			c.Write(make([]byte, 40000))
			if n := count(); n != 10 {
				t.Fatalf("after one round trip: %d segments, want 10", n)
			}
			j.w.clk.advance(100 * time.Millisecond)
			sack(una, una+4000, una+5000)
			count()
			j.w.clk.advance(5 * time.Millisecond)
			sack(una+5000, 0, 0) // the first four, late
			count()
			if li := c.linuxInfo(); li.Reordering != 5 || li.ReordSeen != 1 {
				t.Fatalf("reordering %d, seen %d times; want 5, once", li.Reordering, li.ReordSeen)
			}
			j.w.clk.advance(10 * time.Millisecond)
			sack(una+5000, una+6000, una+7000)
			want := 1
			if profile == ProfileLinux {
				want = 2
			}
			if n := count(); n != want {
				t.Fatalf("a duplicate ACK SACKing one segment let %d out, want %d", n, want)
			}
		})
	}
}
