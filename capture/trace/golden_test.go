package trace

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// captureDir holds the repository's real Linux captures (see its README.md).
const captureDir = "../../testdata/linux"

// maxGoldenLines keeps golden files small: longer traces keep their first
// lines and a hash of the whole.
const maxGoldenLines = 400

func linuxCaptures(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(captureDir, "*.pcap"))
	if len(files) == 0 {
		t.Fatalf("no reference captures in %s: they belong to the repository (testdata/linux)", captureDir)
	}
	return files
}

func goldenText(trace []byte) []byte {
	lines := bytes.SplitAfter(trace, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if len(lines) <= maxGoldenLines {
		return trace
	}
	var b bytes.Buffer
	for _, l := range lines[:maxGoldenLines] {
		b.Write(l)
	}
	fmt.Fprintf(&b, "… %d more lines; sha256 of the whole trace %x\n", len(lines)-maxGoldenLines, sha256.Sum256(trace))
	return b.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run go test -update if the change is intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: got %d lines, want %d (run go test -update if the change is intended)", path, len(gl), len(wl))
	}
}

// TestTraceLinuxCaptures traces every reference capture in both formats
// against golden files, and checks every JSON line parses.
func TestTraceLinuxCaptures(t *testing.T) {
	for _, path := range linuxCaptures(t) {
		base := strings.TrimSuffix(filepath.Base(path), ".pcap")
		t.Run(base, func(t *testing.T) {
			var text, js bytes.Buffer
			if err := TraceFile(path, &text, Text); err != nil {
				t.Fatal(err)
			}
			if err := TraceFile(path, &js, JSON); err != nil {
				t.Fatal(err)
			}
			for i, line := range bytes.Split(bytes.TrimSuffix(js.Bytes(), []byte("\n")), []byte("\n")) {
				var v map[string]any
				if err := json.Unmarshal(line, &v); err != nil {
					t.Fatalf("JSON line %d does not parse: %v\n%s", i+1, err, line)
				}
			}
			checkGolden(t, base+".txt", goldenText(text.Bytes()))
			checkGolden(t, base+".jsonl", goldenText(js.Bytes()))
		})
	}
}
