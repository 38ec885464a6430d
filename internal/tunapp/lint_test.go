package tunapp

import (
	"path/filepath"
	"testing"

	"stacklab/capture/tsharktest"
)

// lintCaptures checks every capture in dir with tshark, when installed:
// no malformed packets, no bad checksums.
func lintCaptures(t *testing.T, dir string) {
	t.Helper()
	if tsharktest.Path() == "" {
		t.Log("tshark not installed: captures not linted")
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	for _, f := range files {
		tsharktest.Lint(t, f)
	}
}
