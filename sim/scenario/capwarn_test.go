package scenario

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestLargeCaptureWarning: a run whose captures grow past the threshold
// says so once, naming the way out; one without an output directory
// writes no captures and never warns.
func TestLargeCaptureWarning(t *testing.T) {
	defer func(v int64) { largeCapture = v }(largeCapture)
	largeCapture = 2000
	sc, err := Load("t.yaml", []byte(twoHosts+"programs:\n  server: |\n    l = socket(tcp); bind(l, :80); listen(l, 8)\n    c = accept(l)\n    recv(c, all) == 64KiB\n  client: |\n    s = socket(tcp); connect(s, server:80)\n    send(s, 64KiB); close(s)\n"))
	if err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	if _, err := sc.Run(RunOptions{OutDir: t.TempDir(), Warn: &warn}); err != nil {
		t.Fatal(err)
	}
	if got := warn.String(); strings.Count(got, "warning: the captures in ") != 1 || !strings.Contains(got, "--snaplen 128") {
		t.Errorf("warnings: %q", got)
	}
	warn.Reset()
	if _, err := sc.Run(RunOptions{Warn: &warn}); err != nil {
		t.Fatal(err)
	}
	if warn.Len() != 0 {
		t.Errorf("warned without captures: %q", warn.String())
	}
}

// TestProgress: a run that reports progress calls back with the virtual
// time reached and the frames seen, and once more when done; the run is
// the same as without.
func TestProgress(t *testing.T) {
	defer func(v time.Duration) { progressAfter = v }(progressAfter)
	progressAfter = 0
	sc, err := Load("t.yaml", []byte(twoHosts+"programs:\n  server: |\n    l = socket(tcp); bind(l, :80); listen(l, 8)\n    c = accept(l)\n    recv(c, all) == 4MiB\n  client: |\n    s = socket(tcp); connect(s, server:80)\n    send(s, 4MiB); close(s)\n"))
	if err != nil {
		t.Fatal(err)
	}
	var calls, dones int
	var last time.Duration
	var trace1, trace2 bytes.Buffer
	res, err := sc.Run(RunOptions{Trace: &trace1, Progress: func(at time.Duration, frames int, d time.Duration, done bool) {
		calls++
		if done {
			dones++
		}
		if at < last || d != DefaultDuration || frames <= 0 {
			t.Errorf("progress %v %d %v", at, frames, d)
		}
		last = at
	}})
	if err != nil || !res.Passed() {
		t.Fatal(err, res.Failures)
	}
	if calls < 2 || dones != 1 {
		t.Errorf("%d calls, %d done", calls, dones)
	}
	if _, err := sc.Run(RunOptions{Trace: &trace2}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(trace1.Bytes(), trace2.Bytes()) {
		t.Error("the trace differs with progress reports")
	}
}
