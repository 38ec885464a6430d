package view_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"stacklab/capture/trace"
	"stacklab/capture/view"
	"stacklab/sim/scenario"
)

// runDir runs a scenario and returns its output directory.
func runDir(t *testing.T, src string) string {
	t.Helper()
	sc, err := scenario.Load("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := sc.Run(scenario.RunOptions{OutDir: dir, Version: "test"})
	if err != nil || !res.Passed() {
		t.Fatalf("run: %v %+v", err, res.Failures)
	}
	return dir
}

type stamp struct {
	Time float64 `json:"time"`
	Dir  string  `json:"dir"`
}

// traced is each file traced whole into JSON lines, against the
// earliest first packet.
func traced(t *testing.T, paths []string) [][][]byte {
	t.Helper()
	var start time.Time
	for _, p := range paths {
		first, err := view.FirstTime(p)
		if err != nil {
			t.Fatal(err)
		}
		if !first.IsZero() && (start.IsZero() || first.Before(start)) {
			start = first
		}
	}
	var out [][][]byte
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		err = trace.Read(bufio.NewReader(f), &buf, trace.ReadOptions{Options: trace.Options{Format: trace.JSON, Start: start, Bytes: 2048}})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var lines [][]byte
		for _, b := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
			if len(bytes.TrimSpace(b)) > 0 {
				lines = append(lines, b)
			}
		}
		out = append(out, lines)
	}
	return out
}

// TestFromCapturesMerges draws a run's files through a router, where
// a frame received and the one sent in answer share an instant, in that
// order in a file: the page FromCaptures draws as the files are read is
// the page of every file traced whole and its lines sorted in time (at
// one instant frames sent first, else in the files' order), as it was
// drawn before it streamed.
func TestFromCapturesMerges(t *testing.T) {
	dir := runDir(t, `hosts:
  client: {addr: 10.0.0.1/24, gateway: 10.0.0.254}
  server: {addr: 10.0.1.2/24, gateway: 10.0.1.254}
routers:
  r1: {addrs: [10.0.0.254/24, 10.0.1.254/24]}
links:
  - ends: [client, r1]
  - ends: [r1, server]
    delay: 1ms
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 1); c = accept(l)
    recv(c, all) == 50000
    close(c)
  client: |
    s = socket(tcp); connect(s, server:80)
    send(s, 50000)
    close(s)
`)
	files, err := view.Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := view.FromCaptures("t", files)
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		s stamp
		b []byte
	}
	var all []line
	reordered := false
	for _, lines := range traced(t, files) {
		var prev stamp
		for i, b := range lines {
			var s stamp
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			if i > 0 && s.Time == prev.Time && prev.Dir == "in" && s.Dir != "in" {
				reordered = true
			}
			all, prev = append(all, line{s, b}), s
		}
	}
	if !reordered {
		t.Fatal("no file has a frame sent after one received at the same instant: the test tests nothing")
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i].s, all[j].s
		return a.Time < b.Time || a.Time == b.Time && a.Dir != "in" && b.Dir == "in"
	})
	b := view.NewBuilder(view.Input{Title: "t", Nodes: m.Nodes, Links: m.Links})
	for _, l := range all {
		b.Write(l.b)
	}
	sorted, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Recs) != len(sorted.Recs) {
		t.Fatalf("%d records, the files hold %d", len(m.Recs), len(sorted.Recs))
	}
	for i := range m.Recs {
		if !bytes.Equal(m.Recs[i], sorted.Recs[i]) {
			t.Fatalf("record %d:\n%s\nwant\n%s", i, m.Recs[i], sorted.Recs[i])
		}
	}
	var p1, p2 bytes.Buffer
	if err := m.WriteHTML(&p1); err != nil {
		t.Fatal(err)
	}
	if err := sorted.WriteHTML(&p2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p1.Bytes(), p2.Bytes()) {
		t.Error("a different page from the lines sorted")
	}
}

// TestFromCapturesStops: a corrupt file is reported, and the traces of
// the other files stop with it.
func TestFromCapturesStops(t *testing.T) {
	dir := runDir(t, `hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
programs:
  server: |
    l = socket(tcp); bind(l, :80); listen(l, 1); c = accept(l)
    recv(c, all) == 200000
  client: |
    s = socket(tcp); connect(s, server:80)
    send(s, 200000)
    close(s)
`)
	files, err := view.Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pcapng")
	if err := os.WriteFile(bad, append(raw[:len(raw)/2:len(raw)/2], bytes.Repeat([]byte{0xff}, 64)...), 0o644); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	if _, err := view.FromCaptures("t", append(files[1:], bad)); err == nil {
		t.Fatal("a corrupt file drew a page")
	}
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > before; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before {
		t.Errorf("%d goroutines after the error, %d before", n, before)
	}
}
