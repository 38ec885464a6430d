package capture

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"stacklab/capture/tsharktest"
	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) AfterFunc(time.Duration, func()) core.Timer {
	return nopTimer{}
}

type nopTimer struct{}

func (nopTimer) Stop() bool               { return false }
func (nopTimer) Reset(time.Duration) bool { return false }

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func newNIC(t testing.TB, clk *fakeClock, host, addr string, typ stack.LinkType) *stack.NIC {
	t.Helper()
	s := stack.New(stack.Options{Name: host, Clock: clk})
	nic, err := s.AddNIC(stack.NICConfig{Name: "eth0", Type: typ, Addr: netip.MustParsePrefix(addr)}, stack.LinkFunc(func(stack.Packet) {}))
	if err != nil {
		t.Fatal(err)
	}
	return nic
}

// seg describes a TCP segment for tcpFrame.
type seg struct {
	src, dst   *stack.NIC
	sport      uint16
	dport      uint16
	seq, ack   uint32
	flags      wire.TCPFlags
	opts       *wire.TCPOptions
	payload    string
	ipID       uint16
	dstMACBad  bool
	rawIP      bool
	badTCPCsum bool
}

// tcpFrame builds an Ethernet (or raw IP) frame with correct checksums.
func tcpFrame(s seg) []byte {
	optLen := 0
	if s.opts != nil {
		optLen = wire.TCPOptionsLen(s.opts, s.flags&wire.SYN != 0)
	}
	tcpLen := wire.TCPMinHeaderLen + optLen + len(s.payload)
	ipLen := wire.IPv4MinHeaderLen + tcpLen
	b := make([]byte, wire.EthernetHeaderLen+ipLen)
	var dstMAC, srcMAC wire.MAC
	copy(srcMAC[:], s.src.MAC())
	copy(dstMAC[:], s.dst.MAC())
	if s.dstMACBad {
		dstMAC[5] ^= 0x55
	}
	wire.Ethernet(b).Encode(&wire.EthernetFields{Dst: dstMAC, Src: srcMAC, Type: wire.EtherTypeIPv4})
	ip := wire.IPv4(b[wire.EthernetHeaderLen:])
	src, dst := s.src.Addr().Addr(), s.dst.Addr().Addr()
	ip.Encode(&wire.IPv4Fields{TotalLen: uint16(ipLen), ID: s.ipID, DF: true, TTL: 64, Protocol: wire.ProtoTCP, Src: src, Dst: dst})
	ip.SetChecksum()
	tcp := wire.TCP(ip[wire.IPv4MinHeaderLen:])
	tcp.Encode(&wire.TCPFields{SrcPort: s.sport, DstPort: s.dport, Seq: s.seq, Ack: s.ack,
		DataOffset: uint8(wire.TCPMinHeaderLen + optLen), Flags: s.flags, Window: 64240})
	if s.opts != nil {
		wire.EncodeTCPOptions(tcp[wire.TCPMinHeaderLen:], s.opts, s.flags&wire.SYN != 0)
	}
	copy(tcp[wire.TCPMinHeaderLen+optLen:], s.payload)
	tcp.SetChecksum(src, dst)
	if s.badTCPCsum {
		tcp[16] ^= 0xff
	}
	if s.rawIP {
		return b[wire.EthernetHeaderLen:]
	}
	return b
}

// run drives a Recorder through a handshake, a request, a drop at each
// end and a retransmission, as a simulation would report them.
func run(t testing.TB, r *Recorder, clk *fakeClock, client, server *stack.NIC) {
	at := func(ms int) { clk.now = t0.Add(time.Duration(ms) * time.Millisecond) }
	ev := func(host string, e core.Event) {
		e.Time, e.Host = clk.now, host
		r.Observe(&e)
	}
	cAddr := netip.MustParseAddrPort("10.0.0.1:49152")
	sAddr := netip.MustParseAddrPort("10.0.0.2:80")
	cConn := core.Tuple{Local: cAddr, Remote: sAddr}
	sConn := core.Tuple{Local: sAddr, Remote: cAddr}
	synOpts := &wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTS: true, TSVal: 1, HasWScale: true, WScale: 7}
	const ciss, siss = 1000, 5000
	syn := tcpFrame(seg{src: client, dst: server, sport: 49152, dport: 80, seq: ciss, flags: wire.SYN, opts: synOpts, ipID: 1})
	synack := tcpFrame(seg{src: server, dst: client, sport: 80, dport: 49152, seq: siss, ack: ciss + 1, flags: wire.SYN | wire.ACK,
		opts: &wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTS: true, TSVal: 7, TSEcr: 1, HasWScale: true, WScale: 7}, ipID: 1})
	ack := tcpFrame(seg{src: client, dst: server, sport: 49152, dport: 80, seq: ciss + 1, ack: siss + 1, flags: wire.ACK, ipID: 2})
	data := tcpFrame(seg{src: client, dst: server, sport: 49152, dport: 80, seq: ciss + 1, ack: siss + 1, flags: wire.PSH | wire.ACK, payload: "hello", ipID: 3})
	stray := tcpFrame(seg{src: client, dst: server, sport: 49152, dport: 80, seq: ciss + 1, ack: siss + 1, flags: wire.ACK, ipID: 4, dstMACBad: true})

	at(0)
	ev("server", core.Event{Kind: core.EventState, FD: 3, Proto: "tcp", Conn: core.Tuple{Local: netip.MustParseAddrPort("0.0.0.0:80")}, From: "CLOSED", To: "LISTEN"})
	ev("server", core.Event{Kind: core.EventCall, FD: 3, Name: "listen", Detail: "3, 8 → 0"})
	at(1)
	ev("client", core.Event{Kind: core.EventState, FD: 3, Proto: "tcp", Conn: cConn, From: "CLOSED", To: "SYN_SENT"})
	r.Frame(client, stack.DirOut, stack.Packet{ID: 1, Data: syn}, "connect")
	ev("client", core.Event{Kind: core.EventCall, FD: 3, Name: "connect", Detail: "3, 10.0.0.2:80 → blocks"})
	at(11)
	r.Frame(server, stack.DirIn, stack.Packet{ID: 1, Data: syn}, "")
	ev("server", core.Event{Kind: core.EventState, FD: -1, Proto: "tcp", Conn: sConn, From: "LISTEN", To: "SYN_RCVD"})
	r.Frame(server, stack.DirOut, stack.Packet{ID: 2, Data: synack}, "SYN received")
	at(21)
	r.Frame(client, stack.DirIn, stack.Packet{ID: 2, Data: synack}, "")
	ev("client", core.Event{Kind: core.EventState, FD: 3, Proto: "tcp", Conn: cConn, From: "SYN_SENT", To: "ESTABLISHED"})
	r.Frame(client, stack.DirOut, stack.Packet{ID: 3, Data: ack}, "handshake complete")
	ev("client", core.Event{Kind: core.EventCall, FD: 3, Name: "connect", Detail: "3 → 0"})
	r.Frame(client, stack.DirOut, stack.Packet{ID: 4, Data: data}, "send(3)")
	ev("client", core.Event{Kind: core.EventCall, FD: 3, Name: "send", Detail: `3, "hello" → 5`})
	// The link loses the next frame, a stray one.
	r.Frame(client, stack.DirOut, stack.Packet{ID: 5, Data: stray}, "send(3)")
	ev("client—server", core.Event{Kind: core.EventDrop, FD: -1, Name: "link", Detail: "dropped, burst loss", PacketID: 5})
	at(31)
	r.Frame(server, stack.DirIn, stack.Packet{ID: 3, Data: ack}, "")
	ev("server", core.Event{Kind: core.EventState, FD: -1, Proto: "tcp", Conn: sConn, From: "SYN_RCVD", To: "ESTABLISHED"})
	ev("server", core.Event{Kind: core.EventCall, FD: 3, Name: "accept", Detail: "3 → 4"})
	r.Frame(server, stack.DirIn, stack.Packet{ID: 4, Data: data}, "")
	// A frame for another MAC reaches the server and is dropped there.
	r.Frame(server, stack.DirIn, stack.Packet{ID: 6, Data: stray}, "")
	ev("server", core.Event{Kind: core.EventDrop, FD: -1, Proto: "eth", Name: "link.InNotForUs", Detail: "frame for another MAC", PacketID: 6})
	at(221)
	ev("client", core.Event{Kind: core.EventTimer, FD: 3, Proto: "tcp", Conn: cConn, Name: "rto", Detail: "fired, backoff 1"})
	ev("client", core.Event{Kind: core.EventRetransmit, FD: 3, Proto: "tcp", Conn: cConn, Detail: "rto, backoff 2", PacketID: 7})
	r.Frame(client, stack.DirOut, stack.Packet{ID: 7, Data: data}, "retransmit (rto)")
	ev("client", core.Event{Kind: core.EventCongestion, FD: 3, Proto: "tcp", Conn: cConn, Detail: "cwnd 10 → 1, ssthresh 5"})
	ev("client", core.Event{Kind: core.EventNote, FD: -1, Name: "note", Detail: `a "quoted" note`})
	// A middlebox drops a frame no capture saw: its reason names it once.
	ev("home", core.Event{Kind: core.EventDrop, FD: -1, Name: "nat", Detail: "nat: dropped, no mapping", PacketID: 8})
}

func names() map[netip.Addr]string {
	return map[netip.Addr]string{
		netip.MustParseAddr("10.0.0.1"): "client",
		netip.MustParseAddr("10.0.0.2"): "server",
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update if intended); got:\n%s", path, got)
	}
}

func TestRecorderTraceAndFiles(t *testing.T) {
	for _, format := range []Format{Text, JSON} {
		t.Run(format.String(), func(t *testing.T) {
			clk := &fakeClock{now: t0}
			client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
			server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
			dir := t.TempDir()
			var out bytes.Buffer
			var streamed []string
			r, err := New(Options{
				Dir: dir, Combined: filepath.Join(dir, "all.pcapng"), Trace: &out, Format: format,
				Scenario: "unit", Seed: 42, Version: "v0-test", Start: t0, Names: names(),
				KeepSummaries: true,
				OnSummary:     func(s *Summary) { streamed = append(streamed, s.Vantage+" "+s.String()) },
			})
			if err != nil {
				t.Fatal(err)
			}
			r.Describe("client:eth0", "10 ms, 100 Mbit/s")
			run(t, r, clk, client, server)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if format == JSON {
				for i, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
					var v map[string]any
					if err := json.Unmarshal([]byte(line), &v); err != nil {
						t.Errorf("line %d is not JSON: %v\n%s", i+1, err, line)
					}
				}
				checkGolden(t, "recorder.jsonl", out.Bytes())
				return
			}
			checkGolden(t, "recorder.txt", out.Bytes())

			var sums []string
			for _, s := range r.Summaries() {
				sums = append(sums, s.Vantage+" "+s.String())
			}
			want := []string{
				"client:eth0 client > server [S] seq 0 win 64240 <mss 1460,sackOK,TS 1 0,wscale 7>",
				"server:eth0 client > server [S] seq 0 win 64240 <mss 1460,sackOK,TS 1 0,wscale 7>",
				"server:eth0 server > client [S.] seq 0 ack 1 win 64240 <mss 1460,sackOK,TS 7 1,wscale 7>",
				"client:eth0 server > client [S.] seq 0 ack 1 win 64240 <mss 1460,sackOK,TS 7 1,wscale 7>",
				"client:eth0 client > server [.] seq 1 ack 1 win 64240",
				"client:eth0 client > server [P.] seq 1:6 ack 1 win 64240 len 5",
				"client:eth0 client > server [.] seq 1 ack 1 win 64240 (dropped: link: dropped, burst loss)",
				"server:eth0 client > server [.] seq 1 ack 1 win 64240",
				"server:eth0 client > server [P.] seq 1:6 ack 1 win 64240 len 5",
				"server:eth0 client > server [.] seq 1 ack 1 win 64240 (dropped: link.InNotForUs: frame for another MAC)",
				"client:eth0 client > server [P.] seq 1:6 ack 1 win 64240 len 5",
			}
			if strings.Join(sums, "\n") != strings.Join(want, "\n") {
				t.Errorf("summaries:\n%s\nwant:\n%s", strings.Join(sums, "\n"), strings.Join(want, "\n"))
			}
			if strings.Join(streamed, "\n") != strings.Join(want, "\n") {
				t.Errorf("OnSummary saw:\n%s", strings.Join(streamed, "\n"))
			}
			files := r.Files()
			wantFiles := []string{filepath.Join(dir, "all.pcapng"), filepath.Join(dir, "client-eth0.pcapng"), filepath.Join(dir, "server-eth0.pcapng")}
			if strings.Join(files, " ") != strings.Join(wantFiles, " ") {
				t.Fatalf("files %v, want %v", files, wantFiles)
			}
			checkPcapng(t, wantFiles[1], "client:eth0", "10 ms, 100 Mbit/s", []pktWant{
				{1, pcapgo.NgEpbFlagDirectionOutbound, "connect"},
				{2, pcapgo.NgEpbFlagDirectionInbound, ""},
				{3, pcapgo.NgEpbFlagDirectionOutbound, "handshake complete"},
				{4, pcapgo.NgEpbFlagDirectionOutbound, "send(3)"},
				{5, pcapgo.NgEpbFlagDirectionOutbound, "send(3)|dropped: link: dropped, burst loss"},
				{7, pcapgo.NgEpbFlagDirectionOutbound, "retransmit (rto)"},
			})
			checkPcapng(t, wantFiles[2], "server:eth0", "ethernet, 10.0.0.2/24, mtu 1500, mac 02:00:0a:00:00:02", []pktWant{
				{1, pcapgo.NgEpbFlagDirectionInbound, ""},
				{2, pcapgo.NgEpbFlagDirectionOutbound, "SYN received"},
				{3, pcapgo.NgEpbFlagDirectionInbound, ""},
				{4, pcapgo.NgEpbFlagDirectionInbound, ""},
				{6, pcapgo.NgEpbFlagDirectionInbound, "dropped: link.InNotForUs: frame for another MAC"},
			})
			all := readPcapng(t, wantFiles[0])
			if len(all.pkts) != 11 || len(all.intfs) != 2 || !strings.Contains(all.comment, "combined capture") {
				t.Errorf("combined file: %d packets, interfaces %v, comment %q", len(all.pkts), all.intfs, all.comment)
			}
			for _, f := range files {
				pkts := tsharktest.Lint(t, f)
				if f == wantFiles[1] {
					if ok, got := tsharktest.Handshake(pkts); !ok {
						t.Errorf("%s: tshark sees the handshake as %s", f, got)
					}
					if len(pkts) != 6 || pkts[0].Interface != "client:eth0" || pkts[0].PacketID != 1 ||
						len(pkts[0].Comments) != 1 || pkts[0].Comments[0] != "connect" {
						t.Errorf("tshark decoded %+v", pkts[0])
					}
					// The retransmitted segment: tshark must agree.
					if last := pkts[len(pkts)-1]; !last.Retransmission {
						t.Errorf("tshark does not mark the retransmission: %+v", last)
					}
				}
			}
		})
	}
}

type pktWant struct {
	id       uint64
	dir      pcapgo.NgEpbFlag
	comments string
}

type pcapngFile struct {
	comment, app string
	intfs        []pcapgo.NgInterface
	pkts         []pcapgo.NgPacketOptions
	names        int
}

func readPcapng(t *testing.T, path string) pcapngFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	var out pcapngFile
	for {
		_, _, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out.pkts = append(out.pkts, opts)
	}
	out.comment, out.app = r.SectionInfo().Comment, r.SectionInfo().Application
	for i := 0; i < r.NInterfaces(); i++ {
		intf, _ := r.Interface(i)
		out.intfs = append(out.intfs, intf)
	}
	out.names = r.NNames()
	return out
}

func checkPcapng(t *testing.T, path, intfName, desc string, want []pktWant) {
	t.Helper()
	f := readPcapng(t, path)
	if f.comment != "stacklab v0-test, scenario unit, seed 42; vantage point "+intfName || f.app != "stacklab v0-test" {
		t.Errorf("%s: section comment %q, application %q", path, f.comment, f.app)
	}
	if len(f.intfs) != 1 || f.intfs[0].Name != intfName || f.intfs[0].Description != desc ||
		f.intfs[0].LinkType != layers.LinkTypeEthernet || f.intfs[0].TimestampResolution != 9 {
		t.Errorf("%s: interfaces %+v", path, f.intfs)
	}
	if f.names != 2 {
		t.Errorf("%s: %d name records, want 2", path, f.names)
	}
	if len(f.pkts) != len(want) {
		t.Fatalf("%s: %d packets, want %d", path, len(f.pkts), len(want))
	}
	for i, w := range want {
		p := f.pkts[i]
		if p.PacketID == nil || *p.PacketID != w.id || p.Flags == nil || p.Flags.Direction != w.dir ||
			strings.Join(p.Comments, "|") != w.comments {
			t.Errorf("%s: packet %d: id %v flags %+v comments %q; want %+v", path, i, p.PacketID, p.Flags, p.Comments, w)
		}
	}
}

// TestRecorderWantsSeries: the stacks compute TCP series only for the
// outputs that show them (the JSON trace and the page), not for pcapng
// files or the text trace alone.
func TestRecorderWantsSeries(t *testing.T) {
	var w bytes.Buffer
	for _, tc := range []struct {
		name string
		opts Options
		want bool
	}{
		{"pcapng only", Options{Dir: t.TempDir()}, false},
		{"text trace", Options{Trace: &w, Format: Text}, false},
		{"json trace", Options{Trace: &w, Format: JSON}, true},
		{"page", Options{Page: &w}, true},
	} {
		r, err := New(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.WantsSeries(); got != tc.want {
			t.Errorf("%s: WantsSeries() = %v, want %v", tc.name, got, tc.want)
		}
		r.Close()
	}
}

// TestIdleRecorderBuildsNothing checks that a Recorder asked for nothing
// (a sweep's runs, a benchmark without capture) builds no Tracer, whose
// caches are garbage in every run, and that its calls still work.
func TestIdleRecorderBuildsNothing(t *testing.T) {
	clk := &fakeClock{now: t0}
	nic := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	const runs = 10
	for range runs {
		r, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.tr != nil || r.page != nil {
			t.Fatal("an idle Recorder built a Tracer")
		}
		r.Frame(nic, stack.DirOut, stack.Packet{ID: 1, Data: []byte{1, 2, 3}}, "")
		r.Observe(&core.Event{Kind: core.EventCall, Name: "close"})
		if err := r.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&ms1)
	if per := (ms1.TotalAlloc - ms0.TotalAlloc) / runs; per > 64<<10 {
		t.Errorf("%d bytes allocated per idle Recorder, want well under a Tracer's 200 KB", per)
	}
}

// TestKeepSummariesBounded: KeepSummaries keeps at most maxKept
// summaries and as many notes, and counts those it leaves out.
func TestKeepSummariesBounded(t *testing.T) {
	record := func() (sums, notes, out int) {
		clk := &fakeClock{now: t0}
		client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
		server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
		r, err := New(Options{KeepSummaries: true, Names: names()})
		if err != nil {
			t.Fatal(err)
		}
		run(t, r, clk, client, server)
		sums, notes, out = len(r.Summaries()), len(r.Notes()), r.SummariesLeftOut()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		return sums, notes, out
	}
	allSums, allNotes, out := record()
	if out != 0 || allSums < 6 || allNotes < 6 {
		t.Fatalf("unbounded: %d summaries, %d notes, %d left out", allSums, allNotes, out)
	}
	defer func(m int) { maxKept = m }(maxKept)
	maxKept = 5
	sums, notes, out := record()
	if sums != 5 || notes != 5 || out != allSums-5+allNotes-5 {
		t.Errorf("bounded to 5: %d summaries, %d notes, %d left out; want 5, 5, %d", sums, notes, out, allSums-5+allNotes-5)
	}
}
