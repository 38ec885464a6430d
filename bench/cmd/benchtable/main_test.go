package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleOurs = `goos: linux
BenchmarkBulkSim/mtu=1500/capture=off-2   	   100	  1000 ns/op	1000.00 MB/s	0 allocs/seg	0 allocs/MB
BenchmarkBulkSim/mtu=1500/capture=off-2   	   100	  1000 ns/op	1200.00 MB/s	0 allocs/seg	0 allocs/MB
BenchmarkBulkSim/mtu=1500/capture=off-2   	   100	  1000 ns/op	1100.00 MB/s	0 allocs/seg	0 allocs/MB
BenchmarkBulkSim/mtu=1500/capture=on-2    	   100	  1000 ns/op	 880.00 MB/s	2 allocs/seg
BenchmarkCaptureOverhead/mtu=1500-2  	 3000	 171183 ns/op	 765.68 MB/s	 18.5 overhead-%
BenchmarkConnSetup-2  	 5000	  20000 ns/op	 50000 conns/s
BenchmarkTUNStackVsCeiling-2   	       1	 161.57 MB/s	        74.91 %ceiling	    154053 ceiling-pkts/s	    115408 pkts/s
BenchmarkSimRate-2 	 1	 2000000000 ns/op	 880000 pkts/s
PASS
`

const samplePeer = `BenchmarkBulk/mtu=1500-2         	   52022	     24391 ns/op	2200.00 MB/s	         0.002 allocs/MB	       0 B/op	       0 allocs/op
BenchmarkConnSetup-2             	   17907	     73763 ns/op	     25000 conns/s	     972 B/op	      20 allocs/op
BenchmarkIdleMemory-2   	       1	 854933588 ns/op	      3733 B/endpoint	      9872 conns
    kernel_bench_test.go:174: BenchmarkBulk 12 is a log line
`

func TestParseMedian(t *testing.T) {
	r, err := Parse(strings.NewReader(sampleOurs))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bench, unit string
		want        float64
		ok          bool
	}{
		{"BenchmarkBulkSim/mtu=1500/capture=off", "MB/s", 1100, true},
		{"BenchmarkBulkSim/mtu=1500/capture=on", "MB/s", 880, true},
		{"BenchmarkBulkSim/mtu=1500/capture=on", "allocs/seg", 2, true},
		{"BenchmarkConnSetup", "conns/s", 50000, true},
		{"BenchmarkConnSetup", "ns/op", 20000, true},
		{"BenchmarkIdleMemory", "B/endpoint", 0, false},
	} {
		got, ok := r.Median(tc.bench, tc.unit)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Median(%s, %s) = %v, %v; want %v, %v", tc.bench, tc.unit, got, ok, tc.want, tc.ok)
		}
	}
	even := Results{"B": {"x": {4, 1, 3, 2}}}
	if got, _ := even.Median("B", "x"); got != 2.5 {
		t.Errorf("median of 1..4 = %v, want 2.5", got)
	}
}

func TestTable(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.txt")
	peer := filepath.Join(dir, "peer.txt")
	os.WriteFile(ours, []byte(sampleOurs), 0o644)
	os.WriteFile(peer, []byte(samplePeer), 0o644)
	var out, errb bytes.Buffer
	if code := Main([]string{"-stacklab", ours, "-peer", peer}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"| bulk TCP, 1 connection, in-memory link, MTU 1500, capture off (virtual time) | 1,100 MB/s | 2,200 MB/s | 0.50× |",
		"| the same in real time (wall clock, blocking net.Conn) | not measured | 2,200 MB/s | — |",
		"| capture on (pcapng per vantage + text trace) vs off, bulk MTU 1500, time added | +18.5 % | ns-3 pcap 26–35 % (quoted in DESIGN.md, not run here) | — |",
		"| the same at MTU 65535 | not measured | — | — |",
		"| connection setup (dial + accept + close) | 50.0 k/s | 25.0 k/s | 2.00× |",
		"| 3733 B | — |",
		"| 115 k pkts/s | 154 k pkts/s | 0.75× |",
		"| 880 k pkts/s | ns-3.37: 44 k pkts/s (quoted in DESIGN.md, not run here) | 20.00× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q\n%s", want, got)
		}
	}
	table, _, _ := strings.Cut(got, "\n\n")
	if n := strings.Count(table, "\n"); n != len(rows)+1 {
		t.Errorf("table has %d lines, want %d", n+1, len(rows)+2)
	}
	if !strings.Contains(got, "over 9872 connections") {
		t.Errorf("notes lack the kernel's connection count:\n%s", got)
	}
}

func TestMainUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "-stacklab FILE") {
		t.Errorf("Main() = %d, stderr %q; want 2 and a usage hint", code, errb.String())
	}
	if code := Main([]string{"-stacklab", "/nonexistent", "-peer", "/nonexistent"}, &out, &errb); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}
