package series

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
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

// longSeries is n reports 1 ms apart: a sawtooth cwnd, in flight below
// it, ssthresh unset until the first of the recovery episodes, RTTs
// that wander, a spike now and then.
func longSeries(n int, seed uint64) []Point {
	rng := rand.New(rand.NewPCG(seed, 3))
	ps := make([]Point, n)
	ss := -1
	for i := range ps {
		st := "open"
		if i%5000 >= 4800 {
			st = "recovery"
			ss = 30000 + i%7000
		}
		if i%23000 == 17 {
			st = "loss"
		}
		cw := 10000 + i%3000*40
		if rng.IntN(1000) == 0 {
			cw = 400000
		}
		ps[i] = Point{Time: time.Duration(i) * time.Millisecond, TCPVars: core.TCPVars{
			Cwnd: cw, Ssthresh: ss, SRTT: time.Duration(20000+rng.IntN(5000)) * time.Microsecond, RTTVar: time.Duration(rng.IntN(3000)) * time.Microsecond,
			RTO: time.Duration(200+rng.IntN(50)) * time.Millisecond, InFlight: cw / 2, RcvWnd: 65535, SndWnd: 65535 - i%100, CAState: st}}
	}
	return ps
}

// TestDecideComposes: deciding two adjacent spans and then the two
// merged keeps what deciding the merged span at once keeps, which is
// what lets a thinner double its width.
func TestDecideComposes(t *testing.T) {
	ps := longSeries(4000, 1)
	rng := rand.New(rand.NewPCG(2, 2))
	for range 300 {
		i := rng.IntN(len(ps) - 2)
		j := i + 1 + rng.IntN(min(200, len(ps)-i-1))
		k := j + rng.IntN(min(200, len(ps)-j)+1)
		once := decide(slices.Clone(ps[i:k]))
		twice := decide(append(decide(slices.Clone(ps[i:j])), decide(slices.Clone(ps[j:k]))...))
		if !slices.Equal(pointTimes(once), pointTimes(twice)) {
			t.Fatalf("span %d:%d:%d: kept %v at once, %v in two steps", i, j, k, pointTimes(once), pointTimes(twice))
		}
	}
}

func pointTimes(ps []Point) []time.Duration {
	out := make([]time.Duration, len(ps))
	for i := range ps {
		out[i] = ps[i].Time
	}
	return out
}

// TestThinKeepsFigure adds 600,000 reports to an end kept for its
// figure: it holds at most maxFigurePoints, and its figure's every line
// reaches, at every column, what the figure of every report reaches
// there, give or take the next column.
func TestThinKeepsFigure(t *testing.T) {
	ps := longSeries(600_000, 4)
	full := &Conn{Host: "client", Points: ps}
	thin := &Conn{Host: "client"}
	most := 0
	for _, p := range ps {
		thin.add(p)
		most = max(most, len(thin.Points)+len(thin.thin.open))
	}
	thin.closeSpan()
	if most > maxFigurePoints+32 {
		t.Errorf("held up to %d points, bound %d", most, maxFigurePoints)
	}
	if thin.Points[0].Time != ps[0].Time || thin.Points[len(thin.Points)-1].Time != ps[len(ps)-1].Time {
		t.Error("the first or the last report was left out: the figure's time axis moves")
	}
	svg := func(c *Conn) string {
		var b bytes.Buffer
		if err := c.WriteSVG(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// The congestion states shaded: the same episodes, where they were.
	shades := func(c *Conn) [][]string {
		return regexp.MustCompile(`<rect x="([0-9.]+)" y="[0-9.]+" width="([0-9.]+)"[^>]*><title>(\w+)</title>`).FindAllStringSubmatch(svg(c), -1)
	}
	fs, ts := shades(full), shades(thin)
	if len(fs) < 100 || len(fs) != len(ts) {
		t.Errorf("%d episodes shaded in the thinned figure, %d in every report's (want 100 or more)", len(ts), len(fs))
	}
	for i := range min(len(fs), len(ts)) {
		fx, _ := strconv.ParseFloat(fs[i][1], 64)
		tx, _ := strconv.ParseFloat(ts[i][1], 64)
		if fs[i][3] != ts[i][3] || math.Abs(fx-tx) > 0.5 {
			t.Errorf("episode %d: %s at %.1f, every report's %s at %.1f", i, ts[i][3], tx, fs[i][3], fx)
			break
		}
	}
	paths := func(c *Conn) []string {
		b := bytes.NewBufferString(svg(c))
		var out []string
		for _, m := range regexp.MustCompile(`<path d="([^"]*)" fill="none" stroke="#[0-9a-f]+" stroke-width="1.5"/>`).FindAllStringSubmatch(b.String(), -1) {
			out = append(out, m[1])
		}
		return out
	}
	fp, tp := paths(full), paths(thin)
	if len(fp) != 8 || len(tp) != 8 {
		t.Fatalf("%d and %d lines drawn, want 8", len(fp), len(tp))
	}
	near := func(e map[int][2]float64, c int) (lo, hi float64) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for d := -1; d <= 1; d++ {
			if v, ok := e[c+d]; ok {
				lo, hi = math.Min(lo, v[0]), math.Max(hi, v[1])
			}
		}
		return lo, hi
	}
	for k := range fp {
		fe, te := extents(t, fp[k]), extents(t, tp[k])
		bad := 0
		for c, f := range fe {
			if lo, hi := near(te, c); f[0] < lo-0.051 || f[1] > hi+0.051 {
				if bad++; bad <= 3 {
					t.Errorf("line %d, column %d: every report reaches %.1f to %.1f, the thinned figure near it %.1f to %.1f", k, c, f[0], f[1], lo, hi)
				}
			}
		}
		for c, g := range te {
			if lo, hi := near(fe, c); g[0] < lo-0.051 || g[1] > hi+0.051 {
				if bad++; bad <= 3 {
					t.Errorf("line %d, column %d: the thinned figure reaches %.1f to %.1f, every report near it only %.1f to %.1f", k, c, g[0], g[1], lo, hi)
				}
			}
		}
	}
}
