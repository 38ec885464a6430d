package trace

import (
	"io"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkFrame formats one outbound SYN-sized frame and its one-line
// receipt, per format.
func BenchmarkFrame(b *testing.B) {
	for _, f := range []Format{Text, JSON} {
		b.Run(f.String(), func(b *testing.B) {
			tr := New(io.Discard, Options{Format: f, Names: map[netip.Addr]string{
				netip.MustParseAddr("10.0.0.1"): "client", netip.MustParseAddr("10.0.0.2"): "server"}})
			out := Frame{Time: time.Unix(1, 0), Host: "client", Vantage: "client:eth0", Link: LinkEthernet, Dir: DirOut, Data: synFrame, Note: "send"}
			in := out
			in.Host, in.Vantage, in.Dir, in.Note = "server", "server:eth0", DirIn, ""
			b.ReportAllocs()
			for b.Loop() {
				out.ID++
				in.ID = out.ID
				tr.Frame(&out, nil)
				tr.Frame(&in, nil)
			}
		})
	}
}
