package capture

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
)

// lossyBulk moves size bytes from client to server over a link that
// loses, duplicates and reorders frames, with rec as tap and observer.
func lossyBulk(tb testing.TB, size int, rec *Recorder) {
	tb.Helper()
	n := sim.NewNetwork(sim.NetworkOptions{Seed: 3, Tap: rec, Observer: rec})
	c := n.AddHost("client", stack.Options{})
	s := n.AddHost("server", stack.Options{})
	imp := sim.Impairments{Delay: 2 * time.Millisecond, Loss: 0.02, Duplicate: 0.01, Reorder: 0.01, ReorderDelay: time.Millisecond}
	if _, err := n.Connect(c, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.1/24")},
		s, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.2/24")}, sim.Symmetric(imp)); err != nil {
		tb.Fatal(err)
	}
	lfd, _ := s.Socket(stack.SockStream)
	s.Bind(lfd, netip.MustParseAddrPort("0.0.0.0:80"))
	s.Listen(lfd, 8)
	s.SetNonblock(lfd, true)
	cfd, _ := c.Socket(stack.SockStream)
	c.SetNonblock(cfd, true)
	c.Connect(cfd, netip.MustParseAddrPort("10.0.0.2:80"))
	data := make([]byte, 64<<10)
	buf := make([]byte, 256<<10)
	afd, sent, got := -1, 0, 0
	for i := 0; i < 100000 && got < size; i++ {
		n.RunFor(time.Millisecond)
		if afd < 0 {
			var err error
			if afd, _, err = s.Accept(lfd); err != nil {
				afd = -1
				continue
			}
			s.SetNonblock(afd, true)
		}
		for sent < size {
			k, err := c.Send(cfd, data[:min(len(data), size-sent)])
			if err != nil || k == 0 {
				break
			}
			sent += k
		}
		for {
			k, err := s.Recv(afd, buf)
			if err != nil || k == 0 {
				break
			}
			got += k
		}
	}
	if got != size {
		tb.Fatalf("received %d of %d bytes", got, size)
	}
	c.Close(cfd)
	s.Close(afd)
	n.RunFor(2 * time.Minute)
}

// TestBatchedSameAsSync checks that the default Recorder, which formats
// and writes batches on worker goroutines, gives the same trace and the
// same files byte for byte as a synchronous one, over a run long enough
// for many batches, with drops to annotate, in both trace formats.
func TestBatchedSameAsSync(t *testing.T) {
	const size = 2 << 20 // about 12 batches of frames
	for _, format := range []Format{Text, JSON} {
		run := func(sync bool) (string, map[string][]byte) {
			dir := t.TempDir()
			var out bytes.Buffer
			rec, err := New(Options{Dir: dir, Combined: filepath.Join(dir, "all.pcapng"), Trace: &out, Format: format,
				Sync: sync, Scenario: "batched", Seed: 3, Start: sim.DefaultStart})
			if err != nil {
				t.Fatal(err)
			}
			if rec.async == sync {
				t.Fatalf("Sync %v: the recorder batches = %v", sync, rec.async)
			}
			lossyBulk(t, size, rec)
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			for _, f := range rec.Files() {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				files[filepath.Base(f)] = b
			}
			return out.String(), files
		}
		syncTrace, syncFiles := run(true)
		trace, files := run(false)
		if len(syncFiles) != 3 || !bytes.Contains([]byte(syncTrace), []byte("random loss")) {
			t.Fatalf("%s: %d files, drops traced: %v; the run should drop frames and write 3 files", format, len(syncFiles), bytes.Contains([]byte(syncTrace), []byte("random loss")))
		}
		if trace != syncTrace {
			i := 0
			for i < len(trace) && i < len(syncTrace) && trace[i] == syncTrace[i] {
				i++
			}
			t.Errorf("%s: batched trace differs from the synchronous one at byte %d of %d", format, i, len(syncTrace))
		}
		for name, b := range syncFiles {
			if !bytes.Equal(files[name], b) {
				t.Errorf("%s: %s differs (%d bytes batched, %d synchronous)", format, name, len(files[name]), len(b))
			}
		}
	}
}
