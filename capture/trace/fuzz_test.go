package trace

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"stacklab/stack/core"
)

// FuzzRead feeds arbitrary bytes to the pcap/pcapng reader and the
// decoder behind it: it must never panic, and every JSON line it writes
// must parse.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"linux-refused.pcap", "linux-udp.pcap", "linux-ping.pcap", "linux-half-close.pcap"} {
		if b, err := os.ReadFile(filepath.Join(captureDir, name)); err == nil {
			f.Add(b)
			f.Add(b[:len(b)-7]) // cut short
		}
	}
	f.Add(pcapngSample())
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1})
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0})
	f.Add([]byte("not a capture"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var text, js bytes.Buffer
		_ = Read(bytes.NewReader(b), &text, ReadOptions{})
		_ = Read(bytes.NewReader(b), &js, ReadOptions{Options: Options{Format: JSON}, Summaries: func(s *Summary) { _ = s.String() }})
		for _, line := range bytes.Split(js.Bytes(), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var v map[string]any
			if err := json.Unmarshal(line, &v); err != nil {
				t.Fatalf("bad JSON line %q: %v", line, err)
			}
		}
	})
}

// FuzzFrame decodes and traces arbitrary frames of both link types, in
// both formats, with summaries: no panic, valid JSON.
func FuzzFrame(f *testing.F) {
	f.Add([]byte{}, true)
	f.Add(synFrame, true)
	f.Add(synFrame[14:], false)
	f.Add(synFrame[:30], true)
	f.Add(icmpUnreachFrame, false)
	f.Fuzz(func(t *testing.T, data []byte, eth bool) {
		link := LinkRawIP
		if eth {
			link = LinkEthernet
		}
		var text, js bytes.Buffer
		tt := New(&text, Options{Checksums: true})
		tj := New(&js, Options{Format: JSON, Checksums: true})
		var s Summary
		for i, dir := range []Dir{DirOut, DirIn} {
			fr := Frame{Time: time.Unix(1, 0), Host: "h", Vantage: "h:eth0", Link: link, Dir: dir, ID: 1, Data: data, Note: "n"}
			if i == 1 {
				fr.Drop = "test"
			}
			tt.Frame(&fr, &s)
			_ = s.String()
			tj.Frame(&fr, nil)
		}
		tt.Event(&core.Event{Time: time.Unix(1, 0), Host: "h", Kind: core.EventNote, Detail: string(data)})
		tj.Event(&core.Event{Time: time.Unix(1, 0), Host: "h", Kind: core.EventNote, Detail: string(data)})
		if err := tt.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := tj.Flush(); err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(js.Bytes(), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var v map[string]any
			if err := json.Unmarshal(line, &v); err != nil {
				t.Fatalf("bad JSON line %q: %v", line, err)
			}
		}
	})
}

var _ = io.Discard
