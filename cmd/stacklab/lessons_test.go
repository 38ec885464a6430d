package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutDirCleared: a second run into the same -o removes the files the
// first one wrote (here the NAT lesson's eight captures), leaves a file
// of the user's own, and says what it removed and wrote.
func TestOutDirCleared(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := stacklab(t, "run", "heartbeat-nat", "-q", "-o", dir); code != 0 || !strings.Contains(stderr, "home-eth3.pcapng") {
		t.Fatalf("first run: %d\n%s", code, stderr)
	}
	code, _, stderr := stacklab(t, "run", "refused", "-q", "-o", dir)
	if code != 0 {
		t.Fatalf("second run: %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "removed 8 files of the previous run from "+dir) || !strings.Contains(stderr, "files: ") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "home-eth3.pcapng")); !os.IsNotExist(err) {
		t.Errorf("the first run's capture is still there: %v", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the user's own file went: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "client-eth0.pcapng")); err != nil {
		t.Errorf("the second run's capture is missing: %v", err)
	}
}

// TestFolderDoesNotShadowBuiltin: a folder named like a built-in in the
// working directory does not stop `stacklab run NAME` running the
// built-in.
func TestFolderDoesNotShadowBuiltin(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("refused", 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := stacklab(t, "run", "refused", "-q", "-o", filepath.Join(dir, "out"))
	if code != 0 || !strings.Contains(stderr, "refused (seed 1): every expectation held") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

func TestVersionFlag(t *testing.T) {
	code, stdout, _ := stacklab(t, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "stacklab v") || !strings.Contains(stdout, "go1.") {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
}

func TestEmptyExpect(t *testing.T) {
	f := writeFile(t, "noexp.yaml", "hosts:\n  a: {addr: 10.0.0.1/24}\n  b: {addr: 10.0.0.2/24}\nlinks:\n  - ends: [a, b]\nprograms:\n  a: |\n    sleep 1s\n")
	code, _, stderr := stacklab(t, "run", f, "-q", "-o", t.TempDir())
	if code != 0 || !strings.Contains(stderr, "it has no expect: list") || strings.Contains(stderr, "every expectation held") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}
