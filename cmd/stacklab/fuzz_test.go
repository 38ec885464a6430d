package main

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzCLI drives Main with fuzzed arguments and standard input through
// the commands that read input (run from stdin, trace from stdin, show,
// list, help): every outcome is an exit code of 0, 1 or 2, never a
// panic or a hang, and binary input is never echoed to stderr. Flags
// that write files are left out (the run's captures go to a temporary
// directory).
func FuzzCLI(f *testing.F) {
	f.Add(uint8(0), "", []byte("name: x\nhosts:\n  a: {addr: 10.0.0.1/24}\n"))
	f.Add(uint8(1), "--seed 3", []byte("name: x\nhosts:\n  a: {addr: 10.0.0.1/24}\n  b: {addr: 10.0.0.2/24}\nlinks:\n  - ends: [a, b]\nprograms:\n  a: |\n    s = socket(udp)\n    sendto(s, \"x\", b:7)\n"))
	f.Add(uint8(2), "--format json", []byte("\xd4\xc3\xb2\xa1\x02\x00\x04\x00"))
	f.Add(uint8(3), "handshake", []byte{})
	f.Add(uint8(4), "-l", []byte{})
	f.Add(uint8(1), "--duration -5s", []byte("\x00\x01"))
	f.Fuzz(func(t *testing.T, cmd uint8, extra string, stdin []byte) {
		dir := t.TempDir()
		var args []string
		switch cmd % 6 {
		case 0:
			args = []string{"run", "--check", "-"}
		case 1:
			args = []string{"run", "-q", "--timeout", "2s", "--duration", "2s", "-o", dir, "-"}
		case 2:
			args = []string{"trace", "-"}
		case 3:
			args = []string{"show"}
		case 4:
			args = []string{"list"}
		default:
			args = []string{"help"}
		}
		for _, a := range strings.Fields(extra) {
			if strings.HasPrefix(a, "-o") || strings.HasPrefix(a, "--out") || strings.HasPrefix(a, "--series") ||
				strings.HasPrefix(a, "--html") || strings.HasPrefix(a, "--timeout") || strings.HasPrefix(a, "--duration") ||
				strings.HasPrefix(a, "--sweep") || a == "tun" || a == "view" || strings.ContainsRune(a, 0) { // argv holds no NUL
				continue
			}
			args = append(args, a)
		}
		var out, errb bytes.Buffer
		code := Main(args, bytes.NewReader(stdin), &out, &errb)
		if code < 0 || code > 2 {
			t.Fatalf("exit %d for %q", code, args)
		}
		if bytes.IndexByte(stdin, 0) >= 0 && bytes.IndexByte(errb.Bytes(), 0) >= 0 {
			t.Fatalf("stderr echoes a NUL byte of the input: %q", errb.String())
		}
	})
}
