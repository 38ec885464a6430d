package pkt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestParseRepoScripts parses every script in testdata/pkt.
func TestParseRepoScripts(t *testing.T) {
	files, err := filepath.Glob("../testdata/pkt/*/*.pkt")
	if err != nil || len(files) < 40 {
		t.Fatalf("want at least 40 scripts, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(f, string(src))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		// TCP scripts start with a sysctl line; it must be read as the
		// init command (UDP ones have none).
		if strings.HasPrefix(strings.TrimSpace(strings.SplitN(string(src), "\n", 2)[1]), "`") && (s.Init == nil || !strings.Contains(s.Init.Text, "tcp_rmem")) {
			t.Errorf("%s: init command not read: %+v", f, s.Init)
		}
		if len(s.Events) < 3 {
			t.Errorf("%s: only %d events", f, len(s.Events))
		}
	}
}

func TestParseEvent(t *testing.T) {
	src := "--tolerance_usecs=10000\n" +
		"`sysctl -q net.ipv4.tcp_sack=1`\n" +
		"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" +
		"+0...0.25 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = -1 ECONNREFUSED (Connection refused)\n" +
		"+.1 > [ect0] S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n" +
		"1.5~2 < P. 1:1001(1000) ack 1 win 257 <nop,nop,sack 1:2 3:4>\n" +
		"* > . 1:1(0) ack 1 <...>\n" +
		"+0 poll([{fd=3, events=POLLIN|POLLOUT, revents=0}], 1, 0) = 0\n" +
		"+0 write(3, \"abc\"..., 3) = 3\n" +
		"+0 %{ assert tcpi_snd_cwnd == 10 }%\n" +
		"+0 < udp (100)\n" +
		"+0 > icmp unreachable port_unreachable\n" +
		"`echo done`\n"
	s, err := Parse("t.pkt", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Options) != 1 || s.Options[0].Name != "tolerance_usecs" || s.Options[0].Value != "10000" {
		t.Errorf("options %+v", s.Options)
	}
	if s.Cleanup == nil || s.Cleanup.Text != "echo done" {
		t.Errorf("cleanup %+v", s.Cleanup)
	}
	if len(s.Events) != 10 {
		t.Fatalf("%d events", len(s.Events))
	}
	c := s.Events[1]
	if !c.Time.Blocking || c.Time.End != 250*time.Millisecond || c.Call.Errno != "ECONNREFUSED" || c.Call.Note != "Connection refused" || c.Call.Result.Int != -1 {
		t.Errorf("connect %+v %+v", c.Time, c.Call)
	}
	sa := c.Call.Args[1]
	if sa.Kind != ExprStruct || len(sa.List) != 3 || sa.List[1].Word != "sin_port" || sa.List[1].List[0].Kind != ExprCall || sa.List[1].List[0].List[0].Int != 8080 {
		t.Errorf("sockaddr %+v", sa)
	}
	pk := s.Events[2].Packet
	if pk.In || pk.ECN != "ect0" || pk.Flags != "S" || !pk.AckFlag || pk.Ack != 1 || pk.Win != 65535 || len(pk.Options) != 5 || pk.Options[2].Kind != "TS" || pk.Options[2].TSVal != 100 || pk.Options[4].Value != 7 {
		t.Errorf("syn-ack %+v", pk)
	}
	if s.Events[2].Time != (Time{Kind: TimeRelative, Start: 100 * time.Millisecond}) {
		t.Errorf("time %+v", s.Events[2].Time)
	}
	r := s.Events[3]
	if r.Time.Kind != TimeRange || r.Time.Start != 1500*time.Millisecond || r.Time.Max != 2*time.Second || !r.Packet.In || r.Packet.Len != 1000 || len(r.Packet.Options[2].Blocks) != 2 {
		t.Errorf("range packet %+v %+v", r.Time, r.Packet)
	}
	if s.Events[4].Time.Kind != TimeAny || !s.Events[4].Packet.AnyOptions {
		t.Errorf("any %+v", s.Events[4])
	}
	poll := s.Events[5].Call.Args[0].List[0].List[1].List[0]
	if poll.Kind != ExprOr || len(poll.List) != 2 || poll.List[1].Word != "POLLOUT" {
		t.Errorf("pollfd events %+v", poll)
	}
	if w := s.Events[6].Call.Args[1]; w.Kind != ExprString || !w.Ellipsis || w.Word != "abc" {
		t.Errorf("string... %+v", w)
	}
	if s.Events[7].Code == nil || s.Events[7].Code.Text != "assert tcpi_snd_cwnd == 10" {
		t.Errorf("code %+v", s.Events[7])
	}
	if s.Events[8].Packet.Proto != "udp" || s.Events[8].Packet.UDPLen != 100 {
		t.Errorf("udp %+v", s.Events[8].Packet)
	}
	if p := s.Events[9].Packet; p.Proto != "icmp" || p.ICMPType != "unreachable" || p.ICMPCode != "port_unreachable" {
		t.Errorf("icmp %+v", p)
	}
}

// TestParseFlowLabel checks packetdrill's IPv6 flow label, alone and
// after an ECN mark, in either bracket.
func TestParseFlowLabel(t *testing.T) {
	s, err := Parse("t.pkt", "0 < (flowlabel 0x1) P. 1:11(10) ack 1\n"+
		"+0 > [ect0, flowlabel 0xfffff] . 1:1(0) ack 11\n"+
		"+0 < udp (10)\n"+
		"+0 > (flowlabel 0) udp (10)\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ecn  string
		flow uint32
		has  bool
	}{{"", 1, true}, {"ect0", 0xfffff, true}, {"", 0, false}, {"", 0, true}}
	for i, w := range want {
		p := s.Events[i].Packet
		if p.ECN != w.ecn || p.FlowLabel != w.flow || p.HasFlowLabel != w.has {
			t.Errorf("packet %d: ECN %q flow label %#x (%v), want %q %#x (%v)", i, p.ECN, p.FlowLabel, p.HasFlowLabel, w.ecn, w.flow, w.has)
		}
	}
}

// TestParseErrors checks that each malformed script is refused with the
// place and a message that says what to write instead.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "x.pkt:1:1: the script has no events"},
		{"0 socket(", "x.pkt:1:10: expected an expression"},
		{"0 > S 0:0(1)", "x.pkt:1:11: payload length 1 does not match 0:0"},
		{"0 > S 0:10(10) <mss 1460,bogus 3>", "x.pkt:1:26: unknown TCP option \"bogus\""},
		{"0 > Q 0:0(0)", "x.pkt:1:5: unknown TCP flag 'Q'"},
		{"0 > S 0 0(0)", "x.pkt:1:9: expected \":\" between the start and end"},
		{"+0 < . 1:1(0) win 70000", "x.pkt:1:19: window 70000 is more than 65535"},
		{"\n\n  +0 close(3) = 0 (unterminated", "x.pkt:3:19: unterminated note"},
		{"0 close(3) = 0\n+0 `ls", "x.pkt:2:4: unterminated shell command"},
		{"0 %{ x", "x.pkt:1:3: unterminated code block"},
		{"0 write(3, \"abc, 3) = 3", "x.pkt:1:12: unterminated string"},
		{"0 close(3) = 0 +0 close(4) = 0", "x.pkt:1:16: unexpected \"+\": each event starts on a new line"},
		{"0 < S 0:0(0) <TS val 1>", "x.pkt:1:23: expected \"ecr\""},
		{"abc", "x.pkt:1:1: expected an event time"},
		{"0...1 < S 0:0(0)", "x.pkt:1:7: only a system call can block"},
		{"0 close(3) = 0\n+1~+0.5 close(3) = 0", "x.pkt:2:1: time range ends before it starts"},
		{"0 < S 0:0(0) <sack>", "x.pkt:1:15: sack takes 1 to 4 blocks"},
		{"0 > S 0:0(0) <sack 1:2 3:4 5:6 7:8,sack 1:2>", "x.pkt:1:14: TCP options take 44 bytes"},
		{"0 close(3) = 0\n`a`\n+0 close(3) = 0", "x.pkt:2:1: a shell command needs a time"},
		{"0 x(" + strings.Repeat("[", 100), "expression nested more than 64 deep"},
		{"0 close(99999999999999999999) = 0", "x.pkt:1:9: number 99999999999999999999 is out of range"},
		{"0 close(3) = 0 #", "x.pkt:1:16: unexpected character '#'"},
		{"0 < (tos 0x1) . 1:1(0) ack 1", "x.pkt:1:6: expected an ECN mark (noecn, ect0, ect1, ce, ect01) or flowlabel 0xN"},
		{"0 < (flowlabel 0x100000) . 1:1(0) ack 1", "x.pkt:1:16: flow label 0x100000 does not fit in 20 bits"},
		{"0 < (ect0, ttl 3) . 1:1(0) ack 1", "x.pkt:1:12: expected flowlabel after the ECN mark and comma"},
		{"0 < [ect0 flowlabel 0x1] . 1:1(0) ack 1", "x.pkt:1:11: expected \"]\" after the ECN mark"},
		{"0 < (flowlabel x) . 1:1(0) ack 1", "x.pkt:1:16: expected flow label (a number)"},
	} {
		_, err := Parse("x.pkt", tc.src)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: want an *Error, got %v", tc.src, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

// FuzzParse checks the parser never panics or hangs and that every error
// names a place.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../testdata/pkt/*/*.pkt")
	for _, fn := range files {
		if b, err := os.ReadFile(fn); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("0 > S 0:0(0) <mss 1460,sack 1:2,TS val 1 ecr 2,...>")
	f.Add("+0...0.1 poll([{fd=3, events=POLLIN, revents=POLLIN}], 1, -1) = 1 (x y)")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse("f.pkt", src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos.Line < 1 || pe.Pos.Col < 1 {
				t.Fatalf("error without a place: %v", err)
			}
			return
		}
		if len(s.Events) == 0 {
			t.Fatal("a script with no events parsed")
		}
	})
}
