package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stacklab runs the CLI in-process.
func stacklab(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const failingScenario = `name: wrong
hosts:
  client: {addr: 10.0.0.1/24}
  server: {addr: 10.0.0.2/24}
links:
  - ends: [client, server]
    delay: 1ms
programs:
  client: |
    s = socket(tcp)
    connect(s, server:81) -> ECONNREFUSED
expect:
  - client > server [S]
  - server > client [S.]
`

func TestCLI(t *testing.T) {
	out := t.TempDir()
	bad := writeFile(t, "bad.yaml", "hosts:\n  client: {addr: 10.0.0.1/24}\nprograms:\n  client: |\n    s = socket(tcp)\n    conect(s, client:80)\n")
	wrong := writeFile(t, "wrong.yaml", failingScenario)
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		notStdout  string
		notStderr  string
		wantOutDir bool
	}{
		{name: "list", args: []string{"list"}, stdout: []string{"handshake", "refused", "udp-echo", "ping", "lossy-transfer", "Three-way handshake"}},
		{name: "list long", args: []string{"list", "-l"}, stdout: []string{"Sending after one's own shutdown fails with EPIPE"}},
		{name: "show", args: []string{"show", "refused"}, stdout: []string{"name: refused", "connect(s, server:81) -> ECONNREFUSED"}},
		{name: "show unknown", args: []string{"show", "refsued"}, code: 2, stderr: []string{`did you mean "refused"?`}},
		{name: "run quiet", args: []string{"run", "refused", "-q", "-o", t.TempDir()}, stdout: []string{"connections:"}, notStdout: "[SYN]", stderr: []string{"every expectation held"}},
		{name: "sweep", args: []string{"run", "lossy-transfer", "--sweep", "3"}, stdout: []string{"seed 1: ok", "seed 3: ok"}, stderr: []string{"all 3 seeds passed"}},
		{name: "sweep failing", args: []string{"run", wrong, "--sweep", "2"}, code: 1, stdout: []string{"seed 2: 1 failed; first: "}, stderr: []string{"2 of 2 seeds failed"}},
		{name: "duration", args: []string{"run", "ping", "-q", "-o", t.TempDir(), "--duration", "1500ms"}, code: 1, stderr: []string{"did not finish by the end of the run (1.5s)"}},
		{name: "help format", args: []string{"help", "format"}, stdout: []string{"# stacklab scenario files", "reorder 3rd client > server", "client connect → ECONNREFUSED"}},
		{name: "version", args: []string{"version"}, stdout: []string{"stacklab v"}},
		{name: "run handshake", args: []string{"run", "handshake", "-o", out}, stdout: []string{"[SYN]", "[SYN, ACK]", "connect(3, 10.0.0.2:80) → blocks", "connections:"},
			stderr: []string{"every expectation held", "client-eth0.pcapng"}, wantOutDir: true},
		{name: "run ladder", args: []string{"run", "refused", "-o", t.TempDir(), "--ladder"}, stderr: []string{"ladder.txt", "ladder.svg", "ladder.mmd"}},
		{name: "bad ladder rows", args: []string{"run", "refused", "-o", t.TempDir(), "--ladder", "--ladder-rows", "1"}, code: 2, stderr: []string{"--ladder-rows 1: a ladder draws at least 2 rows", "give 2 or more"}},
		{name: "run json", args: []string{"run", "refused", "-o", t.TempDir(), "--format", "json", "--seed", "5"}, stdout: []string{`{"`}, stderr: []string{"seed 5"}, notStdout: "connections:"},
		{name: "unknown scenario", args: []string{"run", "handshak"}, code: 2, stderr: []string{`did you mean "handshake"?`, "built-in: ", "lossy-transfer"}},
		{name: "bad file", args: []string{"run", bad}, code: 2, stderr: []string{"bad.yaml:6:5: programs.client: unknown call \"conect\"; did you mean \"connect\"?", "nothing was run"}},
		{name: "missing file", args: []string{"run", "nonexistent/x.yaml"}, code: 2, stderr: []string{"cannot read the scenario file"}},
		{name: "failing expectation", args: []string{"run", wrong, "-o", t.TempDir()}, code: 1, stderr: []string{"wrong.yaml:14: expectation failed: server > client [S.]", "flags", "[R.]", "1 expectation failed"}},
		{name: "bad format", args: []string{"run", "handshake", "--format", "xml"}, code: 2, stderr: []string{`unknown --format "xml"`}},
		{name: "bad flag", args: []string{"run", "handshake", "--sede", "1"}, code: 2, stderr: []string{"unknown flag: --sede; did you mean --seed?"}},
		{name: "bad seed", args: []string{"run", "handshake", "--seed", "-1"}, code: 2, stderr: []string{`--seed "-1": want a whole number, 0 or more`}, notStderr: "strconv"},
		{name: "bad duration", args: []string{"run", "handshake", "--duration", "5"}, code: 2, stderr: []string{`--duration "5": want a duration with its unit`}},
		{name: "run no args", args: []string{"run"}, code: 2, stderr: []string{"run needs a scenario: a built-in name"}, notStderr: "arg(s)"},
		{name: "show no args", args: []string{"show"}, code: 2, stderr: []string{"show needs the name of a built-in scenario"}},
		{name: "trace two args", args: []string{"trace", "a", "b"}, code: 2, stderr: []string{"trace takes one argument, a pcap or pcapng file, or - for stdin; got 2"}},
		{name: "file without extension", args: []string{"run", strings.TrimSuffix(wrong, ".yaml")}, code: 2, stderr: []string{"did you mean " + wrong + "?"}},
		{name: "out is a file", args: []string{"run", "refused", "-q", "-o", wrong}, code: 2, stderr: []string{"cannot write the captures into " + wrong + ": not a directory; choose another directory with -o"}},
		{name: "bad stdin", args: []string{"run", "-"}, code: 2, stderr: []string{"stdin:1:1:", "1 problem in stdin"}},
		{name: "list short", args: []string{"list"}, stdout: []string{"fast-retransmit", "…"}, notStdout: "RFC 6582"},
		{name: "unknown command", args: []string{"rnu"}, code: 2, stderr: []string{"unknown command", "stacklab --help"}},
		{name: "trace missing", args: []string{"trace", "nope.pcap"}, code: 2, stderr: []string{"nope.pcap: no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := stacklab(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, tt.code, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%.2000s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.notStdout != "" && strings.Contains(stdout, tt.notStdout) {
				t.Errorf("stdout has %q", tt.notStdout)
			}
			if tt.notStderr != "" && strings.Contains(stderr, tt.notStderr) {
				t.Errorf("stderr has %q:\n%s", tt.notStderr, stderr)
			}
			if tt.wantOutDir {
				for _, f := range []string{"client-eth0.pcapng", "server-eth0.pcapng"} {
					if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
						t.Errorf("capture %s: %v", f, err)
					}
				}
			}
		})
	}
}

// TestTraceCapture traces a capture written by a run, as it would one
// made by tcpdump.
func TestTraceCapture(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := stacklab(t, "run", "refused", "-o", dir); code != 0 {
		t.Fatalf("run refused: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := stacklab(t, "trace", filepath.Join(dir, "client-eth0.pcapng"))
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr)
	}
	for _, w := range []string{"[SYN]", "[RST, ACK]", "10.0.0.1"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("trace lacks %q:\n%s", w, stdout)
		}
	}
	code, _, stderr = stacklab(t, "trace", writeFile(t, "junk.pcap", "this is not a capture"))
	if code != 2 || stderr == "" {
		t.Errorf("junk capture: exit %d, stderr %q", code, stderr)
	}
}

func TestRunStdinAndCheck(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"run", "-", "--check"}, strings.NewReader(failingScenario), &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "wrong: 2 hosts, 1 link, 2 expectations: ok") {
		t.Errorf("check: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	code = Main([]string{"run", "-", "-o", t.TempDir()}, strings.NewReader(failingScenario), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "stdin:14: expectation failed") {
		t.Errorf("run from stdin: exit %d, stderr %q", code, errb.String())
	}
	code = Main([]string{"run", "-", "--check"}, strings.NewReader("hosts: {a: {adr: x}}"), &out, &errb)
	if code != 2 {
		t.Errorf("bad stdin: exit %d", code)
	}
}

func TestFirstSentence(t *testing.T) {
	tests := []struct{ in, want string }{
		{"One. Two.", "One."},
		{"One; two. Three.", "One; two."},
		{"No end", "No end"},
		{"RFC 1.2 stays. Next.", "RFC 1.2 stays."},
	}
	for _, tt := range tests {
		if got := firstSentence(tt.in); got != tt.want {
			t.Errorf("firstSentence(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRegisteredCommands(t *testing.T) {
	root := newRoot(&Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	for _, name := range []string{"run", "list", "show", "trace", "version"} {
		if c, _, err := root.Find([]string{name}); err != nil || c.Name() != name {
			t.Errorf("command %q not registered", name)
		}
	}
}

func TestShorten(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"one two three four", 10, "one two…"},
		{"a (b c) d e f g h", 9, "a (b c)…"},
		{"abcdefghijklmnop", 8, "abcdefg…"},
	}
	for _, tt := range tests {
		if got := shorten(tt.in, tt.n); got != tt.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
