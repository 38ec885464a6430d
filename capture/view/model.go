package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"

	"stacklab/capture/ladder"
)

// Node is a host or router of the topology.
type Node struct {
	Name   string   `json:"name"`
	Router bool     `json:"router,omitempty"`
	Addrs  []string `json:"addrs,omitempty"`
}

// Link joins two nodes; Desc gives its parameters each way.
type Link struct {
	A    string `json:"a"`
	B    string `json:"b"`
	Desc string `json:"desc,omitempty"`
}

// Input is what a page or ladder is drawn from.
type Input struct {
	Title string
	Nodes []Node
	Links []Link
	// Trace is the JSON lines trace (capture/SCHEMA.md), with the frames'
	// bytes when they are to be shown.
	Trace []byte
	// About explains the run (a scenario's about text), shown before a
	// packet is selected; Lang "zh" shows the page's own words in
	// Simplified Chinese (About is given in the language wanted).
	About, Lang string
}

// rec is one JSON line, the fields the viewer reads.
type rec struct {
	Time    float64 `json:"time"`
	Type    string  `json:"type"`
	Vantage string  `json:"vantage"`
	Dir     string  `json:"dir"`
	ID      uint64  `json:"id"`
	Len     int     `json:"len"`
	Src     string  `json:"src"`
	Dst     string  `json:"dst"`
	Note    string  `json:"note"`
	Drop    string  `json:"drop"`
	Layers  struct {
		IPv4 *struct {
			Src string `json:"src"`
			Dst string `json:"dst"`
		} `json:"ipv4"`
		IPv6 *struct {
			Src string `json:"src"`
			Dst string `json:"dst"`
		} `json:"ipv6"`
		TCP *struct {
			Sport uint16 `json:"sport"`
			Dport uint16 `json:"dport"`
			Flags string `json:"flags"`
			Seq   uint32 `json:"seq"`
			Ack   uint32 `json:"ack"`
			Win   int    `json:"win"`
			Len   int    `json:"len"`
			// AckRTT is the RTT this ACK measured, µs, and Acks the
			// segment it acknowledges (tshark's ack_rtt, acks_frame).
			AckRTT *float64 `json:"ack_rtt_us"`
			// Analysis holds the trace's tcp.analysis flags.
			Analysis []string `json:"analysis"`
			Acks     uint64   `json:"acks"`
			Options  *struct {
				MSS    int       `json:"mss"`
				SackOK bool      `json:"sack_ok"`
				TS     []uint32  `json:"ts"`
				WScale *int      `json:"wscale"`
				SACK   [][]int64 `json:"sack"`
			} `json:"options"`
		} `json:"tcp"`
		UDP *struct {
			Sport uint16 `json:"sport"`
			Dport uint16 `json:"dport"`
			Len   int    `json:"len"`
		} `json:"udp"`
		ICMP *struct {
			Name string `json:"name"`
			Type int    `json:"type"`
			Seq  *int   `json:"seq"`
		} `json:"icmp"`
		ICMP6 *struct {
			Name string `json:"name"`
			Type int    `json:"type"`
		} `json:"icmp6"`
		ARP *struct {
			Op        string `json:"op"`
			SenderMAC string `json:"sender_mac"`
			SenderIP  string `json:"sender_ip"`
			TargetIP  string `json:"target_ip"`
		} `json:"arp"`
	} `json:"layers"`
	Malformed string `json:"malformed"`
	// Events.
	Host   string `json:"host"`
	Kind   string `json:"kind"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
	From   string `json:"from"`
	To     string `json:"to"`
	Name   string `json:"name"`
	Detail string `json:"detail"`
	Packet uint64 `json:"packet"`
	Vars   *struct {
		Cwnd     int64  `json:"cwnd"`
		Ssthresh *int64 `json:"ssthresh"`
		SRTT     int64  `json:"srtt_us"`
		RTTVar   int64  `json:"rttvar_us"`
		RTO      int64  `json:"rto_us"`
		InFlight int64  `json:"in_flight"`
		Rwnd     int64  `json:"rwnd"`
		SndWnd   int64  `json:"snd_wnd"`
		CAState  string `json:"ca_state"`
	} `json:"vars"`
}

// recList holds the records in blocks of recBlock, so that a long
// trace adds to it without copying what it holds: a slice of the
// 113,000 records of a 32 MiB transfer's page, grown by append (by a
// quarter at a time at that size), allocated 192 MB to hold 40.
type recList struct {
	blocks [][]rec
	n      int
}

const recBlock = 1024

// add returns a new zero record at the end.
func (l *recList) add() *rec {
	if l.n == len(l.blocks)*recBlock {
		l.blocks = append(l.blocks, make([]rec, recBlock))
	}
	l.n++
	return l.at(l.n - 1)
}

// at returns record i.
func (l *recList) at(i int) *rec { return &l.blocks[i/recBlock][i%recBlock] }

// Hop is one packet crossing one link: from its sender's lifeline to
// the next host's.
type Hop struct {
	Out   int     `json:"o"`           // index of the record where it was sent (or seen, in a foreign capture)
	In    int     `json:"i"`           // index of the record where it arrived, -1 if none did
	From  int     `json:"a"`           // lifeline index
	To    int     `json:"b"`           // lifeline index
	Y1    float64 `json:"y1"`          // sent
	Y2    float64 `json:"y2"`          // arrived (or, when lost, where it was lost)
	T     float64 `json:"t"`           // time sent, seconds
	Conn  int     `json:"c"`           // connection index, -1 for none
	Label string  `json:"l"`           // Wireshark Flow Graph label
	Marks string  `json:"m,omitempty"` // "R" retransmission, "D" duplicate ACK, "X" dropped, "L" lost, "Z" zero window, "O" out of order, "K" keep-alive
	Drop  string  `json:"d,omitempty"` // why it was dropped, where
	Dir   int     `json:"dir"`         // 0: the connection's first direction, 1: the other
	// RTT is the round-trip time this ACK measured where it reached the
	// data's sender (a foreign capture: where it was captured), µs, -1
	// none; Acks is the id of the segment it acknowledges.
	RTT  float64 `json:"rtt"`
	Acks uint64  `json:"acks,omitempty"`
}

// Note is a line on a lifeline: a TCP state change, a socket call, a
// timer, a drop without a packet.
type Note struct {
	Rec  int     `json:"r"`
	Col  int     `json:"a"`
	Y    float64 `json:"y"`
	Text string  `json:"l"`
	Kind string  `json:"k"`
	Conn int     `json:"c"`
}

// Fold is a long idle gap drawn shorter than its time, or (N) the
// records a page left out.
type Fold struct {
	Y   float64 `json:"y"`
	H   float64 `json:"h"`
	Gap float64 `json:"g"` // seconds
	N   int     `json:"n,omitempty"`
}

// Conn is one connection or flow.
type Conn struct {
	Proto string `json:"p"`
	A     string `json:"a"` // "10.0.0.1:56918"
	B     string `json:"b"`
	AName string `json:"an"`
	BName string `json:"bn"`
	// Series: per end, the TCP variables over time: [t, cwnd, ssthresh
	// (-1 unset), srtt_us, rttvar_us, rto_us, in_flight, rwnd, snd_wnd,
	// state index].
	SeriesA [][10]float64 `json:"sa,omitempty"`
	SeriesB [][10]float64 `json:"sb,omitempty"`
	HostA   string        `json:"ha,omitempty"` // the host whose series SeriesA is
	HostB   string        `json:"hb,omitempty"`
	Label   string        `json:"l"`
}

// States names the congestion states in the series' last column.
var States = []string{"open", "disorder", "recovery", "loss"}

// Model is a run laid out as a ladder.
type Model struct {
	Title  string            `json:"title"`
	About  string            `json:"about,omitempty"`
	Lang   string            `json:"lang,omitempty"`
	Nodes  []Node            `json:"nodes"`
	Links  []Link            `json:"links"`
	Hosts  []string          `json:"hosts"`
	Recs   []json.RawMessage `json:"recs"`
	Hops   []Hop             `json:"hops"`
	Notes  []Note            `json:"notes"`
	Folds  []Fold            `json:"folds"`
	Conns  []*Conn           `json:"conns"`
	Height float64           `json:"height"`
	States []string          `json:"states"`

	// Gap, if not nil, is the records left out (see maxRecords).
	Gap *Gap `json:"-"`

	recs     recList
	maxBytes int // tests: the records' bound instead of maxPageBytes
}

// Layout constants, in pixels.
const (
	RowH    = 18.0  // least distance between two rows
	foldAt  = 300.0 // a gap drawn taller than this is folded
	foldLog = 36.0  // each doubling of a folded gap adds this much
	gapH    = 40.0  // the band of the records left out
)

// Build parses the trace and lays it out.
func Build(in Input) (*Model, error) {
	b := NewBuilder(in)
	b.Write(in.Trace)
	return b.Model()
}

// A Builder builds a Model from a JSON lines trace written into it as
// the trace is written (it is an io.Writer), so that a run's page is
// built without the whole trace held beside it. It keeps each record for
// the page's packet details, and it cuts the frames' bytes to their
// first 128 as soon as the records the page keeps whole pass
// maxPageBytes, where the page would cut them all in the end
// (Model.trimBytes): a transfer of 64 MiB, 72,000 frames, drew its page
// from 1.5 GB of memory when every record was held whole until then.
type Builder struct {
	m    *Model
	part []byte // a line not yet ended
	line int
	err  error
	// kept counts the bytes of the records the page keeps as they are
	// (all but received copies and series events, which compact
	// shortens): a lower bound of what trimBytes will count.
	kept int

	// The bound on records (see maxRecords): the first half go to m as
	// they come; the rest wait in post, in order, the oldest left out
	// while more than the other half wait.
	limit   int            // maxRecords, or a test's
	post    []postRec      // the records after the first half, in order
	live    int            // records in post that may be left out
	next    int            // post's oldest record that may be left out
	wait    map[uint64]int // packets sent in the first half and not yet received
	scratch rec            // a record after the first half, parsed
	head    []byte         // a record without its bytes, for the decoder
	gap     Gap            // what was left out
}

// maxRecords bounds the records a page holds: the run's first 50,000
// and its last 50,000 (every built-in scenario has fewer in all; a
// transfer of 64 MiB has 226,000), with a band on the ladder that counts
// the records left out between them. A page held some 1 KB a record
// while it was built, so a long run's page took memory in proportion to
// its length (690 MB at 64 MiB). The receipt of a packet sent in the
// first half is kept with it, so that no packet drawn is shown lost for
// want of its receipt.
const maxRecords = 100_000

// postRec is a record after the first half.
type postRec struct {
	r      rec
	line   json.RawMessage
	pinned bool // the receipt of a packet sent in the first half: kept
	gone   bool // left out
}

// Gap is the records a page left out (Model.Gap).
type Gap struct {
	At       int     // the index in the records of the first one after the gap
	N        int     // records left out
	From, To float64 // their first and last times
}

// maxLine bounds one line of the trace.
const maxLine = 64 << 20

// NewBuilder returns a Builder for a page of in's title, topology and
// words; in.Trace is not read (write the trace into the Builder).
func NewBuilder(in Input) *Builder {
	return &Builder{m: &Model{Title: in.Title, About: in.About, Lang: in.Lang, Nodes: in.Nodes, Links: in.Links, States: States},
		limit: maxRecords, wait: map[uint64]int{}}
}

// Write takes more of the trace. It never fails: an error in the trace
// is reported by Model.
func (b *Builder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && b.err == nil {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(b.part)+len(p) > maxLine {
				b.err = fmt.Errorf("trace line %d: longer than %d bytes", b.line+1, maxLine)
				break
			}
			b.part = append(b.part, p...)
			break
		}
		if len(b.part) > 0 {
			b.part = append(b.part, p[:i]...)
			b.add(b.part)
			b.part = b.part[:0]
		} else {
			b.add(p[:i])
		}
		p = p[i+1:]
	}
	return n, nil
}

// add takes one line of the trace.
func (b *Builder) add(raw []byte) {
	b.line++
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return
	}
	m := b.m
	later := m.recs.n >= b.limit/2 // the first half is full
	r := &b.scratch
	if later {
		*r = rec{}
	} else {
		r = m.recs.add() // parsed in place
	}
	body := t
	start, end, tail := hexTail(t)
	if tail {
		// The record without its bytes (checked digit by digit), which
		// rec does not hold: the decoder scans a tenth of the line.
		k := start - len(`,"bytes":"`)
		b.head = append(append(b.head[:0], t[:k]...), '}')
		body = b.head
	}
	if err := json.Unmarshal(body, r); err != nil {
		*r = rec{}
		if !later {
			m.recs.n--
		}
		b.err = fmt.Errorf("trace line %d: %v", b.line, err)
		return
	}
	wasCut := b.cut()
	if !(r.Type == "packet" && r.Vantage != "" && r.Dir == "in") && !(r.Type == "event" && r.Kind == "series") {
		b.kept += len(t)
	}
	if b.cut() && !wasCut {
		for i := range m.Recs {
			m.Recs[i] = trimRecord(m.Recs[i])
		}
		for i := range b.post {
			if p := &b.post[i]; !p.gone {
				p.line = trimRecord(p.line)
			}
		}
	}
	line := json.RawMessage(t)
	switch {
	case !b.cut():
	case tail:
		line = cutBytes(line, start, end) // found once
	default:
		line = trimRecord(line)
	}
	if &line[0] == &t[0] {
		line = bytes.Clone(line) // t is the writer's: kept, it is copied
	}
	sim := r.Type == "packet" && r.Vantage != ""
	if !later {
		m.Recs = append(m.Recs, line)
		if sim && r.Dir == "out" && r.Drop == "" {
			b.wait[r.ID]++
		}
		return
	}
	pinned := sim && r.Dir == "in" && b.wait[r.ID] > 0
	if pinned {
		if b.wait[r.ID]--; b.wait[r.ID] == 0 {
			delete(b.wait, r.ID)
		}
	}
	b.post = append(b.post, postRec{r: *r, line: line, pinned: pinned})
	if !pinned {
		if b.live++; b.live > b.limit-b.limit/2 {
			b.leaveOut()
		}
	}
}

// leaveOut leaves out the oldest record in post that may be, and
// compacts post once most of it is left out.
func (b *Builder) leaveOut() {
	for b.post[b.next].pinned || b.post[b.next].gone {
		b.next++
	}
	p := &b.post[b.next]
	if b.gap.N == 0 {
		b.gap.From = p.r.Time
	}
	b.gap.N++
	b.gap.To = max(b.gap.To, p.r.Time)
	p.gone, p.r, p.line = true, rec{}, nil
	b.live--
	b.next++
	if b.next > 1024 && b.next > len(b.post)/2 {
		kept := b.post[:0]
		for i := range b.post {
			if !b.post[i].gone {
				kept = append(kept, b.post[i])
			}
		}
		clear(b.post[len(kept):])
		b.post = kept
		// The records before next were pinned or left out: those kept
		// are pinned.
		b.next = 0
	}
}

// cut reports whether the records the page keeps whole have passed its
// bound: from then on, frames' bytes are cut as they come.
func (b *Builder) cut() bool { return b.kept > b.m.pageLimit() }

// Model lays out the trace written so far, its last line included if it
// has no newline, and returns the model or the trace's first error.
func (b *Builder) Model() (*Model, error) {
	if len(b.part) > 0 && b.err == nil {
		b.add(b.part)
		b.part = nil
	}
	if b.err != nil {
		return nil, b.err
	}
	m := b.m
	b.gap.At = -1
	for i := range b.post {
		p := &b.post[i]
		if p.gone {
			continue
		}
		if b.gap.N > 0 && b.gap.At < 0 && !p.pinned {
			b.gap.At = m.recs.n
		}
		*m.recs.add() = p.r
		m.Recs = append(m.Recs, p.line)
	}
	b.post = nil
	if b.gap.N > 0 {
		m.Gap = &b.gap
	}
	m.hosts()
	m.layout()
	m.compact()
	return m, nil
}

// compact shortens what the page does not need twice: a received copy
// of a packet keeps only where, when and whether it was dropped (its
// layers are the sent copy's), and series events, already filed under
// their connections, become 0.
func (m *Model) compact() {
	for _, h := range m.Hops {
		if h.In >= 0 && h.In != h.Out {
			r := m.recs.at(h.In)
			b, err := json.Marshal(struct {
				Time    float64 `json:"time"`
				Type    string  `json:"type"`
				Vantage string  `json:"vantage"`
				Dir     string  `json:"dir"`
				ID      uint64  `json:"id"`
				Drop    string  `json:"drop,omitempty"`
			}{r.Time, r.Type, r.Vantage, r.Dir, r.ID, r.Drop})
			if err == nil {
				m.Recs[h.In] = b
			}
		}
	}
	for i := range m.recs.n {
		if r := m.recs.at(i); r.Type == "event" && r.Kind == "series" {
			m.Recs[i] = json.RawMessage("0")
		}
	}
}

func vantageHost(v string) string {
	h, _, _ := strings.Cut(v, ":")
	return h
}

// hosts orders the lifelines along the path: from the first node with
// one link, depth first, so that a router stands between the hosts it
// joins; then any host seen in the trace and not in the topology.
func (m *Model) hosts() {
	seen := map[string]bool{}
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			m.Hosts = append(m.Hosts, h)
		}
	}
	adj := map[string][]string{}
	for _, l := range m.Links {
		adj[l.A] = append(adj[l.A], l.B)
		adj[l.B] = append(adj[l.B], l.A)
	}
	var visit func(string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		add(n)
		for _, x := range adj[n] {
			visit(x)
		}
	}
	for _, n := range m.Nodes {
		if len(adj[n.Name]) == 1 {
			visit(n.Name)
		}
	}
	for _, n := range m.Nodes {
		visit(n.Name)
	}
	for i := range m.recs.n {
		r := m.recs.at(i)
		if r.Type == "packet" {
			if r.Vantage != "" {
				add(vantageHost(r.Vantage))
			} else {
				add(r.Src)
				add(r.Dst)
			}
		}
	}
}

// endpoints returns a packet's transport endpoints.
func (r *rec) endpoints() (proto, src, dst string, ok bool) {
	var sa, da string
	switch {
	case r.Layers.IPv4 != nil:
		sa, da = r.Layers.IPv4.Src, r.Layers.IPv4.Dst
	case r.Layers.IPv6 != nil:
		sa, da = r.Layers.IPv6.Src, r.Layers.IPv6.Dst
	default:
		return "", "", "", false
	}
	ap := func(a string, p uint16) string {
		if ad, err := netip.ParseAddr(a); err == nil {
			return netip.AddrPortFrom(ad, p).String()
		}
		return fmt.Sprintf("%s:%d", a, p)
	}
	switch {
	case r.Layers.TCP != nil:
		return "tcp", ap(sa, r.Layers.TCP.Sport), ap(da, r.Layers.TCP.Dport), true
	case r.Layers.UDP != nil:
		return "udp", ap(sa, r.Layers.UDP.Sport), ap(da, r.Layers.UDP.Dport), true
	case r.Layers.ICMP != nil:
		return "icmp", sa, da, true
	}
	return "", "", "", false
}

func (m *Model) layout() {
	col := map[string]int{}
	for i, h := range m.Hosts {
		col[h] = i
	}
	conns := map[[3]string]int{}
	connOf := func(r *rec) (int, int) {
		proto, s, d, ok := r.endpoints()
		if !ok {
			return -1, 0
		}
		k, dir := [3]string{proto, s, d}, 0
		if i, ok := conns[k]; ok {
			return i, 0
		}
		if i, ok := conns[[3]string{proto, d, s}]; ok {
			return i, 1
		}
		c := &Conn{Proto: proto, A: s, B: d, AName: r.Src, BName: r.Dst}
		c.Label = fmt.Sprintf("%s %s ⇄ %s", proto, nameAddr(r.Src, s), nameAddr(r.Dst, d))
		m.Conns = append(m.Conns, c)
		conns[k] = len(m.Conns) - 1
		return len(m.Conns) - 1, dir
	}
	// Times to y: a distinct time starts where the last row ended plus
	// its gap, scaled; rows are at least RowH apart.
	scale := m.scale()
	y, lastT, lastRow := 0.0, math.NaN(), -RowH
	at := func(t float64, row bool) float64 {
		if !math.IsNaN(lastT) && t > lastT {
			dy := (t - lastT) * scale
			if dy > foldAt {
				h := foldAt/6 + foldLog*math.Log2(dy/foldAt)
				m.Folds = append(m.Folds, Fold{Y: y + 4, H: h - 8, Gap: t - lastT})
				dy = h
			}
			y += dy
		}
		if math.IsNaN(lastT) || t > lastT {
			lastT = t
		}
		if row {
			y = math.Max(y, lastRow+RowH)
			lastRow = y
		}
		return y
	}
	pending := map[uint64][]int{} // hops not yet arrived, by packet id
	for i := range m.recs.n {
		r := m.recs.at(i)
		if g := m.Gap; g != nil && i == g.At {
			// The records left out: a band of their own, and the rest
			// from there on.
			y = math.Max(y, lastRow) + RowH
			m.Folds = append(m.Folds, Fold{Y: y, H: gapH, Gap: g.To - g.From, N: g.N})
			y += gapH + RowH
			lastRow, lastT = y-RowH, r.Time
		}
		switch r.Type {
		case "packet":
			ci, dir := connOf(r)
			if r.Vantage == "" { // a foreign capture: sent and seen at once
				a, b := col[r.Src], col[r.Dst]
				yy := at(r.Time, true)
				h := Hop{Out: i, In: i, From: a, To: b, Y1: yy, Y2: yy, T: r.Time, Conn: ci, Dir: dir, Label: label(r)}
				h.Marks = marks(r)
				m.Hops = append(m.Hops, h)
				continue
			}
			host := vantageHost(r.Vantage)
			if r.Dir == "in" {
				yy := at(r.Time, false)
				idx := pending[r.ID]
				k := -1
				for j, hi := range idx {
					if m.Hosts[m.Hops[hi].From] != host {
						k = j
						break
					}
				}
				if k < 0 {
					// A frame whose sending was not captured (a packet
					// injected onto a link, a flood from spoofed
					// addresses): drawn from its source, as it arrived.
					from, lbl := col[r.Src], label(r)
					if _, ok := col[r.Src]; !ok {
						var name string
						name, lbl = ladder.SourceColumn(r.Src, lbl, len(m.Hosts))
						from = m.column(name, col)
					}
					yy = at(r.Time, true)
					h := Hop{Out: i, In: i, From: from, To: col[host], Y1: yy, Y2: yy, T: r.Time, Conn: ci, Dir: dir, Label: lbl}
					h.Marks = marks(r)
					if r.Drop != "" {
						h.Marks += "X"
						h.Drop = host + ": " + r.Drop
					}
					m.Hops = append(m.Hops, h)
					continue
				}
				hi := idx[k]
				pending[r.ID] = append(idx[:k], idx[k+1:]...)
				h := &m.Hops[hi]
				h.In, h.To, h.Y2 = i, col[host], yy
				if r.Drop != "" {
					h.Marks += "X"
					h.Drop = host + ": " + r.Drop
				}
				continue
			}
			yy := at(r.Time, true)
			h := Hop{Out: i, In: -1, From: col[host], To: m.nextHop(col[host], r), Y1: yy, Y2: yy, T: r.Time, Conn: ci, Dir: dir, Label: label(r)}
			h.Marks = marks(r)
			if r.Drop != "" {
				h.Marks += "X"
				h.Drop = "on the link from " + host + ": " + r.Drop
			} else {
				pending[r.ID] = append(pending[r.ID], len(m.Hops))
			}
			m.Hops = append(m.Hops, h)
		case "event":
			switch r.Kind {
			case "series":
				m.series(r)
				continue
			case "drop":
				if r.Packet != 0 {
					continue // shown on the packet
				}
			}
			c, ok := col[r.Host]
			if host, _, thread := strings.Cut(r.Host, "/"); !ok && thread {
				c, ok = col[host] // a thread's lane ("server/t1"): on its host's lifeline
			}
			if !ok {
				continue // a link's event: its drops are on the packets
			}
			m.Notes = append(m.Notes, Note{Rec: i, Col: c, Y: at(r.Time, true), Text: noteText(r), Kind: r.Kind, Conn: m.connByTuple(r)})
		}
	}
	for i := range m.Hops {
		m.Hops[i].setRTT(&m.recs)
	}
	// Hops never received: lost on the way; drawn half way.
	for i := range m.Hops {
		h := &m.Hops[i]
		if h.In < 0 && h.Out >= 0 && m.recs.at(h.Out).Vantage != "" {
			if !strings.Contains(h.Marks, "X") {
				h.Marks += "L"
			}
			h.Y2 = h.Y1 + RowH
		}
	}
	m.Height = y + 2*RowH
}

// column returns the column named name, adding it to m.Hosts and col
// if there is none.
func (m *Model) column(name string, col map[string]int) int {
	if c, ok := col[name]; ok {
		return c
	}
	m.Hosts = append(m.Hosts, name)
	col[name] = len(m.Hosts) - 1
	return col[name]
}

// setRTT copies the RTT the trace measured for the ACK h carries: on
// its received copy in a simulation (where it reached the data's
// sender), on the one record of a foreign capture.
func (h *Hop) setRTT(recs *recList) {
	h.RTT = -1
	for _, k := range []int{h.In, h.Out} {
		if k < 0 {
			continue
		}
		if t := recs.at(k).Layers.TCP; t != nil && t.AckRTT != nil {
			h.RTT, h.Acks = *t.AckRTT, t.Acks
			return
		}
	}
}

func nameAddr(name, addr string) string {
	if name == "" || strings.HasPrefix(addr, name) {
		return addr
	}
	if i := strings.LastIndexByte(addr, ':'); i >= 0 && !strings.Contains(addr[:i], ":") {
		return name + addr[i:]
	}
	return name + " " + addr
}

// connByTuple finds the connection an event names, or -1.
func (m *Model) connByTuple(r *rec) int {
	if r.Local == "" {
		return -1
	}
	for i, c := range m.Conns {
		if c.A == r.Local && c.B == r.Remote || c.B == r.Local && c.A == r.Remote {
			return i
		}
	}
	return -1
}

// series files a series event under its connection.
func (m *Model) series(r *rec) {
	v := r.Vars
	if v == nil {
		return
	}
	ci := m.connByTuple(r)
	if ci < 0 {
		c := &Conn{Proto: "tcp", A: r.Local, B: r.Remote, AName: r.Host}
		c.Label = "tcp " + nameAddr(r.Host, r.Local) + " ⇄ " + r.Remote
		m.Conns = append(m.Conns, c)
		ci = len(m.Conns) - 1
	}
	c := m.Conns[ci]
	ss := int64(-1)
	if v.Ssthresh != nil {
		ss = *v.Ssthresh
	}
	st := 0
	for i, s := range States {
		if s == v.CAState {
			st = i
		}
	}
	p := [10]float64{r.Time, float64(v.Cwnd), float64(ss), float64(v.SRTT), float64(v.RTTVar), float64(v.RTO), float64(v.InFlight), float64(v.Rwnd), float64(v.SndWnd), float64(st)}
	if c.A == r.Local {
		c.SeriesA, c.HostA = append(c.SeriesA, p), r.Host
	} else {
		c.SeriesB, c.HostB = append(c.SeriesB, p), r.Host
	}
}

// nextHop guesses where a frame sent from lifeline from goes first when
// no vantage point received it: the neighbour toward its destination.
func (m *Model) nextHop(from int, r *rec) int {
	dst := -1
	for i, h := range m.Hosts {
		if h == r.Dst {
			dst = i
		}
	}
	for _, l := range m.Links {
		var other string
		switch m.Hosts[from] {
		case l.A:
			other = l.B
		case l.B:
			other = l.A
		default:
			continue
		}
		for i, h := range m.Hosts {
			if h == other && (dst < 0 || (i-from)*(dst-from) > 0 || i == dst) {
				return i
			}
		}
	}
	switch {
	case dst >= 0 && dst != from:
		return dst
	case from+1 < len(m.Hosts):
		return from + 1
	case from > 0:
		return from - 1
	}
	return from
}

// scale returns pixels per second: the median gap between consecutive
// distinct times becomes one row.
func (m *Model) scale() float64 {
	var gaps []float64
	last := math.NaN()
	for i := range m.recs.n {
		t := m.recs.at(i).Time
		if !math.IsNaN(last) && t > last {
			gaps = append(gaps, t-last)
		}
		last = t
	}
	if len(gaps) == 0 {
		return 1
	}
	sort.Float64s(gaps)
	g := gaps[len(gaps)/2]
	return RowH / g
}

// analysisMarks are the page's marks for the trace's tcp.analysis flags.
var analysisMarks = map[string]byte{
	"retransmission": 'R', "duplicate_ack": 'D', "zero_window": 'Z', "out_of_order": 'O', "keep_alive": 'K',
}

// marks are the trace's TCP analysis of the packet (Wireshark's
// tcp.analysis flags, the same for a simulated run and a foreign
// capture) as the page's marks: R retransmission, D duplicate ACK, Z
// zero window, O out of order, K keep-alive.
func marks(r *rec) string {
	t := r.Layers.TCP
	if t == nil {
		return ""
	}
	var b []byte
	for _, a := range t.Analysis {
		if c, ok := analysisMarks[a]; ok && !strings.ContainsRune(string(b), rune(c)) {
			b = append(b, c)
		}
	}
	return string(b)
}

// flagNames spells tcpdump's flag letters as Wireshark does.
func flagNames(f string) string {
	var names []string
	for _, x := range []struct{ c, name string }{{"F", "FIN"}, {"S", "SYN"}, {"R", "RST"}, {"P", "PSH"}, {".", "ACK"}, {"U", "URG"}, {"E", "ECE"}, {"W", "CWR"}} {
		if strings.Contains(f, x.c) {
			names = append(names, x.name)
		}
	}
	// Wireshark's order: SYN, ACK before FIN, PSH.
	order := map[string]int{"SYN": 0, "FIN": 1, "RST": 2, "PSH": 3, "ACK": 4, "URG": 5, "ECE": 6, "CWR": 7}
	sort.SliceStable(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
	return "[" + strings.Join(names, ", ") + "]"
}

// label writes a packet as Wireshark's Flow Graph does.
func label(r *rec) string {
	l := &r.Layers
	switch {
	case l.TCP != nil:
		t := l.TCP
		var b strings.Builder
		fmt.Fprintf(&b, "%d → %d %s Seq=%d", t.Sport, t.Dport, flagNames(t.Flags), t.Seq)
		if strings.Contains(t.Flags, ".") {
			fmt.Fprintf(&b, " Ack=%d", t.Ack)
		}
		fmt.Fprintf(&b, " Win=%d Len=%d", t.Win, t.Len)
		if o := t.Options; o != nil {
			if o.MSS > 0 {
				fmt.Fprintf(&b, " MSS=%d", o.MSS)
			}
			if o.SackOK {
				b.WriteString(" SACK_PERM")
			}
			if len(o.TS) == 2 {
				fmt.Fprintf(&b, " TSval=%d TSecr=%d", o.TS[0], o.TS[1])
			}
			if o.WScale != nil {
				fmt.Fprintf(&b, " WS=%d", 1<<*o.WScale)
			}
			for _, s := range o.SACK {
				if len(s) == 2 {
					fmt.Fprintf(&b, " SLE=%d SRE=%d", s[0], s[1])
				}
			}
		}
		return b.String()
	case l.UDP != nil:
		return fmt.Sprintf("%d → %d Len=%d", l.UDP.Sport, l.UDP.Dport, l.UDP.Len)
	case l.ICMP != nil:
		s := l.ICMP.Name
		if s == "" {
			s = fmt.Sprintf("ICMP type %d", l.ICMP.Type)
		}
		if l.ICMP.Seq != nil {
			s += fmt.Sprintf(" seq=%d", *l.ICMP.Seq)
		}
		return s
	case l.ICMP6 != nil:
		return "ICMPv6 " + l.ICMP6.Name
	case l.ARP != nil:
		if l.ARP.Op == "request" {
			return fmt.Sprintf("ARP Who has %s? Tell %s", l.ARP.TargetIP, l.ARP.SenderIP)
		}
		return fmt.Sprintf("ARP %s is at %s", l.ARP.SenderIP, l.ARP.SenderMAC)
	}
	if r.Malformed != "" {
		return "malformed: " + r.Malformed
	}
	return fmt.Sprintf("%d bytes", r.Len)
}

// noteText writes an event for its lifeline.
func noteText(r *rec) string {
	switch r.Kind {
	case "state":
		return r.From + " → " + r.To
	case "call":
		args, res, ok := strings.Cut(r.Detail, " → ")
		if ok {
			return r.Name + "(" + args + ") → " + res
		}
		return r.Name + "(" + r.Detail + ")"
	case "timer":
		return "timer " + r.Name + ": " + r.Detail
	case "retransmit":
		return "retransmit: " + r.Detail
	case "congestion":
		return "cc: " + r.Detail
	case "drop":
		return "drop: " + strings.TrimPrefix(r.Name+": "+r.Detail, ": ")
	}
	return strings.TrimSpace(r.Name + " " + r.Detail)
}
