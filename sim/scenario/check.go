package scenario

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"stacklab/sim/scenario/diag"
	"stacklab/sim/scenario/expect"
	"stacklab/sim/scenario/lang"
	"stacklab/sim/scenario/pattern"
	"stacklab/stack"
)

// scheduleChecks puts socket and counter checks with a time on the clock.
func (r *runner) scheduleChecks() {
	for _, e := range r.sc.Expect {
		if (e.Kind == expect.ExpSocket || e.Kind == expect.ExpCounter) && e.At != nil {
			e := e
			r.clock.AfterFunc(*e.At, func() { r.checkState(e) })
		}
	}
}

// checkEnd runs the socket and counter checks that have no time.
func (r *runner) checkEnd() {
	for _, e := range r.sc.Expect {
		if (e.Kind == expect.ExpSocket || e.Kind == expect.ExpCounter) && e.At == nil {
			r.checkState(e)
		}
	}
}

// checkState evaluates a socket or counter expectation now.
func (r *runner) checkState(e *expect.Expectation) {
	h := r.hosts[e.Host]
	when := fmt.Sprintf("at %.6f", r.clock.Now().Sub(r.start).Seconds())
	if e.Kind == expect.ExpCounter {
		v, ok := h.st.Counter(e.Field)
		if !ok {
			var names []string
			for _, c := range h.st.Counters() {
				names = append(names, c.Name)
			}
			r.failAt(e.Pos, e.Text, fmt.Sprintf("unknown counter %q%s", e.Field, diag.DidYouMean(e.Field, names)), nil)
			return
		}
		want, _ := strconv.ParseInt(e.Value, 10, 64)
		if !expect.Compare(int64(v), e.Op, want) {
			r.failAt(e.Pos, e.Text, fmt.Sprintf("%s %s is %d %s", e.Host, e.Field, v, when),
				[]fieldDiff{{e.Field, e.Op + " " + e.Value, strconv.FormatUint(v, 10)}})
		}
		return
	}
	fd, name := e.FD, strconv.Itoa(e.FD)
	if e.Var != "" {
		name = e.Var
		fd = -1
		for _, t := range r.tasks {
			if t.h == h && t.main {
				if v, ok := t.vars[e.Var]; ok {
					fd = v
				}
			}
		}
		if fd < 0 {
			r.failAt(e.Pos, e.Text, fmt.Sprintf("%s's program has no open socket %s %s", e.Host, e.Var, when), nil)
			return
		}
	}
	got, err := r.socketField(h, fd, e.Field)
	if err != nil {
		r.failAt(e.Pos, e.Text, fmt.Sprintf("%s fd %s %s: %v", e.Host, name, when, err), nil)
		return
	}
	var ok bool
	if e.Field == "state" || e.Field == "congestion" || e.Field == "recovery" {
		ok = strings.EqualFold(got, e.Value) == (e.Op == "==")
		if e.Op != "==" && e.Op != "!=" {
			r.failAt(e.Pos, e.Text, fmt.Sprintf("%s compares with == or !=", e.Field), nil)
			return
		}
	} else {
		g, _ := expect.ParseQuantity(got)
		w, _ := expect.ParseQuantity(e.Value)
		ok = expect.Compare(g, e.Op, w)
	}
	if !ok {
		r.failAt(e.Pos, e.Text, fmt.Sprintf("%s fd %s %s is %s %s", e.Host, name, e.Field, got, when),
			[]fieldDiff{{e.Field, e.Op + " " + e.Value, got}})
	}
}

// socketField reads one field of a socket's info or TCP internals.
func (r *runner) socketField(h *hostRT, fd int, field string) (string, error) {
	if field == "state" {
		info, err := h.st.Info(fd)
		if err != nil {
			return "", fmt.Errorf("no such socket (%s)", resultName(err))
		}
		if info.State == "" {
			return "NONE", nil
		}
		return info.State, nil
	}
	ti, err := h.st.TCPInfo(fd)
	if err != nil {
		return "", fmt.Errorf("no TCP connection on it (%s)", resultName(err))
	}
	switch field {
	case "cwnd":
		return strconv.Itoa(ti.Cwnd), nil
	case "ssthresh":
		return strconv.Itoa(ti.Ssthresh), nil
	case "srtt":
		return ti.SRTT.String(), nil
	case "rttvar":
		return ti.RTTVar.String(), nil
	case "rto":
		return ti.RTO.String(), nil
	case "mss":
		return strconv.Itoa(ti.MSS), nil
	case "snd_wnd":
		return strconv.Itoa(ti.SndWnd), nil
	case "rcv_wnd":
		return strconv.Itoa(ti.RcvWnd), nil
	case "retransmits":
		return strconv.Itoa(ti.Retransmits), nil
	case "rtos":
		return strconv.Itoa(ti.RTOs), nil
	case "fast_retransmits":
		return strconv.Itoa(ti.FastRetransmits), nil
	case "bytes_sent":
		return strconv.FormatUint(ti.BytesSent, 10), nil
	case "bytes_acked":
		return strconv.FormatUint(ti.BytesAcked, 10), nil
	case "bytes_received":
		return strconv.FormatUint(ti.BytesReceived, 10), nil
	case "congestion":
		return ti.Congestion, nil
	case "recovery":
		return ti.Recovery, nil
	}
	return "", fmt.Errorf("unknown field %q", field)
}

// pexpStream is the ordered packet expectations at one vantage point,
// matched as the frames pass: next is the first not yet matched.
type pexpStream struct {
	vantage string
	exps    []int // indexes in sc.Expect, in order
	next    int
}

// initPacketStreams prepares the matching of packet expectations as
// frames pass. The runner keeps every frame's summary only while that
// can change the result: with none/count expectations (which count over
// the whole run) always, else until each ordered expectation has matched
// — matched in order as frames pass, the first match of each is the one
// checkPackets would find, so the frames after it need not be kept. A
// long run whose expectations all match early then holds no frames.
func (r *runner) initPacketStreams() {
	byV := map[string]int{}
	for i, e := range r.sc.Expect {
		switch e.Kind {
		case expect.ExpPacket:
			j, ok := byV[e.Vantage]
			if !ok {
				j = len(r.pstream)
				byV[e.Vantage] = j
				r.pstream = append(r.pstream, pexpStream{vantage: e.Vantage})
			}
			r.pstream[j].exps = append(r.pstream[j].exps, i)
			r.keepPkts = true
		case expect.ExpNone, expect.ExpCount:
			r.keepPkts, r.keepAll = true, true
		}
	}
}

// streamPackets matches p against the next ordered expectation at each
// vantage point it was seen at, and stops keeping frames once all have
// matched.
func (r *runner) streamPackets(p *pattern.Summary) {
	if r.keepAll {
		return
	}
	done := true
	for i := range r.pstream {
		st := &r.pstream[i]
		if st.next < len(st.exps) && atVantage(p, st.vantage) {
			e := r.sc.Expect[st.exps[st.next]]
			r.diffs = e.Pattern.Match(p, r.owns, r.diffs[:0])
			if len(r.diffs) == 0 && (e.At == nil || p.Time == *e.At) {
				st.next++
			}
		}
		if st.next < len(st.exps) {
			done = false
		}
	}
	if done {
		r.keepPkts = false
		r.pkts = nil // checkPackets has nothing left to find
	}
}

// timeDiff is the difference between an expectation's time and a
// packet's, in microseconds, or in nanoseconds where the microseconds
// are the same: "at 20.019ms" does not match a packet at 20.019184 ms,
// and the message says so rather than showing the same figure twice.
func timeDiff(want, got time.Duration) pattern.FieldDiff {
	w, g := fmt.Sprintf("%.6f", want.Seconds()), fmt.Sprintf("%.6f", got.Seconds())
	if w == g {
		w, g = fmt.Sprintf("%.9f", want.Seconds()), fmt.Sprintf("%.9f", got.Seconds())
	}
	return pattern.FieldDiff{Field: "time", Want: w, Got: g}
}

// checkPackets matches the packet expectations against the frames seen
// at each vantage point: ordered ones as a subsequence, then none and
// count.
func (r *runner) checkPackets() {
	if !r.keepPkts {
		return // every one matched as the frames passed (streamPackets)
	}
	cursor := map[string]int{} // vantage → index after the last match
	var diffs []pattern.FieldDiff
	for _, e := range r.sc.Expect {
		switch e.Kind {
		case expect.ExpPacket:
			found := -1
			best, bestN := -1, 1<<30
			for i := cursor[e.Vantage]; i < len(r.pkts); i++ {
				p := &r.pkts[i]
				if !atVantage(p, e.Vantage) {
					continue
				}
				diffs = e.Pattern.Match(p, r.owns, diffs)
				if e.At != nil && p.Time != *e.At && len(diffs) == 0 {
					diffs = append(diffs, timeDiff(*e.At, p.Time))
				}
				if len(diffs) == 0 {
					found = i
					break
				}
				score := len(diffs)
				for _, d := range diffs {
					if d.Field == "proto" {
						score += 10 // another protocol is no near miss
					}
				}
				if score < bestN {
					best, bestN = i, score
				}
			}
			if found >= 0 {
				cursor[e.Vantage] = found + 1
				continue
			}
			msg := fmt.Sprintf("no packet at %s matches, after the previous expectation", e.Vantage)
			var fd []pattern.FieldDiff
			var recent []string
			if best >= 0 {
				p := &r.pkts[best]
				msg += fmt.Sprintf("; nearest: #%d at %.6f %s", p.ID, p.Time.Seconds(), p.Format(r.names))
				fd = append(fd, e.Pattern.Match(p, r.owns, nil)...)
				if e.At != nil && p.Time != *e.At {
					fd = append(fd, timeDiff(*e.At, p.Time))
				}
			}
			recent = r.packetContext(e.Vantage, cursor[e.Vantage])
			r.failures = append(r.failures, &Failure{Pos: e.Pos, What: e.Text, Msg: msg, Diffs: toDiffs(fd), Recent: recent})
		case expect.ExpNone, expect.ExpCount:
			n, first := 0, -1
			for i := range r.pkts {
				p := &r.pkts[i]
				if !atVantage(p, e.Vantage) {
					continue
				}
				if diffs = e.Pattern.Match(p, r.owns, diffs); len(diffs) == 0 {
					if first < 0 {
						first = i
					}
					n++
				}
			}
			if e.Kind == expect.ExpNone && n > 0 {
				p := &r.pkts[first]
				r.failures = append(r.failures, &Failure{Pos: e.Pos, What: e.Text,
					Msg:    fmt.Sprintf("%s at %s; the first: #%d at %.6f %s", packetsMatch(n), e.Vantage, p.ID, p.Time.Seconds(), p.Format(r.names)),
					Diffs:  []FieldDiff{{"count", "0", strconv.Itoa(n)}},
					Recent: r.packetContext(e.Vantage, first-recentN+1)})
			}
			if e.Kind == expect.ExpCount {
				want, _ := strconv.ParseInt(e.Value, 10, 64)
				if !expect.Compare(int64(n), e.Op, want) {
					r.failures = append(r.failures, &Failure{Pos: e.Pos, What: e.Text,
						Msg:   fmt.Sprintf("%s at %s", packetsMatch(n), e.Vantage),
						Diffs: []FieldDiff{{"count", e.Op + " " + e.Value, strconv.Itoa(n)}}})
				}
			}
		}
	}
}

// packetsMatch says how many packets match: "1 packet matches", "3
// packets match".
func packetsMatch(n int) string {
	if n == 1 {
		return "1 packet matches"
	}
	return fmt.Sprintf("%d packets match", n)
}

// atVantage reports whether p was seen at v: "host" or "host:ethN".
func atVantage(p *pattern.Summary, v string) bool {
	return p.Host == v || p.Vantage == v
}

func toDiffs(d []pattern.FieldDiff) []FieldDiff {
	out := make([]FieldDiff, len(d))
	for i, x := range d {
		out[i] = FieldDiff(x)
	}
	return out
}

// packetContext lists up to recentN packets at a vantage from index i.
func (r *runner) packetContext(vantage string, from int) []string {
	var out []string
	for i := max(from, 0); i < len(r.pkts) && len(out) < recentN; i++ {
		p := &r.pkts[i]
		if !atVantage(p, vantage) {
			continue
		}
		out = append(out, fmt.Sprintf("%9.6f %s %-3s #%d %s", p.Time.Seconds(), p.Vantage, p.Dir, p.ID, p.Format(r.names)))
	}
	return out
}

// connKey is a flow's two ends, A being the first to send.
type connKey struct{ a, b netip.AddrPort }

// connAcc is one flow's summary as it is built.
type connAcc struct {
	ConnSummary
	maxAB, maxBA uint32
	flags        map[string]bool
	synAt        time.Duration // A's SYN, for the handshake RTT
	sawSyn       bool
}

// connTable builds the connection summaries from the frames as they
// pass, so that the runner need not keep them.
type connTable struct {
	byKey map[connKey]*connAcc
	order []connKey
	// last caches the two previous frames' flows, senders and
	// directions, the most recent first: a transfer's data and ACKs
	// alternate between its two ends, and this saves the ownership check
	// and two map lookups per frame.
	last [2]connLast
}

// connLast is one entry of connTable.last.
type connLast struct {
	host     string
	src, dst netip.AddrPort
	proto    string
	c        *connAcc
	ab       bool
}

// add counts frame p in its flow's summary: each packet once, where it
// was sent.
func (t *connTable) add(r *runner, p *pattern.Summary) {
	if t.byKey == nil {
		t.byKey = map[connKey]*connAcc{}
	}
	if p.Proto == "tcp" && p.Dir == stack.DirIn && p.Flags == "S." {
		// a SYN-ACK reaching the end that sent the SYN
		if c := t.byKey[connKey{p.Dst, p.Src}]; c != nil && c.sawSyn && c.HandshakeRTT == 0 && r.owns(p.Host, p.Dst.Addr()) {
			c.HandshakeRTT = p.Time - c.synAt
		}
	}
	if (p.Proto != "tcp" && p.Proto != "udp") || p.Dir != stack.DirOut {
		return
	}
	var c *connAcc
	var ab bool
	if l := &t.last[0]; l.c != nil && l.src == p.Src && l.dst == p.Dst && l.host == p.Host && l.proto == p.Proto {
		c, ab = l.c, l.ab
	} else if l := &t.last[1]; l.c != nil && l.src == p.Src && l.dst == p.Dst && l.host == p.Host && l.proto == p.Proto {
		c, ab = l.c, l.ab
		t.last[0], t.last[1] = t.last[1], t.last[0]
	} else {
		if !r.owns(p.Host, p.Src.Addr()) {
			return
		}
		k := connKey{p.Src, p.Dst}
		ab = true
		if _, ok := t.byKey[k]; !ok {
			if _, ok := t.byKey[connKey{p.Dst, p.Src}]; ok {
				k, ab = connKey{p.Dst, p.Src}, false
			}
		}
		c = t.byKey[k]
		if c == nil {
			c = &connAcc{ConnSummary: ConnSummary{Proto: p.Proto, A: r.name(k.a), B: r.name(k.b), Start: p.Time}, flags: map[string]bool{}}
			t.byKey[k] = c
			t.order = append(t.order, k)
		}
		t.last[1] = t.last[0]
		t.last[0] = connLast{host: p.Host, src: p.Src, dst: p.Dst, proto: p.Proto, c: c, ab: ab}
	}
	c.End = p.Time
	if ab && p.Flags == "S" && !c.sawSyn {
		c.sawSyn, c.synAt = true, p.Time
	}
	end := p.Seq + uint32(p.Len)
	if ab {
		c.PacketsAB++
		c.BytesAB += int64(p.Len)
		if p.Proto == "tcp" && p.Len > 0 && int32(end-c.maxAB) <= 0 && c.maxAB != 0 {
			c.RetransAB++
		}
		if int32(end-c.maxAB) > 0 {
			c.maxAB = end
		}
	} else {
		c.PacketsBA++
		c.BytesBA += int64(p.Len)
		if p.Proto == "tcp" && p.Len > 0 && int32(end-c.maxBA) <= 0 && c.maxBA != 0 {
			c.RetransBA++
		}
		if int32(end-c.maxBA) > 0 {
			c.maxBA = end
		}
	}
	if p.Flags == "." || p.Flags == "P." || p.Flags == "" {
		return // the flags of nearly every segment: none to note
	}
	for _, f := range [...]struct{ c, name string }{{"S", "SYN"}, {"F", "FIN"}, {"R", "RST"}} {
		if strings.Contains(p.Flags, f.c) {
			c.flags[f.name] = true
		}
	}
}

// connSummaries summarizes each flow from the frames its two ends sent.
func (r *runner) connSummaries() []ConnSummary {
	var out []ConnSummary
	for _, k := range r.conns.order {
		c := r.conns.byKey[k]
		var fl []string
		for _, n := range []string{"SYN", "FIN", "RST"} {
			if c.flags[n] {
				fl = append(fl, n)
			}
		}
		c.Flags = strings.Join(fl, " ")
		if c.Proto == "tcp" {
			c.StateA = r.states[stack.Tuple{Local: k.a, Remote: k.b}]
			c.StateB = r.states[stack.Tuple{Local: k.b, Remote: k.a}]
		}
		out = append(out, c.ConnSummary)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// expectsCall reports whether an `expect:` entry says that host's call
// returns result (an errno name).
func (r *runner) expectsCall(host, call, result string) bool {
	if result == "EWOULDBLOCK" {
		result = "EAGAIN"
	}
	for _, e := range r.sc.Expect {
		if e.Kind == expect.ExpCall && e.Host == host && e.Field == call && e.Value == result {
			return true
		}
	}
	return false
}

// checkCalls checks the call expectations: some call of that name on the
// host returned that result.
func (r *runner) checkCalls() {
	for _, e := range r.sc.Expect {
		if e.Kind != expect.ExpCall {
			continue
		}
		var got []string
		found := false
		for _, c := range r.hosts[e.Host].results {
			if c.call != e.Field {
				continue
			}
			if c.result == e.Value || e.Value == "OK" && !isErrnoResult(c.result) {
				found = true
				break
			}
			got = append(got, fmt.Sprintf("%s at %.6f", c.result, c.at.Seconds()))
		}
		switch {
		case found:
		case len(got) == 0:
			r.failAt(e.Pos, e.Text, fmt.Sprintf("%s made no %s call that returned", e.Host, e.Field), []fieldDiff{{"result", e.Value, "no call"}})
		default:
			r.failAt(e.Pos, e.Text, fmt.Sprintf("%s's %s returned %s", e.Host, e.Field, strings.Join(got, ", ")), []fieldDiff{{"result", e.Value, strings.Join(got, ", ")}})
		}
	}
}

// isErrnoResult reports whether a call's result is an error ("ECONNRESET",
// "errno 42") rather than a success (a descriptor, a count).
func isErrnoResult(s string) bool {
	_, ok := lang.ErrnoByName[s]
	return ok || strings.HasPrefix(s, "errno")
}
