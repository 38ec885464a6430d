package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"stacklab/capture/ladder"
	"stacklab/scenarios"
	"stacklab/sim/scenario"
)

func init() { registerCommand(newRunCmd) }

// runOptions are the flags of `stacklab run`.
type runOptions struct {
	Target   string // a built-in name or a file
	OutDir   string
	Format   string
	Seed     uint64
	SeedSet  bool
	Summary  bool
	Ladder   bool
	LadderN  int // --ladder-rows
	Series   string
	Plots    bool
	HTML     bool
	Color    string
	Lang     string // --lang for the HTML page: en, zh, or "" (from LANG)
	Check    bool
	Quiet    bool
	Sweep    int
	Jobs     int    // seeds run at once in a sweep (0: one per CPU)
	Shard    string // "i/N": run only this shard's seeds of the sweep
	Duration time.Duration
	Timeout  time.Duration // wall-clock limit of one run
	Limits   scenario.Limits
	SS       []time.Duration // socket tables into the trace at these times
	Capture  string          // none, pcap, trace or all
	SnapLen  int
}

// defaultTimeout is --timeout's default: far beyond any built-in
// scenario (the longest takes seconds), short enough that a program
// looping in virtual time does not run all day.
const defaultTimeout = 10 * time.Minute

func newRunCmd(s *Streams) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run NAME|FILE|-",
		Short: "Run a scenario: trace to stdout, captures into a directory",
		Long: `Run a built-in scenario (see stacklab list) or a scenario file in virtual
time ("-" reads the file from stdin). The trace goes to stdout, one pcapng
file per host interface into the output directory. The exit code is 0 when
every expectation held, 1 when one failed (the difference is shown on
stderr), 2 for bad input. The file format: stacklab help format.`,
		Args: oneArg("a scenario: a built-in name (see stacklab list), a scenario file, or - for stdin"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Target = args[0]
			o.SeedSet = cmd.Flags().Changed("seed")
			return runRun(o, s)
		},
	}
	cmd.Flags().StringVarP(&o.OutDir, "out", "o", "out", "directory for the pcapng captures")
	cmd.Flags().StringVar(&o.Format, "format", "text", "trace format: text or json")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 0, "seed for every random choice (default: the scenario's)")
	cmd.Flags().BoolVar(&o.Summary, "summary", true, "print connections and counters after a text trace")
	cmd.Flags().BoolVar(&o.Check, "check", false, "only load and check the scenario; run nothing")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "no trace: only the summary and the outcome")
	cmd.Flags().IntVar(&o.Sweep, "sweep", 0, "run with seeds 1 to N, no trace or files, one line each; exit 1 if any fails")
	cmd.Flags().IntVar(&o.Jobs, "jobs", 0, "with --sweep: run this many seeds at once (default: one per CPU); the output is the same for any number")
	cmd.Flags().StringVar(&o.Shard, "shard", "", "with --sweep: run only shard i of N (seeds i, i+N, i+2N, ...), e.g. --shard 2/8; with --format json the lines feed stacklab sweep merge")
	cmd.Flags().DurationVar(&o.Duration, "duration", 0, "run for this long in virtual time instead of the scenario's duration")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", defaultTimeout, "stop a run that takes longer than this in wall-clock time (0: no limit)")
	cmd.Flags().IntVar(&o.Limits.MaxBytes, "max-size", scenario.DefaultMaxBytes, "largest scenario file accepted, in bytes")
	cmd.Flags().IntVar(&o.Limits.MaxDepth, "max-depth", scenario.DefaultMaxDepth, "deepest nesting accepted in a scenario file")
	cmd.Flags().BoolVar(&o.Ladder, "ladder", false, "also draw ladder diagrams into the output directory (ladder.txt, .mmd, .svg)")
	cmd.Flags().IntVar(&o.LadderN, "ladder-rows", ladder.DefaultKeep, "the most rows (packets sent, state changes, socket calls) a ladder draws: the first half and the last half of the run, and a band counting the rows between")
	cmd.Flags().StringVar(&o.Series, "series", "", "write every change of each TCP connection's cwnd, ssthresh, RTT, RTO, in-flight bytes, windows and state as DIR/series.csv")
	cmd.Flags().BoolVar(&o.Plots, "plots", false, "also draw each TCP connection's series as SVG plots into the output directory (tcp-HOST-LPORT-RPORT.svg)")
	cmd.Flags().StringVar(&o.Capture, "capture", "all", "what to write: none, pcap (captures, no trace), trace (trace, no captures) or all")
	cmd.Flags().IntVar(&o.SnapLen, "snaplen", 0, "keep only the first N bytes of each frame in the captures, as tcpdump -s (0: whole frames)")
	cmd.Flags().DurationSliceVar(&o.SS, "ss", nil, "print every host's socket table (as ss -tuanp) into the trace at these virtual times, e.g. --ss 1s,2.5s")
	cmd.ValidArgsFunction = completeScenario
	cmd.Flags().BoolVar(&o.HTML, "html", false, "also write one self-contained HTML page of the run into the output directory (NAME.html): ladder, packet details, TCP graphs")
	colorFlag(cmd.Flags(), &o.Color)
	cmd.Flags().StringVar(&o.Lang, "lang", "", "language of the --html page's words and the scenario's about: en or zh (Simplified Chinese); default from LANG")
	return cmd
}

// fmtFinish writes when the programs finished, or "never" (none did, or
// one failed before the end).
func fmtFinish(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.String()
}

// spread writes the minimum, median and maximum of v.
func spread(v []int64, f func(int64) string) string {
	if len(v) == 0 {
		return "-"
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return fmt.Sprintf("min %s, median %s, max %s", f(v[0]), f(v[len(v)/2]), f(v[len(v)-1]))
}

// completeScenario offers the built-in scenarios' names to shell
// completion (stacklab completion bash|zsh|fish), and files beside them.
func completeScenario(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, n := range scenarios.Names() {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveDefault
}

// isFile reports whether a run target names a file rather than a
// built-in scenario.
func isFile(target string) bool {
	if strings.ContainsRune(target, os.PathSeparator) || strings.HasSuffix(target, ".yaml") || strings.HasSuffix(target, ".yml") {
		return true
	}
	// A bare name is a built-in unless a regular file has that name: a
	// folder called like a built-in never shadows it.
	st, err := os.Stat(target)
	return err == nil && st.Mode().IsRegular()
}

// loadTargetLimited loads a built-in scenario, a scenario file, or one
// from stdin ("-"), with lim bounding the file; the size is checked
// before the file is read.
func loadTargetLimited(target string, s *Streams, lim scenario.Limits) (*scenario.Scenario, error) {
	maxBytes := lim.MaxBytes
	if maxBytes <= 0 {
		maxBytes = scenario.DefaultMaxBytes
	}
	if target == "-" {
		src, err := io.ReadAll(io.LimitReader(s.In, int64(maxBytes)+1))
		if err != nil {
			return nil, fmt.Errorf("cannot read the scenario from stdin: %w", err)
		}
		return scenario.LoadLimited("stdin", src, lim)
	}
	if isFile(target) {
		if st, err := os.Stat(target); err == nil && st.IsDir() {
			return nil, fmt.Errorf("%s is a directory; name a scenario file (NAME.yaml) in it", target)
		} else if err == nil && st.Size() > int64(maxBytes) {
			return nil, scenario.ErrorList{{Pos: scenario.Pos{File: target}, Msg: fmt.Sprintf("%d bytes, over the limit of %d for a scenario file; raise it with --max-size", st.Size(), maxBytes)}}
		}
		src, err := os.ReadFile(target)
		if err != nil {
			if f := withExt(target); f != "" {
				return nil, fmt.Errorf("cannot read the scenario file: %w; did you mean %s?", err, f)
			}
			return nil, fmt.Errorf("cannot read the scenario file: %w", err)
		}
		return scenario.LoadLimited(target, src, lim)
	}
	sc, err := scenarios.Load(target)
	if f := withExt(target); err != nil && f != "" {
		return nil, fmt.Errorf("%w; to run the file %s, name it with its extension", err, f)
	}
	return sc, err
}

// withExt returns target with .yaml or .yml added when that names a
// file, else "".
func withExt(target string) string {
	for _, ext := range []string{".yaml", ".yml"} {
		if st, err := os.Stat(target + ext); err == nil && !st.IsDir() {
			return target + ext
		}
	}
	return ""
}

// plural writes n and a noun, adding an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// writableDir makes dir if needed and checks that a file can be
// created in it, so that a directory that cannot be written to is found
// before the run, not after it.
func writableDir(dir string) error {
	unwrap := func(err error) error {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return unwrap(err)
	}
	f, err := os.CreateTemp(dir, ".stacklab-check-*")
	if err != nil {
		return unwrap(err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func runRun(o *runOptions, s *Streams) error {
	if o.Format != "text" && o.Format != "json" {
		return badInput(fmt.Errorf("unknown --format %q; use text or json", o.Format))
	}
	switch o.Capture {
	case "all":
	case "none", "trace":
		if o.HTML || o.Ladder || o.Plots {
			return badInput(fmt.Errorf("--capture=%s writes no files; --html, --ladder and --plots need them", o.Capture))
		}
		o.OutDir = ""
		o.Quiet = o.Quiet || o.Capture == "none"
	case "pcap":
		o.Quiet = true
	default:
		return badInput(fmt.Errorf("unknown --capture %q; use none, pcap, trace or all", o.Capture))
	}
	if o.LadderN < 2 {
		return badInput(fmt.Errorf("--ladder-rows %d: a ladder draws at least 2 rows, the first and the last; give 2 or more (default %d)", o.LadderN, ladder.DefaultKeep))
	}
	if o.SnapLen < 0 || o.SnapLen > 0 && o.SnapLen < 14 {
		return badInput(fmt.Errorf("--snaplen %d: want 0 (whole frames) or at least 14 bytes (an Ethernet header)", o.SnapLen))
	}
	switch {
	case o.Duration < 0:
		return badInput(fmt.Errorf("--duration %s is negative; give a virtual time such as 30s, or leave it out for the scenario's own", o.Duration))
	case o.Sweep < 0:
		return badInput(fmt.Errorf("--sweep %d is negative; give the number of seeds to run, such as --sweep 100", o.Sweep))
	case o.Jobs < 0:
		return badInput(fmt.Errorf("--jobs %d is negative; give the number of seeds to run at once, or leave it out for one per CPU", o.Jobs))
	case (o.Jobs != 0 || o.Shard != "") && o.Sweep == 0:
		return badInput(fmt.Errorf("--jobs and --shard only apply to a sweep; add --sweep N"))
	case o.Timeout < 0:
		return badInput(fmt.Errorf("--timeout %s is negative; give a wall-clock limit such as 10m, or 0 for none", o.Timeout))
	case o.Limits.MaxBytes < 0 || o.Limits.MaxDepth < 0:
		return badInput(fmt.Errorf("--max-size and --max-depth must be positive"))
	}
	for _, t := range o.SS {
		if t < 0 {
			return badInput(fmt.Errorf("--ss %s is negative; give virtual times since the start, such as --ss 1s,2.5s", t))
		}
	}
	// Every flag is checked before anything is run or written: a bad
	// one must not cost the previous run's files (clearPrevious).
	colored, flushColor, err := colorOut(o.Color, s.Out)
	if err != nil {
		return badInput(err)
	}
	lang, err := chooseLang(o.Lang)
	if err != nil {
		return badInput(err)
	}
	if o.HTML && o.OutDir == "" {
		return badInput(fmt.Errorf("--html writes into the output directory; give one with -o"))
	}
	sc, err := loadTargetLimited(o.Target, s, o.Limits)
	if err != nil {
		var el scenario.ErrorList
		if errors.As(err, &el) {
			for _, e := range el {
				fmt.Fprintln(s.Err, e)
			}
			name := o.Target
			if name == "-" {
				name = "stdin"
			}
			return badInput(fmt.Errorf("%s in %s; nothing was run", plural(len(el), "problem"), name))
		}
		return badInput(err)
	}
	if o.Check {
		fmt.Fprintf(s.Out, "%s: %s, %s, %s: ok\n", sc.Name, plural(len(sc.Hosts), "host"), plural(len(sc.Links), "link"), plural(len(sc.Expect), "expectation"))
		return nil
	}
	if o.Sweep > 0 {
		return runSweep(sc, o, s)
	}
	if o.OutDir != "" {
		if err := writableDir(o.OutDir); err != nil {
			return badInput(fmt.Errorf("cannot write the captures into %s: %v; choose another directory with -o", o.OutDir, err))
		}
	}
	if o.Series != "" {
		if err := writableDir(o.Series); err != nil {
			return badInput(fmt.Errorf("cannot write the series into %s: %v; choose another directory with --series", o.Series, err))
		}
	}
	if o.OutDir != "" {
		if n, err := clearPrevious(o.OutDir); err != nil {
			return failed(fmt.Errorf("cannot clear the previous run's files from %s: %v", o.OutDir, err))
		} else if n > 0 {
			fmt.Fprintf(s.Err, "removed %s of the previous run from %s\n", plural(n, "file"), o.OutDir)
		}
	}
	ro := scenario.RunOptions{SnapLen: o.SnapLen, Warn: s.Err, SocketTables: o.SS, OutDir: o.OutDir, Trace: s.Out, Format: o.Format, Version: version, Ladder: o.Ladder, LadderRows: o.LadderN, Duration: o.Duration, Series: o.Series, Plots: o.Plots, WallTimeout: o.Timeout}
	if o.Quiet {
		ro.Trace = nil
	}
	if ro.Trace != nil && o.Format == "text" {
		ro.Trace = colored
	}
	if isTerminal(s.Err) && (ro.Trace == nil || !isTerminal(s.Out)) {
		// (a trace on the same terminal would tear the line apart)
		ro.Progress = progressLine(s.Err)
	}
	if o.HTML {
		ro.HTML = filepath.Join(o.OutDir, sc.Name+".html")
		ro.Lang = lang
	}
	if o.SeedSet {
		ro.Seed = &o.Seed
	}
	res, err := sc.Run(ro)
	flushColor()
	if err != nil {
		return failed(err)
	}
	if o.Format == "text" && o.Summary {
		res.WriteSummary(s.Out)
	}
	if len(res.Files) > 0 {
		names := make([]string, len(res.Files))
		for i, f := range res.Files {
			names[i] = filepath.ToSlash(f)
		}
		fmt.Fprintf(s.Err, "files: %s\n", strings.Join(names, " "))
	}
	if o.OutDir != "" {
		if err := writeManifest(o.OutDir, res.Files); err != nil {
			fmt.Fprintf(s.Err, "stacklab: warning: %v\n", err)
		}
	}
	if !res.Passed() {
		for _, f := range res.Failures {
			fmt.Fprint(s.Err, f)
		}
		return failed(fmt.Errorf("%s (seed %d): %s failed", sc.Name, res.Seed, plural(len(res.Failures), "expectation")))
	}
	if len(sc.Expect) == 0 {
		fmt.Fprintf(s.Err, "%s (seed %d): finished; it has no expect: list, so only its programs' own checks (== and ->) were made\n", sc.Name, res.Seed)
		return nil
	}
	fmt.Fprintf(s.Err, "%s (seed %d): every expectation held (%d)\n", sc.Name, res.Seed, len(sc.Expect))
	return nil
}

// manifestName is the file in an output directory that lists what the
// last run wrote there, so that the next run removes those files (and
// only those: a file of the user's own is never touched).
const manifestName = ".stacklab-files"

// clearPrevious removes the files the previous run listed in dir's
// manifest and returns how many it removed.
func clearPrevious(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range strings.Split(string(b), "\n") {
		// Only plain names inside dir: a manifest edited by hand cannot
		// make stacklab remove anything elsewhere.
		if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := os.Remove(p); err != nil {
			return n, err
		}
		n++
	}
	return n, os.Remove(filepath.Join(dir, manifestName))
}

// writeManifest records the files a run wrote into dir.
func writeManifest(dir string, files []string) error {
	var b strings.Builder
	for _, f := range files {
		if filepath.Dir(f) == filepath.Clean(dir) {
			b.WriteString(filepath.Base(f) + "\n")
		}
	}
	return os.WriteFile(filepath.Join(dir, manifestName), []byte(b.String()), 0o644)
}
