package capture

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"stacklab/stack"
	"stacklab/stack/core"
	"stacklab/stack/wire"
)

// bulkFrames returns a full-sized data segment and its ACK.
func bulkFrames(client, server *stack.NIC) (data, ack []byte) {
	payload := make([]byte, 1448)
	for i := range payload {
		payload[i] = byte(i)
	}
	ts := &wire.TCPOptions{HasTS: true, TSVal: 100, TSEcr: 50}
	data = tcpFrame(seg{src: client, dst: server, sport: 49152, dport: 80, seq: 1, ack: 1,
		flags: wire.ACK, opts: ts, payload: string(payload), ipID: 9})
	ack = tcpFrame(seg{src: server, dst: client, sport: 80, dport: 49152, seq: 1, ack: 1449,
		flags: wire.ACK, opts: ts, ipID: 9})
	return data, ack
}

func newBenchRecorder(tb testing.TB, format Format, trace io.Writer, files bool) (*Recorder, *stack.NIC, *stack.NIC, *fakeClock) {
	clk := &fakeClock{now: t0}
	client := newNIC(tb, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
	server := newNIC(tb, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
	o := Options{Trace: trace, Format: format, Start: t0, Names: names(), Async: true}
	if files {
		o.Dir = filepath.Join(tb.TempDir(), "out")
	}
	r, err := New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return r, client, server, clk
}

// TestRecorderAllocs checks the per-packet path allocates nothing once
// the files are open: pcapng per vantage, text or JSON trace, frames
// and events.
func TestRecorderAllocs(t *testing.T) {
	for _, format := range []Format{Text, JSON} {
		r, client, server, _ := newBenchRecorder(t, format, io.Discard, true)
		data, ack := bulkFrames(client, server)
		id := uint64(0)
		conn := core.Tuple{Local: netip.MustParseAddrPort("10.0.0.1:49152"), Remote: netip.MustParseAddrPort("10.0.0.2:80")}
		timer := core.Event{Time: t0, Host: "client", Kind: core.EventTimer, FD: 3, Proto: "tcp", Conn: conn, Name: "delack", Detail: "ack 1449"}
		state := core.Event{Time: t0, Host: "client", Kind: core.EventState, FD: -1, Proto: "tcp", Conn: conn, From: "ESTABLISHED", To: "FIN_WAIT_1"}
		call := core.Event{Time: t0, Host: "client", Kind: core.EventCall, FD: 3, Name: "close", Detail: "close(3) → 0"}
		step := func() {
			r.Observe(&timer)
			r.Observe(&state)
			r.Observe(&call)
			id++
			r.Frame(client, stack.DirOut, stack.Packet{ID: id, Data: data}, "send")
			r.Frame(server, stack.DirIn, stack.Packet{ID: id, Data: data}, "")
			id++
			r.Frame(server, stack.DirOut, stack.Packet{ID: id, Data: ack}, "ack")
			r.Frame(client, stack.DirIn, stack.Packet{ID: id, Data: ack}, "")
		}
		step() // opens the files
		if n := testing.AllocsPerRun(200, step); n != 0 {
			t.Errorf("%s: %v allocations per 4 frames, want 0", format, n)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func benchRecorder(b *testing.B, format Format, trace, files bool) {
	var w io.Writer
	if trace {
		w = io.Discard
	}
	r, client, server, _ := newBenchRecorder(b, format, w, files)
	benchFrames(b, r, client, server)
}

// benchFrames has r record, per iteration, a data segment and its ACK,
// each seen at both ends, then closes it.
func benchFrames(b *testing.B, r *Recorder, client, server *stack.NIC) {
	data, ack := bulkFrames(client, server)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	id := uint64(0)
	for b.Loop() {
		id++
		r.Frame(client, stack.DirOut, stack.Packet{ID: id, Data: data}, "send")
		r.Frame(server, stack.DirIn, stack.Packet{ID: id, Data: data}, "")
		id++
		r.Frame(server, stack.DirOut, stack.Packet{ID: id, Data: ack}, "ack")
		r.Frame(client, stack.DirIn, stack.Packet{ID: id, Data: ack}, "")
	}
	b.StopTimer()
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
}

// One iteration is a data segment and its ACK, each seen at both ends.
func BenchmarkRecorderPcapng(b *testing.B)        { benchRecorder(b, Text, false, true) }
func BenchmarkRecorderTextTrace(b *testing.B)     { benchRecorder(b, Text, true, false) }
func BenchmarkRecorderJSONTrace(b *testing.B)     { benchRecorder(b, JSON, true, false) }
func BenchmarkRecorderPcapngAndText(b *testing.B) { benchRecorder(b, Text, true, true) }
func BenchmarkRecorderSummariesOnly(b *testing.B) { benchRecorder(b, Text, false, false) }

// BenchmarkRecorderPcapngSync is BenchmarkRecorderPcapng as a Recorder
// writes the pcapng files alone by default, on the stacks' goroutine,
// into files that cost a write system call per buffer and nothing more
// (/dev/null): what a frame costs the stacks, besides the copy of its
// bytes, when they capture.
func BenchmarkRecorderPcapngSync(b *testing.B) {
	clk := &fakeClock{now: t0}
	client := newNIC(b, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
	server := newNIC(b, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
	dir := b.TempDir()
	for _, n := range []string{"client-eth0.pcapng", "server-eth0.pcapng"} {
		if err := os.Symlink(os.DevNull, filepath.Join(dir, n)); err != nil {
			b.Fatal(err)
		}
	}
	r, err := New(Options{Dir: dir, Start: t0, Names: names(), Sync: true})
	if err != nil {
		b.Fatal(err)
	}
	benchFrames(b, r, client, server)
}
