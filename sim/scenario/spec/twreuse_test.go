package spec

import (
	"strings"
	"testing"

	"stacklab/stack/tcp"
)

// TestTCPTimeWaitReuseKey: tcp: {tw_reuse: N} sets Linux's tcp_tw_reuse
// (0 never, 1 always, 2 loopback only, the default), and a value out of
// range is an error at its place.
func TestTCPTimeWaitReuseKey(t *testing.T) {
	src := func(n string) string {
		return "name: t\nhosts:\n  a: {addr: 10.0.0.1/24, tcp: {tw_reuse: " + n + "}}\n  b: {addr: 10.0.0.2/24}\nlinks:\n  - {ends: [a, b]}\n"
	}
	for n, want := range map[string]tcp.TimeWaitReuse{
		"0": tcp.TimeWaitReuseOff, "1": tcp.TimeWaitReuseOn, "2": tcp.TimeWaitReuseLoopback,
	} {
		sc, err := Load("t.yaml", []byte(src(n)))
		if err != nil {
			t.Fatalf("tw_reuse %s: %v", n, err)
		}
		if got := sc.Hosts[0].TCP.TimeWaitReuse; got != want {
			t.Errorf("tw_reuse %s: %d, want %d", n, got, want)
		}
	}
	_, err := Load("t.yaml", []byte(src("3")))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:3:") {
		t.Errorf("tw_reuse 3: %v, want an error at t.yaml:3", err)
	}
}
