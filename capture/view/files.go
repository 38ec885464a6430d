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
	type line struct {
		t   float64
		out bool
		b   []byte
	}
	var lines []line
	nodes := map[string]bool{}
	var nodeOrder []string
	links := map[[2]string]Link{}
	var linkOrder [][2]string
	for _, p := range paths {
		var buf bytes.Buffer
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = trace.Read(bufio.NewReader(f), &buf, trace.ReadOptions{
			Options: trace.Options{Format: trace.JSON, Start: start, Bytes: 2048},
			Interface: func(name, desc string) {
				host, _, ok := strings.Cut(name, ":")
				if !ok {
					return
				}
				if !nodes[host] {
					nodes[host] = true
					nodeOrder = append(nodeOrder, host)
				}
				// "link client-server to server; out: …; in: …"
				if rest, ok := strings.CutPrefix(desc, "link "); ok {
					if _, after, ok := strings.Cut(rest, " to "); ok {
						peer, _, _ := strings.Cut(after, ";")
						k := [2]string{host, peer}
						if peer < host {
							k = [2]string{peer, host}
						}
						if _, seen := links[k]; !seen {
							links[k] = Link{A: host, B: peer, Desc: desc}
							linkOrder = append(linkOrder, k)
						}
					}
				}
			},
		})
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, b := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
			if len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			var r struct {
				Time float64 `json:"time"`
				Dir  string  `json:"dir"`
			}
			if err := jsonUnmarshal(b, &r); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			lines = append(lines, line{r.Time, r.Dir != "in", b})
		}
	}
	// In time order; at one instant a frame sent before frames received.
	sort.SliceStable(lines, func(i, j int) bool {
		if lines[i].t != lines[j].t {
			return lines[i].t < lines[j].t
		}
		return lines[i].out && !lines[j].out
	})
	in := Input{Title: title}
	for _, n := range nodeOrder {
		in.Nodes = append(in.Nodes, Node{Name: n})
	}
	for _, k := range linkOrder {
		in.Links = append(in.Links, links[k])
	}
	b := NewBuilder(in)
	for _, l := range lines {
		b.Write(l.b)
	}
	return b.Model()
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
