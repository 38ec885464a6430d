package series

import (
	"slices"
	"time"
)

// A figure is drawn a half-pixel column at a time (stepper): from each
// column's first report, each line's lowest, highest and last value in
// it, and where the congestion state changes. A thinner keeps, for
// each span of time w wide, only the reports that decide those: the
// span's first and last, for each line drawn the first report with its
// lowest value and the first with its highest, and the first report of
// each congestion state. A span's kept reports decide it as all of its
// reports did, and so do two spans' merged: thinning again at 2w gives
// what thinning every report at 2w gives. A connection end that has
// more than maxFigurePoints reports is thinned to some thinSpans spans
// (each at most 2 + 2·8 + 4 reports), and w doubles whenever its kept
// reports pass maxFigurePoints again: some 12 MB an end at most, where
// a long run's figures held every report. Spans are narrower than a
// column (the figure has 1,270), so a column's extremes are drawn where
// they were, give or take a span that straddles two columns.
const (
	maxFigurePoints = 1 << 17
	thinSpans       = 4096
)

// thinner is the span of a connection end's reports being thinned.
type thinner struct {
	w    time.Duration // the spans' width; 0 until the end is first thinned
	t0   time.Duration // the first report's time: spans start there
	span int64         // the open span's index
	open []Point       // its reports that decide it
}

// add keeps report p for the figure.
func (c *Conn) add(p Point) {
	t := &c.thin
	if t.w == 0 {
		c.Points = append(c.Points, p)
		if len(c.Points) > maxFigurePoints {
			t.t0 = c.Points[0].Time
			t.w = max((p.Time-t.t0)/thinSpans, 1)
			c.rethin()
		}
		return
	}
	if k := t.index(p.Time); k != t.span {
		c.closeSpan()
		t.span = k
	}
	t.open = decide(append(t.open, p))
	if len(c.Points) > maxFigurePoints {
		t.w *= 2
		c.closeSpan()
		c.rethin()
	}
}

func (t *thinner) index(at time.Duration) int64 { return int64((at - t.t0) / t.w) }

// closeSpan moves the open span's reports into Points.
func (c *Conn) closeSpan() {
	c.Points = append(c.Points, c.thin.open...)
	c.thin.open = c.thin.open[:0]
}

// rethin thins Points at the current width, the last span left open.
func (c *Conn) rethin() {
	t := &c.thin
	ps, out := c.Points, c.Points[:0]
	for i := 0; i < len(ps); {
		k := t.index(ps[i].Time)
		j := i + 1
		for j < len(ps) && t.index(ps[j].Time) == k {
			j++
		}
		kept := decide(ps[i:j]) // in place, into the span's own first slots
		if j == len(ps) {
			t.span, t.open = k, append(t.open[:0], kept...)
			break
		}
		out = append(out, kept...) // out never passes i: no report is overwritten before it is read
		i = j
	}
	clear(ps[len(out):])
	c.Points = out
}

// decide keeps, in order and in place, the reports of one span that
// decide its figure.
func decide(ps []Point) []Point {
	if len(ps) <= 2 {
		return ps
	}
	var buf [32]int
	marks := append(buf[:0], 0, len(ps)-1)
	for _, pn := range panels {
		for _, ln := range pn.lines {
			lo, hi := -1, -1
			var vlo, vhi float64
			for i := range ps {
				v, ok := ln.value(&ps[i])
				if !ok {
					continue
				}
				if lo < 0 || v < vlo {
					lo, vlo = i, v
				}
				if hi < 0 || v > vhi {
					hi, vhi = i, v
				}
			}
			if lo >= 0 {
				marks = append(marks, lo, hi)
			}
		}
	}
	var states [4]string // the states seen; a few in all
	seen := states[:0]
	for i := range ps {
		if !slices.Contains(seen, ps[i].CAState) {
			seen = append(seen, ps[i].CAState)
			marks = append(marks, i)
		}
	}
	slices.Sort(marks)
	marks = slices.Compact(marks)
	for n, i := range marks {
		ps[n] = ps[i]
	}
	return ps[:len(marks)]
}
