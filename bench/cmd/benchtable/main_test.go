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
BenchmarkBulkPipe/mtu=1500-2    	   100	  1000 ns/op	 500.00 MB/s
BenchmarkCaptureOverhead/mtu=1500-2  	 3000	 171183 ns/op	 765.68 MB/s	 18.5 wall-overhead-%	12.0 wall-pcapng-overhead-%	55.5 wall-json-overhead-%	30.0 overhead-%	20.0 pcapng-overhead-%
BenchmarkConnSetup-2  	 5000	  20000 ns/op	 50000 conns/s
BenchmarkConnSetupDataPipe-2  	 5000	  20000 ns/op	 30000 conns/s
BenchmarkRoundTripPipe-2  	 5000	  20000 ns/op	 20.0 µs/rtt
BenchmarkCrossCPU-2   	 2617309	       449.3 ns/op	       449.3 ns/rtt
BenchmarkTUNStackVsCeiling-2   	       1	 161.57 MB/s	        74.91 %ceiling	    154053 ceiling-pkts/s	    115408 pkts/s
BenchmarkSimRate/pcap=off-2 	 1	 2000000000 ns/op	 880000 pkts/s	900 sim-Mbit/s
BenchmarkSimRate/pcap=on-2 	 1	 2500000000 ns/op	 704000 pkts/s	900 sim-Mbit/s
PASS
`

const sampleKernel = `BenchmarkBulk/mtu=1500-2         	   52022	     24391 ns/op	2200.00 MB/s	         0.002 allocs/MB	       0 B/op	       0 allocs/op
BenchmarkConnSetup-2             	   17907	     73763 ns/op	     25000 conns/s	     972 B/op	      20 allocs/op
BenchmarkIdleMemory-2   	       1	 854933588 ns/op	      3733 B/endpoint	      9872 conns
    kernel_bench_test.go:174: BenchmarkBulk 12 is a log line
`

const sampleGVisor = `BenchmarkBulk/mtu=1500/offload=off-2   	 100	 1000 ns/op	 250.00 MB/s
BenchmarkConnSetupData-2  	 5000	  20000 ns/op	 10000 conns/s
BenchmarkRoundTrip-2  	 5000	  20000 ns/op	 25.0 µs/rtt
`

const sampleNS3 = `BenchmarkNS3SimRate/pcap=off 1 20000000000 ns/op 44000 pkts/s 938.0 sim-Mbit/s 880000 pkts/run
BenchmarkNS3SimRate/pcap=on 1 26000000000 ns/op 33846 pkts/s 938.0 sim-Mbit/s 880000 pkts/run
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
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var out, errb bytes.Buffer
	args := []string{
		"-stacklab", write("ours.txt", sampleOurs),
		"-kernel", write("kernel.txt", sampleKernel),
		"-gvisor", write("gvisor.txt", sampleGVisor),
		"-ns3", write("ns3.txt", sampleNS3),
	}
	if code := Main(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"| 500 MB/s | gVisor: 250 MB/s | 2.00× | — |",
		"(TCP_MAXSEG 1460) | 500 MB/s | Linux kernel: 2,200 MB/s | 0.23× |",
		"| 1,100 MB/s | gVisor: 250 MB/s | 4.40× |",
		"| 30.0 k/s | gVisor: 10.0 k/s | 3.00× | ≥ 2×: met |",
		"| 20.0 µs | gVisor: 25.0 µs | 0.80× | ≤ 1×: met |",
		"(lower is better) | 449 ns | — | — | — |",
		"| 50.0 k/s | Linux kernel: 25.0 k/s | 2.00× | — |",
		"| Linux kernel: 3733 B | — | — |",
		"| 880 k pkts/s | ns-3.37: 44 k pkts/s | 20.00× | ≥ 10×: met |",
		"| +25.0 % | ns-3.37: +30.0 % | — |",
		"| +12.0 % | ns-3.37: +30.0 % | — | ≤ 15 %: met |",
		"| +55.5 % | — | — | ≤ 40 %: **not met** |",
		"| 115 k pkts/s | device ceiling: 154 k pkts/s | 0.75× | ≥ 0.8×: **not met** |",
		"| not measured | gVisor: not measured | — | ahead of gVisor with offload on both: not measured |",
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
	// Without the optional peers, their rows say so.
	out.Reset()
	if code := Main(args[:4], &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "| gVisor: not measured |") {
		t.Errorf("without -gvisor the table does not say gVisor was not measured:\n%s", out.String())
	}
}

func TestMainUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "-stacklab FILE") {
		t.Errorf("Main() = %d, stderr %q; want 2 and a usage hint", code, errb.String())
	}
	if code := Main([]string{"-stacklab", "/nonexistent", "-kernel", "/nonexistent"}, &out, &errb); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}
