package trace

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"stacklab/stack/core"
)

func TestAppendTime(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, " 0.000000"},
		{time.Millisecond, " 0.001000"},
		{1500 * time.Nanosecond, " 0.000002"}, // rounded to the microsecond
		{499 * time.Nanosecond, " 0.000000"},
		{12*time.Second + 345678*time.Microsecond, "12.345678"},
		{1234 * time.Second, "1234.000000"},
		{-time.Millisecond, "-0.001000"},
	}
	for _, tt := range tests {
		if got := string(appendTime(nil, tt.d)); got != tt.want {
			t.Errorf("appendTime(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " backslash \`, "tab\tnl\ncr\r", "\x00\x1f\x7f", "é → ✓", "bad \xff utf8"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q → %s: %v", s, got, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Errorf("%q → %s → %q", s, got, back)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Text, "text": Text, "json": JSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("ParseFormat(xml) error = %v", err)
	}
}

func TestSummaryString(t *testing.T) {
	tests := []struct {
		s    Summary
		want string
	}{
		{Summary{Src: "client", Dst: "server", Proto: "tcp", Flags: "S", Win: 64240, Options: "mss 1460"},
			"client > server [S] seq 0 win 64240 <mss 1460>"},
		{Summary{Src: "server", Dst: "client", Proto: "tcp", Flags: "S.", Ack: 1, HasAck: true, Win: 65160},
			"server > client [S.] seq 0 ack 1 win 65160"},
		{Summary{Src: "client", Dst: "server", Proto: "tcp", Flags: "P.", Seq: 1, Ack: 1, HasAck: true, Win: 502, Len: 5},
			"client > server [P.] seq 1:6 ack 1 win 502 len 5"},
		{Summary{Src: "client", Dst: "server", Proto: "udp", Len: 5}, "client > server udp len 5"},
		{Summary{Src: "client", Dst: "server", Proto: "icmp", Info: "echo request  id 1  seq 1  len 56"},
			"client > server icmp echo request  id 1  seq 1  len 56"},
		{Summary{Src: "client", Dst: "broadcast", Proto: "arp", Info: "who-has 10.0.0.2 tell 10.0.0.1"},
			"client > broadcast arp who-has 10.0.0.2 tell 10.0.0.1"},
		{Summary{Src: "?", Dst: "?", Proto: "eth", Malformed: "ipv4: packet truncated", Drop: "ip.InHdrErrors"},
			"? > ? eth malformed: ipv4: packet truncated (dropped: ip.InHdrErrors)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

func TestConnsRelative(t *testing.T) {
	c := newConns(2)
	a := netip.MustParseAddrPort("10.0.0.1:1000")
	b := netip.MustParseAddrPort("10.0.0.2:80")
	steps := []struct {
		src, dst  netip.AddrPort
		seq, ack  uint32
		syn, ackf bool
		wantSeq   uint32
		wantAck   uint32
	}{
		{a, b, 100, 0, true, false, 0, 0},
		{b, a, 900, 101, true, true, 0, 1},
		{a, b, 101, 901, false, true, 1, 1},
		{a, b, 100, 0, true, false, 0, 0},                         // SYN retransmitted: same ISN, no reset
		{a, b, 5000, 0, true, false, 0, 0},                        // new ISN: a new connection
		{b, a, 7000, 5001, true, true, 0, 1},                      // its SYN-ACK
		{b, a, 7000 + 1 + 1<<31, 5001, false, true, 1 + 1<<31, 1}, // far ahead, mod 2^32
	}
	for i, s := range steps {
		seq, ack := c.relative(s.src, s.dst, s.seq, s.ack, s.syn, s.ackf)
		if seq != s.wantSeq || ack != s.wantAck {
			t.Errorf("step %d: seq %d ack %d, want %d %d", i, seq, ack, s.wantSeq, s.wantAck)
		}
	}
	// Mid-stream: the first segment seen counts from 1, its ack from 1.
	x := netip.MustParseAddrPort("10.0.0.3:1")
	if seq, ack := c.relative(x, b, 4242, 99, false, true); seq != 1 || ack != 1 {
		t.Errorf("mid-stream: seq %d ack %d, want 1 1", seq, ack)
	}
	// Bounded: a third connection evicts the first seen.
	y := netip.MustParseAddrPort("10.0.0.4:1")
	c.relative(y, b, 1, 0, true, false)
	if len(c.m) != 2 || len(c.ring) != 2 {
		t.Errorf("table holds %d connections (ring %d), want 2", len(c.m), len(c.ring))
	}
	if _, ok := c.m[connKey{a, b}]; ok {
		t.Error("the oldest connection was not evicted")
	}
}

func TestMalformedFrames(t *testing.T) {
	tests := []struct {
		name string
		link LinkType
		data []byte
		want string // in the text trace
	}{
		{"empty ethernet", LinkEthernet, nil, "malformed  eth: packet truncated"},
		{"short ip", LinkEthernet, synFrame[:30], "malformed  ipv4: packet truncated"},
		{"ip cut short", LinkRawIP, synFrame[14:50], "malformed  ipv4: packet truncated"},
		{"bad version", LinkRawIP, append([]byte{0x55}, synFrame[15:]...), "malformed  ipv4: ip version is not 4"},
		{"bad tcp offset", LinkRawIP, func() []byte {
			b := append([]byte(nil), synFrame[14:]...)
			b[32] = 0x10
			return b
		}(), "malformed  tcp: header length field too small"},
		{"bad checksum", LinkRawIP, func() []byte {
			b := append([]byte(nil), synFrame[14:]...)
			b[len(b)-1] ^= 1
			return b
		}(), "<mss 1460,sackOK,TS 1 0,wscale 6>  bad cksum"},
		{"icmp error", LinkRawIP, icmpUnreachFrame, "icmp  port unreachable  (udp 10.0.0.1:47610 → 10.0.0.2:5999)"},
		{"unknown ethertype", LinkEthernet, append(append([]byte(nil), synFrame[:12]...), 0x88, 0xcc, 1, 2), "IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			tr := New(&out, Options{Checksums: true})
			tr.Frame(&Frame{Time: time.Unix(1, 0), Link: tt.link, ID: 1, Data: tt.data}, nil)
			tr.Flush()
			if tt.name == "unknown ethertype" {
				if !strings.Contains(out.String(), "0x88cc") {
					t.Errorf("trace:\n%s", out.String())
				}
				return
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("trace lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}

// TestHeldStateMerges checks a state change shares its call's line only
// at the same instant and host, and that the frames in between follow.
func TestHeldStateMerges(t *testing.T) {
	var out bytes.Buffer
	t0 := time.Unix(100, 0)
	tr := New(&out, Options{Start: t0})
	st := func(host string, at time.Duration, from, to string) {
		tr.Event(&core.Event{Time: t0.Add(at), Host: host, Kind: core.EventState, FD: 3, Proto: "tcp", From: from, To: to})
	}
	call := func(host string, at time.Duration, name, detail string) {
		tr.Event(&core.Event{Time: t0.Add(at), Host: host, Kind: core.EventCall, FD: 3, Name: name, Detail: detail})
	}
	st("a", 0, "CLOSED", "SYN_SENT")
	tr.Frame(&Frame{Time: t0, Host: "a", Vantage: "a:eth0", Dir: DirOut, Link: LinkEthernet, ID: 1, Data: synFrame}, nil)
	call("a", 0, "connect", "3, 10.0.0.2:80 → blocks")
	st("a", time.Second, "ESTABLISHED", "FIN_WAIT_1")
	call("b", time.Second, "close", "3 → 0") // another host: no merge
	st("a", 2*time.Second, "ESTABLISHED", "CLOSE_WAIT")
	call("a", 2*time.Second, "recv", "3, 5 → 0") // recv does not make that change
	st("a", 2*time.Second, "CLOSE_WAIT", "LAST_ACK")
	call("a", 2*time.Second, "close", "3 → 0")
	call("a", 2*time.Second, "socket", "tcp → 4") // a call alone
	st("a", 2*time.Second, "CLOSED", "SYN_SENT")  // not made by socket: alone
	st("a", 3*time.Second, "LAST_ACK", "CLOSED")  // left alone at the end
	tr.Flush()
	want := ` 0.000000 a  connect(3, 10.0.0.2:80) → blocks        CLOSED → SYN_SENT
 0.000000 10.0.0.1 → 10.0.0.2  #1  74 B
   eth   02:00:0a:00:00:01 → 02:00:0a:00:00:02  IPv4
   ipv4  10.0.0.1 → 10.0.0.2  ttl 64  id 1  DF  len 60
   tcp   49152 → 80  [SYN]  seq 0 (ISN 1000)  win 64240  <mss 1460,sackOK,TS 1 0,wscale 7>
 1.000000 a  tcp fd 3  ESTABLISHED → FIN_WAIT_1
 1.000000 b  close(3) → 0
 2.000000 a  tcp fd 3  ESTABLISHED → CLOSE_WAIT
 2.000000 a  recv(3, 5) → 0
 2.000000 a  close(3) → 0                            CLOSE_WAIT → LAST_ACK
 2.000000 a  socket(tcp) → 4
 2.000000 a  tcp fd 3  CLOSED → SYN_SENT
 3.000000 a  tcp fd 3  LAST_ACK → CLOSED
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestAppendCall(t *testing.T) {
	tests := []struct{ name, detail, want string }{
		{"connect", "3, 10.0.0.2:80 → blocks", "connect(3, 10.0.0.2:80) → blocks"},
		{"connect", "3 -> ECONNREFUSED", "connect(3) -> ECONNREFUSED"},
		{"socket", "tcp", "socket(tcp)"},
		{"recv", "recv(4, 5) → \"hello\"", "recv(4, 5) → \"hello\""},
		{"", "sleep 10ms", "sleep 10ms"},
	}
	for _, tt := range tests {
		if got := string(appendCall(nil, &core.Event{Name: tt.name, Detail: tt.detail})); got != tt.want {
			t.Errorf("appendCall(%q, %q) = %q, want %q", tt.name, tt.detail, got, tt.want)
		}
	}
}

func TestTracerFrameAllocs(t *testing.T) {
	for _, f := range []Format{Text, JSON} {
		var out bytes.Buffer
		tr := New(&out, Options{Format: f, Names: map[netip.Addr]string{netip.MustParseAddr("10.0.0.1"): "client"}})
		fr := Frame{Time: time.Unix(1, 0), Host: "client", Vantage: "client:eth0", Link: LinkEthernet, Dir: DirOut, ID: 1, Data: synFrame, Note: "connect"}
		n := testing.AllocsPerRun(100, func() {
			out.Reset()
			fr.ID++
			tr.Frame(&fr, nil)
			tr.Flush()
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", f, n)
		}
	}
}

// TestReusedIDShownInFull checks that an inbound frame shares the
// one-line form only with the very packet sent under its id.
func TestReusedIDShownInFull(t *testing.T) {
	var out bytes.Buffer
	tr := New(&out, Options{})
	at := time.Unix(1, 0)
	out1 := Frame{Time: at, Host: "a", Vantage: "a:tun0", Link: LinkRawIP, Dir: DirOut, ID: 7, Data: synFrame[14:]}
	tr.Frame(&out1, nil)
	same := out1
	same.Host, same.Vantage, same.Dir = "b", "b:tun0", DirIn
	tr.Frame(&same, nil)
	other := same
	other.Data = icmpUnreachFrame // another stack's packet 7
	tr.Frame(&other, nil)
	tr.Flush()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 7 || !strings.Contains(lines[3], "b:tun0 ← 10.0.0.1  #7  60 B") ||
		!strings.Contains(lines[4], "10.0.0.2 → 10.0.0.1  #7  63 B  at b:tun0") {
		t.Errorf("trace:\n%s", out.String())
	}
}

func TestConns(t *testing.T) {
	c := netip.MustParseAddrPort("10.0.0.1:1000")
	s := netip.MustParseAddrPort("10.0.0.2:80")
	seg := func(ms int, fromClient bool, flags string, seq, ack uint32, n int) Summary {
		x := Summary{Time: time.Duration(ms) * time.Millisecond, Vantage: "client:eth0", Proto: "tcp", Flags: flags,
			Seq: seq, Ack: ack, HasAck: flags != "S", Len: n, SrcAddr: c, DstAddr: s, Src: "client", Dst: "server"}
		if !fromClient {
			x.SrcAddr, x.DstAddr, x.Src, x.Dst = s, c, "server", "client"
		}
		return x
	}
	sums := []Summary{
		seg(0, true, "S", 0, 0, 0),
		seg(20, false, "S.", 0, 1, 0),
		seg(20, true, ".", 1, 1, 0),
		seg(21, true, "P.", 1, 1, 100),
		seg(22, true, "P.", 101, 1, 100),
		seg(250, true, "P.", 1, 1, 100),   // retransmission
		seg(260, true, "P.", 101, 1, 200), // overlaps old data and brings 100 new bytes
		seg(300, false, ".", 1, 301, 0),
		seg(400, true, ".", 300, 1, 1), // keepalive probe with one old byte
		seg(500, true, "F.", 301, 1, 0),
		seg(520, false, "F.", 1, 302, 0),
		seg(540, true, ".", 302, 2, 0),
		{Proto: "udp", Vantage: "client:eth0"},
	}
	cs := NewConns(0)
	for i := range sums {
		cs.Add(&sums[i])
	}
	list := cs.List()
	if len(list) != 1 {
		t.Fatalf("%d connections, want 1", len(list))
	}
	got := list[0]
	if got.Packets != [2]int{9, 3} || got.Bytes != [2]uint64{300, 0} || got.Retrans != [2]int{2, 0} ||
		got.RTT != 20*time.Millisecond || got.State() != "closed" {
		t.Errorf("got %+v, state %s", got, got.State())
	}
	want := "at client:eth0: tcp client:1000 ⇄ server:80  9/3 pkts  300/0 B  retrans 2/0  rtt 20.000 ms  0.000000–0.540000 s  closed"
	if got.String() != want {
		t.Errorf("String() = %q\nwant       %q", got.String(), want)
	}
	// A refused connection, and the bound.
	small := NewConns(1)
	r1, r2 := seg(0, true, "S", 0, 0, 0), seg(1, false, "R.", 0, 1, 0)
	small.Add(&r1)
	small.Add(&r2)
	other := r1
	other.SrcAddr = netip.MustParseAddrPort("10.0.0.1:2000")
	small.Add(&other)
	if l := small.List(); len(l) != 1 || l[0].State() != "refused" {
		t.Errorf("bounded list %+v", l)
	}
}

// TestBytesWhereSent: with Options.Bytes, a frame's bytes are written
// where it was sent, not again where it arrived, and where it arrived
// when its sending was not seen (a packet injected onto a link): a page
// draws such a frame from its receipt.
func TestBytesWhereSent(t *testing.T) {
	var out bytes.Buffer
	tr := New(&out, Options{Format: JSON, Bytes: 64})
	at := time.Unix(1, 0)
	sent := Frame{Time: at, Host: "a", Vantage: "a:eth0", Link: LinkEthernet, Dir: DirOut, ID: 7, Data: synFrame}
	tr.Frame(&sent, nil)
	got := sent
	got.Host, got.Vantage, got.Dir = "b", "b:eth0", DirIn
	tr.Frame(&got, nil)
	injected := got
	injected.ID = 8
	tr.Frame(&injected, nil)
	tr.Flush()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("trace:\n%s", out.String())
	}
	for i, want := range []bool{true, false, true} {
		if has := strings.Contains(lines[i], `"bytes":"`); has != want {
			t.Errorf("line %d has bytes %v, want %v: %s", i+1, has, want, lines[i])
		}
	}
}
