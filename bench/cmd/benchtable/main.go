// Command benchtable reads the output of `go test -bench` for stacklab
// (stacklab/internal/perf, stack/tun) and for its peers (gVisor's netstack
// in bench/gvisor, the Linux kernel in bench/kernel, ns-3.37 from
// bench/ns3) and prints one Markdown table: the work, stacklab's figure,
// the peer's, their ratio, the target and whether it is met, and the
// commands that give each. With -count > 1 each figure is the median of
// the runs. bench/run.sh runs every side and calls it; `make bench` calls
// run.sh.
//
// Usage:
//
//	benchtable -stacklab stacklab.txt -kernel kernel.txt [-gvisor gvisor.txt] [-ns3 ns3.txt]
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
	files := map[source]*string{
		ours:   fs.String("stacklab", "", "file with `go test -bench` output of ./internal/perf and ./stack/tun"),
		kernel: fs.String("kernel", "", "file with `go test -bench` output of bench/kernel"),
		gvisor: fs.String("gvisor", "", "file with `go test -bench` output of bench/gvisor (optional)"),
		ns3:    fs.String("ns3", "", "file with the output of bench/ns3's simrate (optional)"),
	}
	fs.StringVar(files[kernel], "peer", "", "the same as -kernel")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *files[ours] == "" || *files[kernel] == "" {
		fmt.Fprintln(stderr, "benchtable: give at least -stacklab FILE and -kernel FILE")
		return 2
	}
	res := map[source]Results{}
	for src, path := range files {
		if *path == "" {
			res[src] = Results{}
			continue
		}
		r, err := parseFile(*path)
		if err != nil {
			fmt.Fprintln(stderr, "benchtable:", err)
			return 1
		}
		res[src] = r
	}
	writeTable(stdout, res)
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

// source names whose output a figure comes from.
type source int

const (
	ours source = iota
	kernel
	gvisor
	ns3
)

func (s source) String() string {
	return [...]string{"stacklab", "Linux kernel", "gVisor", "ns-3.37"}[s]
}

// metric names one figure: a benchmark and a unit of its output.
type metric struct{ bench, unit string }

// row is one line of the table.
type row struct {
	work      string
	ours      metric
	peerFrom  source
	peer      metric
	peerLabel string // the peer column's name, if not its source's
	// peerOverhead: the peer's figure is the time its "on" benchmark
	// (peer) adds over its "off" one (peerOff), in per cent.
	peerOverhead bool
	peerOff      metric
	lowerBetter  bool    // for the reader: the ratio reads the other way
	atLeast      float64 // target: ratio ≥ atLeast, when > 0
	atMost       float64 // target: ratio (or overhead %, for overhead rows) ≤ atMost, when > 0
	targetNote   string  // the target, when neither bound says it
	ourCmd       string
	peerCmd      string
}

const (
	perfCmd   = "go test -run '^$' -bench '%s' ./internal/perf"
	kernelCmd = "(cd bench && go test -run '^$' -bench '%s' ./kernel)"
	gvisorCmd = "(cd bench && go test -run '^$' -bench '%s' ./gvisor)"
	ns3Cmd    = "bench/ns3/simrate.cc, built by bench/run.sh: simrate SECONDS%s"
	tunCmd    = "go test -run '^$' -bench '%s' ./stack/tun"
)

var rows = []row{
	{
		work: "the machine, not stacklab: a cache line's round trip between two goroutines pinned to two CPUs, the least any hand-off " +
			"between goroutines costs (the real-time rows' links, the capture's writer); on this kind of virtual machine it moves " +
			"several-fold from hour to hour, and the figures that hand work across CPUs with it (lower is better)",
		ours:   metric{"BenchmarkCrossCPU", "ns/rtt"},
		ourCmd: fmt.Sprintf(perfCmd, "CrossCPU"),
	},
	{
		work:     "bulk TCP, 1 connection, MTU 1500, real time (wall clock, blocking net.Conn, in-memory link)",
		ours:     metric{"BenchmarkBulkPipe/mtu=1500", "MB/s"},
		peerFrom: gvisor,
		peer:     metric{"BenchmarkBulk/mtu=1500/offload=off", "MB/s"},
		ourCmd:   fmt.Sprintf(perfCmd, "BulkPipe/mtu=1500"),
		peerCmd:  fmt.Sprintf(gvisorCmd, "Bulk/mtu=1500"),
	},
	{
		work:     "the same against the Linux kernel over loopback (TCP_MAXSEG 1460)",
		ours:     metric{"BenchmarkBulkPipe/mtu=1500", "MB/s"},
		peerFrom: kernel,
		peer:     metric{"BenchmarkBulk/mtu=1500", "MB/s"},
		ourCmd:   fmt.Sprintf(perfCmd, "BulkPipe/mtu=1500"),
		peerCmd:  fmt.Sprintf(kernelCmd, "Bulk/mtu=1500"),
	},
	{
		work:     "bulk TCP, MTU 65535, real time, gVisor computing and verifying every checksum (stacklab, capturing nothing, neither computes nor verifies them on its in-memory link: transmit and receive offload as on veth)",
		ours:     metric{"BenchmarkBulkPipe/mtu=65535", "MB/s"},
		peerFrom: gvisor,
		peer:     metric{"BenchmarkBulk/mtu=65535/offload=off", "MB/s"},
		ourCmd:   fmt.Sprintf(perfCmd, "BulkPipe/mtu=65535"),
		peerCmd:  fmt.Sprintf(gvisorCmd, "Bulk/mtu=65535/offload=off"),
	},
	{
		work:       "the same, gVisor with checksum offload (it neither computes nor verifies them)",
		ours:       metric{"BenchmarkBulkPipe/mtu=65535", "MB/s"},
		peerFrom:   gvisor,
		peer:       metric{"BenchmarkBulk/mtu=65535/offload=on", "MB/s"},
		atLeast:    1,
		targetNote: "ahead of gVisor with offload on both",
		ourCmd:     fmt.Sprintf(perfCmd, "BulkPipe/mtu=65535"),
		peerCmd:    fmt.Sprintf(gvisorCmd, "Bulk/mtu=65535/offload=on"),
	},
	{
		work:     "8 bulk connections at once through one pair of stacks, MTU 1500, real time, aggregate (same GOMAXPROCS)",
		ours:     metric{"BenchmarkBulkParallelPipe", "MB/s"},
		peerFrom: gvisor,
		peer:     metric{"BenchmarkBulkParallel", "MB/s"},
		atLeast:  1,
		ourCmd:   fmt.Sprintf(perfCmd, "BulkParallelPipe"),
		peerCmd:  fmt.Sprintf(gvisorCmd, "BulkParallel"),
	},
	{
		work:     "bulk TCP, MTU 1500, virtual time (both stacks and the link on one goroutine), capture off",
		ours:     metric{"BenchmarkBulkSim/mtu=1500/capture=off", "MB/s"},
		peerFrom: gvisor,
		peer:     metric{"BenchmarkBulk/mtu=1500/offload=off", "MB/s"},
		ourCmd:   fmt.Sprintf(perfCmd, "BulkSim/mtu=1500/capture=off"),
		peerCmd:  fmt.Sprintf(gvisorCmd, "Bulk/mtu=1500"),
	},
	{
		work:      "bulk TCP over IPv6, MTU 1500, virtual time, MB per CPU second (median of interleaved rounds; peer: the same transfer over IPv4, same rounds; an IPv6 segment carries 1440 bytes, not 1460)",
		ours:      metric{"BenchmarkBulkFamily/mtu=1500", "v6-MB/s"},
		peerFrom:  ours,
		peer:      metric{"BenchmarkBulkFamily/mtu=1500", "v4-MB/s"},
		peerLabel: "IPv4",
		atLeast:   0.95,
		ourCmd:    fmt.Sprintf(perfCmd, "BulkFamily/mtu=1500"),
	},
	{
		work:      "the same at MTU 65535",
		ours:      metric{"BenchmarkBulkFamily/mtu=65535", "v6-MB/s"},
		peerFrom:  ours,
		peer:      metric{"BenchmarkBulkFamily/mtu=65535", "v4-MB/s"},
		peerLabel: "IPv4",
		atLeast:   0.95,
		ourCmd:    fmt.Sprintf(perfCmd, "BulkFamily/mtu=65535"),
	},
	{
		work:    "allocations per segment, MTU 1500, virtual time, capture off",
		ours:    metric{"BenchmarkBulkSim/mtu=1500/capture=off", "allocs/seg"},
		atMost:  0.001,
		ourCmd:  fmt.Sprintf(perfCmd, "BulkSim/mtu=1500/capture=off"),
		peerCmd: "",
	},
	{
		work:     "connection setup + 100 B each way + close, real time, one at a time",
		ours:     metric{"BenchmarkConnSetupDataPipe", "conns/s"},
		peerFrom: gvisor,
		peer:     metric{"BenchmarkConnSetupData", "conns/s"},
		atLeast:  2,
		ourCmd:   fmt.Sprintf(perfCmd, "ConnSetupDataPipe"),
		peerCmd:  fmt.Sprintf(gvisorCmd, "ConnSetupData"),
	},
	{
		work:     "connection setup (dial + accept + close), stacklab in virtual time to the end of TIME_WAIT",
		ours:     metric{"BenchmarkConnSetup", "conns/s"},
		peerFrom: kernel,
		peer:     metric{"BenchmarkConnSetup", "conns/s"},
		ourCmd:   fmt.Sprintf(perfCmd, "ConnSetup$"),
		peerCmd:  fmt.Sprintf(kernelCmd, "ConnSetup"),
	},
	{
		work:        "round trip of a 100-byte message on an open connection, real time (lower is better)",
		ours:        metric{"BenchmarkRoundTripPipe", "µs/rtt"},
		peerFrom:    gvisor,
		peer:        metric{"BenchmarkRoundTrip", "µs/rtt"},
		lowerBetter: true,
		atMost:      1,
		ourCmd:      fmt.Sprintf(perfCmd, "RoundTripPipe"),
		peerCmd:     fmt.Sprintf(gvisorCmd, "RoundTrip"),
	},
	{
		work:        "memory per idle established endpoint, 10 k connections (lower is better)",
		ours:        metric{"BenchmarkIdleMemory", "B/endpoint"},
		peerFrom:    gvisor,
		peer:        metric{"BenchmarkIdleMemory", "B/endpoint"},
		lowerBetter: true,
		atMost:      1,
		ourCmd:      benchOnce(perfCmd, "IdleMemory"),
		peerCmd:     benchOnce(gvisorCmd, "IdleMemory"),
	},
	{
		work:        "the same against the Linux kernel (socket slabs + Go heap)",
		ours:        metric{"BenchmarkIdleMemory", "B/endpoint"},
		peerFrom:    kernel,
		peer:        metric{"BenchmarkIdleMemory", "B/endpoint"},
		lowerBetter: true,
		ourCmd:      benchOnce(perfCmd, "IdleMemory"),
		peerCmd:     benchOnce(kernelCmd, "IdleMemory"),
	},
	{
		work:        "memory per connection in TIME_WAIT, 10 k connections (lower is better)",
		ours:        metric{"BenchmarkTimeWaitMemory", "B/time-wait"},
		peerFrom:    gvisor,
		peer:        metric{"BenchmarkTimeWaitMemory", "B/time-wait"},
		lowerBetter: true,
		ourCmd:      benchOnce(perfCmd, "TimeWaitMemory"),
		peerCmd:     benchOnce(gvisorCmd, "TimeWaitMemory"),
	},
	{
		work:        "the same against the Linux kernel (its timewait socket slab)",
		ours:        metric{"BenchmarkTimeWaitMemory", "B/time-wait"},
		peerFrom:    kernel,
		peer:        metric{"BenchmarkTimeWaitMemory", "B/time-wait"},
		lowerBetter: true,
		ourCmd:      benchOnce(perfCmd, "TimeWaitMemory"),
		peerCmd:     benchOnce(kernelCmd, "TimeWaitMemory"),
	},
	{
		work:     "simulation, 1 Gbit/s, 10 ms each way, bulk TCP, packets per wall s, capture off (stacklab 10 simulated s, ns-3 NS3_SECONDS, 3 by default)",
		ours:     metric{"BenchmarkSimRate/pcap=off", "pkts/s"},
		peerFrom: ns3,
		peer:     metric{"BenchmarkNS3SimRate/pcap=off", "pkts/s"},
		atLeast:  10,
		ourCmd:   benchOnce(perfCmd, "SimRate/pcap=off"),
		peerCmd:  fmt.Sprintf(ns3Cmd, ""),
	},
	{
		work:     "the same with a pcap(ng) per device",
		ours:     metric{"BenchmarkSimRate/pcap=on", "pkts/s"},
		peerFrom: ns3,
		peer:     metric{"BenchmarkNS3SimRate/pcap=on", "pkts/s"},
		ourCmd:   benchOnce(perfCmd, "SimRate/pcap=on"),
		peerCmd:  fmt.Sprintf(ns3Cmd, " PREFIX"),
	},
	{
		work:         "time that pcap(ng) adds to that simulation",
		ours:         metric{"BenchmarkSimRate/pcap=on", "ns/op"},
		peerFrom:     ns3,
		peer:         metric{"BenchmarkNS3SimRate/pcap=on", "ns/op"},
		peerOverhead: true,
		peerOff:      metric{"BenchmarkNS3SimRate/pcap=off", "ns/op"},
		ourCmd:       benchOnce(perfCmd, "SimRate"),
		peerCmd:      fmt.Sprintf(ns3Cmd, " [PREFIX]"),
	},
	{
		work:     "goodput that simulation reaches, Mbit/s of 1000 (over each side's simulated time; slow start weighs more in a shorter run)",
		ours:     metric{"BenchmarkSimRate/pcap=off", "sim-Mbit/s"},
		peerFrom: ns3,
		peer:     metric{"BenchmarkNS3SimRate/pcap=off", "sim-Mbit/s"},
		ourCmd:   benchOnce(perfCmd, "SimRate/pcap=off"),
		peerCmd:  fmt.Sprintf(ns3Cmd, ""),
	},
	{
		// The peer is the time ns-3's pcap per device adds to its own
		// simulation (the SimRate rows' work, not this transfer): what
		// capture costs a packet simulator, which writes on its one
		// thread.
		work:         "capture, pcapng per vantage only, bulk MTU 1500 virtual time, wall time added (median of interleaved rounds; pcapng alone is written on the stacks' goroutine, a trace beside them on the second CPU); peer: what pcap per device adds to ns-3's 1 Gbit/s simulation above",
		ours:         metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-pcapng-overhead-%"},
		peerFrom:     ns3,
		peer:         metric{"BenchmarkNS3SimRate/pcap=on", "ns/op"},
		peerOverhead: true,
		peerOff:      metric{"BenchmarkNS3SimRate/pcap=off", "ns/op"},
		atMost:       15,
		ourCmd:       fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
		peerCmd:      fmt.Sprintf(ns3Cmd, " [PREFIX]"),
	},
	{
		work:   "capture, pcapng + layered text trace, the same",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-overhead-%"},
		atMost: 40,
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "capture, pcapng + JSON lines, the same",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-json-overhead-%"},
		atMost: 40,
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "capture, pcapng only, CPU time added (both CPUs' work; same rounds)",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "pcapng-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "capture, pcapng + text trace, CPU time added",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "capture, pcapng + JSON lines, CPU time added",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "json-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "capture, pcapng only, written on the stacks' goroutine (capture.Options.Sync, the default for pcapng alone), wall time added, same rounds",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-sync-pcapng-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "capture, pcapng only, written beside the stacks (capture.Options.Async), wall time added, same rounds",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-async-pcapng-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		// The floor under the capture rows: no Recorder at all.
		work:   "the least a capture costs here, same rounds: a Tap that only has the stacks compute every TCP checksum, wall time added",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-floor-tap-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "the same Tap also keeping each frame's bytes (appended to a 256 KiB buffer per interface, written to /dev/null when full, as pcapng's files are; no format), wall time added",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-floor-copy-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "capture, pcapng + text trace, written on the stacks' goroutine, wall time added, same rounds",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-sync-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		// What capture.Options.Serial saves: the rows above are serial,
		// as stacklab run's Recorder is.
		work:   "capture, pcapng + text trace, a Recorder taking its lock at every frame (capture.Options.Serial off: stacks that run at once), wall time added, same rounds",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-locked-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:   "capture, pcapng only, the same, wall time added, same rounds",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=1500", "wall-locked-pcapng-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=1500"),
	},
	{
		work:       "stacklab run's runner over the bare simulation: 16 MiB bulk, 1 Gbit/s, 10 ms each way, default TCP, capture off on both (median of rounds' wall-time ratios)",
		ours:       metric{"BenchmarkRunnerCost", "wall-runner-x"},
		atMost:     1.3,
		targetNote: "≤ 1.3×",
		ourCmd:     benchN(perfCmd, "RunnerCost", "21x"),
	},
	{
		work:       "the same, the runner writing pcapng per vantage point, over the bare simulation without capture",
		ours:       metric{"BenchmarkRunnerCost", "wall-runner-pcapng-x"},
		atMost:     1.5,
		targetNote: "≤ 1.5×",
		ourCmd:     benchN(perfCmd, "RunnerCost", "21x"),
	},
	{
		work:   "the runner with capture off, CPU-time ratio, same rounds",
		ours:   metric{"BenchmarkRunnerCost", "runner-x"},
		ourCmd: benchN(perfCmd, "RunnerCost", "21x"),
	},
	{
		work:   "the runner writing pcapng, CPU-time ratio, same rounds",
		ours:   metric{"BenchmarkRunnerCost", "runner-pcapng-x"},
		ourCmd: benchN(perfCmd, "RunnerCost", "21x"),
	},
	{
		work:   "capture, pcapng + text trace at MTU 65535, wall time added",
		ours:   metric{"BenchmarkCaptureOverhead/mtu=65535", "wall-overhead-%"},
		ourCmd: fmt.Sprintf(perfCmd, "CaptureOverhead/mtu=65535"),
	},
	{
		work:     "kernel ↔ stack over TUN, 1400-byte UDP echo (peer: raw TUN read+write echo ceiling, same run)",
		ours:     metric{"BenchmarkTUNStackVsCeiling", "pkts/s"},
		peerFrom: ours,
		peer:     metric{"BenchmarkTUNStackVsCeiling", "ceiling-pkts/s"},
		atLeast:  0.8,
		ourCmd:   benchOnce(tunCmd, "TUNStackVsCeiling"),
	},
	{
		work:     "kernel → stack bulk TCP over TUN, MTU 1500, 16 MiB, packets through the device (peer: the raw TUN ceiling, same run)",
		ours:     metric{"BenchmarkTUNStackTCP/kernel-to-stack", "pkts/s"},
		peerFrom: ours,
		peer:     metric{"BenchmarkTUNStackVsCeiling", "ceiling-pkts/s"},
		ourCmd:   benchN(tunCmd, "TUNStackTCP", "16x"),
	},
}

// benchOnce is fmt.Sprintf(cmd, pattern) with -benchtime 1x, for the
// benchmarks that measure enough in a single iteration.
func benchOnce(cmd, pattern string) string { return benchN(cmd, pattern, "1x") }

// benchN is fmt.Sprintf(cmd, pattern) with -benchtime benchtime, as
// bench/run.sh runs that benchmark.
func benchN(cmd, pattern, benchtime string) string {
	return strings.Replace(fmt.Sprintf(cmd, pattern), "-bench", "-benchtime "+benchtime+" -bench", 1)
}

// writeTable prints the comparison as a Markdown table.
func writeTable(w io.Writer, res map[source]Results) {
	fmt.Fprintln(w, "| work | stacklab | peer | ratio (stacklab ÷ peer) | target | command |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rows {
		overheadRow := strings.HasSuffix(r.ours.unit, "overhead-%") || r.peerOverhead
		o, okO := res[ours].Median(r.ours.bench, r.ours.unit)
		ourCell := "not measured"
		if r.peerOverhead && !strings.HasSuffix(r.ours.unit, "overhead-%") {
			// stacklab's side of an overhead row: on over off, same benchmark family.
			off, okOff := res[ours].Median(strings.Replace(r.ours.bench, "pcap=on", "pcap=off", 1), r.ours.unit)
			okO = okO && okOff && off > 0
			if okO {
				o = (o/off - 1) * 100
			}
		}
		if okO {
			if overheadRow {
				ourCell = format(o, "overhead-%")
			} else {
				ourCell = format(o, r.ours.unit)
			}
		}
		peerCell, ratio := "—", "—"
		var p float64
		okP := false
		if r.peer.bench != "" {
			p, okP = res[r.peerFrom].Median(r.peer.bench, r.peer.unit)
			if okP && r.peerOverhead {
				off, okOff := res[r.peerFrom].Median(r.peerOff.bench, r.peerOff.unit)
				okP = okOff && off > 0
				p = (p/off - 1) * 100
			}
			label := r.peerFrom.String()
			if r.peerFrom == ours {
				label = "device ceiling"
			}
			if r.peerLabel != "" {
				label = r.peerLabel
			}
			switch {
			case okP && r.peerOverhead:
				peerCell = label + ": " + format(p, "overhead-%")
			case okP:
				peerCell = label + ": " + format(p, r.peer.unit)
			default:
				peerCell = label + ": not measured"
			}
		}
		if okO && okP && p != 0 && !overheadRow {
			ratio = fmt.Sprintf("%.2f×", o/p)
		}
		target := targetCell(r, o, okO, p, okP, overheadRow)
		cmd := "`" + r.ourCmd + "`"
		if r.peerCmd != "" && r.peer.bench != "" {
			cmd += "; `" + r.peerCmd + "`"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.work, ourCell, peerCell, ratio, target, cmd)
	}
	fmt.Fprintln(w)
	for _, n := range notes(res[kernel]) {
		fmt.Fprintln(w, "- "+n)
	}
}

// targetCell says the row's target and whether this run meets it.
func targetCell(r row, o float64, okO bool, p float64, okP bool, overhead bool) string {
	if r.atLeast == 0 && r.atMost == 0 {
		return "—"
	}
	var what string
	var v float64
	var ok bool
	switch {
	case overhead:
		what = fmt.Sprintf("≤ %g %%", r.atMost)
		v, ok = o, okO
	case r.peer.bench == "":
		what = fmt.Sprintf("≤ %g %s", r.atMost, r.ours.unit)
		v, ok = o, okO
	case r.atLeast > 0:
		what = fmt.Sprintf("≥ %g×", r.atLeast)
		v, ok = o/p, okO && okP && p != 0
	default:
		what = fmt.Sprintf("≤ %g×", r.atMost)
		v, ok = o/p, okO && okP && p != 0
	}
	if r.targetNote != "" {
		what = r.targetNote
	}
	switch {
	case !ok:
		return what + ": not measured"
	case r.atLeast > 0 && v < r.atLeast, r.atMost > 0 && v > r.atMost:
		return what + ": **not met**"
	}
	return what + ": met"
}

// notes returns the caveats printed under the table.
func notes(kern Results) []string {
	ns := []string{
		"Figures are medians of the runs in one `bench/run.sh`; MB/s is 10⁶ bytes per wall second.",
		"gVisor is gvisor.dev/gvisor v0.0.0-20260905035102-160fafc42237 (bench/gvisor): two stacks joined by " +
			"channel link endpoints, a goroutine per direction copying each packet across, driven through gonet's " +
			"blocking net.Conn, SACK on; stacklab's real-time rows use the same shape (stack/linktest pipe).",
		"ns-3 is Debian's ns-3.37 (libns3-dev): bench/ns3/simrate.cc, built by bench/run.sh, runs the same " +
			"1 Gbit/s, 10 ms bulk for NS3_SECONDS (CUBIC, SACK, 1448-byte segments, 4 MB buffers) and counts the frames " +
			"both devices send; with pcap each device writes to /dev/null, as stacklab's capture rows do.",
		"Kernel \"MTU 1500\" is TCP_MAXSEG 1460 on loopback (MTU 65536); loopback passes GSO super-packets, " +
			"so the kernel does not pay per 1460-byte segment as stacklab does, and its bytes cross the " +
			"user/kernel boundary twice.",
		"stacklab's virtual-time rows run both stacks and the link on one goroutine with a virtual clock; " +
			"its connection setup there runs each connection to its end, TIME_WAIT included.",
	}
	if c, ok := kern.Median("BenchmarkIdleMemory", "conns"); ok {
		ns = append(ns, fmt.Sprintf("Kernel idle memory counts the socket slabs (TCP, sock_inode_cache, "+
			"eventpoll) and the Go heap, over %.0f connections (as many as RLIMIT_NOFILE allows).", c))
	}
	return ns
}

// format renders v in unit for a reader.
func format(v float64, unit string) string {
	switch unit {
	case "MB/s", "v4-MB/s", "v6-MB/s":
		return fmt.Sprintf("%s MB/s", group(v))
	case "conns/s":
		return fmt.Sprintf("%.1f k/s", v/1000)
	case "µs/rtt":
		return fmt.Sprintf("%.1f µs", v)
	case "ns/rtt":
		return fmt.Sprintf("%.0f ns", v)
	case "pkts/s", "ceiling-pkts/s":
		return fmt.Sprintf("%.0f k pkts/s", v/1000)
	case "B/endpoint", "B/time-wait":
		return fmt.Sprintf("%.0f B", v)
	case "runner-x", "runner-pcapng-x", "wall-runner-x", "wall-runner-pcapng-x":
		return fmt.Sprintf("%.2f× the bare simulation", v)
	case "overhead-%", "pcapng-overhead-%", "json-overhead-%":
		return fmt.Sprintf("%+.1f %%", v)
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
