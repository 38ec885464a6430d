package ladder

import (
	"slices"
	"sort"
	"strings"
	"time"

	"stacklab/capture/trace"
)

// DefaultKeep is how many rows (hops sent and notes) a run's ladder
// draws at most: the first half of the run's rows and the last half,
// with a band between them that counts what was left out. A bulk
// transfer of 64 MiB has some 72,000 rows, which drawn whole made a
// 26 MB SVG and held 340 MB while it was built; the handshake and the
// teardown, what a ladder is read for, are at the two ends. The largest
// built-in scenario (linux-vs-rfc) has some 17,000, drawn whole. The
// pcapng files and the trace keep every packet.
const DefaultKeep = 20000

// maxNext bounds the (sender, destination) pairs a Collector remembers
// to point lost hops at the next hop other packets took: a scenario
// talks to a few destinations, a flood from spoofed addresses to many.
// Pairs beyond it are not remembered (a lost hop to one of them points
// at the next column instead), and counted in Ladder.Unpaired.
const maxNext = 4096

// MaxColumns bounds the columns that addresses take: the hosts that
// capture frames each have one, and an address that sent a frame no
// vantage point captured (a packet injected onto a link, a flood from
// spoofed addresses) has one while there are fewer than MaxColumns;
// past that, its frames come from OtherColumn, their label led by their
// source, and are counted in Ladder.Others. The syn-flood built-in drew
// 1,000 columns, a text ladder 40,000 characters wide.
const MaxColumns = 12

// OtherColumn is the column of the addresses past MaxColumns.
const OtherColumn = "other addresses"

// SourceColumn is the column a frame is drawn from when no vantage
// point captured its sending and its source src is no column yet, with
// its label: src's own while there are fewer than MaxColumns columns;
// else OtherColumn, the label led by the source; OtherColumn too for a
// frame without a source. The page (capture/view) draws by it as well.
func SourceColumn(src, label string, columns int) (column, lbl string) {
	switch {
	case src == "":
		return OtherColumn, label
	case columns >= MaxColumns:
		return OtherColumn, src + ": " + label
	}
	return src, label
}

// Gap is the part of a run that a bounded ladder leaves out: every row
// after the first AfterMsgs hops and AfterNotes notes of the ladder, and
// before the rest.
type Gap struct {
	AfterMsgs, AfterNotes int
	// Msgs and Notes are the hops and notes left out.
	Msgs, Notes int
	// From and To are the times of the first and the last row left out.
	From, To time.Duration
}

// Rows is the number of rows left out.
func (g *Gap) Rows() int { return g.Msgs + g.Notes }

// A Collector builds a ladder from the packet summaries and notes of a
// run as it goes, in memory bounded by its keep: it holds the first
// keep/2 rows and the last keep - keep/2, and counts the rows between
// (Ladder.Gap). A receipt finishes its hop wherever the hop is kept; the
// receipt of a hop left out is left out with it. The zero keep holds
// every row. A Collector is not safe for concurrent use.
type Collector struct {
	keep, head int
	hosts      []string
	seen       map[string]bool
	rows       []row // the first head rows, then a ring of the last keep-head
	n          int   // rows added
	// pending holds the hops sent and not yet received, by packet id:
	// their row numbers, each kept.
	pending  map[uint64][]int
	next     map[[2]string]string // (from, destination) → the next hop seen
	gap      Gap
	unpaired int // pairs not remembered in next
	others   int // hops drawn from OtherColumn
	// lastGone is the greatest packet id of a hop left out: a receipt
	// whose hop is not pending and whose id is no greater was sent in
	// the gap (a simulation numbers packets as it makes them).
	lastGone uint64
}

// row is a hop sent or a note, in the order the Collector got them.
type row struct {
	note    bool
	msg     Msg
	nt      Note
	dst     string // a hop's final destination
	waiting bool   // a hop in pending
}

func (r *row) time() time.Duration {
	if r.note {
		return r.nt.Time
	}
	return r.msg.Sent
}

// NewCollector returns a Collector whose columns start with hosts (see
// [Build]) and that keeps at most keep rows (0: every row; else at
// least 2, the first and the last).
func NewCollector(hosts []string, keep int) *Collector {
	if keep != 0 {
		keep = max(keep, 2)
	}
	c := &Collector{keep: keep, head: keep / 2, seen: map[string]bool{},
		pending: map[uint64][]int{}, next: map[[2]string]string{}}
	for _, h := range hosts {
		c.addHost(h)
	}
	return c
}

func (c *Collector) addHost(h string) {
	if h != "" && !c.seen[h] {
		c.seen[h] = true
		c.hosts = append(c.hosts, h)
	}
}

// at returns row i, or nil if it was left out.
func (c *Collector) at(i int) *row {
	if c.keep == 0 || i < c.head {
		return &c.rows[i]
	}
	tail := c.keep - c.head
	if i < c.n-tail {
		return nil
	}
	return &c.rows[c.head+(i-c.head)%tail]
}

// push adds a row and returns its number, leaving out the oldest of the
// tail when the Collector is full.
func (c *Collector) push(r row) int {
	i := c.n
	c.n++
	if c.keep == 0 || i < c.head {
		c.rows = append(c.rows, r)
		return i
	}
	tail := c.keep - c.head
	pos := c.head + (i-c.head)%tail
	if pos == len(c.rows) {
		c.rows = append(c.rows, r)
		return i
	}
	c.leaveOut(&c.rows[pos], i-tail)
	c.rows[pos] = r
	return i
}

// leaveOut counts row i, about to be overwritten, in the gap.
func (c *Collector) leaveOut(r *row, i int) {
	if r.note {
		c.gap.Notes++
	} else {
		c.gap.Msgs++
		c.lastGone = max(c.lastGone, r.msg.ID)
		if r.waiting {
			c.unpend(r.msg.ID, i)
		}
	}
	c.gone(r.time())
}

// gone widens the gap's times to t.
func (c *Collector) gone(t time.Duration) {
	if c.gap.Rows() == 1 {
		c.gap.From, c.gap.To = t, t
		return
	}
	c.gap.From, c.gap.To = min(c.gap.From, t), max(c.gap.To, t)
}

// unpend takes row i off the hops of packet id waiting for a receipt.
func (c *Collector) unpend(id uint64, i int) {
	idxs := c.pending[id]
	if k := slices.Index(idxs, i); k >= 0 {
		idxs = slices.Delete(idxs, k, k+1)
	}
	if len(idxs) == 0 {
		delete(c.pending, id)
		return
	}
	c.pending[id] = idxs
}

// Add takes the summary of the next frame captured. Summaries without a
// vantage point (from a foreign capture) are skipped.
func (c *Collector) Add(s *trace.Summary) {
	host := vantageHost(s.Vantage)
	if host == "" {
		return
	}
	c.addHost(host)
	switch s.Dir {
	case trace.DirOut:
		i := c.push(row{msg: Msg{ID: s.ID, From: host, To: s.Dst, Sent: s.Time, Label: label(s), Drop: s.Drop, Lost: true, Marks: s.Analysis.Texts()},
			dst: s.Dst, waiting: s.Drop == ""})
		if s.Drop == "" {
			c.pending[s.ID] = append(c.pending[s.ID], i)
		}
	case trace.DirIn:
		idxs := c.pending[s.ID]
		k := -1
		for j, i := range idxs {
			if c.at(i).msg.From != host {
				k = j
				break
			}
		}
		if k < 0 {
			if c.gap.Msgs > 0 && s.ID <= c.lastGone {
				return // the receipt of a hop left out, counted with it
			}
			// Received, but its sending was not captured: from a column
			// of its own, or from OtherColumn past MaxColumns.
			from, lbl := s.Src, label(s)
			if !c.seen[from] {
				if from, lbl = SourceColumn(s.Src, lbl, len(c.hosts)); from == OtherColumn {
					c.others++
				}
			}
			c.addHost(from)
			c.push(row{msg: Msg{ID: s.ID, From: from, To: host, Sent: s.Time, Recv: s.Time,
				Received: true, Label: lbl, Drop: s.Drop, Marks: s.Analysis.Texts()}, dst: s.Dst})
			return
		}
		r := c.at(idxs[k])
		m := &r.msg
		m.To, m.Recv, m.Received, m.Lost = host, s.Time, true, false
		r.waiting = false
		key := [2]string{m.From, r.dst}
		if _, ok := c.next[key]; ok || len(c.next) < maxNext {
			c.next[key] = host
		} else {
			c.unpaired++
		}
		if s.Drop != "" {
			m.Drop = s.Drop
		}
		c.unpend(s.ID, idxs[k])
	}
}

// AddNote takes the next note (a TCP state change or a socket call).
func (c *Collector) AddNote(n Note) {
	c.push(row{note: true, nt: n})
}

// AddAll takes summaries and notes, each in capture order, in the order
// a Recorder reports them: by time, a note before the frames of its
// instant.
func (c *Collector) AddAll(sums []trace.Summary, notes []Note) {
	j := 0
	for i := range sums {
		for j < len(notes) && notes[j].Time <= sums[i].Time {
			c.AddNote(notes[j])
			j++
		}
		c.Add(&sums[i])
	}
	for ; j < len(notes); j++ {
		c.AddNote(notes[j])
	}
}

// Ladder returns the diagram of what the Collector holds: the notes of
// hosts (or threads of hosts) that are columns, each part (before and
// after the gap) in time order. A lost hop points at the next hop other
// packets to the same destination took, else at the destination when
// it is a column, else at the next column.
func (c *Collector) Ladder() *Ladder {
	l := &Ladder{Hosts: slices.Clone(c.hosts)}
	rows := c.rows
	if c.keep != 0 && c.n > c.keep {
		// The ring from its oldest row.
		tail := c.keep - c.head
		at := c.head + (c.n-c.head)%tail
		rows = slices.Concat(c.rows[:c.head], c.rows[at:], c.rows[c.head:at])
	}
	var gap *Gap
	for i := range rows {
		if i == c.head && c.gap.Rows() > 0 {
			g := c.gap
			g.AfterMsgs, g.AfterNotes = len(l.Msgs), len(l.Notes)
			gap = &g
		}
		r := &rows[i]
		if !r.note {
			m := r.msg
			if m.Lost {
				c.point(&m, r.dst)
			}
			l.Msgs = append(l.Msgs, m)
			continue
		}
		n := r.nt
		h, _, _ := strings.Cut(n.Host, "/")
		if c.seen[h] {
			n.Host = h
			l.Notes = append(l.Notes, n)
		}
	}
	byTime := func(ns []Note) {
		sort.SliceStable(ns, func(i, j int) bool { return ns[i].Time < ns[j].Time })
	}
	if gap != nil {
		byTime(l.Notes[:gap.AfterNotes])
		byTime(l.Notes[gap.AfterNotes:])
	} else {
		byTime(l.Notes)
	}
	l.Gap, l.Unpaired, l.Others = gap, c.unpaired, c.others
	return l
}

// point sets the receiver of a lost hop m to its final destination dst.
func (c *Collector) point(m *Msg, dst string) {
	if h, ok := c.next[[2]string{m.From, dst}]; ok {
		m.To = h
		return
	}
	if c.seen[m.To] && m.To != m.From {
		return
	}
	m.To = m.From
	for j, h := range c.hosts {
		if h != m.From {
			continue
		}
		if j+1 < len(c.hosts) {
			m.To = c.hosts[j+1]
		} else if j > 0 {
			m.To = c.hosts[j-1]
		}
	}
}
