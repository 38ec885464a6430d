package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSweepJobs: a sweep prints the same lines, in seed order, whatever
// the number of seeds run at once.
func TestSweepJobs(t *testing.T) {
	code1, out1, _ := stacklab(t, "run", "lossy-transfer", "--sweep", "5", "--jobs", "1")
	code4, out4, _ := stacklab(t, "run", "lossy-transfer", "--sweep", "5", "--jobs", "4")
	if code1 != 0 || code4 != 0 {
		t.Fatalf("exit %d and %d, want 0", code1, code4)
	}
	if out1 != out4 {
		t.Errorf("--jobs 4 printed\n%s\n--jobs 1 printed\n%s", out4, out1)
	}
	for i := 1; i <= 5; i++ {
		if !strings.Contains(out4, "seed "+strconv.Itoa(i)+": ok") {
			t.Errorf("no line for seed %d:\n%s", i, out4)
		}
	}
}

// TestSweepShardsMerge: the shards of a sweep, merged, print exactly what
// the unsharded sweep prints, with its exit code; a failing seed in one
// shard fails the merge.
func TestSweepShardsMerge(t *testing.T) {
	dir := t.TempDir()
	for _, target := range []string{"lossy-transfer", writeFile(t, "wrong.yaml", failingScenario)} {
		wantCode, want, _ := stacklab(t, "run", target, "--sweep", "7")
		var files []string
		for i := 1; i <= 3; i++ {
			code, out, errs := stacklab(t, "run", target, "--sweep", "7", "--shard", strconv.Itoa(i)+"/3", "--format", "json")
			if code != wantCode && !(code == 0 && wantCode == 1) {
				t.Fatalf("shard %d/3 of %s: exit %d: %s", i, target, code, errs)
			}
			f := filepath.Join(dir, filepath.Base(target)+strconv.Itoa(i)+".jsonl")
			if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		code, got, errs := stacklab(t, append([]string{"sweep", "merge"}, files...)...)
		if code != wantCode || got != want {
			t.Errorf("%s: merge exit %d (want %d), printed\n%s%s\nthe sweep printed\n%s", target, code, wantCode, got, errs, want)
		}
	}
}

func TestSweepMergeErrors(t *testing.T) {
	dir := t.TempDir()
	shard := func(name, spec string, n int) string {
		t.Helper()
		_, out, _ := stacklab(t, "run", "lossy-transfer", "--sweep", strconv.Itoa(n), "--shard", spec, "--format", "json")
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := shard("a.jsonl", "1/2", 4)
	other := shard("c.jsonl", "2/2", 6)
	junk := writeFile(t, "junk.jsonl", "\n{\"scenario\":\"x\",\"seed\":1}\nnot json\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{a}, "missing 2, 4"},
		{[]string{a, a}, "a.jsonl:1: seed 1 again (first at "},
		{[]string{a, other}, "c.jsonl:1: seed 2 is from a sweep of 6, the others from a sweep of 4"},
		{[]string{junk}, "junk.jsonl:2: not a sweep line"},
		{[]string{filepath.Join(dir, "absent.jsonl")}, "cannot read"},
		{nil, "name the shards' files"},
	} {
		code, _, errs := stacklab(t, append([]string{"sweep", "merge"}, tt.args...)...)
		if code != 2 || !strings.Contains(errs, tt.want) {
			t.Errorf("merge %v: exit %d, stderr %q; want 2 and %q", tt.args, code, errs, tt.want)
		}
	}
	for _, tt := range []struct{ args, want string }{
		{"--sweep 4 --shard 3/2", "--shard \"3/2\": want i/N"},
		{"--sweep 4 --shard x", "want i/N"},
		{"--jobs 2", "only apply to a sweep"},
		{"--sweep 4 --jobs -1", "--jobs -1 is negative"},
	} {
		code, _, errs := stacklab(t, append([]string{"run", "lossy-transfer"}, strings.Fields(tt.args)...)...)
		if code != 2 || !strings.Contains(errs, tt.want) {
			t.Errorf("run %s: exit %d, stderr %q; want 2 and %q", tt.args, code, errs, tt.want)
		}
	}
}
