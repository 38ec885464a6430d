package scenario

import (
	"bytes"
	"strings"
	"testing"
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
