package view_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"stacklab/capture/trace"
	"stacklab/capture/view"
	"stacklab/scenarios"
	"stacklab/sim/scenario"
)

type hopRec struct {
	ID     uint64 `json:"id"`
	Dir    string `json:"dir"`
	Layers struct {
		TCP *struct {
			Flags string `json:"flags"`
		} `json:"tcp"`
	} `json:"layers"`
}

// recOf decodes record k of the model.
func recOf(t *testing.T, m *view.Model, k int) hopRec {
	t.Helper()
	var r hopRec
	if err := json.Unmarshal(m.Recs[k], &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestHopRTT checks that the page carries the trace's RTT per ACK: on a
// foreign capture every ACK the trace timed, on a simulated run the ACKs
// where they reach the data's sender, each at least the path's
// round-trip delay (fast-retransmit's link: 10 ms each way).
func TestHopRTT(t *testing.T) {
	p := "../../testdata/linux/linux-bulk.pcap"
	var js bytes.Buffer
	if err := trace.TraceFile(p, &js, trace.JSON); err != nil {
		t.Fatal(err)
	}
	want := strings.Count(js.String(), `"ack_rtt_us":`)
	m, err := view.FromCaptures("bulk", []string{p})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, h := range m.Hops {
		if h.RTT >= 0 {
			got++
			if h.Acks == 0 || h.Acks >= recOf(t, m, h.Out).ID {
				t.Errorf("hop %d (#%d) acknowledges #%d", got, recOf(t, m, h.Out).ID, h.Acks)
			}
		}
	}
	if want == 0 || got != want {
		t.Errorf("%d hops carry an RTT; the trace timed %d ACKs", got, want)
	}

	sc, err := scenarios.Load("fast-retransmit")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := sc.Run(scenario.RunOptions{OutDir: dir, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	files, err := view.Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err = view.FromCaptures("fast-retransmit", files)
	if err != nil {
		t.Fatal(err)
	}
	got = 0
	for _, h := range m.Hops {
		if h.RTT < 0 {
			continue
		}
		got++
		in, out := recOf(t, m, h.In), recOf(t, m, h.Out)
		if in.Dir != "in" || out.Layers.TCP == nil || !strings.Contains(out.Layers.TCP.Flags, ".") {
			t.Errorf("#%d: an RTT on a hop that is not an ACK received: %+v", in.ID, out)
		}
		if h.RTT < 20000 || h.RTT > 5e6 {
			t.Errorf("#%d: RTT %.3f µs, the path's round trip is 20 ms", in.ID, h.RTT)
		}
	}
	if got < 10 {
		t.Errorf("only %d ACKs carry an RTT in fast-retransmit", got)
	}
}
