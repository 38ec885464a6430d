package view

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"stacklab/capture/ladder"
)

// simTrace is a JSON lines trace as a simulation writes it for a page:
// n data segments client → server and their ACKs, each frame seen where
// it was sent and where it arrived, with its bytes, a series event for
// each ACK and a state change now and then.
func simTrace(n int) []byte {
	var b bytes.Buffer
	frame := func(t float64, vantage, dir string, id uint64, src, dst string, sport, dport int, flags string, seq, ack, length int) {
		raw := make([]byte, 54+length)
		for i := range raw {
			raw[i] = byte(i*7 + int(id))
		}
		fmt.Fprintf(&b, `{"time":%.6f,"type":"packet","vantage":%q,"dir":%q,"id":%d,"len":%d,"src":%q,"dst":%q,`+
			`"layers":{"ipv4":{"src":"10.0.0.%d","dst":"10.0.0.%d"},"tcp":{"sport":%d,"dport":%d,"flags":%q,"seq":%d,"ack":%d,"win":512,"len":%d}},"bytes":%q}`+"\n",
			t, vantage, dir, id, len(raw), src, dst, map[string]int{"client": 1, "server": 2}[src], map[string]int{"client": 1, "server": 2}[dst],
			sport, dport, flags, seq, ack, length, hex.EncodeToString(raw))
	}
	id := uint64(0)
	for i := range n {
		t := float64(i) * 0.001
		id++
		frame(t, "client:eth0", "out", id, "client", "server", 40000, 80, "P.", 1+i*1448, 1, 1448)
		frame(t+0.0005, "server:eth0", "in", id, "client", "server", 40000, 80, "P.", 1+i*1448, 1, 1448)
		id++
		frame(t+0.0005, "server:eth0", "out", id, "server", "client", 80, 40000, ".", 1, 1+(i+1)*1448, 0)
		frame(t+0.001, "client:eth0", "in", id, "server", "client", 80, 40000, ".", 1, 1+(i+1)*1448, 0)
		fmt.Fprintf(&b, `{"time":%.6f,"type":"event","host":"client","kind":"series","proto":"tcp","local":"10.0.0.1:40000","remote":"10.0.0.2:80","vars":{"cwnd":%d,"srtt_us":1000,"rttvar_us":500,"rto_us":200000,"in_flight":1448,"rwnd":65535,"snd_wnd":65535,"ca_state":"open"}}`+"\n", t+0.001, 10+i)
		if i%50 == 0 {
			fmt.Fprintf(&b, `{"time":%.6f,"type":"event","host":"server","kind":"call","fd":4,"name":"recv","detail":"4, 1448 → 1448"}`+"\n", t+0.0006)
		}
	}
	return b.Bytes()
}

func pageOf(t *testing.T, m *Model) string {
	t.Helper()
	var buf bytes.Buffer
	if err := m.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestBuilderStreams checks that a trace written into a Builder in
// pieces of any size, lines cut anywhere and the last without its
// newline, makes the page Build makes of it at once.
func TestBuilderStreams(t *testing.T) {
	tr := simTrace(300)
	whole, err := Build(Input{Title: "t", Trace: tr})
	if err != nil {
		t.Fatal(err)
	}
	want := pageOf(t, whole)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, max := range []int{1, 7, 100, 5000} {
		b := NewBuilder(Input{Title: "t"})
		rest := bytes.TrimSuffix(tr, []byte("\n"))
		for len(rest) > 0 {
			k := min(len(rest), 1+rng.IntN(max))
			if n, err := b.Write(rest[:k]); n != k || err != nil {
				t.Fatalf("Write: %d, %v", n, err)
			}
			rest = rest[k:]
		}
		m, err := b.Model()
		if err != nil {
			t.Fatal(err)
		}
		if got := pageOf(t, m); got != want {
			t.Errorf("pieces of at most %d bytes: a different page", max)
		}
	}
	// A bad line is reported with its number, after every Write took
	// its bytes.
	b := NewBuilder(Input{Title: "t"})
	b.Write([]byte(`{"time":0,"type":"event","host":"a","kind":"call"}` + "\n{bad\n"))
	if _, err := b.Model(); err == nil || !strings.Contains(err.Error(), "trace line 2") {
		t.Errorf("bad line: %v, want trace line 2", err)
	}
}

// TestBuilderTrimsEarly checks that cutting the frames' bytes as the
// records come, once those the page keeps whole pass the bound, makes
// the page that cutting them all in WriteHTML made (the Builder does not
// hold the whole records until then), and that under the bound nothing
// is cut.
func TestBuilderTrimsEarly(t *testing.T) {
	tr := simTrace(200)
	// late builds with no bound, so that nothing is cut while the trace
	// comes, and sets the bound for WriteHTML alone.
	build := func(limit int, late bool) (*Builder, string) {
		b := NewBuilder(Input{Title: "t"})
		b.m.maxBytes = limit
		if late {
			b.m.maxBytes = math.MaxInt
		}
		b.Write(tr)
		m, err := b.Model()
		if err != nil {
			t.Fatal(err)
		}
		m.maxBytes = limit
		return b, pageOf(t, m)
	}
	for _, limit := range []int{50_000, 400_000, 900_000, 1 << 30} {
		early, got := build(limit, false)
		_, want := build(limit, true)
		if got != want {
			t.Errorf("bound %d: the page differs from one cut in WriteHTML", limit)
		}
		if limit < 400_000 && !early.cut() || limit == 1<<30 && early.cut() {
			t.Errorf("bound %d: cut early %v", limit, early.cut())
		}
		if early.cut() {
			for _, r := range early.m.Recs {
				if k := bytes.Index(r, []byte(`"bytes":"`)); k >= 0 && bytes.IndexByte(r[k+9:], '"') > 256 {
					t.Fatalf("bound %d: a record kept %d hex digits", limit, bytes.IndexByte(r[k+9:], '"'))
				}
			}
		}
	}
}

// TestBuilderBounded builds the page of a trace of 15,060 records held
// to 2,000: the first 1,000 and the last 1,000 are the whole page's
// first and last, a band on the ladder counts the rest between the two
// parts, and no packet drawn is shown lost (the receipt of one sent
// just before the first half filled is kept with it). A trace of fewer
// records than the bound makes the page it always made.
func TestBuilderBounded(t *testing.T) {
	tr := simTrace(3000)
	build := func(limit int) *Model {
		b := NewBuilder(Input{Title: "t"})
		b.limit = limit
		b.Write(tr)
		m, err := b.Model()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	whole, m := build(math.MaxInt), build(2000)
	if whole.Gap != nil {
		t.Fatalf("no bound, yet a gap: %+v", whole.Gap)
	}
	g := m.Gap
	if g == nil {
		t.Fatal("no gap")
	}
	n, all := m.recs.n, whole.recs.n
	if n > 2001 || n+g.N != all {
		t.Errorf("%d records kept and %d left out, of %d (bound 2,000)", n, g.N, all)
	}
	same := func(i, j int) bool {
		a, b := m.recs.at(i), whole.recs.at(j)
		return a.Time == b.Time && a.Type == b.Type && a.ID == b.ID && a.Vantage == b.Vantage && a.Dir == b.Dir && a.Kind == b.Kind
	}
	for i := range g.At {
		if !same(i, i) {
			t.Fatalf("record %d before the gap differs from the whole page's", i)
		}
	}
	for i := g.At; i < n; i++ {
		if !same(i, all-(n-i)) {
			t.Fatalf("record %d after the gap differs from the whole page's %d", i, all-(n-i))
		}
	}
	if first, last := whole.recs.at(g.At).Time, whole.recs.at(all-(n-g.At)-1).Time; g.From != first || g.To != last {
		t.Errorf("gap %v to %v s, want %v to %v", g.From, g.To, first, last)
	}
	var band *Fold
	for i := range m.Folds {
		if m.Folds[i].N > 0 {
			band = &m.Folds[i]
		}
	}
	if band == nil || band.N != g.N {
		t.Fatalf("folds %+v: no band for the %d records left out", m.Folds, g.N)
	}
	for _, h := range m.Hops {
		if strings.Contains(h.Marks, "L") {
			t.Errorf("hop of record %d shown lost", h.Out)
		}
		if before := h.Out < g.At; before && h.Y1 >= band.Y || !before && h.Y1 <= band.Y+band.H {
			t.Errorf("hop of record %d at y %v, on the wrong side of the band at %v+%v", h.Out, h.Y1, band.Y, band.H)
		}
	}
	if page := pageOf(t, m); !strings.Contains(page, "stacklab") {
		t.Error("no page")
	}
	// Under the bound, the page it always made.
	small := simTrace(300)
	b := NewBuilder(Input{Title: "t"})
	b.limit = 1600 // 1,506 records
	b.Write(small)
	got, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Build(Input{Title: "t", Trace: small})
	if err != nil {
		t.Fatal(err)
	}
	if got.Gap != nil || pageOf(t, got) != pageOf(t, want) {
		t.Errorf("under the bound: a different page (gap %+v)", got.Gap)
	}
}

// TestBuilderHoldsBounded writes a trace of 40,160 records into a
// Builder held to 1,000: what it holds while the trace comes stays
// within the bound.
func TestBuilderHoldsBounded(t *testing.T) {
	tr := simTrace(8000)
	b := NewBuilder(Input{Title: "t"})
	b.limit = 1000
	most := 0
	for len(tr) > 0 {
		k := min(len(tr), 64<<10)
		b.Write(tr[:k])
		tr = tr[k:]
		most = max(most, b.m.recs.n+len(b.post))
	}
	if most > 2*1000+1100 {
		t.Errorf("held up to %d records, bound 1,000", most)
	}
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	if m.recs.n > 1001 || len(b.wait) > 1000 {
		t.Errorf("%d records kept, %d packets waiting", m.recs.n, len(b.wait))
	}
}

// FuzzBuilder writes any trace, cut anywhere, into a Builder held to a
// few records: it reports a bad line or lays the page out, and never
// panics or holds more than its bound.
func FuzzBuilder(f *testing.F) {
	f.Add(simTrace(3), uint8(4), uint8(7))
	f.Add([]byte(`{"time":1,"type":"packet","vantage":"a:eth0","dir":"in","id":1}`+"\n"+`{"time":0,"type":"packet","vantage":"b:eth0","dir":"out","id":1}`+"\n"), uint8(2), uint8(1))
	f.Add([]byte(`{"time":0,"type":"event","host":"a","kind":"series","local":"1.2.3.4:5","remote":"1.2.3.4:6","vars":{"cwnd":1}}`+"\n"), uint8(3), uint8(200))
	f.Fuzz(func(t *testing.T, tr []byte, limit, piece uint8) {
		b := NewBuilder(Input{Title: "f"})
		b.limit = int(limit%16) + 2
		step := int(piece) + 1
		for len(tr) > 0 {
			k := min(len(tr), step)
			b.Write(tr[:k])
			tr = tr[k:]
			if n := b.m.recs.n + b.live; n > b.limit+1 {
				t.Fatalf("holds %d records that may be left out, bound %d", n, b.limit)
			}
		}
		m, err := b.Model()
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := m.WriteHTML(&buf); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReceiptWithoutSending: a frame received whose sending no vantage
// point captured (a packet injected onto a link, a flood from spoofed
// addresses) is drawn from its source as it arrived, with its bytes:
// the first sources with columns of their own, past ladder.MaxColumns from
// ladder.OtherColumn with the source in its label.
func TestReceiptWithoutSending(t *testing.T) {
	var b bytes.Buffer
	for i := range 30 {
		fmt.Fprintf(&b, `{"time":%d.5,"type":"packet","vantage":"server:eth0","dir":"in","id":%d,"len":58,"src":"198.18.0.%d","dst":"server",`+
			`"layers":{"ipv4":{"src":"198.18.0.%d","dst":"10.0.0.2"},"tcp":{"sport":4000,"dport":80,"flags":"S","seq":0,"ack":0,"win":512,"len":0}},"bytes":"00"}`+"\n", i, i+1, i, i)
	}
	m, err := Build(Input{Title: "t", Nodes: []Node{{Name: "server"}}, Trace: b.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Hops) != 30 {
		t.Fatalf("%d hops for 30 frames received", len(m.Hops))
	}
	if len(m.Hosts) != ladder.MaxColumns+1 || m.Hosts[ladder.MaxColumns] != ladder.OtherColumn {
		t.Fatalf("columns %v: want %d, the last %q", m.Hosts, ladder.MaxColumns+1, ladder.OtherColumn)
	}
	for i, h := range m.Hops {
		from := m.Hosts[h.From]
		if h.Out != h.In || m.Hosts[h.To] != "server" || h.Y1 != h.Y2 {
			t.Errorf("hop %d: %+v, want from its source to the server as it arrived", i, h)
		}
		own := from != ladder.OtherColumn
		if own != (from == fmt.Sprintf("198.18.0.%d", i)) || !own != strings.HasPrefix(h.Label, "198.18.0.") {
			t.Errorf("hop %d from %q labelled %q", i, from, h.Label)
		}
	}
	if !strings.Contains(string(m.Recs[0]), `"bytes":"00"`) {
		t.Errorf("the frame's record lost its bytes: %s", m.Recs[0])
	}
}

// TestHexTail: a record that ends with its frame's bytes is parsed
// without them, and cut, as a decoder would have; any other record is
// decoded and cut whole, as before.
func TestHexTail(t *testing.T) {
	hexs := strings.Repeat("0a1b", 100) // 400 digits
	for _, c := range []struct {
		line string
		tail bool
	}{
		{`{"time":1,"type":"packet","id":3,"len":200,"bytes":"` + hexs + `"}`, true},
		{`{"time":1,"type":"packet","id":3,"bytes":"` + hexs + `","note":"x"}`, false}, // not last
		{`{"time":1,"type":"packet","id":3,"bytes":"0A1B` + hexs + `"}`, false},        // not the tracer's digits
		{`{"time":1,"note":"a \",\"bytes\":\"00","id":3,"bytes":"` + hexs + `"}`, true},
		{`{"time":1,"type":"packet","id":3}`, false},
		{`{"time":1,"type":"packet","layers":{"x":{"bytes":"00"}},"id":3}`, false},
	} {
		_, _, ok := hexTail([]byte(c.line))
		if ok != c.tail {
			t.Errorf("%.60s…: hexTail %v, want %v", c.line, ok, c.tail)
		}
		var whole, fast rec
		if err := json.Unmarshal([]byte(c.line), &whole); err != nil {
			t.Fatal(err)
		}
		b := NewBuilder(Input{Title: "t"})
		b.Write([]byte(c.line + "\n"))
		if b.err != nil {
			t.Fatalf("%.60s…: %v", c.line, b.err)
		}
		fast = *b.m.recs.at(0)
		if !reflect.DeepEqual(whole, fast) {
			t.Errorf("%.60s…: parsed %+v, want %+v", c.line, fast, whole)
		}
		cut := string(trimRecord(json.RawMessage(c.line)))
		if !json.Valid([]byte(cut)) || strings.Contains(c.line, `"bytes":"`+hexs) && !strings.Contains(cut, `"bytes":"`+hexs[:256]+`"`) {
			t.Errorf("%.60s…: cut to %.80s…", c.line, cut)
		}
	}
}

// TestStamp: the time and direction read from the front of a trace line
// are what decoding it gives; a line that does not start as the tracer
// writes it is left to the decoder.
func TestStamp(t *testing.T) {
	for _, line := range strings.Split(strings.TrimSpace(string(simTrace(5))), "\n") {
		tm, in, ok := stamp([]byte(line))
		var r struct {
			Time float64 `json:"time"`
			Dir  string  `json:"dir"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if !ok || tm != r.Time || in != (r.Dir == "in") {
			t.Errorf("%.80s: stamp %v %v %v, decoded %v %q", line, tm, in, ok, r.Time, r.Dir)
		}
	}
	for _, line := range []string{`{"type":"event","time":1}`, `{"time":x,"dir":"in"}`, `{"time":1}`} {
		if _, _, ok := stamp([]byte(line)); ok {
			t.Errorf("%s: read, want left to the decoder", line)
		}
	}
	if _, in, ok := stamp([]byte(`{"time":2,"type":"packet","layers":{"x":{"dir":"in"}}}`)); !ok || in {
		t.Error(`a "dir" inside the layers was read as the frame's`)
	}
}
