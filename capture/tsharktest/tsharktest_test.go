package tsharktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const captures = "../../testdata/linux"

func TestLintLinuxCaptures(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"linux-refused.pcap", "linux-http-get.pcap", "linux-ping.pcap", "linux-udp.pcap", "linux-ipv6.pcap"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(captures, name)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("reference capture missing (testdata/linux belongs to the repository): %v", err)
			}
			pkts := Lint(t, path)
			if len(pkts) == 0 {
				t.Fatal("no packets decoded")
			}
			switch name {
			case "linux-http-get.pcap":
				if ok, got := Handshake(pkts); !ok {
					t.Errorf("handshake not SYN, SYN-ACK, ACK: %s", got)
				}
			case "linux-refused.pcap":
				if len(pkts) != 2 || pkts[0].TCPFlagsStr != "S" || pkts[1].TCPFlagsStr != "AR" ||
					!pkts[1].HasExpert(SeverityWarning, "Connection reset") {
					t.Errorf("refused: got %+v", pkts)
				}
			}
		})
	}
}

// synIP is a TCP SYN 10.0.0.1:49152 → 10.0.0.2:80 as a raw IPv4 packet
// with correct checksums.
var synIP = []byte{
	0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x26, 0xcd,
	0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
	0xc0, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00,
	0x50, 0x02, 0xfa, 0xf0, 0xe0, 0x3a, 0x00, 0x00,
}

func writePcap(t *testing.T, frames ...[]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestProblems(t *testing.T) {
	t.Parallel()
	if Path() == "" {
		t.Skip("tshark is not installed")
	}
	badTCP := append([]byte(nil), synIP...)
	badTCP[36] ^= 0xff // TCP checksum
	badIP := append([]byte(nil), synIP...)
	badIP[10] ^= 0xff // IPv4 header checksum
	short := synIP[:30]
	tests := []struct {
		name  string
		frame []byte
		want  string // substring of the problem, "" for none
	}{
		{"good", synIP, ""},
		{"bad tcp checksum", badTCP, "checksum"},
		{"bad ip checksum", badIP, "checksum"},
		{"truncated", short, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pkts, err := Decode(writePcap(t, tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			if len(pkts) != 1 {
				t.Fatalf("%d packets, want 1", len(pkts))
			}
			got := problem(&pkts[0])
			if tt.want == "" && got != "" || !strings.Contains(strings.ToLower(got), tt.want) {
				t.Errorf("problem = %q, want one mentioning %q (expert %+v)", got, tt.want, pkts[0].Expert)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	if Path() == "" {
		t.Skip("tshark is not installed")
	}
	if _, err := Decode(filepath.Join(t.TempDir(), "missing.pcap")); err == nil {
		t.Error("Decode of a missing file succeeded")
	}
	path := writePcap(t, synIP, synIP)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, b[:len(b)-10], 0o644)
	if _, err := Decode(path); err == nil {
		t.Error("Decode of a truncated file succeeded")
	}
}

func TestHandshake(t *testing.T) {
	p := func(f uint16) Packet { return Packet{TCPFlags: f, TCPFlagsStr: "x"} }
	if ok, got := Handshake([]Packet{p(0x02), {}, p(0x12), p(0x10), p(0x18)}); !ok {
		t.Errorf("SYN, SYN-ACK, ACK rejected: %s", got)
	}
	if ok, _ := Handshake([]Packet{p(0x02), p(0x14)}); ok {
		t.Error("SYN, RST-ACK accepted")
	}
	if ok, _ := Handshake([]Packet{p(0x02), p(0x12)}); ok {
		t.Error("two packets accepted")
	}
}

func TestProblemOverlap(t *testing.T) {
	overlap := Expert{Severity: SeverityError, Group: 0x07000000, Message: benignOverlap}
	conflict := Expert{Severity: SeverityError, Group: 0x07000000, Message: "Overlapping data conflicts"}
	note := Expert{Severity: SeverityNote, Message: "This frame is a (suspected) retransmission"}
	tests := []struct {
		p    Packet
		want bool // a problem
	}{
		{Packet{Malformed: true, Retransmission: true, Expert: []Expert{note, overlap}}, false},
		{Packet{Malformed: true, Expert: []Expert{overlap}}, true},
		{Packet{Malformed: true, Retransmission: true, Expert: []Expert{note, conflict}}, true},
		{Packet{Expert: []Expert{note}}, false},
	}
	for i, tt := range tests {
		if got := problem(&tt.p) != ""; got != tt.want {
			t.Errorf("case %d: problem %q, want a problem: %v", i, problem(&tt.p), tt.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	pkts := []Packet{
		{Number: 1, Expert: []Expert{{Severity: SeverityChat, Message: "Connection establish request (SYN)"}}},
		{Number: 2, Expert: []Expert{{Severity: SeverityWarning, Message: "Connection reset (RST)"}}},
		{Number: 3, Expert: []Expert{{Severity: SeverityWarning, Message: "This frame is a (suspected) out-of-order segment"}}},
	}
	if got := Warnings(pkts); len(got) != 2 || got[0] != "#2 Connection reset (RST)" {
		t.Errorf("Warnings = %q", got)
	}
	if got := Warnings(pkts, "Connection reset", "out-of-order"); len(got) != 0 {
		t.Errorf("Warnings with both allowed = %q", got)
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]int{"2097152": SeverityChat, "0x00600000": SeverityWarning,
		"Note": SeverityNote, "Warning": SeverityWarning, "Error": SeverityError, "???": SeverityError} {
		if got := parseSeverity(in); got != want {
			t.Errorf("parseSeverity(%q) = %#x, want %#x", in, got, want)
		}
	}
}
