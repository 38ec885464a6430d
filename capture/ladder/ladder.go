package ladder

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"stacklab/capture/trace"
	"stacklab/stack/core"
)

// Msg is one hop of one packet.
type Msg struct {
	ID       uint64
	From, To string // host names
	Sent     time.Duration
	// Recv is the arrival time, if Received.
	Recv     time.Duration
	Received bool
	// Label is the packet in brief: "[S] seq 0", "[P.] seq 1:6 ack 1",
	// "udp len 5", "icmp echo request".
	Label string
	// Drop says why the receiver dropped it; Lost means no vantage point
	// received it (the link lost it, or it left the simulation).
	Drop string
	Lost bool
	// Marks are the TCP analysis of the segment in Wireshark's words
	// ("TCP Retransmission", "TCP Dup ACK").
	Marks []string
}

// Note is a stack event written on a lifeline at the moment it happens:
// a TCP state change ("CLOSED → SYN_SENT") or a socket call
// ("connect(3, 10.0.0.2:80) → blocks").
type Note struct {
	Time time.Duration
	Host string // a host, or a thread's lane "server/t1" (on its host's lifeline)
	Kind string // "state" or "call"
	Text string
}

// EventNote makes the note of a state change or socket call at time at
// (since the start of the ladder); other events make none.
func EventNote(ev *core.Event, at time.Duration) (Note, bool) {
	n := Note{Time: at, Host: ev.Host, Kind: ev.Kind.String()}
	switch ev.Kind {
	case core.EventState:
		n.Text = ev.From + " → " + ev.To
	case core.EventCall:
		if args, res, ok := strings.Cut(ev.Detail, " → "); ok {
			n.Text = ev.Name + "(" + args + ") → " + res
		} else {
			n.Text = ev.Name + "(" + ev.Detail + ")"
		}
	default:
		return n, false
	}
	return n, true
}

// Ladder is a diagram: the hosts, left to right, the hops in the order
// they were sent, and the notes on the lifelines in time order.
type Ladder struct {
	Hosts []string
	Msgs  []Msg
	Notes []Note
	// Gap, if not nil, is the part of the run left out of the drawing
	// (see [Collector]).
	Gap *Gap
	// Unpaired counts the receipts whose (sender, destination) pair was
	// not remembered for pointing lost hops (see maxNext).
	Unpaired int
	// Others counts the hops drawn from OtherColumn (see MaxColumns).
	Others int
}

// AddNotes puts notes on the lifelines: those of a host (or a thread of
// a host) that is a column; in time order.
func (l *Ladder) AddNotes(notes []Note) {
	for _, n := range notes {
		h, _, _ := strings.Cut(n.Host, "/")
		if slices.Contains(l.Hosts, h) {
			n.Host = h
			l.Notes = append(l.Notes, n)
		}
	}
	sort.SliceStable(l.Notes, func(i, j int) bool { return l.Notes[i].Time < l.Notes[j].Time })
}

// item is a message, a note or the gap in the order they are drawn: by
// time, a note before the packets sent at its instant (a call or state
// change comes before the segment it sends); the rows before the gap,
// the gap, the rows after it.
type item struct {
	note bool
	gap  bool
	i    int
	t    time.Duration
}

func (l *Ladder) items() []item {
	out := make([]item, 0, len(l.Msgs)+len(l.Notes)+1)
	g := l.Gap
	if g == nil {
		return l.merge(out, 0, len(l.Msgs), 0, len(l.Notes))
	}
	out = l.merge(out, 0, g.AfterMsgs, 0, g.AfterNotes)
	out = append(out, item{gap: true, t: g.From})
	return l.merge(out, g.AfterMsgs, len(l.Msgs), g.AfterNotes, len(l.Notes))
}

// merge appends Msgs[m0:m1] and Notes[n0:n1] in time order.
func (l *Ladder) merge(out []item, m0, m1, n0, n1 int) []item {
	j := n0
	for i := m0; i < m1; i++ {
		for j < n1 && l.Notes[j].Time <= l.Msgs[i].Sent {
			out = append(out, item{note: true, i: j, t: l.Notes[j].Time})
			j++
		}
		out = append(out, item{i: i, t: l.Msgs[i].Sent})
	}
	for ; j < n1; j++ {
		out = append(out, item{note: true, i: j, t: l.Notes[j].Time})
	}
	return out
}

// gapText says what the gap left out.
func (g *Gap) text() string {
	var what string
	switch {
	case g.Notes == 0:
		what = plural(g.Msgs, "packet")
	case g.Msgs == 0:
		what = plural(g.Notes, "note")
	default:
		what = plural(g.Msgs, "packet") + " and " + plural(g.Notes, "note")
	}
	return what + " not drawn, " + seconds(g.From) + " to " + seconds(g.To) + " s (the capture files hold every packet)"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// label returns the message's label with its marks before it.
func (m *Msg) markedLabel() string {
	if len(m.Marks) == 0 {
		return m.Label
	}
	return "[" + strings.Join(m.Marks, "] [") + "] " + m.Label
}

// Build makes a ladder from packet summaries in capture order, every
// one of them: a [Collector] that keeps every row. hosts fixes the
// columns' order; hosts seen in sums but not listed are added in order
// of appearance. Summaries without a vantage point (from a foreign
// capture) are skipped.
func Build(sums []trace.Summary, hosts []string) *Ladder {
	c := NewCollector(hosts, 0)
	for i := range sums {
		c.Add(&sums[i])
	}
	return c.Ladder()
}

func vantageHost(v string) string {
	h, _, _ := strings.Cut(v, ":")
	return h
}

// label describes a packet in a few words.
func label(s *trace.Summary) string {
	var b strings.Builder
	if (s.Proto == "tcp" || s.Proto == "udp") && s.SrcAddr.Port() != 0 {
		// Ports tell two connections between the same hosts apart.
		b.WriteString(strconv.Itoa(int(s.SrcAddr.Port())) + " → " + strconv.Itoa(int(s.DstAddr.Port())) + " ")
	}
	switch s.Proto {
	case "tcp":
		b.WriteString("[" + s.Flags + "] seq " + strconv.FormatUint(uint64(s.Seq), 10))
		if s.Len > 0 {
			b.WriteString(":" + strconv.FormatUint(uint64(s.Seq+uint32(s.Len)), 10))
		}
		if s.HasAck {
			b.WriteString(" ack " + strconv.FormatUint(uint64(s.Ack), 10))
		}
		if s.Len > 0 {
			b.WriteString(" len " + strconv.Itoa(s.Len))
		}
	case "udp":
		b.WriteString("udp len " + strconv.Itoa(s.Len))
	case "icmp", "arp":
		info := s.Info
		if i := strings.Index(info, "  "); i >= 0 {
			info = info[:i]
		}
		b.WriteString(s.Proto + " " + info)
	default:
		b.WriteString(s.Proto)
	}
	return b.String()
}

// column returns the index of host h.
func (l *Ladder) column(h string) int {
	for i, x := range l.Hosts {
		if x == h {
			return i
		}
	}
	return 0
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 6, 64)
}

// Text writes the diagram for a terminal: a line a hop, the send time on
// the left and the arrival time on the right.
//
//	            client                                server
//	0.021007      |--------- [S] seq 0 --------------->|        0.031013
//	0.031013      |<-------- [S.] seq 0 ack 1 ---------|        0.041019
func (l *Ladder) Text(w io.Writer) error {
	const width = 40 // columns between two hosts
	if len(l.Hosts) == 0 {
		_, err := io.WriteString(w, "(no packets)\n")
		return err
	}
	lane := func(i int) int { return 12 + i*width }
	total := lane(len(l.Hosts)-1) + 1
	var b strings.Builder
	head := []rune(strings.Repeat(" ", total+width))
	for i, h := range l.Hosts {
		r := []rune(h)
		start := lane(i) - len(r)/2
		if start < 0 {
			start = 0
		}
		for k, c := range r {
			if start+k < len(head) {
				head[start+k] = c
			}
		}
	}
	b.WriteString(strings.TrimRight(string(head), " ") + "\n")
	for _, it := range l.items() {
		if it.gap {
			// The gap: dotted lifelines, and what was left out.
			line := []rune(strings.Repeat(" ", total))
			for i := range l.Hosts {
				line[lane(i)] = '⋮'
			}
			b.WriteString(string(line) + "  " + l.Gap.text() + "\n")
			continue
		}
		if it.note {
			// A note: on its lifeline, the text to the right of it.
			n := &l.Notes[it.i]
			line := []rune(strings.Repeat(" ", total))
			for i := range l.Hosts {
				line[lane(i)] = '|'
			}
			copy(line, []rune(fmt.Sprintf("%9s", seconds(n.Time))))
			a := lane(l.column(n.Host))
			line[a] = '*'
			s := []rune(" " + n.Text)
			for k, c := range s {
				if a+1+k < len(line) {
					line[a+1+k] = c
				} else {
					line = append(line, c)
				}
			}
			b.WriteString(strings.TrimRight(string(line), " ") + "\n")
			continue
		}
		m := &l.Msgs[it.i]
		line := []rune(strings.Repeat(" ", total))
		for i := range l.Hosts {
			line[lane(i)] = '|'
		}
		copy(line, []rune(fmt.Sprintf("%9s", seconds(m.Sent))))
		a, z := lane(l.column(m.From)), lane(l.column(m.To))
		lbl := m.markedLabel()
		if m.Drop != "" {
			lbl += " ✗ " + m.Drop
		}
		switch {
		case a == z:
			// A packet to itself or to an unknown host: a note.
			s := []rune(" " + lbl)
			for k, c := range s {
				if a+1+k < len(line) {
					line[a+1+k] = c
				}
			}
		default:
			lo, hi := a, z
			if lo > hi {
				lo, hi = hi, lo
			}
			for k := lo + 1; k < hi; k++ {
				line[k] = '-'
			}
			end := '>'
			if m.Lost {
				end = 'x'
			}
			if a < z {
				line[hi-1] = end
			} else {
				if end == '>' {
					end = '<'
				}
				line[lo+1] = end
			}
			s := []rune(" " + lbl + " ")
			if len(s) > hi-lo-4 {
				s = append(s[:max(0, hi-lo-6)], []rune("… ")...)
			}
			start := lo + 1 + (hi-lo-1-len(s))/2
			for k, c := range s {
				line[start+k] = c
			}
		}
		out := strings.TrimRight(string(line), " ")
		switch {
		case m.Received:
			out += strings.Repeat(" ", max(1, total-len([]rune(out))+2)) + fmt.Sprintf("%9s", seconds(m.Recv))
		case m.Lost:
			out += strings.Repeat(" ", max(1, total-len([]rune(out))+2)) + "     lost"
		}
		b.WriteString(out + "\n")
		if m.Drop != "" && len([]rune(lbl)) > width-6 {
			b.WriteString(strings.Repeat(" ", 12) + "✗ " + m.Drop + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidID makes a host name safe as a Mermaid participant id.
func mermaidID(h string) string {
	return "h_" + strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			return c
		}
		return '_'
	}, h)
}

// mermaidText escapes a label for a Mermaid message.
func mermaidText(s string) string {
	r := strings.NewReplacer(";", "#59;", "#", "#35;", ":", "#58;", "<", "#lt;", ">", "#gt;", "\n", " ")
	return r.Replace(s)
}

// Mermaid writes the diagram as a Mermaid sequenceDiagram, for Markdown.
// A lost packet ends in a cross.
func (l *Ladder) Mermaid(w io.Writer) error {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	for _, h := range l.Hosts {
		fmt.Fprintf(&b, "    participant %s as %s\n", mermaidID(h), mermaidText(h))
	}
	for _, it := range l.items() {
		if it.gap {
			if len(l.Hosts) == 0 {
				continue
			}
			over := mermaidID(l.Hosts[0])
			if len(l.Hosts) > 1 {
				over += "," + mermaidID(l.Hosts[len(l.Hosts)-1])
			}
			fmt.Fprintf(&b, "    Note over %s: %s\n", over, mermaidText("⋯ "+l.Gap.text()+" ⋯"))
			continue
		}
		if it.note {
			n := &l.Notes[it.i]
			fmt.Fprintf(&b, "    Note right of %s: %s\n", mermaidID(n.Host), mermaidText(seconds(n.Time)+" "+n.Text))
			continue
		}
		m := &l.Msgs[it.i]
		arrow := "->>"
		if m.Lost {
			arrow = "-x"
		}
		text := seconds(m.Sent) + " " + m.markedLabel()
		if m.Drop != "" {
			text += " ✗ " + m.Drop
		}
		if m.From == m.To {
			fmt.Fprintf(&b, "    Note over %s: %s\n", mermaidID(m.From), mermaidText(text))
			continue
		}
		fmt.Fprintf(&b, "    %s%s%s: %s\n", mermaidID(m.From), arrow, mermaidID(m.To), mermaidText(text))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Geometry is the SVG ladder laid out: every arrow, and every piece of
// text with the box it takes (monospace, 11 px: charW wide a rune).
type Geometry struct {
	Width, Height float64
	Columns       []float64 // the lifelines' x
	Arrows        []Segment
	Texts         []Box
	Folds         []Fold
	Rows          []Row
}

// Row is one packet sent or one note, on a row of its own.
type Row struct {
	Note  bool // a note (l.Notes[Index]), else a packet (l.Msgs[Index])
	Index int
	Y     float64 // the row's baseline: where the arrow starts, the note's dot
	X     float64 // the lifeline it starts on
	Arrow int     // index in Arrows, -1 none
	Texts []int   // indices in Texts: the time, the marks, the label
}

// Segment is an arrow, or the part of a lost packet's arrow drawn.
type Segment struct{ X1, Y1, X2, Y2 float64 }

// Box is a text and the rectangle it covers.
type Box struct {
	X, Y, W, H float64 // top left corner, size
	Text       string
	Anchor     string // where X is: "start" or "end"
	Colour     string
}

// Fold is a long idle gap drawn short, or the rows a bounded ladder
// left out (Msgs and Notes: see [Gap]).
type Fold struct {
	Y, H        float64
	Gap         time.Duration
	Msgs, Notes int
}

// SVG layout, in pixels.
const (
	svgColW   = 200.0
	svgLeft   = 96.0 // the send times' column
	svgTop    = 44.0
	svgRowH   = 18.0 // least distance between two packets sent
	svgCharW  = 6.6  // a rune of 11 px monospace
	svgTextH  = 13.0
	svgFoldAt = 300.0 // a gap drawn taller than this is folded
	svgFoldLg = 36.0  // each doubling of a folded gap adds this much
	svgGapH   = 40.0  // the band of the rows left out
)

// Colours of the marks and notes.
var markColours = map[string]string{
	"TCP Retransmission": "#c62828", "TCP Fast Retransmission": "#c62828", "TCP Spurious Retransmission": "#c62828",
	"TCP Dup ACK": "#8e24aa", "TCP ZeroWindow": "#ef6c00", "TCP ZeroWindowProbe": "#ef6c00",
	"TCP Out-Of-Order": "#00838f", "TCP Previous segment not captured": "#c62828",
}

var noteColours = map[string]string{"state": "#2e7d32", "call": "#6a1b9a"}

// Layout places the ladder: time runs down to scale (the median gap
// between two distinct instants is one row), a gap that would be taller
// than svgFoldAt is folded (drawn on a log scale, marked), every packet
// sent and every note (a TCP state change or socket call, a dot on its
// lifeline) starts a row of its own at least svgRowH below the last,
// and its label (marks, ports, flags, numbers; the note's host and
// text) is written in a column right of the last lifeline on that row,
// its time in a column left of the first: so no label crosses an arrow
// or another label.
func (l *Ladder) Layout() *Geometry {
	g := &Geometry{}
	n := max(1, len(l.Hosts))
	for i := range l.Hosts {
		g.Columns = append(g.Columns, svgLeft+40+float64(i)*svgColW)
	}
	labelX := svgLeft + 40 + float64(n-1)*svgColW + 40
	x := func(h string) float64 {
		if len(g.Columns) == 0 {
			return svgLeft + 40
		}
		return g.Columns[l.column(h)]
	}
	items := l.items()
	// The scale, from every instant drawn.
	var times []time.Duration
	for _, it := range items {
		if it.gap {
			continue
		}
		times = append(times, it.t)
		if !it.note && l.Msgs[it.i].Received {
			times = append(times, l.Msgs[it.i].Recv)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	var gaps []float64
	for i := 1; i < len(times); i++ {
		if d := times[i] - times[i-1]; d > 0 {
			gaps = append(gaps, d.Seconds())
		}
	}
	scale := 1.0
	if len(gaps) > 0 {
		sort.Float64s(gaps)
		scale = svgRowH / gaps[len(gaps)/2]
	}
	p := placer{l: l, g: g, scale: scale, x: x, labelX: labelX}
	k := slices.IndexFunc(items, func(it item) bool { return it.gap })
	if k < 0 {
		p.place(items, svgTop)
	} else {
		// The rows before the gap, down to their last receipt; a band
		// for the gap; the rows after it, on their own time line.
		y := p.place(items[:k], svgTop) + svgRowH
		gp := l.Gap
		g.Folds = append(g.Folds, Fold{Y: y, H: svgGapH, Gap: gp.To - gp.From, Msgs: gp.Msgs, Notes: gp.Notes})
		p.place(items[k+1:], y+svgGapH+svgRowH)
	}
	bottom := p.bottom
	g.Height = bottom + 2*svgRowH
	g.Width = labelX + 20
	for _, b := range g.Texts {
		g.Width = max(g.Width, b.X+b.W+10)
	}
	return g
}

// placer lays out rows of a ladder, part by part.
type placer struct {
	l      *Ladder
	g      *Geometry
	scale  float64 // pixels a second
	x      func(host string) float64
	labelX float64
	bottom float64 // the lowest point drawn so far
}

// place lays out items (no gap among them) from y0 down, and returns
// the lowest point of what it drew: time to scale, a gap between two
// instants taller than svgFoldAt folded.
func (p *placer) place(items []item, y0 float64) float64 {
	l, g, scale, x, labelX := p.l, p.g, p.scale, p.x, p.labelX
	// Distinct instants, and the rows at each.
	var times []time.Duration
	rows := map[time.Duration]int{}
	for _, it := range items {
		times = append(times, it.t)
		rows[it.t]++
		if !it.note && l.Msgs[it.i].Received {
			times = append(times, l.Msgs[it.i].Recv)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	at := map[time.Duration]float64{}   // an instant's y
	next := map[time.Duration]float64{} // the next row free at that instant
	y, last, lastRowEnd := y0, time.Duration(-1), y0
	for _, t := range times {
		if _, ok := at[t]; ok {
			continue
		}
		if last >= 0 {
			dy := (t - last).Seconds() * scale
			if dy > svgFoldAt {
				h := svgFoldAt/6 + svgFoldLg*math.Log2(dy/svgFoldAt)
				g.Folds = append(g.Folds, Fold{Y: y + 4, H: h - 8, Gap: t - last})
				dy = h
			}
			y += dy
		}
		if rows[t] > 0 {
			y = max(y, lastRowEnd)
			lastRowEnd = y + float64(rows[t])*svgRowH
		}
		at[t], next[t], last = y, y, t
		if rows[t] > 1 {
			y += float64(rows[t]-1) * svgRowH
		}
	}
	bottom := y
	text := func(b Box) int {
		g.Texts = append(g.Texts, b)
		return len(g.Texts) - 1
	}
	for _, it := range items {
		y1 := next[it.t]
		next[it.t] += svgRowH
		top := y1 - svgTextH + 3
		row := Row{Note: it.note, Index: it.i, Y: y1, Arrow: -1}
		row.Texts = append(row.Texts, text(Box{X: svgLeft - 8, Y: top, W: svgCharW * 8, H: svgTextH, Text: seconds(it.t), Anchor: "end", Colour: "#546e7a"}))
		if it.note {
			nt := &l.Notes[it.i]
			row.X = x(nt.Host)
			label := nt.Host + ": " + nt.Text
			row.Texts = append(row.Texts, text(Box{X: labelX, Y: top, W: svgCharW * float64(len([]rune(label))), H: svgTextH, Text: label, Anchor: "start", Colour: noteColours[nt.Kind]}))
			g.Rows = append(g.Rows, row)
			bottom = max(bottom, y1)
			continue
		}
		m := &l.Msgs[it.i]
		y2 := y1 + svgRowH/2
		if m.Received {
			y2 = max(at[m.Recv], y1+4)
		}
		x1, x2 := x(m.From), x(m.To)
		row.X = x1
		colour := "#1565c0"
		if m.Lost || m.Drop != "" {
			colour = "#c62828"
		}
		switch {
		case x1 == x2:
		case m.Lost:
			row.Arrow = len(g.Arrows)
			g.Arrows = append(g.Arrows, Segment{x1, y1, (x1 + x2) / 2, (y1 + y2) / 2})
		default:
			row.Arrow = len(g.Arrows)
			g.Arrows = append(g.Arrows, Segment{x1, y1, x2, y2})
		}
		lx := labelX
		for _, mk := range m.Marks {
			t := "[" + mk + "]"
			w := svgCharW * float64(len([]rune(t)))
			c := markColours[mk]
			if c == "" {
				c = "#546e7a"
			}
			row.Texts = append(row.Texts, text(Box{X: lx, Y: top, W: w, H: svgTextH, Text: t, Anchor: "start", Colour: c}))
			lx += w + svgCharW
		}
		label := m.Label
		if m.Drop != "" {
			label += " ✗ " + m.Drop
		} else if m.Lost {
			label += " ✗ lost"
		}
		row.Texts = append(row.Texts, text(Box{X: lx, Y: top, W: svgCharW * float64(len([]rune(label))), H: svgTextH, Text: label, Anchor: "start", Colour: colour}))
		g.Rows = append(g.Rows, row)
		bottom = max(bottom, y2)
	}
	p.bottom = max(p.bottom, bottom)
	return bottom
}

// Overlaps lists every two texts whose boxes overlap and every text an
// arrow crosses; an empty list is a readable ladder. It sweeps down the
// page rather than testing every pair, so a ladder of thousands of rows
// is checked in milliseconds: texts are visited in order of their top,
// and arrows are filed in bands of the page's height they pass through.
func (g *Geometry) Overlaps() []string {
	left := func(b Box) float64 {
		if b.Anchor == "end" {
			return b.X - b.W
		}
		return b.X
	}
	type hit struct {
		text, other int // other: a text's index, or -1-arrow for an arrow
	}
	var hits []hit

	byTop := make([]int, len(g.Texts))
	for i := range byTop {
		byTop[i] = i
	}
	sort.SliceStable(byTop, func(i, j int) bool { return g.Texts[byTop[i]].Y < g.Texts[byTop[j]].Y })
	for k, i := range byTop {
		a := g.Texts[i]
		for _, j := range byTop[k+1:] {
			b := g.Texts[j]
			if b.Y >= a.Y+a.H {
				break // b and every text below it start under a
			}
			if left(a) < left(b)+b.W && left(b) < left(a)+a.W && a.Y < b.Y+b.H {
				hits = append(hits, hit{min(i, j), max(i, j)})
			}
		}
	}

	const band = 64.0 // pixels
	bands := map[int][]int{}
	for n, s := range g.Arrows {
		for y := int(math.Floor(min(s.Y1, s.Y2) / band)); y <= int(math.Floor(max(s.Y1, s.Y2)/band)); y++ {
			bands[y] = append(bands[y], n)
		}
	}
	seen := make([]int, len(g.Arrows)) // the text that last tested arrow n, +1
	for i, a := range g.Texts {
		for y := int(math.Floor(a.Y / band)); y <= int(math.Floor((a.Y+a.H)/band)); y++ {
			for _, n := range bands[y] {
				if seen[n] == i+1 {
					continue
				}
				seen[n] = i + 1
				if segmentCrossesBox(g.Arrows[n], left(a), a.Y, a.W, a.H) {
					hits = append(hits, hit{i, -1 - n})
				}
			}
		}
	}

	// In the order of the texts, each text's overlaps before its arrows.
	sort.Slice(hits, func(x, y int) bool {
		p, q := hits[x], hits[y]
		switch {
		case p.text != q.text:
			return p.text < q.text
		case (p.other >= 0) != (q.other >= 0):
			return p.other >= 0
		case p.other >= 0:
			return p.other < q.other
		default:
			return p.other > q.other // arrow -1-n: in the arrows' order
		}
	})
	var out []string
	for _, h := range hits {
		a := g.Texts[h.text]
		if h.other >= 0 {
			out = append(out, fmt.Sprintf("%q and %q overlap", a.Text, g.Texts[h.other].Text))
		} else {
			out = append(out, fmt.Sprintf("an arrow crosses %q", a.Text))
		}
	}
	return out
}

// segmentCrossesBox reports whether s passes through the rectangle.
func segmentCrossesBox(s Segment, x, y, w, h float64) bool {
	// Clip the segment to the box (Liang–Barsky).
	t0, t1 := 0.0, 1.0
	dx, dy := s.X2-s.X1, s.Y2-s.Y1
	for _, c := range [4][2]float64{{-dx, s.X1 - x}, {dx, x + w - s.X1}, {-dy, s.Y1 - y}, {dy, y + h - s.Y1}} {
		p, q := c[0], c[1]
		if p == 0 {
			if q < 0 {
				return false
			}
			continue
		}
		r := q / p
		if p < 0 {
			t0 = max(t0, r)
		} else {
			t1 = min(t1, r)
		}
		if t0 > t1 {
			return false
		}
	}
	return true
}

// SVG writes the diagram as a standalone SVG image, laid out by
// [Ladder.Layout]: time to scale with long idle gaps folded and marked,
// a row for every packet sent, labels in their own column.
func (l *Ladder) SVG(w io.Writer) error {
	g := l.Layout()
	var b strings.Builder
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" font-family="monospace" font-size="11">`+"\n", f(g.Width), f(g.Height))
	b.WriteString(`<defs><marker id="a" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="context-stroke"/></marker></defs>` + "\n")
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	for _, fd := range g.Folds {
		fmt.Fprintf(&b, `<rect x="0" y="%s" width="%s" height="%s" fill="#eceff1"/>`+"\n", f(fd.Y), f(g.Width), f(fd.H))
	}
	for i, h := range l.Hosts {
		fmt.Fprintf(&b, `<text x="%s" y="20" text-anchor="middle" font-weight="bold">%s</text>`+"\n", f(g.Columns[i]), xmlEscape(h))
		fmt.Fprintf(&b, `<line x1="%s" y1="28" x2="%s" y2="%s" stroke="#b0bec5"/>`+"\n", f(g.Columns[i]), f(g.Columns[i]), f(g.Height-8))
	}
	labelX := svgLeft + 80
	if len(g.Columns) > 0 {
		labelX = g.Columns[len(g.Columns)-1] + 40
	}
	for _, fd := range g.Folds {
		text := "⋯ " + strconv.FormatFloat(fd.Gap.Seconds(), 'f', 3, 64) + " s idle, folded ⋯"
		if fd.Msgs+fd.Notes > 0 {
			text = "⋯ " + l.Gap.text() + " ⋯"
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" fill="#546e7a">%s</text>`+"\n", f(labelX), f(fd.Y+fd.H/2+4), xmlEscape(text))
	}
	for _, r := range g.Rows {
		lb := g.Texts[r.Texts[len(r.Texts)-1]]
		switch {
		case r.Note:
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3.5" fill="%s"/>`+"\n", f(r.X), f(r.Y), lb.Colour)
		case r.Arrow >= 0:
			s := g.Arrows[r.Arrow]
			if l.Msgs[r.Index].Lost {
				fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="4 2"/>`+"\n", f(s.X1), f(s.Y1), f(s.X2), f(s.Y2), lb.Colour)
				fmt.Fprintf(&b, `<path d="M%s,%s l8,8 m0,-8 l-8,8" stroke="%s" stroke-width="2"/>`+"\n", f(s.X2-4), f(s.Y2-4), lb.Colour)
			} else {
				dash := ""
				if len(l.Msgs[r.Index].Marks) > 0 && strings.Contains(l.Msgs[r.Index].Marks[0], "Retransmission") {
					dash = ` stroke-dasharray="6 3"`
				}
				fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"%s marker-end="url(#a)"/>`+"\n", f(s.X1), f(s.Y1), f(s.X2), f(s.Y2), lb.Colour, dash)
			}
		default:
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", f(r.X), f(r.Y), lb.Colour)
		}
		// A faint guide from the row's start to its label.
		first := g.Texts[r.Texts[min(1, len(r.Texts)-1)]]
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#eceff1"/>`+"\n", f(r.X+4), f(r.Y), f(first.X-4), f(r.Y))
		for _, k := range r.Texts {
			t := g.Texts[k]
			anchor := ""
			if t.Anchor == "end" {
				anchor = ` text-anchor="end"`
			}
			fmt.Fprintf(&b, `<text x="%s" y="%s"%s fill="%s">%s</text>`+"\n", f(t.X), f(r.Y+4), anchor, t.Colour, xmlEscape(t.Text))
		}
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
