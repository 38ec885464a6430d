package sack_test

import (
	"fmt"
	"testing"
	"time"

	"stacklab/stack/tcp/cc"
	"stacklab/stack/tcp/sack"
	"stacklab/stack/tcp/seqnum"
)

// sim is a small sender/receiver pair on a loss-free-after-drops path of
// fixed delay, driven in ticks, that exercises the Scoreboard, the
// Recorder and a cc.Controller together the way the TCP engine does
// (RFC 6675 §5, with RFC 3042 limited transmit). It has no
// retransmission timer: a stall fails the test.
type sim struct {
	t                   *testing.T
	mss, total          int
	base                seqnum.Value
	una, nxt            seqnum.Value // sender
	rcvNxt              seqnum.Value // receiver
	held                map[seqnum.Value]seqnum.Value
	rec                 sack.Recorder
	sb                  sack.Scoreboard
	ctl                 cc.Controller
	drop                map[int]bool // segment index → drop its first transmission
	sent                map[seqnum.Value]int
	dupAcks             int
	inRecovery          bool
	recover             seqnum.Value
	now                 int
	toRcv               []pkt
	toSnd               []ack
	retransmits, rescue int
	recoveries          int
}

type pkt struct {
	at         int
	start, end seqnum.Value
}

type ack struct {
	at     int
	ack    seqnum.Value
	blocks []sack.Block
}

const delay = 5

var debugSim = false

func (s *sim) end() seqnum.Value { return s.base.Add(seqnum.Size(s.total * s.mss)) }

func (s *sim) transmit(start, end seqnum.Value) {
	idx := int(s.base.Size(start)) / s.mss
	if s.sent[start] > 0 {
		s.retransmits++
		if debugSim {
			s.t.Logf("tick %d rtx %d (seg %d) una %d nxt %d sacked %v recovery %v cwnd %d", s.now, s.base.Size(start), idx, s.base.Size(s.una), s.base.Size(s.nxt), s.sb.Blocks(), s.inRecovery, s.ctl.Cwnd())
		}
	}
	s.sent[start]++
	if s.sent[start] == 1 && s.drop[idx] {
		return
	}
	s.toRcv = append(s.toRcv, pkt{s.now + delay, start, end})
}

func (s *sim) receive(p pkt) {
	if p.start.LessThan(s.rcvNxt) && p.end.LessThanEq(s.rcvNxt) {
		// duplicate
	} else if p.start.LessThanEq(s.rcvNxt) {
		s.rcvNxt = p.end
		for {
			e, ok := s.held[s.rcvNxt]
			if !ok {
				break
			}
			delete(s.held, s.rcvNxt)
			s.rcvNxt = e
		}
		s.rec.Advance(s.rcvNxt)
	} else {
		s.held[p.start] = p.end
		s.rec.Received(p.start, p.end, s.rcvNxt)
	}
	s.toSnd = append(s.toSnd, ack{s.now + delay, s.rcvNxt, s.rec.AppendBlocks(nil, 3)})
}

func (s *sim) onAck(a ack) {
	now := time.Unix(0, 0).Add(time.Duration(s.now) * time.Millisecond)
	flight := int(s.una.Size(s.nxt))
	newly := s.sb.Update(a.ack, s.nxt, a.blocks)
	switch {
	case s.una.LessThan(a.ack):
		acked := int(s.una.Size(a.ack))
		s.una = a.ack
		s.dupAcks = 0
		if s.inRecovery {
			if s.recover.LessThanEq(a.ack) {
				s.inRecovery = false
				s.ctl.ExitRecovery(now, int(s.una.Size(s.nxt)))
			}
		} else {
			s.ctl.OnAck(cc.Ack{Now: now, Acked: acked, RTT: 2 * delay * time.Millisecond, Inflight: flight})
		}
	case newly > 0:
		s.dupAcks++ // RFC 6675 §2: a duplicate ACK carries new SACK information
	}
	if !s.inRecovery && s.una.LessThan(s.nxt) && (s.dupAcks >= sack.DupThresh || s.sb.IsLost(s.una)) &&
		!s.una.LessThanEq(s.recover-1) {
		s.inRecovery = true
		s.recoveries++
		s.recover = s.nxt
		s.ctl.EnterRecovery(now, flight)
		if first := s.sb.StartRecovery(s.nxt); first.Len() > 0 {
			s.transmit(first.Start, first.End)
		}
	}
}

func (s *sim) send() {
	end := s.end()
	if s.inRecovery {
		pipe := s.sb.Pipe(s.nxt)
		for s.ctl.Cwnd()-pipe >= s.mss {
			seg, ok := s.sb.NextSeg(s.nxt, s.nxt.LessThan(end))
			if !ok {
				return
			}
			if seg.Rule == sack.RuleNew {
				seg.End = seqnum.Min(seg.End, end)
				s.nxt = seg.End
			}
			if seg.Rule == sack.RuleRescue {
				s.rescue++
			}
			s.transmit(seg.Start, seg.End)
			s.sb.Sent(seg)
			pipe += seg.Len()
		}
		return
	}
	// RFC 3042 limited transmit: one new segment per early duplicate ACK.
	limit := s.ctl.Cwnd() + min(s.dupAcks, 2)*s.mss
	for s.nxt.LessThan(end) && int(s.una.Size(s.nxt))+s.mss <= limit {
		e := seqnum.Min(s.nxt.Add(seqnum.Size(s.mss)), end)
		s.transmit(s.nxt, e)
		s.nxt = e
	}
}

func (s *sim) run() {
	s.send()
	for s.rcvNxt != s.end() || s.una != s.end() {
		if len(s.toRcv) == 0 && len(s.toSnd) == 0 {
			s.t.Fatalf("stalled at tick %d: una %d nxt %d rcvNxt %d cwnd %d pipe %d recovery %v blocks %v",
				s.now, s.base.Size(s.una), s.base.Size(s.nxt), s.base.Size(s.rcvNxt), s.ctl.Cwnd(), s.sb.Pipe(s.nxt), s.inRecovery, s.sb.Blocks())
		}
		s.now++
		for len(s.toRcv) > 0 && s.toRcv[0].at <= s.now {
			p := s.toRcv[0]
			s.toRcv = s.toRcv[1:]
			s.receive(p)
		}
		for len(s.toSnd) > 0 && s.toSnd[0].at <= s.now {
			a := s.toSnd[0]
			s.toSnd = s.toSnd[1:]
			s.onAck(a)
			s.send()
		}
	}
}

// TestRecoveryWithController runs whole transfers with losses through
// the scoreboard, the recorder and each controller: everything is
// delivered without a timeout, every lost segment is retransmitted, and
// little else is.
func TestRecoveryWithController(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drops []int
		extra int // tolerated retransmissions beyond the drops (rescues)
	}{
		{"none", nil, 0},
		{"one", []int{5}, 0},
		{"burst of three", []int{12, 13, 14}, 0},
		{"every tenth", []int{10, 20, 30, 40, 50, 60, 70, 80, 90}, 0},
		{"two windows", []int{3, 7, 40, 41, 44, 48}, 0},
		{"many holes in one window", []int{30, 32, 34, 36, 38, 40, 42, 44}, 0},
		{"near the tail", []int{190, 194}, 2},
	} {
		for _, name := range cc.Names() {
			for _, base := range []seqnum.Value{0, 0xfffe0000, 0xffffffff} {
				t.Run(fmt.Sprintf("%s/%s/%#x", tc.name, name, uint32(base)), func(t *testing.T) {
					const mss = 1000
					ctl, _ := cc.New(name, mss)
					s := &sim{t: t, mss: mss, total: 200, base: base, una: base, nxt: base, rcvNxt: base,
						held: map[seqnum.Value]seqnum.Value{}, ctl: ctl, drop: map[int]bool{}, sent: map[seqnum.Value]int{},
						recover: base}
					s.sb.Init(base, mss)
					for _, d := range tc.drops {
						s.drop[d] = true
					}
					s.run()
					for _, d := range tc.drops {
						if s.sent[base.Add(seqnum.Size(d*mss))] < 2 {
							t.Errorf("segment %d was never retransmitted", d)
						}
					}
					if s.retransmits < len(tc.drops) || s.retransmits > len(tc.drops)+tc.extra {
						t.Errorf("%d retransmissions (%d rescues) for %d drops", s.retransmits, s.rescue, len(tc.drops))
					}
					if len(tc.drops) > 0 && s.recoveries == 0 {
						t.Error("no recovery")
					}
				})
			}
		}
	}
}
