package tunapp

import (
	"strings"
	"testing"
	"time"
)

// TestIPOptionsOverTUN: ping -R and ping -T from the kernel get the same
// record route and timestamps back from the stack as from a Linux host
// (checked between two network namespaces on Linux 6.18): the request's
// option filled in on arrival, copied into the reply with one more entry
// for the reply's source, filled in once more by the kernel on its return
// — RR: kernel, stack, stack, kernel; the timestamp option with addresses
// the same four, and four times without.
func TestIPOptionsOverTUN(t *testing.T) {
	e := newEnv(t, Options{})
	want := []string{kernelIP, stackIP, stackIP, kernelIP}
	out := string(e.exec(t, 20*time.Second, nil, "ping", "-c", "1", "-W", "2", "-R", stackIP))
	if got := optionLines(out, "RR:"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ping -R: record route %q, want %q\n%s", got, want, out)
	}
	out = string(e.exec(t, 20*time.Second, nil, "ping", "-c", "1", "-W", "2", "-T", "tsandaddr", stackIP))
	got := optionLines(out, "TS:")
	var addrs []string
	for _, l := range got {
		addrs = append(addrs, strings.Fields(l)[0])
	}
	if strings.Join(addrs, " ") != strings.Join(want, " ") {
		t.Errorf("ping -T tsandaddr: addresses %q, want %q\n%s", addrs, want, out)
	}
	out = string(e.exec(t, 20*time.Second, nil, "ping", "-c", "1", "-W", "2", "-T", "tsonly", stackIP))
	if got := optionLines(out, "TS:"); len(got) != 4 || !strings.HasSuffix(got[0], "absolute") {
		t.Errorf("ping -T tsonly: %d timestamps %q, want 4, the first absolute\n%s", len(got), got, out)
	}
}

// optionLines returns the entries ping prints after label ("RR:" or
// "TS:"): the rest of that line and each following indented line.
func optionLines(out, label string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, label):
			in = true
			lines = append(lines, strings.TrimSpace(strings.TrimPrefix(l, label)))
		case in && strings.HasPrefix(l, "\t"):
			lines = append(lines, strings.TrimSpace(l))
		default:
			in = false
		}
	}
	return lines
}
