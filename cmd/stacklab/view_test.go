package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPageCommands: run --html, --series and --plots write their files;
// view turns a run's directory and a foreign capture into pages; bad
// input gets a clear error and exit code 2.
func TestPageCommands(t *testing.T) {
	out := t.TempDir()
	series := filepath.Join(out, "series")
	code, _, stderr := stacklab(t, "run", "fast-retransmit", "-q", "-o", out, "--html", "--series", series, "--plots")
	if code != 0 {
		t.Fatalf("run --html: exit %d: %s", code, stderr)
	}
	// The plot is named after the client's ephemeral port.
	plots, _ := filepath.Glob(filepath.Join(out, "tcp-client-*-5001.svg"))
	if len(plots) != 1 {
		t.Errorf("run wrote plots %v, want one tcp-client-PORT-5001.svg", plots)
		plots = append(plots, "tcp-client-PORT-5001.svg")
	}
	for _, f := range []string{"fast-retransmit.html", "series/series.csv", filepath.Base(plots[0])} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Errorf("run did not write %s: %v", f, err)
			continue
		}
		if strings.HasSuffix(f, ".html") && !strings.Contains(string(b), `<script id="data"`) {
			t.Errorf("%s holds no data", f)
		}
	}
	if code, _, stderr := stacklab(t, "view", out); code != 0 || !strings.Contains(stderr, "view.html") {
		t.Errorf("view DIR: exit %d: %s", code, stderr)
	}
	page := filepath.Join(out, "bulk.html")
	if code, _, stderr := stacklab(t, "view", "../../testdata/linux/linux-bulk.pcap", "-o", page); code != 0 {
		t.Errorf("view FILE: exit %d: %s", code, stderr)
	} else if _, err := os.Stat(page); err != nil {
		t.Error(err)
	}
	if code, _, stderr := stacklab(t, "trace", "../../testdata/linux/linux-refused.pcap", "--html", page); code != 0 {
		t.Errorf("trace --html: exit %d: %s", code, stderr)
	}
	if code, _, stderr := stacklab(t, "view", filepath.Join(out, "nothing")); code != 2 || !strings.Contains(stderr, "no such file") {
		t.Errorf("view of a missing path: exit %d: %s", code, stderr)
	}
	if code, _, stderr := stacklab(t, "view", t.TempDir()); code != 2 || !strings.Contains(stderr, "no .pcapng") {
		t.Errorf("view of an empty directory: exit %d: %s", code, stderr)
	}
}

// TestPageKeptOnFailure: a page that cannot be written is refused with
// exit 2 and the flag to change; a capture that cannot be read leaves the
// page already at the destination as it was, and no temporary file.
func TestPageKeptOnFailure(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "page.html")
	if code, _, stderr := stacklab(t, "view", "../../testdata/linux/linux-refused.pcap", "-o", page); code != 0 {
		t.Fatalf("view: exit %d: %s", code, stderr)
	}
	before, _ := os.ReadFile(page)
	bad := filepath.Join(dir, "bad.pcapng")
	os.WriteFile(bad, []byte("not a capture at all"), 0o644)
	if code, _, stderr := stacklab(t, "view", bad, "-o", page); code != 2 || !strings.Contains(stderr, "not a pcap or pcapng file") {
		t.Errorf("view of a bad capture: exit %d: %s", code, stderr)
	}
	if code, _, stderr := stacklab(t, "trace", bad, "--html", page); code != 2 {
		t.Errorf("trace --html of a bad capture: exit %d: %s", code, stderr)
	}
	if after, _ := os.ReadFile(page); string(after) != string(before) || len(before) == 0 {
		t.Errorf("the page before (%d bytes) is now %d bytes", len(before), len(after))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".stacklab-page-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if st, err := os.Stat(page); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("page mode %v, %v; want 0644", st.Mode(), err)
	}
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	for _, args := range [][]string{
		{"view", "../../testdata/linux/linux-refused.pcap", "-o", filepath.Join(notDir, "p.html")},
		{"trace", "../../testdata/linux/linux-refused.pcap", "--html", filepath.Join(notDir, "p.html")},
	} {
		code, stdout, stderr := stacklab(t, args...)
		if code != 2 || !strings.Contains(stderr, "cannot write the page") || stdout != "" {
			t.Errorf("%v: exit %d, %d bytes of trace, %s", args, code, len(stdout), stderr)
		}
	}
}
