package tcp

import (
	"strings"
	"testing"
	"time"

	"stacklab/stack/core"
	wirefmt "stacklab/stack/wire"
)

// ccDetails returns the details of the congestion events h reported.
func ccDetails(h *host) []string {
	var d []string
	for _, ev := range h.events {
		if ev.Kind == core.EventCongestion {
			d = append(d, ev.Detail)
		}
	}
	return d
}

// TestTraceReasons checks what the trace says about loss recovery:
// limited transmit (RFC 3042), fast retransmit on three duplicate ACKs,
// recovery started from SACK blocks (RFC 6675 §5), and the cause of
// each change of cwnd.
func TestTraceReasons(t *testing.T) {
	t.Run("limited transmit and dup ACKs", func(t *testing.T) {
		j := newInj(t, Config{Profile: ProfileRFC, NoTimestamps: true, NoSACK: true})
		c, iss := j.handshake(options{HasMSS: true, MSS: 1000})
		c.Write(make([]byte, 20_000))
		for len(j.h.out) > 0 {
			if s := j.next(); s.why != whySend {
				t.Fatalf("initial window segment says %q", s.why)
			}
		}
		dup := segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535}
		for i := 0; i < 2; i++ {
			j.send(dup)
			if s := j.next(); s.why != "limited transmit (RFC 3042)" {
				t.Fatalf("dup ACK %d: %v", i+1, s)
			}
		}
		j.send(dup)
		if s := j.next(); !strings.HasPrefix(s.why, "3 dup ACKs → fast retransmit") {
			t.Fatalf("third dup ACK: %v", s)
		}
		d := ccDetails(j.h)
		if len(d) != 1 || !strings.HasPrefix(d[0], "3 dup ACKs → fast retransmit (RFC 5681 §3.2): cwnd 10000 → 6000") {
			t.Fatalf("congestion events %q", d)
		}
		// The full ACK ends recovery.
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1 + 12000, flags: flagACK, wnd: 65535})
		if d = ccDetails(j.h); len(d) != 2 || !strings.HasPrefix(d[1], "full ACK → recovery done (RFC 6582 §3.2): ") {
			t.Fatalf("congestion events %q", d)
		}
	})
	t.Run("SACK", func(t *testing.T) {
		j := newInj(t, Config{NoTimestamps: true, Recovery: "sack"})
		c, iss := j.handshake(options{HasMSS: true, MSS: 1000, SACKPermitted: true})
		c.Write(make([]byte, 10_000))
		j.h.out = nil
		// One dup ACK whose SACK block covers three segments above
		// SND.UNA: SND.UNA is lost (RFC 6675 §4 IsLost).
		o := options{NSACK: 1}
		o.SACK[0] = wirefmt.SACKBlock{Left: iss + 1001, Right: iss + 4001}
		j.send(segSpec{seq: peerISN + 1, ack: iss + 1, flags: flagACK, wnd: 65535, opts: o})
		s := j.next()
		if uint32(s.seq) != iss+1 || !strings.Contains(s.why, "SACKed data past SND.UNA → fast retransmit (RFC 6675)") {
			t.Fatalf("retransmission %v", s)
		}
		if d := ccDetails(j.h); len(d) != 1 || !strings.HasPrefix(d[0], "1 dup ACK(s), SACKed data past SND.UNA → SACK recovery (RFC 6675 §5): ") {
			t.Fatalf("congestion events %q", d)
		}
	})
	t.Run("rto", func(t *testing.T) {
		j := newInj(t, Config{NoTimestamps: true})
		c, _ := j.handshake(options{HasMSS: true, MSS: 1000})
		c.Write(make([]byte, 3000))
		j.w.clk.advance(time.Second)
		d := ccDetails(j.h)
		if len(d) == 0 || !strings.HasPrefix(d[0], "rto, backoff 1 → loss window (RFC 5681 §3.1): cwnd 10000 → 1000") {
			t.Fatalf("congestion events %q", d)
		}
	})
}
