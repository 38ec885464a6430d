package sack

import (
	"encoding/binary"
	"testing"

	"stacklab/stack/tcp/seqnum"
)

// model is a bitmap reference of the SACKed octets, relative to base.
type model struct {
	base        seqnum.Value
	una, sndNxt uint32
	mss         int
	sacked      []bool
}

func (m *model) ranges() [][2]uint32 {
	var out [][2]uint32
	for i := m.una; i < m.sndNxt; i++ {
		if !m.sacked[i] {
			continue
		}
		j := i
		for j < m.sndNxt && m.sacked[j] {
			j++
		}
		out = append(out, [2]uint32{i, j})
		i = j
	}
	return out
}

// lost returns, for each octet in [una, sndNxt), whether RFC 6675 IsLost
// holds, computed hole by hole from the ranges above it.
func (m *model) lost(rs [][2]uint32) []bool {
	out := make([]bool, fuzzSpace)
	prev := m.una
	for k, r := range rs {
		bytes, segs := 0, 0
		for _, above := range rs[k:] {
			l := int(above[1] - above[0])
			bytes += l
			segs += (l + m.mss - 1) / m.mss
		}
		if segs >= DupThresh || bytes > (DupThresh-1)*m.mss {
			for i := prev; i < r[0]; i++ {
				out[i] = true
			}
		}
		prev = r[1]
	}
	return out
}

const fuzzSpace = 1200

// FuzzScoreboard drives a Scoreboard with random ACKs, SACK blocks,
// recoveries and timeouts from any point of the sequence space, and
// checks it against a bitmap model and its own invariants after every
// step.
func FuzzScoreboard(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 0xff, 0x00, 100, 0, 10, 0, 20, 0, 1, 40, 0, 50, 0, 2, 60, 0, 90, 0, 6, 0, 0, 0, 0, 7, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xf0, 37, 3, 200, 1, 44, 2, 8, 0, 0, 0, 0, 4, 5, 0, 9, 0})
	seed := []byte{0xff, 0xff, 0xfe, 0x00, 10}
	for i := 0; i < 60; i++ {
		seed = append(seed, byte(i%10), byte(i*37), byte(i%3), byte(i*11), byte(i%2))
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 5 {
			return
		}
		base := seqnum.Value(binary.BigEndian.Uint32(data))
		mss := 1 + int(data[4])%200
		data = data[5:]
		if len(data) > 5*64 {
			data = data[:5*64] // bound the work per input
		}
		m := &model{base: base, una: 0, sndNxt: 600, mss: mss, sacked: make([]bool, fuzzSpace)}
		var sb Scoreboard
		sb.Init(base, mss)
		recovering := false
		for len(data) >= 5 {
			op := data[0] % 10
			a := uint32(binary.BigEndian.Uint16(data[1:3])) % fuzzSpace
			b := uint32(binary.BigEndian.Uint16(data[3:5])) % 400
			data = data[5:]
			switch {
			case op <= 4:
				// An ACK with up to two blocks; ops 0 and 1 also move the
				// cumulative ACK.
				ack := m.una
				if op <= 1 {
					ack = m.una + a%300
				}
				blocks := []Block{{base + seqnum.Value(a), base + seqnum.Value(a+b)}}
				if op%2 == 0 {
					blocks = append(blocks, Block{base + seqnum.Value(a/2), base + seqnum.Value(a/2+b/2)})
				}
				before := 0
				for i := m.una; i < m.sndNxt; i++ {
					if m.sacked[i] {
						before++
					}
				}
				if ack > m.una && ack <= m.sndNxt {
					for i := m.una; i < ack; i++ {
						m.sacked[i] = false
					}
					m.una = ack
					before = 0
					for i := m.una; i < m.sndNxt; i++ {
						if m.sacked[i] {
							before++
						}
					}
				}
				for _, bl := range blocks {
					s, e := uint32(bl.Start-base), uint32(bl.End-base)
					if s >= e || e <= m.una || e > m.sndNxt {
						continue
					}
					s = max(s, m.una)
					for i := s; i < e; i++ {
						m.sacked[i] = true
					}
				}
				after := 0
				for i := m.una; i < m.sndNxt; i++ {
					if m.sacked[i] {
						after++
					}
				}
				added := sb.Update(base+seqnum.Value(ack), base+seqnum.Value(m.sndNxt), blocks)
				if len(m.ranges()) <= MaxRanges && added != after-before {
					t.Fatalf("Update added %d, model %d", added, after-before)
				}
			case op == 5:
				if m.sndNxt+b < fuzzSpace {
					m.sndNxt += b
				}
			case op == 6:
				if m.una < m.sndNxt {
					inFlight := sb.Una().LessThan(sb.HighRxt())
					seg := sb.StartRecovery(base + seqnum.Value(m.sndNxt))
					if seg.Start != base+seqnum.Value(m.una) || seg.Len() > mss || (seg.Len() == 0) != inFlight {
						t.Fatalf("StartRecovery %v (previous retransmission in flight: %v)", seg, inFlight)
					}
					recovering = true
				}
			case op == 7 || op == 8:
				if !recovering {
					break
				}
				seg, ok := sb.NextSeg(base+seqnum.Value(m.sndNxt), op == 8)
				if !ok {
					break
				}
				s, e := uint32(seg.Start-base), uint32(seg.End-base)
				if seg.Len() == 0 || seg.Len() > mss {
					t.Fatalf("NextSeg %v: length %d", seg, seg.Len())
				}
				switch seg.Rule {
				case RuleNew:
					if s != m.sndNxt {
						t.Fatalf("rule 2 segment %v not at SND.NXT %d", seg, m.sndNxt)
					}
				case RuleLost, RuleUnSACKed, RuleRescue:
					if s < m.una || e > m.sndNxt {
						t.Fatalf("retransmission %v (%d..%d) outside [%d,%d)", seg, s, e, m.una, m.sndNxt)
					}
					if m.sacked[s] || m.sacked[e-1] {
						t.Fatalf("retransmission %v of SACKed data", seg)
					}
					if rs := m.ranges(); seg.Rule == RuleLost && len(rs) <= MaxRanges && !m.lost(rs)[s] {
						t.Fatalf("rule 1 segment %v not lost", seg)
					}
					if seg.Rule != RuleRescue && s < uint32(sb.HighRxt()-base) {
						t.Fatalf("retransmission %v below HighRxt %d", seg, sb.HighRxt()-base)
					}
				default:
					t.Fatalf("NextSeg rule %v", seg.Rule)
				}
				sb.Sent(seg)
			case op == 9:
				for i := range m.sacked {
					m.sacked[i] = false
				}
				sb.Reset(base + seqnum.Value(m.una))
				recovering = false
			}
			sndNxt := base + seqnum.Value(m.sndNxt)
			checkInvariants(t, &sb, sndNxt)
			if sb.Una() != base+seqnum.Value(m.una) {
				t.Fatalf("una %d, model %d", sb.Una()-base, m.una)
			}
			rs := m.ranges()
			exact := len(rs) <= MaxRanges
			lost := m.lost(rs)
			for i := m.una; i < m.sndNxt; i++ {
				got := sb.IsSACKed(base + seqnum.Value(i))
				if got && !m.sacked[i] || exact && got != m.sacked[i] {
					t.Fatalf("IsSACKed(%d) = %v, model %v", i, got, m.sacked[i])
				}
				if exact && sb.IsLost(base+seqnum.Value(i)) != lost[i] {
					t.Fatalf("IsLost(%d) = %v, model %v (ranges %v)", i, !lost[i], lost[i], rs)
				}
			}
		}
	})
}
