package ladder

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"stacklab/capture/trace"
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
}

// Ladder is a diagram: the hosts, left to right, and the hops in the
// order they were sent.
type Ladder struct {
	Hosts []string
	Msgs  []Msg
}

// Build makes a ladder from packet summaries in capture order. hosts
// fixes the columns' order; hosts seen in sums but not listed are added
// in order of appearance. Summaries without a vantage point (from a
// foreign capture) are skipped.
func Build(sums []trace.Summary, hosts []string) *Ladder {
	l := &Ladder{}
	seen := map[string]bool{}
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			l.Hosts = append(l.Hosts, h)
		}
	}
	for _, h := range hosts {
		add(h)
	}
	pending := map[uint64][]int{}  // hops sent and not yet received, by packet id
	dst := []string{}              // each hop's final destination
	next := map[[2]string]string{} // (from, destination) → the next hop seen
	for i := range sums {
		s := &sums[i]
		host := vantageHost(s.Vantage)
		if host == "" {
			continue
		}
		add(host)
		switch s.Dir {
		case trace.DirOut:
			l.Msgs = append(l.Msgs, Msg{ID: s.ID, From: host, To: s.Dst, Sent: s.Time, Label: label(s), Drop: s.Drop, Lost: true})
			dst = append(dst, s.Dst)
			if s.Drop == "" {
				pending[s.ID] = append(pending[s.ID], len(l.Msgs)-1)
			}
		case trace.DirIn:
			idxs := pending[s.ID]
			k := -1
			for j, idx := range idxs {
				if l.Msgs[idx].From != host {
					k = j
					break
				}
			}
			if k < 0 {
				// Received, but its sending was not captured.
				add(s.Src)
				l.Msgs = append(l.Msgs, Msg{ID: s.ID, From: s.Src, To: host, Sent: s.Time, Recv: s.Time,
					Received: true, Label: label(s), Drop: s.Drop})
				dst = append(dst, s.Dst)
				continue
			}
			m := &l.Msgs[idxs[k]]
			m.To, m.Recv, m.Received, m.Lost = host, s.Time, true, false
			next[[2]string{m.From, dst[idxs[k]]}] = host
			if s.Drop != "" {
				m.Drop = s.Drop
			}
			pending[s.ID] = append(idxs[:k], idxs[k+1:]...)
		}
	}
	// A lost hop points at the next hop other packets to the same
	// destination took, else at the destination when it is a column,
	// else at the next column.
	for i := range l.Msgs {
		m := &l.Msgs[i]
		if !m.Lost {
			continue
		}
		if h, ok := next[[2]string{m.From, dst[i]}]; ok {
			m.To = h
			continue
		}
		if seen[m.To] && m.To != m.From {
			continue
		}
		m.To = m.From
		for j, h := range l.Hosts {
			if h != m.From {
				continue
			}
			if j+1 < len(l.Hosts) {
				m.To = l.Hosts[j+1]
			} else if j > 0 {
				m.To = l.Hosts[j-1]
			}
		}
	}
	return l
}

func vantageHost(v string) string {
	h, _, _ := strings.Cut(v, ":")
	return h
}

// label describes a packet in a few words.
func label(s *trace.Summary) string {
	var b strings.Builder
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
	for _, m := range l.Msgs {
		line := []rune(strings.Repeat(" ", total))
		for i := range l.Hosts {
			line[lane(i)] = '|'
		}
		copy(line, []rune(fmt.Sprintf("%9s", seconds(m.Sent))))
		a, z := lane(l.column(m.From)), lane(l.column(m.To))
		lbl := m.Label
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
	for _, m := range l.Msgs {
		arrow := "->>"
		if m.Lost {
			arrow = "-x"
		}
		text := seconds(m.Sent) + " " + m.Label
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

// SVG writes the diagram as a standalone SVG image. Arrows slope from
// the send time to the arrival time; times are placed by order, not to
// scale, so that a 60 s TIME_WAIT does not stretch the picture.
func (l *Ladder) SVG(w io.Writer) error {
	const (
		colW   = 260
		margin = 90
		rowH   = 22
		top    = 50
	)
	// Rows: every distinct send or arrival time gets the next row.
	var times []time.Duration
	for _, m := range l.Msgs {
		times = append(times, m.Sent)
		if m.Received {
			times = append(times, m.Recv)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	row := map[time.Duration]int{}
	for _, t := range times {
		if _, ok := row[t]; !ok {
			row[t] = len(row)
		}
	}
	y := func(t time.Duration) int { return top + row[t]*rowH }
	width := margin + colW*max(1, len(l.Hosts)-1) + margin*2
	// Lay the hops out first, to know the height.
	type hop struct {
		m      *Msg
		y1, y2 int
	}
	hops := make([]hop, 0, len(l.Msgs))
	bottom := top
	shift := 0
	lastSent := time.Duration(-1)
	for i := range l.Msgs {
		m := &l.Msgs[i]
		// Hops sent at the same instant are moved down a little each, so
		// that their labels do not overlap.
		if m.Sent == lastSent {
			shift++
		} else {
			shift, lastSent = 0, m.Sent
		}
		y1 := y(m.Sent) + shift*rowH/2
		y2 := y1 + rowH
		if m.Received {
			y2 = max(y(m.Recv)+shift*rowH/2, y1+rowH/2)
		}
		hops = append(hops, hop{m, y1, y2})
		bottom = max(bottom, y2)
	}
	height := bottom + 2*rowH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="monospace" font-size="11">`+"\n", width, height)
	b.WriteString(`<defs><marker id="a" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>` + "\n")
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	x := func(h string) int { return margin + l.column(h)*colW }
	for _, h := range l.Hosts {
		fmt.Fprintf(&b, `<text x="%d" y="20" text-anchor="middle" font-weight="bold">%s</text>`+"\n", x(h), xmlEscape(h))
		fmt.Fprintf(&b, `<line x1="%d" y1="30" x2="%d" y2="%d" stroke="#888"/>`+"\n", x(h), x(h), height-10)
	}
	// Labels get a white halo so that lines do not cross out their text.
	const halo = ` paint-order="stroke" stroke="white" stroke-width="4" stroke-linejoin="round"`
	for _, h := range hops {
		m, y1, y2 := h.m, h.y1, h.y2
		x1, x2 := x(m.From), x(m.To)
		color := "black"
		if m.Lost || m.Drop != "" {
			color = "#c00"
		}
		fmt.Fprintf(&b, `<text x="4" y="%d" fill="#555">%s</text>`+"\n", y1+4, seconds(m.Sent))
		label := m.Label
		if m.Drop != "" {
			label += " ✗ " + m.Drop
		}
		if x1 == x2 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s"%s>%s</text>`+"\n", x1+6, y1+4, color, halo, xmlEscape(label))
			continue
		}
		if m.Received && !m.Lost {
			// The arrival time, at the right edge, as the text ladder has it.
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555" text-anchor="end">%s</text>`+"\n", width-4, y2+4, seconds(m.Recv))
		}
		if m.Lost {
			// Stop halfway and draw a cross.
			mx, my := (x1+x2)/2, (y1+y2)/2
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`+"\n", x1, y1, mx, my, color)
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s" text-anchor="middle">✗</text>`+"\n", mx, my+4, color)
		} else {
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" marker-end="url(#a)"/>`+"\n", x1, y1, x2, y2, color)
		}
		lx, ly, anchor := (x1+x2)/2, (y1+y2)/2-6, "middle"
		if m.Lost {
			// Beside the start of the broken arrow, on its side.
			lx, ly, anchor = x1+8, y1-4, "start"
			if x2 < x1 {
				lx, anchor = x1-8, "end"
			}
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="%s" fill="%s"%s>%s</text>`+"\n", lx, ly, anchor, color, halo, xmlEscape(label))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
