package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestTraceColor: a trace is coloured on a terminal unless NO_COLOR is
// set, never when piped, always with --color=always; analysis marks and
// TCP flags get their colours, and the text is otherwise unchanged.
func TestTraceColor(t *testing.T) {
	const capture = "../../testdata/linux/linux-keepalive.pcap"
	trace := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Main(append([]string{"trace", capture}, args...), strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("trace %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	defer func(f func(io.Writer) bool) { isTerminal = f }(isTerminal)
	plain := trace()
	if strings.Contains(plain, "\x1b[") {
		t.Fatal("a piped trace is coloured")
	}
	isTerminal = func(io.Writer) bool { return true }
	t.Setenv("NO_COLOR", "")
	tty := trace()
	if !strings.Contains(tty, "\x1b[34m[TCP Keep-Alive]\x1b[0m") || !strings.Contains(tty, "\x1b[36m[SYN]\x1b[0m") {
		t.Errorf("a trace on a terminal lacks coloured marks or flags:\n%s", tty)
	}
	if got := stripANSI(tty); got != plain {
		t.Errorf("colouring changed the text:\n%s\nwant:\n%s", got, plain)
	}
	t.Setenv("NO_COLOR", "1")
	if strings.Contains(trace(), "\x1b[") {
		t.Error("NO_COLOR=1 on a terminal still colours")
	}
	if !strings.Contains(trace("--color=always"), "\x1b[") {
		t.Error("--color=always with NO_COLOR set does not colour")
	}
	if strings.Contains(trace("--color=never"), "\x1b[") {
		t.Error("--color=never colours")
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"trace", capture, "--color=pink"}, strings.NewReader(""), &out, &errb); code != 2 || !strings.Contains(errb.String(), "auto, always or never") {
		t.Errorf("--color=pink: exit %d, %q", code, errb.String())
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
