package view_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"stacklab/capture/tsharktest"
	"stacklab/capture/view"
	"stacklab/scenarios"
	"stacklab/sim/scenario"
)

// TestForeignMarksAndStates opens foreign captures (the client's view of
// fast-retransmit, zero-window and dsack-undo, as tcpdump would have
// saved them; reordering's duplicate ACKs each offer a larger window, as
// Linux's do, so tshark flags none of them and it proves nothing) as
// `stacklab view FILE` does: each arrow's marks must be tshark's
// tcp.analysis flags for that frame, and the lifelines must carry the
// TCP states inferred from the packets, a handshake on both.
func TestForeignMarksAndStates(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed; apt-get install -y tshark to cross-check")
	}
	for _, name := range []string{"fast-retransmit", "zero-window", "dsack-undo"} {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			res, err := sc.Run(scenario.RunOptions{OutDir: dir, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			var src string
			for _, f := range res.Files {
				if strings.HasPrefix(filepath.Base(f), "client") && strings.HasSuffix(f, ".pcapng") {
					src = f
				}
			}
			pcap := filepath.Join(dir, "foreign.pcap")
			if err := os.WriteFile(pcap, tsharktest.Foreign(t, src), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := view.FromCaptures(name, []string{pcap})
			if err != nil {
				t.Fatal(err)
			}
			fields := []string{"retransmission", "duplicate_ack", "zero_window", "out_of_order", "keep_alive"}
			letters := "RDZOK"
			args := []string{"-r", pcap, "-n", "-T", "fields"}
			for _, f := range fields {
				args = append(args, "-e", "tcp.analysis."+f)
			}
			out, err := exec.Command(tshark, args...).Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			if len(lines) != len(m.Hops) {
				t.Fatalf("tshark saw %d frames, the page has %d arrows", len(lines), len(m.Hops))
			}
			marked := 0
			for i, line := range lines {
				var want string
				for k, v := range strings.Split(line, "\t") {
					if v != "" && k < len(letters) {
						want += letters[k : k+1]
					}
				}
				got := m.Hops[i].Marks
				for _, c := range want {
					if !strings.ContainsRune(got, c) {
						t.Errorf("frame %d: marks %q, tshark flags %q", i+1, got, want)
					}
				}
				for _, c := range got {
					if !strings.ContainsRune(want, c) {
						t.Errorf("frame %d: marks %q, tshark flags %q", i+1, got, want)
					}
				}
				if want != "" {
					marked++
				}
			}
			if marked == 0 {
				t.Error("no frame marked: the capture proves nothing")
			}
			states := map[string][]string{}
			for _, n := range m.Notes {
				if n.Kind == "state" {
					states[m.Hosts[n.Col]] = append(states[m.Hosts[n.Col]], n.Text)
				}
			}
			if len(states) != 2 {
				t.Fatalf("inferred states on %d lifelines, want 2: %v", len(states), states)
			}
			for h, s := range states {
				if !strings.Contains(strings.Join(s, ";"), "→ ESTABLISHED") {
					t.Errorf("%s's lifeline: states %v, no ESTABLISHED", h, s)
				}
			}
		})
	}
}
