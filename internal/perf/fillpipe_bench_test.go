package perf

import (
	"testing"
	"time"

	"stacklab/sim"
	"stacklab/stack"
)

// fillPipe is BenchmarkFillPipe's network: 1 Gbit/s, 10 ms each way
// (20 ms RTT, a bandwidth-delay product of 2.5 MB), the default queue of
// 1000 frames, one bulk connection. Slow start is over by fillPipeFrom;
// the goodput is measured from there to the end.
var fillPipe = struct {
	rate             uint64
	delay            time.Duration
	from, duration   time.Duration
	maxGoodputFactor float64 // payload per frame byte at MSS 1448 with timestamps
}{
	rate:             1_000_000_000,
	delay:            10 * time.Millisecond,
	from:             2 * time.Second,
	duration:         10 * time.Second,
	maxGoodputFactor: 1448.0 / 1514,
}

// BenchmarkFillPipe runs 10 simulated seconds of one bulk connection
// over 1 Gbit/s × 20 ms RTT and reports the goodput after slow start
// ("Mbit/s", seconds 2 to 10) and the link's use ("link-%": frame bytes
// sent on the data direction over the link's capacity). profile=linux
// is the default stack, buffers autotuned as Linux does
// (tcp_rmem/tcp_wmem, dynamic right-sizing); profile=rfc is the rfc
// profile with its fixed 256 KiB buffers, the stack as it was before
// autotuning. Run it with -benchtime 1x.
func BenchmarkFillPipe(b *testing.B) {
	for _, bc := range []struct {
		name string
		tcp  stack.TCPOptions
	}{
		{"profile=linux", stack.TCPOptions{}},
		{"profile=rfc", stack.TCPOptions{Profile: "rfc"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var mbits, use float64
			for range b.N {
				m, u := runFillPipe(b, bc.tcp)
				mbits += m
				use += u
			}
			b.ReportMetric(mbits/float64(b.N), "Mbit/s")
			b.ReportMetric(use/float64(b.N), "link-%")
		})
	}
}

// runFillPipe returns the goodput after slow start in Mbit/s and the
// percentage of the link's capacity used in that time.
func runFillPipe(tb testing.TB, tcp stack.TCPOptions) (mbits, linkPct float64) {
	n := newSimNet(tb, simConfig{
		imp: sim.Impairments{Delay: fillPipe.delay, Rate: fillPipe.rate},
		tcp: tcp,
	})
	lfd := n.listen(tb, 5001, 8)
	start := n.clock.Now()
	cfd, sfd := n.connect(tb, lfd, 5001)
	wbuf, rbuf := make([]byte, chunk), make([]byte, 256<<10)
	n.transfer(tb, cfd, sfd, 1<<62, start.Add(fillPipe.from), wbuf, rbuf)
	sent0 := n.up.Counters().SentBytes
	got := n.transfer(tb, cfd, sfd, 1<<62, start.Add(fillPipe.duration), wbuf, rbuf)
	secs := (fillPipe.duration - fillPipe.from).Seconds()
	mbits = float64(got) * 8 / secs / 1e6
	linkPct = float64(n.up.Counters().SentBytes-sent0) * 8 / secs / float64(fillPipe.rate) * 100
	return mbits, linkPct
}
