package trace

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"stacklab/stack/wire"
)

// TestRelativeSeqMatchesTshark checks, packet by packet, that the
// relative sequence and acknowledgment numbers, payload lengths and TCP
// flags agree with Wireshark's dissector on every reference capture.
func TestRelativeSeqMatchesTshark(t *testing.T) {
	t.Parallel()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed; apt-get install -y tshark to cross-check")
	}
	if testing.Short() {
		t.Skip("slow: runs tshark over every reference capture")
	}
	for _, path := range linuxCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			sums, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(tshark, "-r", path, "-n", "-T", "fields",
				"-e", "frame.number", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len", "-e", "tcp.flags").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != len(sums) {
				t.Fatalf("tshark saw %d packets, ReadFile %d", len(lines), len(sums))
			}
			bad := 0
			for i, line := range lines {
				f := strings.Split(line, "\t")
				if len(f) < 5 || f[1] == "" {
					if sums[i].Proto == "tcp" {
						t.Errorf("packet %d: tshark sees no TCP, we do", i+1)
					}
					continue
				}
				s := &sums[i]
				seq, _ := strconv.ParseUint(f[1], 10, 32)
				ack, _ := strconv.ParseUint(f[2], 10, 32)
				n, _ := strconv.Atoi(f[3])
				flags, _ := strconv.ParseUint(f[4], 0, 16)
				wantFlags := wire.TCPFlags(flags).String()
				if s.Proto != "tcp" || uint64(s.Seq) != seq || (s.HasAck && uint64(s.Ack) != ack) || s.Len != n || s.Flags != wantFlags {
					bad++
					if bad < 5 {
						t.Errorf("packet %d: got %s; tshark: seq %d ack %d len %d flags %s", i+1, s, seq, ack, n, wantFlags)
					}
				}
			}
		})
	}
}
