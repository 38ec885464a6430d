package view

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stacklab/capture/trace"
)

// TestForeignCapture builds pages of the Linux reference captures: one
// arrow per frame, labels as Wireshark's Flow Graph writes them, and a
// page with no reference to anything outside it.
func TestForeignCapture(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/linux/*.pcap")
	if len(paths) == 0 {
		t.Fatal("no capture in testdata/linux")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			sums, err := trace.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			m, err := FromCaptures(filepath.Base(p), []string{p})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Hops) != len(sums) {
				t.Errorf("%d arrows for %d frames", len(m.Hops), len(sums))
			}
			for i, h := range m.Hops {
				if h.Y1 < 0 || h.Y2 < h.Y1 || (i > 0 && h.Y1 < m.Hops[i-1].Y1+RowH) {
					t.Fatalf("arrow %d at %v–%v, the one before at %v: rows must be %v apart and in order", i, h.Y1, h.Y2, m.Hops[i-1].Y1, RowH)
				}
			}
			var buf bytes.Buffer
			if err := m.WriteHTML(&buf); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			for _, bad := range []string{"https://", "src=", "<link", "@import", "fetch(", "XMLHttpRequest"} {
				if strings.Contains(page, bad) {
					t.Errorf("the page refers to something outside it: %q", bad)
				}
			}
			if strings.Count(page, "</script>") != 3+(len(m.Recs)+RecChunk-1)/RecChunk {
				t.Errorf("the data closes its script element early")
			}
		})
	}
}

func TestFlowGraphLabel(t *testing.T) {
	data, err := os.ReadFile("../../testdata/linux/linux-http-get.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := trace.Read(bytes.NewReader(data), &js, trace.ReadOptions{Options: trace.Options{Format: trace.JSON}}); err != nil {
		t.Fatal(err)
	}
	m, err := Build(Input{Title: "t", Trace: js.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	var syn, synack string
	for _, h := range m.Hops {
		switch {
		case syn == "" && strings.Contains(h.Label, "[SYN]"):
			syn = h.Label
		case synack == "" && strings.Contains(h.Label, "[SYN, ACK]"):
			synack = h.Label
		}
	}
	for _, want := range []string{"[SYN]", "Seq=0", "Win=", "Len=0", "MSS=1460", "SACK_PERM", "WS="} {
		if !strings.Contains(syn, want) {
			t.Errorf("SYN label %q lacks %q", syn, want)
		}
	}
	if !strings.Contains(synack, "Seq=0 Ack=1") {
		t.Errorf("SYN-ACK label %q", synack)
	}
}
