package stack

import (
	"time"

	"stacklab/stack/ipv4"
	"stacklab/stack/wire"
)

// IPv4 reassembly (RFC 791 §3.2, RFC 815): package ipv4 keeps the
// fragments, bounded in datagrams and bytes; this file feeds it, keeps
// one timer at its next deadline, and answers a datagram that timed out
// with ICMP time exceeded, code 1 (RFC 792).

type reassembly struct {
	r     *ipv4.Reassembler
	timer Timer
	armed time.Time
}

// reassemble adds a fragment; it returns the whole datagram (valid until
// the next call) when the last piece arrives.
func (s *Stack) reassemble(ip wire.IPv4, pktID uint64) (wire.IPv4, bool) {
	if s.reasm.r == nil {
		s.reasm.r = ipv4.NewReassembler(ipv4.Config{})
	}
	now := s.opts.Clock.Now()
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
	if !ok || (!s.reasm.armed.IsZero() && !next.Before(s.reasm.armed)) {
		return
	}
	d := max(next.Sub(now), 0)
	s.reasm.armed = now.Add(d)
	if s.reasm.timer == nil {
		s.reasm.timer = s.afterFunc(d, s.reasmTimer)
	} else {
		s.reasm.timer.Reset(d)
	}
}

func (s *Stack) reasmTimer() {
	now := s.opts.Clock.Now()
	s.reasm.armed = time.Time{}
	s.reasm.r.Expire(now, func(first wire.IPv4) {
		s.drop(&s.counters.IP.ReasmFails, "ip.ReasmFails", "ip", "reassembly timeout", 0)
		if first != nil {
			s.sendICMPError(first, wire.ICMPTimeExceeded, wire.ICMPCodeReassemblyExceeded, 0, "reassembly timeout")
		}
	})
	s.armReasm(now)
}
