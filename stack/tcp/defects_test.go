package tcp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"stacklab/stack/tcp/seqnum"
)

// dropAtRecoveryPoint drops the 5th data segment the named host sends
// and then the first transmission of the segment that starts at the
// recovery point: SND.MAX when the first retransmission went out.
func dropAtRecoveryPoint(name string) func(h *host, seg []byte, why string) verdict {
	count := 0
	var high, point seqnum.Value
	armed, done := false, false
	return func(h *host, seg []byte, why string) verdict {
		var s segment
		parseSegment(seg, &s)
		if h.name != name || len(s.payload) == 0 {
			return verdict{}
		}
		count++
		end := s.seq.Add(seqnum.Size(len(s.payload)))
		if count == 5 {
			return verdict{drop: true}
		}
		if !armed && strings.Contains(why, "retransmit") {
			armed, point = true, high
		}
		if high.LessThan(end) || count == 1 {
			high = end
		}
		if armed && !done && s.seq == point {
			done = true
			return verdict{drop: true}
		}
		return verdict{}
	}
}

// TestFastRetransmitAtRecoveryPoint loses a segment and then the segment
// that starts exactly at the recovery point. The full ACK that ends the
// first recovery stops at that second loss; the duplicate ACKs that
// follow must start a second fast retransmit: RFC 6582 §3.2 step 1
// refuses one only while the cumulative ACK does not cover recover, the
// highest sequence number sent (SND.MAX−1), not SND.MAX.
func TestFastRetransmitAtRecoveryPoint(t *testing.T) {
	for _, cfg := range []Config{{NoSACK: true}, {}} {
		name := "newreno"
		if !cfg.NoSACK {
			name = "sack"
		}
		t.Run(name, func(t *testing.T) {
			cfg.Recovery = name
			w, cl, sv := pair(cfg)
			c, s, _ := dial(t, w, cl, sv, nil)
			w.filter = dropAtRecoveryPoint("client")
			msg := pattern(300_000, 4)
			a := &pumpEnd{c: c, out: msg}
			b := &pumpEnd{c: s}
			pump(t, w, a, b, true, time.Minute)
			if !bytes.Equal(b.in.Bytes(), msg) {
				t.Fatalf("got %d bytes", b.in.Len())
			}
			if in := c.Info(); in.RTOs != 0 || in.FastRetransmits != 2 {
				t.Fatalf("want two fast retransmits and no RTO: %+v", in)
			}
		})
	}
}

// stripSACK rewrites the SACK option of every segment the named host
// sends into NOPs, as a receiver that negotiated SACK but sends no
// blocks (many do after their FIN).
func stripSACK(name string, next func(h *host, seg []byte, why string) verdict) func(h *host, seg []byte, why string) verdict {
	return func(h *host, seg []byte, why string) verdict {
		if h.name == name {
			hl := int(seg[12]>>4) * 4
			o := seg[headerLen:hl]
			for i := 0; i < len(o); {
				switch o[i] {
				case 0:
					i = len(o)
					continue
				case 1:
					i++
					continue
				}
				if i+1 >= len(o) || o[i+1] < 2 {
					break
				}
				l := int(o[i+1])
				if o[i] == 5 {
					for k := i; k < i+l && k < len(o); k++ {
						o[k] = 1
					}
				}
				i += l
			}
			binary.BigEndian.PutUint16(seg[16:], 0)
			var src, dst netip.Addr
			for a, hh := range h.w.hosts {
				if hh == h {
					src = a
				} else {
					dst = a
				}
			}
			binary.BigEndian.PutUint16(seg[16:], checksumFix(src, dst, seg))
		}
		if next != nil {
			return next(h, seg, why)
		}
		return verdict{}
	}
}

// TestPartialAckWithoutSACKBlocks negotiates SACK with a receiver that
// then sends no SACK blocks and loses two segments of one window. The
// partial ACK that follows the first retransmission has nothing for the
// scoreboard; the sender must still resend the segment at SND.UNA
// (RFC 6582 §3.2 step 3) instead of waiting for the RTO.
func TestPartialAckWithoutSACKBlocks(t *testing.T) {
	for _, mode := range []string{"sack"} {
		t.Run(mode, func(t *testing.T) {
			w, cl, sv := pair(Config{Recovery: mode})
			c, s, _ := dial(t, w, cl, sv, nil)
			w.filter = stripSACK("server", dropNth("client", 5, 8))
			msg := pattern(200_000, 5)
			a := &pumpEnd{c: c, out: msg}
			b := &pumpEnd{c: s}
			pump(t, w, a, b, true, time.Minute)
			if !bytes.Equal(b.in.Bytes(), msg) {
				t.Fatalf("got %d bytes", b.in.Len())
			}
			if in := c.Info(); !in.SACK || in.RTOs != 0 || in.Retransmits != 2 {
				t.Fatalf("want two retransmissions and no RTO: %+v", in)
			}
		})
	}
}

// TestDupAckWithSACKCountsDespiteWindowChange sends duplicate ACKs that
// each SACK new data but also change the window. RFC 6675 §2 counts
// them as duplicate ACKs all the same, so the third starts recovery.
func TestDupAckWithSACKCountsDespiteWindowChange(t *testing.T) {
	j := newInj(t, Config{Recovery: "sack"})
	c, iss := j.handshake(options{HasMSS: true, MSS: 1000, SACKPermitted: true})
	c.Write(make([]byte, 10_000))
	for range 10 {
		j.next()
	}
	una := iss + 1
	for i := range 3 {
		// Segments 2, 3, 4 (of 1000 bytes) arrive; segment 1 is lost.
		var o options
		o.NSACK = 1
		o.SACK[0].Left, o.SACK[0].Right = una+1000, una+2000+uint32(i)*1000
		j.send(segSpec{seq: peerISN + 1, ack: una, flags: flagACK, wnd: uint16(60000 - 1000*i), opts: o})
	}
	found := false
	for len(j.h.out) > 0 {
		if s := j.next(); uint32(s.seq) == una && len(s.payload) > 0 {
			found = true
		}
	}
	if !found || c.Info().FastRetransmits != 1 {
		t.Fatalf("no fast retransmit after three duplicate ACKs with new SACK blocks: %+v", c.Info())
	}
}
