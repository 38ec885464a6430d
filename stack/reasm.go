package stack

import (
	"net/netip"
	"strconv"
	"time"

	"stacklab/stack/ipv4"
	"stacklab/stack/reasm"
	"stacklab/stack/wire"
)

// Reassembly, IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5):
// package reasm keeps the fragments, bounded in datagrams and bytes
// (package ipv4 wraps it for IPv4); this file feeds them, keeps one timer
// per family at its next deadline, and answers a datagram that timed out
// with ICMP time exceeded, code 1 (RFC 792, RFC 4443 §3.3).

type reassembly struct {
	r *ipv4.Reassembler
	deadline
}

// deadline is a timer kept at the earliest deadline of a queue.
type deadline struct {
	timer Timer
	armed time.Time
}

// arm makes d fire fire at next unless it is already due no later.
func (s *Stack) arm(d *deadline, next time.Time, ok bool, now time.Time, fire func()) {
	if !ok || (!d.armed.IsZero() && !next.Before(d.armed)) {
		return
	}
	after := max(next.Sub(now), 0)
	d.armed = now.Add(after)
	if d.timer == nil {
		d.timer = s.afterFunc(after, fire)
	} else {
		d.timer.Reset(after)
	}
}

// reassemble adds a fragment; it returns the whole datagram (valid until
// the next call) when the last piece arrives.
func (s *Stack) reassemble(ip wire.IPv4, pktID uint64) (wire.IPv4, bool) {
	if s.reasm.r == nil {
		s.reasm.r = ipv4.NewReassembler(ipv4.Config{})
	}
	now := s.now()
	evicted := s.reasm.r.Counters().Evictions
	whole, err := s.reasm.r.Add(ip, now)
	for range s.reasm.r.Counters().Evictions - evicted {
		s.drop(&s.counters.IP.ReasmFails, "ip.ReasmFails", "ip", "reassembly full: oldest incomplete datagram evicted", pktID)
	}
	s.armReasm(now)
	if err != nil {
		s.drop(&s.counters.IP.ReasmFails, "ip.ReasmFails", "ip", err.Error(), pktID)
		return nil, false
	}
	if whole == nil {
		return nil, false
	}
	s.counters.IP.ReasmOKs++
	return whole, true
}

func (s *Stack) armReasm(now time.Time) {
	next, ok := s.reasm.r.NextDeadline()
	s.arm(&s.reasm.deadline, next, ok, now, s.reasmTimer)
}

func (s *Stack) reasmTimer() {
	now := s.now()
	s.reasm.armed = time.Time{}
	s.reasm.r.Expire(now, func(first wire.IPv4) {
		s.drop(&s.counters.IP.ReasmFails, "ip.ReasmFails", "ip", "reassembly timeout", 0)
		if first != nil {
			s.sendICMPError(first, wire.ICMPTimeExceeded, wire.ICMPCodeReassemblyExceeded, 0, "reassembly timeout")
		}
	})
	s.armReasm(now)
}

// key6 names an IPv6 datagram being reassembled (RFC 8200 §4.5: source,
// destination and the fragment header's identification).
type key6 struct {
	src, dst netip.Addr
	id       uint32
}

type reassembly6 struct {
	q *reasm.Queue[key6]
	deadline
}

// IPv6 reassembly's bounds: Linux's ip6frag_time is 60 s; the
// unfragmentable part (the IPv6 header and the extension headers before
// the fragment header) is kept up to the minimum MTU.
const (
	reasm6Timeout  = 60 * time.Second
	reasm6Headroom = wire.IPv6MinMTU
)

// reassemble6 adds a fragment (ip, whose fragment header ch found); it
// returns the whole packet, without the fragment header, once the last
// piece arrives: valid until the next call.
func (s *Stack) reassemble6(n *NIC, ip wire.IPv6, ch wire.IPv6Chain, pktID uint64) (wire.IPv6, bool) {
	c := &s.counters.IP6
	if s.reasm6.q == nil {
		s.reasm6.q = reasm.New[key6](reasm.Config{Timeout: reasm6Timeout, MaxEnd: wire.IPv6MaxPayloadLen,
			MaxTotal: wire.IPv6HeaderLen + wire.IPv6MaxPayloadLen, Headroom: reasm6Headroom})
	}
	fh := ch.Fragment
	data := ip[ch.Offset:]
	// RFC 8200 §4.5: a fragment that is not the last must be a multiple
	// of 8 bytes long, and no fragment may take the payload past 65,535
	// bytes; both are answered with a Parameter Problem, as Linux's
	// ipv6_frag_rcv does.
	unfrag := ch.FragmentAt - wire.IPv6HeaderLen // the extension headers before the fragment header
	if fh.More() && (len(data) == 0 || len(data)%8 != 0) {
		c.ReasmReqds++
		s.drop(&c.ReasmFails, "ip6.ReasmFails", "ipv6", "fragment of "+strconv.Itoa(len(data))+" bytes with more to follow is not a multiple of 8", pktID)
		s.sendICMP6Error(n, ip, wire.ICMPv6ParamProblem, 0, wire.IPv6PayloadLenOffset, "parameter problem: fragment length")
		return nil, false
	}
	if unfrag+int(fh.Offset())+len(data) > wire.IPv6MaxPayloadLen {
		c.ReasmReqds++
		s.drop(&c.ReasmFails, "ip6.ReasmFails", "ipv6", "fragment reaches past 65535 bytes of payload", pktID)
		s.sendICMP6Error(n, ip, wire.ICMPv6ParamProblem, 0, uint32(ch.FragmentAt+2), "parameter problem: fragment offset")
		return nil, false
	}
	if fh.Offset() == 0 && fh.More() && !headerChainComplete(fh.NextHeader(), data) {
		// RFC 7112 §5, as Linux's ipv6_frag_thdr_truncated: the first
		// fragment holds every header through the upper-layer one.
		c.ReasmReqds++
		s.drop(&c.ReasmFails, "ip6.ReasmFails", "ipv6", "first fragment without the whole header chain (RFC 7112)", pktID)
		s.sendICMP6Error(n, ip, wire.ICMPv6ParamProblem, wire.ICMPv6CodeIncompleteHeader, 0, "parameter problem: incomplete header chain")
		return nil, false
	}
	now := s.now()
	q := s.reasm6.q
	evicted := q.Counters().Evictions
	d, err := q.Add(key6{ip.Src(), ip.Dst(), fh.ID()}, reasm.Fragment{
		Start: int(fh.Offset()), Data: data, More: fh.More(),
		Header: ip[:ch.FragmentAt], Proto: fh.NextHeader(), ProtoAt: ch.FragmentNamedAt,
	}, now)
	c.ReasmReqds++
	for range q.Counters().Evictions - evicted {
		s.drop(&c.ReasmFails, "ip6.ReasmFails", "ipv6", "reassembly full: oldest incomplete packet evicted", pktID)
	}
	s.armReasm6(now)
	if err != nil {
		s.drop(&c.ReasmFails, "ip6.ReasmFails", "ipv6", err.Error(), pktID)
		return nil, false
	}
	if d.Bytes == nil {
		return nil, false
	}
	// The whole packet: the first fragment's unfragmentable part, whose
	// last Next Header now names what the fragment header did (ProtoAt).
	whole := wire.IPv6(d.Bytes)
	whole.SetPayloadLen(uint16(len(whole) - wire.IPv6HeaderLen))
	c.ReasmOKs++
	return whole, true
}

// headerChainComplete reports whether b, a first fragment's data
// starting with a header of type nh, holds every extension header and
// the whole upper-layer header (TCP's 20 bytes, UDP's 8, ICMPv6's 8).
func headerChainComplete(nh uint8, b []byte) bool {
	off := 0
	for range wire.IPv6MaxExtHeaders {
		switch nh {
		case wire.IPv6ExtHopByHop, wire.IPv6ExtRouting, wire.IPv6ExtDestOpts, wire.IPv6ExtAH:
			size, ok := wire.IPv6ExtHeaderLen(nh, b[off:])
			if !ok {
				return false
			}
			nh, off = b[off], off+size
		case wire.ProtoTCP:
			return off+wire.TCPMinHeaderLen <= len(b)
		case wire.ProtoUDP:
			return off+wire.UDPHeaderLen <= len(b)
		case wire.ProtoICMPv6:
			return off+wire.ICMPv6HeaderLen <= len(b)
		default:
			return off <= len(b)
		}
	}
	return false
}

func (s *Stack) armReasm6(now time.Time) {
	next, ok := s.reasm6.q.NextDeadline()
	s.arm(&s.reasm6.deadline, next, ok, now, s.reasm6Timer)
}

func (s *Stack) reasm6Timer() {
	now := s.now()
	s.reasm6.armed = time.Time{}
	s.reasm6.q.Expire(now, func(first []byte) {
		s.counters.IP6.ReasmTimeout++
		s.drop(&s.counters.IP6.ReasmFails, "ip6.ReasmFails", "ipv6", "reassembly timeout", 0)
		if first == nil {
			return // RFC 8200 §4.5: only when the first fragment came
		}
		ip := wire.IPv6(first)
		if n, _, ok := s.route(ip.Src()); ok {
			s.sendICMP6Error(n, ip, wire.ICMPv6TimeExceeded, wire.ICMPv6CodeReassemblyTime, 0, "fragment reassembly time exceeded")
		}
	})
	s.armReasm6(now)
}
