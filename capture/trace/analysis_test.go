package trace_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
	simFile := map[string]bool{}
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
				simFile[f] = true
			}
		}
	}
	flagged := map[string]int{}
	rtts, tsharkRTTs := 0, 0
	for _, path := range paths {
		name := filepath.Base(path)
		if d := filepath.Base(filepath.Dir(path)); strings.HasPrefix(path, os.TempDir()) {
			name = d + "/" + name
		}
		args := []string{"-r", path, "-n", "-o", "tcp.relative_sequence_numbers:TRUE", "-T", "fields", "-e", "frame.number", "-e", "tcp.analysis.duplicate_ack_num",
			"-e", "tcp.analysis.acks_frame", "-e", "tcp.analysis.ack_rtt"}
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
						AckRTT    *float64 `json:"ack_rtt_us"`
						Acks      uint64   `json:"acks"`
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
				if r.Layers.TCP.AckRTT != nil {
					pa.rtt, pa.acks = *r.Layers.TCP.AckRTT, r.Layers.TCP.Acks
				}
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
			if len(f) > 3 && f[3] != "" {
				want.acks = uint64(atoi(f[2]))
				sec, err := strconv.ParseFloat(f[3], 64)
				if err != nil {
					t.Fatalf("%s frame %d: tshark ack_rtt %q: %v", name, i+1, f[3], err)
				}
				want.rtt = sec * 1e6
			}
			for k, field := range analysisFields {
				if 4+k < len(f) && f[4+k] != "" {
					want.flags = append(want.flags, field)
				}
			}
			got := ours[i]
			slices.Sort(got.flags)
			slices.Sort(want.flags)
			for _, fl := range want.flags {
				flagged[fl]++
			}
			if want.acks != 0 {
				tsharkRTTs++
			}
			// The RTT of an ACK: in a capture of one place, every one of
			// tshark's, the same segment, within a microsecond. A stacklab
			// vantage point's file is traced as the simulation's trace is:
			// an RTT only where an ACK reaches the data's sender (tshark
			// also times the receiver's own ACK delay there), and ids are
			// packet ids, not frame numbers.
			rttOK := true
			switch {
			case !simFile[path]:
				rttOK = got.acks == want.acks && math.Abs(got.rtt-want.rtt) <= 1
			case got.acks != 0:
				rttOK = want.acks != 0 && math.Abs(got.rtt-want.rtt) <= 1
			}
			if got.acks != 0 && rttOK {
				rtts++
			}
			if !slices.Equal(got.flags, want.flags) || got.dup != want.dup || !rttOK {
				bad++
				if bad <= 5 {
					t.Errorf("%s frame %d: trace %v (dup #%d, acks #%d after %.3f µs), tshark %v (dup #%d, acks #%d after %.3f µs)",
						name, i+1, got.flags, got.dup, got.acks, got.rtt, want.flags, want.dup, want.acks, want.rtt)
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
	if rtts < tsharkRTTs/4 {
		t.Errorf("the trace timed %d ACKs, tshark %d", rtts, tsharkRTTs)
	}
	t.Logf("frames tshark flags, by flag, all agreed on: %v; ACK RTTs agreed on: %d (tshark timed %d)", flagged, rtts, tsharkRTTs)
}

type packetAnalysis struct {
	flags []string
	dup   int
	acks  uint64  // the segment an ACK acknowledges (tcp.analysis.acks_frame)
	rtt   float64 // and its RTT, µs (tcp.analysis.ack_rtt)
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
