package capture

import (
	"bytes"
	"io"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
	"stacklab/stack/core"
)

// bulk moves size bytes from client to server over a simulated 10 ms link
// with tap and obs installed (either may be nil), failing tb unless all
// of them arrive.
func bulk(tb testing.TB, size int, tap stack.Tap, obs core.Observer) {
	n := sim.NewNetwork(sim.NetworkOptions{Seed: 1, Tap: tap, Observer: obs})
	c := n.AddHost("client", stack.Options{})
	s := n.AddHost("server", stack.Options{})
	if _, err := n.Connect(c, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.1/24")},
		s, stack.NICConfig{Addr: netip.MustParsePrefix("10.0.0.2/24")},
		sim.Symmetric(sim.Impairments{Delay: time.Millisecond})); err != nil {
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
	for i := 0; i < 1_000_000 && got < size; i++ {
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
}

// BenchmarkSimBulk measures a 4 MB transfer in virtual time with capture
// off and on; compare the ns/op of the sub-benchmarks for the cost of
// capture (DESIGN.md: at most 20 %).
func BenchmarkSimBulk(b *testing.B) {
	const size = 4 << 20
	cases := []struct {
		name string
		opts func(dir string) *Options
	}{
		{"off", nil},
		{"pcapng", func(dir string) *Options { return &Options{Dir: dir} }},
		{"pcapng+text", func(dir string) *Options { return &Options{Dir: dir, Trace: io.Discard} }},
		{"pcapng-snap128", func(dir string) *Options { return &Options{Dir: dir, SnapLen: 128} }},
		{"pcapng-snap128+text", func(dir string) *Options { return &Options{Dir: dir, SnapLen: 128, Trace: io.Discard} }},
		{"pcapng+json", func(dir string) *Options { return &Options{Dir: dir, Trace: io.Discard, Format: JSON} }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if c.opts == nil {
					bulk(b, size, nil, nil)
					continue
				}
				r, err := New(*c.opts(filepath.Join(b.TempDir(), "out")))
				if err != nil {
					b.Fatal(err)
				}
				bulk(b, size, r, r)
				if err := r.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSimBulkWithCapture(t *testing.T) {
	var out bytes.Buffer
	r, err := New(Options{Dir: t.TempDir(), Trace: &out})
	if err != nil {
		t.Fatal(err)
	}
	bulk(t, 256<<10, r, r)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if out.Len() == 0 {
		t.Error("no trace")
	}
}
