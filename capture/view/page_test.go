package view

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"stacklab/capture/trace"
)

// TestPageColumns reads a page back as its script does: the JSON, the
// number columns and the records, each gzip in base64; every packet's
// columns must be its hop's, its label line its label, and its record
// line the record the hop was sent at.
func TestPageColumns(t *testing.T) {
	data, err := os.ReadFile("../../testdata/linux/linux-http-get.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := trace.Read(bytes.NewReader(data), &js, trace.ReadOptions{Options: trace.Options{Format: trace.JSON, Bytes: 2048}}); err != nil {
		t.Fatal(err)
	}
	m, err := Build(Input{Title: "t", Trace: js.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{}
	for _, g := range regexp.MustCompile(`<script id="(\w+)" type="application/octet-stream">([^<]*)</script>`).FindAllStringSubmatch(buf.String(), -1) {
		raw, err := base64.RawStdEncoding.DecodeString(g[2])
		if err != nil {
			t.Fatalf("%s: %v", g[1], err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", g[1], err)
		}
		if parts[g[1]], err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: %v", g[1], err)
		}
	}
	var p struct {
		N     int            `json:"n"`
		NRecs int            `json:"nrecs"`
		Cols  map[string]int `json:"cols"`
		Strs  struct {
			L string `json:"l"`
		} `json:"strs"`
	}
	if err := json.Unmarshal(parts["data"], &p); err != nil {
		t.Fatal(err)
	}
	if p.N != len(m.Hops) || p.N == 0 {
		t.Fatalf("the page holds %d packets, the model %d", p.N, len(m.Hops))
	}
	labels := strings.Split(strings.TrimSuffix(p.Strs.L, "\n"), "\n")
	var all []byte
	for c := 0; ; c++ {
		b, ok := parts["recs"+strconv.Itoa(c)]
		if !ok {
			break
		}
		if n := strings.Count(string(b), "\n"); n != RecChunk && c*RecChunk+n != len(m.Recs) {
			t.Fatalf("record chunk %d holds %d lines", c, n)
		}
		all = append(all, b...)
	}
	recs := strings.Split(strings.TrimSuffix(string(all), "\n"), "\n")
	if len(labels) != p.N || len(recs) != p.NRecs || p.NRecs != len(m.Recs) {
		t.Fatalf("%d labels, %d records (%d said) for %d packets, %d records", len(labels), len(recs), p.NRecs, p.N, len(m.Recs))
	}
	block := parts["cols"]
	f64 := func(name string, i int) float64 {
		return math.Float64frombits(binary.LittleEndian.Uint64(block[p.Cols[name]+8*i:]))
	}
	i32 := func(name string, i int) int32 {
		return int32(binary.LittleEndian.Uint32(block[p.Cols[name]+4*i:]))
	}
	for i, h := range m.Hops {
		if f64("t", i) != h.T || f64("y1", i) != h.Y1 || f64("y2", i) != h.Y2 || int(i32("o", i)) != h.Out || int(i32("c", i)) != h.Conn {
			t.Fatalf("packet %d: columns t=%v y1=%v y2=%v o=%v c=%v, hop %+v", i, f64("t", i), f64("y1", i), f64("y2", i), i32("o", i), i32("c", i), h)
		}
		if labels[i] != h.Label {
			t.Fatalf("packet %d: label %q, want %q", i, labels[i], h.Label)
		}
		if recs[h.Out] != string(m.Recs[h.Out]) {
			t.Fatalf("packet %d: record line %q, want %q", i, recs[h.Out], m.Recs[h.Out])
		}
		if tc := m.recs.at(h.Out).Layers.TCP; tc != nil {
			seq := binary.LittleEndian.Uint32(block[p.Cols["seq"]+4*i:])
			if seq != tc.Seq {
				t.Fatalf("packet %d: seq column %d, want %d", i, seq, tc.Seq)
			}
		}
	}
}
