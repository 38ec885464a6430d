package capture

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"stacklab/stack"
	"stacklab/stack/wire"

	"github.com/gopacket/gopacket/pcapgo"
)

// TestRecorderAsyncSameOutput checks that a Recorder writing beside the
// stacks writes what one writing inside Frame and Observe does, byte for
// byte, when the frames, their drops and the events span many batches:
// the trace (text and JSON), the page, every pcapng file, the summaries
// and the notes; and so does a serial one (Options.Serial), which takes
// no lock a frame, either way.
func TestRecorderAsyncSameOutput(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	for _, format := range []Format{Text, JSON} {
		type out struct {
			trace, page bytes.Buffer
			files       map[string][]byte
			sums        []Summary
			notes       int
		}
		record := func(mode string) *out {
			sync, async := mode == "sync" || mode == "serial-sync", mode == "async"
			serial := strings.HasPrefix(mode, "serial")
			o := &out{files: map[string][]byte{}}
			dir := filepath.Join(t.TempDir(), "out")
			clk := &fakeClock{now: t0}
			client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
			server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
			r, err := New(Options{Dir: dir, Combined: filepath.Join(dir, "all.pcapng"), Trace: &o.trace, Format: format,
				Page: &o.page, Start: t0, Names: names(), KeepSummaries: true, Sync: sync, Async: async, Serial: serial})
			if err != nil {
				t.Fatal(err)
			}
			if r.async == sync || r.serial != serial {
				t.Fatalf("%s: the Recorder's async is %v, serial %v", mode, r.async, r.serial)
			}
			// 60 rounds of 11 frames and 19 events: a batch ends at
			// frames held for a drop, and at drops.
			for range 60 {
				run(t, r, clk, client, server)
			}
			o.sums, o.notes = r.Summaries(), len(r.Notes())
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				o.files[e.Name()] = b
			}
			return o
		}
		want := record("sync")
		if len(want.files) != 3 || want.trace.Len() == 0 || want.page.Len() == 0 || len(want.sums) != 60*11 || want.notes == 0 {
			t.Fatalf("%s: the synchronous run wrote %d files, %d B of trace, %d B of page, %d summaries, %d notes",
				format, len(want.files), want.trace.Len(), want.page.Len(), len(want.sums), want.notes)
		}
		for _, mode := range []string{"async", "serial", "serial-sync"} {
			got := record(mode)
			if !bytes.Equal(got.trace.Bytes(), want.trace.Bytes()) {
				t.Errorf("%s, %s: the trace differs", format, mode)
			}
			if !bytes.Equal(got.page.Bytes(), want.page.Bytes()) {
				t.Errorf("%s, %s: the page data differs", format, mode)
			}
			if !reflect.DeepEqual(got.files, want.files) {
				t.Errorf("%s, %s: the pcapng files differ", format, mode)
			}
			if !reflect.DeepEqual(got.sums, want.sums) || got.notes != want.notes {
				t.Errorf("%s, %s: the summaries or notes differ", format, mode)
			}
		}
	}
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct {
	release chan struct{}
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return w.buf.Write(p)
}

// TestRecorderWritesBesideStacks checks that Frame returns without
// writing: a trace writer that blocks does not hold up the stack that
// reports frames, until the batch it fills must wait for the one before.
// Written inside Frame, the second frame (which writes the first, whose
// note is longer than the trace's buffer) would block.
func TestRecorderWritesBesideStacks(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	w := &blockingWriter{release: make(chan struct{})}
	clk := &fakeClock{now: t0}
	client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
	server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
	r, err := New(Options{Trace: w, Start: t0, Names: names(), Async: true})
	if err != nil {
		t.Fatal(err)
	}
	data, ack := bulkFrames(client, server)
	long := strings.Repeat("n", 100<<10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Frame(client, stack.DirOut, stack.Packet{ID: 1, Data: data}, long)
		for i := range uint64(batchFrames) {
			r.Frame(server, stack.DirOut, stack.Packet{ID: 2 + i, Data: ack}, "ack")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		close(w.release)
		t.Fatal("Frame waited for the trace writer")
	}
	close(w.release)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(w.buf.Bytes(), []byte(long)) || bytes.Count(w.buf.Bytes(), []byte("(ack)")) != batchFrames {
		t.Errorf("the trace lacks frames: %d B", w.buf.Len())
	}
}

// TestRecorderFlushWhileSending checks that Flush returns while a stack
// keeps reporting frames faster than the trace is written: the writer
// stops taking batches while Flush waits for it.
func TestRecorderFlushWhileSending(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	clk := &fakeClock{now: t0}
	client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
	server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
	r, err := New(Options{Trace: slowWriter{}, Format: JSON, Start: t0, Names: names(), Async: true})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := bulkFrames(client, server)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for id := uint64(1); ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			r.Frame(client, stack.DirOut, stack.Packet{ID: id, Data: data}, "send")
		}
	}()
	for range 3 {
		time.Sleep(20 * time.Millisecond)
		flushed := make(chan error, 1)
		go func() { flushed <- r.Flush() }()
		select {
		case err := <-flushed:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Flush did not return while frames kept coming")
		}
	}
	close(stop)
	<-stopped
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// slowWriter takes a millisecond a write: a trace slower than the stack.
type slowWriter struct{}

func (slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return len(p), nil
}

// TestRecorderJumboSync checks that a Recorder goes back to the stacks'
// goroutine at its first frame of a NIC with an MTU above 9000, where the
// second copy of each frame costs more than it saves, and writes every
// frame queued before, with a trace or without.
func TestRecorderJumboSync(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	for _, traced := range []bool{false, true} {
		clk := &fakeClock{now: t0}
		client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
		jumbo := newNICMTU(t, clk, "server", "10.0.0.2/24", 65535)
		var trace bytes.Buffer
		o := Options{Dir: filepath.Join(t.TempDir(), "out"), Start: t0, Names: names()}
		if traced {
			o.Trace = &trace // beside the stacks, as it decodes every frame
		} else {
			o.Async = true // pcapng alone would start on the stacks' goroutine
		}
		r, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := bulkFrames(client, jumbo)
		for id := range uint64(10) {
			r.Frame(client, stack.DirOut, stack.Packet{ID: id + 1, Data: data}, "send")
		}
		if !r.async {
			t.Fatalf("traced %v: synchronous before the jumbo NIC's first frame", traced)
		}
		r.Frame(jumbo, stack.DirIn, stack.Packet{ID: 10, Data: data}, "")
		if r.async {
			t.Errorf("traced %v: async %v after the jumbo NIC's first frame", traced, r.async)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		client0 := readPcapng(t, filepath.Join(o.Dir, "client-eth0.pcapng"))
		server0 := readPcapng(t, filepath.Join(o.Dir, "server-eth0.pcapng"))
		if traced && bytes.Count(trace.Bytes(), []byte("#10 ")) != 2 {
			t.Errorf("the trace lacks frame 10 at either end:\n%s", trace.Bytes())
		}
		if len(client0.pkts) != 10 || len(server0.pkts) != 1 {
			t.Errorf("traced %v: %d and %d packets written, want 10 and 1", traced, len(client0.pkts), len(server0.pkts))
		}
	}
}

func newNICMTU(t testing.TB, clk *fakeClock, host, addr string, mtu int) *stack.NIC {
	t.Helper()
	s := stack.New(stack.Options{Name: host, Clock: clk})
	nic, err := s.AddNIC(stack.NICConfig{Name: "eth0", Type: stack.LinkEthernet, Addr: netip.MustParsePrefix(addr), MTU: mtu}, stack.LinkFunc(func(stack.Packet) {}))
	if err != nil {
		t.Fatal(err)
	}
	return nic
}

// TestRecorderHandsEarlyToIdleWriter checks that a batch goes to an idle
// writer once it holds handFrames records, well before it is full, so
// that what a Flush or Close at the end of a run still has to write on
// the caller's goroutine is small.
func TestRecorderHandsEarlyToIdleWriter(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	if handFrames >= batchFrames {
		t.Fatalf("handFrames %d, batchFrames %d: nothing is handed early", handFrames, batchFrames)
	}
	r, client, server, _ := newBenchRecorder(t, Text, io.Discard, false)
	defer r.Close()
	_, ack := bulkFrames(client, server)
	for i := range uint64(handFrames) {
		r.Frame(server, stack.DirOut, stack.Packet{ID: 1 + i, Data: ack}, "ack")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.qmu.Lock()
		queued, busy := len(r.fill.recs), r.busy
		r.qmu.Unlock()
		if queued == 0 && !busy {
			return // written beside the stacks
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records still queued, writer busy %v: the batch was not handed to the idle writer", queued, busy)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRecorderSharesSentCopy checks that a frame received with the packet
// id and the bytes of a frame sent in the same batch shares the batch's
// copy rather than being copied again, that one received changed (a
// NAT's rewrite, a flipped bit) or without a frame sent before it gets
// its own, and that the files and the trace are those a Recorder writing
// on the stacks' goroutine writes.
func TestRecorderSharesSentCopy(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	record := func(sync bool) (files map[string][]byte, trace string, queued, want int) {
		dir := filepath.Join(t.TempDir(), "out")
		clk := &fakeClock{now: t0}
		client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
		server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
		var tr bytes.Buffer
		r, err := New(Options{Dir: dir, Trace: &tr, Start: t0, Names: names(), Sync: sync, Async: !sync})
		if err != nil {
			t.Fatal(err)
		}
		data, ack := bulkFrames(client, server)
		changed := bytes.Clone(data)
		changed[len(changed)-1] ^= 1 // the payload's last byte, as a corrupting link
		r.Frame(client, stack.DirOut, stack.Packet{ID: 1, Data: data}, "send(3)")
		r.Frame(server, stack.DirIn, stack.Packet{ID: 1, Data: data}, "") // shared
		r.Frame(server, stack.DirOut, stack.Packet{ID: 2, Data: ack}, "ack")
		r.Frame(client, stack.DirIn, stack.Packet{ID: 2, Data: ack}, "") // shared
		r.Frame(client, stack.DirOut, stack.Packet{ID: 3, Data: data}, "send(3)")
		r.Frame(server, stack.DirIn, stack.Packet{ID: 3, Data: changed}, "") // its own
		r.Frame(server, stack.DirIn, stack.Packet{ID: 4, Data: data}, "")    // its own: never sent
		r.Frame(server, stack.DirIn, stack.Packet{ID: 2, Data: data}, "")    // its own: id 2 was the ACK
		r.qmu.Lock()
		// Five data frames and one ACK: the two received unchanged are not.
		queued, want = len(r.fill.data), 5*len(data)+len(ack)
		r.qmu.Unlock()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		files = map[string][]byte{}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
		return files, tr.String(), queued, want
	}
	wantFiles, wantTrace, _, _ := record(true)
	files, trace, queued, want := record(false)
	if queued != want {
		t.Errorf("%d bytes queued, want %d: the two frames received as sent share their copies", queued, want)
	}
	if len(wantFiles) != 2 || !reflect.DeepEqual(files, wantFiles) {
		t.Errorf("the pcapng files differ from the synchronous Recorder's (%d files, want 2)", len(wantFiles))
	}
	if trace != wantTrace || len(trace) == 0 {
		t.Errorf("the trace differs from the synchronous Recorder's:\n%s\nwant:\n%s", trace, wantTrace)
	}
}

// TestRecorderStaleSentCopy checks that an entry of the sent-frame table
// that outlived its batch (its generation come round again) is neither
// followed past the batch's end nor shared.
func TestRecorderStaleSentCopy(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	r, client, server, _ := newBenchRecorder(t, Text, io.Discard, false)
	defer r.Close()
	data, _ := bulkFrames(client, server)
	r.qmu.Lock()
	r.sent[7%uint64(len(r.sent))] = sentCopy{id: 7, b: r.fill, gen: r.fill.gen, off: 0, end: 1 << 30}
	r.qmu.Unlock()
	r.Frame(server, stack.DirIn, stack.Packet{ID: 7, Data: data}, "")
	r.qmu.Lock()
	queued := len(r.fill.data)
	r.qmu.Unlock()
	if queued != len(data) {
		t.Errorf("%d bytes queued, want %d: the frame has its own copy", queued, len(data))
	}
}

// TestRecorderFinishesPartialChecksums checks that frames whose TCP
// checksum the sender left to the link (stack.Packet.ChecksumPartial),
// as a Tap in front of a Recorder may pass them on, are written with it
// computed, by a Recorder writing beside the stacks and by one writing
// on their goroutine: the frame sent, its copy received (which shares
// the sender's copy in the batch) and a frame received alone.
func TestRecorderFinishesPartialChecksums(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	if idle, _ := New(Options{}); idle.WantsChecksums() {
		t.Error("a Recorder that records nothing wants checksums")
	}
	for _, sync := range []bool{false, true} {
		clk := &fakeClock{now: t0}
		client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
		server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
		o := Options{Dir: filepath.Join(t.TempDir(), "out"), Start: t0, Names: names(), Sync: sync, Async: !sync}
		r, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if !r.WantsChecksums() {
			t.Errorf("sync %v: a Recorder that writes files wants no checksums", sync)
		}
		partial := func(payload string, seq uint32) []byte {
			f := tcpFrame(seg{src: client, dst: server, sport: 40000, dport: 80, seq: seq, flags: wire.ACK | wire.PSH, payload: payload})
			tcp := f[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:]
			tcp[wire.TCPChecksumOffset], tcp[wire.TCPChecksumOffset+1] = 0, 0
			return f
		}
		sent := partial("sent and received", 1)
		r.Frame(client, stack.DirOut, stack.Packet{ID: 1, Data: bytes.Clone(sent), ChecksumOK: true, ChecksumPartial: true}, "send")
		r.Frame(server, stack.DirIn, stack.Packet{ID: 1, Data: bytes.Clone(sent), ChecksumOK: true, ChecksumPartial: true}, "")
		r.Frame(server, stack.DirIn, stack.Packet{ID: 2, Data: partial("received alone", 100), ChecksumOK: true, ChecksumPartial: true}, "")
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, name := range []string{"client-eth0.pcapng", "server-eth0.pcapng"} {
			f, err := os.Open(filepath.Join(o.Dir, name))
			if err != nil {
				t.Fatal(err)
			}
			pr, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for {
				data, _, err := pr.ReadPacketData()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
				ip := wire.IPv4(data[wire.EthernetHeaderLen:])
				if !wire.TCP(ip[ip.HeaderLen():]).IsChecksumValid(ip.Src(), ip.Dst()) {
					t.Errorf("sync %v: %s: a frame with a TCP checksum that does not verify", sync, name)
				}
			}
			f.Close()
		}
		if n != 3 {
			t.Errorf("sync %v: %d frames written, want 3", sync, n)
		}
	}
}

// TestRecorderFirstWay checks the way a Recorder writes: on the stacks'
// goroutine for pcapng files alone, beside them when it decodes every
// frame, unless Sync or Async fixes it.
func TestRecorderFirstWay(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		o     Options
		async bool
	}{
		{"pcapng", Options{Dir: dir}, false},
		{"text trace", Options{Trace: io.Discard}, true},
		{"page", Options{Page: io.Discard}, true},
		{"summaries", Options{KeepSummaries: true}, true},
		{"Sync", Options{Trace: io.Discard, Sync: true}, false},
		{"Async", Options{Dir: dir, Async: true}, true},
	} {
		r, err := New(c.o)
		if err != nil {
			t.Fatal(err)
		}
		if r.async != c.async {
			t.Errorf("%s: async %v, want %v", c.name, r.async, c.async)
		}
		r.Close()
	}
}

// TestRecorderReusesBatches checks that a closed Recorder's batches,
// cleared of its vantage points, serve the next Recorder that writes
// beside the stacks, so that a sweep's runs do not grow them anew.
func TestRecorderReusesBatches(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	r, client, server, _ := newBenchRecorder(t, Text, io.Discard, false)
	data, _ := bulkFrames(client, server)
	for i := range uint64(3 * handFrames) {
		r.Frame(client, stack.DirOut, stack.Packet{ID: 1 + i, Data: data}, "send")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	freeBatches.mu.Lock()
	var held []*batch
	for _, b := range freeBatches.list {
		held = append(held, b)
		for _, rec := range b.recs[:cap(b.recs)] {
			if rec.v != nil {
				t.Error("a freed batch still points at its Recorder's vantage points")
				break
			}
		}
	}
	freeBatches.mu.Unlock()
	if len(held) == 0 {
		t.Fatal("a closed Recorder left no batches")
	}
	next, _, _, _ := newBenchRecorder(t, Text, io.Discard, false)
	defer next.Close()
	if !slices.Contains(held, next.fill) || cap(next.fill.data) == 0 {
		t.Errorf("the next Recorder beside the stacks grows a batch anew")
	}
}

// gatedWriter blocks every Write until gate is closed: a trace writer
// stalled for as long as a test needs.
type gatedWriter struct{ gate chan struct{} }

func (w gatedWriter) Write(p []byte) (int, error) {
	<-w.gate
	return len(p), nil
}

// TestRecorderQueuesBatches checks that stacks outrunning a stalled
// writer hand it up to maxBatches-1 batches before they wait (with one
// batch queued at a time, they waited once the second filled), and that
// every frame is written once the writer goes on.
func TestRecorderQueuesBatches(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	clk := &fakeClock{now: t0}
	client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
	server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
	gate := make(chan struct{})
	var out bytes.Buffer
	r, err := New(Options{Trace: io.MultiWriter(gatedWriter{gate}, &out), Format: Text, Start: t0, Names: names(), Async: true})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := bulkFrames(client, server)
	perBatch := min(handFrames, (handBytes+len(data)-1)/len(data))
	n := (maxBatches - 1) * perBatch
	if n <= perBatch+batchBytes/len(data) {
		t.Fatalf("%d frames fit in two batches: the test shows nothing", n)
	}
	queued := make(chan struct{})
	go func() {
		defer close(queued)
		for i := range uint64(n) {
			r.Frame(client, stack.DirOut, stack.Packet{ID: 1 + i, Data: data}, "send")
		}
	}()
	select {
	case <-queued:
	case <-time.After(10 * time.Second):
		close(gate)
		t.Fatalf("the stacks waited for a stalled writer with fewer than %d batches queued", maxBatches-1)
	}
	r.qmu.Lock()
	inUse := r.nbatch
	r.qmu.Unlock()
	if inUse > maxBatches {
		t.Errorf("%d batches, want at most %d", inUse, maxBatches)
	}
	close(gate)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), " B  (send)"); got != n {
		t.Errorf("%d frames in the trace, want %d", got, n)
	}
}

// TestRecorderFillsOldestBatch checks that the batch filled next is the
// one written longest ago, not the one the writer has just read.
func TestRecorderFillsOldestBatch(t *testing.T) {
	r := &Recorder{}
	a, b, c := new(batch), new(batch), new(batch)
	r.free, r.nbatch = []*batch{a, b, c}, 4
	for i, want := range []*batch{a, b, c} {
		if got := r.nextBatch(); got != want {
			t.Fatalf("batch %d: not the one written longest ago", i)
		}
	}
	if got := r.nextBatch(); got == nil || got == a || got == b || got == c || r.nbatch != 5 {
		t.Errorf("with none free, want a new batch counted (nbatch %d)", r.nbatch)
	}
}

// TestRecorderSidesApart guards the Recorder's layout: the fields the
// writer goroutine writes at every frame start at least two cache lines
// after the last of those the stacks read or write at every frame, and
// idle, read first by every Frame, is not among the writer's. Sharing a
// line with the writer, idle's load took a third of Frame's time in a
// profile of a bulk transfer with the text trace.
func TestRecorderSidesApart(t *testing.T) {
	var r Recorder
	queueEnd := unsafe.Offsetof(r.sent) + unsafe.Sizeof(r.sent)
	if gap := unsafe.Offsetof(r.mu) - queueEnd; gap < 128 {
		t.Errorf("the writing side starts %d bytes after the queue side, want at least 128", gap)
	}
	if unsafe.Offsetof(r.idle) > unsafe.Offsetof(r.mu) {
		t.Errorf("idle is on the writing side (offset %d, mu at %d)", unsafe.Offsetof(r.idle), unsafe.Offsetof(r.mu))
	}
}

// TestRecorderSerial checks what Options.Serial changes: Frame and
// Observe take no lock (here one held elsewhere does not stop them),
// and the writer leaves the batch being filled to the stacks, which a
// Flush writes.
func TestRecorderSerial(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	t.Run("no lock", func(t *testing.T) {
		clk := &fakeClock{now: t0}
		client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
		server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
		var tr bytes.Buffer
		r, err := New(Options{Trace: &tr, Start: t0, Names: names(), Sync: true, Serial: true})
		if err != nil {
			t.Fatal(err)
		}
		_, ack := bulkFrames(client, server)
		r.qmu.Lock()
		done := make(chan struct{})
		go func() {
			r.Frame(server, stack.DirOut, stack.Packet{ID: 1, Data: ack}, "ack")
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Frame waited for the Recorder's lock")
		}
		r.qmu.Unlock()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(tr.String(), "ack") {
			t.Errorf("trace %q: the frame is missing", tr.String())
		}
	})
	t.Run("writer leaves the filling batch", func(t *testing.T) {
		var tr bytes.Buffer
		r, client, server, _ := newBenchRecorder(t, Text, &tr, false)
		r.serial = true // as New sets it from Options.Serial
		_, ack := bulkFrames(client, server)
		const extra = 2 * takeFrames
		for i := range uint64(handFrames + extra) {
			r.Frame(server, stack.DirOut, stack.Packet{ID: 1 + i, Data: ack}, "ack")
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			r.qmu.Lock()
			queued, filling, busy := len(r.queue), len(r.fill.recs), r.busy
			r.qmu.Unlock()
			if queued == 0 && !busy {
				if filling != extra {
					t.Fatalf("%d records left in the filling batch, want %d", filling, extra)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the handed batch was not written: %d queued, writer busy %v", queued, busy)
			}
			time.Sleep(time.Millisecond)
		}
		if err := r.Flush(); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(tr.String(), "\n"); n < handFrames+extra {
			t.Errorf("%d trace lines after Flush, want at least %d", n, handFrames+extra)
		}
		r.Close()
	})
}
