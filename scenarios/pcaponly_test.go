package scenarios

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"stacklab/capture/tsharktest"
	"stacklab/sim/scenario"
)

// TestPcapOnlySameCaptures runs built-in scenarios twice, with the trace
// and with the pcapng files alone (stacklab run --capture pcap), and
// checks that the files are byte for byte the same: with the trace the
// capture writes beside the stacks, on a second goroutine, from batches
// of copied frames; with the files alone it writes on the stacks'
// goroutine, straight from the frames lent. tshark finds nothing wrong
// in either (TestBuiltins lints the first).
func TestPcapOnlySameCaptures(t *testing.T) {
	for _, name := range []string{"handshake", "lossy-transfer", "sack-recovery", "ipv6-handshake",
		"ipv6-fragments", "dual-stack", "fragmentation", "heartbeat-nat", "firewall-idle-timeout",
		"switch-tree", "ttl-exceeded", "ecn-codel", "reordering", "syn-flood"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, _, traced := run(t, name)
			sc, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			alone := t.TempDir()
			res2, err := sc.Run(scenario.RunOptions{OutDir: alone, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if len(res2.Files) != len(res.Files) {
				t.Fatalf("%d files alone, %d with the trace", len(res2.Files), len(res.Files))
			}
			for _, f := range res.Files {
				rel, err := filepath.Rel(traced, f)
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(alone, rel))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes written alone, %d with the trace, not the same", rel, len(got), len(want))
				}
				tsharktest.Lint(t, filepath.Join(alone, rel))
			}
		})
	}
}
