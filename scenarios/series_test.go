package scenarios

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"stacklab/sim/scenario"
)

// seriesExpect matches the scenarios' expectations on cwnd and ssthresh:
// "- at 350ms: client fd s cwnd == 28960".
var seriesExpect = regexp.MustCompile(`(?m)^\s*- at (\S+): (\w+) fd \w+ (cwnd|ssthresh) == (\d+)`)

// TestSeriesGolden writes the TCP series of three scenarios as CSV,
// compares each with testdata/NAME.series.csv, and checks that the cwnd
// and ssthresh in it are what the scenario's own expectations say at
// their times (the CSV's last row at or before that time, for the
// expectation's host).
func TestSeriesGolden(t *testing.T) {
	for _, name := range []string{"slow-start", "fast-retransmit", "newreno-vs-cubic"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			res, err := sc.Run(scenario.RunOptions{Series: dir, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Failures {
				t.Errorf("%s", f)
			}
			got, err := os.ReadFile(filepath.Join(dir, "series.csv"))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".series.csv")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			} else if want, err := os.ReadFile(golden); err != nil {
				t.Errorf("%v (run go test ./scenarios -update to create it)", err)
			} else if !bytes.Equal(got, want) {
				t.Errorf("series differ from %s (run go test ./scenarios -update and review the diff):\n%s", golden, firstDiff(want, got))
			}
			rows, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			src, err := Source(name)
			if err != nil {
				t.Fatal(err)
			}
			ms := seriesExpect.FindAllStringSubmatch(string(src), -1)
			if len(ms) == 0 {
				t.Fatalf("%s has no cwnd or ssthresh expectation to check the series against", name)
			}
			col := map[string]int{"cwnd": 4, "ssthresh": 5}
			for _, m := range ms {
				at, err := time.ParseDuration(m[1])
				if err != nil {
					t.Fatalf("expectation time %q: %v", m[1], err)
				}
				host, field, want := m[2], m[3], m[4]
				if want == "2147483647" {
					want = "" // unset: infinite, an empty cell
				}
				got, found := "", false
				for _, r := range rows[1:] {
					us, _ := strconv.ParseInt(r[0], 10, 64)
					if time.Duration(us)*time.Microsecond > at {
						break
					}
					if r[1] == host {
						got, found = r[col[field]], true
					}
				}
				if !found || got != want {
					t.Errorf("at %s %s %s: series says %q (found %v), the scenario expects %q", m[1], host, field, got, found, want)
				}
			}
		})
	}
}
