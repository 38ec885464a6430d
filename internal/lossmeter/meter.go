// Package lossmeter counts retransmissions and spurious retransmissions
// on the wire, the same way for any TCP sender: it stands on both ends
// of an impairment pipe (sim.Pipe), sees each frame as the sender gives
// it to the pipe and again as the pipe hands it to the receiver, and
// never asks the sender's own counters. The loss table (bench/loss.sh)
// uses it for every row — stacklab in simulated time, gVisor's netstack,
// the Linux kernel over TUN — so that their figures are comparable.
//
// For each TCP flow going through the pipe it counts:
//
//   - data segments: segments carrying payload the sender gave the pipe;
//   - retransmitted segments: data segments that start below the highest
//     sequence number the flow had sent before them (a segment that
//     repeats any byte already sent, whatever the reason);
//   - spurious retransmissions: retransmitted segments every byte of
//     which reached the receiver in a copy sent earlier (the original or
//     an earlier retransmission) — the retransmission was not needed. A
//     copy the link duplicated counts as that copy, not as a new one, so
//     the link's duplication adds nothing here (it does to a D-SACK
//     count, as the receiver cannot tell a duplicate from a spurious
//     retransmission).
//
// Whether a copy reached the receiver is known only from the pipe's far
// end, possibly after the retransmission was sent (an original held
// back by reordering), so spurious retransmissions are decided when
// [Meter.Stats] is called: call it after the transfer.
//
// Every table is bounded: frames in flight are matched through a ring
// of [Ring] entries (a frame older than that when it is delivered is
// counted in Stats.Unmatched), at most [MaxFlows] flows, and per flow at
// most [MaxRanges] delivered ranges and retransmissions (beyond them,
// Stats.Overflow counts what was not recorded).
package lossmeter

import (
	"encoding/binary"
	"net/netip"
	"sort"
	"sync"

	"stacklab/stack"
)

// Bounds of the meter's tables.
const (
	Ring      = 1 << 16 // frames in flight matched from entry to exit
	MaxFlows  = 64
	MaxRanges = 1 << 20
)

// Stats are a meter's counts, over all TCP flows it saw.
type Stats struct {
	DataSegments uint64 // segments with payload given to the pipe
	Retransmits  uint64 // of them, repeating bytes already sent
	Spurious     uint64 // of them, whose bytes all reached the receiver in an earlier copy
	Unmatched    uint64 // frames delivered too late to match (more than Ring frames in flight)
	Overflow     uint64 // frames, flows or ranges not recorded because a table was full
}

// Meter watches one direction of a pipe. Its methods are safe for
// concurrent use.
type Meter struct {
	mu    sync.Mutex
	hdr   int
	next  uint64 // the last tag given
	ring  []slot
	flows map[flowKey]*flow
	st    Stats
}

// slot remembers one frame in flight: its tag, the packet ID it came
// with, and the transmission it is (flow nil for anything not a data
// segment).
type slot struct {
	tag  uint64
	id   uint64
	flow *flow
	s, e int64
}

type flowKey struct {
	src, dst   netip.Addr
	sport, dpt uint16
}

// flow is one direction of one TCP connection.
type flow struct {
	base   uint32 // sequence number of relative offset 0
	sndMax int64  // highest relative offset sent, exclusive
	// delivered covers the bytes that reached the receiver, each piece
	// with the earliest tag among the copies that brought it; sorted,
	// not overlapping.
	delivered []piece
	retrans   []piece // each retransmission's range and tag
}

type piece struct {
	s, e int64
	tag  uint64
}

// New returns a meter for a pipe whose frames start with a link header
// of hdr bytes (sim.HeaderLen: 14 for Ethernet, 0 for raw IP).
func New(hdr int) *Meter {
	return &Meter{hdr: hdr, ring: make([]slot, Ring), flows: make(map[flowKey]*flow)}
}

// Entry returns a function that records each frame and passes it to
// send (the pipe's Send) under a tag of the meter's own in pkt.ID;
// [Meter.Exit] gives the frame its own ID back.
func (m *Meter) Entry(send func(stack.Packet)) func(stack.Packet) {
	return func(pkt stack.Packet) {
		send(m.sent(pkt))
	}
}

// Exit returns a function that records each frame the pipe delivers and
// passes it, with its ID as it was given to Entry, to deliver.
func (m *Meter) Exit(deliver func(stack.Packet)) func(stack.Packet) {
	return func(pkt stack.Packet) {
		deliver(m.delivered(pkt))
	}
}

// Link is [Meter.Entry] as a stack.Link, for a NIC whose link is a pipe.
func (m *Meter) Link(l stack.Link) stack.Link { return linkFunc(m.Entry(l.Send)) }

type linkFunc func(stack.Packet)

func (f linkFunc) Send(pkt stack.Packet) { f(pkt) }

func (m *Meter) sent(pkt stack.Packet) stack.Packet {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	tag := m.next
	sl := &m.ring[tag%Ring]
	*sl = slot{tag: tag, id: pkt.ID}
	if k, seq, n, ok := m.parse(pkt.Data); ok && n > 0 {
		m.st.DataSegments++
		if f := m.flow(k, seq); f != nil {
			s := f.rel(seq)
			e := s + int64(n)
			if s < f.sndMax {
				m.st.Retransmits++
				if len(f.retrans) < MaxRanges {
					f.retrans = append(f.retrans, piece{s, e, tag})
				} else {
					m.st.Overflow++
				}
			}
			f.sndMax = max(f.sndMax, e)
			sl.flow, sl.s, sl.e = f, s, e
		}
	}
	pkt.ID = tag
	return pkt
}

func (m *Meter) delivered(pkt stack.Packet) stack.Packet {
	m.mu.Lock()
	defer m.mu.Unlock()
	sl := &m.ring[pkt.ID%Ring]
	if sl.tag != pkt.ID || pkt.ID == 0 {
		m.st.Unmatched++
		return pkt
	}
	if sl.flow != nil {
		if !sl.flow.deliver(piece{sl.s, sl.e, sl.tag}) {
			m.st.Overflow++
		}
	}
	pkt.ID = sl.id
	return pkt
}

// flow returns the flow of k, starting it at seq when it is new; nil
// when the table is full.
func (m *Meter) flow(k flowKey, seq uint32) *flow {
	if f := m.flows[k]; f != nil {
		return f
	}
	if len(m.flows) >= MaxFlows {
		m.st.Overflow++
		return nil
	}
	f := &flow{base: seq}
	m.flows[k] = f
	return f
}

// rel is seq as an offset from the flow's base, unwrapped around the
// highest offset sent so far.
func (f *flow) rel(seq uint32) int64 {
	return f.sndMax + int64(int32(seq-(f.base+uint32(f.sndMax))))
}

// deliver records that p's bytes reached the receiver; false if the
// table is full.
func (f *flow) deliver(p piece) bool {
	d := f.delivered
	i := sort.Search(len(d), func(i int) bool { return d[i].e > p.s })
	// The common case: beyond everything delivered so far.
	if i == len(d) {
		if len(d) > 0 && d[len(d)-1].e == p.s && d[len(d)-1].tag == p.tag {
			d[len(d)-1].e = p.e
			return true
		}
		if len(d) >= MaxRanges {
			return false
		}
		f.delivered = append(d, p)
		return true
	}
	// Rebuild the pieces from i on that overlap [p.s, p.e).
	var out []piece
	at := p.s
	j := i
	for ; j < len(d) && d[j].s < p.e; j++ {
		q := d[j]
		if q.s < at {
			out = append(out, piece{q.s, at, q.tag})
		} else if q.s > at {
			out = append(out, piece{at, q.s, p.tag})
		}
		lo, hi := max(q.s, at), min(q.e, p.e)
		out = append(out, piece{lo, hi, min(q.tag, p.tag)})
		if q.e > p.e {
			out = append(out, piece{p.e, q.e, q.tag})
		}
		at = hi
	}
	if at < p.e {
		out = append(out, piece{at, p.e, p.tag})
	}
	if len(d)-(j-i)+len(out) > MaxRanges {
		return false
	}
	rest := append(out, d[j:]...)
	f.delivered = append(d[:i], rest...)
	return true
}

// coveredBefore reports whether every byte of [s, e) was delivered by a
// copy tagged before tag.
func (f *flow) coveredBefore(s, e int64, tag uint64) bool {
	d := f.delivered
	i := sort.Search(len(d), func(i int) bool { return d[i].e > s })
	at := s
	for ; i < len(d) && at < e; i++ {
		if d[i].s > at || d[i].tag >= tag {
			return false
		}
		at = d[i].e
	}
	return at >= e
}

// Stats returns the counts so far; spurious retransmissions are judged
// on what has been delivered by now.
func (m *Meter) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	for _, f := range m.flows {
		for _, r := range f.retrans {
			if f.coveredBefore(r.s, r.e, r.tag) {
				st.Spurious++
			}
		}
	}
	return st
}

// parse finds a TCP segment in frame: its flow, sequence number and
// payload length. IPv4 (not a later fragment) and IPv6 without
// extension headers.
func (m *Meter) parse(frame []byte) (k flowKey, seq uint32, n int, ok bool) {
	if len(frame) < m.hdr {
		return k, 0, 0, false
	}
	b := frame[m.hdr:]
	var tcp []byte
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		ihl := int(b[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(b[2:4]))
		if b[9] != 6 || ihl < 20 || total < ihl || total > len(b) || binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
			return k, 0, 0, false
		}
		k.src = netip.AddrFrom4([4]byte(b[12:16]))
		k.dst = netip.AddrFrom4([4]byte(b[16:20]))
		tcp = b[ihl:total]
	case len(b) >= 40 && b[0]>>4 == 6:
		plen := int(binary.BigEndian.Uint16(b[4:6]))
		if b[6] != 6 || 40+plen > len(b) {
			return k, 0, 0, false
		}
		k.src = netip.AddrFrom16([16]byte(b[8:24]))
		k.dst = netip.AddrFrom16([16]byte(b[24:40]))
		tcp = b[40 : 40+plen]
	default:
		return k, 0, 0, false
	}
	if len(tcp) < 20 {
		return k, 0, 0, false
	}
	off := int(tcp[12]>>4) * 4
	if off < 20 || off > len(tcp) {
		return k, 0, 0, false
	}
	k.sport = binary.BigEndian.Uint16(tcp[0:2])
	k.dpt = binary.BigEndian.Uint16(tcp[2:4])
	seq = binary.BigEndian.Uint32(tcp[4:8])
	if tcp[13]&0x02 != 0 { // SYN: its sequence number comes before the data
		seq++
	}
	return k, seq, len(tcp) - off, true
}
