package tsharktest

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Expert severities as tshark prints them in _ws.expert.severity
// (epan/proto.h PI_CHAT … PI_ERROR).
const (
	SeverityChat    = 0x00200000
	SeverityNote    = 0x00400000
	SeverityWarning = 0x00600000
	SeverityError   = 0x00800000
)

// Expert is one expert info item tshark attached to a packet.
type Expert struct {
	Severity int    // SeverityChat … SeverityError
	Group    int    // PI_CHECKSUM (0x01000000), PI_SEQUENCE, PI_MALFORMED (0x07000000) …
	Message  string // "Connection reset (RST)"
}

// Packet is what tshark decoded for one packet.
type Packet struct {
	Number    int      // frame.number, from 1
	Interface string   // frame.interface_name ("client:eth0"); empty in pcap files
	Direction string   // frame.packet_flags_direction as printed ("1" in, "2" out), empty if absent
	PacketID  uint64   // frame.packet_id, 0 if absent
	Comments  []string // frame.comment
	Protocols string   // frame.protocols ("eth:ethertype:ip:tcp")
	Src, Dst  string   // ip.src, ip.dst
	TCPFlags  uint16   // tcp.flags, 0 when not TCP
	// TCPFlagsStr is tcp.flags.str with the dots removed: "S", "AS", "AP", "AF", "AR".
	TCPFlagsStr     string
	Retransmission  bool // tcp.analysis.retransmission
	FastRetrans     bool // tcp.analysis.fast_retransmission
	SpuriousRetrans bool // tcp.analysis.spurious_retransmission
	// OutOfOrder is tcp.analysis.out_of_order: Wireshark's name for a
	// segment below the highest sequence number seen that follows the
	// original by less than a round trip, as a RACK retransmission does.
	OutOfOrder bool
	DupACK     bool // tcp.analysis.duplicate_ack
	Malformed  bool // _ws.malformed
	Expert     []Expert
	// ICMPv6ChecksumOK is icmpv6.checksum.status "1" (good) for the
	// outermost ICMPv6 message.
	ICMPv6ChecksumOK bool
}

// HasExpert reports whether p has an expert item at or above severity
// whose message contains substr.
func (p *Packet) HasExpert(severity int, substr string) bool {
	for _, e := range p.Expert {
		if e.Severity >= severity && strings.Contains(e.Message, substr) {
			return true
		}
	}
	return false
}

// fields are the columns tshark prints, in Packet order.
var fields = []string{
	"frame.number", "frame.interface_name", "frame.packet_flags_direction", "frame.packet_id",
	"frame.comment", "frame.protocols", "ip.src", "ip.dst", "tcp.flags", "tcp.flags.str",
	"tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.duplicate_ack",
	"_ws.malformed", "_ws.expert.severity", "_ws.expert.group", "_ws.expert.message",
	"tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order", "icmpv6.checksum.status",
}

// aggregator separates repeated occurrences of a field; it is a control
// character so that it cannot appear in expert messages or comments.
const aggregator = "\x1f"

// Path returns the path of tshark, or "" when it is not installed.
func Path() string {
	p, err := exec.LookPath("tshark")
	if err != nil {
		return ""
	}
	return p
}

// Lint runs tshark over the capture file at path with checksum validation
// on for IPv4, TCP, UDP and ICMP. It fails the test (t.Errorf, once per
// bad packet, then t.FailNow) when tshark cannot read the file, a packet is
// malformed, a checksum is bad, or tshark reports any other expert error.
// It skips the test when tshark is not installed. It returns the decoded
// packets in file order.
func Lint(t testing.TB, path string) []Packet {
	t.Helper()
	pkts, err := Decode(path)
	if err == errNoTshark {
		t.Skip("tshark is not installed; install it (apt-get install -y tshark) to check captures")
	}
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	bad := 0
	for i := range pkts {
		if msg := problem(&pkts[i]); msg != "" {
			bad++
			if bad <= 10 {
				t.Errorf("%s: packet %d: %s", path, pkts[i].Number, msg)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: tshark found %d bad packets", path, bad)
	}
	return pkts
}

// benignOverlap is the error Wireshark's reassembly reports when a
// retransmitted segment carries the same bytes as data it already holds
// for a higher-layer PDU (epan/reassemble.c FD_OVERLAP). Different bytes
// give "Overlapping data conflicts" instead, which Lint rejects.
const benignOverlap = "New fragment overlaps old data (retransmission?)"

// problem says what is wrong with p, or "" if nothing is. A reassembly
// overlap on a packet tshark marks as a retransmission is not a problem:
// it is Wireshark reassembling a higher-layer PDU (HTTP on port 80, say)
// across a retransmission of identical bytes.
func problem(p *Packet) string {
	retrans := p.Retransmission || p.FastRetrans || p.SpuriousRetrans || p.OutOfOrder
	// An ICMPv6 error quotes as much of the packet as fits in 1280 bytes
	// (RFC 4443 §2.4 (c)), so a quoted TCP or UDP payload may be cut;
	// tshark checksums the cut payload as if whole. The ICMPv6 checksum,
	// which covers the quote, is what must be good.
	quoteCut := strings.Contains(p.Protocols, "icmpv6:ipv6:") && p.ICMPv6ChecksumOK
	var errs []string
	for _, e := range p.Expert {
		if e.Severity < SeverityError || (retrans && e.Message == benignOverlap) ||
			quoteCut && strings.HasPrefix(e.Message, "Bad checksum") {
			continue
		}
		errs = append(errs, e.Message)
	}
	switch {
	case len(errs) > 0 && p.Malformed:
		return "malformed: " + strings.Join(errs, "; ")
	case len(errs) > 0:
		return "expert error: " + strings.Join(errs, "; ")
	case p.Malformed && !retrans:
		return "malformed: " + expertMessages(p, 0)
	}
	return ""
}

func expertMessages(p *Packet, min int) string {
	var ms []string
	for _, e := range p.Expert {
		if e.Severity >= min {
			ms = append(ms, e.Message)
		}
	}
	return strings.Join(ms, "; ")
}

var errNoTshark = fmt.Errorf("tshark is not installed")

// Decode runs tshark over path and returns the decoded packets, without
// judging them. It returns an error when tshark is missing or fails.
func Decode(path string) ([]Packet, error) {
	bin := Path()
	if bin == "" {
		return nil, errNoTshark
	}
	args := []string{"-r", path, "-n",
		"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-o", "udp.check_checksum:TRUE",
		"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=" + aggregator, "-E", "separator=/t"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, cleanStderr(stderr.String()))
	}
	if msg := cleanStderr(stderr.String()); msg != "" {
		// tshark reports a truncated or corrupt file on stderr, sometimes
		// with exit status 0.
		return nil, fmt.Errorf("%s", msg)
	}
	return parse(stdout.String())
}

// cleanStderr drops tshark's warning about running as root.
func cleanStderr(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Running as user") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, " ")
}

func parse(out string) ([]Packet, error) {
	var pkts []Packet
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) != len(fields) {
			return nil, fmt.Errorf("tshark printed %d columns, want %d: %q", len(col), len(fields), line)
		}
		var p Packet
		var err error
		if p.Number, err = strconv.Atoi(col[0]); err != nil {
			return nil, fmt.Errorf("frame number %q: %v", col[0], err)
		}
		p.Interface = col[1]
		p.Direction = col[2]
		if col[3] != "" {
			p.PacketID, _ = strconv.ParseUint(col[3], 0, 64)
		}
		if col[4] != "" {
			p.Comments = strings.Split(col[4], aggregator)
		}
		p.Protocols, p.Src, p.Dst = col[5], col[6], col[7]
		if col[8] != "" {
			v, _ := strconv.ParseUint(col[8], 0, 16)
			p.TCPFlags = uint16(v)
		}
		p.TCPFlagsStr = strings.Map(func(r rune) rune {
			if r == '·' || r == '.' {
				return -1
			}
			return r
		}, col[9])
		p.Retransmission = col[10] != ""
		p.FastRetrans = col[11] != ""
		p.DupACK = col[12] != ""
		p.Malformed = col[13] != ""
		if col[14] != "" {
			sev := strings.Split(col[14], aggregator)
			grp := strings.Split(col[15], aggregator)
			msg := strings.Split(col[16], aggregator)
			for i := range sev {
				var e Expert
				e.Severity = parseSeverity(sev[i])
				if i < len(grp) {
					e.Group, _ = strconv.Atoi(grp[i])
				}
				if i < len(msg) {
					e.Message = msg[i]
				}
				p.Expert = append(p.Expert, e)
			}
		}
		p.SpuriousRetrans = col[17] != ""
		p.OutOfOrder = col[18] != ""
		p.ICMPv6ChecksumOK = strings.HasPrefix(col[19], "1")
		pkts = append(pkts, p)
	}
	return pkts, nil
}

// Handshake reports whether the first three TCP packets in pkts are a
// SYN, a SYN-ACK and an ACK, and if not, what they are instead.
func Handshake(pkts []Packet) (ok bool, got string) {
	want := []uint16{0x002, 0x012, 0x010}
	var seen []string
	n := 0
	for i := range pkts {
		if pkts[i].TCPFlagsStr == "" && pkts[i].TCPFlags == 0 {
			continue
		}
		seen = append(seen, fmt.Sprintf("#%d %s", pkts[i].Number, pkts[i].TCPFlagsStr))
		if pkts[i].TCPFlags&0x1ff != want[n] {
			return false, strings.Join(seen, ", ")
		}
		if n++; n == len(want) {
			return true, strings.Join(seen, ", ")
		}
	}
	return false, strings.Join(seen, ", ")
}

// Warnings lists tshark's expert warnings and errors, one string per
// item ("#12 Connection reset (RST)"), except those whose message contains
// one of allow (a reset or a retransmission the scenario caused on
// purpose). DESIGN.md asks for no warnings a scenario did not cause.
func Warnings(pkts []Packet, allow ...string) []string {
	var out []string
	for i := range pkts {
	items:
		for _, e := range pkts[i].Expert {
			if e.Severity < SeverityWarning {
				continue
			}
			for _, a := range allow {
				if strings.Contains(e.Message, a) {
					continue items
				}
			}
			out = append(out, fmt.Sprintf("#%d %s", pkts[i].Number, e.Message))
		}
	}
	return out
}

// parseSeverity reads _ws.expert.severity as tshark prints it: a number
// (tshark 4.0) or, in some versions, its name.
func parseSeverity(s string) int {
	if v, err := strconv.ParseInt(s, 0, 64); err == nil {
		return int(v)
	}
	switch strings.ToLower(s) {
	case "":
		return 0
	case "chat":
		return SeverityChat
	case "note":
		return SeverityNote
	case "warning", "warn":
		return SeverityWarning
	case "error":
		return SeverityError
	}
	// Unknown: treat as an error so that Lint looks at it.
	return SeverityError
}
