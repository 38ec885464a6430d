// Package series keeps the time series of TCP connections' variables
// (cwnd, ssthresh, SRTT, RTTVAR, RTO, bytes in flight, windows and the
// congestion state) that stacks report as core.EventSeries, and writes
// them as CSV or as static SVG plots.
package series

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"stacklab/stack/core"
)

// Point is one report of one connection end's variables.
type Point struct {
	Time time.Duration // since the start of the run
	core.TCPVars
}

// Conn is the series of one connection end: the host and its tuple.
type Conn struct {
	Host   string
	Tuple  core.Tuple
	Points []Point
	thin   thinner // with Set.ForFigures: the span being thinned
}

// Name names the series in file names: "client-56918-80".
func (c *Conn) Name() string {
	return fmt.Sprintf("%s-%d-%d", c.Host, c.Tuple.Local.Port(), c.Tuple.Remote.Port())
}

// maxPoints bounds the points kept per connection end; later reports
// are counted in Dropped.
const maxPoints = 1 << 20

// Set collects series from events. The zero value is ready to use; it is
// not safe for concurrent use.
type Set struct {
	Start   time.Time // time 0; zero means the first event's time
	conns   []*Conn
	index   map[key]*Conn
	order   []ref // every point kept, in the order reported
	Dropped int   // reports past maxPoints, not kept
	// csv, after StreamCSV, receives every report as a row as it comes;
	// with noKeep, the reports are not kept besides.
	csv     *bufio.Writer
	row     []byte
	noKeep  bool
	figures bool // the points kept are for the figures alone: thinned
}

type ref struct {
	c *Conn
	i int
}

type key struct {
	host  string
	tuple core.Tuple
}

// Add keeps ev if it is an EventSeries; other events are ignored.
func (s *Set) Add(ev *core.Event) {
	if ev.Kind != core.EventSeries || ev.Vars == nil {
		return
	}
	if s.Start.IsZero() {
		s.Start = ev.Time
	}
	k := key{ev.Host, ev.Conn}
	c := s.index[k]
	if c == nil {
		if s.index == nil {
			s.index = map[key]*Conn{}
		}
		c = &Conn{Host: ev.Host, Tuple: ev.Conn}
		s.index[k] = c
		s.conns = append(s.conns, c)
	}
	p := Point{Time: ev.Time.Sub(s.Start), TCPVars: *ev.Vars}
	if s.csv != nil {
		s.row = appendRow(s.row[:0], c, &p)
		s.csv.Write(s.row)
		if s.noKeep {
			return
		}
	}
	if s.figures {
		c.add(p)
		return
	}
	if len(c.Points) >= maxPoints {
		s.Dropped++
		return
	}
	c.Points = append(c.Points, p)
	s.order = append(s.order, ref{c, len(c.Points) - 1})
}

// ForFigures has the Set keep points from now on for the figures alone
// (WriteSVG): past maxFigurePoints reports, each connection end keeps
// only those its figure draws (see thinner), so that a run of any
// length is drawn in bounded memory. WriteCSV then fails: StreamCSV
// writes every report.
func (s *Set) ForFigures() { s.figures = true }

// errFigures is WriteCSV's error after ForFigures.
var errFigures = errors.New("series: the points are kept for the figures alone; StreamCSV writes them all")

// StreamCSV has the Set write its CSV (as WriteCSV does) into w as the
// reports come: the header and the points kept so far now, each later
// report as it is added, so that a long run's series.csv is written in
// no memory and holds every report. With keep false, the Set keeps no
// points besides (Conns has no Points); with keep true, it keeps them
// for the figures (ForFigures). FlushCSV ends the stream.
func (s *Set) StreamCSV(w io.Writer, keep bool) {
	s.csv, s.noKeep = bufio.NewWriter(w), !keep
	s.writeCSV(s.csv)
	s.figures = s.figures || keep
}

// FlushCSV writes what StreamCSV buffered, and reports the first error
// writing the stream met.
func (s *Set) FlushCSV() error {
	if s.csv == nil {
		return nil
	}
	return s.csv.Flush()
}

// Conns returns the connection ends in order of their first report,
// each with every point kept (a span being thinned included).
func (s *Set) Conns() []*Conn {
	for _, c := range s.conns {
		c.closeSpan()
	}
	return slices.Clone(s.conns)
}

// Header is the CSV header line's fields.
var Header = []string{"time_us", "host", "local", "remote", "cwnd", "ssthresh", "srtt_us", "rttvar_us", "rto_us", "in_flight", "rwnd", "snd_wnd", "ca_state"}

// WriteCSV writes every point of every connection end in the order they
// were reported, one row each. Sizes
// are bytes, times microseconds; an unset (infinite) ssthresh is empty.
func (s *Set) WriteCSV(w io.Writer) error {
	if s.figures {
		return errFigures
	}
	bw := bufio.NewWriter(w)
	s.writeCSV(bw)
	return bw.Flush()
}

// writeCSV writes the header and the points kept.
func (s *Set) writeCSV(bw *bufio.Writer) {
	for i, h := range Header {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(h)
	}
	bw.WriteByte('\n')
	var b []byte
	for _, r := range s.order {
		b = appendRow(b[:0], r.c, &r.c.Points[r.i])
		bw.Write(b)
	}
}

// appendRow appends p's CSV row.
func appendRow(b []byte, c *Conn, p *Point) []byte {
	b = strconv.AppendInt(b, p.Time.Microseconds(), 10)
	b = append(b, ',')
	b = append(b, c.Host...)
	b = append(b, ',')
	b = c.Tuple.Local.AppendTo(b)
	b = append(b, ',')
	b = c.Tuple.Remote.AppendTo(b)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(p.Cwnd), 10)
	b = append(b, ',')
	if p.Ssthresh >= 0 {
		b = strconv.AppendInt(b, int64(p.Ssthresh), 10)
	}
	for _, v := range []int64{p.SRTT.Microseconds(), p.RTTVar.Microseconds(), p.RTO.Microseconds(), int64(p.InFlight), int64(p.RcvWnd), int64(p.SndWnd)} {
		b = append(b, ',')
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, ',')
	b = append(b, p.CAState...)
	return append(b, '\n')
}
