package series

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"stacklab/stack/core"
)

// naivePath is the step path drawn point by point, as WriteSVG drew it
// before its columns: the oracle.
func naivePath(xs, ys []float64) string {
	var d strings.Builder
	for i := range xs {
		if i == 0 {
			fmt.Fprintf(&d, "M%.1f %.1f", xs[i], ys[i])
		} else {
			fmt.Fprintf(&d, "H%.1fV%.1f", xs[i], ys[i])
		}
	}
	return d.String()
}

func stepPath(xs, ys []float64) string {
	var d strings.Builder
	var s stepper
	for i := range xs {
		s.to(&d, xs[i], ys[i])
	}
	s.flush(&d)
	return d.String()
}

var cmdRE = regexp.MustCompile(`([MHV])([-0-9.]+)(?: ([-0-9.]+))?`)

// extents returns, for each column of stepW the path passes through,
// the lowest and highest y it reaches there.
func extents(t *testing.T, d string) map[int][2]float64 {
	t.Helper()
	out := map[int][2]float64{}
	var x, y float64
	mark := func() {
		c := int(math.Floor(x / stepW))
		e, ok := out[c]
		if !ok {
			e = [2]float64{y, y}
		}
		out[c] = [2]float64{math.Min(e[0], y), math.Max(e[1], y)}
	}
	for _, m := range cmdRE.FindAllStringSubmatch(d, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		switch m[1] {
		case "M":
			x = v
			if y, err = strconv.ParseFloat(m[3], 64); err != nil {
				t.Fatal(err)
			}
		case "H":
			x = v // the level line's columns between are covered at y as before
		case "V":
			mark()
			y = v
		}
		mark()
	}
	return out
}

// TestStepperSparse: points a column apart or more are drawn as before,
// one step each.
func TestStepperSparse(t *testing.T) {
	xs := []float64{80, 81.5, 90, 90.6, 300, 700}
	ys := []float64{160, 150, 150, 40, 100, 90}
	if got, want := stepPath(xs, ys), naivePath(xs, ys); got != want {
		t.Errorf("path\n%s\nwant\n%s", got, want)
	}
}

// TestStepperDense: thousands of points a column cover, at every
// column, what drawing each covers, in a path bounded by the width.
func TestStepperDense(t *testing.T) {
	var xs, ys []float64
	for i := range 200_000 {
		x := 80 + float64(i)*635/200_000
		y := 160 - math.Mod(float64(i), 997)/997*120 // a sawtooth, a few teeth a column
		if i%5000 == 0 {
			y = 20 // a spike alone in its column
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	got, want := stepPath(xs, ys), naivePath(xs, ys)
	if n := strings.Count(got, "V"); n > 4*int(635/stepW+2) {
		t.Errorf("%d vertical moves for %d columns", n, int(635/stepW))
	}
	ge, we := extents(t, got), extents(t, want)
	if len(ge) != len(we) {
		t.Errorf("the path passes through %d columns, drawn point by point %d", len(ge), len(we))
	}
	bad := 0
	for c, w := range we {
		g := ge[c]
		if math.Abs(g[0]-w[0]) > 0.051 || math.Abs(g[1]-w[1]) > 0.051 {
			if bad++; bad <= 5 {
				t.Errorf("column %d: covers %.1f to %.1f, point by point %.1f to %.1f", c, g[0], g[1], w[0], w[1])
			}
		}
	}
	// It ends where the line ends.
	if !strings.HasSuffix(got, fmt.Sprintf("V%.1f", ys[len(ys)-1])) {
		t.Errorf("path ends %q, want at %.1f", got[len(got)-20:], ys[len(ys)-1])
	}
}

// TestPlotBounded draws a long run's series: the figure's size does not
// grow with the reports.
func TestPlotBounded(t *testing.T) {
	size := func(n int) int {
		c := &Conn{Host: "client"}
		for i := range n {
			c.Points = append(c.Points, Point{Time: time.Duration(i) * time.Millisecond, TCPVars: core.TCPVars{
				Cwnd: 10000 + i%700*100, Ssthresh: -1, SRTT: 20 * time.Millisecond, RTTVar: time.Millisecond,
				RTO: 200 * time.Millisecond, InFlight: i % 500 * 100, RcvWnd: 65535, SndWnd: 65535 + i%3, CAState: "open"}})
		}
		var b bytes.Buffer
		if err := c.WriteSVG(&b); err != nil {
			t.Fatal(err)
		}
		return b.Len()
	}
	small, large := size(20_000), size(400_000)
	if large > 400_000 || large > 2*small {
		t.Errorf("a figure of 20,000 reports is %d bytes, of 400,000 %d", small, large)
	}
}

// events are series reports of two connection ends, interleaved, with
// an event of another kind between.
func events(n int) []core.Event {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := core.Tuple{Local: netip.MustParseAddrPort("10.0.0.1:40000"), Remote: netip.MustParseAddrPort("10.0.0.2:80")}
	b := core.Tuple{Local: a.Remote, Remote: a.Local}
	var evs []core.Event
	for i := range n {
		v := &core.TCPVars{Cwnd: 1000 * (i + 1), Ssthresh: -1 + i%3*5000, SRTT: time.Duration(i) * time.Millisecond, RTO: time.Second, CAState: "open"}
		host, conn := "client", a
		if i%3 == 2 {
			host, conn = "server", b
		}
		evs = append(evs, core.Event{Time: start.Add(time.Duration(i) * time.Millisecond), Host: host, Kind: core.EventSeries, Conn: conn, Vars: v})
		if i%5 == 0 {
			evs = append(evs, core.Event{Time: start, Host: host, Kind: core.EventState, From: "A", To: "B"})
		}
	}
	return evs
}

// TestStreamCSV: the CSV written as the reports come is the CSV
// WriteCSV writes at the end, with the points kept or not, and a
// failed write is reported by FlushCSV.
func TestStreamCSV(t *testing.T) {
	evs := events(300)
	var whole bytes.Buffer
	var all Set
	for i := range evs {
		all.Add(&evs[i])
	}
	if err := all.WriteCSV(&whole); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(whole.String(), "\n"); n != 301 {
		t.Fatalf("%d lines, want a header and 300 rows", n)
	}
	for _, keep := range []bool{true, false} {
		var s Set
		var out bytes.Buffer
		s.Add(&evs[0]) // a point before the stream starts
		s.StreamCSV(&out, keep)
		for i := range evs[1:] {
			s.Add(&evs[1+i])
		}
		if err := s.FlushCSV(); err != nil {
			t.Fatal(err)
		}
		if out.String() != whole.String() {
			t.Errorf("keep %v: streamed CSV differs:\n%.300s\nwant\n%.300s", keep, out.String(), whole.String())
		}
		kept := 0
		for _, c := range s.Conns() {
			kept += len(c.Points)
		}
		if keep && kept != 300 || !keep && kept > 1 {
			t.Errorf("keep %v: %d points kept", keep, kept)
		}
	}
	var s Set
	s.StreamCSV(failWriter{}, false)
	for i := range evs {
		s.Add(&evs[i])
	}
	if err := s.FlushCSV(); err == nil {
		t.Error("a failed write was not reported")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
