package series

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// line is one variable drawn in a panel.
type line struct {
	name   string
	colour string
	value  func(p *Point) (float64, bool)
}

// panel is one plot of a figure: variables sharing a unit.
type panel struct {
	title string
	unit  string
	lines []line
}

var panels = []panel{
	{"congestion window", "bytes", []line{
		{"cwnd", "#1f77b4", func(p *Point) (float64, bool) { return float64(p.Cwnd), true }},
		{"ssthresh", "#d62728", func(p *Point) (float64, bool) { return float64(p.Ssthresh), p.Ssthresh >= 0 }},
		{"in flight", "#2ca02c", func(p *Point) (float64, bool) { return float64(p.InFlight), true }},
	}},
	{"windows", "bytes", []line{
		{"peer's window (snd_wnd)", "#9467bd", func(p *Point) (float64, bool) { return float64(p.SndWnd), true }},
		{"own receive window (rwnd)", "#8c564b", func(p *Point) (float64, bool) { return float64(p.RcvWnd), true }},
	}},
	{"round-trip time", "ms", []line{
		{"SRTT", "#1f77b4", func(p *Point) (float64, bool) { return ms(p.SRTT), p.SRTT > 0 }},
		{"RTTVAR", "#ff7f0e", func(p *Point) (float64, bool) { return ms(p.RTTVar), p.SRTT > 0 }},
		{"RTO", "#d62728", func(p *Point) (float64, bool) { return ms(p.RTO), true }},
	}},
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Plot geometry, in SVG user units.
const (
	plotW    = 760
	plotH    = 200
	marginL  = 80
	marginR  = 45
	marginT  = 40
	panelGap = 70
)

// WriteSVG draws c's series as a static SVG figure: one panel for cwnd,
// ssthresh and bytes in flight, one for the two windows, one for SRTT,
// RTTVAR and RTO, each as step lines over time, with congestion states
// other than "open" shaded.
func (c *Conn) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	totalH := marginT + len(panels)*(plotH+panelGap)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotW, totalH, plotW, totalH)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="22" font-size="15" font-weight="bold">%s  %s → %s</text>`+"\n", marginL, esc(c.Host), c.Tuple.Local, c.Tuple.Remote)
	var t0, t1 time.Duration
	if len(c.Points) > 0 {
		t0, t1 = c.Points[0].Time, c.Points[len(c.Points)-1].Time
	}
	if t1 <= t0 {
		t1 = t0 + time.Millisecond
	}
	x := func(t time.Duration) float64 {
		return marginL + float64(t-t0)/float64(t1-t0)*(plotW-marginL-marginR)
	}
	for pi, pn := range panels {
		top := float64(marginT + pi*(plotH+panelGap) + 20)
		bottom := top + plotH - 20
		ymax := 0.0
		for _, ln := range pn.lines {
			for i := range c.Points {
				if v, ok := ln.value(&c.Points[i]); ok {
					ymax = math.Max(ymax, v)
				}
			}
		}
		ymax = niceCeil(ymax)
		y := func(v float64) float64 { return bottom - v/ymax*(bottom-top) }
		fmt.Fprintf(bw, `<text x="%d" y="%.0f" font-weight="bold">%s (%s)</text>`+"\n", marginL, top-8, pn.title, pn.unit)
		// Congestion states other than open, shaded.
		if pi == 0 {
			for i := 0; i < len(c.Points); i++ {
				st := c.Points[i].CAState
				if st == "open" {
					continue
				}
				j := i
				for j+1 < len(c.Points) && c.Points[j+1].CAState == st {
					j++
				}
				end := t1
				if j+1 < len(c.Points) {
					end = c.Points[j+1].Time
				}
				fmt.Fprintf(bw, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" opacity="0.15"><title>%s</title></rect>`+"\n",
					x(c.Points[i].Time), top, math.Max(x(end)-x(c.Points[i].Time), 1), bottom-top, stateColour(st), st)
				i = j
			}
		}
		// Axes and ticks.
		fmt.Fprintf(bw, `<path d="M%d %.1fV%.1fH%d" fill="none" stroke="#333"/>`+"\n", marginL, top, bottom, plotW-marginR)
		for k := 0; k <= 4; k++ {
			v := ymax * float64(k) / 4
			fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%s</text><path d="M%d %.1fH%d" stroke="#ddd"/>`+"\n",
				marginL-6, y(v)+4, tick(v), marginL+1, y(v), plotW-marginR)
		}
		for k := 0; k <= 5; k++ {
			t := t0 + (t1-t0)*time.Duration(k)/5
			fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="middle">%.3f s</text>`+"\n", x(t), bottom+16, t.Seconds())
		}
		// Lines, as steps: a value holds until the next report.
		for li, ln := range pn.lines {
			var d strings.Builder
			var st stepper
			for i := range c.Points {
				p := &c.Points[i]
				v, ok := ln.value(p)
				if !ok {
					st.flush(&d)
					st.pen = false
					continue
				}
				st.to(&d, x(p.Time), y(v))
			}
			st.flush(&d)
			pen := st.pen
			if pen {
				fmt.Fprintf(&d, "H%.1f", x(t1))
			}
			fmt.Fprintf(bw, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", d.String(), ln.colour)
			lx := marginL + 10 + li*190
			fmt.Fprintf(bw, `<rect x="%d" y="%.0f" width="14" height="3" fill="%s"/><text x="%d" y="%.0f">%s</text>`+"\n",
				lx, bottom+30, ln.colour, lx+18, bottom+34, esc(ln.name))
		}
	}
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

// stepper writes a step line's path, one column of stepW user units at
// a time: the reports that fall in one column (a long run reports
// thousands a pixel) are drawn as the line's lowest and highest point
// there and its last, which covers what drawing each one covers. A
// plot's size is then bounded by its width, not by the run's length:
// a 64 MiB transfer's plots were 2.5 and 3.5 MB.
type stepper struct {
	pen          bool    // a path is open
	open         bool    // a column holds points not yet written
	col          int     // the open column
	x            float64 // the open column's first x
	lo, hi, last float64 // the open column's y: extremes and last
	buf          []byte
}

const stepW = 0.5 // a column's width: a third of the line's

func (s *stepper) to(d *strings.Builder, x, y float64) {
	// By x as written, to a tenth (as fmt rounds it), so that the
	// columns are those of the path drawn.
	s.buf = strconv.AppendFloat(s.buf[:0], x, 'f', 1, 64)
	xw, _ := strconv.ParseFloat(string(s.buf), 64)
	c := int(math.Round(xw*10)) / int(10*stepW)
	if s.open && c == s.col {
		s.lo, s.hi, s.last = math.Min(s.lo, y), math.Max(s.hi, y), y
		return
	}
	s.flush(d)
	s.open, s.col, s.x, s.lo, s.hi, s.last = true, c, x, y, y, y
}

// flush writes the open column: at its x, from one extreme to the
// other, ending at its last y.
func (s *stepper) flush(d *strings.Builder) {
	if !s.open {
		return
	}
	s.open = false
	ys := []float64{s.last}
	switch {
	case s.lo == s.hi:
	case s.last == s.lo:
		ys = []float64{s.hi, s.lo}
	case s.last == s.hi:
		ys = []float64{s.lo, s.hi}
	default:
		ys = []float64{s.lo, s.hi, s.last}
	}
	if !s.pen {
		fmt.Fprintf(d, "M%.1f %.1f", s.x, ys[0])
		s.pen = true
	} else {
		fmt.Fprintf(d, "H%.1fV%.1f", s.x, ys[0])
	}
	for _, v := range ys[1:] {
		fmt.Fprintf(d, "V%.1f", v)
	}
}

func stateColour(s string) string {
	switch s {
	case "loss":
		return "#d62728"
	case "recovery":
		return "#ff7f0e"
	}
	return "#bcbd22"
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func tick(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", math.Round(v/1e4)/100)
	case v >= 1e3:
		return fmt.Sprintf("%gk", math.Round(v/10)/100)
	}
	return fmt.Sprintf("%g", math.Round(v*100)/100)
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
