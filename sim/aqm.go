package sim

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// AQM is the active queue management of a link's transmit queue (when
// Rate is set). The zero value is plain tail drop. CoDel (RFC 8289)
// signals congestion when packets have waited in the queue longer than
// Target for at least an Interval, then more often as the queue stays
// long; RED (Floyd and Jacobson 1993, RFC 7567) signals with a
// probability that grows with the average queue length. With ECN set,
// a signal marks a packet that carries ECT(0) or ECT(1) Congestion
// Experienced (RFC 3168 §5) instead of dropping it; a Not-ECT packet is
// dropped. Packets beyond the queue's bound are still tail-dropped.
//
// The queue is a FIFO served at Rate, so a packet's time of departure is
// known when it joins the queue: CoDel's decision, which RFC 8289 makes
// at dequeue from the packet's sojourn time, is made at enqueue for the
// time the packet will leave, with the sojourn time it will have had.
// A packet CoDel drops therefore never takes the transmitter's time.
type AQM struct {
	// Kind is "codel", "red", or "" for tail drop.
	Kind string
	// ECN marks ECN-capable packets CE instead of dropping them.
	ECN bool
	// CoDel's Target (default 5ms) and Interval (default 100ms).
	Target, Interval time.Duration
	// RED's thresholds on the average queue, in packets (defaults 5 and
	// 15), its largest marking probability below MaxTh (default 0.1),
	// and the weight of each sample in the average (default 0.002).
	MinTh, MaxTh int
	MaxP, Weight float64
}

// AQM defaults.
const (
	DefaultCoDelTarget   = 5 * time.Millisecond
	DefaultCoDelInterval = 100 * time.Millisecond
	DefaultREDMinTh      = 5
	DefaultREDMaxTh      = 15
	DefaultREDMaxP       = 0.1
	DefaultREDWeight     = 0.002
)

// AQMKinds lists the values AQM.Kind accepts.
var AQMKinds = []string{"codel", "red"}

func (a *AQM) validate() error {
	switch a.Kind {
	case "", "codel", "red":
	default:
		return fmt.Errorf("aqm %q is unknown; use codel or red", a.Kind)
	}
	if a.Target < 0 || a.Interval < 0 {
		return fmt.Errorf("aqm target and interval must not be negative")
	}
	if a.MinTh < 0 || a.MaxTh < 0 || (a.MaxTh > 0 && a.MinTh >= a.MaxTh) {
		return fmt.Errorf("aqm thresholds min %d, max %d: use 0 ≤ min < max", a.MinTh, a.MaxTh)
	}
	if !(a.MaxP >= 0 && a.MaxP <= 1) || !(a.Weight >= 0 && a.Weight <= 1) {
		return fmt.Errorf("aqm max_p and weight must be probabilities from 0 to 1")
	}
	return nil
}

// aqmState is the pipe's AQM state, CoDel's and RED's.
type aqmState struct {
	// CoDel (RFC 8289 §5).
	firstAbove int64 // when the sojourn time may first count as too long, 0 if below target
	dropNext   int64
	count      int
	lastCount  int
	dropping   bool
	// RED.
	avg      float64
	redCount int
}

// aqmSignal decides whether the packet of n bytes, joining the queue at
// now and leaving at depart, is to be marked or dropped. backlog is the
// bytes queued ahead of it, qlen their packets. It returns the reason,
// or "" to let it pass.
func (p *Pipe) aqmSignal(now, depart int64, n, backlog, qlen int) string {
	a := &p.imp.AQM
	s := &p.aqm
	switch a.Kind {
	case "codel":
		target := int64(cmpOr(a.Target, DefaultCoDelTarget))
		interval := int64(cmpOr(a.Interval, DefaultCoDelInterval))
		sojourn := depart - int64(txTime(n, p.imp.Rate)) - now // time waiting, not being sent
		t := depart
		ok := false
		if sojourn < target || backlog <= 1514 {
			s.firstAbove = 0
		} else if s.firstAbove == 0 {
			s.firstAbove = t + interval
		} else if t >= s.firstAbove {
			ok = true
		}
		law := func(t int64) int64 { return t + int64(float64(interval)/math.Sqrt(float64(s.count))) }
		why := ""
		switch {
		case s.dropping && !ok:
			s.dropping = false
		case s.dropping && t >= s.dropNext:
			s.count++
			s.dropNext = law(s.dropNext)
			why = fmt.Sprintf("codel: sojourn %v > target %v, signal %d of this episode", time.Duration(sojourn), time.Duration(target), s.count)
		case !s.dropping && ok:
			s.dropping = true
			delta := s.count - s.lastCount
			if delta > 1 && t-s.dropNext < 16*interval {
				s.count = delta
			} else {
				s.count = 1
			}
			s.lastCount = s.count
			s.dropNext = law(t)
			why = fmt.Sprintf("codel: sojourn %v above target %v for %v", time.Duration(sojourn), time.Duration(target), time.Duration(interval))
		}
		return why
	case "red":
		w := cmpOr(a.Weight, DefaultREDWeight)
		minTh, maxTh := float64(cmpOr(a.MinTh, DefaultREDMinTh)), float64(cmpOr(a.MaxTh, DefaultREDMaxTh))
		maxP := cmpOr(a.MaxP, DefaultREDMaxP)
		if qlen == 0 && now > p.busyUntil {
			// An idle queue's average decays as if small packets had
			// passed through the empty queue meanwhile.
			m := float64(now-p.busyUntil) / float64(txTime(64, p.imp.Rate)+1)
			s.avg *= math.Pow(1-w, m)
		}
		s.avg = (1-w)*s.avg + w*float64(qlen)
		switch {
		case s.avg < minTh:
			s.redCount = -1
			return ""
		case s.avg >= maxTh:
			s.redCount = 0
			return fmt.Sprintf("red: average queue %.1f ≥ max %d", s.avg, int(maxTh))
		}
		s.redCount++
		pb := maxP * (s.avg - minTh) / (maxTh - minTh)
		pa := pb / max(1-float64(s.redCount)*pb, 1e-9)
		if p.rng.Float64() < pa {
			s.redCount = 0
			return fmt.Sprintf("red: average queue %.1f packets, p %.3f", s.avg, pa)
		}
	}
	return ""
}

func cmpOr[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

// ectOffset returns the offset of the IPv4 header in frame when it holds
// an ECN-capable packet (ECT(0), ECT(1) or CE), or -1.
func ectOffset(frame []byte, hdr int) int {
	if hdr == 14 {
		if len(frame) < 14 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
			return -1
		}
	}
	if len(frame) < hdr+20 || frame[hdr]>>4 != 4 || frame[hdr+1]&3 == 0 {
		return -1
	}
	return hdr
}

// markCE sets the ECN field of the IPv4 header at off to CE and updates
// its checksum incrementally (RFC 1624).
func markCE(frame []byte, off int) {
	old := binary.BigEndian.Uint16(frame[off:])
	frame[off+1] |= 3
	now := binary.BigEndian.Uint16(frame[off:])
	sum := uint32(^binary.BigEndian.Uint16(frame[off+10:])) + uint32(^old) + uint32(now)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(frame[off+10:], ^uint16(sum))
}
