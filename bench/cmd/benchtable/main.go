// Command benchtable reads the output of `go test -bench` for stacklab
// (stacklab/internal/perf) and for its peer (stacklab/bench/kernel) and
// prints one Markdown table: the work, stacklab's figure, the peer's,
// their ratio and the command that gives each. With -count > 1 each
// figure is the median of the runs. bench/run.sh runs both sides and
// calls it; `make bench` calls run.sh.
//
// Usage:
//
//	benchtable -stacklab stacklab.txt -peer peer.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) }

// Main runs the command and returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ours := fs.String("stacklab", "", "file with `go test -bench` output of ./internal/perf")
	peer := fs.String("peer", "", "file with `go test -bench` output of bench/kernel")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *ours == "" || *peer == "" {
		fmt.Fprintln(stderr, "benchtable: give both -stacklab FILE and -peer FILE")
		return 2
	}
	o, err := parseFile(*ours)
	if err != nil {
		fmt.Fprintln(stderr, "benchtable:", err)
		return 1
	}
	p, err := parseFile(*peer)
	if err != nil {
		fmt.Fprintln(stderr, "benchtable:", err)
		return 1
	}
	writeTable(stdout, o, p)
	return 0
}

// Results maps a benchmark name (without the -GOMAXPROCS suffix) and a
// unit to the values of every run.
type Results map[string]map[string][]float64

// Median returns the median value of name's unit and whether there was
// one.
func (r Results) Median(name, unit string) (float64, bool) {
	vs := r[name][unit]
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// Parse reads `go test -bench` output. Lines that are not benchmark
// results are ignored.
func Parse(r io.Reader) (Results, error) {
	res := Results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(fs[1], 10, 64); err != nil {
			continue // a log line that starts with a benchmark name
		}
		name := procSuffix.ReplaceAllString(fs[0], "")
		if res[name] == nil {
			res[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(fs); i += 2 {
			v, err := strconv.ParseFloat(fs[i], 64)
			if err != nil {
				break
			}
			res[name][fs[i+1]] = append(res[name][fs[i+1]], v)
		}
	}
	return res, sc.Err()
}

func parseFile(path string) (Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// metric names one figure: a benchmark and a unit of its output.
type metric struct{ bench, unit string }

// row is one line of the table.
type row struct {
	work       string
	ours       metric
	peer       metric
	peerQuoted string  // a figure quoted rather than measured, when peer is empty
	peerOurs   bool    // the peer's figure is in stacklab's output (the same benchmark measured both)
	quotedVal  float64 // the quoted figure, for the ratio
	ourCmd     string
	peerCmd    string
}

const (
	perfCmd = "go test -run '^$' -bench '%s' ./internal/perf"
	peerCmd = "(cd bench && go test -run '^$' -bench '%s' ./kernel)"
	tunCmd  = "go test -run '^$' -bench '%s' ./stack/tun"
)

var rows = []row{
	{
		work:    "bulk TCP, 1 connection, in-memory link, MTU 1500, capture off (virtual time)",
		ours:    metric{"BenchmarkBulkSim/mtu=1500/capture=off", "MB/s"},
		peer:    metric{"BenchmarkBulk/mtu=1500", "MB/s"},
		ourCmd:  fmt.Sprintf(perfCmd, "BulkSim/mtu=1500/capture=off"),
		peerCmd: fmt.Sprintf(peerCmd, "Bulk/mtu=1500"),
	},
	{
		work:    "the same in real time (wall clock, blocking net.Conn)",
		ours:    metric{"BenchmarkBulkPipe/mtu=1500", "MB/s"},
		peer:    metric{"BenchmarkBulk/mtu=1500", "MB/s"},
		ourCmd:  fmt.Sprintf(perfCmd, "BulkPipe/mtu=1500"),
		peerCmd: fmt.Sprintf(peerCmd, "Bulk/mtu=1500"),
	},
	{
		work:    "allocations per segment, MTU 1500, capture off",
		ours:    metric{"BenchmarkBulkSim/mtu=1500/capture=off", "allocs/seg"},
		ourCmd:  fmt.Sprintf(perfCmd, "BulkSim/mtu=1500/capture=off"),
		peerCmd: "",
	},
	{
		work:   "allocations per MB, MTU 1500, capture off",
		ours:   metric{"BenchmarkBulkSim/mtu=1500/capture=off", "allocs/MB"},
		ourCmd: fmt.Sprintf(perfCmd, "BulkSim/mtu=1500/capture=off"),
	},
	{
		work:    "bulk TCP, MTU 65535, capture off (virtual time)",
		ours:    metric{"BenchmarkBulkSim/mtu=65535/capture=off", "MB/s"},
		peer:    metric{"BenchmarkBulk/mtu=65535", "MB/s"},
		ourCmd:  fmt.Sprintf(perfCmd, "BulkSim/mtu=65535/capture=off"),
		peerCmd: fmt.Sprintf(peerCmd, "Bulk/mtu=65535"),
	},
	{
		work:    "the same in real time (wall clock, blocking net.Conn)",
		ours:    metric{"BenchmarkBulkPipe/mtu=65535", "MB/s"},
		peer:    metric{"BenchmarkBulk/mtu=65535", "MB/s"},
		ourCmd:  fmt.Sprintf(perfCmd, "BulkPipe/mtu=65535"),
		peerCmd: fmt.Sprintf(peerCmd, "Bulk/mtu=65535"),
	},
	{
		work:       "capture on (pcapng per vantage + text trace) vs off, bulk MTU 1500, time added",
		ours:       metric{"BenchmarkCaptureOverhead/mtu=1500", "overhead-%"},
		peerQuoted: "ns-3 pcap 26–35 % (quoted in DESIGN.md, not run here)",
		ourCmd:     fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "the same at MTU 65535",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=65535", "overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=65535"),
	},
	{
		work:   "capture with pcapng only (no trace) vs off, bulk MTU 1500",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "pcapng-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "capture with pcapng + JSON lines vs off, bulk MTU 1500",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "json-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "allocations per segment, MTU 1500, capture on",
		ours:   metric{"BenchmarkBulkSim/mtu=1500/capture=on", "allocs/seg"},
		ourCmd: fmt.Sprintf(perfCmd, "BulkSim/mtu=1500/capture=on"),
	},
	{
		work:    "connection setup (dial + accept + close)",
		ours:    metric{"BenchmarkConnSetup", "conns/s"},
		peer:    metric{"BenchmarkConnSetup", "conns/s"},
		ourCmd:  fmt.Sprintf(perfCmd, "ConnSetup$"),
		peerCmd: fmt.Sprintf(peerCmd, "ConnSetup"),
	},
	{
		work:    "memory per idle established endpoint, 10 k connections (lower is better)",
		ours:    metric{"BenchmarkIdleMemory", "B/endpoint"},
		peer:    metric{"BenchmarkIdleMemory", "B/endpoint"},
		ourCmd:  benchOnce(perfCmd, "IdleMemory"),
		peerCmd: benchOnce(peerCmd, "IdleMemory"),
	},
	{
		work:     "kernel ↔ stack over TUN, 1400-byte UDP echo (peer: raw TUN read+write echo ceiling, same run)",
		ours:     metric{"BenchmarkTUNStackVsCeiling", "pkts/s"},
		peer:     metric{"BenchmarkTUNStackVsCeiling", "ceiling-pkts/s"},
		peerOurs: true,
		ourCmd:   benchOnce(tunCmd, "TUNStackVsCeiling"),
	},
	{
		work:     "kernel → stack bulk TCP over TUN, MTU 1500, packets through the device (peer: the raw TUN ceiling, same run)",
		ours:     metric{"BenchmarkTUNStackTCP/kernel-to-stack", "pkts/s"},
		peer:     metric{"BenchmarkTUNStackVsCeiling", "ceiling-pkts/s"},
		peerOurs: true,
		ourCmd:   benchOnce(tunCmd, "TUNStackTCP"),
	},
	{
		work:   "the same, MB/s of payload, kernel → stack",
		ours:   metric{"BenchmarkTUNStackTCP/kernel-to-stack", "MB/s"},
		ourCmd: benchOnce(tunCmd, "TUNStackTCP"),
	},
	{
		work:   "the same, MB/s of payload, stack → kernel",
		ours:   metric{"BenchmarkTUNStackTCP/stack-to-kernel", "MB/s"},
		ourCmd: benchOnce(tunCmd, "TUNStackTCP"),
	},
	{
		work:       "virtual-time simulation: 1 Gbps, 10 ms, bulk TCP, 10 simulated s",
		ours:       metric{"BenchmarkSimRate", "pkts/s"},
		peerQuoted: "ns-3.37: 44 k pkts/s (quoted in DESIGN.md, not run here)",
		quotedVal:  44000,
		ourCmd:     benchOnce(perfCmd, "SimRate"),
	},
}

// benchOnce is fmt.Sprintf(cmd, pattern) with -benchtime 1x, for the
// benchmarks that measure enough in a single iteration.
func benchOnce(cmd, pattern string) string {
	return strings.Replace(fmt.Sprintf(cmd, pattern), "-bench", "-benchtime 1x -bench", 1)
}

// writeTable prints the comparison as a Markdown table.
func writeTable(w io.Writer, ours, peer Results) {
	fmt.Fprintln(w, "| work | stacklab | peer (Linux kernel TCP over loopback unless noted) | ratio (stacklab ÷ peer) | command |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		o, okO := ours.Median(r.ours.bench, r.ours.unit)
		ourCell := "not measured"
		if okO {
			ourCell = format(o, r.ours.unit)
		}
		peerCell, ratio := "—", "—"
		var p float64
		okP := false
		switch {
		case r.peerQuoted != "":
			peerCell = r.peerQuoted
			p, okP = r.quotedVal, r.quotedVal > 0
		case r.peer.bench != "":
			src := peer
			if r.peerOurs {
				src = ours
			}
			p, okP = src.Median(r.peer.bench, r.peer.unit)
			if okP {
				peerCell = format(p, r.peer.unit)
			} else {
				peerCell = "not measured"
			}
		}
		if okO && okP && p != 0 && !strings.HasSuffix(r.ours.unit, "overhead-%") {
			ratio = fmt.Sprintf("%.2f×", o/p)
		}
		cmd := "`" + r.ourCmd + "`"
		if r.peerCmd != "" && r.peer.bench != "" {
			cmd += "; `" + r.peerCmd + "`"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.work, ourCell, peerCell, ratio, cmd)
	}
	fmt.Fprintln(w)
	for _, n := range notes(peer) {
		fmt.Fprintln(w, "- "+n)
	}
}

// notes returns the caveats printed under the table.
func notes(peer Results) []string {
	ns := []string{
		"Figures are medians of the runs in one `bench/run.sh`; MB/s is 10⁶ bytes per wall second.",
		"The peer is the Linux kernel's TCP over loopback, driven through Go's net package: gVisor's netstack " +
			"could not be measured here, because the Go module proxy refuses gvisor.dev/gvisor " +
			"(403, \"This module version is not available\", for the `go` branch and for pinned pseudo-versions).",
		"Kernel \"MTU 1500\" is TCP_MAXSEG 1460 on loopback (MTU 65536); loopback passes GSO super-packets, " +
			"so the kernel does not pay per 1460-byte segment as stacklab does, and its bytes cross the " +
			"user/kernel boundary twice. Its own allocations cannot be counted from Go.",
		"stacklab's virtual-time rows run both stacks and the link on one goroutine with a virtual clock; " +
			"connection setup runs each connection to its end, TIME_WAIT included. The real-time rows use " +
			"the wall clock, a stack/linktest pipe (a goroutine and channel per direction) and blocking net.Conn calls, " +
			"as an embedding program does.",
	}
	if c, ok := peer.Median("BenchmarkIdleMemory", "conns"); ok {
		ns = append(ns, fmt.Sprintf("Kernel idle memory counts the socket slabs (TCP, sock_inode_cache, "+
			"eventpoll) and the Go heap, over %.0f connections (as many as RLIMIT_NOFILE allows).", c))
	}
	return ns
}

// format renders v in unit for a reader.
func format(v float64, unit string) string {
	switch unit {
	case "MB/s":
		return fmt.Sprintf("%s MB/s", group(v))
	case "conns/s":
		return fmt.Sprintf("%.1f k/s", v/1000)
	case "pkts/s", "ceiling-pkts/s":
		return fmt.Sprintf("%.0f k pkts/s", v/1000)
	case "B/endpoint":
		return fmt.Sprintf("%.0f B", v)
	case "overhead-%", "pcapng-overhead-%", "json-overhead-%":
		return fmt.Sprintf("+%.1f %%", v)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

// group writes v rounded to an integer with thousands separators.
func group(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && c != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
