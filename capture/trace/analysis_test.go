package trace_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stacklab/capture/trace"
	"stacklab/scenarios"
	"stacklab/sim/scenario"
)

// analysisFields are Wireshark's tcp.analysis flags the trace infers,
// by the names its JSON uses.
var analysisFields = []string{
	"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
	"lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window", "zero_window_probe",
	"zero_window_probe_ack", "keep_alive", "keep_alive_ack", "window_update", "window_full",
}

// analysisScenarios are built-in runs whose captures exercise the
// flags: losses, reordering, zero windows, keep-alives.
var analysisScenarios = []string{
	"fast-retransmit", "lossy-transfer", "sack-recovery", "reordering", "zero-window", "keepalive-dead-peer",
}

// TestAnalysisMatchesTshark checks, packet by packet, that the trace's
// TCP analysis flags are tshark's tcp.analysis.* flags (and the
// duplicate-ACK count too) on every reference Linux capture and on each
// vantage point's capture of some built-in scenarios.
func TestAnalysisMatchesTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed; apt-get install -y tshark to cross-check")
	}
	if testing.Short() {
		t.Skip("slow: runs tshark over many captures")
	}
	paths, _ := filepath.Glob("../../testdata/linux/*.pcap")
	if len(paths) == 0 {
		t.Fatal("no capture in testdata/linux")
	}
	for _, name := range analysisScenarios {
		sc, err := scenarios.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		res, err := sc.Run(scenario.RunOptions{OutDir: dir, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Files {
			if strings.HasSuffix(f, ".pcapng") && filepath.Base(f) != "all-hops.pcapng" {
				paths = append(paths, f)
			}
		}
	}
	flagged := map[string]int{}
	for _, path := range paths {
		name := filepath.Base(path)
		if d := filepath.Base(filepath.Dir(path)); strings.HasPrefix(path, os.TempDir()) {
			name = d + "/" + name
		}
		args := []string{"-r", path, "-n", "-o", "tcp.relative_sequence_numbers:TRUE", "-T", "fields", "-e", "frame.number", "-e", "tcp.analysis.duplicate_ack_num"}
		for _, f := range analysisFields {
			args = append(args, "-e", "tcp.analysis."+f)
		}
		out, err := exec.Command(tshark, args...).Output()
		if err != nil {
			t.Fatalf("%s: tshark: %v", name, err)
		}
		var js bytes.Buffer
		if err := trace.TraceFile(path, &js, trace.JSON); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var ours []packetAnalysis
		sc := bufio.NewScanner(&js)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r struct {
				Type   string `json:"type"`
				Layers struct {
					TCP *struct {
						Analysis  []string `json:"analysis"`
						DupAckNum int      `json:"dup_ack_num"`
					} `json:"tcp"`
				} `json:"layers"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if r.Type != "packet" {
				continue
			}
			var pa packetAnalysis
			if r.Layers.TCP != nil {
				pa.flags, pa.dup = r.Layers.TCP.Analysis, r.Layers.TCP.DupAckNum
			}
			ours = append(ours, pa)
		}
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(lines) != len(ours) {
			t.Fatalf("%s: tshark saw %d packets, the trace %d", name, len(lines), len(ours))
		}
		bad := 0
		for i, line := range lines {
			f := strings.Split(line, "\t")
			var want packetAnalysis
			if len(f) > 1 && f[1] != "" {
				want.dup = atoi(f[1])
			}
			for k, field := range analysisFields {
				if 2+k < len(f) && f[2+k] != "" {
					want.flags = append(want.flags, field)
				}
			}
			got := ours[i]
			slices.Sort(got.flags)
			slices.Sort(want.flags)
			for _, fl := range want.flags {
				flagged[fl]++
			}
			if !slices.Equal(got.flags, want.flags) || got.dup != want.dup {
				bad++
				if bad <= 5 {
					t.Errorf("%s frame %d: trace %v (dup #%d), tshark %v (dup #%d)", name, i+1, got.flags, got.dup, want.flags, want.dup)
				}
			}
		}
		if bad > 5 {
			t.Errorf("%s: %d of %d frames differ", name, bad, len(lines))
		}
	}
	// The captures must exercise the flags, or agreeing proves little.
	for _, f := range []string{"retransmission", "fast_retransmission", "out_of_order", "lost_segment",
		"duplicate_ack", "zero_window", "keep_alive", "keep_alive_ack", "window_update", "window_full"} {
		if flagged[f] == 0 {
			t.Errorf("no capture has a frame tshark flags %s", f)
		}
	}
	t.Logf("frames tshark flags, by flag, all agreed on: %v", flagged)
}

type packetAnalysis struct {
	flags []string
	dup   int
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
