package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadInput: every kind of unusable input is refused with exit 2 and
// a message that names the limit or the fix, before anything runs, and
// never echoes binary bytes.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := write("big.yaml", bytes.Repeat([]byte("# padding\n"), 200_000))
	deep := write("deep.yaml", []byte("name: x\nhosts: "+strings.Repeat("[", 100_000)+"\n"))
	deepBlock := write("deepblock.yaml", []byte("name: x\nhosts:\n"+strings.Repeat("- ", 100)+"a\n"))
	noise := make([]byte, 100_000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(r.IntN(256))
	}
	noise[10] = 0
	binary := write("noise.yaml", noise)
	file := write("plain", []byte("x"))
	cases := []struct {
		name   string
		args   []string
		stdin  []byte
		stderr []string
	}{
		{"file over the size limit", []string{"run", big}, nil, []string{"2000000 bytes, over the limit of 1048576", "--max-size"}},
		{"stdin over the size limit", []string{"run", "-"}, bytes.Repeat([]byte("# padding\n"), 200_000), []string{"over the limit of 1048576", "--max-size"}},
		{"flow nesting", []string{"run", deep}, nil, []string{"deep.yaml:2:", "nested more than 64 levels", "--max-depth"}},
		{"block nesting", []string{"run", deepBlock}, nil, []string{"deepblock.yaml:3:", "nested more than 64 levels"}},
		{"binary", []string{"run", binary}, nil, []string{"noise.yaml:", "is not text"}},
		{"negative duration", []string{"run", "handshake", "--duration", "-5s"}, nil, []string{"--duration -5s is negative"}},
		{"negative sweep", []string{"run", "handshake", "--sweep", "-3"}, nil, []string{"--sweep -3 is negative"}},
		{"unwritable -o", []string{"run", "handshake", "-o", filepath.Join(file, "out")}, nil, []string{"cannot write the captures into", "-o"}},
		{"trace a directory", []string{"trace", dir}, nil, []string{"is a directory"}},
		{"pkt with an unknown IP version", []string{"pkt", "--ip_version=ipv5", dir}, nil, []string{"--ip_version=ipv5", "ipv4, ipv4-mapped-ipv6 or ipv6"}},
		{"pkt with an MTU out of range", []string{"pkt", "--mtu=20", dir}, nil, []string{"--mtu=20", "68 to 65535"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			start := time.Now()
			code := Main(c.args, bytes.NewReader(c.stdin), &out, &errb)
			if code != exitBadInput {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, errb.String())
			}
			for _, w := range c.stderr {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
			if bytes.ContainsAny(errb.Bytes(), "\x00\x01\x02\x03") || len(errb.String()) > 2000 {
				t.Errorf("stderr echoes the input (%d bytes)", errb.Len())
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v to refuse", d)
			}
		})
	}
}

// TestBadFlagKeepsPreviousRun: a run refused for a bad flag leaves the
// output directory as the previous run left it. The colour, the page's
// language, --ss and an unwritable --series were checked only after the
// previous run's files had been removed.
func TestBadFlagKeepsPreviousRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if code, _, errs := stacklab(t, "run", "handshake", "-q", "-o", out); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, errs)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(files) == 0 {
		t.Fatal("the first run wrote nothing")
	}
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--color", "sometimes"}, "want auto, always or never"},
		{[]string{"--lang", "xx"}, "use en or zh"},
		{[]string{"--ss", "1s,-1s"}, "--ss -1s is negative"},
		{[]string{"--series", filepath.Join(notDir, "s")}, "choose another directory with --series"},
		{[]string{"--format", "yaml"}, "use text or json"},
		{[]string{"--ladder-rows", "1"}, "give 2 or more"},
	} {
		args := append([]string{"run", "handshake", "-q", "-o", out}, c.flags...)
		code, _, errs := stacklab(t, args...)
		if code != exitBadInput || !strings.Contains(errs, c.want) || strings.Contains(errs, "removed") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.flags, code, errs, c.want)
		}
		for _, f := range files {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%v: the previous run's %s is gone", c.flags, filepath.Base(f))
			}
		}
	}
}

// TestTraceStdin: stacklab trace - reads the capture from standard input.
func TestTraceStdin(t *testing.T) {
	pcap, err := os.ReadFile("../../testdata/linux/linux-refused.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"trace", "-"}, bytes.NewReader(pcap), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var want bytes.Buffer
	Main([]string{"trace", "../../testdata/linux/linux-refused.pcap"}, nil, &want, &errb)
	if out.Len() == 0 || !bytes.Equal(out.Bytes(), want.Bytes()) {
		t.Fatalf("trace of stdin differs from the file's:\n%s", out.String())
	}
}

// TestRunWallTimeout: a program that never ends within a very long
// duration is stopped by --timeout, and the failure names the program
// and where it is.
func TestRunWallTimeout(t *testing.T) {
	f := writeFile(t, "loop.yaml", `name: loop
duration: 100000h
hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
programs:
  client: |
    s = socket(udp)
    repeat forever {
      sleep 10ms
    }
`)
	var out, errb bytes.Buffer
	start := time.Now()
	code := Main([]string{"run", "-q", "--summary=false", "--timeout", "300ms", "-o", t.TempDir(), f}, nil, &out, &errb)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "program on client still running in sleep 10ms") || !strings.Contains(errb.String(), "--timeout") {
		t.Fatalf("stderr:\n%s", errb.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}
