package view

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
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
