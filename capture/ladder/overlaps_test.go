package ladder

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteOverlaps is Overlaps as its doc says it, every pair tested.
func bruteOverlaps(g *Geometry) []string {
	left := func(b Box) float64 {
		if b.Anchor == "end" {
			return b.X - b.W
		}
		return b.X
	}
	var out []string
	for i, a := range g.Texts {
		for _, b := range g.Texts[i+1:] {
			if left(a) < left(b)+b.W && left(b) < left(a)+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
				out = append(out, fmt.Sprintf("%q and %q overlap", a.Text, b.Text))
			}
		}
		for _, s := range g.Arrows {
			if segmentCrossesBox(s, left(a), a.Y, a.W, a.H) {
				out = append(out, fmt.Sprintf("an arrow crosses %q", a.Text))
			}
		}
	}
	return out
}

// TestOverlapsSweep checks the sweep finds exactly what testing every
// pair finds, in the same order, on random crowded pages: texts at the
// same height, texts taller than a band, arrows long and short, level and
// steep, both anchors.
func TestOverlapsSweep(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		g := &Geometry{}
		page := 50 + r.Float64()*2000
		for i := range r.IntN(60) {
			b := Box{X: r.Float64() * 800, Y: r.Float64() * page, W: r.Float64() * 200, H: 1 + r.Float64()*20, Text: fmt.Sprint("t", i), Anchor: "start"}
			if r.IntN(3) == 0 {
				b.Anchor = "end"
			}
			if r.IntN(10) == 0 {
				b.H = 100 + r.Float64()*200
			}
			if r.IntN(8) == 0 && i > 0 {
				b.Y = g.Texts[r.IntN(i)].Y // the same row as another
			}
			g.Texts = append(g.Texts, b)
		}
		for range r.IntN(60) {
			y1 := r.Float64() * page
			y2 := y1 + r.NormFloat64()*30
			if r.IntN(6) == 0 {
				y2 = r.Float64() * page
			}
			if r.IntN(6) == 0 {
				y2 = y1
			}
			g.Arrows = append(g.Arrows, Segment{r.Float64() * 800, y1, r.Float64() * 800, y2})
		}
		got, want := g.Overlaps(), bruteOverlaps(g)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: sweep found %d, every pair %d\nsweep: %q\npairs: %q", round, len(got), len(want), got, want)
		}
		if round == 0 && len(want) == 0 {
			t.Fatal("the first page has no overlap: the test checks nothing")
		}
	}
}
