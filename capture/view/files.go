package view

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"stacklab/capture/trace"
)

// FromCaptures builds a page's model from pcap or pcapng files: one
// foreign capture, or the per-vantage files of a stacklab run (a
// directory's *.pcapng, the combined all-hops.pcapng left out), merged
// in time. The topology comes from the interfaces' descriptions, which
// stacklab writes as "link A-B to B; out: …; in: …".
func FromCaptures(title string, paths []string) (*Model, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no capture file to show")
	}
	// One time zero for every file: the earliest first packet.
	var start time.Time
	for _, p := range paths {
		t, err := firstTime(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !t.IsZero() && (start.IsZero() || t.Before(start)) {
			start = t
		}
	}
	// Each file is traced on a goroutine of its own into a pipe, and the
	// lines are merged in time as they come: a capture of any length is
	// drawn in the memory of its page (a 64 MiB run's files, traced
	// whole and sorted, took 900 MB).
	srcs := make([]*capSource, len(paths))
	defer func() {
		for _, c := range srcs {
			if c != nil {
				c.close()
			}
		}
	}()
	for i, p := range paths {
		c, err := openCapture(p, start)
		if err != nil {
			return nil, err
		}
		srcs[i] = c
	}
	b := NewBuilder(Input{Title: title})
	for {
		// The file whose next line comes first: in time; at one instant
		// a frame sent before frames received; then in the files' order.
		var first *capSource
		for _, c := range srcs {
			if err := c.fill(); err != nil {
				return nil, err
			}
			if c.ready() && (first == nil || c.head().before(first.head())) {
				first = c
			}
		}
		if first == nil {
			break
		}
		b.Write(first.head().b)
		first.pos++
	}
	// The topology, from the interfaces each file described, in the
	// files' order.
	nodes := map[string]bool{}
	links := map[[2]string]bool{}
	for _, c := range srcs {
		if err := c.wait(); err != nil {
			return nil, err
		}
		for _, n := range c.nodes {
			if !nodes[n] {
				nodes[n] = true
				b.m.Nodes = append(b.m.Nodes, Node{Name: n})
			}
		}
		for _, l := range c.links {
			k := [2]string{l.A, l.B}
			if l.B < l.A {
				k = [2]string{l.B, l.A}
			}
			if !links[k] {
				links[k] = true
				b.m.Links = append(b.m.Links, l)
			}
		}
	}
	return b.Model()
}

// capLine is one line of a capture's trace.
type capLine struct {
	t   float64
	out bool // a frame sent (or a foreign capture's)
	b   []byte
}

// before orders lines at the same instant: a frame sent first.
func (l capLine) before(o capLine) bool {
	return l.t < o.t || l.t == o.t && l.out && !o.out
}

// capSource is one capture file traced into a pipe, read a run of
// lines of one instant at a time, each run frames sent first.
type capSource struct {
	path string
	f    *os.File
	pr   *io.PipeReader
	r    *bufio.Reader
	// The current instant's lines, frames sent first; those before pos
	// are taken. ins holds the frames received while a run is read.
	run, ins []capLine
	pos      int
	next     capLine // the first line of the next instant, read if hasNext
	hasNext  bool
	eof      bool
	done     chan error // the trace's result
	// The interfaces the file described, in order: the hosts and links
	// (kept once each by FromCaptures).
	nodes []string
	links []Link
}

// ready reports whether the current run holds a line not yet taken.
func (c *capSource) ready() bool { return c.pos < len(c.run) }

// head is the current run's next line.
func (c *capSource) head() capLine { return c.run[c.pos] }

func openCapture(path string, start time.Time) (*capSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	c := &capSource{path: path, f: f, pr: pr, r: bufio.NewReaderSize(pr, 64<<10), done: make(chan error, 1)}
	go func() {
		err := trace.Read(bufio.NewReader(f), pw, trace.ReadOptions{
			Options: trace.Options{Format: trace.JSON, Start: start, Bytes: 2048},
			Interface: func(name, desc string) {
				host, _, ok := strings.Cut(name, ":")
				if !ok {
					return
				}
				c.nodes = append(c.nodes, host)
				// "link client-server to server; out: …; in: …"
				if rest, ok := strings.CutPrefix(desc, "link "); ok {
					if _, after, ok := strings.Cut(rest, " to "); ok {
						peer, _, _ := strings.Cut(after, ";")
						c.links = append(c.links, Link{A: host, B: peer, Desc: desc})
					}
				}
			},
		})
		pw.CloseWithError(err)
		c.done <- err
	}()
	return c, nil
}

// fill reads the next instant's lines once the current ones are taken.
// A file's lines are taken in its order, a run of one instant at a
// time: merged in time, as mergecap merges captures, each in time order
// already.
func (c *capSource) fill() error {
	if c.ready() || c.eof && !c.hasNext {
		return nil
	}
	// The frames sent go straight into run, those received into ins,
	// appended after them at the end: both reused from run to run.
	c.run, c.ins, c.pos = c.run[:0], c.ins[:0], 0
	take := func(l capLine) {
		if l.out {
			c.run = append(c.run, l)
		} else {
			c.ins = append(c.ins, l)
		}
	}
	at := c.next.t
	if c.hasNext {
		take(c.next)
		c.hasNext = false
	}
	for !c.eof {
		b, err := c.r.ReadBytes('\n')
		if err == io.EOF {
			c.eof = true
			if len(bytes.TrimSpace(b)) == 0 {
				break
			}
		} else if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		t, in, ok := stamp(b)
		if !ok {
			var r struct {
				Time float64 `json:"time"`
				Dir  string  `json:"dir"`
			}
			if err := jsonUnmarshal(b, &r); err != nil {
				return fmt.Errorf("%s: %w", c.path, err)
			}
			t, in = r.Time, r.Dir == "in"
		}
		l := capLine{t, !in, b}
		if len(c.run)+len(c.ins) == 0 {
			at = t
		} else if t != at {
			c.next, c.hasNext = l, true
			break
		}
		take(l)
	}
	c.run = append(c.run, c.ins...)
	return nil
}

// stamp reads a trace line's time and whether it is a frame received,
// as the tracer writes them: the time first, the direction before the
// layers (a bare `,"dir":"` cannot be inside a string). It reports
// false for any other line, which is decoded instead.
func stamp(b []byte) (t float64, in, ok bool) {
	rest, found := bytes.CutPrefix(b, []byte(`{"time":`))
	if !found {
		return 0, false, false
	}
	i := bytes.IndexByte(rest, ',')
	if i < 0 {
		return 0, false, false
	}
	t, err := strconv.ParseFloat(string(rest[:i]), 64)
	if err != nil {
		return 0, false, false
	}
	head := rest
	if k := bytes.Index(rest, []byte(`,"layers":`)); k >= 0 {
		head = rest[:k]
	}
	if k := bytes.Index(head, []byte(`,"dir":"`)); k >= 0 {
		in = bytes.HasPrefix(head[k+len(`,"dir":"`):], []byte(`in"`))
	}
	return t, in, true
}

// wait returns the trace's result, once it is read to its end.
func (c *capSource) wait() error {
	err := <-c.done
	c.done <- err
	return err
}

// close stops the trace, if it is still running, and closes the file.
func (c *capSource) close() {
	c.pr.Close()
	c.wait()
	c.f.Close()
}

// firstTime returns the time of the first packet of a capture file.
func firstTime(path string) (time.Time, error) {
	var first time.Time
	f, err := os.Open(path)
	if err != nil {
		return first, err
	}
	defer f.Close()
	return rawFirstTime(bufio.NewReader(f))
}

// rawFirstTime reads the first packet's timestamp from a pcap or pcapng
// stream (zero time when the file has no packet).
func rawFirstTime(r *bufio.Reader) (time.Time, error) {
	var zero time.Time
	hdr, err := r.Peek(4)
	if err != nil {
		return zero, fmt.Errorf("not a capture file: %v", err)
	}
	magic := binary.LittleEndian.Uint32(hdr)
	switch magic {
	case 0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1:
		return pcapFirst(r)
	case 0x0a0d0d0a:
		return pcapngFirst(r)
	}
	return zero, fmt.Errorf("not a pcap or pcapng file (magic %08x)", magic)
}

// Dir lists the per-vantage capture files of a run's output directory.
func Dir(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		if filepath.Base(p) != "all-hops.pcapng" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no .pcapng file; run a scenario with -o %s first", dir, dir)
	}
	sort.Strings(out)
	return out, nil
}

func pcapFirst(r *bufio.Reader) (time.Time, error) {
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return time.Time{}, err
	}
	_, ci, err := pr.ReadPacketData()
	if err == io.EOF {
		return time.Time{}, nil
	}
	return ci.Timestamp, err
}

func pcapngFirst(r *bufio.Reader) (time.Time, error) {
	ng, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return time.Time{}, err
	}
	_, ci, err := ng.ReadPacketData()
	if err == io.EOF {
		return time.Time{}, nil
	}
	return ci.Timestamp, err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
