package trace

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// ConnStats sums up one TCP connection as one vantage point saw it.
// Index 0 of each pair is the direction from A (the side that sent the
// first packet seen, normally the SYN) to B.
type ConnStats struct {
	Vantage      string // "" for a foreign capture
	A, B         netip.AddrPort
	NameA, NameB string
	Packets      [2]int
	// Bytes counts payload bytes, each sequence number once.
	Bytes [2]uint64
	// Retrans counts segments whose data (or FIN) had been sent before.
	Retrans [2]int
	// RTT is the handshake round trip seen at the vantage point: SYN to
	// SYN-ACK at the client, SYN-ACK to ACK at the server; zero if unseen.
	RTT        time.Duration
	Start, End time.Duration
	SYN, FIN   [2]bool
	RST        [2]bool
}

// State describes how the connection ended, as far as the capture shows:
// "refused", "reset by A|B", "closed", "half-closed by A|B", "open".
func (c *ConnStats) State() string {
	switch {
	case c.RST[1] && !c.SYN[1] && c.Packets[1] <= 1 && c.Bytes[0] == 0:
		return "refused"
	case c.RST[0]:
		return "reset by " + c.NameA
	case c.RST[1]:
		return "reset by " + c.NameB
	case c.FIN[0] && c.FIN[1]:
		return "closed"
	case c.FIN[0]:
		return "half-closed by " + c.NameA
	case c.FIN[1]:
		return "half-closed by " + c.NameB
	}
	return "open"
}

// String formats the connection on one line:
//
//	tcp client:49152 ⇄ server:80  6/5 pkts  5/5 B  retrans 0/0  rtt 20.000 ms  0.021–0.081 s  closed
func (c *ConnStats) String() string {
	var b strings.Builder
	if c.Vantage != "" {
		b.WriteString("at " + c.Vantage + ": ")
	}
	fmt.Fprintf(&b, "tcp %s:%d ⇄ %s:%d  %d/%d pkts  %d/%d B  retrans %d/%d",
		c.NameA, c.A.Port(), c.NameB, c.B.Port(), c.Packets[0], c.Packets[1], c.Bytes[0], c.Bytes[1], c.Retrans[0], c.Retrans[1])
	if c.RTT > 0 {
		fmt.Fprintf(&b, "  rtt %.3f ms", float64(c.RTT)/float64(time.Millisecond))
	}
	fmt.Fprintf(&b, "  %.6f–%.6f s  %s", c.Start.Seconds(), c.End.Seconds(), c.State())
	return b.String()
}

// connDir is one direction's running state.
type connDir struct {
	high    uint32 // highest relative sequence number sent, plus one
	hasHigh bool
}

type connAcc struct {
	stats   ConnStats
	dir     [2]connDir
	synTime time.Duration // when the first SYN (or SYN-ACK) was seen
	synAck  bool          // the first handshake packet seen was a SYN-ACK
	hasSyn  bool
	rttDone bool
	order   int
}

// Conns accumulates [ConnStats] from packet summaries, per vantage point
// and connection, bounded to max connections (the oldest are kept; later
// ones are not tracked once full).
type Conns struct {
	m   map[connAccKey]*connAcc
	max int
}

type connAccKey struct {
	vantage string
	conn    connKey
}

// NewConns returns an empty accumulator tracking at most max connections
// (default 10000).
func NewConns(max int) *Conns {
	if max <= 0 {
		max = 10000
	}
	return &Conns{m: make(map[connAccKey]*connAcc), max: max}
}

// Add counts one packet summary; non-TCP summaries are ignored.
func (cs *Conns) Add(s *Summary) {
	if s.Proto != "tcp" || s.Malformed != "" {
		return
	}
	k := connKey{s.SrcAddr, s.DstAddr}
	if addrPortLess(s.DstAddr, s.SrcAddr) {
		k = connKey{s.DstAddr, s.SrcAddr}
	}
	key := connAccKey{s.Vantage, k}
	c := cs.m[key]
	if c == nil {
		if len(cs.m) >= cs.max {
			return
		}
		c = &connAcc{order: len(cs.m)}
		c.stats = ConnStats{Vantage: s.Vantage, A: s.SrcAddr, B: s.DstAddr, NameA: s.Src, NameB: s.Dst, Start: s.Time}
		// The SYN-ACK's sender is the server: put the client first.
		if strings.HasPrefix(s.Flags, "S") && s.HasAck {
			c.stats.A, c.stats.B, c.stats.NameA, c.stats.NameB = s.DstAddr, s.SrcAddr, s.Dst, s.Src
		}
		cs.m[key] = c
	}
	st := &c.stats
	d := 0
	if s.SrcAddr != st.A {
		d = 1
	}
	st.Packets[d]++
	st.End = s.Time
	syn := strings.Contains(s.Flags, "S")
	fin := strings.Contains(s.Flags, "F")
	if strings.Contains(s.Flags, "R") {
		st.RST[d] = true
	}
	if syn {
		st.SYN[d] = true
	}
	if fin {
		st.FIN[d] = true
	}
	// Handshake RTT: the first SYN (or SYN-ACK) to the next packet the
	// other way.
	if syn && !c.hasSyn {
		c.hasSyn, c.synTime, c.synAck = true, s.Time, s.HasAck
	} else if c.hasSyn && !c.rttDone {
		first := 0
		if c.synAck {
			first = 1
		}
		if d != first && s.Time >= c.synTime {
			st.RTT, c.rttDone = s.Time-c.synTime, true
		}
	}
	// Sequence space: data, SYN and FIN each take numbers.
	n := uint32(s.Len)
	if syn {
		n++
	}
	if fin {
		n++
	}
	if n == 0 {
		return
	}
	dir := &c.dir[d]
	end := s.Seq + n
	switch {
	case !dir.hasHigh:
		dir.high, dir.hasHigh = end, true
		st.Bytes[d] += uint64(s.Len)
	case int32(end-dir.high) > 0:
		if int32(s.Seq-dir.high) < 0 {
			st.Retrans[d]++ // overlaps old data, brings new too
			st.Bytes[d] += uint64(end - dir.high)
		} else {
			st.Bytes[d] += uint64(s.Len)
		}
		dir.high = end
	case s.Len == 1 && s.Seq+1 == dir.high && !syn && !fin:
		// A keepalive probe: one old byte (RFC 9293 §3.8.4).
	default:
		st.Retrans[d]++
	}
}

// List returns the connections in the order they were first seen. A nil
// Conns has none.
func (cs *Conns) List() []ConnStats {
	if cs == nil {
		return nil
	}
	out := make([]*connAcc, 0, len(cs.m))
	for _, c := range cs.m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	list := make([]ConnStats, len(out))
	for i, c := range out {
		list[i] = c.stats
	}
	return list
}
