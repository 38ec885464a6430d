package perf

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stacklab/capture"
)

// traceNames names the benchmark hosts in the trace and captures.
var traceNames = map[netip.Addr]string{
	clientAddr.Addr(): "client",
	serverAddr.Addr(): "server",
}

// newRecorder returns a capture.Recorder writing a pcapng file per
// vantage point under a temporary directory and a text trace to trace.
// With discard, the pcapng files are links to /dev/null, so that a long
// benchmark pays every write but fills no disk.
func newRecorder(tb testing.TB, trace io.Writer, discard bool) (*capture.Recorder, string) {
	tb.Helper()
	return newRecorderOpts(tb, discard, capture.Options{Trace: trace, Format: capture.Text})
}

// newRecorderOpts is newRecorder with the trace and format of o. Every
// Recorder here captures a simulation in virtual time, whose stacks take
// turns on one goroutine: as stacklab run's, it is serial
// (capture.Options.Serial).
func newRecorderOpts(tb testing.TB, discard bool, o capture.Options) (*capture.Recorder, string) {
	tb.Helper()
	o.Serial = true
	return newRecorderAs(tb, discard, o)
}

// newRecorderAs is newRecorderOpts with o's Serial as it is.
func newRecorderAs(tb testing.TB, discard bool, o capture.Options) (*capture.Recorder, string) {
	tb.Helper()
	dir := tb.TempDir()
	if discard {
		for _, name := range []string{"client-eth0.pcapng", "server-eth0.pcapng"} {
			if err := os.Symlink(os.DevNull, filepath.Join(dir, name)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	o.Dir, o.Scenario, o.Seed, o.Names = dir, "perf", 1, traceNames
	rec, err := capture.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := rec.Close(); err != nil {
			tb.Errorf("closing the capture: %v", err)
		}
	})
	return rec, dir
}

// discardTrace returns /dev/null opened for writing: a trace destination
// that costs a write system call per flush, as a real file does.
func discardTrace(tb testing.TB) io.Writer {
	tb.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// TestCaptureOnRecords checks that the capture=on setup of the bulk
// benchmark really captures: both vantage points get a pcapng file and
// the trace shows the handshake and the data.
func TestCaptureOnRecords(t *testing.T) {
	var tr bytes.Buffer
	rec, dir := newRecorder(t, &tr, false)
	n := newSimNet(t, simConfig{tap: rec, obs: rec})
	lfd := n.listen(t, 80, 8)
	cfd, sfd := n.connect(t, lfd, 80)
	const total = 64 << 10
	if got := n.transfer(t, cfd, sfd, total, time.Time{}, make([]byte, chunk), make([]byte, chunk)); got != total {
		t.Fatalf("server read %d bytes, want %d", got, total)
	}
	n.closePair(t, cfd, sfd, 2*time.Minute)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"client-eth0.pcapng", "server-eth0.pcapng"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// 64 KiB of payload in frames, at least.
		if fi.Size() < total {
			t.Errorf("%s has %d bytes, want more than %d", name, fi.Size(), total)
		}
	}
	out := tr.String()
	for _, want := range []string{"[SYN]", "[SYN, ACK]", "client", "server"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
}
