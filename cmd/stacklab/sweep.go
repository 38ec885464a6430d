package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"stacklab/sim/scenario"
)

// A sweep runs one scenario once per seed and reports each seed on one
// line, then a summary. Seeds are independent, so they run in parallel
// (--jobs) and across machines (--shard i/N, then stacklab sweep merge);
// the lines come out in seed order whatever the number of jobs, and a
// merge of every shard prints what one unsharded sweep prints.

func init() { registerCommand(newSweepCmd) }

// seedResult is one seed's line of a sweep. In --format json it is the
// line itself, which is what stacklab sweep merge reads back.
type seedResult struct {
	Scenario      string `json:"scenario"`
	Sweep         int    `json:"sweep"` // the sweep's size N (seeds 1 to N)
	Seed          uint64 `json:"seed"`
	Passed        bool   `json:"passed"`
	End           int64  `json:"end_ns"`      // virtual time when the run stopped
	Finished      int64  `json:"finished_ns"` // when the last program finished; 0: never
	Retransmitted int64  `json:"retransmitted"`
	Moved         int64  `json:"moved"` // payload bytes, every connection both ways
	Failures      int    `json:"failures"`
	First         string `json:"first,omitempty"` // the first failure, "file:line: what: message"
	Held          int    `json:"held"`
	Expectations  int    `json:"expectations"`
}

// text writes r as a sweep's text line (without the newline).
func (r *seedResult) text() string {
	figures := fmt.Sprintf("finished %s, %d retransmitted, %d/%d expectations held", fmtFinish(time.Duration(r.Finished)), r.Retransmitted, r.Held, r.Expectations)
	if r.Passed {
		return fmt.Sprintf("seed %d: ok (%s): %s", r.Seed, time.Duration(r.End), figures)
	}
	return fmt.Sprintf("seed %d: %d failed; first: %s (%s)", r.Seed, r.Failures, r.First, figures)
}

// seedOf condenses one run into its sweep line.
func seedOf(sc *scenario.Scenario, n int, seed uint64, res *scenario.Result) seedResult {
	r := seedResult{Scenario: sc.Name, Sweep: n, Seed: seed, Passed: res.Passed(), End: int64(res.End), Finished: int64(res.Finished),
		Failures: len(res.Failures), Expectations: len(sc.Expect)}
	r.Held = len(sc.Expect) - min(len(res.Failures), len(sc.Expect))
	for _, cs := range res.Counters {
		for _, c := range cs {
			if c.Name == "tcp.RetransSegs" {
				r.Retransmitted += int64(c.Value)
			}
		}
	}
	for _, c := range res.Conns {
		r.Moved += c.BytesAB + c.BytesBA
	}
	if len(res.Failures) > 0 {
		f := res.Failures[0]
		r.First = fmt.Sprintf("%s:%d: %s: %s", f.Pos.File, f.Pos.Line, f.What, f.Msg)
	}
	return r
}

// parseShard reads --shard's "i/N" (1 ≤ i ≤ N).
func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("--shard %q: want i/N with 1 ≤ i ≤ N, such as --shard 1/4 (seeds 1, 5, 9, ...)", s)
	}
	return i, n, nil
}

// sweepSeeds lists the seeds a sweep of n runs, or one shard's of them.
func sweepSeeds(n int, shard string) ([]uint64, error) {
	i, of := 1, 1
	if shard != "" {
		var err error
		if i, of, err = parseShard(shard); err != nil {
			return nil, err
		}
	}
	var seeds []uint64
	for s := i; s <= n; s += of {
		seeds = append(seeds, uint64(s))
	}
	return seeds, nil
}

// runSweep runs the scenario once per seed, J at a time, and reports for
// each the figures that matter — whether its expectations held, when its
// programs finished, TCP retransmissions — in seed order, then a summary.
func runSweep(sc *scenario.Scenario, o *runOptions, s *Streams) error {
	seeds, err := sweepSeeds(o.Sweep, o.Shard)
	if err != nil {
		return badInput(err)
	}
	jobs := o.Jobs
	if jobs == 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	jobs = max(1, min(jobs, len(seeds)))

	type done struct {
		r   seedResult
		err error
	}
	results := make([]chan done, len(seeds))
	for i := range results {
		results[i] = make(chan done, 1)
	}
	var (
		mu   sync.Mutex
		next int
		stop bool
		wg   sync.WaitGroup
	)
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				quit := stop
				mu.Unlock()
				if quit || i >= len(seeds) {
					return
				}
				seed := seeds[i]
				res, err := sc.Run(scenario.RunOptions{Seed: &seed, Duration: o.Duration, Version: version, WallTimeout: o.Timeout})
				if err != nil {
					mu.Lock()
					stop = true
					mu.Unlock()
					results[i] <- done{err: err}
					continue
				}
				results[i] <- done{r: seedOf(sc, o.Sweep, seed, res)}
			}
		}()
	}
	var all []seedResult
	var runErr error
	enc := json.NewEncoder(s.Out)
	for i := range seeds {
		d := <-results[i]
		if d.err != nil {
			runErr = d.err
			break
		}
		all = append(all, d.r)
		if o.Format == "json" {
			if err := enc.Encode(&d.r); err != nil {
				runErr = err
				break
			}
			continue
		}
		fmt.Fprintln(s.Out, d.r.text())
	}
	if runErr != nil {
		mu.Lock()
		stop = true
		mu.Unlock()
		// unblock workers still sending: every channel has room for one
		wg.Wait()
		return failed(runErr)
	}
	wg.Wait()
	return sweepSummary(sc.Name, all, o.Format != "json", o.Shard, s)
}

// sweepSummary prints the summary line (text only) and the outcome, and
// returns the exit status: 1 when any seed failed.
func sweepSummary(name string, all []seedResult, text bool, shard string, s *Streams) error {
	bad := 0
	var retrans, finish []int64
	var moved int64
	for _, r := range all {
		if !r.Passed {
			bad++
		}
		retrans, finish = append(retrans, r.Retransmitted), append(finish, r.Finished)
		moved += r.Moved
	}
	if text {
		fmt.Fprintf(s.Out, "summary: %d of %d seeds passed; retransmitted %s; finished %s; %d payload bytes moved\n", len(all)-bad, len(all), spread(retrans, func(v int64) string { return strconv.FormatInt(v, 10) }), spread(finish, func(v int64) string { return fmtFinish(time.Duration(v)) }), moved)
	}
	what := name
	if shard != "" {
		what += " (shard " + shard + ")"
	}
	if bad > 0 {
		return failed(fmt.Errorf("%s: %d of %d seeds failed; rerun one with --seed N to see its trace", what, bad, len(all)))
	}
	fmt.Fprintf(s.Err, "%s: all %d seeds passed\n", what, len(all))
	return nil
}

func newSweepCmd(s *Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Work with sweeps run in shards (see run --sweep, --shard)",
	}
	merge := &cobra.Command{
		Use:   "merge FILE...",
		Short: "Merge the JSON lines of a sharded sweep into one sweep's report",
		Long: `Each shard of a sweep runs on its own machine or core:

    stacklab run lossy-transfer --sweep 1000 --shard 3/8 --format json > shard-3.jsonl

stacklab sweep merge shard-*.jsonl then prints exactly what one unsharded
"stacklab run lossy-transfer --sweep 1000" prints, and exits 1 when any seed
failed. Every seed from 1 to N must be present once, from one scenario.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(errors.New("name the shards' files: stacklab sweep merge shard-*.jsonl"))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error { return sweepMerge(args, s) },
	}
	cmd.AddCommand(merge)
	return cmd
}

// maxSweepLine bounds one line of a shard's file.
const maxSweepLine = 64 << 10

// sweepMerge reads the shards' lines, checks that they make one whole
// sweep, and reports it as an unsharded sweep would.
func sweepMerge(files []string, s *Streams) error {
	var all []seedResult
	where := map[uint64]string{} // seed → file:line that gave it
	name, n := "", 0
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return badInput(fmt.Errorf("cannot read %s: %v", file, errors.Unwrap(err)))
		}
		err = readShard(f, file, func(pos string, r seedResult) error {
			switch {
			case name == "":
				name, n = r.Scenario, r.Sweep
			case r.Scenario != name:
				return fmt.Errorf("%s: seed %d is from scenario %q, the others from %q; merge one scenario's shards at a time", pos, r.Seed, r.Scenario, name)
			case r.Sweep != n:
				return fmt.Errorf("%s: seed %d is from a sweep of %d, the others from a sweep of %d; merge one sweep's shards", pos, r.Seed, r.Sweep, n)
			}
			if r.Seed < 1 || r.Seed > uint64(n) {
				return fmt.Errorf("%s: seed %d is outside the sweep's 1 to %d", pos, r.Seed, n)
			}
			if prev, ok := where[r.Seed]; ok {
				return fmt.Errorf("%s: seed %d again (first at %s); give each shard's file once", pos, r.Seed, prev)
			}
			where[r.Seed] = pos
			all = append(all, r)
			return nil
		})
		f.Close()
		if err != nil {
			return badInput(err)
		}
	}
	if len(all) == 0 {
		return badInput(fmt.Errorf("no seed lines in %s; make them with stacklab run NAME --sweep N --shard i/M --format json", strings.Join(files, ", ")))
	}
	if len(all) != n {
		var missing []string
		for seed := 1; seed <= n && len(missing) < 10; seed++ {
			if _, ok := where[uint64(seed)]; !ok {
				missing = append(missing, strconv.Itoa(seed))
			}
		}
		return badInput(fmt.Errorf("the sweep of %d has %d seeds here; missing %s: is a shard's file absent or cut short?", n, len(all), strings.Join(missing, ", ")))
	}
	slices.SortFunc(all, func(a, b seedResult) int { return cmp.Compare(a.Seed, b.Seed) })
	for i := range all {
		fmt.Fprintln(s.Out, all[i].text())
	}
	return sweepSummary(name, all, true, "", s)
}

// readShard calls f for each JSON line of r, named file in errors.
func readShard(r io.Reader, file string, f func(pos string, r seedResult) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxSweepLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		pos := fmt.Sprintf("%s:%d", file, line)
		var res seedResult
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&res); err != nil || res.Seed == 0 || res.Sweep < 1 || res.Scenario == "" {
			return fmt.Errorf("%s: not a sweep line (want the JSON of stacklab run --sweep N --format json): %.60q", pos, b)
		}
		if err := f(pos, res); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %v (a line longer than %d bytes is not a sweep line)", file, line+1, err, maxSweepLine)
	}
	return nil
}
