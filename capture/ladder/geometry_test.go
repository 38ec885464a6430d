package ladder_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"stacklab/capture"
	"stacklab/capture/ladder"
	"stacklab/capture/trace"
	"stacklab/scenarios"
	"stacklab/sim/scenario"
	"stacklab/stack/core"
)

// TestGeometry lays out the SVG ladder of every built-in scenario and
// checks that no two labels overlap, that no arrow crosses a label, that
// there is one arrow per packet hop between two lifelines, that rows go
// down in time (time-scaled: a longer gap is never drawn shorter, unless
// folded) and that labels carry ports.
func TestGeometry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every built-in scenario")
	}
	for _, name := range scenarios.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc, err := scenarios.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var js bytes.Buffer
			res, err := sc.Run(scenario.RunOptions{OutDir: dir, Version: "test", Trace: &js, Format: "json"})
			if err != nil {
				t.Fatal(err)
			}
			// Every vantage point's frames, merged in time; at one instant
			// a frame is sent before it is received.
			var sums []capture.Summary
			for _, f := range res.Files {
				if strings.HasSuffix(f, ".pcapng") {
					s, err := capture.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					sums = append(sums, s...)
				}
			}
			sort.SliceStable(sums, func(i, j int) bool {
				if sums[i].Time != sums[j].Time {
					return sums[i].Time < sums[j].Time
				}
				return sums[i].Dir == trace.DirOut && sums[j].Dir != trace.DirOut
			})
			l := ladder.Build(sums, nil)
			notes := runNotes(t, js.Bytes())
			l.AddNotes(notes)
			g := l.Layout()
			for i, p := range g.Overlaps() {
				if i == 5 {
					t.Errorf("…")
					break
				}
				t.Error(p)
			}
			if rows := len(l.Msgs) + len(l.Notes); rows > ladder.DefaultKeep {
				t.Errorf("%d rows: a run's ladder (ladder.DefaultKeep, %d) leaves some out", rows, ladder.DefaultKeep)
			}
			// The same run's ladder bounded to 200 rows, as a run draws
			// a long one: no overlaps either, and the band between the
			// two parts.
			c := ladder.NewCollector(nil, 200)
			c.AddAll(sums, notes)
			if bl := c.Ladder(); bl.Gap != nil {
				bg := bl.Layout()
				if p := bg.Overlaps(); len(p) > 0 {
					t.Errorf("bounded to 200 rows: %d overlaps, the first %s", len(p), p[0])
				}
				if !slices.ContainsFunc(bg.Folds, func(f ladder.Fold) bool { return f.Msgs+f.Notes == bl.Gap.Rows() }) {
					t.Errorf("bounded to 200 rows: no band for the %d rows left out", bl.Gap.Rows())
				}
			}
			hops := 0
			for _, m := range l.Msgs {
				if m.From != m.To {
					hops++
				}
				if strings.HasPrefix(m.Label, "[") {
					t.Errorf("label %q has no ports", m.Label)
					break
				}
			}
			if len(g.Arrows) != hops {
				t.Errorf("%d arrows for %d hops", len(g.Arrows), hops)
			}
			var svg bytes.Buffer
			if err := l.SVG(&svg); err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(svg.String(), "<line") - len(l.Hosts) - len(l.Msgs) - len(l.Notes); got != hops {
				t.Errorf("the SVG draws %d arrows for %d hops", got, hops)
			}
			// Every state change and socket call of a host drawn is on
			// its lifeline; every TCP analysis mark is on its packet.
			drawn := 0
			for _, n := range notes {
				h, _, _ := strings.Cut(n.Host, "/")
				if slices.Contains(l.Hosts, h) {
					drawn++
				}
			}
			if len(l.Notes) != drawn || strings.Count(svg.String(), `<circle cx=`) < drawn {
				t.Errorf("%d notes on the lifelines, %d of the run's are on hosts drawn", len(l.Notes), drawn)
			}
			marks := 0
			for _, s := range sums {
				if s.Dir == trace.DirOut && s.Analysis != 0 {
					marks++
				}
			}
			rowMarks := 0
			for _, r := range g.Rows {
				if !r.Note {
					rowMarks += min(1, len(l.Msgs[r.Index].Marks))
				}
			}
			if rowMarks < marks {
				t.Errorf("%d packets drawn with marks; %d frames sent have a TCP analysis", rowMarks, marks)
			}
			switch name {
			case "fast-retransmit":
				if !strings.Contains(svg.String(), ">[TCP Fast Retransmission]<") || !strings.Contains(svg.String(), ">[TCP Dup ACK]<") {
					t.Error("fast-retransmit's SVG has no fast retransmission or dup ACK mark")
				}
				fallthrough
			case "handshake":
				for _, want := range []string{"→ ESTABLISHED</text>", ": connect(3, "} {
					if !strings.Contains(svg.String(), want) {
						t.Errorf("the SVG lacks %q", want)
					}
				}
			}
		})
	}
}

// runNotes reads the state changes and socket calls of a JSON trace.
func runNotes(t *testing.T, js []byte) []ladder.Note {
	t.Helper()
	var notes []ladder.Note
	sc := bufio.NewScanner(bytes.NewReader(js))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			Time                                     float64
			Type, Kind, Host, From, To, Name, Detail string
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		ev := core.Event{Host: e.Host, From: e.From, To: e.To, Name: e.Name, Detail: e.Detail}
		switch {
		case e.Type == "event" && e.Kind == "state":
			ev.Kind = core.EventState
		case e.Type == "event" && e.Kind == "call":
			ev.Kind = core.EventCall
		default:
			continue
		}
		if n, ok := ladder.EventNote(&ev, time.Duration(math.Round(e.Time*1e6))*time.Microsecond); ok {
			notes = append(notes, n)
		}
	}
	return notes
}
