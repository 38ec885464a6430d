package ladder_test

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	"stacklab/capture"
	"stacklab/capture/ladder"
	"stacklab/capture/trace"
	"stacklab/scenarios"
	"stacklab/sim/scenario"
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
			res, err := sc.Run(scenario.RunOptions{OutDir: dir, Version: "test"})
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
			g := l.Layout()
			for i, p := range g.Overlaps() {
				if i == 5 {
					t.Errorf("…")
					break
				}
				t.Error(p)
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
			if got := strings.Count(svg.String(), "<line") - len(l.Hosts) - len(l.Msgs); got != hops {
				t.Errorf("the SVG draws %d arrows for %d hops", got, hops)
			}
		})
	}
}
