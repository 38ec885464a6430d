package ladder

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"stacklab/capture/trace"
)

// longRun is a transfer through a router r1: client sends, r1 forwards,
// server ACKs every second segment back through r1. Some hops are lost
// on either link, some dropped by the receiver, and notes fall between.
// Packet ids rise as a simulation gives them.
func longRun(n int, seed uint64) ([]trace.Summary, []Note) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var sums []trace.Summary
	var notes []Note
	id := uint64(0)
	at := time.Duration(0)
	hop := func(from, to string, pid uint64, t time.Duration, flags string, seq uint32, lost, drop bool) {
		s := trace.Summary{Time: t, Vantage: from + ":eth0", Dir: trace.DirOut, ID: pid, Src: "client", Dst: "server",
			Proto: "tcp", Flags: flags, Seq: seq, HasAck: true, Len: 100}
		if from == "server" || to == "client" {
			s.Src, s.Dst = "server", "client"
		}
		sums = append(sums, s)
		if lost {
			return
		}
		s.Vantage, s.Dir, s.Time = to+":eth0", trace.DirIn, t+time.Millisecond
		if drop {
			s.Drop = "tcp.BadChecksum: checksum"
		}
		sums = append(sums, s)
	}
	for i := range n {
		at += 10 * time.Microsecond
		id++
		lost1, lost2 := rng.IntN(50) == 0, rng.IntN(50) == 0
		hop("client", "r1", id, at, ".", uint32(i*100), lost1, false)
		if !lost1 {
			hop("r1", "server", id, at+time.Millisecond, ".", uint32(i*100), lost2, rng.IntN(80) == 0)
		}
		if i%2 == 1 {
			id++
			hop("server", "r1", id, at+2*time.Millisecond, ".", 0, rng.IntN(60) == 0, false)
		}
		if rng.IntN(40) == 0 {
			notes = append(notes, Note{Time: at, Host: "client", Kind: "call", Text: fmt.Sprintf("send(3, %d) → 100", i)})
		}
	}
	// In capture order, as a Recorder gives them.
	slices.SortStableFunc(sums, func(a, b trace.Summary) int { return cmp.Compare(a.Time, b.Time) })
	return sums, notes
}

func collect(sums []trace.Summary, notes []Note, keep int) (*Collector, *Ladder) {
	c := NewCollector([]string{"client", "r1", "server"}, keep)
	c.AddAll(sums, notes)
	return c, c.Ladder()
}

// TestCollectorKeepsEnds checks a bounded ladder against the whole one:
// its rows before the gap are the whole ladder's first rows, those
// after it its last rows, each hop finished by its receipt (or lost, or
// dropped) as in the whole ladder, and the gap counts the rest.
func TestCollectorKeepsEnds(t *testing.T) {
	sums, notes := longRun(5000, 1)
	_, whole := collect(sums, notes, 0)
	if whole.Gap != nil {
		t.Fatalf("a Collector that keeps every row left some out: %+v", whole.Gap)
	}
	lost := 0
	for _, m := range whole.Msgs {
		if m.Lost {
			lost++
		}
	}
	if lost < 100 {
		t.Fatalf("only %d hops lost: the run does not test lost hops", lost)
	}
	for _, keep := range []int{2, 3, 100, 1001, 4000} {
		c, l := collect(sums, notes, keep)
		g := l.Gap
		if g == nil {
			t.Fatalf("keep %d: no gap", keep)
		}
		if len(l.Msgs)+len(l.Notes) != keep {
			t.Errorf("keep %d: %d rows drawn", keep, len(l.Msgs)+len(l.Notes))
		}
		if got, want := len(l.Msgs)+g.Msgs, len(whole.Msgs); got != want {
			t.Errorf("keep %d: %d hops drawn and %d left out, want %d in all", keep, len(l.Msgs), g.Msgs, want)
		}
		if got, want := len(l.Notes)+g.Notes, len(whole.Notes); got != want {
			t.Errorf("keep %d: %d notes drawn and %d left out, want %d in all", keep, len(l.Notes), g.Notes, want)
		}
		tailMsgs := len(l.Msgs) - g.AfterMsgs
		if !reflect.DeepEqual(l.Msgs[:g.AfterMsgs], whole.Msgs[:g.AfterMsgs]) {
			t.Errorf("keep %d: the hops before the gap differ from the whole ladder's first", keep)
		}
		if !reflect.DeepEqual(l.Msgs[g.AfterMsgs:], whole.Msgs[len(whole.Msgs)-tailMsgs:]) {
			t.Errorf("keep %d: the hops after the gap differ from the whole ladder's last", keep)
		}
		if !slices.Equal(l.Notes[:g.AfterNotes], whole.Notes[:g.AfterNotes]) ||
			!slices.Equal(l.Notes[g.AfterNotes:], whole.Notes[len(whole.Notes)-(len(l.Notes)-g.AfterNotes):]) {
			t.Errorf("keep %d: the notes drawn differ from the whole ladder's first and last", keep)
		}
		// The gap's times are those of the first and last row left out.
		first, last := whole.Msgs[g.AfterMsgs].Sent, whole.Msgs[len(whole.Msgs)-tailMsgs-1].Sent
		if g.Notes > 0 {
			first = min(first, whole.Notes[g.AfterNotes].Time)
			last = max(last, whole.Notes[len(whole.Notes)-(len(l.Notes)-g.AfterNotes)-1].Time)
		}
		if g.From != first || g.To != last {
			t.Errorf("keep %d: gap %v to %v, want %v to %v", keep, g.From, g.To, first, last)
		}
		if len(c.rows) > keep {
			t.Errorf("keep %d: holds %d rows", keep, len(c.rows))
		}
		if len(c.pending) > keep {
			t.Errorf("keep %d: %d packets pending, more than the rows it holds", keep, len(c.pending))
		}
	}
}

// TestCollectorBounded adds a long lossy run to a small Collector: what
// it holds stays within its bound, and no receipt of a hop left out is
// drawn as a packet whose sending was not captured.
func TestCollectorBounded(t *testing.T) {
	sums, notes := longRun(100_000, 2)
	c, l := collect(sums, notes, 50)
	if len(c.rows) > 50 || len(c.pending) > 50 || len(c.next) > maxNext {
		t.Errorf("holds %d rows, %d pending packets, %d pairs", len(c.rows), len(c.pending), len(c.next))
	}
	if got := strings.Join(l.Hosts, " "); got != "client r1 server" {
		t.Errorf("hosts %q: a receipt was taken for a hop sent from another", got)
	}
	for _, m := range l.Msgs {
		if m.Received && m.Recv == m.Sent {
			t.Errorf("hop %d drawn as received without being sent", m.ID)
		}
	}
}

// TestCollectorManyPairs: past maxNext (sender, destination) pairs, no
// more are remembered, and the refusals are counted.
func TestCollectorManyPairs(t *testing.T) {
	c := NewCollector(nil, 10)
	for i := range maxNext + 7 {
		dst := fmt.Sprintf("10.%d.%d.1", i/256, i%256)
		s := trace.Summary{Time: time.Duration(i), Vantage: "server:eth0", Dir: trace.DirOut, ID: uint64(i + 1), Src: "server", Dst: dst, Proto: "tcp", Flags: "S."}
		c.Add(&s)
		s.Vantage, s.Dir = "r1:eth0", trace.DirIn
		c.Add(&s)
	}
	if len(c.next) != maxNext {
		t.Errorf("%d pairs remembered, want %d", len(c.next), maxNext)
	}
	if l := c.Ladder(); l.Unpaired != 7 {
		t.Errorf("Unpaired = %d, want 7", l.Unpaired)
	}
}

// TestRenderBounded draws the test run kept to 6 rows: the band that
// counts what was left out, in the three forms.
func TestRenderBounded(t *testing.T) {
	_, l := collect(sums(), notes(), 6)
	if l.Gap == nil || l.Gap.Msgs == 0 || l.Gap.Notes == 0 {
		t.Fatalf("gap %+v, want hops and notes left out", l.Gap)
	}
	text, mer, svg := render(t, l)
	golden(t, "bounded.txt", text.Bytes())
	golden(t, "bounded.mmd", mer.Bytes())
	golden(t, "bounded.svg", svg.Bytes())
	want := fmt.Sprintf("%d packets and %d notes not drawn", l.Gap.Msgs, l.Gap.Notes)
	for name, b := range map[string]*bytes.Buffer{"text": text, "Mermaid": mer, "SVG": svg} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s lacks %q:\n%s", name, want, b)
		}
	}
	g := l.Layout()
	if len(g.Overlaps()) > 0 {
		t.Errorf("overlaps: %v", g.Overlaps())
	}
	// The band lies below every row before the gap and above every row
	// after it.
	var band *Fold
	for i := range g.Folds {
		if g.Folds[i].Msgs > 0 {
			band = &g.Folds[i]
		}
	}
	if band == nil {
		t.Fatal("no band for the rows left out")
	}
	for _, r := range g.Rows {
		before := r.Note && r.Index < l.Gap.AfterNotes || !r.Note && r.Index < l.Gap.AfterMsgs
		if before && r.Y >= band.Y || !before && r.Y <= band.Y+band.H {
			t.Errorf("row %+v on the wrong side of the band at %v+%v", r, band.Y, band.H)
		}
	}
}

// FuzzCollector adds frames of any order (receipts before sendings,
// repeated ids, drops, unknown vantage points) and notes to a small
// Collector: it never panics, holds at most its bound, and every hop it
// waits on is one it holds.
func FuzzCollector(f *testing.F) {
	f.Add([]byte{0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9a, 0xab, 0xbc}, uint8(3))
	f.Add([]byte("the receipt of a hop left out"), uint8(2))
	f.Fuzz(func(t *testing.T, ops []byte, keep uint8) {
		hosts := []string{"a", "b", "r", ""}
		var first []string // no columns until a frame names one, or "a"
		if keep&8 != 0 {
			first = []string{"a"}
		}
		c := NewCollector(first, int(keep&7))
		for i, op := range ops {
			at := time.Duration(i) * time.Millisecond
			if op&0xf0 == 0xf0 {
				c.AddNote(Note{Time: at, Host: hosts[op&3], Kind: "call", Text: "x"})
				continue
			}
			s := trace.Summary{Time: at, Vantage: hosts[op&3] + ":eth0", Dir: trace.DirOut, ID: uint64(op >> 4 & 7),
				Src: hosts[op>>2&1], Dst: hosts[op>>3&1+1], Proto: "tcp", Flags: "."}
			if hosts[op&3] == "" {
				s.Vantage = ""
			}
			if op&0x80 != 0 {
				s.Dir = trace.DirIn
			}
			if op%13 == 0 {
				s.Drop = "dropped"
			}
			c.Add(&s)
			if c.keep > 0 && len(c.rows) > c.keep {
				t.Fatalf("holds %d rows, bound %d", len(c.rows), c.keep)
			}
			for id, idxs := range c.pending {
				for _, k := range idxs {
					if r := c.at(k); r == nil || r.note || !r.waiting || r.msg.ID != id {
						t.Fatalf("packet %d waits on row %d, which is not a hop waiting for it", id, k)
					}
				}
			}
		}
		var b bytes.Buffer
		l := c.Ladder()
		if err := l.Text(&b); err != nil {
			t.Fatal(err)
		}
		if err := l.SVG(&b); err != nil {
			t.Fatal(err)
		}
		if err := l.Mermaid(&b); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCollectorOtherColumn receives 1,000 frames from spoofed addresses
// whose sending no vantage point captured: the first take columns up to
// MaxColumns, the rest come from OtherColumn, each labelled with its
// source, and are counted.
func TestCollectorOtherColumn(t *testing.T) {
	c := NewCollector([]string{"attacker", "server"}, 0)
	for i := range 1000 {
		src := fmt.Sprintf("198.18.%d.%d", i/256, i%256)
		s := trace.Summary{Time: time.Duration(i) * time.Millisecond, Vantage: "server:eth0", Dir: trace.DirIn, ID: uint64(i + 1),
			Src: src, Dst: "server", SrcAddr: netip.MustParseAddrPort(src + ":4000"), DstAddr: netip.MustParseAddrPort("10.0.0.2:80"), Proto: "tcp", Flags: "S"}
		c.Add(&s)
	}
	l := c.Ladder()
	if len(l.Hosts) != MaxColumns+1 || l.Hosts[MaxColumns] != OtherColumn {
		t.Fatalf("columns %v: want %d, the last %q", l.Hosts, MaxColumns+1, OtherColumn)
	}
	if want := 1000 - (MaxColumns - 2); l.Others != want {
		t.Errorf("Others = %d, want %d", l.Others, want)
	}
	for _, m := range l.Msgs {
		if m.From == OtherColumn && !strings.HasPrefix(m.Label, "198.18.") {
			t.Fatalf("hop from %s labelled %q: no source", m.From, m.Label)
		}
		if m.From != OtherColumn && strings.HasPrefix(m.Label, "198.18.") {
			t.Fatalf("hop from its own column %s labelled with its source %q", m.From, m.Label)
		}
	}
}
