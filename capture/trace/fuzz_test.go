package trace

import (
	"bytes"
	"encoding/hex"
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
	for _, name := range []string{"linux-refused.pcap", "linux-udp.pcap", "linux-ping.pcap", "linux-half-close.pcap", "linux-ipv6.pcap"} {
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
	// IPv6: a neighbour solicitation (Ethernet) and a port unreachable
	// quoting UDP (raw IP), from testdata/linux/linux-ipv6.pcap.
	ns, _ := hex.DecodeString("3333ff0000020ea32a53cb7b86dd6000000000203aff20010db8000000000000000000000001ff0200000000000000000001ff000002870019b60000000020010db800000000000000000000000201010ea32a53cb7b")
	unreach, _ := hex.DecodeString("600da0d3003f3a4020010db800000000000000000000000220010db80000000000000000000000010104f9730000000060013869000f114020010db800000000000000000000000120010db8000000000000000000000002a3b7176f000fa9dc6e6f626f64790a")
	f.Add(ns, true)
	f.Add(unreach, false)
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

// FuzzCachesChangeNothing traces arbitrary frames, each sent and then
// received with the same id, some changed on the way (a byte flipped at
// a place the input chooses), in both formats, once as the Tracer works
// and once forgetting every cache before each frame: the caches must
// never change a byte of the trace.
func FuzzCachesChangeNothing(f *testing.F) {
	f.Add(synFrame, []byte{0, 22, 0, 47, 0}, true)
	f.Add(synFrame[14:], []byte{8, 33, 0}, false)
	f.Add(icmpUnreachFrame, []byte{1, 2, 3}, false)
	f.Fuzz(func(t *testing.T, data, changes []byte, eth bool) {
		if len(changes) > 16 {
			changes = changes[:16]
		}
		link := LinkRawIP
		if eth {
			link = LinkEthernet
		}
		run := func(format Format, sums bool) []byte {
			var out bytes.Buffer
			tr := New(&out, Options{Format: format, Checksums: sums, Start: time.Unix(1, 0)})
			frame := bytes.Clone(data)
			for i, c := range changes {
				at := time.Unix(1, int64(i)*int64(time.Millisecond))
				id := uint64(1 + i/2)
				tr.Frame(&Frame{Time: at, Host: "a", Vantage: "a:eth0", Link: link, Dir: DirOut, ID: id, Data: frame, Note: "send"}, nil)
				in := frame
				if c&1 != 0 && len(frame) > 0 {
					in = bytes.Clone(frame)
					in[int(c)%len(in)] ^= 0x40
				}
				tr.Frame(&Frame{Time: at.Add(time.Millisecond), Host: "b", Vantage: "b:eth0", Link: link, Dir: DirIn, ID: id, Data: in}, nil)
				if c&2 != 0 && len(frame) > 0 {
					frame[int(c)%len(frame)]++ // the next frame differs
				}
			}
			if err := tr.Flush(); err != nil {
				t.Fatal(err)
			}
			return out.Bytes()
		}
		for _, format := range []Format{Text, JSON} {
			for _, sums := range []bool{false, true} {
				cached := run(format, sums)
				forgetEach = true
				fresh := run(format, sums)
				forgetEach = false
				if !bytes.Equal(cached, fresh) {
					t.Fatalf("%v, checksums %v: the caches changed the trace:\ncached:\n%s\nfresh:\n%s", format, sums, cached, fresh)
				}
			}
		}
	})
}
