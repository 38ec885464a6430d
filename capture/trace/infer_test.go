package trace_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stacklab/capture/trace"
	"stacklab/capture/tsharktest"
	"stacklab/scenarios"
	"stacklab/sim/scenario"
)

// stateEvent is a state event of a JSON trace.
type stateEvent struct {
	Type, Kind, Host, Local, Remote, From, To, Detail string
}

func stateEvents(t *testing.T, js []byte) []stateEvent {
	t.Helper()
	var out []stateEvent
	sc := bufio.NewScanner(bytes.NewReader(js))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e stateEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "event" && e.Kind == "state" && e.Remote != "" {
			out = append(out, e)
		}
	}
	return out
}

// TestInferredStates checks the TCP states inferred from a capture
// against the states the stack went through: each built-in connection
// scenario is run, its client's capture is traced as a foreign capture
// (tcpdump's view, nothing but packets), and for each end of each
// connection the inferred states must be the stack's own, in order
// (less the timer's TIME_WAIT → CLOSED, which no packet shows). Left
// out as no capture can show them: crash-restart (the crash loses the
// server's connection silently; the restarted server's RST reads as an
// abort) and keepalive-dead-peer (the RST that ends the connection is
// never sent: the peer's address no longer resolves).
func TestInferredStates(t *testing.T) {
	for _, name := range []string{"handshake", "refused", "half-close", "time-wait", "simultaneous-close", "simultaneous-open", "abort-linger", "http-keepalive", "nonblocking", "lossy-transfer", "challenge-ack", "mutual-zero-window"} {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var js bytes.Buffer
			res, err := sc.Run(scenario.RunOptions{OutDir: dir, Trace: &js, Format: "json", Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			var capture string
			for _, f := range res.Files {
				if strings.HasPrefix(filepath.Base(f), "client") && strings.HasSuffix(f, ".pcapng") {
					capture = f
				}
			}
			if capture == "" {
				t.Fatalf("no client capture in %v", res.Files)
			}
			var inf bytes.Buffer
			if err := trace.Read(bytes.NewReader(tsharktest.Foreign(t, capture)), &inf, trace.ReadOptions{Options: trace.Options{Format: trace.JSON}}); err != nil {
				t.Fatal(err)
			}
			type end struct{ local, remote string }
			truth, inferred := map[end][]string{}, map[end][]string{}
			for _, e := range stateEvents(t, js.Bytes()) {
				if e.From == "TIME_WAIT" && e.To == "CLOSED" {
					continue
				}
				truth[end{e.Local, e.Remote}] = append(truth[end{e.Local, e.Remote}], e.To)
			}
			n := 0
			for _, e := range stateEvents(t, inf.Bytes()) {
				if e.Detail != "inferred" || e.Host != strings.Split(strings.TrimPrefix(e.Local, "["), ":")[0] {
					t.Errorf("inferred event %+v: want detail \"inferred\" and the local address for host", e)
				}
				n++
				if e.From == "TIME_WAIT" && e.To == "CLOSED" {
					continue // a RST in TIME_WAIT: the stack does not report it
				}
				inferred[end{e.Local, e.Remote}] = append(inferred[end{e.Local, e.Remote}], e.To)
			}
			if n == 0 {
				t.Fatal("no state inferred")
			}
			for k, want := range truth {
				if got := inferred[k]; !slices.Equal(got, want) {
					t.Errorf("%s → %s: inferred %v, the stack went through %v", k.local, k.remote, got, want)
				}
			}
			for k := range inferred {
				if _, ok := truth[k]; !ok {
					t.Errorf("%s → %s: states inferred for an end the stack never had", k.local, k.remote)
				}
			}
		})
	}
}
