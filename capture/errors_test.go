package capture

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"stacklab/stack"
	"stacklab/stack/core"
)

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

// TestRecorderErrorsKeepFiles checks that a failing trace writer and an
// unwritable combined file are reported by Close while the per-vantage
// captures are still written in full.
func TestRecorderErrorsKeepFiles(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	client := newNIC(t, clk, "client", "10.0.0.1/24", stack.LinkEthernet)
	server := newNIC(t, clk, "server", "10.0.0.2/24", stack.LinkEthernet)
	r, err := New(Options{Dir: dir, Combined: filepath.Join(dir, "missing", "all.pcapng"), Trace: failingWriter{}, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	data, ack := bulkFrames(client, server)
	for i := uint64(1); i <= 3000; i += 2 {
		r.Frame(client, stack.DirOut, stack.Packet{ID: i, Data: data}, "send")
		r.Frame(server, stack.DirIn, stack.Packet{ID: i, Data: data}, "")
		r.Frame(server, stack.DirOut, stack.Packet{ID: i + 1, Data: ack}, "ack")
		r.Frame(client, stack.DirIn, stack.Packet{ID: i + 1, Data: ack}, "")
	}
	err = r.Close()
	if err == nil || !strings.Contains(err.Error(), "pipe closed") || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Close = %v; want the trace and the combined file errors", err)
	}
	if err2 := r.Close(); err2 == nil {
		t.Error("a second Close forgot the errors")
	}
	for _, f := range []string{"client-eth0.pcapng", "server-eth0.pcapng"} {
		if got := len(readPcapng(t, filepath.Join(dir, f)).pkts); got != 3000 {
			t.Errorf("%s holds %d packets, want 3000", f, got)
		}
	}
	// After Close, frames are ignored, not written to closed files.
	r.Frame(client, stack.DirOut, stack.Packet{ID: 9999, Data: data}, "late")
}

func TestNewBadDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := New(Options{Dir: file}); err == nil {
		t.Error("New with a file as the capture directory succeeded")
	}
}

// TestRecorderConcurrent has several stacks report at once, as TUN
// stacks do from their own goroutines; run with -race.
func TestRecorderConcurrent(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	r, err := New(Options{Dir: dir, Trace: &syncWriter{w: &out}, KeepSummaries: true})
	if err != nil {
		t.Fatal(err)
	}
	const hosts, frames = 4, 200
	var wg sync.WaitGroup
	for h := 0; h < hosts; h++ {
		clk := &fakeClock{now: t0}
		name := string(rune('a' + h))
		nic := newNIC(t, clk, name, "10.0.0."+string(rune('1'+h))+"/24", stack.LinkRawIP)
		peer := newNIC(t, clk, name+"peer", "10.0.0.9/24", stack.LinkRawIP)
		data, _ := bulkFrames(nic, peer)
		raw := data[14:]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < frames; i++ {
				id := uint64(h*frames + i + 1)
				r.Frame(nic, stack.DirOut, stack.Packet{ID: id, Data: raw}, "send")
				r.Observe(&core.Event{Time: t0.Add(time.Duration(i)), Host: name, Kind: core.EventNote, FD: -1, Detail: "tick"})
			}
		}()
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(r.Summaries()); got != hosts*frames {
		t.Errorf("%d summaries, want %d", got, hosts*frames)
	}
	if got := strings.Count(out.String(), " tick\n"); got != hosts*frames {
		t.Errorf("%d events traced, want %d", got, hosts*frames)
	}
	for h := 0; h < hosts; h++ {
		f := readPcapng(t, filepath.Join(dir, string(rune('a'+h))+"-eth0.pcapng"))
		if len(f.pkts) != frames || f.intfs[0].LinkType != 101 {
			t.Errorf("host %d: %d packets, link type %d", h, len(f.pkts), f.intfs[0].LinkType)
		}
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
