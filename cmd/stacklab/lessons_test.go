package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stacklab/scenarios"
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
	if code, _, stderr := stacklab(t, "run", "heartbeat-nat", "-q", "-o", dir); code != 0 || !strings.Contains(stderr, "home-eth1.pcapng") {
		t.Fatalf("first run: %d\n%s", code, stderr)
	}
	code, _, stderr := stacklab(t, "run", "refused", "-q", "-o", dir)
	if code != 0 {
		t.Fatalf("second run: %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "removed 7 files of the previous run from "+dir) || !strings.Contains(stderr, "files: ") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "home-eth1.pcapng")); !os.IsNotExist(err) {
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

// TestListCourse: list shows the lessons first, in course order, and
// every built-in exactly once.
func TestListCourse(t *testing.T) {
	t.Setenv("LANG", "C.UTF-8")
	code, stdout, _ := stacklab(t, "list")
	if code != 0 || !strings.HasPrefix(stdout, "Sockets, lesson by lesson\n  five-tuple ") {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	last := -1
	for _, n := range []string{"five-tuple", "handshake", "simultaneous-close", "stream-vs-datagram", "heartbeat-nat", "http-short-vs-long", "blocking-vs-nonblocking", "Connections in detail"} {
		i := strings.Index(stdout, n)
		if i <= last {
			t.Errorf("%s is out of course order", n)
		}
		last = i
	}
	for _, n := range scenarios.Names() {
		if c := strings.Count(stdout, "  "+n+" "); c != 1 {
			t.Errorf("%s listed %d times", n, c)
		}
	}
}

// TestListChinese: --lang zh, or LANG=zh_*, shows the Chinese titles and
// about texts; a bad --lang is refused.
func TestListChinese(t *testing.T) {
	t.Setenv("LANG", "C.UTF-8")
	_, zh, _ := stacklab(t, "list", "--lang", "zh")
	t.Setenv("LANG", "zh_CN.UTF-8")
	_, env, _ := stacklab(t, "list")
	for _, out := range []string{zh, env} {
		if !strings.HasPrefix(out, "套接字，一课一课地学\n") || !strings.Contains(out, "三次握手") {
			t.Errorf("not in Chinese:\n%.600s", out)
		}
	}
	if code, _, stderr := stacklab(t, "list", "--lang", "fr"); code != 2 || !strings.Contains(stderr, `unknown --lang "fr"; use en or zh`) {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

func TestSweepFigures(t *testing.T) {
	code, stdout, _ := stacklab(t, "run", "lossy-transfer", "--sweep", "2")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{"seed 1: ok (", "retransmitted, 5/5 expectations held", "seed 2: ok (", "summary: 2 of 2 seeds passed; retransmitted min ", "finished min "} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
}

func TestSocketTableFlag(t *testing.T) {
	code, stdout, stderr := stacklab(t, "run", "five-tuple", "--ss", "1500ms", "-o", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, w := range []string{" 1.500000 alice  ss  tcp   ESTABLISHED", " 1.500000 server  ss  tcp   LISTEN", " 1.500000 r1  ss  Netid"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("trace lacks %q", w)
		}
	}
	if code, _, stderr := stacklab(t, "run", "five-tuple", "--ss", "soon"); code != 2 || !strings.Contains(stderr, "--ss") {
		t.Errorf("bad --ss: exit %d, %s", code, stderr)
	}
}

func TestCompletion(t *testing.T) {
	_, stdout, _ := stacklab(t, "__complete", "run", "hand")
	if !strings.HasPrefix(stdout, "handshake\n") {
		t.Errorf("run completion: %q", stdout)
	}
	_, stdout, _ = stacklab(t, "__complete", "show", "five")
	if !strings.HasPrefix(stdout, "five-tuple\n") {
		t.Errorf("show completion: %q", stdout)
	}
}

func TestCaptureFlags(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := stacklab(t, "run", "refused", "--capture=trace", "-o", dir)
	if code != 0 || !strings.Contains(stdout, "[SYN]") || strings.Contains(stderr, "files:") {
		t.Errorf("trace: exit %d\n%s", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("--capture=trace wrote %d files", len(entries))
	}
	code, stdout, stderr = stacklab(t, "run", "refused", "--capture=pcap", "--snaplen", "54", "-o", dir)
	if code != 0 || strings.Contains(stdout, "[SYN]") || !strings.Contains(stderr, "client-eth0.pcapng") {
		t.Errorf("pcap: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for args, want := range map[string]string{
		"--capture=xml":       `unknown --capture "xml"`,
		"--snaplen=5":         "--snaplen 5: want 0",
		"--capture=none/html": "--html, --ladder and --plots need them",
	} {
		a := []string{"run", "refused", "-o", dir}
		if args == "--capture=none/html" {
			a = append(a, "--capture=none", "--html")
		} else {
			a = append(a, args)
		}
		if code, _, stderr := stacklab(t, a...); code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, %s", args, code, stderr)
		}
	}
}

func TestProgressText(t *testing.T) {
	got := progressText(15*time.Second, 1234, time.Minute, 2*time.Second)
	if want := "running: 15s of 1m0s virtual time, 1234 frames, about 6s left"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	var b strings.Builder
	p := progressLine(&b)
	p(time.Second, 10, time.Minute, false)
	p(time.Minute, 20, time.Minute, true)
	if s := b.String(); !strings.HasPrefix(s, "\r\x1b[Krunning: 1s of 1m0s") || !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("%q", s)
	}
}

// TestNoProgressWhenPiped: stderr that is not a terminal gets no
// progress line.
func TestNoProgressWhenPiped(t *testing.T) {
	_, _, stderr := stacklab(t, "run", "lossy-transfer", "-q", "-o", t.TempDir())
	if strings.Contains(stderr, "running:") {
		t.Errorf("progress on a pipe:\n%s", stderr)
	}
}

// TestRunHTMLLang writes the page in Chinese with --lang zh, and refuses
// a language it does not know.
func TestRunHTMLLang(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := stacklab(t, "run", "handshake", "-q", "-o", dir, "--html", "--lang", "zh"); code != 0 {
		t.Fatalf("run: %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "handshake.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<html lang="zh-Hans">`) {
		t.Error("the page is not marked Chinese")
	}
	if code, _, stderr := stacklab(t, "run", "handshake", "-q", "-o", dir, "--html", "--lang", "fr"); code != 2 || !strings.Contains(stderr, `unknown --lang "fr"`) {
		t.Errorf("--lang fr: %d\n%s", code, stderr)
	}
}
