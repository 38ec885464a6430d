package stack

import (
	"net/netip"
	"time"

	"stacklab/stack/wire"
)

// IPv4 reassembly (RFC 791 §3.2, RFC 815): bounded in datagrams and
// bytes, with a timeout after which the partial datagram is discarded and
// the sender told (ICMP time exceeded, code 1).

const (
	reasmTimeout      = 30 * time.Second
	reasmMaxDatagrams = 64
	reasmMaxBytes     = 4 << 20
)

type reasmKey struct {
	src, dst netip.Addr
	proto    uint8
	id       uint16
}

type reasmBuf struct {
	data     []byte // header of the first fragment, then the payload
	hdrLen   int
	have     []span // payload ranges received, sorted, merged
	total    int    // payload length, known once the last fragment arrives
	deadline time.Time
	timer    Timer
}

type span struct{ lo, hi int }

type reassembler struct {
	bufs  map[reasmKey]*reasmBuf
	bytes int
}

// reassemble adds a fragment; it returns the whole datagram (valid until
// the next call) when the last piece arrives.
func (s *Stack) reassemble(ip wire.IPv4, pktID uint64) (wire.IPv4, bool) {
	r := &s.reasm
	if r.bufs == nil {
		r.bufs = make(map[reasmKey]*reasmBuf)
	}
	key := reasmKey{ip.Src(), ip.Dst(), ip.Protocol(), ip.ID()}
	b := r.bufs[key]
	if b == nil {
		if len(r.bufs) >= reasmMaxDatagrams || r.bytes >= reasmMaxBytes {
			s.drop(&s.counters.IP.ReasmFails, "ip.ReasmFails", "ip", "reassembly buffers full", pktID)
			return nil, false
		}
		b = &reasmBuf{total: -1}
		r.bufs[key] = b
		b.timer = s.afterFunc(reasmTimeout, func() { s.reasmExpire(key) })
	}
	off := int(ip.FragmentOffset())
	payload := ip.Payload()
	end := off + len(payload)
	if end > 65535-wire.IPv4MinHeaderLen || (ip.More() && len(payload)%8 != 0) {
		s.reasmFail(key, b, pktID, "bad fragment length")
		return nil, false
	}
	// Overlapping fragments are a classic attack; drop the datagram
	// (RFC 5722 does so for IPv6, and Linux does for IPv4).
	for _, sp := range b.have {
		if off < sp.hi && end > sp.lo {
			s.reasmFail(key, b, pktID, "overlapping fragments")
			return nil, false
		}
	}
	if !ip.More() {
		if b.total >= 0 && b.total != end {
			s.reasmFail(key, b, pktID, "two last fragments")
			return nil, false
		}
		b.total = end
	}
	if off == 0 {
		b.hdrLen = ip.HeaderLen()
	}
	if need := wire.IPv4MinHeaderLen*3 + end; len(b.data) < need {
		grow := make([]byte, need)
		copy(grow, b.data)
		r.bytes += need - len(b.data)
		b.data = grow
	}
	copy(b.data[60+off:], payload)
	if off == 0 {
		copy(b.data[60-ip.HeaderLen():60], ip[:ip.HeaderLen()])
	}
	b.have = insertSpan(b.have, span{off, end})
	if b.total < 0 || b.hdrLen == 0 || len(b.have) != 1 || b.have[0].lo != 0 || b.have[0].hi != b.total {
		return nil, false
	}
	delete(r.bufs, key)
	r.bytes -= len(b.data)
	b.timer.Stop()
	whole := wire.IPv4(b.data[60-b.hdrLen : 60+b.total])
	whole.SetTotalLen(uint16(b.hdrLen + b.total))
	whole.SetFlagsFragment(false, false, 0)
	whole.SetChecksum()
	s.counters.IP.ReasmOKs++
	return whole, true
}

func insertSpan(have []span, n span) []span {
	have = append(have, n)
	for i := len(have) - 1; i > 0 && have[i].lo < have[i-1].lo; i-- {
		have[i], have[i-1] = have[i-1], have[i]
	}
	out := have[:1]
	for _, sp := range have[1:] {
		if last := &out[len(out)-1]; sp.lo <= last.hi {
			last.hi = max(last.hi, sp.hi)
		} else {
			out = append(out, sp)
		}
	}
	return out
}

func (s *Stack) reasmFail(key reasmKey, b *reasmBuf, pktID uint64, why string) {
	delete(s.reasm.bufs, key)
	s.reasm.bytes -= len(b.data)
	b.timer.Stop()
	s.drop(&s.counters.IP.ReasmFails, "ip.ReasmFails", "ip", why, pktID)
}

// reasmExpire discards a datagram whose fragments did not all arrive in
// time and, if the first fragment came, sends ICMP time exceeded
// (fragment reassembly time exceeded, RFC 792).
func (s *Stack) reasmExpire(key reasmKey) {
	b := s.reasm.bufs[key]
	if b == nil {
		return
	}
	delete(s.reasm.bufs, key)
	s.reasm.bytes -= len(b.data)
	s.drop(&s.counters.IP.ReasmFails, "ip.ReasmFails", "ip", "reassembly timeout", 0)
	if b.hdrLen > 0 {
		first := b.have[0]
		if first.lo == 0 {
			s.sendICMPError(wire.IPv4(b.data[60-b.hdrLen:60+first.hi]), wire.ICMPTimeExceeded, 1, 0, "reassembly timeout")
		}
	}
}
