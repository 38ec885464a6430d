package capture

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"stacklab/capture/tsharktest"
	"stacklab/sim"
	"stacklab/stack"
)

// simRun runs a handshake, a request and reply and an orderly close on a
// simulated link with the Recorder attached, and returns the trace, the
// summaries and the capture files' contents.
func simRun(t *testing.T, dir string) (trace string, sums []Summary, files map[string][]byte) {
	t.Helper()
	var out bytes.Buffer
	rec, err := New(Options{
		Dir: dir, Trace: &out, Scenario: "capture-sim-test", Seed: 7, Version: "test",
		Start: sim.DefaultStart, KeepSummaries: true,
		Names: map[netip.Addr]string{netip.MustParseAddr("10.0.0.1"): "client", netip.MustParseAddr("10.0.0.2"): "server"},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := sim.NewNetwork(sim.NetworkOptions{Seed: 7, Observer: rec, Tap: rec})
	c := n.AddHost("client", stack.Options{})
	s := n.AddHost("server", stack.Options{})
	imp := sim.Impairments{Delay: 10 * time.Millisecond}
	if _, err := n.Connect(c, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.1/24")},
		s, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.2/24")}, sim.Symmetric(imp)); err != nil {
		t.Fatal(err)
	}
	rec.Describe("client:eth0", "10 ms each way")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	lfd, err := s.Socket(stack.SockStream)
	must(err)
	must(s.Bind(lfd, netip.MustParseAddrPort("0.0.0.0:80")))
	must(s.Listen(lfd, 8))
	must(s.SetNonblock(lfd, true))
	cfd, err := c.Socket(stack.SockStream)
	must(err)
	must(c.SetNonblock(cfd, true))
	if err := c.Connect(cfd, netip.MustParseAddrPort("10.0.0.2:80")); !errors.Is(err, syscall.EINPROGRESS) {
		t.Fatalf("connect: %v, want EINPROGRESS", err)
	}
	n.RunFor(100 * time.Millisecond)
	afd, _, err := s.Accept(lfd)
	must(err)
	if _, err := c.Send(cfd, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	n.RunFor(100 * time.Millisecond)
	buf := make([]byte, 16)
	if k, err := s.Recv(afd, buf); err != nil || string(buf[:k]) != "hello" {
		t.Fatalf("server recv %q, %v", buf[:k], err)
	}
	if _, err := s.Send(afd, []byte("world")); err != nil {
		t.Fatal(err)
	}
	n.RunFor(100 * time.Millisecond)
	if k, err := c.Recv(cfd, buf); err != nil || string(buf[:k]) != "world" {
		t.Fatalf("client recv %q, %v", buf[:k], err)
	}
	must(c.Close(cfd))
	n.RunFor(100 * time.Millisecond)
	must(s.Close(afd))
	n.RunFor(2 * time.Minute)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{}
	for _, f := range rec.Files() {
		b, err := os.ReadFile(f)
		must(err)
		files[filepath.Base(f)] = b
	}
	return out.String(), rec.Summaries(), files
}

func TestRecorderOnSimulatedLink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trace, sums, files := simRun(t, dir)
	if len(files) != 2 || files["client-eth0.pcapng"] == nil || files["server-eth0.pcapng"] == nil {
		t.Fatalf("capture files %v", keys(files))
	}
	var client []string
	for _, s := range sums {
		if s.Vantage == "client:eth0" && s.Proto == "tcp" {
			client = append(client, s.String())
		}
	}
	if len(client) < 3 || !strings.HasPrefix(client[0], "client > server [S] seq 0 ") ||
		!strings.HasPrefix(client[1], "server > client [S.] seq 0 ack 1 ") ||
		!strings.HasPrefix(client[2], "client > server [.] seq 1 ack 1 ") {
		t.Errorf("client's view of the handshake:\n%s", strings.Join(client, "\n"))
	}
	if !strings.Contains(trace, "[PSH, ACK]  seq 1  ack 1") || !strings.Contains(trace, "len 5") ||
		!strings.Contains(trace, "[FIN, ACK]") || strings.Contains(trace, "RST") {
		t.Errorf("trace lacks the request or the orderly close:\n%s", trace)
	}
	for _, name := range []string{"client-eth0.pcapng", "server-eth0.pcapng"} {
		pkts := tsharktest.Lint(t, filepath.Join(dir, name))
		if ok, got := tsharktest.Handshake(pkts); !ok {
			t.Errorf("%s: tshark sees the handshake as %s", name, got)
		}
		for _, p := range pkts {
			if p.Retransmission || p.DupACK {
				t.Errorf("%s: packet %d: tshark sees a retransmission or dup ACK on a clean link", name, p.Number)
			}
		}
	}
}

// TestRecorderDeterministic runs the same simulation twice: the trace and
// every capture file must be byte-identical.
func TestRecorderDeterministic(t *testing.T) {
	t.Parallel()
	t1, _, f1 := simRun(t, t.TempDir())
	t2, _, f2 := simRun(t, t.TempDir())
	if t1 != t2 {
		t.Error("the trace differs between two runs with the same seed")
	}
	for name, b := range f1 {
		if !bytes.Equal(b, f2[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// TestRetransmissionsMatchTshark sends 300 kB over a link losing 3% of
// frames each way (to port 5001: on port 80 Wireshark reassembles the
// bytes as one endless HTTP message and reports overlaps) and checks that tshark, reading the sender's capture,
// counts as many retransmitted segments as the stack's counter.
func TestRetransmissionsMatchTshark(t *testing.T) {
	t.Parallel()
	if tsharktest.Path() == "" {
		t.Skip("tshark is not installed")
	}
	dir := t.TempDir()
	rec, err := New(Options{Dir: dir, Start: sim.DefaultStart, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	n := sim.NewNetwork(sim.NetworkOptions{Seed: 3, Observer: rec, Tap: rec})
	c := n.AddHost("client", stack.Options{})
	s := n.AddHost("server", stack.Options{})
	imp := sim.Impairments{Delay: 5 * time.Millisecond, Loss: 0.03}
	if _, err := n.Connect(c, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.1/24")},
		s, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.2/24")}, sim.Symmetric(imp)); err != nil {
		t.Fatal(err)
	}
	lfd, _ := s.Socket(stack.SockStream)
	s.Bind(lfd, netip.MustParseAddrPort("0.0.0.0:5001"))
	s.Listen(lfd, 8)
	s.SetNonblock(lfd, true)
	cfd, _ := c.Socket(stack.SockStream)
	c.SetNonblock(cfd, true)
	c.Connect(cfd, netip.MustParseAddrPort("10.0.0.2:5001"))
	data := bytes.Repeat([]byte("0123456789abcdef"), 300_000/16)
	buf := make([]byte, 64<<10)
	afd, sent, got := -1, 0, 0
	for i := 0; i < 100_000 && got < len(data); i++ {
		n.RunFor(5 * time.Millisecond)
		if afd < 0 {
			if afd, _, err = s.Accept(lfd); err != nil {
				afd = -1
				continue
			}
			s.SetNonblock(afd, true)
		}
		if sent < len(data) {
			if k, err := c.Send(cfd, data[sent:]); err == nil {
				sent += k
			}
		}
		for {
			k, err := s.Recv(afd, buf)
			if err != nil || k == 0 {
				break
			}
			got += k
		}
	}
	if got != len(data) {
		t.Fatalf("server received %d of %d bytes", got, len(data))
	}
	var retrans uint64
	for _, ctr := range c.Counters() {
		if ctr.Name == "tcp.RetransSegs" {
			retrans = ctr.Value
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	pkts := tsharktest.Lint(t, filepath.Join(dir, "client-eth0.pcapng"))
	var marked uint64
	for _, p := range pkts {
		// In the sender's own capture a segment tshark calls out of
		// order is a resend too (one that follows the original within
		// a round trip, as RACK's do).
		if p.Retransmission || p.FastRetrans || p.SpuriousRetrans || p.OutOfOrder {
			marked++
		}
	}
	if retrans == 0 || marked != retrans {
		t.Errorf("stack counted %d retransmitted segments, tshark marks %d", retrans, marked)
	}
}

// TestSnapLen writes captures cut to 80 bytes a frame: tshark must read
// them cleanly, and tracing them must give the same packet lines as the
// live trace (lengths and sequence numbers from the headers).
func TestSnapLen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec, err := New(Options{Dir: dir, Start: sim.DefaultStart, SnapLen: 80, KeepSummaries: true})
	if err != nil {
		t.Fatal(err)
	}
	bulk(t, 64<<10, rec, rec)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "client-eth0.pcapng")
	tsharktest.Lint(t, path)
	read, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var live []Summary
	for _, s := range rec.Summaries() {
		if s.Vantage == "client:eth0" {
			live = append(live, s)
		}
	}
	if len(read) != len(live) {
		t.Fatalf("read %d packets back, captured %d", len(read), len(live))
	}
	cut := 0
	for i := range read {
		r, l := read[i], live[i]
		if r.Malformed != "" || r.Len != l.Len || r.Seq != l.Seq || r.Ack != l.Ack || r.Flags != l.Flags {
			t.Fatalf("packet %d read back as %s, captured as %s", i+1, r.String(), l.String())
		}
		if l.Len > 0 {
			cut++
		}
	}
	if cut == 0 {
		t.Error("no data segments were cut")
	}
}
