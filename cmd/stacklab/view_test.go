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
